//! The pvc-protection and pv-protection controllers (`pkg/controller/volume/pvcprotection`,
//! `pkg/controller/volume/pvprotection`): each keeps its finalizer on every claim (volume), and
//! removes it from a claim being deleted once no scheduled, unfinished pod uses it (from a
//! volume being deleted once it is no longer Bound), so the deletion completes.
//!
//! Kubernetes re-reads the pods from the API server before letting a claim go (the informer
//! might lag a pod just created); here the pod cache is trusted, and the kubelet refuses to
//! start a pod whose claim is being deleted, as Kubernetes' does.

use std::borrow::Borrow;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::action::{Action, Reconciled, to_object};
use crate::api::{PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER};
use crate::scheduler::plugins::volume_helpers::pod_claims;

fn has_finalizer(metadata: &ObjectMeta, finalizer: &str) -> bool {
    metadata.finalizers.as_ref().is_some_and(|finalizers| finalizers.iter().any(|present| present == finalizer))
}

/// The finalizers with `finalizer` added or removed; `None` when nothing changes.
fn with_finalizer(metadata: &ObjectMeta, finalizer: &str, wanted: bool) -> Option<Vec<String>> {
    let present = has_finalizer(metadata, finalizer);
    if present == wanted {
        return None;
    }
    let mut finalizers = metadata.finalizers.clone().unwrap_or_default();
    if wanted {
        finalizers.push(finalizer.to_string());
    } else {
        finalizers.retain(|present| present != finalizer);
    }
    Some(finalizers)
}

/// Whether a pod holds its claims: it is scheduled and has not finished (`podUsesPVC` of a pod
/// that is not shut down). An unscheduled pod never started, and the kubelet will not start
/// one whose claim is being deleted.
fn pod_holds_claims(pod: &Pod) -> bool {
    let scheduled = pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()).is_some_and(|node| !node.is_empty());
    let finished =
        matches!(pod.status.as_ref().and_then(|status| status.phase.as_deref()), Some("Succeeded" | "Failed"));
    scheduled && !finished
}

/// Whether a pod uses the claim named `claim_name` in its namespace.
pub fn pod_uses_claim(pod: &Pod, claim_name: &str) -> bool {
    pod_claims(pod).iter().any(|claim| claim.name == claim_name)
}

/// Syncs one claim: adds the finalizer to a live claim, removes it from a claim being deleted
/// once none of `pods` (its namespace's pods that name it) holds it.
pub fn reconcile_claim_protection(claim: &PersistentVolumeClaim, pods: &[impl Borrow<Pod>]) -> Reconciled {
    let mut reconciled = Reconciled::default();
    let name = claim.metadata.name.as_deref().unwrap_or_default();
    let wanted = claim.metadata.deletion_timestamp.is_none()
        || pods.iter().map(Borrow::borrow).any(|pod| pod_uses_claim(pod, name) && pod_holds_claims(pod));
    if let Some(finalizers) = with_finalizer(&claim.metadata, PVC_PROTECTION_FINALIZER, wanted) {
        if claim.metadata.deletion_timestamp.is_some() && wanted {
            // A claim being deleted never gets the finalizer back.
            return reconciled;
        }
        let mut updated = claim.clone();
        updated.metadata.finalizers = Some(finalizers);
        reconciled.push_alone(Action::Update { object: to_object(&updated) });
    }
    reconciled
}

/// Syncs one volume: adds the finalizer to a live volume, removes it from a volume being
/// deleted once it is not Bound (`isBeingUsed`: the binder releases it when its claim goes).
pub fn reconcile_volume_protection(volume: &PersistentVolume) -> Reconciled {
    let mut reconciled = Reconciled::default();
    let bound = volume.status.as_ref().and_then(|status| status.phase.as_deref()) == Some("Bound");
    let deleting = volume.metadata.deletion_timestamp.is_some();
    let wanted = !deleting || bound;
    if deleting && wanted {
        return reconciled;
    }
    if let Some(finalizers) = with_finalizer(&volume.metadata, PV_PROTECTION_FINALIZER, wanted) {
        let mut updated = volume.clone();
        updated.metadata.finalizers = Some(finalizers);
        reconciled.push_alone(Action::Update { object: to_object(&updated) });
    }
    reconciled
}

#[cfg(test)]
mod tests {
    //! Rows of `TestPVCProtectionController` (`pvc_protection_controller_test.go`) and
    //! `TestPVProtectionController` (`pv_protection_controller_test.go`).

    use serde_json::{Value, json};

    use super::*;

    fn claim(finalizer: bool, deleted: bool) -> PersistentVolumeClaim {
        let mut metadata = json!({"name": "pvc1", "namespace": "default", "uid": "u1", "resourceVersion": "1"});
        if finalizer {
            metadata["finalizers"] = json!([PVC_PROTECTION_FINALIZER]);
        }
        if deleted {
            metadata["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        }
        serde_json::from_value(json!({"metadata": metadata, "spec": {}})).unwrap()
    }

    fn pod(claim_name: &str, node: Option<&str>, phase: &str) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "pod1", "namespace": "default"},
            "spec": {"nodeName": node, "containers": [{"name": "c"}], "volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": claim_name}},
                {"name": "scratch", "emptyDir": {}}]},
            "status": {"phase": phase}}))
        .unwrap()
    }

    fn updated_finalizers(reconciled: &Reconciled) -> Option<Value> {
        match reconciled.actions.as_slice() {
            [] => None,
            [Action::Update { object }] => Some(json!(object.metadata.finalizers)),
            other => panic!("unexpected actions {other:?}"),
        }
    }

    #[test]
    fn a_claim_without_the_finalizer_gets_it() {
        // "PVC without finalizer -> finalizer is added"
        let reconciled = reconcile_claim_protection(&claim(false, false), &[] as &[Pod]);
        assert_eq!(updated_finalizers(&reconciled), Some(json!([PVC_PROTECTION_FINALIZER])));
    }

    #[test]
    fn a_claim_with_the_finalizer_is_left_alone() {
        // "PVC with finalizer -> no action"
        assert_eq!(updated_finalizers(&reconcile_claim_protection(&claim(true, false), &[] as &[Pod])), None);
    }

    #[test]
    fn a_deleted_claim_no_pod_uses_loses_the_finalizer() {
        // "deleted PVC with finalizer -> finalizer is removed"
        let reconciled = reconcile_claim_protection(&claim(true, true), &[] as &[Pod]);
        assert_eq!(updated_finalizers(&reconciled), Some(json!([])));
    }

    #[test]
    fn a_deleted_claim_a_running_pod_uses_keeps_the_finalizer() {
        // "deleted PVC with finalizer + pod with the PVC exists -> finalizer is not removed"
        let reconciled = reconcile_claim_protection(&claim(true, true), &[pod("pvc1", Some("node1"), "Running")]);
        assert_eq!(updated_finalizers(&reconciled), None);
    }

    #[test]
    fn pods_with_other_claims_finished_pods_and_unscheduled_pods_do_not_hold_a_claim() {
        // "deleted PVC with finalizer + pod with unrelated PVC and EmptyDir exists -> finalizer
        // is removed", "... + pod with the PVC finished but is not deleted -> finalizer is
        // removed", "... + pod with the PVC exists but is not in scheduled -> finalizer is removed"
        for pod in [
            pod("unrelated", Some("node1"), "Running"),
            pod("pvc1", Some("node1"), "Succeeded"),
            pod("pvc1", None, "Pending"),
        ] {
            let reconciled = reconcile_claim_protection(&claim(true, true), &[pod]);
            assert_eq!(updated_finalizers(&reconciled), Some(json!([])));
        }
    }

    fn volume(finalizer: bool, deleted: bool, phase: &str) -> PersistentVolume {
        let mut metadata = json!({"name": "pv1", "resourceVersion": "1"});
        if finalizer {
            metadata["finalizers"] = json!([PV_PROTECTION_FINALIZER]);
        }
        if deleted {
            metadata["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        }
        serde_json::from_value(json!({"metadata": metadata, "spec": {}, "status": {"phase": phase}})).unwrap()
    }

    #[test]
    fn volume_finalizer_rows() {
        // "PV without finalizer -> finalizer is added"
        assert_eq!(
            updated_finalizers(&reconcile_volume_protection(&volume(false, false, "Available"))),
            Some(json!([PV_PROTECTION_FINALIZER]))
        );
        // "PV with finalizer -> no action"
        assert_eq!(updated_finalizers(&reconcile_volume_protection(&volume(true, false, "Available"))), None);
        // "deleted PV with finalizer -> finalizer is removed"
        assert_eq!(updated_finalizers(&reconcile_volume_protection(&volume(true, true, "Released"))), Some(json!([])));
        // "deleted PV with finalizer + PV is bound -> finalizer is not removed"
        assert_eq!(updated_finalizers(&reconcile_volume_protection(&volume(true, true, "Bound"))), None);
    }
}
