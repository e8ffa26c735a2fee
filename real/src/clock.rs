//! Where the shells read the time. Core code takes `now` as an argument (DESIGN.md principle 2);
//! the shells get it from a [`Clock`], so that a turmoil test, whose tokio time is simulated,
//! hands the core the same simulated time its sockets and timers run on.

use std::sync::Arc;

use coxswain_core::jiff::{SignedDuration, Timestamp};

/// A source of the current time for the core.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The shared handle every task holds.
pub type SharedClock = Arc<dyn Clock>;

/// The machine's wall clock: production.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Time as tokio's timer sees it, counted from a fixed start: under turmoil or a paused tokio
/// clock it advances with the simulation, not with the machine.
#[derive(Clone, Copy, Debug)]
pub struct TokioClock {
    start: Timestamp,
    started_at: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that reads `start` now and advances with tokio's time.
    pub fn starting_at(start: Timestamp) -> TokioClock {
        TokioClock { start, started_at: tokio::time::Instant::now() }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.started_at);
        let elapsed = SignedDuration::try_from(elapsed).unwrap_or(SignedDuration::MAX);
        self.start.saturating_add(elapsed).unwrap_or(Timestamp::MAX)
    }
}
