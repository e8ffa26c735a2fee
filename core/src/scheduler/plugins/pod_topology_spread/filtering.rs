//! PodTopologySpread's PreFilter and Filter: PreFilter counts the matching Pods of every
//! eligible domain of each DoNotSchedule constraint and keeps the two least loaded domains
//! (the critical paths); Filter refuses a node when placing the Pod there would make its domain
//! exceed the global minimum by more than `maxSkew` (kube-scheduler 1.32
//! `podtopologyspread/filtering.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;

use super::domain_counts::{DenseCounts, DomainCounts, NodeDomain};
use super::{
    Constraint, DO_NOT_SCHEDULE, ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH, PodTopologySpread,
    counted_domains, counts_towards, every_node_included, for_each_matching_pod_domain, node_has_all_keys,
};
use crate::scheduler::framework::{
    Code, CycleState, FilterPlugin, NodeBatch, PreFilterPlugin, PreFilterResult, Status, fill_verdicts,
};
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::plugins::node_affinity::RequiredNodeAffinity;
use crate::scheduler::plugins::node_not_found;
use crate::scheduler::snapshot::Snapshot;

/// The CycleState key of the PreFilter state.
pub const PRE_FILTER_STATE_KEY: &str = "PreFilterPodTopologySpread";

/// The count the critical paths start from (`math.MaxInt32`).
const NO_DOMAIN: i64 = i32::MAX as i64;

/// The two domains with the fewest matching Pods, fewest first (`criticalPaths`); kept up to
/// date incrementally as Kubernetes does when Pods are added or removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CriticalPaths(pub [(String, i64); 2]);

impl Default for CriticalPaths {
    fn default() -> CriticalPaths {
        CriticalPaths([(String::new(), NO_DOMAIN), (String::new(), NO_DOMAIN)])
    }
}

impl CriticalPaths {
    /// Records a domain's new count (`criticalPaths.update`).
    pub fn update(&mut self, value: &str, count: i64) {
        let paths = &mut self.0;
        let index = if paths[0].0 == value {
            Some(0)
        } else if paths[1].0 == value {
            Some(1)
        } else {
            None
        };
        match index {
            Some(index) => {
                paths[index].1 = count;
                if paths[0].1 > paths[1].1 {
                    paths.swap(0, 1);
                }
            }
            None if count < paths[0].1 => {
                paths[1] = std::mem::replace(&mut paths[0], (value.to_owned(), count));
            }
            None if count < paths[1].1 => paths[1] = (value.to_owned(), count),
            None => {}
        }
    }

    /// The fewest matching Pods of any domain.
    pub fn min(&self) -> i64 {
        self.0[0].1
    }
}

/// What PreFilter computed for Filter and for the AddPod / RemovePod extensions.
#[derive(Clone, Debug)]
pub struct PreFilterState {
    /// The DoNotSchedule constraints.
    pub constraints: Vec<Constraint>,
    /// Per constraint: matching Pods per eligible domain (topology value).
    pub match_counts: Vec<DomainCounts>,
    /// Per constraint: the two least loaded domains.
    pub critical_paths: Vec<CriticalPaths>,
    /// The incoming Pod's required node affinity, for AddPod / RemovePod.
    required: RequiredNodeAffinity,
    /// Per constraint: 1 when the incoming Pod matches its own selector (it will count once
    /// placed), else 0; the same for every node, so computed once.
    self_match: Vec<i64>,
}

impl PreFilterState {
    /// The global minimum for a constraint, 0 while fewer domains than `minDomains` exist.
    fn min_match(&self, index: usize) -> i64 {
        if self.match_counts[index].len() < self.constraints[index].min_domains.max(0) as usize {
            0
        } else {
            self.critical_paths[index].min()
        }
    }

    /// Accounts (`delta` 1) or un-accounts (-1) a Pod placed on a node (`updateWithPod`).
    fn update_with_pod(&mut self, updated: &core::Pod, preemptor: &PodInfo, node: &NodeInfo, delta: i64) {
        if updated.metadata.namespace.as_deref().unwrap_or("") != preemptor.namespace() || node.node().is_none() {
            return;
        }
        let labels = node.labels();
        if !node_has_all_keys(labels, &self.constraints) {
            return;
        }
        for (index, constraint) in self.constraints.iter().enumerate() {
            if !constraint.selector.matches_optional(updated.metadata.labels.as_ref())
                || !constraint.includes_node(preemptor, node, &self.required)
            {
                continue;
            }
            let value = labels.get(&constraint.topology_key).map(String::as_str).unwrap_or("");
            let count = self.match_counts[index].add(value, delta);
            self.critical_paths[index].update(value, count);
        }
    }
}

impl PreFilterPlugin for PodTopologySpread {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let constraints = match self.constraints(pod, DO_NOT_SCHEDULE, snapshot.objects()) {
            Ok(constraints) => constraints,
            Err(error) => return (None, Status::error(format!("get constraints from pod: {error}"))),
        };
        if constraints.is_empty() {
            return (None, Status::code_only(Code::Skip));
        }
        let required = RequiredNodeAffinity::of(pod);
        let match_counts = dense_match_counts(snapshot, &constraints, pod, &required)
            .unwrap_or_else(|| match_counts_by_value(snapshot, &constraints, pod, &required));
        let critical_paths = match_counts
            .iter()
            .map(|counts| {
                let mut paths = CriticalPaths::default();
                counts.for_each(|value, count| paths.update(value, count));
                paths
            })
            .collect();
        let pod_labels = pod.pod.metadata.labels.as_ref();
        let self_match =
            constraints.iter().map(|constraint| i64::from(constraint.selector.matches_optional(pod_labels))).collect();
        let pre_filter = PreFilterState { constraints, match_counts, critical_paths, required, self_match };
        state.write(PRE_FILTER_STATE_KEY, pre_filter);
        (None, Status::success())
    }

    fn add_pod(&self, state: &mut CycleState, pod: &PodInfo, pod_to_add: &PodInfo, node: &NodeInfo) -> Status {
        if let Some(state) = state.read_mut::<PreFilterState>(PRE_FILTER_STATE_KEY) {
            state.update_with_pod(&pod_to_add.pod, pod, node, 1);
        }
        Status::success()
    }

    fn remove_pod(&self, state: &mut CycleState, pod: &PodInfo, pod_to_remove: &PodInfo, node: &NodeInfo) -> Status {
        if let Some(state) = state.read_mut::<PreFilterState>(PRE_FILTER_STATE_KEY) {
            state.update_with_pod(&pod_to_remove.pod, pod, node, -1);
        }
        Status::success()
    }
}

impl FilterPlugin for PodTopologySpread {
    fn filter(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Status {
        match state.read::<PreFilterState>(PRE_FILTER_STATE_KEY) {
            Some(state) => state.filter(node),
            None => state_not_found(),
        }
    }

    fn filter_nodes(&self, state: &CycleState, _pod: &PodInfo, batch: &NodeBatch<'_>, verdicts: &mut [Option<Status>]) {
        let Some(state) = state.read::<PreFilterState>(PRE_FILTER_STATE_KEY) else {
            return fill_verdicts(batch, verdicts, |_, _| state_not_found());
        };
        if !state.is_dense() {
            return fill_verdicts(batch, verdicts, |node, _| state.filter(node));
        }
        for ((node, position), verdict) in batch.nodes().iter().zip(batch.positions()).zip(verdicts.iter_mut()) {
            if verdict.is_none() {
                let status = state.filter_at(node, *position);
                if !status.is_success() {
                    *verdict = Some(status);
                }
            }
        }
    }
}

fn state_not_found() -> Status {
    Status::error(format!("reading {PRE_FILTER_STATE_KEY:?} from cycleState: not found"))
}

impl PreFilterState {
    /// The Filter's verdict on one node: every constraint's skew within `maxSkew` with the Pod
    /// placed there.
    fn filter(&self, node: &NodeInfo) -> Status {
        if node.node().is_none() {
            return node_not_found();
        }
        let labels = node.labels();
        for (index, constraint) in self.constraints.iter().enumerate() {
            let Some(value) = labels.get(&constraint.topology_key) else {
                return Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_NODE_LABEL_NOT_MATCH);
            };
            let match_count = self.match_counts[index].get(value.as_str()).unwrap_or(0);
            if self.exceeds_skew(index, match_count) {
                return Status::new(Code::Unschedulable, ERR_REASON_CONSTRAINTS_NOT_MATCH);
            }
        }
        Status::success()
    }

    /// Whether every constraint's counts are dense, so that [`filter_at`](Self::filter_at)
    /// applies.
    fn is_dense(&self) -> bool {
        self.match_counts.iter().all(|counts| matches!(counts, DomainCounts::Dense(_)))
    }

    /// [`filter`](Self::filter) on the node at a snapshot position, reading its domains by
    /// position. Only for dense counts, whose arrays were built from the snapshot's nodes, every
    /// one of which has a Node object.
    fn filter_at(&self, node: &NodeInfo, position: usize) -> Status {
        debug_assert!(node.node().is_some(), "a snapshot node has a Node object");
        for (index, counts) in self.match_counts.iter().enumerate() {
            let DomainCounts::Dense(dense) = counts else { return self.filter(node) };
            let match_count = match dense.at_position(position) {
                NodeDomain::Unlabelled => {
                    return Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_NODE_LABEL_NOT_MATCH);
                }
                NodeDomain::Count(count) => count,
            };
            if self.exceeds_skew(index, match_count) {
                return Status::new(Code::Unschedulable, ERR_REASON_CONSTRAINTS_NOT_MATCH);
            }
        }
        Status::success()
    }

    /// Whether a domain holding `match_count` matching Pods would exceed a constraint's
    /// `maxSkew` with the Pod placed in it.
    fn exceeds_skew(&self, index: usize, match_count: i64) -> bool {
        match_count + self.self_match[index] - self.min_match(index) > i64::from(self.constraints[index].max_skew)
    }
}

/// The PreFilter counts through the nodes' labels: any topology key and inclusion policy.
fn match_counts_by_value(
    snapshot: &Snapshot,
    constraints: &[Constraint],
    pod: &PodInfo,
    required: &RequiredNodeAffinity,
) -> Vec<DomainCounts> {
    let (domains, distinct) = counted_domains(snapshot, constraints, pod, required, true, true);
    let mut match_counts: Vec<BTreeMap<String, i64>> =
        distinct.iter().map(|values| values.iter().map(|value| ((*value).to_owned(), 0)).collect()).collect();
    for ((constraint, counts), domains) in constraints.iter().zip(&mut match_counts).zip(&domains) {
        for_each_matching_pod_domain(snapshot, &constraint.selector, pod.namespace(), domains, |value| {
            if let Some(total) = counts.get_mut(value) {
                *total += 1;
            }
        });
    }
    match_counts.into_iter().map(DomainCounts::ByValue).collect()
}

/// The PreFilter counts by the snapshot's dense domain ids, when every topology key is a
/// well-known one and every node counts (no inclusion policy leaves one out); `None`
/// otherwise. The eligible domains are those of nodes holding every constraint's label, and
/// the Pods counted those on such nodes, as [`match_counts_by_value`] has them.
fn dense_match_counts(
    snapshot: &Snapshot,
    constraints: &[Constraint],
    pod: &PodInfo,
    required: &RequiredNodeAffinity,
) -> Option<Vec<DomainCounts>> {
    if !every_node_included(constraints, required) {
        return None;
    }
    let domains: Vec<Arc<_>> = constraints
        .iter()
        .map(|constraint| snapshot.shared_topology_domains(&constraint.topology_key))
        .collect::<Option<_>>()?;
    let complete = |position: usize| domains.iter().all(|of_key| of_key.domain_of_node[position].is_some());
    let mut eligible: Vec<Vec<bool>> = domains.iter().map(|of_key| vec![false; of_key.values.len()]).collect();
    if domains.iter().all(|of_key| of_key.unlabelled == 0) {
        eligible.iter_mut().for_each(|eligible| eligible.fill(true));
    } else {
        for position in (0..snapshot.len()).filter(|position| complete(*position)) {
            for (eligible, of_key) in eligible.iter_mut().zip(&domains) {
                if let Some(id) = of_key.domain_of_node[position] {
                    eligible[id as usize] = true;
                }
            }
        }
    }
    let mut match_counts = Vec::with_capacity(constraints.len());
    for ((constraint, of_key), eligible) in constraints.iter().zip(&domains).zip(&eligible) {
        let mut counts = DenseCounts::new(Arc::clone(of_key), eligible);
        if !constraint.selector.is_empty() {
            snapshot.for_each_pod_possibly_matching(&constraint.selector, |position, _, placed| {
                if let Some(id) = of_key.domain_of_node[position]
                    && complete(position)
                    && counts_towards(placed, &constraint.selector, pod.namespace())
                {
                    counts.count_at_id(id);
                }
            });
        }
        match_counts.push(DomainCounts::Dense(counts));
    }
    Some(match_counts)
}

/// The PreFilter state a cycle holds, for tests and traces.
pub fn pre_filter_state(state: &CycleState) -> Option<&PreFilterState> {
    state.read::<PreFilterState>(PRE_FILTER_STATE_KEY)
}
