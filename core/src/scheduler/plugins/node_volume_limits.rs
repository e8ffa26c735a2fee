//! NodeVolumeLimits (kube-scheduler's `CSILimits`): a node attaches at most so many volumes of
//! each CSI driver, and a Pod whose new volumes would exceed that on a node does not fit there.
//!
//! Volumes are counted as Kubernetes 1.32 counts them: a claim bound to a PersistentVolume with
//! a `csi` source counts once per `driver/volumeHandle` (a volume shared by several Pods on the
//! node counts once); an unbound claim, or one whose volume is missing, counts under its
//! StorageClass's provisioner with a handle unique to the claim. Limits are the node's
//! allocatable `attachable-volumes-*` resources (`attachable-volumes-csi-<driver>`).
//!
//! What coxswain does not model: the CSINode kind is not served, so per-driver limits from
//! `CSINode.spec.drivers[].allocatable.count` are not read, and in-tree volumes (inline or
//! PersistentVolume-backed AWS EBS, GCE PD, Azure Disk, Cinder…) are never counted — which is
//! also what Kubernetes does for a node without a CSINode, since their CSI migration is then
//! off. The in-tree count plugins (EBSLimits, GCEPDLimits, AzureDiskLimits, CinderLimits) are
//! not part of kube-scheduler 1.32's default profile. Driver names of 40 or more characters
//! get a hashed limit key in Kubernetes; coxswain uses the plain prefixed name for them.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;

use super::node_not_found;
use super::volume_helpers::{claim_class, claim_is_for_pod, claim_volume_name, pod_volume_claim};
use crate::scheduler::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, Plugin, PreFilterPlugin, PreFilterResult,
    Status,
};
use crate::scheduler::listers::ClusterObjects;
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::snapshot::Snapshot;

/// The plugin's registered name.
pub const NAME: &str = "NodeVolumeLimits";

/// The reason a node would exceed a driver's attach limit.
pub const ERR_REASON_MAX_VOLUME_COUNT_EXCEEDED: &str = "node(s) exceed max volume count";

/// The prefix of attach-limit resource names.
pub const ATTACHABLE_VOLUMES_PREFIX: &str = "attachable-volumes-";

/// The prefix of a CSI driver's attach-limit resource name (`CSIAttachLimitPrefix`).
pub const CSI_ATTACH_LIMIT_PREFIX: &str = "attachable-volumes-csi-";

/// The prefix of the handle given to volumes not provisioned yet, unique per claim
/// (Kubernetes draws a random prefix per scheduler; a constant keeps runs deterministic).
const UNBOUND_VOLUME_PREFIX: &str = "coxswain-unbound";

/// The attach-limit resource name of a CSI driver (`GetCSIAttachLimitKey`).
pub fn csi_attach_limit_key(driver: &str) -> String {
    format!("{CSI_ATTACH_LIMIT_PREFIX}{driver}")
}

/// In-tree provisioners whose volumes count only through CSI migration, which needs a CSINode.
const MIGRATABLE_IN_TREE_PROVISIONERS: [&str; 7] = [
    "kubernetes.io/aws-ebs",
    "kubernetes.io/gce-pd",
    "kubernetes.io/azure-disk",
    "kubernetes.io/azure-file",
    "kubernetes.io/cinder",
    "kubernetes.io/vsphere-volume",
    "kubernetes.io/portworx-volume",
];

/// Whether an inline volume is of an in-tree kind CSI migration covers (`IsInlineMigratable`).
fn is_inline_migratable(volume: &core::Volume) -> bool {
    volume.aws_elastic_block_store.is_some()
        || volume.gce_persistent_disk.is_some()
        || volume.azure_disk.is_some()
        || volume.azure_file.is_some()
        || volume.cinder.is_some()
        || volume.vsphere_volume.is_some()
        || volume.portworx_volume.is_some()
}

/// Why a Pod's volumes could not be counted.
enum CountError {
    /// A new Pod's claim does not exist: it can never fit until the claim is created.
    ClaimNotFound(String),
    /// Anything else.
    Other(String),
}

/// Counts a node's attachable volumes against its limits.
#[derive(Clone, Debug, Default)]
pub struct NodeVolumeLimits;

impl Plugin for NodeVolumeLimits {
    fn name(&self) -> &'static str {
        NAME
    }

    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent { resource: EventResource::AssignedPod, action: ActionType::DELETE },
            ClusterEvent { resource: EventResource::PersistentVolumeClaim, action: ActionType::ADD },
            // Kubernetes registers CSINode additions here; coxswain reads limits from the
            // node's allocatable, so a Node whose allocatable grows may help instead.
            ClusterEvent {
                resource: EventResource::Node,
                action: ActionType::ADD.or(ActionType::UPDATE_NODE_ALLOCATABLE),
            },
        ]
    }

    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

/// The listers, kept from PreFilter for Filter.
#[derive(Clone)]
struct Listers(Arc<ClusterObjects>);

impl PreFilterPlugin for NodeVolumeLimits {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let volumes = pod.spec().volumes.as_deref().unwrap_or(&[]);
        let counted = volumes.iter().any(|volume| {
            volume.persistent_volume_claim.is_some() || volume.ephemeral.is_some() || is_inline_migratable(volume)
        });
        if !counted {
            return (None, Status::code_only(Code::Skip));
        }
        state.write(NAME, Listers(snapshot.shared_objects()));
        (None, Status::success())
    }
}

/// The driver and handle a claim's volume counts under (`getCSIDriverInfo`), if any.
fn claim_driver_info(claim: &core::PersistentVolumeClaim, objects: &ClusterObjects) -> Option<(String, String)> {
    let volume_name = claim_volume_name(claim);
    if let Some(volume) = (!volume_name.is_empty()).then(|| objects.persistent_volume(volume_name)).flatten() {
        // A volume without a CSI source is in-tree: it counts only through CSI migration.
        let csi = volume.spec.as_ref()?.csi.as_ref()?;
        return Some((csi.driver.clone(), csi.volume_handle.clone()));
    }
    // Unbound, or bound to a volume that is gone: count under the class's provisioner.
    let class_name = claim_class(claim);
    if class_name.is_empty() {
        return None;
    }
    let class = objects.storage_class(class_name)?;
    if MIGRATABLE_IN_TREE_PROVISIONERS.contains(&class.provisioner.as_str()) {
        return None;
    }
    let handle = format!(
        "{UNBOUND_VOLUME_PREFIX}-{}/{}",
        claim.metadata.namespace.as_deref().unwrap_or(""),
        claim.metadata.name.as_deref().unwrap_or("")
    );
    Some((class.provisioner.clone(), handle))
}

/// Adds the Pod's attachable volumes to `result` as unique name → limit key
/// (`filterAttachableVolumes`). A new Pod's missing claim is an error; an existing Pod's is
/// skipped, since it may not belong to this node's Pods any more.
fn attachable_volumes(
    pod: &core::Pod,
    objects: &ClusterObjects,
    new_pod: bool,
    result: &mut BTreeMap<String, String>,
) -> Result<(), CountError> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("");
    for volume in pod.spec.as_ref().and_then(|spec| spec.volumes.as_deref()).unwrap_or(&[]) {
        let Some(claim) = pod_volume_claim(pod, volume) else {
            // Inline in-tree volumes count only through CSI migration (no CSINode here).
            continue;
        };
        if claim.name.is_empty() {
            return Err(CountError::Other("PersistentVolumeClaim had no name".to_owned()));
        }
        let Some(object) = objects.persistent_volume_claim(namespace, &claim.name) else {
            if new_pod {
                return Err(CountError::ClaimNotFound(format!(
                    "looking up PVC {namespace}/{}: persistentvolumeclaim {:?} not found",
                    claim.name, claim.name
                )));
            }
            continue;
        };
        if claim.ephemeral {
            claim_is_for_pod(pod, object).map_err(CountError::Other)?;
        }
        let Some((driver, handle)) = claim_driver_info(object, objects) else {
            continue;
        };
        if driver.is_empty() || handle.is_empty() {
            continue;
        }
        result.insert(format!("{driver}/{handle}"), csi_attach_limit_key(&driver));
    }
    Ok(())
}

/// The node's attach limits by resource name (`volumeLimits`).
fn volume_limits(node: &NodeInfo) -> BTreeMap<&str, i64> {
    node.allocatable
        .scalar_resources
        .iter()
        .filter(|(name, _)| name.starts_with(ATTACHABLE_VOLUMES_PREFIX))
        .map(|(name, value)| (name.as_str(), *value))
        .collect()
}

impl FilterPlugin for NodeVolumeLimits {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if pod.spec().volumes.as_ref().is_none_or(Vec::is_empty) {
            return Status::success();
        }
        if node.node().is_none() {
            return node_not_found();
        }
        let Some(Listers(objects)) = state.read::<Listers>(NAME) else {
            return Status::error(format!("reading {NAME:?} from cycleState"));
        };
        let mut new_volumes = BTreeMap::new();
        match attachable_volumes(&pod.pod, objects, true, &mut new_volumes) {
            Ok(()) => {}
            Err(CountError::ClaimNotFound(message)) => return Status::new(Code::UnschedulableAndUnresolvable, message),
            Err(CountError::Other(message)) => return Status::error(message),
        }
        if new_volumes.is_empty() {
            return Status::success();
        }
        let limits = volume_limits(node);
        if limits.is_empty() {
            return Status::success();
        }
        let mut attached = BTreeMap::new();
        for existing in &node.pods {
            if let Err(CountError::ClaimNotFound(message) | CountError::Other(message)) =
                attachable_volumes(&existing.pod, objects, false, &mut attached)
            {
                return Status::error(message);
            }
        }
        let mut attached_counts: BTreeMap<&str, i64> = BTreeMap::new();
        for (unique_name, limit_key) in &attached {
            // A volume already attached for another Pod is not attached again.
            new_volumes.remove(unique_name);
            *attached_counts.entry(limit_key.as_str()).or_default() += 1;
        }
        let mut new_counts: BTreeMap<&str, i64> = BTreeMap::new();
        for limit_key in new_volumes.values() {
            *new_counts.entry(limit_key.as_str()).or_default() += 1;
        }
        for (limit_key, count) in new_counts {
            if let Some(limit) = limits.get(limit_key)
                && attached_counts.get(limit_key).copied().unwrap_or(0) + count > *limit
            {
                return Status::new(Code::Unschedulable, ERR_REASON_MAX_VOLUME_COUNT_EXCEEDED);
            }
        }
        Status::success()
    }
}

#[cfg(test)]
#[path = "node_volume_limits_tests.rs"]
mod tests;
