//! End to end through the API: an HPA with a `Pods` metric (requests per second per pod, from
//! a custom metrics source) scales a Deployment, with the controller manager, the scheduler
//! and instant kubelets against one in-memory API server.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::node_tests::web;
use super::{ControllerManager, ControllerManagerConfig};
use crate::api::Method;
use crate::client::Component;
use crate::controllers::hpa::{MetricsSource, MetricsUnavailable, PodMetricSample, PodMetricValues, PodMetrics};
use crate::selector::LabelSelector;
use crate::testing::{InstantKubelet, TestCluster, default_scheduler};

/// A custom metrics adapter serving one per-pod metric, `http_requests`: a total load the test
/// sets, shared evenly by the running pods.
#[derive(Debug, Default)]
struct RequestsPerPod {
    samples: Mutex<PodMetricValues>,
}

impl RequestsPerPod {
    /// Spreads `total_milli` requests per second over the running pods, as of now.
    fn refresh(&self, cluster: &mut TestCluster, total_milli: i64) {
        let running = running_pods(cluster);
        let value_milli = total_milli / running.len().max(1) as i64;
        let sample = PodMetricSample { timestamp: cluster.now, window: Duration::from_secs(30), value_milli };
        let samples = running.iter().map(|pod| (name_of(pod), sample)).collect();
        *self.samples.lock().expect("no test thread panicked holding it") = samples;
    }
}

impl MetricsSource for RequestsPerPod {
    fn pod_metrics(&self, _: &str, _: &LabelSelector) -> Result<PodMetrics, MetricsUnavailable> {
        Err(MetricsUnavailable("no resource metrics".to_string()))
    }

    fn pods_metric(
        &self,
        metric: &str,
        _: &str,
        _: &LabelSelector,
        _: &LabelSelector,
    ) -> Result<PodMetricValues, MetricsUnavailable> {
        if metric != "http_requests" {
            return Err(MetricsUnavailable(format!("no metric {metric}")));
        }
        Ok(self.samples.lock().expect("no test thread panicked holding it").clone())
    }
}

fn name_of(object: &Value) -> String {
    object["metadata"]["name"].as_str().unwrap_or_default().to_string()
}

fn running_pods(cluster: &mut TestCluster) -> Vec<Value> {
    let pods = cluster.get("/api/v1/namespaces/default/pods")["items"].as_array().cloned().unwrap_or_default();
    pods.into_iter()
        .filter(|pod| pod["status"]["phase"] == "Running" && pod["metadata"]["deletionTimestamp"].is_null())
        .collect()
}

fn replicas(cluster: &mut TestCluster) -> i64 {
    cluster.get("/apis/apps/v1/namespaces/default/deployments/web")["spec"]["replicas"].as_i64().unwrap_or(-1)
}

#[test]
fn an_hpa_with_a_pods_metric_scales_a_deployment_to_the_average_target() {
    let mut cluster = TestCluster::new(3);
    let metrics = Arc::new(RequestsPerPod::default());
    let mut manager = ControllerManager::new(ControllerManagerConfig::default()).with_metrics(metrics.clone());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/deployments", Some(web(2)));
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    assert!(cluster.run_until(components, Duration::from_secs(30), |cluster| running_pods(cluster).len() == 2));
    let hpa = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 10,
            "metrics": [{"type": "Pods", "pods": {"metric": {"name": "http_requests"},
                "target": {"type": "AverageValue", "averageValue": "10"}}}]
        }
    });
    let (status, body) =
        cluster.send(Method::Post, "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", Some(hpa));
    assert_eq!(status, 201, "{body}");

    // 50 requests per second over two pods, 25 each, against 10 per pod: 5 wanted, but a
    // scale-up without behavior at most doubles (or reaches 4) per sync; at 4 pods, 12.5 each
    // asks for 5.
    assert!(cluster.run_until(components, Duration::from_secs(120), |cluster| {
        metrics.refresh(cluster, 50_000);
        replicas(cluster) == 5 && running_pods(cluster).len() == 5
    }));
    let status = cluster.get("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web")["status"].clone();
    assert_eq!(status["desiredReplicas"], 5);
    let current = &status["currentMetrics"][0];
    assert_eq!(
        (current["type"].as_str(), current["pods"]["metric"]["name"].as_str()),
        (Some("Pods"), Some("http_requests"))
    );
    // From the sync that chose 5 (12.5 per pod at 4 pods), or a later one at 10 per pod.
    let average = current["pods"]["current"]["averageValue"].as_str().unwrap_or_default().to_string();
    assert!(["12500m", "10"].contains(&average.as_str()), "averageValue {average}");
    let events = cluster.get("/api/v1/namespaces/default/events")["items"].as_array().cloned().unwrap_or_default();
    let rescales: Vec<&str> = events
        .iter()
        .filter(|event| event["reason"] == "SuccessfulRescale")
        .filter_map(|event| event["message"].as_str())
        .collect();
    assert_eq!(
        rescales,
        [
            "New size: 4; reason: pods metric http_requests above target",
            "New size: 5; reason: pods metric http_requests above target"
        ]
    );

    // Five pods at exactly 10 each: at the target, the size holds.
    let settled = cluster.run_until(components, Duration::from_secs(60), |cluster| {
        metrics.refresh(cluster, 50_000);
        replicas(cluster) != 5
    });
    assert!(!settled, "the size changed at the target");
    let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
    let active: BTreeMap<&str, &str> = conditions
        .iter()
        .filter_map(|condition| Some((condition["type"].as_str()?, condition["reason"].as_str()?)))
        .collect();
    assert_eq!(active.get("ScalingActive"), Some(&"ValidMetricFound"));
    assert_eq!(manager.stats().reconcile_errors, 0);
}
