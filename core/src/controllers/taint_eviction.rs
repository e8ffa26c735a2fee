//! The taint eviction controller (`pkg/controller/tainteviction`): a pod on a node with a
//! NoExecute taint it does not tolerate is deleted at once; one that tolerates every such taint
//! for a limited time (`tolerationSeconds`) is deleted once that time has passed since the
//! taint was added; one that tolerates them forever stays.
//!
//! Kubernetes times the toleration from when the controller first saw the pod on the tainted
//! node (in memory); here it runs from the taint's `timeAdded`, which survives restarts. The
//! `DisruptionTarget` pod condition Kubernetes writes before deleting is not written.

use std::borrow::Borrow;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Preconditions;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::action::{Action, EventType, Reconciled, event_action, object_reference};
use super::node_lifecycle::NO_EXECUTE;
use crate::object::kinds::GroupResource;
use crate::scheduler::plugins::taint_toleration::toleration_tolerates_taint;

const PODS: GroupResource = GroupResource { group: "", resource: "pods" };

/// The component that records eviction events.
pub const COMPONENT: &str = "taint-eviction-controller";
/// The reason of the event recorded for each evicted pod.
pub const TAINT_MANAGER_EVICTION: &str = "TaintManagerEviction";

/// When a pod must leave a node with these NoExecute taints: `Some(None)` now (a taint is not
/// tolerated), `Some(Some(at))` at a time, `None` never (`getMinTolerationTime`).
fn eviction_time(pod: &Pod, taints: &[&Taint], now: Timestamp) -> Option<Option<Timestamp>> {
    let tolerations: &[Toleration] = pod.spec.as_ref().and_then(|spec| spec.tolerations.as_deref()).unwrap_or_default();
    let mut deadline: Option<Timestamp> = None;
    for taint in taints {
        let used: Vec<&Toleration> =
            tolerations.iter().filter(|toleration| toleration_tolerates_taint(toleration, taint)).collect();
        if used.is_empty() {
            return Some(None);
        }
        if used.iter().any(|toleration| toleration.toleration_seconds.is_none()) {
            continue;
        }
        let seconds = used.iter().filter_map(|toleration| toleration.toleration_seconds).min().unwrap_or(0).max(0);
        let added = taint.time_added.as_ref().map_or(now, |time| time.0);
        // Saturating: a tolerationSeconds of i64::MAX means as good as never.
        let at = added.checked_add(SignedDuration::from_secs(seconds)).unwrap_or(Timestamp::MAX);
        deadline = Some(deadline.map_or(at, |earlier| earlier.min(at)));
    }
    deadline.map(Some)
}

/// Evicts the pods on `node` that its NoExecute taints call for, and requeues at the next
/// toleration's end. `pods` may hold pods of any node; pods already being deleted are left.
pub fn reconcile_taint_eviction(node: &Node, pods: &[impl Borrow<Pod>], now: Timestamp) -> Reconciled {
    let mut reconciled = Reconciled::default();
    let taints: Vec<&Taint> = node
        .spec
        .as_ref()
        .and_then(|spec| spec.taints.as_ref())
        .into_iter()
        .flatten()
        .filter(|taint| taint.effect == NO_EXECUTE)
        .collect();
    if taints.is_empty() {
        return reconciled;
    }
    let on_node = pods.iter().map(Borrow::borrow).filter(|pod: &&Pod| {
        pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()) == node.metadata.name.as_deref()
            && pod.metadata.deletion_timestamp.is_none()
    });
    for pod in on_node {
        match eviction_time(pod, &taints, now) {
            None => {}
            Some(Some(at)) if at > now => {
                let wait = Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO);
                reconciled.requeue_no_later_than(wait);
            }
            Some(_) => evict(pod, &mut reconciled, now),
        }
    }
    reconciled
}

fn evict(pod: &Pod, reconciled: &mut Reconciled, now: Timestamp) {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let reference = object_reference("v1", "Pod", &pod.metadata);
    let message = format!("Marking for deletion Pod {namespace}/{name}");
    reconciled.push_alone(event_action(
        &reference,
        COMPONENT,
        EventType::Normal,
        TAINT_MANAGER_EVICTION,
        &message,
        now,
    ));
    reconciled.push_alone(Action::Delete {
        resource: PODS,
        namespace,
        name,
        preconditions: Preconditions { uid: pod.metadata.uid.clone(), resource_version: None },
        propagation_policy: None,
    });
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Node, Pod};
    use serde_json::{Value, json};

    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    fn node(taints: Value) -> Node {
        serde_json::from_value(json!({"metadata": {"name": "node1"}, "spec": {"taints": taints}})).unwrap()
    }

    fn pod(name: &str, tolerations: Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
            "spec": {"nodeName": "node1", "containers": [], "tolerations": tolerations},
        }))
        .unwrap()
    }

    fn deleted(reconciled: &Reconciled) -> Vec<String> {
        reconciled
            .actions
            .iter()
            .filter_map(|action| match action {
                Action::Delete { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    fn unreachable_since(seconds: i64) -> Value {
        json!([{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": at(seconds).to_string()}])
    }

    // TestCreatePod / TestUpdateNode rows of taint_eviction_test.go: not tolerated → deleted at
    // once; tolerated forever → kept; tolerated for a while → deleted when it ends.
    #[test]
    fn pods_leave_as_their_tolerations_say() {
        let node = node(unreachable_since(0));
        let pods = [
            pod("untolerating", json!([])),
            pod(
                "forever",
                json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}]),
            ),
            pod(
                "for-300",
                json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]),
            ),
            pod(
                "other-taint",
                json!([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}]),
            ),
        ];
        let first = reconcile_taint_eviction(&node, &pods, at(10));
        assert_eq!(deleted(&first), vec!["untolerating", "other-taint"]);
        assert_eq!(first.requeue_after, Some(Duration::from_secs(290)));
        let Action::Event { event } = &first.actions[0] else { panic!("expected an event first") };
        assert_eq!(event.reason.as_deref(), Some(TAINT_MANAGER_EVICTION));
        assert_eq!(event.message.as_deref(), Some("Marking for deletion Pod default/untolerating"));
        assert_eq!(deleted(&reconcile_taint_eviction(&node, &pods[1..3], at(299))), Vec::<String>::new());
        assert_eq!(deleted(&reconcile_taint_eviction(&node, &pods[1..3], at(300))), vec!["for-300"]);
    }

    // The shortest tolerationSeconds among the tolerations used wins (getMinTolerationTime).
    #[test]
    fn the_shortest_toleration_wins() {
        let taints = json!([
            {"key": "a", "effect": "NoExecute", "timeAdded": at(0).to_string()},
            {"key": "b", "effect": "NoExecute", "timeAdded": at(0).to_string()},
        ]);
        let pod = pod(
            "p",
            json!([
                {"key": "a", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 100},
                {"key": "b", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 50},
            ]),
        );
        let reconciled = reconcile_taint_eviction(&node(taints), std::slice::from_ref(&pod), at(10));
        assert_eq!(reconciled.requeue_after, Some(Duration::from_secs(40)));
    }

    #[test]
    fn a_node_without_no_execute_taints_evicts_nothing() {
        let node = node(json!([{"key": "a", "effect": "NoSchedule"}]));
        assert!(reconcile_taint_eviction(&node, &[pod("p", json!([]))], at(0)).actions.is_empty());
    }
}
