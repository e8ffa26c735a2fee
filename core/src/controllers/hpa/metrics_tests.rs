//! Rows of Kubernetes' resource-metric replica calculator tests
//! (`pkg/controller/podautoscaler/replica_calculator_test.go`, the `TestReplicaCalc*` cases on
//! whole-pod CPU), with the harness's facts: two containers per pod, each requesting the row's
//! request and using the row's level, samples stamped at the zero time with a one-minute window,
//! a 2-minute CPU initialization period and a 10-second initial readiness delay.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodCondition, PodSpec, PodStatus, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::*;

fn now() -> Timestamp {
    "2024-06-01T12:00:00Z".parse().unwrap()
}

#[derive(Clone, Copy, PartialEq)]
enum Start {
    /// Go's zero time: long past.
    Zero,
    /// `hotCPUCreationTime`: now.
    Hot,
    /// `coolCPUCreationTime`: three minutes ago.
    Cool,
}

#[derive(Clone)]
struct Row {
    name: &'static str,
    current: i32,
    expected: Result<(i32, i32, i64), &'static str>,
    readiness: Vec<bool>,
    start: Vec<Start>,
    phases: Vec<&'static str>,
    deleting: Vec<bool>,
    requests: Vec<String>,
    levels: Vec<i64>,
    pod_names: Vec<&'static str>,
    target: i32,
}

fn row(name: &'static str, current: i32, requests: &[&str], levels: &[i64], target: i32) -> Row {
    Row {
        name,
        current,
        expected: Err("no expectation"),
        readiness: Vec::new(),
        start: Vec::new(),
        phases: Vec::new(),
        deleting: Vec::new(),
        requests: requests.iter().map(|request| request.to_string()).collect(),
        levels: levels.to_vec(),
        pod_names: Vec::new(),
        target,
    }
}

impl Row {
    fn expect(mut self, replicas: i32, utilization: i32, value: i64) -> Row {
        self.expected = Ok((replicas, utilization, value));
        self
    }
    fn fail(mut self, message: &'static str) -> Row {
        self.expected = Err(message);
        self
    }
    fn ready(mut self, readiness: &[bool]) -> Row {
        self.readiness = readiness.to_vec();
        self
    }
    fn started(mut self, start: &[Start]) -> Row {
        self.start = start.to_vec();
        self
    }
    fn phases(mut self, phases: &[&'static str]) -> Row {
        self.phases = phases.to_vec();
        self
    }
    fn deleting(mut self, deleting: &[bool]) -> Row {
        self.deleting = deleting.to_vec();
        self
    }

    fn pods(&self) -> Vec<Pod> {
        let count = (self.current as usize).max(self.phases.len());
        (0..count)
            .map(|index| {
                let start = match self.start.get(index).copied().unwrap_or(Start::Zero) {
                    Start::Zero => Timestamp::UNIX_EPOCH,
                    Start::Hot => now(),
                    Start::Cool => now() - SignedDuration::from_mins(3),
                };
                let ready = self.readiness.get(index).copied().unwrap_or(true);
                let resources = self.requests.get(index).map(|request| ResourceRequirements {
                    requests: Some(BTreeMap::from([("cpu".to_string(), WireQuantity(request.to_string()))])),
                    ..ResourceRequirements::default()
                });
                let container = |name: &str| Container {
                    name: name.to_string(),
                    resources: resources.clone(),
                    ..Container::default()
                };
                Pod {
                    metadata: ObjectMeta {
                        name: Some(format!("test-pod-{index}")),
                        namespace: Some("test-namespace".to_string()),
                        deletion_timestamp: self.deleting.get(index).copied().unwrap_or(false).then(|| Time(now())),
                        ..ObjectMeta::default()
                    },
                    spec: Some(PodSpec {
                        containers: vec![container("container1"), container("container2")],
                        ..PodSpec::default()
                    }),
                    status: Some(PodStatus {
                        phase: Some(self.phases.get(index).copied().unwrap_or("Running").to_string()),
                        start_time: Some(Time(start)),
                        conditions: Some(vec![PodCondition {
                            type_: "Ready".to_string(),
                            status: if ready { "True" } else { "False" }.to_string(),
                            ..PodCondition::default()
                        }]),
                        ..PodStatus::default()
                    }),
                }
            })
            .collect()
    }

    fn metrics(&self) -> PodMetrics {
        self.levels
            .iter()
            .enumerate()
            .map(|(index, level)| {
                let name = self.pod_names.get(index).map_or(format!("test-pod-{index}"), |name| name.to_string());
                let usage = PodUsage {
                    timestamp: Timestamp::UNIX_EPOCH,
                    window: Duration::from_secs(60),
                    cpu_millicores: Some(2 * level),
                    memory_bytes: None,
                };
                (name, usage)
            })
            .collect()
    }
}

const TEST_SETTINGS: CalculatorSettings = CalculatorSettings {
    tolerance: 0.1,
    cpu_initialization_period: Duration::from_secs(120),
    delay_of_initial_readiness_status: Duration::from_secs(10),
};

fn run(row: &Row) -> Result<Proposal, ReplicaCalculationError> {
    let pods = row.pods();
    let pods: Vec<&Pod> = pods.iter().collect();
    let metrics = row.metrics();
    let calculation = Calculation {
        current_replicas: row.current,
        pods: &pods,
        metrics: &metrics,
        resource: ResourceName::Cpu,
        container: None,
        now: now(),
        settings: TEST_SETTINGS,
    };
    calculation.utilization_replicas(row.target)
}

fn rows() -> Vec<Row> {
    use Start::{Cool, Hot};
    let one = |count: usize| vec!["1.0"; count];
    let (t, f) = (true, false);
    vec![
        Row { pod_names: vec!["an-older-pod-name"], ..row("DisjointResourcesMetrics", 1, &["1.0"], &[100], 100) }
            .fail("no metrics returned matched known pods"),
        row("ScaleUp", 3, &one(3), &[300, 500, 700], 30).expect(5, 50, 1000),
        row("ScaleUpUnreadyLessScale", 3, &one(3), &[300, 500, 700], 30).ready(&[f, t, t]).expect(4, 60, 1200),
        row("ScaleUpHotCpuLessScale", 3, &one(3), &[300, 500, 700], 30).started(&[Hot, Cool, Cool]).expect(4, 60, 1200),
        row("ScaleUpUnreadyNoScale", 3, &one(3), &[400, 500, 700], 30).ready(&[t, f, f]).expect(3, 40, 800),
        row("ScaleHotCpuNoScale", 3, &one(3), &[400, 500, 700], 30)
            .ready(&[t, f, f])
            .started(&[Cool, Hot, Hot])
            .expect(3, 40, 800),
        row("ScaleUpIgnoresFailedPods", 2, &one(4), &[500, 700], 30)
            .ready(&[t, t, f, f])
            .phases(&["Running", "Running", "Failed", "Failed"])
            .expect(4, 60, 1200),
        row("ScaleUpIgnoresDeletionPods", 2, &one(4), &[500, 700], 30)
            .ready(&[t, t, f, f])
            .phases(&["Running"; 4])
            .deleting(&[f, f, t, t])
            .expect(4, 60, 1200),
        row("ScaleDown", 5, &one(5), &[100, 300, 500, 250, 250], 50).expect(3, 28, 560),
        row("ScaleDownExcludeUnscheduledPods", 5, &one(5), &[100], 50)
            .ready(&[t, f, f, f, f])
            .phases(&["Running", "Pending", "Pending", "Pending", "Pending"])
            .expect(1, 10, 200),
        row("ScaleDownIgnoreHotCpuPods", 5, &one(5), &[100, 300, 500, 250, 250], 50)
            .started(&[Cool, Cool, Cool, Hot, Hot])
            .expect(2, 30, 600),
        row("ScaleDownIgnoresFailedPods", 5, &one(7), &[100, 300, 500, 250, 250], 50)
            .ready(&[t, t, t, t, t, f, f])
            .phases(&["Running", "Running", "Running", "Running", "Running", "Failed", "Failed"])
            .expect(3, 28, 560),
        row("ScaleDownIgnoresDeletionPods", 5, &one(7), &[100, 300, 500, 250, 250], 50)
            .ready(&[t, t, t, t, t, f, f])
            .phases(&["Running"; 7])
            .deleting(&[f, f, f, f, f, t, t])
            .expect(3, 28, 560),
        row("Tolerance", 3, &["0.9", "1.0", "1.1"], &[1010, 1030, 1020], 100).expect(3, 102, 2040),
        row("SuperfluousMetrics", 4, &one(4), &[4000, 9500, 3000, 7000, 3200, 2000], 100).expect(24, 587, 11750),
        row("MissingMetrics", 4, &one(4), &[400, 95], 100).expect(3, 24, 495),
        row("EmptyMetrics", 4, &one(3), &[], 100)
            .fail("unable to get metrics for resource cpu: no metrics returned from resource metrics API"),
        row("EmptyCPURequest", 1, &[], &[200], 100).fail("missing request for"),
        row("MissingMetricsNoChangeEq", 2, &one(2), &[1000], 100).expect(2, 100, 2000),
        row("MissingMetricsNoChangeGt", 2, &one(2), &[1900], 100).expect(2, 190, 3800),
        row("MissingMetricsNoChangeLt", 2, &one(2), &[600], 100).expect(2, 60, 1200),
        row("MissingMetricsUnreadyChange", 3, &one(3), &[100, 450], 50).ready(&[f, t, t]).expect(3, 45, 900),
        row("MissingMetricsHotCpuNoChange", 3, &one(3), &[100, 450], 50).started(&[Hot, Cool, Cool]).expect(3, 45, 900),
        row("MissingMetricsUnreadyScaleUp", 3, &one(3), &[100, 2000], 50).ready(&[f, t, t]).expect(4, 200, 4000),
        row("MissingMetricsHotCpuScaleUp", 3, &one(3), &[100, 2000], 50)
            .ready(&[f, t, t])
            .started(&[Hot, Cool, Cool])
            .expect(4, 200, 4000),
        row("MissingMetricsUnreadyScaleDown", 4, &one(4), &[100, 100, 100], 50).ready(&[f, t, t, t]).expect(3, 10, 200),
        row("MissingMetricsScaleDownTargetOver100", 4, &["1.0", "1.0", "2.0", "2.0"], &[200, 100, 100], 300)
            .ready(&[f, t, t, t])
            .expect(2, 6, 200),
        row("DuringRollingUpdateWithMaxSurge", 2, &one(3), &[100, 100], 50).phases(&["Running"; 3]).expect(2, 10, 200),
    ]
}

#[test]
fn replica_calculation_matches_kubernetes_rows() {
    for row in rows() {
        match (run(&row), row.expected) {
            (Ok(proposal), Ok((replicas, utilization, value))) => {
                let got = (proposal.replicas, proposal.utilization, proposal.raw_average);
                assert_eq!(got, (replicas, Some(utilization), value), "{}", row.name);
            }
            (Err(error), Err(message)) => assert!(error.to_string().contains(message), "{}: {error}", row.name),
            (got, expected) => panic!("{}: got {got:?}, expected {expected:?}", row.name),
        }
    }
}

/// `TestReplicaCalcComputedToleranceAlgImplementation`: a target just past the tolerance
/// scales down; one just inside it does not.
#[test]
fn a_target_just_outside_the_tolerance_scales_and_one_just_inside_does_not() {
    let start_pods = 10;
    let used_total: i64 = 150 * start_pods;
    let requested_total = 2 * used_total;
    let requested_to_used = (requested_total / used_total) as f64;
    let per_pod_requested = requested_total / start_pods;
    let offsets = [100, -100, 10, -10, 2, -2, 1, -1, 0, 0];
    let requests: Vec<String> = offsets.iter().map(|offset| format!("{}m", per_pod_requested + offset)).collect();
    let requests: Vec<&str> = requests.iter().map(String::as_str).collect();
    let levels = vec![used_total / 10; 10];
    for (margin, scales) in [(0.01, true), (0.004, false)] {
        let target = (1.0 / (requested_to_used * (1.0 - 0.1))).abs() + margin;
        let percent = (target * 100.0) as i32;
        let ratio = used_total as f64 / (requested_total as f64 * target);
        let expected = if scales { (ratio * start_pods as f64).ceil() as i32 } else { start_pods as i32 };
        let row = row("ComputedToleranceAlgImplementation", start_pods as i32, &requests, &levels, percent);
        let proposal = run(&row).unwrap();
        assert_eq!(proposal.replicas, expected, "margin {margin}");
        assert_eq!(proposal.utilization, Some((used_total * 100 / requested_total) as i32));
        assert_eq!(proposal.raw_average, 2 * used_total / 10);
    }
}

#[test]
fn average_value_targets_scale_on_usage_per_pod() {
    // Three pods using 2 × (300, 500, 700) millicores against an average of 500m.
    let row = row("AverageValue", 3, &["1.0"; 3], &[300, 500, 700], 0);
    let pods = row.pods();
    let pods: Vec<&Pod> = pods.iter().collect();
    let metrics = row.metrics();
    let calculation = Calculation {
        current_replicas: 3,
        pods: &pods,
        metrics: &metrics,
        resource: ResourceName::Cpu,
        container: None,
        now: now(),
        settings: TEST_SETTINGS,
    };
    let proposal = calculation.average_value_replicas(500).unwrap();
    assert_eq!((proposal.replicas, proposal.utilization, proposal.raw_average), (6, None, 1000));
    // Within the tolerance: nothing changes.
    assert_eq!(calculation.average_value_replicas(1050).unwrap().replicas, 3);
}

#[test]
fn memory_is_read_in_bytes_and_compared_in_milli_units() {
    let row = row("Memory", 2, &["1.0"; 2], &[], 100);
    let mut pods = row.pods();
    for pod in &mut pods {
        for container in &mut pod.spec.as_mut().unwrap().containers {
            container.resources.as_mut().unwrap().requests =
                Some(BTreeMap::from([("memory".to_string(), WireQuantity("100Mi".to_string()))]));
        }
    }
    let pods: Vec<&Pod> = pods.iter().collect();
    let usage = |bytes: i64| PodUsage {
        timestamp: now(),
        window: Duration::from_secs(60),
        cpu_millicores: None,
        memory_bytes: Some(bytes),
    };
    let mebibyte = 1024 * 1024;
    let metrics = PodMetrics::from([
        ("test-pod-0".to_string(), usage(300 * mebibyte)),
        ("test-pod-1".to_string(), usage(300 * mebibyte)),
    ]);
    let calculation = Calculation {
        current_replicas: 2,
        pods: &pods,
        metrics: &metrics,
        resource: ResourceName::Memory,
        container: None,
        now: now(),
        settings: TEST_SETTINGS,
    };
    let proposal = calculation.utilization_replicas(100).unwrap();
    assert_eq!((proposal.replicas, proposal.utilization), (3, Some(150)));
    assert_eq!(proposal.raw_average, 300 * mebibyte * 1000);
}
