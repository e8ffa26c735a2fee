//! Deployment arithmetic and lookups (`pkg/controller/deployment/util`): defaults, maxSurge and
//! maxUnavailable (`ResolveFenceposts`), proportions, the new and old ReplicaSets, annotations,
//! conditions and orderings.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use super::DeploymentError;

/// Label that tells the ReplicaSets of one Deployment apart (`DefaultDeploymentUniqueLabelKey`).
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";
/// The rollout sequence number of a ReplicaSet, and the Deployment's current one.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// Earlier revisions a reused ReplicaSet served, comma-separated.
pub const REVISION_HISTORY_ANNOTATION: &str = "deployment.kubernetes.io/revision-history";
/// `spec.replicas` of the Deployment when the ReplicaSet was last scaled by it.
pub const DESIRED_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/desired-replicas";
/// `spec.replicas + maxSurge` of the Deployment when the ReplicaSet was last scaled by it.
pub const MAX_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/max-replicas";
/// kubectl's record of what changed; copied from Deployment to ReplicaSet like any annotation.
pub const CHANGE_CAUSE_ANNOTATION: &str = "kubernetes.io/change-cause";
/// kubectl apply's annotation, never copied to ReplicaSets.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// extensions/v1beta1's rollback request annotation, never copied.
pub const DEPRECATED_ROLLBACK_TO_ANNOTATION: &str = "deprecated.deployment.rollback.to";

/// Default `spec.replicas`.
pub const DEFAULT_REPLICAS: i32 = 1;
/// Default maxSurge and maxUnavailable of a RollingUpdate: 25 %.
pub const DEFAULT_MAX_SURGE_AND_UNAVAILABLE: &str = "25%";
/// Default `spec.revisionHistoryLimit`.
pub const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;
/// Default `spec.progressDeadlineSeconds`.
pub const DEFAULT_PROGRESS_DEADLINE_SECONDS: i32 = 600;
/// Longest revision-history annotation kept, in characters (`maxRevHistoryLengthInChars`).
pub const MAX_REVISION_HISTORY_CHARS: usize = 2000;

/// Deployment condition reasons (`pkg/controller/deployment/util`).
pub mod reason {
    /// Progressing: a ReplicaSet was scaled as part of the rollout.
    pub const REPLICA_SET_UPDATED: &str = "ReplicaSetUpdated";
    /// Progressing=False: creating the new ReplicaSet failed.
    pub const FAILED_REPLICA_SET_CREATE: &str = "ReplicaSetCreateError";
    /// Progressing: the new ReplicaSet was created.
    pub const NEW_REPLICA_SET_CREATED: &str = "NewReplicaSetCreated";
    /// Progressing: an existing ReplicaSet was found to be the new one.
    pub const FOUND_NEW_REPLICA_SET: &str = "FoundNewReplicaSet";
    /// Progressing: the rollout completed.
    pub const NEW_REPLICA_SET_AVAILABLE: &str = "NewReplicaSetAvailable";
    /// Progressing=False: no progress within progressDeadlineSeconds.
    pub const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";
    /// Progressing=Unknown: the Deployment is paused.
    pub const DEPLOYMENT_PAUSED: &str = "DeploymentPaused";
    /// Progressing=Unknown: the Deployment was resumed.
    pub const DEPLOYMENT_RESUMED: &str = "DeploymentResumed";
    /// Available=True.
    pub const MINIMUM_REPLICAS_AVAILABLE: &str = "MinimumReplicasAvailable";
    /// Available=False.
    pub const MINIMUM_REPLICAS_UNAVAILABLE: &str = "MinimumReplicasUnavailable";
}

/// Condition types of a Deployment.
pub const PROGRESSING: &str = "Progressing";
/// The Deployment has at least `replicas - maxUnavailable` available pods.
pub const AVAILABLE: &str = "Available";
/// A ReplicaSet of the Deployment failed to create or delete pods.
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

/// A Deployment's strategy with Kubernetes' defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub enum Strategy {
    /// Kill all old pods before creating new ones.
    Recreate,
    /// Replace pods gradually within maxSurge and maxUnavailable.
    RollingUpdate {
        /// Pods allowed above `replicas`.
        max_surge: IntOrString,
        /// Pods allowed to be unavailable below `replicas`.
        max_unavailable: IntOrString,
    },
}

/// `spec.replicas`, defaulted.
pub fn deployment_replicas(deployment: &Deployment) -> i32 {
    deployment.spec.as_ref().and_then(|spec| spec.replicas).unwrap_or(DEFAULT_REPLICAS)
}

/// `spec.minReadySeconds`, defaulted.
pub fn min_ready_seconds(deployment: &Deployment) -> i32 {
    deployment.spec.as_ref().and_then(|spec| spec.min_ready_seconds).unwrap_or(0)
}

/// `spec.paused`.
pub fn is_paused(deployment: &Deployment) -> bool {
    deployment.spec.as_ref().and_then(|spec| spec.paused).unwrap_or(false)
}

/// `spec.revisionHistoryLimit`, defaulted.
pub fn revision_history_limit(deployment: &Deployment) -> i32 {
    deployment.spec.as_ref().and_then(|spec| spec.revision_history_limit).unwrap_or(DEFAULT_REVISION_HISTORY_LIMIT)
}

/// `spec.progressDeadlineSeconds`, defaulted; `None` when it is MaxInt32, which means "never"
/// (`HasProgressDeadline`).
pub fn progress_deadline_seconds(deployment: &Deployment) -> Option<i32> {
    let seconds = deployment.spec.as_ref().and_then(|spec| spec.progress_deadline_seconds);
    let seconds = seconds.unwrap_or(DEFAULT_PROGRESS_DEADLINE_SECONDS);
    (seconds != i32::MAX).then_some(seconds)
}

/// The strategy, defaulted as the API server defaults it.
pub fn strategy(deployment: &Deployment) -> Strategy {
    let strategy = deployment.spec.as_ref().and_then(|spec| spec.strategy.as_ref());
    if strategy.and_then(|strategy| strategy.type_.as_deref()) == Some("Recreate") {
        return Strategy::Recreate;
    }
    let rolling = strategy.and_then(|strategy| strategy.rolling_update.as_ref());
    let default = || IntOrString::String(DEFAULT_MAX_SURGE_AND_UNAVAILABLE.to_string());
    Strategy::RollingUpdate {
        max_surge: rolling.and_then(|rolling| rolling.max_surge.clone()).unwrap_or_else(default),
        max_unavailable: rolling.and_then(|rolling| rolling.max_unavailable.clone()).unwrap_or_else(default),
    }
}

/// `intstr.GetScaledValueFromIntOrPercent`: an integer as is, or a percentage of `total`
/// rounded up or down. Exact integer arithmetic where Go rounds a float product.
pub fn value_from_int_or_percent(value: &IntOrString, total: i32, round_up: bool) -> Result<i32, DeploymentError> {
    match value {
        IntOrString::Int(value) => Ok(*value),
        IntOrString::String(text) => {
            let percent: i64 = text
                .strip_suffix('%')
                .and_then(|number| number.parse().ok())
                .ok_or_else(|| DeploymentError::InvalidIntOrPercent { value: text.clone() })?;
            // In i128 and clamped: validation lets a percent up to i64::MAX through.
            let product = i128::from(percent) * i128::from(total);
            let scaled = if round_up {
                product.div_euclid(100) + i128::from(product.rem_euclid(100) != 0)
            } else {
                product.div_euclid(100)
            };
            Ok(scaled.clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32)
        }
    }
}

/// `ResolveFenceposts`: maxSurge rounded up and maxUnavailable rounded down against `desired`;
/// if both come to zero, maxUnavailable becomes 1 so a rollout can still progress.
pub fn resolve_fenceposts(
    max_surge: Option<&IntOrString>,
    max_unavailable: Option<&IntOrString>,
    desired: i32,
) -> Result<(i32, i32), DeploymentError> {
    let zero = IntOrString::Int(0);
    let surge = value_from_int_or_percent(max_surge.unwrap_or(&zero), desired, true)?;
    let mut unavailable = value_from_int_or_percent(max_unavailable.unwrap_or(&zero), desired, false)?;
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    Ok((surge, unavailable))
}

/// `MaxSurge`: zero for Recreate; an invalid value (refused by validation) counts as zero.
pub fn max_surge(deployment: &Deployment) -> i32 {
    match strategy(deployment) {
        Strategy::Recreate => 0,
        Strategy::RollingUpdate { max_surge, max_unavailable } => {
            resolve_fenceposts(Some(&max_surge), Some(&max_unavailable), deployment_replicas(deployment))
                .map_or(0, |(surge, _)| surge)
        }
    }
}

/// `MaxUnavailable`: zero for Recreate or zero replicas, at most `replicas`.
pub fn max_unavailable(deployment: &Deployment) -> i32 {
    let replicas = deployment_replicas(deployment);
    match strategy(deployment) {
        Strategy::Recreate => 0,
        Strategy::RollingUpdate { .. } if replicas == 0 => 0,
        Strategy::RollingUpdate { max_surge, max_unavailable } => {
            resolve_fenceposts(Some(&max_surge), Some(&max_unavailable), replicas)
                .map_or(0, |(_, unavailable)| unavailable.min(replicas))
        }
    }
}

/// `spec.replicas` of a ReplicaSet (defaulted to 1, as the API server does).
pub fn spec_replicas(replica_set: &ReplicaSet) -> i32 {
    replica_set.spec.as_ref().and_then(|spec| spec.replicas).unwrap_or(1)
}

/// Sets `spec.replicas` of a ReplicaSet.
pub fn set_spec_replicas(replica_set: &mut ReplicaSet, replicas: i32) {
    replica_set.spec.get_or_insert_with(Default::default).replicas = Some(replicas);
}

/// `status.availableReplicas` of a ReplicaSet.
pub fn available_replicas(replica_set: &ReplicaSet) -> i32 {
    replica_set.status.as_ref().and_then(|status| status.available_replicas).unwrap_or(0)
}

/// `status.replicas` of a ReplicaSet.
pub fn actual_replicas(replica_set: &ReplicaSet) -> i32 {
    replica_set.status.as_ref().map_or(0, |status| status.replicas)
}

/// `status.readyReplicas` of a ReplicaSet.
pub fn ready_replicas(replica_set: &ReplicaSet) -> i32 {
    replica_set.status.as_ref().and_then(|status| status.ready_replicas).unwrap_or(0)
}

/// Sum of `spec.replicas` (`GetReplicaCountForReplicaSets`).
pub fn replica_count(replica_sets: &[&ReplicaSet]) -> i32 {
    replica_sets.iter().map(|replica_set| spec_replicas(replica_set)).sum()
}

/// ReplicaSets with a non-zero `spec.replicas` (`FilterActiveReplicaSets`).
pub fn filter_active<'a>(replica_sets: &[&'a ReplicaSet]) -> Vec<&'a ReplicaSet> {
    replica_sets.iter().copied().filter(|replica_set| spec_replicas(replica_set) > 0).collect()
}

fn creation(replica_set: &ReplicaSet) -> Option<Timestamp> {
    replica_set.metadata.creation_timestamp.as_ref().map(|time| time.0)
}

fn name(replica_set: &ReplicaSet) -> &str {
    replica_set.metadata.name.as_deref().unwrap_or("")
}

/// `ReplicaSetsByCreationTimestamp`: older first, then by name.
pub fn by_creation_timestamp(left: &ReplicaSet, right: &ReplicaSet) -> Ordering {
    creation(left).cmp(&creation(right)).then_with(|| name(left).cmp(name(right)))
}

/// `ReplicaSetsBySizeNewer`: larger first, newer first among equals.
pub fn by_size_newer(left: &ReplicaSet, right: &ReplicaSet) -> Ordering {
    spec_replicas(right).cmp(&spec_replicas(left)).then_with(|| by_creation_timestamp(right, left))
}

/// `ReplicaSetsBySizeOlder`: larger first, older first among equals.
pub fn by_size_older(left: &ReplicaSet, right: &ReplicaSet) -> Ordering {
    spec_replicas(right).cmp(&spec_replicas(left)).then_with(|| by_creation_timestamp(left, right))
}

/// `ReplicaSetsByRevision`: lower revision first, then by creation.
pub fn by_revision(left: &ReplicaSet, right: &ReplicaSet) -> Ordering {
    let revision = |replica_set: &ReplicaSet| revision(replica_set).unwrap_or(0);
    revision(left).cmp(&revision(right)).then_with(|| by_creation_timestamp(left, right))
}

/// The revision annotation as a number: 0 when absent, `None` when not a number (`Revision`).
pub fn revision(replica_set: &ReplicaSet) -> Option<i64> {
    match replica_set.metadata.annotations.as_ref().and_then(|annotations| annotations.get(REVISION_ANNOTATION)) {
        None => Some(0),
        Some(text) => text.parse().ok(),
    }
}

/// The highest revision among the ReplicaSets, skipping unreadable ones (`MaxRevision`).
pub fn max_revision(replica_sets: &[&ReplicaSet]) -> i64 {
    replica_sets.iter().filter_map(|replica_set| revision(replica_set)).max().unwrap_or(0).max(0)
}

/// An integer annotation of a ReplicaSet.
pub fn int_annotation(replica_set: &ReplicaSet, key: &str) -> Option<i32> {
    replica_set.metadata.annotations.as_ref()?.get(key)?.parse().ok()
}

/// Whether desired-replicas or max-replicas differ from these values.
pub fn replicas_annotations_need_update(replica_set: &ReplicaSet, desired: i32, max: i32) -> bool {
    let annotations = replica_set.metadata.annotations.as_ref();
    let get = |key: &str| annotations.and_then(|annotations| annotations.get(key)).cloned();
    get(DESIRED_REPLICAS_ANNOTATION) != Some(desired.to_string())
        || get(MAX_REPLICAS_ANNOTATION) != Some(max.to_string())
}

/// Sets desired-replicas and max-replicas; true if either changed (`SetReplicasAnnotations`).
pub fn set_replicas_annotations(replica_set: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let annotations = replica_set.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (key, value) in [(DESIRED_REPLICAS_ANNOTATION, desired), (MAX_REPLICAS_ANNOTATION, max)] {
        if annotations.get(key) != Some(&value.to_string()) {
            annotations.insert(key.to_string(), value.to_string());
            changed = true;
        }
    }
    changed
}

/// Annotations the controller owns and so never copies between Deployment and ReplicaSet.
pub fn skip_copy_annotation(key: &str) -> bool {
    matches!(
        key,
        LAST_APPLIED_ANNOTATION
            | REVISION_ANNOTATION
            | REVISION_HISTORY_ANNOTATION
            | DESIRED_REPLICAS_ANNOTATION
            | MAX_REPLICAS_ANNOTATION
            | DEPRECATED_ROLLBACK_TO_ANNOTATION
    )
}

/// `GetProportion`: how many replicas `replica_set` gains (or loses) when the Deployment is
/// resized by `to_add` of which `added` are already handed out.
pub fn get_proportion(replica_set: &ReplicaSet, deployment: &Deployment, to_add: i32, added: i32) -> i32 {
    if spec_replicas(replica_set) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = replica_set_fraction(replica_set, deployment);
    let allowed = to_add - added;
    if to_add > 0 { fraction.min(allowed) } else { fraction.max(allowed) }
}

/// `getReplicaSetFraction`: the ReplicaSet's share of the new size, from the max-replicas
/// annotation (or the Deployment's status.replicas), rounded half away from zero.
fn replica_set_fraction(replica_set: &ReplicaSet, deployment: &Deployment) -> i32 {
    let replicas = spec_replicas(replica_set);
    if deployment_replicas(deployment) == 0 {
        return -replicas;
    }
    let deployment_total = deployment_replicas(deployment).saturating_add(max_surge(deployment));
    let status_replicas = deployment.status.as_ref().and_then(|status| status.replicas).unwrap_or(0);
    let annotated = int_annotation(replica_set, MAX_REPLICAS_ANNOTATION).unwrap_or(status_replicas);
    if annotated == 0 {
        return 0;
    }
    let new_size = f64::from(replicas) * f64::from(deployment_total) / f64::from(annotated);
    new_size.round() as i32 - replicas
}

/// `NewRSNewReplicas`: the size the new ReplicaSet may grow to now.
pub fn new_replica_set_replicas(
    deployment: &Deployment,
    all: &[&ReplicaSet],
    new: &ReplicaSet,
) -> Result<i32, DeploymentError> {
    let replicas = deployment_replicas(deployment);
    match strategy(deployment) {
        Strategy::Recreate => Ok(replicas),
        Strategy::RollingUpdate { max_surge, .. } => {
            let surge = value_from_int_or_percent(&max_surge, replicas, true)?;
            let current = replica_count(all);
            let max_total = replicas.saturating_add(surge);
            if current >= max_total {
                return Ok(spec_replicas(new));
            }
            let scale_up = (max_total - current).min(replicas - spec_replicas(new));
            Ok(spec_replicas(new) + scale_up)
        }
    }
}

/// `IsSaturated`: the new ReplicaSet owns and has available all desired replicas.
pub fn is_saturated(deployment: &Deployment, replica_set: Option<&ReplicaSet>) -> bool {
    let Some(replica_set) = replica_set else { return false };
    let Some(desired) = int_annotation(replica_set, DESIRED_REPLICAS_ANNOTATION) else { return false };
    let replicas = deployment_replicas(deployment);
    spec_replicas(replica_set) == replicas && desired == replicas && available_replicas(replica_set) == replicas
}

/// `EqualIgnoreHash`: templates equal once pod-template-hash is removed, with empty and
/// missing lists and maps treated alike (as Kubernetes' semantic equality does).
pub fn equal_ignore_hash(left: &PodTemplateSpec, right: &PodTemplateSpec) -> bool {
    comparable_template(left) == comparable_template(right)
}

fn comparable_template(template: &PodTemplateSpec) -> Value {
    let mut template = template.clone();
    if let Some(labels) = template.metadata.as_mut().and_then(|metadata| metadata.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH_LABEL);
    }
    let mut value = serde_json::to_value(&template).unwrap_or(Value::Null);
    drop_empty(&mut value);
    value
}

/// Removes nulls and empty arrays and objects, recursively.
fn drop_empty(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.values_mut().for_each(drop_empty);
            map.retain(|_, value| !is_empty(value));
        }
        Value::Array(items) => items.iter_mut().for_each(drop_empty),
        _ => {}
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// The Deployment's pod template.
pub fn template(deployment: &Deployment) -> PodTemplateSpec {
    deployment.spec.as_ref().map(|spec| spec.template.clone()).unwrap_or_default()
}

/// The ReplicaSet's pod template.
pub fn replica_set_template(replica_set: &ReplicaSet) -> PodTemplateSpec {
    replica_set.spec.as_ref().and_then(|spec| spec.template.clone()).unwrap_or_default()
}

/// `FindNewReplicaSet`: the oldest ReplicaSet whose template equals the Deployment's.
pub fn find_new_replica_set<'a>(deployment: &Deployment, replica_sets: &[&'a ReplicaSet]) -> Option<&'a ReplicaSet> {
    let mut sorted = replica_sets.to_vec();
    sorted.sort_by(|left, right| by_creation_timestamp(left, right));
    let wanted = template(deployment);
    sorted.into_iter().find(|replica_set| equal_ignore_hash(&replica_set_template(replica_set), &wanted))
}

/// `FindOldReplicaSets`: every ReplicaSet but the new one, and those of them with pods wanted.
pub fn find_old_replica_sets<'a>(
    deployment: &Deployment,
    replica_sets: &[&'a ReplicaSet],
) -> (Vec<&'a ReplicaSet>, Vec<&'a ReplicaSet>) {
    let new_uid = find_new_replica_set(deployment, replica_sets).map(|new| new.metadata.uid.clone());
    let all_old: Vec<&ReplicaSet> =
        replica_sets.iter().copied().filter(|replica_set| Some(replica_set.metadata.uid.clone()) != new_uid).collect();
    (filter_active(&all_old), all_old)
}

/// The condition of a type, if present.
pub fn condition<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    status.conditions.iter().flatten().find(|condition| condition.type_ == type_)
}

/// `NewDeploymentCondition`: both times `now`.
pub fn new_condition(type_: &str, status: &str, reason: &str, message: &str, now: Timestamp) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

/// `SetDeploymentCondition`: no change when status and reason are the same; the transition
/// time is kept when only the reason changes; the condition moves to the end.
pub fn set_condition(status: &mut DeploymentStatus, mut condition: DeploymentCondition) {
    if let Some(current) = self::condition(status, &condition.type_) {
        if current.status == condition.status && current.reason == condition.reason {
            return;
        }
        if current.status == condition.status {
            condition.last_transition_time = current.last_transition_time.clone();
        }
    }
    remove_condition(status, &condition.type_);
    status.conditions.get_or_insert_with(Vec::new).push(condition);
}

/// `RemoveDeploymentCondition`.
pub fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(conditions) = status.conditions.as_mut() {
        conditions.retain(|condition| condition.type_ != type_);
        if conditions.is_empty() {
            status.conditions = None;
        }
    }
}

#[cfg(test)]
mod tests;
