//! The fast paths of the in-tree plugins give what the straightforward per-node computation
//! gives, on random clusters drawn from seeds: batch scoring (`score_nodes`) against `score`
//! node by node, batch filtering (`filter_nodes`) against `filter` node by node, and the Fit
//! filter's allocation-free reasons against `insufficient_resources`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::scheduler::framework::{CycleState, NodeBatch};
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::node_tree::{LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE};
use crate::scheduler::plugins::{
    image_locality, inter_pod_affinity, node_affinity, node_resources_balanced_allocation, node_resources_fit,
    pod_topology_spread, taint_toleration,
};
use crate::scheduler::registry::Registry;
use crate::scheduler::snapshot::Snapshot;
use crate::scheduler::testing::{affinity_term, label_selector, make_node, make_pod, snapshot_of, taint, toleration};

/// The default Score plugins whose batch path is checked.
const SCORE_PLUGINS: [&str; 7] = [
    taint_toleration::NAME,
    node_affinity::NAME,
    node_resources_fit::NAME,
    pod_topology_spread::NAME,
    inter_pod_affinity::NAME,
    node_resources_balanced_allocation::NAME,
    image_locality::NAME,
];

const IMAGE: &str = "registry.example/app:1";

/// An extended resource some nodes offer and some Pods request.
const GPU: &str = "example.com/gpu";

fn pick<'a>(rng: &mut ChaCha8Rng, values: &[&'a str]) -> &'a str {
    values[rng.random_range(0..values.len())]
}

/// A node with random zone (sometimes none), disk label, taints, cordon, capacity (sometimes
/// with ephemeral storage and an extended resource) and image.
fn random_node(index: usize, rng: &mut ChaCha8Rng) -> core::Node {
    let name = format!("node-{index}");
    let mut capacity = vec![
        ("cpu", pick(rng, &["2", "4", "8"])),
        ("memory", pick(rng, &["4Gi", "8Gi", "16Gi"])),
        ("pods", pick(rng, &["3", "110"])),
    ];
    if rng.random_range(0..3) == 0 {
        capacity.push(("ephemeral-storage", pick(rng, &["1Gi", "20Gi"])));
    }
    if rng.random_range(0..4) == 0 {
        capacity.push((GPU, pick(rng, &["1", "4"])));
    }
    let mut node = make_node(&name).label(LABEL_HOSTNAME, &name).capacity(&capacity);
    if rng.random_range(0..6) == 0 {
        node = node.unschedulable();
    }
    if rng.random_range(0..8) != 0 {
        node = node.label(LABEL_TOPOLOGY_ZONE, pick(rng, &["zone-a", "zone-b", "zone-c"]));
    }
    if rng.random_range(0..2) == 0 {
        node = node.label("disk", pick(rng, &["ssd", "hdd"]));
    }
    match rng.random_range(0..5) {
        0 => node = node.taints(vec![taint("soft", "x", "PreferNoSchedule")]),
        1 => node = node.taints(vec![taint("soft", "y", "PreferNoSchedule"), taint("other", "", "PreferNoSchedule")]),
        2 => node = node.taints(vec![taint("hard", "z", "NoSchedule")]),
        3 => node = node.taints(vec![taint("soft", "x", "PreferNoSchedule"), taint("evict", "", "NoExecute")]),
        _ => {}
    }
    if rng.random_range(0..3) == 0 {
        node = node.image(&[IMAGE], rng.random_range(10..900) * 1024 * 1024);
    }
    node.obj()
}

/// A Pod of a random app with random requests and, drawn independently, the constraints the
/// Score plugins read.
fn random_pod(name: &str, node: Option<&str>, rng: &mut ChaCha8Rng) -> core::Pod {
    let app = pick(rng, &["a", "b", "c", "d"]);
    let image = if rng.random_range(0..5) == 0 { "registry.example/nowhere:2" } else { IMAGE };
    let mut pod = make_pod(name).label("app", app).container_image(image);
    if rng.random_range(0..4) != 0 {
        let mut requests = vec![("cpu", pick(rng, &["100m", "500m", "1"])), ("memory", pick(rng, &["128Mi", "1Gi"]))];
        if rng.random_range(0..4) == 0 {
            requests.push(("ephemeral-storage", pick(rng, &["512Mi", "5Gi"])));
        }
        if rng.random_range(0..5) == 0 {
            requests.push((GPU, pick(rng, &["1", "2"])));
        }
        pod = pod.req(&requests);
    }
    if let Some(node) = node {
        pod = pod.node(node);
    }
    if rng.random_range(0..3) == 0 {
        let term =
            affinity_term("app", "In", &[pick(rng, &["a", "b"])], pick(rng, &[LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE]));
        pod = pod.preferred_term(rng.random_range(0..2) == 0, rng.random_range(1..100), term);
    }
    if rng.random_range(0..3) == 0 {
        let selector = Some(label_selector(&[("app", app)], &[]));
        let key = pick(rng, &[LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE]);
        pod = pod.spread_constraint(1, key, "ScheduleAnyway", selector, None, None, None, None);
    }
    if rng.random_range(0..4) == 0 {
        let selector = Some(label_selector(&[("app", app)], &[]));
        pod = pod.spread_constraint(1, LABEL_TOPOLOGY_ZONE, "DoNotSchedule", selector, None, None, None, None);
    }
    if rng.random_range(0..4) == 0 {
        let term = affinity_term("app", "In", &[app], pick(rng, &[LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE]));
        pod = pod.required_term(rng.random_range(0..3) != 0, term);
    }
    if rng.random_range(0..4) == 0 {
        pod = pod.node_selector(&[("disk", "ssd")]);
    }
    match rng.random_range(0..6) {
        0 | 1 => pod = pod.tolerations(vec![toleration("soft", "Equal", "x", "PreferNoSchedule")]),
        2 => pod = pod.tolerations(vec![toleration("node.kubernetes.io/unschedulable", "Exists", "", "NoSchedule")]),
        3 => pod = pod.tolerations(vec![toleration("hard", "Equal", "z", "NoSchedule")]),
        _ => {}
    }
    if rng.random_range(0..3) == 0 {
        let preference = core::NodeSelectorTerm {
            match_expressions: Some(vec![core::NodeSelectorRequirement {
                key: "disk".to_owned(),
                operator: "In".to_owned(),
                values: Some(vec!["ssd".to_owned()]),
            }]),
            match_fields: None,
        };
        let affinity = core::Affinity {
            node_affinity: Some(core::NodeAffinity {
                preferred_during_scheduling_ignored_during_execution: Some(vec![core::PreferredSchedulingTerm {
                    weight: rng.random_range(1..100),
                    preference,
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut obj = pod.obj();
        let spec = obj.spec.get_or_insert_with(Default::default);
        let mut merged = spec.affinity.clone().unwrap_or_default();
        merged.node_affinity = affinity.node_affinity;
        spec.affinity = Some(merged);
        return obj;
    }
    pod.obj()
}

/// A random cluster: nodes, placed Pods, and incoming Pods.
fn random_cluster(seed: u64) -> (Snapshot, Vec<PodInfo>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let node_count = rng.random_range(5..40);
    let nodes: Vec<core::Node> = (0..node_count).map(|index| random_node(index, &mut rng)).collect();
    let placed: Vec<core::Pod> = (0..rng.random_range(0..120))
        .map(|index| {
            let node = format!("node-{}", rng.random_range(0..node_count));
            random_pod(&format!("placed-{index}"), Some(&node), &mut rng)
        })
        .collect();
    let incoming = (0..12)
        .map(|index| PodInfo::new(std::sync::Arc::new(random_pod(&format!("incoming-{index}"), None, &mut rng))));
    (snapshot_of(&nodes, &placed), incoming.collect())
}

#[test]
fn batch_scores_equal_per_node_scores_for_every_default_score_plugin_on_random_clusters() {
    let registry = Registry::in_tree();
    let mut compared: BTreeMap<&str, usize> = BTreeMap::new();
    for seed in 0..40 {
        let (snapshot, incoming) = random_cluster(seed);
        // Every third node left out (as if filtered), the rest in reverse, so that a batch's
        // i-th node is not the snapshot's i-th.
        let positions: Vec<usize> = (0..snapshot.len()).rev().filter(|position| position % 3 != 2).collect();
        let nodes: Vec<&NodeInfo> = positions.iter().map(|position| snapshot.list()[*position].as_ref()).collect();
        for pod in &incoming {
            for name in SCORE_PLUGINS {
                let plugin = registry.build(name, None).expect("in-tree plugin");
                let batch_of_nodes = NodeBatch::new(&nodes, &positions, snapshot.counters());
                // PreScore node by node (the walk) and over the batch (by snapshot position).
                let (mut state, mut batch_state) = (CycleState::new(), CycleState::new());
                if let Some(pre_score) = plugin.as_pre_score() {
                    let status = pre_score.pre_score(&mut state, pod, &nodes, &snapshot);
                    let batch_status = pre_score.pre_score_batch(&mut batch_state, pod, &batch_of_nodes, &snapshot);
                    assert_eq!(batch_status, status, "{name} PreScore over the batch");
                    if status.is_skip() {
                        continue;
                    }
                    assert!(status.is_success(), "{name} PreScore: {status}");
                }
                let scorer = plugin.as_score().expect("a score plugin");
                let per_node: Vec<i64> =
                    nodes.iter().map(|node| scorer.score(&state, pod, node).expect("scores")).collect();
                let mut batch = Vec::new();
                scorer.score_nodes(&batch_state, pod, &batch_of_nodes, &mut batch).expect("scores");
                assert_eq!(batch, per_node, "{name}, seed {seed}, pod {}", pod.name());
                *compared.entry(name).or_default() += 1;
            }
        }
    }
    for name in SCORE_PLUGINS {
        assert!(compared.get(name).copied().unwrap_or(0) >= 20, "{name} was compared only {compared:?}");
    }
}

#[test]
fn the_fit_filter_rejects_with_exactly_the_insufficient_resources_on_random_clusters() {
    use crate::scheduler::framework::{Code, FilterPlugin};
    use crate::scheduler::plugins::node_resources_fit::Fit;
    let fit = Fit::new(None).expect("default arguments");
    let (mut passed, mut rejected_twice) = (0, 0);
    for seed in 0..40 {
        let (snapshot, incoming) = random_cluster(seed);
        for pod in &incoming {
            for node in snapshot.list() {
                let insufficient = fit.insufficient_resources(&pod.requests.requests, node);
                let status = fit.filter(&CycleState::new(), pod, node);
                if insufficient.is_empty() {
                    assert!(status.is_success(), "{status}");
                    passed += 1;
                    continue;
                }
                assert_eq!(status.code(), Code::Unschedulable);
                let reasons: Vec<&str> = insufficient.iter().map(|resource| resource.reason.as_ref()).collect();
                assert_eq!(status.reasons().iter().map(AsRef::as_ref).collect::<Vec<&str>>(), reasons);
                rejected_twice += usize::from(reasons.len() > 1);
            }
        }
    }
    assert!(passed > 100 && rejected_twice > 0, "{passed} passed, {rejected_twice} with several reasons");
}

/// The default Filter plugins (the volume plugins skip Pods without volumes).
const FILTER_PLUGINS: [&str; 8] = [
    crate::scheduler::plugins::node_unschedulable::NAME,
    crate::scheduler::plugins::node_name::NAME,
    taint_toleration::NAME,
    node_affinity::NAME,
    crate::scheduler::plugins::node_ports::NAME,
    node_resources_fit::NAME,
    pod_topology_spread::NAME,
    inter_pod_affinity::NAME,
];

#[test]
fn batch_filter_verdicts_equal_per_node_filters_for_every_default_filter_plugin_on_random_clusters() {
    let registry = Registry::in_tree();
    let mut rejected: BTreeMap<&str, usize> = BTreeMap::new();
    for seed in 0..40 {
        let (snapshot, incoming) = random_cluster(seed);
        // In reverse, so that a batch's i-th node is not the snapshot's i-th.
        let positions: Vec<usize> = (0..snapshot.len()).rev().collect();
        let nodes: Vec<&NodeInfo> = positions.iter().map(|position| snapshot.list()[*position].as_ref()).collect();
        for pod in &incoming {
            for name in FILTER_PLUGINS {
                let plugin = registry.build(name, None).expect("in-tree plugin");
                let mut state = CycleState::new();
                if let Some(pre_filter) = plugin.as_pre_filter() {
                    let (_, status) = pre_filter.pre_filter(&mut state, pod, &snapshot);
                    if !status.is_success() {
                        continue;
                    }
                }
                let filter = plugin.as_filter().expect("a filter plugin");
                let per_node: Vec<Option<_>> = nodes
                    .iter()
                    .map(|node| Some(filter.filter(&state, pod, node)).filter(|status| !status.is_success()))
                    .collect();
                // Some verdicts start decided, as when an earlier plugin rejected the node.
                let decided = crate::scheduler::framework::Status::new(
                    crate::scheduler::framework::Code::Unschedulable,
                    "rejected earlier",
                );
                let mut batch: Vec<Option<_>> =
                    (0..nodes.len()).map(|index| (index % 5 == 4).then(|| decided.clone())).collect();
                filter.filter_nodes(&state, pod, &NodeBatch::new(&nodes, &positions, snapshot.counters()), &mut batch);
                for (index, (batch, per_node)) in batch.iter().zip(&per_node).enumerate() {
                    let expected = if index % 5 == 4 { Some(&decided) } else { per_node.as_ref() };
                    assert_eq!(batch.as_ref(), expected, "{name}, seed {seed}, pod {}, node {index}", pod.name());
                }
                *rejected.entry(name).or_default() += per_node.iter().filter(|verdict| verdict.is_some()).count();
            }
        }
    }
    for name in [
        crate::scheduler::plugins::node_unschedulable::NAME,
        taint_toleration::NAME,
        node_affinity::NAME,
        node_resources_fit::NAME,
        pod_topology_spread::NAME,
        inter_pod_affinity::NAME,
    ] {
        assert!(rejected.get(name).copied().unwrap_or(0) >= 10, "{name} rejected too few nodes: {rejected:?}");
    }
}
