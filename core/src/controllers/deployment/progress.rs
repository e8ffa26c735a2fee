//! Deployment status and conditions (`progress.go`, `calculateStatus`): the counts
//! `kubectl rollout status` reads, Available, and Progressing with its deadline.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::sync::{Sync, normalize_status};
use super::util::{
    self, AVAILABLE, PROGRESSING, REPLICA_FAILURE, actual_replicas, available_replicas, deployment_replicas,
    max_unavailable, new_condition, progress_deadline_seconds, reason, remove_condition, replica_count, set_condition,
};

/// `calculateStatus`: counts over the Deployment's ReplicaSets and the Available condition.
pub(super) fn calculate_status(sync: &Sync<'_>) -> DeploymentStatus {
    let all = sync.refs(&sync.all_indices());
    let available: i32 = all.iter().map(|replica_set| available_replicas(replica_set)).sum();
    let total = replica_count(&all);
    let current = sync.status_ref();
    let mut status = DeploymentStatus {
        observed_generation: sync.deployment.metadata.generation,
        replicas: Some(all.iter().map(|replica_set| actual_replicas(replica_set)).sum()),
        updated_replicas: Some(sync.new.map_or(0, |index| actual_replicas(&sync.sets[index]))),
        ready_replicas: Some(all.iter().map(|replica_set| util::ready_replicas(replica_set)).sum()),
        available_replicas: Some(available),
        unavailable_replicas: Some(total.saturating_sub(available).max(0)),
        collision_count: current.collision_count,
        conditions: current.conditions.clone(),
        terminating_replicas: None,
    };
    let deployment = &sync.deployment;
    // Saturating where Go's int32 would wrap: a negative or huge count from a client that
    // bypassed validation must not crash the controller.
    let minimum_available = deployment_replicas(deployment).saturating_sub(max_unavailable(deployment));
    let condition = if available >= minimum_available {
        new_condition(
            AVAILABLE,
            "True",
            reason::MINIMUM_REPLICAS_AVAILABLE,
            "Deployment has minimum availability.",
            sync.now,
        )
    } else {
        let message = "Deployment does not have minimum availability.";
        new_condition(AVAILABLE, "False", reason::MINIMUM_REPLICAS_UNAVAILABLE, message, sync.now)
    };
    set_condition(&mut status, condition);
    normalize_status(status)
}

/// `syncDeploymentStatus`: the status without touching Progressing.
pub(super) fn sync_deployment_status(sync: &mut Sync<'_>) {
    let status = calculate_status(sync);
    *sync.status() = status;
}

fn count(value: Option<i32>) -> i32 {
    value.unwrap_or(0)
}

/// `DeploymentComplete`: every desired replica updated and available, no old ones left, and
/// the current generation observed.
pub fn deployment_complete(deployment: &Deployment, status: &DeploymentStatus) -> bool {
    let replicas = deployment_replicas(deployment);
    count(status.updated_replicas) == replicas
        && count(status.replicas) == replicas
        && count(status.available_replicas) == replicas
        && status.observed_generation.unwrap_or(0) >= deployment.metadata.generation.unwrap_or(0)
}

/// `DeploymentProgressing`: more updated, ready or available pods, or fewer old ones, than
/// `old` reported.
pub fn deployment_progressing(old: &DeploymentStatus, new: &DeploymentStatus) -> bool {
    let old_old_replicas = count(old.replicas) - count(old.updated_replicas);
    let new_old_replicas = count(new.replicas) - count(new.updated_replicas);
    count(new.updated_replicas) > count(old.updated_replicas)
        || new_old_replicas < old_old_replicas
        || count(new.ready_replicas) > count(old.ready_replicas)
        || count(new.available_replicas) > count(old.available_replicas)
}

/// `DeploymentTimedOut`: the last progress reported is older than progressDeadlineSeconds.
pub fn deployment_timed_out(deployment: &Deployment, status: &DeploymentStatus, now: Timestamp) -> bool {
    let Some(deadline) = progress_deadline_seconds(deployment) else { return false };
    let Some(condition) = util::condition(status, PROGRESSING) else { return false };
    match condition.reason.as_deref() {
        Some(reason::NEW_REPLICA_SET_AVAILABLE) => false,
        Some(reason::PROGRESS_DEADLINE_EXCEEDED) => true,
        _ => {
            let Some(from) = condition.last_update_time.as_ref() else { return false };
            from.0.checked_add(SignedDuration::from_secs(i64::from(deadline))).unwrap_or(Timestamp::MAX) < now
        }
    }
}

fn subject(sync: &Sync<'_>) -> String {
    match sync.new {
        Some(index) => format!("ReplicaSet {:?}", sync.sets[index].metadata.name.as_deref().unwrap_or("")),
        None => format!("Deployment {:?}", sync.deployment.metadata.name.as_deref().unwrap_or("")),
    }
}

/// `syncRolloutStatus`: the status with Progressing and ReplicaFailure brought up to date,
/// and a requeue for when the progress deadline would pass.
pub(super) fn sync_rollout_status(sync: &mut Sync<'_>) {
    let mut new_status = calculate_status(sync);
    let deployment = sync.deployment.clone();
    let has_deadline = progress_deadline_seconds(&deployment).is_some();
    if !has_deadline {
        remove_condition(&mut new_status, PROGRESSING);
    }
    let old_status = sync.status_ref();
    let current = util::condition(&old_status, PROGRESSING).cloned();
    let complete_already = count(new_status.replicas) == count(new_status.updated_replicas)
        && current.as_ref().and_then(|c| c.reason.as_deref()) == Some(reason::NEW_REPLICA_SET_AVAILABLE);
    if has_deadline && !complete_already {
        let subject = subject(sync);
        if deployment_complete(&deployment, &new_status) {
            let message = format!("{subject} has successfully progressed.");
            let condition = new_condition(PROGRESSING, "True", reason::NEW_REPLICA_SET_AVAILABLE, &message, sync.now);
            set_condition(&mut new_status, condition);
        } else if deployment_progressing(&old_status, &new_status) {
            let message = format!("{subject} is progressing.");
            let mut condition = new_condition(PROGRESSING, "True", reason::REPLICA_SET_UPDATED, &message, sync.now);
            if let Some(current) = &current {
                if current.status == "True" {
                    condition.last_transition_time = current.last_transition_time.clone();
                }
                remove_condition(&mut new_status, PROGRESSING);
            }
            set_condition(&mut new_status, condition);
        } else if deployment_timed_out(&deployment, &new_status, sync.now) {
            let message = format!("{subject} has timed out progressing.");
            let condition = new_condition(PROGRESSING, "False", reason::PROGRESS_DEADLINE_EXCEEDED, &message, sync.now);
            set_condition(&mut new_status, condition);
        }
    }
    match replica_failure(sync) {
        Some(condition) => set_condition(&mut new_status, condition),
        None => remove_condition(&mut new_status, REPLICA_FAILURE),
    }
    let new_status = normalize_status(new_status);
    if new_status == normalize_status(old_status) {
        if let Some(delay) = requeue_stuck_deployment(&deployment, &new_status, sync.now) {
            sync.requeue_after = Some(delay);
        }
        return;
    }
    *sync.status() = new_status;
}

/// `getReplicaFailures`: the new ReplicaSet's ReplicaFailure condition, else any old one's.
fn replica_failure(sync: &Sync<'_>) -> Option<DeploymentCondition> {
    let failure_of = |replica_set: &ReplicaSet| {
        let conditions = replica_set.status.as_ref().and_then(|status| status.conditions.as_ref());
        conditions.into_iter().flatten().find(|condition| condition.type_ == REPLICA_FAILURE).map(|condition| {
            DeploymentCondition {
                type_: condition.type_.clone(),
                status: condition.status.clone(),
                reason: condition.reason.clone(),
                message: condition.message.clone(),
                last_transition_time: condition.last_transition_time.clone(),
                last_update_time: condition.last_transition_time.clone(),
            }
        })
    };
    if let Some(condition) = sync.new.and_then(|index| failure_of(&sync.sets[index])) {
        return Some(condition);
    }
    sync.all_indices().into_iter().find_map(|index| failure_of(&sync.sets[index]))
}

/// `requeueStuckDeployment`: when to look again so the deadline is noticed without a watch
/// event; `None` when there is no deadline to watch.
pub fn requeue_stuck_deployment(
    deployment: &Deployment,
    status: &DeploymentStatus,
    now: Timestamp,
) -> Option<Duration> {
    let deadline = progress_deadline_seconds(deployment)?;
    let current = util::condition(deployment.status.as_ref()?, PROGRESSING)?;
    if deployment_complete(deployment, status) || current.reason.as_deref() == Some(reason::PROGRESS_DEADLINE_EXCEEDED)
    {
        return None;
    }
    let last_update = current.last_update_time.as_ref()?.0;
    let timeout_at = last_update.checked_add(SignedDuration::from_secs(i64::from(deadline))).unwrap_or(Timestamp::MAX);
    let after = timeout_at.duration_since(now);
    if after < SignedDuration::from_secs(1) {
        return Some(Duration::try_from(after).unwrap_or(Duration::ZERO));
    }
    Duration::try_from(after + SignedDuration::from_secs(1)).ok()
}

/// `checkPausedConditions`: Progressing=Unknown with DeploymentPaused while paused, and
/// DeploymentResumed once resumed, so a pause does not count against the deadline.
pub(super) fn check_paused_conditions(sync: &mut Sync<'_>) {
    if progress_deadline_seconds(&sync.deployment).is_none() {
        return;
    }
    let status = sync.status_ref();
    let current = util::condition(&status, PROGRESSING);
    let current_reason = current.and_then(|condition| condition.reason.as_deref());
    if current_reason == Some(reason::PROGRESS_DEADLINE_EXCEEDED) {
        return;
    }
    let paused_condition_exists = current_reason == Some(reason::DEPLOYMENT_PAUSED);
    let paused = util::is_paused(&sync.deployment);
    let condition = if paused && !paused_condition_exists {
        new_condition(PROGRESSING, "Unknown", reason::DEPLOYMENT_PAUSED, "Deployment is paused", sync.now)
    } else if !paused && paused_condition_exists {
        new_condition(PROGRESSING, "Unknown", reason::DEPLOYMENT_RESUMED, "Deployment is resumed", sync.now)
    } else {
        return;
    };
    set_condition(sync.status(), condition);
}
