//! Defaults of HorizontalPodAutoscalers at autoscaling/v2 and autoscaling/v1
//! (`pkg/apis/autoscaling/v2/defaults.go`, `pkg/apis/autoscaling/v1/defaults.go`).

use k8s_openapi::api::autoscaling::v2::{
    HPAScalingPolicy, HPAScalingRules, MetricSpec, MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::autoscaling::{v1 as autoscaling_v1, v2 as autoscaling_v2};

use super::set_if_none;

/// The fewest replicas an autoscaler scales to.
pub const MIN_REPLICAS: i32 = 1;
/// Target average CPU utilization, in percent of requests, of an autoscaler without metrics.
pub const CPU_UTILIZATION_PERCENT: i32 = 80;
/// Seconds of recommendations a scale-up looks back over (none: scale up at once).
pub const SCALE_UP_STABILIZATION_WINDOW_SECONDS: i32 = 0;
/// Seconds of recommendations a scale-down looks back over. Kubernetes leaves the field unset in
/// the object and the controller applies this (its `--horizontal-pod-autoscaler-downscale-stabilization`).
pub const SCALE_DOWN_STABILIZATION_WINDOW_SECONDS: i32 = 300;
/// The period of every default scaling policy.
pub const SCALING_POLICY_PERIOD_SECONDS: i32 = 15;
/// A scale-up may add this many pods per period…
pub const SCALE_UP_PODS: i32 = 4;
/// …or double the replicas per period, whichever is more.
pub const SCALE_UP_PERCENT: i32 = 100;
/// A scale-down may remove every pod above the recommendation per period.
pub const SCALE_DOWN_PERCENT: i32 = 100;
/// Which policy wins when several apply: the one that changes most.
pub const SELECT_POLICY: &str = "Max";

/// `SetDefaults_HorizontalPodAutoscaler` (v2): minReplicas 1, a CPU target of 80% when no
/// metric is given, and a complete behavior when one is partly given.
pub fn default_horizontal_pod_autoscaler_v2(autoscaler: &mut autoscaling_v2::HorizontalPodAutoscaler) {
    let spec = autoscaler.spec.get_or_insert_with(Default::default);
    set_if_none(&mut spec.min_replicas, MIN_REPLICAS);
    if spec.metrics.as_ref().is_none_or(|metrics| metrics.is_empty()) {
        spec.metrics = Some(vec![default_cpu_metric()]);
    }
    if let Some(behavior) = &mut spec.behavior {
        complete_rules(&mut behavior.scale_up, scale_up_rules());
        complete_rules(&mut behavior.scale_down, scale_down_rules());
    }
}

/// autoscaling/v1: minReplicas 1. The CPU target shows as 80% when unset, because the object is
/// stored at v2 where it defaults to the CPU metric above.
pub fn default_horizontal_pod_autoscaler_v1(autoscaler: &mut autoscaling_v1::HorizontalPodAutoscaler) {
    let spec = autoscaler.spec.get_or_insert_with(Default::default);
    set_if_none(&mut spec.min_replicas, MIN_REPLICAS);
    set_if_none(&mut spec.target_cpu_utilization_percentage, CPU_UTILIZATION_PERCENT);
}

fn default_cpu_metric() -> MetricSpec {
    MetricSpec {
        type_: "Resource".to_string(),
        resource: Some(ResourceMetricSource {
            name: "cpu".to_string(),
            target: MetricTarget {
                type_: "Utilization".to_string(),
                average_utilization: Some(CPU_UTILIZATION_PERCENT),
                ..Default::default()
            },
        }),
        ..Default::default()
    }
}

fn policy(type_: &str, value: i32) -> HPAScalingPolicy {
    HPAScalingPolicy { type_: type_.to_string(), value, period_seconds: SCALING_POLICY_PERIOD_SECONDS }
}

fn scale_up_rules() -> HPAScalingRules {
    HPAScalingRules {
        stabilization_window_seconds: Some(SCALE_UP_STABILIZATION_WINDOW_SECONDS),
        select_policy: Some(SELECT_POLICY.to_string()),
        policies: Some(vec![policy("Pods", SCALE_UP_PODS), policy("Percent", SCALE_UP_PERCENT)]),
        ..Default::default()
    }
}

fn scale_down_rules() -> HPAScalingRules {
    HPAScalingRules {
        stabilization_window_seconds: None,
        select_policy: Some(SELECT_POLICY.to_string()),
        policies: Some(vec![policy("Percent", SCALE_DOWN_PERCENT)]),
        ..Default::default()
    }
}

/// `copyHPAScalingRules`: the given fields win, the defaults fill the rest.
fn complete_rules(rules: &mut Option<HPAScalingRules>, mut defaults: HPAScalingRules) {
    if let Some(given) = rules.take() {
        if given.select_policy.is_some() {
            defaults.select_policy = given.select_policy;
        }
        if given.stabilization_window_seconds.is_some() {
            defaults.stabilization_window_seconds = given.stabilization_window_seconds;
        }
        if given.policies.is_some() {
            defaults.policies = given.policies;
        }
        if given.tolerance.is_some() {
            defaults.tolerance = given.tolerance;
        }
    }
    *rules = Some(defaults);
}
