//! coordination.k8s.io Leases (`ValidateLeaseSpec` in `pkg/apis/coordination/validation`).

use k8s_openapi::api::coordination::v1::Lease;

use super::name_rules::is_qualified_name;
use crate::object::field_error::{FieldError, FieldPath};

/// Strategies a Lease may name for coordinated leader election.
pub const COORDINATED_LEASE_STRATEGIES: &[&str] = &["OldestEmulationVersion"];

/// `ValidateLeaseSpec`: a positive duration, non-negative transitions, and a preferred holder
/// only with a strategy.
pub fn validate_lease(lease: &Lease) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let Some(spec) = &lease.spec else { return errors };
    let path = FieldPath::new("spec");
    if let Some(seconds) = spec.lease_duration_seconds.filter(|seconds| *seconds <= 0) {
        errors.push(FieldError::invalid(&path.child("leaseDurationSeconds"), seconds, "must be greater than 0"));
    }
    if let Some(transitions) = spec.lease_transitions.filter(|transitions| *transitions < 0) {
        let message = "must be greater than or equal to 0";
        errors.push(FieldError::invalid(&path.child("leaseTransitions"), transitions, message));
    }
    let strategy = spec.strategy.as_deref();
    match strategy {
        Some("") => errors.push(FieldError::required(&path.child("strategy"), "")),
        // A strategy of one's own is a qualified name with a prefix; unprefixed ones are Kubernetes'.
        Some(name) if name.contains('/') => {
            for message in is_qualified_name(name) {
                errors.push(FieldError::invalid(&path.child("strategy"), name, &message));
            }
        }
        Some(name) if !COORDINATED_LEASE_STRATEGIES.contains(&name) => {
            errors.push(FieldError::not_supported(&path.child("strategy"), name, COORDINATED_LEASE_STRATEGIES));
        }
        _ => {}
    }
    let preferred = spec.preferred_holder.as_deref().unwrap_or("");
    if !preferred.is_empty() && strategy.is_none_or(str::is_empty) {
        errors.push(FieldError::forbidden(
            &path.child("preferredHolder"),
            "may only be specified if `strategy` is defined",
        ));
    }
    errors
}
