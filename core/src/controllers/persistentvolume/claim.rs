//! The binder's claim sync (`syncClaim`, `syncUnboundClaim`, `syncBoundClaim`,
//! `provisionClaim`): bind a pending claim to the smallest matching Available volume, honour a
//! claim's `volumeName` and a volume's `claimRef` pre-binding, provision for the claim's class
//! when nothing matches, and mark a bound claim Lost when its volume is gone or taken.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::provisioner::{ProvisionRequest, Provisioner};
use super::{
    ANN_BETA_STORAGE_PROVISIONER, ANN_BOUND_BY_CONTROLLER, ANN_DYNAMICALLY_PROVISIONED, ANN_STORAGE_PROVISIONER,
    CLAIM_RESYNC_PERIOD, CLAIMS, COMPONENT, bind_actions, claim_event_reference, claim_phase, claim_phase_patch,
    claim_reference, has_annotation, reasons,
};
use crate::client::action::{Action, EventType, PatchType, Reconciled, event_action, to_object};
use crate::scheduler::plugins::volume_helpers::{
    ANN_BIND_COMPLETED, ANN_SELECTED_NODE, WAIT_FOR_FIRST_CONSUMER, claim_class, claim_volume_name,
    find_matching_volume_for, volume_bound_to_claim,
};

/// What a claim's sync reads.
#[derive(Clone, Copy, Debug)]
pub struct ClaimSync<'a> {
    /// The claim.
    pub claim: &'a PersistentVolumeClaim,
    /// The volumes it could bind to: those of its class and any whose `claimRef` names it.
    pub candidates: &'a [Arc<PersistentVolume>],
    /// The volume its `spec.volumeName` names, when that exists.
    pub named_volume: Option<&'a PersistentVolume>,
    /// Its StorageClass, when it names one that exists.
    pub class: Option<&'a StorageClass>,
    /// The node its `volume.kubernetes.io/selected-node` annotation names, when that exists.
    pub selected_node: Option<&'a Node>,
    /// The provisioners this controller runs.
    pub provisioners: &'a [&'a dyn Provisioner],
}

/// The message of the event a delayed claim gets while no pod uses it.
pub const WAITING_FOR_FIRST_CONSUMER_MESSAGE: &str = "waiting for first consumer to be created before binding";
/// The message of the event a claim gets when nothing matches and it names no class.
pub const NO_VOLUME_AND_NO_CLASS_MESSAGE: &str =
    "no persistent volumes available for this claim and no storage class is set";

/// Syncs one claim.
pub fn reconcile_claim(sync: &ClaimSync<'_>, now: Timestamp) -> Reconciled {
    let claim = sync.claim;
    let mut reconciled = Reconciled::default();
    if !has_annotation(&claim.metadata, ANN_BIND_COMPLETED) {
        if claim_volume_name(claim).is_empty() {
            sync_unbound_claim(sync, &mut reconciled, now);
        } else {
            sync_pre_bound_claim(sync, &mut reconciled, now);
        }
    } else {
        sync_bound_claim(sync, &mut reconciled, now);
    }
    reconciled
}

fn event(
    reconciled: &mut Reconciled,
    claim: &PersistentVolumeClaim,
    kind: EventType,
    reason: &str,
    message: &str,
    now: Timestamp,
) {
    reconciled.push_alone(event_action(&claim_event_reference(claim), COMPONENT, kind, reason, message, now));
}

/// Leaves the claim Pending and looks again after the resync period.
fn stay_pending(claim: &PersistentVolumeClaim, reconciled: &mut Reconciled) {
    if claim_phase(claim) != "Pending" {
        reconciled.push_alone(claim_phase_patch(claim, "Pending"));
    }
    reconciled.requeue_no_later_than(CLAIM_RESYNC_PERIOD);
}

fn bind(volume: &PersistentVolume, claim: &PersistentVolumeClaim, reconciled: &mut Reconciled) {
    for action in bind_actions(volume, claim) {
        reconciled.push_alone(action);
    }
}

fn is_delay_binding(class: Option<&StorageClass>) -> bool {
    class.and_then(|class| class.volume_binding_mode.as_deref()) == Some(WAIT_FOR_FIRST_CONSUMER)
}

fn sync_unbound_claim(sync: &ClaimSync<'_>, reconciled: &mut Reconciled, now: Timestamp) {
    let claim = sync.claim;
    let delay_binding = is_delay_binding(sync.class);
    match find_matching_volume_for(claim, sync.candidates, None, &[], delay_binding) {
        Err(message) => {
            event(reconciled, claim, EventType::Warning, reasons::FAILED_BINDING, &message, now);
            stay_pending(claim, reconciled);
        }
        Ok(Some(volume)) => bind(volume, claim, reconciled),
        Ok(None) => {
            let selected =
                claim.metadata.annotations.as_ref().and_then(|annotations| annotations.get(ANN_SELECTED_NODE));
            let class_name = claim_class(claim);
            if delay_binding && selected.is_none() {
                let message = WAITING_FOR_FIRST_CONSUMER_MESSAGE;
                event(reconciled, claim, EventType::Normal, reasons::WAIT_FOR_FIRST_CONSUMER, message, now);
            } else if class_name.is_empty() {
                event(
                    reconciled,
                    claim,
                    EventType::Normal,
                    reasons::FAILED_BINDING,
                    NO_VOLUME_AND_NO_CLASS_MESSAGE,
                    now,
                );
            } else if let Some(class) = sync.class {
                provision(sync, class, selected.map(String::as_str), reconciled, now);
            } else {
                let message = format!("storageclass.storage.k8s.io {class_name:?} not found");
                event(reconciled, claim, EventType::Warning, reasons::PROVISIONING_FAILED, &message, now);
            }
            stay_pending(claim, reconciled);
        }
    }
}

/// `provisionClaim`: annotate the claim with its provisioner, then either create the volume
/// (a provisioner this controller runs) or say whom it waits for.
fn provision(
    sync: &ClaimSync<'_>,
    class: &StorageClass,
    selected: Option<&str>,
    reconciled: &mut Reconciled,
    now: Timestamp,
) {
    let claim = sync.claim;
    let provisioner_name = class.provisioner.as_str();
    let annotated = claim
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(ANN_STORAGE_PROVISIONER))
        .is_some_and(|name| name == provisioner_name);
    if !annotated {
        reconciled.push_alone(Action::Patch {
            resource: CLAIMS,
            namespace: claim.metadata.namespace.clone().unwrap_or_default(),
            name: claim.metadata.name.clone().unwrap_or_default(),
            patch_type: PatchType::Merge,
            body: json!({"metadata": {"annotations": {
                ANN_STORAGE_PROVISIONER: provisioner_name, ANN_BETA_STORAGE_PROVISIONER: provisioner_name,
            }}}),
        });
    }
    let Some(provisioner) = sync.provisioners.iter().find(|provisioner| provisioner.name() == provisioner_name) else {
        let message = format!(
            "Waiting for a volume to be created either by the external provisioner '{provisioner_name}' or manually by \
             the system administrator. If volume creation is delayed, please verify that the provisioner is running \
             and correctly registered."
        );
        event(reconciled, claim, EventType::Normal, reasons::EXTERNAL_PROVISIONING, &message, now);
        return;
    };
    if let (Some(node), None) = (selected, sync.selected_node) {
        let message = format!("failed to get target node: node {node:?} not found");
        event(reconciled, claim, EventType::Warning, reasons::PROVISIONING_FAILED, &message, now);
        return;
    }
    let request = ProvisionRequest { claim, class, selected_node: sync.selected_node };
    match provisioner.provision(volume_for(claim, class, provisioner_name), &request) {
        Ok(volume) => {
            let name = volume.metadata.name.clone().unwrap_or_default();
            reconciled.push_alone(Action::Create { object: to_object(&volume), on_created: None });
            let message = format!("Successfully provisioned volume {name} using {provisioner_name}");
            event(reconciled, claim, EventType::Normal, reasons::PROVISIONING_SUCCEEDED, &message, now);
        }
        Err(error) => {
            event(reconciled, claim, EventType::Warning, reasons::PROVISIONING_FAILED, &error.to_string(), now);
        }
    }
}

/// The volume a provisioner fills in: named `pvc-<claim uid>`, pre-bound to the claim, of the
/// claim's class, size, access modes and volume mode, with the class's reclaim policy
/// (Delete by default) and mount options.
pub fn volume_for(claim: &PersistentVolumeClaim, class: &StorageClass, provisioner: &str) -> PersistentVolume {
    let spec = claim.spec.as_ref();
    let storage = spec
        .and_then(|spec| spec.resources.as_ref())
        .and_then(|resources| resources.requests.as_ref())
        .and_then(|requests| requests.get("storage"))
        .cloned()
        .unwrap_or_else(|| Quantity("0".into()));
    PersistentVolume {
        metadata: ObjectMeta {
            name: Some(format!("pvc-{}", claim.metadata.uid.as_deref().unwrap_or_default())),
            annotations: Some(
                [
                    (ANN_DYNAMICALLY_PROVISIONED.to_string(), provisioner.to_string()),
                    (ANN_BOUND_BY_CONTROLLER.to_string(), "yes".to_string()),
                ]
                .into(),
            ),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeSpec {
            access_modes: spec.and_then(|spec| spec.access_modes.clone()),
            capacity: Some([("storage".to_string(), storage)].into()),
            claim_ref: Some(claim_reference(claim)),
            persistent_volume_reclaim_policy: Some(class.reclaim_policy.clone().unwrap_or_else(|| "Delete".into())),
            storage_class_name: class.metadata.name.clone(),
            volume_mode: spec.and_then(|spec| spec.volume_mode.clone()),
            mount_options: class.mount_options.clone(),
            ..PersistentVolumeSpec::default()
        }),
        status: None,
    }
}

fn sync_pre_bound_claim(sync: &ClaimSync<'_>, reconciled: &mut Reconciled, now: Timestamp) {
    let claim = sync.claim;
    match sync.named_volume {
        // The volume the user asked for may be created later.
        None => stay_pending(claim, reconciled),
        Some(volume)
            if volume.spec.as_ref().and_then(|spec| spec.claim_ref.as_ref()).is_none()
                || volume_bound_to_claim(volume, claim) =>
        {
            bind(volume, claim, reconciled)
        }
        Some(volume) => {
            let message = format!(
                "volume {:?} already bound to a different claim.",
                volume.metadata.name.as_deref().unwrap_or_default()
            );
            event(reconciled, claim, EventType::Warning, reasons::FAILED_BINDING, &message, now);
            stay_pending(claim, reconciled);
        }
    }
}

fn sync_bound_claim(sync: &ClaimSync<'_>, reconciled: &mut Reconciled, now: Timestamp) {
    let claim = sync.claim;
    let lost = |reason: &str, message: &str, reconciled: &mut Reconciled| {
        if claim_phase(claim) != "Lost" {
            reconciled.push_alone(claim_phase_patch(claim, "Lost"));
            event(reconciled, claim, EventType::Warning, reason, message, now);
        }
    };
    if claim_volume_name(claim).is_empty() {
        let message = "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!";
        return lost(reasons::CLAIM_LOST, message, reconciled);
    }
    match sync.named_volume {
        None => lost(
            reasons::CLAIM_LOST,
            "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
            reconciled,
        ),
        Some(volume)
            if volume.spec.as_ref().and_then(|spec| spec.claim_ref.as_ref()).is_none()
                || volume_bound_to_claim(volume, claim) =>
        {
            bind(volume, claim, reconciled)
        }
        Some(_) => lost(
            reasons::CLAIM_MISBOUND,
            "Two claims are bound to the same volume, this one is bound incorrectly",
            reconciled,
        ),
    }
}
