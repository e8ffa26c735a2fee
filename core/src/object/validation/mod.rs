//! Validation: what Kubernetes' API server checks before it stores an object, with its field
//! paths and messages (`pkg/apis/core/validation`, `pkg/apis/apps/validation`,
//! `pkg/apis/batch/validation`, `pkg/apis/autoscaling/validation`, `pkg/apis/policy/validation`,
//! `pkg/apis/networking/validation`, `pkg/apis/rbac/validation`, `pkg/apis/discovery/validation`,
//! `pkg/apis/storage/validation`, `pkg/apis/scheduling/validation`,
//! `pkg/apis/coordination/validation`).
//!
//! Objects are expected to be defaulted first (`crate::object::defaults::apply_defaults`), as the
//! API server does; undefaulted objects get `Required value` errors for the defaulted fields.
//! Kinds without rules of their own get the metadata checks only.

pub mod autoscaling;
pub mod batch;
pub mod batch_policies;
pub mod cluster;
pub mod common;
pub mod config;
pub mod coordination;
pub mod discovery;
pub mod meta;
pub mod name_rules;
pub mod network;
pub mod networking;
pub mod node;
pub mod pod;
pub mod pod_scheduling;
pub mod pod_security;
pub mod policy;
pub mod rbac;
pub mod resources;
pub mod scheduling;
pub mod service;
pub mod storage;
pub mod update;
pub mod workloads;

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::object::dynamic::{Object, ObjectError};
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
        ("v1", "ConfigMap") => typed_pair(old, new, config::validate_config_map_update),
        ("v1", "Secret") => typed_pair(old, new, config::validate_secret_update),
        ("v1", "Node") => typed_pair(old, new, cluster::validate_node_update),
        ("v1", "PersistentVolumeClaim") => typed_pair(old, new, storage::validate_persistent_volume_claim_update),
        ("storage.k8s.io/v1", "StorageClass") => typed_pair(old, new, storage::validate_storage_class_update),
        ("networking.k8s.io/v1", "IngressClass") => typed_pair(old, new, networking::validate_ingress_class_update),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => typed_pair(old, new, rbac::validate_role_binding_update),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            typed_pair(old, new, rbac::validate_cluster_role_binding_update)
        }
        ("discovery.k8s.io/v1", "EndpointSlice") => typed_pair(old, new, discovery::validate_endpoint_slice_update),
        ("scheduling.k8s.io/v1", "PriorityClass") => typed_pair(old, new, scheduling::validate_priority_class_update),
        ("node.k8s.io/v1", "RuntimeClass") => typed_pair(old, new, node::validate_runtime_class_update),
        _ => Vec::new(),
    };
    errors.extend(update_errors);
    errors
}

/// The checks of an object's own kind, beyond its metadata.
fn validate_kind(object: &Object) -> Vec<FieldError> {
    match (object.api_version.as_str(), object.kind.as_str()) {
        ("v1", "Pod") => pod_spec(object),
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
        ("v1", "ConfigMap") => typed(object, config::validate_config_map),
        ("v1", "Secret") => typed(object, config::validate_secret),
        ("v1", "Node") => typed(object, cluster::validate_node),
        ("v1", "Namespace") => typed(object, cluster::validate_namespace),
        ("v1", "PersistentVolume") => typed(object, storage::validate_persistent_volume),
        ("v1", "PersistentVolumeClaim") => typed(object, storage::validate_persistent_volume_claim),
        ("v1", "Endpoints") => typed(object, discovery::validate_endpoints),
        ("storage.k8s.io/v1", "StorageClass") => typed(object, storage::validate_storage_class),
        ("networking.k8s.io/v1", "Ingress") => typed(object, networking::validate_ingress),
        ("networking.k8s.io/v1", "IngressClass") => typed(object, networking::validate_ingress_class),
        ("networking.k8s.io/v1", "NetworkPolicy") => typed(object, networking::validate_network_policy),
        ("rbac.authorization.k8s.io/v1", "Role") => typed(object, rbac::validate_role),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => typed(object, rbac::validate_cluster_role),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => typed(object, rbac::validate_role_binding),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => typed(object, rbac::validate_cluster_role_binding),
        ("discovery.k8s.io/v1", "EndpointSlice") => typed(object, discovery::validate_endpoint_slice),
        ("coordination.k8s.io/v1", "Lease") => typed(object, coordination::validate_lease),
        ("scheduling.k8s.io/v1", "PriorityClass") => typed(object, scheduling::validate_priority_class),
        ("node.k8s.io/v1", "RuntimeClass") => typed(object, node::validate_runtime_class),
        _ => Vec::new(),
    }
}

/// A Pod's own checks ([`pod::validate_pod`]) read only its spec, so only the spec is decoded:
/// the Pod create path decodes every Pod here once more, and the metadata's JSON round trip
/// and the status were a third of that.
fn pod_spec(object: &Object) -> Vec<FieldError> {
    let path = FieldPath::new("spec");
    let Some(spec) = object.fields.get("spec").filter(|spec| !spec.is_null()) else {
        return vec![FieldError::required(&path, "")];
    };
    match PodSpec::deserialize(spec) {
        Ok(spec) => {
            let mut errors = Vec::new();
            pod::validate_pod_spec(&spec, &[], &path, &mut errors);
            errors
        }
        Err(source) => {
            let error = ObjectError::Typed { kind: object.kind.clone(), source };
            vec![FieldError::type_invalid(&FieldPath::root(), &error.to_string())]
        }
    }
}

fn typed<T>(object: &Object, validate: fn(&T) -> Vec<FieldError>) -> Vec<FieldError>
where
    T: DeserializeOwned + k8s_openapi::Metadata<Ty = ObjectMeta>,
{
    match object.to_typed_without_metadata::<T>() {
        Ok(mut typed) => {
            *typed.metadata_mut() = without_managed_fields(&object.metadata);
            validate(&typed)
        }
        Err(error) => vec![FieldError::type_invalid(&FieldPath::root(), &error.to_string())],
    }
}

/// A copy of `metadata` without `managedFields`: no kind's checks read them (the metadata's own
/// checks run on the object), and they are most of a Lease's metadata.
fn without_managed_fields(metadata: &ObjectMeta) -> ObjectMeta {
    let ObjectMeta {
        annotations,
        creation_timestamp,
        deletion_grace_period_seconds,
        deletion_timestamp,
        finalizers,
        generate_name,
        generation,
        labels,
        managed_fields: _,
        name,
        namespace,
        owner_references,
        resource_version,
        self_link,
        uid,
    } = metadata;
    ObjectMeta {
        annotations: annotations.clone(),
        creation_timestamp: creation_timestamp.clone(),
        deletion_grace_period_seconds: *deletion_grace_period_seconds,
        deletion_timestamp: deletion_timestamp.clone(),
        finalizers: finalizers.clone(),
        generate_name: generate_name.clone(),
        generation: *generation,
        labels: labels.clone(),
        managed_fields: None,
        name: name.clone(),
        namespace: namespace.clone(),
        owner_references: owner_references.clone(),
        resource_version: resource_version.clone(),
        self_link: self_link.clone(),
        uid: uid.clone(),
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
