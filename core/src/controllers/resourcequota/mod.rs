//! The ResourceQuota controller: keeps each quota's `status.hard` equal to its `spec.hard` and
//! `status.used` equal to what the objects in its namespace that it matches charge
//! (Kubernetes' `syncResourceQuota`). The API server's quota admission (`api/quota.rs`) charges
//! new objects against the same status with the same [`usage`] evaluators.

pub mod usage;

use std::time::Duration;

use k8s_openapi::api::core::v1::{ResourceQuota, ResourceQuotaStatus};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;
use k8s_openapi::jiff::Timestamp;

use self::usage::{ResourceList, quota_matches};
use super::action::{Action, Reconciled, to_object};
use crate::object::{Object, Quantity};

/// How often every quota is recalculated even without a change (`--resource-quota-sync-period`,
/// 5 minutes), which also uncharges pods whose termination grace period ran out.
pub const RESOURCE_QUOTA_SYNC_PERIOD: Duration = Duration::from_secs(5 * 60);

/// A wire resource list read as exact quantities; unparsable amounts are left out.
pub fn resource_list(wire: Option<&std::collections::BTreeMap<String, WireQuantity>>) -> ResourceList {
    wire.into_iter()
        .flatten()
        .filter_map(|(name, quantity)| Some((name.clone(), Quantity::try_from(quantity).ok()?)))
        .collect()
}

/// A resource list written out in canonical form.
pub fn wire_list(list: &ResourceList) -> std::collections::BTreeMap<String, WireQuantity> {
    list.iter().map(|(name, quantity)| (name.clone(), WireQuantity(quantity.to_string()))).collect()
}

/// What the objects of `namespace` that `quota` matches charge, for the resources it limits;
/// a limited resource nothing charges is used `0` (`CalculateUsage`).
pub fn calculate_used(quota: &ResourceQuota, objects: &[Object], now: Timestamp) -> ResourceList {
    let spec = quota.spec.clone().unwrap_or_default();
    let hard = resource_list(spec.hard.as_ref());
    let namespace = quota.metadata.namespace.as_deref().unwrap_or("");
    let mut used: ResourceList = hard.keys().map(|name| (name.clone(), Quantity::ZERO)).collect();
    for object in objects.iter().filter(|object| object.namespace() == namespace && quota_matches(&spec, object)) {
        for (name, amount) in usage::usage(object, now) {
            if let Some(total) = used.get_mut(&name) {
                *total = total.checked_add(amount).unwrap_or(*total);
            }
        }
    }
    used
}

/// Reconciles one ResourceQuota against every observed object of every kind.
pub fn reconcile_resource_quota(quota: &ResourceQuota, objects: &[Object], now: Timestamp) -> Reconciled {
    let mut reconciled = Reconciled::default();
    let hard = resource_list(quota.spec.as_ref().and_then(|spec| spec.hard.as_ref()));
    let used = calculate_used(quota, objects, now);
    let status = quota.status.clone().unwrap_or_default();
    let unchanged = resource_list(status.hard.as_ref()) == hard && resource_list(status.used.as_ref()) == used;
    if !unchanged {
        let mut updated = quota.clone();
        updated.status = Some(ResourceQuotaStatus { hard: Some(wire_list(&hard)), used: Some(wire_list(&used)) });
        reconciled.push_alone(Action::UpdateStatus { object: to_object(&updated) });
    }
    reconciled.requeue_after = Some(RESOURCE_QUOTA_SYNC_PERIOD);
    reconciled
}

#[cfg(test)]
mod tests;
