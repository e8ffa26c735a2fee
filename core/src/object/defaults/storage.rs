//! Defaults of PersistentVolumes and PersistentVolumeClaims (`SetDefaults_PersistentVolume`,
//! `SetDefaults_PersistentVolumeClaim`, `SetDefaults_PersistentVolumeClaimSpec` in
//! `pkg/apis/core/v1/defaults.go`). StatefulSets reuse the claim defaults for their templates.

use k8s_openapi::api::core::v1::{
    PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimStatus,
    PersistentVolumeSpec, PersistentVolumeStatus,
};

use super::set_if_empty;

/// The volume mode of a volume or claim that does not name one.
pub const VOLUME_MODE: &str = "Filesystem";
/// What happens to a released PersistentVolume that does not say.
pub const PERSISTENT_VOLUME_RECLAIM_POLICY: &str = "Retain";
/// The phase a new PersistentVolume starts in.
pub const PERSISTENT_VOLUME_PHASE: &str = "Pending";
/// The phase a new PersistentVolumeClaim starts in.
pub const PERSISTENT_VOLUME_CLAIM_PHASE: &str = "Pending";

/// A PersistentVolume is retained when released, holds a filesystem and starts `Pending`.
pub fn default_persistent_volume(volume: &mut PersistentVolume) {
    let spec = volume.spec.get_or_insert_with(PersistentVolumeSpec::default);
    set_if_empty(&mut spec.persistent_volume_reclaim_policy, PERSISTENT_VOLUME_RECLAIM_POLICY);
    set_if_empty(&mut spec.volume_mode, VOLUME_MODE);
    let status = volume.status.get_or_insert_with(PersistentVolumeStatus::default);
    set_if_empty(&mut status.phase, PERSISTENT_VOLUME_PHASE);
}

/// A PersistentVolumeClaim asks for a filesystem and starts `Pending`.
pub fn default_persistent_volume_claim(claim: &mut PersistentVolumeClaim) {
    let spec = claim.spec.get_or_insert_with(PersistentVolumeClaimSpec::default);
    set_if_empty(&mut spec.volume_mode, VOLUME_MODE);
    let status = claim.status.get_or_insert_with(PersistentVolumeClaimStatus::default);
    set_if_empty(&mut status.phase, PERSISTENT_VOLUME_CLAIM_PHASE);
}
