//! End-to-end tests of the API semantics over the in-memory store, request by request, as kubectl
//! and the controllers send them.

mod crud;
mod errors;
mod hostile;
mod hostile_properties;
mod reads;
mod subresources;
mod watching;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{ApiRequest, ApiResponse, ApiServer, Method};
use crate::store::MemoryStore;

pub(super) fn now() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

pub(super) fn server() -> ApiServer<MemoryStore> {
    let mut server = ApiServer::new(MemoryStore::new(), 7);
    server.bootstrap(now()).unwrap();
    server
}

/// Sends a request and returns (status, body).
pub(super) fn send(server: &mut ApiServer<MemoryStore>, request: ApiRequest) -> (u16, Value) {
    match server.handle(&request, now()).into_json() {
        Ok(answer) => answer,
        Err(_) => panic!("unexpected watch"),
    }
}

pub(super) fn get(server: &mut ApiServer<MemoryStore>, path: &str) -> (u16, Value) {
    send(server, ApiRequest::new(Method::Get, path))
}

pub(super) fn post(server: &mut ApiServer<MemoryStore>, path: &str, body: Value) -> (u16, Value) {
    send(server, ApiRequest::new(Method::Post, path).with_json(&body))
}

pub(super) fn deployment(name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "main", "image": image}]}}
        }
    })
}

pub(super) fn pod(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
           "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}})
}
