//! coxswain-real: the production shells around the pure core, and the `cox` command-line tool.
//!
//! This crate reads files, talks to sockets and keeps time; every decision it carries out is made
//! by `coxswain-core` (DESIGN.md principle 1).

pub mod cli;
pub mod client;
pub mod clock;
pub mod server;
pub mod storage;
pub mod testing;
