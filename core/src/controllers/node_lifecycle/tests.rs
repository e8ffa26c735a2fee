//! Node lifecycle tests, ported from `node_lifecycle_controller_test.go`
//! (TestMonitorNodeHealthUpdateStatus, TestMonitorNodeHealthUpdateNodeAndPodStatusWithLease,
//! TestSwapUnreachableNotReadyTaints, TestMonitorNodeHealthEvictPodsWithDisruption's zone
//! cases) and a node-loss eviction run end to end with the taint eviction controller.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use serde_json::{Value, json};

use super::*;
use crate::controllers::taint_eviction::reconcile_taint_eviction;

fn no_pods(_: &str) -> Vec<Pod> {
    Vec::new()
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_325_376_000 + seconds).unwrap()
}

fn node_in(name: &str, zone: &str, ready: Option<(&str, i64)>) -> Node {
    let conditions: Vec<Value> = match ready {
        None => vec![],
        Some((status, heartbeat)) => ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"]
            .iter()
            .map(|type_| {
                let status = if *type_ == "Ready" { status } else { "False" };
                json!({"type": type_, "status": status, "lastHeartbeatTime": at(heartbeat).to_string(),
                       "lastTransitionTime": at(0).to_string()})
            })
            .collect(),
    };
    serde_json::from_value(json!({
        "metadata": {"name": name, "creationTimestamp": at(0).to_string(), "labels": {ZONE_LABEL: zone, REGION_LABEL: "region1"}},
        "status": {"conditions": conditions},
    }))
    .unwrap()
}

fn node(name: &str, ready: Option<(&str, i64)>) -> Node {
    node_in(name, "zone1", ready)
}

fn lease(name: &str, renewed: i64) -> Lease {
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
    Lease {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("kube-node-lease".into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(name.into()),
            renew_time: Some(MicroTime(at(renewed))),
            ..LeaseSpec::default()
        }),
    }
}

fn status_updates(reconciled: &Reconciled) -> Vec<Node> {
    reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::UpdateStatus { object } => Some(object.to_typed().unwrap()),
            _ => None,
        })
        .collect()
}

/// The taints each patched node ends with.
fn taint_patches(reconciled: &Reconciled) -> Vec<(String, Vec<String>)> {
    reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Patch { name, body, .. } => {
                let taints: Vec<Taint> = serde_json::from_value(body["spec"]["taints"].clone()).unwrap_or_default();
                Some((name.clone(), taints.into_iter().map(|taint| taint.key).collect()))
            }
            _ => None,
        })
        .collect()
}

fn with_taint(mut node: Node, key: &str, added: i64) -> Node {
    let taint = Taint {
        key: key.into(),
        effect: NO_EXECUTE.into(),
        time_added: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(added))),
        value: None,
    };
    node.spec.get_or_insert_with(Default::default).taints.get_or_insert_with(Vec::new).push(taint);
    node
}

// TestMonitorNodeHealthUpdateStatus, "Node created long time ago, and kubelet posted
// NodeStatus once": every condition becomes Unknown with Kubernetes' reason and message.
#[test]
fn a_silent_node_gets_unknown_conditions_after_the_grace_period() {
    let config = NodeLifecycleConfig::default();
    let mut state = NodeLifecycleState::new();
    let nodes = [node("node0", Some(("True", 0)))];
    assert!(status_updates(&reconcile_node_lifecycle(&config, &nodes, &[], no_pods, &mut state, at(0))).is_empty());
    assert!(status_updates(&reconcile_node_lifecycle(&config, &nodes, &[], no_pods, &mut state, at(40))).is_empty());
    let updated = status_updates(&reconcile_node_lifecycle(&config, &nodes, &[], no_pods, &mut state, at(41)));
    let conditions = updated[0].status.as_ref().unwrap().conditions.clone().unwrap();
    for condition in &conditions {
        assert_eq!(condition.status, "Unknown", "{}", condition.type_);
        assert_eq!(condition.reason.as_deref(), Some("NodeStatusUnknown"));
        assert_eq!(condition.message.as_deref(), Some("Kubelet stopped posting node status."));
        assert_eq!(condition.last_transition_time.as_ref().unwrap().0, at(41));
        assert_eq!(condition.last_heartbeat_time.as_ref().unwrap().0, at(0));
    }
    assert_eq!(conditions.len(), 4);
}

// "Node created long time ago, without status": NodeStatusNeverUpdated after the startup grace.
#[test]
fn a_node_that_never_reported_gets_never_updated_conditions_after_the_startup_grace() {
    let config = NodeLifecycleConfig::default();
    let mut state = NodeLifecycleState::new();
    let nodes = [node("node0", None)];
    assert!(status_updates(&reconcile_node_lifecycle(&config, &nodes, &[], no_pods, &mut state, at(60))).is_empty());
    let updated = status_updates(&reconcile_node_lifecycle(&config, &nodes, &[], no_pods, &mut state, at(61)));
    let conditions = updated[0].status.as_ref().unwrap().conditions.clone().unwrap();
    let types: Vec<&str> = conditions.iter().map(|condition| condition.type_.as_str()).collect();
    assert_eq!(types, MONITORED_CONDITIONS);
    assert!(conditions.iter().all(|condition| condition.reason.as_deref() == Some(NODE_STATUS_NEVER_UPDATED)
        && condition.message.as_deref() == Some(KUBELET_NEVER_POSTED)
        && condition.last_heartbeat_time.as_ref().unwrap().0 == at(0)));
}

// TestMonitorNodeHealthUpdateNodeAndPodStatusWithLease: a renewed Lease keeps the node healthy
// even though its status heartbeat is old; a Lease that stops being renewed does not.
#[test]
fn a_renewed_lease_counts_as_a_heartbeat() {
    let config = NodeLifecycleConfig::default();
    let mut state = NodeLifecycleState::new();
    let nodes = [node("node0", Some(("True", 0)))];
    for second in (0..=100).step_by(10) {
        let renewed = [lease("node0", second)];
        let reconciled = reconcile_node_lifecycle(&config, &nodes, &renewed, no_pods, &mut state, at(second));
        assert!(status_updates(&reconciled).is_empty(), "renewed at {second}");
    }
    let stale = [lease("node0", 100)];
    assert!(
        status_updates(&reconcile_node_lifecycle(&config, &nodes, &stale, no_pods, &mut state, at(140))).is_empty()
    );
    assert_eq!(
        status_updates(&reconcile_node_lifecycle(&config, &nodes, &stale, no_pods, &mut state, at(141))).len(),
        1
    );
    assert_eq!(last_heartbeat(&nodes[0], Some(&stale[0])), Some(at(100)));
    assert_eq!(state.health("node0").unwrap().probe_timestamp, at(100));
}

/// A node whose Ready heartbeat says `heartbeat` (its own clock).
fn heartbeating(heartbeat: Timestamp) -> Node {
    let mut node = node("skewed", Some(("True", 0)));
    for condition in node.status.as_mut().unwrap().conditions.as_mut().unwrap() {
        condition.last_heartbeat_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(heartbeat));
    }
    node
}

// nodeHealthData's point: a node whose clock runs an hour behind but heartbeats every 10 s stays
// Ready, and one whose clock runs an hour ahead turns Unknown 40 s after its last heartbeat.
#[test]
fn a_node_with_a_skewed_clock_is_judged_by_the_controllers_clock() {
    let config = NodeLifecycleConfig::default();
    let hour = 3600;
    for (skew, silent_from) in [(-hour, None), (hour, Some(100))] {
        let mut state = NodeLifecycleState::new();
        let mut unknown_at = None;
        for second in (0..=200).step_by(10) {
            let beat = silent_from.map_or(second, |silent: i64| second.min(silent));
            let nodes = [heartbeating(at(beat + skew))];
            let reconciled = reconcile_node_lifecycle(&config, &nodes, &[], no_pods, &mut state, at(second));
            if unknown_at.is_none() && !status_updates(&reconciled).is_empty() {
                unknown_at = Some(second);
            }
        }
        assert_eq!(unknown_at, silent_from.map(|silent| silent + 50), "skew {skew}");
    }
}

fn ready_pod(name: &str, node_name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default", "uid": name, "resourceVersion": "7"},
        "spec": {"nodeName": node_name, "containers": []},
        "status": {"phase": "Running", "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Ready", "status": "True", "lastTransitionTime": at(0).to_string()}]}
    }))
    .unwrap()
}

// MarkPodsNotReady (TestMonitorNodeHealthMarkPodsNotReady, TestMarkPodsNotReady): when the node
// turns Unknown its pods get Ready=False and a NodeNotReady event; pods already not ready and
// pods of other nodes are left alone.
#[test]
fn pods_of_a_node_turning_unknown_are_marked_not_ready() {
    let config = NodeLifecycleConfig::default();
    let mut state = NodeLifecycleState::new();
    let nodes = [node("lost", Some(("True", 0)))];
    let mut already = ready_pod("already", "lost");
    already.status.as_mut().unwrap().conditions.as_mut().unwrap()[1].status = "False".into();
    let pods = vec![ready_pod("web", "lost"), already, ready_pod("elsewhere", "other")];
    let pods_on = |node: &str| if node == "lost" { pods.clone() } else { Vec::new() };
    let quiet = reconcile_node_lifecycle(&config, &nodes, &[], pods_on, &mut state, at(0));
    assert!(quiet.actions.iter().all(|action| !matches!(action, Action::Event { .. })));
    let reconciled = reconcile_node_lifecycle(&config, &nodes, &[], pods_on, &mut state, at(41));
    let pod_updates: Vec<Pod> = reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::UpdateStatus { object } if object.kind == "Pod" => Some(object.to_typed().unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(pod_updates.len(), 1);
    assert_eq!(pod_updates[0].metadata.name.as_deref(), Some("web"));
    assert_eq!(pod_updates[0].metadata.resource_version.as_deref(), Some("7"), "the write is guarded");
    let ready = &pod_updates[0].status.as_ref().unwrap().conditions.as_ref().unwrap()[1];
    assert_eq!((ready.type_.as_str(), ready.status.as_str()), ("Ready", "False"));
    assert_eq!(ready.last_transition_time.as_ref().unwrap().0, at(41));
    let events: Vec<(String, String, String)> = reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Event { event } => Some((
                event.involved_object.kind.clone().unwrap_or_default(),
                event.reason.clone().unwrap_or_default(),
                event.message.clone().unwrap_or_default(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        events,
        vec![
            ("Node".into(), "NodeNotReady".into(), "Node lost status is now: NodeNotReady".into()),
            ("Pod".into(), "NodeNotReady".into(), "Node is not ready".into()),
        ]
    );
}

// monitorNodeHealth handles each node on its own: a pass over two silent nodes sends each its
// status write and taint in independent batches, so one refused write holds back nothing.
#[test]
fn one_nodes_failed_write_does_not_hold_back_the_others() {
    let config = NodeLifecycleConfig::default();
    let mut state = NodeLifecycleState::new();
    let nodes = [node_in("a", "zone1", Some(("True", 0))), node_in("b", "zone2", Some(("True", 0)))];
    reconcile_node_lifecycle(&config, &nodes, &[], no_pods, &mut state, at(0));
    let reconciled = reconcile_node_lifecycle(&config, &nodes, &[], no_pods, &mut state, at(41));
    assert!(reconciled.independent_batches);
    assert_eq!(status_updates(&reconciled).len(), 2);
    assert!(reconciled.batches().iter().all(|batch| batch.len() == 1));
}

// TestSwapUnreachableNotReadyTaints and the Ready case of processTaintBaseEviction.
#[test]
fn controller_taints_follow_the_ready_condition() {
    let config = NodeLifecycleConfig::default();
    let mut state = NodeLifecycleState::new();
    let now = 10;
    let healthy = node("b", Some(("True", now)));
    let not_ready = node("a", Some(("False", now)));
    let reconciled =
        reconcile_node_lifecycle(&config, &[not_ready, healthy.clone()], &[], no_pods, &mut state, at(now));
    assert_eq!(taint_patches(&reconciled), vec![("a".to_string(), vec![NOT_READY_TAINT_KEY.to_string()])]);
    let unknown_tainted_not_ready = with_taint(node("a", Some(("Unknown", now))), NOT_READY_TAINT_KEY, 0);
    let reconciled = reconcile_node_lifecycle(
        &config,
        &[unknown_tainted_not_ready, healthy.clone()],
        &[],
        no_pods,
        &mut state,
        at(now),
    );
    assert_eq!(taint_patches(&reconciled), vec![("a".to_string(), vec![UNREACHABLE_TAINT_KEY.to_string()])]);
    let mut recovered = with_taint(node("a", Some(("True", now))), UNREACHABLE_TAINT_KEY, 0);
    recovered.spec.as_mut().unwrap().taints.as_mut().unwrap().push(Taint {
        key: "keep".into(),
        effect: "NoSchedule".into(),
        ..Taint::default()
    });
    let reconciled = reconcile_node_lifecycle(&config, &[recovered, healthy], &[], no_pods, &mut state, at(now));
    assert_eq!(taint_patches(&reconciled), vec![("a".to_string(), vec!["keep".to_string()])]);
}

// A healthy zone taints 0.1 node per second: one now, the next ten seconds later.
#[test]
fn a_healthy_zone_taints_one_node_every_ten_seconds() {
    let config = NodeLifecycleConfig::default();
    let mut state = NodeLifecycleState::new();
    let mut nodes: Vec<Node> = (0..10).map(|index| node(&format!("node{index}"), Some(("True", 100)))).collect();
    nodes[0] = node("node0", Some(("False", 100)));
    nodes[1] = node("node1", Some(("False", 100)));
    let first = reconcile_node_lifecycle(&config, &nodes, &[], no_pods, &mut state, at(100));
    assert_eq!(taint_patches(&first).len(), 1);
    assert!(state.is_queued("node1"));
    assert!(taint_patches(&reconcile_node_lifecycle(&config, &nodes, &[], no_pods, &mut state, at(105))).is_empty());
    let later = reconcile_node_lifecycle(&config, &nodes, &[], no_pods, &mut state, at(110));
    assert_eq!(taint_patches(&later), vec![("node1".to_string(), vec![NOT_READY_TAINT_KEY.to_string()])]);
}

// TestMonitorNodeHealthEvictPodsWithDisruption, "Partial Disruption": a small zone stops, a
// large one slows to 0.01 node/s.
#[test]
fn a_partially_disrupted_zone_slows_or_stops_tainting_by_size() {
    let config = NodeLifecycleConfig::default();
    for (size, expected_qps) in [(10, 0.0), (60, SECONDARY_EVICTION_LIMITER_QPS)] {
        let mut state = NodeLifecycleState::new();
        let nodes: Vec<Node> = (0..size)
            .map(|index| {
                node(&format!("node{index:02}"), Some((if index < size * 6 / 10 { "False" } else { "True" }, 100)))
            })
            .collect();
        reconcile_node_lifecycle(&config, &nodes, &[], no_pods, &mut state, at(100));
        let zone = state.zone(&zone_key(&nodes[0])).unwrap();
        assert_eq!(zone.state, ZoneState::PartialDisruption);
        assert_eq!(zone.limiter.qps(), expected_qps);
    }
}

// "Full Disruption" cases: one fully disrupted zone among healthy ones is tainted at the normal
// rate; when every zone is fully disrupted nothing is tainted and existing taints are lifted.
#[test]
fn tainting_stops_only_when_every_zone_is_fully_disrupted() {
    let config = NodeLifecycleConfig::default();
    let mut state = NodeLifecycleState::new();
    let nodes = [node_in("a", "zone1", Some(("False", 100))), node_in("b", "zone2", Some(("True", 100)))];
    let reconciled = reconcile_node_lifecycle(&config, &nodes, &[], no_pods, &mut state, at(100));
    assert_eq!(state.zone(&zone_key(&nodes[0])).unwrap().state, ZoneState::FullDisruption);
    assert_eq!(state.zone(&zone_key(&nodes[0])).unwrap().limiter.qps(), EVICTION_LIMITER_QPS);
    assert_eq!(taint_patches(&reconciled).len(), 1);

    let all_down = [
        with_taint(node_in("a", "zone1", Some(("False", 100))), NOT_READY_TAINT_KEY, 100),
        node_in("b", "zone2", Some(("False", 100))),
    ];
    let reconciled = reconcile_node_lifecycle(&config, &all_down, &[], no_pods, &mut state, at(105));
    assert_eq!(taint_patches(&reconciled), vec![("a".to_string(), vec![])]);
    assert!(state.zone(&zone_key(&all_down[1])).unwrap().limiter.qps() == 0.0);
    let later = reconcile_node_lifecycle(
        &config,
        &[node_in("a", "zone1", Some(("False", 100))), node_in("b", "zone2", Some(("False", 100)))],
        &[],
        no_pods,
        &mut state,
        at(200),
    );
    assert!(taint_patches(&later).is_empty());
}

/// Applies the controllers' node and pod actions to the test world.
fn apply(nodes: &mut [Node], pods: &mut Vec<Pod>, reconciled: &Reconciled) {
    for action in &reconciled.actions {
        match action {
            Action::UpdateStatus { object } => {
                let updated: Node = object.to_typed().unwrap();
                let node = nodes.iter_mut().find(|node| node.metadata.name == updated.metadata.name).unwrap();
                node.status = updated.status;
            }
            // Taint eviction's DisruptionTarget patch goes to a pod (with a namespace); the
            // node lifecycle's taint patches go to nodes.
            Action::Patch { namespace, .. } if !namespace.is_empty() => {}
            Action::Patch { name, body, .. } => {
                let node = nodes.iter_mut().find(|node| node.metadata.name.as_deref() == Some(name)).unwrap();
                node.spec.get_or_insert_with(Default::default).taints =
                    serde_json::from_value(body["spec"]["taints"].clone()).unwrap();
            }
            Action::Delete { name, .. } => pods.retain(|pod| pod.metadata.name.as_deref() != Some(name)),
            _ => {}
        }
    }
}

// Node loss end to end: the kubelet stops renewing its Lease at t=100; 40 s later the node is
// Unknown and tainted unreachable; a pod without toleration goes at once, a pod with the
// DefaultTolerationSeconds toleration 300 s after the taint, a pod tolerating it forever stays.
#[test]
fn a_lost_nodes_pods_are_evicted_after_their_300_second_toleration() {
    let config = NodeLifecycleConfig::default();
    let mut state = NodeLifecycleState::new();
    let mut nodes = vec![node("lost", Some(("True", 0))), node("healthy", Some(("True", 0)))];
    let pod = |name: &str, tolerations: Value| -> Pod {
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": "default", "uid": name},
            "spec": {"nodeName": "lost", "containers": [], "tolerations": tolerations}}))
        .unwrap()
    };
    let default_tolerations = json!([
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    ]);
    let mut pods = vec![
        pod("web", default_tolerations),
        pod("batch", json!([{"key": "other", "operator": "Exists"}])),
        pod("daemon", json!([{"operator": "Exists", "effect": "NoExecute"}])),
    ];
    let mut unknown_at = None;
    let mut tainted_at = None;
    let mut gone_at = std::collections::BTreeMap::new();
    for second in (0..=500).step_by(5) {
        let leases = [lease("lost", second.min(100)), lease("healthy", second)];
        let reconciled = reconcile_node_lifecycle(&config, &nodes, &leases, no_pods, &mut state, at(second));
        apply(&mut nodes, &mut pods, &reconciled);
        if unknown_at.is_none() && health::condition(&nodes[0], "Ready").unwrap().status == "Unknown" {
            unknown_at = Some(second);
        }
        if tainted_at.is_none() && taints::has_taint(&nodes[0], UNREACHABLE_TAINT_KEY) {
            tainted_at = Some(second);
        }
        let names: Vec<String> = pods.iter().filter_map(|pod| pod.metadata.name.clone()).collect();
        let evicted = reconcile_taint_eviction(&nodes[0], &pods, at(second));
        apply(&mut nodes, &mut pods, &evicted);
        for name in names {
            if !pods.iter().any(|pod| pod.metadata.name.as_deref() == Some(&name)) {
                gone_at.entry(name).or_insert(second);
            }
        }
    }
    assert_eq!(unknown_at, Some(145));
    assert_eq!(tainted_at, Some(145));
    assert_eq!(gone_at.get("batch"), Some(&145));
    assert_eq!(gone_at.get("web"), Some(&445));
    assert_eq!(gone_at.get("daemon"), None);
    assert_eq!(health::condition(&nodes[1], "Ready").unwrap().status, "True");
    assert!(!taints::has_taint(&nodes[1], UNREACHABLE_TAINT_KEY));
}

/// Creates a pod through the API server and returns its tolerations.
fn admitted_tolerations(tolerations: Value) -> Value {
    use crate::api::{ApiRequest, ApiResponse, ApiServer, Method};
    let mut server = ApiServer::new(crate::store::MemoryStore::new(), 1);
    server.bootstrap(at(0)).unwrap();
    let body = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}], "tolerations": tolerations}});
    let request = ApiRequest::new(Method::Post, "/api/v1/namespaces/default/pods").with_json(&body);
    let ApiResponse::Json { status: 201, body, .. } = server.handle(&request, at(0)) else { panic!("pod not created") };
    body["spec"]["tolerations"].clone()
}

// DefaultTolerationSeconds admission (plugin/pkg/admission/defaulttolerationseconds tests): both
// tolerations are added for 300 s unless the pod already tolerates the taint.
#[test]
fn admission_gives_pods_300_seconds_of_not_ready_and_unreachable_toleration() {
    let added = admitted_tolerations(json!([]));
    assert_eq!(
        added,
        json!([
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        ])
    );
    let own = json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60}]);
    let kept = admitted_tolerations(own);
    assert_eq!(kept.as_array().unwrap().len(), 2);
    assert_eq!(kept[0]["tolerationSeconds"], 60);
    assert_eq!(kept[1]["key"], "node.kubernetes.io/not-ready");
    let everything = admitted_tolerations(json!([{"operator": "Exists"}]));
    assert_eq!(everything, json!([{"operator": "Exists"}]));
}
