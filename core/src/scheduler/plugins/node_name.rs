//! NodeName: a Pod that names a node in `spec.nodeName` fits only that node.

use crate::scheduler::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, NodeBatch, Plugin, Status, fill_verdicts,
};
use crate::scheduler::node_info::{NodeInfo, PodInfo};

/// The plugin's registered name.
pub const NAME: &str = "NodeName";

/// The reason a node is rejected.
pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

/// Filters out every node but the one the Pod names.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeName;

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![ClusterEvent { resource: EventResource::Node, action: ActionType::ADD.or(ActionType::UPDATE) }]
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeName {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let wanted = pod.node_name();
        if wanted.is_empty() || wanted == node.name() {
            Status::success()
        } else {
            Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON)
        }
    }

    /// A Pod that names no node passes every node: the batch is left as it is.
    fn filter_nodes(&self, state: &CycleState, pod: &PodInfo, batch: &NodeBatch<'_>, verdicts: &mut [Option<Status>]) {
        if !pod.node_name().is_empty() {
            fill_verdicts(batch, verdicts, |node, _| self.filter(state, pod, node));
        }
    }
}
