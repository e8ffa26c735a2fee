//! Tests of [`EtcdStore`] against a real etcd started for each test: the conformance suite, two
//! stores sharing one etcd, and a store that reconnects and resumes a watch.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use coxswain_core::object::Object;
use coxswain_core::object::kinds::GroupResource;
use coxswain_core::store::conformance::{object, run_all};
use coxswain_core::store::{
    ChangeType, ListOptions, ObjectKey, Store, StoreError, WatchEvent, WatchRequest, WatchStart, Write,
};

use super::etcd::EtcdStore;
use crate::testing::EtcdServer;

const PODS: GroupResource = GroupResource { group: "", resource: "pods" };

fn connect(server: &EtcdServer, prefix: &str) -> EtcdStore {
    EtcdStore::connect(&server.endpoints(), prefix).expect("connect to etcd")
}

#[test]
fn the_etcd_store_passes_the_conformance_suite() {
    let server = EtcdServer::start();
    let next = AtomicUsize::new(0);
    // Each store gets a prefix of its own on the one etcd, so each starts empty.
    run_all(|| connect(&server, &format!("/conformance-{}", next.fetch_add(1, Ordering::Relaxed))));
}

/// The pod changes a watch from `after` delivers once the store's watch has caught up with at
/// least `expected` of them (another store's writes reach this one's watch a moment later).
fn watch_events(store: &EtcdStore, after: u64, expected: usize) -> Vec<(ChangeType, String, u64)> {
    let request = WatchRequest { resource: PODS, namespace: None, start: WatchStart::After(after) };
    let mut cursor = store.watch(&request).expect("watch");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while seen.len() < expected && Instant::now() < deadline {
        for event in store.poll_watch(&mut cursor).expect("poll") {
            if let WatchEvent::Change(change) = event {
                seen.push((change.change_type, change.key.name.clone(), change.revision));
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    seen
}

#[test]
fn two_stores_on_one_etcd_see_each_others_writes_and_conflict_on_stale_versions() {
    let server = EtcdServer::start();
    let mut first = connect(&server, "/registry");
    let mut second = connect(&server, "/registry");
    let created = first.create(PODS, object("Pod", "default", "a", "web")).expect("create");
    let revision: u64 = created.resource_version().parse().expect("a revision");
    let seen = second.get(&ObjectKey::new(PODS, "default", "a")).expect("the other store reads it");
    assert_eq!(seen, created);
    assert_eq!(watch_events(&second, revision - 1, 1), [(ChangeType::Added, "a".to_string(), revision)]);
    second.update(PODS, Object::clone(&created)).expect("update from the second store");
    let stale = first.update(PODS, Object::clone(&created));
    assert!(matches!(stale, Err(StoreError::Conflict { .. })), "compare-and-swap across stores: {stale:?}");
    let writes = vec![
        Write::Create { resource: PODS, object: object("Pod", "default", "b", "web") },
        Write::Update { resource: PODS, object: Object::clone(&created) },
    ];
    let failed = first.transaction(writes);
    assert!(matches!(failed, Err(StoreError::Conflict { .. })), "{failed:?}");
    assert!(matches!(second.get(&ObjectKey::new(PODS, "default", "b")), Err(StoreError::NotFound { .. })));
    let listed = first.list(PODS, &ListOptions::all()).expect("list");
    assert_eq!(listed.items.len(), 1);
    let from_list = WatchRequest { resource: PODS, namespace: None, start: WatchStart::After(listed.revision) };
    second.watch(&from_list).expect("a watch starts at the revision a list returned");
}

#[test]
fn a_reconnected_store_resumes_watches_from_etcd_history_until_compaction() {
    let server = EtcdServer::start();
    let start;
    {
        let mut store = connect(&server, "/registry");
        start = store.current_revision();
        for name in ["a", "b", "c"] {
            store.create(PODS, object("Pod", "default", name, "web")).expect("create");
        }
        store.delete(&ObjectKey::new(PODS, "default", "b"), &Default::default()).expect("delete");
    }
    let mut store = connect(&server, "/registry");
    assert_eq!(store.current_revision(), start + 5, "etcd's revision: four writes and the reconnect's barrier");
    let events = watch_events(&store, start, 4);
    let names: Vec<String> = events.into_iter().map(|(kind, name, _)| format!("{kind:?} {name}")).collect();
    assert_eq!(names, ["Added a", "Added b", "Added c", "Deleted b"], "history from before the restart");
    store.compact(start + 2).expect("compact");
    let expired = store.watch(&WatchRequest { resource: PODS, namespace: None, start: WatchStart::After(start + 1) });
    assert!(matches!(expired, Err(StoreError::Expired { .. })), "{expired:?}");
    let reconnected = connect(&server, "/registry");
    assert_eq!(reconnected.compacted_revision(), start + 2, "etcd's compaction is learnt on connect");
    assert_eq!(watch_events(&reconnected, start + 2, 2).len(), 2, "added c, deleted b");
}
