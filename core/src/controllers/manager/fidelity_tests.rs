//! End-to-end tests through the API for Kubernetes 1.32 behaviour users see: scheduling gates,
//! pods leaving endpoints when their node turns Unknown, aggregated events and EndpointSlices
//! under a stale cache. The controller manager, the default scheduler and an instant kubelet
//! run against one in-memory API server.

use std::time::Duration;

use serde_json::{Value, json};

use super::node_tests::{hpa, web};
use super::{ControllerManager, ControllerManagerConfig};
use crate::api::{ApiRequest, ApiResponse, Method};
use crate::client::Component;
use crate::testing::{InstantKubelet, TestCluster, default_scheduler};

/// What `kubectl get pods` asks for.
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

/// The STATUS column of `kubectl get pod <name>`.
fn kubectl_status(cluster: &mut TestCluster, name: &str) -> String {
    let path = format!("/api/v1/namespaces/default/pods/{name}");
    let request = ApiRequest::new(Method::Get, &path).with_header("Accept", TABLE);
    let ApiResponse::Json { status, body, .. } = cluster.loopback.server().handle(&request, cluster.now) else {
        panic!("a GET answers with JSON");
    };
    assert_eq!(status, 200, "{body}");
    let columns: Vec<&str> =
        body["columnDefinitions"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
    let index = columns.iter().position(|name| *name == "Status").expect("a Status column");
    body["rows"][0]["cells"][index].as_str().unwrap_or_default().to_owned()
}

fn gated_pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "gated", "namespace": "default"},
        "spec": {
            "schedulingGates": [{"name": "example.com/quota"}, {"name": "example.com/review"}],
            "containers": [{"name": "web", "image": "web:v1"}]
        }
    })
}

fn pod_scheduled(pod: &Value) -> Value {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|condition| condition["type"] == "PodScheduled")
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn a_gated_pod_shows_scheduling_gated_and_schedules_once_its_last_gate_is_removed() {
    let mut cluster = TestCluster::new(2);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    let (status, body) = cluster.send(Method::Post, "/api/v1/namespaces/default/pods", Some(gated_pod()));
    assert_eq!(status, 201, "{body}");
    let condition = pod_scheduled(&body);
    assert_eq!(condition["status"], "False", "{body}");
    assert_eq!(condition["reason"], "SchedulingGated");
    assert_eq!(condition["message"], "Scheduling is blocked due to non-empty scheduling gates");

    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    let bound = |cluster: &mut TestCluster| {
        cluster.get("/api/v1/namespaces/default/pods/gated")["spec"]["nodeName"].is_string()
    };
    assert!(!cluster.run_until(components, Duration::from_secs(30), bound), "a gated pod stays unscheduled");
    assert_eq!(kubectl_status(&mut cluster, "gated"), "SchedulingGated");
    let events = cluster.get("/api/v1/namespaces/default/events");
    assert!(
        events["items"].as_array().into_iter().flatten().all(|event| event["reason"] != "FailedScheduling"),
        "a gated pod is not a scheduling failure: {events}"
    );

    // Adding a gate is refused; removing one keeps the pod gated; removing the last releases it.
    let (status, body) = cluster.send(
        Method::Patch,
        "/api/v1/namespaces/default/pods/gated",
        Some(json!({"spec": {"schedulingGates": [{"name": "example.com/quota"}, {"name": "example.com/review"}, {"name": "example.com/new"}]}})),
    );
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap_or_default().contains("only deletion is allowed"), "{body}");
    let patch = |gates: Value| json!({"spec": {"schedulingGates": gates}});
    let (status, body) = cluster.send(
        Method::Patch,
        "/api/v1/namespaces/default/pods/gated",
        Some(patch(json!([{"name": "example.com/quota"}]))),
    );
    assert_eq!(status, 200, "{body}");
    assert!(!cluster.run_until(components, Duration::from_secs(10), bound), "one gate left still holds the pod");
    assert_eq!(kubectl_status(&mut cluster, "gated"), "SchedulingGated");

    let mut pod = cluster.get("/api/v1/namespaces/default/pods/gated");
    pod["spec"]["schedulingGates"] = json!([]);
    let (status, body) = cluster.send(Method::Put, "/api/v1/namespaces/default/pods/gated", Some(pod));
    assert_eq!(status, 200, "{body}");
    assert!(cluster.run_until(components, Duration::from_secs(10), bound), "the ungated pod is scheduled");
    assert!(
        cluster.run_until(components, Duration::from_secs(10), |cluster| kubectl_status(cluster, "gated") == "Running")
    );
    let pod = cluster.get("/api/v1/namespaces/default/pods/gated");
    assert_eq!(pod_scheduled(&pod)["status"], "True", "{pod}");
}

fn web_service() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
    })
}

fn items(cluster: &mut TestCluster, path: &str) -> Vec<Value> {
    cluster.get(path)["items"].as_array().cloned().unwrap_or_default()
}

/// The ready addresses of the Service's Endpoints, sorted.
fn ready_endpoint_ips(cluster: &mut TestCluster) -> Vec<String> {
    let endpoints = cluster.get("/api/v1/namespaces/default/endpoints/web");
    let mut ips: Vec<String> = endpoints["subsets"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|subset| subset["addresses"].as_array().cloned().unwrap_or_default())
        .filter_map(|address| address["ip"].as_str().map(str::to_owned))
        .collect();
    ips.sort();
    ips
}

/// The addresses the Service's EndpointSlices mark ready, sorted.
fn ready_slice_ips(cluster: &mut TestCluster) -> Vec<String> {
    let mut ips: Vec<String> = items(cluster, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices")
        .iter()
        .filter(|slice| slice["metadata"]["labels"]["kubernetes.io/service-name"] == "web")
        .flat_map(|slice| slice["endpoints"].as_array().cloned().unwrap_or_default())
        .filter(|endpoint| endpoint["conditions"]["ready"] == true)
        .flat_map(|endpoint| endpoint["addresses"].as_array().cloned().unwrap_or_default())
        .filter_map(|address| address.as_str().map(str::to_owned))
        .collect();
    ips.sort();
    ips
}

#[test]
fn a_node_going_unknown_takes_its_pods_out_of_the_services_endpoints_within_seconds() {
    use crate::controllers::node_lifecycle::{NODE_MONITOR_GRACE_PERIOD, NODE_MONITOR_PERIOD};
    let mut cluster = TestCluster::new(3);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/deployments", Some(web(6)));
    cluster.send(Method::Post, "/api/v1/namespaces/default/services", Some(web_service()));
    {
        let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
        assert!(cluster.run_until(components, Duration::from_secs(60), |cluster| {
            ready_endpoint_ips(cluster).len() == 6 && ready_slice_ips(cluster).len() == 6
        }));
        cluster.run_until(components, Duration::from_secs(10), |_| false);
    }
    let pods = items(&mut cluster, "/api/v1/namespaces/default/pods");
    let lost = pods[0]["spec"]["nodeName"].as_str().unwrap_or_default().to_owned();
    let lost_ips: Vec<String> = pods
        .iter()
        .filter(|pod| pod["spec"]["nodeName"] == lost.as_str())
        .filter_map(|pod| pod["status"]["podIP"].as_str().map(str::to_owned))
        .collect();
    assert!(!lost_ips.is_empty());

    kubelet.stop_node(&lost);
    let stopped_at = cluster.now;
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    let gone = |cluster: &mut TestCluster| {
        let endpoints = ready_endpoint_ips(cluster);
        let slices = ready_slice_ips(cluster);
        lost_ips.iter().all(|ip| !endpoints.contains(ip) && !slices.contains(ip))
    };
    assert!(cluster.run_until(components, Duration::from_secs(120), gone));
    let seconds = cluster.now.duration_since(stopped_at).as_secs_f64();
    let bound = (NODE_MONITOR_GRACE_PERIOD + 2 * NODE_MONITOR_PERIOD).as_secs_f64() + 5.0;
    assert!(seconds <= bound, "the lost node's pods left the endpoints after {seconds} s, not within {bound} s");
    // Long before the 300 s unreachable toleration evicts them: the pods are still there.
    let pods = items(&mut cluster, "/api/v1/namespaces/default/pods");
    let lost_pods: Vec<&Value> = pods.iter().filter(|pod| pod["spec"]["nodeName"] == lost.as_str()).collect();
    assert!(!lost_pods.is_empty());
    for pod in lost_pods {
        let ready = pod["status"]["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == "Ready");
        assert_eq!(ready.map(|ready| ready["status"].clone()), Some(json!("False")), "{pod}");
    }
    let events = items(&mut cluster, "/api/v1/namespaces/default/events");
    assert!(
        events.iter().any(|event| event["reason"] == "NodeNotReady" && event["involvedObject"]["kind"] == "Pod"),
        "each marked pod gets a NodeNotReady event"
    );
    assert_eq!(ready_endpoint_ips(&mut cluster).len(), 6 - lost_ips.len());
}

#[test]
fn a_warning_repeated_every_sync_is_one_event_whose_count_grows() {
    let mut cluster = TestCluster::new(1);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/deployments", Some(web(2)));
    cluster.send(Method::Post, "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", Some(hpa()));
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    // Without a metrics source every 15 s sync warns twice at one instant.
    cluster.run_until(components, Duration::from_secs(120), |_| false);
    let events: Vec<Value> = items(&mut cluster, "/api/v1/namespaces/default/events")
        .into_iter()
        .filter(|event| event["involvedObject"]["kind"] == "HorizontalPodAutoscaler")
        .collect();
    for reason in ["FailedGetResourceMetric", "FailedComputeMetricsReplicas"] {
        let matching: Vec<&Value> = events.iter().filter(|event| event["reason"] == reason).collect();
        assert_eq!(matching.len(), 1, "one {reason} event, aggregated: {events:?}");
        let event = matching[0];
        let count = event["count"].as_i64().unwrap_or_default();
        assert!(count >= 5, "{reason} counted {count} times: {event}");
        assert_ne!(event["firstTimestamp"], event["lastTimestamp"], "{event}");
        let name = event["metadata"]["name"].as_str().unwrap_or_default();
        assert!(name.starts_with("web."), "Kubernetes' name form: {name}");
    }
}

/// The manager with its EndpointSlice watch frames held back while `holding`: an informer
/// lagging behind the controller's own writes.
struct LaggingSlices<'a> {
    inner: &'a mut ControllerManager,
    watches: std::collections::BTreeSet<crate::client::RequestId>,
    holding: bool,
    held: Vec<crate::client::Incoming>,
}

impl Component for LaggingSlices<'_> {
    fn step(
        &mut self,
        input: Option<crate::client::Incoming>,
        now: crate::jiff::Timestamp,
    ) -> Vec<crate::client::Outgoing> {
        let mut outgoing = Vec::new();
        match input {
            Some(frame @ crate::client::Incoming::WatchFrame { id, .. })
                if self.holding && self.watches.contains(&id) =>
            {
                self.held.push(frame);
            }
            input => outgoing.extend(self.inner.step(input, now)),
        }
        if !self.holding {
            for frame in std::mem::take(&mut self.held) {
                outgoing.extend(self.inner.step(Some(frame), now));
            }
        }
        for sent in &outgoing {
            let watch =
                sent.request.query.iter().any(|(key, value)| key == "watch" && value != "0" && value != "false");
            if watch && sent.request.path.ends_with("/endpointslices") {
                self.watches.insert(sent.id);
            }
        }
        outgoing
    }

    fn next_wake(&self) -> Option<crate::jiff::Timestamp> {
        self.inner.next_wake()
    }
}

fn slices_of_web(cluster: &mut TestCluster) -> Vec<Value> {
    items(cluster, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices")
        .into_iter()
        .filter(|slice| slice["metadata"]["labels"]["kubernetes.io/service-name"] == "web")
        .collect()
}

#[test]
fn a_sync_on_a_stale_slice_cache_waits_instead_of_creating_a_duplicate_slice() {
    let mut cluster = TestCluster::new(2);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    let mut lagging =
        LaggingSlices { inner: &mut manager, watches: Default::default(), holding: false, held: Vec::new() };
    {
        let components: &mut [&mut dyn Component] = &mut [&mut lagging, &mut scheduler, &mut kubelet];
        cluster.run_until(components, Duration::from_secs(2), |_| false);
    }
    assert!(!lagging.watches.is_empty(), "the manager watches EndpointSlices");
    lagging.holding = true;
    cluster.send(Method::Post, "/api/v1/namespaces/default/services", Some(web_service()));
    cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/deployments", Some(web(3)));
    let mut most = 0;
    {
        let components: &mut [&mut dyn Component] = &mut [&mut lagging, &mut scheduler, &mut kubelet];
        cluster.run_until(components, Duration::from_secs(20), |cluster| {
            most = most.max(slices_of_web(cluster).len());
            false
        });
    }
    assert_eq!(most, 1, "the placeholder slice, and no second slice while the cache lags");
    assert!(!lagging.held.is_empty(), "frames were held back");
    lagging.holding = false;
    let components: &mut [&mut dyn Component] = &mut [&mut lagging, &mut scheduler, &mut kubelet];
    assert!(cluster.run_until(components, Duration::from_secs(60), |cluster| {
        most = most.max(slices_of_web(cluster).len());
        ready_slice_ips(cluster).len() == 3
    }));
    assert_eq!(most, 1, "never a duplicate slice");
    assert_eq!(slices_of_web(&mut cluster).len(), 1);
}
