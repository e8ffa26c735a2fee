//! InterPodAffinity's PreFilter and Filter: PreFilter counts, per topology domain, the running
//! Pods matching the incoming Pod's required affinity and anti-affinity terms and the running
//! Pods whose required anti-affinity the incoming Pod matches; Filter then checks one node's
//! domains against those counts (kube-scheduler 1.32 `interpodaffinity/filtering.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;

use super::dense_totals::{DenseTotals, dense_counts};
use super::{InterPodAffinity, TopologyCounts, merge_namespaces};
use crate::scheduler::fast_map::FastHashMap;
use crate::scheduler::framework::{
    Code, CycleState, FilterPlugin, NodeBatch, PreFilterPlugin, PreFilterResult, Status, fill_verdicts,
};
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::plugins::node_not_found;
use crate::scheduler::pod_affinity::{AffinityTerm, matches_all};
use crate::scheduler::snapshot::Snapshot;

/// The reason a node's domain has no Pod the incoming Pod's required affinity asks for.
pub const ERR_REASON_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod affinity rules";

/// The reason a node's domain has a Pod the incoming Pod's required anti-affinity refuses.
pub const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod anti-affinity rules";

/// The reason a running Pod's required anti-affinity refuses the incoming Pod in the node's domain.
pub const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";

/// The CycleState key of the PreFilter state.
pub const PRE_FILTER_STATE_KEY: &str = "PreFilterInterPodAffinity";

/// What PreFilter computed for Filter and for the AddPod / RemovePod extensions.
#[derive(Clone, Debug)]
pub struct PreFilterState {
    /// The incoming Pod.
    pub pod: Arc<core::Pod>,
    /// Its required affinity terms, namespace selectors resolved.
    pub required_affinity: Vec<AffinityTerm>,
    /// Its required anti-affinity terms, namespace selectors resolved.
    pub required_anti_affinity: Vec<AffinityTerm>,
    /// The labels of the incoming Pod's namespace, for running Pods' namespace selectors.
    pub namespace_labels: Option<BTreeMap<String, String>>,
    /// Running Pods whose required anti-affinity terms match the incoming Pod, per domain.
    pub existing_anti_affinity_counts: TopologyCounts,
    /// Running Pods matching all the incoming Pod's affinity terms, per domain and term.
    pub affinity_counts: TopologyCounts,
    /// Running Pods matching each of the incoming Pod's anti-affinity terms, per domain.
    pub anti_affinity_counts: TopologyCounts,
    /// The same counts by dense domain id, while they are as PreFilter computed them (AddPod
    /// and RemovePod drop it) and every topology key involved is kept densely.
    dense: Option<Arc<DenseFilter>>,
}

/// The PreFilter counts by dense domain id, for the batch Filter.
#[derive(Debug)]
struct DenseFilter {
    /// Per required affinity term: the Pods matching all the terms, per domain of its key.
    affinity: Vec<DenseTotals>,
    /// Per required anti-affinity term: the Pods matching it, per domain of its key.
    anti_affinity: Vec<DenseTotals>,
    /// Per key of the existing Pods' anti-affinity counts.
    existing_anti_affinity: Vec<DenseTotals>,
    /// Whether a node whose domains hold no matching Pod still passes the affinity terms: no
    /// Pod matches them anywhere and the incoming Pod matches its own terms.
    first_of_group: bool,
}

impl DenseFilter {
    fn of(state: &PreFilterState, snapshot: &Snapshot) -> Option<DenseFilter> {
        fn keys(terms: &[AffinityTerm]) -> impl Iterator<Item = &str> {
            terms.iter().map(|term| term.topology_key.as_str())
        }
        Some(DenseFilter {
            affinity: dense_counts(snapshot, &state.affinity_counts, keys(&state.required_affinity))?,
            anti_affinity: dense_counts(snapshot, &state.anti_affinity_counts, keys(&state.required_anti_affinity))?,
            existing_anti_affinity: dense_counts(
                snapshot,
                &state.existing_anti_affinity_counts,
                state.existing_anti_affinity_counts.keys(),
            )?,
            first_of_group: state.affinity_counts.is_empty() && matches_all(&state.required_affinity, &state.pod),
        })
    }

    /// [`PreFilterState::filter`] on the node at a snapshot position: the same checks in the
    /// same order. The dense arrays come from the snapshot's nodes, each of which has a Node.
    fn filter_at(&self, position: usize) -> Status {
        let mut pods_exist = true;
        for totals in &self.affinity {
            match totals.at(position) {
                None => return Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_AFFINITY_RULES_NOT_MATCH),
                Some(count) if count <= 0 => pods_exist = false,
                Some(_) => {}
            }
        }
        if !pods_exist && !self.first_of_group {
            return Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_AFFINITY_RULES_NOT_MATCH);
        }
        let refused =
            |totals: &[DenseTotals]| totals.iter().any(|totals| totals.at(position).is_some_and(|count| count > 0));
        if refused(&self.anti_affinity) {
            return Status::new(Code::Unschedulable, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
        }
        if refused(&self.existing_anti_affinity) {
            return Status::new(Code::Unschedulable, ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
        }
        Status::success()
    }
}

impl PreFilterState {
    /// Accounts (`delta` 1) or un-accounts (-1) a Pod placed on a node (`updateWithPod`).
    fn update_with_pod(&mut self, other: &PodInfo, node: &NodeInfo, delta: i64) {
        self.dense = None;
        let labels = node.labels();
        if let Some(terms) = &other.affinity_terms {
            for term in &terms.required_anti_affinity {
                if term.matches(&self.pod, self.namespace_labels.as_ref()) {
                    self.existing_anti_affinity_counts.update(labels, &term.topology_key, delta);
                }
            }
        }
        if matches_all(&self.required_affinity, &other.pod) {
            for term in &self.required_affinity {
                self.affinity_counts.update(labels, &term.topology_key, delta);
            }
        }
        for term in &self.required_anti_affinity {
            if term.matches(&other.pod, None) {
                self.anti_affinity_counts.update(labels, &term.topology_key, delta);
            }
        }
    }

    /// Whether the node's domains hold Pods matching every required affinity term, or the Pod
    /// is the first of a group that matches its own terms (`satisfyPodAffinity`).
    fn satisfies_pod_affinity(&self, labels: &BTreeMap<String, String>) -> bool {
        let mut pods_exist = true;
        for term in &self.required_affinity {
            let Some(value) = labels.get(&term.topology_key) else {
                return false;
            };
            if self.affinity_counts.get(&term.topology_key, value) <= 0 {
                pods_exist = false;
            }
        }
        pods_exist || (self.affinity_counts.is_empty() && matches_all(&self.required_affinity, &self.pod))
    }

    /// Whether no domain of the node holds a Pod the incoming Pod's anti-affinity refuses.
    fn satisfies_pod_anti_affinity(&self, labels: &BTreeMap<String, String>) -> bool {
        if self.anti_affinity_counts.is_empty() {
            return true;
        }
        !self.required_anti_affinity.iter().any(|term| {
            labels
                .get(&term.topology_key)
                .is_some_and(|value| self.anti_affinity_counts.get(&term.topology_key, value) > 0)
        })
    }

    /// Whether no running Pod's anti-affinity refuses the incoming Pod in any domain of the node.
    fn satisfies_existing_pods_anti_affinity(&self, labels: &BTreeMap<String, String>) -> bool {
        if self.existing_anti_affinity_counts.is_empty() {
            return true;
        }
        !self.existing_anti_affinity_counts.any_in_domains_of(labels)
    }
}

/// Counts the running Pods whose required anti-affinity matches the incoming Pod
/// (`getExistingAntiAffinityCounts`). Replicas share their terms' class, so the incoming Pod is
/// matched against each distinct set of terms once.
fn existing_anti_affinity_counts(
    pod: &core::Pod,
    namespace_labels: Option<&BTreeMap<String, String>>,
    snapshot: &Snapshot,
) -> TopologyCounts {
    let mut counts = TopologyCounts::default();
    // Per terms class: the topology keys of the required anti-affinity terms the Pod matches.
    let mut matched_keys: FastHashMap<u32, Vec<&str>> = FastHashMap::default();
    snapshot.for_each_pod_with_terms_possibly_matching(pod.metadata.labels.as_ref(), |entry| {
        let keys = matched_keys.entry(entry.terms_class).or_insert_with(|| {
            let terms = entry.pod.affinity_terms.iter().flat_map(|terms| &terms.required_anti_affinity);
            terms.filter(|term| term.matches(pod, namespace_labels)).map(|term| term.topology_key.as_str()).collect()
        });
        for key in keys.iter() {
            counts.add_at(snapshot, entry.node, key, 1);
        }
    });
    counts
}

/// Counts the running Pods matching the incoming Pod's terms
/// (`getIncomingAffinityAntiAffinityCounts`), visiting only the Pods each term's selector can
/// match.
fn incoming_counts(
    affinity: &[AffinityTerm],
    anti_affinity: &[AffinityTerm],
    snapshot: &Snapshot,
) -> (TopologyCounts, TopologyCounts) {
    let mut affinity_counts = TopologyCounts::default();
    let mut anti_affinity_counts = TopologyCounts::default();
    if let Some((first, rest)) = affinity.split_first() {
        snapshot.for_each_pod_matching(first, |position, existing| {
            if rest.iter().all(|term| term.matches(&existing.pod, None)) {
                for term in affinity {
                    affinity_counts.add_at(snapshot, position, &term.topology_key, 1);
                }
            }
        });
    }
    for term in anti_affinity {
        snapshot.for_each_pod_matching(term, |position, _| {
            anti_affinity_counts.add_at(snapshot, position, &term.topology_key, 1);
        });
    }
    (affinity_counts, anti_affinity_counts)
}

impl PreFilterPlugin for InterPodAffinity {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let terms = pod.affinity_terms.as_deref();
        if let Some(error) = terms.and_then(|terms| terms.parse_error.as_ref()) {
            return (None, Status::new(Code::UnschedulableAndUnresolvable, format!("parsing pod: {error}")));
        }
        let objects = snapshot.objects();
        let resolve = |terms: &[AffinityTerm]| -> Vec<AffinityTerm> {
            terms.iter().map(|term| merge_namespaces(term, objects)).collect()
        };
        let required_affinity = terms.map(|terms| resolve(&terms.required_affinity)).unwrap_or_default();
        let required_anti_affinity = terms.map(|terms| resolve(&terms.required_anti_affinity)).unwrap_or_default();
        let namespace_labels = objects.namespace_labels(pod.namespace()).cloned();
        let existing_anti_affinity_counts =
            existing_anti_affinity_counts(&pod.pod, namespace_labels.as_ref(), snapshot);
        let (affinity_counts, anti_affinity_counts) =
            incoming_counts(&required_affinity, &required_anti_affinity, snapshot);
        if existing_anti_affinity_counts.is_empty() && required_affinity.is_empty() && required_anti_affinity.is_empty()
        {
            return (None, Status::code_only(Code::Skip));
        }
        let mut pre_filter = PreFilterState {
            pod: Arc::clone(&pod.pod),
            required_affinity,
            required_anti_affinity,
            namespace_labels,
            existing_anti_affinity_counts,
            affinity_counts,
            anti_affinity_counts,
            dense: None,
        };
        pre_filter.dense = DenseFilter::of(&pre_filter, snapshot).map(Arc::new);
        state.write(PRE_FILTER_STATE_KEY, pre_filter);
        (None, Status::success())
    }

    fn add_pod(&self, state: &mut CycleState, _pod: &PodInfo, pod_to_add: &PodInfo, node: &NodeInfo) -> Status {
        if let Some(state) = state.read_mut::<PreFilterState>(PRE_FILTER_STATE_KEY) {
            state.update_with_pod(pod_to_add, node, 1);
        }
        Status::success()
    }

    fn remove_pod(&self, state: &mut CycleState, _pod: &PodInfo, pod_to_remove: &PodInfo, node: &NodeInfo) -> Status {
        if let Some(state) = state.read_mut::<PreFilterState>(PRE_FILTER_STATE_KEY) {
            state.update_with_pod(pod_to_remove, node, -1);
        }
        Status::success()
    }
}

impl FilterPlugin for InterPodAffinity {
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
        let Some(dense) = &state.dense else {
            return fill_verdicts(batch, verdicts, |node, _| state.filter(node));
        };
        for (position, verdict) in batch.positions().iter().zip(verdicts.iter_mut()) {
            if verdict.is_none() {
                let status = dense.filter_at(*position);
                if !status.is_success() {
                    *verdict = Some(status);
                }
            }
        }
    }
}

fn state_not_found() -> Status {
    Status::error(format!("error reading {PRE_FILTER_STATE_KEY:?} from cycleState: not found"))
}

impl PreFilterState {
    /// The Filter's verdict on one node.
    fn filter(&self, node: &NodeInfo) -> Status {
        if node.node().is_none() {
            return node_not_found();
        }
        let labels = node.labels();
        if !self.satisfies_pod_affinity(labels) {
            return Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_AFFINITY_RULES_NOT_MATCH);
        }
        if !self.satisfies_pod_anti_affinity(labels) {
            return Status::new(Code::Unschedulable, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
        }
        if !self.satisfies_existing_pods_anti_affinity(labels) {
            return Status::new(Code::Unschedulable, ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
        }
        Status::success()
    }
}

/// The PreFilter state a cycle holds, for tests and traces.
pub fn pre_filter_state(state: &CycleState) -> Option<&PreFilterState> {
    state.read::<PreFilterState>(PRE_FILTER_STATE_KEY)
}
