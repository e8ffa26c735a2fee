//! Liveness: once every fault is healed, the cluster must reach the state its objects declare —
//! every node Ready, every Deployment, StatefulSet and DaemonSet fully rolled out and available.

use coxswain_core::api::{ApiRequest, ApiResponse, ApiServer, Method};
use coxswain_core::jiff::Timestamp;
use coxswain_core::store::Store;
use serde_json::Value;

/// What still differs from the declared state, or `None` when the cluster has converged.
pub fn unconverged<S: Store>(server: &mut ApiServer<S>, now: Timestamp) -> Option<String> {
    let mut lagging = Vec::new();
    for node in list(server, "/api/v1/nodes", now) {
        if condition(&node, "Ready") != Some("True") {
            lagging.push(format!("node {} is not Ready", name(&node)));
        }
    }
    for deployment in list(server, "/apis/apps/v1/deployments", now) {
        let wanted = number(&deployment, "/spec/replicas", 1);
        let updated = number(&deployment, "/status/updatedReplicas", 0);
        let available = number(&deployment, "/status/availableReplicas", 0);
        let total = number(&deployment, "/status/replicas", 0);
        let observed =
            number(&deployment, "/status/observedGeneration", 0) >= number(&deployment, "/metadata/generation", 0);
        if !(observed && updated == wanted && available == wanted && total == wanted) {
            lagging.push(format!(
                "deployment {} has {available}/{wanted} available, {updated} updated, {total} in all",
                qualified(&deployment)
            ));
        }
    }
    for statefulset in list(server, "/apis/apps/v1/statefulsets", now) {
        let wanted = number(&statefulset, "/spec/replicas", 1);
        let ready = number(&statefulset, "/status/readyReplicas", 0);
        let updated = number(&statefulset, "/status/updatedReplicas", 0);
        if ready != wanted || updated != wanted {
            lagging
                .push(format!("statefulset {} has {ready}/{wanted} ready, {updated} updated", qualified(&statefulset)));
        }
    }
    for daemonset in list(server, "/apis/apps/v1/daemonsets", now) {
        let wanted = number(&daemonset, "/status/desiredNumberScheduled", 0);
        let ready = number(&daemonset, "/status/numberReady", 0);
        if ready != wanted {
            lagging.push(format!("daemonset {} has {ready}/{wanted} ready", qualified(&daemonset)));
        }
    }
    if lagging.is_empty() { None } else { Some(lagging.join("; ")) }
}

/// The items of a list, or none when the list cannot be read.
pub fn list<S: Store>(server: &mut ApiServer<S>, path: &str, now: Timestamp) -> Vec<Value> {
    match server.handle(&ApiRequest::new(Method::Get, path), now) {
        ApiResponse::Json { status: 200, body: Value::Object(mut map), .. } => match map.remove("items") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn number(object: &Value, pointer: &str, default: i64) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(default)
}

fn name(object: &Value) -> &str {
    object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default()
}

fn qualified(object: &Value) -> String {
    let namespace = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
    format!("{namespace}/{}", name(object))
}

/// The status of a condition of an object.
pub fn condition<'a>(object: &'a Value, kind: &str) -> Option<&'a str> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|condition| condition.get("type").and_then(Value::as_str) == Some(kind))
        .and_then(|condition| condition.get("status").and_then(Value::as_str))
}
