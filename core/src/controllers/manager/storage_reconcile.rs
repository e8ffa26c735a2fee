//! How the storage controllers and the pod garbage collector reconcile one key from the shared
//! caches: what each reads through the indexes and which pure reconcile it calls.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolume, Pod};
use k8s_openapi::jiff::Timestamp;

use super::caches::{BY_CLAIM, BY_CLAIM_REF, BY_NODE_NAME, BY_POD_GC, BY_STORAGE_CLASS, Caches, TERMINATED};
use super::kinds::ControllerKind;
use super::storage_routing::{ORPHANED_NODE_KEY_PREFIX, TERMINATED_PODS_KEY};
use crate::controllers::Reconciled;
use crate::controllers::persistentvolume::claim::ClaimSync;
use crate::controllers::persistentvolume::{LocalPathProvisioner, Provisioner, reconcile_claim, reconcile_volume};
use crate::controllers::podgc::{reconcile_orphaned_pods, reconcile_terminated_pods, reconcile_terminating_pod};
use crate::controllers::volume_protection::{reconcile_claim_protection, reconcile_volume_protection};
use crate::scheduler::plugins::volume_helpers::{ANN_SELECTED_NODE, claim_class, claim_volume_name};

/// The provisioners the binder runs: k3s' local-path one.
const PROVISIONERS: [&dyn Provisioner; 1] = [&LocalPathProvisioner];

/// Reconciles `key` of a storage controller or podgc. `Ok(None)`: the object is gone.
/// `terminated_pod_gc_threshold` is podgc's `--terminated-pod-gc-threshold`.
pub fn reconcile_storage_key(
    kind: ControllerKind,
    caches: &Caches,
    key: &str,
    terminated_pod_gc_threshold: usize,
    now: Timestamp,
) -> Result<Option<Reconciled>, String> {
    let (namespace, name) = key.split_once('/').unwrap_or(("", key));
    match kind {
        ControllerKind::PersistentVolumeBinder if namespace.is_empty() => {
            let Some(volume) = caches.persistent_volumes.get("", name) else { return Ok(None) };
            let reference = volume.spec.as_ref().and_then(|spec| spec.claim_ref.as_ref());
            let claim = reference.and_then(|reference| {
                caches.persistent_volume_claims.get(
                    reference.namespace.as_deref().unwrap_or_default(),
                    reference.name.as_deref().unwrap_or_default(),
                )
            });
            Ok(Some(reconcile_volume(volume, claim.map(AsRef::as_ref), &PROVISIONERS, now)))
        }
        ControllerKind::PersistentVolumeBinder => {
            let Some(claim) = caches.persistent_volume_claims.get(namespace, name) else { return Ok(None) };
            let class_name = claim_class(claim);
            // The class's volumes and any pre-bound to the claim, once each, by name.
            let mut candidates: BTreeMap<String, Arc<PersistentVolume>> = BTreeMap::new();
            let class_volumes = caches.persistent_volumes.by_index(BY_STORAGE_CLASS, class_name);
            for volume in class_volumes.chain(caches.persistent_volumes.by_index(BY_CLAIM_REF, key)) {
                candidates.insert(volume.metadata.name.clone().unwrap_or_default(), Arc::clone(volume));
            }
            let candidates: Vec<Arc<PersistentVolume>> = candidates.into_values().collect();
            let volume_name = claim_volume_name(claim);
            let named_volume =
                (!volume_name.is_empty()).then(|| caches.persistent_volumes.get("", volume_name)).flatten();
            let selected =
                claim.metadata.annotations.as_ref().and_then(|annotations| annotations.get(ANN_SELECTED_NODE));
            let sync = ClaimSync {
                claim,
                candidates: &candidates,
                named_volume: named_volume.map(AsRef::as_ref),
                class: (!class_name.is_empty())
                    .then(|| caches.storage_classes.get("", class_name))
                    .flatten()
                    .map(AsRef::as_ref),
                selected_node: selected.and_then(|node| caches.nodes.get("", node)).map(AsRef::as_ref),
                provisioners: &PROVISIONERS,
            };
            Ok(Some(reconcile_claim(&sync, now)))
        }
        ControllerKind::PvcProtection => {
            let Some(claim) = caches.persistent_volume_claims.get(namespace, name) else { return Ok(None) };
            let pods: Vec<&Pod> = caches.pods.by_index(BY_CLAIM, key).map(AsRef::as_ref).collect();
            Ok(Some(reconcile_claim_protection(claim, &pods)))
        }
        ControllerKind::PvProtection => {
            let Some(volume) = caches.persistent_volumes.get("", name) else { return Ok(None) };
            Ok(Some(reconcile_volume_protection(volume)))
        }
        ControllerKind::PodGarbageCollector => {
            Ok(Some(reconcile_podgc_key(caches, key, terminated_pod_gc_threshold, now)))
        }
        _ => Err(format!("{} is not a storage controller", kind.name())),
    }
}

fn reconcile_podgc_key(caches: &Caches, key: &str, threshold: usize, now: Timestamp) -> Reconciled {
    if key == TERMINATED_PODS_KEY {
        // Counting is O(1); only a pass over the threshold reads (and sorts) the terminated pods.
        if threshold == 0 || caches.pods.index_count(BY_POD_GC, TERMINATED) <= threshold {
            return Reconciled::default();
        }
        let terminated: Vec<&Pod> = caches.pods.by_index(BY_POD_GC, TERMINATED).map(AsRef::as_ref).collect();
        return reconcile_terminated_pods(&terminated, threshold);
    }
    if let Some(node_name) = key.strip_prefix(ORPHANED_NODE_KEY_PREFIX) {
        let node_exists = caches.nodes.get("", node_name).is_some();
        let pods: Vec<&Pod> = caches.pods.by_index(BY_NODE_NAME, node_name).map(AsRef::as_ref).collect();
        return reconcile_orphaned_pods(node_exists, &pods, now);
    }
    let (namespace, name) = key.split_once('/').unwrap_or(("", key));
    let Some(pod) = caches.pods.get(namespace, name) else { return Reconciled::default() };
    let node_name = pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()).unwrap_or_default();
    let node = (!node_name.is_empty()).then(|| caches.nodes.get("", node_name)).flatten();
    reconcile_terminating_pod(pod, node.map(AsRef::as_ref))
}
