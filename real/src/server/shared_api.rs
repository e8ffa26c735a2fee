//! The one [`ApiServer`] every connection shares: reads under a shared lock so they run
//! concurrently, writes under the exclusive lock, a panic in one request answered as a 500
//! while the server goes on serving, and the revision channel open watches wait on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use coxswain_core::api::{ApiError, ApiRequest, ApiResponse, ApiServer, WatchStream, is_read};
use coxswain_core::store::compaction::CompactionSchedule;
use coxswain_core::store::{Durability, Revision, Store};
use parking_lot::{Mutex, RwLock};
use serde_json::Value;
use tokio::sync::watch;

use crate::clock::SharedClock;

/// The API server behind a lock, and what the HTTP shell needs around it.
pub struct SharedApi<S: Store> {
    /// `parking_lot`'s lock does not poison: a panic in one request cannot lock out the others.
    server: RwLock<ApiServer<S>>,
    revision: watch::Sender<Revision>,
    /// The store's background commits, waited on outside the lock before a write is answered.
    durability: Option<Arc<dyn Durability>>,
    clock: SharedClock,
    compaction: Mutex<CompactionSchedule>,
}

impl<S: Store + Send + Sync + 'static> SharedApi<S> {
    /// Shares `server`, reading the time from `clock`.
    pub fn new(server: ApiServer<S>, clock: SharedClock) -> Arc<SharedApi<S>> {
        let (revision, _) = watch::channel(server.store().current_revision());
        let durability = server.store().durability();
        Arc::new(SharedApi { server: RwLock::new(server), revision, durability, clock, compaction: Mutex::default() })
    }

    /// The clock the server reads.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Answers one request. Blocking (a write is answered only once the store has it on disk):
    /// call it from a blocking thread.
    pub fn answer(&self, request: &ApiRequest) -> ApiResponse {
        let now = self.clock.now();
        let answered = if is_read(request) {
            let server = self.server.read();
            catch_unwind(AssertUnwindSafe(|| server.read(request, now)))
        } else {
            let mut server = self.server.write();
            let answered = catch_unwind(AssertUnwindSafe(|| server.handle(request, now)));
            let current = server.store().current_revision();
            drop(server);
            // Outside the lock, so that other requests proceed and share the next disk commit.
            if let Some(durability) = &self.durability
                && let Err(error) = durability.wait_durable(current)
            {
                return ApiResponse::error(&ApiError::from(error));
            }
            self.announce(current);
            answered
        };
        answered.unwrap_or_else(|panic| {
            let message = panic_message(panic.as_ref());
            tracing::error!(method = ?request.method, path = %request.path, %message, "request handling panicked");
            ApiResponse::error(&ApiError::Internal {
                message: format!("the server could not handle the request: {message}"),
            })
        })
    }

    /// The frames due on an open watch (and an ERROR frame if it fell out of the window).
    pub fn poll_watch(&self, stream: &mut WatchStream) -> Vec<Value> {
        let now = self.clock.now();
        let server = self.server.read();
        catch_unwind(AssertUnwindSafe(|| stream.poll_at(server.store(), now))).unwrap_or_else(|panic| {
            stream.finished = true;
            let message = panic_message(panic.as_ref());
            tracing::error!(%message, "polling a watch panicked");
            vec![serde_json::json!({"type": "ERROR", "object": ApiError::Internal { message }.to_status()})]
        })
    }

    /// Wakes the watches if the store's revision moved without a write through this server
    /// (another server sharing the etcd cluster).
    pub fn refresh_revision(&self) {
        // A store with background commits is this server's alone, and its image runs ahead of
        // the disk: only a write's own answer, once durable, may announce its revision (an
        // earlier announcement would wake the watches before they can see the change, and the
        // durable one would then be swallowed as no change).
        if self.durability.is_some() {
            return;
        }
        let current = self.server.read().store().current_revision();
        self.announce(current);
    }

    /// A receiver that changes whenever a write moves the store's revision.
    pub fn subscribe(&self) -> watch::Receiver<Revision> {
        self.revision.subscribe()
    }

    /// Runs one step of the compaction schedule: compacts the store's history when it is due.
    pub fn compact_if_due(&self) {
        let now = self.clock.now();
        let current = self.server.read().store().current_revision();
        let Some(revision) = self.compaction.lock().tick(now, current) else { return };
        if let Err(error) = self.server.write().store_mut().compact(revision) {
            tracing::warn!(%error, revision, "compacting the store failed");
        }
    }

    /// Deletes the Events past their time to live (`--event-ttl`); returns when the next one is
    /// due, if any.
    pub fn expire_events(&self) -> Option<coxswain_core::jiff::Timestamp> {
        let now = self.clock.now();
        self.with_server(|server| {
            server.expire_events(now);
            server.next_event_expiry()
        })
    }

    /// Runs `action` on the server under the exclusive lock (bootstrap, tests).
    pub fn with_server<T>(&self, action: impl FnOnce(&mut ApiServer<S>) -> T) -> T {
        let result = action(&mut self.server.write());
        let current = self.server.read().store().current_revision();
        if let Some(durability) = &self.durability
            && let Err(error) = durability.wait_durable(current)
        {
            tracing::error!(%error, "writes did not reach the disk");
        }
        self.announce(current);
        result
    }
}

impl<S: Store> SharedApi<S> {
    /// Wakes the watches for `revision` unless a newer one was announced already (writers that
    /// finish out of order must not move the channel back).
    fn announce(&self, revision: Revision) {
        self.revision.send_if_modified(|seen| {
            let newer = revision > *seen;
            if newer {
                *seen = revision;
            }
            newer
        });
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|message| (*message).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}
