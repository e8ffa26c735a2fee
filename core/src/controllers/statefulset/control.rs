//! `updateStatefulSet`: create missing ordinals, replace finished pods, delete condemned
//! ordinals from the highest down, then roll pods to the update revision from the highest
//! ordinal down to the partition. With `OrderedReady` each step waits until every lower
//! ordinal is Running and Ready (and available); with `Parallel` nothing waits.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodTemplateSpec};
use k8s_openapi::jiff::Timestamp;

use super::identity::{
    has_finished, identity_matches, in_ordinal_range, is_healthy, is_on_delete, is_running_and_available,
    is_running_and_ready, is_terminating, min_ready_seconds, new_stateful_set_pod, ordinal, partition,
    persistent_volume_claims, pod_name, pod_revision, replicas, set_name, set_pod_revision, start_ordinal,
    storage_matches, update_identity, update_storage,
};
use super::retention::{claim_to_update, wanted_owner_references};
use crate::controllers::action::{Action, EventType, Reconciled, event_action, object_reference, to_object};
use crate::controllers::pods::{becomes_available_at, phase};
use crate::controllers::replicaset::delete_pod;

/// The component that records the StatefulSet's events.
pub const COMPONENT: &str = "statefulset-controller";

/// One ordinal's pod: observed, or made this sync because none exists.
enum Slot<'a> {
    Observed(&'a Pod),
    Missing(Box<Pod>),
}

impl Slot<'_> {
    fn pod(&self) -> &Pod {
        match self {
            Slot::Observed(pod) => pod,
            Slot::Missing(pod) => pod,
        }
    }
}

/// Everything one sync of one set reads and writes.
pub(super) struct Control<'a> {
    pub set: &'a StatefulSet,
    pub current_template: PodTemplateSpec,
    pub current_revision: String,
    pub update_revision: String,
    pub claims: BTreeMap<&'a str, &'a PersistentVolumeClaim>,
    pub now: Timestamp,
    pub reconciled: Reconciled,
    /// Events, sent last in one batch: they share a name stem and must not stop the pod work.
    pub events: Vec<Action>,
    /// The rolling update deleted a current pod (`status.CurrentReplicas--`).
    pub current_replica_deleted: bool,
}

impl<'a> Control<'a> {
    fn monotonic(&self) -> bool {
        !super::identity::allows_burst(self.set)
    }

    /// `updateStatefulSet` over the set's claimed pods.
    pub fn update(&mut self, pods: &[&'a Pod]) {
        let (start, count) = (start_ordinal(self.set), replicas(self.set));
        // Ordinals are materialized up to the highest existing pod plus one burst: a set of
        // i32::MAX replicas must not allocate a slot per replica (Kubernetes would); the
        // missing ones beyond are made by later syncs as the pods appear.
        let index_of = |pod: &Pod| usize::try_from(i64::from(ordinal(pod)) - i64::from(start)).unwrap_or(0);
        let highest = pods.iter().filter(|pod| in_ordinal_range(self.set, pod)).map(|pod| index_of(pod)).max();
        let window = highest
            .map_or(0, |highest| highest.saturating_add(1))
            .saturating_add(crate::controllers::BURST_REPLICAS)
            .min(usize::try_from(count).unwrap_or(0));
        let mut observed: Vec<Option<&'a Pod>> = vec![None; window];
        let mut condemned: Vec<&'a Pod> = Vec::new();
        for pod in pods {
            if in_ordinal_range(self.set, pod) {
                if let Some(slot) = observed.get_mut(index_of(pod)) {
                    *slot = Some(pod);
                }
            } else if ordinal(pod) >= 0 {
                condemned.push(pod);
            }
        }
        let slots: Vec<Slot<'a>> = observed
            .into_iter()
            .enumerate()
            .map(|(index, pod)| match pod {
                Some(pod) => Slot::Observed(pod),
                None => Slot::Missing(Box::new(self.new_versioned_pod(start.saturating_add(index as i32)))),
            })
            .collect();
        condemned.sort_by_key(|pod| std::cmp::Reverse(ordinal(pod)));
        let first_unhealthy = slots
            .iter()
            .map(Slot::pod)
            .chain(condemned.iter().rev().copied())
            .find(|pod| !is_healthy(pod))
            .and_then(|pod| pod.metadata.name.clone());
        if self.set.metadata.deletion_timestamp.is_some() {
            return;
        }
        let monotonic = self.monotonic();
        for slot in &slots {
            if self.process_replica(slot) && monotonic {
                return;
            }
        }
        for pod in &condemned {
            self.update_claims_for_retention(pod, true);
        }
        for pod in &condemned {
            if self.process_condemned(pod, first_unhealthy.as_deref()) && monotonic {
                return;
            }
        }
        if !is_on_delete(self.set) {
            self.roll(&slots);
        }
    }

    /// `newVersionedStatefulSetPod`: ordinals below the partition (or, without a rollingUpdate,
    /// below `status.currentReplicas`) are made at the current revision, the rest at the update
    /// revision.
    fn new_versioned_pod(&self, ordinal: i32) -> Pod {
        let current_replicas = self.set.status.as_ref().and_then(|status| status.current_replicas).unwrap_or(0);
        let at_current = match partition(self.set) {
            Some(partition) => ordinal < partition,
            None => !is_on_delete(self.set) && ordinal < current_replicas,
        };
        let live_template = self.set.spec.as_ref().map(|spec| spec.template.clone()).unwrap_or_default();
        let (template, revision) = if at_current {
            (&self.current_template, &self.current_revision)
        } else {
            (&live_template, &self.update_revision)
        };
        let mut pod = new_stateful_set_pod(self.set, template, ordinal);
        set_pod_revision(&mut pod, revision);
        pod
    }

    /// `processReplica`; returns whether a monotonic sync must stop here.
    fn process_replica(&mut self, slot: &Slot<'_>) -> bool {
        let pod = match slot {
            Slot::Missing(pod) => {
                if self.claim_is_stale(pod) {
                    return true;
                }
                self.create_missing_claims(ordinal(pod));
                self.reconciled.push_alone(Action::Create { object: to_object(pod), on_created: None });
                self.pod_event("create", pod);
                return self.monotonic();
            }
            Slot::Observed(pod) => *pod,
        };
        if has_finished(pod) {
            if !is_terminating(pod) {
                self.reconciled.push_alone(delete_pod(pod));
                self.pod_event("delete", pod);
            }
            return true;
        }
        if phase(pod) == "Pending" {
            self.create_missing_claims(ordinal(pod));
        }
        let monotonic = self.monotonic();
        if monotonic && (is_terminating(pod) || !is_running_and_ready(pod)) {
            return true;
        }
        if monotonic && !is_running_and_available(pod, min_ready_seconds(self.set), self.now) {
            self.requeue_until_available(pod);
            return true;
        }
        self.update_claims_for_retention(pod, false);
        if !identity_matches(self.set, pod) || !storage_matches(self.set, pod) {
            let mut updated = pod.clone();
            update_identity(self.set, &mut updated, ordinal(pod));
            update_storage(self.set, &mut updated, ordinal(pod));
            self.create_missing_claims(ordinal(pod));
            self.reconciled.push_alone(Action::Update { object: to_object(&updated) });
        }
        false
    }

    /// `processCondemned`; returns whether a monotonic sync must stop here.
    fn process_condemned(&mut self, pod: &Pod, first_unhealthy: Option<&str>) -> bool {
        let monotonic = self.monotonic();
        if is_terminating(pod) {
            return monotonic;
        }
        let is_first_unhealthy = pod.metadata.name.as_deref() == first_unhealthy;
        if monotonic && !is_first_unhealthy && !is_running_and_ready(pod) {
            return true;
        }
        if monotonic && !is_first_unhealthy && !is_running_and_available(pod, min_ready_seconds(self.set), self.now) {
            self.requeue_until_available(pod);
            return true;
        }
        self.reconciled.push_alone(delete_pod(pod));
        self.pod_event("delete", pod);
        true
    }

    /// The rolling update: from the highest ordinal down to the partition, delete the first pod
    /// not at the update revision, or stop at the first unhealthy one.
    fn roll(&mut self, slots: &[Slot<'_>]) {
        let update_min = partition(self.set).unwrap_or(0).max(0) as usize;
        for slot in slots.iter().skip(update_min).rev() {
            let pod = slot.pod();
            if pod_revision(pod) != self.update_revision && !is_terminating(pod) {
                if let Slot::Observed(pod) = slot {
                    self.reconciled.push_alone(delete_pod(pod));
                    self.pod_event("delete", pod);
                }
                self.current_replica_deleted = true;
                return;
            }
            if !is_healthy(pod) {
                return;
            }
        }
    }

    /// A claim of the new pod still belongs to an earlier pod of that name, or is being
    /// deleted: the pod must wait (`PodClaimIsStale`).
    fn claim_is_stale(&self, pod: &Pod) -> bool {
        let name = pod.metadata.name.as_deref().unwrap_or("");
        persistent_volume_claims(self.set, ordinal(pod)).values().any(|wanted| {
            let Some(claim) = self.claims.get(wanted.metadata.name.as_deref().unwrap_or("")) else { return false };
            let stale_owner = claim.metadata.owner_references.iter().flatten().any(|reference| {
                reference.kind == "Pod" && reference.name == name && Some(&reference.uid) != pod.metadata.uid.as_ref()
            });
            stale_owner || claim.metadata.deletion_timestamp.is_some()
        })
    }

    /// Creates, in one batch, the claims of `ordinal` that do not exist (`createPersistentVolumes`).
    fn create_missing_claims(&mut self, ordinal: i32) {
        let creates = persistent_volume_claims(self.set, ordinal)
            .into_values()
            .filter(|claim| !self.claims.contains_key(claim.metadata.name.as_deref().unwrap_or("")))
            .map(|mut claim| {
                let references = wanted_owner_references(self.set, &claim, None, false);
                claim.metadata.owner_references = (!references.is_empty()).then_some(references);
                Action::Create { object: to_object(&claim), on_created: None }
            })
            .collect();
        self.reconciled.push_batch(creates);
    }

    /// Puts the pod's existing claims' owners in line with the retention policy.
    fn update_claims_for_retention(&mut self, pod: &Pod, scaled_down: bool) {
        let updates = persistent_volume_claims(self.set, ordinal(pod))
            .values()
            .filter_map(|wanted| self.claims.get(wanted.metadata.name.as_deref().unwrap_or("")))
            .filter_map(|claim| claim_to_update(self.set, claim, pod, scaled_down))
            .map(|claim| Action::Update { object: to_object(&claim) })
            .collect();
        self.reconciled.push_batch(updates);
    }

    fn requeue_until_available(&mut self, pod: &Pod) {
        if let Some(at) = becomes_available_at(pod, min_ready_seconds(self.set), self.now) {
            let wait = Duration::try_from(at.duration_since(self.now)).unwrap_or(Duration::ZERO);
            self.reconciled.requeue_no_later_than(wait.max(Duration::from_secs(1)));
        }
    }

    /// `recordPodEvent`: "create Pod web-0 in StatefulSet web successful".
    fn pod_event(&mut self, verb: &str, pod: &Pod) {
        let involved = object_reference("apps/v1", "StatefulSet", &self.set.metadata);
        let name = pod.metadata.name.clone().unwrap_or_else(|| pod_name(self.set, ordinal(pod)));
        let message = format!("{verb} Pod {name} in StatefulSet {} successful", set_name(self.set));
        let reason = format!("Successful{}{}", verb[..1].to_uppercase(), &verb[1..]);
        self.events.push(event_action(&involved, COMPONENT, EventType::Normal, &reason, &message, self.now));
    }
}
