//! Job conditions: reading whether a Job finished and adding or updating a condition the way
//! Kubernetes' `ensureJobConditionStatus` does.

use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// The Job finished successfully.
pub const JOB_COMPLETE: &str = "Complete";
/// The Job failed.
pub const JOB_FAILED: &str = "Failed";
/// The Job is suspended (True) or was resumed (False).
pub const JOB_SUSPENDED: &str = "Suspended";
/// The Job will succeed once its remaining pods terminate (set before `Complete`).
pub const JOB_SUCCESS_CRITERIA_MET: &str = "SuccessCriteriaMet";
/// The Job will fail once its remaining pods terminate (set before `Failed`).
pub const JOB_FAILURE_TARGET: &str = "FailureTarget";

/// Whether the condition of `type_` is True.
pub fn has_true_condition(status: &JobStatus, type_: &str) -> bool {
    condition(status, type_).is_some_and(|condition| condition.status == "True")
}

/// The condition of `type_`, if present.
pub fn condition<'a>(status: &'a JobStatus, type_: &str) -> Option<&'a JobCondition> {
    status.conditions.iter().flatten().find(|condition| condition.type_ == type_)
}

/// `IsJobFinished`: a True `Complete` or `Failed` condition.
pub fn is_finished(status: &JobStatus) -> bool {
    has_true_condition(status, JOB_COMPLETE) || has_true_condition(status, JOB_FAILED)
}

/// When the Job finished: the transition time of its True `Complete` or `Failed` condition.
pub fn finished_at(status: &JobStatus) -> Option<Timestamp> {
    status
        .conditions
        .iter()
        .flatten()
        .find(|condition| {
            (condition.type_ == JOB_COMPLETE || condition.type_ == JOB_FAILED) && condition.status == "True"
        })
        .and_then(|condition| condition.last_transition_time.as_ref().map(|time| time.0))
}

/// Sets a condition: appends it, or rewrites the existing one when its status, reason or message
/// differ. Returns whether anything changed.
pub fn ensure_condition(
    status: &mut JobStatus,
    type_: &str,
    condition_status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> bool {
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let wanted = JobCondition {
        type_: type_.to_string(),
        status: condition_status.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    };
    match conditions.iter_mut().find(|condition| condition.type_ == type_) {
        None => {
            conditions.push(wanted);
            true
        }
        Some(existing) => {
            let same = existing.status == wanted.status
                && existing.reason == wanted.reason
                && existing.message == wanted.message;
            if !same {
                *existing = wanted;
            }
            !same
        }
    }
}
