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
    let (api_version, kind) = (object.api_version.clone(), object.kind.clone());
    with_defaulter(&api_version, &kind, DefaultObject(object)).unwrap_or(Ok(()))
}

/// Fills in the defaults of a typed object in place: [`apply_defaults`] for a struct already
/// decoded, so that the API server's decoder converts a request body to the typed struct once.
pub fn apply_defaults_typed<T: k8s_openapi::Resource + 'static>(typed: &mut T) {
    with_defaulter(T::API_VERSION, T::KIND, DefaultTyped(typed));
}

/// What to do with the defaulting function of one kind, whose typed struct is `T`.
trait DefaulterUse {
    type Output;
    fn apply<T: DeserializeOwned + Serialize + 'static>(self, default: fn(&mut T)) -> Self::Output;
}

/// Hands the defaulting function of the kind `api_version`/`kind` to `user`; `None` for kinds
/// without defaults. The one table of which kinds have defaults.
fn with_defaulter<U: DefaulterUse>(api_version: &str, kind: &str, user: U) -> Option<U::Output> {
    let output = match (api_version, kind) {
        ("v1", "Pod") => user.apply(pod::default_pod),
        ("v1", "PodTemplate") => user.apply(pod::default_pod_template),
        ("v1", "ReplicationController") => user.apply(pod::default_replication_controller),
        ("v1", "Service") => user.apply(service::default_service),
        ("v1", "Endpoints") => user.apply(service::default_endpoints),
        ("v1", "Namespace") => user.apply(namespace_secret::default_namespace),
        ("v1", "Secret") => user.apply(namespace_secret::default_secret),
        ("v1", "LimitRange") => user.apply(limit_range::default_limit_range),
        ("scheduling.k8s.io/v1", "PriorityClass") => user.apply(scheduling::default_priority_class),
        ("v1", "PersistentVolume") => user.apply(storage::default_persistent_volume),
        ("v1", "PersistentVolumeClaim") => user.apply(storage::default_persistent_volume_claim),
        ("apps/v1", "Deployment") => user.apply(apps::default_deployment),
        ("apps/v1", "ReplicaSet") => user.apply(apps::default_replica_set),
        ("apps/v1", "StatefulSet") => user.apply(apps::default_stateful_set),
        ("apps/v1", "DaemonSet") => user.apply(apps::default_daemon_set),
        ("batch/v1", "Job") => user.apply(batch::default_job),
        ("batch/v1", "CronJob") => user.apply(batch::default_cron_job),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => user.apply(autoscaling::default_horizontal_pod_autoscaler_v2),
        ("autoscaling/v1", "HorizontalPodAutoscaler") => user.apply(autoscaling::default_horizontal_pod_autoscaler_v1),
        _ => return None,
    };
    Some(output)
}

/// Converts an [`Object`] to its typed struct, lets the kind's defaulting fill it in, and stores
/// the result back.
struct DefaultObject<'o>(&'o mut Object);

impl DefaulterUse for DefaultObject<'_> {
    type Output = Result<(), ObjectError>;

    fn apply<T: DeserializeOwned + Serialize + 'static>(self, default: fn(&mut T)) -> Result<(), ObjectError> {
        let mut typed: T = self.0.to_typed()?;
        default(&mut typed);
        *self.0 = Object::from_typed(&typed)?;
        Ok(())
    }
}

/// Defaults a struct already typed; the table names the struct by its kind, so the types agree.
struct DefaultTyped<'t, S>(&'t mut S);

impl<S: 'static> DefaulterUse for DefaultTyped<'_, S> {
    type Output = ();

    fn apply<T: DeserializeOwned + Serialize + 'static>(self, default: fn(&mut T)) {
        let typed = (self.0 as &mut dyn std::any::Any).downcast_mut::<T>();
        default(typed.expect("the defaulting table names each kind by its own typed struct"));
    }
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
