//! The TTL-after-finished controller: delete a finished Job (and, in the background, its pods)
//! once `ttlSecondsAfterFinished` have passed since it finished.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Preconditions;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::action::{Action, PropagationPolicy, Reconciled};
use super::job::{finished_at, is_finished};
use super::replicaset::controller_key;
use crate::object::kinds::GroupResource;

const JOBS: GroupResource = GroupResource { group: "batch", resource: "jobs" };

/// Why a Job's TTL could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum TtlAfterFinishedError {
    /// The Job has a finished condition without a transition time.
    #[error("unable to find the time when the Job {key} finished")]
    FinishTimeUnknown {
        /// `namespace/name` of the Job.
        key: String,
    },
}

/// Reconciles one Job's TTL (`processJob`): nothing for a Job without a TTL, not finished or
/// already being deleted; a background Delete once the TTL has passed; otherwise a requeue at
/// the moment it expires.
pub fn reconcile_ttl_after_finished(job: &Job, now: Timestamp) -> Result<Reconciled, TtlAfterFinishedError> {
    let mut reconciled = Reconciled::default();
    let ttl = job.spec.as_ref().and_then(|spec| spec.ttl_seconds_after_finished);
    let status = job.status.clone().unwrap_or_default();
    let (Some(ttl), None) = (ttl, job.metadata.deletion_timestamp.as_ref()) else { return Ok(reconciled) };
    if !is_finished(&status) {
        return Ok(reconciled);
    }
    let finished = finished_at(&status)
        .ok_or_else(|| TtlAfterFinishedError::FinishTimeUnknown { key: controller_key(&job.metadata) })?;
    let expires_at = finished.checked_add(SignedDuration::from_secs(i64::from(ttl))).unwrap_or(Timestamp::MAX);
    if now < expires_at {
        let remaining = Duration::try_from(expires_at.duration_since(now)).unwrap_or(Duration::ZERO);
        reconciled.requeue_after = Some(remaining);
        return Ok(reconciled);
    }
    reconciled.push_alone(Action::Delete {
        resource: JOBS,
        namespace: job.metadata.namespace.clone().unwrap_or_default(),
        name: job.metadata.name.clone().unwrap_or_default(),
        preconditions: Preconditions {
            uid: job.metadata.uid.clone(),
            resource_version: job.metadata.resource_version.clone(),
        },
        propagation_policy: Some(PropagationPolicy::Background),
    });
    Ok(reconciled)
}
