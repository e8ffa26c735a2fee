//! DefaultPreemption: when a Pod fits no node, finds nodes where evicting lower-priority Pods
//! would make it fit, keeps as few victims as possible (reprieving the most important first),
//! and nominates the node whose victims matter least. PodDisruptionBudgets are not considered
//! yet (every candidate counts as violating none).

use std::borrow::Cow;
use std::sync::Arc;

use crate::scheduler::fit_error::{Diagnosis, FitError};
use crate::scheduler::framework::{
    Code, CycleState, NodeToStatus, Plugin, PostFilterContext, PostFilterPlugin, PostFilterResult, Status,
};
use crate::scheduler::node_info::{NodeInfo, PodInfo};

/// The plugin's registered name.
pub const NAME: &str = "DefaultPreemption";

/// A node's status when it was not Unschedulable to begin with.
pub const ERR_REASON_NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";

/// A node's status when it has no lower-priority Pod.
pub const ERR_REASON_NO_VICTIMS: &str = "No preemption victims found for incoming pod";

/// Preempts lower-priority Pods.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultPreemption;

/// A node where preemption would work, and its victims.
#[derive(Clone, Debug)]
struct Candidate {
    node_name: String,
    victims: Vec<Arc<PodInfo>>,
}

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        Some(self)
    }
}

/// Whether the Pod may preempt at all (`PodEligibleToPreemptOthers`), or why not.
fn eligibility(pod: &PodInfo) -> Result<(), &'static str> {
    if pod.spec().preemption_policy.as_deref() == Some("Never") {
        return Err("not eligible due to preemptionPolicy=Never.");
    }
    Ok(())
}

/// Victims on one node (`SelectVictimsOnNode`, without PodDisruptionBudgets): remove every
/// lower-priority Pod; if the preemptor then fits, add them back most important first while it
/// still fits.
fn select_victims_on_node(
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
    context: &PostFilterContext<'_>,
) -> Result<Vec<Arc<PodInfo>>, Status> {
    let mut trial = node.clone();
    let mut potential: Vec<Arc<PodInfo>> =
        node.pods.iter().filter(|other| other.priority < pod.priority).cloned().collect();
    if potential.is_empty() {
        return Err(Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_NO_VICTIMS));
    }
    for victim in &potential {
        trial.remove_pod(&victim.key);
    }
    let status = context.filters.run_filters(state, pod, &trial);
    if !status.is_success() {
        return Err(status);
    }
    // Most important first: higher priority, then (stable) the order they arrived.
    potential.sort_by_key(|victim| std::cmp::Reverse(victim.priority));
    let mut victims = Vec::new();
    for candidate in potential {
        trial.add_pod(Arc::clone(&candidate));
        if !context.filters.run_filters(state, pod, &trial).is_success() {
            trial.remove_pod(&candidate.key);
            victims.push(candidate);
        }
    }
    Ok(victims)
}

/// The candidate whose victims matter least: lowest highest-priority victim, then lowest sum of
/// priorities, then fewest victims, then the first found (`pickOneNodeForPreemption`).
fn pick_one(candidates: &[Candidate]) -> Option<&Candidate> {
    candidates.iter().min_by_key(|candidate| {
        let highest = candidate.victims.iter().map(|victim| victim.priority).max().unwrap_or(i32::MIN);
        let sum: i64 =
            candidate.victims.iter().map(|victim| i64::from(victim.priority) + i64::from(i32::MAX) + 1).sum();
        (highest, sum, candidate.victims.len())
    })
}

impl PostFilterPlugin for DefaultPreemption {
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        statuses: &NodeToStatus,
        context: &PostFilterContext<'_>,
    ) -> (Option<PostFilterResult>, Status) {
        if let Err(message) = eligibility(pod) {
            return (None, Status::new(Code::Unschedulable, Cow::Owned(format!("preemption: {message}"))));
        }
        let nodes = context.snapshot.list();
        let mut dry_run = NodeToStatus::default();
        let mut candidates = Vec::new();
        for node in nodes {
            let name = node.name();
            if statuses.get(name).map(Status::code) != Some(Code::Unschedulable) {
                dry_run
                    .statuses
                    .insert(name.to_owned(), Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_NOT_HELPFUL));
                continue;
            }
            match select_victims_on_node(state, pod, node, context) {
                Ok(victims) if !victims.is_empty() => {
                    candidates.push(Candidate { node_name: name.to_owned(), victims })
                }
                Ok(_) => {
                    let message = format!("expected at least one victim pod on node {name:?}");
                    dry_run.statuses.insert(name.to_owned(), Status::error(message));
                }
                Err(status) => {
                    dry_run.statuses.insert(name.to_owned(), status);
                }
            }
        }
        let Some(chosen) = pick_one(&candidates) else {
            let fit_error = FitError {
                node_count: nodes.len(),
                diagnosis: Diagnosis { node_to_status: dry_run, ..Diagnosis::default() },
            };
            return (None, Status::new(Code::Unschedulable, Cow::Owned(format!("preemption: {fit_error}"))));
        };
        let result = PostFilterResult {
            nominated_node_name: Some(chosen.node_name.clone()),
            victims: chosen
                .victims
                .iter()
                .map(|victim| (victim.namespace().to_owned(), victim.name().to_owned()))
                .collect(),
        };
        (Some(result), Status::success())
    }
}
