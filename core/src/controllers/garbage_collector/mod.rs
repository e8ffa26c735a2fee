//! The garbage collector: deletes objects whose owners are all gone, and carries out the
//! foreground and orphan propagation policies the API server records as finalizers
//! (`foregroundDeletion`, `orphan`) on a deleted owner.
//!
//! Kubernetes' collector keeps the graph in memory and reacts to graph changes through two work
//! queues (`attemptToDelete`, `attemptToOrphan`). coxswain's is level-triggered (DESIGN.md
//! principle 6): [`reconcile_garbage_collector`] rebuilds the graph from every observed object
//! and runs the same decisions for every node at once, so a missed event cannot strand an
//! object and a cycle of owners is visited once per reconcile rather than chased.

pub mod graph;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Preconditions};
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use self::graph::{DependencyGraph, OwnerState, has_finalizer, is_being_deleted, is_deleting_dependents, uid_of};
use super::action::{Action, EventType, PatchType, PropagationPolicy, Reconciled, event_action};
use crate::api::{FOREGROUND_DELETION_FINALIZER, ORPHAN_FINALIZER};
use crate::object::Object;
use crate::object::kinds::{self, GroupResource};

/// The component name events are reported under.
pub const COMPONENT: &str = "garbage-collector-controller";

/// The reason of the warning event on a dependent whose namespaced owner lives in another
/// namespace (or whose owner is namespaced while it is cluster-scoped).
pub const OWNER_REF_INVALID_NAMESPACE: &str = "OwnerRefInvalidNamespace";

/// One garbage collection pass over every observed object of every kind.
///
/// `objects` must be one consistent view of every served kind (lists at one revision, or
/// informers that have all synced): Kubernetes confirms an owner is gone with a live GET before
/// deleting a dependent, while this function trusts its input, so an owner missing from the
/// input because its kind was left out or lags behind is taken for deleted.
///
/// The first batch holds the independent decisions (deletes with a uid precondition, patches
/// that drop or unblock ownerReferences, removal of `foregroundDeletion` finalizers, events);
/// the second removes `orphan` finalizers, and so only runs once every orphaning patch of the
/// first batch has succeeded. Nothing is requeued: every decision waits for a change of the
/// objects it reads.
pub fn reconcile_garbage_collector(objects: &[Object], now: Timestamp) -> Reconciled {
    collect(objects, None, now)
}

/// The pass for one item only (the controller manager's `attemptToDelete`/`attemptToOrphan` of
/// the object with `uid`), from a neighbourhood of the graph: `objects` must hold the item, the
/// live owners its references resolve to, every dependent of the item, and the item's
/// `OwnerRefInvalidNamespace` events. An owner left out is taken for deleted, so the caller
/// leaves one out only once it knows it is gone.
pub fn reconcile_garbage_collector_item(objects: &[Object], uid: &str, now: Timestamp) -> Reconciled {
    collect(objects, Some(uid), now)
}

fn collect(objects: &[Object], only: Option<&str>, now: Timestamp) -> Reconciled {
    let graph = DependencyGraph::build(objects);
    let mut items: Vec<&Object> = objects
        .iter()
        .filter(|object| uid_of(object).is_some() && only.is_none_or(|uid| uid_of(object) == Some(uid)))
        .collect();
    items.sort_by(|left, right| identity_key(left).cmp(&identity_key(right)));
    let reported = reported_invalid_namespace(objects);
    let mut first = Vec::new();
    let mut second = Vec::new();
    for item in items {
        report_invalid_namespace(&graph, item, &reported, now, &mut first);
        if is_being_deleted(item) && has_finalizer(item, ORPHAN_FINALIZER) {
            let (patches, finalizer) = attempt_to_orphan(&graph, item);
            first.extend(patches);
            second.push(finalizer);
        }
        attempt_to_delete(&graph, item, &mut first);
    }
    let mut reconciled = Reconciled::default();
    reconciled.push_batch(first);
    reconciled.push_batch(second);
    reconciled
}

/// `attemptToDeleteItem`: what to do with one object given its owners' states.
fn attempt_to_delete(graph: &DependencyGraph<'_>, item: &Object, actions: &mut Vec<Action>) {
    if is_being_deleted(item) && !is_deleting_dependents(item) {
        return;
    }
    if is_deleting_dependents(item) {
        // processDeletingDependentsItem: the blocking dependents are attempted as items of
        // their own in this same pass; the owner goes once none is left.
        if graph.blocking_dependents(uid_of(item).unwrap_or_default()).is_empty() {
            actions.push(remove_finalizer(item, FOREGROUND_DELETION_FINALIZER));
        }
        return;
    }
    let references: Vec<&OwnerReference> = item.metadata.owner_references.iter().flatten().collect();
    if references.is_empty() {
        return;
    }
    let states: Vec<OwnerState> = references.iter().map(|reference| graph.classify(item, reference)).collect();
    if states.contains(&OwnerState::Unresolvable) {
        return;
    }
    let uids_in = |wanted: &[OwnerState]| -> Vec<&str> {
        references
            .iter()
            .zip(&states)
            .filter(|(_, state)| wanted.contains(state))
            .map(|(reference, _)| reference.uid.as_str())
            .collect()
    };
    let waiting = uids_in(&[OwnerState::WaitingForDependentsDeletion]);
    let item_uid = uid_of(item).unwrap_or_default();
    if states.contains(&OwnerState::Solid) {
        let removed = uids_in(&[OwnerState::Dangling, OwnerState::WaitingForDependentsDeletion]);
        if !removed.is_empty() {
            actions.extend(delete_owner_references(item, &removed));
        }
    } else if !waiting.is_empty() && !graph.dependents(item_uid).is_empty() {
        let dependent_deleting =
            graph.dependents(item_uid).iter().any(|(dependent, _)| is_deleting_dependents(dependent));
        if dependent_deleting {
            // A possible cycle of foreground deletions: stop blocking the owners, as
            // Kubernetes does, so that neither side waits for the other forever.
            actions.extend(unblock_owner_references(item, &references));
        }
        actions.extend(delete_object(item, PropagationPolicy::Foreground));
    } else {
        let policy = if has_finalizer(item, ORPHAN_FINALIZER) {
            PropagationPolicy::Orphan
        } else if has_finalizer(item, FOREGROUND_DELETION_FINALIZER) {
            PropagationPolicy::Foreground
        } else {
            PropagationPolicy::Background
        };
        actions.extend(delete_object(item, policy));
    }
}

/// `attemptToOrphanWorker`: drop the owner's reference from each of its dependents, then (in a
/// later batch) remove the owner's `orphan` finalizer.
fn attempt_to_orphan(graph: &DependencyGraph<'_>, owner: &Object) -> (Vec<Action>, Action) {
    let owner_uid = uid_of(owner).unwrap_or_default();
    let patches = graph
        .dependents(owner_uid)
        .into_iter()
        .filter_map(|(dependent, _)| delete_owner_references(dependent, &[owner_uid]));
    (patches.collect(), remove_finalizer(owner, ORPHAN_FINALIZER))
}

/// A warning event on each dependent whose reference names a namespaced owner observed in
/// another namespace, unless an event for that dependent is already recorded.
fn report_invalid_namespace(
    graph: &DependencyGraph<'_>,
    item: &Object,
    reported: &[String],
    now: Timestamp,
    actions: &mut Vec<Action>,
) {
    let item_uid = uid_of(item).unwrap_or_default();
    if reported.iter().any(|uid| uid == item_uid) {
        return;
    }
    let Some(reference) = item
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|reference| graph.owner_in_other_namespace(item, reference).is_some())
    else {
        return;
    };
    let message = format!(
        "ownerRef [{}/{}, namespace: {}, name: {}, uid: {}] does not exist in namespace {:?}",
        reference.api_version,
        reference.kind,
        item.namespace(),
        reference.name,
        reference.uid,
        item.namespace()
    );
    let involved = super::action::object_reference(&item.api_version, &item.kind, &item.metadata);
    actions.push(event_action(&involved, COMPONENT, EventType::Warning, OWNER_REF_INVALID_NAMESPACE, &message, now));
}

/// The uids of dependents already carrying an `OwnerRefInvalidNamespace` event, so that a
/// level-triggered collector reports each invalid reference once.
fn reported_invalid_namespace(objects: &[Object]) -> Vec<String> {
    objects
        .iter()
        .filter(|object| object.kind == "Event")
        .filter(|event| event.field("reason").and_then(Value::as_str) == Some(OWNER_REF_INVALID_NAMESPACE))
        .filter_map(|event| event.field("involvedObject")?.get("uid")?.as_str().map(str::to_string))
        .collect()
}

/// The collection an observed object lives in, if its kind is served.
fn resource_of(object: &Object) -> Option<GroupResource> {
    kinds::by_api_version_kind(&object.api_version, &object.kind).map(|resource| resource.group_resource())
}

/// Orders items by kind, namespace and name so that the actions come out the same every time.
fn identity_key(object: &Object) -> (&str, &str, &str, &str) {
    (&object.api_version, &object.kind, object.namespace(), object.name())
}

/// `deleteObject`: a delete that only applies to the object with the observed uid.
fn delete_object(item: &Object, policy: PropagationPolicy) -> Option<Action> {
    Some(Action::Delete {
        resource: resource_of(item)?,
        namespace: item.namespace().to_string(),
        name: item.name().to_string(),
        preconditions: Preconditions { uid: item.metadata.uid.clone(), resource_version: None },
        propagation_policy: Some(policy),
    })
}

/// `GenerateDeleteOwnerRefStrategicMergeBytes`: drops the references to `owner_uids`; the uid
/// in the body makes the patch fail if the dependent was replaced meanwhile.
fn delete_owner_references(item: &Object, owner_uids: &[&str]) -> Option<Action> {
    let references: Vec<Value> = owner_uids.iter().map(|uid| json!({"$patch": "delete", "uid": uid})).collect();
    patch(item, json!({"metadata": {"ownerReferences": references, "uid": item.metadata.uid}}))
}

/// `unblockOwnerReferencesStrategicMergePatch`: every blocking reference set to
/// `blockOwnerDeletion: false`.
fn unblock_owner_references(item: &Object, references: &[&OwnerReference]) -> Option<Action> {
    let unblocked: Vec<OwnerReference> = references
        .iter()
        .filter(|reference| reference.block_owner_deletion == Some(true))
        .map(|reference| OwnerReference { block_owner_deletion: Some(false), ..(*reference).clone() })
        .collect();
    if unblocked.is_empty() {
        return None;
    }
    patch(item, json!({"metadata": {"ownerReferences": unblocked, "uid": item.metadata.uid}}))
}

fn patch(item: &Object, body: Value) -> Option<Action> {
    Some(Action::Patch {
        resource: resource_of(item)?,
        namespace: item.namespace().to_string(),
        name: item.name().to_string(),
        patch_type: PatchType::StrategicMerge,
        body,
    })
}

/// `removeFinalizer`: an update of the observed object without `finalizer`; its
/// resourceVersion makes it a compare-and-swap, so a concurrent change is a conflict and the
/// next reconcile decides again.
fn remove_finalizer(item: &Object, finalizer: &str) -> Action {
    let mut updated = item.clone();
    let remaining: Vec<String> =
        item.metadata.finalizers.iter().flatten().filter(|existing| *existing != finalizer).cloned().collect();
    updated.metadata.finalizers = (!remaining.is_empty()).then_some(remaining);
    Action::Update { object: updated }
}

#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod world_tests;
