//! ResourceQuota admission (Kubernetes' `ResourceQuota` admission plugin) for creates: every
//! quota of the namespace that matches the new object must have room for what it charges; a
//! quota that limits cpu or memory requires every container to declare them; and the charge is
//! added to each quota's `status.used` before the object is stored, as Kubernetes does, so that
//! back-to-back creates cannot both slip under the limit. The quota controller later recomputes
//! `status.used` from the objects themselves.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ResourceQuota;

use super::path::ResourcePath;
use super::status::ApiError;
use crate::object::kinds::GroupResource;
use crate::object::quota_usage::{
    ResourceList, matching_resources, pod_constraints, pretty_print, quota_matches, resource_list, usage, wire_list,
};
use crate::object::{Object, Quantity};
use crate::store::{ListOptions, Store};

const RESOURCE_QUOTAS: GroupResource = GroupResource { group: "", resource: "resourcequotas" };

/// Admits the creation of `object` against the quotas of its namespace, charging them unless
/// this is a dry run.
pub fn admit_create<S: Store>(
    store: &mut S,
    path: &ResourcePath,
    object: &Object,
    dry_run: bool,
    now: Timestamp,
) -> Result<(), ApiError> {
    let delta = usage(object, now);
    admit(store, path, object, delta, dry_run)
}

/// Admits an update of a Service or PersistentVolumeClaim (the kinds whose quota evaluators
/// handle updates in Kubernetes 1.32): only the growth of each resource is charged
/// (`SubtractWithNonNegativeResult`). Neither kind's usage depends on the time.
pub fn admit_update<S: Store>(
    store: &mut S,
    path: &ResourcePath,
    old: &Object,
    object: &Object,
    dry_run: bool,
) -> Result<(), ApiError> {
    if !matches!(object.kind.as_str(), "Service" | "PersistentVolumeClaim") {
        return Ok(());
    }
    let previous = usage(old, Timestamp::UNIX_EPOCH);
    let mut delta = usage(object, Timestamp::UNIX_EPOCH);
    for (name, amount) in delta.iter_mut() {
        let before = previous.get(name).copied().unwrap_or_default();
        *amount = amount.checked_sub(before).filter(|growth| *growth > Quantity::ZERO).unwrap_or(Quantity::ZERO);
    }
    admit(store, path, object, delta, dry_run)
}

/// Checks `object` against every matching quota and charges `delta` (`checkRequest`).
fn admit<S: Store>(
    store: &mut S,
    path: &ResourcePath,
    object: &Object,
    delta: ResourceList,
    dry_run: bool,
) -> Result<(), ApiError> {
    let namespace = object.namespace();
    if namespace.is_empty() || !path.resource.is_namespaced() {
        return Ok(());
    }
    let listed = store.list(RESOURCE_QUOTAS, &ListOptions::in_namespace(namespace))?;
    let forbidden = |detail: String| ApiError::Forbidden {
        group: path.resource.group.into(),
        resource: path.resource.plural.into(),
        name: super::admission::display_name(object),
        detail,
        cause: None,
    };
    let mut charged: Vec<(Object, ResourceList, ResourceList)> = Vec::new();
    for stored in listed.items.iter() {
        let Ok(quota) = stored.to_typed::<ResourceQuota>() else { continue };
        if !quota_matches(&quota.spec.clone().unwrap_or_default(), object) {
            continue;
        }
        let status = quota.status.clone().unwrap_or_default();
        let hard = resource_list(status.hard.as_ref());
        let used = resource_list(status.used.as_ref());
        let restricted = matching_resources(&hard, object);
        if object.kind == "Pod" {
            pod_constraints(&restricted, object)
                .map_err(|message| forbidden(format!("failed quota: {}: {message}", stored.name())))?;
        }
        let unknown: Vec<&str> = restricted.iter().copied().filter(|name| !used.contains_key(*name)).collect();
        if !unknown.is_empty() {
            return Err(forbidden(format!(
                "status unknown for quota: {}, resources: {}",
                stored.name(),
                restricted.join(",")
            )));
        }
        charged.push((Object::clone(stored), hard, used));
    }
    let delta: ResourceList = delta.into_iter().filter(|(_, amount)| !amount.is_zero()).collect();
    if delta.is_empty() {
        return Ok(());
    }
    let mut updates = Vec::new();
    for (stored, hard, used) in charged {
        let requested: ResourceList = mask(&delta, &hard);
        if requested.is_empty() {
            continue;
        }
        let mut new_used = used.clone();
        for (name, amount) in &requested {
            let total = new_used.entry(name.clone()).or_default();
            *total = total.checked_add(*amount).unwrap_or(*total);
        }
        let exceeded: ResourceList = requested
            .keys()
            .filter(|name| new_used.get(*name) > hard.get(*name))
            .map(|name| (name.clone(), hard[name]))
            .collect();
        if !exceeded.is_empty() {
            return Err(forbidden(format!(
                "exceeded quota: {}, requested: {}, used: {}, limited: {}",
                stored.name(),
                pretty_print(&mask(&requested, &exceeded)),
                pretty_print(&mask(&used, &exceeded)),
                pretty_print(&exceeded)
            )));
        }
        updates.push((stored, new_used));
    }
    if dry_run {
        return Ok(());
    }
    for (stored, new_used) in updates {
        let mut updated = stored;
        let status = updated.fields.entry("status").or_insert_with(|| serde_json::json!({}));
        status["used"] = serde_json::to_value(wire_list(&new_used)).expect("a resource list always serializes");
        store.update(RESOURCE_QUOTAS, updated)?;
    }
    Ok(())
}

/// The entries of `list` whose names are in `names` (`quota.Mask`).
fn mask(list: &ResourceList, names: &ResourceList) -> ResourceList {
    list.iter().filter(|(name, _)| names.contains_key(*name)).map(|(name, amount)| (name.clone(), *amount)).collect()
}
