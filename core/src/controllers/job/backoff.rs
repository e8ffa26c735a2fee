//! The pod-failure back-off of the Job controller: after failures, wait 10 s × 2^(failures − 1),
//! at most six minutes, counted from the last failure, before creating replacement pods.
//!
//! Kubernetes keeps a `backoffRecord` in memory and updates it with newly finished pods; coxswain
//! derives the same record from the finished pods themselves, which the Job still owns.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use crate::controllers::pods::phase;

/// The delay after the first failure (`DefaultJobPodFailureBackOff`).
pub const DEFAULT_JOB_POD_FAILURE_BACK_OFF: Duration = Duration::from_secs(10);

/// The longest delay, however many failures (`MaxJobPodFailureBackOff`).
pub const MAX_JOB_POD_FAILURE_BACK_OFF: Duration = Duration::from_secs(6 * 60);

/// The back-off after `failures` consecutive failures: zero for none, else the default doubled
/// per further failure and capped at the maximum.
pub fn pod_failure_back_off(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let mut delay = DEFAULT_JOB_POD_FAILURE_BACK_OFF;
    for _ in 1..failures {
        delay *= 2;
        if delay >= MAX_JOB_POD_FAILURE_BACK_OFF {
            return MAX_JOB_POD_FAILURE_BACK_OFF;
        }
    }
    delay
}

/// Failures since the last success and when the latest of them happened (`backoffRecord`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackoffRecord {
    /// Failed pods that finished after the last succeeded pod finished.
    pub failures_after_last_success: u32,
    /// When the latest of those failures finished.
    pub last_failure_time: Option<Timestamp>,
}

impl BackoffRecord {
    /// The record the finished pods of one Job imply.
    pub fn from_pods(pods: &[&Pod]) -> BackoffRecord {
        let last_success = pods.iter().filter(|pod| phase(pod) == "Succeeded").map(|pod| finished_time(pod)).max();
        let failure_times = pods
            .iter()
            .filter(|pod| phase(pod) == "Failed")
            .map(|pod| finished_time(pod))
            .filter(|time| last_success.is_none_or(|success| *time > success));
        let mut record = BackoffRecord::default();
        for time in failure_times {
            record.failures_after_last_success += 1;
            record.last_failure_time = Some(record.last_failure_time.map_or(time, |last| last.max(time)));
        }
        record
    }

    /// How long to wait at `now` before creating pods again (`getRemainingTime`).
    pub fn remaining(&self, now: Timestamp) -> Duration {
        let Some(last_failure) = self.last_failure_time else { return Duration::ZERO };
        let delay = pod_failure_back_off(self.failures_after_last_success);
        let elapsed = Duration::try_from(now.duration_since(last_failure)).unwrap_or(Duration::ZERO);
        delay.saturating_sub(elapsed)
    }
}

/// When a pod finished (`getFinishedTime`): the latest container termination, else when its
/// Ready condition turned False, else its deletion time, else its creation time.
pub fn finished_time(pod: &Pod) -> Timestamp {
    let status = pod.status.as_ref();
    let containers = status.and_then(|status| status.container_statuses.as_ref());
    let from_containers = containers
        .into_iter()
        .flatten()
        .filter_map(|container| container.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref())
        .map(|time| time.0)
        .max();
    let from_ready = || {
        let conditions = status?.conditions.as_ref()?;
        let ready = conditions.iter().find(|condition| condition.type_ == "Ready" && condition.status == "False")?;
        ready.last_transition_time.as_ref().map(|time| time.0)
    };
    from_containers
        .or_else(from_ready)
        .or_else(|| pod.metadata.deletion_timestamp.as_ref().map(|time| time.0))
        .or_else(|| pod.metadata.creation_timestamp.as_ref().map(|time| time.0))
        .unwrap_or(Timestamp::UNIX_EPOCH)
}
