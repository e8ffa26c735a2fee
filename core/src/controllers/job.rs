//! The Job controller (Kubernetes 1.32 `pkg/controller/job`): run pods to `completions`
//! successes with at most `parallelism` at once, back off after failures, fail the Job past its
//! `backoffLimit`, `activeDeadlineSeconds`, a `podFailurePolicy` rule or its failed indexes,
//! succeed early by a `successPolicy`, honour `suspend`, and report status.
//!
//! Pods are counted as Kubernetes counts them: every pod the Job creates or adopts carries the
//! `batch.kubernetes.io/job-tracking` finalizer; a finished pod is first recorded in
//! `status.uncountedTerminatedPods`, then loses the finalizer, then moves into `succeeded` or
//! `failed`, so a counted pod may be deleted without the count dropping or the pod being counted
//! twice (see [`tracking`]).
//!
//! Differences from Kubernetes, all deliberate: the back-off record is derived from the finished
//! pods the Job still owns instead of kept in memory; the finalizer removals Kubernetes expects
//! (`finalizerExpectations`) are not remembered, so a sync that runs before a removal is
//! observed sends the same patch again (a no-op); the counters moved after the removals are
//! written with a merge patch of the status instead of a second compare-and-swap update, because
//! one sync cannot learn the resourceVersion its first write produced; the fresh quorum read
//! before adopting is left to the uid in the adoption patch; `managedBy` is not read and
//! `pastBackoffLimitOnFailure` (restart counts of `OnFailure` pods) is not checked.

mod backoff;
mod claim;
mod completed_indexes;
mod conditions;
mod create;
mod failure_policy;
mod manage;
mod per_index;
mod pod_outcome;
mod success_policy;
mod tracking;

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobSpec, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

pub use backoff::{
    BackoffRecord, DEFAULT_JOB_POD_FAILURE_BACK_OFF, MAX_JOB_POD_FAILURE_BACK_OFF, finished_time, pod_failure_back_off,
};
pub use completed_indexes::IndexIntervals;
pub use conditions::{
    JOB_COMPLETE, JOB_FAILED, JOB_FAILURE_TARGET, JOB_SUCCESS_CRITERIA_MET, JOB_SUSPENDED, finished_at, is_finished,
};
pub use create::{
    CONTROLLER_UID_LABEL, JOB_COMPLETION_INDEX_ANNOTATION, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL,
    LEGACY_JOB_NAME_LABEL, completion_index,
};
pub use failure_policy::{FailurePolicyAction, FailurePolicyMatch, match_pod_failure_policy};
pub use per_index::{JOB_INDEX_FAILURE_COUNT_ANNOTATION, JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION};
pub use pod_outcome::{JOB_TRACKING_FINALIZER, has_tracking_finalizer, is_pod_failed};
pub use success_policy::{SUCCESS_POLICY_REASON, match_success_policy};
pub use tracking::{MAX_UNCOUNTED_PODS, release_finalizers_of_deleted_job};

use super::action::{EventType, Reconciled, event_action, object_reference};
use super::expectations::ControllerExpectations;
use super::pods::{is_pod_active, is_pod_ready, phase};
use super::replicaset::controller_key;
use crate::selector::{LabelSelector, SelectorError};
use conditions::{condition, ensure_condition, has_true_condition};

/// Most pods the Job controller creates or deletes in one sync (`MaxPodCreateDeletePerSync`).
pub const MAX_POD_CREATE_DELETE_PER_SYNC: usize = 500;

/// The component name on the events the controller records.
pub const JOB_CONTROLLER_COMPONENT: &str = "job-controller";

/// `backoffLimit` when the Job leaves it unset (API defaulting).
const DEFAULT_BACKOFF_LIMIT: i32 = 6;

/// Why a Job could not be reconciled.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// `spec.selector` is not a valid label selector.
    #[error("invalid selector of Job {key}: {source}")]
    InvalidSelector {
        /// `namespace/name` of the Job.
        key: String,
        /// What is wrong with it.
        #[source]
        source: SelectorError,
    },
}

/// The claimed pods of one Job, sorted by what they are doing.
struct JobPods<'a> {
    all: Vec<&'a Pod>,
    active: Vec<&'a Pod>,
    terminating: usize,
}

/// The condition a sync decided the Job finishes with (`finishedCondition`).
#[derive(Clone, Debug, PartialEq)]
struct Finished {
    type_: &'static str,
    reason: String,
    message: String,
}

impl Finished {
    fn new(type_: &'static str, reason: &str, message: &str) -> Finished {
        Finished { type_, reason: reason.to_string(), message: message.to_string() }
    }

    /// Whether the Job finishes successfully (`SuccessCriteriaMet` or `Complete`).
    fn is_success(&self) -> bool {
        self.type_ == JOB_SUCCESS_CRITERIA_MET || self.type_ == JOB_COMPLETE
    }
}

/// What one sync of one Job works with (Kubernetes' `syncJobCtx`).
struct SyncJob<'a> {
    job: &'a Job,
    key: String,
    spec: JobSpec,
    status: JobStatus,
    pods: JobPods<'a>,
    /// Pods adopted in this sync: they count as carrying the tracking finalizer.
    adopted: BTreeSet<String>,
    /// `uncountedTerminatedPods` as recorded when the sync started.
    uncounted: tracking::Uncounted,
    /// Succeeded pods: counted, uncounted and newly finished (`jobCtx.succeeded`).
    succeeded: i32,
    /// Failed pods the same way, less those a pod failure policy ignores (`jobCtx.failed`).
    failed: i32,
    /// For Indexed Jobs: `completedIndexes` as recorded, and with the newly succeeded indexes.
    prev_succeeded_indexes: IndexIntervals,
    succeeded_indexes: Option<IndexIntervals>,
    /// With `backoffLimitPerIndex`: the failed indexes, recorded and new.
    failed_indexes: Option<IndexIntervals>,
    /// With `backoffLimitPerIndex`: per index, the last failed pod kept until its replacement
    /// exists, so the replacement can inherit its failure count.
    delayed_deletion: BTreeMap<i32, &'a Pod>,
    finished: Option<Finished>,
    /// Pods created in this sync; they count as active (`active += diff`).
    created: usize,
    now: Timestamp,
    /// Pod creations, deletions and events, sent after the status and tracking writes.
    reconciled: Reconciled,
}

/// Reconciles one Job against the pods of its namespace it owns or may adopt (`syncJob`).
/// Raises the expectations of the creates and deletes it returns in `expectations`; returns
/// the back-off and the active deadline as `requeue_after`.
pub fn reconcile_job(
    job: &Job,
    pods: &[impl Borrow<Pod>],
    expectations: &mut ControllerExpectations,
    now: Timestamp,
) -> Result<Reconciled, JobError> {
    let key = controller_key(&job.metadata);
    let old_status = job.status.clone().unwrap_or_default();
    let spec = job.spec.clone().unwrap_or_default();
    let selector = match spec.selector.as_ref() {
        Some(selector) => Some(
            LabelSelector::from_label_selector(Some(selector))
                .map_err(|source| JobError::InvalidSelector { key: key.clone(), source })?,
        ),
        None => None,
    };
    if is_finished(&old_status) {
        return Ok(tracking::release_finalizers_of_finished_job(job, pods));
    }
    let claimed = claim::claim_pods(job, selector.as_ref(), pods);
    let mut sync = SyncJob::new(job, key, spec, &old_status, claimed.pods, claimed.adopted, now);
    if sync.status.start_time.is_none() && !sync.suspended() {
        sync.status.start_time = Some(Time(now));
    }
    let satisfied = expectations.satisfied(&sync.key, now);
    sync.finished = sync.finished_condition();
    if sync.finished.is_some() {
        let active = sync.pods.active.clone();
        sync.delete_pods(expectations, &active, false);
        if !satisfied {
            // Pods not yet in the cache might still have to be counted.
            sync.finished = None;
        }
    } else {
        let manage = satisfied && job.metadata.deletion_timestamp.is_none();
        if manage {
            sync.manage(expectations);
        }
        sync.complete_or_suspend(manage);
    }
    if let Some(delay) = expectations.time_until_expiry(&sync.key, now) {
        sync.reconciled.requeue_no_later_than(delay);
    }
    Ok(sync.track_and_write_status(&old_status, claimed.actions))
}

impl<'a> SyncJob<'a> {
    fn new(
        job: &'a Job,
        key: String,
        spec: JobSpec,
        old_status: &JobStatus,
        claimed: Vec<&'a Pod>,
        adopted: BTreeSet<String>,
        now: Timestamp,
    ) -> SyncJob<'a> {
        let mut status = old_status.clone();
        let uncounted = tracking::Uncounted::of(&status);
        status.uncounted_terminated_pods = Some(uncounted.to_status());
        let pods = JobPods {
            active: claimed.iter().copied().filter(|pod| is_pod_active(pod)).collect(),
            terminating: claimed
                .iter()
                .filter(|pod| {
                    !matches!(phase(pod), "Succeeded" | "Failed") && pod.metadata.deletion_timestamp.is_some()
                })
                .count(),
            all: claimed,
        };
        let mut sync = SyncJob {
            job,
            key,
            spec,
            status,
            pods,
            adopted,
            uncounted,
            succeeded: 0,
            failed: 0,
            prev_succeeded_indexes: IndexIntervals::default(),
            succeeded_indexes: None,
            failed_indexes: None,
            delayed_deletion: BTreeMap::new(),
            finished: None,
            created: 0,
            now,
            reconciled: Reconciled::default(),
        };
        sync.count();
        sync
    }

    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }

    fn indexed(&self) -> bool {
        self.spec.completion_mode.as_deref() == Some("Indexed") && self.spec.completions.is_some()
    }

    fn completions(&self) -> i32 {
        self.spec.completions.unwrap_or(0)
    }

    fn parallelism(&self) -> i32 {
        self.spec.parallelism.unwrap_or(1).max(0)
    }

    /// `hasBackoffLimitPerIndex`, for the Indexed Jobs it applies to.
    fn per_index(&self) -> bool {
        self.indexed() && self.spec.backoff_limit_per_index.is_some()
    }

    /// `onlyReplaceFailedPods`: `podReplacementPolicy: Failed`, implied by a pod failure policy.
    fn only_replace_failed(&self) -> bool {
        self.spec.pod_replacement_policy.as_deref() == Some("Failed") || self.spec.pod_failure_policy.is_some()
    }

    fn has_finalizer(&self, pod: &Pod) -> bool {
        has_tracking_finalizer(pod) || pod.metadata.uid.as_ref().is_some_and(|uid| self.adopted.contains(uid))
    }

    fn is_failed(&self, pod: &Pod) -> bool {
        is_pod_failed(pod, self.only_replace_failed())
    }

    /// Whether the pod has a valid completion index: always for non-Indexed Jobs.
    fn valid_index(&self, pod: &Pod) -> Option<i32> {
        completion_index(pod).filter(|index| *index < self.completions())
    }

    fn involved(&self) -> k8s_openapi::api::core::v1::ObjectReference {
        object_reference("batch/v1", "Job", &self.job.metadata)
    }

    fn event(&mut self, event_type: EventType, reason: &str, message: &str) {
        let action = event_action(&self.involved(), JOB_CONTROLLER_COMPONENT, event_type, reason, message, self.now);
        self.reconciled.push_alone(action);
    }

    /// `jobCtx.succeeded` and `jobCtx.failed`: the recorded counters, the recorded uncounted
    /// pods and the finished pods not yet recorded (`getNewFinishedPods`); for Indexed Jobs,
    /// the succeeded and failed indexes.
    fn count(&mut self) {
        let mut new_succeeded = 0i32;
        let mut new_failed = 0i32;
        for &pod in &self.pods.all {
            let uid = pod.metadata.uid.as_deref().unwrap_or("");
            if !self.has_finalizer(pod) || (self.indexed() && self.valid_index(pod).is_none()) {
                continue;
            }
            if phase(pod) == "Succeeded" && !self.uncounted.has_succeeded(uid) {
                new_succeeded = new_succeeded.saturating_add(1);
            } else if self.is_failed(pod)
                && !self.uncounted.has_failed(uid)
                && match_pod_failure_policy(self.spec.pod_failure_policy.as_ref(), pod).counts
            {
                new_failed = new_failed.saturating_add(1);
            }
        }
        let uncounted_succeeded = i32::try_from(self.uncounted.succeeded.len()).unwrap_or(i32::MAX);
        let uncounted_failed = i32::try_from(self.uncounted.failed.len()).unwrap_or(i32::MAX);
        self.succeeded =
            self.status.succeeded.unwrap_or(0).saturating_add(new_succeeded).saturating_add(uncounted_succeeded);
        self.failed = self.status.failed.unwrap_or(0).saturating_add(new_failed).saturating_add(uncounted_failed);
        if self.indexed() {
            self.count_indexes();
        }
    }

    /// `calculateSucceededIndexes` and, with `backoffLimitPerIndex`, `calculateFailedIndexes`.
    fn count_indexes(&mut self) {
        let completions = self.completions();
        let recorded = self.status.completed_indexes.as_deref().unwrap_or("");
        self.prev_succeeded_indexes = IndexIntervals::parse(recorded, completions);
        let mut succeeded = self.prev_succeeded_indexes.clone();
        let recorded_failed = self.status.failed_indexes.as_deref().unwrap_or("");
        let mut failed = IndexIntervals::parse(recorded_failed, completions);
        let mut new_succeeded = Vec::new();
        let mut new_failed = Vec::new();
        for &pod in &self.pods.all {
            let Some(index) = self.valid_index(pod).filter(|_| self.has_finalizer(pod)) else { continue };
            if phase(pod) == "Succeeded" {
                new_succeeded.push(index);
            } else if self.per_index() && per_index::is_index_failed(&self.spec, pod, self.is_failed(pod)) {
                new_failed.push(index);
            }
        }
        succeeded.extend(new_succeeded);
        failed.extend(new_failed);
        self.succeeded = i32::try_from(succeeded.total()).unwrap_or(i32::MAX);
        self.succeeded_indexes = Some(succeeded);
        if self.per_index() {
            self.failed_indexes = Some(failed);
            self.delayed_deletion = self.pods_with_delayed_deletion();
        }
    }

    /// `getPodsWithDelayedDeletionPerIndex`: per pending index, its latest failed pod.
    fn pods_with_delayed_deletion(&self) -> BTreeMap<i32, &'a Pod> {
        let active: BTreeSet<i32> = self.pods.active.iter().filter_map(|pod| completion_index(pod)).collect();
        let mut delayed: BTreeMap<i32, &'a Pod> = BTreeMap::new();
        for &pod in &self.pods.all {
            let uid = pod.metadata.uid.as_deref().unwrap_or("");
            if !self.has_finalizer(pod) || self.uncounted.contains(uid) || !self.is_failed(pod) {
                continue;
            }
            let Some(index) = self.valid_index(pod) else { continue };
            let settled = self.succeeded_indexes.as_ref().is_some_and(|set| set.contains(index))
                || self.failed_indexes.as_ref().is_some_and(|set| set.contains(index))
                || active.contains(&index);
            if settled {
                continue;
            }
            let later = |last: &&Pod| {
                per_index::index_absolute_failure_count(last) <= per_index::index_absolute_failure_count(pod)
                    && finished_time(pod) >= finished_time(last)
            };
            match delayed.get(&index) {
                Some(last) if !later(last) => {}
                _ => {
                    delayed.insert(index, pod);
                }
            }
        }
        delayed
    }

    /// Why the Job finishes now, if it does, in Kubernetes' order: an earlier
    /// `SuccessCriteriaMet` or `FailureTarget`, a `FailJob` rule, failures past `backoffLimit`,
    /// the active deadline, failed indexes, then a success policy. Requeues for the deadline.
    fn finished_condition(&mut self) -> Option<Finished> {
        if let Some(met) = condition(&self.status, JOB_SUCCESS_CRITERIA_MET).filter(|c| c.status == "True") {
            let (reason, message) = (met.reason.clone().unwrap_or_default(), met.message.clone().unwrap_or_default());
            return Some(Finished { type_: JOB_SUCCESS_CRITERIA_MET, reason, message });
        }
        if let Some(target) = condition(&self.status, JOB_FAILURE_TARGET).filter(|c| c.status == "True") {
            let (reason, message) =
                (target.reason.clone().unwrap_or_default(), target.message.clone().unwrap_or_default());
            return Some(Finished { type_: JOB_FAILURE_TARGET, reason, message });
        }
        let policy = self.spec.pod_failure_policy.as_ref();
        let fail_job = self
            .pods
            .all
            .iter()
            .filter(|pod| self.is_failed(pod))
            .find_map(|pod| match_pod_failure_policy(policy, pod).job_failure_message);
        if let Some(message) = fail_job {
            return Some(Finished::new(JOB_FAILURE_TARGET, "PodFailurePolicy", &message));
        }
        let backoff_limit = self.spec.backoff_limit.unwrap_or(DEFAULT_BACKOFF_LIMIT);
        if self.failed > backoff_limit {
            let message = "Job has reached the specified backoff limit";
            return Some(Finished::new(JOB_FAILURE_TARGET, "BackoffLimitExceeded", message));
        }
        if let Some(finished) = self.past_active_deadline() {
            return Some(finished);
        }
        self.index_condition()
    }

    /// `pastActiveDeadline`; requeues for the deadline when it is still ahead.
    fn past_active_deadline(&mut self) -> Option<Finished> {
        let deadline = self.spec.active_deadline_seconds.filter(|_| !self.suspended());
        let (Some(seconds), Some(start)) = (deadline, self.status.start_time.as_ref()) else { return None };
        // A deadline too far to represent is never reached.
        let deadline_at = start.0.checked_add(SignedDuration::from_secs(seconds)).ok()?;
        if self.now >= deadline_at {
            let message = "Job was active longer than specified deadline";
            return Some(Finished::new(JOB_FAILURE_TARGET, "DeadlineExceeded", message));
        }
        let remaining = Duration::try_from(deadline_at.duration_since(self.now)).unwrap_or(Duration::ZERO);
        self.reconciled.requeue_no_later_than(remaining);
        None
    }

    /// For Indexed Jobs: too many failed indexes, every index settled with some failed, or a
    /// success policy met.
    fn index_condition(&self) -> Option<Finished> {
        let succeeded = self.succeeded_indexes.as_ref()?;
        if let Some(failed) = &self.failed_indexes {
            let failed_count = i64::try_from(failed.total()).unwrap_or(i64::MAX);
            if self.spec.max_failed_indexes.is_some_and(|max| failed_count > i64::from(max)) {
                let message = "Job has exceeded the specified maximal number of failed indexes";
                return Some(Finished::new(JOB_FAILURE_TARGET, "MaxFailedIndexesExceeded", message));
            }
            let settled = failed_count.saturating_add(i64::try_from(succeeded.total()).unwrap_or(i64::MAX));
            if failed_count > 0 && settled >= i64::from(self.completions()) {
                return Some(Finished::new(JOB_FAILURE_TARGET, "FailedIndexes", "Job has failed indexes"));
            }
        }
        let message = match_success_policy(self.spec.success_policy.as_ref(), self.completions(), succeeded)?;
        Some(Finished::new(JOB_SUCCESS_CRITERIA_MET, SUCCESS_POLICY_REASON, &message))
    }

    /// After managing pods: the Job succeeded when enough pods did and none is active, else,
    /// if pods were managed, the `Suspended` condition follows `suspend`.
    fn complete_or_suspend(&mut self, managed: bool) {
        let no_active = self.pods.active.is_empty() && self.created == 0;
        let complete = match self.spec.completions {
            None => self.succeeded > 0 && no_active,
            Some(completions) => self.succeeded >= completions && no_active,
        };
        if complete {
            let message = "Reached expected number of succeeded pods";
            self.finished = Some(Finished::new(JOB_SUCCESS_CRITERIA_MET, "CompletionsReached", message));
        } else if managed {
            self.update_suspended_condition();
        }
    }

    /// The `Suspended` condition as `spec.suspend` says, with its event; resuming restarts the
    /// `activeDeadlineSeconds` timer.
    fn update_suspended_condition(&mut self) {
        if self.suspended() && !has_true_condition(&self.status, JOB_SUSPENDED) {
            ensure_condition(&mut self.status, JOB_SUSPENDED, "True", "JobSuspended", "Job suspended", self.now);
            self.event(EventType::Normal, "Suspended", "Job suspended");
        } else if !self.suspended() && has_true_condition(&self.status, JOB_SUSPENDED) {
            ensure_condition(&mut self.status, JOB_SUSPENDED, "False", "JobResumed", "Job resumed", self.now);
            self.status.start_time = Some(Time(self.now));
            self.event(EventType::Normal, "Resumed", "Job resumed");
        }
    }

    /// `active`, `ready` and `terminating` as this sync leaves them.
    fn fill_pod_counts(&mut self) {
        let active = self.pods.active.len().saturating_add(self.created);
        self.status.active = Some(i32::try_from(active).unwrap_or(i32::MAX));
        let ready = self.pods.active.iter().filter(|pod| is_pod_ready(pod)).count();
        self.status.ready = Some(i32::try_from(ready).unwrap_or(i32::MAX));
        self.status.terminating = Some(i32::try_from(self.pods.terminating).unwrap_or(i32::MAX));
    }
}

#[cfg(test)]
mod tests;
