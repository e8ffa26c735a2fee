//! Which keys of the storage controllers (`persistentvolume-binder`, `pvc-protection`,
//! `pv-protection`) and of the pod garbage collector (`podgc`) a change wakes up, and the keys a
//! new leader starts with. Every lookup goes through an index, so a change costs the same
//! whatever the number of pods, claims and volumes.

use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};

use super::caches::{BY_NODE_NAME, Caches, Observed};
use super::kinds::ControllerKind;
use super::routed::Routed;
use crate::client::informer::{Change, key_of};
use crate::controllers::podgc::{QUARANTINE_TIME, is_node_out_of_service, is_pod_terminated, is_pod_terminating};
use crate::scheduler::plugins::volume_helpers::{claim_volume_name, pod_claims};

/// The podgc key of the terminated-pods threshold check.
pub const TERMINATED_PODS_KEY: &str = "terminated";
/// The prefix of the podgc key of one node's orphaned pods (`node:<name>`).
pub const ORPHANED_NODE_KEY_PREFIX: &str = "node:";

/// Adds to `routed` what `observed` means for the storage controllers and podgc.
pub fn route_storage_controllers(observed: &Observed, caches: &Caches, routed: &mut Routed) {
    match observed {
        Observed::PersistentVolumeClaim(change) => route_claim(change, routed),
        Observed::PersistentVolume(change) => route_volume(change, routed),
        Observed::Pod(change) => {
            route_pod_to_claim_protection(change, caches, routed);
            route_pod_to_podgc(change, caches, routed);
        }
        Observed::Node(change) => route_node_to_podgc(change, caches, routed),
        _ => {}
    }
}

fn route_claim(change: &Change<PersistentVolumeClaim>, routed: &mut Routed) {
    let claim = change.object();
    let key = key_of(&claim.metadata);
    if matches!(change, Change::Deleted(_)) {
        routed.forget.push((ControllerKind::PersistentVolumeBinder, key.clone()));
        routed.forget.push((ControllerKind::PvcProtection, key.clone()));
    } else {
        routed.enqueue.push((ControllerKind::PvcProtection, key.clone()));
    }
    routed.enqueue.push((ControllerKind::PersistentVolumeBinder, key));
    // The claim's volume sees its claim bound, or gone.
    let volume = claim_volume_name(claim);
    if !volume.is_empty() {
        routed.enqueue.push((ControllerKind::PersistentVolumeBinder, volume.to_string()));
    }
}

fn route_volume(change: &Change<PersistentVolume>, routed: &mut Routed) {
    let volume = change.object();
    let key = key_of(&volume.metadata);
    if matches!(change, Change::Deleted(_)) {
        routed.forget.push((ControllerKind::PersistentVolumeBinder, key.clone()));
        routed.forget.push((ControllerKind::PvProtection, key.clone()));
    } else {
        routed.enqueue.push((ControllerKind::PersistentVolumeBinder, key.clone()));
        routed.enqueue.push((ControllerKind::PvProtection, key));
    }
    // The claim the volume names finishes (or loses) its binding.
    if let Some(reference) = volume.spec.as_ref().and_then(|spec| spec.claim_ref.as_ref()) {
        let claim = format!(
            "{}/{}",
            reference.namespace.as_deref().unwrap_or_default(),
            reference.name.as_deref().unwrap_or_default()
        );
        routed.enqueue.push((ControllerKind::PersistentVolumeBinder, claim));
    }
}

/// A pod that uses a claim being deleted may be what holds it: the claim is checked again
/// whenever such a pod changes or goes.
fn route_pod_to_claim_protection(change: &Change<Pod>, caches: &Caches, routed: &mut Routed) {
    let pod = change.object();
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    for claim in pod_claims(pod) {
        let deleting = caches
            .persistent_volume_claims
            .get(namespace, &claim.name)
            .is_some_and(|claim| claim.metadata.deletion_timestamp.is_some());
        if deleting {
            routed.enqueue.push((ControllerKind::PvcProtection, format!("{namespace}/{}", claim.name)));
        }
    }
}

fn route_pod_to_podgc(change: &Change<Pod>, caches: &Caches, routed: &mut Routed) {
    let Change::Applied { old, new: pod } = change else { return };
    let newly_terminated = is_pod_terminated(pod) && old.as_ref().is_none_or(|old| !is_pod_terminated(old));
    if newly_terminated {
        routed.enqueue.push((ControllerKind::PodGarbageCollector, TERMINATED_PODS_KEY.to_string()));
    }
    let node_name = pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()).unwrap_or_default();
    let node = (!node_name.is_empty()).then(|| caches.nodes.get("", node_name)).flatten();
    if is_pod_terminating(pod) && (node_name.is_empty() || node.is_some_and(|node| is_node_out_of_service(node))) {
        routed.enqueue.push((ControllerKind::PodGarbageCollector, key_of(&pod.metadata)));
    }
    if !node_name.is_empty() && node.is_none() {
        let key = format!("{ORPHANED_NODE_KEY_PREFIX}{node_name}");
        routed.enqueue_after.push((ControllerKind::PodGarbageCollector, key, QUARANTINE_TIME));
    }
}

/// A node that left puts its pods in quarantine; a node that went out of service has its
/// terminating pods checked.
fn route_node_to_podgc(change: &Change<Node>, caches: &Caches, routed: &mut Routed) {
    let node = change.object();
    let name = node.metadata.name.clone().unwrap_or_default();
    match change {
        Change::Deleted(_) => {
            let key = format!("{ORPHANED_NODE_KEY_PREFIX}{name}");
            routed.enqueue_after.push((ControllerKind::PodGarbageCollector, key, QUARANTINE_TIME));
        }
        Change::Applied { old, new } => {
            let was_out_of_service = old.as_ref().is_some_and(|old| is_node_out_of_service(old));
            if is_node_out_of_service(new) && !was_out_of_service {
                for pod in caches.pods.by_index(BY_NODE_NAME, &name).filter(|pod| is_pod_terminating(pod)) {
                    routed.enqueue.push((ControllerKind::PodGarbageCollector, key_of(&pod.metadata)));
                }
            }
        }
    }
}

/// The keys a new leader syncs once: every claim and volume, the threshold check, every
/// terminating pod and the node of every pod whose node is missing.
pub fn storage_controller_keys(caches: &Caches) -> Vec<(ControllerKind, String)> {
    let mut keys = vec![(ControllerKind::PodGarbageCollector, TERMINATED_PODS_KEY.to_string())];
    for claim in caches.persistent_volume_claims.iter() {
        keys.push((ControllerKind::PersistentVolumeBinder, key_of(&claim.metadata)));
        keys.push((ControllerKind::PvcProtection, key_of(&claim.metadata)));
    }
    for volume in caches.persistent_volumes.iter() {
        keys.push((ControllerKind::PersistentVolumeBinder, key_of(&volume.metadata)));
        keys.push((ControllerKind::PvProtection, key_of(&volume.metadata)));
    }
    for pod in caches.pods.iter() {
        if is_pod_terminating(pod) {
            keys.push((ControllerKind::PodGarbageCollector, key_of(&pod.metadata)));
        }
        let node_name = pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()).unwrap_or_default();
        if !node_name.is_empty() && caches.nodes.get("", node_name).is_none() {
            keys.push((ControllerKind::PodGarbageCollector, format!("{ORPHANED_NODE_KEY_PREFIX}{node_name}")));
        }
    }
    keys
}
