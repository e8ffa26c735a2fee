//! The replica calculator for metrics of one object or of an external system
//! (`GetObjectMetricReplicas`, `GetObjectPerPodMetricReplicas`, `GetExternalMetricReplicas`,
//! `GetExternalPerPodMetricReplicas` in `replica_calculator.go`): a value target scales the
//! ready pods by the usage ratio, an average-value target divides the usage over the replicas.
//! Overflowing sums and counts saturate, as the upstream guards do.

use k8s_openapi::api::core::v1::Pod;

use super::metrics::ReplicaCalculationError;
use crate::controllers::pods::phase;

/// A replica count from a float, saturating at the ends of `i32` (NaN is zero), as Kubernetes
/// caps counts beyond `MaxInt32`.
fn to_replicas(value: f64) -> i32 {
    value as i32
}

/// `getReadyPodsCount`: the running pods whose Ready condition is True.
fn ready_pods(pods: &[&Pod]) -> Result<usize, ReplicaCalculationError> {
    if pods.is_empty() {
        return Err(ReplicaCalculationError::NoPodsToCount);
    }
    let ready = |pod: &&&Pod| {
        let conditions = pod.status.as_ref().and_then(|status| status.conditions.as_ref());
        phase(pod) == "Running"
            && conditions
                .into_iter()
                .flatten()
                .any(|condition| condition.type_ == "Ready" && condition.status == "True")
    };
    Ok(pods.iter().filter(ready).count())
}

/// `getUsageRatioReplicaCount`: the current count within the tolerance, else the ready pods
/// scaled by the ratio; from zero replicas, the ratio alone (scale from zero).
pub fn usage_ratio_replicas(
    current_replicas: i32,
    usage_ratio: f64,
    pods: &[&Pod],
    tolerance: f64,
) -> Result<i32, ReplicaCalculationError> {
    if current_replicas == 0 {
        return Ok(to_replicas(usage_ratio.ceil()));
    }
    if (1.0 - usage_ratio).abs() <= tolerance {
        return Ok(current_replicas);
    }
    let ready = ready_pods(pods)?;
    Ok(to_replicas((usage_ratio * ready as f64).ceil()))
}

/// `GetObjectMetricReplicas` and `GetExternalMetricReplicas` after the metric is read: the
/// replicas for a total `usage` against a `target` value, both in milli-units.
pub fn value_replicas(
    current_replicas: i32,
    usage: i64,
    target: i64,
    pods: &[&Pod],
    tolerance: f64,
) -> Result<i32, ReplicaCalculationError> {
    usage_ratio_replicas(current_replicas, usage as f64 / target as f64, pods, tolerance)
}

/// `GetObjectPerPodMetricReplicas` and `GetExternalPerPodMetricReplicas` after the metric is
/// read: against an average per replica of the scale's status count, the replicas (unchanged
/// within the tolerance) and the usage per replica, rounded up.
pub fn average_value_replicas(status_replicas: i32, usage: i64, target_per_pod: i64, tolerance: f64) -> (i32, i64) {
    let usage_ratio = usage as f64 / (target_per_pod as f64 * f64::from(status_replicas));
    let replicas = if (1.0 - usage_ratio).abs() > tolerance {
        to_replicas((usage as f64 / target_per_pod as f64).ceil())
    } else {
        status_replicas
    };
    // A usage at the top of i64 stays there; otherwise the average per replica, saturating
    // (a float cast) when there are no replicas to divide by.
    let per_pod = if usage == i64::MAX { i64::MAX } else { (usage as f64 / f64::from(status_replicas)).ceil() as i64 };
    (replicas, per_pod)
}

/// The external metric's values summed, capped at `i64::MAX` as Kubernetes caps them.
pub fn external_usage(values: &[i64]) -> i64 {
    values.iter().fold(0i64, |total, value| total.saturating_add(*value))
}

#[cfg(test)]
#[path = "object_external_tests.rs"]
mod tests;
