//! The PersistentVolume controller's binder (`pkg/controller/volume/persistentvolume`,
//! `--controllers` name `persistentvolume-binder`): binds claims to volumes, provisions volumes
//! for classes whose provisioner runs here, and releases and reclaims volumes whose claim is gone.
//!
//! Two keys, as Kubernetes' two queues: a claim (`namespace/name`, [`reconcile_claim`]) and a
//! volume (`name`, [`reconcile_volume`]). Differences from Kubernetes, all deliberate:
//! - The binding is written as a compare-and-swap update of the volume's `claimRef` followed by
//!   merge patches of the volume's status, the claim and the claim's status, each a batch of its
//!   own so a refused step stops the rest; the next sync resumes from what was written.
//! - Pending claims are looked at again every [`CLAIM_RESYNC_PERIOD`] (Kubernetes resyncs every
//!   object each `--pvclaimbinder-sync-period`); bound ones only when they or their volume change.
//! - The claim cache is trusted when a volume's claim is missing (Kubernetes re-reads the claim
//!   from the API server first).
//! - Recycling (deprecated) is not done: a volume with reclaim policy Recycle is marked Failed.
//!   Deleting a provisioned volume deletes the PersistentVolume object; the directory a
//!   local-path volume used is left on the node.

pub mod claim;
pub mod provisioner;
pub mod volume;

#[cfg(test)]
mod tests;

use std::time::Duration;

use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolume, PersistentVolumeClaim};
use serde_json::json;

pub use self::claim::reconcile_claim;
pub use self::provisioner::{LocalPathProvisioner, ProvisionError, ProvisionRequest, Provisioner};
pub use self::volume::reconcile_volume;
use super::action::{Action, PatchType, object_reference, to_object};
use crate::object::kinds::GroupResource;
use crate::scheduler::plugins::volume_helpers::ANN_BIND_COMPLETED;
pub use crate::scheduler::plugins::volume_helpers::{ANN_BOUND_BY_CONTROLLER, claim_reference};

/// The component that records the binder's events.
pub const COMPONENT: &str = "persistentvolume-controller";

/// Names the provisioner that made a volume (`AnnDynamicallyProvisioned`).
pub const ANN_DYNAMICALLY_PROVISIONED: &str = "pv.kubernetes.io/provisioned-by";
/// Names the provisioner expected to provision a claim.
pub const ANN_STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
/// The beta spelling of [`ANN_STORAGE_PROVISIONER`], still written.
pub const ANN_BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";

/// How often a claim that is not bound yet is looked at again (`--pvclaimbinder-sync-period`).
pub const CLAIM_RESYNC_PERIOD: Duration = Duration::from_secs(15);

/// Event reasons (`pkg/controller/volume/events`).
pub mod reasons {
    /// A claim could not be bound.
    pub const FAILED_BINDING: &str = "FailedBinding";
    /// A delayed claim waits for a pod.
    pub const WAIT_FOR_FIRST_CONSUMER: &str = "WaitForFirstConsumer";
    /// A provisioner outside the controller is expected to act.
    pub const EXTERNAL_PROVISIONING: &str = "ExternalProvisioning";
    /// A volume was provisioned.
    pub const PROVISIONING_SUCCEEDED: &str = "ProvisioningSucceeded";
    /// A volume could not be provisioned.
    pub const PROVISIONING_FAILED: &str = "ProvisioningFailed";
    /// A bound claim's volume is gone.
    pub const CLAIM_LOST: &str = "ClaimLost";
    /// Two claims name the same volume.
    pub const CLAIM_MISBOUND: &str = "ClaimMisbound";
    /// A released volume could not be deleted.
    pub const VOLUME_FAILED_DELETE: &str = "VolumeFailedDelete";
    /// A released volume could not be recycled.
    pub const VOLUME_FAILED_RECYCLE: &str = "VolumeFailedRecycle";
}

const PERSISTENT_VOLUMES: GroupResource = GroupResource { group: "", resource: "persistentvolumes" };
const PERSISTENT_VOLUMES_STATUS: GroupResource = GroupResource { group: "", resource: "persistentvolumes/status" };
const CLAIMS: GroupResource = GroupResource { group: "", resource: "persistentvolumeclaims" };
const CLAIMS_STATUS: GroupResource = GroupResource { group: "", resource: "persistentvolumeclaims/status" };

/// A volume's phase (`Pending` when the API server has not set one).
pub fn volume_phase(volume: &PersistentVolume) -> &str {
    volume.status.as_ref().and_then(|status| status.phase.as_deref()).unwrap_or("Pending")
}

/// A claim's phase (`Pending` when none).
pub fn claim_phase(claim: &PersistentVolumeClaim) -> &str {
    claim.status.as_ref().and_then(|status| status.phase.as_deref()).unwrap_or("Pending")
}

fn has_annotation(metadata: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, key: &str) -> bool {
    metadata.annotations.as_ref().is_some_and(|annotations| annotations.contains_key(key))
}

/// Whether the volume's `claimRef` names this very claim, uid included.
fn volume_claims_exactly(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    volume.spec.as_ref().and_then(|spec| spec.claim_ref.as_ref()).is_some_and(|reference| {
        reference.name == claim.metadata.name
            && reference.namespace == claim.metadata.namespace
            && reference.uid.is_some()
            && reference.uid == claim.metadata.uid
    })
}

/// Patches a volume's phase (and message) through its status subresource.
fn volume_phase_patch(volume: &PersistentVolume, phase: &str, message: Option<&str>) -> Action {
    let mut status = json!({"phase": phase});
    if let Some(message) = message {
        status["message"] = json!(message);
    }
    Action::Patch {
        resource: PERSISTENT_VOLUMES_STATUS,
        namespace: String::new(),
        name: volume.metadata.name.clone().unwrap_or_default(),
        patch_type: PatchType::Merge,
        body: json!({"status": status}),
    }
}

/// Patches a claim's phase through its status subresource.
fn claim_phase_patch(claim: &PersistentVolumeClaim, phase: &str) -> Action {
    claim_status_patch(claim, json!({"phase": phase}))
}

fn claim_status_patch(claim: &PersistentVolumeClaim, status: serde_json::Value) -> Action {
    Action::Patch {
        resource: CLAIMS_STATUS,
        namespace: claim.metadata.namespace.clone().unwrap_or_default(),
        name: claim.metadata.name.clone().unwrap_or_default(),
        patch_type: PatchType::Merge,
        body: json!({"status": status}),
    }
}

/// The writes that bind `volume` and `claim` to each other (`bind`): the volume's `claimRef`,
/// its phase Bound, the claim's `volumeName` and bind-completed annotation, and its status
/// (phase Bound, the volume's access modes and capacity), each only where it differs.
fn bind_actions(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> Vec<Action> {
    let mut actions = Vec::new();
    let volume_name = volume.metadata.name.clone().unwrap_or_default();
    if !volume_claims_exactly(volume, claim) {
        let mut updated = volume.clone();
        let spec = updated.spec.get_or_insert_with(Default::default);
        if spec.claim_ref.is_none() {
            // A volume the user pre-bound keeps no annotation; one the controller chose does.
            updated
                .metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(ANN_BOUND_BY_CONTROLLER.into(), "yes".into());
        }
        let spec = updated.spec.get_or_insert_with(Default::default);
        spec.claim_ref = Some(claim_reference(claim));
        actions.push(Action::Update { object: to_object(&updated) });
    }
    if volume_phase(volume) != "Bound" {
        actions.push(volume_phase_patch(volume, "Bound", None));
    }
    let claim_volume = claim.spec.as_ref().and_then(|spec| spec.volume_name.as_deref()).unwrap_or("");
    if claim_volume != volume_name || !has_annotation(&claim.metadata, ANN_BIND_COMPLETED) {
        let mut annotations = json!({ANN_BIND_COMPLETED: "yes"});
        if claim_volume.is_empty() {
            annotations[ANN_BOUND_BY_CONTROLLER] = json!("yes");
        }
        actions.push(Action::Patch {
            resource: CLAIMS,
            namespace: claim.metadata.namespace.clone().unwrap_or_default(),
            name: claim.metadata.name.clone().unwrap_or_default(),
            patch_type: PatchType::Merge,
            body: json!({"metadata": {"annotations": annotations}, "spec": {"volumeName": volume_name}}),
        });
    }
    let spec = volume.spec.as_ref();
    let access_modes = spec.and_then(|spec| spec.access_modes.clone()).unwrap_or_default();
    let capacity = spec.and_then(|spec| spec.capacity.clone()).unwrap_or_default();
    let status = claim.status.as_ref();
    let current_modes = status.and_then(|status| status.access_modes.clone()).unwrap_or_default();
    let current_capacity = status.and_then(|status| status.capacity.clone()).unwrap_or_default();
    if claim_phase(claim) != "Bound" || current_modes != access_modes || current_capacity != capacity {
        actions.push(claim_status_patch(
            claim,
            json!({"phase": "Bound", "accessModes": access_modes, "capacity": capacity}),
        ));
    }
    actions
}

/// The reference events about a claim carry.
fn claim_event_reference(claim: &PersistentVolumeClaim) -> ObjectReference {
    object_reference("v1", "PersistentVolumeClaim", &claim.metadata)
}

/// The reference events about a volume carry.
fn volume_event_reference(volume: &PersistentVolume) -> ObjectReference {
    object_reference("v1", "PersistentVolume", &volume.metadata)
}
