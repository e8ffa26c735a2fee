//! The ResourceQuota controller: keeps each quota's `status.hard` equal to its `spec.hard` and
//! `status.used` equal to what the objects in its namespace that it matches charge
//! (Kubernetes' `syncResourceQuota`). The API server's quota admission (`api/quota.rs`) charges
//! new objects against the same status with the same evaluators
//! ([`quota_usage`](crate::object::quota_usage)).

use std::time::Duration;

use k8s_openapi::api::core::v1::{ResourceQuota, ResourceQuotaStatus};
use k8s_openapi::jiff::Timestamp;

use super::action::{Action, Reconciled, to_object};
use crate::object::quota_usage::{self, ResourceList, quota_matches, resource_list, wire_list};
use crate::object::{Object, Quantity};

/// How often every quota is recalculated even without a change (`--resource-quota-sync-period`,
/// 5 minutes), which also uncharges pods whose termination grace period ran out.
pub const RESOURCE_QUOTA_SYNC_PERIOD: Duration = Duration::from_secs(5 * 60);

/// What the objects of `namespace` that `quota` matches charge, for the resources it limits;
/// a limited resource nothing charges is used `0` (`CalculateUsage`).
pub fn calculate_used(quota: &ResourceQuota, objects: &[Object], now: Timestamp) -> ResourceList {
    let spec = quota.spec.clone().unwrap_or_default();
    let hard = resource_list(spec.hard.as_ref());
    let namespace = quota.metadata.namespace.as_deref().unwrap_or("");
    let mut used: ResourceList = hard.keys().map(|name| (name.clone(), Quantity::ZERO)).collect();
    for object in objects.iter().filter(|object| object.namespace() == namespace && quota_matches(&spec, object)) {
        for (name, amount) in quota_usage::usage(object, now) {
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
