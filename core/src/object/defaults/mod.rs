//! Defaulting: fills in the fields Kubernetes fills in when an object is created or updated, so
//! that what coxswain stores and returns matches what Kubernetes would (`SetDefaults_*` in
//! `pkg/apis/{core,apps,batch,autoscaling}/v1*/defaults.go`).
//!
//! Each group of kinds has its own file; every default value is a named constant there. Objects
//! are converted to their typed `k8s_openapi` struct, defaulted, and converted back, so the output
//! comes out in Kubernetes' field order.
//!
//! Not done here, because Kubernetes does it outside defaulting (in the registry strategies and
//! admission plugins): a Job's generated selector and its `batch.kubernetes.io/controller-uid` and
//! `batch.kubernetes.io/job-name` labels, a Namespace's `kubernetes` finalizer, a Pod's
//! `serviceAccountName`, `priority` and default tolerations, and a Service's `clusterIP`.

pub mod apps;
pub mod autoscaling;
pub mod batch;
pub mod limit_range;
pub mod namespace_secret;
pub mod pod;
pub mod scheduling;
pub mod service;
pub mod storage;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::dynamic::{Object, ObjectError};

pub(crate) use pod::volume_source_names;
pub use pod::{default_container, default_pod_spec, default_pod_template_spec, image_pull_policy_for};

/// Fills in the defaults of `object` in place, as Kubernetes does before it validates and stores
/// an object. Kinds without defaults are left unchanged.
///
/// Fails only when the object does not decode as the typed struct of its kind.
pub fn apply_defaults(object: &mut Object) -> Result<(), ObjectError> {
    match (object.api_version.as_str(), object.kind.as_str()) {
        ("v1", "Pod") => with_typed(object, pod::default_pod),
        ("v1", "PodTemplate") => with_typed(object, pod::default_pod_template),
        ("v1", "ReplicationController") => with_typed(object, pod::default_replication_controller),
        ("v1", "Service") => with_typed(object, service::default_service),
        ("v1", "Endpoints") => with_typed(object, service::default_endpoints),
        ("v1", "Namespace") => with_typed(object, namespace_secret::default_namespace),
        ("v1", "Secret") => with_typed(object, namespace_secret::default_secret),
        ("v1", "LimitRange") => with_typed(object, limit_range::default_limit_range),
        ("scheduling.k8s.io/v1", "PriorityClass") => with_typed(object, scheduling::default_priority_class),
        ("v1", "PersistentVolume") => with_typed(object, storage::default_persistent_volume),
        ("v1", "PersistentVolumeClaim") => with_typed(object, storage::default_persistent_volume_claim),
        ("apps/v1", "Deployment") => with_typed(object, apps::default_deployment),
        ("apps/v1", "ReplicaSet") => with_typed(object, apps::default_replica_set),
        ("apps/v1", "StatefulSet") => with_typed(object, apps::default_stateful_set),
        ("apps/v1", "DaemonSet") => with_typed(object, apps::default_daemon_set),
        ("batch/v1", "Job") => with_typed(object, batch::default_job),
        ("batch/v1", "CronJob") => with_typed(object, batch::default_cron_job),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => {
            with_typed(object, autoscaling::default_horizontal_pod_autoscaler_v2)
        }
        ("autoscaling/v1", "HorizontalPodAutoscaler") => {
            with_typed(object, autoscaling::default_horizontal_pod_autoscaler_v1)
        }
        _ => Ok(()),
    }
}

/// Converts `object` to its typed struct, lets `default` fill it in, and stores the result back.
fn with_typed<T: DeserializeOwned + Serialize>(object: &mut Object, default: fn(&mut T)) -> Result<(), ObjectError> {
    let mut typed: T = object.to_typed()?;
    default(&mut typed);
    *object = Object::from_typed(&typed)?;
    Ok(())
}

/// Sets an optional field to `value` when it is unset.
fn set_if_none<T>(field: &mut Option<T>, value: T) {
    if field.is_none() {
        *field = Some(value);
    }
}

/// Sets an optional string field to `value` when it is unset or empty, as Go's `if x == ""` does.
fn set_if_empty(field: &mut Option<String>, value: &str) {
    if field.as_deref().is_none_or(str::is_empty) {
        *field = Some(value.to_string());
    }
}

#[cfg(test)]
mod tests;
