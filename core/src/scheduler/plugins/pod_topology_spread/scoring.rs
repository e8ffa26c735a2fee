//! PodTopologySpread's PreScore, Score and NormalizeScore for ScheduleAnyway constraints: a
//! node's raw score sums, per constraint, `matching Pods in its domain × ln(domains + 2) +
//! (maxSkew − 1)`; normalization maps the lowest raw score to 100 and the highest to
//! `100 × min / max` (kube-scheduler 1.32 `podtopologyspread/scoring.go`).
//!
//! Nodes lacking a constraint's topology label are ignored: Score returns [`IGNORED_SCORE`] for
//! them (Kubernetes tracks them by name, which NormalizeScore here does not see) and
//! NormalizeScore gives them 0.

use std::collections::{BTreeSet, HashMap};

use super::{
    Constraint, PodTopologySpread, SCHEDULE_ANYWAY, count_matching_pods, counted_domains, counts_towards,
    for_each_matching_pod_domain, node_has_all_keys,
};
use crate::scheduler::framework::{Code, CycleState, NodeBatch, PreScorePlugin, ScorePlugin, Status};
use crate::scheduler::limits::MAX_NODE_SCORE;
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::node_tree::LABEL_HOSTNAME;
use crate::scheduler::plugins::node_affinity::RequiredNodeAffinity;
use crate::scheduler::pod_index::Candidates;
use crate::scheduler::snapshot::Snapshot;

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
    /// Per constraint (hostname constraints excepted, counted in Score): matching Pods per domain
    /// of the candidate nodes. Looked up only, never iterated.
    pub topology_value_pod_counts: Vec<HashMap<String, i64>>,
    /// Per constraint: `ln(domains + 2)`, so that small topologies are not drowned by big ones.
    pub topology_normalizing_weight: Vec<f64>,
    /// Per hostname constraint whose selector the snapshot's pod index narrows: matching Pods
    /// per node name, counted once in PreScore from the index (Kubernetes counts each scored
    /// node's Pods in Score; the totals are the same, the work no longer grows with the Pods of
    /// every scored node). `None`: counted in Score. Looked up only, never iterated.
    pub hostname_pod_counts: Vec<Option<HashMap<String, i64>>>,
}

/// `topologyNormalizingWeight`: the weight of a topology with `size` domains.
pub fn topology_normalizing_weight(size: usize) -> f64 {
    ((size + 2) as f64).ln()
}

/// `scoreForCount`: a domain's contribution.
fn score_for_count(count: i64, max_skew: i32, weight: f64) -> f64 {
    count as f64 * weight + f64::from(max_skew - 1)
}

impl PodTopologySpread {
    fn init_pre_score_state(
        &self,
        pod: &PodInfo,
        nodes: &[&NodeInfo],
        snapshot: &Snapshot,
        require_all_topologies: bool,
    ) -> Result<PreScoreState, String> {
        let constraints = self.constraints(pod, SCHEDULE_ANYWAY, snapshot.objects())?;
        if constraints.is_empty() {
            // Nothing to count: PreScore skips the plugin's Score.
            return Ok(PreScoreState {
                constraints,
                ignored_nodes: BTreeSet::new(),
                topology_value_pod_counts: Vec::new(),
                topology_normalizing_weight: Vec::new(),
                hostname_pod_counts: Vec::new(),
            });
        }
        let mut counts = vec![HashMap::<String, i64>::new(); constraints.len()];
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
                if !counts[index].contains_key(value) {
                    counts[index].insert(value.to_owned(), 0);
                }
            }
        }
        let topology_normalizing_weight = constraints
            .iter()
            .zip(&counts)
            .map(|(constraint, counts)| {
                let size = if constraint.topology_key == LABEL_HOSTNAME {
                    nodes.len() - ignored_nodes.len()
                } else {
                    counts.len()
                };
                topology_normalizing_weight(size)
            })
            .collect();
        let hostname_pod_counts = vec![None; constraints.len()];
        Ok(PreScoreState {
            constraints,
            ignored_nodes,
            topology_value_pod_counts: counts,
            topology_normalizing_weight,
            hostname_pod_counts,
        })
    }
}

impl PreScoreState {
    /// One node's raw score, or [`IGNORED_SCORE`].
    fn node_score(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        if !self.ignored_nodes.is_empty() && self.ignored_nodes.contains(node.name()) {
            return IGNORED_SCORE;
        }
        let labels = node.labels();
        let mut score = 0.0;
        for (index, constraint) in self.constraints.iter().enumerate() {
            let Some(value) = labels.get(&constraint.topology_key) else { continue };
            let count = if let Some(counts) = &self.hostname_pod_counts[index] {
                counts.get(node.name()).copied().unwrap_or(0)
            } else if constraint.topology_key == LABEL_HOSTNAME {
                count_matching_pods(&node.pods, &constraint.selector, pod.namespace())
            } else {
                self.topology_value_pod_counts[index].get(value.as_str()).copied().unwrap_or(0)
            };
            score += score_for_count(count, constraint.max_skew, self.topology_normalizing_weight[index]);
        }
        score.round() as i64
    }
}

impl PreScorePlugin for PodTopologySpread {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, nodes: &[&NodeInfo], snapshot: &Snapshot) -> Status {
        if nodes.is_empty() || snapshot.is_empty() {
            return Status::code_only(Code::Skip);
        }
        let declares =
            pod.spec().topology_spread_constraints.as_ref().is_some_and(|constraints| !constraints.is_empty());
        let require_all_topologies = declares || !self.system_defaulted;
        let mut pre_score = match self.init_pre_score_state(pod, nodes, snapshot, require_all_topologies) {
            Ok(pre_score) => pre_score,
            Err(error) => return Status::error(format!("calculating preScoreState: {error}")),
        };
        if pre_score.constraints.is_empty() {
            return Status::code_only(Code::Skip);
        }
        for (constraint, counts) in pre_score.constraints.iter().zip(&mut pre_score.hostname_pod_counts) {
            if constraint.topology_key == LABEL_HOSTNAME {
                *counts = count_per_node(snapshot, constraint, pod.namespace());
            }
        }
        if pre_score.topology_value_pod_counts.iter().all(HashMap::is_empty) {
            // Only hostname constraints (counted above or in Score): no domain to count Pods in,
            // so the pass over every node's domains is skipped.
            state.write(PRE_SCORE_STATE_KEY, pre_score);
            return Status::success();
        }
        let required = RequiredNodeAffinity::of(pod);
        let (domains, _) =
            counted_domains(snapshot, &pre_score.constraints, pod, &required, require_all_topologies, false);
        for ((constraint, counts), domains) in
            pre_score.constraints.iter().zip(&mut pre_score.topology_value_pod_counts).zip(&domains)
        {
            if counts.is_empty() {
                continue;
            }
            for_each_matching_pod_domain(snapshot, &constraint.selector, pod.namespace(), domains, |value| {
                if let Some(total) = counts.get_mut(value) {
                    *total += 1;
                }
            });
        }
        state.write(PRE_SCORE_STATE_KEY, pre_score);
        Status::success()
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
        scores.extend(batch.nodes().iter().map(|node| state.node_score(pod, node)));
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
fn count_per_node(snapshot: &Snapshot, constraint: &Constraint, namespace: &str) -> Option<HashMap<String, i64>> {
    if constraint.selector.is_empty() {
        return Some(HashMap::new());
    }
    if matches!(snapshot.pod_index().candidates(&constraint.selector), Candidates::All) {
        return None;
    }
    let mut counts: HashMap<String, i64> = HashMap::new();
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
