//! The label index changes only which Pods are visited, never the outcome: the same random
//! clusters, once with every term's selector pinning a value (`app in (a)`, read from the
//! index) and once with the equivalent selector pinning none (`app notin (b,c)`, every Pod
//! walked), give the same Filter statuses and the same scores on every node.

use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::InterPodAffinity;
use crate::scheduler::framework::{CycleState, FilterPlugin, PreFilterPlugin, Status};
use crate::scheduler::node_info::PodInfo;
use crate::scheduler::node_tree::{LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE};
use crate::scheduler::testing::{PodBuilder, label_selector, make_node, make_pod, run_score, snapshot_of};

const APPS: [&str; 3] = ["a", "b", "c"];

/// A term selecting `app`: pinned (`app in (app)`) or by exclusion (`app notin (others)`).
fn term(app: &str, topology_key: &str, pinned: bool) -> core::PodAffinityTerm {
    let others: Vec<&str> = APPS.into_iter().filter(|other| *other != app).collect();
    let selector = if pinned {
        label_selector(&[], &[("app", "In", &[app])])
    } else {
        label_selector(&[], &[("app", "NotIn", &others)])
    };
    core::PodAffinityTerm {
        label_selector: Some(selector),
        topology_key: topology_key.to_owned(),
        ..core::PodAffinityTerm::default()
    }
}

/// Gives a Pod random terms drawn from `rng` (the same draws for both forms).
fn with_terms(mut pod: PodBuilder, rng: &mut ChaCha8Rng, pinned: bool) -> PodBuilder {
    let pick = |rng: &mut ChaCha8Rng| APPS[rng.random_range(0..APPS.len())];
    let key = |rng: &mut ChaCha8Rng| if rng.random_bool(0.5) { LABEL_HOSTNAME } else { LABEL_TOPOLOGY_ZONE };
    match rng.random_range(0..5) {
        0 => {}
        1 => pod = pod.required_term(true, term(pick(rng), key(rng), pinned)),
        2 => pod = pod.preferred_term(false, rng.random_range(1..100), term(pick(rng), key(rng), pinned)),
        3 => pod = pod.preferred_term(true, rng.random_range(1..100), term(pick(rng), key(rng), pinned)),
        _ => pod = pod.required_term(false, term(pick(rng), LABEL_TOPOLOGY_ZONE, pinned)),
    }
    pod
}

fn cluster(seed: u64, pinned: bool) -> (Vec<core::Node>, Vec<core::Pod>, PodInfo) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let nodes: Vec<core::Node> = (0..16)
        .map(|index| {
            let name = format!("node-{index}");
            let zone = format!("zone-{}", rng.random_range(0..3));
            make_node(&name).label(LABEL_HOSTNAME, &name).label(LABEL_TOPOLOGY_ZONE, &zone).obj()
        })
        .collect();
    let pods = (0..30)
        .map(|index| {
            let node = format!("node-{}", rng.random_range(0..nodes.len()));
            let app = APPS[rng.random_range(0..APPS.len())];
            let pod = make_pod(&format!("pod-{index}")).namespace("default").node(&node).label("app", app);
            with_terms(pod, &mut rng, pinned).obj()
        })
        .collect();
    let app = APPS[rng.random_range(0..APPS.len())];
    let mut incoming = make_pod("incoming").namespace("default").label("app", app);
    for _ in 0..2 {
        incoming = with_terms(incoming, &mut rng, pinned);
    }
    (nodes, pods, PodInfo::new(Arc::new(incoming.obj())))
}

fn filter_statuses(nodes: &[core::Node], pods: &[core::Pod], pod: &PodInfo) -> Vec<Status> {
    let snapshot = snapshot_of(nodes, pods);
    let plugin = InterPodAffinity::default();
    let mut state = CycleState::new();
    let (_, status) = plugin.pre_filter(&mut state, pod, &snapshot);
    if status.is_skip() {
        return vec![Status::success(); snapshot.len()];
    }
    snapshot.list().iter().map(|node| plugin.filter(&state, pod, node)).collect()
}

#[test]
fn the_label_index_never_changes_a_filter_status_or_a_score() {
    let mut rejected = 0;
    for seed in 0..60 {
        let (nodes, pods, pod) = cluster(seed, true);
        let (walk_nodes, walk_pods, walk_pod) = cluster(seed, false);
        let statuses = filter_statuses(&nodes, &pods, &pod);
        assert_eq!(statuses, filter_statuses(&walk_nodes, &walk_pods, &walk_pod), "seed {seed}: filter");
        rejected += statuses.iter().filter(|status| !status.is_success()).count();
        let plugin = InterPodAffinity::default();
        let scores = run_score(&plugin, &pod, &snapshot_of(&nodes, &pods), true);
        let walk_scores = run_score(&plugin, &walk_pod, &snapshot_of(&walk_nodes, &walk_pods), true);
        assert_eq!(scores, walk_scores, "seed {seed}: scores");
    }
    assert!(rejected > 0, "the clusters exercise the filters");
}
