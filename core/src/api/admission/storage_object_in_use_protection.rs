//! The StorageObjectInUseProtection admission plugin
//! (`plugin/pkg/admission/storage/storageobjectinuseprotection`): every new
//! PersistentVolumeClaim gets the `kubernetes.io/pvc-protection` finalizer and every new
//! PersistentVolume the `kubernetes.io/pv-protection` one, so neither disappears while a pod
//! (or a claim) still uses it; the pvc-protection and pv-protection controllers remove them.

use crate::object::Object;

/// The finalizer that keeps a claim while a pod uses it.
pub const PVC_PROTECTION_FINALIZER: &str = "kubernetes.io/pvc-protection";

/// The finalizer that keeps a volume while a claim is bound to it.
pub const PV_PROTECTION_FINALIZER: &str = "kubernetes.io/pv-protection";

/// Adds the kind's protection finalizer to a new claim or volume, once.
pub fn admit(object: &mut Object) {
    let finalizer = match object.kind.as_str() {
        "PersistentVolumeClaim" => PVC_PROTECTION_FINALIZER,
        "PersistentVolume" => PV_PROTECTION_FINALIZER,
        _ => return,
    };
    let finalizers = object.metadata.finalizers.get_or_insert_with(Vec::new);
    if !finalizers.iter().any(|present| present == finalizer) {
        finalizers.push(finalizer.to_string());
    }
}

#[cfg(test)]
mod tests {
    //! Rows of `TestAdmit` in Kubernetes'
    //! `plugin/pkg/admission/storage/storageobjectinuseprotection/admission_test.go`.

    use serde_json::json;

    use super::*;

    fn object(kind: &str, finalizers: &[&str]) -> Object {
        let namespace = if kind == "PersistentVolumeClaim" { json!("ns") } else { json!(null) };
        Object::from_value(json!({"apiVersion": "v1", "kind": kind,
            "metadata": {"name": "o", "namespace": namespace, "finalizers": finalizers}, "spec": {}}))
        .unwrap()
    }

    fn finalizers_after(kind: &str, finalizers: &[&str]) -> Vec<String> {
        let mut object = object(kind, finalizers);
        admit(&mut object);
        object.metadata.finalizers.unwrap_or_default()
    }

    #[test]
    fn create_a_claim_adds_the_pvc_protection_finalizer() {
        // "create -> add finalizer" for a PVC.
        assert_eq!(finalizers_after("PersistentVolumeClaim", &[]), [PVC_PROTECTION_FINALIZER]);
    }

    #[test]
    fn a_claim_that_has_the_finalizer_keeps_one_copy() {
        // "finalizer already exists -> no new finalizer".
        assert_eq!(finalizers_after("PersistentVolumeClaim", &[PVC_PROTECTION_FINALIZER]), [PVC_PROTECTION_FINALIZER]);
    }

    #[test]
    fn create_a_volume_adds_the_pv_protection_finalizer() {
        // "create -> add finalizer" and "finalizer already exists" for a PV.
        assert_eq!(finalizers_after("PersistentVolume", &[]), [PV_PROTECTION_FINALIZER]);
        assert_eq!(finalizers_after("PersistentVolume", &[PV_PROTECTION_FINALIZER]), [PV_PROTECTION_FINALIZER]);
    }

    #[test]
    fn other_kinds_get_no_finalizer() {
        // "create a Pod -> no finalizer".
        assert!(finalizers_after("Pod", &[]).is_empty());
    }
}
