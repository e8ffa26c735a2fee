//! Runs a scenario once: sets the simulation up, runs it with panics caught (a panicking
//! component is a crash verdict, not a crashed tool), and returns the outcome.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::engine::{NodeFactory, SetupError, Simulation};
use crate::outcome::{Outcome, RunStats, Verdict};
use crate::report::Report;
use crate::scenario::Scenario;
use crate::trace::Trace;

/// Makes the node agents of a run (one factory per run, so runs on several threads do not
/// share one).
pub type NodeFactoryMaker = dyn Fn() -> NodeFactory + Sync;

/// Runs `scenario` with `seed`; `progress` hears the simulated time now and at the end.
pub fn run(
    scenario: &Scenario,
    seed: u64,
    node_factory: NodeFactory,
    trace: Trace,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Outcome, SetupError> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let simulation = Simulation::new(scenario.clone(), seed, node_factory, trace)?;
        Ok(simulation.run(progress))
    }));
    match result {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_string()))
                .unwrap_or_else(|| "a component panicked".to_string());
            Ok(crashed(scenario, seed, message))
        }
    }
}

fn crashed(scenario: &Scenario, seed: u64, message: String) -> Outcome {
    let verdict = Verdict::Crash(format!("panic: {message}"));
    Outcome {
        scenario: scenario.name.clone(),
        file: scenario.file.clone(),
        seed,
        report: Report { scenario: scenario.name.clone(), seed, verdict: verdict.describe(), ..Report::default() },
        verdict,
        trace_hash: Err("the run crashed before its trace was complete".into()),
        trace_lines: 0,
        simulated_millis: 0,
        stats: RunStats::default(),
        expectations: Vec::new(),
        converged_after_millis: None,
    }
}
