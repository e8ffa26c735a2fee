//! `persistentVolumeClaimRetentionPolicy`: which owners a StatefulSet's claims carry, so the
//! garbage collector deletes them with the set (`whenDeleted: Delete`) or with their scaled-down
//! pod (`whenScaled: Delete`); with `Retain` for both they carry neither
//! (`updateClaimOwnerRefForSetAndPod`).

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::identity::DELETE;

/// The policy's `(whenDeleted, whenScaled)` are `Delete`.
fn deletes(set: &StatefulSet) -> (bool, bool) {
    let policy = set.spec.as_ref().and_then(|spec| spec.persistent_volume_claim_retention_policy.as_ref());
    let is_delete = |value: Option<&String>| value.map(String::as_str) == Some(DELETE);
    (
        is_delete(policy.and_then(|policy| policy.when_deleted.as_ref())),
        is_delete(policy.and_then(|policy| policy.when_scaled.as_ref())),
    )
}

/// A plain (non-controller) owner reference, as `setOwnerRef` writes one.
fn owner_reference(api_version: &str, kind: &str, metadata: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        name: metadata.name.clone().unwrap_or_default(),
        uid: metadata.uid.clone().unwrap_or_default(),
        controller: None,
        block_owner_deletion: None,
    }
}

/// The claim's ownerReferences as the policy wants them for `pod` (`None` for a pod not yet
/// created, whose uid is unknown); `scaled_down` says the pod's ordinal is out of range.
pub fn wanted_owner_references(
    set: &StatefulSet,
    claim: &PersistentVolumeClaim,
    pod: Option<&Pod>,
    scaled_down: bool,
) -> Vec<OwnerReference> {
    let (when_deleted, when_scaled) = deletes(set);
    let set_uid = set.metadata.uid.clone().unwrap_or_default();
    let pod_uid = pod.and_then(|pod| pod.metadata.uid.clone());
    let mut references: Vec<OwnerReference> = claim
        .metadata
        .owner_references
        .iter()
        .flatten()
        .filter(|reference| reference.uid != set_uid && Some(&reference.uid) != pod_uid.as_ref())
        .cloned()
        .collect();
    let keep_set = when_deleted && !(when_scaled && scaled_down);
    if keep_set {
        references.push(owner_reference("apps/v1", "StatefulSet", &set.metadata));
    }
    if when_scaled
        && scaled_down
        && let Some(pod) = pod
    {
        references.push(owner_reference("v1", "Pod", &pod.metadata));
    }
    references
}

/// The claim updated to the policy, if it is not already (`ClaimsMatchRetentionPolicy`).
pub fn claim_to_update(
    set: &StatefulSet,
    claim: &PersistentVolumeClaim,
    pod: &Pod,
    scaled_down: bool,
) -> Option<PersistentVolumeClaim> {
    let wanted = wanted_owner_references(set, claim, Some(pod), scaled_down);
    let current = claim.metadata.owner_references.clone().unwrap_or_default();
    let same = |left: &[OwnerReference], right: &[OwnerReference]| {
        let uids = |references: &[OwnerReference]| {
            let mut uids: Vec<String> = references.iter().map(|reference| reference.uid.clone()).collect();
            uids.sort();
            uids
        };
        uids(left) == uids(right)
    };
    if same(&wanted, &current) {
        return None;
    }
    let mut updated = claim.clone();
    updated.metadata.owner_references = (!wanted.is_empty()).then_some(wanted);
    Some(updated)
}
