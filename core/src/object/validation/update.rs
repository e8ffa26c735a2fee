//! Rules that only apply when an object is replaced: fields that may not change once set
//! (`ValidatePodUpdate`, `ValidateStatefulSetUpdate`, `ValidateJobUpdate`, the apps/v1 selector
//! rule, the Service clusterIP rule).

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, PodSpec, PodTemplateSpec, Service, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::common::immutable;
use crate::object::field_error::{FieldError, FieldPath};

/// Kubernetes' message for a Pod update that changes more than it may.
pub const POD_UPDATE_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";
/// Kubernetes' message for a StatefulSet update that changes more than it may.
pub const STATEFUL_SET_UPDATE_FORBIDDEN: &str = "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

fn spec_path() -> FieldPath {
    FieldPath::new("spec")
}

/// `ValidatePodUpdate`: only images, a shrinking activeDeadlineSeconds and added tolerations may
/// change.
pub fn validate_pod_update(new: &Pod, old: &Pod) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = spec_path();
    let new_spec = new.spec.clone().unwrap_or_default();
    let old_spec = old.spec.clone().unwrap_or_default();
    if new_spec.containers.len() != old_spec.containers.len() {
        errors.push(FieldError::forbidden(&path.child("containers"), "pod updates may not add or remove containers"));
        return errors;
    }
    let deadline_path = path.child("activeDeadlineSeconds");
    match (new_spec.active_deadline_seconds, old_spec.active_deadline_seconds) {
        (Some(new_deadline), _) if !(0..=i64::from(i32::MAX)).contains(&new_deadline) => {
            let message = super::common::inclusive_range_error(0, i64::from(i32::MAX));
            errors.push(FieldError::invalid(&deadline_path, new_deadline, &message));
            return errors;
        }
        (Some(new_deadline), Some(old_deadline)) if old_deadline < new_deadline => {
            errors.push(FieldError::invalid(
                &deadline_path,
                new_deadline,
                "must be less than or equal to previous value",
            ));
            return errors;
        }
        (None, Some(_)) => errors.push(FieldError::invalid(
            &deadline_path,
            serde_json::Value::Null,
            "must not update from a positive integer to nil value",
        )),
        _ => {}
    }
    validate_only_added_tolerations(
        new_spec.tolerations.as_deref().unwrap_or_default(),
        old_spec.tolerations.as_deref().unwrap_or_default(),
        &path.child("tolerations"),
        &mut errors,
    );
    validate_only_removed_scheduling_gates(&new_spec, &old_spec, &path.child("schedulingGates"), &mut errors);
    if munge_pod_spec(&new_spec, &old_spec) != old_spec {
        errors.push(FieldError::forbidden(&path, POD_UPDATE_FORBIDDEN));
    }
    errors
}

/// The new spec with every field that may change set back to its old value.
fn munge_pod_spec(new: &PodSpec, old: &PodSpec) -> PodSpec {
    let mut munged = new.clone();
    for (container, old_container) in munged.containers.iter_mut().zip(&old.containers) {
        container.image.clone_from(&old_container.image);
    }
    if let (Some(init_containers), Some(old_init_containers)) = (&mut munged.init_containers, &old.init_containers) {
        for (container, old_container) in init_containers.iter_mut().zip(old_init_containers) {
            container.image.clone_from(&old_container.image);
        }
    }
    munged.active_deadline_seconds = old.active_deadline_seconds;
    munged.scheduling_gates.clone_from(&old.scheduling_gates);
    munged.tolerations.clone_from(&old.tolerations);
    if old.termination_grace_period_seconds.is_some_and(|seconds| seconds < 0)
        && munged.termination_grace_period_seconds == Some(1)
    {
        munged.termination_grace_period_seconds = old.termination_grace_period_seconds;
    }
    munged
}

/// `validateSchedulingGates` on update: gates may only be removed, never added.
fn validate_only_removed_scheduling_gates(
    new: &PodSpec,
    old: &PodSpec,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let old_gates = old.scheduling_gates.as_deref().unwrap_or_default();
    for gate in new.scheduling_gates.as_deref().unwrap_or_default() {
        if !old_gates.iter().any(|old_gate| old_gate.name == gate.name) {
            let message = format!("only deletion is allowed, but found new scheduling gate '{}'", gate.name);
            errors.push(FieldError::forbidden(path, &message));
        }
    }
}

/// `validateOnlyAddedTolerations`: every old toleration is still there, up to its
/// tolerationSeconds.
fn validate_only_added_tolerations(
    new: &[Toleration],
    old: &[Toleration],
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let kept = |old_toleration: &Toleration| {
        new.iter().any(|new_toleration| {
            let mut clone = old_toleration.clone();
            clone.toleration_seconds = new_toleration.toleration_seconds;
            &clone == new_toleration
        })
    };
    if !old.iter().all(kept) {
        errors
            .push(FieldError::forbidden(path, "existing toleration can not be modified except its tolerationSeconds"));
    }
}

/// apps/v1 Deployments, ReplicaSets and DaemonSets may not change their selector.
pub fn validate_deployment_update(new: &Deployment, old: &Deployment) -> Vec<FieldError> {
    selector_immutable(new, old, |deployment| deployment.spec.as_ref().map(|spec| spec.selector.clone()))
}

/// See [`validate_deployment_update`].
pub fn validate_replica_set_update(new: &ReplicaSet, old: &ReplicaSet) -> Vec<FieldError> {
    selector_immutable(new, old, |replica_set| replica_set.spec.as_ref().map(|spec| spec.selector.clone()))
}

/// See [`validate_deployment_update`].
pub fn validate_daemon_set_update(new: &DaemonSet, old: &DaemonSet) -> Vec<FieldError> {
    selector_immutable(new, old, |daemon_set| daemon_set.spec.as_ref().map(|spec| spec.selector.clone()))
}

fn selector_immutable<T>(new: &T, old: &T, selector: fn(&T) -> Option<LabelSelector>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    immutable(&selector(new), &selector(old), &spec_path().child("selector"), &mut errors);
    errors
}

/// `ValidateStatefulSetUpdate`: only replicas, ordinals, template, updateStrategy,
/// persistentVolumeClaimRetentionPolicy and minReadySeconds may change.
pub fn validate_stateful_set_update(new: &StatefulSet, old: &StatefulSet) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let old_spec = old.spec.clone().unwrap_or_default();
    let mut munged = new.spec.clone().unwrap_or_default();
    munged.replicas = old_spec.replicas;
    munged.ordinals.clone_from(&old_spec.ordinals);
    munged.template.clone_from(&old_spec.template);
    munged.update_strategy.clone_from(&old_spec.update_strategy);
    munged.persistent_volume_claim_retention_policy.clone_from(&old_spec.persistent_volume_claim_retention_policy);
    munged.min_ready_seconds = old_spec.min_ready_seconds;
    if munged != old_spec {
        errors.push(FieldError::forbidden(&spec_path(), STATEFUL_SET_UPDATE_FORBIDDEN));
    }
    errors
}

/// `ValidateJobUpdate`: selector, completion mode, failure policy and the pod template may not
/// change; completions only in tandem with parallelism on Indexed Jobs. A suspended Job that
/// never started may still change its template's labels, annotations and scheduling directives.
pub fn validate_job_update(new: &Job, old: &Job) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = spec_path();
    let new_spec = new.spec.clone().unwrap_or_default();
    let old_spec = old.spec.clone().unwrap_or_default();
    let indexed = new_spec.completion_mode.as_deref() == Some("Indexed");
    if !indexed {
        immutable(&new_spec.completions, &old_spec.completions, &path.child("completions"), &mut errors);
    } else if new_spec.completions != old_spec.completions
        && let Some(completions) = new_spec.completions
        && Some(completions) != new_spec.parallelism
    {
        let message = "can only be modified in tandem with spec.parallelism";
        errors.push(FieldError::invalid(&path.child("completions"), completions, message));
    }
    immutable(&new_spec.selector, &old_spec.selector, &path.child("selector"), &mut errors);
    let never_started = old.status.as_ref().is_none_or(|status| status.start_time.is_none());
    let scheduling_mutable = old_spec.suspend == Some(true) && never_started;
    let old_template =
        if scheduling_mutable { with_scheduling_of(&old_spec.template, &new_spec.template) } else { old_spec.template };
    immutable(&new_spec.template, &old_template, &path.child("template"), &mut errors);
    immutable(&new_spec.completion_mode, &old_spec.completion_mode, &path.child("completionMode"), &mut errors);
    immutable(&new_spec.pod_failure_policy, &old_spec.pod_failure_policy, &path.child("podFailurePolicy"), &mut errors);
    let per_index_path = path.child("backoffLimitPerIndex");
    immutable(&new_spec.backoff_limit_per_index, &old_spec.backoff_limit_per_index, &per_index_path, &mut errors);
    errors
}

/// The old template with the new one's labels, annotations and scheduling directives.
fn with_scheduling_of(old: &PodTemplateSpec, new: &PodTemplateSpec) -> PodTemplateSpec {
    let mut result = old.clone();
    let new_metadata = new.metadata.clone().unwrap_or_default();
    let metadata = result.metadata.get_or_insert_with(Default::default);
    metadata.labels = new_metadata.labels;
    metadata.annotations = new_metadata.annotations;
    if let (Some(spec), Some(new_spec)) = (&mut result.spec, &new.spec) {
        spec.node_selector.clone_from(&new_spec.node_selector);
        spec.affinity.clone_from(&new_spec.affinity);
        spec.tolerations.clone_from(&new_spec.tolerations);
        spec.scheduling_gates.clone_from(&new_spec.scheduling_gates);
    }
    result
}

/// A Service's clusterIP may not change once set, unless the Service is or becomes ExternalName.
/// An empty new clusterIP is accepted: the API server carries the allocated one over.
pub fn validate_service_update(new: &Service, old: &Service) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let new_spec = new.spec.clone().unwrap_or_default();
    let old_spec = old.spec.clone().unwrap_or_default();
    let external_name = |type_: &Option<String>| type_.as_deref() == Some("ExternalName");
    if external_name(&new_spec.type_) || external_name(&old_spec.type_) {
        return errors;
    }
    let new_ip = new_spec.cluster_ip.unwrap_or_default();
    let old_ip = old_spec.cluster_ip.unwrap_or_default();
    if !new_ip.is_empty() && !old_ip.is_empty() && new_ip != old_ip {
        let path = spec_path().child("clusterIPs").index(0);
        errors.push(FieldError::invalid(&path, new_ip, "may not change once set"));
    }
    errors
}
