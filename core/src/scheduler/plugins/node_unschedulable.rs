//! NodeUnschedulable: a node with `spec.unschedulable` (cordoned) takes only Pods that tolerate
//! the `node.kubernetes.io/unschedulable:NoSchedule` taint.

use k8s_openapi::api::core::v1 as core;

use super::node_not_found;
use super::taint_toleration::tolerations_tolerate_taint;
use crate::scheduler::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, NodeBatch, Plugin, Status, fill_verdicts,
};
use crate::scheduler::node_info::{NodeInfo, PodInfo};

/// The plugin's registered name.
pub const NAME: &str = "NodeUnschedulable";

/// The reason a cordoned node is rejected.
pub const ERR_REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";

/// The taint key a cordoned node is treated as having.
pub const TAINT_NODE_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// Filters out cordoned nodes.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![ClusterEvent { resource: EventResource::Node, action: ActionType::ADD.or(ActionType::UPDATE_NODE_TAINT) }]
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeUnschedulable {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if node.node().is_none() {
            return node_not_found();
        }
        if !node.unschedulable() {
            return Status::success();
        }
        let taint = core::Taint {
            key: TAINT_NODE_UNSCHEDULABLE.to_owned(),
            effect: "NoSchedule".to_owned(),
            ..core::Taint::default()
        };
        if tolerations_tolerate_taint(pod.spec().tolerations.as_deref().unwrap_or(&[]), &taint) {
            return Status::success();
        }
        Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_UNSCHEDULABLE)
    }

    /// A node with a Node object that is not cordoned passes; only cordoned (or unknown) nodes
    /// need the Pod's tolerations.
    fn filter_nodes(&self, state: &CycleState, pod: &PodInfo, batch: &NodeBatch<'_>, verdicts: &mut [Option<Status>]) {
        fill_verdicts(batch, verdicts, |node, counters| {
            if counters.has_node() && !counters.unschedulable() {
                Status::success()
            } else {
                self.filter(state, pod, node)
            }
        });
    }
}
