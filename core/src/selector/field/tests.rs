//! Field selector tests, ported from apimachinery's `fields/selector_test.go`, plus the field
//! labels of the kinds coxswain serves.

use super::*;
use serde_json::json;

fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
}

fn parse(text: &str) -> FieldSelector {
    FieldSelector::parse(text).unwrap_or_else(|error| panic!("{text:?} should parse: {error}"))
}

#[test]
fn good_selectors_print_back_unchanged() {
    for text in ["x=a,y=b,z=c", "", "x!=a,y=b", r"x=a||y\=b", r"x=a\=\=b"] {
        assert_eq!(parse(text).to_string(), text);
    }
}

#[test]
fn bad_selectors_are_refused() {
    for text in ["x=a||y=b", "x==a==b", "x=a,b", "x in (a)", "x in (a,b,c)", "x"] {
        assert!(FieldSelector::parse(text).is_err(), "{text}");
    }
}

#[test]
fn parsing_is_deterministic_whatever_the_order() {
    assert_eq!(parse("x=a,a=x").to_string(), parse("a=x,x=a").to_string());
}

#[test]
fn selectors_match_like_kubernetes() {
    let fields = set(&[("foo", "bar"), ("baz", "blah"), ("complex", r"=value\,\")]);
    let table = [
        ("", set(&[("x", "y")]), true),
        ("x=y", set(&[("x", "y")]), true),
        ("x=y,z=w", set(&[("x", "y"), ("z", "w")]), true),
        ("x!=y,z!=w", set(&[("x", "z"), ("z", "a")]), true),
        ("notin=in", set(&[("notin", "in")]), true),
        ("x=y", set(&[("x", "z")]), false),
        ("x=y,z=w", set(&[("x", "w"), ("z", "w")]), false),
        ("x!=y,z!=w", set(&[("x", "z"), ("z", "w")]), false),
        ("foo=bar", fields.clone(), true),
        ("baz=blah", fields.clone(), true),
        ("foo=bar,baz=blah", fields.clone(), true),
        (r"foo=bar,baz=blah,complex=\=value\\\,\\", fields.clone(), true),
        ("foo=blah", fields.clone(), false),
        ("baz=bar", fields.clone(), false),
        ("foo=bar,foobar=bar,baz=blah", fields.clone(), false),
        ("x==", set(&[]), true),
        ("x!=", set(&[]), false),
    ];
    for (text, fields, expected) in table {
        let selector = parse(text);
        assert_eq!(selector.matches_set(&fields), expected, "{text} on {fields:?}");
        assert_eq!(selector.matches(&|field| fields.get(field).cloned()), expected, "{text} on {fields:?}");
    }
}

#[test]
fn values_escape_like_kubernetes() {
    let table = [("", ""), ("a", "a"), ("=", r"\="), (",", r"\,"), (r"\", r"\\"), (r"\=\,\", r"\\\=\\\,\\")];
    for (value, escaped) in table {
        assert_eq!(FieldSelector::one_term_equal("f", value).to_string(), format!("f={escaped}"));
        assert_eq!(parse(&format!("f={escaped}")).terms()[0].value, value);
    }
}

#[test]
fn bad_escapes_are_refused_with_kubernetes_wording() {
    let message = |text: &str| FieldSelector::parse(text).unwrap_err().to_string();
    insta::assert_snapshot!(message(r"f=\"), @r"invalid field selector: invalid escape sequence: \");
    insta::assert_snapshot!(message(r"f=\\\"), @r"invalid field selector: invalid escape sequence: \");
    insta::assert_snapshot!(message(r"f=\a"), @r"invalid field selector: invalid escape sequence: \a");
    insta::assert_snapshot!(message(r"f=\\\a"), @r"invalid field selector: invalid escape sequence: \a");
    insta::assert_snapshot!(message("f=a=b"), @"invalid field selector: unescaped character in value: 61");
    insta::assert_snapshot!(message("x=a,b"), @"invalid selector: 'x=a,b'; can't understand 'b'");
}

#[test]
fn exact_matches_are_found_for_indexes() {
    let selector = parse("spec.nodeName=n1,status.phase!=Running");
    assert_eq!(selector.requires_exact_match("spec.nodeName"), Some("n1"));
    assert_eq!(selector.requires_exact_match("status.phase"), None);
}

fn object(value: serde_json::Value) -> Object {
    Object::from_value(value).unwrap()
}

#[test]
fn pod_fields_read_as_kubernetes_computes_them() {
    let pod = object(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"nodeName": "n1", "restartPolicy": "Always", "containers": []},
        "status": {"phase": "Running", "podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]}
    }));
    let table = [
        ("metadata.name", "p"),
        ("metadata.namespace", "ns"),
        ("spec.nodeName", "n1"),
        ("spec.host", "n1"),
        ("spec.restartPolicy", "Always"),
        ("spec.schedulerName", ""),
        ("spec.serviceAccountName", ""),
        ("spec.hostNetwork", "false"),
        ("status.phase", "Running"),
        ("status.podIP", "10.0.0.1"),
        ("status.podIPs", "10.0.0.1"),
        ("status.nominatedNodeName", ""),
    ];
    for (field, expected) in table {
        assert_eq!(field_value(&pod, field).as_deref(), Some(expected), "{field}");
    }
    assert_eq!(field_value(&pod, "spec.containers"), None);
    let selector = parse("spec.nodeName=n1,status.phase!=Pending");
    assert!(selector.matches(&|field| field_value(&pod, field)));
}

#[test]
fn event_node_secret_and_workload_fields_read_with_kubernetes_defaults() {
    let event = object(json!({
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "namespace": "ns"},
        "involvedObject": {"kind": "Pod", "name": "p", "uid": "u1"}, "reason": "Started",
        "reportingComponent": "kubelet", "source": {}, "type": "Normal"
    }));
    assert_eq!(field_value(&event, "involvedObject.kind").as_deref(), Some("Pod"));
    assert_eq!(field_value(&event, "involvedObject.uid").as_deref(), Some("u1"));
    assert_eq!(field_value(&event, "involvedObject.fieldPath").as_deref(), Some(""));
    assert_eq!(field_value(&event, "source").as_deref(), Some("kubelet"));
    assert_eq!(field_value(&event, "reason").as_deref(), Some("Started"));
    assert_eq!(field_value(&event, "type").as_deref(), Some("Normal"));
    let node = object(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}));
    assert_eq!(field_value(&node, "spec.unschedulable").as_deref(), Some("false"));
    assert_eq!(field_value(&node, "metadata.namespace").as_deref(), Some(""));
    let secret = object(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque"}));
    assert_eq!(field_value(&secret, "type").as_deref(), Some("Opaque"));
    let replica_set = object(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"}}));
    assert_eq!(field_value(&replica_set, "status.replicas").as_deref(), Some("0"));
    let job =
        object(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "status": {"succeeded": 3}}));
    assert_eq!(field_value(&job, "status.successful").as_deref(), Some("3"));
    let namespace = object(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}, "status": {"phase": "Active"}}),
    );
    assert_eq!(field_value(&namespace, "status.phase").as_deref(), Some("Active"));
    let config_map = object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}));
    assert_eq!(field_value(&config_map, "status.phase"), None);
}

#[test]
fn unsupported_field_labels_are_refused_with_kubernetes_wording() {
    assert!(check_supported("Pod", &parse("spec.nodeName=a,status.phase=Running,metadata.name=p")).is_ok());
    assert!(check_supported("ConfigMap", &parse("metadata.namespace=a")).is_ok());
    assert!(check_supported("Event", &parse("involvedObject.name=a,reason=b,type=c,source=d")).is_ok());
    let error = check_supported("ConfigMap", &parse("metadata.name=a,spec.nodeName=b")).unwrap_err();
    insta::assert_snapshot!(error, @"field label not supported: spec.nodeName");
    assert!(check_supported("Secret", &parse("foo=bar")).is_err());
}
