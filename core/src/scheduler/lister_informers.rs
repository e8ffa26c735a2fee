//! The scheduler component's informers for everything its plugins read besides Pods and Nodes
//! (kube-scheduler's shared informer factory): Namespaces, Services, ReplicationControllers,
//! ReplicaSets, StatefulSets, PersistentVolumes, PersistentVolumeClaims, StorageClasses and
//! PodDisruptionBudgets (preemption prefers victims whose budgets allow a disruption).
//! Their changes become the scheduler's [`Input::ObjectApplied`] and [`Input::ObjectDeleted`].

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, PersistentVolume, PersistentVolumeClaim, ReplicationController, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::{Metadata, Resource};
use serde::de::DeserializeOwned;

use super::driver::Input;
use super::listers::ListerObject;
use crate::client::informer::{Change, Informer};
use crate::client::{Incoming, Outgoing, RequestId};

/// The informers of every lister kind.
#[derive(Debug, Default)]
pub struct ListerInformers {
    namespaces: Informer<Namespace>,
    services: Informer<Service>,
    replication_controllers: Informer<ReplicationController>,
    replica_sets: Informer<ReplicaSet>,
    stateful_sets: Informer<StatefulSet>,
    persistent_volumes: Informer<PersistentVolume>,
    persistent_volume_claims: Informer<PersistentVolumeClaim>,
    storage_classes: Informer<StorageClass>,
    pod_disruption_budgets: Informer<PodDisruptionBudget>,
}

/// Offers an input to one informer; its changes, wrapped as lister objects, if it was its.
fn offer<T>(
    informer: &mut Informer<T>,
    input: &Incoming,
    now: Timestamp,
    wrap: fn(Arc<T>) -> ListerObject,
) -> Option<Vec<Input>>
where
    T: Resource + Metadata<Ty = ObjectMeta> + DeserializeOwned,
{
    let changes = informer.handle(input, now)?;
    Some(
        changes
            .into_iter()
            .map(|change| match change {
                Change::Applied { new, .. } => Input::ObjectApplied(wrap(new)),
                Change::Deleted(old) => Input::ObjectDeleted(wrap(old)),
            })
            .collect(),
    )
}

impl ListerInformers {
    /// Informers that have listed nothing yet.
    pub fn new() -> ListerInformers {
        ListerInformers::default()
    }

    /// Feeds an input to the informer that owns it; the scheduler inputs it caused, or `None`
    /// when no lister informer owns it.
    pub fn handle(&mut self, input: &Incoming, now: Timestamp) -> Option<Vec<Input>> {
        offer(&mut self.namespaces, input, now, ListerObject::Namespace)
            .or_else(|| offer(&mut self.services, input, now, ListerObject::Service))
            .or_else(|| offer(&mut self.replication_controllers, input, now, ListerObject::ReplicationController))
            .or_else(|| offer(&mut self.replica_sets, input, now, ListerObject::ReplicaSet))
            .or_else(|| offer(&mut self.stateful_sets, input, now, ListerObject::StatefulSet))
            .or_else(|| offer(&mut self.persistent_volumes, input, now, ListerObject::PersistentVolume))
            .or_else(|| offer(&mut self.persistent_volume_claims, input, now, ListerObject::PersistentVolumeClaim))
            .or_else(|| offer(&mut self.storage_classes, input, now, ListerObject::StorageClass))
            .or_else(|| offer(&mut self.pod_disruption_budgets, input, now, ListerObject::PodDisruptionBudget))
    }

    /// The list and watch requests due at `now`.
    pub fn poll_requests(&mut self, now: Timestamp, next_id: &mut RequestId, outgoing: &mut Vec<Outgoing>) {
        outgoing.extend(self.namespaces.poll_request(now, next_id));
        outgoing.extend(self.services.poll_request(now, next_id));
        outgoing.extend(self.replication_controllers.poll_request(now, next_id));
        outgoing.extend(self.replica_sets.poll_request(now, next_id));
        outgoing.extend(self.stateful_sets.poll_request(now, next_id));
        outgoing.extend(self.persistent_volumes.poll_request(now, next_id));
        outgoing.extend(self.persistent_volume_claims.poll_request(now, next_id));
        outgoing.extend(self.storage_classes.poll_request(now, next_id));
        outgoing.extend(self.pod_disruption_budgets.poll_request(now, next_id));
    }

    /// Whether every informer has listed once (`WaitForCacheSync`).
    pub fn has_synced(&self) -> bool {
        self.namespaces.has_synced()
            && self.services.has_synced()
            && self.replication_controllers.has_synced()
            && self.replica_sets.has_synced()
            && self.stateful_sets.has_synced()
            && self.persistent_volumes.has_synced()
            && self.persistent_volume_claims.has_synced()
            && self.storage_classes.has_synced()
            && self.pod_disruption_budgets.has_synced()
    }

    /// The earliest retry any informer waits for.
    pub fn next_wake(&self) -> Option<Timestamp> {
        [
            self.namespaces.next_wake(),
            self.services.next_wake(),
            self.replication_controllers.next_wake(),
            self.replica_sets.next_wake(),
            self.stateful_sets.next_wake(),
            self.persistent_volumes.next_wake(),
            self.persistent_volume_claims.next_wake(),
            self.storage_classes.next_wake(),
            self.pod_disruption_budgets.next_wake(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
