//! Rows of Kubernetes' replica calculator tests for Object and External metrics
//! (`pkg/controller/podautoscaler/replica_calculator_test.go`), each named by its upstream
//! test: three pods (or the row's count) named `test-pod-<i>`, Running and Ready unless the row
//! says otherwise, with the default tolerance of 0.1.

use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;
use crate::controllers::hpa::TOLERANCE;

fn pods(readiness: &[bool]) -> Vec<Pod> {
    readiness
        .iter()
        .enumerate()
        .map(|(index, ready)| Pod {
            metadata: ObjectMeta { name: Some(format!("test-pod-{index}")), ..ObjectMeta::default() },
            status: Some(PodStatus {
                phase: Some("Running".to_string()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".to_string(),
                    status: if *ready { "True" } else { "False" }.to_string(),
                    ..PodCondition::default()
                }]),
                ..PodStatus::default()
            }),
            ..Pod::default()
        })
        .collect()
}

fn ready(count: usize) -> Vec<Pod> {
    pods(&vec![true; count])
}

/// `(test, current replicas, pods, usage, target, expected replicas)` for a `Value` target.
type ValueRow = (&'static str, i32, Vec<Pod>, i64, i64, i32);

#[test]
fn object_and_external_value_targets_match_kubernetes_rows() {
    let rows: Vec<ValueRow> = vec![
        ("TestReplicaCalcScaleUpCMObject", 3, ready(3), 20000, 15000, 4),
        // Only the one ready pod counts: 5 replicas, not 15.
        ("TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods", 3, pods(&[false, true, false]), 50000, 10000, 5),
        ("TestReplicaCalcScaleDownCMObject", 5, ready(5), 12000, 20000, 3),
        ("TestReplicaCalcToleranceCMObject", 3, ready(3), 20666, 20000, 3),
        // External Value targets take the same path; the upstream External scale-up row runs
        // as a Pods metric, these do not.
        ("TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods", 3, pods(&[false, true, false]), 8600, 4400, 2),
        ("TestReplicaCalcScaleDownCMExternal", 5, ready(5), 8600, 14334, 3),
        ("TestReplicaCalcToleranceCMExternal", 3, ready(3), 8600, 8888, 3),
    ];
    for (test, current, pods, usage, target, expected) in rows {
        let pods: Vec<&Pod> = pods.iter().collect();
        assert_eq!(value_replicas(current, usage, target, &pods, TOLERANCE), Ok(expected), "{test}");
    }
}

#[test]
fn object_and_external_average_value_targets_match_kubernetes_rows() {
    // (test, status replicas, usage, target per pod, expected replicas, expected usage per pod)
    let rows = [
        ("TestReplicaCalcScaleUpCMPerPodObject", 3, 20000, 5000, 4, 6667),
        ("TestReplicaCalcScaleDownPerPodCMObject", 5, 6000, 2000, 3, 1200),
        ("TestReplicaCalcTolerancePerPodCMObject", 4, 20166, 5000, 4, 5042),
        ("TestReplicaCalcScaleUpPerPodCMExternal", 3, 8600, 2150, 4, 2867),
        ("TestReplicaCalcScaleDownPerPodCMExternal", 5, 8600, 2867, 3, 1720),
        ("TestReplicaCalcTolerancePerPodCMExternal", 3, 8600, 2900, 3, 2867),
    ];
    for (test, status_replicas, usage, target, replicas, per_pod) in rows {
        assert_eq!(average_value_replicas(status_replicas, usage, target, TOLERANCE), (replicas, per_pod), "{test}");
    }
}

#[test]
fn a_value_target_from_zero_replicas_scales_by_the_ratio_alone() {
    // getUsageRatioReplicaCount with currentReplicas 0: no pods are consulted.
    assert_eq!(usage_ratio_replicas(0, 2.5, &[], TOLERANCE), Ok(3));
    assert_eq!(usage_ratio_replicas(0, 0.0, &[], TOLERANCE), Ok(0));
    // Outside the tolerance with no pods at all, the ready count cannot be read.
    assert_eq!(usage_ratio_replicas(2, 2.0, &[], TOLERANCE), Err(ReplicaCalculationError::NoPodsToCount));
}

#[test]
fn overflowing_external_values_saturate_as_kubernetes_caps_them() {
    // The MaxInt64 guards of GetExternalMetricReplicas and GetExternalPerPodMetricReplicas.
    assert_eq!(external_usage(&[i64::MAX, 1, 5]), i64::MAX);
    assert_eq!(average_value_replicas(3, i64::MAX, 1, TOLERANCE), (i32::MAX, i64::MAX));
    assert_eq!(average_value_replicas(0, 10, 0, TOLERANCE).0, i32::MAX);
}
