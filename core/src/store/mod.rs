//! The versioned object store: revisions, compare-and-swap, list, watch from a revision, compaction.
//!
//! [`Store`] is the backend interface (this crate's [`MemoryStore`]; the embedded durable and
//! etcd backends live in coxswain-real); [`objects`] adds Kubernetes' object semantics (uid,
//! generateName, generation, finalizers and graceful deletion) on top of any backend;
//! [`conformance`] is the suite every backend must pass.

mod backend;
pub mod compaction;
pub mod conformance;
mod error;
mod label_index;
mod memory;
mod memory_list;
mod memory_restore;
pub mod names;
pub mod objects;
pub mod paging;
mod types;
mod watch;

#[cfg(test)]
mod replay_tests;

pub use backend::{Durability, Store};
pub use error::{
    CONTINUE_EXPIRED_MESSAGE, LIST_EXPIRED_MESSAGE, OPTIMISTIC_LOCK_MESSAGE, PreconditionField, PreconditionMismatch,
    Qualified, StoreError,
};
pub use memory::MemoryStore;
pub use types::{
    Change, ChangeType, ListOptions, ListResult, ObjectKey, Preconditions, ReadRevision, Revision, WatchEvent,
    WatchRequest, WatchStart, Write, parse_revision,
};
pub use watch::WatchCursor;
