//! A node's health as the lifecycle controller sees it (`tryUpdateNodeHealth`): the controller
//! keeps its own probe timestamp per node ([`NodeHealth`], Kubernetes' `nodeHealthData`), set
//! from the controller's clock whenever the Ready condition's heartbeat or the kube-node-lease
//! Lease's renewTime changes, and sets the node's conditions to Unknown once the grace period
//! passes without a change. The node's own timestamps are only compared for change, never against
//! the controller's clock, so a node with a skewed clock is judged correctly.

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

/// The newest sign of life the node itself reports: Lease renewal or Ready heartbeat; the
/// node's creation if neither. Only for display: health is judged by [`NodeHealth`].
pub fn last_heartbeat(node: &Node, lease: Option<&Lease>) -> Option<Timestamp> {
    let renewed = lease_renew_time(lease);
    let posted = condition(node, "Ready").and_then(|ready| ready.last_heartbeat_time.as_ref()).map(|time| time.0);
    let created = node.metadata.creation_timestamp.as_ref().map(|time| time.0);
    renewed.max(posted).or(created)
}

fn lease_renew_time(lease: Option<&Lease>) -> Option<Timestamp> {
    lease.and_then(|lease| lease.spec.as_ref()?.renew_time.as_ref()).map(|time| time.0)
}

/// The Ready condition's two times as last seen: heartbeat and transition.
type ReadyTimes = (Option<Timestamp>, Option<Timestamp>);

fn ready_times(ready: &NodeCondition) -> ReadyTimes {
    (ready.last_heartbeat_time.as_ref().map(|time| time.0), ready.last_transition_time.as_ref().map(|time| time.0))
}

/// What the controller remembers of one node (`nodeHealthData`): when it last saw the node
/// change (its own clock), when the Ready condition last changed, and the node's own times it
/// compares against to notice a change.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeHealth {
    /// When the controller last saw a new heartbeat or Lease renewal.
    pub probe_timestamp: Timestamp,
    /// When the controller last saw the Ready condition transition.
    pub ready_transition_timestamp: Timestamp,
    ready: Option<ReadyTimes>,
    lease_renew_time: Option<Timestamp>,
}

impl NodeHealth {
    /// The health after observing the node and its Lease at `now`, from what was remembered.
    pub fn observed(saved: Option<&NodeHealth>, node: &Node, lease: Option<&Lease>, now: Timestamp) -> NodeHealth {
        let current = condition(node, "Ready").map(ready_times);
        let created = node.metadata.creation_timestamp.as_ref().map_or(now, |time| time.0);
        let fresh = |ready| NodeHealth {
            probe_timestamp: now,
            ready_transition_timestamp: now,
            ready,
            lease_renew_time: saved.and_then(|saved| saved.lease_renew_time),
        };
        let mut health = match (saved, current) {
            // Never reported: the node's creation stands in for a heartbeat.
            (None, None) => NodeHealth {
                probe_timestamp: created,
                ready_transition_timestamp: created,
                ready: None,
                lease_renew_time: None,
            },
            (None, Some(current)) => fresh(Some(current)),
            (Some(saved), None) if saved.ready.is_none() => saved.clone(),
            (Some(_), None) => fresh(None),
            (Some(saved), Some(current)) => match saved.ready {
                None => fresh(Some(current)),
                Some((heartbeat, transition)) if heartbeat != current.0 => NodeHealth {
                    probe_timestamp: now,
                    ready_transition_timestamp: if transition != current.1 {
                        now
                    } else {
                        saved.ready_transition_timestamp
                    },
                    ready: Some(current),
                    lease_renew_time: saved.lease_renew_time,
                },
                Some(_) => saved.clone(),
            },
        };
        if let Some(renewed) = lease_renew_time(lease)
            && health.lease_renew_time.is_none_or(|saved| saved < renewed)
        {
            health.lease_renew_time = Some(renewed);
            health.probe_timestamp = now;
        }
        health
    }
}

/// The node with its conditions set to Unknown if the controller saw no heartbeat within the
/// grace period (the startup grace period for a node that never reported Ready), and its Ready
/// status as the controller now sees it. `grace_from` restarts every node's grace period (after
/// a full disruption ends). `health` is updated to the written status, so the controller's own
/// write is not taken for a heartbeat.
pub fn observe(
    config: &NodeLifecycleConfig,
    node: &Node,
    health: &mut NodeHealth,
    grace_from: Option<Timestamp>,
    now: Timestamp,
) -> (Option<Node>, String) {
    let ready = condition(node, "Ready");
    let grace = if ready.is_none() { config.node_startup_grace_period } else { config.node_monitor_grace_period };
    let probed = Some(health.probe_timestamp).max(grace_from).unwrap_or(health.probe_timestamp);
    let observed = ready.map_or_else(|| "Unknown".to_string(), |ready| ready.status.clone());
    let grace = SignedDuration::try_from(grace).unwrap_or(SignedDuration::MAX);
    let expired = probed.checked_add(grace).is_ok_and(|deadline| now > deadline);
    if !expired {
        return (None, observed);
    }
    let updated = with_unknown_conditions(node, now);
    if let Some(updated) = &updated {
        health.ready = condition(updated, "Ready").map(ready_times);
        if observed != "Unknown" {
            health.ready_transition_timestamp = now;
        }
    }
    (updated, "Unknown".into())
}

/// The node with every monitored condition Unknown, or `None` if they already are.
fn with_unknown_conditions(node: &Node, now: Timestamp) -> Option<Node> {
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
    changed.then_some(updated)
}
