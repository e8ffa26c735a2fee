//! The Job controller (Kubernetes 1.32 `pkg/controller/job`): run pods to `completions`
//! successes with at most `parallelism` at once, back off after failures, fail the Job past its
//! `backoffLimit` or `activeDeadlineSeconds`, honour `suspend`, and report status.
//!
//! Differences from Kubernetes, all deliberate: succeeded and failed pods are counted from the
//! terminal pods the Job still owns (Kubernetes tracks them with the `batch.kubernetes.io/job-tracking`
//! finalizer and `uncountedTerminatedPods`; counts never drop below the recorded status), the
//! back-off record is derived from those pods instead of kept in memory, orphans are not adopted,
//! and `podFailurePolicy`, `successPolicy`, `backoffLimitPerIndex` and `managedBy` are not read.

mod backoff;
mod completed_indexes;
mod conditions;
mod create;

use std::borrow::Borrow;
use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobSpec, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

pub use backoff::{
    BackoffRecord, DEFAULT_JOB_POD_FAILURE_BACK_OFF, MAX_JOB_POD_FAILURE_BACK_OFF, finished_time, pod_failure_back_off,
};
pub use completed_indexes::{format_completed_indexes, parse_completed_indexes};
pub use conditions::{
    JOB_COMPLETE, JOB_FAILED, JOB_FAILURE_TARGET, JOB_SUCCESS_CRITERIA_MET, JOB_SUSPENDED, finished_at, is_finished,
};
pub use create::{
    CONTROLLER_UID_LABEL, JOB_COMPLETION_INDEX_ANNOTATION, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL,
    LEGACY_JOB_NAME_LABEL, completion_index,
};

use super::action::{Action, EventType, Reconciled, event_action, object_reference, to_object};
use super::expectations::ControllerExpectations;
use super::owner::is_controlled_by;
use super::pods::{is_pod_active, is_pod_ready, phase, rank_for_deletion};
use super::replicaset::{controller_key, delete_pod};
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

/// The pods of one Job, sorted by what they are doing.
struct JobPods<'a> {
    active: Vec<&'a Pod>,
    succeeded: Vec<&'a Pod>,
    failed: Vec<&'a Pod>,
    terminating: usize,
}

/// What one sync of one Job works with (Kubernetes' `syncJobCtx`).
struct SyncJob<'a> {
    job: &'a Job,
    key: String,
    spec: JobSpec,
    status: JobStatus,
    pods: JobPods<'a>,
    succeeded_indexes: Option<BTreeSet<i32>>,
    /// Pods created in this sync; they count as active (`active += diff`).
    created: usize,
    now: Timestamp,
    reconciled: Reconciled,
}

/// Reconciles one Job against every pod of its namespace (`syncJob`). Raises the expectations
/// of the creates and deletes it returns in `expectations`; returns the back-off and the active
/// deadline as `requeue_after`.
pub fn reconcile_job(
    job: &Job,
    pods: &[impl Borrow<Pod>],
    expectations: &mut ControllerExpectations,
    now: Timestamp,
) -> Result<Reconciled, JobError> {
    let key = controller_key(&job.metadata);
    let old_status = job.status.clone().unwrap_or_default();
    if is_finished(&old_status) {
        return Ok(Reconciled::default());
    }
    let spec = job.spec.clone().unwrap_or_default();
    let selector = match spec.selector.as_ref() {
        Some(selector) => Some(
            LabelSelector::from_label_selector(Some(selector))
                .map_err(|source| JobError::InvalidSelector { key: key.clone(), source })?,
        ),
        None => None,
    };
    let owned = owned_pods(job, selector.as_ref(), pods);
    let mut sync = SyncJob {
        job,
        key,
        pods: sort_pods(&owned),
        succeeded_indexes: None,
        created: 0,
        status: old_status.clone(),
        spec,
        now,
        reconciled: Reconciled::default(),
    };
    sync.count_finished();
    if sync.status.start_time.is_none() && !sync.suspended() {
        sync.status.start_time = Some(Time(now));
    }
    let failure = sync.failure_condition();
    let satisfied = expectations.satisfied(&sync.key, now);
    if let Some((reason, message)) = failure {
        sync.fail(expectations, satisfied, reason, &message);
    } else {
        let manage = satisfied && job.metadata.deletion_timestamp.is_none();
        if manage {
            sync.manage(expectations);
        }
        sync.finish_or_suspend(manage);
    }
    if let Some(delay) = expectations.time_until_expiry(&sync.key, now) {
        sync.reconciled.requeue_no_later_than(delay);
    }
    sync.write_status(&old_status);
    Ok(sync.reconciled)
}

/// The pods in the Job's namespace it controls and, when it has a selector, selects.
fn owned_pods<'a, P: Borrow<Pod>>(job: &Job, selector: Option<&LabelSelector>, pods: &'a [P]) -> Vec<&'a Pod> {
    let uid = job.metadata.uid.as_deref().unwrap_or("");
    pods.iter()
        .map(Borrow::borrow)
        .filter(|pod: &&Pod| pod.metadata.namespace == job.metadata.namespace)
        .filter(|pod| is_controlled_by(&pod.metadata, uid))
        .filter(|pod| selector.is_none_or(|selector| selector.matches_optional(pod.metadata.labels.as_ref())))
        .collect()
}

fn sort_pods<'a>(pods: &[&'a Pod]) -> JobPods<'a> {
    let terminal = |pod: &Pod| matches!(phase(pod), "Succeeded" | "Failed");
    JobPods {
        active: pods.iter().copied().filter(|pod| is_pod_active(pod)).collect(),
        succeeded: pods.iter().copied().filter(|pod| phase(pod) == "Succeeded").collect(),
        failed: pods.iter().copied().filter(|pod| phase(pod) == "Failed").collect(),
        terminating: pods.iter().filter(|pod| !terminal(pod) && pod.metadata.deletion_timestamp.is_some()).count(),
    }
}

impl<'a> SyncJob<'a> {
    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }

    fn indexed(&self) -> bool {
        self.spec.completion_mode.as_deref() == Some("Indexed") && self.spec.completions.is_some()
    }

    fn parallelism(&self) -> i32 {
        self.spec.parallelism.unwrap_or(1).max(0)
    }

    fn succeeded(&self) -> i32 {
        self.status.succeeded.unwrap_or(0)
    }

    fn involved(&self) -> k8s_openapi::api::core::v1::ObjectReference {
        object_reference("batch/v1", "Job", &self.job.metadata)
    }

    fn event(&mut self, event_type: EventType, reason: &str, message: &str) {
        let action = event_action(&self.involved(), JOB_CONTROLLER_COMPONENT, event_type, reason, message, self.now);
        self.reconciled.push_alone(action);
    }

    /// Counts terminal pods into `succeeded`, `failed` and `completedIndexes`; the recorded
    /// counts are a floor, because a counted pod may since have been deleted.
    fn count_finished(&mut self) {
        let failed = (self.pods.failed.len() as i32).max(self.status.failed.unwrap_or(0));
        self.status.failed = Some(failed);
        if self.indexed() {
            let completions = self.spec.completions.unwrap_or(0);
            let recorded = self.status.completed_indexes.as_deref().unwrap_or("");
            let mut indexes = parse_completed_indexes(recorded, completions);
            indexes.extend(
                self.pods.succeeded.iter().filter_map(|pod| completion_index(pod)).filter(|index| *index < completions),
            );
            self.status.succeeded = Some(indexes.len() as i32);
            self.status.completed_indexes = Some(format_completed_indexes(&indexes));
            self.succeeded_indexes = Some(indexes);
        } else {
            let succeeded = (self.pods.succeeded.len() as i32).max(self.status.succeeded.unwrap_or(0));
            self.status.succeeded = Some(succeeded);
        }
    }

    /// Why the Job fails now, if it does: an earlier `FailureTarget`, failures past
    /// `backoffLimit`, or `activeDeadlineSeconds` passed. Requeues for the deadline otherwise.
    fn failure_condition(&mut self) -> Option<(String, String)> {
        if let Some(target) = condition(&self.status, JOB_FAILURE_TARGET).filter(|c| c.status == "True") {
            return Some((target.reason.clone().unwrap_or_default(), target.message.clone().unwrap_or_default()));
        }
        let backoff_limit = self.spec.backoff_limit.unwrap_or(DEFAULT_BACKOFF_LIMIT);
        if self.status.failed.unwrap_or(0) > backoff_limit {
            return Some(("BackoffLimitExceeded".into(), "Job has reached the specified backoff limit".into()));
        }
        let deadline = self.spec.active_deadline_seconds.filter(|_| !self.suspended());
        let (Some(seconds), Some(start)) = (deadline, self.status.start_time.as_ref()) else { return None };
        let deadline_at = start.0 + SignedDuration::from_secs(seconds);
        if self.now >= deadline_at {
            return Some(("DeadlineExceeded".into(), "Job was active longer than specified deadline".into()));
        }
        let remaining = Duration::try_from(deadline_at.duration_since(self.now)).unwrap_or(Duration::ZERO);
        self.reconciled.requeue_no_later_than(remaining);
        None
    }

    /// Deletes every active pod; once every pod is observed (expectations satisfied) sets
    /// `FailureTarget`, and `Failed` once no pod is left terminating.
    fn fail(&mut self, expectations: &mut ControllerExpectations, satisfied: bool, reason: String, message: &str) {
        let active = self.pods.active.clone();
        self.delete_pods(expectations, &active);
        if !satisfied {
            return;
        }
        ensure_condition(&mut self.status, JOB_FAILURE_TARGET, "True", &reason, message, self.now);
        if self.pods.terminating == 0 {
            ensure_condition(&mut self.status, JOB_FAILED, "True", &reason, message, self.now);
            self.event(EventType::Warning, &reason, message);
        }
    }

    /// `manageJob`: delete pods while suspended or beyond what is wanted, else create the
    /// missing ones once the failure back-off has passed.
    fn manage(&mut self, expectations: &mut ControllerExpectations) {
        let active = self.pods.active.len() as i32;
        if self.suspended() {
            let doomed = self.pods.active.clone();
            self.delete_pods(expectations, &doomed);
            return;
        }
        let want_active = match self.spec.completions {
            None if self.succeeded() > 0 => active,
            None => self.parallelism(),
            Some(completions) => (completions - self.succeeded()).clamp(0, self.parallelism()),
        };
        let doomed = self.pods_for_removal((active - want_active).max(0) as usize);
        if !doomed.is_empty() {
            self.delete_pods(expectations, &doomed);
            return;
        }
        let replace_only_failed =
            self.spec.pod_replacement_policy.as_deref() == Some("Failed") || self.spec.pod_failure_policy.is_some();
        let terminating = if replace_only_failed { self.pods.terminating as i32 } else { 0 };
        let missing = want_active - terminating - active;
        if missing <= 0 {
            return;
        }
        let finished: Vec<&Pod> = self.pods.succeeded.iter().chain(&self.pods.failed).copied().collect();
        let remaining = BackoffRecord::from_pods(&finished).remaining(self.now);
        if !remaining.is_zero() {
            self.reconciled.requeue_no_later_than(remaining);
            return;
        }
        self.create_pods(expectations, (missing as usize).min(MAX_POD_CREATE_DELETE_PER_SYNC));
    }

    /// The active pods to delete (`activePodsForRemoval`): for Indexed Jobs every pod with a bad,
    /// completed or duplicated index, then at least `count` by Kubernetes' deletion ranking.
    fn pods_for_removal(&self, count: usize) -> Vec<&'a Pod> {
        let mut doomed: Vec<&'a Pod> = Vec::new();
        let mut rest: Vec<&'a Pod> = Vec::new();
        if let Some(succeeded) = &self.succeeded_indexes {
            let completions = self.spec.completions.unwrap_or(0);
            let mut seen = BTreeSet::new();
            for &pod in &self.pods.active {
                match completion_index(pod) {
                    Some(index) if index < completions && !succeeded.contains(&index) && seen.insert(index) => {
                        rest.push(pod)
                    }
                    _ => doomed.push(pod),
                }
            }
        } else {
            rest = self.pods.active.clone();
        }
        let ranked = rank_for_deletion(&rest, &self.pods.active, self.now);
        doomed.extend(ranked.into_iter().take(count.saturating_sub(doomed.len())));
        doomed.truncate(MAX_POD_CREATE_DELETE_PER_SYNC);
        doomed
    }

    /// Deletes pods in one batch with their events, expecting the deletions; the deleted pods
    /// stop counting as active and start counting as terminating.
    fn delete_pods(&mut self, expectations: &mut ControllerExpectations, doomed: &[&Pod]) {
        if doomed.is_empty() {
            return;
        }
        let keys: Vec<String> = doomed.iter().map(|pod| controller_key(&pod.metadata)).collect();
        expectations.expect_deletions(&self.key, &keys, self.now);
        self.reconciled.push_batch(doomed.iter().map(|pod| delete_pod(pod)).collect());
        let involved = self.involved();
        let events = doomed.iter().map(|pod| {
            let message = format!("Deleted pod: {}", pod.metadata.name.as_deref().unwrap_or(""));
            event_action(&involved, JOB_CONTROLLER_COMPONENT, EventType::Normal, "SuccessfulDelete", &message, self.now)
        });
        self.reconciled.push_batch(events.collect());
        let uids: BTreeSet<&str> = doomed.iter().filter_map(|pod| pod.metadata.uid.as_deref()).collect();
        self.pods.active.retain(|pod| !uids.contains(pod.metadata.uid.as_deref().unwrap_or("")));
        self.pods.terminating += doomed.len();
    }

    /// After managing pods: `SuccessCriteriaMet` and `Complete` when enough pods succeeded and
    /// none is left, else, if pods were managed, the `Suspended` condition as `suspend` says.
    fn finish_or_suspend(&mut self, managed: bool) {
        let no_active = self.pods.active.is_empty() && self.created == 0;
        let complete = match self.spec.completions {
            None => self.succeeded() > 0 && no_active,
            Some(completions) => self.succeeded() >= completions && no_active,
        };
        if complete {
            let message = "Reached expected number of succeeded pods";
            ensure_condition(
                &mut self.status,
                JOB_SUCCESS_CRITERIA_MET,
                "True",
                "CompletionsReached",
                message,
                self.now,
            );
            if self.pods.terminating == 0 {
                ensure_condition(&mut self.status, JOB_COMPLETE, "True", "CompletionsReached", message, self.now);
                self.status.completion_time = Some(Time(self.now));
                self.event(EventType::Normal, "Completed", "Job completed");
            }
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

    /// Fills in `active`, `ready` and `terminating` and writes the status if it changed.
    fn write_status(&mut self, old: &JobStatus) {
        self.status.active = Some((self.pods.active.len() + self.created) as i32);
        self.status.ready = Some(self.pods.active.iter().filter(|pod| is_pod_ready(pod)).count() as i32);
        self.status.terminating = Some(self.pods.terminating as i32);
        if self.status != *old {
            let mut updated = self.job.clone();
            updated.status = Some(self.status.clone());
            self.reconciled.push_alone(Action::UpdateStatus { object: to_object(&updated) });
        }
    }
}

#[cfg(test)]
mod tests;
