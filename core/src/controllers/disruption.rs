//! The disruption controller: keeps a PodDisruptionBudget's status (expectedPods,
//! currentHealthy, desiredHealthy, disruptionsAllowed, disruptedPods, observedGeneration and the
//! `DisruptionAllowed` condition) true to the pods it selects, which is what the `eviction`
//! subresource reads and decrements.
//!
//! Its second queue, by pod, resets a `DisruptionTarget` condition that went stale on a pod
//! nobody deleted ([`stale_condition`]).
//!
//! Not done, deliberately: the `NoPods`, `UnmanagedPods` and `NotDeleted` events, which
//! Kubernetes records on every sync; a level-triggered reconcile would repeat them each time.

pub mod stale_condition;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::action::{Action, Reconciled, to_object};
use super::deployment::util::value_from_int_or_percent;
use super::owner::controller_of;
use super::pods::is_pod_ready;
use crate::object::Object;
use crate::object::kinds;
use crate::selector::LabelSelector;

/// How long a pod the eviction subresource recorded in `disruptedPods` is expected to take to
/// be deleted; after that it counts again (`DeletionTimeout`, 2 minutes).
pub const DELETION_TIMEOUT: Duration = Duration::from_secs(2 * 60);

/// The condition type the controller maintains.
pub const DISRUPTION_ALLOWED_CONDITION: &str = "DisruptionAllowed";
/// Reason: disruptions are allowed.
pub const SUFFICIENT_PODS_REASON: &str = "SufficientPods";
/// Reason: no disruption is allowed.
pub const INSUFFICIENT_PODS_REASON: &str = "InsufficientPods";
/// Reason: the status could not be computed.
pub const SYNC_FAILED_REASON: &str = "SyncFailed";

/// Why a budget's expected pod count could not be computed (reported as `SyncFailed`).
#[derive(Debug, thiserror::Error)]
pub enum DisruptionError {
    /// `spec.selector` is not a valid label selector.
    #[error("{source}")]
    InvalidSelector {
        /// What is wrong with it.
        #[source]
        source: crate::selector::SelectorError,
    },
    /// A selected pod's controller was not observed or has no scale.
    #[error("found no controllers for pod {pod:?}")]
    NoControllers {
        /// The pod's name.
        pod: String,
    },
    /// `minAvailable` or `maxUnavailable` is a string that is not a percentage.
    #[error("invalid value for IntOrString: {source}")]
    InvalidIntOrPercent {
        /// The parse failure.
        #[source]
        source: super::deployment::DeploymentError,
    },
}

/// Reconciles one PodDisruptionBudget (`sync` and `trySync`). `pods` are the pods observed in
/// its namespace; `controllers` the observed workload objects (Deployments, ReplicaSets,
/// ReplicationControllers, StatefulSets, …) whose scale makes up `expectedPods` when the budget
/// is a percentage or `maxUnavailable`.
pub fn reconcile_disruption_budget(
    budget: &PodDisruptionBudget,
    pods: &[Pod],
    controllers: &[Object],
    now: Timestamp,
) -> Reconciled {
    let mut reconciled = Reconciled::default();
    let status = match compute_status(budget, pods, controllers, now) {
        Ok((status, recheck)) => {
            if let Some(recheck) = recheck {
                reconciled.requeue_after = Some(Duration::try_from(recheck.duration_since(now)).unwrap_or_default());
            }
            status
        }
        Err(error) => fail_safe(budget, &error, now),
    };
    if budget.status.as_ref() != Some(&status) {
        let mut updated = budget.clone();
        updated.status = Some(status);
        reconciled.push_alone(Action::UpdateStatus { object: to_object(&updated) });
    }
    reconciled
}

/// The status `updatePdbStatus` would write, or the observed status when nothing changed, and
/// when to look again for a disrupted pod that should be gone by then.
fn compute_status(
    budget: &PodDisruptionBudget,
    pods: &[Pod],
    controllers: &[Object],
    now: Timestamp,
) -> Result<(PodDisruptionBudgetStatus, Option<Timestamp>), DisruptionError> {
    let namespace = budget.metadata.namespace.as_deref();
    let spec = budget.spec.clone().unwrap_or_default();
    let selector = LabelSelector::from_label_selector(spec.selector.as_ref())
        .map_err(|source| DisruptionError::InvalidSelector { source })?;
    let selected: Vec<&Pod> = pods
        .iter()
        .filter(|pod| pod.metadata.namespace.as_deref() == namespace)
        .filter(|pod| selector.matches_optional(pod.metadata.labels.as_ref()))
        .collect();
    let (expected_pods, desired_healthy) = if let Some(max_unavailable) = &spec.max_unavailable {
        let expected = expected_scale(&selected, controllers)?;
        let unavailable = value_from_int_or_percent(max_unavailable, expected, true)
            .map_err(|source| DisruptionError::InvalidIntOrPercent { source })?;
        (expected, expected.saturating_sub(unavailable).max(0))
    } else {
        match &spec.min_available {
            Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(count)) => {
                (selected.len() as i32, *count)
            }
            Some(percent) => {
                let expected = expected_scale(&selected, controllers)?;
                let minimum = value_from_int_or_percent(percent, expected, true)
                    .map_err(|source| DisruptionError::InvalidIntOrPercent { source })?;
                (expected, minimum)
            }
            None => (0, 0),
        }
    };
    let observed = budget.status.clone().unwrap_or_default();
    let (disrupted_pods, recheck) = build_disrupted_pod_map(&selected, &observed, now);
    let current_healthy = count_healthy_pods(&selected, &disrupted_pods, now);
    let mut disruptions_allowed = current_healthy.saturating_sub(desired_healthy);
    if expected_pods <= 0 || disruptions_allowed <= 0 {
        disruptions_allowed = 0;
    }
    let generation = budget.metadata.generation;
    let disrupted = (!disrupted_pods.is_empty()).then_some(disrupted_pods);
    let unchanged = observed.current_healthy == current_healthy
        && observed.desired_healthy == desired_healthy
        && observed.expected_pods == expected_pods
        && observed.disruptions_allowed == disruptions_allowed
        && observed.disrupted_pods.clone().unwrap_or_default() == disrupted.clone().unwrap_or_default()
        && observed.observed_generation == generation
        && conditions_are_up_to_date(&observed, generation);
    if unchanged {
        return Ok((observed, recheck));
    }
    let mut status = PodDisruptionBudgetStatus {
        current_healthy,
        desired_healthy,
        expected_pods,
        disruptions_allowed,
        disrupted_pods: disrupted,
        observed_generation: generation,
        conditions: observed.conditions.clone(),
    };
    let (condition_status, reason) =
        if disruptions_allowed > 0 { ("True", SUFFICIENT_PODS_REASON) } else { ("False", INSUFFICIENT_PODS_REASON) };
    set_condition(&mut status, condition_status, reason, "", now);
    Ok((status, recheck))
}

/// `getExpectedScale`: the sum of the scales of the selected pods' controllers, each counted
/// once. Pods without a controller are left out, as Kubernetes does with unmanaged pods.
fn expected_scale(pods: &[&Pod], controllers: &[Object]) -> Result<i32, DisruptionError> {
    let mut scales: BTreeMap<String, i32> = BTreeMap::new();
    for pod in pods {
        let Some(reference) = controller_of(&pod.metadata) else { continue };
        if scales.contains_key(&reference.uid) {
            continue;
        }
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("");
        let no_controllers = || DisruptionError::NoControllers { pod: pod.metadata.name.clone().unwrap_or_default() };
        let controller = find_controller(controllers, reference, namespace).ok_or_else(no_controllers)?;
        let (uid, replicas) = scale_of(controllers, controller, namespace).ok_or_else(no_controllers)?;
        scales.insert(uid, replicas);
    }
    Ok(scales.values().fold(0i32, |total, replicas| total.saturating_add(*replicas)))
}

/// The observed object a controllerRef names, with the same uid.
fn find_controller<'a>(controllers: &'a [Object], reference: &OwnerReference, namespace: &str) -> Option<&'a Object> {
    let (group, _) = kinds::split_api_version(&reference.api_version);
    controllers.iter().find(|object| {
        kinds::split_api_version(&object.api_version).0 == group
            && object.kind == reference.kind
            && object.namespace() == namespace
            && object.name() == reference.name
            && object.metadata.uid.as_deref() == Some(reference.uid.as_str())
    })
}

/// The finders: a ReplicaSet controlled by a Deployment counts as the Deployment; any other
/// kind with a `scale` subresource counts its `spec.replicas`.
fn scale_of(controllers: &[Object], controller: &Object, namespace: &str) -> Option<(String, i32)> {
    if controller.kind == "ReplicaSet"
        && let Some(owner) = controller_of(&controller.metadata).filter(|owner| owner.kind == "Deployment")
        && let Some(deployment) = find_controller(controllers, owner, namespace)
    {
        return Some((owner.uid.clone(), replicas(deployment)));
    }
    let resource = kinds::by_api_version_kind(&controller.api_version, &controller.kind)?;
    resource
        .subresources
        .contains(&"scale")
        .then(|| (controller.metadata.uid.clone().unwrap_or_default(), replicas(controller)))
}

fn replicas(object: &Object) -> i32 {
    object.field("spec").and_then(|spec| spec.get("replicas")).and_then(Value::as_i64).unwrap_or(1) as i32
}

/// `buildDisruptedPodMap`: the recorded disruptions of pods not yet being deleted whose
/// deletion is still expected, and the earliest time one of them expires.
fn build_disrupted_pod_map(
    pods: &[&Pod],
    status: &PodDisruptionBudgetStatus,
    now: Timestamp,
) -> (BTreeMap<String, Time>, Option<Timestamp>) {
    let mut result = BTreeMap::new();
    let mut recheck: Option<Timestamp> = None;
    let Some(disrupted) = status.disrupted_pods.as_ref() else { return (result, recheck) };
    for pod in pods.iter().filter(|pod| pod.metadata.deletion_timestamp.is_none()) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let Some(disruption_time) = disrupted.get(&name) else { continue };
        let expected_deletion = disruption_time.0 + deletion_timeout();
        if expected_deletion >= now {
            recheck = Some(recheck.map_or(expected_deletion, |current| current.min(expected_deletion)));
            result.insert(name, disruption_time.clone());
        }
    }
    (result, recheck)
}

fn deletion_timeout() -> SignedDuration {
    SignedDuration::try_from(DELETION_TIMEOUT).unwrap_or(SignedDuration::ZERO)
}

/// `countHealthyPods`: ready pods that are neither being deleted nor expected to be.
fn count_healthy_pods(pods: &[&Pod], disrupted: &BTreeMap<String, Time>, now: Timestamp) -> i32 {
    let expected_gone = |pod: &Pod| {
        let name = pod.metadata.name.as_deref().unwrap_or("");
        disrupted.get(name).is_some_and(|time| time.0 + deletion_timeout() > now)
    };
    pods.iter()
        .filter(|pod| pod.metadata.deletion_timestamp.is_none() && !expected_gone(pod) && is_pod_ready(pod))
        .count() as i32
}

/// `ConditionsAreUpToDate`.
fn conditions_are_up_to_date(status: &PodDisruptionBudgetStatus, generation: Option<i64>) -> bool {
    let Some(condition) = status.conditions.iter().flatten().find(|c| c.type_ == DISRUPTION_ALLOWED_CONDITION) else {
        return false;
    };
    if status.observed_generation != generation {
        return false;
    }
    if status.disruptions_allowed > 0 {
        condition.status == "True" && condition.reason == SUFFICIENT_PODS_REASON
    } else {
        condition.status == "False" && condition.reason == INSUFFICIENT_PODS_REASON
    }
}

/// `failSafe`: no disruption allowed, and a `SyncFailed` condition saying why; the counts and
/// observedGeneration stay as they were.
fn fail_safe(budget: &PodDisruptionBudget, error: &DisruptionError, now: Timestamp) -> PodDisruptionBudgetStatus {
    let mut status = budget.status.clone().unwrap_or_default();
    status.disruptions_allowed = 0;
    set_condition(&mut status, "False", SYNC_FAILED_REASON, &error.to_string(), now);
    status
}

/// `meta.SetStatusCondition` for the `DisruptionAllowed` condition: the transition time moves
/// only when the status changes.
fn set_condition(
    status: &mut PodDisruptionBudgetStatus,
    condition_status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) {
    let observed_generation = status.observed_generation;
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let new = Condition {
        type_: DISRUPTION_ALLOWED_CONDITION.to_string(),
        status: condition_status.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        observed_generation,
        last_transition_time: Time(now),
    };
    match conditions.iter_mut().find(|c| c.type_ == DISRUPTION_ALLOWED_CONDITION) {
        Some(existing) => {
            let transition = if existing.status == new.status {
                existing.last_transition_time.clone()
            } else {
                new.last_transition_time.clone()
            };
            *existing = Condition { last_transition_time: transition, ..new };
        }
        None => conditions.push(new),
    }
}

#[cfg(test)]
mod tests;
