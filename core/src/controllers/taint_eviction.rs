//! The taint eviction controller (`pkg/controller/tainteviction`): a pod on a node with a
//! NoExecute taint it does not tolerate is deleted at once; one that tolerates every such taint
//! for a limited time (`tolerationSeconds`) is deleted once that time has passed since the
//! taint was added; one that tolerates them forever stays.
//!
//! Before deleting, the pod gets the `DisruptionTarget` condition (reason
//! `DeletionByTaintManager`) through a status patch, as Kubernetes 1.32 does
//! (`addConditionAndDeletePod`), so a Job's `podFailurePolicy` can tell the eviction from a
//! failure; the deletion goes out only once the patch succeeded.
//!
//! Kubernetes times the toleration from when the controller first saw the pod on the tainted
//! node (in memory); here it runs from the taint's `timeAdded`, which survives restarts.

use std::borrow::Borrow;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Preconditions;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::action::{Action, EventType, PatchType, Reconciled, event_action, object_reference};
use super::node_lifecycle::NO_EXECUTE;
use crate::object::kinds::GroupResource;
use crate::object::pod_conditions::{DISRUPTION_TARGET, REASON_DELETION_BY_TAINT_MANAGER};
use crate::scheduler::plugins::taint_toleration::toleration_tolerates_taint;

const PODS: GroupResource = GroupResource { group: "", resource: "pods" };
const PODS_STATUS: GroupResource = GroupResource { group: "", resource: "pods/status" };

/// The message of the `DisruptionTarget` condition set on a pod before it is evicted.
pub const DELETION_BY_TAINT_MANAGER_MESSAGE: &str = "Taint manager: deleting due to NoExecute taint";

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
    if let Some(patch) = disruption_target_patch(pod, now) {
        reconciled.push_alone(patch);
    }
    reconciled.push_alone(Action::Delete {
        resource: PODS,
        namespace,
        name,
        preconditions: Preconditions { uid: pod.metadata.uid.clone(), resource_version: None },
        propagation_policy: None,
    });
}

/// The status patch that gives the pod `DisruptionTarget=True` (`DeletionByTaintManager`), or
/// `None` when it already carries that condition as it would be written
/// (`apipod.UpdatePodCondition` reports no change). The patch names the pod's uid, as
/// `PatchPodStatus` does, so it cannot land on a pod recreated under the same name.
fn disruption_target_patch(pod: &Pod, now: Timestamp) -> Option<Action> {
    let existing = pod
        .status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .and_then(|conditions| conditions.iter().find(|condition| condition.type_ == DISRUPTION_TARGET));
    let unchanged = existing.is_some_and(|condition| {
        condition.status == "True"
            && condition.reason.as_deref() == Some(REASON_DELETION_BY_TAINT_MANAGER)
            && condition.message.as_deref() == Some(DELETION_BY_TAINT_MANAGER_MESSAGE)
            && condition.last_probe_time.is_none()
    });
    if unchanged {
        return None;
    }
    // The transition time moves only when the status does.
    let transition = existing
        .filter(|condition| condition.status == "True")
        .and_then(|condition| condition.last_transition_time.as_ref())
        .map_or(now, |time| time.0);
    let condition = json!({
        "type": DISRUPTION_TARGET, "status": "True", "reason": REASON_DELETION_BY_TAINT_MANAGER,
        "message": DELETION_BY_TAINT_MANAGER_MESSAGE, "lastTransitionTime": transition.to_string(),
    });
    Some(Action::Patch {
        resource: PODS_STATUS,
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        patch_type: PatchType::StrategicMerge,
        body: json!({"metadata": {"uid": pod.metadata.uid}, "status": {"conditions": [condition]}}),
    })
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

    fn patched(reconciled: &Reconciled) -> Vec<String> {
        reconciled
            .actions
            .iter()
            .filter_map(|action| match action {
                Action::Patch { resource, name, .. } if *resource == PODS_STATUS => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    /// Kubernetes' `createNoExecuteTaint(index)`.
    fn no_execute_taint(index: u32) -> Value {
        json!({"key": format!("testTaint{index}"), "value": format!("test{index}"), "effect": "NoExecute",
            "timeAdded": at(0).to_string()})
    }

    /// Kubernetes' `addToleration(pod, index, seconds)`: a negative time tolerates forever.
    fn toleration(index: u32, seconds: i64) -> Value {
        let mut toleration =
            json!({"key": format!("testTaint{index}"), "value": format!("test{index}"), "effect": "NoExecute"});
        if seconds >= 0 {
            toleration["tolerationSeconds"] = json!(seconds);
        }
        toleration
    }

    // Rows of Kubernetes' TestCreatePod and TestUpdateNode (taint_eviction_test.go) with their
    // expectPatch and expectDelete: every eviction patches DisruptionTarget, then deletes, each
    // in a batch of its own so the deletion waits for the patch.
    #[test]
    fn an_evicted_pod_gets_disruption_target_before_its_deletion() {
        type Row = (&'static str, Vec<Value>, Vec<Value>, bool);
        let rows: Vec<Row> = vec![
            ("scheduled on untainted Node", vec![], vec![], false),
            ("schedule on tainted Node", vec![no_execute_taint(1)], vec![], true),
            ("with finite toleration", vec![no_execute_taint(1)], vec![toleration(1, 100)], false),
            ("with infinite toleration", vec![no_execute_taint(1)], vec![toleration(1, -1)], false),
            ("with infinite invalid toleration", vec![no_execute_taint(1)], vec![toleration(2, -1)], true),
            (
                "only one added taint tolerated",
                vec![no_execute_taint(1), no_execute_taint(2)],
                vec![toleration(1, 100)],
                true,
            ),
        ];
        for (name, taints, tolerations, evicted) in rows {
            let reconciled = reconcile_taint_eviction(&node(json!(taints)), &[pod("pod1", json!(tolerations))], at(0));
            let expected: Vec<String> = if evicted { vec!["pod1".to_string()] } else { Vec::new() };
            assert_eq!((patched(&reconciled), deleted(&reconciled)), (expected.clone(), expected), "{name}");
            if !evicted {
                continue;
            }
            let kinds: Vec<&str> = reconciled
                .actions
                .iter()
                .map(|action| match action {
                    Action::Event { .. } => "event",
                    Action::Patch { .. } => "patch",
                    Action::Delete { .. } => "delete",
                    _ => "other",
                })
                .collect();
            assert_eq!(kinds, ["event", "patch", "delete"], "{name}");
            assert_eq!(reconciled.batches().len(), 3, "{name}: the deletion is a batch after the patch");
            let Action::Patch { body, patch_type, namespace, .. } = &reconciled.actions[1] else { unreachable!() };
            assert_eq!((*patch_type, namespace.as_str()), (PatchType::StrategicMerge, "default"));
            assert_eq!(
                body,
                &json!({"metadata": {"uid": "uid-pod1"}, "status": {"conditions": [{
                    "type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
                    "message": "Taint manager: deleting due to NoExecute taint", "lastTransitionTime": at(0).to_string(),
                }]}}),
                "{name}"
            );
        }
    }

    // The TestUpdateNode row "Pod with multiple tolerations are evicted when first one runs
    // out": tolerated for 1 s and for 100 s, the pod goes after 1 s.
    #[test]
    fn a_pod_with_several_tolerations_goes_when_the_first_runs_out() {
        let node = node(json!([no_execute_taint(1), no_execute_taint(2)]));
        let pods = [pod("pod1", json!([toleration(1, 1), toleration(2, 100)]))];
        let waiting = reconcile_taint_eviction(&node, &pods, at(0));
        assert_eq!((deleted(&waiting), waiting.requeue_after), (Vec::new(), Some(Duration::from_secs(1))));
        assert_eq!(deleted(&reconcile_taint_eviction(&node, &pods, at(1))), ["pod1"]);
    }

    // `UpdatePodCondition` reports no change for a pod already carrying the condition as the
    // controller writes it (a retry after the deletion failed): no second patch, and the
    // transition time of a condition that only changes its reason stays.
    #[test]
    fn a_pod_already_marked_is_not_patched_again() {
        let node = node(json!([no_execute_taint(1)]));
        let mut marked = pod("pod1", json!([]));
        let condition = json!({"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
            "message": DELETION_BY_TAINT_MANAGER_MESSAGE, "lastTransitionTime": at(0).to_string()});
        marked.status = serde_json::from_value(json!({"conditions": [condition]})).unwrap();
        let retry = reconcile_taint_eviction(&node, std::slice::from_ref(&marked), at(5));
        assert_eq!((patched(&retry), deleted(&retry)), (Vec::new(), vec!["pod1".to_string()]));
        let mut evicted_by_api = marked.clone();
        evicted_by_api.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].reason =
            Some("EvictionByEvictionAPI".to_string());
        let retry = reconcile_taint_eviction(&node, std::slice::from_ref(&evicted_by_api), at(5));
        let Action::Patch { body, .. } = &retry.actions[1] else { panic!("expected a patch") };
        assert_eq!(body["status"]["conditions"][0]["lastTransitionTime"], json!(at(0).to_string()));
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
        assert_eq!(patched(&first), vec!["untolerating", "other-taint"]);
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
