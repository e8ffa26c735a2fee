//! Which keys of the node controllers and the HPA controller a change wakes up (the handlers
//! `nodeipam`, `node-lifecycle`, `taint-eviction-controller` and `horizontalpodautoscaling`
//! register on their informers), and the keys a new leader starts with.

use k8s_openapi::api::core::v1::{Node, Pod};

use super::caches::{Caches, Observed};
use super::kinds::ControllerKind;
use super::node_state::{NODE_IPAM_KEY, NODE_MONITOR_KEY};
use super::routed::Routed;
use crate::client::informer::{Change, key_of};
use crate::controllers::hpa::SYNC_PERIOD;
use crate::controllers::node_lifecycle::NO_EXECUTE;

/// Adds to `routed` what `observed` means for the node controllers and the HPA controller.
/// Leases wake nothing: the monitor reads them every node-monitor-period.
pub fn route_node_controllers(observed: &Observed, caches: &Caches, routed: &mut Routed) {
    match observed {
        Observed::Node(change) => route_node(change, routed),
        Observed::Pod(change) => route_pod(change, caches, routed),
        Observed::HorizontalPodAutoscaler(change) => {
            let key = key_of(&change.object().metadata);
            if matches!(change, Change::Deleted(_)) {
                // Syncing a deleted HPA drops its scaling history.
                routed.enqueue.push((ControllerKind::HorizontalPodAutoscaling, key));
            } else {
                // `enqueueHPA`: every request waits a sync period in the queue, so an HPA is
                // looked at once per period however often it (or its status) changes.
                routed.enqueue_after.push((ControllerKind::HorizontalPodAutoscaling, key, SYNC_PERIOD));
            }
        }
        _ => {}
    }
}

fn route_node(change: &Change<Node>, routed: &mut Routed) {
    let node = change.object();
    let key = key_of(&node.metadata);
    if matches!(change, Change::Deleted(_)) {
        routed.forget.push((ControllerKind::NodeLifecycle, key.clone()));
        routed.forget.push((ControllerKind::TaintEviction, key));
        return;
    }
    if !has_pod_cidr(node) {
        routed.enqueue.push((ControllerKind::NodeIpam, NODE_IPAM_KEY.to_string()));
    }
    // `doNoScheduleTaintingPass` runs on every node add and update.
    routed.enqueue.push((ControllerKind::NodeLifecycle, key.clone()));
    let tainted_before = match change {
        Change::Applied { old: Some(old), .. } => has_no_execute_taint(old),
        _ => false,
    };
    if has_no_execute_taint(node) || tainted_before {
        routed.enqueue.push((ControllerKind::TaintEviction, key));
    }
}

/// A pod that lands on (or changes on) a node with NoExecute taints is checked against them.
fn route_pod(change: &Change<Pod>, caches: &Caches, routed: &mut Routed) {
    let Change::Applied { new: pod, .. } = change else { return };
    if pod.metadata.deletion_timestamp.is_some() {
        return;
    }
    let Some(node_name) = pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()) else { return };
    if caches.nodes.get("", node_name).is_some_and(|node| has_no_execute_taint(node)) {
        routed.enqueue.push((ControllerKind::TaintEviction, node_name.to_string()));
    }
}

fn has_pod_cidr(node: &Node) -> bool {
    let spec = node.spec.as_ref();
    spec.and_then(|spec| spec.pod_cidr.as_deref()).is_some_and(|cidr| !cidr.is_empty())
        || spec.and_then(|spec| spec.pod_cidrs.as_ref()).is_some_and(|cidrs| !cidrs.is_empty())
}

fn has_no_execute_taint(node: &Node) -> bool {
    node.spec
        .as_ref()
        .and_then(|spec| spec.taints.as_ref())
        .is_some_and(|taints| taints.iter().any(|taint| taint.effect == NO_EXECUTE))
}

/// The keys a new leader syncs once: the IPAM and monitor passes, every node's NoSchedule and
/// eviction check, and every HPA.
pub fn node_controller_keys(caches: &Caches) -> Vec<(ControllerKind, String)> {
    let mut keys = vec![
        (ControllerKind::NodeIpam, NODE_IPAM_KEY.to_string()),
        (ControllerKind::NodeLifecycle, NODE_MONITOR_KEY.to_string()),
    ];
    for node in caches.nodes.iter() {
        keys.push((ControllerKind::NodeLifecycle, key_of(&node.metadata)));
        keys.push((ControllerKind::TaintEviction, key_of(&node.metadata)));
    }
    for hpa in caches.horizontal_pod_autoscalers.iter() {
        keys.push((ControllerKind::HorizontalPodAutoscaling, key_of(&hpa.metadata)));
    }
    keys
}
