//! The change history of an [`super::EtcdStore`]: one etcd watch on the whole prefix (with the
//! previous values) feeds a bounded in-memory window of [`Change`]s, which every watch cursor of
//! the server reads, as Kubernetes' watch cache does. A poll is then a memory read, not an etcd
//! round trip, and one etcd watch serves every client watch.
//!
//! The window holds every change of the prefix in `(floor, complete]`: `complete` moves with each
//! watch response that carries events, and `floor` with compaction (etcd's or the window's
//! bound). `complete` is the store's current revision: a write returns only once the watch has
//! delivered it, so a poll right after a write sees it. `seen` is the newest revision any read
//! has shown (other clients of etcd may have moved it past the prefix's last change); a client
//! that listed at `seen` may watch from it.
//!
//! etcd's progress notifications are not used: etcd before 3.4.24 sends the answer to a progress
//! request ahead of events it has not delivered yet (etcd issue 15220), so they cannot tell that
//! the window is complete. The store instead writes a barrier key when it connects and waits for
//! its event (see [`super::EtcdStore::connect`]).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use coxswain_core::store::{Change, Revision, StoreError};

/// The shared state between the store and its watch task.
#[derive(Debug)]
pub(super) struct History {
    state: Mutex<Window>,
    caught_up: Condvar,
}

/// What the history holds.
#[derive(Debug)]
pub(super) struct Window {
    /// The newest revision a read has shown.
    pub(super) seen: Revision,
    /// Every change of the prefix up to this revision is in `changes`.
    pub(super) complete: Revision,
    /// Changes at or before this revision are gone.
    pub(super) floor: Revision,
    /// The changes in `(floor, complete]`, in revision order (a transaction's share one revision).
    changes: VecDeque<Arc<Change>>,
    /// Most changes kept.
    changes_max: usize,
}

impl History {
    /// A history that starts complete at `revision`, with nothing before it.
    pub(super) fn new(revision: Revision, changes_max: usize) -> History {
        let window = Window {
            seen: revision,
            complete: revision,
            floor: revision,
            changes: VecDeque::new(),
            changes_max: changes_max.max(1),
        };
        History { state: Mutex::new(window), caught_up: Condvar::new() }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Window> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records that a read has shown `revision`.
    pub(super) fn saw(&self, revision: Revision) {
        let mut window = self.lock();
        window.seen = window.seen.max(revision);
    }

    /// Appends the changes of one watch response (in revision order), whose last event was at
    /// `last`: the history is then complete up to it.
    pub(super) fn append(&self, changes: Vec<Arc<Change>>, last: Revision) {
        let mut window = self.lock();
        // A change at or before the newest one held was delivered already (by a watch that was
        // restarted).
        let newest = window.changes.back().map_or(window.floor, |change| change.revision).max(window.floor);
        window.changes.extend(changes.into_iter().filter(|change| change.revision > newest));
        window.complete = window.complete.max(last);
        window.seen = window.seen.max(window.complete);
        window.trim();
        drop(window);
        self.caught_up.notify_all();
    }

    /// Forgets everything at and before `revision` (a compaction).
    pub(super) fn compact(&self, revision: Revision) {
        let mut window = self.lock();
        window.floor = window.floor.max(revision);
        let floor = window.floor;
        while window.changes.front().is_some_and(|change| change.revision <= floor) {
            window.changes.pop_front();
        }
        if window.complete < floor {
            window.complete = floor;
            window.seen = window.seen.max(floor);
        }
    }

    /// Waits until the history is complete up to `revision`, for at most `timeout`.
    pub(super) fn wait_for(&self, revision: Revision, timeout: Duration) -> Result<(), StoreError> {
        let deadline = Instant::now() + timeout;
        let mut window = self.lock();
        loop {
            if window.complete >= revision {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                let message = format!("the etcd watch has not caught up to revision {revision} in {timeout:?}");
                return Err(StoreError::Unavailable { message });
            }
            let wait = deadline - now;
            window = self.caught_up.wait_timeout(window, wait).unwrap_or_else(|poisoned| poisoned.into_inner()).0;
        }
    }
}

impl Window {
    /// Drops the oldest changes beyond the bound, a whole revision at a time.
    fn trim(&mut self) {
        while self.changes.len() > self.changes_max {
            let Some(oldest) = self.changes.pop_front() else { break };
            self.floor = self.floor.max(oldest.revision);
            while self.changes.front().is_some_and(|change| change.revision == oldest.revision) {
                self.changes.pop_front();
            }
        }
    }

    /// Visits up to `max` changes after `after`, never splitting a revision (a transaction's
    /// changes are visited together, so a cursor that stops after them misses none). Returns the
    /// revision up to which everything was visited.
    pub(super) fn visit_after(&self, after: Revision, max: usize, visit: &mut dyn FnMut(&Arc<Change>)) -> Revision {
        let first = self.changes.partition_point(|change| change.revision <= after);
        let mut last = after;
        for (visited, change) in self.changes.range(first..).enumerate() {
            if visited >= max && change.revision != last {
                return last;
            }
            visit(change);
            last = change.revision;
        }
        // Nothing more up to `complete`: the caller has seen everything up to it.
        last.max(self.complete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coxswain_core::object::Object;
    use coxswain_core::object::kinds::GroupResource;
    use coxswain_core::store::{ChangeType, ObjectKey};

    fn change(revision: Revision, name: &str) -> Arc<Change> {
        let key = ObjectKey::new(GroupResource { group: "", resource: "pods" }, "default", name);
        Arc::new(Change {
            change_type: ChangeType::Added,
            revision,
            key,
            object: Arc::new(Object::default()),
            previous: None,
        })
    }

    fn visited(window: &Window, after: Revision, max: usize) -> (Vec<Revision>, Revision) {
        let mut revisions = Vec::new();
        let last = window.visit_after(after, max, &mut |change| revisions.push(change.revision));
        (revisions, last)
    }

    #[test]
    fn a_visit_never_splits_a_revision_and_reports_how_far_it_saw() {
        let history = History::new(10, 100);
        history.append(vec![change(12, "a"), change(14, "b"), change(14, "c"), change(15, "d")], 17);
        let window = history.lock();
        assert_eq!(visited(&window, 10, 2), (vec![12, 14, 14], 14), "the transaction at 14 stays whole");
        assert_eq!(visited(&window, 14, 10), (vec![15], 17), "everything up to the complete revision was seen");
        assert_eq!(visited(&window, 17, 10), (vec![], 17));
    }

    #[test]
    fn the_window_drops_whole_revisions_and_raises_its_floor() {
        let history = History::new(0, 2);
        history.append(vec![change(1, "a"), change(2, "b"), change(2, "c"), change(3, "d")], 3);
        let window = history.lock();
        assert_eq!(window.floor, 2);
        assert_eq!(visited(&window, 2, 10), (vec![3], 3));
    }

    #[test]
    fn waiting_for_a_revision_ends_when_the_watch_delivers_it_or_times_out() {
        let history = Arc::new(History::new(5, 10));
        let timed_out = history.wait_for(6, Duration::from_millis(30));
        assert!(matches!(timed_out, Err(StoreError::Unavailable { .. })), "{timed_out:?}");
        let feeder = Arc::clone(&history);
        let watch = std::thread::spawn(move || feeder.append(vec![change(6, "a")], 6));
        history.wait_for(6, Duration::from_secs(60)).expect("caught up");
        watch.join().expect("the feeder thread");
        assert_eq!(history.lock().complete, 6);
    }

    #[test]
    fn a_change_delivered_again_by_a_restarted_watch_is_kept_once() {
        let history = History::new(1, 10);
        history.append(vec![change(2, "a")], 2);
        history.append(vec![change(2, "a"), change(3, "b")], 3);
        let window = history.lock();
        assert_eq!(visited(&window, 1, 10), (vec![2, 3], 3));
    }
}
