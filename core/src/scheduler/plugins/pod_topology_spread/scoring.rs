//! PodTopologySpread's PreScore, Score and NormalizeScore for ScheduleAnyway constraints: a
//! node's raw score sums, per constraint, `matching Pods in its domain × ln(domains + 2) +
//! (maxSkew − 1)`; normalization maps the lowest raw score to 100 and the highest to
//! `100 × min / max` (kube-scheduler 1.32 `podtopologyspread/scoring.go`).
//!
//! Nodes lacking a constraint's topology label are ignored: Score returns [`IGNORED_SCORE`] for
//! them (Kubernetes tracks them by name, which NormalizeScore here does not see) and
//! NormalizeScore gives them 0.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{
    Constraint, PodTopologySpread, SCHEDULE_ANYWAY, count_matching_pods, counted_domains, counts_towards,
    every_node_included, for_each_matching_pod_domain, node_has_all_keys,
};
use crate::scheduler::fast_map::FastHashMap;
use crate::scheduler::framework::{Code, CycleState, NodeBatch, PreScorePlugin, ScorePlugin, Status};
use crate::scheduler::limits::MAX_NODE_SCORE;
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::node_tree::LABEL_HOSTNAME;
use crate::scheduler::plugins::node_affinity::RequiredNodeAffinity;
use crate::scheduler::pod_index::Candidates;
use crate::scheduler::snapshot::Snapshot;
use crate::scheduler::topology_domains::TopologyDomains;

/// The CycleState key of the PreScore state.
pub const PRE_SCORE_STATE_KEY: &str = "PreScorePodTopologySpread";

/// The raw score of an ignored node (`invalidScore`); real raw scores are never negative.
pub const IGNORED_SCORE: i64 = -1;

/// What PreScore computed for Score.
#[derive(Clone, Debug)]
pub struct PreScoreState {
    /// The ScheduleAnyway constraints.
    pub constraints: Vec<Constraint>,
    /// Candidate nodes missing a topology label; they score 0.
    pub ignored_nodes: BTreeSet<String>,
    /// Per constraint: `ln(domains + 2)`, so that small topologies are not drowned by big ones.
    pub topology_normalizing_weight: Vec<f64>,
    /// Per constraint: how a node's matching Pods are counted.
    counts: Vec<ScoreCounts>,
    /// Per constraint, when the counts are by dense domain id: the snapshot's domains of its
    /// label (for every constraint, or empty).
    dense: Vec<Arc<TopologyDomains>>,
}

/// How one constraint's matching Pods are counted for Score.
#[derive(Clone, Debug)]
enum ScoreCounts {
    /// Per domain value of the candidate nodes (labels other than hostname). Looked up only.
    ByValue(FastHashMap<String, i64>),
    /// Per node name (hostname, when the snapshot's pod index narrows the selector), counted
    /// once in PreScore: Kubernetes counts each scored node's Pods in Score; the totals are the
    /// same, the work no longer grows with the Pods of every scored node. Looked up only.
    ByNodeName(FastHashMap<String, i64>),
    /// Counted in Score from the node's own Pods (hostname, when the index does not narrow the
    /// selector and every placed Pod would be visited).
    NodePods,
    /// Per dense domain id, every domain counted; `candidate_ids` are those of the candidate
    /// nodes, in id order. With one node per hostname, a hostname domain's count is its node's.
    ById { counts: Vec<i64>, candidate_ids: Vec<u32> },
}

/// `topologyNormalizingWeight`: the weight of a topology with `size` domains.
pub fn topology_normalizing_weight(size: usize) -> f64 {
    ((size + 2) as f64).ln()
}

/// `scoreForCount`: a domain's contribution.
fn score_for_count(count: i64, max_skew: i32, weight: f64) -> f64 {
    count as f64 * weight + f64::from(max_skew - 1)
}

/// What every way of counting needs to know of the cycle.
struct Counting<'a> {
    pod: &'a PodInfo,
    snapshot: &'a Snapshot,
    constraints: Vec<Constraint>,
    required: RequiredNodeAffinity,
    /// Whether candidates lacking a topology label are ignored (constraints the Pod declares or
    /// listed defaults) rather than read as "" (the system defaults).
    require_all_topologies: bool,
}

impl Counting<'_> {
    /// The PreScore state through the nodes' labels: any topology key and inclusion policy.
    fn by_value(self, nodes: &[&NodeInfo]) -> PreScoreState {
        let Counting { pod, snapshot, constraints, required, require_all_topologies } = self;
        let mut by_value = vec![FastHashMap::<String, i64>::default(); constraints.len()];
        let mut ignored_nodes = BTreeSet::new();
        for node in nodes {
            let labels = node.labels();
            if require_all_topologies && !node_has_all_keys(labels, &constraints) {
                ignored_nodes.insert(node.name().to_owned());
                continue;
            }
            for (index, constraint) in constraints.iter().enumerate() {
                if constraint.topology_key == LABEL_HOSTNAME {
                    continue;
                }
                let value = labels.get(&constraint.topology_key).map(String::as_str).unwrap_or("");
                if !by_value[index].contains_key(value) {
                    by_value[index].insert(value.to_owned(), 0);
                }
            }
        }
        let topology_normalizing_weight = constraints
            .iter()
            .zip(&by_value)
            .map(|(constraint, counts)| {
                let size = if constraint.topology_key == LABEL_HOSTNAME {
                    nodes.len() - ignored_nodes.len()
                } else {
                    counts.len()
                };
                topology_normalizing_weight(size)
            })
            .collect();
        if by_value.iter().any(|counts| !counts.is_empty()) {
            let (domains, _) = counted_domains(snapshot, &constraints, pod, &required, require_all_topologies, false);
            for ((constraint, counts), domains) in constraints.iter().zip(&mut by_value).zip(&domains) {
                if counts.is_empty() {
                    continue;
                }
                for_each_matching_pod_domain(snapshot, &constraint.selector, pod.namespace(), domains, |value| {
                    if let Some(total) = counts.get_mut(value) {
                        *total += 1;
                    }
                });
            }
        }
        let counts = constraints
            .iter()
            .zip(by_value)
            .map(|(constraint, counts)| {
                if constraint.topology_key != LABEL_HOSTNAME {
                    return ScoreCounts::ByValue(counts);
                }
                match count_per_node(snapshot, constraint, pod.namespace()) {
                    Some(counts) => ScoreCounts::ByNodeName(counts),
                    None => ScoreCounts::NodePods,
                }
            })
            .collect();
        PreScoreState { constraints, ignored_nodes, topology_normalizing_weight, counts, dense: Vec::new() }
    }

    /// The PreScore state by the snapshot's dense domain ids, for candidates at known snapshot
    /// positions, when every topology key is a well-known one, every node counts, no node's
    /// label would be read as "" and hostnames are one per node; otherwise the walk of
    /// [`by_value`](Self::by_value). The same counts and weights, read by position.
    fn dense_or_by_value(self, nodes: &[&NodeInfo], positions: &[usize]) -> PreScoreState {
        let dense: Option<Vec<Arc<TopologyDomains>>> = self
            .constraints
            .iter()
            .map(|constraint| self.snapshot.shared_topology_domains(&constraint.topology_key))
            .collect();
        let Some(dense) = dense.filter(|dense| {
            every_node_included(&self.constraints, &self.required)
                && (self.require_all_topologies || dense.iter().all(|of_key| of_key.unlabelled == 0))
                && self.constraints.iter().zip(dense).all(|(constraint, of_key)| {
                    constraint.topology_key != LABEL_HOSTNAME || of_key.one_node_per_domain()
                })
        }) else {
            return self.by_value(nodes);
        };
        let Counting { pod, snapshot, constraints, .. } = self;
        let complete = |position: usize| dense.iter().all(|of_key| of_key.domain_of_node[position].is_some());
        let mut ignored_nodes = BTreeSet::new();
        let mut candidates = Vec::with_capacity(positions.len());
        for (node, position) in nodes.iter().zip(positions) {
            if complete(*position) {
                candidates.push(*position);
            } else {
                ignored_nodes.insert(node.name().to_owned());
            }
        }
        let mut counts = Vec::with_capacity(constraints.len());
        let mut weights = Vec::with_capacity(constraints.len());
        for (constraint, of_key) in constraints.iter().zip(&dense) {
            let hostname = constraint.topology_key == LABEL_HOSTNAME;
            if hostname && matches!(snapshot.pod_index().candidates(&constraint.selector), Candidates::All) {
                if constraint.selector.is_empty() {
                    counts.push(ScoreCounts::ByNodeName(FastHashMap::default()));
                } else {
                    counts.push(ScoreCounts::NodePods);
                }
                weights.push(topology_normalizing_weight(candidates.len()));
                continue;
            }
            let mut by_id = vec![0; of_key.values.len()];
            if !constraint.selector.is_empty() {
                snapshot.for_each_pod_possibly_matching(&constraint.selector, |position, _, placed| {
                    if let Some(id) = of_key.domain_of_node[position]
                        && complete(position)
                        && counts_towards(placed, &constraint.selector, pod.namespace())
                    {
                        by_id[id as usize] += 1;
                    }
                });
            }
            let mut seen = vec![false; of_key.values.len()];
            for position in &candidates {
                if let Some(id) = of_key.domain_of_node[*position] {
                    seen[id as usize] = true;
                }
            }
            let candidate_ids: Vec<u32> =
                seen.iter().enumerate().filter(|(_, seen)| **seen).map(|(id, _)| id as u32).collect();
            let size = if hostname { candidates.len() } else { candidate_ids.len() };
            weights.push(topology_normalizing_weight(size));
            counts.push(ScoreCounts::ById { counts: by_id, candidate_ids });
        }
        PreScoreState { constraints, ignored_nodes, topology_normalizing_weight: weights, counts, dense }
    }
}

impl PreScoreState {
    /// Per constraint other than hostname ones: the matching Pods of each candidate domain, by
    /// value (tests compare them with Kubernetes' `TopologyValueToPodCounts`).
    pub fn topology_value_pod_counts(&self) -> Vec<BTreeMap<String, i64>> {
        self.counts
            .iter()
            .enumerate()
            .map(|(index, counts)| match counts {
                ScoreCounts::ByValue(counts) => counts.iter().map(|(value, count)| (value.clone(), *count)).collect(),
                ScoreCounts::ById { counts, candidate_ids }
                    if self.constraints[index].topology_key != LABEL_HOSTNAME =>
                {
                    let values = &self.dense[index].values;
                    candidate_ids.iter().map(|id| (values[*id as usize].clone(), counts[*id as usize])).collect()
                }
                _ => BTreeMap::new(),
            })
            .collect()
    }

    /// One node's raw score, or [`IGNORED_SCORE`], through its labels.
    fn node_score(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        if !self.ignored_nodes.is_empty() && self.ignored_nodes.contains(node.name()) {
            return IGNORED_SCORE;
        }
        let labels = node.labels();
        let mut score = 0.0;
        for (index, constraint) in self.constraints.iter().enumerate() {
            let Some(value) = labels.get(&constraint.topology_key) else { continue };
            let count = match &self.counts[index] {
                ScoreCounts::ByValue(counts) => counts.get(value.as_str()).copied().unwrap_or(0),
                ScoreCounts::ByNodeName(counts) => counts.get(node.name()).copied().unwrap_or(0),
                ScoreCounts::NodePods => count_matching_pods(&node.pods, &constraint.selector, pod.namespace()),
                ScoreCounts::ById { counts, .. } => {
                    self.dense[index].id_of(value).map(|id| counts[id as usize]).unwrap_or(0)
                }
            };
            score += score_for_count(count, constraint.max_skew, self.topology_normalizing_weight[index]);
        }
        score.round() as i64
    }

    /// [`node_score`](Self::node_score) for the node at a snapshot position, reading its
    /// domains by position when the counts are dense. A candidate lacking a label is ignored:
    /// dense counts exist only where such a node is ignored or none lacks one.
    fn node_score_at(&self, pod: &PodInfo, node: &NodeInfo, position: usize) -> i64 {
        if self.dense.is_empty() {
            return self.node_score(pod, node);
        }
        let mut score = 0.0;
        for (index, (constraint, of_key)) in self.constraints.iter().zip(&self.dense).enumerate() {
            let Some(id) = of_key.domain_of_node[position] else { return IGNORED_SCORE };
            let count = match &self.counts[index] {
                ScoreCounts::ById { counts, .. } => counts[id as usize],
                ScoreCounts::NodePods => count_matching_pods(&node.pods, &constraint.selector, pod.namespace()),
                ScoreCounts::ByNodeName(counts) => counts.get(node.name()).copied().unwrap_or(0),
                ScoreCounts::ByValue(counts) => counts.get(of_key.values[id as usize].as_str()).copied().unwrap_or(0),
            };
            score += score_for_count(count, constraint.max_skew, self.topology_normalizing_weight[index]);
        }
        score.round() as i64
    }
}

impl PodTopologySpread {
    /// PreScore over candidates, at their snapshot positions when known.
    fn pre_score_at(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[&NodeInfo],
        positions: Option<&[usize]>,
        snapshot: &Snapshot,
    ) -> Status {
        if nodes.is_empty() || snapshot.is_empty() {
            return Status::code_only(Code::Skip);
        }
        let constraints = match self.constraints(pod, SCHEDULE_ANYWAY, snapshot.objects()) {
            Ok(constraints) => constraints,
            Err(error) => return Status::error(format!("calculating preScoreState: {error}")),
        };
        if constraints.is_empty() {
            // Nothing to count: the plugin's Score is skipped.
            return Status::code_only(Code::Skip);
        }
        let declares =
            pod.spec().topology_spread_constraints.as_ref().is_some_and(|constraints| !constraints.is_empty());
        let counting = Counting {
            pod,
            snapshot,
            constraints,
            required: RequiredNodeAffinity::of(pod),
            require_all_topologies: declares || !self.system_defaulted,
        };
        let pre_score = match positions {
            Some(positions) => counting.dense_or_by_value(nodes, positions),
            None => counting.by_value(nodes),
        };
        state.write(PRE_SCORE_STATE_KEY, pre_score);
        Status::success()
    }
}

impl PreScorePlugin for PodTopologySpread {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, nodes: &[&NodeInfo], snapshot: &Snapshot) -> Status {
        self.pre_score_at(state, pod, nodes, None, snapshot)
    }

    fn pre_score_batch(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        batch: &NodeBatch<'_>,
        snapshot: &Snapshot,
    ) -> Status {
        self.pre_score_at(state, pod, batch.nodes(), Some(batch.positions()), snapshot)
    }
}

impl ScorePlugin for PodTopologySpread {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let state = state
            .read::<PreScoreState>(PRE_SCORE_STATE_KEY)
            .ok_or_else(|| Status::error(format!("reading {PRE_SCORE_STATE_KEY:?} from cycleState: not found")))?;
        Ok(state.node_score(pod, node))
    }

    fn score_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        batch: &NodeBatch<'_>,
        scores: &mut Vec<i64>,
    ) -> Result<(), Status> {
        let state = state
            .read::<PreScoreState>(PRE_SCORE_STATE_KEY)
            .ok_or_else(|| Status::error(format!("reading {PRE_SCORE_STATE_KEY:?} from cycleState: not found")))?;
        let nodes = batch.nodes().iter().zip(batch.positions());
        scores.extend(nodes.map(|(node, position)| state.node_score_at(pod, node, *position)));
        Ok(())
    }

    /// Reverses and scales: the least crowded node scores 100; ignored nodes score 0.
    fn normalize_score(&self, state: &CycleState, _pod: &PodInfo, scores: &mut [i64]) -> Status {
        if state.read::<PreScoreState>(PRE_SCORE_STATE_KEY).is_none() {
            return Status::success();
        }
        let valid = || scores.iter().copied().filter(|score| *score != IGNORED_SCORE);
        let min = valid().min().unwrap_or(i64::MAX);
        let max = valid().max().unwrap_or(0).max(0);
        for score in scores.iter_mut() {
            *score = if *score == IGNORED_SCORE {
                0
            } else if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - *score) / max
            };
        }
        Status::success()
    }
}

/// The Pods matching a hostname constraint per node name, when the pod index narrows its
/// selector to a few candidates; `None` when it does not (every placed Pod would be visited).
fn count_per_node(snapshot: &Snapshot, constraint: &Constraint, namespace: &str) -> Option<FastHashMap<String, i64>> {
    if constraint.selector.is_empty() {
        return Some(FastHashMap::default());
    }
    if matches!(snapshot.pod_index().candidates(&constraint.selector), Candidates::All) {
        return None;
    }
    let mut counts: FastHashMap<String, i64> = FastHashMap::default();
    snapshot.for_each_pod_possibly_matching(&constraint.selector, |_, node, candidate| {
        if counts_towards(candidate, &constraint.selector, namespace) {
            *counts.entry(node.name().to_owned()).or_insert(0) += 1;
        }
    });
    Some(counts)
}

/// The PreScore state a cycle holds, for tests.
pub fn pre_score_state(state: &CycleState) -> Option<&PreScoreState> {
    state.read::<PreScoreState>(PRE_SCORE_STATE_KEY)
}
