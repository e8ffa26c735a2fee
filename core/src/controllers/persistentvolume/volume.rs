//! The binder's volume sync (`syncVolume`, `reclaimVolume`): a volume without a claim is
//! Available, one whose claim names it Bound; one whose claim is gone is Released and then
//! reclaimed by its policy (Retain keeps it, Delete deletes a volume this controller's
//! provisioner made); one whose claim went to another volume is unbound again.

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Preconditions;
use k8s_openapi::jiff::Timestamp;

use super::provisioner::Provisioner;
use super::{
    ANN_BOUND_BY_CONTROLLER, ANN_DYNAMICALLY_PROVISIONED, COMPONENT, PERSISTENT_VOLUMES, reasons,
    volume_event_reference, volume_phase, volume_phase_patch,
};
use crate::client::action::{Action, EventType, Reconciled, event_action, to_object};
use crate::scheduler::plugins::volume_helpers::claim_volume_name;

/// The message of the event a Delete volume gets when no provisioner here made it.
pub fn no_deleter_message(volume_name: &str) -> String {
    format!("error getting deleter volume plugin for volume {volume_name:?}: no deletable volume plugin matched")
}

/// The message of the event a Recycle volume gets: recycling is not done.
pub const NO_RECYCLER_MESSAGE: &str = "No recycler plugin found for the volume!";

/// Syncs one volume. `claim` is the claim its `claimRef` names, when the cache has one of that
/// namespace and name (its uid is checked here).
pub fn reconcile_volume(
    volume: &PersistentVolume,
    claim: Option<&PersistentVolumeClaim>,
    provisioners: &[&dyn Provisioner],
    now: Timestamp,
) -> Reconciled {
    let mut reconciled = Reconciled::default();
    let name = volume.metadata.name.clone().unwrap_or_default();
    let reference = volume.spec.as_ref().and_then(|spec| spec.claim_ref.as_ref());
    let Some(reference) = reference.filter(|reference| reference.uid.as_deref().is_some_and(|uid| !uid.is_empty()))
    else {
        // Unclaimed, or pre-bound by a user to a claim that has not bound yet.
        set_phase(volume, "Available", &mut reconciled);
        return reconciled;
    };
    let claim = claim.filter(|claim| claim.metadata.uid == reference.uid);
    let Some(claim) = claim else {
        if !matches!(volume_phase(volume), "Released" | "Failed") {
            reconciled.push_alone(volume_phase_patch(volume, "Released", None));
        }
        reclaim(volume, provisioners, &mut reconciled, now);
        return reconciled;
    };
    let claim_volume = claim_volume_name(claim);
    if claim_volume.is_empty() {
        // The claim's sync finishes the binding.
    } else if claim_volume == name {
        set_phase(volume, "Bound", &mut reconciled);
    } else if provisioned_for_deletion(volume) {
        // Provisioned for this claim, which bound elsewhere: not needed any more.
        if !matches!(volume_phase(volume), "Released" | "Failed") {
            reconciled.push_alone(volume_phase_patch(volume, "Released", None));
        }
        reclaim(volume, provisioners, &mut reconciled, now);
    } else {
        unbind(volume, &mut reconciled);
    }
    reconciled
}

fn set_phase(volume: &PersistentVolume, phase: &str, reconciled: &mut Reconciled) {
    if volume_phase(volume) != phase {
        reconciled.push_alone(volume_phase_patch(volume, phase, None));
    }
}

fn provisioned_by(volume: &PersistentVolume) -> Option<&str> {
    volume
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(ANN_DYNAMICALLY_PROVISIONED))
        .map(String::as_str)
}

fn reclaim_policy(volume: &PersistentVolume) -> &str {
    volume.spec.as_ref().and_then(|spec| spec.persistent_volume_reclaim_policy.as_deref()).unwrap_or("Retain")
}

fn provisioned_for_deletion(volume: &PersistentVolume) -> bool {
    provisioned_by(volume).is_some() && reclaim_policy(volume) == "Delete"
}

/// `unbindVolume`: a volume the controller bound loses its `claimRef`; one a user pre-bound
/// keeps the claim's name but not its uid. Either is Available again.
fn unbind(volume: &PersistentVolume, reconciled: &mut Reconciled) {
    let mut updated = volume.clone();
    let bound_by_controller = updated
        .metadata
        .annotations
        .as_mut()
        .is_some_and(|annotations| annotations.remove(ANN_BOUND_BY_CONTROLLER).is_some());
    if let Some(spec) = updated.spec.as_mut() {
        if bound_by_controller {
            spec.claim_ref = None;
        } else if let Some(reference) = spec.claim_ref.as_mut() {
            reference.uid = None;
            reference.resource_version = None;
        }
    }
    reconciled.push_alone(Action::Update { object: to_object(&updated) });
    reconciled.push_alone(volume_phase_patch(volume, "Available", None));
}

/// `reclaimVolume` of a Released volume.
fn reclaim(volume: &PersistentVolume, provisioners: &[&dyn Provisioner], reconciled: &mut Reconciled, now: Timestamp) {
    let name = volume.metadata.name.clone().unwrap_or_default();
    let failed = |message: String, reason: &str, reconciled: &mut Reconciled| {
        if volume_phase(volume) != "Failed" {
            reconciled.push_alone(volume_phase_patch(volume, "Failed", Some(&message)));
            let reference = volume_event_reference(volume);
            reconciled.push_alone(event_action(&reference, COMPONENT, EventType::Warning, reason, &message, now));
        }
    };
    match reclaim_policy(volume) {
        "Delete" => {
            if volume.metadata.deletion_timestamp.is_some() {
                return;
            }
            match provisioned_by(volume) {
                Some(provisioner) if provisioners.iter().any(|known| known.name() == provisioner) => {
                    reconciled.push_alone(Action::Delete {
                        resource: PERSISTENT_VOLUMES,
                        namespace: String::new(),
                        name,
                        preconditions: Preconditions { uid: volume.metadata.uid.clone(), resource_version: None },
                        propagation_policy: None,
                    });
                }
                // An external provisioner deletes what it made.
                Some(_) => {}
                None => failed(no_deleter_message(&name), reasons::VOLUME_FAILED_DELETE, reconciled),
            }
        }
        "Recycle" => failed(NO_RECYCLER_MESSAGE.to_string(), reasons::VOLUME_FAILED_RECYCLE, reconciled),
        // Retain: the administrator decides.
        _ => {}
    }
}
