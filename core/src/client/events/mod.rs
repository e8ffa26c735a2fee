//! Recording events as client-go's recorder does: correlation (aggregation, counting, spam
//! filtering) and names that never collide. Components turn a [`Correlated`] result into the
//! POST or PATCH they send.

pub mod correlator;
pub mod lru;
pub mod names;

pub use correlator::{Correlated, EventCorrelator};
pub use names::EventNamer;
