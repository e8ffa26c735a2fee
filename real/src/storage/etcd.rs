//! [`EtcdStore`]: the [`Store`] over a real etcd v3 cluster, as Kubernetes uses etcd, so that
//! several `cox server` processes can share one cluster state.
//!
//! - Objects live under a prefix (see [`super::etcd_keys`]); an object's resourceVersion is its
//!   key's mod revision, and the store's revision is etcd's.
//! - Every write, alone or in a [`Store::transaction`], reads the keys it touches (in one `Txn`),
//!   checks its conditions on them with [`Write::check`] as every backend does, and commits as
//!   one `Txn` comparing each key's mod revision with the one read (0 for an absent key). If
//!   another client changed a key in between, the `Txn` fails and the write is read and checked
//!   again, so the errors a caller sees are those of the state the write met.
//! - Watches read one etcd watch on the prefix through an in-memory window (see
//!   [`super::etcd_history`]); compaction is etcd's compaction. A write returns once the watch
//!   has delivered it, so the store's current revision is the newest change it holds.
//!
//! Where it departs from the [`Store`] contract, as etcd does: other clients of the same etcd
//! move its revision on, so a write takes *a* newer revision, `current + 1` only while this store
//! is etcd's only writer; the writes of one transaction share the transaction's revision.
//!
//! The [`Store`] trait is synchronous and etcd-client is async, so the store owns a small tokio
//! runtime (one worker thread, which also runs the watch) and blocks on it for each call: directly
//! on a plain or blocking-pool thread, through `block_in_place` on a worker of a multi-threaded
//! runtime. A current-thread runtime cannot block, so the store must not be called from one.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use coxswain_core::limits::WATCH_WINDOW_REVISIONS;
use coxswain_core::object::Object;
use coxswain_core::object::kinds::GroupResource;
use coxswain_core::store::{
    Change, ListOptions, ListResult, ObjectKey, Preconditions, Revision, Store, StoreError, WatchCursor, WatchRequest,
    WatchStart, Write,
};
use etcd_client::{Client, Compare, CompareOp, Txn, TxnOp, TxnOpResponse};
use tokio::runtime::Runtime;

use super::etcd_history::History;
use super::etcd_keys::{Keys, decode, encode};
use super::etcd_watch::{follow, revision};

/// How long one etcd call may take before the store answers `Unavailable`.
pub const ETCD_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a write (or a connect) waits for the etcd watch to deliver it.
pub const ETCD_WATCH_CATCH_UP_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times a write is tried when other writers keep changing its keys in between its
/// read and its `Txn` (Kubernetes' GuaranteedUpdate retries likewise).
const WRITE_ATTEMPTS_MAX: usize = 16;

/// The key a connecting store writes under its prefix: when the watch delivers it, it has
/// delivered every older change (a key no collection lists: see [`Keys::parse`]).
const CONNECT_BARRIER_KEY: &str = ".connected";

/// etcd's message for a read or compaction at a revision it has compacted away.
const COMPACTED_MESSAGE: &str = "required revision has been compacted";

/// Why an etcd store could not start.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// The tokio runtime could not be started.
    #[error("starting the etcd client runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// etcd could not be reached.
    #[error("connecting to etcd at {endpoints}: {source}")]
    Connect {
        /// The endpoints tried.
        endpoints: String,
        /// What failed (boxed to keep the error small).
        #[source]
        source: Box<StoreError>,
    },
}

/// A [`Store`] kept in etcd.
pub struct EtcdStore {
    runtime: Runtime,
    client: Client,
    keys: Keys,
    history: Arc<History>,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("EtcdStore").field("keys", &self.keys).finish_non_exhaustive()
    }
}

impl EtcdStore {
    /// Connects to etcd at `endpoints` (`http://127.0.0.1:2379`) and keeps objects under
    /// `prefix` (`/registry`), with a history window of [`WATCH_WINDOW_REVISIONS`] changes.
    ///
    /// The store replays what etcd still holds of the prefix, so watches resume from any revision
    /// etcd has not compacted. To know when the replay is done it writes a barrier key under the
    /// prefix and waits for the watch to deliver it: connecting takes one etcd revision.
    pub fn connect(endpoints: &[String], prefix: &str) -> Result<EtcdStore, EtcdError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("etcd-store")
            .enable_all()
            .build()
            .map_err(EtcdError::Runtime)?;
        let failed =
            |source: StoreError| EtcdError::Connect { endpoints: endpoints.join(","), source: Box::new(source) };
        let client = within_timeout(&runtime, Client::connect(endpoints, None)).map_err(failed)?;
        let keys = Keys::new(prefix);
        let window = usize::try_from(WATCH_WINDOW_REVISIONS).unwrap_or(usize::MAX);
        let history = Arc::new(History::new(0, window));
        runtime.spawn(follow(client.clone(), keys.clone(), Arc::clone(&history), 1));
        let store = EtcdStore { runtime, client, keys, history };
        let barrier = format!("{}{CONNECT_BARRIER_KEY}", store.keys.root());
        let response = store.call(store.kv().put(barrier, Vec::new(), None)).map_err(failed)?;
        let revision = response.header().map_or(0, |header| header.revision() as Revision);
        store.history.wait_for(revision, ETCD_WATCH_CATCH_UP_TIMEOUT).map_err(failed)?;
        Ok(store)
    }

    /// Runs one etcd call on the store's runtime, within [`ETCD_REQUEST_TIMEOUT`].
    pub(super) fn call<T>(&self, call: impl Future<Output = Result<T, etcd_client::Error>>) -> Result<T, StoreError> {
        within_timeout(&self.runtime, call)
    }

    /// The key layout.
    pub(super) fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The shared history.
    pub(super) fn history(&self) -> &History {
        &self.history
    }

    /// A client for key-value calls.
    pub(super) fn kv(&self) -> etcd_client::KvClient {
        self.client.kv_client()
    }

    /// The stored objects (with their mod revisions) under `keys`, read at one revision.
    fn read_all(&self, keys: &[String]) -> Result<Vec<Option<(Object, i64)>>, StoreError> {
        let reads: Vec<TxnOp> = keys.iter().map(|key| TxnOp::get(key.as_str(), None)).collect();
        let response = self.call(self.kv().txn(Txn::new().and_then(reads)))?;
        if let Some(header) = response.header() {
            self.history.saw(header.revision() as Revision);
        }
        response
            .op_responses()
            .into_iter()
            .map(|op| match op {
                TxnOpResponse::Get(get) => match get.kvs().first() {
                    Some(kv) => Ok(Some((decode(kv.value(), kv.mod_revision() as Revision)?, kv.mod_revision()))),
                    None => Ok(None),
                },
                _ => Err(StoreError::Internal { message: "etcd answered a read with a write".into() }),
            })
            .collect()
    }

    /// Commits `writes` if every key still holds what `stored` says; the commit's revision, or
    /// `None` if another writer got there first.
    fn commit(
        &self,
        writes: &[Write],
        keys: &[String],
        stored: &[Option<(Object, i64)>],
    ) -> Result<Option<Revision>, StoreError> {
        let compares: Vec<Compare> = keys
            .iter()
            .zip(stored)
            .map(|(key, stored)| {
                let mod_revision = stored.as_ref().map_or(0, |(_, mod_revision)| *mod_revision);
                Compare::mod_revision(key.as_str(), CompareOp::Equal, mod_revision)
            })
            .collect();
        let operations: Vec<TxnOp> = writes
            .iter()
            .zip(keys)
            .map(|(write, key)| match write {
                Write::Create { object, .. } | Write::Update { object, .. } => {
                    TxnOp::put(key.as_str(), encode(object), None)
                }
                Write::Delete { .. } => TxnOp::delete(key.as_str(), None),
            })
            .collect();
        let response = self.call(self.kv().txn(Txn::new().when(compares).and_then(operations)))?;
        let revision = response.header().map_or(0, |header| header.revision() as Revision);
        self.history.saw(revision);
        if !response.succeeded() {
            return Ok(None);
        }
        // The write is committed whatever happens next; waiting lets a poll right after it see
        // it. Should the watch be down, the write still succeeded: only its event comes late.
        let _ = self.history.wait_for(revision, ETCD_WATCH_CATCH_UP_TIMEOUT);
        Ok(Some(revision))
    }

    /// A watch that starts with the collection as a list shows it now.
    fn watch_with_initial_events(&self, request: &WatchRequest) -> Result<WatchCursor, StoreError> {
        let WatchStart::InitialEvents { end_bookmark } = request.start else {
            return Err(StoreError::Internal { message: "not a watch with initial events".into() });
        };
        let options = ListOptions { namespace: request.namespace.as_deref(), ..ListOptions::all() };
        let list = self.list_page(request.resource, &options)?;
        let (resource, namespace) = (request.resource, request.namespace.clone());
        Ok(WatchCursor::with_initial_events(resource, namespace, list.revision, list.items, end_bookmark))
    }

    fn single(&mut self, write: Write) -> Result<Arc<Object>, StoreError> {
        let mut stored = self.transaction(vec![write])?;
        stored.pop().ok_or_else(|| StoreError::Internal { message: "a write returned no object".into() })
    }
}

/// Blocks on `call` within [`ETCD_REQUEST_TIMEOUT`], mapping etcd's failures to `Unavailable`.
fn within_timeout<T>(
    runtime: &Runtime,
    call: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, StoreError> {
    let wait = || runtime.block_on(async { tokio::time::timeout(ETCD_REQUEST_TIMEOUT, call).await });
    // Called from an async task of a multi-threaded runtime (the server's start-up does), the
    // worker thread hands its other tasks over while it blocks, which also makes blocking on the
    // store's own runtime legal there.
    let answer = match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    };
    match answer {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(StoreError::Unavailable { message: format!("etcd: {error}") }),
        Err(_) => Err(StoreError::Unavailable { message: format!("etcd did not answer in {ETCD_REQUEST_TIMEOUT:?}") }),
    }
}

/// Whether an error is etcd refusing a revision it has compacted away.
pub(super) fn is_compacted(error: &StoreError) -> bool {
    matches!(error, StoreError::Unavailable { message } if message.contains(COMPACTED_MESSAGE))
}

/// What a committed write stored: the object sent, or the deleted object's last state, at the
/// commit's revision.
fn committed(write: Write, stored: Option<(Object, i64)>, revision: Revision) -> Object {
    let mut object = match write {
        Write::Create { object, .. } | Write::Update { object, .. } => object,
        Write::Delete { .. } => stored.map(|(object, _)| object).unwrap_or_default(),
    };
    object.metadata.resource_version = Some(revision.to_string());
    object
}

impl Store for EtcdStore {
    fn current_revision(&self) -> Revision {
        self.history.lock().complete
    }

    fn compacted_revision(&self) -> Revision {
        self.history.lock().floor
    }

    fn create(&mut self, resource: GroupResource, object: Object) -> Result<Arc<Object>, StoreError> {
        self.single(Write::Create { resource, object })
    }

    fn get(&self, key: &ObjectKey) -> Result<Arc<Object>, StoreError> {
        let response = self.call(self.kv().get(self.keys.object(key), None))?;
        if let Some(header) = response.header() {
            self.history.saw(header.revision() as Revision);
        }
        let kv = response.kvs().first().ok_or_else(|| StoreError::NotFound {
            resource: key.resource,
            namespace: key.namespace.clone(),
            name: key.name.clone(),
        })?;
        Ok(Arc::new(decode(kv.value(), kv.mod_revision() as Revision)?))
    }

    fn update(&mut self, resource: GroupResource, object: Object) -> Result<Arc<Object>, StoreError> {
        self.single(Write::Update { resource, object })
    }

    fn delete(&mut self, key: &ObjectKey, preconditions: &Preconditions) -> Result<Arc<Object>, StoreError> {
        self.single(Write::Delete { key: key.clone(), preconditions: preconditions.clone() })
    }

    fn transaction(&mut self, writes: Vec<Write>) -> Result<Vec<Arc<Object>>, StoreError> {
        Write::check_distinct_keys(&writes)?;
        let keys: Vec<String> = writes.iter().map(|write| self.keys.object(&write.key())).collect();
        for _attempt in 0..WRITE_ATTEMPTS_MAX {
            let stored = self.read_all(&keys)?;
            for (write, stored) in writes.iter().zip(&stored) {
                write.check(stored.as_ref().map(|(object, _)| object))?;
            }
            if let Some(revision) = self.commit(&writes, &keys, &stored)? {
                let objects = writes.into_iter().zip(stored);
                return Ok(objects.map(|(write, stored)| Arc::new(committed(write, stored, revision))).collect());
            }
        }
        let message = format!("other writers kept changing the keys for {WRITE_ATTEMPTS_MAX} attempts");
        Err(StoreError::Unavailable { message })
    }

    fn list(&self, resource: GroupResource, options: &ListOptions<'_>) -> Result<ListResult, StoreError> {
        self.list_page(resource, options)
    }

    fn visit_changes_after(
        &self,
        after: Revision,
        max: usize,
        visit: &mut dyn FnMut(&Arc<Change>),
    ) -> Result<Revision, StoreError> {
        let window = self.history.lock();
        if after < window.floor {
            return Err(StoreError::Expired { requested: after, compacted: window.floor });
        }
        Ok(window.visit_after(after, max, visit))
    }

    /// As the trait's, but a watch may also start at a revision a read has shown (a list's) that
    /// other clients of etcd moved past the prefix's newest change.
    fn watch(&self, request: &WatchRequest) -> Result<WatchCursor, StoreError> {
        let WatchStart::After(start) = request.start else { return self.watch_with_initial_events(request) };
        let (newest, floor) = {
            let window = self.history.lock();
            (window.complete.max(window.seen), window.floor)
        };
        if start > newest {
            return Err(StoreError::TooLargeResourceVersion { requested: start, current: newest });
        }
        if start < floor {
            return Err(StoreError::Expired { requested: start, compacted: floor });
        }
        Ok(WatchCursor::after(request.resource, request.namespace.clone(), start))
    }

    fn compact(&mut self, revision_to: Revision) -> Result<(), StoreError> {
        let (current, floor) = {
            let window = self.history.lock();
            (window.complete.max(window.seen), window.floor)
        };
        if revision_to > current {
            return Err(StoreError::TooLargeResourceVersion { requested: revision_to, current });
        }
        if revision_to <= floor {
            return Ok(());
        }
        match self.call(self.kv().compact(revision(revision_to), None)) {
            Ok(_) => {}
            // Another client compacted further already.
            Err(error) if is_compacted(&error) => {}
            Err(error) => return Err(error),
        }
        self.history.compact(revision_to);
        Ok(())
    }
}
