//! PodDisruptionBudgets (`ValidatePodDisruptionBudgetSpec` in `pkg/apis/policy/validation`):
//! minAvailable or maxUnavailable, never both.

use k8s_openapi::api::policy::v1::PodDisruptionBudget;

use super::common::{not_more_than_100_percent, positive_int_or_percent, to_json};
use super::meta::validate_label_selector;
use crate::object::field_error::{FieldError, FieldPath};

/// What a budget does with unhealthy pods.
pub const UNHEALTHY_POD_EVICTION_POLICIES: &[&str] = &["AlwaysAllow", "IfHealthyBudget"];

/// `ValidatePodDisruptionBudgetSpec`.
pub fn validate_pod_disruption_budget(budget: &PodDisruptionBudget) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = FieldPath::new("spec");
    let spec = budget.spec.clone().unwrap_or_default();
    if spec.min_available.is_some() && spec.max_unavailable.is_some() {
        errors.push(FieldError::invalid(&path, to_json(&spec), "minAvailable and maxUnavailable cannot be both set"));
    }
    for (field, value) in [("minAvailable", &spec.min_available), ("maxUnavailable", &spec.max_unavailable)] {
        if let Some(value) = value {
            positive_int_or_percent(value, &path.child(field), &mut errors);
            not_more_than_100_percent(value, &path.child(field), &mut errors);
        }
    }
    if let Some(selector) = &spec.selector {
        validate_label_selector(selector, &path.child("selector"), &mut errors);
    }
    if let Some(policy) = spec.unhealthy_pod_eviction_policy.as_deref()
        && !UNHEALTHY_POD_EVICTION_POLICIES.contains(&policy)
    {
        let policy_path = path.child("unhealthyPodEvictionPolicy");
        errors.push(FieldError::not_supported(&policy_path, policy, UNHEALTHY_POD_EVICTION_POLICIES));
    }
    errors
}
