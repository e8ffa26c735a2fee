//! PodTopologySpread's PreFilter and Filter: PreFilter counts the matching Pods of every
//! eligible domain of each DoNotSchedule constraint and keeps the two least loaded domains
//! (the critical paths); Filter refuses a node when placing the Pod there would make its domain
//! exceed the global minimum by more than `maxSkew` (kube-scheduler 1.32
//! `podtopologyspread/filtering.go`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;

use super::{
    Constraint, DO_NOT_SCHEDULE, ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH, PodTopologySpread,
    counted_domains, for_each_matching_pod_domain, node_has_all_keys,
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
    pub match_counts: Vec<BTreeMap<String, i64>>,
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
            let count = self.match_counts[index].entry(value.to_owned()).or_insert(0);
            *count += delta;
            let count = *count;
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
        let (domains, distinct) = counted_domains(snapshot, &constraints, pod, &required, true, true);
        let mut match_counts: Vec<BTreeMap<String, i64>> =
            distinct.iter().map(|values| values.iter().map(|value| ((*value).to_owned(), 0)).collect()).collect();
        for ((constraint, counts), domains) in constraints.iter().zip(&mut match_counts).zip(&domains) {
            for_each_matching_pod_domain(snapshot, &constraint.selector, pod.namespace(), domains, |value| {
                if let Some(total) = counts.get_mut(value) {
                    *total += 1;
                }
            });
        }
        let critical_paths = match_counts
            .iter()
            .map(|counts| {
                let mut paths = CriticalPaths::default();
                for (value, count) in counts {
                    paths.update(value, *count);
                }
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
        match state.read::<PreFilterState>(PRE_FILTER_STATE_KEY) {
            Some(state) => fill_verdicts(batch, verdicts, |node, _| state.filter(node)),
            None => fill_verdicts(batch, verdicts, |_, _| state_not_found()),
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
            let self_match = self.self_match[index];
            let match_count = self.match_counts[index].get(value.as_str()).copied().unwrap_or(0);
            let skew = match_count + self_match - self.min_match(index);
            if skew > i64::from(constraint.max_skew) {
                return Status::new(Code::Unschedulable, ERR_REASON_CONSTRAINTS_NOT_MATCH);
            }
        }
        Status::success()
    }
}

/// The PreFilter state a cycle holds, for tests and traces.
pub fn pre_filter_state(state: &CycleState) -> Option<&PreFilterState> {
    state.read::<PreFilterState>(PRE_FILTER_STATE_KEY)
}
