//! TaintToleration: a node's NoSchedule and NoExecute taints keep out Pods that do not tolerate
//! them; each untolerated PreferNoSchedule taint lowers the node's score (normalized in
//! reverse, so the node with the most such taints scores 0).

use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;

use super::{node_not_found, normalize_to_max};
use crate::scheduler::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, NodeBatch, Plugin, PreScorePlugin,
    ScorePlugin, Status, fill_verdicts,
};
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::snapshot::Snapshot;

/// The plugin's registered name.
pub const NAME: &str = "TaintToleration";

/// The effect that keeps new Pods out.
pub const EFFECT_NO_SCHEDULE: &str = "NoSchedule";
/// The effect that also evicts running Pods.
pub const EFFECT_NO_EXECUTE: &str = "NoExecute";
/// The effect that only discourages.
pub const EFFECT_PREFER_NO_SCHEDULE: &str = "PreferNoSchedule";

/// Whether one toleration tolerates one taint (`Toleration.ToleratesTaint`): matching effect
/// (empty tolerates all), matching key (empty with Exists tolerates all), and Equal values or
/// Exists.
pub fn toleration_tolerates_taint(toleration: &core::Toleration, taint: &core::Taint) -> bool {
    let effect = toleration.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("") {
        "" | "Equal" => toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        "Exists" => true,
        _ => false,
    }
}

/// Whether any of the tolerations tolerates the taint.
pub fn tolerations_tolerate_taint(tolerations: &[core::Toleration], taint: &core::Taint) -> bool {
    tolerations.iter().any(|toleration| toleration_tolerates_taint(toleration, taint))
}

/// The first taint, in node order, that passes `filter` and no toleration tolerates
/// (`FindMatchingUntoleratedTaint`).
pub fn find_matching_untolerated_taint<'a>(
    taints: &'a [core::Taint],
    tolerations: &[core::Toleration],
    filter: impl Fn(&core::Taint) -> bool,
) -> Option<&'a core::Taint> {
    taints.iter().filter(|taint| filter(taint)).find(|taint| !tolerations_tolerate_taint(tolerations, taint))
}

/// Filters on hard taints and scores soft ones.
#[derive(Clone, Copy, Debug, Default)]
pub struct TaintToleration;

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent { resource: EventResource::Node, action: ActionType::ADD.or(ActionType::UPDATE_NODE_TAINT) },
            ClusterEvent { resource: EventResource::UnscheduledPod, action: ActionType::UPDATE_POD_TOLERATIONS },
        ]
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl FilterPlugin for TaintToleration {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if node.node().is_none() {
            return node_not_found();
        }
        let tolerations = pod.spec().tolerations.as_deref().unwrap_or(&[]);
        let hard = |taint: &core::Taint| taint.effect == EFFECT_NO_SCHEDULE || taint.effect == EFFECT_NO_EXECUTE;
        match find_matching_untolerated_taint(node.taints(), tolerations, hard) {
            None => Status::success(),
            Some(taint) => Status::new(
                Code::UnschedulableAndUnresolvable,
                format!("node(s) had untolerated taint {{{}: {}}}", taint.key, taint.value.as_deref().unwrap_or("")),
            ),
        }
    }

    /// A node with a Node object and no NoSchedule or NoExecute taint passes whatever the Pod
    /// tolerates; only the others are matched against the tolerations.
    fn filter_nodes(&self, state: &CycleState, pod: &PodInfo, batch: &NodeBatch<'_>, verdicts: &mut [Option<Status>]) {
        fill_verdicts(batch, verdicts, |node, counters| {
            if counters.has_node() && !counters.has_hard_taints() {
                Status::success()
            } else {
                self.filter(state, pod, node)
            }
        });
    }
}

/// The Pod's tolerations that can tolerate PreferNoSchedule taints (effect empty or
/// PreferNoSchedule), computed once per cycle.
#[derive(Clone)]
struct PreScoreState {
    tolerations: Arc<[core::Toleration]>,
}

impl PreScoreState {
    /// How many PreferNoSchedule taints of the node the Pod does not tolerate.
    fn untolerated_soft_taints(&self, node: &NodeInfo) -> i64 {
        node.taints()
            .iter()
            .filter(|taint| taint.effect == EFFECT_PREFER_NO_SCHEDULE)
            .filter(|taint| !tolerations_tolerate_taint(&self.tolerations, taint))
            .count() as i64
    }
}

impl PreScorePlugin for TaintToleration {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, _nodes: &[&NodeInfo], _: &Snapshot) -> Status {
        let tolerations: Arc<[core::Toleration]> = pod
            .spec()
            .tolerations
            .iter()
            .flatten()
            .filter(|toleration| {
                let effect = toleration.effect.as_deref().unwrap_or("");
                effect.is_empty() || effect == EFFECT_PREFER_NO_SCHEDULE
            })
            .cloned()
            .collect();
        state.write(NAME, PreScoreState { tolerations });
        Status::success()
    }
}

impl ScorePlugin for TaintToleration {
    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(pre_score) = state.read::<PreScoreState>(NAME) else {
            return Err(Status::error("reading \"PreScoreTaintToleration\" from cycleState: not found"));
        };
        Ok(pre_score.untolerated_soft_taints(node))
    }

    fn score_nodes(
        &self,
        state: &CycleState,
        _pod: &PodInfo,
        batch: &NodeBatch<'_>,
        scores: &mut Vec<i64>,
    ) -> Result<(), Status> {
        let Some(pre_score) = state.read::<PreScoreState>(NAME) else {
            return Err(Status::error("reading \"PreScoreTaintToleration\" from cycleState: not found"));
        };
        scores.extend(batch.iter().map(|(node, counters)| {
            if counters.has_soft_taints() { pre_score.untolerated_soft_taints(node) } else { 0 }
        }));
        Ok(())
    }

    fn normalize_score(&self, _state: &CycleState, _pod: &PodInfo, scores: &mut [i64]) -> Status {
        normalize_to_max(true, scores)
    }
}
