//! End-to-end tests of the node controllers and the HorizontalPodAutoscaler controller through
//! the API: the controller manager, the scheduler component and instant kubelets that renew
//! their nodes' Leases, against one in-memory API server. Every stage is asserted with the
//! simulated time it happened at.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::{ControllerManager, ControllerManagerConfig};
use crate::api::Method;
use crate::client::Component;
use crate::controllers::NodeIpamConfig;
use crate::controllers::hpa::{MetricsSource, MetricsUnavailable, PodMetrics, PodUsage};
use crate::controllers::node_lifecycle::{NODE_LEASE_NAMESPACE, NODE_MONITOR_GRACE_PERIOD, NODE_MONITOR_PERIOD};
use crate::selector::LabelSelector;
use crate::testing::{InstantKubelet, Stoppable, TestCluster, default_scheduler, node};

const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

pub(super) fn web(replicas: i32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "web:v1",
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}
            }
        }
    })
}

fn pods(cluster: &mut TestCluster) -> Vec<Value> {
    cluster.get("/api/v1/namespaces/default/pods")["items"].as_array().cloned().unwrap_or_default()
}

fn name_of(object: &Value) -> String {
    object["metadata"]["name"].as_str().unwrap_or_default().to_string()
}

fn node_of(pod: &Value) -> String {
    pod["spec"]["nodeName"].as_str().unwrap_or_default().to_string()
}

fn terminating(pod: &Value) -> bool {
    !pod["metadata"]["deletionTimestamp"].is_null()
}

/// Running pods not being deleted.
fn running_pods(cluster: &mut TestCluster) -> Vec<Value> {
    pods(cluster).into_iter().filter(|pod| pod["status"]["phase"] == "Running" && !terminating(pod)).collect()
}

fn ready_status(node: &Value) -> String {
    let conditions = node["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let ready = conditions.iter().find(|condition| condition["type"] == "Ready");
    ready.and_then(|ready| ready["status"].as_str()).unwrap_or_default().to_string()
}

fn taint<'a>(node: &'a Value, key: &str, effect: &str) -> Option<&'a Value> {
    node["spec"]["taints"].as_array()?.iter().find(|taint| taint["key"] == key && taint["effect"] == effect)
}

fn seconds_between(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64()
}

#[test]
fn a_silent_node_turns_unknown_is_tainted_and_its_pods_are_replaced_on_the_healthy_nodes() {
    let mut cluster = TestCluster::new(3);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/deployments", Some(web(6)));
    {
        let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
        assert!(cluster.run_until(components, Duration::from_secs(60), |cluster| running_pods(cluster).len() == 6));
        // Ten seconds more: every node has renewed its Lease at least once since.
        cluster.run_until(components, Duration::from_secs(10), |_| false);
    }
    let leases = manager.caches().leases.iter().map(|lease| lease.metadata.namespace.clone()).collect::<Vec<_>>();
    assert_eq!(leases, vec![Some(NODE_LEASE_NAMESPACE.to_string()); 3], "one Lease per node, only kube-node-lease");
    let before = running_pods(&mut cluster);
    let lost = node_of(&before[0]);
    let mut lost_pods: Vec<String> = before.iter().filter(|pod| node_of(pod) == lost).map(name_of).collect();
    lost_pods.sort();
    assert!(!lost_pods.is_empty());

    // Stage 1: the node falls silent; after the grace period its Ready condition is Unknown.
    kubelet.stop_node(&lost);
    let last_heartbeat = kubelet.last_renewal(&lost).expect("the node renewed its Lease");
    let lost_path = format!("/api/v1/nodes/{lost}");
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    assert!(cluster.run_until(components, Duration::from_secs(120), |cluster| {
        ready_status(&cluster.get(&lost_path)) == "Unknown"
    }));
    let unknown_at = cluster.now;
    let silent_for = seconds_between(last_heartbeat, unknown_at);
    let grace = NODE_MONITOR_GRACE_PERIOD.as_secs_f64();
    // The monitor notices a renewal at its next pass (up to one period late, on its own clock,
    // as Kubernetes' probeTimestamp), then turns the node Unknown at the first pass after the
    // grace period: between grace and grace + two periods after the last renewal.
    assert!(
        silent_for > grace && silent_for <= grace + 2.0 * NODE_MONITOR_PERIOD.as_secs_f64() + 1.0,
        "Ready=Unknown {silent_for} s after the last heartbeat"
    );
    let lost_node = cluster.get(&lost_path);
    let ready = lost_node["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap();
    assert_eq!(ready["reason"], "NodeStatusUnknown");
    for healthy in ["node-0", "node-1", "node-2"].into_iter().filter(|name| *name != lost) {
        assert_eq!(ready_status(&cluster.get(&format!("/api/v1/nodes/{healthy}"))), "True", "{healthy} still renews");
    }

    // Stage 2: the unreachable taints, NoExecute (rate limited, but the zone's first token is
    // there) and NoSchedule; nothing is evicted yet.
    assert!(cluster.run_until(components, Duration::from_secs(10), |cluster| {
        let node = cluster.get(&lost_path);
        taint(&node, UNREACHABLE, "NoExecute").is_some() && taint(&node, UNREACHABLE, "NoSchedule").is_some()
    }));
    let tainted_at = cluster.now;
    assert!(
        seconds_between(unknown_at, tainted_at) < 1.0,
        "tainted {} s after Unknown",
        seconds_between(unknown_at, tainted_at)
    );
    let lost_node = cluster.get(&lost_path);
    let time_added: Timestamp =
        taint(&lost_node, UNREACHABLE, "NoExecute").unwrap()["timeAdded"].as_str().unwrap().parse().unwrap();
    assert!(pods(&mut cluster).iter().filter(|pod| node_of(pod) == lost).all(|pod| !terminating(pod)));

    // Stage 3: 300 s after the taint (the default tolerationSeconds admission added), the pods
    // are deleted; not a moment before.
    let lost_pods_terminating = |cluster: &mut TestCluster| {
        let mut gone: Vec<String> =
            pods(cluster).iter().filter(|pod| node_of(pod) == lost && terminating(pod)).map(name_of).collect();
        gone.sort();
        gone
    };
    assert!(
        !cluster
            .run_until(components, Duration::from_secs(290), |cluster| { !lost_pods_terminating(cluster).is_empty() })
    );
    assert!(
        cluster
            .run_until(components, Duration::from_secs(20), |cluster| { lost_pods_terminating(cluster) == lost_pods })
    );
    let evicted_at = cluster.now;
    let after_taint = seconds_between(time_added, evicted_at);
    assert!((300.0..301.0).contains(&after_taint), "evicted {after_taint} s after the taint was added");
    let events = cluster.get("/api/v1/namespaces/default/events")["items"].as_array().cloned().unwrap_or_default();
    let evictions = events.iter().filter(|event| event["reason"] == "TaintManagerEviction").count();
    assert_eq!(evictions, lost_pods.len());

    // Stage 4: the ReplicaSet replaces them and the scheduler places them on the healthy nodes.
    assert!(cluster.run_until(components, Duration::from_secs(30), |cluster| running_pods(cluster).len() == 6));
    let replaced_at = cluster.now;
    let after = running_pods(&mut cluster);
    assert!(after.iter().all(|pod| node_of(pod) != lost), "nothing new lands on the lost node");
    assert!(after.iter().all(|pod| !lost_pods.contains(&name_of(pod))));
    assert!(seconds_between(evicted_at, replaced_at) < 5.0);
    assert_eq!(manager.stats().reconcile_errors, 0);
}

fn cidr_of(cluster: &mut TestCluster, node: &str) -> Value {
    let node = cluster.get(&format!("/api/v1/nodes/{node}"));
    json!([node["spec"]["podCIDR"], node["spec"]["podCIDRs"]])
}

#[test]
fn every_node_gets_its_own_pod_cidr_and_a_restarted_manager_gives_none_twice() {
    let mut cluster = TestCluster::new(3);
    let mut manager = Stoppable::new(ControllerManager::new(ControllerManagerConfig::default()));
    let components: &mut [&mut dyn Component] = &mut [&mut manager];
    assert!(cluster.run_until(components, Duration::from_secs(5), |cluster| {
        ["node-0", "node-1", "node-2"].iter().all(|node| !cidr_of(cluster, node)[0].is_null())
    }));
    assert_eq!(
        ["node-0", "node-1", "node-2"].map(|node| cidr_of(&mut cluster, node)),
        [
            json!(["10.244.0.0/24", ["10.244.0.0/24"]]),
            json!(["10.244.1.0/24", ["10.244.1.0/24"]]),
            json!(["10.244.2.0/24", ["10.244.2.0/24"]]),
        ]
    );

    // A new manager remembers nothing: it learns the taken subnets from the nodes. node-1 goes
    // away, two nodes come: the freed subnet and the next free one.
    manager.stopped = true;
    let mut restarted = ControllerManager::new(ControllerManagerConfig::default());
    cluster.send(Method::Delete, "/api/v1/nodes/node-1", None);
    for name in ["node-3", "node-4"] {
        let (status, body) = cluster.send(Method::Post, "/api/v1/nodes", Some(node(name)));
        assert_eq!(status, 201, "{body}");
    }
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut restarted];
    assert!(cluster.run_until(components, Duration::from_secs(5), |cluster| {
        ["node-3", "node-4"].iter().all(|node| !cidr_of(cluster, node)[0].is_null())
    }));
    let mut taken: Vec<Value> =
        ["node-0", "node-2", "node-3", "node-4"].map(|node| cidr_of(&mut cluster, node)[0].clone()).to_vec();
    assert_eq!(taken[2..], [json!("10.244.1.0/24"), json!("10.244.3.0/24")]);
    taken.sort_by_key(Value::to_string);
    taken.dedup();
    assert_eq!(taken.len(), 4, "no subnet is given twice");
}

#[test]
fn the_cluster_cidr_and_node_mask_come_from_the_configuration() {
    let mut cluster = TestCluster::new(2);
    let config = ControllerManagerConfig {
        node_ipam: NodeIpamConfig { cluster_cidr: "10.100.0.0/16".parse().unwrap(), node_cidr_mask_size: 26 },
        ..ControllerManagerConfig::default()
    };
    let mut manager = ControllerManager::new(config);
    let components: &mut [&mut dyn Component] = &mut [&mut manager];
    assert!(cluster.run_until(components, Duration::from_secs(5), |cluster| !cidr_of(cluster, "node-1")[0].is_null()));
    assert_eq!(cidr_of(&mut cluster, "node-0")[0], "10.100.0.0/26");
    assert_eq!(cidr_of(&mut cluster, "node-1")[0], "10.100.0.64/26");
}

/// A metrics pipeline that reports the same CPU usage for every pod it is told about, sampled
/// over a 15 s window ending at the time of the last refresh.
#[derive(Debug, Default)]
struct FixedMetrics {
    usage: Mutex<PodMetrics>,
}

impl FixedMetrics {
    /// Reports `millicores` for each running pod of the cluster, as of now.
    fn refresh(&self, cluster: &mut TestCluster, millicores: i64) {
        let now = cluster.now;
        let sample = PodUsage {
            timestamp: now,
            window: Duration::from_secs(15),
            cpu_millicores: Some(millicores),
            memory_bytes: None,
        };
        let usage: BTreeMap<String, PodUsage> =
            running_pods(cluster).iter().map(|pod| (name_of(pod), sample)).collect();
        *self.usage.lock().expect("no test thread panicked holding it") = usage;
    }
}

impl MetricsSource for FixedMetrics {
    fn pod_metrics(&self, _namespace: &str, _selector: &LabelSelector) -> Result<PodMetrics, MetricsUnavailable> {
        Ok(self.usage.lock().expect("no test thread panicked holding it").clone())
    }
}

pub(super) fn hpa() -> Value {
    json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 2, "maxReplicas": 6,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50}}}]
        }
    })
}

fn replicas(cluster: &mut TestCluster) -> i64 {
    cluster.get("/apis/apps/v1/namespaces/default/deployments/web")["spec"]["replicas"].as_i64().unwrap_or(-1)
}

#[test]
fn an_hpa_scales_a_deployment_up_under_load_and_down_only_after_the_stabilization_window() {
    let mut cluster = TestCluster::new(3);
    let metrics = Arc::new(FixedMetrics::default());
    let mut manager = ControllerManager::new(ControllerManagerConfig::default()).with_metrics(metrics.clone());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/deployments", Some(web(2)));
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    assert!(cluster.run_until(components, Duration::from_secs(30), |cluster| running_pods(cluster).len() == 2));
    let (status, body) =
        cluster.send(Method::Post, "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", Some(hpa()));
    assert_eq!(status, 201, "{body}");
    let created_at = cluster.now;

    // 100m used of 100m requested is 200 % of the 50 % target: up, at most doubling per sync
    // (or to 4), never past maxReplicas.
    let mut most = 0;
    assert!(cluster.run_until(components, Duration::from_secs(120), |cluster| {
        metrics.refresh(cluster, 100);
        most = most.max(replicas(cluster));
        replicas(cluster) == 6 && running_pods(cluster).len() == 6
    }));
    assert_eq!(most, 6, "never above maxReplicas");
    let hpa_path = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web";
    let status = cluster.get(hpa_path)["status"].clone();
    let first_scale: Timestamp = status["lastScaleTime"].as_str().unwrap().parse().unwrap();
    // lastScaleTime is written in whole seconds.
    assert!(seconds_between(created_at, first_scale) >= 14.0, "the first sync waits a sync period");
    let events = cluster.get("/api/v1/namespaces/default/events")["items"].as_array().cloned().unwrap_or_default();
    let rescales: Vec<String> = events
        .iter()
        .filter(|event| event["reason"] == "SuccessfulRescale")
        .map(|event| event["message"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(rescales[0], "New size: 4; reason: cpu resource utilization (percentage of request) above target");

    // The load drops to 10 %: the recommendation is 2 at once, but the scale-down waits until
    // every recommendation of the last 300 s is that low.
    let dropped_at = cluster.now;
    assert!(!cluster.run_until(components, Duration::from_secs(280), |cluster| {
        metrics.refresh(cluster, 10);
        replicas(cluster) < 6
    }));
    assert!(cluster.run_until(components, Duration::from_secs(60), |cluster| {
        metrics.refresh(cluster, 10);
        replicas(cluster) == 2
    }));
    let down_after = seconds_between(dropped_at, cluster.now);
    assert!((285.0..=330.0).contains(&down_after), "scaled down {down_after} s after the load dropped");
    let status = cluster.get(hpa_path)["status"].clone();
    assert_eq!(status["desiredReplicas"], 2);
    assert_eq!(status["currentMetrics"][0]["resource"]["current"]["averageUtilization"], 10);
    assert!(manager.node_controllers().scaling_history("default/web").is_some());
    assert_eq!(manager.stats().reconcile_errors, 0);
}

#[test]
fn an_hpa_without_a_metrics_source_reports_that_it_cannot_compute_a_replica_count() {
    let mut cluster = TestCluster::new(1);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/deployments", Some(web(2)));
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    assert!(cluster.run_until(components, Duration::from_secs(30), |cluster| running_pods(cluster).len() == 2));
    cluster.send(Method::Post, "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", Some(hpa()));
    let hpa_path = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web";
    let scaling_active = |cluster: &mut TestCluster| {
        let conditions = cluster.get(hpa_path)["status"]["conditions"].as_array().cloned().unwrap_or_default();
        conditions.into_iter().find(|condition| condition["type"] == "ScalingActive")
    };
    // Two warnings at one instant (FailedGetResourceMetric, FailedComputeMetricsReplicas) share an
    // event name; the second is refused, and the status must go out all the same.
    assert!(cluster.run_until(components, Duration::from_secs(30), |cluster| scaling_active(cluster).is_some()));
    let condition = scaling_active(&mut cluster).unwrap();
    assert_eq!(condition["status"], "False");
    assert_eq!(condition["reason"], "FailedGetResourceMetric");
    let message = condition["message"].as_str().unwrap_or_default();
    assert!(message.contains(super::node_state::NO_METRICS_SOURCE), "{message}");
    assert_eq!(replicas(&mut cluster), 2, "nothing is scaled without metrics");
    assert_eq!(manager.stats().reconcile_errors, 0);
}
