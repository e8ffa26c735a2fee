//! Shrinking a failing scenario: timeline entries, random fault rates, node counts and duration
//! are cut down greedily, keeping each cut that still fails the same way with the same seed, so
//! what remains is a small scenario that shows the failure.

use std::path::Path;

use coxswain_core::manifest::parse_document;
use serde_json::Value;

use crate::outcome::Verdict;
use crate::runner::{NodeFactoryMaker, run};
use crate::scenario::{Scenario, ScenarioError, load_scenario_text};
use crate::trace::Trace;

/// Most runs one shrink makes.
pub const MAX_SHRINK_RUNS: usize = 200;

/// The result of a shrink.
#[derive(Debug)]
pub struct Shrunk {
    /// The smallest failing scenario found, as YAML.
    pub yaml: String,
    /// How it fails.
    pub verdict: Verdict,
    /// Runs made.
    pub runs: usize,
    /// Timeline entries before and after.
    pub timeline: (usize, usize),
    /// Nodes before and after.
    pub nodes: (u64, u64),
}

/// Why a shrink could not start.
#[derive(Debug, thiserror::Error)]
pub enum ShrinkError {
    /// The scenario could not be read.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The scenario passes with this seed: nothing to shrink.
    #[error("the scenario passes with seed {0}: there is no failure to shrink")]
    Passes(u64),
}

/// Shrinks the scenario in `text` (read from `file`, relative paths from `base`) that fails with
/// `seed`.
pub fn shrink(
    file: &str,
    text: &str,
    base: &Path,
    seed: u64,
    factory: &NodeFactoryMaker,
) -> Result<Shrunk, ShrinkError> {
    let scenario = load_scenario_text(file, text, base)?;
    let mut runs = 0;
    let mut outcome_of = |scenario: &Scenario| {
        runs += 1;
        run(scenario, seed, factory(), Trace::hashed(), &mut |_, _| {})
            .map(|outcome| outcome.verdict)
            .unwrap_or_else(|error| Verdict::Crash(error.to_string()))
    };
    let verdict = outcome_of(&scenario);
    if verdict == Verdict::Pass {
        return Err(ShrinkError::Passes(seed));
    }
    let Ok(mut current) = parse_document(text) else { return Err(ShrinkError::Passes(seed)) };
    let before = (timeline_len(&current), node_count(&current));
    let mut last_verdict = verdict.clone();
    let mut still_fails = |candidate: &Value, runs_left: bool| -> Option<Verdict> {
        if !runs_left {
            return None;
        }
        let text = serde_json::to_string(candidate).ok()?;
        let scenario = load_scenario_text(file, &text, base).ok()?;
        let candidate_verdict = outcome_of(&scenario);
        (candidate_verdict.exit_code() == verdict.exit_code()).then_some(candidate_verdict)
    };
    let mut progress = true;
    let mut attempts = 0;
    while progress && attempts < MAX_SHRINK_RUNS {
        progress = false;
        for candidate in candidates(&current) {
            attempts += 1;
            if let Some(found) = still_fails(&candidate, attempts < MAX_SHRINK_RUNS) {
                current = candidate;
                last_verdict = found;
                progress = true;
                break;
            }
        }
    }
    let yaml = serde_saphyr::to_string(&current).unwrap_or_else(|_| current.to_string());
    Ok(Shrunk {
        yaml,
        verdict: last_verdict,
        runs: attempts + 1,
        timeline: (before.0, timeline_len(&current)),
        nodes: (before.1, node_count(&current)),
    })
}

fn timeline_len(scenario: &Value) -> usize {
    scenario.get("timeline").and_then(Value::as_array).map_or(0, Vec::len)
}

fn node_count(scenario: &Value) -> u64 {
    scenario
        .pointer("/cluster/nodePools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|pool| pool.get("count").and_then(Value::as_u64))
        .sum()
}

/// Smaller scenarios to try, biggest cuts first.
fn candidates(scenario: &Value) -> Vec<Value> {
    let mut candidates = Vec::new();
    let timeline = timeline_len(scenario);
    let mut chunk = timeline.div_ceil(2);
    while chunk >= 1 && timeline > 0 {
        for start in (0..timeline).step_by(chunk) {
            let mut candidate = scenario.clone();
            if let Some(entries) = candidate.get_mut("timeline").and_then(Value::as_array_mut) {
                entries.drain(start..(start + chunk).min(timeline));
            }
            candidates.push(candidate);
        }
        if chunk == 1 {
            break;
        }
        chunk /= 2;
    }
    if let Some(faults) = scenario.get("faults").and_then(Value::as_object) {
        for (key, value) in faults {
            if key.ends_with("PerHour") && value.as_f64().is_some_and(|rate| rate > 0.0) {
                let mut candidate = scenario.clone();
                candidate["faults"][key] = Value::from(0.0);
                candidates.push(candidate);
            }
        }
    }
    let pools = scenario.pointer("/cluster/nodePools").and_then(Value::as_array).map_or(0, Vec::len);
    for pool in 0..pools {
        let count = scenario.pointer(&format!("/cluster/nodePools/{pool}/count")).and_then(Value::as_u64).unwrap_or(1);
        if count > 1 {
            let mut candidate = scenario.clone();
            candidate["cluster"]["nodePools"][pool]["count"] = Value::from(count.div_ceil(2));
            candidates.push(candidate);
        }
    }
    candidates
}
