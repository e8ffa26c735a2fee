//! Namespace controller tests: what one reconcile decides, and a namespace with a Deployment and
//! pods deleted end to end through the API server.

use k8s_openapi::api::core::v1::{Namespace, NamespaceSpec, NamespaceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde_json::json;

use super::*;
use crate::api::{ApiRequest, ApiServer, Method};
use crate::controllers::request::{action_request, finalize_request};
use crate::controllers::test_world::{apply, now, observe, send};
use crate::store::MemoryStore;

fn terminating(name: &str, finalizers: &[&str]) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            uid: Some(format!("{name}-uid")),
            resource_version: Some("3".to_string()),
            deletion_timestamp: Some(Time(now())),
            ..ObjectMeta::default()
        },
        spec: Some(NamespaceSpec { finalizers: Some(finalizers.iter().map(|f| f.to_string()).collect()) }),
        status: Some(NamespaceStatus { phase: Some("Terminating".to_string()), conditions: None }),
    }
}

fn object(value: serde_json::Value) -> Object {
    Object::from_value(value).unwrap()
}

fn pod(name: &str, node: Option<&str>, grace: i64) -> Object {
    let mut spec = json!({"containers": [{"name": "c", "image": "nginx"}], "terminationGracePeriodSeconds": grace});
    if let Some(node) = node {
        spec["nodeName"] = node.into();
    }
    object(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop", "uid": name},
        "spec": spec, "status": {"phase": "Running"}}))
}

/// The collections deleted, as `resource.group`; every content delete is a deletecollection.
fn deleted_collections(reconciled: &Reconciled) -> Vec<String> {
    reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::DeleteCollection { resource, namespace, propagation_policy } => {
                assert_eq!((namespace.as_str(), *propagation_policy), ("shop", Some(PropagationPolicy::Background)));
                Some(format!("{}.{}", resource.resource, resource.group))
            }
            Action::Delete { .. } | Action::ForceDelete { .. } => panic!("an object-by-object delete: {action:?}"),
            _ => None,
        })
        .collect()
}

fn conditions_of(reconciled: &Reconciled) -> Vec<(String, String, String, String)> {
    let Some(Action::UpdateStatus { object }) = reconciled.actions.last() else { return Vec::new() };
    let namespace: Namespace = object.to_typed().unwrap();
    let conditions = namespace.status.unwrap().conditions.unwrap();
    conditions.into_iter().map(|c| (c.type_, c.status, c.reason.unwrap(), c.message.unwrap())).collect()
}

#[test]
fn a_namespace_that_is_not_being_deleted_is_left_alone() {
    let mut namespace = terminating("shop", &["kubernetes"]);
    namespace.metadata.deletion_timestamp = None;
    assert_eq!(reconcile_namespace(&namespace, &[pod("a", None, 30)], now()), NamespaceReconciled::default());
}

#[test]
fn a_namespace_already_finalized_by_this_controller_is_left_alone() {
    let namespace = terminating("shop", &["example.com/other"]);
    assert_eq!(reconcile_namespace(&namespace, &[], now()), NamespaceReconciled::default());
}

#[test]
fn an_empty_terminating_namespace_is_finalized_keeping_other_finalizers() {
    let namespace = terminating("shop", &["kubernetes", "example.com/other"]);
    let other =
        object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "elsewhere"}}));
    let node = object(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}));
    let result = reconcile_namespace(&namespace, &[other, node], now());
    assert!(result.reconciled.actions.is_empty());
    let finalized = result.finalize.unwrap();
    assert_eq!(finalized.spec.unwrap().finalizers.unwrap(), ["example.com/other"]);
    let request = finalize_request(&terminating("shop", &[]));
    assert_eq!(request.path, "/api/v1/namespaces/shop/finalize");
}

#[test]
fn content_is_deleted_and_what_remains_is_reported_in_the_conditions() {
    let namespace = terminating("shop", &["kubernetes"]);
    let mut held = object(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "held", "namespace": "shop", "uid": "h", "finalizers": ["example.com/hold"]}}));
    held.metadata.deletion_timestamp = Some(Time(now()));
    let objects = [
        pod("running", Some("node-1"), 45),
        pod("pending", None, 30),
        held,
        object(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop", "uid": "d"}}),
        ),
        object(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": "other", "uid": "x"}})),
    ];
    let result = reconcile_namespace(&namespace, &objects, now());
    assert!(result.finalize.is_none());
    // One deletecollection per resource type with content not yet being deleted: the two pods
    // share one, the terminating ConfigMap needs none, the other namespace's pod is not touched.
    assert_eq!(deleted_collections(&result.reconciled), ["pods.", "deployments.apps"]);
    assert_eq!(result.reconciled.batches().len(), 2, "the deletecollections go out together, then the status");
    let conditions = conditions_of(&result.reconciled);
    let expected = [
        ("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered", "All resources successfully discovered"),
        (
            "NamespaceDeletionGroupVersionParsingFailure",
            "False",
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed",
        ),
        (
            "NamespaceDeletionContentFailure",
            "False",
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization",
        ),
        (
            "NamespaceContentRemaining",
            "True",
            "SomeResourcesRemain",
            "Some resources are remaining: configmaps. has 1 resource instances, pods. has 1 resource instances",
        ),
        (
            "NamespaceFinalizersRemaining",
            "True",
            "SomeFinalizersRemain",
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances",
        ),
    ];
    let expected: Vec<_> =
        expected.iter().map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string())).collect();
    assert_eq!(conditions, expected);
    // The running pod's 45 s grace period: requeued after 45/2 + 1 seconds.
    assert_eq!(result.reconciled.requeue_after, Some(Duration::from_secs(23)));
}

#[test]
fn unchanged_conditions_are_not_written_again() {
    let mut namespace = terminating("shop", &["kubernetes"]);
    let objects = [pod("running", Some("node-1"), 30)];
    let first = reconcile_namespace(&namespace, &objects, now());
    let Some(Action::UpdateStatus { object }) = first.reconciled.actions.last() else { panic!("no status update") };
    namespace = object.to_typed().unwrap();
    let mut deleting = pod("running", Some("node-1"), 30);
    deleting.metadata.deletion_timestamp = Some(Time(now()));
    let second = reconcile_namespace(&namespace, &[deleting], now());
    assert!(second.reconciled.actions.is_empty(), "{:?}", second.reconciled.actions);
    assert_eq!(second.reconciled.requeue_after, Some(Duration::from_secs(16)));
}

#[test]
fn deleting_a_namespace_with_pods_and_a_deployment_ends_with_the_namespace_gone() {
    let mut server = ApiServer::new(MemoryStore::new(), 7);
    server.bootstrap(now()).unwrap();
    let create = |server: &mut ApiServer<MemoryStore>, path: &str, body: serde_json::Value| {
        assert_eq!(send(server, ApiRequest::new(Method::Post, path).with_json(&body)).0, 201);
    };
    create(
        &mut server,
        "/api/v1/namespaces",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
    );
    create(
        &mut server,
        "/apis/apps/v1/namespaces/shop/deployments",
        json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}),
    );
    for name in ["a", "b"] {
        create(
            &mut server,
            "/api/v1/namespaces/shop/pods",
            json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
        );
    }
    let (status, body) = send(&mut server, ApiRequest::new(Method::Delete, "/api/v1/namespaces/shop"));
    assert_eq!((status, body["status"]["phase"].as_str()), (200, Some("Terminating")));
    let mut rounds = 0;
    let mut requests = Vec::new();
    loop {
        let objects = observe(&server);
        let Some(namespace) = objects.iter().find(|o| o.kind == "Namespace" && o.name() == "shop") else { break };
        let namespace: Namespace = namespace.to_typed().unwrap();
        let result = reconcile_namespace(&namespace, &objects, now());
        for action in &result.reconciled.actions {
            let request = action_request(action).unwrap();
            if request.method == Method::Delete {
                requests.push(request.path);
            }
        }
        let statuses = apply(&mut server, &result.reconciled);
        assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
        if let Some(finalized) = result.finalize {
            assert_eq!(send(&mut server, finalize_request(&finalized)).0, 200);
        }
        rounds += 1;
        assert!(rounds < 10, "the namespace was not removed");
    }
    assert_eq!(send(&mut server, ApiRequest::new(Method::Get, "/api/v1/namespaces/shop")).0, 404);
    assert!(observe(&server).iter().all(|object| object.namespace() != "shop"));
    // Deletes, then (content gone) the finalize.
    assert_eq!(rounds, 2);
    // Two pods, a Deployment and what the API server made in the namespace: one
    // deletecollection per resource type, never a delete of one object.
    assert!(requests.contains(&"/api/v1/namespaces/shop/pods".to_string()), "{requests:?}");
    assert!(requests.contains(&"/apis/apps/v1/namespaces/shop/deployments".to_string()), "{requests:?}");
    let mut distinct = requests.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), requests.len(), "one request per resource type: {requests:?}");
}
