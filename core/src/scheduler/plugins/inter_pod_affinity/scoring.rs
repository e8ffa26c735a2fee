//! InterPodAffinity's PreScore, Score and NormalizeScore: every running Pod adds the weights of
//! the incoming Pod's preferred terms it matches (anti-affinity subtracts), of its own preferred
//! terms the incoming Pod matches, and `hardPodAffinityWeight` for each of its required affinity
//! terms the incoming Pod matches, to every node sharing its node's topology value; scores are
//! then scaled to 0..100 between the lowest and the highest (kube-scheduler 1.32
//! `interpodaffinity/scoring.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;

use super::dense_totals::DenseTotals;
use super::{InterPodAffinity, merge_namespaces};
use crate::scheduler::fast_map::FastHashMap;
use crate::scheduler::framework::{Code, CycleState, NodeBatch, PreScorePlugin, ScorePlugin, Status};
use crate::scheduler::limits::MAX_NODE_SCORE;
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::pod_affinity::{AffinityTerm, WeightedAffinityTerm};
use crate::scheduler::snapshot::Snapshot;

/// The CycleState key of the PreScore state.
pub const PRE_SCORE_STATE_KEY: &str = "PreScoreInterPodAffinity";

/// Score contributions per topology key (few, ordered) and value (many, hashed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopologyScore(BTreeMap<String, FastHashMap<String, i64>>);

impl TopologyScore {
    fn add(&mut self, topology_key: &str, value: &str, amount: i64) {
        if !self.0.contains_key(topology_key) {
            self.0.insert(topology_key.to_owned(), FastHashMap::default());
        }
        if let Some(values) = self.0.get_mut(topology_key) {
            match values.get_mut(value) {
                Some(total) => *total += amount,
                None => {
                    values.insert(value.to_owned(), amount);
                }
            }
        }
    }

    /// Adds `weight * sign` to the domain of `node_labels` if `pod` matches the term
    /// (`scoreMap.processTerm`).
    fn process_term(
        &mut self,
        term: &AffinityTerm,
        weight: i64,
        pod: &core::Pod,
        namespace_labels: Option<&BTreeMap<String, String>>,
        node_labels: &BTreeMap<String, String>,
    ) {
        if term.matches(pod, namespace_labels)
            && let Some(value) = node_labels.get(&term.topology_key)
        {
            self.add(&term.topology_key, value, weight);
        }
    }

    fn process_weighted(
        &mut self,
        terms: &[WeightedAffinityTerm],
        sign: i64,
        pod: &core::Pod,
        namespace_labels: Option<&BTreeMap<String, String>>,
        node_labels: &BTreeMap<String, String>,
    ) {
        for weighted in terms {
            self.process_term(&weighted.term, weighted.weight * sign, pod, namespace_labels, node_labels);
        }
    }

    /// The score of a node: the sum over topology keys of its domain's total.
    fn node_score(&self, labels: &BTreeMap<String, String>) -> i64 {
        self.0.iter().filter_map(|(key, values)| labels.get(key).and_then(|value| values.get(value.as_str()))).sum()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The contributions by dense domain id, one array per topology key, if every key is kept
    /// densely.
    fn dense(&self, snapshot: &Snapshot) -> Option<Vec<DenseTotals>> {
        self.0.iter().map(|(key, values)| DenseTotals::of(snapshot, key, Some(values))).collect()
    }
}

/// What PreScore computed for Score and NormalizeScore.
#[derive(Clone, Debug)]
pub struct PreScoreState {
    /// Contributions per topology domain.
    pub topology_score: TopologyScore,
    /// The same by dense domain id, for the batch Score, when every key is kept densely.
    dense: Option<Arc<Vec<DenseTotals>>>,
}

impl PreScoreState {
    /// The score of the node at a snapshot position: the sum over topology keys of its
    /// domain's total, as [`TopologyScore::node_score`] has it.
    fn node_score_at(&self, node: &NodeInfo, position: usize) -> i64 {
        match &self.dense {
            Some(dense) => dense.iter().filter_map(|totals| totals.at(position)).sum(),
            None => self.topology_score.node_score(node.labels()),
        }
    }
}

struct IncomingPod<'a> {
    pod: &'a core::Pod,
    preferred_affinity: Vec<WeightedAffinityTerm>,
    preferred_anti_affinity: Vec<WeightedAffinityTerm>,
    namespace_labels: Option<&'a BTreeMap<String, String>>,
}

impl InterPodAffinity {
    /// Adds the contributions of a running Pod's own terms that the incoming Pod matches (the
    /// second half of `processExistingPod`).
    fn process_terms_of_existing_pod(
        &self,
        incoming: &IncomingPod<'_>,
        existing: &PodInfo,
        node: &NodeInfo,
        score: &mut TopologyScore,
    ) {
        let labels = node.labels();
        let Some(terms) = existing.affinity_terms.as_ref().filter(|_| !labels.is_empty()) else {
            return;
        };
        if self.hard_pod_affinity_weight > 0 {
            for term in &terms.required_affinity {
                score.process_term(
                    term,
                    self.hard_pod_affinity_weight,
                    incoming.pod,
                    incoming.namespace_labels,
                    labels,
                );
            }
        }
        score.process_weighted(&terms.preferred_affinity, 1, incoming.pod, incoming.namespace_labels, labels);
        score.process_weighted(&terms.preferred_anti_affinity, -1, incoming.pod, incoming.namespace_labels, labels);
    }
}

/// Adds the contributions of the incoming Pod's preferred terms over the running Pods they
/// match (the first half of `processExistingPod`), visiting only the Pods each term's selector
/// can match.
fn process_incoming_terms(incoming: &IncomingPod<'_>, snapshot: &Snapshot, score: &mut TopologyScore) {
    for (terms, sign) in [(&incoming.preferred_affinity, 1), (&incoming.preferred_anti_affinity, -1)] {
        for weighted in terms {
            snapshot.for_each_pod_possibly_matching(&weighted.term.selector, |_, node, existing| {
                score.process_term(&weighted.term, weighted.weight * sign, &existing.pod, None, node.labels());
            });
        }
    }
}

impl PreScorePlugin for InterPodAffinity {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, nodes: &[&NodeInfo], snapshot: &Snapshot) -> Status {
        if nodes.is_empty() {
            return Status::code_only(Code::Skip);
        }
        let terms = pod.affinity_terms.as_deref();
        let has_constraints = terms.is_some_and(|terms| terms.has_preferred());
        if self.ignore_preferred_terms_of_existing_pods && !has_constraints {
            return Status::code_only(Code::Skip);
        }
        if let Some(error) = terms.and_then(|terms| terms.parse_error.as_ref()) {
            return Status::error(format!("failed to parse pod: {error}"));
        }
        let objects = snapshot.objects();
        let resolve = |terms: &[WeightedAffinityTerm]| -> Vec<WeightedAffinityTerm> {
            terms
                .iter()
                .map(|weighted| WeightedAffinityTerm {
                    term: merge_namespaces(&weighted.term, objects),
                    weight: weighted.weight,
                })
                .collect()
        };
        let incoming = IncomingPod {
            pod: &pod.pod,
            preferred_affinity: terms.map(|terms| resolve(&terms.preferred_affinity)).unwrap_or_default(),
            preferred_anti_affinity: terms.map(|terms| resolve(&terms.preferred_anti_affinity)).unwrap_or_default(),
            namespace_labels: objects.namespace_labels(pod.namespace()),
        };
        let mut topology_score = TopologyScore::default();
        if has_constraints {
            process_incoming_terms(&incoming, snapshot, &mut topology_score);
        }
        snapshot.for_each_pod_with_terms_possibly_matching(pod.pod.metadata.labels.as_ref(), |node, existing| {
            self.process_terms_of_existing_pod(&incoming, existing, node, &mut topology_score);
        });
        if topology_score.is_empty() {
            return Status::code_only(Code::Skip);
        }
        let dense = topology_score.dense(snapshot).map(Arc::new);
        state.write(PRE_SCORE_STATE_KEY, PreScoreState { topology_score, dense });
        Status::success()
    }
}

impl ScorePlugin for InterPodAffinity {
    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let state = state.read::<PreScoreState>(PRE_SCORE_STATE_KEY).ok_or_else(|| {
            Status::error(format!("error reading {PRE_SCORE_STATE_KEY:?} from cycleState: not found"))
        })?;
        Ok(state.topology_score.node_score(node.labels()))
    }

    fn score_nodes(
        &self,
        state: &CycleState,
        _pod: &PodInfo,
        batch: &NodeBatch<'_>,
        scores: &mut Vec<i64>,
    ) -> Result<(), Status> {
        let state = state.read::<PreScoreState>(PRE_SCORE_STATE_KEY).ok_or_else(|| {
            Status::error(format!("error reading {PRE_SCORE_STATE_KEY:?} from cycleState: not found"))
        })?;
        let nodes = batch.nodes().iter().zip(batch.positions());
        scores.extend(nodes.map(|(node, position)| state.node_score_at(node, *position)));
        Ok(())
    }

    /// Scales scores linearly so the lowest becomes 0 and the highest 100; all equal become 0.
    fn normalize_score(&self, state: &CycleState, _pod: &PodInfo, scores: &mut [i64]) -> Status {
        let Some(state) = state.read::<PreScoreState>(PRE_SCORE_STATE_KEY) else {
            return Status::error(format!("error reading {PRE_SCORE_STATE_KEY:?} from cycleState: not found"));
        };
        if state.topology_score.is_empty() {
            return Status::success();
        }
        let min = scores.iter().copied().min().unwrap_or(0);
        let max = scores.iter().copied().max().unwrap_or(0);
        let spread = max - min;
        for score in scores.iter_mut() {
            *score =
                if spread > 0 { (MAX_NODE_SCORE as f64 * ((*score - min) as f64 / spread as f64)) as i64 } else { 0 };
        }
        Status::success()
    }
}
