//! Errors and plumbing as Kubernetes has them: exact `Status` objects and headers, deletes that
//! answer `Status{Success}`, foreground deletion in one write, a store that fails, reads through
//! `&self`, and uids that do not repeat after a restart.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::object::Object;
use crate::object::kinds::GroupResource;
use crate::store::{Change, ListOptions, ListResult, ObjectKey, Preconditions, Revision, Store, StoreError, Write};

/// A running pod `p` labelled app=web and a PodDisruptionBudget `web` over it with `status`.
fn pod_under_budget(server: &mut ApiServer<MemoryStore>, status: Value) {
    let mut running = pod("p", json!({"app": "web"}));
    running["spec"]["nodeName"] = json!("node-1");
    let (_, created) = post(server, "/api/v1/namespaces/default/pods", running);
    let mut with_status = created.clone();
    with_status["status"]["phase"] = json!("Running");
    let request = ApiRequest::new(Method::Put, "/api/v1/namespaces/default/pods/p/status").with_json(&with_status);
    assert_eq!(send(server, request).0, 200);
    let budget = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}});
    let (_, mut budget) = post(server, "/apis/policy/v1/namespaces/default/poddisruptionbudgets", budget);
    budget["status"] = status;
    let request = ApiRequest::new(Method::Put, "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web/status")
        .with_json(&budget);
    assert_eq!(send(server, request).0, 200);
}

fn evict(server: &mut ApiServer<MemoryStore>, query: &str) -> ApiResponse {
    let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p"}});
    let path = format!("/api/v1/namespaces/default/pods/p/eviction{query}");
    server.handle(&ApiRequest::new(Method::Post, &path).with_json(&eviction), now())
}

#[test]
fn an_invalid_object_of_a_named_group_is_qualified_by_its_group() {
    let mut server = server();
    let mut broken = deployment("web", "nginx");
    broken["spec"]["replicas"] = json!(-1);
    let (status, body) = post(&mut server, "/apis/apps/v1/namespaces/default/deployments", broken);
    assert_eq!(status, 422);
    let message = body["message"].as_str().unwrap();
    assert!(message.starts_with("Deployment.apps \"web\" is invalid: spec.replicas"), "{message}");
    assert_eq!(
        (body["details"]["group"].as_str(), body["details"]["kind"].as_str()),
        (Some("apps"), Some("Deployment"))
    );
}

/// Kubernetes' eviction REST: a budget whose status is behind its generation asks the client
/// to come back in 10 s (details.retryAfterSeconds and Retry-After); a budget with no
/// disruption allowed refuses without a suggestion.
#[test]
fn an_eviction_refused_while_the_budget_is_processed_says_when_to_retry() {
    let mut server = server();
    pod_under_budget(&mut server, json!({"observedGeneration": 0, "disruptionsAllowed": 1}));
    let response = evict(&mut server, "");
    assert_eq!(response.status(), 429);
    assert_eq!(response.header("retry-after"), Some("10"));
    let body = response.body().unwrap();
    assert_eq!(body["details"]["retryAfterSeconds"], 10);
    assert_eq!(body["details"]["causes"][0]["reason"], "DisruptionBudget");
    assert_eq!(
        body["details"]["causes"][0]["message"],
        "The disruption budget web is still being processed by the server."
    );

    let mut server = super::server();
    pod_under_budget(
        &mut server,
        json!({"observedGeneration": 1, "disruptionsAllowed": 0, "currentHealthy": 1, "desiredHealthy": 1}),
    );
    let response = evict(&mut server, "");
    assert_eq!((response.status(), response.header("retry-after")), (429, None));
    assert!(response.body().unwrap()["details"].get("retryAfterSeconds").is_none());
}

#[test]
fn a_dry_run_eviction_neither_deletes_the_pod_nor_spends_the_budget() {
    let mut server = server();
    pod_under_budget(
        &mut server,
        json!({"observedGeneration": 1, "disruptionsAllowed": 1, "currentHealthy": 2, "desiredHealthy": 1}),
    );
    let revision = server.store().current_revision();
    assert_eq!(evict(&mut server, "?dryRun=All").status(), 201);
    assert_eq!(server.store().current_revision(), revision, "a dry run writes nothing");
    assert_eq!(evict(&mut server, "").status(), 201);
    let (_, budget) = get(&mut server, "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web");
    assert_eq!(budget["status"]["disruptionsAllowed"], 0);
}

#[test]
fn a_terminating_namespace_refuses_content_with_the_namespace_terminating_cause() {
    let mut server = server();
    post(
        &mut server,
        "/api/v1/namespaces",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
    );
    send(&mut server, ApiRequest::new(Method::Delete, "/api/v1/namespaces/team"));
    let (status, body) = post(&mut server, "/api/v1/namespaces/team/pods", pod("p", json!({})));
    assert_eq!(status, 403);
    assert_eq!(
        body["details"]["causes"],
        json!([{"reason": "NamespaceTerminating", "message": "namespace team is being terminated", "field": "metadata.namespace"}])
    );
}

/// Kubernetes' `NewTooLargeResourceVersionError`: 504 Timeout, cause ResourceVersionTooLarge,
/// retry after 1 s.
#[test]
fn a_list_ahead_of_the_store_is_a_timeout_with_resource_version_too_large() {
    let mut server = server();
    let current = server.store().current_revision();
    let path = format!("/api/v1/namespaces/default/pods?resourceVersion={}", current + 10);
    let response = server.handle(&ApiRequest::new(Method::Get, &path), now());
    assert_eq!((response.status(), response.header("Retry-After")), (504, Some("1")));
    let body = response.body().unwrap();
    assert_eq!(body["reason"], "Timeout");
    assert_eq!(body["message"], format!("Timeout: Too large resource version: {}, current: {current}", current + 10));
    assert_eq!(body["details"]["causes"][0]["reason"], "ResourceVersionTooLarge");
    assert_eq!(body["details"]["retryAfterSeconds"], 1);
}

/// Kubernetes' `finalizeDelete`: registries without `ReturnDeletedObject` answer an immediate
/// delete with `Status{Success}` naming the object (its resource as kind); pods answer with
/// the pod.
#[test]
fn an_immediate_delete_answers_status_success_except_for_kinds_that_return_the_object() {
    let mut server = server();
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let (_, created) = post(&mut server, "/api/v1/namespaces/default/configmaps", config_map);
    let (status, body) = send(&mut server, ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/configmaps/c"));
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": "c", "kind": "configmaps", "uid": created["metadata"]["uid"]}})
    );
    post(&mut server, "/apis/apps/v1/namespaces/default/deployments", deployment("web", "nginx"));
    let (_, body) =
        send(&mut server, ApiRequest::new(Method::Delete, "/apis/apps/v1/namespaces/default/deployments/web"));
    assert_eq!(
        (body["details"]["group"].as_str(), body["details"]["kind"].as_str()),
        (Some("apps"), Some("deployments"))
    );
    post(&mut server, "/api/v1/namespaces/default/pods", pod("p", json!({})));
    let (status, body) = send(&mut server, ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/pods/p"));
    assert_eq!((status, body["kind"].as_str()), (200, Some("Pod")));
}

#[test]
fn namespaces_have_no_deletecollection() {
    let mut server = server();
    let (status, body) = send(&mut server, ApiRequest::new(Method::Delete, "/api/v1/namespaces"));
    assert_eq!((status, body["reason"].as_str()), (405, Some("MethodNotAllowed")));
    assert_eq!(get(&mut server, "/api/v1/namespaces/default").0, 200);
}

/// A foreground delete adds its finalizer and the deletion mark in one write, so a crash
/// cannot separate them and a resourceVersion precondition is checked against the object as
/// the client read it.
#[test]
fn a_foreground_delete_with_a_resource_version_precondition_is_one_write() {
    let mut server = server();
    let (_, created) = post(&mut server, "/apis/apps/v1/namespaces/default/deployments", deployment("web", "nginx"));
    let revision = server.store().current_revision();
    let options = json!({"propagationPolicy": "Foreground",
        "preconditions": {"resourceVersion": created["metadata"]["resourceVersion"]}});
    let request =
        ApiRequest::new(Method::Delete, "/apis/apps/v1/namespaces/default/deployments/web").with_json(&options);
    let (status, body) = send(&mut server, request);
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.store().current_revision(), revision + 1, "one write");
    assert_eq!(body["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    assert!(body["metadata"]["deletionTimestamp"].is_string());
    // A later Orphan delete swaps the finalizer, keeping the deletion mark.
    let request = ApiRequest::new(Method::Delete, "/apis/apps/v1/namespaces/default/deployments/web")
        .with_json(&json!({"propagationPolicy": "Orphan"}));
    let (_, body) = send(&mut server, request);
    assert_eq!(body["metadata"]["finalizers"], json!(["orphan"]));
    assert_eq!(body["metadata"]["deletionTimestamp"], json!("2026-01-01T00:00:00Z"));
}

/// How a [`UnreachableStore`] answers.
#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Healthy,
    /// etcd out of reach or stalled.
    Unreachable,
    /// Corrupt data, say.
    Broken,
}

/// A [`MemoryStore`] that can be switched to fail every operation as a failing backend.
struct UnreachableStore {
    inner: MemoryStore,
    backend: Backend,
}

impl UnreachableStore {
    fn check(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Healthy => Ok(()),
            Backend::Unreachable => Err(StoreError::Unavailable { message: "etcd did not answer in 5s".into() }),
            Backend::Broken => Err(StoreError::Internal { message: "cannot decode /registry/pods/default/p".into() }),
        }
    }
}

impl Store for UnreachableStore {
    fn current_revision(&self) -> Revision {
        self.inner.current_revision()
    }
    fn compacted_revision(&self) -> Revision {
        self.inner.compacted_revision()
    }
    fn create(&mut self, resource: GroupResource, object: Object) -> Result<Arc<Object>, StoreError> {
        self.check()?;
        self.inner.create(resource, object)
    }
    fn get(&self, key: &ObjectKey) -> Result<Arc<Object>, StoreError> {
        self.check()?;
        self.inner.get(key)
    }
    fn update(&mut self, resource: GroupResource, object: Object) -> Result<Arc<Object>, StoreError> {
        self.check()?;
        self.inner.update(resource, object)
    }
    fn delete(&mut self, key: &ObjectKey, preconditions: &Preconditions) -> Result<Arc<Object>, StoreError> {
        self.check()?;
        self.inner.delete(key, preconditions)
    }
    fn transaction(&mut self, writes: Vec<Write>) -> Result<Vec<Arc<Object>>, StoreError> {
        self.check()?;
        self.inner.transaction(writes)
    }
    fn list(&self, resource: GroupResource, options: &ListOptions<'_>) -> Result<ListResult, StoreError> {
        self.check()?;
        self.inner.list(resource, options)
    }
    fn visit_changes_after(
        &self,
        after: Revision,
        max: usize,
        visit: &mut dyn FnMut(&Arc<Change>),
    ) -> Result<Revision, StoreError> {
        self.check()?;
        self.inner.visit_changes_after(after, max, visit)
    }
    fn compact(&mut self, revision: Revision) -> Result<(), StoreError> {
        self.inner.compact(revision)
    }
}

/// A store that does not answer reaches the client as kube-apiserver's request deadline does
/// (`finishRequest` in apiserver endpoints/handlers/rest.go: `NewTimeoutError(…, 0)`): 504
/// Timeout with empty details and no Retry-After; a broken store is a 500 InternalError.
#[test]
fn an_unreachable_store_is_a_504_timeout_and_a_broken_one_a_500_never_400_or_404() {
    let store = UnreachableStore { inner: MemoryStore::new(), backend: Backend::Healthy };
    let mut server = ApiServer::with_allocation(store, 7, Default::default()).unwrap();
    server.bootstrap(now()).unwrap();
    server.store_mut().backend = Backend::Unreachable;
    let requests = [
        ApiRequest::new(Method::Get, "/api/v1/namespaces/default/pods/p"),
        ApiRequest::new(Method::Get, "/api/v1/namespaces/default/pods"),
        ApiRequest::new(Method::Post, "/api/v1/namespaces/default/pods").with_json(&pod("p", json!({}))),
        ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/pods/p"),
    ];
    for request in &requests {
        let response = server.handle(request, now());
        assert_eq!(response.status(), 504, "{:?}: {:?}", request.path, response.body());
        assert_eq!(
            response.body().unwrap(),
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Timeout: request did not complete within requested timeout - context deadline exceeded",
                "reason": "Timeout", "details": {}, "code": 504})
        );
        assert_eq!(response.header("Retry-After"), None);
    }
    server.store_mut().backend = Backend::Broken;
    for request in &requests {
        let response = server.handle(request, now());
        assert_eq!(response.status(), 500, "{:?}: {:?}", request.path, response.body());
        let body = response.body().unwrap();
        assert_eq!(body["reason"], "InternalError");
        assert_eq!(body["message"], "Internal error occurred: cannot decode /registry/pods/default/p");
        assert_eq!(body["details"], json!({"causes": [{"message": "cannot decode /registry/pods/default/p"}]}));
    }
}

#[test]
fn opening_over_a_store_that_cannot_list_is_an_error() {
    let store = UnreachableStore { inner: MemoryStore::new(), backend: Backend::Unreachable };
    let opened = ApiServer::with_allocation(store, 7, Default::default());
    assert!(matches!(opened, Err(StoreError::Unavailable { .. })));
}

#[test]
fn reads_are_answered_through_a_shared_reference() {
    let mut server = server();
    post(&mut server, "/api/v1/namespaces/default/pods", pod("p", json!({})));
    let shared: &ApiServer<MemoryStore> = &server;
    assert!(crate::api::is_read(&ApiRequest::new(Method::Get, "/api/v1/pods")));
    assert_eq!(shared.read(&ApiRequest::new(Method::Get, "/api/v1/namespaces/default/pods/p"), now()).status(), 200);
    assert_eq!(shared.read(&ApiRequest::new(Method::Get, "/api/v1/namespaces/default/pods"), now()).status(), 200);
    assert_eq!(shared.read(&ApiRequest::new(Method::Get, "/apis"), now()).status(), 200);
    let write = ApiRequest::new(Method::Post, "/api/v1/namespaces/default/pods").with_json(&pod("q", json!({})));
    assert_eq!(shared.read(&write, now()).status(), 405, "a write is not a read");
}

/// Creates `count` ConfigMaps named from `generateName` and returns their (uid, name) pairs.
fn create_generated(server: &mut ApiServer<MemoryStore>, count: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|_| {
            let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "c-"}});
            let (status, body) = post(server, "/api/v1/namespaces/default/configmaps", config_map);
            assert_eq!(status, 201, "{body}");
            (
                body["metadata"]["uid"].as_str().unwrap().to_string(),
                body["metadata"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The reopen test: an API server restarted over the same store, even with the same seed,
/// draws uids and names it has not drawn before.
#[test]
fn uids_and_generated_names_do_not_repeat_after_a_restart_with_the_same_seed() {
    let mut first = server();
    let mut made = create_generated(&mut first, 20);
    let mut restarted = ApiServer::new(first.into_store(), 7);
    made.extend(create_generated(&mut restarted, 20));
    let uids: BTreeSet<&String> = made.iter().map(|(uid, _)| uid).collect();
    let names: BTreeSet<&String> = made.iter().map(|(_, name)| name).collect();
    assert_eq!((uids.len(), names.len()), (40, 40));
}
