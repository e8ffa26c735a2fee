//! The namespace controller: empties a Terminating namespace (every namespaced object of every
//! kind in it is deleted), reports progress in the namespace's deletion conditions, and once
//! nothing is left removes the `kubernetes` finalizer through the `finalize` subresource, which
//! lets the API server remove the namespace (Kubernetes' `namespacedResourcesDeleter`).
//!
//! Each resource type is emptied with one `deletecollection` request (`deleteCollection`; every
//! namespaced type the API server stores serves it, so the deleter's object-by-object fallback is
//! never needed).
//!
//! Differences from Kubernetes, deliberate: the served kinds are a static table so discovery
//! cannot fail; a deletecollection goes only to the types with content not yet being deleted
//! (Kubernetes sends one to every type on every pass, which changes nothing for objects already
//! terminating); and a failed delete shows up as remaining content on the next reconcile rather
//! than as `NamespaceDeletionContentFailure`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition, NamespaceSpec, NamespaceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use super::action::{Action, PropagationPolicy, Reconciled, to_object};
use crate::api::NAMESPACE_FINALIZER;
use crate::object::Object;
use crate::object::kinds::{self, GroupResource};

/// Seconds to wait for content that carries finalizers (`finalizerEstimateSeconds`).
pub const FINALIZER_ESTIMATE_SECONDS: u64 = 15;

/// Condition: discovering the namespaced resources failed.
pub const NAMESPACE_DELETION_DISCOVERY_FAILURE: &str = "NamespaceDeletionDiscoveryFailure";
/// Condition: parsing the legacy group versions failed.
pub const NAMESPACE_DELETION_GROUP_VERSION_PARSING_FAILURE: &str = "NamespaceDeletionGroupVersionParsingFailure";
/// Condition: deleting some content failed.
pub const NAMESPACE_DELETION_CONTENT_FAILURE: &str = "NamespaceDeletionContentFailure";
/// Condition: content remains in the namespace.
pub const NAMESPACE_CONTENT_REMAINING: &str = "NamespaceContentRemaining";
/// Condition: remaining content waits for finalizers.
pub const NAMESPACE_FINALIZERS_REMAINING: &str = "NamespaceFinalizersRemaining";

/// What one reconcile of a namespace decided.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NamespaceReconciled {
    /// The deletecollections of the namespace's content, one per resource type, and the status
    /// update, in order.
    pub reconciled: Reconciled,
    /// When the namespace is empty: the namespace to PUT to
    /// `/api/v1/namespaces/{name}/finalize`, its `spec.finalizers` without `kubernetes`
    /// ([`super::request::finalize_request`]).
    pub finalize: Option<Namespace>,
}

/// Reconciles one namespace against every observed object of every kind (`Delete` of the
/// namespaced resources deleter). Nothing happens to a namespace that is not being deleted or
/// whose `kubernetes` finalizer is already gone.
pub fn reconcile_namespace(namespace: &Namespace, objects: &[Object], now: Timestamp) -> NamespaceReconciled {
    let mut result = NamespaceReconciled::default();
    let finalizers = namespace.spec.as_ref().and_then(|spec| spec.finalizers.clone()).unwrap_or_default();
    if namespace.metadata.deletion_timestamp.is_none() || !finalizers.iter().any(|f| f == NAMESPACE_FINALIZER) {
        return result;
    }
    let name = namespace.metadata.name.as_deref().unwrap_or("");
    let content: Vec<&Object> = objects.iter().filter(|object| is_content_of(object, name)).collect();
    if content.is_empty() {
        let mut finalized = namespace.clone();
        let remaining: Vec<String> = finalizers.into_iter().filter(|f| f != NAMESPACE_FINALIZER).collect();
        finalized.spec = Some(NamespaceSpec { finalizers: Some(remaining) });
        result.finalize = Some(finalized);
        return result;
    }
    let to_delete: BTreeSet<GroupResource> = content
        .iter()
        .filter(|object| object.metadata.deletion_timestamp.is_none())
        .filter_map(|object| Some(kinds::by_api_version_kind(&object.api_version, &object.kind)?.group_resource()))
        .collect();
    let deletes = to_delete.into_iter().map(|resource| delete_collection(resource, name)).collect();
    result.reconciled.push_batch(deletes);
    let remaining: Vec<&Object> = content.into_iter().filter(|object| survives_delete(object)).collect();
    let conditions = deletion_conditions(namespace, &remaining, now);
    let status = namespace.status.clone().unwrap_or_default();
    if !conditions_equal(status.conditions.as_deref().unwrap_or_default(), &conditions) {
        let mut updated = namespace.clone();
        updated.status = Some(NamespaceStatus { conditions: Some(conditions), ..status });
        result.reconciled.push_alone(Action::UpdateStatus { object: to_object(&updated) });
    }
    let estimate = estimate_seconds(&remaining);
    // The namespace controller requeues a ResourcesRemainingError after estimate/2 + 1 seconds.
    result.reconciled.requeue_after = Some(Duration::from_secs(estimate / 2 + 1));
    result
}

/// A namespaced object of a served kind in the namespace `name`.
fn is_content_of(object: &Object, name: &str) -> bool {
    object.namespace() == name
        && kinds::by_api_version_kind(&object.api_version, &object.kind).is_some_and(|kind| kind.is_namespaced())
}

/// `deleteCollection`: every object of `resource` in the namespace, dependents in the
/// background, as the deleter's `DeleteOptions` ask.
fn delete_collection(resource: GroupResource, namespace: &str) -> Action {
    Action::DeleteCollection {
        resource,
        namespace: namespace.to_string(),
        propagation_policy: Some(PropagationPolicy::Background),
    }
}

/// Whether an object is still listed after its delete is sent: it is already terminating,
/// carries finalizers, or is a pod a kubelet must stop first (bound to a node, not finished).
fn survives_delete(object: &Object) -> bool {
    let has_finalizers = object.metadata.finalizers.as_ref().is_some_and(|finalizers| !finalizers.is_empty());
    object.metadata.deletion_timestamp.is_some() || has_finalizers || is_running_pod(object)
}

fn is_running_pod(object: &Object) -> bool {
    let node = object.field("spec").and_then(|spec| spec.get("nodeName")).and_then(Value::as_str).unwrap_or("");
    let phase = object.field("status").and_then(|status| status.get("phase")).and_then(Value::as_str).unwrap_or("");
    object.kind == "Pod" && !node.is_empty() && !matches!(phase, "Succeeded" | "Failed")
}

/// `estimateGracefulTerminationForPods`, and the finalizer estimate for other content.
fn estimate_seconds(remaining: &[&Object]) -> u64 {
    let pod_grace = remaining
        .iter()
        .filter(|object| is_running_pod(object))
        .filter_map(|pod| pod.field("spec")?.get("terminationGracePeriodSeconds")?.as_u64())
        .max()
        .unwrap_or(0);
    let has_finalizers =
        remaining.iter().any(|object| object.metadata.finalizers.as_ref().is_some_and(|f| !f.is_empty()));
    if pod_grace > 0 {
        pod_grace
    } else if has_finalizers {
        FINALIZER_ESTIMATE_SECONDS
    } else {
        0
    }
}

/// The five deletion conditions as `namespaceConditionUpdater` sets them, keeping the
/// transition time of a condition whose status, reason and message did not change.
fn deletion_conditions(namespace: &Namespace, remaining: &[&Object], now: Timestamp) -> Vec<NamespaceCondition> {
    let mut by_resource: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_finalizer: BTreeMap<String, usize> = BTreeMap::new();
    for object in remaining {
        if let Some(kind) = kinds::by_api_version_kind(&object.api_version, &object.kind) {
            *by_resource.entry(format!("{}.{}", kind.plural, kind.group)).or_default() += 1;
        }
        for finalizer in object.metadata.finalizers.iter().flatten() {
            *by_finalizer.entry(finalizer.clone()).or_default() += 1;
        }
    }
    let remaining_message = (!by_resource.is_empty()).then(|| {
        let parts: Vec<String> =
            by_resource.iter().map(|(resource, count)| format!("{resource} has {count} resource instances")).collect();
        format!("Some resources are remaining: {}", parts.join(", "))
    });
    let finalizers_message = (!by_finalizer.is_empty()).then(|| {
        let parts: Vec<String> = by_finalizer
            .iter()
            .map(|(finalizer, count)| format!("{finalizer} in {count} resource instances"))
            .collect();
        format!("Some content in the namespace has finalizers remaining: {}", parts.join(", "))
    });
    let existing = namespace.status.as_ref().and_then(|status| status.conditions.clone()).unwrap_or_default();
    let condition = |type_: &str, failure: Option<(&str, String)>, ok: (&str, &str)| {
        let (status, reason, message) = match failure {
            Some((reason, message)) => ("True", reason.to_string(), message),
            None => ("False", ok.0.to_string(), ok.1.to_string()),
        };
        let unchanged = existing.iter().find(|c| {
            c.type_ == type_
                && c.status == status
                && c.reason.as_deref() == Some(&reason)
                && c.message.as_deref() == Some(&message)
        });
        NamespaceCondition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: Some(reason),
            message: Some(message),
            last_transition_time: unchanged.and_then(|c| c.last_transition_time.clone()).or(Some(Time(now))),
        }
    };
    vec![
        condition(
            NAMESPACE_DELETION_DISCOVERY_FAILURE,
            None,
            ("ResourcesDiscovered", "All resources successfully discovered"),
        ),
        condition(
            NAMESPACE_DELETION_GROUP_VERSION_PARSING_FAILURE,
            None,
            ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
        ),
        condition(
            NAMESPACE_DELETION_CONTENT_FAILURE,
            None,
            ("ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
        ),
        condition(
            NAMESPACE_CONTENT_REMAINING,
            remaining_message.map(|message| ("SomeResourcesRemain", message)),
            ("ContentRemoved", "All content successfully removed"),
        ),
        condition(
            NAMESPACE_FINALIZERS_REMAINING,
            finalizers_message.map(|message| ("SomeFinalizersRemain", message)),
            ("ContentHasNoFinalizers", "All content-preserving finalizers finished"),
        ),
    ]
}

/// Conditions compared without their transition times, as Kubernetes' `conditionsEqual`.
fn conditions_equal(left: &[NamespaceCondition], right: &[NamespaceCondition]) -> bool {
    let key = |c: &NamespaceCondition| (c.type_.clone(), c.status.clone(), c.reason.clone(), c.message.clone());
    left.len() == right.len() && left.iter().zip(right).all(|(l, r)| key(l) == key(r))
}

#[cfg(test)]
mod tests;
