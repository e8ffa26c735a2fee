//! Events expire one hour after their last write, as kube-apiserver's `--event-ttl` gives each
//! Event an etcd lease renewed on every write. The API server keeps a deadline per Event in a
//! deadline-ordered index fed by the writes it serves; the shell asks when the next one is due
//! ([`ApiServer::next_event_expiry`]) and calls [`ApiServer::expire_events`] then, so an idle
//! hour of a large cluster costs one wake, not a scan.
//!
//! Differences from Kubernetes, deliberate: the expired Event is removed as a delete (watchers
//! see `DELETED`, as they do when etcd drops an expired key), and after a restart the deadlines
//! are rebuilt from the stored Events' own timestamps (the leases are what etcd keeps).

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};

use super::server::ApiServer;
use crate::limits::EVENT_TTL;
use crate::object::Object;
use crate::object::kinds::GroupResource;
use crate::store::{Change, ChangeType, ListOptions, ObjectKey, Preconditions, Revision, Store};

/// The stored collection of Events (`events.k8s.io/v1` Events are served from the same one).
const EVENTS: GroupResource = GroupResource { group: "", resource: "events" };

/// Most expired Events removed by one call; the rest are due at once at the next call.
const EXPIRE_BATCH: usize = 10_000;

/// Each Event's expiry, indexed by deadline and by key.
#[derive(Debug, Default)]
pub struct EventDeadlines {
    by_deadline: BTreeSet<(Timestamp, ObjectKey)>,
    by_key: BTreeMap<ObjectKey, Timestamp>,
    /// Whether the index has been filled from the stored Events (after a start or restart).
    filled: bool,
}

impl EventDeadlines {
    /// When the next Event expires, if any is indexed.
    pub fn next(&self) -> Option<Timestamp> {
        self.by_deadline.first().map(|(deadline, _)| *deadline)
    }

    /// How many Events have a deadline.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no Event has a deadline.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    fn set(&mut self, key: ObjectKey, deadline: Timestamp) {
        if let Some(old) = self.by_key.insert(key.clone(), deadline) {
            self.by_deadline.remove(&(old, key.clone()));
        }
        self.by_deadline.insert((deadline, key));
    }

    fn forget(&mut self, key: &ObjectKey) {
        if let Some(old) = self.by_key.remove(key) {
            self.by_deadline.remove(&(old, key.clone()));
        }
    }

    /// Notes one change the server just made: an Event written now lives [`EVENT_TTL`] more.
    fn observe(&mut self, change: &Change, now: Timestamp) {
        if change.key.resource != EVENTS {
            return;
        }
        match change.change_type {
            ChangeType::Added | ChangeType::Modified => self.set(change.key.clone(), now + ttl()),
            ChangeType::Deleted => self.forget(&change.key),
        }
    }
}

fn ttl() -> SignedDuration {
    SignedDuration::try_from(EVENT_TTL).unwrap_or(SignedDuration::MAX)
}

/// An Event's last write as the Event itself records it: `lastTimestamp`, `eventTime`,
/// `metadata.creationTimestamp`, whichever is latest.
fn last_written(event: &Object) -> Option<Timestamp> {
    let field = |name: &str| event.fields.get(name).and_then(|value| value.as_str()).and_then(|text| text.parse().ok());
    let created = event.metadata.creation_timestamp.as_ref().map(|time| time.0);
    [field("lastTimestamp"), field("eventTime"), created].into_iter().flatten().max()
}

impl<S: Store> ApiServer<S> {
    /// Records the deadlines of the Events the changes after `before` wrote at `now`.
    pub(super) fn track_event_writes(&mut self, before: Revision, now: Timestamp) {
        if !self.event_deadlines.filled {
            return;
        }
        let deadlines = &mut self.event_deadlines;
        let mut after = before;
        while after < self.store.current_revision() {
            match self.store.visit_changes_after(after, EXPIRE_BATCH, &mut |change| deadlines.observe(change, now)) {
                Ok(last) if last > after => after = last,
                // Compacted away or nothing visited: rebuild from the store at the next call.
                _ => {
                    deadlines.filled = false;
                    return;
                }
            }
        }
    }

    /// When [`ApiServer::expire_events`] is next due, for the shell's timer: the next Event's
    /// deadline, `None` when no Event exists, and [`Timestamp::MIN`] (at once) while the index
    /// still has to be filled from the store (after a start, a restart or a compaction).
    pub fn next_event_expiry(&self) -> Option<Timestamp> {
        if !self.event_deadlines.filled {
            return Some(Timestamp::MIN);
        }
        self.event_deadlines.next()
    }

    /// Removes every Event whose last write is [`EVENT_TTL`] old at `now`; returns how many
    /// went. The first call after a start fills the index from the stored Events.
    pub fn expire_events(&mut self, now: Timestamp) -> usize {
        if !self.event_deadlines.filled {
            self.fill_event_deadlines(now);
        }
        let mut expired = 0;
        while expired < EXPIRE_BATCH {
            let Some((deadline, key)) = self.event_deadlines.by_deadline.first().cloned() else { break };
            if deadline > now {
                break;
            }
            self.event_deadlines.forget(&key);
            // Gone already (a delete the index missed) is as good as expired.
            if self.store.delete(&key, &Preconditions::default()).is_ok() {
                expired += 1;
            }
        }
        expired
    }

    fn fill_event_deadlines(&mut self, now: Timestamp) {
        let mut deadlines = EventDeadlines { filled: true, ..EventDeadlines::default() };
        if let Ok(listed) = self.store.list(EVENTS, &ListOptions::all()) {
            for event in &listed.items {
                let written = last_written(event).map_or(now, |written| written.min(now));
                deadlines.set(ObjectKey::of(EVENTS, event), written + ttl());
            }
        }
        self.event_deadlines = deadlines;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::{ApiRequest, ApiResponse, ApiServer, Method};
    use crate::store::MemoryStore;

    fn at(minutes: i64) -> Timestamp {
        let start: Timestamp = "2026-01-01T00:00:00Z".parse().expect("a timestamp");
        start + SignedDuration::from_mins(minutes)
    }

    fn create_event(server: &mut ApiServer<MemoryStore>, now: Timestamp) -> u16 {
        let event = json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "web.1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
            "reason": "Started", "message": "started", "count": 1, "type": "Normal"});
        let request = ApiRequest::new(Method::Post, "/api/v1/namespaces/default/events").with_json(&event);
        server.handle(&request, now).status()
    }

    /// Reads the Event back and writes it with its count raised, as a recorder does.
    fn update_event(server: &mut ApiServer<MemoryStore>, now: Timestamp) -> u16 {
        let path = "/api/v1/namespaces/default/events/web.1";
        let ApiResponse::Json { body: mut event, .. } = server.handle(&ApiRequest::new(Method::Get, path), now) else {
            panic!("a get answers JSON")
        };
        event["count"] = json!(2);
        server.handle(&ApiRequest::new(Method::Put, path).with_json(&event), now).status()
    }

    fn exists(server: &mut ApiServer<MemoryStore>, now: Timestamp) -> bool {
        let request = ApiRequest::new(Method::Get, "/api/v1/namespaces/default/events/web.1");
        server.handle(&request, now).status() == 200
    }

    #[test]
    fn an_event_is_gone_an_hour_after_its_last_write() {
        let mut server = ApiServer::new(MemoryStore::new(), 1);
        server.bootstrap(at(0)).expect("bootstrap");
        assert_eq!(server.next_event_expiry(), Some(Timestamp::MIN), "the index is filled at the first call");
        assert_eq!(server.expire_events(at(0)), 0);
        assert_eq!(server.next_event_expiry(), None, "no Event, no wake");

        assert_eq!(create_event(&mut server, at(0)), 201);
        assert_eq!(server.next_event_expiry(), Some(at(60)));
        // A write renews the lease, as every write of an Event does in kube-apiserver.
        let status = update_event(&mut server, at(30));
        assert_eq!(status, 200);
        assert_eq!(server.next_event_expiry(), Some(at(90)));

        assert_eq!(server.expire_events(at(89)), 0);
        assert!(exists(&mut server, at(89)));
        assert_eq!(server.expire_events(at(90)), 1);
        assert!(!exists(&mut server, at(90)), "expired after an hour without writes");
        assert_eq!(server.next_event_expiry(), None);
    }

    #[test]
    fn a_restarted_server_rebuilds_the_deadlines_from_the_stored_events() {
        let mut server = ApiServer::new(MemoryStore::new(), 1);
        server.bootstrap(at(0)).expect("bootstrap");
        assert_eq!(create_event(&mut server, at(10)), 201);
        let mut restarted = ApiServer::new(server.into_store(), 2);
        assert_eq!(restarted.expire_events(at(20)), 0);
        // The Event records when it was written (creationTimestamp at 10 min).
        assert_eq!(restarted.next_event_expiry(), Some(at(70)));
        assert_eq!(restarted.expire_events(at(70)), 1);
        assert!(!exists(&mut restarted, at(70)));
    }

    #[test]
    fn deleting_an_event_drops_its_deadline() {
        let mut server = ApiServer::new(MemoryStore::new(), 1);
        server.bootstrap(at(0)).expect("bootstrap");
        server.expire_events(at(0));
        assert_eq!(create_event(&mut server, at(0)), 201);
        let delete = ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/events/web.1");
        assert_eq!(server.handle(&delete, at(1)).status(), 200);
        assert_eq!(server.next_event_expiry(), None);
    }
}
