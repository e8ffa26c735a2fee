//! Test support shared by this crate's unit tests and the integration tests of the workspace:
//! real servers started as child processes (etcd) and temporary directories. Nothing here is used
//! by `cox` itself; it is public so that tests in `real/tests/` and `tests/` can start the same
//! real etcd the storage tests use instead of keeping a copy.

mod etcd_server;
mod temp_dir;

pub use etcd_server::{EtcdServer, free_port};
pub use temp_dir::TempDir;
