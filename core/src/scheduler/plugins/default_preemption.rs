//! DefaultPreemption (kube-scheduler 1.32's `defaultpreemption` plugin and the `preemption`
//! Evaluator): when a Pod fits no node, dry-runs a sample of the nodes where evicting
//! lower-priority Pods could help, keeps on each as few victims as possible (reprieving the ones
//! whose PodDisruptionBudget would be violated first, then the most important), and nominates the
//! node whose victims matter least. The driver carries out the evictions.

use std::borrow::Cow;
use std::sync::Arc;

use crate::scheduler::fit_error::{Diagnosis, FitError};
use crate::scheduler::framework::{
    Code, CycleState, NodeToStatus, Plugin, PostFilterContext, PostFilterPlugin, PostFilterResult, Status,
};
use crate::scheduler::limits::{MIN_CANDIDATE_NODES_ABSOLUTE, MIN_CANDIDATE_NODES_PERCENTAGE};
use crate::scheduler::listers::DisruptionBudget;
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::plugins::preemption_dry_run::dry_run_for_best_candidate;
pub use crate::scheduler::plugins::preemption_dry_run::{
    Candidate, DryRun, DryRunSearch, ERR_REASON_NO_VICTIMS, dry_run_every_candidate, filter_pods_with_pdb_violation,
    pick_one_node_for_preemption, sort_by_importance,
};

/// The plugin's registered name.
pub const NAME: &str = "DefaultPreemption";

/// A node's status when it was not Unschedulable to begin with.
pub const ERR_REASON_NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";

/// The condition type the scheduler sets on a victim before deleting it.
pub use crate::object::pod_conditions::DISRUPTION_TARGET;

/// The DisruptionTarget reason for a scheduler preemption (`PodReasonPreemptionByScheduler`).
pub const REASON_PREEMPTION_BY_SCHEDULER: &str = "PreemptionByScheduler";

/// Preempts lower-priority Pods (`DefaultPreemption` with its `DefaultPreemptionArgs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefaultPreemption {
    /// `minCandidateNodesPercentage`: the share of potential nodes to dry-run.
    pub min_candidate_nodes_percentage: u32,
    /// `minCandidateNodesAbsolute`: the least number of potential nodes to dry-run.
    pub min_candidate_nodes_absolute: u32,
}

impl Default for DefaultPreemption {
    fn default() -> DefaultPreemption {
        DefaultPreemption {
            min_candidate_nodes_percentage: MIN_CANDIDATE_NODES_PERCENTAGE,
            min_candidate_nodes_absolute: MIN_CANDIDATE_NODES_ABSOLUTE,
        }
    }
}

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        Some(self)
    }
}

/// Whether a Pod is being deleted because the scheduler preempted it
/// (`podTerminatingByPreemption`): deleting, and its first DisruptionTarget condition is True
/// with reason PreemptionByScheduler.
pub fn terminating_by_preemption(pod: &PodInfo) -> bool {
    if pod.pod.metadata.deletion_timestamp.is_none() {
        return false;
    }
    let conditions = pod.pod.status.as_ref().and_then(|status| status.conditions.as_ref());
    conditions.into_iter().flatten().find(|condition| condition.type_ == DISRUPTION_TARGET).is_some_and(|condition| {
        condition.status == "True" && condition.reason.as_deref() == Some(REASON_PREEMPTION_BY_SCHEDULER)
    })
}

/// Whether the Pod may preempt at all (`PodEligibleToPreemptOthers`), or why not. A Pod whose
/// nominated node still holds a lower-priority Pod terminating by preemption waits for it,
/// unless the filters now call that node unresolvable. `nominated_node` is the Pod's
/// `status.nominatedNodeName` (or its nomination in the scheduler), `nominated_status` that
/// node's status in this cycle.
pub fn pod_eligible_to_preempt_others(
    pod: &PodInfo,
    nominated_node: Option<&NodeInfo>,
    nominated_status: Option<&Status>,
) -> Result<(), &'static str> {
    if pod.spec().preemption_policy.as_deref() == Some("Never") {
        return Err("not eligible due to preemptionPolicy=Never.");
    }
    let Some(node) = nominated_node else { return Ok(()) };
    // A node the cycle did not evaluate counts as UnschedulableAndUnresolvable, as Kubernetes'
    // default NodeToStatus says.
    if nominated_status.is_none_or(|status| status.code() == Code::UnschedulableAndUnresolvable) {
        return Ok(());
    }
    if node.pods.iter().any(|other| other.priority < pod.priority && terminating_by_preemption(other)) {
        return Err("not eligible due to a terminating pod on the nominated node.");
    }
    Ok(())
}

impl DefaultPreemption {
    /// The plugin with explicit `DefaultPreemptionArgs`.
    pub fn with_args(min_candidate_nodes_percentage: u32, min_candidate_nodes_absolute: u32) -> DefaultPreemption {
        DefaultPreemption { min_candidate_nodes_percentage, min_candidate_nodes_absolute }
    }

    /// How many candidates a dry run looks for among `nodes` potential nodes
    /// (`calculateNumCandidates`): the configured share, at least the absolute minimum, at most
    /// every node.
    pub fn num_candidates(&self, nodes: usize) -> usize {
        let share = nodes * self.min_candidate_nodes_percentage as usize / 100;
        share.max(self.min_candidate_nodes_absolute as usize).min(nodes)
    }

    /// Where the dry run starts and how many candidates it wants (`GetOffsetAndNumCandidates`);
    /// `random` is the cycle's draw from the scheduler's seeded generator.
    pub fn offset_and_num_candidates(&self, nodes: usize, random: u64) -> (usize, usize) {
        let offset = if nodes == 0 { 0 } else { (random % nodes as u64) as usize };
        (offset, self.num_candidates(nodes))
    }

    /// The whole evaluation (`Evaluator.Preempt` without carrying the evictions out): the
    /// chosen candidate, or the result and status to return.
    fn preempt(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        statuses: &NodeToStatus,
        context: &PostFilterContext<'_>,
    ) -> Result<Candidate, (Option<PostFilterResult>, Status)> {
        let snapshot = context.snapshot;
        let nominated_name = pod
            .pod
            .status
            .as_ref()
            .and_then(|status| status.nominated_node_name.as_deref())
            .filter(|name| !name.is_empty())
            .or_else(|| context.nominator.node_of(&pod.key));
        let nominated_node = nominated_name.and_then(|name| snapshot.get(name)).map(Arc::as_ref);
        let nominated_status =
            nominated_name.and_then(|name| snapshot.position(name)).and_then(|position| statuses.get(position));
        if let Err(message) = pod_eligible_to_preempt_others(pod, nominated_node, nominated_status) {
            return Err((None, Status::new(Code::Unschedulable, message)));
        }
        let nodes = snapshot.list();
        let helpful = potential_positions(statuses, snapshot);
        let potential: Vec<(usize, &NodeInfo)> = nodes
            .iter()
            .enumerate()
            .zip(&helpful)
            .filter(|(_, helpful)| **helpful)
            .map(|((position, node), _)| (position, node.as_ref()))
            .collect();
        let budgets: Vec<&DisruptionBudget> = snapshot.objects().pod_disruption_budgets().collect();
        let (offset, num_candidates) = self.offset_and_num_candidates(potential.len(), context.random);
        let dry_run = dry_run_for_best_candidate(&DryRunSearch {
            runner: context.filters,
            state,
            pod,
            potential_nodes: &potential,
            budgets: &budgets,
            nominated: context.nominated,
            offset,
            num_candidates,
        });
        let Some(chosen) = dry_run.chosen else {
            if let Some(error) = dry_run.errors.first() {
                return Err((None, Status::error(error.message())));
            }
            // Built only now: the statuses of the nodes preemption cannot help are read only
            // when no candidate was found.
            let mut not_helpful = NodeToStatus::default();
            for (position, _) in helpful.iter().enumerate().filter(|(_, helpful)| !**helpful) {
                let status = Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_NOT_HELPFUL);
                not_helpful.statuses.push((position, status));
            }
            not_helpful.statuses.extend(dry_run.statuses.statuses);
            let fit_error = FitError {
                node_count: nodes.len(),
                diagnosis: Diagnosis { node_to_status: not_helpful, ..Diagnosis::default() },
            };
            let clear = PostFilterResult { nominated_node_name: Some(String::new()), victims: Vec::new() };
            return Err((Some(clear), Status::new(Code::Unschedulable, fit_error.to_string())));
        };
        Ok(chosen)
    }
}

/// Per node position in the snapshot's list, whether its status this cycle is Unschedulable, so
/// that preemption may help there (`nodesWherePreemptionMightHelp`). Walks the statuses once.
fn potential_positions(statuses: &NodeToStatus, snapshot: &crate::scheduler::snapshot::Snapshot) -> Vec<bool> {
    let absent_helps = statuses.absent.as_ref().map(Status::code) == Some(Code::Unschedulable);
    let mut helpful = vec![absent_helps; snapshot.len()];
    for (position, status) in &statuses.statuses {
        if let Some(helps) = helpful.get_mut(*position) {
            *helps = status.code() == Code::Unschedulable;
        }
    }
    helpful
}

impl PostFilterPlugin for DefaultPreemption {
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        statuses: &NodeToStatus,
        context: &PostFilterContext<'_>,
    ) -> (Option<PostFilterResult>, Status) {
        match self.preempt(state, pod, statuses, context) {
            Ok(chosen) => {
                let result = PostFilterResult { nominated_node_name: Some(chosen.node_name), victims: chosen.victims };
                (Some(result), Status::success())
            }
            Err((result, status)) => {
                let message = status.message();
                if message.is_empty() {
                    return (result, status);
                }
                (result, Status::new(status.code(), Cow::Owned(format!("preemption: {message}"))))
            }
        }
    }
}
