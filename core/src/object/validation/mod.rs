//! Validation: what Kubernetes' API server checks before it stores an object, with its field
//! paths and messages (`pkg/apis/core/validation`, `pkg/apis/apps/validation`,
//! `pkg/apis/batch/validation`, `pkg/apis/autoscaling/validation`, `pkg/apis/policy/validation`).
//!
//! Objects are expected to be defaulted first (`crate::object::defaults::apply_defaults`), as the
//! API server does; undefaulted objects get `Required value` errors for the defaulted fields.
//! Kinds without rules of their own get the metadata checks only.

pub mod autoscaling;
pub mod batch;
pub mod common;
pub mod meta;
pub mod name_rules;
pub mod pod;
pub mod policy;
pub mod resources;
pub mod service;
pub mod update;
pub mod workloads;

use serde::de::DeserializeOwned;

use crate::object::dynamic::Object;
use crate::object::field_error::{FieldError, FieldPath};

/// Everything wrong with an object that is about to be created, in Kubernetes' order
/// (metadata first, then the spec). Empty when the object is valid.
pub fn validate_create(object: &Object) -> Vec<FieldError> {
    let namespaced = meta::is_namespaced(&object.api_version, &object.kind);
    let name_rule = meta::name_rule_for_kind(&object.kind);
    let mut errors = meta::validate_object_meta(&object.metadata, namespaced, name_rule, &FieldPath::new("metadata"));
    errors.extend(validate_kind(object));
    errors
}

/// Everything wrong with replacing `old` by `new`: identity fields that changed, the new
/// object's own problems, and fields of its kind that may not change.
pub fn validate_update(old: &Object, new: &Object) -> Vec<FieldError> {
    let metadata_path = FieldPath::new("metadata");
    let mut errors = meta::validate_object_meta_update(&new.metadata, &old.metadata, &metadata_path);
    errors.extend(validate_kind(new));
    if old.api_version != new.api_version || old.kind != new.kind {
        return errors;
    }
    let update_errors = match (new.api_version.as_str(), new.kind.as_str()) {
        ("v1", "Pod") => typed_pair(old, new, update::validate_pod_update),
        ("v1", "Service") => typed_pair(old, new, update::validate_service_update),
        ("apps/v1", "Deployment") => typed_pair(old, new, update::validate_deployment_update),
        ("apps/v1", "ReplicaSet") => typed_pair(old, new, update::validate_replica_set_update),
        ("apps/v1", "DaemonSet") => typed_pair(old, new, update::validate_daemon_set_update),
        ("apps/v1", "StatefulSet") => typed_pair(old, new, update::validate_stateful_set_update),
        ("batch/v1", "Job") => typed_pair(old, new, update::validate_job_update),
        _ => Vec::new(),
    };
    errors.extend(update_errors);
    errors
}

/// The checks of an object's own kind, beyond its metadata.
fn validate_kind(object: &Object) -> Vec<FieldError> {
    match (object.api_version.as_str(), object.kind.as_str()) {
        ("v1", "Pod") => typed(object, pod::validate_pod),
        ("v1", "ReplicationController") => typed(object, workloads::validate_replication_controller),
        ("v1", "Service") => typed(object, service::validate_service),
        ("apps/v1", "Deployment") => typed(object, workloads::validate_deployment),
        ("apps/v1", "ReplicaSet") => typed(object, workloads::validate_replica_set),
        ("apps/v1", "StatefulSet") => typed(object, workloads::validate_stateful_set),
        ("apps/v1", "DaemonSet") => typed(object, workloads::validate_daemon_set),
        ("batch/v1", "Job") => typed(object, batch::validate_job),
        ("batch/v1", "CronJob") => typed(object, batch::validate_cron_job),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => {
            typed(object, autoscaling::validate_horizontal_pod_autoscaler_v2)
        }
        ("autoscaling/v1", "HorizontalPodAutoscaler") => {
            typed(object, autoscaling::validate_horizontal_pod_autoscaler_v1)
        }
        ("policy/v1", "PodDisruptionBudget") => typed(object, policy::validate_pod_disruption_budget),
        _ => Vec::new(),
    }
}

fn typed<T: DeserializeOwned>(object: &Object, validate: fn(&T) -> Vec<FieldError>) -> Vec<FieldError> {
    match object.to_typed::<T>() {
        Ok(typed) => validate(&typed),
        Err(error) => vec![FieldError::type_invalid(&FieldPath::root(), &error.to_string())],
    }
}

fn typed_pair<T: DeserializeOwned>(
    old: &Object,
    new: &Object,
    validate: fn(&T, &T) -> Vec<FieldError>,
) -> Vec<FieldError> {
    match (old.to_typed::<T>(), new.to_typed::<T>()) {
        (Ok(old), Ok(new)) => validate(&new, &old),
        (Err(error), _) | (_, Err(error)) => vec![FieldError::type_invalid(&FieldPath::root(), &error.to_string())],
    }
}

#[cfg(test)]
mod tests;
