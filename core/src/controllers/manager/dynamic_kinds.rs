//! How the controllers that read every kind reconcile one key from the dynamic caches: the
//! garbage collector (a uid), the namespace and serviceaccount controllers (a Namespace name),
//! the resourcequota and disruption controllers (`namespace/name`).

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod, ResourceQuota, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::jiff::Timestamp;

use super::caches::Caches;
use super::dynamic::{NAMESPACES, POD_DISRUPTION_BUDGETS, PODS, RESOURCE_QUOTAS, SCALED_WORKLOADS, SERVICE_ACCOUNTS};
use super::dynamic_routing::quota_counts;
use super::lookups::{cloned, pods_selected_by};
use crate::controllers::action::to_object;
use crate::controllers::garbage_collector::graph::owner_kind;
use crate::controllers::garbage_collector::reconcile_garbage_collector_item;
use crate::controllers::{
    Action, Reconciled, reconcile_disruption_budget, reconcile_namespace, reconcile_resource_quota,
    reconcile_service_accounts,
};
use crate::object::Object;
use crate::object::kinds::ResourceType;
use crate::selector::LabelSelector;

/// How long the garbage collector waits before it looks again at a dependent whose owner is
/// neither cached nor known to be gone (its lookup is in flight, or its informer lags).
pub const OWNER_UNCERTAIN_RECHECK: Duration = Duration::from_secs(1);

/// `attemptToDeleteItem`/`attemptToOrphan` for the object with `uid`, from its neighbourhood in
/// the graph: the item, its owners, its dependents and its invalid-namespace event. `Ok(None)`
/// when the object is gone.
pub fn reconcile_garbage_collector_key(
    caches: &Caches,
    uid: &str,
    now: Timestamp,
) -> Result<Option<Reconciled>, String> {
    let dynamic = &caches.dynamic;
    let Some(item) = dynamic.by_uid(uid) else { return Ok(None) };
    let mut objects: Vec<Object> = vec![item.as_ref().clone()];
    for reference in item.metadata.owner_references.iter().flatten() {
        let Some(resource) = owner_kind(reference) else { continue };
        let namespace = if resource.is_namespaced() { item.namespace() } else { "" };
        let found = dynamic.get(resource.group_resource(), namespace, &reference.name);
        let same_owner = found.is_some_and(|owner| owner.metadata.uid.as_deref() == Some(reference.uid.as_str()));
        // The owner's uid cached elsewhere: an owner in another namespace, never this one.
        let elsewhere = if same_owner { None } else { dynamic.by_uid(&reference.uid) };
        let certain = same_owner
            || elsewhere.is_some()
            || dynamic.known_absent(&reference.uid)
            || dynamic.has_seen(resource.group_resource(), item.resource_version());
        if !certain {
            // Maybe gone, maybe not seen yet: never collect on a guess.
            return Ok(Some(Reconciled { requeue_after: Some(OWNER_UNCERTAIN_RECHECK), ..Reconciled::default() }));
        }
        objects.extend(found.into_iter().chain(elsewhere).map(|owner| owner.as_ref().clone()));
    }
    objects.extend(dynamic.dependents(uid).map(|dependent| dependent.as_ref().clone()));
    objects.extend(dynamic.invalid_namespace_event(uid).map(|event| event.as_ref().clone()));
    Ok(Some(reconcile_garbage_collector_item(&objects, uid, now)))
}

/// The namespace controller for the Namespace `name`: its content is every cached namespaced
/// object in it; once empty, the `kubernetes` finalizer goes through `finalize`.
pub fn reconcile_namespace_key(caches: &Caches, name: &str, now: Timestamp) -> Result<Option<Reconciled>, String> {
    let Some(namespace) = caches.dynamic.get(NAMESPACES, "", name) else { return Ok(None) };
    let namespace: Namespace = namespace.to_typed().map_err(|error| error.to_string())?;
    let content = namespace_objects(caches, name, |_| true);
    let decided = reconcile_namespace(&namespace, &content, now);
    let mut reconciled = decided.reconciled;
    if let Some(finalized) = decided.finalize {
        reconciled.push_alone(Action::Finalize { object: to_object(&finalized) });
    }
    Ok(Some(reconciled))
}

/// The serviceaccount controller for the Namespace `name`.
pub fn reconcile_service_account_key(caches: &Caches, name: &str) -> Result<Option<Reconciled>, String> {
    let Some(namespace) = caches.dynamic.get(NAMESPACES, "", name) else { return Ok(None) };
    let namespace: Namespace = namespace.to_typed().map_err(|error| error.to_string())?;
    let accounts: Vec<ServiceAccount> =
        caches.dynamic.of_resource_in(SERVICE_ACCOUNTS, name).filter_map(|account| account.to_typed().ok()).collect();
    Ok(Some(reconcile_service_accounts(&namespace, &accounts)))
}

/// The resourcequota controller for the quota `namespace/name`, over the objects of its
/// namespace of the kinds it counts (not every cached object of the namespace).
pub fn reconcile_resource_quota_key(
    caches: &Caches,
    namespace: &str,
    name: &str,
    now: Timestamp,
) -> Result<Option<Reconciled>, String> {
    let Some(quota) = caches.dynamic.get(RESOURCE_QUOTAS, namespace, name) else { return Ok(None) };
    let counts = |resource: &ResourceType| quota_counts(quota, resource.api_version, resource.kind);
    let quota: ResourceQuota = quota.to_typed().map_err(|error| error.to_string())?;
    let objects = namespace_objects(caches, namespace, counts);
    Ok(Some(reconcile_resource_quota(&quota, &objects, now)))
}

/// The cached objects of `namespace` of the namespaced kinds `wanted` accepts, kind by kind.
/// Pods come whole from the typed cache: the dynamic caches hold only their metadata.
fn namespace_objects(caches: &Caches, namespace: &str, wanted: impl Fn(&ResourceType) -> bool) -> Vec<Object> {
    let mut objects = Vec::new();
    for resource in caches.dynamic.resources().filter(|resource| resource.is_namespaced() && wanted(resource)) {
        if resource.group_resource() == PODS {
            objects.extend(caches.pods.in_namespace(namespace).map(|pod| to_object(pod.as_ref())));
        } else {
            let cached = caches.dynamic.of_resource_in(resource.group_resource(), namespace);
            objects.extend(cached.map(|object| object.as_ref().clone()));
        }
    }
    objects
}

/// The disruption controller for the budget `namespace/name`: the namespace's pods, and the
/// workloads whose scale gives the expected pod count.
pub fn reconcile_disruption_key(
    caches: &Caches,
    namespace: &str,
    name: &str,
    now: Timestamp,
) -> Result<Option<Reconciled>, String> {
    let Some(budget) = caches.dynamic.get(POD_DISRUPTION_BUDGETS, namespace, name) else { return Ok(None) };
    let budget: PodDisruptionBudget = budget.to_typed().map_err(|error| error.to_string())?;
    // Only the pods the budget selects are copied (through the label index where the selector
    // pins a label): the reconcile selects again, so an invalid selector still reports itself.
    let selector = budget.spec.as_ref().map(|spec| LabelSelector::from_label_selector(spec.selector.as_ref()));
    let pods: Vec<Pod> = match selector {
        Some(Ok(selector)) => cloned(&pods_selected_by(caches, namespace, &selector)),
        _ => caches.pods.in_namespace(namespace).map(|pod| pod.as_ref().clone()).collect(),
    };
    let workloads: Vec<Object> = SCALED_WORKLOADS
        .iter()
        .flat_map(|resource| caches.dynamic.of_resource_in(*resource, namespace))
        .map(|workload| workload.as_ref().clone())
        .collect();
    Ok(Some(reconcile_disruption_budget(&budget, &pods, &workloads, now)))
}
