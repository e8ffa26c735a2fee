//! Test support: controllers driven against a real [`ApiServer`] over the in-memory store, each
//! action sent as the REST request a shell would send ([`super::request::action_request`]).

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use super::action::Reconciled;
use super::request::action_request;
use crate::api::{ApiRequest, ApiServer};
use crate::object::Object;
use crate::object::kinds::RESOURCES;
use crate::store::{ListOptions, MemoryStore, Store};

/// The fixed time the tests run at.
pub fn now() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

/// Sends a request and returns (status, body).
pub fn send(server: &mut ApiServer<MemoryStore>, request: ApiRequest) -> (u16, Value) {
    match server.handle(&request, now()).into_json() {
        Ok(answer) => answer,
        Err(_) => panic!("unexpected watch"),
    }
}

/// Every stored object of every kind, as a controller's informers would see them.
pub fn observe(server: &ApiServer<MemoryStore>) -> Vec<Object> {
    let mut seen = Vec::new();
    let mut objects = Vec::new();
    for resource in RESOURCES.iter().filter(|resource| resource.stored) {
        let group_resource = resource.group_resource();
        if seen.contains(&group_resource) {
            continue;
        }
        seen.push(group_resource);
        let listed = server.store().list(group_resource, &ListOptions::all()).unwrap();
        objects.extend(listed.items.iter().map(|object| Object::clone(object)));
    }
    objects
}

/// Sends the actions batch by batch, stopping after a batch in which a request failed, as the
/// shell does. Returns the statuses answered.
pub fn apply(server: &mut ApiServer<MemoryStore>, reconciled: &Reconciled) -> Vec<u16> {
    let mut statuses = Vec::new();
    for batch in reconciled.batches() {
        let mut failed = false;
        for action in batch {
            let (status, _) = send(server, action_request(action).unwrap());
            failed |= status >= 300;
            statuses.push(status);
        }
        if failed && !reconciled.independent_batches {
            break;
        }
    }
    statuses
}

/// Reconciles and applies until a reconcile returns no action, at most `rounds_max` times.
/// Returns the number of reconciles run, the last (empty) one included.
pub fn run_until_settled(
    server: &mut ApiServer<MemoryStore>,
    rounds_max: usize,
    mut reconcile: impl FnMut(&[Object]) -> Reconciled,
) -> usize {
    for round in 1..=rounds_max {
        let reconciled = reconcile(&observe(server));
        if reconciled.actions.is_empty() {
            return round;
        }
        apply(server, &reconciled);
    }
    panic!("the controller did not settle in {rounds_max} rounds");
}
