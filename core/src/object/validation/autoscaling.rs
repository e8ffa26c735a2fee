//! HorizontalPodAutoscalers at autoscaling/v2 and autoscaling/v1
//! (`pkg/apis/autoscaling/validation`): replica bounds, the scale target, metrics and behavior.

use k8s_openapi::api::autoscaling::v2::{HPAScalingRules, MetricSpec};
use k8s_openapi::api::autoscaling::{v1 as autoscaling_v1, v2 as autoscaling_v2};

use super::common::nonnegative;
use super::name_rules::is_valid_path_segment_name;
use crate::object::field_error::{FieldError, FieldPath};

/// Fewest replicas an autoscaler may scale to (scale to zero is an alpha feature).
pub const MIN_REPLICAS_LOWER_BOUND: i32 = 1;
/// Metric source types.
pub const METRIC_SOURCE_TYPES: &[&str] = &["ContainerResource", "External", "Object", "Pods", "Resource"];
/// Metric target types.
pub const METRIC_TARGET_TYPES: &[&str] = &["AverageValue", "Utilization", "Value"];
/// Scaling policy types.
pub const SCALING_POLICY_TYPES: &[&str] = &["Percent", "Pods"];
/// Policy selections.
pub const SELECT_POLICIES: &[&str] = &["Disabled", "Max", "Min"];
/// Longest stabilization window: one hour.
pub const MAX_STABILIZATION_WINDOW_SECONDS: i32 = 3600;
/// Longest scaling policy period: 30 minutes.
pub const MAX_PERIOD_SECONDS: i32 = 1800;

fn validate_replica_bounds(
    min_replicas: Option<i32>,
    max_replicas: i32,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    if let Some(min_replicas) = min_replicas
        && min_replicas < MIN_REPLICAS_LOWER_BOUND
    {
        let message = format!("must be greater than or equal to {MIN_REPLICAS_LOWER_BOUND}");
        errors.push(FieldError::invalid(&path.child("minReplicas"), min_replicas, &message));
    }
    if max_replicas < 1 {
        errors.push(FieldError::invalid(&path.child("maxReplicas"), max_replicas, "must be greater than 0"));
    }
    if let Some(min_replicas) = min_replicas
        && max_replicas < min_replicas
    {
        let message = "must be greater than or equal to `minReplicas`";
        errors.push(FieldError::invalid(&path.child("maxReplicas"), max_replicas, message));
    }
}

fn validate_scale_target(kind: &str, name: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    for (field, value) in [("kind", kind), ("name", name)] {
        if value.is_empty() {
            errors.push(FieldError::required(&path.child(field), ""));
        } else {
            for message in is_valid_path_segment_name(value) {
                errors.push(FieldError::invalid(&path.child(field), value, &message));
            }
        }
    }
}

/// autoscaling/v2 `validateHorizontalPodAutoscalerSpec`.
pub fn validate_horizontal_pod_autoscaler_v2(autoscaler: &autoscaling_v2::HorizontalPodAutoscaler) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = FieldPath::new("spec");
    let spec = autoscaler.spec.clone().unwrap_or_default();
    validate_replica_bounds(spec.min_replicas, spec.max_replicas, &path, &mut errors);
    let target = &spec.scale_target_ref;
    validate_scale_target(&target.kind, &target.name, &path.child("scaleTargetRef"), &mut errors);
    for (index, metric) in spec.metrics.iter().flatten().enumerate() {
        validate_metric(metric, &path.child("metrics").index(index), &mut errors);
    }
    if let Some(behavior) = &spec.behavior {
        let behavior_path = path.child("behavior");
        for (field, rules) in [("scaleUp", &behavior.scale_up), ("scaleDown", &behavior.scale_down)] {
            if let Some(rules) = rules {
                validate_scaling_rules(rules, &behavior_path.child(field), &mut errors);
            }
        }
    }
    errors
}

/// A metric names a known source type and sets exactly the source its type names.
fn validate_metric(metric: &MetricSpec, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let sources = [
        ("ContainerResource", "containerResource", metric.container_resource.is_some()),
        ("External", "external", metric.external.is_some()),
        ("Object", "object", metric.object.is_some()),
        ("Pods", "pods", metric.pods.is_some()),
        ("Resource", "resource", metric.resource.is_some()),
    ];
    if metric.type_.is_empty() {
        errors.push(FieldError::required(&path.child("type"), "must specify a metric source type"));
        return;
    }
    if !METRIC_SOURCE_TYPES.contains(&metric.type_.as_str()) {
        errors.push(FieldError::not_supported(&path.child("type"), metric.type_.as_str(), METRIC_SOURCE_TYPES));
        return;
    }
    for (type_, field, set) in sources {
        if type_ == metric.type_ && !set {
            errors.push(FieldError::required(
                &path.child(field),
                "must populate information for the given metric source",
            ));
        } else if type_ != metric.type_ && set {
            errors.push(FieldError::forbidden(&path.child(field), "must populate the given metric source only"));
        }
    }
    if let Some(resource) = &metric.resource {
        let resource_path = path.child("resource");
        if resource.name.is_empty() {
            errors.push(FieldError::required(&resource_path.child("name"), "must specify a resource name"));
        }
        let target = &resource.target;
        if !METRIC_TARGET_TYPES.contains(&target.type_.as_str()) {
            let target_path = resource_path.child("target").child("type");
            errors.push(FieldError::not_supported(&target_path, target.type_.as_str(), METRIC_TARGET_TYPES));
        }
        if let Some(utilization) = target.average_utilization.filter(|utilization| *utilization <= 0) {
            let utilization_path = resource_path.child("target").child("averageUtilization");
            errors.push(FieldError::invalid(&utilization_path, utilization, "must be greater than 0"));
        }
    }
}

/// `validateScalingRules`.
fn validate_scaling_rules(rules: &HPAScalingRules, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if let Some(seconds) = rules.stabilization_window_seconds {
        let window_path = path.child("stabilizationWindowSeconds");
        nonnegative(i64::from(seconds), &window_path, errors);
        if seconds > MAX_STABILIZATION_WINDOW_SECONDS {
            let message = format!("must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}");
            errors.push(FieldError::invalid(&window_path, seconds, &message));
        }
    }
    if let Some(select) = rules.select_policy.as_deref()
        && !SELECT_POLICIES.contains(&select)
    {
        errors.push(FieldError::not_supported(&path.child("selectPolicy"), select, SELECT_POLICIES));
    }
    let policies = rules.policies.as_deref().unwrap_or_default();
    if policies.is_empty() && rules.select_policy.as_deref() != Some("Disabled") {
        errors.push(FieldError::required(&path.child("policies"), "must specify at least one Policy"));
    }
    for (index, policy) in policies.iter().enumerate() {
        let policy_path = path.child("policies").index(index);
        if !SCALING_POLICY_TYPES.contains(&policy.type_.as_str()) {
            errors.push(FieldError::not_supported(
                &policy_path.child("type"),
                policy.type_.as_str(),
                SCALING_POLICY_TYPES,
            ));
        }
        if policy.value <= 0 {
            errors.push(FieldError::invalid(&policy_path.child("value"), policy.value, "must be greater than zero"));
        }
        if policy.period_seconds <= 0 {
            errors.push(FieldError::invalid(
                &policy_path.child("periodSeconds"),
                policy.period_seconds,
                "must be greater than zero",
            ));
        } else if policy.period_seconds > MAX_PERIOD_SECONDS {
            let message = format!("must be less than or equal to {MAX_PERIOD_SECONDS}");
            errors.push(FieldError::invalid(&policy_path.child("periodSeconds"), policy.period_seconds, &message));
        }
    }
}

/// autoscaling/v1: replica bounds, scale target and a positive CPU target.
pub fn validate_horizontal_pod_autoscaler_v1(autoscaler: &autoscaling_v1::HorizontalPodAutoscaler) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = FieldPath::new("spec");
    let spec = autoscaler.spec.clone().unwrap_or_default();
    validate_replica_bounds(spec.min_replicas, spec.max_replicas, &path, &mut errors);
    let target = &spec.scale_target_ref;
    validate_scale_target(&target.kind, &target.name, &path.child("scaleTargetRef"), &mut errors);
    if let Some(percent) = spec.target_cpu_utilization_percentage.filter(|percent| *percent < 1) {
        let percent_path = path.child("targetCPUUtilizationPercentage");
        errors.push(FieldError::invalid(&percent_path, percent, "must be greater than 0"));
    }
    errors
}
