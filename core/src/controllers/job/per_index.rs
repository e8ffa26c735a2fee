//! `backoffLimitPerIndex` of Indexed Jobs: each index retries on its own, counting its failures
//! in the `batch.kubernetes.io/job-index-failure-count` annotation that every replacement pod
//! inherits, backs off on its own, and fails alone once past the limit (`status.failedIndexes`).

use std::time::Duration;

use k8s_openapi::api::batch::v1::JobSpec;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use super::backoff::{BackoffRecord, finished_time};
use super::failure_policy::{FailurePolicyAction, match_pod_failure_policy};

/// The failures an index has counted so far, carried by each of its pods.
pub const JOB_INDEX_FAILURE_COUNT_ANNOTATION: &str = "batch.kubernetes.io/job-index-failure-count";
/// The failures of an index a pod failure policy ignored, carried by each of its pods.
pub const JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION: &str = "batch.kubernetes.io/job-index-ignored-failure-count";

fn annotation_count(pod: &Pod, key: &str) -> i32 {
    let value = pod.metadata.annotations.as_ref().and_then(|annotations| annotations.get(key));
    value.and_then(|value| value.parse::<i32>().ok()).filter(|count| *count >= 0).unwrap_or(0)
}

/// The counted failures of the pod's index before this pod (`getIndexFailureCount`): a missing,
/// malformed or negative annotation reads as zero.
pub fn index_failure_count(pod: &Pod) -> i32 {
    annotation_count(pod, JOB_INDEX_FAILURE_COUNT_ANNOTATION)
}

/// Counted and ignored failures of the pod's index before this pod.
pub fn index_absolute_failure_count(pod: &Pod) -> i32 {
    index_failure_count(pod).saturating_add(annotation_count(pod, JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION))
}

/// `isIndexFailed`: the failed pod's index fails when a `FailIndex` rule matched it or when its
/// counted failure was the one past `backoffLimitPerIndex`.
pub fn is_index_failed(spec: &JobSpec, pod: &Pod, pod_failed: bool) -> bool {
    if !pod_failed {
        return false;
    }
    let verdict = match_pod_failure_policy(spec.pod_failure_policy.as_ref(), pod);
    if verdict.action == Some(FailurePolicyAction::FailIndex) {
        return true;
    }
    verdict.counts && index_failure_count(pod) >= spec.backoff_limit_per_index.unwrap_or(0)
}

/// The counted and ignored failure counts the replacement of `replaced` starts with
/// (`getNewIndexFailureCounts`); a first pod of an index starts at zero.
pub fn new_index_failure_counts(spec: &JobSpec, replaced: Option<&Pod>) -> (i32, i32) {
    let Some(replaced) = replaced else { return (0, 0) };
    let counted = index_failure_count(replaced);
    let ignored = annotation_count(replaced, JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION);
    if match_pod_failure_policy(spec.pod_failure_policy.as_ref(), replaced).counts {
        (counted.saturating_add(1), ignored)
    } else {
        (counted, ignored.saturating_add(1))
    }
}

/// How long the index of the last failed pod `replaced` waits before its replacement
/// (`getRemainingTimePerIndex`): the back-off of its absolute failure count plus this one.
pub fn remaining_time_per_index(replaced: Option<&Pod>, now: Timestamp) -> Duration {
    let Some(replaced) = replaced else { return Duration::ZERO };
    let failures = index_absolute_failure_count(replaced).saturating_add(1);
    let record = BackoffRecord {
        failures_after_last_success: u32::try_from(failures).unwrap_or(u32::MAX),
        last_failure_time: Some(finished_time(replaced)),
    };
    record.remaining(now)
}
