//! Liveness: once every fault is healed, the cluster must reach the state its objects declare —
//! every node Ready, every Deployment, StatefulSet and DaemonSet fully rolled out and available.
//!
//! The checkers read the objects as the store holds them (what a LIST at the newest revision
//! returns), not through a LIST request: a request would encode every object into JSON for the
//! checker to read a few fields of, and the checker samples a 30,000-pod cluster every few
//! simulated seconds.

use std::sync::Arc;

use coxswain_core::api::{ApiRequest, ApiResponse, ApiServer, Method};
use coxswain_core::jiff::Timestamp;
use coxswain_core::object::Object;
use coxswain_core::object::kinds::GroupResource;
use coxswain_core::selector::LabelSelector;
use coxswain_core::store::{ListOptions, Store};
use serde_json::Value;

const NODES: GroupResource = GroupResource { group: "", resource: "nodes" };
const DEPLOYMENTS: GroupResource = GroupResource { group: "apps", resource: "deployments" };
const STATEFULSETS: GroupResource = GroupResource { group: "apps", resource: "statefulsets" };
const DAEMONSETS: GroupResource = GroupResource { group: "apps", resource: "daemonsets" };

/// What still differs from the declared state, or `None` when the cluster has converged.
pub fn unconverged<S: Store>(store: &S) -> Option<String> {
    let mut lagging = Vec::new();
    for node in stored(store, NODES, None, "") {
        if condition(&node, "Ready") != Some("True") {
            lagging.push(format!("node {} is not Ready", name(&node)));
        }
    }
    for deployment in stored(store, DEPLOYMENTS, None, "") {
        let wanted = number(&deployment, "/spec/replicas", 1);
        let updated = number(&deployment, "/status/updatedReplicas", 0);
        let available = number(&deployment, "/status/availableReplicas", 0);
        let total = number(&deployment, "/status/replicas", 0);
        let observed =
            number(&deployment, "/status/observedGeneration", 0) >= deployment.metadata.generation.unwrap_or(0);
        if !(observed && updated == wanted && available == wanted && total == wanted) {
            lagging.push(format!(
                "deployment {} has {available}/{wanted} available, {updated} updated, {total} in all",
                qualified(&deployment)
            ));
        }
    }
    for statefulset in stored(store, STATEFULSETS, None, "") {
        let wanted = number(&statefulset, "/spec/replicas", 1);
        let ready = number(&statefulset, "/status/readyReplicas", 0);
        let updated = number(&statefulset, "/status/updatedReplicas", 0);
        if ready != wanted || updated != wanted {
            lagging
                .push(format!("statefulset {} has {ready}/{wanted} ready, {updated} updated", qualified(&statefulset)));
        }
    }
    for daemonset in stored(store, DAEMONSETS, None, "") {
        let wanted = number(&daemonset, "/status/desiredNumberScheduled", 0);
        let ready = number(&daemonset, "/status/numberReady", 0);
        if ready != wanted {
            lagging.push(format!("daemonset {} has {ready}/{wanted} ready", qualified(&daemonset)));
        }
    }
    if lagging.is_empty() { None } else { Some(lagging.join("; ")) }
}

/// The items of a list request, or none when the list cannot be read.
pub fn list<S: Store>(server: &mut ApiServer<S>, path: &str, now: Timestamp) -> Vec<Value> {
    match server.handle(&ApiRequest::new(Method::Get, path), now) {
        ApiResponse::Json { status: 200, body: Value::Object(mut map), .. } => match map.remove("items") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The objects of a collection as the store holds them now, in key order, as a LIST at the
/// newest revision returns them: of one namespace or all, those whose labels match `selector`
/// (empty: every object). Nothing when the selector does not parse (a LIST answers 400) or the
/// store fails.
pub fn stored<S: Store>(
    store: &S,
    resource: GroupResource,
    namespace: Option<&str>,
    selector: &str,
) -> Vec<Arc<Object>> {
    let selector = if selector.is_empty() {
        None
    } else {
        match LabelSelector::parse(selector) {
            Ok(selector) => Some(selector),
            Err(_) => return Vec::new(),
        }
    };
    let options = ListOptions { namespace, label_selector: selector.as_ref(), ..ListOptions::all() };
    store.list(resource, &options).map(|list| list.items).unwrap_or_default()
}

/// A field of an object outside its metadata by JSON pointer (`/status/phase`), as it reads in
/// the object's JSON; metadata is typed (`object.metadata`), so `/metadata/…` finds nothing.
pub fn pointer<'a>(object: &'a Object, pointer: &str) -> Option<&'a Value> {
    let path = pointer.strip_prefix('/')?;
    match path.split_once('/') {
        Some((field, _)) => object.field(field)?.pointer(&pointer[field.len() + 1..]),
        None => object.field(path),
    }
}

fn number(object: &Object, at: &str, default: i64) -> i64 {
    pointer(object, at).and_then(Value::as_i64).unwrap_or(default)
}

fn name(object: &Object) -> &str {
    object.name()
}

fn qualified(object: &Object) -> String {
    format!("{}/{}", object.namespace(), name(object))
}

/// The status of a condition of an object.
pub fn condition<'a>(object: &'a Object, kind: &str) -> Option<&'a str> {
    pointer(object, "/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|condition| condition.get("type").and_then(Value::as_str) == Some(kind))
        .and_then(|condition| condition.get("status").and_then(Value::as_str))
}
