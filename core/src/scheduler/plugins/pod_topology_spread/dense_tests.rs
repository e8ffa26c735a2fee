//! The fast path (well-known topology labels read from the snapshot's dense arrays, Pods from
//! its label index) gives the same PreFilter counts and the same scores as the walk over every
//! node: the same random clusters are scheduled against a well-known label and against a custom
//! label carrying the same values, which only the walk reads, with a selector the index cannot
//! narrow.

use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::domain_counts::DomainCounts;
use super::filtering::pre_filter_state;
use super::{DO_NOT_SCHEDULE, PodTopologySpread, SCHEDULE_ANYWAY};
use crate::scheduler::framework::{
    CycleState, FilterPlugin, NodeBatch, PreFilterPlugin, PreScorePlugin, ScorePlugin, Status,
};
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::node_tree::{LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE};
use crate::scheduler::snapshot::Snapshot;
use crate::scheduler::testing::{label_selector, make_node, make_pod, run_score, snapshot_of};

const CUSTOM_HOSTNAME: &str = "example.com/host";
const CUSTOM_ZONE: &str = "example.com/zone";
const APPS: [&str; 3] = ["a", "b", "c"];

fn cluster(rng: &mut ChaCha8Rng) -> (Vec<core::Node>, Vec<core::Pod>) {
    let nodes: Vec<core::Node> = (0..24)
        .map(|index| {
            let name = format!("node-{index}");
            let mut node = make_node(&name).label(LABEL_HOSTNAME, &name).label(CUSTOM_HOSTNAME, &name);
            if rng.random_range(0..6) > 0 {
                let zone = format!("zone-{}", rng.random_range(0..4));
                node = node.label(LABEL_TOPOLOGY_ZONE, &zone).label(CUSTOM_ZONE, &zone);
            }
            node.obj()
        })
        .collect();
    let pods = (0..60)
        .map(|index| {
            let node = format!("node-{}", rng.random_range(0..nodes.len()));
            let namespace = if rng.random_range(0..5) == 0 { "other" } else { "default" };
            make_pod(&format!("pod-{index}"))
                .namespace(namespace)
                .node(&node)
                .label("app", APPS[rng.random_range(0..APPS.len())])
                .obj()
        })
        .collect();
    (nodes, pods)
}

/// The incoming Pod; with the custom labels its selector is `app notin (others)`, which pins no
/// value, so the Pods are walked too instead of read from the label index (every Pod has an app).
fn incoming(app: &str, action: &str, hostname_key: &str, zone_key: &str) -> PodInfo {
    let others: Vec<&str> = APPS.into_iter().filter(|other| *other != app).collect();
    let selector = || {
        Some(if hostname_key == CUSTOM_HOSTNAME {
            label_selector(&[], &[("app", "NotIn", &others)])
        } else {
            label_selector(&[("app", app)], &[])
        })
    };
    let pod = make_pod("incoming")
        .namespace("default")
        .label("app", app)
        .spread_constraint(1, zone_key, action, selector(), None, None, None, None)
        .spread_constraint(2, hostname_key, action, selector(), None, None, None, None);
    PodInfo::new(Arc::new(pod.obj()))
}

#[test]
fn dense_domains_and_the_label_index_agree_with_the_walk_over_every_node() {
    let plugin = PodTopologySpread::default();
    for seed in 0..40 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (nodes, pods) = cluster(&mut rng);
        let snapshot = snapshot_of(&nodes, &pods);
        let app = APPS[rng.random_range(0..APPS.len())];

        let mut counts = Vec::new();
        for (hostname_key, zone_key) in [(LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE), (CUSTOM_HOSTNAME, CUSTOM_ZONE)] {
            let pod = incoming(app, DO_NOT_SCHEDULE, hostname_key, zone_key);
            let mut state = CycleState::new();
            let (_, status) = plugin.pre_filter(&mut state, &pod, &snapshot);
            assert!(status.is_success(), "seed {seed}: {status}");
            let state = pre_filter_state(&state).expect("state");
            counts.push(state.match_counts.iter().map(DomainCounts::to_map).collect::<Vec<_>>());
        }
        assert_eq!(counts[0], counts[1], "seed {seed}: PreFilter counts");
        assert!(counts[0][0].values().sum::<i64>() > 0 || pods.is_empty(), "seed {seed}: something was counted");

        let scores: Vec<_> = [(LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE), (CUSTOM_HOSTNAME, CUSTOM_ZONE)]
            .into_iter()
            .map(|(hostname_key, zone_key)| {
                let pod = incoming(app, SCHEDULE_ANYWAY, hostname_key, zone_key);
                run_score(&plugin, &pod, &snapshot, true).expect("scores")
            })
            .collect();
        assert_eq!(scores[0], scores[1], "seed {seed}: scores");
    }
}

/// The Filter verdict on every node: through the batch (by snapshot position) and node by node.
fn verdicts(plugin: &PodTopologySpread, pod: &PodInfo, snapshot: &Snapshot) -> (Vec<Status>, Vec<Status>) {
    let mut state = CycleState::new();
    let (_, status) = plugin.pre_filter(&mut state, pod, snapshot);
    assert!(status.is_success(), "{status}");
    let nodes: Vec<&NodeInfo> = snapshot.list().iter().map(|node| node.as_ref()).collect();
    let positions: Vec<usize> = (0..nodes.len()).collect();
    let mut batch = vec![None; nodes.len()];
    plugin.filter_nodes(&state, pod, &NodeBatch::new(&nodes, &positions, snapshot.counters()), &mut batch);
    let batch = batch.into_iter().map(|verdict| verdict.unwrap_or_else(Status::success)).collect();
    let per_node = nodes.iter().map(|node| plugin.filter(&state, pod, node)).collect();
    (batch, per_node)
}

/// The normalized scores of the candidates (two nodes in three): PreScore and Score through the
/// batch (by snapshot position), and Score node by node on the same state.
fn candidate_scores(plugin: &PodTopologySpread, pod: &PodInfo, snapshot: &Snapshot) -> (Vec<i64>, Vec<i64>) {
    let positions: Vec<usize> = (0..snapshot.len()).filter(|position| position % 3 != 1).collect();
    let nodes: Vec<&NodeInfo> = positions.iter().map(|position| snapshot.list()[*position].as_ref()).collect();
    let batch = NodeBatch::new(&nodes, &positions, snapshot.counters());
    let mut state = CycleState::new();
    let status = plugin.pre_score_batch(&mut state, pod, &batch, snapshot);
    assert!(status.is_success(), "{status}");
    let mut by_position = Vec::new();
    plugin.score_nodes(&state, pod, &batch, &mut by_position).expect("scores");
    let mut by_node: Vec<i64> = nodes.iter().map(|node| plugin.score(&state, pod, node).expect("score")).collect();
    for scores in [&mut by_position, &mut by_node] {
        assert!(plugin.normalize_score(&state, pod, scores).is_success());
    }
    (by_position, by_node)
}

#[test]
fn filter_and_score_by_snapshot_position_agree_with_the_walk_over_every_node() {
    let plugin = PodTopologySpread::default();
    let (mut rejected, mut ignored) = (0, 0);
    for seed in 0..40 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (nodes, pods) = cluster(&mut rng);
        let snapshot = snapshot_of(&nodes, &pods);
        let app = APPS[rng.random_range(0..APPS.len())];
        let keys = [(LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE), (CUSTOM_HOSTNAME, CUSTOM_ZONE)];

        let [(dense_batch, dense_per_node), (walk_batch, walk_per_node)] = keys.map(|(hostname_key, zone_key)| {
            verdicts(&plugin, &incoming(app, DO_NOT_SCHEDULE, hostname_key, zone_key), &snapshot)
        });
        assert_eq!(dense_batch, walk_per_node, "seed {seed}: Filter by position");
        assert_eq!(dense_per_node, walk_per_node, "seed {seed}: Filter by labels on the dense state");
        assert_eq!(walk_batch, walk_per_node, "seed {seed}: Filter of the walk");
        rejected += walk_per_node.iter().filter(|status| !status.is_success()).count();

        let [(dense_batch, dense_per_node), (walk_batch, walk_per_node)] = keys.map(|(hostname_key, zone_key)| {
            candidate_scores(&plugin, &incoming(app, SCHEDULE_ANYWAY, hostname_key, zone_key), &snapshot)
        });
        assert_eq!(dense_batch, walk_per_node, "seed {seed}: scores by position");
        assert_eq!(dense_per_node, walk_per_node, "seed {seed}: scores by labels on the dense state");
        assert_eq!(walk_batch, walk_per_node, "seed {seed}: scores of the walk");
        ignored += walk_per_node.iter().filter(|score| **score == 0).count();
    }
    assert!(rejected > 40, "the clusters reject nodes: {rejected}");
    assert!(ignored > 0, "some candidate lacks a zone and is ignored");
}
