//! Storage: PersistentVolumes and PersistentVolumeClaims (`ValidatePersistentVolume`,
//! `ValidatePersistentVolumeClaim` and their updates in `pkg/apis/core/validation`) and
//! StorageClasses (`pkg/apis/storage/validation`).
//!
//! coxswain does not default StorageClasses yet, so an unset `reclaimPolicy` or
//! `volumeBindingMode` is read as the value Kubernetes' defaulting would write (`Delete`,
//! `Immediate`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeSpec,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;

use super::common::{immutable, to_json};
use super::meta::{name_is_dns_subdomain, validate_label_selector};
use super::pod_scheduling::validate_node_selector;
use crate::object::field_error::{FieldError, FieldPath};
use crate::object::names::is_qualified_name;
use crate::object::quantity::Quantity;

/// Access modes a volume or claim may have, sorted as Kubernetes lists them.
pub const ACCESS_MODES: &[&str] = &["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];
/// What may happen to a released PersistentVolume, sorted.
pub const PERSISTENT_VOLUME_RECLAIM_POLICIES: &[&str] = &["Delete", "Recycle", "Retain"];
/// What a StorageClass may do with the volumes it provisions once released.
pub const STORAGE_CLASS_RECLAIM_POLICIES: &[&str] = &["Delete", "Retain"];
/// When a StorageClass binds and provisions volumes.
pub const VOLUME_BINDING_MODES: &[&str] = &["Immediate", "WaitForFirstConsumer"];
/// What a StorageClass reclaims by default (`SetDefaults_StorageClass`).
pub const STORAGE_CLASS_RECLAIM_POLICY_DEFAULT: &str = "Delete";
/// When a StorageClass binds by default.
pub const VOLUME_BINDING_MODE_DEFAULT: &str = "Immediate";
/// Volume modes, sorted.
pub const VOLUME_MODES: &[&str] = &["Block", "Filesystem"];
/// Most parameters a StorageClass may pass its provisioner.
pub const PROVISIONER_PARAMETERS_MAX: usize = 512;
/// Most bytes a StorageClass's parameters may take (keys plus values): 256 KiB.
pub const PROVISIONER_PARAMETERS_SIZE_MAX_BYTES: usize = 256 * 1024;
/// Kubernetes' message for a claim spec that changed beyond what may change.
pub const CLAIM_SPEC_IMMUTABLE: &str =
    "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims";
/// The beta annotation that named a claim's StorageClass before `storageClassName`.
pub const BETA_STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

const MUST_BE_POSITIVE: &str = "must be greater than zero";
const STORAGE: &str = "storage";

/// The volume sources a PersistentVolume sets, in the order Kubernetes checks them.
fn persistent_volume_sources(spec: &PersistentVolumeSpec) -> Vec<&'static str> {
    [
        ("hostPath", spec.host_path.is_some()),
        ("gcePersistentDisk", spec.gce_persistent_disk.is_some()),
        ("awsElasticBlockStore", spec.aws_elastic_block_store.is_some()),
        ("glusterfs", spec.glusterfs.is_some()),
        ("flocker", spec.flocker.is_some()),
        ("nfs", spec.nfs.is_some()),
        ("rbd", spec.rbd.is_some()),
        ("quobyte", spec.quobyte.is_some()),
        ("cinder", spec.cinder.is_some()),
        ("cephfs", spec.cephfs.is_some()),
        ("iscsi", spec.iscsi.is_some()),
        ("fc", spec.fc.is_some()),
        ("flexVolume", spec.flex_volume.is_some()),
        ("azureFile", spec.azure_file.is_some()),
        ("vsphereVolume", spec.vsphere_volume.is_some()),
        ("photonPersistentDisk", spec.photon_persistent_disk.is_some()),
        ("portworxVolume", spec.portworx_volume.is_some()),
        ("azureDisk", spec.azure_disk.is_some()),
        ("scaleIO", spec.scale_io.is_some()),
        ("local", spec.local.is_some()),
        ("storageos", spec.storageos.is_some()),
        ("csi", spec.csi.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// Access modes: known values, and ReadWriteOncePod alone.
fn validate_access_modes(modes: &[String], path: &FieldPath, errors: &mut Vec<FieldError>) {
    let mut read_write_once_pod = false;
    let mut others = false;
    for mode in modes {
        if !ACCESS_MODES.contains(&mode.as_str()) {
            errors.push(FieldError::not_supported(path, mode.as_str(), ACCESS_MODES));
        } else if mode == "ReadWriteOncePod" {
            read_write_once_pod = true;
        } else {
            others = true;
        }
    }
    if read_write_once_pod && others {
        errors.push(FieldError::forbidden(path, "may not use ReadWriteOncePod with other access modes"));
    }
}

/// `ValidatePositiveQuantityValue`, reading the quantity first.
fn validate_positive_quantity(quantity: &ApiQuantity, path: &FieldPath, errors: &mut Vec<FieldError>) {
    match Quantity::parse(&quantity.0) {
        Ok(parsed) if parsed > Quantity::default() => {}
        Ok(_) => errors.push(FieldError::invalid(path, quantity.0.as_str(), MUST_BE_POSITIVE)),
        Err(error) => errors.push(FieldError::invalid(path, quantity.0.as_str(), &error.to_string())),
    }
}

fn validate_class_name(name: Option<&str>, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if let Some(name) = name.filter(|name| !name.is_empty()) {
        for message in name_is_dns_subdomain(name, false) {
            errors.push(FieldError::invalid(path, name, &message));
        }
    }
}

fn validate_volume_mode(mode: Option<&str>, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if let Some(mode) = mode.filter(|mode| !VOLUME_MODES.contains(mode)) {
        errors.push(FieldError::not_supported(path, mode, VOLUME_MODES));
    }
}

/// `ValidatePersistentVolumeSpec` for a PersistentVolume object.
pub fn validate_persistent_volume(volume: &PersistentVolume) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = FieldPath::new("spec");
    let spec = volume.spec.clone().unwrap_or_default();
    let modes = spec.access_modes.clone().unwrap_or_default();
    if modes.is_empty() {
        errors.push(FieldError::required(&path.child("accessModes"), ""));
    }
    validate_access_modes(&modes, &path.child("accessModes"), &mut errors);
    validate_capacity(spec.capacity.as_ref(), &path.child("capacity"), &mut errors);
    let policy = spec.persistent_volume_reclaim_policy.as_deref().unwrap_or("");
    if !policy.is_empty() && !PERSISTENT_VOLUME_RECLAIM_POLICIES.contains(&policy) {
        let policy_path = path.child("persistentVolumeReclaimPolicy");
        errors.push(FieldError::not_supported(&policy_path, policy, PERSISTENT_VOLUME_RECLAIM_POLICIES));
    }
    if let Some(affinity) = &spec.node_affinity {
        match &affinity.required {
            Some(required) => {
                validate_node_selector(required, &path.child("nodeAffinity").child("required"), &mut errors)
            }
            None => errors.push(FieldError::required(
                &path.child("nodeAffinity").child("required"),
                "must specify required node constraints",
            )),
        }
    }
    validate_volume_sources(&spec, &path, &mut errors);
    let root_host_path =
        spec.host_path.as_ref().is_some_and(|host_path| host_path.path.trim_end_matches('/').is_empty());
    if root_host_path && policy == "Recycle" {
        let message = "may not be 'recycle' for a hostPath mount of '/'";
        errors.push(FieldError::forbidden(&path.child("persistentVolumeReclaimPolicy"), message));
    }
    validate_class_name(spec.storage_class_name.as_deref(), &path.child("storageClassName"), &mut errors);
    validate_volume_mode(spec.volume_mode.as_deref(), &path.child("volumeMode"), &mut errors);
    errors
}

/// A volume's capacity is exactly `storage`, and positive.
fn validate_capacity(capacity: Option<&BTreeMap<String, ApiQuantity>>, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let capacity = capacity.cloned().unwrap_or_default();
    if capacity.is_empty() {
        errors.push(FieldError::required(path, ""));
    }
    if !capacity.contains_key(STORAGE) || capacity.len() > 1 {
        errors.push(FieldError::not_supported(path, to_json(&capacity), &[STORAGE]));
    }
    for (name, quantity) in &capacity {
        validate_positive_quantity(quantity, &path.key(name), errors);
    }
}

/// Exactly one volume source, each with its required fields; a local volume needs node affinity.
fn validate_volume_sources(spec: &PersistentVolumeSpec, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let sources = persistent_volume_sources(spec);
    let Some(first) = sources.first() else {
        errors.push(FieldError::required(path, "must specify a volume type"));
        return;
    };
    for extra in &sources[1..] {
        errors.push(FieldError::forbidden(&path.child(extra), "may not specify more than 1 volume type"));
    }
    let required = |present: bool, field: &str, errors: &mut Vec<FieldError>| {
        if !present {
            errors.push(FieldError::required(&path.child(first).child(field), ""));
        }
    };
    match *first {
        "hostPath" => required(spec.host_path.as_ref().is_some_and(|source| !source.path.is_empty()), "path", errors),
        "nfs" => {
            let nfs = spec.nfs.clone().unwrap_or_default();
            required(!nfs.server.is_empty(), "server", errors);
            required(!nfs.path.is_empty(), "path", errors);
            if !nfs.path.is_empty() && !nfs.path.starts_with('/') {
                errors.push(FieldError::invalid(
                    &path.child("nfs").child("path"),
                    nfs.path,
                    "must be an absolute path",
                ));
            }
        }
        "local" => {
            required(spec.local.as_ref().is_some_and(|source| !source.path.is_empty()), "path", errors);
            if spec.node_affinity.is_none() {
                errors.push(FieldError::required(&path.child("nodeAffinity"), "Local volume requires node affinity"));
            }
        }
        "csi" => {
            let csi = spec.csi.clone().unwrap_or_default();
            required(!csi.driver.is_empty(), "driver", errors);
            required(!csi.volume_handle.is_empty(), "volumeHandle", errors);
        }
        _ => {}
    }
}

/// `ValidatePersistentVolumeClaimSpec` for a PersistentVolumeClaim object.
pub fn validate_persistent_volume_claim(claim: &PersistentVolumeClaim) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let spec = claim.spec.clone().unwrap_or_default();
    validate_persistent_volume_claim_spec(&spec, &FieldPath::new("spec"), &mut errors);
    errors
}

/// `ValidatePersistentVolumeClaimSpec`: access modes, a positive storage request (reported at
/// `spec.resources[storage]`, as Kubernetes does), the class name and the volume mode.
pub fn validate_persistent_volume_claim_spec(
    spec: &PersistentVolumeClaimSpec,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let modes = spec.access_modes.clone().unwrap_or_default();
    if modes.is_empty() {
        errors.push(FieldError::required(&path.child("accessModes"), "at least 1 access mode is required"));
    }
    if let Some(selector) = &spec.selector {
        validate_label_selector(selector, &path.child("selector"), errors);
    }
    validate_access_modes(&modes, &path.child("accessModes"), errors);
    let storage_path = path.child("resources").key(STORAGE);
    match storage_request(spec) {
        None => errors.push(FieldError::required(&storage_path, "")),
        Some(quantity) => validate_positive_quantity(&quantity, &storage_path, errors),
    }
    validate_class_name(spec.storage_class_name.as_deref(), &path.child("storageClassName"), errors);
    validate_volume_mode(spec.volume_mode.as_deref(), &path.child("volumeMode"), errors);
}

fn storage_request(spec: &PersistentVolumeClaimSpec) -> Option<ApiQuantity> {
    spec.resources.as_ref()?.requests.as_ref()?.get(STORAGE).cloned()
}

fn parsed_storage_request(spec: &PersistentVolumeClaimSpec) -> Option<Quantity> {
    storage_request(spec).and_then(|quantity| Quantity::parse(&quantity.0).ok())
}

/// `ValidatePersistentVolumeClaimUpdate`: the spec is fixed once created, except that the
/// volumeName may be set once, a storageClassName may be set where there was none, and a bound
/// claim may grow its storage request (never shrink it).
pub fn validate_persistent_volume_claim_update(
    new: &PersistentVolumeClaim,
    old: &PersistentVolumeClaim,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let new_spec = new.spec.clone().unwrap_or_default();
    let old_spec = old.spec.clone().unwrap_or_default();
    let mut compared = new_spec.clone();
    if old_spec.volume_name.as_deref().unwrap_or("").is_empty() {
        compared.volume_name.clone_from(&old_spec.volume_name);
    }
    let old_has_beta_class = old
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|annotations| annotations.contains_key(BETA_STORAGE_CLASS_ANNOTATION));
    let class_set_from_nil = !old_has_beta_class
        && old_spec.storage_class_name.is_none()
        && new_spec.storage_class_name.as_deref().is_some_and(|name| !name.is_empty());
    if class_set_from_nil {
        compared.storage_class_name = None;
    }
    let bound = new.status.as_ref().and_then(|status| status.phase.as_deref()) == Some("Bound");
    if bound && let Some(requests) = compared.resources.as_mut().and_then(|resources| resources.requests.as_mut()) {
        match storage_request(&old_spec) {
            Some(old_request) => requests.insert(STORAGE.to_string(), old_request),
            None => requests.remove(STORAGE),
        };
    }
    if compared != old_spec {
        errors.push(FieldError::forbidden(&FieldPath::new("spec"), CLAIM_SPEC_IMMUTABLE));
    }
    if let (Some(new_size), Some(old_size)) = (parsed_storage_request(&new_spec), parsed_storage_request(&old_spec))
        && new_size < old_size
    {
        let path = FieldPath::new("spec").child("resources").child("requests").child(STORAGE);
        errors.push(FieldError::forbidden(&path, "field can not be less than previous value"));
    }
    immutable(&new_spec.volume_mode, &old_spec.volume_mode, &FieldPath::new("volumeMode"), &mut errors);
    errors
}

/// `ValidateStorageClass` (beyond metadata).
pub fn validate_storage_class(class: &StorageClass) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let provisioner_path = FieldPath::new("provisioner");
    if class.provisioner.is_empty() {
        errors.push(FieldError::required(&provisioner_path, ""));
    } else {
        let lowered = class.provisioner.to_lowercase();
        for message in is_qualified_name(&lowered) {
            errors.push(FieldError::invalid(&provisioner_path, lowered.as_str(), &message));
        }
    }
    validate_parameters(class.parameters.as_ref(), &FieldPath::new("parameters"), &mut errors);
    let policy = storage_class_reclaim_policy(class);
    if !policy.is_empty() && !STORAGE_CLASS_RECLAIM_POLICIES.contains(&policy) {
        errors.push(FieldError::not_supported(
            &FieldPath::new("reclaimPolicy"),
            policy,
            STORAGE_CLASS_RECLAIM_POLICIES,
        ));
    }
    let mode = class.volume_binding_mode.as_deref().unwrap_or(VOLUME_BINDING_MODE_DEFAULT);
    if !VOLUME_BINDING_MODES.contains(&mode) {
        errors.push(FieldError::not_supported(&FieldPath::new("volumeBindingMode"), mode, VOLUME_BINDING_MODES));
    }
    errors
}

fn storage_class_reclaim_policy(class: &StorageClass) -> &str {
    class.reclaim_policy.as_deref().unwrap_or(STORAGE_CLASS_RECLAIM_POLICY_DEFAULT)
}

/// `validateParameters`: at most 512 non-empty keys and 256 KiB in all.
fn validate_parameters(parameters: Option<&BTreeMap<String, String>>, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let parameters = parameters.cloned().unwrap_or_default();
    if parameters.len() > PROVISIONER_PARAMETERS_MAX {
        errors.push(FieldError::too_long(path, PROVISIONER_PARAMETERS_MAX));
        return;
    }
    let mut total_size = 0;
    for (key, value) in &parameters {
        if key.is_empty() {
            errors.push(FieldError::invalid(path, key.as_str(), "field can not be empty."));
        }
        total_size += key.len() + value.len();
    }
    if total_size > PROVISIONER_PARAMETERS_SIZE_MAX_BYTES {
        errors.push(FieldError::too_long(path, PROVISIONER_PARAMETERS_SIZE_MAX_BYTES));
    }
}

/// `ValidateStorageClassUpdate`: parameters, provisioner, reclaimPolicy and volumeBindingMode
/// are fixed.
pub fn validate_storage_class_update(new: &StorageClass, old: &StorageClass) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if new.parameters != old.parameters {
        errors.push(FieldError::forbidden(&FieldPath::new("parameters"), "updates to parameters are forbidden."));
    }
    if new.provisioner != old.provisioner {
        errors.push(FieldError::forbidden(&FieldPath::new("provisioner"), "updates to provisioner are forbidden."));
    }
    if storage_class_reclaim_policy(new) != storage_class_reclaim_policy(old) {
        errors.push(FieldError::forbidden(&FieldPath::new("reclaimPolicy"), "updates to reclaimPolicy are forbidden."));
    }
    let mode = |class: &StorageClass| class.volume_binding_mode.clone().unwrap_or(VOLUME_BINDING_MODE_DEFAULT.into());
    immutable(&mode(new), &mode(old), &FieldPath::new("volumeBindingMode"), &mut errors);
    errors
}
