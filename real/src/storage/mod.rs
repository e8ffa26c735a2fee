//! Storage backends of `cox server`: implementations of the core [`Store`] trait that outlive
//! the process.
//!
//! [`DurableStore`] is the default, embedded in the server's data directory (redb); [`EtcdStore`]
//! keeps the objects in a real etcd v3 cluster so that several servers can share them. Both pass
//! [`coxswain_core::store::conformance::run_all`].
//!
//! [`Store`]: coxswain_core::store::Store

mod durable;
mod durable_commit;
mod durable_records;
mod etcd;
mod etcd_history;
mod etcd_keys;
mod etcd_list;
mod etcd_watch;
mod resources;

#[cfg(test)]
mod durable_tests;
#[cfg(test)]
mod etcd_tests;

pub use durable::{DATABASE_FILE, DurableError, DurableStore};
pub use durable_records::RecordError;
pub use etcd::{ETCD_REQUEST_TIMEOUT, ETCD_WATCH_CATCH_UP_TIMEOUT, EtcdError, EtcdStore};
