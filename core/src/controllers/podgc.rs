//! The pod garbage collector (`pkg/controller/podgc`, `--controllers` name `podgc`): deletes
//! the oldest terminated pods beyond `--terminated-pod-gc-threshold`, the pods of nodes that are
//! gone (after a quarantine, in case the node is only late to appear), pods deleted before they
//! were ever scheduled, and pods terminating on a not-ready node an administrator tainted
//! `node.kubernetes.io/out-of-service`. Each is first marked Failed (with the DisruptionTarget
//! condition when its node is gone, as 1.32 does) and then deleted with a grace period of 0.
//!
//! Kubernetes runs one pass over every pod each 20 s (`gcCheckPeriod`); here each check has its
//! own key, woken by the change that makes it due (a pod terminating, a node leaving), and reads
//! only the manager's indexes, so the work per change does not grow with the cluster.

use std::borrow::Borrow;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Preconditions;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::action::{Action, PatchType, Reconciled};
use crate::object::kinds::GroupResource;

/// Kubernetes' default `--terminated-pod-gc-threshold`.
pub const DEFAULT_TERMINATED_POD_GC_THRESHOLD: usize = 12_500;

/// How long a pod's node must stay missing before its pods are deleted (`quarantineTime`).
pub const QUARANTINE_TIME: Duration = Duration::from_secs(40);

/// The taint an administrator puts on a node that is out of service for good.
pub const OUT_OF_SERVICE_TAINT: &str = "node.kubernetes.io/out-of-service";

/// The condition type set on a pod whose node is gone.
pub const DISRUPTION_TARGET: &str = "DisruptionTarget";
/// The reason of that condition.
pub const DELETION_BY_POD_GC: &str = "DeletionByPodGC";
/// The message of that condition.
pub const NODE_NO_LONGER_EXISTS_MESSAGE: &str = "PodGC: node no longer exists";

const PODS: GroupResource = GroupResource { group: "", resource: "pods" };
const PODS_STATUS: GroupResource = GroupResource { group: "", resource: "pods/status" };

/// Whether a pod finished (`isPodTerminated`: not Pending, Running or Unknown).
pub fn is_pod_terminated(pod: &Pod) -> bool {
    !matches!(
        pod.status.as_ref().and_then(|status| status.phase.as_deref()),
        None | Some("Pending" | "Running" | "Unknown")
    )
}

/// Whether a pod is being deleted.
pub fn is_pod_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

fn node_name(pod: &Pod) -> &str {
    pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()).unwrap_or_default()
}

/// Whether a node is out of service: not Ready and tainted `node.kubernetes.io/out-of-service`.
pub fn is_node_out_of_service(node: &Node) -> bool {
    let ready = node
        .status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .and_then(|conditions| conditions.iter().find(|condition| condition.type_ == "Ready"))
        .is_some_and(|condition| condition.status == "True");
    let tainted = node
        .spec
        .as_ref()
        .and_then(|spec| spec.taints.as_ref())
        .is_some_and(|taints| taints.iter().any(|taint| taint.key == OUT_OF_SERVICE_TAINT));
    !ready && tainted
}

/// The status patch that marks a pod Failed (with `condition`), unless it already finished.
fn mark_failed(pod: &Pod, condition: Option<Value>) -> Option<Action> {
    if is_pod_terminated(pod) {
        return None;
    }
    let mut status = json!({"phase": "Failed"});
    if let Some(condition) = condition {
        status["conditions"] = json!([condition]);
    }
    Some(Action::Patch {
        resource: PODS_STATUS,
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        patch_type: PatchType::StrategicMerge,
        body: json!({"status": status}),
    })
}

fn force_delete(pod: &Pod) -> Action {
    Action::ForceDelete {
        resource: PODS,
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        preconditions: Preconditions { uid: pod.metadata.uid.clone(), resource_version: None },
    }
}

/// `markFailedAndDeletePodWithCondition` for several pods: the status patches as one batch,
/// then the deletions as one batch.
fn mark_failed_and_delete(pods: &[&Pod], condition: Option<&Value>) -> Reconciled {
    let mut reconciled = Reconciled::default();
    reconciled.push_batch(pods.iter().filter_map(|pod| mark_failed(pod, condition.cloned())).collect());
    reconciled.push_batch(pods.iter().map(|pod| force_delete(pod)).collect());
    reconciled
}

/// `gcTerminated`: deletes the oldest terminated pods (by creationTimestamp, then name) beyond
/// `threshold`; a threshold of 0 deletes none. `terminated` holds the terminated pods.
pub fn reconcile_terminated_pods(terminated: &[impl Borrow<Pod>], threshold: usize) -> Reconciled {
    if threshold == 0 || terminated.len() <= threshold {
        return Reconciled::default();
    }
    let mut pods: Vec<&Pod> = terminated.iter().map(Borrow::borrow).filter(|pod| is_pod_terminated(pod)).collect();
    let excess = pods.len().saturating_sub(threshold);
    pods.sort_by(|left, right| {
        let created = |pod: &Pod| pod.metadata.creation_timestamp.as_ref().map(|time| time.0);
        created(left).cmp(&created(right)).then_with(|| left.metadata.name.cmp(&right.metadata.name))
    });
    pods.truncate(excess);
    mark_failed_and_delete(&pods, None)
}

/// `gcOrphaned` for one node: when `node_exists` is false, every pod bound to it is marked
/// Failed with the DisruptionTarget condition and deleted.
pub fn reconcile_orphaned_pods(node_exists: bool, pods: &[impl Borrow<Pod>], now: Timestamp) -> Reconciled {
    if node_exists {
        return Reconciled::default();
    }
    let condition = json!({
        "type": DISRUPTION_TARGET, "status": "True", "reason": DELETION_BY_POD_GC,
        "message": NODE_NO_LONGER_EXISTS_MESSAGE, "lastTransitionTime": now.to_string(),
    });
    let pods: Vec<&Pod> = pods.iter().map(Borrow::borrow).collect();
    mark_failed_and_delete(&pods, Some(&condition))
}

/// `gcUnscheduledTerminating` and `gcTerminating` for one pod: a pod being deleted that was
/// never scheduled, or whose node (`node`) is out of service, is marked Failed and deleted.
pub fn reconcile_terminating_pod(pod: &Pod, node: Option<&Node>) -> Reconciled {
    if !is_pod_terminating(pod) {
        return Reconciled::default();
    }
    let unscheduled = node_name(pod).is_empty();
    if unscheduled || node.is_some_and(is_node_out_of_service) {
        return mark_failed_and_delete(&[pod], None);
    }
    Reconciled::default()
}

#[cfg(test)]
#[path = "podgc_tests.rs"]
mod tests;
