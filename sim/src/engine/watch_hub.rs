//! The API server's side of every open watch: each change in the store is visited once and
//! handed only to the watches it may concern — by collection, and for pods watched with a
//! `spec.nodeName=` field selector (every node agent's watch) by node — as kube-apiserver's watch
//! cache does with its indexed triggers. A write therefore costs the same whether ten or ten
//! thousand watches are open (DESIGN.md principle 10).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use coxswain_core::api::{SharedFrames, WatchStream};
use coxswain_core::client::RequestId;
use coxswain_core::jiff::Timestamp;
use coxswain_core::store::{Change, Store};
use serde_json::Value;

use super::hosts::HostId;

/// The field every node agent selects its pods by.
const NODE_NAME_FIELD: &str = "spec.nodeName";

/// Most changes visited per call into the store while catching up.
const DISPATCH_BATCH: usize = 1_024;

/// One open watch: who holds it.
pub type WatchKey = (HostId, RequestId);

/// Collections are keyed by group and plural resource name.
type Collection = (&'static str, &'static str);

#[derive(Debug)]
struct OpenWatch {
    stream: Box<WatchStream>,
    epoch: u64,
    node: Option<String>,
}

/// What a dispatch produced.
#[derive(Debug, Default)]
pub struct Dispatch {
    /// Frames to deliver, in order, with the receiving host's epoch.
    pub frames: Vec<(WatchKey, u64, Arc<Value>)>,
    /// Watches the server ended (an ERROR frame was sent).
    pub ended: Vec<(WatchKey, u64)>,
    /// Every change visited, in revision order (for the checkers).
    pub changes: Vec<Arc<Change>>,
}

/// Every open watch, indexed.
#[derive(Debug, Default)]
pub struct WatchHub {
    watches: BTreeMap<WatchKey, OpenWatch>,
    by_collection: BTreeMap<Collection, BTreeSet<WatchKey>>,
    by_node: BTreeMap<String, BTreeSet<WatchKey>>,
    dispatched: u64,
}

impl WatchHub {
    /// A hub that has seen the store up to `revision`.
    pub fn new(revision: u64) -> WatchHub {
        WatchHub { dispatched: revision, ..WatchHub::default() }
    }

    /// Watches open now.
    pub fn len(&self) -> usize {
        self.watches.len()
    }

    /// Whether no watch is open.
    pub fn is_empty(&self) -> bool {
        self.watches.is_empty()
    }

    /// Whether a watch is open.
    pub fn contains(&self, key: WatchKey) -> bool {
        self.watches.contains_key(&key)
    }

    /// The revision up to which changes have been dispatched.
    pub fn dispatched(&self) -> u64 {
        self.dispatched
    }

    /// Opens a watch the server just answered with: its initial frames (a watch from an older
    /// revision replays what it missed; `sendInitialEvents` lists) are returned at once, then
    /// later changes come through [`WatchHub::dispatch`]. The flag says whether the watch stays
    /// open (it does not when its first frame was an ERROR, such as 410 Gone).
    pub fn open<S: Store>(
        &mut self,
        key: WatchKey,
        epoch: u64,
        mut stream: Box<WatchStream>,
        store: &S,
    ) -> (Vec<Value>, bool) {
        let mut frames = Vec::new();
        // Catch the cursor up to what this hub has dispatched, so that later changes are
        // delivered exactly once.
        // A poll visits a bounded number of changes, and a filtered watch (a node agent's) may
        // find none of its own among them: an empty batch is not the end of the replay.
        loop {
            let before = stream.cursor.revision();
            frames.extend(stream.poll(store));
            let stalled = stream.cursor.revision() == before && !stream.cursor.has_pending(before);
            if stream.finished || stalled || !stream.cursor.has_pending(self.dispatched) {
                break;
            }
        }
        if stream.finished {
            return (frames, false);
        }
        let collection = (stream.cursor.resource().group, stream.cursor.resource().resource);
        let node = (collection == ("", "pods"))
            .then(|| stream.selectors.fields.requires_exact_match(NODE_NAME_FIELD).map(str::to_string))
            .flatten();
        match &node {
            Some(node) => self.by_node.entry(node.clone()).or_default().insert(key),
            None => self.by_collection.entry(collection).or_default().insert(key),
        };
        self.watches.insert(key, OpenWatch { stream, epoch, node });
        (frames, true)
    }

    /// Closes one watch (the client went away, the connection broke, or it timed out).
    pub fn close(&mut self, key: WatchKey) -> bool {
        let Some(watch) = self.watches.remove(&key) else { return false };
        let collection = (watch.stream.cursor.resource().group, watch.stream.cursor.resource().resource);
        match &watch.node {
            Some(node) => remove_from(&mut self.by_node, node, key),
            None => remove_from(&mut self.by_collection, &collection, key),
        }
        true
    }

    /// Closes every watch of one host; returns their keys and epochs.
    pub fn close_host(&mut self, host: HostId) -> Vec<(WatchKey, u64)> {
        let keys: Vec<(WatchKey, u64)> = self
            .watches
            .range((host, RequestId::MIN)..=(host, RequestId::MAX))
            .map(|(key, watch)| (*key, watch.epoch))
            .collect();
        for (key, _) in &keys {
            self.close(*key);
        }
        keys
    }

    /// Closes every watch (the server went down); returns their keys and epochs.
    pub fn close_all(&mut self) -> Vec<(WatchKey, u64)> {
        let keys: Vec<(WatchKey, u64)> = self.watches.iter().map(|(key, watch)| (*key, watch.epoch)).collect();
        self.watches.clear();
        self.by_collection.clear();
        self.by_node.clear();
        keys
    }

    /// A BOOKMARK frame for a watch that allows them, at the newest revision this hub has
    /// dispatched: every change up to it that concerned the watch has been delivered, so the
    /// watcher may resume from there (kube-apiserver's cacher bookmarks at its own revision too).
    /// A watch that only sees its node's pods thus keeps a fresh resourceVersion, and its next
    /// watch replays minutes, not the whole history window.
    pub fn bookmark(&mut self, key: WatchKey) -> Option<Value> {
        let watch = self.watches.get_mut(&key)?;
        watch.stream.cursor.advance_to(self.dispatched);
        watch.stream.bookmark()
    }

    /// Whether a watch allows bookmarks.
    pub fn allows_bookmarks(&self, key: WatchKey) -> bool {
        self.watches.get(&key).is_some_and(|watch| watch.stream.bookmarks)
    }

    /// The server-side deadline of a watch, if it has one.
    pub fn deadline(&self, key: WatchKey) -> Option<Timestamp> {
        self.watches.get(&key).and_then(|watch| watch.stream.deadline)
    }

    /// Visits every change since the last dispatch once and hands it to the watches it may
    /// concern.
    pub fn dispatch<S: Store>(&mut self, store: &S, now: Timestamp) -> Dispatch {
        let mut dispatch = Dispatch::default();
        while self.dispatched < store.current_revision() {
            let mut changes = Vec::new();
            let visited = store.visit_changes_after(self.dispatched, DISPATCH_BATCH, &mut |change| {
                changes.push(Arc::clone(change));
            });
            let Ok(last) = visited else {
                // The store compacted past this hub (it cannot while the hub dispatches after
                // every write); every watch must start over.
                self.dispatched = store.current_revision();
                dispatch.ended.extend(self.close_all());
                break;
            };
            self.dispatched = last.max(self.dispatched + 1).min(store.current_revision());
            for change in changes {
                self.deliver(&change, now, &mut dispatch);
                dispatch.changes.push(change);
            }
        }
        dispatch
    }

    fn deliver(&mut self, change: &Arc<Change>, now: Timestamp, dispatch: &mut Dispatch) {
        let collection = (change.key.resource.group, change.key.resource.resource);
        let mut candidates: Vec<WatchKey> =
            self.by_collection.get(&collection).into_iter().flatten().copied().collect();
        if collection == ("", "pods") {
            for object in [Some(&change.object), change.previous.as_ref()].into_iter().flatten() {
                let node = object.field("spec").and_then(|spec| spec.get("nodeName")).and_then(Value::as_str);
                if let Some(watchers) = node.and_then(|node| self.by_node.get(node)) {
                    candidates.extend(watchers.iter().copied());
                }
            }
            candidates.sort_unstable();
            candidates.dedup();
        }
        let mut shared = SharedFrames::default();
        for key in candidates {
            let Some(watch) = self.watches.get_mut(&key) else { continue };
            if let Some(frame) = watch.stream.deliver(change, now, &mut shared) {
                dispatch.frames.push((key, watch.epoch, frame));
            }
            if watch.stream.finished {
                let epoch = watch.epoch;
                self.close(key);
                dispatch.ended.push((key, epoch));
            }
        }
    }
}

fn remove_from<K: Ord>(index: &mut BTreeMap<K, BTreeSet<WatchKey>>, key: &K, watch: WatchKey) {
    if let Some(set) = index.get_mut(key) {
        set.remove(&watch);
        if set.is_empty() {
            index.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use coxswain_core::api::{ApiRequest, ApiResponse, ApiServer, Method};
    use coxswain_core::store::MemoryStore;
    use serde_json::json;

    use super::*;

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().expect("a timestamp")
    }

    fn watch(server: &mut ApiServer<MemoryStore>, path: &str) -> Box<WatchStream> {
        match server.handle(&ApiRequest::new(Method::Get, path), now()) {
            ApiResponse::Watch(stream) => stream,
            other => panic!("not a watch: {}", other.status()),
        }
    }

    fn create_pod(server: &mut ApiServer<MemoryStore>, name: &str, node: &str) {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                         "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]}});
        let request = ApiRequest::new(Method::Post, "/api/v1/namespaces/default/pods").with_json(&pod);
        assert_eq!(server.handle(&request, now()).status(), 201);
    }

    fn names(dispatch: &Dispatch, key: WatchKey) -> Vec<String> {
        dispatch
            .frames
            .iter()
            .filter(|(frame_key, _, _)| *frame_key == key)
            .filter_map(|(_, _, frame)| {
                frame.pointer("/object/metadata/name").and_then(Value::as_str).map(str::to_string)
            })
            .collect()
    }

    #[test]
    fn each_change_reaches_exactly_the_watches_whose_selectors_it_concerns() {
        let mut server = ApiServer::new(MemoryStore::new(), 1);
        server.bootstrap(now()).expect("bootstrap");
        let mut hub = WatchHub::new(server.store().current_revision());
        let node_a = (HostId(1), 1);
        let node_b = (HostId(2), 1);
        let everything = (HostId(3), 7);
        let version = server.store().current_revision();
        for (key, path) in [
            (node_a, format!("/api/v1/pods?watch=1&resourceVersion={version}&fieldSelector=spec.nodeName%3Da")),
            (node_b, format!("/api/v1/pods?watch=1&resourceVersion={version}&fieldSelector=spec.nodeName%3Db")),
            (everything, format!("/api/v1/pods?watch=1&resourceVersion={version}")),
        ] {
            let stream = watch(&mut server, &path);
            let (frames, open) = hub.open(key, 0, stream, server.store());
            assert!(frames.is_empty() && open);
        }
        create_pod(&mut server, "on-a", "a");
        create_pod(&mut server, "on-b", "b");
        let dispatch = hub.dispatch(server.store(), now());
        assert_eq!(names(&dispatch, node_a), ["on-a"]);
        assert_eq!(names(&dispatch, node_b), ["on-b"]);
        assert_eq!(names(&dispatch, everything), ["on-a", "on-b"]);
        assert_eq!(dispatch.changes.len(), 2);

        assert_eq!(hub.close_host(HostId(1)), vec![(node_a, 0)]);
        create_pod(&mut server, "again-on-a", "a");
        let dispatch = hub.dispatch(server.store(), now());
        assert!(names(&dispatch, node_a).is_empty());
        assert_eq!(names(&dispatch, everything), ["again-on-a"]);
    }

    #[test]
    fn watches_receiving_the_same_frame_share_one_encoding() {
        let mut server = ApiServer::new(MemoryStore::new(), 1);
        server.bootstrap(now()).expect("bootstrap");
        let mut hub = WatchHub::new(server.store().current_revision());
        let version = server.store().current_revision();
        let everything = format!("/api/v1/pods?watch=1&resourceVersion={version}");
        let on_a = format!("/api/v1/pods?watch=1&resourceVersion={version}&fieldSelector=spec.nodeName%3Da");
        for (key, path) in [((HostId(1), 1), &everything), ((HostId(2), 1), &everything), ((HostId(3), 1), &on_a)] {
            let stream = watch(&mut server, path);
            assert!(hub.open(key, 0, stream, server.store()).1);
        }
        create_pod(&mut server, "on-a", "a");
        let dispatch = hub.dispatch(server.store(), now());
        assert_eq!(dispatch.frames.len(), 3);
        let first = &dispatch.frames[0].2;
        assert!(dispatch.frames.iter().all(|(_, _, frame)| Arc::ptr_eq(frame, first)), "one encoding for all three");
        assert_eq!(first["type"], "ADDED");
    }

    #[test]
    fn a_watch_from_an_older_revision_replays_what_it_missed_then_follows() {
        let mut server = ApiServer::new(MemoryStore::new(), 1);
        server.bootstrap(now()).expect("bootstrap");
        let version = server.store().current_revision();
        create_pod(&mut server, "first", "a");
        let mut hub = WatchHub::new(server.store().current_revision());
        let stream = watch(&mut server, &format!("/api/v1/pods?watch=1&resourceVersion={version}"));
        let (frames, open) = hub.open((HostId(1), 1), 0, stream, server.store());
        assert!(open);
        assert_eq!(frames.len(), 1, "{frames:?}");
        create_pod(&mut server, "second", "a");
        let dispatch = hub.dispatch(server.store(), now());
        assert_eq!(names(&dispatch, (HostId(1), 1)), ["second"]);
    }

    /// A node agent re-watching from a revision followed by more than one poll's worth of other
    /// nodes' changes still replays its own pod behind them (a first empty batch is not the end).
    #[test]
    fn a_filtered_watch_replays_past_more_unrelated_changes_than_one_poll_visits() {
        let mut server = ApiServer::new(MemoryStore::new(), 1);
        server.bootstrap(now()).expect("bootstrap");
        let version = server.store().current_revision();
        for index in 0..=coxswain_core::limits::WATCH_POLL_EVENTS_MAX {
            create_pod(&mut server, &format!("elsewhere-{index}"), "b");
        }
        create_pod(&mut server, "mine", "a");
        let mut hub = WatchHub::new(server.store().current_revision());
        let path = format!("/api/v1/pods?watch=1&resourceVersion={version}&fieldSelector=spec.nodeName%3Da");
        let stream = watch(&mut server, &path);
        let (frames, open) = hub.open((HostId(1), 1), 0, stream, server.store());
        assert!(open);
        let replayed: Vec<&str> =
            frames.iter().filter_map(|frame| frame.pointer("/object/metadata/name").and_then(Value::as_str)).collect();
        assert_eq!(replayed, ["mine"]);
    }
}
