//! Security contexts of pods and containers (`validatePodSpecSecurityContext`,
//! `ValidateSecurityContext`, `validateSeccompProfileField`, `ValidateAppArmorProfileField` in
//! `pkg/apis/core/validation/validation.go`).
//!
//! `runAsNonRoot: true` with `runAsUser: 0` is not refused here: Kubernetes' API server accepts
//! it and the kubelet refuses to start the container ("container's runAsUser breaks non-root
//! policy").

use k8s_openapi::api::core::v1::{AppArmorProfile, PodSecurityContext, PodSpec, SeccompProfile, SecurityContext};
use serde_json::Value;

use super::common::{inclusive_range_error, to_json};
use crate::object::field_error::{FieldError, FieldPath};

/// Highest user or group id (`maxUserID`, `maxGroupID`: Go's `math.MaxInt32`).
pub const ID_MAX: i64 = i32::MAX as i64;
/// Seccomp profile types, in Kubernetes' order.
pub const SECCOMP_PROFILE_TYPES: &[&str] = &["Localhost", "RuntimeDefault", "Unconfined"];
/// AppArmor profile types, in Kubernetes' order.
pub const APP_ARMOR_PROFILE_TYPES: &[&str] = &["Localhost", "RuntimeDefault", "Unconfined"];
/// `/proc` mount types a container may ask for.
pub const PROC_MOUNT_TYPES: &[&str] = &["Default", "Unmasked"];
/// How a pod's volumes get their group ownership changed.
pub const FS_GROUP_CHANGE_POLICIES: &[&str] = &["OnRootMismatch", "Always"];
/// Longest AppArmor localhost profile name (`PATH_MAX - 1`).
pub const APP_ARMOR_LOCALHOST_PROFILE_MAX_LENGTH: usize = 4095;

/// `IsValidUserID` / `IsValidGroupID`: 0 to 2147483647.
fn validate_id(id: Option<i64>, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if let Some(id) = id.filter(|id| !(0..=ID_MAX).contains(id)) {
        errors.push(FieldError::invalid(path, id, &inclusive_range_error(0, ID_MAX)));
    }
}

/// `validatePodSpecSecurityContext`: ids in range, process namespace sharing without hostPID,
/// the fsGroup change policy, and the seccomp and AppArmor profiles.
pub fn validate_pod_security_context(spec: &PodSpec, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let Some(context) = &spec.security_context else { return };
    let path = path.child("securityContext");
    validate_id(context.fs_group, &path.child("fsGroup"), errors);
    validate_id(context.run_as_user, &path.child("runAsUser"), errors);
    validate_id(context.run_as_group, &path.child("runAsGroup"), errors);
    for (index, group) in context.supplemental_groups.iter().flatten().enumerate() {
        validate_id(Some(*group), &path.child("supplementalGroups").index(index), errors);
    }
    if spec.host_pid == Some(true) && spec.share_process_namespace == Some(true) {
        errors.push(FieldError::invalid(
            &path.child("shareProcessNamespace"),
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    validate_fs_group_change_policy(context, &path, errors);
    validate_seccomp_profile(context.seccomp_profile.as_ref(), &path.child("seccompProfile"), errors);
    validate_app_armor_profile(context.app_armor_profile.as_ref(), &path.child("appArmorProfile"), errors);
}

fn validate_fs_group_change_policy(context: &PodSecurityContext, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if let Some(policy) = context.fs_group_change_policy.as_deref()
        && !FS_GROUP_CHANGE_POLICIES.contains(&policy)
    {
        let path = path.child("fsGroupChangePolicy");
        errors.push(FieldError::not_supported(&path, policy, FS_GROUP_CHANGE_POLICIES));
    }
}

/// `ValidateSecurityContext` for one container. Privileged containers are allowed (the
/// API server's `--allow-privileged=true`, as kubeadm and kind run it).
pub fn validate_container_security_context(
    context: Option<&SecurityContext>,
    host_users: bool,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let Some(context) = context else { return };
    let path = path.child("securityContext");
    validate_id(context.run_as_user, &path.child("runAsUser"), errors);
    validate_id(context.run_as_group, &path.child("runAsGroup"), errors);
    if let Some(proc_mount) = context.proc_mount.as_deref() {
        if !PROC_MOUNT_TYPES.contains(&proc_mount) {
            errors.push(FieldError::not_supported(&path.child("procMount"), proc_mount, PROC_MOUNT_TYPES));
        }
        if host_users && proc_mount == "Unmasked" {
            let message = "`hostUsers` must be false to use `Unmasked`";
            errors.push(FieldError::invalid(&path.child("procMount"), proc_mount, message));
        }
    }
    validate_seccomp_profile(context.seccomp_profile.as_ref(), &path.child("seccompProfile"), errors);
    if context.allow_privilege_escalation == Some(false) {
        if context.privileged == Some(true) {
            let message = "cannot set `allowPrivilegeEscalation` to false and `privileged` to true";
            errors.push(FieldError::invalid(&path, to_json(context), message));
        }
        let adds = context.capabilities.as_ref().and_then(|capabilities| capabilities.add.as_ref());
        for capability in adds.into_iter().flatten() {
            if capability == "CAP_SYS_ADMIN" {
                let message = "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN";
                errors.push(FieldError::invalid(&path, to_json(context), message));
            }
        }
    }
    validate_app_armor_profile(context.app_armor_profile.as_ref(), &path.child("appArmorProfile"), errors);
}

/// `validateSeccompProfileField`: a known type; a relative, descending localhost profile
/// exactly when the type is `Localhost`.
pub fn validate_seccomp_profile(profile: Option<&SeccompProfile>, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let Some(profile) = profile else { return };
    match profile.type_.as_str() {
        "" => errors.push(FieldError::required(&path.child("type"), "type is required when seccompProfile is set")),
        kind if !SECCOMP_PROFILE_TYPES.contains(&kind) => {
            errors.push(FieldError::not_supported(&path.child("type"), kind, SECCOMP_PROFILE_TYPES));
        }
        _ => {}
    }
    let localhost_path = path.child("localhostProfile");
    match (profile.type_.as_str(), profile.localhost_profile.as_deref()) {
        ("Localhost", None) => {
            errors.push(FieldError::required(&localhost_path, "must be set when seccomp type is Localhost"));
        }
        ("Localhost", Some(local)) => {
            if local.starts_with('/') {
                errors.push(FieldError::invalid(&localhost_path, local, "must be a relative path"));
            }
            if local.split('/').any(|part| part == "..") {
                errors.push(FieldError::invalid(&localhost_path, local, "must not contain '..'"));
            }
        }
        (_, Some(_)) => {
            let message = "can only be set when seccomp type is Localhost";
            errors.push(FieldError::invalid(&localhost_path, to_json(profile), message));
        }
        (_, None) => {}
    }
}

/// `ValidateAppArmorProfileField`.
pub fn validate_app_armor_profile(profile: Option<&AppArmorProfile>, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let Some(profile) = profile else { return };
    let localhost_path = path.child("localhostProfile");
    match profile.type_.as_str() {
        "Localhost" => match profile.localhost_profile.as_deref() {
            None => errors.push(FieldError::required(&localhost_path, "must be set when AppArmor type is Localhost")),
            Some(local) => {
                if local.trim() != local {
                    errors.push(FieldError::invalid(&localhost_path, local, "must not be padded with whitespace"));
                } else if local.is_empty() {
                    let message = "must be set when AppArmor type is Localhost";
                    errors.push(FieldError::required(&localhost_path, message));
                }
                if local.len() > APP_ARMOR_LOCALHOST_PROFILE_MAX_LENGTH {
                    errors.push(FieldError::too_long(&localhost_path, APP_ARMOR_LOCALHOST_PROFILE_MAX_LENGTH));
                }
            }
        },
        "RuntimeDefault" | "Unconfined" => {
            if let Some(local) = profile.localhost_profile.as_deref() {
                let message = "can only be set when AppArmor type is Localhost";
                errors.push(FieldError::invalid(&localhost_path, Value::from(local), message));
            }
        }
        "" => errors.push(FieldError::required(&path.child("type"), "type is required when appArmorProfile is set")),
        other => errors.push(FieldError::not_supported(&path.child("type"), other, APP_ARMOR_PROFILE_TYPES)),
    }
}
