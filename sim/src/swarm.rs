//! Swarm testing: one scenario under many seeds, on several threads, each failure reported with
//! the one command that reproduces it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::outcome::Verdict;
use crate::runner::{NodeFactoryMaker, run};
use crate::scenario::Scenario;
use crate::trace::Trace;

/// One seed's result.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// How the run ended (a setup error is a crash).
    pub verdict: Verdict,
}

/// Runs seeds `first..first + count` of `scenario` on `jobs` threads; results come back in seed
/// order, whatever order the threads finished in. `on_result` hears each result as it comes.
pub fn swarm(
    scenario: &Scenario,
    first: u64,
    count: u64,
    jobs: usize,
    factory: &NodeFactoryMaker,
    on_result: &(dyn Fn(&SeedResult) + Sync),
) -> Vec<SeedResult> {
    let next = AtomicU64::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= count {
                        break;
                    }
                    let seed = first.wrapping_add(index);
                    let verdict = match run(scenario, seed, factory(), Trace::hashed(), &mut |_, _| {}) {
                        Ok(outcome) => outcome.verdict,
                        Err(error) => Verdict::Crash(error.to_string()),
                    };
                    let result = SeedResult { seed, verdict };
                    on_result(&result);
                    results.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(result);
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    results.sort_by_key(|result| result.seed);
    results
}
