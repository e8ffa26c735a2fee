//! Rows from Kubernetes' `plugin/pkg/admission/limitranger/admission_test.go`:
//! `TestDefaultContainerResourceRequirements`, `TestMergePodResourceRequirements`,
//! `TestPodLimitFunc` and `TestPersistentVolumeClaimLimitFunc`.

use serde_json::json;

use super::*;

fn limit_range(items: Value) -> LimitRange {
    serde_json::from_value(json!({"metadata": {"name": "abc", "namespace": "test"}, "spec": {"limits": items}}))
        .unwrap()
}

fn resources(requests: Value, limits: Value) -> Value {
    let mut resources = json!({});
    if !requests.is_null() {
        resources["requests"] = requests;
    }
    if !limits.is_null() {
        resources["limits"] = limits;
    }
    resources
}

fn pod(containers: Vec<Value>, init_containers: Vec<Value>) -> Object {
    let named = |prefix: &str, list: Vec<Value>| -> Vec<Value> {
        list.into_iter()
            .enumerate()
            .map(|(index, resources)| json!({"name": format!("{prefix}{index}"), "image": "foo:V1", "resources": resources}))
            .collect()
    };
    Object::from_value(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pod", "namespace": "test"},
        "spec": {"containers": named("foo-", containers), "initContainers": named("foo-init-", init_containers)}}))
    .unwrap()
}

/// `createLimitRange`: one item of a type with min, max, default request, default and ratio.
fn item(kind: &str, min: Value, max: Value, default_request: Value, default: Value, ratio: Value) -> Value {
    let mut item = json!({"type": kind});
    for (field, value) in [
        ("min", min),
        ("max", max),
        ("defaultRequest", default_request),
        ("default", default),
        ("maxLimitRequestRatio", ratio),
    ] {
        if !value.is_null() {
            item[field] = value;
        }
    }
    item
}

fn cpu_memory(cpu: &str, memory: &str) -> Value {
    let mut list = json!({});
    if !cpu.is_empty() {
        list["cpu"] = json!(cpu);
    }
    if !memory.is_empty() {
        list["memory"] = json!(memory);
    }
    list
}

#[test]
fn default_container_resource_requirements() {
    let range = limit_range(json!([item(
        "Container",
        Value::Null,
        Value::Null,
        cpu_memory("100m", ""),
        Value::Null,
        Value::Null
    )]));
    let (requests, limits) = default_container_requirements(&range);
    assert_eq!(requests, ResourceList::from([("cpu".to_string(), Quantity::parse("100m").unwrap())]));
    assert!(limits.is_empty());
}

#[test]
fn merge_pod_resource_requirements_fills_only_what_is_missing() {
    let range = limit_range(json!([item(
        "Container",
        Value::Null,
        Value::Null,
        cpu_memory("100m", "1Gi"),
        cpu_memory("200m", "2Gi"),
        Value::Null
    )]));
    let defaults = default_container_requirements(&range);
    // "pod with no resources enumerated should get each resource from default request"
    let mut empty = pod(vec![json!({})], vec![json!({})]);
    merge_pod_resource_requirements(&mut empty, &defaults);
    let container = &empty.fields["spec"]["containers"][0]["resources"];
    assert_eq!(
        container,
        &json!({"limits": {"cpu": "200m", "memory": "2Gi"}, "requests": {"cpu": "100m", "memory": "1Gi"}})
    );
    assert_eq!(empty.fields["spec"]["initContainers"][0]["resources"], *container);
    assert_eq!(
        empty.metadata.annotations.as_ref().unwrap()[LIMIT_RANGER_ANNOTATION],
        "LimitRanger plugin set: cpu, memory request for container foo-0; cpu, memory limit for container foo-0; \
         cpu, memory request for init container foo-init-0; cpu, memory limit for init container foo-init-0"
    );
    // "pod with some resources enumerated should only merge empty"
    let mut partial = pod(vec![resources(cpu_memory("", "512Mi"), Value::Null)], vec![]);
    merge_pod_resource_requirements(&mut partial, &defaults);
    assert_eq!(
        partial.fields["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "200m", "memory": "2Gi"}, "requests": {"cpu": "100m", "memory": "512Mi"}})
    );
    // "pod with all resources enumerated should not merge anything"
    let mut full = pod(vec![resources(cpu_memory("100m", "512Mi"), cpu_memory("200m", "1G"))], vec![]);
    merge_pod_resource_requirements(&mut full, &defaults);
    assert_eq!(full.metadata.annotations, None);
}

#[test]
fn pod_limit_func_success_cases() {
    let rows = [
        (
            item("Container", cpu_memory("50m", ""), Value::Null, Value::Null, Value::Null, Value::Null),
            pod(vec![resources(cpu_memory("100m", ""), Value::Null)], vec![]),
        ),
        (
            item("Container", Value::Null, cpu_memory("", "100Mi"), Value::Null, Value::Null, Value::Null),
            pod(vec![resources(cpu_memory("", "50Mi"), cpu_memory("", "50Mi"))], vec![]),
        ),
        (
            item("Pod", Value::Null, cpu_memory("200m", ""), Value::Null, Value::Null, Value::Null),
            pod(
                vec![
                    resources(cpu_memory("50m", ""), cpu_memory("100m", "")),
                    resources(cpu_memory("50m", ""), cpu_memory("100m", "")),
                ],
                vec![],
            ),
        ),
        (
            item("Container", Value::Null, Value::Null, Value::Null, Value::Null, cpu_memory("10", "")),
            pod(vec![resources(cpu_memory("100m", ""), cpu_memory("500m", ""))], vec![]),
        ),
        (
            item("Pod", Value::Null, cpu_memory("200m", ""), Value::Null, Value::Null, Value::Null),
            pod(
                vec![resources(cpu_memory("50m", ""), cpu_memory("100m", ""))],
                vec![resources(cpu_memory("100m", ""), cpu_memory("200m", ""))],
            ),
        ),
    ];
    for (index, (item, pod)) in rows.into_iter().enumerate() {
        let errors = pod_limit_errors(&limit_range(json!([item])), &pod);
        assert!(errors.is_empty(), "row {index}: {errors:?}");
    }
}

#[test]
fn pod_limit_func_error_cases_say_what_failed() {
    let rows = [
        (
            item("Container", cpu_memory("100m", ""), Value::Null, Value::Null, Value::Null, Value::Null),
            pod(vec![resources(cpu_memory("50m", ""), Value::Null)], vec![]),
            "minimum cpu usage per Container is 100m, but request is 50m",
        ),
        (
            item("Container", cpu_memory("100m", ""), Value::Null, Value::Null, Value::Null, Value::Null),
            pod(vec![json!({})], vec![]),
            "minimum cpu usage per Container is 100m.  No request is specified",
        ),
        (
            item("Container", Value::Null, cpu_memory("", "1Gi"), Value::Null, Value::Null, Value::Null),
            pod(vec![resources(cpu_memory("", "512Mi"), cpu_memory("", "2Gi"))], vec![]),
            "maximum memory usage per Container is 1Gi, but limit is 2Gi",
        ),
        (
            item("Container", Value::Null, cpu_memory("", "1Gi"), Value::Null, Value::Null, Value::Null),
            pod(vec![resources(cpu_memory("", "512Mi"), Value::Null)], vec![]),
            "maximum memory usage per Container is 1Gi.  No limit is specified",
        ),
        (
            item("Pod", Value::Null, cpu_memory("100m", ""), Value::Null, Value::Null, Value::Null),
            pod(
                vec![
                    resources(cpu_memory("50m", ""), cpu_memory("60m", "")),
                    resources(cpu_memory("50m", ""), cpu_memory("60m", "")),
                ],
                vec![],
            ),
            "maximum cpu usage per Pod is 100m, but limit is 120m",
        ),
        (
            item("Container", Value::Null, Value::Null, Value::Null, Value::Null, cpu_memory("2", "")),
            pod(vec![resources(cpu_memory("100m", ""), cpu_memory("500m", ""))], vec![]),
            "cpu max limit to request ratio per Container is 2, but provided ratio is 5.000000",
        ),
        (
            item("Container", Value::Null, Value::Null, Value::Null, Value::Null, cpu_memory("2", "")),
            pod(vec![resources(Value::Null, cpu_memory("500m", ""))], vec![]),
            "cpu max limit to request ratio per Container is 2, but no request is specified or request is 0",
        ),
        (
            item("Container", cpu_memory("100m", ""), Value::Null, Value::Null, Value::Null, Value::Null),
            pod(
                vec![resources(cpu_memory("100m", ""), Value::Null)],
                vec![resources(cpu_memory("10m", ""), Value::Null)],
            ),
            "minimum cpu usage per Container is 100m, but request is 10m",
        ),
    ];
    for (item, pod, expected) in rows {
        assert_eq!(pod_limit_errors(&limit_range(json!([item])), &pod), vec![expected.to_string()]);
    }
}

#[test]
fn persistent_volume_claim_limit_func() {
    let claim = |storage: &str| {
        Object::from_value(
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "test"},
            "spec": {"resources": {"requests": {"storage": storage}}}}),
        )
        .unwrap()
    };
    let range =
        limit_range(json!([{"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "10Gi"}}]));
    assert!(claim_limit_errors(&range, &claim("5Gi")).is_empty());
    assert_eq!(
        claim_limit_errors(&range, &claim("512Mi")),
        vec!["minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 512Mi"]
    );
    assert_eq!(
        claim_limit_errors(&range, &claim("20Gi")),
        vec!["maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi"]
    );
}

#[test]
fn several_errors_are_aggregated_in_brackets() {
    assert_eq!(aggregate(&["a".into()]), "a");
    assert_eq!(aggregate(&["a".into(), "b".into()]), "[a, b]");
}
