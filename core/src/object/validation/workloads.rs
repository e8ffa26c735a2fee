//! Deployments, ReplicaSets, StatefulSets, DaemonSets (`pkg/apis/apps/validation`) and
//! ReplicationControllers: replicas, selectors that match their template, strategies, and pod
//! templates that restart `Always`.

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetUpdateStrategy, Deployment, DeploymentStrategy, ReplicaSet, RollingUpdateDaemonSet,
    RollingUpdateDeployment, StatefulSet,
};
use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::common::{
    int_or_percent_value, int_or_string_value, invalid_string_map, nonnegative, not_more_than_100_percent,
    positive_int_or_percent, to_json,
};
use super::meta::{selector_converts, selector_is_empty, selector_matches, validate_label_selector, validate_labels};
use super::pod::{template_labels, validate_pod_template_spec};
use crate::object::field_error::{FieldError, FieldPath};

/// Kubernetes' message when a selector does not select its own template's pods.
pub const SELECTOR_DOES_NOT_MATCH: &str = "`selector` does not match template `labels`";

fn spec_path() -> FieldPath {
    FieldPath::new("spec")
}

/// `ValidateDeploymentSpec`.
pub fn validate_deployment(deployment: &Deployment) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = spec_path();
    let Some(spec) = &deployment.spec else {
        errors.push(FieldError::required(&path, ""));
        return errors;
    };
    nonnegative(i64::from(spec.replicas.unwrap_or(0)), &path.child("replicas"), &mut errors);
    validate_selector(&spec.selector, "deployment", &path.child("selector"), &mut errors);
    if selector_converts(&spec.selector) {
        let template_path = path.child("template");
        validate_template_for_replica_set(&spec.template, &spec.selector, "ReplicaSet", &template_path, &mut errors);
    } else {
        invalid_label_selector(&spec.selector, &path.child("selector"), &mut errors);
    }
    validate_deployment_strategy(spec.strategy.as_ref(), &path.child("strategy"), &mut errors);
    let min_ready_seconds = spec.min_ready_seconds.unwrap_or(0);
    nonnegative(i64::from(min_ready_seconds), &path.child("minReadySeconds"), &mut errors);
    if let Some(limit) = spec.revision_history_limit {
        nonnegative(i64::from(limit), &path.child("revisionHistoryLimit"), &mut errors);
    }
    if let Some(deadline) = spec.progress_deadline_seconds {
        let deadline_path = path.child("progressDeadlineSeconds");
        nonnegative(i64::from(deadline), &deadline_path, &mut errors);
        if deadline <= min_ready_seconds {
            errors.push(FieldError::invalid(&deadline_path, deadline, "must be greater than minReadySeconds"));
        }
    }
    errors
}

/// `ValidateReplicaSetSpec`.
pub fn validate_replica_set(replica_set: &ReplicaSet) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = spec_path();
    let Some(spec) = &replica_set.spec else {
        errors.push(FieldError::required(&path, ""));
        return errors;
    };
    nonnegative(i64::from(spec.replicas.unwrap_or(0)), &path.child("replicas"), &mut errors);
    nonnegative(i64::from(spec.min_ready_seconds.unwrap_or(0)), &path.child("minReadySeconds"), &mut errors);
    // Kubernetes' ReplicaSet validation reuses the Deployment wording here.
    validate_selector(&spec.selector, "deployment", &path.child("selector"), &mut errors);
    if !selector_converts(&spec.selector) {
        invalid_label_selector(&spec.selector, &path.child("selector"), &mut errors);
        return errors;
    }
    match &spec.template {
        None => errors.push(FieldError::required(&path.child("template"), "")),
        Some(template) => validate_template_for_replica_set(
            template,
            &spec.selector,
            "ReplicaSet",
            &path.child("template"),
            &mut errors,
        ),
    }
    errors
}

/// `ValidateReplicationControllerSpec`: the selector is a plain map and must match the template.
pub fn validate_replication_controller(controller: &ReplicationController) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = spec_path();
    let spec = controller.spec.clone().unwrap_or_default();
    nonnegative(i64::from(spec.replicas.unwrap_or(0)), &path.child("replicas"), &mut errors);
    nonnegative(i64::from(spec.min_ready_seconds.unwrap_or(0)), &path.child("minReadySeconds"), &mut errors);
    let selector_map = spec.selector.clone().unwrap_or_default();
    if selector_map.is_empty() {
        errors.push(FieldError::required(&path.child("selector"), ""));
    }
    validate_labels(Some(&selector_map), &path.child("selector"), &mut errors);
    let selector = LabelSelector { match_labels: Some(selector_map), ..Default::default() };
    match &spec.template {
        None => errors.push(FieldError::required(&path.child("template"), "")),
        Some(template) => validate_template_for_replica_set(
            template,
            &selector,
            "ReplicationController",
            &path.child("template"),
            &mut errors,
        ),
    }
    errors
}

/// `ValidateStatefulSetSpec`.
pub fn validate_stateful_set(stateful_set: &StatefulSet) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = spec_path();
    let Some(spec) = &stateful_set.spec else {
        errors.push(FieldError::required(&path, ""));
        return errors;
    };
    match spec.pod_management_policy.as_deref().unwrap_or("") {
        "" => errors.push(FieldError::required(&path.child("podManagementPolicy"), "")),
        "OrderedReady" | "Parallel" => {}
        other => errors.push(FieldError::invalid(
            &path.child("podManagementPolicy"),
            other,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    let strategy = spec.update_strategy.clone().unwrap_or_default();
    let strategy_path = path.child("updateStrategy");
    match strategy.type_.as_deref().unwrap_or("") {
        "" => errors.push(FieldError::required(&strategy_path, "")),
        "OnDelete" => {
            if let Some(rolling_update) = &strategy.rolling_update {
                let message = "only allowed for updateStrategy 'RollingUpdate'";
                errors.push(FieldError::invalid(
                    &strategy_path.child("rollingUpdate"),
                    to_json(rolling_update),
                    message,
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(rolling_update) = &strategy.rolling_update {
                let rolling_path = strategy_path.child("rollingUpdate");
                nonnegative(
                    i64::from(rolling_update.partition.unwrap_or(0)),
                    &rolling_path.child("partition"),
                    &mut errors,
                );
            }
        }
        _ => errors.push(FieldError::invalid(
            &strategy_path,
            to_json(&strategy),
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
    if let Some(policy) = &spec.persistent_volume_claim_retention_policy {
        let policy_path = path.child("persistentVolumeClaimRetentionPolicy");
        for (field, value) in [("whenDeleted", &policy.when_deleted), ("whenScaled", &policy.when_scaled)] {
            let value = value.as_deref().unwrap_or("");
            if !matches!(value, "Retain" | "Delete") {
                errors.push(FieldError::not_supported(&policy_path.child(field), value, &["Retain", "Delete"]));
            }
        }
    }
    nonnegative(i64::from(spec.replicas.unwrap_or(0)), &path.child("replicas"), &mut errors);
    if let Some(ordinals) = &spec.ordinals {
        nonnegative(i64::from(ordinals.start.unwrap_or(0)), &path.child("ordinals").child("start"), &mut errors);
    }
    nonnegative(i64::from(spec.min_ready_seconds.unwrap_or(0)), &path.child("minReadySeconds"), &mut errors);
    validate_selector(&spec.selector, "statefulset", &path.child("selector"), &mut errors);
    let template_path = path.child("template");
    if !selector_is_empty(&spec.selector) && !selector_matches(&spec.selector, template_labels(&spec.template)) {
        let labels_path = template_path.child("metadata").child("labels");
        errors.push(invalid_string_map(&labels_path, template_labels(&spec.template), SELECTOR_DOES_NOT_MATCH));
    }
    // Pods of a StatefulSet also mount the claims made from its volumeClaimTemplates.
    let claim_names: Vec<String> =
        spec.volume_claim_templates.iter().flatten().filter_map(|claim| claim.metadata.name.clone()).collect();
    validate_pod_template_spec(&spec.template, &claim_names, &template_path, &mut errors);
    require_always_restart(&spec.template, "StatefulSet", &template_path, &mut errors);
    errors
}

/// `ValidateDaemonSetSpec`.
pub fn validate_daemon_set(daemon_set: &DaemonSet) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = spec_path();
    let Some(spec) = &daemon_set.spec else {
        errors.push(FieldError::required(&path, ""));
        return errors;
    };
    validate_label_selector(&spec.selector, &path.child("selector"), &mut errors);
    let template_path = path.child("template");
    if !selector_matches(&spec.selector, template_labels(&spec.template)) {
        let labels_path = template_path.child("metadata").child("labels");
        errors.push(invalid_string_map(&labels_path, template_labels(&spec.template), SELECTOR_DOES_NOT_MATCH));
    }
    if selector_is_empty(&spec.selector) {
        let message = "empty selector is invalid for daemonset";
        errors.push(FieldError::invalid(&path.child("selector"), to_json(&spec.selector), message));
    }
    validate_pod_template_spec(&spec.template, &[], &template_path, &mut errors);
    require_always_restart(&spec.template, "DaemonSet", &template_path, &mut errors);
    nonnegative(i64::from(spec.min_ready_seconds.unwrap_or(0)), &path.child("minReadySeconds"), &mut errors);
    validate_daemon_set_update_strategy(spec.update_strategy.as_ref(), &path.child("updateStrategy"), &mut errors);
    if let Some(limit) = spec.revision_history_limit {
        nonnegative(i64::from(limit), &path.child("revisionHistoryLimit"), &mut errors);
    }
    errors
}

/// A selector that does not convert: Kubernetes reports it and skips the template.
fn invalid_label_selector(selector: &LabelSelector, path: &FieldPath, errors: &mut Vec<FieldError>) {
    errors.push(FieldError::invalid(path, to_json(selector), "invalid label selector"));
}

/// A workload selector: its requirements are well-formed and there is at least one.
fn validate_selector(selector: &LabelSelector, kind: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    validate_label_selector(selector, path, errors);
    if selector_is_empty(selector) {
        errors.push(FieldError::invalid(path, to_json(selector), &format!("empty selector is invalid for {kind}")));
    }
}

/// `ValidatePodTemplateSpecForReplicaSet`: the selector matches the template, which restarts
/// `Always` and has no active deadline.
fn validate_template_for_replica_set(
    template: &PodTemplateSpec,
    selector: &LabelSelector,
    kind: &str,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    if !selector_is_empty(selector) && !selector_matches(selector, template_labels(template)) {
        let labels_path = path.child("metadata").child("labels");
        errors.push(invalid_string_map(&labels_path, template_labels(template), SELECTOR_DOES_NOT_MATCH));
    }
    validate_pod_template_spec(template, &[], path, errors);
    require_always_restart(template, kind, path, errors);
}

/// Controllers that keep pods running need `restartPolicy: Always` and no active deadline.
fn require_always_restart(template: &PodTemplateSpec, kind: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let Some(spec) = &template.spec else { return };
    let policy = spec.restart_policy.as_deref().unwrap_or("");
    if policy != "Always" {
        errors.push(FieldError::not_supported(&path.child("spec").child("restartPolicy"), policy, &["Always"]));
    }
    if let Some(seconds) = spec.active_deadline_seconds {
        let deadline_path = path.child("spec").child("activeDeadlineSeconds");
        let message = format!("activeDeadlineSeconds in {kind} is not Supported");
        if kind == "DaemonSet" {
            errors.push(FieldError::invalid(&deadline_path, seconds, &message));
        } else {
            errors.push(FieldError::forbidden(&deadline_path, &message));
        }
    }
}

/// `ValidateDeploymentStrategy`.
fn validate_deployment_strategy(strategy: Option<&DeploymentStrategy>, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let strategy = strategy.cloned().unwrap_or_default();
    match strategy.type_.as_deref().unwrap_or("") {
        "Recreate" => {
            if strategy.rolling_update.is_some() {
                let message = "may not be specified when strategy `type` is 'Recreate'";
                errors.push(FieldError::forbidden(&path.child("rollingUpdate"), message));
            }
        }
        "RollingUpdate" => match &strategy.rolling_update {
            None => errors
                .push(FieldError::required(&path.child("rollingUpdate"), "this should be defaulted and never be nil")),
            Some(rolling_update) => {
                validate_rolling_update_deployment(rolling_update, &path.child("rollingUpdate"), errors)
            }
        },
        other => errors.push(FieldError::not_supported(path, other, &["Recreate", "RollingUpdate"])),
    }
}

/// `ValidateRollingUpdateDeployment`: maxSurge and maxUnavailable are not both zero.
fn validate_rolling_update_deployment(
    rolling_update: &RollingUpdateDeployment,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let (max_unavailable, max_surge) =
        surge_and_unavailable(rolling_update.max_unavailable.as_ref(), rolling_update.max_surge.as_ref(), path, errors);
    let (max_unavailable, max_surge) = (&max_unavailable, &max_surge);
    if int_or_percent_value(max_unavailable) == 0 && int_or_percent_value(max_surge) == 0 {
        errors.push(FieldError::invalid(
            &path.child("maxUnavailable"),
            int_or_string_value(max_unavailable),
            "may not be 0 when `maxSurge` is 0",
        ));
    }
    not_more_than_100_percent(max_unavailable, &path.child("maxUnavailable"), errors);
}

/// `ValidateDaemonSetUpdateStrategy`.
fn validate_daemon_set_update_strategy(
    strategy: Option<&DaemonSetUpdateStrategy>,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let strategy = strategy.cloned().unwrap_or_default();
    match strategy.type_.as_deref().unwrap_or("") {
        "OnDelete" => {}
        "RollingUpdate" => match &strategy.rolling_update {
            None => errors.push(FieldError::required(&path.child("rollingUpdate"), "")),
            Some(rolling_update) => {
                validate_rolling_update_daemon_set(rolling_update, &path.child("rollingUpdate"), errors)
            }
        },
        other => errors.push(FieldError::not_supported(path, other, &["RollingUpdate", "OnDelete"])),
    }
}

/// `ValidateRollingUpdateDaemonSet`: exactly one of maxSurge and maxUnavailable is non-zero.
fn validate_rolling_update_daemon_set(
    rolling_update: &RollingUpdateDaemonSet,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let (max_unavailable, max_surge) =
        surge_and_unavailable(rolling_update.max_unavailable.as_ref(), rolling_update.max_surge.as_ref(), path, errors);
    let (max_unavailable, max_surge) = (&max_unavailable, &max_surge);
    not_more_than_100_percent(max_unavailable, &path.child("maxUnavailable"), errors);
    not_more_than_100_percent(max_surge, &path.child("maxSurge"), errors);
    let has_unavailable = int_or_percent_value(max_unavailable) != 0;
    let has_surge = int_or_percent_value(max_surge) != 0;
    if has_unavailable && has_surge {
        errors.push(FieldError::invalid(
            &path.child("maxSurge"),
            int_or_string_value(max_surge),
            "may not be set when maxUnavailable is non-zero",
        ));
    } else if !has_unavailable && !has_surge {
        errors.push(FieldError::required(&path.child("maxUnavailable"), "cannot be 0 when maxSurge is 0"));
    }
}

/// maxUnavailable and maxSurge (zero when unset), each checked to be a count or a percentage.
fn surge_and_unavailable(
    max_unavailable: Option<&IntOrString>,
    max_surge: Option<&IntOrString>,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) -> (IntOrString, IntOrString) {
    let max_unavailable = max_unavailable.cloned().unwrap_or(IntOrString::Int(0));
    let max_surge = max_surge.cloned().unwrap_or(IntOrString::Int(0));
    positive_int_or_percent(&max_unavailable, &path.child("maxUnavailable"), errors);
    positive_int_or_percent(&max_surge, &path.child("maxSurge"), errors);
    (max_unavailable, max_surge)
}
