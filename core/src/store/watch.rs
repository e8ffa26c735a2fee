//! [`WatchCursor`]: a watcher's position in the store's history, advanced by
//! [`Store::poll_watch`](super::Store::poll_watch).
//!
//! Watches are pulled, not pushed: core has no threads, so a shell (the simulator, or the
//! server's tokio tasks) polls each cursor after a write, or when
//! [`Store::current_revision`](super::Store::current_revision) has passed the cursor's revision.
//! A cursor holds no copy of the history: it is a revision plus, for a watch with initial
//! events, the snapshot still to send. Many cursors read the one shared history.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::object::kinds::GroupResource;

use super::types::{Change, ChangeType, ObjectKey, Revision, WatchEvent};

/// A watcher's position: everything in its collection up to [`WatchCursor::revision`] has been
/// delivered, except the initial events still queued.
#[derive(Clone, Debug)]
pub struct WatchCursor {
    resource: GroupResource,
    namespace: Option<String>,
    revision: Revision,
    initial: VecDeque<Arc<Change>>,
    end_bookmark_pending: bool,
}

impl WatchCursor {
    /// A cursor that delivers every change in `resource` (and `namespace`) after `revision`.
    pub fn after(resource: GroupResource, namespace: Option<String>, revision: Revision) -> WatchCursor {
        WatchCursor { resource, namespace, revision, initial: VecDeque::new(), end_bookmark_pending: false }
    }

    /// A cursor that first delivers a synthetic `ADDED` for each of `objects` (the collection at
    /// `revision`), then an initial-events-end bookmark if asked, then every change after
    /// `revision`.
    pub fn with_initial_events(
        resource: GroupResource,
        namespace: Option<String>,
        revision: Revision,
        objects: Vec<Arc<crate::object::Object>>,
        end_bookmark: bool,
    ) -> WatchCursor {
        let initial = objects
            .into_iter()
            .map(|object| {
                Arc::new(Change {
                    change_type: ChangeType::Added,
                    revision,
                    key: ObjectKey::of(resource, &object),
                    object,
                    previous: None,
                })
            })
            .collect();
        WatchCursor { resource, namespace, revision, initial, end_bookmark_pending: end_bookmark }
    }

    /// The watched collection.
    pub fn resource(&self) -> GroupResource {
        self.resource
    }

    /// The watched namespace, or none for every namespace.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The revision up to which every change has been delivered (or skipped as not watched).
    pub fn revision(&self) -> Revision {
        self.revision
    }

    /// Whether a poll could return something: initial events are queued, or the store has
    /// moved past the cursor. This is the cheap check a shell makes after each write.
    pub fn has_pending(&self, current_revision: Revision) -> bool {
        !self.initial.is_empty() || self.end_bookmark_pending || current_revision > self.revision
    }

    /// A bookmark at the cursor's revision, for the shell to send on its bookmark timer; none
    /// while initial events are still queued (a bookmark then would claim too much).
    pub fn bookmark(&self) -> Option<WatchEvent> {
        if self.initial.is_empty() && !self.end_bookmark_pending {
            Some(WatchEvent::Bookmark { revision: self.revision, initial_events_end: false })
        } else {
            None
        }
    }

    /// Whether a change belongs to the watched collection and namespace.
    pub fn watches(&self, change: &Change) -> bool {
        same_collection(change.key.resource, self.resource)
            && self.namespace.as_deref().is_none_or(|namespace| namespace == change.key.namespace)
    }

    /// Moves queued initial events (and then the end bookmark) into `events` until it holds
    /// `limit` events. Returns whether the initial phase is over.
    pub(super) fn drain_initial(&mut self, events: &mut Vec<WatchEvent>, limit: usize) -> bool {
        while events.len() < limit {
            let Some(change) = self.initial.pop_front() else { break };
            events.push(WatchEvent::Change(change));
        }
        if !self.initial.is_empty() {
            return false;
        }
        if self.end_bookmark_pending && events.len() < limit {
            self.end_bookmark_pending = false;
            events.push(WatchEvent::Bookmark { revision: self.revision, initial_events_end: true });
        }
        !self.end_bookmark_pending
    }

    /// Records that every change up to `revision` has been delivered or skipped. Shells that
    /// dispatch each change to the watches an index names (instead of polling every cursor) move
    /// the cursors they deliver to with this.
    pub fn advance_to(&mut self, revision: Revision) {
        assert!(revision >= self.revision, "a watch cursor never moves backwards");
        self.revision = revision;
    }
}

/// Whether two collections are the same. Collections are named by the static strings of one kinds
/// table, so the same address and length settle most checks without comparing bytes: this runs
/// once per watcher per change, where a byte comparison was most of a poll's cost.
fn same_collection(left: GroupResource, right: GroupResource) -> bool {
    let same = |left: &str, right: &str| std::ptr::eq(left, right) || left == right;
    same(left.resource, right.resource) && same(left.group, right.group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_with_equal_names_are_the_same_wherever_the_names_live() {
        let pods = GroupResource { group: "", resource: "pods" };
        let copied: &'static str = String::from("pods").leak();
        let empty: &'static str = String::new().leak();
        assert!(same_collection(pods, GroupResource { group: empty, resource: copied }));
        assert!(!same_collection(pods, GroupResource { group: "", resource: "services" }));
        assert!(!same_collection(pods, GroupResource { group: "apps", resource: "pods" }));
    }
}
