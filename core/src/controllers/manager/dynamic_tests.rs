//! The dynamic caches' graph and the collector's refusal to act on a guess, fed list answers
//! and watch frames directly so that one informer can be made to lag behind another.

use serde_json::{Value, json};

use super::caches::Caches;
use super::dynamic::{DynamicCaches, DynamicObserved};
use super::dynamic_kinds::{OWNER_UNCERTAIN_RECHECK, reconcile_garbage_collector_key};
use crate::client::{Incoming, Outgoing, RequestId};
use crate::controllers::Action;
use crate::testing::start;

/// Caches whose informers have all listed: `listed` holds the items per collection path and
/// the revision every list answers at.
fn listed(items: &[(&str, Value)], revision: u64) -> Caches {
    let mut caches = Caches { dynamic: DynamicCaches::for_every_served_kind(), ..Caches::default() };
    let mut next_id: RequestId = 1;
    let mut outgoing = Vec::new();
    caches.dynamic.poll_requests(start(), &mut next_id, &mut outgoing);
    for request in outgoing {
        let found: Vec<Value> =
            items.iter().filter(|(path, _)| *path == request.request.path).map(|(_, item)| item.clone()).collect();
        let body = json!({"metadata": {"resourceVersion": revision.to_string()}, "items": found});
        caches.dynamic.handle(&Incoming::Response { id: request.id, status: 200, body }, start());
    }
    assert!(caches.dynamic.has_synced());
    caches
}

/// The owner lookups among the caches' due requests (the rest are watches opening).
fn lookups(caches: &mut Caches) -> Vec<Outgoing> {
    let mut next_id: RequestId = 1000;
    let mut outgoing = Vec::new();
    caches.dynamic.poll_requests(start(), &mut next_id, &mut outgoing);
    outgoing.retain(|out| !out.request.query.iter().any(|(name, _)| name == "watch"));
    outgoing
}

fn config_map(owner_uid: &str, revision: u64) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "c", "namespace": "default", "uid": "c-uid", "resourceVersion": revision.to_string(),
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": owner_uid}]}})
}

fn deployment(uid: &str, revision: u64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": "web", "namespace": "default", "uid": uid, "resourceVersion": revision.to_string()}})
}

fn deletes(caches: &Caches) -> Vec<String> {
    let reconciled = reconcile_garbage_collector_key(caches, "c-uid", start()).unwrap().unwrap();
    reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Delete { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_dependent_is_kept_while_its_owner_is_neither_cached_nor_known_gone() {
    // The ConfigMap was written at revision 9; the Deployments were listed at revision 5, so
    // their informer cannot tell whether the owner exists.
    let mut caches = listed(&[("/api/v1/configmaps", config_map("d-uid", 9))], 5);
    let reconciled = reconcile_garbage_collector_key(&caches, "c-uid", start()).unwrap().unwrap();
    assert!(reconciled.actions.is_empty(), "never collected on a guess");
    assert_eq!(reconciled.requeue_after, Some(OWNER_UNCERTAIN_RECHECK));

    // The collector looks the owner up; it exists (its informer lags): still kept.
    let outgoing = lookups(&mut caches);
    assert_eq!(outgoing.len(), 1, "one live lookup of the owner");
    assert_eq!(outgoing[0].request.path, "/apis/apps/v1/namespaces/default/deployments/web");
    let found = Incoming::Response { id: outgoing[0].id, status: 200, body: deployment("d-uid", 4) };
    caches.dynamic.handle(&found, start());
    assert!(deletes(&caches).is_empty());
    assert!(!caches.dynamic.known_absent("d-uid"));
}

#[test]
fn a_lookup_answering_not_found_makes_the_dependent_dangling() {
    let mut caches = listed(&[("/api/v1/configmaps", config_map("d-uid", 9))], 5);
    let outgoing = lookups(&mut caches);
    let gone = Incoming::Response { id: outgoing[0].id, status: 404, body: Value::Null };
    let observed = caches.dynamic.handle(&gone, start()).unwrap();
    assert!(matches!(&observed[..], [DynamicObserved::OwnerAbsent { uid }] if uid == "d-uid"));
    assert_eq!(deletes(&caches), ["c"]);
}

#[test]
fn an_owner_replaced_under_the_same_name_does_not_keep_the_old_owners_dependents() {
    // The lookup finds a Deployment `web` with another uid: the referenced one is gone.
    let mut caches = listed(&[("/api/v1/configmaps", config_map("old-uid", 9))], 5);
    let outgoing = lookups(&mut caches);
    let other = Incoming::Response { id: outgoing[0].id, status: 200, body: deployment("new-uid", 8) };
    caches.dynamic.handle(&other, start());
    assert!(caches.dynamic.known_absent("old-uid"));
    assert_eq!(deletes(&caches), ["c"]);
}

#[test]
fn an_informer_that_has_seen_the_dependents_revision_settles_the_question() {
    let caches = listed(&[("/api/v1/configmaps", config_map("d-uid", 9))], 12);
    assert_eq!(deletes(&caches), ["c"], "no Deployment existed at revision 12, so none at 9");
    let owned = listed(
        &[("/api/v1/configmaps", config_map("d-uid", 9)), ("/apis/apps/v1/deployments", deployment("d-uid", 3))],
        12,
    );
    assert!(deletes(&owned).is_empty(), "a live owner keeps its dependent");
}

#[test]
fn a_deleted_owner_is_known_gone_until_nothing_references_it() {
    let mut caches = listed(
        &[("/api/v1/configmaps", config_map("d-uid", 9)), ("/apis/apps/v1/deployments", deployment("d-uid", 3))],
        9,
    );
    // Both watches open; the Deployment's reports its deletion.
    let mut next_id: RequestId = 1000;
    let mut outgoing = Vec::new();
    caches.dynamic.poll_requests(start(), &mut next_id, &mut outgoing);
    let watch = |path: &str| {
        outgoing.iter().find(|out| out.request.path == path).map(|out| out.id).expect("a watch for the collection")
    };
    let deleted = json!({"type": "DELETED", "object": deployment("d-uid", 10)});
    let frame = Incoming::WatchFrame { id: watch("/apis/apps/v1/deployments"), frame: deleted.into() };
    caches.dynamic.handle(&frame, start());
    assert!(caches.dynamic.known_absent("d-uid"));
    assert_eq!(caches.dynamic.dependents("d-uid").count(), 1);

    // The dependent goes: nothing references the owner any more, so it is forgotten.
    let gone = json!({"type": "DELETED", "object": config_map("d-uid", 11)});
    caches.dynamic.handle(&Incoming::WatchFrame { id: watch("/api/v1/configmaps"), frame: gone.into() }, start());
    assert!(!caches.dynamic.known_absent("d-uid"));
    assert_eq!(caches.dynamic.dependents("d-uid").count(), 0);
    assert!(caches.dynamic.by_uid("c-uid").is_none());
}
