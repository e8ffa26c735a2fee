//! The one-pass decoder agrees with the slow way round (decode with paths tracked, encode back,
//! compare the trees) on objects with fields of every kind added anywhere in them; and the JSON
//! fast path of the API server's decoder (bytes straight to the typed struct, defaulted there)
//! gives the object the `Value` path and defaulting give, and takes every plain body.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{decode_json_defaulted, round_trip, round_trip_with_paths};
use crate::object::Object;
use crate::object::defaults::apply_defaults;

fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "team", "labels": {"app": "web"}, "annotations": {"a": "b"}},
        "spec": {
            "containers": [
                {"name": "web", "image": "nginx", "ports": [{"name": "http", "containerPort": 80}],
                 "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                 "resources": {"limits": {"cpu": "1"}}, "readinessProbe": {"httpGet": {"path": "/", "port": "http"}}},
                {"name": "sidecar", "image": "proxy", "args": ["--a"]}
            ],
            "volumes": [{"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}],
            "restartPolicy": "Always"
        }
    })
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "strategy": {"rollingUpdate": {"maxSurge": "25%"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
    })
}

/// Inserts `key: added` into the `choice`-th mapping of `value` (in depth-first order, counting
/// modulo the number of mappings).
fn insert_into_mapping(value: &mut Value, choice: usize, key: &str, added: Value) {
    fn count(value: &Value) -> usize {
        match value {
            Value::Object(map) => 1 + map.values().map(count).sum::<usize>(),
            Value::Array(items) => items.iter().map(count).sum(),
            _ => 0,
        }
    }
    fn walk(value: &mut Value, target: &mut usize, key: &str, added: &mut Option<Value>) {
        match value {
            Value::Object(map) => {
                if *target == 0 {
                    if let Some(added) = added.take() {
                        map.insert(key.to_string(), added);
                    }
                    return;
                }
                *target -= 1;
                map.values_mut().for_each(|child| walk(child, target, key, added));
            }
            Value::Array(items) => items.iter_mut().for_each(|child| walk(child, target, key, added)),
            _ => {}
        }
    }
    let mut target = choice % count(value);
    walk(value, &mut target, key, &mut Some(added));
}

fn with_insertions(mut value: Value, insertions: Vec<(usize, &str, Value)>) -> Value {
    for (choice, key, added) in insertions {
        insert_into_mapping(&mut value, choice, key, added);
    }
    value
}

fn keys() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "name",
        "image",
        "ports",
        "labels",
        "containerPort",
        "spec",
        "metadata",
        "limits",
        "bogus",
        "imagePullPolice",
        "x.y",
        "apiVersion",
        "status",
        "args",
    ])
}

fn values() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        Value::Null,
        json!("text"),
        json!(7),
        json!(1.5),
        json!(true),
        json!({"a": 1}),
        json!({"name": "n", "extra": null}),
        json!([1]),
        json!([{"name": "n", "bogus": 2}]),
    ])
}

/// The `Value` path: strict decoding then defaulting; `None` when it fails or finds unknown fields.
fn decoded_by_value_path<T: serde::de::DeserializeOwned + serde::Serialize>(value: &Value) -> Option<Object> {
    let decoded = round_trip::<T>(value).ok()?;
    if !decoded.unknown.is_empty() {
        return None;
    }
    let mut object = Object::from_value(decoded.kept).ok()?;
    apply_defaults(&mut object).ok()?;
    Some(object)
}

/// The fast path agrees with the `Value` path whenever it decodes, and decodes every body the
/// `Value` path takes without unknown fields, except those with a null somewhere (a null unknown
/// field is only told apart from a known one on the `Value` path).
fn assert_fast_path_agrees<T>(value: &Value) -> Result<(), TestCaseError>
where
    T: k8s_openapi::Resource
        + k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>
        + serde::de::DeserializeOwned
        + serde::Serialize
        + 'static,
{
    let bytes = serde_json::to_vec(value).expect("a value encodes");
    let fast = decode_json_defaulted::<T>(&bytes);
    let slow = decoded_by_value_path::<T>(value);
    if fast.is_some() {
        prop_assert_eq!(&fast, &slow);
    }
    let has_null = String::from_utf8_lossy(&bytes).contains("null");
    if slow.is_some() && !has_null {
        prop_assert!(fast.is_some(), "the fast path refused a plain body: {}", value);
    }
    Ok(())
}

#[test]
fn plain_bodies_take_the_fast_path_and_come_out_defaulted() {
    let pod = decode_json_defaulted::<Pod>(&serde_json::to_vec(&pod()).unwrap()).expect("a plain pod decodes");
    assert_eq!(pod.field("spec").and_then(|spec| spec.get("dnsPolicy")), Some(&json!("ClusterFirst")));
    let deployment = decode_json_defaulted::<Deployment>(&serde_json::to_vec(&deployment()).unwrap())
        .expect("a plain deployment decodes");
    assert_eq!(deployment.field("spec").and_then(|spec| spec.get("revisionHistoryLimit")), Some(&json!(10)));
}

#[test]
fn a_body_with_an_unknown_or_wrongly_typed_field_leaves_the_fast_path() {
    let mut unknown = pod();
    unknown["spec"]["containers"][0]["imagePullPolice"] = json!("Always");
    let mut unknown_null = pod();
    unknown_null["spec"]["bogus"] = Value::Null;
    let mut wrong_kind = pod();
    wrong_kind["kind"] = json!("Service");
    let mut wrong_type = pod();
    wrong_type["spec"]["containers"] = json!("web");
    for value in [unknown, unknown_null, wrong_kind, wrong_type] {
        assert_eq!(decode_json_defaulted::<Pod>(&serde_json::to_vec(&value).unwrap()), None, "{value}");
    }
    assert_eq!(decode_json_defaulted::<Pod>(b"{\"kind\": \"Pod\"} trailing"), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn one_pass_and_slow_decoding_agree_on_pods(
        insertions in prop::collection::vec((any::<usize>(), keys(), values()), 1..4),
    ) {
        let value = with_insertions(pod(), insertions);
        prop_assert_eq!(round_trip::<Pod>(&value), round_trip_with_paths::<Pod>(&value));
    }

    #[test]
    fn one_pass_and_slow_decoding_agree_on_deployments(
        insertions in prop::collection::vec((any::<usize>(), keys(), values()), 1..4),
    ) {
        let value = with_insertions(deployment(), insertions);
        prop_assert_eq!(round_trip::<Deployment>(&value), round_trip_with_paths::<Deployment>(&value));
    }

    #[test]
    fn the_json_fast_path_agrees_with_the_value_path_on_pods(
        insertions in prop::collection::vec((any::<usize>(), keys(), values()), 0..3),
    ) {
        assert_fast_path_agrees::<Pod>(&with_insertions(pod(), insertions))?;
    }

    #[test]
    fn the_json_fast_path_agrees_with_the_value_path_on_deployments(
        insertions in prop::collection::vec((any::<usize>(), keys(), values()), 0..3),
    ) {
        assert_fast_path_agrees::<Deployment>(&with_insertions(deployment(), insertions))?;
    }
}
