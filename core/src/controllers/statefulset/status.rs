//! A StatefulSet's status (`computeReplicaStatus`, `completeRollingUpdate`,
//! `inconsistentStatus`): counts over the observed pods, the two revisions and the collision
//! count, and whether it must be written.

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use super::identity::{
    is_on_delete, is_running_and_available, is_running_and_ready, is_terminating, min_ready_seconds, pod_revision,
};

/// The revisions and collision count one sync settled on.
pub(super) struct Revisions<'a> {
    pub current: &'a str,
    pub update: &'a str,
    pub collision_count: i32,
}

/// Counts over the set's pods with a valid ordinal: every pod is a replica, running and ready
/// pods are ready (and available after minReadySeconds), pods not being deleted count as
/// current or updated by their revision label.
pub(super) fn compute_status(
    set: &StatefulSet,
    pods: &[&Pod],
    revisions: &Revisions<'_>,
    now: Timestamp,
) -> StatefulSetStatus {
    let mut status = StatefulSetStatus {
        observed_generation: set.metadata.generation,
        current_revision: Some(revisions.current.to_string()),
        update_revision: Some(revisions.update.to_string()),
        collision_count: Some(revisions.collision_count),
        ..StatefulSetStatus::default()
    };
    let (mut ready, mut available, mut current, mut updated) = (0, 0, 0, 0);
    for pod in pods {
        status.replicas += 1;
        if is_running_and_ready(pod) {
            ready += 1;
            if is_running_and_available(pod, min_ready_seconds(set), now) {
                available += 1;
            }
        }
        if !is_terminating(pod) {
            current += i32::from(pod_revision(pod) == revisions.current);
            updated += i32::from(pod_revision(pod) == revisions.update);
        }
    }
    status.ready_replicas = Some(ready);
    status.available_replicas = Some(available);
    status.current_replicas = Some(current);
    status.updated_replicas = Some(updated);
    status.conditions = set.status.as_ref().and_then(|status| status.conditions.clone());
    status
}

/// `completeRollingUpdate`: once every replica is updated and ready, the update revision
/// becomes the current one.
pub(super) fn complete_rolling_update(set: &StatefulSet, status: &mut StatefulSetStatus) {
    let count = |value: Option<i32>| value.unwrap_or(0);
    if !is_on_delete(set)
        && count(status.updated_replicas) == status.replicas
        && count(status.ready_replicas) == status.replicas
    {
        status.current_replicas = status.updated_replicas;
        status.current_revision = status.update_revision.clone();
    }
}

/// Whether the computed status differs from the stored one in anything the controller owns
/// (`inconsistentStatus`, plus the collision count it must persist).
pub(super) fn differs(stored: Option<&StatefulSetStatus>, new: &StatefulSetStatus) -> bool {
    let default = StatefulSetStatus::default();
    let stored = stored.unwrap_or(&default);
    let count = |value: Option<i32>| value.unwrap_or(0);
    new.observed_generation.unwrap_or(0) > stored.observed_generation.unwrap_or(0)
        || new.replicas != stored.replicas
        || count(new.current_replicas) != count(stored.current_replicas)
        || count(new.ready_replicas) != count(stored.ready_replicas)
        || count(new.updated_replicas) != count(stored.updated_replicas)
        || count(new.available_replicas) != count(stored.available_replicas)
        || new.current_revision != stored.current_revision
        || new.update_revision != stored.update_revision
        || count(new.collision_count) != count(stored.collision_count)
}
