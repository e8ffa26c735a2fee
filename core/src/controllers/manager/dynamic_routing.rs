//! Which keys a change seen by the dynamic caches wakes up: the event handlers of the garbage
//! collector's graph builder (`processGraphChanges`), and those of the namespace,
//! serviceaccount, resourcequota (its replenishment) and disruption controllers.
//!
//! Garbage collector keys are uids (`attemptToDelete` queues graph nodes, not names); the
//! others are `namespace/name`, or the name for a Namespace.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::caches::Caches;
use super::dynamic::{DynamicCaches, DynamicObserved};
pub use super::dynamic::{NAMESPACES, POD_DISRUPTION_BUDGETS, RESOURCE_QUOTAS, SCALED_WORKLOADS, SERVICE_ACCOUNTS};
use super::kinds::ControllerKind;
use super::routed::Routed;
use crate::api::{FOREGROUND_DELETION_FINALIZER, ORPHAN_FINALIZER};
use crate::client::informer::{Change, key_of};
use crate::controllers::serviceaccount::DEFAULT_SERVICE_ACCOUNT_NAME;
use crate::object::Object;
use crate::object::kinds::GroupResource;
use crate::object::quota_usage::{matching_resources, resource_list};
use crate::selector::LabelSelector;

/// Routes one change seen by the dynamic caches. `caches` already holds the change.
pub fn route_dynamic(observed: &DynamicObserved, caches: &Caches) -> Routed {
    let mut routed = Routed::default();
    match observed {
        DynamicObserved::OwnerAbsent { uid } => {
            for dependent in caches.dynamic.dependents(uid) {
                push_uid(&mut routed, dependent);
            }
        }
        DynamicObserved::Changed { resource, change } => {
            let group_resource = resource.group_resource();
            route_garbage_collector(change, caches, &mut routed);
            let object = change.object();
            let namespace = object.namespace();
            if group_resource == NAMESPACES {
                if !matches!(change, Change::Deleted(_)) {
                    routed.enqueue.push((ControllerKind::Namespace, object.name().to_string()));
                    routed.enqueue.push((ControllerKind::ServiceAccount, object.name().to_string()));
                }
                return routed;
            }
            if namespace.is_empty() {
                return routed;
            }
            // Content of a terminating namespace changed: it may be empty now.
            let terminating = caches
                .dynamic
                .get(NAMESPACES, "", namespace)
                .is_some_and(|namespace| namespace.metadata.deletion_timestamp.is_some());
            if terminating {
                routed.enqueue.push((ControllerKind::Namespace, namespace.to_string()));
            }
            if group_resource == SERVICE_ACCOUNTS
                && object.name() == DEFAULT_SERVICE_ACCOUNT_NAME
                && matches!(change, Change::Deleted(_))
            {
                routed.enqueue.push((ControllerKind::ServiceAccount, namespace.to_string()));
            }
            route_resource_quota(group_resource, change, caches, &mut routed);
            route_disruption(group_resource, change, caches, &mut routed);
        }
    }
    routed
}

/// The graph builder's reactions: a dependent whose references changed is attempted; an owner
/// that starts waiting for its dependents has them attempted; an orphaning owner is attempted;
/// a deleted object has its dependents (now dangling) and its owners (perhaps waiting for it)
/// attempted.
fn route_garbage_collector(change: &Change<Object>, caches: &Caches, routed: &mut Routed) {
    match change {
        Change::Applied { old, new } => {
            let references_changed =
                old.as_ref().is_none_or(|old| old.metadata.owner_references != new.metadata.owner_references);
            if references_changed && has_references(&new.metadata) {
                push_uid(routed, new);
            }
            let deleting = |object: &Object, finalizer: &str| {
                object.metadata.deletion_timestamp.is_some()
                    && object.metadata.finalizers.iter().flatten().any(|existing| existing == finalizer)
            };
            let starts =
                |finalizer: &str| deleting(new, finalizer) && old.as_ref().is_none_or(|old| !deleting(old, finalizer));
            if starts(ORPHAN_FINALIZER) || starts(FOREGROUND_DELETION_FINALIZER) {
                push_uid(routed, new);
            }
            if starts(FOREGROUND_DELETION_FINALIZER) {
                for dependent in caches.dynamic.dependents(new.metadata.uid.as_deref().unwrap_or_default()) {
                    push_uid(routed, dependent);
                }
            }
            if let Some(old) = old.as_ref().filter(|_| references_changed) {
                // A dropped reference may be the last thing a foreground owner waited for.
                for reference in old.metadata.owner_references.iter().flatten() {
                    routed.enqueue.push((ControllerKind::GarbageCollector, reference.uid.clone()));
                }
            }
        }
        Change::Deleted(object) => {
            for dependent in caches.dynamic.dependents(object.metadata.uid.as_deref().unwrap_or_default()) {
                push_uid(routed, dependent);
            }
            for reference in object.metadata.owner_references.iter().flatten() {
                routed.enqueue.push((ControllerKind::GarbageCollector, reference.uid.clone()));
            }
        }
    }
}

/// A quota is recalculated when it changes and when an object of a kind it counts is created,
/// changed or deleted in its namespace (the quota monitors' replenishment, which watch only
/// the resources some quota limits): an Event or a Lease wakes no quota unless one counts them.
fn route_resource_quota(resource: GroupResource, change: &Change<Object>, caches: &Caches, routed: &mut Routed) {
    let object = change.object();
    if resource == RESOURCE_QUOTAS {
        routed.enqueue.push((ControllerKind::ResourceQuota, key_of(&object.metadata)));
        return;
    }
    for quota in caches.dynamic.of_resource_in(RESOURCE_QUOTAS, object.namespace()) {
        if quota_counts(quota, &object.api_version, &object.kind) {
            routed.enqueue.push((ControllerKind::ResourceQuota, key_of(&quota.metadata)));
        }
    }
}

/// Whether `quota` limits something objects of a kind charge (`MatchingResources` of the kind's
/// evaluator against `spec.hard`).
pub fn quota_counts(quota: &Object, api_version: &str, kind: &str) -> bool {
    let hard = quota.field("spec").and_then(|spec| spec.get("hard")).cloned();
    let hard = hard.and_then(|hard| serde_json::from_value(hard).ok());
    let hard = resource_list(hard.as_ref());
    let probe = Object { api_version: api_version.to_string(), kind: kind.to_string(), ..Object::default() };
    !matching_resources(&hard, &probe).is_empty()
}

/// A budget is synced when it changes, when a pod it selects (before or after) changes, and
/// when a workload in its namespace is rescaled.
fn route_disruption(resource: GroupResource, change: &Change<Object>, caches: &Caches, routed: &mut Routed) {
    let object = change.object();
    if resource == POD_DISRUPTION_BUDGETS {
        routed.enqueue.push((ControllerKind::Disruption, key_of(&object.metadata)));
        return;
    }
    let is_pod = object.kind == "Pod";
    if !is_pod && !SCALED_WORKLOADS.contains(&resource) {
        return;
    }
    let old_labels = match change {
        Change::Applied { old: Some(old), .. } => old.metadata.labels.as_ref(),
        _ => None,
    };
    for budget in caches.dynamic.of_resource_in(POD_DISRUPTION_BUDGETS, object.namespace()) {
        let selected = !is_pod || {
            let selector = budget.field("spec").and_then(|spec| spec.get("selector")).cloned();
            let selector = selector.and_then(|selector| serde_json::from_value(selector).ok());
            LabelSelector::from_label_selector(selector.as_ref()).is_ok_and(|selector| {
                selector.matches_optional(object.metadata.labels.as_ref())
                    || old_labels.is_some_and(|labels| selector.matches_optional(Some(labels)))
            })
        };
        if selected {
            routed.enqueue.push((ControllerKind::Disruption, key_of(&budget.metadata)));
        }
    }
}

fn has_references(metadata: &ObjectMeta) -> bool {
    metadata.owner_references.as_ref().is_some_and(|references| !references.is_empty())
}

fn push_uid(routed: &mut Routed, object: &Object) {
    if let Some(uid) = object.metadata.uid.as_deref().filter(|uid| !uid.is_empty()) {
        routed.enqueue.push((ControllerKind::GarbageCollector, uid.to_string()));
    }
}

/// Every key the dynamic controllers own, for a new leader's first pass: objects with owners
/// or a deletion in progress (for the collector), every Namespace, quota and budget.
pub fn every_key(dynamic: &DynamicCaches) -> Vec<(ControllerKind, String)> {
    let mut keys = Vec::new();
    for uid in dynamic.uids() {
        let wanted = dynamic
            .by_uid(uid)
            .is_some_and(|object| has_references(&object.metadata) || object.metadata.deletion_timestamp.is_some());
        if wanted {
            keys.push((ControllerKind::GarbageCollector, uid.clone()));
        }
    }
    for namespace in dynamic.of_resource(NAMESPACES) {
        keys.push((ControllerKind::Namespace, namespace.name().to_string()));
        keys.push((ControllerKind::ServiceAccount, namespace.name().to_string()));
    }
    for quota in dynamic.of_resource(RESOURCE_QUOTAS) {
        keys.push((ControllerKind::ResourceQuota, key_of(&quota.metadata)));
    }
    for budget in dynamic.of_resource(POD_DISRUPTION_BUDGETS) {
        keys.push((ControllerKind::Disruption, key_of(&budget.metadata)));
    }
    keys
}
