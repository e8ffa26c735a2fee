//! Multi-step tests through the API server: a Deployment owning a ReplicaSet owning two pods is
//! deleted with each propagation policy, and the garbage collector runs until it has nothing
//! left to do.

use serde_json::{Value, json};

use super::reconcile_garbage_collector;
use crate::api::{ApiRequest, ApiServer, Method};
use crate::controllers::test_world::{now, observe, run_until_settled, send};
use crate::store::MemoryStore;

/// Creates `web` → `web-1` → two pods and returns the server.
fn deployment_tree() -> ApiServer<MemoryStore> {
    let mut server = ApiServer::new(MemoryStore::new(), 7);
    server.bootstrap(now()).unwrap();
    let (_, deployment) = send(
        &mut server,
        ApiRequest::new(Method::Post, "/apis/apps/v1/namespaces/default/deployments").with_json(&json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
        })),
    );
    let (_, replica_set) = send(
        &mut server,
        ApiRequest::new(Method::Post, "/apis/apps/v1/namespaces/default/replicasets").with_json(&json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-1", "ownerReferences": [controller_ref("Deployment", &deployment)]},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
        })),
    );
    for name in ["web-1-a", "web-1-b"] {
        let (status, _) = send(
            &mut server,
            ApiRequest::new(Method::Post, "/api/v1/namespaces/default/pods").with_json(&json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "labels": {"app": "web"},
                    "ownerReferences": [controller_ref("ReplicaSet", &replica_set)]},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}
            })),
        );
        assert_eq!(status, 201);
    }
    server
}

fn controller_ref(kind: &str, owner: &Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": kind, "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
           "controller": true, "blockOwnerDeletion": true})
}

fn delete_deployment(server: &mut ApiServer<MemoryStore>, policy: &str) -> u16 {
    let body = json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": policy});
    let request = ApiRequest::new(Method::Delete, "/apis/apps/v1/namespaces/default/deployments/web").with_json(&body);
    send(server, request).0
}

/// The names of the objects of `kind` in `default`.
fn names(server: &ApiServer<MemoryStore>, kind: &str) -> Vec<String> {
    observe(server)
        .into_iter()
        .filter(|object| object.kind == kind && object.namespace() == "default")
        .map(|object| object.name().to_string())
        .collect()
}

fn collect_garbage(server: &mut ApiServer<MemoryStore>) -> usize {
    run_until_settled(server, 10, |objects| reconcile_garbage_collector(objects, now()))
}

#[test]
fn background_deletion_removes_the_owner_at_once_and_its_dependents_level_by_level() {
    let mut server = deployment_tree();
    assert_eq!(delete_deployment(&mut server, "Background"), 200);
    assert!(names(&server, "Deployment").is_empty());
    assert_eq!(names(&server, "ReplicaSet"), ["web-1"]);
    let rounds = collect_garbage(&mut server);
    assert!(names(&server, "ReplicaSet").is_empty());
    assert!(names(&server, "Pod").is_empty());
    // One round deletes the ReplicaSet, the next its pods, the last finds nothing to do.
    assert_eq!(rounds, 3);
}

#[test]
fn foreground_deletion_removes_the_dependents_before_the_owner() {
    let mut server = deployment_tree();
    assert_eq!(delete_deployment(&mut server, "Foreground"), 200);
    assert_eq!(names(&server, "Deployment"), ["web"], "the owner waits for its dependents");
    let mut rounds = 0;
    let mut saw_owner_without_pods = false;
    while rounds < 10 {
        let objects = observe(&server);
        let reconciled = reconcile_garbage_collector(&objects, now());
        if reconciled.actions.is_empty() {
            break;
        }
        crate::controllers::test_world::apply(&mut server, &reconciled);
        rounds += 1;
        if names(&server, "Pod").is_empty() && !names(&server, "Deployment").is_empty() {
            saw_owner_without_pods = true;
        }
    }
    assert!(saw_owner_without_pods, "the pods went while the Deployment still existed");
    assert!(names(&server, "Deployment").is_empty());
    assert!(names(&server, "ReplicaSet").is_empty());
    assert!(names(&server, "Pod").is_empty());
}

#[test]
fn orphan_deletion_keeps_the_dependents_without_their_owner_reference() {
    let mut server = deployment_tree();
    assert_eq!(delete_deployment(&mut server, "Orphan"), 200);
    collect_garbage(&mut server);
    assert!(names(&server, "Deployment").is_empty());
    assert_eq!(names(&server, "ReplicaSet"), ["web-1"]);
    assert_eq!(names(&server, "Pod"), ["web-1-a", "web-1-b"]);
    let replica_set = observe(&server).into_iter().find(|object| object.kind == "ReplicaSet").unwrap();
    assert!(replica_set.metadata.owner_references.as_ref().is_none_or(Vec::is_empty));
    let pod = observe(&server).into_iter().find(|object| object.kind == "Pod").unwrap();
    assert_eq!(pod.metadata.owner_references.unwrap().len(), 1, "the pods still belong to the ReplicaSet");
}

#[test]
fn a_foreground_cycle_between_two_owners_ends() {
    let mut server = ApiServer::new(MemoryStore::new(), 7);
    server.bootstrap(now()).unwrap();
    let create = |server: &mut ApiServer<MemoryStore>, name: &str, owner: Option<&Value>| {
        let mut metadata = json!({"name": name});
        if let Some(owner) = owner {
            metadata["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap",
                "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"], "blockOwnerDeletion": true}]);
        }
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata});
        send(server, ApiRequest::new(Method::Post, "/api/v1/namespaces/default/configmaps").with_json(&body)).1
    };
    let a = create(&mut server, "a", None);
    let b = create(&mut server, "b", Some(&a));
    // Close the cycle: a is owned by b.
    let patch = json!({"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "b",
        "uid": b["metadata"]["uid"], "blockOwnerDeletion": true}]}});
    let request = ApiRequest::new(Method::Patch, "/api/v1/namespaces/default/configmaps/a")
        .with_body("application/merge-patch+json", serde_json::to_vec(&patch).unwrap());
    assert_eq!(send(&mut server, request).0, 200);
    let body = json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"});
    let request = ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/configmaps/a").with_json(&body);
    assert_eq!(send(&mut server, request).0, 200);
    collect_garbage(&mut server);
    assert!(names(&server, "ConfigMap").iter().all(|name| name != "a" && name != "b"));
}

#[test]
fn the_garbage_collector_leaves_a_healthy_tree_alone() {
    let server = deployment_tree();
    let objects = observe(&server);
    assert!(reconcile_garbage_collector(&objects, now()).actions.is_empty());
}
