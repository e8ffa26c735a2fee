//! Rows of Kubernetes' `pkg/controller/podgc/gc_controller_test.go`.

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::*;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + seconds).unwrap()
}

/// Pods created an hour apart in the order given, as the upstream tests make them.
fn pods(rows: &[(&str, &str)], deleted: bool, node: &str) -> Vec<Pod> {
    rows.iter()
        .enumerate()
        .map(|(index, (name, phase))| {
            let mut metadata = json!({"name": name, "namespace": "default", "uid": name,
                "creationTimestamp": at(3600 * (index as i64 + 1)).to_string()});
            if deleted {
                metadata["deletionTimestamp"] = json!(at(0).to_string());
            }
            serde_json::from_value(json!({"metadata": metadata,
                "spec": {"nodeName": node, "containers": [{"name": "c"}]}, "status": {"phase": phase}}))
            .unwrap()
        })
        .collect()
}

fn deleted(reconciled: &Reconciled) -> Vec<String> {
    reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::ForceDelete { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

fn status_patches(reconciled: &Reconciled) -> Vec<(String, Value)> {
    reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Patch { name, body, .. } => Some((name.clone(), body.clone())),
            _ => None,
        })
        .collect()
}

/// Pods (name, phase), the threshold, and the pods deleted.
type Row = (&'static [(&'static str, &'static str)], usize, &'static [&'static str]);

#[test]
fn terminated_pods_beyond_the_threshold_go_oldest_first() {
    // TestGCTerminated: (pods, threshold, deleted).
    let rows: [Row; 5] = [
        // "threshold = 0, disables terminated pod deletion"
        (&[("a", "Failed"), ("b", "Succeeded")], 0, &[]),
        // "threshold = 1, delete pod a which is the oldest"... two oldest of three.
        (&[("a", "Failed"), ("b", "Succeeded"), ("c", "Failed")], 1, &["a", "b"]),
        // A running pod is not terminated and never counted.
        (&[("a", "Running"), ("b", "Succeeded"), ("c", "Failed")], 1, &["b"]),
        (&[("a", "Failed"), ("b", "Succeeded")], 1, &["a"]),
        (&[("a", "Failed"), ("b", "Succeeded")], 5, &[]),
    ];
    for (rows, threshold, expected) in rows {
        let pods = pods(rows, false, "node");
        let terminated: Vec<&Pod> = pods.iter().filter(|pod| is_pod_terminated(pod)).collect();
        let reconciled = reconcile_terminated_pods(&terminated, threshold);
        assert_eq!(deleted(&reconciled), expected, "threshold {threshold} over {rows:?}");
        assert!(status_patches(&reconciled).is_empty(), "terminated pods are not patched again");
    }
}

#[test]
fn equal_creation_times_are_ordered_by_name() {
    let mut pods = pods(&[("b", "Failed"), ("a", "Failed")], false, "node");
    let same = pods[0].metadata.creation_timestamp.clone();
    pods[1].metadata.creation_timestamp = same;
    assert_eq!(deleted(&reconcile_terminated_pods(&pods, 1)), ["a"]);
}

#[test]
fn pods_of_a_missing_node_are_marked_failed_with_disruption_target_and_force_deleted() {
    // TestGCOrphaned: "delete pods bound to a node that does not exist", in any phase; a running
    // pod is first marked Failed with DisruptionTarget (DeletionByPodGC).
    let pods = pods(&[("a", "Failed"), ("b", "Succeeded"), ("c", "Running")], false, "gone");
    let reconciled = reconcile_orphaned_pods(false, &pods, at(100));
    assert_eq!(deleted(&reconciled), ["a", "b", "c"]);
    let patches = status_patches(&reconciled);
    assert_eq!(patches.len(), 1, "only the running pod is patched: {patches:?}");
    assert_eq!(patches[0].0, "c");
    assert_eq!(patches[0].1["status"]["phase"], "Failed");
    let condition = &patches[0].1["status"]["conditions"][0];
    assert_eq!(condition["type"], DISRUPTION_TARGET);
    assert_eq!(condition["reason"], DELETION_BY_POD_GC);
    assert_eq!(condition["message"], NODE_NO_LONGER_EXISTS_MESSAGE);
    assert!(matches!(reconciled.actions.last(), Some(Action::ForceDelete { .. })), "patches go first");
    // "no orphaned pods" when the node exists.
    assert!(reconcile_orphaned_pods(true, &pods, at(100)).actions.is_empty());
}

#[test]
fn unscheduled_terminating_pods_are_deleted_in_any_phase() {
    // TestGCUnscheduledTerminating: "Unscheduled pod in any phase must be deleted".
    for pod in pods(&[("a", "Failed"), ("b", "Succeeded"), ("c", "Running")], true, "") {
        assert_eq!(deleted(&reconcile_terminating_pod(&pod, None)), [pod.metadata.name.clone().unwrap()]);
    }
    // "Scheduled pod in any phase must not be deleted"
    let not_terminating = pods(&[("a", "Failed")], false, "");
    assert!(reconcile_terminating_pod(&not_terminating[0], None).actions.is_empty());
    let scheduled = pods(&[("b", "Succeeded"), ("c", "Running")], true, "node");
    let node = node(true, false);
    for pod in &scheduled {
        assert!(reconcile_terminating_pod(pod, Some(&node)).actions.is_empty());
    }
}

fn node(ready: bool, out_of_service: bool) -> Node {
    let taints = if out_of_service { json!([{"key": OUT_OF_SERVICE_TAINT, "effect": "NoExecute"}]) } else { json!([]) };
    serde_json::from_value(json!({"metadata": {"name": "node"}, "spec": {"taints": taints},
        "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}}))
    .unwrap()
}

#[test]
fn terminating_pods_on_an_out_of_service_node_are_deleted() {
    // TestGCTerminating: pods terminating on a not-ready node with the out-of-service taint are
    // deleted (a running one marked Failed first, without a condition); a ready node, or one
    // without the taint, keeps them.
    let pods = pods(&[("a", "Running"), ("b", "Failed")], true, "node");
    let rows = [(false, true, true), (true, true, false), (false, false, false)];
    for (ready, tainted, deletes) in rows {
        let node = node(ready, tainted);
        let reconciled = reconcile_terminating_pod(&pods[0], Some(&node));
        assert_eq!(!reconciled.actions.is_empty(), deletes, "ready {ready}, tainted {tainted}");
        if deletes {
            let patches = status_patches(&reconciled);
            assert_eq!(patches[0].1, json!({"status": {"phase": "Failed"}}));
            assert_eq!(deleted(&reconcile_terminating_pod(&pods[1], Some(&node))), ["b"]);
        }
    }
}
