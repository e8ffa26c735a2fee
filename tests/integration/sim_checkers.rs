//! The simulator's checkers catch broken behaviour, and `cox sim` reports it with the exit codes
//! the README documents.

use std::path::Path;

use coxswain_core::api::{ApiRequest, Method};
use coxswain_core::client::{Component, Incoming, Outgoing};
use coxswain_core::jiff::Timestamp;
use coxswain_sim::agent::node_factory;
use coxswain_sim::engine::Simulation;
use coxswain_sim::outcome::Verdict;
use coxswain_sim::scenario::load_scenario_text;
use coxswain_sim::trace::Trace;
use serde_json::json;

const SMALL: &str = "name: two small nodes\nduration: 2m\ncluster:\n  nodePools:\n  - name: pool\n    count: 2\n    capacity: {cpu: \"2\", memory: 4Gi, pods: \"10\"}\n";

/// A broken controller: it creates pods already bound to `pool-0`, one CPU each, without
/// looking at what the node has left (as a controller that bypasses the scheduler would).
#[derive(Debug, Default)]
struct OvercommittingController {
    sent: u64,
}

impl Component for OvercommittingController {
    fn step(&mut self, _input: Option<Incoming>, _now: Timestamp) -> Vec<Outgoing> {
        if self.sent >= 5 {
            return Vec::new();
        }
        self.sent += 1;
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("greedy-{}", self.sent), "namespace": "default"},
            "spec": {"nodeName": "pool-0", "containers": [{"name": "c", "image": "busy:1",
                     "resources": {"requests": {"cpu": "1"}}}]}
        });
        let request = ApiRequest::new(Method::Post, "/api/v1/namespaces/default/pods").with_json(&pod);
        vec![Outgoing { id: self.sent, request }]
    }

    fn next_wake(&self) -> Option<Timestamp> {
        None
    }
}

#[test]
fn a_controller_that_overcommits_a_node_is_caught_by_the_safety_checker() {
    let scenario = load_scenario_text("small.yaml", SMALL, Path::new(".")).expect("valid");
    let mut simulation = Simulation::new(scenario, 1, node_factory(), Trace::hashed()).expect("sets up");
    simulation.add_component("greedy-controller", Box::<OvercommittingController>::default());
    let outcome = simulation.run(&mut |_, _| {});
    let Verdict::Safety(violation) = &outcome.verdict else {
        panic!("expected a violation, got {:?}", outcome.verdict)
    };
    assert_eq!(violation.rule, "no node over allocatable");
    assert!(violation.message.contains("node pool-0 holds more cpu"), "{}", violation.message);
    assert!(violation.objects.contains(&"node/pool-0".to_string()));
    assert_eq!(outcome.verdict.exit_code(), 3);
}

#[test]
fn the_same_cluster_without_the_broken_controller_passes() {
    let scenario = load_scenario_text("small.yaml", SMALL, Path::new(".")).expect("valid");
    let outcome = Simulation::new(scenario, 1, node_factory(), Trace::hashed()).expect("sets up").run(&mut |_, _| {});
    assert_eq!(outcome.verdict, Verdict::Pass);
}

#[test]
fn an_unmet_expectation_is_a_liveness_failure() {
    let text = format!("{SMALL}expect:\n- nodes() ready == 3\n");
    let scenario = load_scenario_text("small.yaml", &text, Path::new(".")).expect("valid");
    let outcome = Simulation::new(scenario, 1, node_factory(), Trace::hashed()).expect("sets up").run(&mut |_, _| {});
    assert_eq!(outcome.verdict.exit_code(), 4, "{:?}", outcome.verdict);
    assert!(outcome.verdict.describe().contains("nodes() ready == 3 (measured 2)"), "{}", outcome.verdict.describe());
}

fn cox(arguments: &[&str]) -> (u8, String) {
    let mut output = Vec::new();
    let status = coxswain_real::cli::run_from(["cox"].iter().chain(arguments), &mut output);
    (status, String::from_utf8(output).expect("utf-8"))
}

#[test]
fn cox_sim_run_ends_with_the_trace_hash_and_a_bad_scenario_names_its_line() {
    let directory = std::env::temp_dir().join(format!("cox-sim-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("a temporary folder");
    let good = directory.join("good.yaml");
    std::fs::write(&good, SMALL).expect("written");
    let (status, output) = cox(&["sim", "run", good.to_str().expect("utf-8 path"), "--seed", "3"]);
    assert_eq!(status, 0, "{output}");
    let last = output.lines().last().unwrap_or_default();
    assert!(last.starts_with("trace-hash: ") && last.len() == "trace-hash: ".len() + 64, "{output}");
    let (_, again) = cox(&["sim", "run", good.to_str().expect("utf-8 path"), "--seed", "3"]);
    assert_eq!(again.lines().last(), Some(last));

    let bad = directory.join("bad.yaml");
    std::fs::write(&bad, format!("{SMALL}timeline:\n- at: soon\n  cordon: pool-0\n")).expect("written");
    let (status, output) = cox(&["sim", "run", bad.to_str().expect("utf-8 path")]);
    assert_eq!(status, 2, "{output}");
    assert!(output.contains("bad.yaml:9:") && output.contains("timeline[0].at"), "{output}");

    let (status, output) = cox(&["sim", "swarm", good.to_str().expect("utf-8 path"), "--seeds", "4", "--jobs", "2"]);
    assert_eq!((status, output.lines().last()), (0, Some("4 passed, 0 failed")), "{output}");
    let _ = std::fs::remove_dir_all(&directory);
}
