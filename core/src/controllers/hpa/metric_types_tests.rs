//! The HPA controller with Pods, Object, External and ContainerResource metrics and with two
//! HPAs over one workload, after Kubernetes' `horizontal_test.go` (`TestScaleUpCM`,
//! `TestScaleUpCMObject`, `TestScaleUpPerPodCMObject`, `TestScaleUpCMExternal`,
//! `TestScaleUpPerPodCMExternal`, `TestScaleUpContainer`, `TestConditionFailedGetMetrics`,
//! `TestMultipleHPAs`) and the replica calculator's Pods and container rows
//! (`replica_calculator_test.go`, each row named).

use std::collections::BTreeMap;

use k8s_openapi::api::autoscaling::v2::{
    ContainerResourceMetricSource, CrossVersionObjectReference, ExternalMetricSource, MetricIdentifier,
    ObjectMetricSource, PodsMetricSource,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as MetaLabelSelector;
use k8s_openapi::jiff::SignedDuration;

use super::tests::{Metrics, condition, events, hpa, now, patched_replicas, pods, scale, updated_status};
use super::*;

fn quantity(text: &str) -> WireQuantity {
    WireQuantity(text.to_string())
}

fn with_metric(spec: MetricSpec) -> HorizontalPodAutoscaler {
    let mut autoscaler = hpa(1, 100, 30);
    autoscaler.spec.as_mut().unwrap().metrics = Some(vec![spec]);
    autoscaler
}

fn qps(selector: Option<MetaLabelSelector>) -> MetricIdentifier {
    MetricIdentifier { name: "qps".to_string(), selector }
}

fn pods_metric(average: &str) -> MetricSpec {
    MetricSpec {
        type_: "Pods".to_string(),
        pods: Some(PodsMetricSource {
            metric: qps(None),
            target: MetricTarget {
                type_: "AverageValue".to_string(),
                average_value: Some(quantity(average)),
                ..MetricTarget::default()
            },
        }),
        ..MetricSpec::default()
    }
}

fn deployment_reference() -> CrossVersionObjectReference {
    CrossVersionObjectReference {
        api_version: Some("apps/v1".to_string()),
        kind: "Deployment".to_string(),
        name: "some-deployment".to_string(),
    }
}

fn object_metric(target: MetricTarget) -> MetricSpec {
    MetricSpec {
        type_: "Object".to_string(),
        object: Some(ObjectMetricSource { described_object: deployment_reference(), metric: qps(None), target }),
        ..MetricSpec::default()
    }
}

fn label_value() -> MetaLabelSelector {
    MetaLabelSelector {
        match_labels: Some(BTreeMap::from([("label".to_string(), "value".to_string())])),
        match_expressions: None,
    }
}

fn external_metric(target: MetricTarget) -> MetricSpec {
    MetricSpec {
        type_: "External".to_string(),
        external: Some(ExternalMetricSource { metric: qps(Some(label_value())), target }),
        ..MetricSpec::default()
    }
}

fn custom_samples(levels: &[i64]) -> PodMetricValues {
    levels
        .iter()
        .enumerate()
        .map(|(index, level)| {
            let sample = PodMetricSample {
                timestamp: now() - SignedDuration::from_secs(30),
                window: Duration::from_secs(60),
                value_milli: *level,
            };
            (format!("test-pod-{index}"), sample)
        })
        .collect()
}

struct Run {
    reconciled: Reconciled,
    status: HorizontalPodAutoscalerStatus,
}

fn run_with(autoscaler: &HorizontalPodAutoscaler, replicas: i32, source: &Metrics) -> Run {
    let pods = pods(replicas as usize, 1000);
    let scale = scale(replicas, Some("name=test-pod"));
    let selectors = AutoscalerSelectors::new();
    let observed = Observed { scale: Ok(&scale), pods: &pods, metrics: source, selectors: &selectors };
    let reconciled = reconcile_horizontal_pod_autoscaler(autoscaler, observed, &mut ScalingHistory::default(), now());
    let status = updated_status(&reconciled).unwrap_or_default();
    Run { reconciled, status }
}

fn current(status: &HorizontalPodAutoscalerStatus) -> MetricStatus {
    status.current_metrics.as_ref().expect("currentMetrics")[0].clone()
}

fn reason_of(reconciled: &Reconciled) -> String {
    let events = events(reconciled);
    let rescale = events.iter().find(|event| event.1 == "SuccessfulRescale").expect("a rescale");
    rescale.2.clone()
}

#[test]
fn a_pods_metric_scales_on_the_average_per_pod() {
    // TestScaleUpCM: qps 20, 10, 30 per pod against an average of 15: 3 -> 4.
    let source = Metrics {
        custom: BTreeMap::from([("qps".to_string(), custom_samples(&[20000, 10000, 30000]))]),
        ..Metrics::default()
    };
    let run = run_with(&with_metric(pods_metric("15")), 3, &source);
    assert_eq!(patched_replicas(&run.reconciled), Some(4));
    assert_eq!(reason_of(&run.reconciled), "New size: 4; reason: pods metric qps above target");
    let status = current(&run.status);
    assert_eq!(status.type_, "Pods");
    let pods = status.pods.unwrap();
    assert_eq!(pods.metric.name, "qps");
    assert_eq!(pods.current.average_value, Some(quantity("20")));
    assert_eq!(condition(&run.status, SCALING_ACTIVE), ("True".into(), "ValidMetricFound".into()));
}

#[test]
fn an_object_value_metric_scales_the_ready_pods_by_the_ratio() {
    // TestScaleUpCMObject: the Deployment's qps 20 against a value of 15: 3 -> 4.
    let source = Metrics {
        objects: BTreeMap::from([("Deployment/some-deployment/qps".to_string(), 20000)]),
        ..Metrics::default()
    };
    let target = MetricTarget { type_: "Value".to_string(), value: Some(quantity("15")), ..MetricTarget::default() };
    let run = run_with(&with_metric(object_metric(target)), 3, &source);
    assert_eq!(patched_replicas(&run.reconciled), Some(4));
    assert_eq!(reason_of(&run.reconciled), "New size: 4; reason: Deployment metric qps above target");
    let object = current(&run.status).object.unwrap();
    assert_eq!(object.described_object, deployment_reference());
    assert_eq!(object.current.value, Some(quantity("20")));
}

#[test]
fn an_object_average_value_metric_divides_by_the_status_replicas() {
    // TestScaleUpPerPodCMObject: qps 20 per 3 replicas against 5 each: 4, 6667m per pod.
    let source = Metrics {
        objects: BTreeMap::from([("Deployment/some-deployment/qps".to_string(), 20000)]),
        ..Metrics::default()
    };
    let target = MetricTarget {
        type_: "AverageValue".to_string(),
        average_value: Some(quantity("5")),
        ..MetricTarget::default()
    };
    let run = run_with(&with_metric(object_metric(target)), 3, &source);
    assert_eq!(patched_replicas(&run.reconciled), Some(4));
    assert_eq!(reason_of(&run.reconciled), "New size: 4; reason: external metric qps(nil) above target");
    assert_eq!(current(&run.status).object.unwrap().current.average_value, Some(quantity("6667m")));
}

#[test]
fn an_external_value_metric_scales_the_ready_pods_by_the_ratio() {
    // TestScaleUpCMExternal: external qps 8.6 against 4.4 with one replica: 2.
    let source = Metrics { external: BTreeMap::from([("qps".to_string(), vec![8600])]), ..Metrics::default() };
    let target = MetricTarget { type_: "Value".to_string(), value: Some(quantity("4400m")), ..MetricTarget::default() };
    let run = run_with(&with_metric(external_metric(target)), 1, &source);
    assert_eq!(patched_replicas(&run.reconciled), Some(2));
    assert_eq!(
        reason_of(&run.reconciled),
        "New size: 2; reason: external metric qps(&LabelSelector{MatchLabels:map[string]string{label: value,},MatchExpressions:[]LabelSelectorRequirement{},}) above target"
    );
    let external = current(&run.status).external.unwrap();
    assert_eq!(external.metric.selector, Some(label_value()));
    assert_eq!(external.current.value, Some(quantity("8600m")));
}

#[test]
fn an_external_average_value_metric_divides_by_the_status_replicas() {
    // TestScaleUpPerPodCMExternal: 8.6 over 3 replicas against 2.15 each: 4, 2867m per pod.
    let source = Metrics { external: BTreeMap::from([("qps".to_string(), vec![8600])]), ..Metrics::default() };
    let target = MetricTarget {
        type_: "AverageValue".to_string(),
        average_value: Some(quantity("2150m")),
        ..MetricTarget::default()
    };
    let run = run_with(&with_metric(external_metric(target)), 3, &source);
    assert_eq!(patched_replicas(&run.reconciled), Some(4));
    assert_eq!(current(&run.status).external.unwrap().current.average_value, Some(quantity("2867m")));
}

#[test]
fn a_container_resource_metric_reads_one_container_and_its_request() {
    // TestScaleUpContainer / TestReplicaCalcContainerScaleUp: container2 at 300m, 500m, 700m of
    // 1 CPU each against 30 %: 5, while container1 burns a whole CPU that does not count.
    let autoscaler = with_metric(MetricSpec {
        type_: "ContainerResource".to_string(),
        container_resource: Some(ContainerResourceMetricSource {
            name: "cpu".to_string(),
            container: "container".to_string(),
            target: MetricTarget {
                type_: "Utilization".to_string(),
                average_utilization: Some(30),
                ..MetricTarget::default()
            },
        }),
        ..MetricSpec::default()
    });
    let source = Metrics {
        pods: super::tests::usage(&[1300, 1500, 1700]),
        containers: BTreeMap::from([("container".to_string(), super::tests::usage(&[300, 500, 700]))]),
        ..Metrics::default()
    };
    let run = run_with(&autoscaler, 3, &source);
    assert_eq!(patched_replicas(&run.reconciled), Some(5));
    assert_eq!(
        reason_of(&run.reconciled),
        "New size: 5; reason: cpu container resource utilization (percentage of request) above target"
    );
    let status = current(&run.status).container_resource.unwrap();
    assert_eq!((status.name.as_str(), status.container.as_str()), ("cpu", "container"));
    assert_eq!((status.current.average_utilization, status.current.average_value), (Some(50), Some(quantity("500m"))));
}

#[test]
fn each_metric_type_that_cannot_be_read_reports_its_reason() {
    // TestConditionFailedGetMetrics: one row per metric source type, with no metrics served.
    let value = MetricTarget { type_: "Value".to_string(), value: Some(quantity("10")), ..MetricTarget::default() };
    let container = MetricSpec {
        type_: "ContainerResource".to_string(),
        container_resource: Some(ContainerResourceMetricSource {
            name: "cpu".to_string(),
            container: "container".to_string(),
            target: MetricTarget { average_utilization: Some(10), ..MetricTarget::default() },
        }),
        ..MetricSpec::default()
    };
    let rows = [
        (
            "FailedGetPodsMetric",
            pods_metric("10"),
            "unable to get metric qps: no custom metrics specified in test client",
        ),
        (
            "FailedGetObjectMetric",
            object_metric(value.clone()),
            "unable to get metric qps: Deployment on test-namespace some-deployment/no custom metrics specified in test client",
        ),
        (
            "FailedGetExternalMetric",
            external_metric(value),
            "unable to get external metric test-namespace/qps/&LabelSelector{MatchLabels:map[string]string{label: value,},MatchExpressions:[]LabelSelectorRequirement{},}: no external metrics specified in test client",
        ),
        (
            "FailedGetContainerResourceMetric",
            container,
            "failed to get cpu utilization: unable to get metrics for resource cpu: no container container",
        ),
    ];
    for (reason, spec, message) in rows {
        let run = run_with(&with_metric(spec), 3, &Metrics::default());
        assert_eq!(condition(&run.status, SCALING_ACTIVE), ("False".into(), reason.into()), "{reason}");
        let events = events(&run.reconciled);
        assert_eq!((events[0].1.as_str(), events[0].2.as_str()), (reason, message), "{reason}");
        assert_eq!(events[1].1, "FailedComputeMetricsReplicas", "{reason}");
        assert!(
            events[1].2.starts_with("invalid metrics (1 invalid out of 1), first error is: failed to get"),
            "{}",
            events[1].2
        );
        assert_eq!(patched_replicas(&run.reconciled), None, "{reason}");
    }
}

#[test]
fn two_autoscalers_over_the_same_pods_report_an_ambiguous_selector_and_do_not_scale() {
    // TestMultipleHPAs: HPAs whose targets' selectors pick the same pods each see the other.
    let source = Metrics { pods: super::tests::usage(&[300, 500, 700]), ..Metrics::default() };
    let pods = pods(3, 1000);
    let scale = scale(3, Some("name=test-pod"));
    let selectors = AutoscalerSelectors::from([
        ("test-namespace/other-hpa".to_string(), LabelSelector::parse("name=test-pod").unwrap()),
        // An HPA of another namespace with the same selector picks none of these pods.
        ("elsewhere/third-hpa".to_string(), LabelSelector::parse("name=test-pod").unwrap()),
    ]);
    let observed = Observed { scale: Ok(&scale), pods: &pods, metrics: &source, selectors: &selectors };
    let reconciled =
        reconcile_horizontal_pod_autoscaler(&hpa(2, 6, 30), observed, &mut ScalingHistory::default(), now());
    let status = updated_status(&reconciled).unwrap();
    let message = "pods by selector name=test-pod are controlled by multiple HPAs: [test-namespace/other-hpa test-namespace/test-hpa]";
    assert_eq!(condition(&status, SCALING_ACTIVE), ("False".into(), "AmbiguousSelector".into()));
    let found = status.conditions.iter().flatten().find(|c| c.type_ == SCALING_ACTIVE).unwrap();
    assert_eq!(found.message.as_deref(), Some(message));
    let events = events(&reconciled);
    assert_eq!((events[0].1.as_str(), events[0].2.as_str()), ("AmbiguousSelector", message));
    assert_eq!((events[1].1.as_str(), events[1].2.as_str()), ("FailedComputeMetricsReplicas", message));
    assert_eq!(patched_replicas(&reconciled), None);
    // Once the other HPA's target selects other pods, this one scales again.
    let selectors = AutoscalerSelectors::from([(
        "test-namespace/other-hpa".to_string(),
        LabelSelector::parse("name=other").unwrap(),
    )]);
    let observed = Observed { scale: Ok(&scale), pods: &pods, metrics: &source, selectors: &selectors };
    let reconciled =
        reconcile_horizontal_pod_autoscaler(&hpa(2, 6, 30), observed, &mut ScalingHistory::default(), now());
    assert_eq!(patched_replicas(&reconciled), Some(5));
}

/// A Pods-metric row: test, current replicas, levels, target, expected replicas and average.
type PodsMetricRow = (&'static str, i32, &'static [i64], i64, i32, i64);

/// A container row: test, current, levels, target %, readiness, replicas, utilization, value.
type ContainerRow = (&'static str, i32, &'static [i64], i32, &'static [bool], i32, i32, i64);

#[test]
fn pods_metric_rows_match_the_replica_calculator() {
    // (test, current, levels, target, expected replicas, expected average)
    let rows: [PodsMetricRow; 6] = [
        ("TestReplicaCalcScaleUpCM", 3, &[20000, 10000, 30000], 15000, 4, 20000),
        // Readiness and CPU start times do not matter for a Pods metric: every sample counts.
        ("TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale", 3, &[50000, 10000, 30000], 15000, 6, 30000),
        ("TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown", 3, &[50000, 15000, 30000], 15000, 7, 31666),
        ("TestReplicaCalcScaleDownCM", 5, &[12000, 12000, 12000, 12000, 12000], 20000, 3, 12000),
        ("TestReplicaCalcToleranceCM", 3, &[20000, 21000, 21000], 20000, 3, 20666),
        // Two of five pods without samples at exactly the target: nothing changes.
        ("TestPlainMetricReplicaCalcMissingMetricsNoChangeEq", 5, &[20000, 19000, 21000], 20000, 5, 20000),
    ];
    for (test, current, levels, target, replicas, average) in rows {
        let pods = pods(current as usize, 1000);
        let pods: Vec<&Pod> = pods.iter().collect();
        let settings = CalculatorSettings::default();
        let samples = custom_samples(levels);
        assert_eq!(
            pods_metric_replicas(current, &pods, &samples, target, now(), &settings),
            Ok((replicas, average)),
            "{test}"
        );
    }
}

#[test]
fn container_rows_match_the_replica_calculator() {
    // (test, current, container2 levels, target %, ready, expected replicas, utilization, value)
    let rows: [ContainerRow; 3] = [
        ("TestReplicaCalcContainerScaleUp", 3, &[300, 500, 700], 30, &[true; 3], 5, 50, 500),
        ("TestReplicaCalcContainerScaleDown", 5, &[100, 300, 500, 250, 250], 50, &[true; 5], 3, 28, 280),
        (
            "TestReplicaCalcScaleDownContainerExcludeUnreadyPods",
            5,
            &[100, 300, 500, 250, 250],
            50,
            &[true, true, true, false, false],
            2,
            30,
            300,
        ),
    ];
    for (test, current, levels, target, readiness, replicas, utilization, value) in rows {
        let mut pods = pods(current as usize, 1000);
        for (pod, ready) in pods.iter_mut().zip(readiness) {
            let status = pod.status.as_mut().unwrap();
            status.conditions.as_mut().unwrap()[0].status = if *ready { "True" } else { "False" }.to_string();
        }
        let pods: Vec<&Pod> = pods.iter().collect();
        let metrics = super::tests::usage(levels);
        let calculation = Calculation {
            current_replicas: current,
            pods: &pods,
            metrics: &metrics,
            resource: ResourceName::Cpu,
            container: Some("container"),
            now: now(),
            settings: CalculatorSettings::default(),
        };
        let proposal = calculation.utilization_replicas(target).unwrap();
        assert_eq!(
            (proposal.replicas, proposal.utilization, proposal.raw_average),
            (replicas, Some(utilization), value),
            "{test}"
        );
    }
}
