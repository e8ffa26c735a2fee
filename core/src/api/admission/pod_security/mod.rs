//! The PodSecurity admission plugin (`staging/src/k8s.io/pod-security-admission`): a
//! namespace's `pod-security.kubernetes.io/<mode>` labels (`enforce`, `audit`, `warn`, each with
//! an optional `<mode>-version`) name a Pod Security Standards level (privileged, baseline,
//! restricted); a pod that breaks the enforce level is refused
//! (`violates PodSecurity "restricted:latest": …`), one that breaks the warn level is admitted
//! with a `Warning` (`would violate PodSecurity …`). Workload resources (their pod templates)
//! get the warn check only, as in Kubernetes. No exemptions are configured.
//!
//! Differences, deliberate: every version label is evaluated with the 1.32 (latest) checks,
//! though the message names the version given; the audit mode is parsed but there is no audit
//! log to annotate; a namespace label change does not yet warn about the pods already running.

mod checks;
#[cfg(test)]
mod tests;

use std::fmt;

use serde_json::Value;

use super::{forbidden, get_object};
use crate::api::path::ResourcePath;
use crate::api::status::ApiError;
use crate::object::Object;
use crate::object::kinds::GroupResource;
use crate::store::Store;

pub use checks::{CHECKS, Violation};

const NAMESPACES: GroupResource = GroupResource { group: "", resource: "namespaces" };

/// The prefix of the namespace labels that set the policy.
pub const POD_SECURITY_LABEL_PREFIX: &str = "pod-security.kubernetes.io/";

/// A Pod Security Standards level, from least to most restrictive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PodSecurityLevel {
    /// No restrictions.
    Privileged,
    /// Prevents known privilege escalations.
    Baseline,
    /// Pod hardening best practices.
    Restricted,
}

impl PodSecurityLevel {
    /// `ParseLevel`.
    pub fn parse(text: &str) -> Option<PodSecurityLevel> {
        match text {
            "privileged" => Some(PodSecurityLevel::Privileged),
            "baseline" => Some(PodSecurityLevel::Baseline),
            "restricted" => Some(PodSecurityLevel::Restricted),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            PodSecurityLevel::Privileged => "privileged",
            PodSecurityLevel::Baseline => "baseline",
            PodSecurityLevel::Restricted => "restricted",
        }
    }
}

/// A level at a version (`latest` or `v1.N`), written `restricted:latest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelVersion {
    /// The level.
    pub level: PodSecurityLevel,
    /// `latest` or `v1.N`.
    pub version: String,
}

impl fmt::Display for LevelVersion {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(out, "{}:{}", self.level.as_str(), self.version)
    }
}

impl LevelVersion {
    fn privileged() -> LevelVersion {
        LevelVersion { level: PodSecurityLevel::Privileged, version: "latest".into() }
    }

    fn restricted() -> LevelVersion {
        LevelVersion { level: PodSecurityLevel::Restricted, version: "latest".into() }
    }
}

/// A namespace's policy: one level and version per mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Pods that break it are refused.
    pub enforce: LevelVersion,
    /// Pods that break it would be recorded in the audit log.
    pub audit: LevelVersion,
    /// Pods that break it are admitted with a warning.
    pub warn: LevelVersion,
}

/// `ParseVersion`: `latest` or `v1.<minor>`.
fn is_valid_version(text: &str) -> bool {
    text == "latest"
        || text.strip_prefix("v1.").is_some_and(|minor| {
            !minor.is_empty()
                && minor.bytes().all(|byte| byte.is_ascii_digit())
                && (minor == "0" || !minor.starts_with('0'))
        })
}

/// `PolicyToEvaluate` with the default policy privileged:latest for every mode: a mode whose
/// level or version label is invalid is evaluated at restricted:latest; warn defaults to the
/// enforce level when enforce is set to a more restrictive level and warn is not set.
pub fn policy_of(labels: &std::collections::BTreeMap<String, String>) -> Policy {
    let mode = |name: &str| -> (LevelVersion, bool) {
        let level_label = labels.get(&format!("{POD_SECURITY_LABEL_PREFIX}{name}"));
        let version_label = labels.get(&format!("{POD_SECURITY_LABEL_PREFIX}{name}-version"));
        let level = match level_label {
            None => Some(PodSecurityLevel::Privileged),
            Some(text) => PodSecurityLevel::parse(text),
        };
        let version =
            version_label.map_or(Some("latest".to_string()), |text| is_valid_version(text).then(|| text.clone()));
        match (level, version) {
            (Some(level), Some(version)) => (LevelVersion { level, version }, level_label.is_some()),
            _ => (LevelVersion::restricted(), false),
        }
    };
    let (enforce, enforce_set) = mode("enforce");
    let (audit, _) = mode("audit");
    let (mut warn, _) = mode("warn");
    let warn_level_set = labels.contains_key(&format!("{POD_SECURITY_LABEL_PREFIX}warn"));
    let warn_version_set = labels.contains_key(&format!("{POD_SECURITY_LABEL_PREFIX}warn-version"));
    if !warn_level_set && enforce_set && enforce.level > warn.level {
        warn.level = enforce.level;
        if !warn_version_set {
            warn.version = enforce.version.clone();
        }
    }
    Policy { enforce, audit, warn }
}

/// Every check the pod breaks at `level`, in check id order.
pub fn evaluate(level: PodSecurityLevel, annotations: &Value, spec: &Value) -> Vec<Violation> {
    if level == PodSecurityLevel::Privileged {
        return Vec::new();
    }
    let overridden: Vec<&str> =
        CHECKS.iter().filter(|check| check.level <= level).filter_map(|check| check.overrides).collect();
    CHECKS
        .iter()
        .filter(|check| check.level <= level && !overridden.contains(&check.id))
        .filter_map(|check| (check.check)(annotations, spec))
        .collect()
}

/// `AggregateCheckResults(…).ForbiddenDetail()`: `reason (detail), reason (detail)`.
pub fn describe(violations: &[Violation]) -> String {
    let parts: Vec<String> = violations
        .iter()
        .map(|(reason, detail)| if detail.is_empty() { reason.clone() } else { format!("{reason} ({detail})") })
        .collect();
    parts.join(", ")
}

/// Where an object keeps the pod it stands for: a pod's own annotations and spec, or a
/// workload's pod template.
fn pod_parts(object: &Object) -> Option<(Value, &Value)> {
    let template = match object.kind.as_str() {
        "Pod" => {
            let annotations = serde_json::to_value(&object.metadata.annotations).unwrap_or(Value::Null);
            return Some((annotations, object.field("spec")?));
        }
        "PodTemplate" => object.field("template")?,
        "ReplicationController" | "ReplicaSet" | "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => {
            object.field("spec")?.get("template")?
        }
        "CronJob" => object.field("spec")?.pointer("/jobTemplate/spec/template")?,
        _ => return None,
    };
    let annotations = template.pointer("/metadata/annotations").cloned().unwrap_or(Value::Null);
    Some((annotations, template.get("spec")?))
}

/// Whether an update changes what the checks look at (`isSignificantPodUpdate` for pods: an
/// image or the pod template).
fn is_significant_update(object: &Object, old: &Object) -> bool {
    let (Some((annotations, spec)), Some((old_annotations, old_spec))) = (pod_parts(object), pod_parts(old)) else {
        return false;
    };
    if object.kind != "Pod" {
        return annotations != old_annotations || spec != old_spec;
    }
    let images = |spec: &Value| -> Vec<Value> {
        ["initContainers", "containers", "ephemeralContainers"]
            .iter()
            .flat_map(|field| spec.get(*field).and_then(Value::as_array).cloned().unwrap_or_default())
            .map(|container| container.get("image").cloned().unwrap_or(Value::Null))
            .collect()
    };
    images(spec) != images(old_spec)
}

/// Checks a pod (enforce and warn) or a workload's pod template (warn) against its namespace's
/// policy.
pub(super) fn validate<S: Store>(
    store: &S,
    path: &ResourcePath,
    object: &Object,
    old: Option<&Object>,
    warnings: &mut Vec<String>,
) -> Result<(), ApiError> {
    let Some((annotations, spec)) = pod_parts(object) else { return Ok(()) };
    if old.is_some_and(|old| !is_significant_update(object, old)) {
        return Ok(());
    }
    let namespace = object.namespace();
    let Some(stored) = get_object(store, NAMESPACES, "", namespace)? else { return Ok(()) };
    let labels = stored.metadata.labels.clone().unwrap_or_default();
    if !labels.keys().any(|key| key.starts_with(POD_SECURITY_LABEL_PREFIX)) {
        return Ok(());
    }
    let policy = policy_of(&labels);
    if object.kind == "Pod" && policy.enforce != LevelVersion::privileged() {
        let violations = evaluate(policy.enforce.level, &annotations, spec);
        if !violations.is_empty() {
            let detail = format!("violates PodSecurity \"{}\": {}", policy.enforce, describe(&violations));
            return Err(forbidden(path, object, detail));
        }
    }
    let violations = evaluate(policy.warn.level, &annotations, spec);
    if !violations.is_empty() {
        warnings.push(format!("would violate PodSecurity \"{}\": {}", policy.warn, describe(&violations)));
    }
    Ok(())
}
