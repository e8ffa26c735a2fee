//! VolumeRestrictions: a Pod cannot join a node where another Pod already mounts the same GCE
//! persistent disk, AWS EBS volume, Ceph RBD image or iSCSI target in a conflicting way, and
//! a claim with the `ReadWriteOncePod` access mode can be used by one Pod in the whole
//! cluster at a time.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1 as core;

use super::volume_helpers::claim_has_access_mode;
use crate::scheduler::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, Plugin, PreFilterPlugin, PreFilterResult,
    Status,
};
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::snapshot::Snapshot;

/// The plugin's registered name.
pub const NAME: &str = "VolumeRestrictions";

/// The reason a node already mounts one of the Pod's disks in a conflicting way.
pub const ERR_REASON_DISK_CONFLICT: &str = "node(s) had no available disk";

/// The reason a `ReadWriteOncePod` claim of the Pod is already in use.
pub const ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT: &str =
    "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode";

/// The access mode that limits a claim to one Pod.
const READ_WRITE_ONCE_POD: &str = "ReadWriteOncePod";

/// PreFilter's findings: the Pod's `ReadWriteOncePod` claims and how many scheduled Pods use
/// them (preemption's RemovePod lowers the count).
#[derive(Clone, Debug, Default)]
struct PreFilterState {
    read_write_once_pod_claims: BTreeSet<String>,
    conflicting_claim_references: i64,
}

impl PreFilterState {
    /// How many of a Pod's volumes use the claims (the caller checks the namespace).
    fn references_of(&self, pod: &PodInfo) -> i64 {
        claim_names(&pod.pod).filter(|name| self.read_write_once_pod_claims.contains(*name)).count() as i64
    }
}

/// The claim names of a Pod's `persistentVolumeClaim` volumes.
fn claim_names(pod: &core::Pod) -> impl Iterator<Item = &str> {
    pod.spec
        .as_ref()
        .and_then(|spec| spec.volumes.as_deref())
        .unwrap_or(&[])
        .iter()
        .filter_map(|volume| volume.persistent_volume_claim.as_ref().map(|source| source.claim_name.as_str()))
}

/// Whether a volume is one of the kinds whose sharing is restricted.
fn needs_restrictions_check(volume: &core::Volume) -> bool {
    volume.gce_persistent_disk.is_some()
        || volume.aws_elastic_block_store.is_some()
        || volume.rbd.is_some()
        || volume.iscsi.is_some()
}

/// Whether two lists share an element.
fn have_overlap(left: &[String], right: &[String]) -> bool {
    left.iter().any(|item| right.contains(item))
}

/// Whether mounting `volume` conflicts with a volume of an existing Pod (`isVolumeConflict`):
/// the same GCE disk unless both are read-only, the same EBS volume always, the same iSCSI IQN
/// unless both are read-only, the same RBD image (a shared monitor, pool and image) unless both
/// are read-only.
fn is_volume_conflict(volume: &core::Volume, existing_pod: &core::Pod) -> bool {
    let existing_volumes = existing_pod.spec.as_ref().and_then(|spec| spec.volumes.as_deref()).unwrap_or(&[]);
    existing_volumes.iter().any(|existing| {
        if let (Some(disk), Some(other)) = (&volume.gce_persistent_disk, &existing.gce_persistent_disk)
            && disk.pd_name == other.pd_name
            && !(disk.read_only == Some(true) && other.read_only == Some(true))
        {
            return true;
        }
        if let (Some(disk), Some(other)) = (&volume.aws_elastic_block_store, &existing.aws_elastic_block_store)
            && disk.volume_id == other.volume_id
        {
            return true;
        }
        if let (Some(disk), Some(other)) = (&volume.iscsi, &existing.iscsi)
            && disk.iqn == other.iqn
            && !(disk.read_only == Some(true) && other.read_only == Some(true))
        {
            return true;
        }
        if let (Some(disk), Some(other)) = (&volume.rbd, &existing.rbd) {
            let pool = disk.pool.as_deref().unwrap_or("rbd");
            let other_pool = other.pool.as_deref().unwrap_or("rbd");
            return have_overlap(&disk.monitors, &other.monitors)
                && pool == other_pool
                && disk.image == other.image
                && !(disk.read_only == Some(true) && other.read_only == Some(true));
        }
        false
    })
}

/// Whether the Pod's restricted volumes conflict with any Pod on the node.
fn satisfies_volume_conflicts(pod: &core::Pod, node: &NodeInfo) -> bool {
    let volumes = pod.spec.as_ref().and_then(|spec| spec.volumes.as_deref()).unwrap_or(&[]);
    volumes
        .iter()
        .filter(|volume| needs_restrictions_check(volume))
        .all(|volume| node.pods.iter().all(|existing| !is_volume_conflict(volume, &existing.pod)))
}

/// Refuses nodes with conflicting disks and Pods whose `ReadWriteOncePod` claims are in use.
#[derive(Clone, Debug, Default)]
pub struct VolumeRestrictions;

impl Plugin for VolumeRestrictions {
    fn name(&self) -> &'static str {
        NAME
    }

    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent { resource: EventResource::AssignedPod, action: ActionType::DELETE },
            ClusterEvent {
                resource: EventResource::Node,
                action: ActionType::ADD.or(ActionType::UPDATE_NODE_TAINT).or(ActionType::UPDATE_NODE_LABEL),
            },
            ClusterEvent { resource: EventResource::PersistentVolumeClaim, action: ActionType::ADD },
        ]
    }

    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for VolumeRestrictions {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let volumes = pod.spec().volumes.as_deref().unwrap_or(&[]);
        let needs_check = volumes.iter().any(needs_restrictions_check);
        let mut claims = BTreeSet::new();
        for name in claim_names(&pod.pod) {
            let Some(claim) = snapshot.objects().persistent_volume_claim(pod.namespace(), name) else {
                let message = format!("persistentvolumeclaim {name:?} not found");
                return (None, Status::new(Code::UnschedulableAndUnresolvable, message));
            };
            if claim_has_access_mode(claim, READ_WRITE_ONCE_POD) {
                claims.insert(name.to_owned());
            }
        }
        // A ReadWriteOncePod claim is used by at most one scheduled Pod (`IsPVCUsedByPods`).
        let conflicting_claim_references = if claims.is_empty() {
            0
        } else {
            let mut used = BTreeSet::new();
            for node in snapshot.list() {
                for existing in node.pods.iter().filter(|existing| existing.namespace() == pod.namespace()) {
                    used.extend(claim_names(&existing.pod).filter(|name| claims.contains(*name)).map(str::to_owned));
                }
            }
            used.len() as i64
        };
        if !needs_check && conflicting_claim_references == 0 {
            return (None, Status::code_only(Code::Skip));
        }
        state.write(NAME, PreFilterState { read_write_once_pod_claims: claims, conflicting_claim_references });
        (None, Status::success())
    }

    fn add_pod(&self, state: &mut CycleState, pod: &PodInfo, pod_to_add: &PodInfo, _node: &NodeInfo) -> Status {
        update_with_pod(state, pod, pod_to_add, 1)
    }

    fn remove_pod(&self, state: &mut CycleState, pod: &PodInfo, pod_to_remove: &PodInfo, _node: &NodeInfo) -> Status {
        update_with_pod(state, pod, pod_to_remove, -1)
    }
}

/// Adjusts the reference count for a Pod added or removed during preemption's what-ifs.
fn update_with_pod(state: &mut CycleState, pod: &PodInfo, other: &PodInfo, multiplier: i64) -> Status {
    let Some(data) = state.read_mut::<PreFilterState>(NAME) else {
        return Status::error(format!("cannot read \"PreFilter{NAME}\" from cycleState"));
    };
    if other.namespace() == pod.namespace() {
        data.conflicting_claim_references += multiplier * data.references_of(other);
    }
    Status::success()
}

impl FilterPlugin for VolumeRestrictions {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if !satisfies_volume_conflicts(&pod.pod, node) {
            return Status::new(Code::Unschedulable, ERR_REASON_DISK_CONFLICT);
        }
        let Some(data) = state.read::<PreFilterState>(NAME) else {
            return Status::error(format!("cannot read \"PreFilter{NAME}\" from cycleState"));
        };
        if data.conflicting_claim_references > 0 {
            return Status::new(Code::Unschedulable, ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT);
        }
        Status::success()
    }
}

#[cfg(test)]
#[path = "volume_restrictions_tests.rs"]
mod tests;
