//! The group committer of [`super::DurableStore`]: one thread that takes every change queued
//! since its last commit and writes them to redb in one transaction with one fsync.
//!
//! Why: an fsync costs milliseconds on ordinary disks, and the API server applies writes one at
//! a time under its lock. Committing each write on its own under that lock would cap the server
//! at a few hundred writes per second and make every read wait behind a disk flush. With the
//! committer, a write is applied to the memory image under the lock, queued, and the lock is
//! released; the shell then waits ([`Durability::wait_durable`]) outside the lock until the
//! batch holding the write is on disk, and only then acknowledges it and wakes the watches —
//! as etcd batches its WAL fsyncs across concurrent requests.
//!
//! A commit that fails leaves writes in the image that are not on disk: the store stops serving
//! (every later call is `Unavailable` with the cause) and every waiter is told, so none of those
//! writes is acknowledged. Restarting the server reloads the image from disk.

use std::sync::Arc;
use std::thread::JoinHandle;

use coxswain_core::store::{Change, Durability, Revision, StoreError};
use parking_lot::{Condvar, Mutex};
use redb::{Database, Durability as RedbDurability};

use super::durable_records::{write_change, write_revisions};

/// What the store has queued and what is on disk.
#[derive(Default)]
struct Queue {
    /// Changes not yet handed to the committer, in revision order.
    changes: Vec<Change>,
    /// The image's revision and compacted revision at the last enqueue.
    revision: Revision,
    compacted: Revision,
    /// Whether anything (a change or a compaction) waits to be committed.
    dirty: bool,
    /// Every write up to this revision is on disk.
    durable: Revision,
    /// Why the store stopped: a commit failed.
    failed: Option<String>,
    /// The store is being dropped: commit what is queued and end.
    stopping: bool,
}

/// The queue shared by the store, its committer thread and the shell's waiters.
pub(super) struct Committer {
    queue: Mutex<Queue>,
    /// Wakes the committer thread when work is queued.
    work: Condvar,
    /// Wakes waiters when a commit finished (or failed).
    committed: Condvar,
}

impl Committer {
    /// Starts the committer thread over `database`, whose disk state is at `revision` and
    /// `compacted`.
    pub(super) fn start(
        database: Database,
        path: String,
        revision: Revision,
        compacted: Revision,
    ) -> std::io::Result<(Arc<Committer>, JoinHandle<()>)> {
        let committer = Arc::new(Committer {
            queue: Mutex::new(Queue { revision, compacted, durable: revision, ..Queue::default() }),
            work: Condvar::new(),
            committed: Condvar::new(),
        });
        let thread = {
            let committer = Arc::clone(&committer);
            std::thread::Builder::new()
                .name("durable-commit".into())
                .spawn(move || committer.run(&database, &path, compacted))?
        };
        Ok((committer, thread))
    }

    /// Queues the changes a write applied to the image, which is now at `revision` and
    /// `compacted`.
    pub(super) fn enqueue(&self, changes: Vec<Change>, revision: Revision, compacted: Revision) {
        let mut queue = self.queue.lock();
        queue.changes.extend(changes);
        queue.revision = revision;
        queue.compacted = compacted;
        queue.dirty = true;
        drop(queue);
        self.work.notify_one();
    }

    /// Every write up to this revision is on disk.
    pub(super) fn durable_revision(&self) -> Revision {
        self.queue.lock().durable
    }

    /// Why the store stopped serving, if it did.
    pub(super) fn failure(&self) -> Option<String> {
        self.queue.lock().failed.clone()
    }

    /// Commits what is queued, then ends the thread.
    pub(super) fn stop(&self) {
        self.queue.lock().stopping = true;
        self.work.notify_one();
    }

    fn run(&self, database: &Database, path: &str, mut compacted_on_disk: Revision) {
        loop {
            let mut queue = self.queue.lock();
            while !queue.dirty && !queue.stopping {
                self.work.wait(&mut queue);
            }
            if !queue.dirty {
                return;
            }
            let changes = std::mem::take(&mut queue.changes);
            let (revision, compacted) = (queue.revision, queue.compacted);
            queue.dirty = false;
            drop(queue);

            let outcome = commit(database, &changes, revision, compacted_on_disk, compacted);
            let mut queue = self.queue.lock();
            match outcome {
                Ok(()) => {
                    compacted_on_disk = compacted;
                    queue.durable = revision;
                }
                Err(error) => {
                    let message =
                        format!("committing to {path}: {error}; restart the server to reload what is on disk");
                    tracing::error!(%message, "the durable store stopped");
                    queue.failed = Some(message);
                    drop(queue);
                    self.committed.notify_all();
                    return;
                }
            }
            drop(queue);
            self.committed.notify_all();
        }
    }
}

impl Durability for Committer {
    fn wait_durable(&self, revision: Revision) -> Result<(), StoreError> {
        let mut queue = self.queue.lock();
        loop {
            if let Some(message) = &queue.failed {
                return Err(StoreError::Unavailable { message: message.clone() });
            }
            if queue.durable >= revision {
                return Ok(());
            }
            self.committed.wait(&mut queue);
        }
    }
}

/// One transaction, one fsync: `changes`, then the revision counters.
fn commit(
    database: &Database,
    changes: &[Change],
    revision: Revision,
    compacted_on_disk: Revision,
    compacted: Revision,
) -> Result<(), redb::Error> {
    let mut transaction = database.begin_write()?;
    transaction.set_durability(RedbDurability::Immediate)?;
    for change in changes {
        write_change(&transaction, change)?;
    }
    write_revisions(&transaction, revision, compacted_on_disk, compacted)?;
    transaction.commit()?;
    Ok(())
}
