//! A node's health as the lifecycle controller sees it (`tryUpdateNodeHealth`): its newest
//! heartbeat (the kube-node-lease Lease's renewTime or the Ready condition's
//! lastHeartbeatTime, whichever is newer) and, once the grace period has passed without one,
//! its conditions set to Unknown.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::NodeLifecycleConfig;

/// The namespace holding one Lease per node, renewed by its kubelet.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";
/// The reason of a condition the kubelet stopped reporting.
pub const NODE_STATUS_UNKNOWN: &str = "NodeStatusUnknown";
/// The message of a condition the kubelet stopped reporting.
pub const KUBELET_STOPPED_POSTING: &str = "Kubelet stopped posting node status.";
/// The reason of a condition the kubelet never reported.
pub const NODE_STATUS_NEVER_UPDATED: &str = "NodeStatusNeverUpdated";
/// The message of a condition the kubelet never reported.
pub const KUBELET_NEVER_POSTED: &str = "Kubelet never posted node status.";
/// The conditions set to Unknown when a node stops reporting (`Ready` first).
pub const MONITORED_CONDITIONS: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/// The node's condition of `type_`, if reported.
pub fn condition<'a>(node: &'a Node, type_: &str) -> Option<&'a NodeCondition> {
    node.status.as_ref()?.conditions.as_ref()?.iter().find(|condition| condition.type_ == type_)
}

/// The newest sign of life: Lease renewal or Ready heartbeat; the node's creation if neither.
pub fn last_heartbeat(node: &Node, lease: Option<&Lease>) -> Option<Timestamp> {
    let renewed = lease.and_then(|lease| lease.spec.as_ref()?.renew_time.as_ref()).map(|time| time.0);
    let posted = condition(node, "Ready").and_then(|ready| ready.last_heartbeat_time.as_ref()).map(|time| time.0);
    let created = node.metadata.creation_timestamp.as_ref().map(|time| time.0);
    renewed.max(posted).or(created)
}

/// The node with its conditions set to Unknown if no heartbeat came within the grace period
/// (the startup grace period for a node that never reported Ready), and its Ready status as
/// the controller now sees it. `grace_from` restarts every node's grace period (after a full
/// disruption ends).
pub fn observe(
    config: &NodeLifecycleConfig,
    node: &Node,
    lease: Option<&Lease>,
    grace_from: Option<Timestamp>,
    now: Timestamp,
) -> (Option<Node>, String) {
    let ready = condition(node, "Ready");
    let grace = if ready.is_none() { config.node_startup_grace_period } else { config.node_monitor_grace_period };
    let heartbeat = last_heartbeat(node, lease).max(grace_from);
    let observed = ready.map_or_else(|| "Unknown".to_string(), |ready| ready.status.clone());
    let grace = SignedDuration::try_from(grace).unwrap_or(SignedDuration::MAX);
    let expired = heartbeat.is_none_or(|heartbeat| now > heartbeat + grace);
    if !expired {
        return (None, observed);
    }
    let mut updated = node.clone();
    let status = updated.status.get_or_insert_with(Default::default);
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let mut changed = false;
    for type_ in MONITORED_CONDITIONS {
        match conditions.iter_mut().find(|condition| condition.type_ == type_) {
            None => {
                conditions.push(NodeCondition {
                    type_: type_.to_string(),
                    status: "Unknown".into(),
                    reason: Some(NODE_STATUS_NEVER_UPDATED.into()),
                    message: Some(KUBELET_NEVER_POSTED.into()),
                    last_heartbeat_time: node.metadata.creation_timestamp.clone(),
                    last_transition_time: Some(Time(now)),
                });
                changed = true;
            }
            Some(condition) if condition.status != "Unknown" => {
                condition.status = "Unknown".into();
                condition.reason = Some(NODE_STATUS_UNKNOWN.into());
                condition.message = Some(KUBELET_STOPPED_POSTING.into());
                condition.last_transition_time = Some(Time(now));
                changed = true;
            }
            Some(_) => {}
        }
    }
    (changed.then_some(updated), "Unknown".into())
}
