//! Storage helpers the volume plugins share, as Kubernetes' `component-helpers/storage/volume`
//! and `ephemeral` packages define them: which claim a Pod volume names, a claim's and a
//! volume's class, whether a PersistentVolume's node affinity admits a node, and the matching
//! of a claim with an available volume (`FindMatchingVolume`).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::storage::v1 as storage;

use crate::object::Quantity;
use crate::scheduler::listers::ClusterObjects;
use crate::selector::{LabelSelector, NodeSelectorMatcher};

/// The annotation the PersistentVolume controller sets once a claim's binding is complete.
pub const ANN_BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";

/// Set on a volume or claim whose binding a controller (or the scheduler) chose, rather than a
/// user pre-binding it.
pub const ANN_BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";

/// The deprecated annotation naming a claim's or volume's class; it wins over the field.
pub const ANN_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// The annotation naming the node a delayed claim is to be provisioned for.
pub const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";

/// The provisioner of classes that cannot provision dynamically (local volumes).
pub const NOT_SUPPORTED_PROVISIONER: &str = "kubernetes.io/no-provisioner";

/// The StorageClass binding mode that delays binding until a Pod is scheduled.
pub const WAIT_FOR_FIRST_CONSUMER: &str = "WaitForFirstConsumer";

/// The claim a Pod volume uses: a `persistentVolumeClaim` names it, a generic `ephemeral`
/// volume's claim is `<pod>-<volume>` (`ephemeral.VolumeClaimName`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodClaim {
    /// The claim's name, in the Pod's namespace.
    pub name: String,
    /// Whether the volume is a generic ephemeral volume (its claim must be owned by the Pod).
    pub ephemeral: bool,
}

/// The claim of one Pod volume, if it uses one.
pub fn pod_volume_claim(pod: &core::Pod, volume: &core::Volume) -> Option<PodClaim> {
    if let Some(source) = &volume.persistent_volume_claim {
        return Some(PodClaim { name: source.claim_name.clone(), ephemeral: false });
    }
    volume.ephemeral.as_ref().map(|_| PodClaim {
        name: format!("{}-{}", pod.metadata.name.as_deref().unwrap_or(""), volume.name),
        ephemeral: true,
    })
}

/// Every claim a Pod uses, in volume order.
pub fn pod_claims(pod: &core::Pod) -> Vec<PodClaim> {
    let volumes = pod.spec.as_ref().and_then(|spec| spec.volumes.as_deref()).unwrap_or(&[]);
    volumes.iter().filter_map(|volume| pod_volume_claim(pod, volume)).collect()
}

/// Whether an ephemeral volume's claim was created for this Pod (`ephemeral.VolumeIsForPod`):
/// same namespace and controlled by the Pod.
pub fn claim_is_for_pod(pod: &core::Pod, claim: &core::PersistentVolumeClaim) -> Result<(), String> {
    let controlled = claim
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|owner| owner.controller == Some(true) && Some(owner.uid.as_str()) == pod.metadata.uid.as_deref());
    if claim.metadata.namespace != pod.metadata.namespace || !controlled {
        return Err(format!(
            "PVC {}/{} was not created for pod {}/{} (pod is not owner)",
            claim.metadata.namespace.as_deref().unwrap_or(""),
            claim.metadata.name.as_deref().unwrap_or(""),
            pod.metadata.namespace.as_deref().unwrap_or(""),
            pod.metadata.name.as_deref().unwrap_or(""),
        ));
    }
    Ok(())
}

/// A claim's class: the beta annotation, else `spec.storageClassName`, else empty
/// (`GetPersistentVolumeClaimClass`).
pub fn claim_class(claim: &core::PersistentVolumeClaim) -> &str {
    if let Some(class) = claim.metadata.annotations.as_ref().and_then(|annotations| annotations.get(ANN_STORAGE_CLASS))
    {
        return class;
    }
    claim.spec.as_ref().and_then(|spec| spec.storage_class_name.as_deref()).unwrap_or("")
}

/// A volume's class, read the same way (`GetPersistentVolumeClass`).
pub fn volume_class(volume: &core::PersistentVolume) -> &str {
    if let Some(class) = volume.metadata.annotations.as_ref().and_then(|annotations| annotations.get(ANN_STORAGE_CLASS))
    {
        return class;
    }
    volume.spec.as_ref().and_then(|spec| spec.storage_class_name.as_deref()).unwrap_or("")
}

/// The claim's `namespace/name`, as Kubernetes' messages print it.
pub fn claim_key(claim: &core::PersistentVolumeClaim) -> String {
    format!("{}/{}", claim.metadata.namespace.as_deref().unwrap_or(""), claim.metadata.name.as_deref().unwrap_or(""))
}

/// The name of the volume a claim names in `spec.volumeName` (empty when none).
pub fn claim_volume_name(claim: &core::PersistentVolumeClaim) -> &str {
    claim.spec.as_ref().and_then(|spec| spec.volume_name.as_deref()).unwrap_or("")
}

/// Whether a claim is fully bound: it names its volume and the PersistentVolume controller
/// marked the binding complete (`isPVCFullyBound`). A claim that only names a volume is
/// pre-bound, which the scheduler treats as unbound.
pub fn claim_fully_bound(claim: &core::PersistentVolumeClaim) -> bool {
    !claim_volume_name(claim).is_empty()
        && claim.metadata.annotations.as_ref().is_some_and(|annotations| annotations.contains_key(ANN_BIND_COMPLETED))
}

/// Whether the claim's class delays binding until a consumer is scheduled
/// (`IsDelayBindingMode`). No class, or an unknown class, means immediate binding.
pub fn is_delay_binding_mode(claim: &core::PersistentVolumeClaim, objects: &ClusterObjects) -> Result<bool, String> {
    let class_name = claim_class(claim);
    if class_name.is_empty() {
        return Ok(false);
    }
    let Some(class) = objects.storage_class(class_name) else {
        return Ok(false);
    };
    match class.volume_binding_mode.as_deref() {
        None => Err(format!("VolumeBindingMode not set for StorageClass {class_name:?}")),
        Some(mode) => Ok(mode == WAIT_FOR_FIRST_CONSUMER),
    }
}

/// Whether a volume's required node affinity admits a node with these labels
/// (`CheckNodeAffinity`): no affinity admits every node; a malformed selector admits none.
/// Only labels are matched, as Kubernetes builds a nameless node for the check.
pub fn volume_node_affinity_matches(volume: &core::PersistentVolume, labels: &BTreeMap<String, String>) -> bool {
    let Some(required) = volume
        .spec
        .as_ref()
        .and_then(|spec| spec.node_affinity.as_ref())
        .and_then(|affinity| affinity.required.as_ref())
    else {
        return true;
    };
    NodeSelectorMatcher::lazy(required).matches(labels, "").unwrap_or(false)
}

/// A quantity in a resource list as nano-units, zero when absent or malformed (the API server
/// validated it).
fn storage_nanos(list: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>) -> i128 {
    list.and_then(|list| list.get("storage"))
        .and_then(|quantity| Quantity::try_from(quantity).ok())
        .map_or(0, |quantity| quantity.as_nanos())
}

/// The storage a claim requests, in nano-bytes.
pub fn claim_storage_request(claim: &core::PersistentVolumeClaim) -> i128 {
    storage_nanos(claim.spec.as_ref().and_then(|spec| spec.resources.as_ref()).and_then(|r| r.requests.as_ref()))
}

/// The storage a volume offers, in nano-bytes.
pub fn volume_storage_capacity(volume: &core::PersistentVolume) -> i128 {
    storage_nanos(volume.spec.as_ref().and_then(|spec| spec.capacity.as_ref()))
}

/// The `claimRef` a volume bound to `claim` carries (`GetReference`), as the scheduler and the
/// PersistentVolume controller write it.
pub fn claim_reference(claim: &core::PersistentVolumeClaim) -> core::ObjectReference {
    core::ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("PersistentVolumeClaim".into()),
        namespace: claim.metadata.namespace.clone(),
        name: claim.metadata.name.clone(),
        uid: claim.metadata.uid.clone(),
        resource_version: claim.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// Whether a volume is pre-bound to this claim: its `claimRef` names the claim, and the uid
/// if it gives one (`IsVolumeBoundToClaim`).
pub fn volume_bound_to_claim(volume: &core::PersistentVolume, claim: &core::PersistentVolumeClaim) -> bool {
    let Some(reference) = volume.spec.as_ref().and_then(|spec| spec.claim_ref.as_ref()) else {
        return false;
    };
    reference.name == claim.metadata.name
        && reference.namespace == claim.metadata.namespace
        && reference.uid.as_deref().is_none_or(|uid| uid.is_empty() || Some(uid) == claim.metadata.uid.as_deref())
}

/// Whether the claim's and the volume's `volumeMode` differ, both defaulting to Filesystem
/// (`CheckVolumeModeMismatches`).
fn volume_mode_mismatch(claim: &core::PersistentVolumeClaim, volume: &core::PersistentVolume) -> bool {
    let claim_mode = claim.spec.as_ref().and_then(|spec| spec.volume_mode.as_deref()).unwrap_or("Filesystem");
    let volume_mode = volume.spec.as_ref().and_then(|spec| spec.volume_mode.as_deref()).unwrap_or("Filesystem");
    claim_mode != volume_mode
}

/// Whether the volume offers every access mode the claim asks for (`CheckAccessModes`).
pub fn access_modes_satisfied(claim: &core::PersistentVolumeClaim, volume: &core::PersistentVolume) -> bool {
    let offered = volume.spec.as_ref().and_then(|spec| spec.access_modes.as_deref()).unwrap_or(&[]);
    claim
        .spec
        .as_ref()
        .and_then(|spec| spec.access_modes.as_deref())
        .unwrap_or(&[])
        .iter()
        .all(|mode| offered.contains(mode))
}

/// Whether a claim asks for an access mode.
pub fn claim_has_access_mode(claim: &core::PersistentVolumeClaim, mode: &str) -> bool {
    claim.spec.as_ref().and_then(|spec| spec.access_modes.as_ref()).is_some_and(|modes| modes.iter().any(|m| m == mode))
}

/// The volume a delayed claim should bind to on a node with these labels
/// (`FindMatchingVolume` on the scheduler's path): a volume pre-bound to the claim if its node
/// affinity admits the node (none if not), else the smallest Available volume of the claim's
/// class, big enough, matching the claim's selector, volume mode, access modes and the node.
/// Volumes in `excluded` were chosen for the Pod's other claims.
pub fn find_matching_volume<'a>(
    claim: &core::PersistentVolumeClaim,
    volumes: &'a [Arc<core::PersistentVolume>],
    node_labels: &BTreeMap<String, String>,
    excluded: &[&str],
) -> Result<Option<&'a Arc<core::PersistentVolume>>, String> {
    find_matching_volume_for(claim, volumes, Some(node_labels), excluded, true)
}

/// `FindMatchingVolume` on either path: the scheduler's passes the node's labels, the
/// PersistentVolume controller's none. Without a node, node affinity is not checked and a
/// delayed-binding claim (`delay_binding`) only matches a volume pre-bound to it: the scheduler
/// binds the others once a pod using the claim has a node.
pub fn find_matching_volume_for<'a>(
    claim: &core::PersistentVolumeClaim,
    volumes: &'a [Arc<core::PersistentVolume>],
    node_labels: Option<&BTreeMap<String, String>>,
    excluded: &[&str],
    delay_binding: bool,
) -> Result<Option<&'a Arc<core::PersistentVolume>>, String> {
    let requested = claim_storage_request(claim);
    let class = claim_class(claim);
    let selector = match claim.spec.as_ref().and_then(|spec| spec.selector.as_ref()) {
        Some(selector) => Some(LabelSelector::from_label_selector(Some(selector)).map_err(|error| {
            format!("error creating internal label selector for claim: {}: {error}", claim_key(claim))
        })?),
        None => None,
    };
    let mut smallest: Option<(&'a Arc<core::PersistentVolume>, i128)> = None;
    for volume in volumes {
        let name = volume.metadata.name.as_deref().unwrap_or("");
        if excluded.contains(&name) {
            continue;
        }
        let has_claim_ref = volume.spec.as_ref().and_then(|spec| spec.claim_ref.as_ref()).is_some();
        let bound_to_claim = volume_bound_to_claim(volume, claim);
        if has_claim_ref && !bound_to_claim {
            continue;
        }
        let capacity = volume_storage_capacity(volume);
        if capacity < requested || volume_mode_mismatch(claim, volume) || volume.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let node_affinity_valid = node_labels.is_none_or(|labels| volume_node_affinity_matches(volume, labels));
        if bound_to_claim {
            return Ok(node_affinity_valid.then_some(volume));
        }
        if node_labels.is_none() && delay_binding {
            continue;
        }
        let available = volume.status.as_ref().and_then(|status| status.phase.as_deref()) == Some("Available");
        let labels_match =
            selector.as_ref().is_none_or(|selector| selector.matches_optional(volume.metadata.labels.as_ref()));
        if !available || !labels_match || volume_class(volume) != class || !node_affinity_valid {
            continue;
        }
        if !access_modes_satisfied(claim, volume) {
            continue;
        }
        if smallest.is_none_or(|(_, size)| size > capacity) {
            smallest = Some((volume, capacity));
        }
    }
    Ok(smallest.map(|(volume, _)| volume))
}

/// Whether a node's labels satisfy a StorageClass's `allowedTopologies`
/// (`MatchTopologySelectorTerms`): no terms admit every node; otherwise some term's every
/// expression must find its key with one of its values.
pub fn allowed_topologies_match(class: &storage::StorageClass, labels: &BTreeMap<String, String>) -> bool {
    let terms = class.allowed_topologies.as_deref().unwrap_or(&[]);
    if terms.is_empty() {
        return true;
    }
    terms.iter().any(|term| {
        term.match_label_expressions
            .iter()
            .flatten()
            .all(|expression| labels.get(&expression.key).is_some_and(|value| expression.values.contains(value)))
    })
}
