//! One Deployment sync as a value: the working copies of the Deployment and its ReplicaSets
//! that Kubernetes' `syncDeployment` mutates through API calls, turned at the end into actions.
//!
//! Kubernetes writes as it goes and reuses each response; coxswain records the same writes on
//! working copies and emits one write per object (the new ReplicaSet's create, one update per
//! changed ReplicaSet, one status update of the Deployment carrying its revision annotation, as
//! Kubernetes' status strategy keeps annotations), so no write conflicts with an earlier one.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector as MetaLabelSelector, ObjectMeta};
use k8s_openapi::jiff::Timestamp;

use super::hash::compute_hash;
use super::util::{
    self, POD_TEMPLATE_HASH_LABEL, PROGRESSING, REVISION_ANNOTATION, deployment_replicas, find_new_replica_set,
    max_surge, new_condition, reason, set_condition, spec_replicas,
};
use crate::controllers::action::{Action, EventType, Reconciled, event_action, object_reference, to_object};
use crate::controllers::owner::controller_ref;
use crate::controllers::pods::{less_by, merge_sort};

/// The component name Deployment events carry.
pub const COMPONENT: &str = "deployment-controller";

/// A sync stopped early (Kubernetes returned an error); what was recorded so far is still sent.
#[derive(Debug)]
pub(super) struct Halt;

/// The state of one sync.
pub(super) struct Sync<'a> {
    /// The Deployment as observed.
    pub observed: &'a Deployment,
    /// The working copy: status and annotations change.
    pub deployment: Deployment,
    /// Working copies of the Deployment's ReplicaSets (claimed ones, plus one to create).
    pub sets: Vec<ReplicaSet>,
    /// Every ReplicaSet of the namespace, for name collisions.
    pub namespace_sets: &'a [ReplicaSet],
    /// Index in `sets` of the new ReplicaSet, once known.
    pub new: Option<usize>,
    /// Index in `sets` of a ReplicaSet to create.
    pub created: Option<usize>,
    /// Indices of existing ReplicaSets changed, in the order first changed.
    pub changed: Vec<usize>,
    /// Adoption and release patches.
    pub claims: Vec<Action>,
    /// Deletions of old ReplicaSets.
    pub deletes: Vec<Action>,
    /// Events to record.
    pub events: Vec<Action>,
    /// The time of this sync.
    pub now: Timestamp,
    /// When to look again.
    pub requeue_after: Option<Duration>,
}

impl<'a> Sync<'a> {
    /// A sync over the claimed ReplicaSets.
    pub fn new(
        observed: &'a Deployment,
        claimed: Vec<ReplicaSet>,
        namespace_sets: &'a [ReplicaSet],
        now: Timestamp,
    ) -> Self {
        let mut sets = claimed;
        sets.sort_by(util::by_creation_timestamp);
        Sync {
            observed,
            deployment: observed.clone(),
            sets,
            namespace_sets,
            new: None,
            created: None,
            changed: Vec::new(),
            claims: Vec::new(),
            deletes: Vec::new(),
            events: Vec::new(),
            now,
            requeue_after: None,
        }
    }

    /// The working status, created on first use.
    pub fn status(&mut self) -> &mut DeploymentStatus {
        self.deployment.status.get_or_insert_with(Default::default)
    }

    /// The working status, read-only.
    pub fn status_ref(&self) -> DeploymentStatus {
        self.deployment.status.clone().unwrap_or_default()
    }

    /// References to the ReplicaSets at these indices.
    pub fn refs(&self, indices: &[usize]) -> Vec<&ReplicaSet> {
        indices.iter().map(|index| &self.sets[*index]).collect()
    }

    /// Indices of every ReplicaSet but the new one.
    pub fn old_indices(&self) -> Vec<usize> {
        (0..self.sets.len()).filter(|index| Some(*index) != self.new).collect()
    }

    /// Indices of old ReplicaSets with a non-zero size.
    pub fn active_old_indices(&self) -> Vec<usize> {
        self.old_indices().into_iter().filter(|index| spec_replicas(&self.sets[*index]) > 0).collect()
    }

    /// The old indices followed by the new one, if any.
    pub fn all_indices(&self) -> Vec<usize> {
        let mut all = self.old_indices();
        all.extend(self.new);
        all
    }

    /// Sorts indices by an ordering of their ReplicaSets (stable).
    pub fn sort_indices(
        &self,
        indices: Vec<usize>,
        order: fn(&ReplicaSet, &ReplicaSet) -> std::cmp::Ordering,
    ) -> Vec<usize> {
        merge_sort(indices, &less_by(|left: &usize, right: &usize| order(&self.sets[*left], &self.sets[*right])))
    }

    fn involved(&self) -> ObjectReference {
        object_reference("apps/v1", "Deployment", &self.observed.metadata)
    }

    /// Records an event about the Deployment.
    pub fn event(&mut self, event_type: EventType, reason: &str, message: &str) {
        let action = event_action(&self.involved(), COMPONENT, event_type, reason, message, self.now);
        self.events.push(action);
    }

    /// Marks a ReplicaSet changed (to be written once).
    fn mark_changed(&mut self, index: usize) {
        if Some(index) != self.created && !self.changed.contains(&index) {
            self.changed.push(index);
        }
    }

    /// `scaleReplicaSetAndRecordEvent`: scale only if the size differs.
    pub fn scale_and_record(&mut self, index: usize, new_scale: i32) -> bool {
        let current = spec_replicas(&self.sets[index]);
        if current == new_scale {
            return false;
        }
        let operation = if current < new_scale { "up" } else { "down" };
        self.scale_replica_set(index, new_scale, operation)
    }

    /// `scaleReplicaSet`: set the size and the replicas annotations; an event if the size changed.
    pub fn scale_replica_set(&mut self, index: usize, new_scale: i32, operation: &str) -> bool {
        let replicas = deployment_replicas(&self.deployment);
        let surge = max_surge(&self.deployment);
        let replica_set = &self.sets[index];
        let old_scale = spec_replicas(replica_set);
        let size_needs_update = old_scale != new_scale;
        let annotations_need_update =
            util::replicas_annotations_need_update(replica_set, replicas, replicas.saturating_add(surge));
        if !size_needs_update && !annotations_need_update {
            return false;
        }
        let replica_set = &mut self.sets[index];
        util::set_spec_replicas(replica_set, new_scale);
        util::set_replicas_annotations(replica_set, replicas, replicas.saturating_add(surge));
        let name = replica_set.metadata.name.clone().unwrap_or_default();
        self.mark_changed(index);
        if size_needs_update {
            let message = format!("Scaled {operation} replica set {name} from {old_scale} to {new_scale}");
            self.event(EventType::Normal, "ScalingReplicaSet", &message);
        }
        size_needs_update
    }

    /// `getAllReplicaSetsAndSyncRevision` / `getNewReplicaSet`: find (or, if `create`, make)
    /// the new ReplicaSet and bring its annotations and the Deployment's revision up to date.
    pub fn sync_revision(&mut self, create: bool) -> Result<(), Halt> {
        let all: Vec<&ReplicaSet> = self.sets.iter().collect();
        let existing = find_new_replica_set(&self.deployment, &all).map(|found| {
            self.sets.iter().position(|replica_set| std::ptr::eq(replica_set, found)).expect("found among sets")
        });
        self.new = existing;
        let old = self.old_indices();
        let new_revision = util::max_revision(&self.refs(&old)) + 1;
        if let Some(index) = existing {
            return self.sync_existing_new(index, new_revision);
        }
        if create {
            return self.create_new(new_revision);
        }
        Ok(())
    }

    fn sync_existing_new(&mut self, index: usize, new_revision: i64) -> Result<(), Halt> {
        let mut replica_set = self.sets[index].clone();
        let annotations_updated =
            set_new_replica_set_annotations(&self.deployment, &mut replica_set, new_revision, true);
        let min_ready = util::min_ready_seconds(&self.deployment);
        let spec = replica_set.spec.get_or_insert_with(Default::default);
        let min_ready_needs_update = spec.min_ready_seconds.unwrap_or(0) != min_ready;
        if annotations_updated || min_ready_needs_update {
            spec.min_ready_seconds = (min_ready != 0).then_some(min_ready);
            self.sets[index] = replica_set;
            self.mark_changed(index);
            return Ok(());
        }
        let revision = annotation(&replica_set.metadata, REVISION_ANNOTATION).unwrap_or_default();
        set_deployment_revision(&mut self.deployment, &revision);
        let has_progressing = util::condition(&self.status_ref(), PROGRESSING).is_some();
        if util::progress_deadline_seconds(&self.deployment).is_some() && !has_progressing {
            let name = replica_set.metadata.name.clone().unwrap_or_default();
            let message = format!("Found new replica set {name:?}");
            let condition = new_condition(PROGRESSING, "True", reason::FOUND_NEW_REPLICA_SET, &message, self.now);
            set_condition(self.status(), condition);
        }
        Ok(())
    }

    fn create_new(&mut self, new_revision: i64) -> Result<(), Halt> {
        let collision_count = self.status_ref().collision_count;
        let mut template = util::template(&self.deployment);
        let hash = compute_hash(&template, collision_count);
        let labels = with_label(template.metadata.as_ref().and_then(|m| m.labels.as_ref()), &hash);
        template.metadata.get_or_insert_with(Default::default).labels = Some(labels.clone());
        let name = format!("{}-{hash}", self.deployment.metadata.name.as_deref().unwrap_or(""));
        if self.collides(&name) {
            let status = self.status();
            status.collision_count = Some(status.collision_count.unwrap_or(0) + 1);
            self.requeue_after = Some(Duration::ZERO);
            return Err(Halt);
        }
        let mut selector = self.deployment.spec.as_ref().map(|spec| spec.selector.clone()).unwrap_or_default();
        let mut match_labels = selector.match_labels.take().unwrap_or_default();
        match_labels.insert(POD_TEMPLATE_HASH_LABEL.to_string(), hash.clone());
        selector.match_labels = Some(match_labels);
        let min_ready = util::min_ready_seconds(&self.deployment);
        let mut replica_set = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: self.deployment.metadata.namespace.clone(),
                labels: Some(labels),
                owner_references: Some(vec![controller_ref("apps/v1", "Deployment", &self.deployment.metadata)]),
                ..ObjectMeta::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: (min_ready != 0).then_some(min_ready),
                selector,
                template: Some(template),
            }),
            status: None,
        };
        let mut all: Vec<&ReplicaSet> = self.sets.iter().collect();
        all.push(&replica_set);
        let new_replicas = util::new_replica_set_replicas(&self.deployment, &all, &replica_set).unwrap_or(0);
        util::set_spec_replicas(&mut replica_set, new_replicas);
        set_new_replica_set_annotations(&self.deployment, &mut replica_set, new_revision, false);
        self.sets.push(replica_set);
        self.new = Some(self.sets.len() - 1);
        self.created = self.new;
        if new_replicas > 0 {
            let message = format!("Scaled up replica set {name} from 0 to {new_replicas}");
            self.event(EventType::Normal, "ScalingReplicaSet", &message);
        }
        set_deployment_revision(&mut self.deployment, &new_revision.to_string());
        if util::progress_deadline_seconds(&self.deployment).is_some() {
            let message = format!("Created new replica set {name:?}");
            let condition = new_condition(PROGRESSING, "True", reason::NEW_REPLICA_SET_CREATED, &message, self.now);
            set_condition(self.status(), condition);
        }
        Ok(())
    }

    /// Another ReplicaSet already has the name the new one would get (a hash collision):
    /// Kubernetes bumps `status.collisionCount` and tries again with a different hash.
    fn collides(&self, name: &str) -> bool {
        self.namespace_sets.iter().any(|replica_set| {
            replica_set.metadata.name.as_deref() == Some(name)
                && replica_set.metadata.namespace == self.deployment.metadata.namespace
        })
    }

    /// The actions this sync decided, in the order Kubernetes would have made the calls.
    pub fn finish(self) -> Reconciled {
        let mut reconciled = Reconciled::default();
        reconciled.push_batch(self.claims);
        if let Some(index) = self.created {
            let on_created = None;
            reconciled.push_alone(Action::Create { object: to_object(&self.sets[index]), on_created });
        }
        for index in &self.changed {
            reconciled.push_alone(Action::Update { object: to_object(&self.sets[*index]) });
        }
        reconciled.push_batch(self.deletes);
        let mut deployment = self.deployment;
        if let Some(status) = deployment.status.take() {
            deployment.status = Some(normalize_status(status));
        }
        let observed_status = self.observed.status.clone().map(normalize_status);
        let status_changed = deployment.status != observed_status;
        let annotations_changed = deployment.metadata.annotations != self.observed.metadata.annotations;
        if status_changed || annotations_changed {
            reconciled.push_alone(Action::UpdateStatus { object: to_object(&deployment) });
        }
        reconciled.push_batch(self.events);
        reconciled.requeue_after = self.requeue_after;
        reconciled
    }
}

/// Kubernetes omits zero counts and empty lists (`omitempty`); so does coxswain, so that an
/// unchanged status compares equal whichever way it was written.
pub(super) fn normalize_status(mut status: DeploymentStatus) -> DeploymentStatus {
    for field in [
        &mut status.replicas,
        &mut status.updated_replicas,
        &mut status.ready_replicas,
        &mut status.available_replicas,
        &mut status.unavailable_replicas,
        &mut status.terminating_replicas,
    ] {
        if *field == Some(0) {
            *field = None;
        }
    }
    if status.observed_generation == Some(0) {
        status.observed_generation = None;
    }
    if status.conditions.as_ref().is_some_and(Vec::is_empty) {
        status.conditions = None;
    }
    status
}

fn annotation(metadata: &ObjectMeta, key: &str) -> Option<String> {
    metadata.annotations.as_ref()?.get(key).cloned()
}

fn with_label(labels: Option<&BTreeMap<String, String>>, hash: &str) -> BTreeMap<String, String> {
    let mut labels = labels.cloned().unwrap_or_default();
    labels.insert(POD_TEMPLATE_HASH_LABEL.to_string(), hash.to_string());
    labels
}

/// `SetDeploymentRevision`; true if it changed.
pub(super) fn set_deployment_revision(deployment: &mut Deployment, revision: &str) -> bool {
    let annotations = deployment.metadata.annotations.get_or_insert_with(BTreeMap::new);
    if annotations.get(REVISION_ANNOTATION).map(String::as_str) == Some(revision) {
        return false;
    }
    annotations.insert(REVISION_ANNOTATION.to_string(), revision.to_string());
    true
}

/// `SetNewReplicaSetAnnotations`: copy the Deployment's annotations, raise the revision to
/// `new_revision` (recording the one it replaces in revision-history when a ReplicaSet is
/// reused by a rollback) and, for a ReplicaSet about to be created, the replicas annotations.
pub(super) fn set_new_replica_set_annotations(
    deployment: &Deployment,
    replica_set: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
) -> bool {
    let mut changed = copy_deployment_annotations(deployment, replica_set);
    let annotations = replica_set.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let old_revision = annotations.get(REVISION_ANNOTATION).cloned();
    let old_revision_number = match old_revision.as_deref() {
        None | Some("") => 0,
        Some(text) => match text.parse::<i64>() {
            Ok(number) => number,
            Err(_) => return false,
        },
    };
    if old_revision_number < new_revision {
        annotations.insert(REVISION_ANNOTATION.to_string(), new_revision.to_string());
        changed = true;
        if let Some(old_revision) = old_revision {
            super::rollback::append_revision_history(annotations, &old_revision);
        }
    }
    if !exists {
        let replicas = deployment_replicas(deployment);
        changed |=
            util::set_replicas_annotations(replica_set, replicas, replicas.saturating_add(max_surge(deployment)));
    }
    changed
}

/// `copyDeploymentAnnotationsToReplicaSet`: every annotation but the controller's own.
fn copy_deployment_annotations(deployment: &Deployment, replica_set: &mut ReplicaSet) -> bool {
    let annotations = replica_set.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (key, value) in deployment.metadata.annotations.iter().flatten() {
        if util::skip_copy_annotation(key) || annotations.get(key) == Some(value) {
            continue;
        }
        annotations.insert(key.clone(), value.clone());
        changed = true;
    }
    changed
}

/// The Deployment's selector as written, for the "selecting everything" check.
pub(super) fn selects_everything(selector: &MetaLabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && selector.match_expressions.as_ref().is_none_or(Vec::is_empty)
}
