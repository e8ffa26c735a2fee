//! Container resource requirements: resource names and quantities, and requests no greater than
//! limits (`ValidateContainerResourceRequirements`, `validateContainerResourceName`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KubernetesQuantity;

use super::name_rules::is_qualified_name;
use crate::object::field_error::{FieldError, FieldPath};
use crate::object::quantity::Quantity;

/// Resource names Kubernetes knows without a domain prefix (`IsStandardResourceName`).
pub const STANDARD_RESOURCE_NAMES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];
/// Resources a container may request without a domain prefix, besides `hugepages-<size>`.
pub const STANDARD_CONTAINER_RESOURCE_NAMES: &[&str] = &["cpu", "memory", "ephemeral-storage"];
/// The prefix of huge page resources (`hugepages-2Mi`).
pub const HUGE_PAGES_PREFIX: &str = "hugepages-";
/// The prefix quota puts before a resource name to count requests of it.
pub const REQUESTS_PREFIX: &str = "requests.";

/// `ValidateContainerResourceRequirements`: names and quantities of both maps and, per resource,
/// a request no greater than its limit (equal to it for resources that cannot be overcommitted).
pub fn validate_resource_requirements(
    resources: &ResourceRequirements,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let limits_path = path.child("limits");
    let requests_path = path.child("requests");
    let mut limits = BTreeMap::new();
    for (name, quantity) in resources.limits.iter().flatten() {
        let entry_path = limits_path.key(name);
        validate_container_resource_name(name, &entry_path, errors);
        if let Some(quantity) = validate_quantity(name, quantity, &entry_path, errors) {
            limits.insert(name.as_str(), quantity);
        }
    }
    for (name, quantity) in resources.requests.iter().flatten() {
        let entry_path = requests_path.key(name);
        validate_container_resource_name(name, &entry_path, errors);
        let Some(request) = validate_quantity(name, quantity, &entry_path, errors) else { continue };
        match limits.get(name.as_str()) {
            Some(limit) if request != *limit && !is_overcommit_allowed(name) => {
                let message = format!("must be equal to {name} limit of {limit}");
                errors.push(FieldError::invalid(&requests_path, request.to_string(), &message));
            }
            Some(limit) if request > *limit => {
                let message = format!("must be less than or equal to {name} limit of {limit}");
                errors.push(FieldError::invalid(&requests_path, request.to_string(), &message));
            }
            Some(_) => {}
            None if !is_overcommit_allowed(name) => {
                errors.push(FieldError::required(&limits_path, "Limit must be set for non overcommitable resources"));
            }
            None => {}
        }
    }
}

/// `ValidateResourceQuantityValue`: parses, is not negative, and is whole for extended resources.
fn validate_quantity(
    name: &str,
    quantity: &KubernetesQuantity,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) -> Option<Quantity> {
    let parsed = match Quantity::try_from(quantity) {
        Ok(parsed) => parsed,
        Err(error) => {
            errors.push(FieldError::invalid(path, quantity.0.as_str(), &error.to_string()));
            return None;
        }
    };
    if parsed < Quantity::ZERO {
        errors.push(FieldError::invalid(path, parsed.to_string(), "must be greater than or equal to 0"));
    }
    if is_extended_resource_name(name) && parsed.milli_value() % 1000 != 0 {
        errors.push(FieldError::invalid(path, parsed.to_string(), "must be an integer"));
    }
    Some(parsed)
}

/// `IsOvercommitAllowed`: native resources other than huge pages may be requested below their limit.
fn is_overcommit_allowed(name: &str) -> bool {
    is_native_resource(name) && !name.starts_with(HUGE_PAGES_PREFIX)
}

fn is_standard_resource_name(name: &str) -> bool {
    STANDARD_RESOURCE_NAMES.contains(&name)
        || name.starts_with(HUGE_PAGES_PREFIX)
        || name.strip_prefix(REQUESTS_PREFIX).is_some_and(|rest| rest.starts_with(HUGE_PAGES_PREFIX))
}

fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn is_extended_resource_name(name: &str) -> bool {
    !is_native_resource(name)
        && !name.starts_with(REQUESTS_PREFIX)
        && is_qualified_name(&format!("{REQUESTS_PREFIX}{name}")).is_empty()
}

/// `validateResourceName` then `validateContainerResourceName`.
fn validate_container_resource_name(name: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let messages = is_qualified_name(name);
    let qualified = messages.is_empty();
    for message in messages {
        errors.push(FieldError::invalid(path, name, &message));
    }
    let unprefixed = !name.contains('/');
    if qualified && unprefixed && !is_standard_resource_name(name) {
        errors.push(FieldError::invalid(path, name, "must be a standard resource type or fully qualified"));
    }
    if unprefixed {
        if !STANDARD_CONTAINER_RESOURCE_NAMES.contains(&name) && !name.starts_with(HUGE_PAGES_PREFIX) {
            errors.push(FieldError::invalid(path, name, "must be a standard resource for containers"));
        }
    } else if !is_native_resource(name) && !is_extended_resource_name(name) {
        errors.push(FieldError::invalid(path, name, "doesn't follow extended resource name standard"));
    }
}
