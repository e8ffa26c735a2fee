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
use crate::scheduler::pod_affinity::{AffinityTerm, PodAffinityTerms, WeightedAffinityTerm};
use crate::scheduler::snapshot::Snapshot;

/// The CycleState key of the PreScore state.
pub const PRE_SCORE_STATE_KEY: &str = "PreScoreInterPodAffinity";

/// One topology key's score contributions.
#[derive(Clone, Debug)]
enum KeyScore {
    /// By the snapshot's dense domain id (hostname, zone, region).
    Dense(DenseTotals),
    /// By label value, for other keys.
    ByValue(FastHashMap<String, i64>),
}

/// Score contributions per topology key (few, ordered) and domain. A key is present once a
/// contribution reached a node with its label, even if the contributions cancel out.
#[derive(Clone, Debug, Default)]
pub struct TopologyScore(BTreeMap<String, KeyScore>);

impl TopologyScore {
    /// Adds `amount` to the domain of `topology_key` of the node at a snapshot position, if the
    /// node has that label (`scoreMap.processTerm` after the match).
    fn add_at(&mut self, snapshot: &Snapshot, position: usize, topology_key: &str, amount: i64) {
        let labels = || snapshot.list()[position].labels();
        match self.0.get_mut(topology_key) {
            Some(KeyScore::Dense(totals)) => {
                if let Some(id) = totals.domain_at(position) {
                    *totals.count_mut(id) += amount;
                }
            }
            Some(KeyScore::ByValue(values)) => {
                if let Some(value) = labels().get(topology_key) {
                    match values.get_mut(value.as_str()) {
                        Some(total) => *total += amount,
                        None => {
                            values.insert(value.clone(), amount);
                        }
                    }
                }
            }
            None => match snapshot.shared_topology_domains(topology_key) {
                Some(domains) => {
                    let mut totals = DenseTotals::zero(domains);
                    if let Some(id) = totals.domain_at(position) {
                        *totals.count_mut(id) += amount;
                        self.0.insert(topology_key.to_owned(), KeyScore::Dense(totals));
                    }
                }
                None => {
                    if let Some(value) = labels().get(topology_key) {
                        let values = FastHashMap::from_iter([(value.clone(), amount)]);
                        self.0.insert(topology_key.to_owned(), KeyScore::ByValue(values));
                    }
                }
            },
        }
    }

    /// The score of a node: the sum over topology keys of its domain's total.
    fn node_score(&self, labels: &BTreeMap<String, String>) -> i64 {
        let total = |(key, score): (&String, &KeyScore)| {
            let value = labels.get(key)?;
            match score {
                KeyScore::Dense(totals) => totals.id_of(value).map(|id| totals.count(id)),
                KeyScore::ByValue(values) => values.get(value.as_str()).copied(),
            }
        };
        self.0.iter().filter_map(total).sum()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The contributions by dense domain id, one array per topology key, if every key is kept
    /// densely.
    fn dense(&self, snapshot: &Snapshot) -> Option<Vec<DenseTotals>> {
        let dense = |(key, score): (&String, &KeyScore)| match score {
            KeyScore::Dense(totals) => Some(totals.clone()),
            KeyScore::ByValue(values) => DenseTotals::of(snapshot, key, Some(values)),
        };
        self.0.iter().map(dense).collect()
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
    /// The contributions of a running Pod's own terms that the incoming Pod matches (the
    /// second half of `processExistingPod`): the topology key and amount of each, in term order.
    fn contributions_of_existing_terms<'a>(
        &self,
        incoming: &IncomingPod<'_>,
        terms: &'a PodAffinityTerms,
    ) -> Vec<(&'a str, i64)> {
        let matches = |term: &AffinityTerm| term.matches(incoming.pod, incoming.namespace_labels);
        let mut contributions = Vec::new();
        if self.hard_pod_affinity_weight > 0 {
            let required = terms.required_affinity.iter().filter(|term| matches(term));
            contributions.extend(required.map(|term| (term.topology_key.as_str(), self.hard_pod_affinity_weight)));
        }
        for (weighted_terms, sign) in [(&terms.preferred_affinity, 1), (&terms.preferred_anti_affinity, -1)] {
            let matching = weighted_terms.iter().filter(|weighted| matches(&weighted.term));
            contributions
                .extend(matching.map(|weighted| (weighted.term.topology_key.as_str(), weighted.weight * sign)));
        }
        contributions
    }
}

/// Adds the contributions of the incoming Pod's preferred terms over the running Pods they
/// match (the first half of `processExistingPod`), visiting only the Pods each term's selector
/// can match.
fn process_incoming_terms(incoming: &IncomingPod<'_>, snapshot: &Snapshot, score: &mut TopologyScore) {
    for (terms, sign) in [(&incoming.preferred_affinity, 1), (&incoming.preferred_anti_affinity, -1)] {
        for weighted in terms {
            snapshot.for_each_pod_matching(&weighted.term, |position, _| {
                score.add_at(snapshot, position, &weighted.term.topology_key, weighted.weight * sign);
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
        // Replicas share their terms' class: each distinct set of terms is matched once.
        let mut by_class: FastHashMap<u32, Vec<(&str, i64)>> = FastHashMap::default();
        snapshot.for_each_pod_with_terms_possibly_matching(pod.pod.metadata.labels.as_ref(), |entry| {
            let Some(terms) = &entry.pod.affinity_terms else {
                return;
            };
            let contributions = by_class
                .entry(entry.terms_class)
                .or_insert_with(|| self.contributions_of_existing_terms(&incoming, terms));
            for (key, amount) in contributions.iter() {
                topology_score.add_at(snapshot, entry.node, key, *amount);
            }
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
