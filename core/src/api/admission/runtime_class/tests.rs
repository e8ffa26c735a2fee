//! Rows from Kubernetes' `plugin/pkg/admission/runtimeclass/admission_test.go` (`TestSetOverhead`,
//! `TestSetScheduling`, `TestValidateOverhead`) and `pkg/util/tolerations/tolerations_test.go`.

use serde_json::json;

use super::*;

fn class(value: Value) -> RuntimeClass {
    let mut class = json!({"metadata": {"name": "foo"}, "handler": "bar"});
    for (key, field) in value.as_object().unwrap() {
        class[key] = field.clone();
    }
    serde_json::from_value(class).unwrap()
}

fn spec(value: Value) -> Map<String, Value> {
    let mut spec = json!({"containers": [{"name": "c"}]});
    for (key, field) in value.as_object().unwrap() {
        spec[key] = field.clone();
    }
    spec.as_object().unwrap().clone()
}

#[test]
fn set_overhead() {
    let with_overhead = class(json!({"overhead": {"podFixed": {"cpu": "100m", "memory": "10Mi"}}}));
    let rows = [
        ("overhead, no container requirements", json!({}), Ok(json!({"cpu": "100m", "memory": "10Mi"}))),
        (
            "overhead, pod with the same overhead",
            json!({"overhead": {"cpu": "100m", "memory": "10Mi"}}),
            Ok(json!({"cpu": "100m", "memory": "10Mi"})),
        ),
        (
            "overhead, pod with a differing overhead",
            json!({"overhead": {"cpu": "200m", "memory": "10Mi"}}),
            Err(RuntimeClassError::OverheadMismatch),
        ),
    ];
    for (name, fields, expected) in rows {
        let mut pod = spec(fields);
        let result = mutate_pod_spec(&mut pod, &with_overhead).map(|()| pod["overhead"].clone());
        assert_eq!(result, expected, "{name}");
    }
    let mut pod = spec(json!({}));
    mutate_pod_spec(&mut pod, &class(json!({}))).unwrap();
    assert!(!pod.contains_key("overhead"), "no overhead, no change");
}

#[test]
fn set_scheduling() {
    let scheduling = class(json!({"scheduling": {"nodeSelector": {"foo": "bar"},
        "tolerations": [{"key": "foo", "operator": "Equal", "value": "bar", "effect": "NoSchedule"}]}}));
    let mut empty = spec(json!({}));
    mutate_pod_spec(&mut empty, &scheduling).unwrap();
    assert_eq!(empty["nodeSelector"], json!({"foo": "bar"}), "runtimeClass scheduling, pod without selector");
    assert_eq!(
        empty["tolerations"],
        json!([{"key": "foo", "operator": "Equal", "value": "bar", "effect": "NoSchedule"}])
    );
    let mut merged =
        spec(json!({"nodeSelector": {"bar": "baz"}, "tolerations": [{"key": "baz", "operator": "Exists"}]}));
    mutate_pod_spec(&mut merged, &scheduling).unwrap();
    assert_eq!(merged["nodeSelector"], json!({"bar": "baz", "foo": "bar"}), "pod with a non-conflicting selector");
    assert_eq!(merged["tolerations"].as_array().unwrap().len(), 2);
    let mut conflicting = spec(json!({"nodeSelector": {"foo": "baz"}}));
    assert_eq!(
        mutate_pod_spec(&mut conflicting, &scheduling).unwrap_err().to_string(),
        "conflict: runtimeClass.scheduling.nodeSelector[foo] = bar; pod.spec.nodeSelector[foo] = baz",
        "runtimeClass scheduling, pod with conflicting selector"
    );
}

#[test]
fn validate_overhead_rows() {
    let with_overhead = class(json!({"overhead": {"podFixed": {"cpu": "100m", "memory": "10Mi"}}}));
    let pod_with = json!({"overhead": {"cpu": "100m", "memory": "10Mi"}});
    let pod_other = json!({"overhead": {"cpu": "200m", "memory": "10Mi"}});
    assert_eq!(validate_overhead(&pod_with, Some(&with_overhead)), Ok(()), "overhead, matching overhead");
    assert_eq!(validate_overhead(&json!({}), None), Ok(()), "no overhead, no runtimeclass");
    assert_eq!(
        validate_overhead(&pod_other, Some(&with_overhead)),
        Err(RuntimeClassError::OverheadMismatch),
        "overhead, non-matching overhead"
    );
    assert_eq!(
        validate_overhead(&pod_with, None),
        Err(RuntimeClassError::OverheadWithoutClass),
        "no runtimeclass, overhead"
    );
    assert_eq!(
        RuntimeClassError::NotFound("gvisor".into()).to_string(),
        "pod rejected: RuntimeClass \"gvisor\" not found"
    );
}

fn toleration(value: Value) -> Toleration {
    serde_json::from_value(value).unwrap()
}

/// `TestMergeTolerations` (a subset of its rows).
#[test]
fn merge_tolerations_drops_covered_ones() {
    let exists_foo = toleration(json!({"key": "foo", "operator": "Exists", "effect": "NoSchedule"}));
    let equal_foo = toleration(json!({"key": "foo", "operator": "Equal", "value": "bar", "effect": "NoSchedule"}));
    let other = toleration(json!({"key": "baz", "operator": "Exists"}));
    let all = toleration(json!({"operator": "Exists"}));
    assert_eq!(
        merge_tolerations(std::slice::from_ref(&equal_foo), std::slice::from_ref(&exists_foo)),
        vec![exists_foo.clone()],
        "superset later"
    );
    assert_eq!(
        merge_tolerations(std::slice::from_ref(&exists_foo), std::slice::from_ref(&equal_foo)),
        vec![exists_foo.clone()],
        "superset first"
    );
    assert_eq!(
        merge_tolerations(std::slice::from_ref(&equal_foo), std::slice::from_ref(&equal_foo)),
        vec![equal_foo.clone()],
        "identical"
    );
    assert_eq!(
        merge_tolerations(std::slice::from_ref(&other), std::slice::from_ref(&equal_foo)),
        vec![other.clone(), equal_foo.clone()],
        "disjoint"
    );
    assert_eq!(merge_tolerations(&[other, equal_foo], std::slice::from_ref(&all)), vec![all], "match all");
    let short = toleration(json!({"key": "foo", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}));
    let long = toleration(json!({"key": "foo", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
    assert_eq!(
        merge_tolerations(std::slice::from_ref(&short), std::slice::from_ref(&long)),
        vec![long],
        "longer toleration seconds covers"
    );
}
