//! The StatefulSet controller (`pkg/controller/statefulset`): pods with stable names
//! `<set>-<ordinal>`, stable storage (one claim per volumeClaimTemplate and ordinal), created
//! and deleted in ordinal order (`OrderedReady`) or all at once (`Parallel`), and rolled to a
//! new template revision from the highest ordinal down to a partition (`RollingUpdate`) or
//! only as users delete them (`OnDelete`).
//!
//! [`reconcile_stateful_set`] is `syncStatefulSet` as a pure function. Differences from
//! Kubernetes, all deliberate: pods are named, so the controller keeps no expectations (a
//! second create of one name fails with AlreadyExists, a second delete on the uid
//! precondition); claims' retention owners are set when the claim is created and corrected
//! when they drift, and their deletion is left to the garbage collector, as in Kubernetes;
//! `maxUnavailable` (alpha in 1.32) is not read, so rolling updates take one pod at a time.

mod control;
pub mod identity;
mod retention;
mod status;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::jiff::Timestamp;

pub use control::COMPONENT;

use self::control::Control;
use self::identity::{is_member_of, ordinal, pod_revision, revision_history_limit};
use self::status::{Revisions, complete_rolling_update, compute_status, differs};
use super::action::{Action, EventType, Reconciled, event_action, object_reference, to_object};
use super::claims::claim_all;
use super::history::{RevisionSource, hash_revision_data, plan_revisions, revision_template, truncate_history};
use super::owner::controller_ref;
use super::pod_template::PODS;
use crate::selector::{LabelSelector, SelectorError};

/// Why a StatefulSet could not be reconciled.
#[derive(Debug, thiserror::Error)]
pub enum StatefulSetError {
    /// `spec.selector` is not a valid label selector.
    #[error("invalid selector of statefulset {key}: {source}")]
    InvalidSelector {
        /// `namespace/name` of the StatefulSet.
        key: String,
        /// What is wrong with it.
        #[source]
        source: SelectorError,
    },
}

/// Reconciles one StatefulSet (`syncStatefulSet`).
///
/// `pods`, `claims` and `revisions` are everything of the set's namespace the shell observed
/// (pods in every phase, so failed pods can be replaced). The actions adopt and release pods
/// and revisions, create the update revision, create claims before their pod, create, update
/// and delete pods, write the status, delete surplus history, and finally record events.
pub fn reconcile_stateful_set(
    set: &StatefulSet,
    pods: &[Pod],
    claims: &[PersistentVolumeClaim],
    revisions: &[ControllerRevision],
    now: Timestamp,
) -> Result<Reconciled, StatefulSetError> {
    let key = super::replicaset::controller_key(&set.metadata);
    let meta_selector = set.spec.as_ref().map(|spec| spec.selector.clone()).unwrap_or_default();
    let selector = LabelSelector::from_label_selector(Some(&meta_selector))
        .map_err(|source| StatefulSetError::InvalidSelector { key, source })?;
    let mut reconciled = Reconciled::default();
    if selector.is_empty() {
        let involved = object_reference("apps/v1", "StatefulSet", &set.metadata);
        let message = "This statefulset is selecting all pods. A non-empty selector is required.";
        reconciled.push_alone(event_action(&involved, COMPONENT, EventType::Warning, "SelectingAll", message, now));
        return Ok(reconciled);
    }
    let claimed = claim_pods(set, &selector, pods, &mut reconciled);
    let template = set.spec.as_ref().map(|spec| spec.template.clone()).unwrap_or_default();
    let source = RevisionSource {
        parent: &set.metadata,
        owner: controller_ref("apps/v1", "StatefulSet", &set.metadata),
        template: &template,
        collision_count: set.status.as_ref().and_then(|status| status.collision_count),
        hash: &hash_revision_data,
    };
    let plan = plan_revisions(&source, &selector, revisions, &mut reconciled);
    let stored_current = set.status.as_ref().and_then(|status| status.current_revision.as_deref());
    let current = plan
        .revisions
        .iter()
        .find(|revision| revision.metadata.name.as_deref() == stored_current && stored_current.is_some())
        .unwrap_or(&plan.update);
    let namespace = set.metadata.namespace.as_deref();
    let mut control = Control {
        set,
        current_template: revision_template(current).unwrap_or_else(|| template.clone()),
        current_revision: current.metadata.name.clone().unwrap_or_default(),
        update_revision: plan.update.metadata.name.clone().unwrap_or_default(),
        claims: claims
            .iter()
            .filter(|claim| claim.metadata.namespace.as_deref() == namespace)
            .map(|claim| (claim.metadata.name.as_deref().unwrap_or(""), claim))
            .collect(),
        now,
        reconciled,
        events: Vec::new(),
        current_replica_deleted: false,
    };
    let members: Vec<&Pod> = claimed.iter().copied().filter(|pod| ordinal(pod) >= 0).collect();
    control.update(&members);
    let revisions_used = Revisions {
        current: &control.current_revision,
        update: &control.update_revision,
        collision_count: plan.collision_count,
    };
    let mut status = compute_status(set, &members, &revisions_used, now);
    if control.current_replica_deleted {
        status.current_replicas = status.current_replicas.map(|count| count - 1);
    }
    complete_rolling_update(set, &mut status);
    let mut reconciled = control.reconciled;
    if differs(set.status.as_ref(), &status) {
        let mut updated = set.clone();
        updated.status = Some(status.clone());
        reconciled.push_alone(Action::UpdateStatus { object: to_object(&updated) });
    }
    let mut live: BTreeSet<String> = members.iter().map(|pod| pod_revision(pod).to_string()).collect();
    live.extend(status.current_revision.clone());
    live.extend(status.update_revision.clone());
    reconciled.push_batch(truncate_history(&plan.revisions, &live, revision_history_limit(set)));
    reconciled.push_batch(distinct_event_names(control.events, now));
    Ok(reconciled)
}

/// Claims the namespace's pods: members (by name) the selector matches are kept or adopted;
/// owned pods that are not members or not selected are released (`getPodsForStatefulSet`).
fn claim_pods<'a>(
    set: &StatefulSet,
    selector: &LabelSelector,
    pods: &'a [Pod],
    reconciled: &mut Reconciled,
) -> Vec<&'a Pod> {
    let nothing = LabelSelector::nothing();
    let reference = controller_ref("apps/v1", "StatefulSet", &set.metadata);
    let selector_for = |pod: &Pod| if is_member_of(set, pod) { selector } else { &nothing };
    claim_all(&set.metadata, &reference, PODS, pods, |pod| &pod.metadata, &selector_for, reconciled)
}

/// Events of one sync share `now`, so each gets its own nanosecond in its name.
fn distinct_event_names(events: Vec<Action>, now: Timestamp) -> Vec<Action> {
    let mut taken: BTreeMap<String, i128> = BTreeMap::new();
    events
        .into_iter()
        .map(|mut action| {
            if let Action::Event { event } = &mut action {
                let object = event.involved_object.name.clone().unwrap_or_default();
                let offset = taken.entry(object.clone()).or_insert(0);
                event.metadata.name = Some(format!("{object}.{:x}", now.as_nanosecond() + *offset));
                *offset += 1;
            }
            action
        })
        .collect()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod world_tests;
