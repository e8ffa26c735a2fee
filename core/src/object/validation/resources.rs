//! Container resource requirements: resource names and quantities, and requests no greater than
//! limits (`ValidateContainerResourceRequirements`, `validateContainerResourceName`).

use k8s_openapi::api::core::v1::ResourceRequirements;

use super::name_rules::is_qualified_name;
use crate::object::field_error::{FieldError, FieldPath};

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

/// `ValidateContainerResourceRequirements`: names of both maps and, per resource, request ≤ limit.
pub fn validate_resource_requirements(
    resources: &ResourceRequirements,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    for (field, map) in [("limits", &resources.limits), ("requests", &resources.requests)] {
        for name in map.iter().flatten().map(|(name, _)| name) {
            validate_container_resource_name(name, &path.child(field).key(name), errors);
        }
    }
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
