//! Counting finished pods with the tracking finalizer (`trackJobStatusAndRemoveFinalizers`):
//! a finished pod still carrying `batch.kubernetes.io/job-tracking` is recorded in
//! `status.uncountedTerminatedPods`, then loses the finalizer, then moves into `succeeded` or
//! `failed`. The status write comes first, so a pod is never forgotten; the counters move only
//! for pods whose finalizer is gone, so none is counted twice, and deleting a counted pod
//! changes nothing.

use std::borrow::Borrow;
use std::collections::BTreeSet;

use k8s_openapi::api::batch::v1::{Job, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::json;

use super::claim::remove_finalizer_action;
use super::conditions::ensure_condition;
use super::pod_outcome::has_tracking_finalizer;
use super::{
    Finished, JOB_COMPLETE, JOB_FAILED, JOB_FAILURE_TARGET, JOB_SUCCESS_CRITERIA_MET, SyncJob, completion_index,
    match_pod_failure_policy,
};
use crate::controllers::action::{Action, EventType, PatchType, Reconciled, to_object};
use crate::controllers::owner::{controller_of, is_controlled_by};
use crate::controllers::pods::phase;
use crate::object::kinds::GroupResource;

/// Most pods recorded in `uncountedTerminatedPods` at once (`MaxUncountedPods`), which keeps
/// the status small and one large Job from starving the others.
pub const MAX_UNCOUNTED_PODS: usize = 500;

const JOB_STATUS: GroupResource = GroupResource { group: "batch", resource: "jobs/status" };

/// `status.uncountedTerminatedPods` as lists of uids, in the order they were recorded.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Uncounted {
    pub succeeded: Vec<String>,
    pub failed: Vec<String>,
}

impl Uncounted {
    /// The recorded lists, without repeats.
    pub fn of(status: &JobStatus) -> Uncounted {
        let recorded = status.uncounted_terminated_pods.clone().unwrap_or_default();
        let unique = |uids: Option<Vec<String>>| {
            let mut seen = BTreeSet::new();
            uids.unwrap_or_default().into_iter().filter(|uid| seen.insert(uid.clone())).collect()
        };
        Uncounted { succeeded: unique(recorded.succeeded), failed: unique(recorded.failed) }
    }

    /// The lists as the status carries them: always present, so an emptied list is written.
    pub fn to_status(&self) -> UncountedTerminatedPods {
        UncountedTerminatedPods { succeeded: Some(self.succeeded.clone()), failed: Some(self.failed.clone()) }
    }

    pub fn contains(&self, uid: &str) -> bool {
        self.has_succeeded(uid) || self.has_failed(uid)
    }

    pub fn has_succeeded(&self, uid: &str) -> bool {
        self.succeeded.iter().any(|known| known == uid)
    }

    pub fn has_failed(&self, uid: &str) -> bool {
        self.failed.iter().any(|known| known == uid)
    }

    fn len(&self) -> usize {
        self.succeeded.len().saturating_add(self.failed.len())
    }

    /// `cleanUncountedPodsWithoutFinalizers`: moves every uid whose pod no longer carries the
    /// finalizer (or is gone) into the counters. Returns whether anything moved.
    fn move_counted(&mut self, status: &mut JobStatus, still_tracked: &BTreeSet<&str>) -> bool {
        let before = (self.succeeded.len(), self.failed.len());
        self.succeeded.retain(|uid| still_tracked.contains(uid.as_str()));
        self.failed.retain(|uid| still_tracked.contains(uid.as_str()));
        let moved = |count: usize| i32::try_from(count).unwrap_or(i32::MAX);
        let succeeded = moved(before.0 - self.succeeded.len());
        let failed = moved(before.1 - self.failed.len());
        status.succeeded = Some(status.succeeded.unwrap_or(0).saturating_add(succeeded));
        status.failed = Some(status.failed.unwrap_or(0).saturating_add(failed));
        status.uncounted_terminated_pods = Some(self.to_status());
        succeeded > 0 || failed > 0
    }
}

impl<'a> SyncJob<'a> {
    /// `canRemoveFinalizer`: always for a deleted or finishing Job and for succeeded pods;
    /// for failed pods unless the pod is the one its index's replacement inherits from.
    fn can_remove_finalizer(&self, pod: &Pod, failed: bool) -> bool {
        if self.job.metadata.deletion_timestamp.is_some() || self.finished.is_some() || phase(pod) == "Succeeded" {
            return true;
        }
        if !failed {
            return false;
        }
        let delayed = completion_index(pod).and_then(|index| self.delayed_deletion.get(&index));
        delayed.is_none_or(|delayed| delayed.metadata.uid != pod.metadata.uid)
    }

    /// Records the finished pods in `uncountedTerminatedPods`, picks the pods whose finalizer
    /// goes, and returns them; stops at [`MAX_UNCOUNTED_PODS`] (the bool says it did).
    fn record_finished(&mut self, uncounted: &mut Uncounted) -> (Vec<&'a Pod>, bool) {
        let mut pods = self.pods.all.clone();
        if self.indexed() {
            pods.sort_by_key(|pod| completion_index(pod).unwrap_or(-1));
        }
        let mut removals = Vec::new();
        let mut new_indexes = Vec::new();
        let failing_all = self.finished.as_ref().is_some_and(|finished| !finished.is_success());
        let mut reached_max = false;
        for pod in pods {
            let failed = self.is_failed(pod);
            if !self.has_finalizer(pod) || !self.can_remove_finalizer(pod, failed) {
                continue;
            }
            removals.push(pod);
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            if phase(pod) == "Succeeded" && !self.uncounted.has_failed(&uid) {
                if self.indexed() {
                    let index = self.valid_index(pod).filter(|index| !self.prev_succeeded_indexes.contains(*index));
                    new_indexes.extend(index);
                } else if !self.uncounted.has_succeeded(&uid) {
                    uncounted.succeeded.push(uid);
                }
            } else if (failed || failing_all)
                && !self.uncounted.has_failed(&uid)
                && (!self.indexed() || self.valid_index(pod).is_some())
                && match_pod_failure_policy(self.spec.pod_failure_policy.as_ref(), pod).counts
            {
                uncounted.failed.push(uid);
            }
            if new_indexes.len().saturating_add(uncounted.len()) >= super::tracking::MAX_UNCOUNTED_PODS {
                reached_max = true;
                break;
            }
        }
        self.status.uncounted_terminated_pods = Some(uncounted.to_status());
        if let Some(succeeded) = &mut self.succeeded_indexes {
            succeeded.extend(new_indexes);
            self.status.succeeded = Some(i32::try_from(succeeded.total()).unwrap_or(i32::MAX));
            self.status.completed_indexes = Some(succeeded.to_string());
            self.status.failed_indexes = self.failed_indexes.as_ref().map(ToString::to_string);
        }
        (removals, reached_max)
    }

    /// Writes the interim `FailureTarget` or `SuccessCriteriaMet` condition and turns the
    /// decision into the final `Failed` or `Complete` one.
    fn write_interim_condition(&mut self) {
        let Some(finished) = self.finished.clone() else { return };
        let final_type = match finished.type_ {
            JOB_FAILURE_TARGET => JOB_FAILED,
            JOB_SUCCESS_CRITERIA_MET => JOB_COMPLETE,
            _ => return,
        };
        ensure_condition(&mut self.status, finished.type_, "True", &finished.reason, &finished.message, self.now);
        self.finished = Some(Finished { type_: final_type, ..finished });
    }

    /// `enactJobFinished`: the final condition, once no pod is left uncounted or terminating.
    fn enact_finished(&mut self, status: &mut JobStatus, uncounted: &Uncounted) -> bool {
        let Some(finished) = self.finished.clone() else { return false };
        if uncounted.len() > 0 || self.pods.terminating > 0 {
            return false;
        }
        ensure_condition(status, finished.type_, "True", &finished.reason, &finished.message, self.now);
        if finished.type_ == JOB_COMPLETE {
            status.completion_time = Some(Time(self.now));
            let succeeded = status.succeeded.unwrap_or(0);
            if self.spec.completions.is_some_and(|completions| succeeded > completions) {
                let message = "Too many succeeded pods running after completion count reached";
                self.event(EventType::Warning, "TooManySucceededPods", message);
            }
            self.event(EventType::Normal, "Completed", "Job completed");
        } else {
            self.event(EventType::Warning, &finished.reason, &finished.message);
        }
        true
    }

    /// The tracking step and the status writes, in Kubernetes' order: the status with the
    /// newly uncounted pods (and interim condition), the finalizer removals, then the status
    /// with those pods counted (and the final condition). Pod creations, deletions and events
    /// follow; the adoption and release patches go first.
    pub(super) fn track_and_write_status(mut self, old: &JobStatus, claims: Vec<Action>) -> Reconciled {
        let tracked: BTreeSet<&str> = self
            .pods
            .all
            .iter()
            .filter(|pod| self.has_finalizer(pod))
            .filter_map(|pod| pod.metadata.uid.as_deref())
            .collect();
        let mut uncounted = self.uncounted.clone();
        uncounted.move_counted(&mut self.status, &tracked);
        let (removals, reached_max) = self.record_finished(&mut uncounted);
        self.write_interim_condition();
        self.fill_pod_counts();
        let recorded = self.status.clone();
        let mut counted = recorded.clone();
        let removed: BTreeSet<&str> = removals.iter().filter_map(|pod| pod.metadata.uid.as_deref()).collect();
        let still_tracked: BTreeSet<&str> = tracked.difference(&removed).copied().collect();
        uncounted.move_counted(&mut counted, &still_tracked);
        if !reached_max {
            self.enact_finished(&mut counted, &uncounted);
        }
        let mut out = Reconciled { requeue_after: self.reconciled.requeue_after, ..Reconciled::default() };
        out.push_batch(claims);
        let first_write = recorded != *old && !removals.is_empty();
        if first_write {
            out.push_alone(self.update_status(&recorded));
        }
        out.push_batch(removals.iter().map(|pod| remove_finalizer_action(pod)).collect());
        if first_write && counted != recorded {
            out.push_alone(self.patch_status(&counted));
        } else if !first_write && counted != *old {
            out.push_alone(self.update_status(&counted));
        }
        for batch in self.reconciled.batches() {
            out.push_batch(batch.to_vec());
        }
        out
    }

    fn update_status(&self, status: &JobStatus) -> Action {
        let mut updated = self.job.clone();
        updated.status = Some(status.clone());
        Action::UpdateStatus { object: to_object(&updated) }
    }

    /// The second status write of a sync, as a merge patch of the whole status: the first
    /// write's resourceVersion is unknown here, and no other writer changes a Job's status.
    fn patch_status(&self, status: &JobStatus) -> Action {
        Action::Patch {
            resource: JOB_STATUS,
            namespace: self.job.metadata.namespace.clone().unwrap_or_default(),
            name: self.job.metadata.name.clone().unwrap_or_default(),
            patch_type: PatchType::Merge,
            body: json!({ "status": status }),
        }
    }
}

/// A finished Job's pods keep no finalizer: removes any left (Kubernetes' orphan-pod sync for
/// pods of finished Jobs).
pub(super) fn release_finalizers_of_finished_job(job: &Job, pods: &[impl Borrow<Pod>]) -> Reconciled {
    let uid = job.metadata.uid.as_deref().unwrap_or("");
    let mut reconciled = Reconciled::default();
    let patches = pods
        .iter()
        .map(Borrow::borrow)
        .filter(|pod: &&Pod| pod.metadata.namespace == job.metadata.namespace)
        .filter(|pod| is_controlled_by(&pod.metadata, uid) && has_tracking_finalizer(pod))
        .map(remove_finalizer_action);
    reconciled.push_batch(patches.collect());
    reconciled
}

/// Once the Job `namespace/name` is gone, its pods (and orphans) that still carry the tracking
/// finalizer lose it (`syncOrphanPod`); `pods` are the candidates, such as those labelled
/// with the Job's name. Pods controlled by anything but a Job of that name are left alone.
pub fn release_finalizers_of_deleted_job(namespace: &str, name: &str, pods: &[impl Borrow<Pod>]) -> Reconciled {
    let mut reconciled = Reconciled::default();
    let patches = pods
        .iter()
        .map(Borrow::borrow)
        .filter(|pod: &&Pod| pod.metadata.namespace.as_deref() == Some(namespace) && has_tracking_finalizer(pod))
        .filter(|pod| {
            controller_of(&pod.metadata)
                .is_none_or(|owner| owner.kind == "Job" && owner.api_version == "batch/v1" && owner.name == name)
        })
        .map(remove_finalizer_action);
    reconciled.push_batch(patches.collect());
    reconciled
}
