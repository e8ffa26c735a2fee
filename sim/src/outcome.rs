//! What a run ends with: the verdict (and the exit code a command line gives it), the trace
//! hash, counters, each expectation's result and the report's data.

use crate::checkers::Violation;
use crate::report::Report;
use crate::scenario::expectation::Measured;

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Every invariant and expectation held.
    Pass,
    /// A safety invariant broke (the run stopped there).
    Safety(Violation),
    /// The cluster did not reach what was expected, or did not converge after healing.
    Liveness(String),
    /// A component panicked or livelocked.
    Crash(String),
}

impl Verdict {
    /// The process exit code `cox sim run` gives: 0 pass, 3 safety violation, 4 liveness failure,
    /// 5 crash (2 is a command-line or scenario error).
    pub fn exit_code(&self) -> u8 {
        match self {
            Verdict::Pass => 0,
            Verdict::Safety(_) => 3,
            Verdict::Liveness(_) => 4,
            Verdict::Crash(_) => 5,
        }
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Verdict::Pass => "PASS".to_string(),
            Verdict::Safety(violation) => format!(
                "SAFETY VIOLATION at {}: {}: {}",
                crate::duration::format_offset(violation.at),
                violation.rule,
                violation.message
            ),
            Verdict::Liveness(message) => format!("LIVENESS FAILURE: {message}"),
            Verdict::Crash(message) => format!("CRASH: {message}"),
        }
    }
}

/// One expectation's result.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectationResult {
    /// Whether it held.
    pub holds: bool,
    /// What was measured when it was decided.
    pub measured: Measured,
    /// When it was decided.
    pub at: u64,
}

/// Counters of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Events handled.
    pub events: u64,
    /// Component steps.
    pub steps: u64,
    /// Requests the API server handled.
    pub requests: u64,
    /// Requests and answers the network lost.
    pub lost_messages: u64,
    /// Faults injected.
    pub faults: u64,
}

/// Everything a run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The scenario's name.
    pub scenario: String,
    /// Its file.
    pub file: String,
    /// The seed.
    pub seed: u64,
    /// How it ended.
    pub verdict: Verdict,
    /// SHA-256 of the trace, or why the trace could not be written.
    pub trace_hash: Result<String, String>,
    /// Lines in the trace.
    pub trace_lines: u64,
    /// Simulated time covered.
    pub simulated_millis: u64,
    /// Counters.
    pub stats: RunStats,
    /// Each expectation as written, with its result.
    pub expectations: Vec<(String, Option<ExpectationResult>)>,
    /// How long convergence took after healing, if there was a liveness phase and it converged.
    pub converged_after_millis: Option<u64>,
    /// The report's data.
    pub report: Report,
}
