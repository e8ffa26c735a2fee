//! NodePorts: a Pod that binds host ports fits only nodes where no Pod binds a conflicting one
//! (same protocol and port, and the same IP or `0.0.0.0` on either side).

use super::node_not_found;
use crate::scheduler::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, Plugin, PreFilterPlugin, PreFilterResult,
    Status,
};
use crate::scheduler::node_info::{HostPort, NodeInfo, PodInfo};
use crate::scheduler::snapshot::Snapshot;

/// The plugin's registered name.
pub const NAME: &str = "NodePorts";

/// The reason a node is rejected.
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// Filters out nodes whose used host ports conflict with the Pod's.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodePorts;

/// Whether the wanted ports fit beside the used ones.
pub fn fits_ports(wanted: &[HostPort], used: &[HostPort]) -> bool {
    wanted.iter().all(|port| !used.iter().any(|other| port.conflicts_with(other)))
}

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent { resource: EventResource::AssignedPod, action: ActionType::DELETE },
            ClusterEvent { resource: EventResource::Node, action: ActionType::ADD },
        ]
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for NodePorts {
    /// Pods without host ports skip the Filter entirely.
    fn pre_filter(&self, _state: &mut CycleState, pod: &PodInfo, _: &Snapshot) -> (Option<PreFilterResult>, Status) {
        if pod.host_ports.is_empty() {
            return (None, Status::code_only(Code::Skip));
        }
        (None, Status::success())
    }
}

impl FilterPlugin for NodePorts {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if node.node().is_none() {
            return node_not_found();
        }
        if fits_ports(&pod.host_ports, &node.used_ports) {
            Status::success()
        } else {
            Status::new(Code::Unschedulable, ERR_REASON)
        }
    }
}
