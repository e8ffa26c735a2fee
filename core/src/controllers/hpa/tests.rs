//! HorizontalPodAutoscaler controller tests after Kubernetes' `horizontal_test.go`
//! (`TestScaleUp`, `TestScaleUpRCImmediately`, `TestScaleDownStabilizeInitialSize`-style
//! stabilization, `TestConditionInvalidSelectorMissing`, `TestConditionInvalidSelectorUnparsable`,
//! `TestConditionFailedGetMetrics`, `TestScaleUpOneMetricInvalid`, `TestZeroReplicas`): the same
//! targets, usage and expected replicas, conditions and events.

use std::collections::BTreeMap;

use k8s_openapi::api::autoscaling::v1::{ScaleSpec, ScaleStatus};
use k8s_openapi::api::autoscaling::v2::{CrossVersionObjectReference, HorizontalPodAutoscalerSpec};
use k8s_openapi::api::core::v1::{Container, PodCondition, PodSpec, PodStatus, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;
use crate::controllers::action::PatchType;

pub(super) fn now() -> Timestamp {
    "2024-06-01T12:00:00Z".parse().unwrap()
}

pub(super) fn hpa(min: i32, max: i32, utilization: i32) -> HorizontalPodAutoscaler {
    HorizontalPodAutoscaler {
        metadata: ObjectMeta {
            name: Some("test-hpa".to_string()),
            namespace: Some("test-namespace".to_string()),
            uid: Some("hpa-uid".to_string()),
            ..ObjectMeta::default()
        },
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".to_string()),
                kind: "Deployment".to_string(),
                name: "test-deployment".to_string(),
            },
            min_replicas: Some(min),
            max_replicas: max,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".to_string(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".to_string(),
                    target: MetricTarget {
                        type_: "Utilization".to_string(),
                        average_utilization: Some(utilization),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            behavior: None,
        }),
        status: None,
    }
}

pub(super) fn scale(replicas: i32, selector: Option<&str>) -> Scale {
    Scale {
        metadata: ObjectMeta {
            name: Some("test-deployment".to_string()),
            namespace: Some("test-namespace".to_string()),
            resource_version: Some("7".to_string()),
            ..ObjectMeta::default()
        },
        spec: Some(ScaleSpec { replicas: Some(replicas) }),
        status: Some(ScaleStatus { replicas, selector: selector.map(str::to_string) }),
    }
}

/// Ready pods `test-pod-<i>` labelled `name=test-pod`, each requesting `request_milli` CPU.
pub(super) fn pods(count: usize, request_milli: i64) -> Vec<Pod> {
    (0..count)
        .map(|index| Pod {
            metadata: ObjectMeta {
                name: Some(format!("test-pod-{index}")),
                namespace: Some("test-namespace".to_string()),
                labels: Some(BTreeMap::from([("name".to_string(), "test-pod".to_string())])),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "container".to_string(),
                    resources: Some(ResourceRequirements {
                        requests: Some(BTreeMap::from([(
                            "cpu".to_string(),
                            WireQuantity(format!("{request_milli}m")),
                        )])),
                        ..ResourceRequirements::default()
                    }),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: Some("Running".to_string()),
                start_time: Some(Time(now() - SignedDuration::from_hours(1))),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".to_string(),
                    status: "True".to_string(),
                    last_transition_time: Some(Time(now() - SignedDuration::from_hours(1))),
                    ..PodCondition::default()
                }]),
                ..PodStatus::default()
            }),
        })
        .collect()
}

pub(super) fn usage(levels: &[i64]) -> PodMetrics {
    levels
        .iter()
        .enumerate()
        .map(|(index, level)| {
            let sample = PodUsage {
                timestamp: now() - SignedDuration::from_secs(30),
                window: Duration::from_secs(60),
                cpu_millicores: Some(*level),
                memory_bytes: None,
            };
            (format!("test-pod-{index}"), sample)
        })
        .collect()
}

use k8s_openapi::jiff::SignedDuration;

struct Outcome {
    reconciled: Reconciled,
    status: HorizontalPodAutoscalerStatus,
}

fn run(
    hpa: &HorizontalPodAutoscaler,
    scale: &Scale,
    pods: &[Pod],
    metrics: &PodMetrics,
    history: &mut ScalingHistory,
) -> Outcome {
    let source = Metrics { pods: metrics.clone(), ..Metrics::default() };
    let selectors = AutoscalerSelectors::new();
    let observed = Observed { scale: Ok(scale), pods, metrics: &source, selectors: &selectors };
    let reconciled = reconcile_horizontal_pod_autoscaler(hpa, observed, history, now());
    let status = updated_status(&reconciled).unwrap_or_default();
    Outcome { reconciled, status }
}

pub(super) fn updated_status(reconciled: &Reconciled) -> Option<HorizontalPodAutoscalerStatus> {
    reconciled.actions.iter().find_map(|action| match action {
        Action::UpdateStatus { object } => object.to_typed::<HorizontalPodAutoscaler>().unwrap().status,
        _ => None,
    })
}

pub(super) fn condition(status: &HorizontalPodAutoscalerStatus, type_: &str) -> (String, String) {
    let condition = status.conditions.iter().flatten().find(|condition| condition.type_ == type_).unwrap();
    (condition.status.clone(), condition.reason.clone().unwrap_or_default())
}

pub(super) fn events(reconciled: &Reconciled) -> Vec<(String, String, String)> {
    reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Event { event } => Some((
                event.type_.clone().unwrap_or_default(),
                event.reason.clone().unwrap_or_default(),
                event.message.clone().unwrap_or_default(),
            )),
            _ => None,
        })
        .collect()
}

pub(super) fn patched_replicas(reconciled: &Reconciled) -> Option<i64> {
    reconciled.actions.iter().find_map(|action| match action {
        Action::Patch { resource, body, patch_type, name, .. } => {
            assert_eq!(
                (resource.resource, patch_type, name.as_str()),
                ("deployments/scale", &PatchType::Merge, "test-deployment")
            );
            assert_eq!(body["metadata"]["resourceVersion"], "7");
            body["spec"]["replicas"].as_i64()
        }
        _ => None,
    })
}

#[test]
fn cpu_above_target_scales_up_and_reports_why() {
    // TestScaleUp: 3 pods of 1 CPU at 300m, 500m, 700m against 30 %.
    let outcome = run(
        &hpa(2, 6, 30),
        &scale(3, Some("name=test-pod")),
        &pods(3, 1000),
        &usage(&[300, 500, 700]),
        &mut ScalingHistory::default(),
    );
    assert_eq!(patched_replicas(&outcome.reconciled), Some(5));
    assert_eq!(
        events(&outcome.reconciled),
        [(
            "Normal".to_string(),
            "SuccessfulRescale".to_string(),
            "New size: 5; reason: cpu resource utilization (percentage of request) above target".to_string(),
        )]
    );
    let status = &outcome.status;
    assert_eq!((status.current_replicas, status.desired_replicas), (Some(3), 5));
    assert_eq!(status.last_scale_time, Some(Time(now())));
    assert_eq!(condition(status, ABLE_TO_SCALE), ("True".into(), "SucceededRescale".into()));
    assert_eq!(condition(status, SCALING_ACTIVE), ("True".into(), "ValidMetricFound".into()));
    assert_eq!(condition(status, SCALING_LIMITED), ("False".into(), "DesiredWithinRange".into()));
    let current = &status.current_metrics.as_ref().unwrap()[0].resource.as_ref().unwrap().current;
    assert_eq!(current.average_utilization, Some(50));
    assert_eq!(current.average_value.as_ref().map(|quantity| quantity.0.as_str()), Some("500m"));
    assert_eq!(outcome.reconciled.requeue_after, Some(SYNC_PERIOD));
}

#[test]
fn below_min_replicas_scales_up_at_once() {
    // TestScaleUpRCImmediately: 1 replica, minReplicas 2.
    let outcome = run(
        &hpa(2, 6, 30),
        &scale(1, Some("name=test-pod")),
        &pods(1, 1000),
        &usage(&[100]),
        &mut ScalingHistory::default(),
    );
    assert_eq!(patched_replicas(&outcome.reconciled), Some(2));
    assert_eq!(
        events(&outcome.reconciled)[0].2,
        "New size: 2; reason: Current number of replicas below Spec.MinReplicas"
    );
    assert_eq!(condition(&outcome.status, ABLE_TO_SCALE), ("True".into(), "SucceededRescale".into()));
}

#[test]
fn above_max_replicas_scales_down_at_once() {
    let outcome = run(
        &hpa(2, 6, 30),
        &scale(8, Some("name=test-pod")),
        &pods(8, 1000),
        &usage(&[100; 8]),
        &mut ScalingHistory::default(),
    );
    assert_eq!(patched_replicas(&outcome.reconciled), Some(6));
    assert_eq!(
        events(&outcome.reconciled)[0].2,
        "New size: 6; reason: Current number of replicas above Spec.MaxReplicas"
    );
}

#[test]
fn a_scale_down_waits_for_the_stabilization_window() {
    // Usage fell to 10 %; a recommendation of 5 from a minute ago holds the size.
    let mut history = ScalingHistory {
        recommendations: vec![TimestampedRecommendation {
            recommendation: 5,
            timestamp: now() - SignedDuration::from_mins(1),
        }],
        ..ScalingHistory::default()
    };
    let outcome =
        run(&hpa(1, 6, 50), &scale(5, Some("name=test-pod")), &pods(5, 1000), &usage(&[100; 5]), &mut history);
    assert_eq!(patched_replicas(&outcome.reconciled), None);
    assert_eq!(condition(&outcome.status, ABLE_TO_SCALE), ("True".into(), "ScaleDownStabilized".into()));
    assert_eq!(outcome.status.desired_replicas, 5);
    // Five minutes on, the old recommendation has aged out and the target shrinks.
    let later = reconcile_horizontal_pod_autoscaler(
        &hpa(1, 6, 50),
        Observed {
            scale: Ok(&scale(5, Some("name=test-pod"))),
            pods: &pods(5, 1000),
            metrics: &Metrics { pods: usage(&[100; 5]), ..Metrics::default() },
            selectors: &AutoscalerSelectors::new(),
        },
        &mut ScalingHistory {
            recommendations: vec![TimestampedRecommendation {
                recommendation: 5,
                timestamp: now() - SignedDuration::from_mins(6),
            }],
            ..ScalingHistory::default()
        },
        now(),
    );
    assert_eq!(patched_replicas(&later), Some(1));
}

#[test]
fn behavior_policies_limit_the_scale_up_rate() {
    let mut limited = hpa(1, 100, 10);
    limited.spec.as_mut().unwrap().behavior = Some(HorizontalPodAutoscalerBehavior::default());
    // 3 pods at 100 % of request against 10 %: 30 wanted, default policy allows max(3 + 4, 3 × 2) = 7.
    let mut history = ScalingHistory::default();
    let outcome = run(&limited, &scale(3, Some("name=test-pod")), &pods(3, 1000), &usage(&[1000; 3]), &mut history);
    assert_eq!(patched_replicas(&outcome.reconciled), Some(7));
    assert_eq!(condition(&outcome.status, SCALING_LIMITED), ("True".into(), "ScaleUpLimit".into()));
    assert_eq!(history.scale_up_events.len(), 1);
    assert_eq!(history.scale_up_events[0].replica_change, 4);
}

#[test]
fn a_missing_selector_deactivates_scaling() {
    // TestConditionInvalidSelectorMissing.
    let outcome =
        run(&hpa(1, 6, 30), &scale(3, None), &pods(3, 1000), &usage(&[300; 3]), &mut ScalingHistory::default());
    assert_eq!(condition(&outcome.status, ABLE_TO_SCALE), ("True".into(), "SucceededGetScale".into()));
    assert_eq!(condition(&outcome.status, SCALING_ACTIVE), ("False".into(), "InvalidSelector".into()));
    let reasons: Vec<String> = events(&outcome.reconciled).into_iter().map(|event| event.1).collect();
    assert_eq!(reasons, ["SelectorRequired", "FailedComputeMetricsReplicas"]);
    assert_eq!(patched_replicas(&outcome.reconciled), None);
}

#[test]
fn an_unparsable_selector_deactivates_scaling() {
    // TestConditionInvalidSelectorUnparsable.
    let outcome = run(
        &hpa(1, 6, 30),
        &scale(3, Some("cheddar cheese")),
        &pods(3, 1000),
        &usage(&[300; 3]),
        &mut ScalingHistory::default(),
    );
    assert_eq!(condition(&outcome.status, SCALING_ACTIVE), ("False".into(), "InvalidSelector".into()));
    assert_eq!(events(&outcome.reconciled)[0].1, "InvalidSelector");
}

#[test]
fn unavailable_metrics_deactivate_scaling_without_rescaling() {
    // TestConditionFailedGetMetrics (resource metric row).
    let unavailable = MetricsUnavailable("no metrics server".to_string());
    let selectors = AutoscalerSelectors::new();
    let observed = Observed {
        scale: Ok(&scale(3, Some("name=test-pod"))),
        pods: &pods(3, 1000),
        metrics: &unavailable,
        selectors: &selectors,
    };
    let reconciled =
        reconcile_horizontal_pod_autoscaler(&hpa(1, 6, 30), observed, &mut ScalingHistory::default(), now());
    let status = updated_status(&reconciled).unwrap();
    assert_eq!(condition(&status, SCALING_ACTIVE), ("False".into(), "FailedGetResourceMetric".into()));
    assert_eq!(patched_replicas(&reconciled), None);
    let reasons: Vec<String> = events(&reconciled).into_iter().map(|event| event.1).collect();
    assert_eq!(reasons, ["FailedGetResourceMetric", "FailedComputeMetricsReplicas"]);
    let message = status.conditions.unwrap()[1].message.clone().unwrap();
    assert_eq!(
        message,
        "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics server"
    );
}

#[test]
fn one_invalid_metric_does_not_stop_a_scale_up() {
    // TestScaleUpOneMetricInvalid: an unsupported metric beside a valid CPU metric.
    let mut two_metrics = hpa(2, 6, 30);
    let metrics = two_metrics.spec.as_mut().unwrap().metrics.as_mut().unwrap();
    metrics.insert(0, MetricSpec { type_: "Pods".to_string(), ..MetricSpec::default() });
    let outcome = run(
        &two_metrics,
        &scale(3, Some("name=test-pod")),
        &pods(3, 1000),
        &usage(&[300, 500, 700]),
        &mut ScalingHistory::default(),
    );
    assert_eq!(patched_replicas(&outcome.reconciled), Some(5));
    assert_eq!(events(&outcome.reconciled)[0].1, "FailedGetPodsMetric");
}

#[test]
fn a_target_at_zero_replicas_is_left_alone() {
    // TestZeroReplicas.
    let outcome =
        run(&hpa(3, 5, 90), &scale(0, Some("name=test-pod")), &[], &PodMetrics::new(), &mut ScalingHistory::default());
    assert_eq!(patched_replicas(&outcome.reconciled), None);
    assert_eq!(condition(&outcome.status, SCALING_ACTIVE), ("False".into(), "ScalingDisabled".into()));
    assert_eq!(outcome.status.desired_replicas, 0);
}

#[test]
fn an_unreadable_scale_is_reported() {
    let selectors = AutoscalerSelectors::new();
    let none = Metrics::default();
    let observed: Observed = Observed {
        scale: Err("deployments.apps \"test-deployment\" not found"),
        pods: &[],
        metrics: &none,
        selectors: &selectors,
    };
    let reconciled =
        reconcile_horizontal_pod_autoscaler(&hpa(1, 5, 50), observed, &mut ScalingHistory::default(), now());
    let status = updated_status(&reconciled).unwrap();
    assert_eq!(condition(&status, ABLE_TO_SCALE), ("False".into(), "FailedGetScale".into()));
    assert_eq!(events(&reconciled)[0].1, "FailedGetScale");
    let mut unknown = hpa(1, 5, 50);
    unknown.spec.as_mut().unwrap().scale_target_ref.kind = "Foo".to_string();
    let observed: Observed =
        Observed { scale: Ok(&scale(1, Some("name=test-pod"))), pods: &[], metrics: &none, selectors: &selectors };
    let reconciled = reconcile_horizontal_pod_autoscaler(&unknown, observed, &mut ScalingHistory::default(), now());
    assert_eq!(events(&reconciled)[0].2, "no matches for kind \"Foo\" in group \"apps\"");
}

#[test]
fn a_settled_autoscaler_changes_nothing() {
    let mut history = ScalingHistory::default();
    let first = run(&hpa(1, 6, 50), &scale(3, Some("name=test-pod")), &pods(3, 1000), &usage(&[500; 3]), &mut history);
    assert_eq!(patched_replicas(&first.reconciled), None);
    let mut settled = hpa(1, 6, 50);
    settled.status = Some(first.status);
    let again = run(&settled, &scale(3, Some("name=test-pod")), &pods(3, 1000), &usage(&[500; 3]), &mut history);
    assert!(again.reconciled.actions.is_empty(), "{:?}", again.reconciled.actions);
}

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerBehavior;

/// A metrics source answering from fixed tables, as the fake metrics clients of Kubernetes'
/// tests do; a metric not in its tables is an error.
#[derive(Default)]
pub(super) struct Metrics {
    /// Whole-pod usage.
    pub pods: PodMetrics,
    /// Usage of one container of each pod, by container name.
    pub containers: BTreeMap<String, PodMetrics>,
    /// Custom per-pod metrics, by metric name.
    pub custom: BTreeMap<String, PodMetricValues>,
    /// Custom object metrics, by `Kind/name/metric`.
    pub objects: BTreeMap<String, i64>,
    /// External metrics, by metric name.
    pub external: BTreeMap<String, Vec<i64>>,
}

impl MetricsSource for Metrics {
    fn pod_metrics(&self, _namespace: &str, _selector: &LabelSelector) -> Result<PodMetrics, MetricsUnavailable> {
        Ok(self.pods.clone())
    }

    fn container_metrics(&self, _: &str, _: &LabelSelector, container: &str) -> Result<PodMetrics, MetricsUnavailable> {
        self.containers.get(container).cloned().ok_or_else(|| MetricsUnavailable(format!("no container {container}")))
    }

    fn pods_metric(
        &self,
        metric: &str,
        _: &str,
        _: &LabelSelector,
        _: &LabelSelector,
    ) -> Result<PodMetricValues, MetricsUnavailable> {
        self.custom
            .get(metric)
            .cloned()
            .ok_or_else(|| MetricsUnavailable("no custom metrics specified in test client".into()))
    }

    fn object_metric(
        &self,
        metric: &str,
        _: &str,
        object: &CrossVersionObjectReference,
        _: &LabelSelector,
    ) -> Result<i64, MetricsUnavailable> {
        let key = format!("{}/{}/{metric}", object.kind, object.name);
        self.objects
            .get(&key)
            .copied()
            .ok_or_else(|| MetricsUnavailable("no custom metrics specified in test client".into()))
    }

    fn external_metric(&self, metric: &str, _: &str, _: &LabelSelector) -> Result<Vec<i64>, MetricsUnavailable> {
        self.external
            .get(metric)
            .cloned()
            .ok_or_else(|| MetricsUnavailable("no external metrics specified in test client".into()))
    }
}
