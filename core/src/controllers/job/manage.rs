//! `manageJob`: delete the active pods of a suspended Job or beyond what is wanted, else create
//! the missing ones once the failure back-off has passed (per index with
//! `backoffLimitPerIndex`).

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;

use super::backoff::BackoffRecord;
use super::claim::remove_finalizer_action;
use super::per_index::remaining_time_per_index;
use super::{IndexIntervals, JOB_CONTROLLER_COMPONENT, MAX_POD_CREATE_DELETE_PER_SYNC, SyncJob, completion_index};
use crate::controllers::action::{EventType, event_action};
use crate::controllers::expectations::ControllerExpectations;
use crate::controllers::pods::{phase, rank_for_deletion};
use crate::controllers::replicaset::{controller_key, delete_pod};

impl<'a> SyncJob<'a> {
    /// Deletes all active pods while suspended, the surplus beyond what is wanted, or else
    /// creates the missing pods.
    pub(super) fn manage(&mut self, expectations: &mut ControllerExpectations) {
        let active = i32::try_from(self.pods.active.len()).unwrap_or(i32::MAX);
        if self.suspended() {
            let doomed = self.pods_for_removal(self.pods.active.len());
            self.delete_pods(expectations, &doomed, true);
            return;
        }
        let want_active = match self.spec.completions {
            None if self.succeeded > 0 => active,
            None => self.parallelism(),
            Some(completions) => completions.saturating_sub(self.succeeded).clamp(0, self.parallelism()),
        };
        let surplus = usize::try_from(active.saturating_sub(want_active)).unwrap_or(0);
        let doomed = self.pods_for_removal(surplus);
        if !doomed.is_empty() {
            self.delete_pods(expectations, &doomed, true);
            return;
        }
        let terminating =
            if self.only_replace_failed() { i32::try_from(self.pods.terminating).unwrap_or(i32::MAX) } else { 0 };
        let missing = want_active.saturating_sub(terminating).saturating_sub(active);
        if missing <= 0 {
            return;
        }
        if !self.per_index() {
            let finished: Vec<&Pod> =
                self.pods.all.iter().copied().filter(|pod| matches!(phase(pod), "Succeeded" | "Failed")).collect();
            let remaining = BackoffRecord::from_pods(&finished).remaining(self.now);
            if !remaining.is_zero() {
                self.reconciled.requeue_no_later_than(remaining);
                return;
            }
        }
        let count = usize::try_from(missing).unwrap_or(0).min(MAX_POD_CREATE_DELETE_PER_SYNC);
        let indexes: Vec<Option<i32>> = if self.succeeded_indexes.is_some() {
            let pending = self.first_pending_indexes(count);
            let Some(ready) = self.indexes_past_back_off(pending) else { return };
            ready.into_iter().map(Some).collect()
        } else {
            vec![None; count]
        };
        self.create_pods(expectations, indexes);
    }

    /// With `backoffLimitPerIndex`, the pending indexes whose own back-off has passed; when none
    /// has, requeues for the earliest and returns `None` (`getPodCreationInfoForIndependentIndexes`).
    fn indexes_past_back_off(&mut self, pending: Vec<i32>) -> Option<Vec<i32>> {
        if !self.per_index() {
            return Some(pending);
        }
        let mut ready = Vec::new();
        let mut earliest: Option<Duration> = None;
        for index in pending {
            let remaining = remaining_time_per_index(self.delayed_deletion.get(&index).copied(), self.now);
            if remaining.is_zero() {
                ready.push(index);
            } else {
                earliest = Some(earliest.map_or(remaining, |earliest| earliest.min(remaining)));
            }
        }
        match (ready.is_empty(), earliest) {
            (true, Some(delay)) => {
                self.reconciled.requeue_no_later_than(delay);
                None
            }
            _ => Some(ready),
        }
    }

    /// `firstPendingIndexes`: the lowest `count` indexes below `completions` that neither
    /// succeeded, failed, nor belong to an active pod (or a terminating one, when only failed
    /// pods are replaced).
    fn first_pending_indexes(&self, count: usize) -> Vec<i32> {
        let mut taken: Vec<i32> = self.pods.active.iter().filter_map(|pod| completion_index(pod)).collect();
        if self.only_replace_failed() {
            let terminating = self.pods.all.iter().filter(|pod| {
                !matches!(phase(pod), "Succeeded" | "Failed") && pod.metadata.deletion_timestamp.is_some()
            });
            taken.extend(terminating.filter_map(|pod| completion_index(pod)));
        }
        let mut taken = IndexIntervals::from_indexes(taken);
        for settled in self.succeeded_indexes.iter().chain(&self.failed_indexes) {
            taken = taken.union(settled);
        }
        taken.first_missing(count, self.completions())
    }

    /// The active pods to delete (`activePodsForRemoval`): for Indexed Jobs every pod with a bad,
    /// completed or duplicated index, then at least `count` by Kubernetes' deletion ranking.
    fn pods_for_removal(&self, count: usize) -> Vec<&'a Pod> {
        let mut doomed: Vec<&'a Pod> = Vec::new();
        let mut rest: Vec<&'a Pod> = Vec::new();
        if let Some(succeeded) = &self.succeeded_indexes {
            let mut seen = BTreeSet::new();
            for &pod in &self.pods.active {
                match self.valid_index(pod) {
                    Some(index) if !succeeded.contains(index) && seen.insert(index) => rest.push(pod),
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
    /// stop counting as active and start counting as terminating. Pods deleted because they
    /// are not wanted lose the tracking finalizer first, so they do not count as failed
    /// (`deleteJobPods`); pods of a finishing Job keep it (`deleteActivePods`).
    pub(super) fn delete_pods(&mut self, expectations: &mut ControllerExpectations, doomed: &[&Pod], uncount: bool) {
        if doomed.is_empty() {
            return;
        }
        if uncount {
            let patches = doomed.iter().filter(|pod| self.has_finalizer(pod)).map(|pod| remove_finalizer_action(pod));
            self.reconciled.push_batch(patches.collect());
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
        self.pods.terminating = self.pods.terminating.saturating_add(doomed.len());
    }
}
