//! The fast paths (counts kept by the snapshot's dense domain id, matches settled by the pod
//! index without reading the Pods, running Pods' terms matched once per class) give the same
//! PreFilter counts, Filter verdicts and scores as counting by label value and matching every
//! Pod: the same random clusters are built twice, once with terms on the well-known labels and
//! single-requirement selectors, once with terms on custom labels carrying the same values and
//! selectors with a second, always-true requirement, which only the slow paths serve.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::InterPodAffinity;
use super::filtering::pre_filter_state;
use crate::scheduler::framework::{
    CycleState, FilterPlugin, NodeBatch, PreFilterPlugin, PreScorePlugin, ScorePlugin, Status,
};
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::node_tree::{LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE};
use crate::scheduler::snapshot::Snapshot;
use crate::scheduler::testing::{PodBuilder, label_selector, make_node, make_pod, snapshot_of};

const CUSTOM_HOSTNAME: &str = "example.com/host";
const CUSTOM_ZONE: &str = "example.com/zone";
const APPS: [&str; 3] = ["a", "b", "c"];

/// Which labels and selectors a build of the cluster uses.
#[derive(Clone, Copy, PartialEq)]
enum Variant {
    /// Well-known topology keys, `app in (x)` selectors: the fast paths.
    Fast,
    /// Custom keys with the same values, `app in (x), app` selectors: the slow paths.
    Slow,
}

impl Variant {
    fn key(self, well_known: &str) -> &'static str {
        match (self, well_known) {
            (Variant::Fast, LABEL_HOSTNAME) => LABEL_HOSTNAME,
            (Variant::Fast, _) => LABEL_TOPOLOGY_ZONE,
            (Variant::Slow, LABEL_HOSTNAME) => CUSTOM_HOSTNAME,
            (Variant::Slow, _) => CUSTOM_ZONE,
        }
    }

    /// The well-known key a key of this variant stands for.
    fn well_known(key: &str) -> &'static str {
        if key == LABEL_HOSTNAME || key == CUSTOM_HOSTNAME { LABEL_HOSTNAME } else { LABEL_TOPOLOGY_ZONE }
    }
}

/// How a random term picks its namespaces.
#[derive(Clone, Copy)]
enum Namespaces {
    Own,
    Other,
    Every,
}

/// One random term, drawn once and built for either variant.
#[derive(Clone, Copy)]
struct TermSpec {
    app: &'static str,
    hostname: bool,
    namespaces: Namespaces,
}

impl TermSpec {
    fn draw(rng: &mut ChaCha8Rng) -> TermSpec {
        TermSpec {
            app: APPS[rng.random_range(0..APPS.len())],
            hostname: rng.random_bool(0.5),
            namespaces: [Namespaces::Own, Namespaces::Own, Namespaces::Other, Namespaces::Every]
                [rng.random_range(0..4)],
        }
    }

    fn build(self, variant: Variant) -> core::PodAffinityTerm {
        let expressions: &[(&str, &str, &[&str])] = match variant {
            Variant::Fast => &[],
            Variant::Slow => &[("app", "Exists", &[])],
        };
        core::PodAffinityTerm {
            label_selector: Some(label_selector(&[("app", self.app)], expressions)),
            topology_key: variant.key(if self.hostname { LABEL_HOSTNAME } else { LABEL_TOPOLOGY_ZONE }).to_owned(),
            namespaces: matches!(self.namespaces, Namespaces::Other).then(|| vec!["other".to_owned()]),
            namespace_selector: matches!(self.namespaces, Namespaces::Every).then(meta::LabelSelector::default),
            ..core::PodAffinityTerm::default()
        }
    }
}

/// A random set of terms for one Pod: (anti, required, weight, term).
type PodTerms = Vec<(bool, bool, i32, TermSpec)>;

fn draw_terms(rng: &mut ChaCha8Rng, most: usize) -> PodTerms {
    (0..rng.random_range(0..=most))
        .map(|_| (rng.random_bool(0.6), rng.random_bool(0.5), rng.random_range(1..=100), TermSpec::draw(rng)))
        .collect()
}

fn with_terms(mut pod: PodBuilder, terms: &PodTerms, variant: Variant) -> PodBuilder {
    for (anti, required, weight, spec) in terms {
        pod = match required {
            true => pod.required_term(*anti, spec.build(variant)),
            false => pod.preferred_term(*anti, *weight, spec.build(variant)),
        };
    }
    pod
}

/// A random cluster drawn from `seed`: 24 nodes (some without a zone), 60 placed Pods, a third
/// of them with terms of their own; and the incoming Pod's terms.
struct Drawn {
    zones: Vec<Option<usize>>,
    pods: Vec<(usize, &'static str, &'static str, PodTerms)>,
    incoming: PodTerms,
    incoming_app: &'static str,
}

fn draw(seed: u64) -> Drawn {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let zones = (0..24).map(|_| (rng.random_range(0..6) > 0).then(|| rng.random_range(0..4))).collect();
    let pods = (0..60)
        .map(|_| {
            let node = rng.random_range(0..24);
            let namespace = if rng.random_range(0..4) == 0 { "other" } else { "default" };
            let app = APPS[rng.random_range(0..APPS.len())];
            let terms = if rng.random_range(0..3) == 0 { draw_terms(&mut rng, 3) } else { Vec::new() };
            (node, namespace, app, terms)
        })
        .collect();
    let incoming = draw_terms(&mut rng, 4);
    Drawn { zones, pods, incoming, incoming_app: APPS[rng.random_range(0..APPS.len())] }
}

fn build(drawn: &Drawn, variant: Variant) -> (Snapshot, PodInfo) {
    let nodes: Vec<core::Node> = drawn
        .zones
        .iter()
        .enumerate()
        .map(|(index, zone)| {
            let name = format!("node-{index}");
            let mut node = make_node(&name).label(variant.key(LABEL_HOSTNAME), &name);
            if let Some(zone) = zone {
                node = node.label(variant.key(LABEL_TOPOLOGY_ZONE), &format!("zone-{zone}"));
            }
            node.obj()
        })
        .collect();
    let pods: Vec<core::Pod> = drawn
        .pods
        .iter()
        .enumerate()
        .map(|(index, (node, namespace, app, terms))| {
            let pod =
                make_pod(&format!("pod-{index}")).namespace(namespace).node(&format!("node-{node}")).label("app", app);
            with_terms(pod, terms, variant).obj()
        })
        .collect();
    let incoming = make_pod("incoming").namespace("default").label("app", drawn.incoming_app);
    let incoming = with_terms(incoming, &drawn.incoming, variant).obj();
    (snapshot_of(&nodes, &pods), PodInfo::new(Arc::new(incoming)))
}

/// PreFilter's three counts with every key named by the well-known key it stands for.
fn counts(state: &CycleState) -> Option<[BTreeMap<(String, String), i64>; 3]> {
    let state = pre_filter_state(state)?;
    let normalize = |pairs: BTreeMap<(String, String), i64>| {
        pairs.into_iter().map(|((key, value), count)| ((Variant::well_known(&key).to_owned(), value), count)).collect()
    };
    Some([
        normalize(state.existing_anti_affinity_counts.pairs()),
        normalize(state.affinity_counts.pairs()),
        normalize(state.anti_affinity_counts.pairs()),
    ])
}

/// The Filter verdicts on every node, through the batch (by snapshot position) and one by one.
fn verdicts(plugin: &InterPodAffinity, state: &CycleState, pod: &PodInfo, snapshot: &Snapshot) -> [Vec<Status>; 2] {
    let nodes: Vec<&NodeInfo> = snapshot.list().iter().map(|node| node.as_ref()).collect();
    let positions: Vec<usize> = (0..nodes.len()).collect();
    let mut batch = vec![None; nodes.len()];
    plugin.filter_nodes(state, pod, &NodeBatch::new(&nodes, &positions, snapshot.counters()), &mut batch);
    let batch = batch.into_iter().map(|verdict| verdict.unwrap_or_else(Status::success)).collect();
    [batch, nodes.iter().map(|node| plugin.filter(state, pod, node)).collect()]
}

/// The normalized scores of every node, PreScore and Score node by node; all zero when PreScore
/// skips (no term of either side matches anything).
fn per_node_scores(plugin: &InterPodAffinity, pod: &PodInfo, snapshot: &Snapshot) -> Vec<i64> {
    let nodes: Vec<&NodeInfo> = snapshot.list().iter().map(|node| node.as_ref()).collect();
    let mut state = CycleState::new();
    let status = plugin.pre_score(&mut state, pod, &nodes, snapshot);
    if status.is_skip() {
        return vec![0; nodes.len()];
    }
    assert!(status.is_success(), "{status}");
    let mut scores: Vec<i64> = nodes.iter().map(|node| plugin.score(&state, pod, node).expect("score")).collect();
    assert!(plugin.normalize_score(&state, pod, &mut scores).is_success());
    scores
}

/// The normalized scores of every node through the batch PreScore and Score (by position).
fn batch_scores(plugin: &InterPodAffinity, pod: &PodInfo, snapshot: &Snapshot) -> Vec<i64> {
    let nodes: Vec<&NodeInfo> = snapshot.list().iter().map(|node| node.as_ref()).collect();
    let positions: Vec<usize> = (0..nodes.len()).collect();
    let batch = NodeBatch::new(&nodes, &positions, snapshot.counters());
    let mut state = CycleState::new();
    let status = plugin.pre_score_batch(&mut state, pod, &batch, snapshot);
    let mut scores = Vec::new();
    if status.is_skip() {
        return vec![0; nodes.len()];
    }
    assert!(status.is_success(), "{status}");
    plugin.score_nodes(&state, pod, &batch, &mut scores).expect("scores");
    assert!(plugin.normalize_score(&state, pod, &mut scores).is_success());
    scores
}

#[test]
fn dense_counts_index_matches_and_term_classes_agree_with_the_slow_paths() {
    let plugin = InterPodAffinity::default();
    let (mut counted, mut rejected, mut scored) = (0, 0, 0);
    for seed in 0..60 {
        let drawn = draw(seed);
        let [fast, slow] = [Variant::Fast, Variant::Slow].map(|variant| build(&drawn, variant));

        let mut states = [CycleState::new(), CycleState::new()];
        for ((snapshot, pod), state) in [&fast, &slow].into_iter().zip(&mut states) {
            let (_, status) = plugin.pre_filter(state, pod, snapshot);
            assert!(status.is_success() || status.is_skip(), "seed {seed}: {status}");
        }
        let [fast_counts, slow_counts] = [&states[0], &states[1]].map(counts);
        assert_eq!(fast_counts, slow_counts, "seed {seed}: PreFilter counts");
        counted += fast_counts.iter().flatten().map(|counts| counts.len()).sum::<usize>();

        if fast_counts.is_some() {
            let [fast_batch, fast_per_node] = verdicts(&plugin, &states[0], &fast.1, &fast.0);
            let [slow_batch, slow_per_node] = verdicts(&plugin, &states[1], &slow.1, &slow.0);
            assert_eq!(fast_batch, slow_per_node, "seed {seed}: Filter by position");
            assert_eq!(fast_per_node, slow_per_node, "seed {seed}: Filter by labels on the dense counts");
            assert_eq!(slow_batch, slow_per_node, "seed {seed}: Filter of the slow path");
            rejected += slow_per_node.iter().filter(|status| !status.is_success()).count();

            // A Pod added after PreFilter (as preemption and nominated Pods do) through the
            // node's labels: the dense counts update by value and still agree.
            for ((snapshot, pod), state) in [&fast, &slow].into_iter().zip(&mut states) {
                let node = snapshot.list().iter().find(|node| !node.pods.is_empty()).expect("a node with Pods");
                assert!(plugin.add_pod(state, pod, &node.pods[0], node).is_success());
            }
            assert_eq!(counts(&states[0]), counts(&states[1]), "seed {seed}: counts after AddPod");
            let [fast_batch, _] = verdicts(&plugin, &states[0], &fast.1, &fast.0);
            let [_, slow_per_node] = verdicts(&plugin, &states[1], &slow.1, &slow.0);
            assert_eq!(fast_batch, slow_per_node, "seed {seed}: Filter by position after AddPod");
        }

        let [fast_scores, slow_scores] = [&fast, &slow].map(|(snapshot, pod)| per_node_scores(&plugin, pod, snapshot));
        assert_eq!(fast_scores, slow_scores, "seed {seed}: scores");
        assert_eq!(batch_scores(&plugin, &fast.1, &fast.0), fast_scores, "seed {seed}: scores by position");
        scored += usize::from(fast_scores.iter().any(|score| *score > 0));
    }
    assert!(counted > 60, "the clusters count something: {counted}");
    assert!(rejected > 60, "the filters reject some nodes: {rejected}");
    assert!(scored > 20, "some scores are not all zero: {scored}");
}
