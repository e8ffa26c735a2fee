//! Requests meant to crash or exhaust the server: extreme numbers meeting timestamps, JSON patches
//! that grow a document, huge lists, and graceful deletion where Kubernetes has none. Each must
//! be answered, with the status Kubernetes answers.

use serde_json::json;

use super::*;

/// The latest instant a timestamp can hold (jiff's `Timestamp::MAX`, whole seconds): where a
/// deletion whose grace period overflows the calendar lands.
const END_OF_TIME: &str = "9999-12-30T22:00:00Z";

/// A pod bound to a node and Running, so that deleting it is graceful.
fn running_pod(server: &mut ApiServer<MemoryStore>, name: &str, termination_grace: Value) {
    let mut body = pod(name, json!({"app": "web"}));
    body["spec"]["nodeName"] = json!("node-1");
    body["spec"]["terminationGracePeriodSeconds"] = termination_grace;
    let (status, created) = post(server, "/api/v1/namespaces/default/pods", body);
    assert_eq!(status, 201, "{created}");
    let mut with_status = created.clone();
    with_status["status"]["phase"] = json!("Running");
    let path = format!("/api/v1/namespaces/default/pods/{name}/status");
    let (status, body) = send(server, ApiRequest::new(Method::Put, &path).with_json(&with_status));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_delete_with_the_largest_grace_period_marks_the_pod_at_the_end_of_time() {
    let mut server = server();
    running_pod(&mut server, "p", json!(30));
    let request =
        ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/pods/p?gracePeriodSeconds=9223372036854775807");
    let (status, body) = send(&mut server, request);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["metadata"]["deletionGracePeriodSeconds"], json!(i64::MAX));
    assert_eq!(body["metadata"]["deletionTimestamp"], END_OF_TIME);
    let (status, body) = send(
        &mut server,
        ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/pods/p?gracePeriodSeconds=-9223372036854775808"),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["metadata"]["deletionGracePeriodSeconds"], 1, "a negative grace period is 1 s, as in Kubernetes");
}

#[test]
fn a_pod_with_a_huge_termination_grace_period_can_be_deleted_and_evicted() {
    let mut server = server();
    running_pod(&mut server, "p", json!(i64::MAX));
    let (status, body) = send(&mut server, ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/pods/p"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["metadata"]["deletionTimestamp"], END_OF_TIME);
    running_pod(&mut server, "q", json!(30));
    let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "q"},
        "deleteOptions": {"gracePeriodSeconds": i64::MAX}});
    let (status, body) = post(&mut server, "/api/v1/namespaces/default/pods/q/eviction", eviction);
    assert_eq!(status, 201, "{body}");
    let (_, evicted) = get(&mut server, "/api/v1/namespaces/default/pods/q");
    assert_eq!(evicted["metadata"]["deletionTimestamp"], END_OF_TIME);
}

/// Rows of Kubernetes' `TestCheckGracefulDelete` (pkg/registry/core/pod/strategy_test.go): a
/// grace period applies to scheduled, unfinished pods only; kinds without a graceful strategy
/// (a ConfigMap) are deleted at once whatever grace period the request names.
#[test]
fn only_scheduled_unfinished_pods_are_deleted_gracefully() {
    let mut server = server();
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}});
    post(&mut server, "/api/v1/namespaces/default/configmaps", config_map);
    let request = ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/configmaps/c?gracePeriodSeconds=30");
    assert_eq!(send(&mut server, request).0, 200);
    assert_eq!(get(&mut server, "/api/v1/namespaces/default/configmaps/c").0, 404, "no graceful deletion");

    post(&mut server, "/api/v1/namespaces/default/pods", pod("pending", json!({})));
    let request = ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/pods/pending?gracePeriodSeconds=30");
    assert_eq!(send(&mut server, request).0, 200, "a pod on no node goes at once");
    assert_eq!(get(&mut server, "/api/v1/namespaces/default/pods/pending").0, 404);

    running_pod(&mut server, "running", json!(30));
    let (status, body) = send(&mut server, ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/pods/running"));
    assert_eq!((status, body["metadata"]["deletionGracePeriodSeconds"].as_i64()), (200, Some(30)));
}

/// Kubernetes' `JSONPatchMaxCopyBytes` guard (3 MiB by default): a patch whose copies grow the
/// object past it is refused with 422 and the JSON patch library's message.
#[test]
fn a_json_patch_that_doubles_the_object_thirty_times_is_refused() {
    let mut server = server();
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"x": "a".repeat(1024)}});
    post(&mut server, "/api/v1/namespaces/default/configmaps", config_map);
    let operations: Vec<Value> = (0..30)
        .map(|index| json!({"op": "copy", "from": "/data", "path": format!("/metadata/annotations{index}")}))
        .chain((0..30).map(|index| json!({"op": "copy", "from": "/data", "path": format!("/data/y{index}")})))
        .collect();
    let request = ApiRequest::new(Method::Patch, "/api/v1/namespaces/default/configmaps/c")
        .with_body("application/json-patch+json", Value::Array(operations).to_string().into_bytes());
    let (status, body) = send(&mut server, request);
    assert_eq!(status, 422, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("Unable to complete the copy, the accumulated size increase of copy is")
            && message.ends_with("exceeding the limit 3145728"),
        "{message}"
    );
}

#[test]
fn a_json_patch_nesting_the_object_in_itself_is_refused_past_the_depth_limit() {
    let mut server = server();
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}});
    post(&mut server, "/api/v1/namespaces/default/configmaps", config_map);
    let operations: Vec<Value> =
        (0..200).map(|_| json!({"op": "copy", "from": "/metadata", "path": "/metadata/x"})).collect();
    let request = ApiRequest::new(Method::Patch, "/api/v1/namespaces/default/configmaps/c")
        .with_body("application/json-patch+json", Value::Array(operations).to_string().into_bytes());
    let (status, body) = send(&mut server, request);
    assert!(status == 422, "{status} {body}");
}

#[test]
fn a_strategic_merge_of_sixty_thousand_finalizers_keeps_each_once() {
    let mut server = server();
    let finalizers: Vec<String> = (0..60_000).map(|index| format!("example.com/f{index}")).collect();
    let config_map =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": finalizers}});
    let (status, body) = post(&mut server, "/api/v1/namespaces/default/configmaps", config_map);
    assert_eq!(status, 201, "{}", body["message"]);
    let patch_finalizers: Vec<String> = (30_000..90_000).map(|index| format!("example.com/f{index}")).collect();
    let patch = json!({"metadata": {"finalizers": patch_finalizers}});
    let request = ApiRequest::new(Method::Patch, "/api/v1/namespaces/default/configmaps/c")
        .with_body("application/strategic-merge-patch+json", patch.to_string().into_bytes());
    let (status, body) = send(&mut server, request);
    assert_eq!(status, 200, "{}", body["message"]);
    assert_eq!(body["metadata"]["finalizers"].as_array().map(Vec::len), Some(90_000));
}
