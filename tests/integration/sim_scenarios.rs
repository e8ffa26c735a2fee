//! The bundled scenarios replayed through the simulator: each passes with a quick seed, and two
//! runs of the same seed give the same trace hash.

use std::path::{Path, PathBuf};

use coxswain_sim::agent::node_factory;
use coxswain_sim::outcome::{Outcome, Verdict};
use coxswain_sim::runner;
use coxswain_sim::scenario::load_scenario;
use coxswain_sim::trace::Trace;

/// The seed the tests run every scenario with.
const QUICK_SEED: u64 = 1;

fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name)
}

fn run(name: &str, seed: u64) -> Outcome {
    let scenario = load_scenario(&scenario_path(name)).unwrap_or_else(|error| panic!("{name}: {error}"));
    runner::run(&scenario, seed, node_factory(), Trace::hashed(), &mut |_, _| {}).expect("the scenario sets up")
}

/// Runs a scenario twice with the same seed: it must pass, and both traces must hash the same.
fn passes_deterministically(name: &str) {
    let first = run(name, QUICK_SEED);
    let expectations: Vec<String> =
        first.expectations.iter().map(|(text, result)| format!("{text}: {result:?}")).collect();
    assert_eq!(first.verdict, Verdict::Pass, "{name}: {}\n{}", first.verdict.describe(), expectations.join("\n"));
    let second = run(name, QUICK_SEED);
    assert_eq!(first.trace_hash, second.trace_hash, "{name}: two runs of seed {QUICK_SEED} differ");
    assert!(first.trace_lines > 0);
}

#[test]
fn rolling_update_keeps_availability() {
    passes_deterministically("rolling_update_keeps_availability.yaml");
}

#[test]
fn rollback_restores_the_previous_revision() {
    passes_deterministically("rollback_restores_the_previous_revision.yaml");
}

#[test]
fn scale_up_and_down() {
    passes_deterministically("scale_up_and_down.yaml");
}

#[test]
fn node_crash_reschedules_pods() {
    passes_deterministically("node_crash_reschedules_pods.yaml");
}

#[test]
fn partitioned_node_is_evicted_after_the_grace_period() {
    passes_deterministically("partitioned_node_is_evicted_after_the_grace_period.yaml");
}

#[test]
fn statefulset_keeps_identity_across_node_loss() {
    passes_deterministically("statefulset_keeps_identity_across_node_loss.yaml");
}

#[test]
fn daemonset_runs_on_new_nodes() {
    passes_deterministically("daemonset_runs_on_new_nodes.yaml");
}

#[test]
fn job_with_failures_retries_with_backoff() {
    passes_deterministically("job_with_failures_retries_with_backoff.yaml");
}

#[test]
fn cronjob_runs_over_a_simulated_day() {
    passes_deterministically("cronjob_runs_over_a_simulated_day.yaml");
}

#[test]
fn hpa_reacts_to_load() {
    passes_deterministically("hpa_reacts_to_load.yaml");
}

#[test]
fn taints_tolerations_and_affinity_place_pods() {
    passes_deterministically("taints_tolerations_and_affinity_place_pods.yaml");
}

#[test]
fn service_endpoints_follow_readiness() {
    passes_deterministically("service_endpoints_follow_readiness.yaml");
}

#[test]
fn blue_green_and_canary_by_labels() {
    passes_deterministically("blue_green_and_canary_by_labels.yaml");
}

#[test]
fn crashloopbackoff_delays_restarts() {
    passes_deterministically("crashloopbackoff_delays_restarts.yaml");
}

#[test]
fn drain_respects_the_pod_disruption_budget() {
    passes_deterministically("drain_respects_the_pod_disruption_budget.yaml");
}

#[test]
fn twenty_nodes_start_and_roll_out_two_hundred_pods() {
    passes_deterministically("twenty_nodes_start_and_roll_out_two_hundred_pods.yaml");
}

#[test]
fn different_seeds_give_different_traces_when_the_network_draws_differ() {
    let first = run("rolling_update_keeps_availability.yaml", 1);
    let second = run("rolling_update_keeps_availability.yaml", 2);
    assert_ne!(first.trace_hash, second.trace_hash);
}
