//! Preemption's dry run (kube-scheduler's `SelectVictimsOnNode`, `DryRunPreemption` and
//! `pickOneNodeForPreemption`): on each potential node, remove every lower-priority Pod, check
//! that the preemptor then fits, and reprieve as many of them as still lets it fit; then pick the
//! node whose victims matter least.
//!
//! Two searches share the per-node steps: [`dry_run_every_candidate`] computes every candidate's
//! victims, as Kubernetes does; [`dry_run_for_best_candidate`] makes the same choice but skips
//! the reprieve on a node whose best possible outcome cannot beat the best candidate found so
//! far (a lower bound of its pick key, from the Pods it could lose). The scheduler runs the
//! second; tests hold it to the first.

use std::cmp::Reverse;
use std::sync::Arc;

use crate::jiff::Timestamp;
use crate::scheduler::framework::{
    Code, CycleState, FilterPlugin, FilterRunner, NodeToStatus, NominatedScratch, Status,
};
use crate::scheduler::listers::DisruptionBudget;
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::nominated_pods::NominatedPods;

/// A node's status when it has no lower-priority Pod.
pub const ERR_REASON_NO_VICTIMS: &str = "No preemption victims found for incoming pod";

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

/// Sorts Pods most important first: higher priority, then earlier start (`MoreImportantPod`).
/// The sort is stable, so equal Pods keep their order on the node.
pub fn sort_by_importance(pods: &mut [Arc<PodInfo>]) {
    pods.sort_by_key(|pod| (Reverse(pod.priority), pod.start_time));
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
/// an AddPod or RemovePod changes one); likewise the copy the nominated Pods are added to.
pub struct DryRunScratch<'f> {
    filters: Vec<(&'static str, &'f dyn FilterPlugin)>,
    state: CycleState,
    node: NodeInfo,
    potential: Vec<Arc<PodInfo>>,
    with_nominated: NominatedScratch,
}

impl<'f> DryRunScratch<'f> {
    /// Scratch space for dry runs of the cycle whose state is `state`.
    pub fn new(filters: &'f dyn FilterRunner, state: &CycleState) -> DryRunScratch<'f> {
        DryRunScratch {
            filters: filters.active_filter_list(state),
            state: state.clone(),
            node: NodeInfo::default(),
            potential: Vec::new(),
            with_nominated: NominatedScratch::default(),
        }
    }
}

/// The victims on one node (`SelectVictimsOnNode`) are found in two halves: [`strip_node`], then
/// [`reprieve`], on copies of the node and of the cycle state; `nominated` are the Pods
/// nominated to the node that the preemptor must count.
///
/// The first half copies the node into the scratch, removes every Pod of lower priority than the
/// preemptor and checks that the preemptor then fits. Returns
/// those Pods most important first, split into the ones whose eviction would violate a budget
/// and the others; the scratch holds the node without them.
#[allow(clippy::type_complexity)]
fn strip_node(
    scratch: &mut DryRunScratch<'_>,
    runner: &dyn FilterRunner,
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
    budgets: &[&DisruptionBudget],
    nominated: &[Arc<PodInfo>],
) -> Result<(Vec<Arc<PodInfo>>, Vec<Arc<PodInfo>>), Status> {
    let DryRunScratch { filters, state: trial_state, node: trial, potential, with_nominated } = scratch;
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
    let status = runner.run_active_filters_with_nominated(filters, trial_state, pod, trial, nominated, with_nominated);
    if !status.is_success() {
        return Err(status);
    }
    sort_by_importance(potential);
    Ok(filter_pods_with_pdb_violation(potential, budgets))
}

/// The second half of `SelectVictimsOnNode`: on the stripped node in the scratch, adds the Pods
/// back one by one (budget-violating ones first, each group most important first), keeping as
/// victims those whose return makes the preemptor no longer fit. Returns the victims (most
/// important first) and how many of them violate a budget.
fn reprieve(
    scratch: &mut DryRunScratch<'_>,
    runner: &dyn FilterRunner,
    pod: &PodInfo,
    nominated: &[Arc<PodInfo>],
    violating: Vec<Arc<PodInfo>>,
    non_violating: Vec<Arc<PodInfo>>,
) -> Result<(Vec<Arc<PodInfo>>, usize), Status> {
    let DryRunScratch { filters, state: trial_state, node: trial, with_nominated, .. } = scratch;
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
        let status =
            runner.run_active_filters_with_nominated(filters, trial_state, pod, trial, nominated, with_nominated);
        if status.is_success() {
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
pub type PickKey = (usize, i32, i64, usize, Reverse<Timestamp>);

pub fn pick_key(candidate: &Candidate) -> PickKey {
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

/// The smallest pick key a node can end with when `potential` (its lower-priority Pods, most
/// important first, none of them covered by an exhausted budget) are all it could lose: no budget
/// violated, one victim of the lowest priority among them, the latest start among those. Every
/// victim has at least that priority, and there is at least one, so a real key is never
/// smaller: if the highest victim has that priority and the sum is that one victim's, the victim
/// is alone and started no later than the latest of that priority.
pub fn pick_key_lower_bound(potential: &[Arc<PodInfo>]) -> Option<PickKey> {
    let least = potential.last()?;
    let shifted = i64::from(least.priority) + i64::from(i32::MAX) + 1;
    Some((0, least.priority, shifted, 1, Reverse(least.start_time)))
}

/// What a dry run searches: the preemptor in its cycle, the nodes where preemption might help
/// with their snapshot positions, the budgets and nominations to respect, and where in the nodes
/// to start and how many candidates to look for (`GetOffsetAndNumCandidates`).
#[derive(Clone, Copy)]
pub struct DryRunSearch<'a> {
    /// Re-runs PreFilter extensions and Filters.
    pub runner: &'a dyn FilterRunner,
    /// The cycle's state after PreFilter.
    pub state: &'a CycleState,
    /// The preemptor.
    pub pod: &'a PodInfo,
    /// The nodes where preemption might help, with their snapshot positions.
    pub potential_nodes: &'a [(usize, &'a NodeInfo)],
    /// The PodDisruptionBudgets.
    pub budgets: &'a [&'a DisruptionBudget],
    /// The nominated Pods the attempt counts, by node position.
    pub nominated: &'a NominatedPods,
    /// Where in `potential_nodes` the search starts; it wraps around.
    pub offset: usize,
    /// How many candidates end the search (once one of them violates no budget).
    pub num_candidates: usize,
}

/// The dry run as Kubernetes runs it (`DryRunPreemption`): every node from the offset, wrapping
/// around, until enough candidates are found of which at least one violates no budget, each
/// candidate with its victims. Each group keeps at most `num_candidates` candidates.
pub fn dry_run_every_candidate(search: &DryRunSearch<'_>) -> DryRun {
    let DryRunSearch { runner, state, pod, potential_nodes, budgets, nominated, offset, num_candidates } = *search;
    let mut dry_run = DryRun::default();
    let mut non_violating = Vec::new();
    let mut violating = Vec::new();
    let count = potential_nodes.len();
    let mut scratch = DryRunScratch::new(runner, state);
    for step in 0..count {
        let (position, node) = potential_nodes[(offset + step) % count];
        let on_node = nominated.at(position);
        let found = strip_node(&mut scratch, runner, state, pod, node, budgets, on_node)
            .and_then(|(violates, others)| reprieve(&mut scratch, runner, pod, on_node, violates, others));
        match found {
            Ok((victims, num_pdb_violations)) if !victims.is_empty() => {
                let group = if num_pdb_violations == 0 { &mut non_violating } else { &mut violating };
                if group.len() < num_candidates {
                    group.push(Candidate { node_name: node.name().to_owned(), victims, num_pdb_violations });
                }
                if !non_violating.is_empty() && non_violating.len() + violating.len() >= num_candidates {
                    break;
                }
            }
            Ok(_) => dry_run.reject(position, no_victims_error(node)),
            Err(status) => dry_run.reject(position, status),
        }
    }
    non_violating.extend(violating);
    dry_run.candidates = non_violating;
    dry_run
}

/// What [`dry_run_for_best_candidate`] found: the candidate [`pick_one_node_for_preemption`]
/// would pick among [`dry_run_every_candidate`]'s, and the same rejections and errors.
#[derive(Clone, Debug, Default)]
pub struct BestCandidate {
    /// The chosen candidate, if any node is one.
    pub chosen: Option<Candidate>,
    /// Why each visited node is no candidate.
    pub statuses: NodeToStatus,
    /// Internal errors met on the way.
    pub errors: Vec<Status>,
}

/// The candidate [`dry_run_every_candidate`] and then [`pick_one_node_for_preemption`] would
/// choose, found on the same nodes in the same order, but reprieving Pods only on nodes that
/// could still win: a node whose Pods violate no budget and whose [`pick_key_lower_bound`] is no
/// smaller than the best budget-respecting candidate so far counts as a candidate (it ends the
/// search the same way) without computing its victims, for it cannot be picked (ties go to the
/// earlier node). Such a node has victims: it was Unschedulable with all its Pods, and fits with
/// the lower-priority ones removed.
pub fn dry_run_for_best_candidate(search: &DryRunSearch<'_>) -> BestCandidate {
    let DryRunSearch { runner, state, pod, potential_nodes, budgets, nominated, offset, num_candidates } = *search;
    let mut found = BestCandidate::default();
    let mut rejections = DryRun::default();
    // Per group (no budget violated; some violated): how many candidates, and the best kept one.
    let mut non_violating: (usize, Option<(PickKey, Candidate)>) = (0, None);
    let mut violating: (usize, Option<(PickKey, Candidate)>) = (0, None);
    let count = potential_nodes.len();
    let mut scratch = DryRunScratch::new(runner, state);
    for step in 0..count {
        let (position, node) = potential_nodes[(offset + step) % count];
        let on_node = nominated.at(position);
        let stripped = strip_node(&mut scratch, runner, state, pod, node, budgets, on_node);
        let (violates, others) = match stripped {
            Ok(split) => split,
            Err(status) => {
                rejections.reject(position, status);
                continue;
            }
        };
        let cannot_win = violates.is_empty()
            && non_violating
                .1
                .as_ref()
                .is_some_and(|(best, _)| pick_key_lower_bound(&others).is_some_and(|lower_bound| lower_bound >= *best));
        if cannot_win {
            non_violating.0 += 1;
        } else {
            match reprieve(&mut scratch, runner, pod, on_node, violates, others) {
                Ok((victims, num_pdb_violations)) if !victims.is_empty() => {
                    let group = if num_pdb_violations == 0 { &mut non_violating } else { &mut violating };
                    if group.0 < num_candidates {
                        let candidate = Candidate { node_name: node.name().to_owned(), victims, num_pdb_violations };
                        let key = pick_key(&candidate);
                        if group.1.as_ref().is_none_or(|(best, _)| key < *best) {
                            group.1 = Some((key, candidate));
                        }
                    }
                    group.0 += 1;
                }
                Ok(_) => {
                    rejections.reject(position, no_victims_error(node));
                    continue;
                }
                Err(status) => {
                    rejections.reject(position, status);
                    continue;
                }
            }
        }
        if non_violating.0 > 0 && non_violating.0 + violating.0 >= num_candidates {
            break;
        }
    }
    found.chosen = non_violating.1.or(violating.1).map(|(_, candidate)| candidate);
    found.statuses = rejections.statuses;
    found.errors = rejections.errors;
    found
}

fn no_victims_error(node: &NodeInfo) -> Status {
    Status::error(format!("expected at least one victim pod on node {:?}", node.name()))
}

impl DryRun {
    /// Records why the node at `position` is no candidate; internal errors also among the errors.
    fn reject(&mut self, position: usize, status: Status) {
        if status.code() == Code::Error {
            self.errors.push(status.clone());
        }
        self.statuses.statuses.push((position, status));
    }
}
