//! End-to-end tests of the admission plugins through the API, with the controller manager, the
//! default scheduler and an instant kubelet: a high-priority pod preempts through its
//! PriorityClass, a LimitRange gives a Deployment's pods their requests, PodSecurity refuses
//! and warns, and a new node's not-ready taint is lifted once the node is Ready.

use std::time::Duration;

use serde_json::{Value, json};

use super::{ControllerManager, ControllerManagerConfig};
use crate::api::{ApiRequest, ApiResponse, Method};
use crate::client::Component;
use crate::testing::{InstantKubelet, TestCluster, default_scheduler};

fn pod(name: &str, cpu: &str, extra: Value) -> Value {
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "app:v1", "resources": {"requests": {"cpu": cpu}}}]}});
    for (key, value) in extra.as_object().into_iter().flatten() {
        pod["spec"][key] = value.clone();
    }
    pod
}

fn phase_and_node(cluster: &mut TestCluster, name: &str) -> Option<(String, String)> {
    let (status, body) = cluster.send(Method::Get, &format!("/api/v1/namespaces/default/pods/{name}"), None);
    (status == 200).then(|| {
        let text = |pointer: &str| body.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_string();
        (text("/status/phase"), text("/spec/nodeName"))
    })
}

/// Sends a request and keeps the response's warnings.
fn send_with_warnings(
    cluster: &mut TestCluster,
    method: Method,
    path: &str,
    body: &Value,
) -> (u16, Value, Vec<String>) {
    let request = ApiRequest::new(method, path).with_json(body);
    match cluster.loopback.server().handle(&request, cluster.now) {
        ApiResponse::Json { status, body, warnings, .. } => (status, body, warnings),
        ApiResponse::Encoded { .. } | ApiResponse::Watch(_) => panic!("a create answers with a JSON value"),
    }
}

#[test]
fn a_pod_with_a_high_priority_class_preempts_a_lower_priority_pod_on_a_full_cluster() {
    let mut cluster = TestCluster::new(1);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    let high = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"}, "value": 1000});
    let (status, body) = cluster.send(Method::Post, "/apis/scheduling.k8s.io/v1/priorityclasses", Some(high));
    assert_eq!(status, 201, "{body}");

    let (status, body) =
        cluster.send(Method::Post, "/api/v1/namespaces/default/pods", Some(pod("low", "3", json!({}))));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["spec"]["priority"], 0, "no class and no global default: priority 0");
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    assert!(cluster.run_until(components, Duration::from_secs(30), |cluster| {
        phase_and_node(cluster, "low").is_some_and(|(phase, _)| phase == "Running")
    }));

    let unknown = pod("nowhere", "1", json!({"priorityClassName": "missing"}));
    let (status, body) = cluster.send(Method::Post, "/api/v1/namespaces/default/pods", Some(unknown));
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["message"], "pods \"nowhere\" is forbidden: no PriorityClass with name missing was found");

    let (status, body) = cluster.send(
        Method::Post,
        "/api/v1/namespaces/default/pods",
        Some(pod("high", "3", json!({"priorityClassName": "high"}))),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["spec"]["priority"], 1000);
    assert_eq!(body["spec"]["preemptionPolicy"], "PreemptLowerPriority");
    let placed = cluster.run_until(components, Duration::from_secs(120), |cluster| {
        phase_and_node(cluster, "high") == Some(("Running".into(), "node-0".into()))
    });
    assert!(placed, "{}", cluster.get("/api/v1/namespaces/default/pods"));
    assert_eq!(phase_and_node(&mut cluster, "low"), None, "the lower-priority pod was preempted");
}

#[test]
fn a_limit_range_gives_a_deployments_pods_their_default_requests() {
    let mut cluster = TestCluster::new(2);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    let limit_range = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults"},
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
            "defaultRequest": {"cpu": "250m", "memory": "128Mi"}, "max": {"cpu": "1"}}]}});
    let (status, body) = cluster.send(Method::Post, "/api/v1/namespaces/default/limitranges", Some(limit_range));
    assert_eq!(status, 201, "{body}");
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web:v1"}]}}}});
    let (status, body) = cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/deployments", Some(deployment));
    assert_eq!(status, 201, "{body}");
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    assert!(cluster.run_until(components, Duration::from_secs(60), |cluster| {
        let pods = cluster.get("/api/v1/namespaces/default/pods")["items"].as_array().cloned().unwrap_or_default();
        pods.len() == 2 && pods.iter().all(|pod| pod["status"]["phase"] == "Running")
    }));
    for pod in cluster.get("/api/v1/namespaces/default/pods")["items"].as_array().cloned().unwrap_or_default() {
        let resources = &pod["spec"]["containers"][0]["resources"];
        assert_eq!(resources["requests"], json!({"cpu": "250m", "memory": "128Mi"}), "{pod}");
        assert_eq!(resources["limits"], json!({"cpu": "500m", "memory": "256Mi"}), "{pod}");
        assert_eq!(pod["status"]["qosClass"], "Burstable");
        assert_eq!(
            pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
            "LimitRanger plugin set: cpu, memory request for container web; cpu, memory limit for container web"
        );
    }
    // The LimitRange's max refuses a pod asking for more.
    let greedy = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "greedy"},
        "spec": {"containers": [{"name": "app", "image": "app", "resources": {"limits": {"cpu": "2"}}}]}});
    let (status, body) = cluster.send(Method::Post, "/api/v1/namespaces/default/pods", Some(greedy));
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["message"], "pods \"greedy\" is forbidden: maximum cpu usage per Container is 1, but limit is 2");
}

#[test]
fn pod_security_enforce_refuses_and_warn_answers_with_a_warning_header() {
    let mut cluster = TestCluster::new(1);
    for (name, mode) in [("locked", "enforce"), ("watched", "warn")] {
        let namespace = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {format!("pod-security.kubernetes.io/{mode}"): "restricted"}}});
        let (status, body) = cluster.send(Method::Post, "/api/v1/namespaces", Some(namespace));
        assert_eq!(status, 201, "{body}");
    }
    let bare = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let detail = "allowPrivilegeEscalation != false (container \"c\" must set securityContext.allowPrivilegeEscalation=false), \
        unrestricted capabilities (container \"c\" must set securityContext.capabilities.drop=[\"ALL\"]), \
        runAsNonRoot != true (pod or container \"c\" must set securityContext.runAsNonRoot=true), \
        seccompProfile (pod or container \"c\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")";

    let (status, body, _) = send_with_warnings(&mut cluster, Method::Post, "/api/v1/namespaces/locked/pods", &bare);
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["message"],
        format!("pods \"x\" is forbidden: violates PodSecurity \"restricted:latest\": {detail}")
    );

    let (status, body, warnings) =
        send_with_warnings(&mut cluster, Method::Post, "/api/v1/namespaces/watched/pods", &bare);
    assert_eq!(status, 201, "{body}");
    assert_eq!(warnings, vec![format!("would violate PodSecurity \"restricted:latest\": {detail}")]);

    // A workload's pod template is warned about, never refused, even where pods are enforced.
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    let (status, body, warnings) =
        send_with_warnings(&mut cluster, Method::Post, "/apis/apps/v1/namespaces/locked/deployments", &deployment);
    assert_eq!(status, 201, "{body}");
    assert_eq!(warnings, vec![format!("would violate PodSecurity \"restricted:latest\": {detail}")]);

    // A pod that keeps to restricted is admitted without a warning.
    let hardened = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "y"}, "spec": {
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "c", "image": "nginx", "securityContext": {"allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]}}}]}});
    let (status, body, warnings) =
        send_with_warnings(&mut cluster, Method::Post, "/api/v1/namespaces/locked/pods", &hardened);
    assert_eq!(status, 201, "{body}");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn a_new_node_is_tainted_not_ready_until_the_node_lifecycle_controller_sees_it_ready() {
    let mut cluster = TestCluster::new(0);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let (status, body) = cluster.send(Method::Post, "/api/v1/nodes", Some(crate::testing::node("fresh")));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["spec"]["taints"], json!([{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]));
    let components: &mut [&mut dyn Component] = &mut [&mut manager];
    assert!(cluster.run_until(components, Duration::from_secs(30), |cluster| {
        cluster.get("/api/v1/nodes/fresh")["spec"]["taints"].is_null()
    }));
}
