//! Ported from kubernetes `noderesources/least_allocated_test.go` (TestLeastAllocatedScoringStrategy).

use serde_json::json;

use crate::scheduler::plugins::node_resources_fit::Fit;
use crate::scheduler::snapshot::Snapshot;
use crate::scheduler::testing::{make_node, make_pod, node_infos, run_score};

struct Case {
    name: &'static str,
    pod: crate::scheduler::testing::PodBuilder,
    nodes: Vec<(&'static str, Vec<(&'static str, &'static str)>)>,
    existing: Vec<(&'static str, Vec<(&'static str, &'static str)>)>,
    resources: serde_json::Value,
    expected: Vec<i64>,
}

fn default_resources() -> serde_json::Value {
    json!([{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}])
}

fn two_containers() -> crate::scheduler::testing::PodBuilder {
    make_pod("p").req(&[("cpu", "1000"), ("memory", "2000")]).req(&[("cpu", "2000"), ("memory", "3000")])
}

fn cases() -> Vec<Case> {
    let small = vec![("cpu", "4000"), ("memory", "10000")];
    let big = vec![("cpu", "10000"), ("memory", "20000")];
    vec![
        Case {
            name: "nothing scheduled, nothing requested",
            pod: make_pod("p"),
            nodes: vec![("node1", small.clone()), ("node2", small.clone())],
            existing: vec![],
            resources: default_resources(),
            expected: vec![100, 100],
        },
        Case {
            name: "nothing scheduled, resources requested, differently sized nodes",
            pod: two_containers(),
            nodes: vec![("node1", small.clone()), ("node2", vec![("cpu", "6000"), ("memory", "10000")])],
            existing: vec![],
            resources: default_resources(),
            expected: vec![37, 50],
        },
        Case {
            name: "no resources requested, pods scheduled",
            pod: make_pod("p"),
            nodes: vec![("node1", small.clone()), ("node2", small.clone())],
            existing: vec![("node1", vec![]), ("node1", vec![]), ("node2", vec![]), ("node2", vec![])],
            resources: default_resources(),
            expected: vec![100, 100],
        },
        Case {
            name: "no resources requested, pods scheduled with resources",
            pod: make_pod("p"),
            nodes: vec![("node1", big.clone()), ("node2", big.clone())],
            existing: vec![
                ("node1", vec![("cpu", "3000"), ("memory", "0")]),
                ("node1", vec![("cpu", "3000"), ("memory", "0")]),
                ("node2", vec![("cpu", "3000"), ("memory", "0")]),
                ("node2", vec![("cpu", "3000"), ("memory", "5000")]),
            ],
            resources: default_resources(),
            expected: vec![70, 57],
        },
        Case {
            name: "resources requested, pods scheduled with resources",
            pod: two_containers(),
            nodes: vec![("node1", big.clone()), ("node2", big.clone())],
            existing: vec![
                ("node1", vec![("cpu", "3000"), ("memory", "0")]),
                ("node2", vec![("cpu", "3000"), ("memory", "5000")]),
            ],
            resources: default_resources(),
            expected: vec![57, 45],
        },
        Case {
            name: "resources requested, pods scheduled with resources, differently sized nodes",
            pod: two_containers(),
            nodes: vec![("node1", big.clone()), ("node2", vec![("cpu", "10000"), ("memory", "50000")])],
            existing: vec![
                ("node1", vec![("cpu", "3000"), ("memory", "0")]),
                ("node2", vec![("cpu", "3000"), ("memory", "5000")]),
            ],
            resources: default_resources(),
            expected: vec![57, 60],
        },
        Case {
            name: "requested resources exceed node capacity",
            pod: make_pod("p").req(&[("cpu", "3000"), ("memory", "0")]),
            nodes: vec![("node1", small.clone()), ("node2", small.clone())],
            existing: vec![
                ("node1", vec![("cpu", "3000"), ("memory", "0")]),
                ("node2", vec![("cpu", "3000"), ("memory", "5000")]),
            ],
            resources: default_resources(),
            expected: vec![50, 25],
        },
        Case {
            name: "zero node resources, pods scheduled with resources",
            pod: make_pod("p"),
            nodes: vec![("node1", vec![]), ("node2", vec![])],
            existing: vec![
                ("node1", vec![("cpu", "3000"), ("memory", "0")]),
                ("node2", vec![("cpu", "3000"), ("memory", "5000")]),
            ],
            resources: default_resources(),
            expected: vec![0, 0],
        },
        Case {
            name: "nothing scheduled, resources requested with different weight on CPU and memory, differently sized nodes",
            pod: two_containers(),
            nodes: vec![("node1", small.clone()), ("node2", vec![("cpu", "6000"), ("memory", "10000")])],
            existing: vec![],
            resources: json!([{"name": "memory", "weight": 2}, {"name": "cpu", "weight": 1}]),
            expected: vec![41, 50],
        },
        Case {
            name: "bypass extended resource if the pod does not request",
            pod: two_containers(),
            nodes: vec![
                ("node1", vec![("cpu", "6000"), ("memory", "10000")]),
                ("node2", vec![("cpu", "6000"), ("memory", "10000"), ("example.com/aaa", "4")]),
            ],
            existing: vec![],
            resources: json!([{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}, {"name": "example.com/aaa", "weight": 1}]),
            expected: vec![50, 50],
        },
    ]
}

#[test]
fn least_allocated_scores_match_kubernetes() {
    for case in cases() {
        let nodes: Vec<_> =
            case.nodes.iter().map(|(name, capacity)| make_node(name).capacity(capacity).obj()).collect();
        let existing: Vec<_> = case
            .existing
            .iter()
            .enumerate()
            .map(|(index, (node, requests))| {
                let pod = make_pod(&format!("existing-{index}")).node(node);
                if requests.is_empty() { pod.obj() } else { pod.req(requests).obj() }
            })
            .collect();
        let snapshot = Snapshot::from_node_infos(node_infos(&nodes, &existing));
        let args = json!({"scoringStrategy": {"type": "LeastAllocated", "resources": case.resources}});
        let plugin = Fit::new(Some(&args)).expect("valid args");
        let scores = run_score(&plugin, &case.pod.info(), &snapshot, false).expect("scores");
        assert_eq!(scores, case.expected, "{}", case.name);
    }
}

#[test]
fn scoring_weights_outside_one_to_one_hundred_are_refused() {
    for (name, resources) in [
        ("resource with negative weight", json!([{"name": "memory", "weight": -1}, {"name": "cpu", "weight": 1}])),
        ("resource with zero weight", json!([{"name": "memory", "weight": 1}, {"name": "cpu", "weight": 0}])),
        (
            "resource weight larger than MaxNodeScore",
            json!([{"name": "memory", "weight": 1}, {"name": "cpu", "weight": 101}]),
        ),
    ] {
        let args = json!({"scoringStrategy": {"type": "LeastAllocated", "resources": resources}});
        assert!(Fit::new(Some(&args)).is_err(), "{name}");
    }
}

#[test]
fn most_allocated_prefers_the_fuller_node() {
    // Worked by hand from kube-scheduler's mostRequestedScore on the inputs of the Kubernetes case
    // "nothing scheduled, resources requested, differently sized nodes": node1 cpu 3000/4000 = 75,
    // memory 5000/10000 = 50, (75+50)/2 = 62; node2 cpu 3000/6000 = 50, memory 50, so 50.
    let nodes = [
        make_node("node1").capacity(&[("cpu", "4000"), ("memory", "10000")]).obj(),
        make_node("node2").capacity(&[("cpu", "6000"), ("memory", "10000")]).obj(),
    ];
    let snapshot = Snapshot::from_node_infos(node_infos(&nodes, &[]));
    let args = json!({"scoringStrategy": {"type": "MostAllocated"}});
    let plugin = Fit::new(Some(&args)).expect("valid args");
    let scores = run_score(&plugin, &two_containers().info(), &snapshot, false).expect("scores");
    assert_eq!(scores, vec![62, 50]);
}

#[test]
fn requested_to_capacity_ratio_follows_the_shape() {
    // Worked by hand from kube-scheduler's broken-linear shape (0,10),(100,0) scaled to 0-100:
    // node1 cpu 75% -> 25, memory 50% -> 50, round((25+50)/2) = 38; node2 cpu 50% -> 50,
    // memory 50% -> 50.
    let nodes = [
        make_node("node1").capacity(&[("cpu", "4000"), ("memory", "10000")]).obj(),
        make_node("node2").capacity(&[("cpu", "6000"), ("memory", "10000")]).obj(),
    ];
    let snapshot = Snapshot::from_node_infos(node_infos(&nodes, &[]));
    let args = json!({"scoringStrategy": {
        "type": "RequestedToCapacityRatio",
        "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 10}, {"utilization": 100, "score": 0}]}
    }});
    let plugin = Fit::new(Some(&args)).expect("valid args");
    let scores = run_score(&plugin, &two_containers().info(), &snapshot, false).expect("scores");
    assert_eq!(scores, vec![38, 50]);
}
