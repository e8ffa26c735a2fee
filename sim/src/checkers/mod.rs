//! What a run checks: safety invariants after every event ([`safety`]) and the liveness of the
//! declared state after faults heal ([`liveness`]).

pub mod liveness;
pub mod safety;
pub mod watch_order;

pub use safety::{SafetyChecker, Violation};
pub use watch_order::WatchOrder;
