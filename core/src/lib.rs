//! coxswain-core: the pure core of coxswain.
//!
//! Everything that decides lives here: the Kubernetes object model, label and field selectors, the
//! versioned store, the API semantics, the scheduler and the controllers. Nothing in this crate
//! opens a socket, reads a file, spawns a thread, reads a clock or draws global randomness: time
//! and seeded generators are parameters (see `DESIGN.md`, principles 1 and 2), so the simulator and
//! the production shells run exactly this code.

pub mod api;
pub mod client;
pub mod controllers;
pub mod kubelet;
pub mod limits;
pub mod manifest;
pub mod object;
pub mod proxy;
pub mod scheduler;
pub mod selector;
pub mod store;
pub mod testing;

/// Re-exported so every crate of the workspace uses the same Kubernetes types and time library.
pub use k8s_openapi;
pub use k8s_openapi::jiff;
