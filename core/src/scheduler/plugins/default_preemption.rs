//! DefaultPreemption (kube-scheduler 1.32's `defaultpreemption` plugin and the `preemption`
//! Evaluator): when a Pod fits no node, dry-runs a sample of the nodes where evicting
//! lower-priority Pods could help, keeps on each as few victims as possible (reprieving the ones
//! whose PodDisruptionBudget would be violated first, then the most important), and nominates the
//! node whose victims matter least. The driver carries out the evictions.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::sync::Arc;

use crate::jiff::Timestamp;
use crate::scheduler::fit_error::{Diagnosis, FitError};
use crate::scheduler::framework::{
    Code, CycleState, FilterPlugin, FilterRunner, NodeToStatus, Plugin, PostFilterContext, PostFilterPlugin,
    PostFilterResult, Status,
};
use crate::scheduler::limits::{MIN_CANDIDATE_NODES_ABSOLUTE, MIN_CANDIDATE_NODES_PERCENTAGE};
use crate::scheduler::listers::DisruptionBudget;
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::nominator::Nominator;

/// The plugin's registered name.
pub const NAME: &str = "DefaultPreemption";

/// A node's status when it was not Unschedulable to begin with.
pub const ERR_REASON_NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";

/// A node's status when it has no lower-priority Pod.
pub const ERR_REASON_NO_VICTIMS: &str = "No preemption victims found for incoming pod";

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

/// A node where preemption would let the Pod fit, its victims (most important first) and how
/// many of them would violate a PodDisruptionBudget.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The node.
    pub node_name: String,
    /// The Pods to evict, most important first.
    pub victims: Vec<Arc<PodInfo>>,
    /// How many victims violate a PodDisruptionBudget.
    pub num_pdb_violations: usize,
}

/// What a dry run found: the candidates (those violating no budget first) and each rejected
/// node's status.
#[derive(Clone, Debug, Default)]
pub struct DryRun {
    /// Candidates, non-violating ones first, each group in visiting order.
    pub candidates: Vec<Candidate>,
    /// Why each visited node is no candidate.
    pub statuses: NodeToStatus,
    /// Internal errors met on the way.
    pub errors: Vec<Status>,
}

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        Some(self)
    }
}

/// Sorts Pods most important first: higher priority, then earlier start (`MoreImportantPod`).
/// The sort is stable, so equal Pods keep their order on the node.
pub fn sort_by_importance(pods: &mut [Arc<PodInfo>]) {
    pods.sort_by_key(|pod| (Reverse(pod.priority), pod.start_time));
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

/// Splits Pods into those whose eviction would violate a PodDisruptionBudget and the others,
/// keeping their order (`filterPodsWithPDBViolation`). Each budget's allowance is spent by the
/// Pods it covers in order; a Pod the API already counted (`disruptedPods`) spends nothing.
pub fn filter_pods_with_pdb_violation(
    pods: &[Arc<PodInfo>],
    budgets: &[&DisruptionBudget],
) -> (Vec<Arc<PodInfo>>, Vec<Arc<PodInfo>>) {
    let mut allowed: Vec<i64> = budgets.iter().map(|budget| i64::from(budget.disruptions_allowed)).collect();
    let mut violating = Vec::new();
    let mut non_violating = Vec::new();
    for pod in pods {
        let mut violated = false;
        for (index, budget) in budgets.iter().enumerate() {
            if !budget.covers(&pod.pod) || budget.disrupted_pods.contains(pod.name()) {
                continue;
            }
            allowed[index] -= 1;
            if allowed[index] < 0 {
                violated = true;
            }
        }
        if violated {
            violating.push(Arc::clone(pod));
        } else {
            non_violating.push(Arc::clone(pod));
        }
    }
    (violating, non_violating)
}

/// What a dry run reuses from node to node: the Filters resolved once, and the scratch copies of
/// the cycle state and of the node that victims are removed from and added back to, overwritten
/// for each node in place of a fresh copy (the state's entries are shared with the cycle's until
/// an AddPod or RemovePod changes one).
pub struct DryRunScratch<'f> {
    filters: Vec<(&'static str, &'f dyn FilterPlugin)>,
    state: CycleState,
    node: NodeInfo,
    potential: Vec<Arc<PodInfo>>,
}

impl<'f> DryRunScratch<'f> {
    /// Scratch space for dry runs of the cycle whose state is `state`.
    pub fn new(filters: &'f dyn FilterRunner, state: &CycleState) -> DryRunScratch<'f> {
        DryRunScratch {
            filters: filters.active_filter_list(state),
            state: state.clone(),
            node: NodeInfo::default(),
            potential: Vec::new(),
        }
    }
}

/// The victims on one node (`SelectVictimsOnNode`): remove every lower-priority Pod; if the
/// preemptor then fits, add them back — budget-violating ones first, each group most important
/// first — keeping back each one whose return makes the preemptor no longer fit. Works on copies
/// of the node and of the cycle state. Returns the victims (most important first) and how many
/// of them violate a budget.
pub fn select_victims_on_node(
    filters: &dyn FilterRunner,
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
    budgets: &[&DisruptionBudget],
    nominator: &Nominator,
) -> Result<(Vec<Arc<PodInfo>>, usize), Status> {
    let mut scratch = DryRunScratch::new(filters, state);
    select_victims_with_scratch(&mut scratch, filters, state, pod, node, budgets, nominator)
}

/// [`select_victims_on_node`] on scratch space reused across the nodes of one dry run.
fn select_victims_with_scratch(
    scratch: &mut DryRunScratch<'_>,
    runner: &dyn FilterRunner,
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
    budgets: &[&DisruptionBudget],
    nominator: &Nominator,
) -> Result<(Vec<Arc<PodInfo>>, usize), Status> {
    let DryRunScratch { filters, state: trial_state, node: trial, potential } = scratch;
    trial_state.clone_from(state);
    trial.clone_from(node);
    potential.clear();
    potential.extend(node.pods.iter().filter(|other| other.priority < pod.priority).cloned());
    for victim in potential.iter() {
        trial.remove_pod_info(victim);
        let status = runner.run_remove_pod(trial_state, pod, victim, trial);
        if !status.is_success() {
            return Err(status);
        }
    }
    if potential.is_empty() {
        return Err(Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_NO_VICTIMS));
    }
    let status = runner.run_active_filters_with_nominated(filters, trial_state, pod, trial, nominator);
    if !status.is_success() {
        return Err(status);
    }
    sort_by_importance(potential);
    let (violating, non_violating) = filter_pods_with_pdb_violation(potential, budgets);
    let mixed = !violating.is_empty() && !non_violating.is_empty();
    let mut victims = Vec::new();
    let mut num_violating = 0;
    for (candidate, violates) in
        violating.into_iter().map(|pod| (pod, true)).chain(non_violating.into_iter().map(|pod| (pod, false)))
    {
        trial.add_pod(Arc::clone(&candidate));
        let status = runner.run_add_pod(trial_state, pod, &candidate, trial);
        if !status.is_success() {
            return Err(status);
        }
        if runner.run_active_filters_with_nominated(filters, trial_state, pod, trial, nominator).is_success() {
            continue;
        }
        trial.remove_pod_info(&candidate);
        let status = runner.run_remove_pod(trial_state, pod, &candidate, trial);
        if !status.is_success() {
            return Err(status);
        }
        num_violating += usize::from(violates);
        victims.push(candidate);
    }
    if mixed {
        sort_by_importance(&mut victims);
    }
    Ok((victims, num_violating))
}

/// A node's key for [`pick_one_node_for_preemption`]: each field is compared in turn, smaller
/// wins.
type PickKey = (usize, i32, i64, usize, Reverse<Timestamp>);

fn pick_key(candidate: &Candidate) -> PickKey {
    let victims = &candidate.victims;
    let highest = victims.iter().map(|victim| victim.priority).max().unwrap_or(i32::MIN);
    // Priorities are shifted by 2^31 so that a few negative-priority victims never beat fewer
    // victims of the same priority.
    let sum: i64 = victims.iter().map(|victim| i64::from(victim.priority) + i64::from(i32::MAX) + 1).sum();
    let earliest_of_highest = victims
        .iter()
        .filter(|victim| victim.priority == highest)
        .map(|victim| victim.start_time)
        .min()
        .unwrap_or(Timestamp::MIN);
    (candidate.num_pdb_violations, highest, sum, victims.len(), Reverse(earliest_of_highest))
}

/// The candidate whose eviction costs least (`pickOneNodeForPreemption`): fewest budget
/// violations, then the lowest highest-priority victim, then the smallest sum of priorities,
/// then the fewest victims, then the latest start among the highest-priority victims, then the
/// first.
pub fn pick_one_node_for_preemption(candidates: &[Candidate]) -> Option<&Candidate> {
    // `min_by_key` returns the first of equal minima, as Kubernetes takes the first node left.
    candidates.iter().min_by_key(|candidate| pick_key(candidate))
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

    /// Dry-runs preemption on the potential nodes from `offset`, wrapping around, until
    /// `num_candidates` candidates are found of which at least one violates no budget
    /// (`DryRunPreemption`). Each group keeps at most `num_candidates` candidates.
    #[allow(clippy::too_many_arguments)]
    pub fn dry_run_preemption(
        &self,
        filters: &dyn FilterRunner,
        state: &CycleState,
        pod: &PodInfo,
        potential_nodes: &[(usize, &NodeInfo)],
        budgets: &[&DisruptionBudget],
        nominator: &Nominator,
        offset: usize,
        num_candidates: usize,
    ) -> DryRun {
        let mut dry_run = DryRun::default();
        let mut non_violating = Vec::new();
        let mut violating = Vec::new();
        let count = potential_nodes.len();
        let mut scratch = DryRunScratch::new(filters, state);
        for step in 0..count {
            let (position, node) = potential_nodes[(offset + step) % count];
            let name = || node.name().to_owned();
            match select_victims_with_scratch(&mut scratch, filters, state, pod, node, budgets, nominator) {
                Ok((victims, num_pdb_violations)) if !victims.is_empty() => {
                    let group = if num_pdb_violations == 0 { &mut non_violating } else { &mut violating };
                    if group.len() < num_candidates {
                        group.push(Candidate { node_name: name(), victims, num_pdb_violations });
                    }
                    if !non_violating.is_empty() && non_violating.len() + violating.len() >= num_candidates {
                        break;
                    }
                }
                Ok(_) => {
                    let name = name();
                    let status = Status::error(format!("expected at least one victim pod on node {name:?}"));
                    dry_run.errors.push(status.clone());
                    dry_run.statuses.statuses.push((position, status));
                }
                Err(status) => {
                    if status.code() == Code::Error {
                        dry_run.errors.push(status.clone());
                    }
                    dry_run.statuses.statuses.push((position, status));
                }
            }
        }
        non_violating.extend(violating);
        dry_run.candidates = non_violating;
        dry_run
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
        let dry_run = self.dry_run_preemption(
            context.filters,
            state,
            pod,
            &potential,
            &budgets,
            context.nominator,
            offset,
            num_candidates,
        );
        if dry_run.candidates.is_empty() {
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
        }
        let chosen = pick_one_node_for_preemption(&dry_run.candidates).cloned();
        chosen.ok_or_else(|| (None, Status::new(Code::Unschedulable, "no candidate node for preemption")))
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
