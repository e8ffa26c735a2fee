//! Tests of [`DurableStore`]: the conformance suite over a temporary directory, reopening, and a
//! crash test that SIGKILLs a child process while it writes.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::Arc;

use coxswain_core::object::Object;
use coxswain_core::object::kinds::GroupResource;
use coxswain_core::store::conformance::{a_reopened_store_resumes_where_it_was, object, run_all};
use coxswain_core::store::{
    Change, ChangeType, ListOptions, ObjectKey, Preconditions, Revision, Store, StoreError, WatchRequest, WatchStart,
    Write,
};

use super::durable::DurableStore;
use crate::testing::TempDir;

const PODS: GroupResource = GroupResource { group: "", resource: "pods" };
const CONFIGMAPS: GroupResource = GroupResource { group: "", resource: "configmaps" };

#[test]
fn the_durable_store_passes_the_conformance_suite() {
    let directory = TempDir::new("durable-conformance");
    run_all(|| DurableStore::open(directory.fresh()).expect("open"));
}

#[test]
fn the_durable_store_passes_the_reopen_conformance_test() {
    let directory = TempDir::new("durable-conformance-reopen");
    a_reopened_store_resumes_where_it_was(|| DurableStore::open(directory.path()).expect("open"));
}

#[test]
fn the_durable_store_passes_the_conformance_suite_with_a_tiny_window() {
    let directory = TempDir::new("durable-conformance-window");
    run_all(|| DurableStore::open_with_window(directory.fresh(), 64).expect("open"));
}

/// Every change after `after`, in order.
fn history_after<S: Store>(store: &S, after: Revision) -> Vec<Arc<Change>> {
    let mut changes = Vec::new();
    store.visit_changes_after(after, usize::MAX, &mut |change| changes.push(Arc::clone(change))).expect("history");
    changes
}

#[test]
fn a_reopened_store_resumes_at_the_same_revision_with_its_objects_and_history() {
    let directory = TempDir::new("durable-reopen");
    let (revision, pods, history) = {
        let mut store = DurableStore::open(directory.path()).expect("open");
        for name in ["a", "b", "c"] {
            store.create(PODS, object("Pod", "default", name, "web")).expect("create");
        }
        let b = store.get(&ObjectKey::new(PODS, "default", "b")).expect("get");
        store.update(PODS, Object::clone(&b)).expect("update");
        store.delete(&ObjectKey::new(PODS, "default", "a"), &Preconditions::default()).expect("delete");
        let c = store.get(&ObjectKey::new(PODS, "default", "c")).expect("get");
        let writes = vec![
            Write::Create { resource: CONFIGMAPS, object: object("ConfigMap", "default", "d", "db") },
            Write::Update { resource: PODS, object: Object::clone(&c) },
        ];
        store.transaction(writes).expect("transaction");
        store.compact(2).expect("compact");
        store.sync().expect("durable");
        (store.current_revision(), store.list(PODS, &ListOptions::all()).expect("list").items, history_after(&store, 2))
    };
    let mut store = DurableStore::open(directory.path()).expect("reopen");
    assert_eq!(store.current_revision(), revision);
    assert_eq!(revision, 7);
    assert_eq!(store.compacted_revision(), 2, "compaction is durable too");
    assert_eq!(store.list(PODS, &ListOptions::all()).expect("list").items, pods);
    assert_eq!(history_after(&store, 2), history, "the history window is kept across restarts");
    let mut cursor = store
        .watch(&WatchRequest { resource: PODS, namespace: None, start: WatchStart::After(3) })
        .expect("a watch resumes from a revision in the window");
    let events = store.poll_watch(&mut cursor).expect("poll");
    assert_eq!(events.len(), 3, "update b, delete a, update c: {events:?}");
    let too_old = store.watch(&WatchRequest { resource: PODS, namespace: None, start: WatchStart::After(1) });
    assert!(matches!(too_old, Err(StoreError::Expired { .. })), "{too_old:?}");
    let next = store.create(PODS, object("Pod", "default", "e", "web")).expect("create after reopen");
    assert_eq!(next.resource_version(), "8", "the next write takes the next revision");
}

#[test]
fn the_history_window_is_enforced_on_disk() {
    let directory = TempDir::new("durable-window");
    {
        let mut store = DurableStore::open_with_window(directory.path(), 4).expect("open");
        for index in 0..10 {
            store.create(PODS, object("Pod", "default", &format!("p{index}"), "web")).expect("create");
        }
        assert_eq!(store.compacted_revision(), 6);
    }
    let store = DurableStore::open_with_window(directory.path(), 4).expect("reopen");
    assert_eq!((store.current_revision(), store.compacted_revision()), (10, 6));
    assert_eq!(history_after(&store, 6).len(), 4);
    assert_eq!(store.object_count(), 10);
}

#[test]
fn a_second_store_on_the_same_directory_is_refused() {
    let directory = TempDir::new("durable-locked");
    let _first = DurableStore::open(directory.path()).expect("open");
    let second = DurableStore::open(directory.path());
    assert!(matches!(second, Err(super::durable::DurableError::Open { .. })), "{second:?}");
}

/// The environment variable that turns [`crash_child_writes_until_killed`] into the writer.
const CRASH_CHILD_DIRECTORY: &str = "COXSWAIN_CRASH_CHILD_DIRECTORY";

/// Writes the child makes before it stops by itself, should nobody kill it.
const CRASH_CHILD_WRITES_MAX: usize = 100_000;

/// Acknowledgements the parent waits for before it kills the child.
const ACKNOWLEDGED_BEFORE_KILL: usize = 150;

/// The child half of [`acknowledged_writes_survive_sigkill`]: writes in a loop (creates, updates,
/// deletes and transactions) and prints `ACK <revision> <TYPE> <collection> <name>` for each write
/// once the store says it is durable.
#[test]
#[ignore = "the child process of acknowledged_writes_survive_sigkill, which runs it"]
fn crash_child_writes_until_killed() {
    let Some(directory) = std::env::var_os(CRASH_CHILD_DIRECTORY) else { return };
    let mut store = DurableStore::open(directory).expect("the store opens after a crash");
    let round = store.current_revision();
    let mut stdout = std::io::stdout().lock();
    let mut acknowledge = |object: &Arc<Object>, change_type: ChangeType, resource: &str| {
        let line = format!("ACK {} {} {resource} {}", object.resource_version(), change_type.as_str(), object.name());
        writeln!(stdout, "{line}").and_then(|()| stdout.flush()).expect("the parent reads stdout");
    };
    let counter = store.create(CONFIGMAPS, object("ConfigMap", "default", &format!("counter-{round}"), "c"));
    let mut counter = counter.expect("create the counter");
    store.sync().expect("durable");
    acknowledge(&counter, ChangeType::Added, "configmaps");
    for index in 0..CRASH_CHILD_WRITES_MAX {
        let name = format!("pod-{round}-{index}");
        if index % 4 == 3 {
            let mut next = Object::clone(&counter);
            next.fields.insert("data".into(), serde_json::json!({"value": index.to_string()}));
            let writes = vec![
                Write::Create { resource: PODS, object: object("Pod", "default", &name, "web") },
                Write::Update { resource: CONFIGMAPS, object: next },
            ];
            let stored = store.transaction(writes).expect("transaction");
            store.sync().expect("durable");
            acknowledge(&stored[0], ChangeType::Added, "pods");
            acknowledge(&stored[1], ChangeType::Modified, "configmaps");
            counter = Arc::clone(&stored[1]);
        } else {
            let created = store.create(PODS, object("Pod", "default", &name, "web")).expect("create");
            store.sync().expect("durable");
            acknowledge(&created, ChangeType::Added, "pods");
        }
        if index >= 5 && index % 2 == 0 {
            let key = ObjectKey::new(PODS, "default", &format!("pod-{round}-{}", index - 5));
            let deleted = store.delete(&key, &Preconditions::default()).expect("delete");
            store.sync().expect("durable");
            acknowledge(&deleted, ChangeType::Deleted, "pods");
        }
    }
}

/// One acknowledged write, as the child printed it.
#[derive(Debug)]
struct Acknowledged {
    revision: Revision,
    change_type: String,
    resource: String,
    name: String,
}

fn parse_acknowledged(line: &str) -> Option<Acknowledged> {
    let mut parts = line.strip_prefix("ACK ")?.split(' ');
    let revision = parts.next()?.parse().ok()?;
    let (change_type, resource, name) = (parts.next()?, parts.next()?, parts.next()?);
    Some(Acknowledged { revision, change_type: change_type.into(), resource: resource.into(), name: name.into() })
}

/// Runs the child writer on `directory`, SIGKILLs it once it has acknowledged
/// [`ACKNOWLEDGED_BEFORE_KILL`] writes, and returns every write it acknowledged.
fn write_until_killed(directory: &std::path::Path) -> Vec<Acknowledged> {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(test_binary)
        .args(["--ignored", "--exact", "storage::durable_tests::crash_child_writes_until_killed", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CRASH_CHILD_DIRECTORY, directory)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the child starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut acknowledged = Vec::new();
    let mut killed = false;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        acknowledged.extend(parse_acknowledged(&line));
        if !killed && acknowledged.len() >= ACKNOWLEDGED_BEFORE_KILL {
            // SIGKILL on Unix: no destructor, no flush, no chance to finish the commit in flight.
            child.kill().expect("kill the child");
            killed = true;
        }
    }
    let status = child.wait().expect("wait for the child");
    assert!(killed && !status.success(), "the child was killed mid-write: {status:?}, {} acks", acknowledged.len());
    acknowledged
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let directory = TempDir::new("durable-crash");
    let mut all_acknowledged = Vec::new();
    for _round in 0..3 {
        all_acknowledged.extend(write_until_killed(directory.path()));
        let store = DurableStore::open(directory.path()).expect("the store opens cleanly after SIGKILL");
        assert_eq!(store.compacted_revision(), 0);
        let newest = all_acknowledged.iter().map(|ack| ack.revision).max().unwrap_or(0);
        assert!(store.current_revision() >= newest, "revision {} < acknowledged {newest}", store.current_revision());
        let history: BTreeMap<Revision, Arc<Change>> =
            history_after(&store, 0).into_iter().map(|change| (change.revision, change)).collect();
        for ack in &all_acknowledged {
            let change = history.get(&ack.revision).unwrap_or_else(|| panic!("acknowledged {ack:?} is lost"));
            assert_eq!(
                (change.change_type.as_str(), change.key.resource.resource, change.key.name.as_str()),
                (ack.change_type.as_str(), ack.resource.as_str(), ack.name.as_str()),
                "the acknowledged write is the one at its revision"
            );
        }
        assert_state_is_the_replayed_history(&store, history.values());
    }
}

/// The objects the store holds are exactly those its history adds and does not remove.
fn assert_state_is_the_replayed_history<'a>(store: &DurableStore, history: impl Iterator<Item = &'a Arc<Change>>) {
    let mut replayed: BTreeMap<ObjectKey, Arc<Object>> = BTreeMap::new();
    for change in history {
        match change.change_type {
            ChangeType::Deleted => replayed.remove(&change.key),
            ChangeType::Added | ChangeType::Modified => replayed.insert(change.key.clone(), Arc::clone(&change.object)),
        };
    }
    let mut stored = BTreeMap::new();
    for resource in [PODS, CONFIGMAPS] {
        for item in store.list(resource, &ListOptions::all()).expect("list").items {
            stored.insert(ObjectKey::of(resource, &item), item);
        }
    }
    assert_eq!(stored.len(), replayed.len());
    assert!(stored == replayed, "the stored objects are the replayed history");
}
