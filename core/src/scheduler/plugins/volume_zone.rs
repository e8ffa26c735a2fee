//! VolumeZone: a Pod using a bound PersistentVolume labelled with a zone or region
//! (`topology.kubernetes.io/zone`/`region`, or the deprecated `failure-domain.beta` labels) only
//! fits nodes carrying a matching label. A label value may list several zones joined by `__`.
//! Nodes without any of these labels accept every volume (single-zone clusters).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1 as core;

use super::volume_helpers::{WAIT_FOR_FIRST_CONSUMER, claim_class, claim_volume_name};
use crate::scheduler::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, Plugin, PreFilterPlugin, PreFilterResult,
    Status,
};
use crate::scheduler::listers::ClusterObjects;
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::node_tree::{LABEL_TOPOLOGY_REGION, LABEL_TOPOLOGY_ZONE};
use crate::scheduler::snapshot::Snapshot;

/// The plugin's registered name.
pub const NAME: &str = "VolumeZone";

/// The reason a node's zone or region does not match a volume's.
pub const ERR_REASON_CONFLICT: &str = "node(s) had no available volume zone";

/// The deprecated zone label (`v1.LabelFailureDomainBetaZone`).
pub const LABEL_FAILURE_DOMAIN_BETA_ZONE: &str = "failure-domain.beta.kubernetes.io/zone";
/// The deprecated region label (`v1.LabelFailureDomainBetaRegion`).
pub const LABEL_FAILURE_DOMAIN_BETA_REGION: &str = "failure-domain.beta.kubernetes.io/region";

/// The separator of several zones in one label value (`LabelMultiZoneDelimiter`).
const MULTI_ZONE_DELIMITER: &str = "__";

/// The labels compared, in Kubernetes' order.
const TOPOLOGY_LABELS: [&str; 4] =
    [LABEL_FAILURE_DOMAIN_BETA_ZONE, LABEL_FAILURE_DOMAIN_BETA_REGION, LABEL_TOPOLOGY_ZONE, LABEL_TOPOLOGY_REGION];

/// One topology label of one of the Pod's volumes (`pvTopology`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct VolumeTopology {
    key: &'static str,
    values: BTreeSet<String>,
}

/// PreFilter's findings: the topology labels of the Pod's bound volumes.
#[derive(Clone, Debug, Default)]
struct PreFilterState {
    topologies: Vec<VolumeTopology>,
}

/// The GA label a deprecated one stands for (`translateToGALabel`).
fn ga_label(key: &str) -> &str {
    match key {
        LABEL_FAILURE_DOMAIN_BETA_REGION => LABEL_TOPOLOGY_REGION,
        LABEL_FAILURE_DOMAIN_BETA_ZONE => LABEL_TOPOLOGY_ZONE,
        other => other,
    }
}

/// The zones of a label value (`LabelZonesToSet`); `None` when an element is empty, which
/// Kubernetes logs and ignores.
fn zones_of(value: &str) -> Option<BTreeSet<String>> {
    value
        .split(MULTI_ZONE_DELIMITER)
        .map(|zone| {
            let zone = zone.trim();
            (!zone.is_empty()).then(|| zone.to_owned())
        })
        .collect()
}

/// A volume's topology labels (`getPVTopologies`).
fn volume_topologies(volume: &core::PersistentVolume) -> Vec<VolumeTopology> {
    let Some(labels) = volume.metadata.labels.as_ref() else {
        return Vec::new();
    };
    TOPOLOGY_LABELS
        .iter()
        .filter_map(|key| {
            let values = zones_of(labels.get(*key)?)?;
            Some(VolumeTopology { key, values })
        })
        .collect()
}

/// A missing object, as a lister's NotFound reads.
fn not_found(resource: &str, name: &str) -> Status {
    Status::new(Code::UnschedulableAndUnresolvable, format!("{resource} {name:?} not found"))
}

/// The topology of every bound volume the Pod's claims use (`getPVbyPod`); claims waiting for
/// their first consumer are skipped, other unbound claims reject the Pod.
fn pod_volume_topologies(pod: &core::Pod, objects: &ClusterObjects) -> Result<Vec<VolumeTopology>, Status> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("");
    let volumes = pod.spec.as_ref().and_then(|spec| spec.volumes.as_deref()).unwrap_or(&[]);
    let mut topologies = Vec::new();
    for source in volumes.iter().filter_map(|volume| volume.persistent_volume_claim.as_ref()) {
        let claim_name = source.claim_name.as_str();
        if claim_name.is_empty() {
            return Err(Status::new(Code::UnschedulableAndUnresolvable, "PersistentVolumeClaim had no name"));
        }
        let claim = objects
            .persistent_volume_claim(namespace, claim_name)
            .ok_or_else(|| not_found("persistentvolumeclaim", claim_name))?;
        let volume_name = claim_volume_name(claim);
        if volume_name.is_empty() {
            let class_name = claim_class(claim);
            if class_name.is_empty() {
                let message = "PersistentVolumeClaim had no pv name and storageClass name";
                return Err(Status::new(Code::UnschedulableAndUnresolvable, message));
            }
            let class = objects
                .storage_class(class_name)
                .ok_or_else(|| not_found("storageclasses.storage.k8s.io", class_name))?;
            match class.volume_binding_mode.as_deref() {
                None => {
                    let message = format!("VolumeBindingMode not set for StorageClass {class_name:?}");
                    return Err(Status::new(Code::UnschedulableAndUnresolvable, message));
                }
                Some(WAIT_FOR_FIRST_CONSUMER) => continue,
                Some(_) => {
                    return Err(Status::new(Code::UnschedulableAndUnresolvable, "PersistentVolume had no name"));
                }
            }
        }
        let volume =
            objects.persistent_volume(volume_name).ok_or_else(|| not_found("persistentvolume", volume_name))?;
        topologies.extend(volume_topologies(volume));
    }
    Ok(topologies)
}

/// Checks that nodes match the zones of the Pod's bound volumes.
#[derive(Clone, Copy, Debug, Default)]
pub struct VolumeZone;

impl Plugin for VolumeZone {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        let node = ActionType::ADD.or(ActionType::UPDATE_NODE_LABEL).or(ActionType::UPDATE_NODE_TAINT);
        let add_or_update = ActionType::ADD.or(ActionType::UPDATE);
        vec![
            ClusterEvent { resource: EventResource::StorageClass, action: ActionType::ADD },
            ClusterEvent { resource: EventResource::Node, action: node },
            ClusterEvent { resource: EventResource::PersistentVolumeClaim, action: add_or_update },
            ClusterEvent { resource: EventResource::PersistentVolume, action: add_or_update },
        ]
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for VolumeZone {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        match pod_volume_topologies(&pod.pod, snapshot.objects()) {
            Err(status) => (None, status),
            Ok(topologies) if topologies.is_empty() => (None, Status::code_only(Code::Skip)),
            Ok(topologies) => {
                state.write(NAME, PreFilterState { topologies });
                (None, Status::success())
            }
        }
    }
}

impl FilterPlugin for VolumeZone {
    fn filter(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(found) = state.read::<PreFilterState>(NAME) else {
            return Status::success();
        };
        let labels = node.labels();
        if !TOPOLOGY_LABELS.iter().any(|key| labels.contains_key(*key)) {
            return Status::success();
        }
        for topology in &found.topologies {
            let value = labels.get(topology.key).or_else(|| labels.get(ga_label(topology.key)));
            if !value.is_some_and(|value| topology.values.contains(value)) {
                return Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_CONFLICT);
            }
        }
        Status::success()
    }
}

#[cfg(test)]
#[path = "volume_zone_tests.rs"]
mod tests;
