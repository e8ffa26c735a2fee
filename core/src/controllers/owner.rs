//! ownerReferences for controllers: the controllerRef a controller stamps on what it creates,
//! and claiming (Kubernetes' `ControllerRefManager`): keep what it controls and still selects,
//! adopt orphans its selector matches, release what it controls but no longer selects.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::json;

use super::action::{Action, PatchType};
use crate::object::kinds::GroupResource;
use crate::selector::LabelSelector;

/// The ownerReference marked `controller: true`, if any (`GetControllerOf`).
pub fn controller_of(metadata: &ObjectMeta) -> Option<&OwnerReference> {
    metadata.owner_references.iter().flatten().find(|reference| reference.controller == Some(true))
}

/// Whether `metadata` is controlled by the object with `owner_uid` (`IsControlledBy`).
pub fn is_controlled_by(metadata: &ObjectMeta, owner_uid: &str) -> bool {
    controller_of(metadata).is_some_and(|reference| reference.uid == owner_uid)
}

/// The controllerRef pointing at `owner` (`NewControllerRef`): controller and
/// blockOwnerDeletion both true.
pub fn controller_ref(api_version: &str, kind: &str, owner: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        name: owner.name.clone().unwrap_or_default(),
        uid: owner.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// What a controller decided about one candidate object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Controlled by this controller and selected: it counts.
    Owned,
    /// An orphan the selector matches: adopt it (it counts once adopted).
    Adopt,
    /// Controlled by this controller but no longer selected: release it.
    Release,
    /// Someone else's, or not ours to take: ignore it.
    Ignore,
}

/// Decides one candidate as `ClaimObject` does. `owner` is the controller's metadata; the
/// candidate's labels are matched against `selector`.
pub fn claim(owner: &ObjectMeta, selector: &LabelSelector, candidate: &ObjectMeta) -> Claim {
    let owner_uid = owner.uid.as_deref().unwrap_or("");
    let owner_deleting = owner.deletion_timestamp.is_some();
    let matches = selector.matches_optional(candidate.labels.as_ref());
    if let Some(reference) = controller_of(candidate) {
        if reference.uid != owner_uid {
            return Claim::Ignore;
        }
        if matches {
            return Claim::Owned;
        }
        return if owner_deleting { Claim::Ignore } else { Claim::Release };
    }
    if owner_deleting || !matches || candidate.deletion_timestamp.is_some() {
        return Claim::Ignore;
    }
    if owner.namespace.as_deref().is_some_and(|namespace| !namespace.is_empty())
        && owner.namespace != candidate.namespace
    {
        return Claim::Ignore;
    }
    Claim::Adopt
}

/// The strategic merge patch that adopts `candidate` (Kubernetes' `ownerRefControllerPatch`);
/// the uid in the body makes the patch fail if the object was replaced meanwhile.
pub fn adopt_action(resource: GroupResource, reference: &OwnerReference, candidate: &ObjectMeta) -> Action {
    let body = json!({
        "metadata": {
            "ownerReferences": [{
                "apiVersion": reference.api_version,
                "kind": reference.kind,
                "name": reference.name,
                "uid": reference.uid,
                "controller": true,
                "blockOwnerDeletion": true,
            }],
            "uid": candidate.uid.clone().unwrap_or_default(),
        }
    });
    patch_action(resource, candidate, body)
}

/// The strategic merge patch that removes the owner's reference from `candidate`
/// (`GenerateDeleteOwnerRefStrategicMergeBytes`).
pub fn release_action(resource: GroupResource, owner_uid: &str, candidate: &ObjectMeta) -> Action {
    let body = json!({
        "metadata": {
            "ownerReferences": [{"$patch": "delete", "uid": owner_uid}],
            "uid": candidate.uid.clone().unwrap_or_default(),
        }
    });
    patch_action(resource, candidate, body)
}

fn patch_action(resource: GroupResource, candidate: &ObjectMeta, body: serde_json::Value) -> Action {
    Action::Patch {
        resource,
        namespace: candidate.namespace.clone().unwrap_or_default(),
        name: candidate.name.clone().unwrap_or_default(),
        patch_type: PatchType::StrategicMerge,
        body,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn meta(name: &str, uid: &str, labels: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some("default".to_string()),
            uid: Some(uid.to_string()),
            labels: Some(labels.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()),
            ..ObjectMeta::default()
        }
    }

    fn owned_by(mut metadata: ObjectMeta, owner: &ObjectMeta) -> ObjectMeta {
        metadata.owner_references = Some(vec![controller_ref("apps/v1", "ReplicaSet", owner)]);
        metadata
    }

    fn selector() -> LabelSelector {
        LabelSelector::from_set(&BTreeMap::from([("app".to_string(), "web".to_string())]))
    }

    #[test]
    fn claiming_keeps_adopts_releases_and_ignores_as_kubernetes_does() {
        let owner = meta("web", "rs-1", &[]);
        let stranger = meta("other", "rs-2", &[]);
        let cases = [
            (owned_by(meta("a", "p1", &[("app", "web")]), &owner), Claim::Owned),
            (meta("b", "p2", &[("app", "web")]), Claim::Adopt),
            (owned_by(meta("c", "p3", &[("app", "db")]), &owner), Claim::Release),
            (owned_by(meta("d", "p4", &[("app", "web")]), &stranger), Claim::Ignore),
            (meta("e", "p5", &[("app", "db")]), Claim::Ignore),
        ];
        for (candidate, expected) in cases {
            assert_eq!(claim(&owner, &selector(), &candidate), expected, "{:?}", candidate.name);
        }
    }

    #[test]
    fn a_deleting_owner_neither_adopts_nor_releases() {
        let mut owner = meta("web", "rs-1", &[]);
        owner.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        assert_eq!(claim(&owner, &selector(), &meta("b", "p2", &[("app", "web")])), Claim::Ignore);
        let mismatched = owned_by(meta("c", "p3", &[("app", "db")]), &owner);
        assert_eq!(claim(&owner, &selector(), &mismatched), Claim::Ignore);
    }

    #[test]
    fn a_deleting_orphan_is_not_adopted() {
        let owner = meta("web", "rs-1", &[]);
        let mut orphan = meta("b", "p2", &[("app", "web")]);
        orphan.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        assert_eq!(claim(&owner, &selector(), &orphan), Claim::Ignore);
    }

    #[test]
    fn release_patch_deletes_the_owner_reference_by_uid() {
        let action = release_action(GroupResource { group: "", resource: "pods" }, "rs-1", &meta("c", "p3", &[]));
        let Action::Patch { body, patch_type, .. } = action else { panic!("expected a patch") };
        assert_eq!(patch_type, PatchType::StrategicMerge);
        assert_eq!(body, json!({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": "rs-1"}], "uid": "p3"}}));
    }
}
