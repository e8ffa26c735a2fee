//! Table tests of one garbage collection pass, with cases ported from Kubernetes'
//! `garbagecollector_test.go` (`TestAttemptToDeleteItem`, `TestUnblockOwnerReference`,
//! `TestOrphanDependentsFailure`, and the owner-namespace scenarios of `TestConflictingData`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::*;

fn now() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn object(api_version: &str, kind: &str, namespace: &str, name: &str, uid: &str) -> Object {
    let mut metadata = json!({"name": name, "uid": uid, "resourceVersion": "7"});
    if !namespace.is_empty() {
        metadata["namespace"] = namespace.into();
    }
    Object::from_value(json!({"apiVersion": api_version, "kind": kind, "metadata": metadata})).unwrap()
}

fn pod(name: &str, uid: &str) -> Object {
    object("v1", "Pod", "ns1", name, uid)
}

fn reference(api_version: &str, kind: &str, name: &str, uid: &str, blocking: bool) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        name: name.to_string(),
        uid: uid.to_string(),
        controller: None,
        block_owner_deletion: blocking.then_some(true),
    }
}

fn rc_ref(name: &str, uid: &str) -> OwnerReference {
    reference("v1", "ReplicationController", name, uid, false)
}

fn owned(mut object: Object, references: &[OwnerReference]) -> Object {
    object.metadata.owner_references = Some(references.to_vec());
    object
}

fn deleting(mut object: Object, finalizers: &[&str]) -> Object {
    object.metadata.deletion_timestamp = Some(Time(now()));
    object.metadata.finalizers = Some(finalizers.iter().map(|f| f.to_string()).collect());
    object
}

fn rc(name: &str, uid: &str) -> Object {
    object("v1", "ReplicationController", "ns1", name, uid)
}

/// Each action as a short line: `DELETE pods ns1/x uid=… policy`, `PATCH …`, `UPDATE …`, `EVENT …`.
fn describe(reconciled: &Reconciled) -> Vec<String> {
    reconciled
        .actions
        .iter()
        .map(|action| match action {
            Action::Delete { resource, namespace, name, preconditions, propagation_policy } => format!(
                "DELETE {} {namespace}/{name} uid={} {:?}",
                resource.resource,
                preconditions.uid.as_deref().unwrap_or(""),
                propagation_policy.unwrap()
            ),
            Action::Patch { resource, namespace, name, body, .. } => {
                format!("PATCH {} {namespace}/{name} {body}", resource.resource)
            }
            Action::Update { object } => {
                format!(
                    "UPDATE {} {}/{} finalizers={:?}",
                    object.kind,
                    object.namespace(),
                    object.name(),
                    object.metadata.finalizers
                )
            }
            Action::Event { event } => format!(
                "EVENT {} {} {}",
                event.type_.as_deref().unwrap(),
                event.reason.as_deref().unwrap(),
                event.message.as_deref().unwrap()
            ),
            other => format!("{other:?}"),
        })
        .collect()
}

fn collect(objects: &[Object]) -> Vec<String> {
    describe(&reconcile_garbage_collector(objects, now()))
}

#[test]
fn a_dependent_whose_only_owner_is_absent_is_deleted_with_a_uid_precondition() {
    // TestAttemptToDeleteItem: GET of the owner answers 404, so the pod is deleted.
    let objects = [owned(pod("ToBeDeletedPod", "456"), &[rc_ref("owner1", "123")])];
    assert_eq!(collect(&objects), ["DELETE pods ns1/ToBeDeletedPod uid=456 Background"]);
}

#[test]
fn a_dependent_whose_owner_lives_is_left_alone() {
    let objects = [rc("owner1", "123"), owned(pod("p", "456"), &[rc_ref("owner1", "123")])];
    assert!(collect(&objects).is_empty());
}

#[test]
fn an_owner_reference_whose_uid_does_not_match_the_live_owner_counts_as_absent() {
    let objects = [rc("owner1", "999"), owned(pod("p", "456"), &[rc_ref("owner1", "123")])];
    assert_eq!(collect(&objects), ["DELETE pods ns1/p uid=456 Background"]);
}

#[test]
fn a_dependent_with_one_live_owner_survives_and_loses_the_reference_to_the_dead_one() {
    let objects = [rc("alive", "1"), owned(pod("p", "456"), &[rc_ref("alive", "1"), rc_ref("gone", "2")])];
    assert_eq!(
        collect(&objects),
        [r#"PATCH pods ns1/p {"metadata":{"ownerReferences":[{"$patch":"delete","uid":"2"}],"uid":"456"}}"#]
    );
}

#[test]
fn an_absent_owners_orphan_or_foreground_finalizer_on_the_dependent_sets_its_propagation() {
    let orphaning = owned(pod("a", "1"), &[rc_ref("gone", "9")]);
    let mut orphaning = orphaning;
    orphaning.metadata.finalizers = Some(vec![ORPHAN_FINALIZER.to_string()]);
    let mut foreground = owned(pod("b", "2"), &[rc_ref("gone", "9")]);
    foreground.metadata.finalizers = Some(vec![FOREGROUND_DELETION_FINALIZER.to_string()]);
    assert_eq!(
        collect(&[orphaning, foreground]),
        ["DELETE pods ns1/a uid=1 Orphan", "DELETE pods ns1/b uid=2 Foreground"]
    );
}

#[test]
fn a_dependent_already_being_deleted_is_waited_for() {
    let objects = [deleting(owned(pod("p", "456"), &[rc_ref("gone", "1")]), &[])];
    assert!(collect(&objects).is_empty());
}

#[test]
fn orphaning_patches_every_dependent_then_removes_the_orphan_finalizer_in_a_later_batch() {
    // TestOrphanDependentsFailure's owner with two dependents, succeeding.
    let owner = deleting(rc("owner", "1"), &[ORPHAN_FINALIZER]);
    let objects = [
        owner,
        owned(pod("a", "10"), &[rc_ref("owner", "1")]),
        owned(pod("b", "11"), &[rc_ref("owner", "1"), rc_ref("other", "2")]),
        rc("other", "2"),
    ];
    let reconciled = reconcile_garbage_collector(&objects, now());
    assert_eq!(
        describe(&reconciled),
        [
            r#"PATCH pods ns1/a {"metadata":{"ownerReferences":[{"$patch":"delete","uid":"1"}],"uid":"10"}}"#,
            r#"PATCH pods ns1/b {"metadata":{"ownerReferences":[{"$patch":"delete","uid":"1"}],"uid":"11"}}"#,
            "UPDATE ReplicationController ns1/owner finalizers=None",
        ]
    );
    assert_eq!(reconciled.batch_sizes, [2, 1]);
}

#[test]
fn foreground_deletion_deletes_blocking_dependents_and_keeps_the_owners_finalizer() {
    let owner = deleting(rc("owner", "1"), &[FOREGROUND_DELETION_FINALIZER]);
    let blocking = reference("v1", "ReplicationController", "owner", "1", true);
    let objects = [owner, owned(pod("p", "10"), &[blocking])];
    assert_eq!(collect(&objects), ["DELETE pods ns1/p uid=10 Background"]);
}

#[test]
fn a_dependent_of_a_foreground_owner_that_has_dependents_of_its_own_is_deleted_in_the_foreground() {
    let owner = deleting(object("apps/v1", "Deployment", "ns1", "web", "1"), &[FOREGROUND_DELETION_FINALIZER]);
    let replica_set = owned(
        object("apps/v1", "ReplicaSet", "ns1", "web-1", "2"),
        &[reference("apps/v1", "Deployment", "web", "1", true)],
    );
    let pod = owned(pod("web-1-a", "3"), &[reference("apps/v1", "ReplicaSet", "web-1", "2", true)]);
    assert_eq!(collect(&[owner, replica_set, pod]), ["DELETE replicasets ns1/web-1 uid=2 Foreground"]);
}

#[test]
fn a_foreground_owner_without_blocking_dependents_loses_its_finalizer() {
    let owner = deleting(rc("owner", "1"), &[FOREGROUND_DELETION_FINALIZER, "example.com/keep"]);
    let objects = [owner, owned(pod("p", "10"), &[rc_ref("owner", "1")])];
    assert_eq!(
        collect(&objects),
        [
            // The non-blocking dependent has no solid owner left, so it goes too.
            "DELETE pods ns1/p uid=10 Background",
            r#"UPDATE ReplicationController ns1/owner finalizers=Some(["example.com/keep"])"#,
        ]
    );
}

#[test]
fn a_dependent_with_a_solid_owner_stops_referencing_an_owner_that_waits_for_it() {
    let waiting = deleting(rc("waiting", "1"), &[FOREGROUND_DELETION_FINALIZER]);
    let blocking = reference("v1", "ReplicationController", "waiting", "1", true);
    let objects = [waiting, rc("solid", "2"), owned(pod("p", "10"), &[blocking, rc_ref("solid", "2")])];
    assert_eq!(
        collect(&objects),
        [r#"PATCH pods ns1/p {"metadata":{"ownerReferences":[{"$patch":"delete","uid":"1"}],"uid":"10"}}"#]
    );
}

#[test]
fn a_cycle_of_foreground_deletions_is_unblocked_instead_of_waiting_forever() {
    // TestUnblockOwnerReference's patch, reached through the cycle check of attemptToDeleteItem.
    let a = deleting(
        owned(rc("a", "1"), &[reference("v1", "ReplicationController", "b", "2", true)]),
        &[FOREGROUND_DELETION_FINALIZER],
    );
    let b = owned(rc("b", "2"), &[reference("v1", "ReplicationController", "a", "1", true)]);
    assert_eq!(
        collect(&[a, b]),
        [
            r#"PATCH replicationcontrollers ns1/b {"metadata":{"ownerReferences":[{"apiVersion":"v1","blockOwnerDeletion":false,"kind":"ReplicationController","name":"a","uid":"1"}],"uid":"2"}}"#,
            "DELETE replicationcontrollers ns1/b uid=2 Foreground",
        ]
    );
}

#[test]
fn a_namespaced_dependent_of_a_cluster_scoped_owner_follows_that_owner() {
    let node_ref = reference("v1", "Node", "node-1", "n1", false);
    let alive = [object("v1", "Node", "", "node-1", "n1"), owned(pod("p", "10"), std::slice::from_ref(&node_ref))];
    assert!(collect(&alive).is_empty());
    let gone = [owned(pod("p", "10"), &[node_ref])];
    assert_eq!(collect(&gone), ["DELETE pods ns1/p uid=10 Background"]);
}

#[test]
fn an_owner_in_another_namespace_counts_as_absent_and_is_reported_once() {
    // TestConflictingData "bad child in ns1 -> owner in ns2 (child first)".
    let owner = object("v1", "ReplicationController", "ns2", "owner", "1");
    let child = owned(pod("child", "10"), &[rc_ref("owner", "1")]);
    assert_eq!(
        collect(&[owner.clone(), child.clone()]),
        [
            r#"EVENT Warning OwnerRefInvalidNamespace ownerRef [v1/ReplicationController, namespace: ns1, name: owner, uid: 1] does not exist in namespace "ns1""#,
            "DELETE pods ns1/child uid=10 Background",
        ]
    );
    let mut event = object("v1", "Event", "ns1", "child.1", "e1");
    event.fields.insert("reason".into(), Value::from(OWNER_REF_INVALID_NAMESPACE));
    event.fields.insert("involvedObject".into(), json!({"uid": "10"}));
    assert_eq!(collect(&[owner, child, event]), ["DELETE pods ns1/child uid=10 Background"]);
}

#[test]
fn a_cluster_scoped_dependent_of_a_namespaced_owner_is_never_collected() {
    // TestConflictingData "bad cluster-scoped child -> owner in ns1".
    let child = owned(object("v1", "PersistentVolume", "", "pv", "10"), &[rc_ref("owner", "1")]);
    assert!(collect(std::slice::from_ref(&child)).is_empty());
    let owner = rc("owner", "1");
    assert_eq!(
        collect(&[owner, child]),
        [
            r#"EVENT Warning OwnerRefInvalidNamespace ownerRef [v1/ReplicationController, namespace: , name: owner, uid: 1] does not exist in namespace """#
        ]
    );
}

#[test]
fn a_reference_to_a_kind_that_is_not_served_leaves_the_dependent_alone() {
    let objects = [owned(pod("p", "10"), &[reference("example.com/v1", "Widget", "w", "1", false)])];
    assert!(collect(&objects).is_empty());
}

#[test]
fn an_owner_is_found_by_group_and_kind_whatever_version_the_reference_names() {
    let deployment = object("apps/v1", "Deployment", "ns1", "web", "1");
    let replica_set = owned(
        object("apps/v1", "ReplicaSet", "ns1", "web-1", "2"),
        &[reference("apps/v1beta2", "Deployment", "web", "1", true)],
    );
    assert!(collect(&[deployment, replica_set]).is_empty());
}

#[test]
fn the_graph_lists_dependents_by_owner_uid_and_keeps_virtual_owners() {
    let objects = [
        owned(pod("a", "10"), &[rc_ref("gone", "1")]),
        owned(pod("b", "11"), &[reference("v1", "ReplicationController", "gone", "1", true)]),
    ];
    let graph = DependencyGraph::build(&objects);
    assert!(matches!(graph.node("1"), Some(graph::Node::Virtual { uid: "1" })));
    let names: Vec<&str> = graph.dependents("1").iter().map(|(dependent, _)| dependent.name()).collect();
    assert_eq!(names, ["a", "b"]);
    let blocking: Vec<&str> = graph.blocking_dependents("1").iter().map(|dependent| dependent.name()).collect();
    assert_eq!(blocking, ["b"]);
}
