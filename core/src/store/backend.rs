//! [`Store`]: the storage interface every backend implements (in memory, embedded durable,
//! etcd), shaped like etcd: one store-wide revision counter, compare-and-swap on revisions,
//! history kept for a window and then compacted.
//!
//! A store knows keys, revisions and history, nothing of Kubernetes' object semantics (uids,
//! generation, finalizers); those are layered on top in [`super::objects`].

use std::sync::Arc;

use crate::limits::WATCH_POLL_EVENTS_MAX;
use crate::object::Object;
use crate::object::kinds::GroupResource;

use super::error::StoreError;
use super::types::{
    Change, ListOptions, ListResult, ObjectKey, Preconditions, Revision, WatchEvent, WatchRequest, WatchStart, Write,
};
use super::watch::WatchCursor;

/// Waits for a store's background commits: see [`Store::durability`].
pub trait Durability: Send + Sync {
    /// Blocks until every write up to `revision` is durable; fails when it cannot become durable
    /// (the commit failed), in which case the write must not be acknowledged.
    fn wait_durable(&self, revision: Revision) -> Result<(), StoreError>;
}

/// A versioned object store. Objects are handed out as `Arc<Object>` so that lists and watch
/// fan-out share them instead of copying.
///
/// Contract (checked by [`super::conformance::run_all`]):
/// - every successful write takes the next revision (`current_revision() + 1`) and records
///   exactly one [`Change`] at it; failed writes change nothing. The etcd backend relaxes this
///   as etcd does: other clients of the same etcd may move the revision on, so a write takes a
///   revision newer than every earlier one (`current + 1` only while the store is etcd's only
///   writer), and the writes of one [`Store::transaction`] share the transaction's revision;
/// - the stored object's `metadata.resourceVersion` is the decimal revision of its last write;
/// - history after [`Store::compacted_revision`] is complete: reads and watches from any
///   revision in `compacted_revision()..=current_revision()` see every change after it.
pub trait Store {
    /// The revision of the newest write (0 for an empty store). Cheap: a shell compares it with
    /// each cursor's revision to decide whom to wake.
    fn current_revision(&self) -> Revision;

    /// The newest revision whose history is gone: watches and lists can start at this revision
    /// or later, not earlier.
    fn compacted_revision(&self) -> Revision;

    /// Stores a new object under its namespace and name (`AlreadyExists` if taken). The object
    /// must not carry a resourceVersion; the stored one carries the new revision.
    fn create(&mut self, resource: GroupResource, object: Object) -> Result<Arc<Object>, StoreError>;

    /// The current object under a key (`NotFound` if none).
    fn get(&self, key: &ObjectKey) -> Result<Arc<Object>, StoreError>;

    /// Replaces an existing object (`NotFound` if none). If the object carries a
    /// resourceVersion it must be the stored one (`Conflict` otherwise); an empty one replaces
    /// unconditionally. The stored object carries the new revision.
    fn update(&mut self, resource: GroupResource, object: Object) -> Result<Arc<Object>, StoreError>;

    /// Removes an object whose uid and resourceVersion meet the preconditions
    /// (`PreconditionFailed` otherwise). Returns its last state with the deletion revision as
    /// resourceVersion, as the `DELETED` event carries it.
    fn delete(&mut self, key: &ObjectKey, preconditions: &Preconditions) -> Result<Arc<Object>, StoreError>;

    /// Commits the writes of one request together or not at all: every write's condition
    /// (absence for a create, the resourceVersion for an update, the preconditions for a
    /// delete) is checked against the state before the transaction, and only if all hold are
    /// they applied, in order, each taking the next revision. A durable backend commits them
    /// as one transaction (etcd: one `Txn` comparing every key's mod revision). The writes
    /// must touch distinct keys. Returns the stored objects (for a delete, its last state).
    fn transaction(&mut self, writes: Vec<Write>) -> Result<Vec<Arc<Object>>, StoreError>;

    /// One page of a collection, consistent at one revision across pages (see
    /// [`super::paging::plan_page`] for which revision).
    fn list(&self, resource: GroupResource, options: &ListOptions<'_>) -> Result<ListResult, StoreError>;

    /// Calls `visit` on up to `max` changes after revision `after`, in revision order, and
    /// returns the revision of the last one visited (`after` if none). `Expired` if `after` is
    /// older than the compacted revision. A backend whose revisions have gaps or are shared by
    /// a transaction's writes (etcd) visits a revision's changes together, even past `max`, and
    /// may return a newer revision up to which it holds no further change.
    fn visit_changes_after(
        &self,
        after: Revision,
        max: usize,
        visit: &mut dyn FnMut(&Arc<Change>),
    ) -> Result<Revision, StoreError>;

    /// Forgets history up to and including `revision`; watches and continue tokens from before
    /// it get 410 Gone. The shell calls this on its time-based policy
    /// ([`crate::limits::WATCH_WINDOW_SECONDS`]); a backend may also compact on its own to stay
    /// within [`crate::limits::WATCH_WINDOW_REVISIONS`]. Compacting to an older revision than
    /// the compacted one does nothing.
    fn compact(&mut self, revision: Revision) -> Result<(), StoreError>;

    /// For a store that makes writes durable in the background (a group commit: one fsync for
    /// the writes of many requests), the handle the shell waits on before it acknowledges a
    /// write. `None`, the default, means a write is durable when its call returns.
    fn durability(&self) -> Option<Arc<dyn Durability>> {
        None
    }

    /// Starts a watch: a cursor to poll with [`Store::poll_watch`].
    fn watch(&self, request: &WatchRequest) -> Result<WatchCursor, StoreError> {
        let current = self.current_revision();
        match request.start {
            WatchStart::After(revision) if revision > current => {
                Err(StoreError::TooLargeResourceVersion { requested: revision, current })
            }
            WatchStart::After(revision) if revision < self.compacted_revision() => {
                Err(StoreError::Expired { requested: revision, compacted: self.compacted_revision() })
            }
            WatchStart::After(revision) => {
                Ok(WatchCursor::after(request.resource, request.namespace.clone(), revision))
            }
            WatchStart::InitialEvents { end_bookmark } => {
                let options = ListOptions { namespace: request.namespace.as_deref(), ..ListOptions::all() };
                let list = self.list(request.resource, &options)?;
                Ok(WatchCursor::with_initial_events(
                    request.resource,
                    request.namespace.clone(),
                    list.revision,
                    list.items,
                    end_bookmark,
                ))
            }
        }
    }

    /// The events a cursor has not seen yet, at most
    /// [`WATCH_POLL_EVENTS_MAX`](crate::limits::WATCH_POLL_EVENTS_MAX): queued initial events,
    /// then changes in revision order. `Expired` if the cursor fell behind compaction; the
    /// watcher must then list again. A thin wrapper over [`Store::poll_watch_into`].
    fn poll_watch(&self, cursor: &mut WatchCursor) -> Result<Vec<WatchEvent>, StoreError> {
        let mut events = Vec::new();
        self.poll_watch_into(cursor, &mut events)?;
        Ok(events)
    }

    /// [`Store::poll_watch`] into the caller's buffer: appends the events after whatever `events`
    /// holds and returns how many it appended. A shell polling many cursors reuses one buffer, so
    /// a poll allocates nothing once the buffer has grown. On error `events` is left as it was.
    fn poll_watch_into(&self, cursor: &mut WatchCursor, events: &mut Vec<WatchEvent>) -> Result<usize, StoreError> {
        let start = events.len();
        if !cursor.drain_initial(events, start + WATCH_POLL_EVENTS_MAX) {
            return Ok(events.len() - start);
        }
        if cursor.revision() >= self.current_revision() {
            return Ok(events.len() - start);
        }
        let budget = WATCH_POLL_EVENTS_MAX - (events.len() - start);
        let visited = self.visit_changes_after(cursor.revision(), budget, &mut |change| {
            if cursor.watches(change) {
                events.push(WatchEvent::Change(Arc::clone(change)));
            }
        });
        match visited {
            Ok(last) => {
                cursor.advance_to(last);
                Ok(events.len() - start)
            }
            Err(error) => {
                events.truncate(start);
                Err(error)
            }
        }
    }
}
