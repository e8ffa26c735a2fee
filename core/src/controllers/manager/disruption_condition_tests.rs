//! End-to-end tests of the `DisruptionTarget` pod condition through the API: the taint
//! eviction controller writes it before it deletes a pod from a node with a NoExecute taint
//! (Kubernetes 1.32's `addConditionAndDeletePod`), and the disruption controller resets it to
//! False on a pod that carried it for two minutes without being deleted
//! (`syncStalePodDisruption`). The controller manager and instant kubelets run against one
//! in-memory API server, in simulated time.

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::{ControllerManager, ControllerManagerConfig};
use crate::api::Method;
use crate::client::Component;
use crate::controllers::disruption::stale_condition::STALE_POD_DISRUPTION_TIMEOUT;
use crate::testing::{InstantKubelet, TestCluster};

/// Keeps a deleted pod visible (with its deletionTimestamp) so a test can read what it
/// carried when it was deleted.
const HOLD: &str = "example.com/hold";

fn pod_on_node_0(name: &str, tolerations: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "finalizers": [HOLD]},
        "spec": {"nodeName": "node-0", "tolerations": tolerations,
            "containers": [{"name": "app", "image": "app:v1"}]}
    })
}

fn pod_path(name: &str) -> String {
    format!("/api/v1/namespaces/default/pods/{name}")
}

fn disruption_target(pod: &Value) -> Option<Value> {
    pod["status"]["conditions"].as_array()?.iter().find(|condition| condition["type"] == "DisruptionTarget").cloned()
}

fn deleted(pod: &Value) -> bool {
    !pod["metadata"]["deletionTimestamp"].is_null()
}

fn running(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running"
}

fn seconds_since(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64()
}

#[test]
fn a_no_execute_taint_marks_each_evicted_pod_disruption_target_before_deleting_it() {
    let mut cluster = TestCluster::new(2);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut kubelet = InstantKubelet::new();
    let toleration =
        json!([{"key": "dedicated", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}]);
    for (name, tolerations) in [("intolerant", json!([])), ("patient", toleration)] {
        let (status, body) =
            cluster.send(Method::Post, "/api/v1/namespaces/default/pods", Some(pod_on_node_0(name, tolerations)));
        assert_eq!(status, 201, "{body}");
    }
    {
        let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut kubelet];
        assert!(cluster.run_until(components, Duration::from_secs(30), |cluster| {
            running(&cluster.get(&pod_path("intolerant"))) && running(&cluster.get(&pod_path("patient")))
        }));
    }
    for name in ["intolerant", "patient"] {
        assert_eq!(disruption_target(&cluster.get(&pod_path(name))), None, "{name} is not disrupted yet");
    }

    // An administrator taints node-0 NoExecute (`kubectl taint`), stamped as the node
    // lifecycle controller stamps its own taints.
    let tainted_at = cluster.now;
    let taint = json!({"spec": {"taints": [{"key": "dedicated", "value": "maintenance", "effect": "NoExecute",
        "timeAdded": Timestamp::from_second(tainted_at.as_second()).unwrap().to_string()}]}});
    let (status, body) = cluster.send(Method::Patch, "/api/v1/nodes/node-0", Some(taint));
    assert_eq!(status, 200, "{body}");
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut kubelet];
    assert!(
        cluster
            .run_until(components, Duration::from_secs(10), |cluster| deleted(&cluster.get(&pod_path("intolerant"))))
    );
    let intolerant = cluster.get(&pod_path("intolerant"));
    let condition = disruption_target(&intolerant).expect("the evicted pod carries DisruptionTarget");
    assert_eq!(condition["status"], "True");
    assert_eq!(condition["reason"], "DeletionByTaintManager");
    assert_eq!(condition["message"], "Taint manager: deleting due to NoExecute taint");
    // The condition was written before the deletion: its transition is no later than it.
    let transition: Timestamp = condition["lastTransitionTime"].as_str().unwrap().parse().unwrap();
    let deletion: Timestamp = intolerant["metadata"]["deletionTimestamp"].as_str().unwrap().parse().unwrap();
    assert!(transition <= deletion, "DisruptionTarget at {transition}, deletion at {deletion}");
    assert!(seconds_since(tainted_at, cluster.now) < 5.0, "an intolerant pod goes at once");
    let patient = cluster.get(&pod_path("patient"));
    assert!(!deleted(&patient) && disruption_target(&patient).is_none(), "the tolerating pod waits: {patient}");

    // The tolerating pod goes once its 30 seconds have passed, marked the same way.
    assert!(
        cluster.run_until(components, Duration::from_secs(60), |cluster| deleted(&cluster.get(&pod_path("patient"))))
    );
    let waited = seconds_since(tainted_at, cluster.now);
    assert!((29.0..=32.0).contains(&waited), "evicted {waited} s after the taint");
    let condition = disruption_target(&cluster.get(&pod_path("patient"))).expect("marked before its deletion");
    assert_eq!(
        (condition["status"].as_str(), condition["reason"].as_str()),
        (Some("True"), Some("DeletionByTaintManager"))
    );

    // A pod being deleted is never reset, however long it waits on its finalizer.
    assert!(!cluster.run_until(components, STALE_POD_DISRUPTION_TIMEOUT + Duration::from_secs(30), |cluster| {
        disruption_target(&cluster.get(&pod_path("patient"))).is_some_and(|condition| condition["status"] == "False")
    }));
}

#[test]
fn a_stale_disruption_target_on_a_live_pod_is_reset_after_two_minutes() {
    let mut cluster = TestCluster::new(1);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut kubelet = InstantKubelet::new();
    let mut pod = pod_on_node_0("survivor", json!([]));
    pod["metadata"]["finalizers"] = json!([]);
    let (status, body) = cluster.send(Method::Post, "/api/v1/namespaces/default/pods", Some(pod));
    assert_eq!(status, 201, "{body}");
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut kubelet];
    assert!(
        cluster.run_until(components, Duration::from_secs(30), |cluster| running(&cluster.get(&pod_path("survivor"))))
    );

    // Something marked the pod for a disruption that never came (an eviction whose delete
    // was refused).
    let marked_at = Timestamp::from_second(cluster.now.as_second()).unwrap();
    let patch = json!({"status": {"conditions": [{"type": "DisruptionTarget", "status": "True",
        "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting", "lastTransitionTime": marked_at.to_string()}]}});
    let (status, body) = cluster.send(Method::Patch, &format!("{}/status", pod_path("survivor")), Some(patch));
    assert_eq!(status, 200, "{body}");

    let reset = |cluster: &mut TestCluster| {
        disruption_target(&cluster.get(&pod_path("survivor"))).is_some_and(|condition| condition["status"] == "False")
    };
    let timeout = SignedDuration::try_from(STALE_POD_DISRUPTION_TIMEOUT).unwrap();
    assert!(!cluster.run_until(components, Duration::from_secs(110), reset), "not before two minutes");
    assert!(cluster.run_until(components, Duration::from_secs(60), reset));
    let waited = cluster.now.duration_since(marked_at);
    assert!(waited >= timeout && waited <= timeout + SignedDuration::from_secs(3), "reset after {waited:?}");
    let pod = cluster.get(&pod_path("survivor"));
    let condition = disruption_target(&pod).unwrap();
    assert!(condition["reason"].is_null() && condition["message"].is_null(), "reason and message cleared: {condition}");
    assert!(!deleted(&pod) && running(&pod), "the pod itself is untouched");
    let ready = pod["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap();
    assert_eq!(ready["status"], "True", "other conditions are kept");
}
