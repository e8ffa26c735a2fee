//! No field can crash a controller: every reconcile is fed objects whose numbers are extreme
//! (`i32::MIN`/`MAX`, `i64::MIN`/`MAX`, negative, zero, percentages up to `i64::MAX`) as a
//! client that bypassed validation, or validation letting a value through, could store them,
//! and must answer without panicking. The Job controller is left to its own tests (its files
//! belong to another change).

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::autoscaling::v2::{CrossVersionObjectReference, HorizontalPodAutoscaler};
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::jiff::Timestamp;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::controllers::hpa::{
    AutoscalerSelectors, MetricsSource, MetricsUnavailable, Observed, PodMetricSample, PodMetricValues, PodMetrics,
    PodUsage, ScalingHistory,
};
use crate::selector::LabelSelector;

fn now() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn int32() -> impl Strategy<Value = i64> {
    prop::sample::select(vec![i64::from(i32::MIN), -1, 0, 1, 2, 3, 100, i64::from(i32::MAX)])
}

fn int64() -> impl Strategy<Value = i64> {
    prop::sample::select(vec![i64::MIN, i64::from(i32::MIN), -1, 0, 1, 300, i64::from(i32::MAX), i64::MAX])
}

fn int_or_percent() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        json!(0),
        json!(1),
        json!(i32::MAX),
        json!(i32::MIN),
        json!("0%"),
        json!("25%"),
        json!("100%"),
        json!("2147483648%"),
        json!("9223372036854775807%"),
    ])
}

/// The numbers one generated world uses.
#[derive(Clone, Debug)]
struct Numbers {
    replicas: i64,
    other: i64,
    seconds: i64,
    surge: Value,
    unavailable: Value,
    pods: usize,
}

fn numbers() -> impl Strategy<Value = Numbers> {
    (int32(), int32(), int64(), int_or_percent(), int_or_percent(), 0usize..4).prop_map(
        |(replicas, other, seconds, surge, unavailable, pods)| Numbers {
            replicas,
            other,
            seconds,
            surge,
            unavailable,
            pods,
        },
    )
}

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Option<T> {
    serde_json::from_value(value).ok()
}

fn template(numbers: &Numbers) -> Value {
    json!({
        "metadata": {"labels": {"app": "web"}},
        "spec": {
            "containers": [{"name": "web", "image": "web:v1"}],
            "terminationGracePeriodSeconds": numbers.seconds,
            "activeDeadlineSeconds": numbers.seconds,
            "tolerations": [{"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": numbers.seconds}],
        }
    })
}

fn metadata(kind: &str) -> Value {
    json!({"name": "web", "namespace": "default", "uid": format!("uid-{kind}"), "generation": 1,
           "resourceVersion": "1", "creationTimestamp": "2025-12-31T00:00:00Z"})
}

fn pods(numbers: &Numbers) -> Vec<Pod> {
    (0..numbers.pods)
        .filter_map(|index| {
            typed(json!({
                "metadata": {"name": format!("web-{index}"), "namespace": "default", "uid": format!("pod-{index}"),
                    "labels": {"app": "web"}, "creationTimestamp": "2025-12-31T00:00:00Z",
                    "deletionGracePeriodSeconds": numbers.seconds},
                "spec": {"nodeName": "node-0", "containers": [{"name": "web", "image": "web:v1"}],
                    "tolerations": [{"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": numbers.seconds}]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True",
                    "lastTransitionTime": "2025-12-31T00:00:00Z"}],
                    "containerStatuses": [{"name": "web", "image": "web:v1", "imageID": "", "ready": true,
                        "restartCount": numbers.other, "started": true}]}
            }))
        })
        .collect()
}

fn node() -> Node {
    typed(json!({
        "metadata": {"name": "node-0", "labels": {"kubernetes.io/hostname": "node-0"}},
        "spec": {"taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute",
            "timeAdded": "2025-12-31T00:00:00Z"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}
    }))
    .expect("a valid node")
}

fn run_workloads(numbers: &Numbers) {
    let pods = pods(numbers);
    let selector = json!({"matchLabels": {"app": "web"}});
    if let Some(deployment) = typed::<Deployment>(json!({
        "metadata": metadata("deployment"),
        "spec": {"replicas": numbers.replicas, "selector": selector, "template": template(numbers),
            "minReadySeconds": numbers.other, "revisionHistoryLimit": numbers.other,
            "progressDeadlineSeconds": numbers.other,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": numbers.surge, "maxUnavailable": numbers.unavailable}}}
    })) {
        let _ = reconcile_deployment(&deployment, &[], &pods, now());
    }
    if let Some(replica_set) = typed::<ReplicaSet>(json!({
        "metadata": metadata("replicaset"),
        "spec": {"replicas": numbers.replicas, "minReadySeconds": numbers.other, "selector": selector, "template": template(numbers)}
    })) {
        let mut expectations = ControllerExpectations::default();
        let _ = reconcile_replica_set(&replica_set, &pods, None, &mut expectations, now());
    }
    if let Some(daemon_set) = typed::<DaemonSet>(json!({
        "metadata": metadata("daemonset"),
        "spec": {"selector": selector, "template": template(numbers), "minReadySeconds": numbers.other,
            "revisionHistoryLimit": numbers.other,
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": numbers.surge, "maxUnavailable": numbers.unavailable}}}
    })) {
        let mut expectations = ControllerExpectations::default();
        let mut backoff = FailedPodsBackoff::default();
        let nodes = [node()];
        let _ = reconcile_daemon_set(&daemon_set, &nodes, &pods, &[], &mut expectations, &mut backoff, now());
    }
    if let Some(set) = typed::<StatefulSet>(json!({
        "metadata": metadata("statefulset"),
        "spec": {"replicas": numbers.replicas, "selector": selector, "template": template(numbers), "serviceName": "web",
            "minReadySeconds": numbers.other, "revisionHistoryLimit": numbers.other,
            "ordinals": {"start": numbers.other},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": numbers.other, "maxUnavailable": numbers.unavailable}}}
    })) {
        let _ = reconcile_stateful_set(&set, &pods, &[], &[], now());
    }
}

fn run_others(numbers: &Numbers) {
    let pods = pods(numbers);
    if let Some(cron_job) = typed::<CronJob>(json!({
        "metadata": metadata("cronjob"),
        "spec": {"schedule": "*/5 * * * *", "startingDeadlineSeconds": numbers.seconds,
            "successfulJobsHistoryLimit": numbers.other, "failedJobsHistoryLimit": numbers.other,
            "jobTemplate": {"spec": {"template": template(numbers)}}},
        "status": {"lastScheduleTime": "2025-12-31T00:00:00Z"}
    })) {
        let _ = reconcile_cron_job(&cron_job, &[], now());
    }
    let _ = reconcile_taint_eviction(&node(), &pods, now());
    if let Some(budget) = typed::<PodDisruptionBudget>(json!({
        "metadata": metadata("pdb"),
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "maxUnavailable": numbers.unavailable}
    })) {
        let _ = reconcile_disruption_budget(&budget, &pods, &[], now());
    }
    if let Some(budget) = typed::<PodDisruptionBudget>(json!({
        "metadata": metadata("pdb"),
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "minAvailable": numbers.surge}
    })) {
        let _ = reconcile_disruption_budget(&budget, &pods, &[], now());
    }
    let hpa = typed::<HorizontalPodAutoscaler>(json!({
        "metadata": metadata("hpa"),
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": numbers.other, "maxReplicas": numbers.replicas,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": numbers.other}}}],
            "behavior": {"scaleUp": {"stabilizationWindowSeconds": numbers.other,
                "policies": [{"type": "Percent", "value": numbers.other, "periodSeconds": numbers.other}]}}}
    }));
    let scale = typed::<Scale>(json!({"metadata": metadata("scale"),
        "spec": {"replicas": numbers.replicas}, "status": {"replicas": numbers.other, "selector": "app=web"}}));
    if let (Some(hpa), Some(scale)) = (hpa.as_ref(), scale.as_ref()) {
        let source = ExtremeMetrics(numbers.seconds);
        let selectors = AutoscalerSelectors::new();
        let every_type = every_metric_type(hpa, numbers);
        let observed = Observed { scale: Ok(scale), pods: &pods, metrics: &source, selectors: &selectors };
        let _ = reconcile_horizontal_pod_autoscaler(&every_type, observed, &mut ScalingHistory::default(), now());
    }
    if let (Some(hpa), Some(scale)) = (hpa, scale) {
        let unavailable = MetricsUnavailable("no metrics".into());
        let selectors = AutoscalerSelectors::new();
        let observed = Observed { scale: Ok(&scale), pods: &pods, metrics: &unavailable, selectors: &selectors };
        let _ = reconcile_horizontal_pod_autoscaler(&hpa, observed, &mut ScalingHistory::default(), now());
    }
}

/// Every metric source reports `value` (milli-units) for everything it is asked.
struct ExtremeMetrics(i64);

impl MetricsSource for ExtremeMetrics {
    fn pod_metrics(&self, _: &str, _: &LabelSelector) -> Result<PodMetrics, MetricsUnavailable> {
        Ok(self.usage())
    }

    fn container_metrics(&self, _: &str, _: &LabelSelector, _: &str) -> Result<PodMetrics, MetricsUnavailable> {
        Ok(self.usage())
    }

    fn pods_metric(
        &self,
        _: &str,
        _: &str,
        _: &LabelSelector,
        _: &LabelSelector,
    ) -> Result<PodMetricValues, MetricsUnavailable> {
        let sample =
            PodMetricSample { timestamp: now(), window: std::time::Duration::from_secs(60), value_milli: self.0 };
        Ok((0..3).map(|index| (format!("web-{index}"), sample)).collect())
    }

    fn object_metric(
        &self,
        _: &str,
        _: &str,
        _: &CrossVersionObjectReference,
        _: &LabelSelector,
    ) -> Result<i64, MetricsUnavailable> {
        Ok(self.0)
    }

    fn external_metric(&self, _: &str, _: &str, _: &LabelSelector) -> Result<Vec<i64>, MetricsUnavailable> {
        Ok(vec![self.0, self.0])
    }
}

impl ExtremeMetrics {
    fn usage(&self) -> PodMetrics {
        let usage = PodUsage {
            timestamp: now(),
            window: std::time::Duration::from_secs(60),
            cpu_millicores: Some(self.0),
            memory_bytes: Some(self.0),
        };
        (0..3).map(|index| (format!("web-{index}"), usage)).collect()
    }
}

/// The HPA with one metric of every source type, each with targets from `numbers`.
fn every_metric_type(hpa: &HorizontalPodAutoscaler, numbers: &Numbers) -> HorizontalPodAutoscaler {
    let quantity = format!("{}m", numbers.seconds);
    let value = json!({"type": "Value", "value": quantity});
    let average = json!({"type": "AverageValue", "averageValue": quantity});
    let utilization = json!({"type": "Utilization", "averageUtilization": numbers.other});
    let metric = json!({"name": "qps", "selector": {"matchLabels": {"app": "web"}}});
    let metrics = json!([
        {"type": "Resource", "resource": {"name": "memory", "target": average}},
        {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "web", "target": utilization}},
        {"type": "Pods", "pods": {"metric": metric, "target": average}},
        {"type": "Object", "object": {"describedObject": {"kind": "Service", "name": "web"}, "metric": metric, "target": value}},
        {"type": "Object", "object": {"describedObject": {"kind": "Service", "name": "web"}, "metric": metric, "target": average}},
        {"type": "External", "external": {"metric": metric, "target": value}},
        {"type": "External", "external": {"metric": metric, "target": average}},
    ]);
    let mut every = hpa.clone();
    if let (Some(spec), Some(metrics)) = (every.spec.as_mut(), typed(metrics)) {
        spec.metrics = Some(metrics);
    }
    every
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_workload_controller_panics_on_extreme_numbers(numbers in numbers()) {
        run_workloads(&numbers);
    }

    #[test]
    fn no_other_controller_panics_on_extreme_numbers(numbers in numbers()) {
        run_others(&numbers);
    }
}

#[test]
fn the_largest_percentages_and_deadlines_do_not_panic() {
    let numbers = Numbers {
        replicas: i64::from(i32::MAX),
        other: i64::from(i32::MAX),
        seconds: i64::MAX,
        surge: json!("9223372036854775807%"),
        unavailable: json!("9223372036854775807%"),
        pods: 3,
    };
    run_workloads(&numbers);
    run_others(&numbers);
    let negative = Numbers { replicas: i64::from(i32::MIN), other: i64::from(i32::MIN), seconds: i64::MIN, ..numbers };
    run_workloads(&negative);
    run_others(&negative);
}
