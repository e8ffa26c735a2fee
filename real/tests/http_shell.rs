//! The HTTP shell's own rules, over a real loopback socket: bodies over 3 MiB get 413, malformed
//! bodies 400 with the parser's message, a full in-flight limit 429 with `Retry-After`, and a
//! panic inside one request a 500 while the server goes on serving.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use coxswain_core::api::{ApiRequest, Method};
use coxswain_core::object::Object;
use coxswain_core::object::kinds::GroupResource;
use coxswain_core::store::{
    Change, ListOptions, ListResult, MemoryStore, ObjectKey, Preconditions, Revision, Store, StoreError, Write,
};
use coxswain_real::client::connector::TcpConnector;
use coxswain_real::client::http::{Answer, HttpClient};
use coxswain_real::clock::SystemClock;
use coxswain_real::server::http::InFlightLimits;
use coxswain_real::server::{self, RunningServer, ServerOptions};
use serde_json::json;

/// A memory store whose `get` of an object named `explode` panics: a fake behind the core's
/// trait, standing in for a bug in request handling.
struct PanickingStore(MemoryStore);

impl Store for PanickingStore {
    fn current_revision(&self) -> Revision {
        self.0.current_revision()
    }
    fn compacted_revision(&self) -> Revision {
        self.0.compacted_revision()
    }
    fn create(&mut self, resource: GroupResource, object: Object) -> Result<Arc<Object>, StoreError> {
        self.0.create(resource, object)
    }
    fn get(&self, key: &ObjectKey) -> Result<Arc<Object>, StoreError> {
        assert_ne!(key.name, "explode", "a deliberate bug");
        self.0.get(key)
    }
    fn update(&mut self, resource: GroupResource, object: Object) -> Result<Arc<Object>, StoreError> {
        self.0.update(resource, object)
    }
    fn delete(&mut self, key: &ObjectKey, preconditions: &Preconditions) -> Result<Arc<Object>, StoreError> {
        self.0.delete(key, preconditions)
    }
    fn transaction(&mut self, writes: Vec<Write>) -> Result<Vec<Arc<Object>>, StoreError> {
        self.0.transaction(writes)
    }
    fn list(&self, resource: GroupResource, options: &ListOptions<'_>) -> Result<ListResult, StoreError> {
        self.0.list(resource, options)
    }
    fn visit_changes_after(
        &self,
        after: Revision,
        max: usize,
        visit: &mut dyn FnMut(&Arc<Change>),
    ) -> Result<Revision, StoreError> {
        self.0.visit_changes_after(after, max, visit)
    }
    fn compact(&mut self, revision: Revision) -> Result<(), StoreError> {
        self.0.compact(revision)
    }
}

async fn start(in_flight: InFlightLimits) -> (RunningServer<PanickingStore>, HttpClient) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    let connector = Arc::new(TcpConnector::new(address));
    let options = ServerOptions { run_components: false, in_flight, ..ServerOptions::default() };
    let server = server::start(
        PanickingStore(MemoryStore::new()),
        listener,
        connector.clone(),
        address,
        Arc::new(SystemClock),
        &options,
    )
    .await
    .unwrap();
    (server, HttpClient::new(connector, Duration::from_secs(30)))
}

fn config_map(name: &str) -> ApiRequest {
    ApiRequest::new(Method::Post, "/api/v1/namespaces/default/configmaps")
        .with_json(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}))
}

fn assert_status(answer: &Answer, code: u16, reason: &str) {
    assert_eq!(answer.status, code, "{}", answer.body);
    assert_eq!(answer.body["kind"], "Status", "{}", answer.body);
    assert_eq!(answer.body["reason"], reason, "{}", answer.body);
}

#[tokio::test]
async fn oversized_and_malformed_bodies_get_a_status_and_change_nothing() {
    let (server, client) = start(InFlightLimits::default()).await;
    let huge = "x".repeat(3 * 1024 * 1024 + 1);
    let oversized = ApiRequest::new(Method::Post, "/api/v1/namespaces/default/configmaps").with_json(
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "huge"}, "data": {"blob": huge}}),
    );
    let answer = client.send(&oversized).await.unwrap();
    assert_status(&answer, 413, "RequestEntityTooLarge");

    let malformed = ApiRequest::new(Method::Post, "/api/v1/namespaces/default/configmaps")
        .with_body("application/json", b"{\"apiVersion\": \"v1\", \"kind\": ".to_vec());
    let answer = client.send(&malformed).await.unwrap();
    assert_status(&answer, 400, "BadRequest");
    assert!(answer.body["message"].as_str().unwrap().contains("EOF"), "{}", answer.body);

    let list = client.send(&ApiRequest::new(Method::Get, "/api/v1/namespaces/default/configmaps")).await.unwrap();
    assert_eq!(list.body["items"], json!([]), "nothing was stored");
    server.stop().await;
}

#[tokio::test]
async fn a_full_in_flight_limit_answers_429_with_retry_after() {
    let (server, client) = start(InFlightLimits { reads: 400, writes: 0 }).await;
    let answer = client.send(&config_map("refused")).await.unwrap();
    assert_status(&answer, 429, "TooManyRequests");
    assert_eq!(answer.body["message"], "Too many requests, please try again later.");
    assert_eq!(answer.body["details"]["retryAfterSeconds"], 1);
    let read = client.send(&ApiRequest::new(Method::Get, "/api/v1/namespaces")).await.unwrap();
    assert_eq!(read.status, 200, "reads have their own limit");
    server.stop().await;
}

#[tokio::test]
async fn a_panic_in_one_request_is_a_500_and_the_server_keeps_serving() {
    let (server, client) = start(InFlightLimits::default()).await;
    let answer =
        client.send(&ApiRequest::new(Method::Get, "/api/v1/namespaces/default/configmaps/explode")).await.unwrap();
    assert_status(&answer, 500, "InternalError");
    assert!(answer.body["message"].as_str().unwrap().contains("a deliberate bug"), "{}", answer.body);
    // Reads and writes go on, under the same (unpoisoned) lock.
    assert_eq!(client.send(&config_map("after")).await.unwrap().status, 201);
    let read = client.send(&ApiRequest::new(Method::Get, "/api/v1/namespaces/default/configmaps/after")).await.unwrap();
    assert_eq!(read.status, 200);
    server.stop().await;
}
