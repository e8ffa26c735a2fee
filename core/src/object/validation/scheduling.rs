//! scheduling.k8s.io PriorityClasses (`pkg/apis/scheduling/validation`).
//!
//! That only one PriorityClass may be the global default is checked by Kubernetes' Priority
//! admission plugin against the stored classes, not here.

use k8s_openapi::api::scheduling::v1::PriorityClass;

use super::common::immutable;
use crate::object::field_error::{FieldError, FieldPath};

/// Names starting with this are reserved for the built-in classes.
pub const SYSTEM_PRIORITY_CLASS_PREFIX: &str = "system-";
/// Highest priority a user-defined class may have (`HighestUserDefinablePriority`).
pub const HIGHEST_USER_DEFINABLE_PRIORITY: i32 = 1_000_000_000;
/// Priority of `system-cluster-critical` (`SystemCriticalPriority`).
pub const SYSTEM_CRITICAL_PRIORITY: i32 = 2 * HIGHEST_USER_DEFINABLE_PRIORITY;
/// The built-in classes: name and value; neither is the global default.
pub const SYSTEM_PRIORITY_CLASSES: &[(&str, i32)] =
    &[("system-node-critical", SYSTEM_CRITICAL_PRIORITY + 1000), ("system-cluster-critical", SYSTEM_CRITICAL_PRIORITY)];
/// Preemption policies, in Kubernetes' order.
pub const PREEMPTION_POLICIES: &[&str] = &["PreemptLowerPriority", "Never"];

/// `IsKnownSystemPriorityClass`: why a `system-` class is not one of the built-in ones.
fn system_class_error(name: &str, value: i32, global_default: bool) -> Option<String> {
    let Some((_, known_value)) = SYSTEM_PRIORITY_CLASSES.iter().find(|(known, _)| *known == name) else {
        return Some(format!("{name} is not a known system priority class"));
    };
    if *known_value != value {
        return Some(format!("value of {name} PriorityClass must be {known_value}"));
    }
    if global_default {
        return Some(format!("globalDefault of {name} PriorityClass must be false"));
    }
    None
}

/// `ValidatePriorityClass` (beyond metadata): `system-` names only for the built-in classes,
/// user values up to one billion, a known preemption policy.
pub fn validate_priority_class(class: &PriorityClass) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let name = class.metadata.name.as_deref().unwrap_or("");
    if name.starts_with(SYSTEM_PRIORITY_CLASS_PREFIX) {
        if let Some(reason) = system_class_error(name, class.value, class.global_default == Some(true)) {
            let message = format!(
                "priority class names with '{SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only. error: {reason}"
            );
            errors.push(FieldError::forbidden(&FieldPath::new("metadata").child("name"), &message));
        }
    } else if class.value > HIGHEST_USER_DEFINABLE_PRIORITY {
        let message = format!("maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}");
        errors.push(FieldError::forbidden(&FieldPath::new("value"), &message));
    }
    match class.preemption_policy.as_deref() {
        None => {}
        Some("") => errors.push(FieldError::required(&FieldPath::new("preemptionPolicy"), "")),
        Some(policy) if !PREEMPTION_POLICIES.contains(&policy) => {
            errors.push(FieldError::not_supported(&FieldPath::new("preemptionPolicy"), policy, PREEMPTION_POLICIES));
        }
        Some(_) => {}
    }
    errors
}

/// `ValidatePriorityClassUpdate`: value and preemption policy are fixed.
pub fn validate_priority_class_update(new: &PriorityClass, old: &PriorityClass) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if new.value != old.value {
        errors.push(FieldError::forbidden(&FieldPath::new("value"), "may not be changed in an update."));
    }
    immutable(&new.preemption_policy, &old.preemption_policy, &FieldPath::new("preemptionPolicy"), &mut errors);
    errors
}
