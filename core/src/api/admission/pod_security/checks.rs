//! The Pod Security Standards checks of Kubernetes 1.32 (`pod-security-admission/policy`), at
//! their latest versions, on a pod's metadata and spec as JSON. Each check answers `None` when
//! the pod passes or `Some((reason, detail))` in Kubernetes' words.

use std::collections::BTreeSet;

use serde_json::Value;

use super::PodSecurityLevel;

/// A failed check: the short reason and the detail Kubernetes puts in parentheses.
pub type Violation = (String, String);

/// One check: its id (results are reported in id order), level, the baseline check it
/// replaces at restricted, and the function.
pub struct Check {
    /// Kubernetes' check id.
    pub id: &'static str,
    /// The lowest level the check belongs to.
    pub level: PodSecurityLevel,
    /// The baseline check this restricted check stands in for.
    pub overrides: Option<&'static str>,
    /// The check itself: pod annotations and spec to a violation.
    pub check: fn(&Value, &Value) -> Option<Violation>,
}

/// Every check, sorted by id as Kubernetes' registry evaluates them.
pub const CHECKS: &[Check] = &[
    Check {
        id: "allowPrivilegeEscalation",
        level: PodSecurityLevel::Restricted,
        overrides: None,
        check: allow_privilege_escalation,
    },
    Check { id: "appArmorProfile", level: PodSecurityLevel::Baseline, overrides: None, check: app_armor_profile },
    Check {
        id: "capabilities_baseline",
        level: PodSecurityLevel::Baseline,
        overrides: None,
        check: capabilities_baseline,
    },
    Check {
        id: "capabilities_restricted",
        level: PodSecurityLevel::Restricted,
        overrides: Some("capabilities_baseline"),
        check: capabilities_restricted,
    },
    Check { id: "hostNamespaces", level: PodSecurityLevel::Baseline, overrides: None, check: host_namespaces },
    Check { id: "hostPathVolumes", level: PodSecurityLevel::Baseline, overrides: None, check: host_path_volumes },
    Check { id: "hostPorts", level: PodSecurityLevel::Baseline, overrides: None, check: host_ports },
    Check { id: "privileged", level: PodSecurityLevel::Baseline, overrides: None, check: privileged },
    Check { id: "procMount", level: PodSecurityLevel::Baseline, overrides: None, check: proc_mount },
    Check {
        id: "restrictedVolumes",
        level: PodSecurityLevel::Restricted,
        overrides: Some("hostPathVolumes"),
        check: restricted_volumes,
    },
    Check { id: "runAsNonRoot", level: PodSecurityLevel::Restricted, overrides: None, check: run_as_non_root },
    Check { id: "runAsUser", level: PodSecurityLevel::Restricted, overrides: None, check: run_as_user },
    Check { id: "seLinuxOptions", level: PodSecurityLevel::Baseline, overrides: None, check: se_linux_options },
    Check {
        id: "seccompProfile_baseline",
        level: PodSecurityLevel::Baseline,
        overrides: None,
        check: seccomp_profile_baseline,
    },
    Check {
        id: "seccompProfile_restricted",
        level: PodSecurityLevel::Restricted,
        overrides: Some("seccompProfile_baseline"),
        check: seccomp_profile_restricted,
    },
    Check { id: "sysctls", level: PodSecurityLevel::Baseline, overrides: None, check: sysctls },
    Check { id: "windowsHostProcess", level: PodSecurityLevel::Baseline, overrides: None, check: windows_host_process },
];

/// Capabilities a baseline container may add (`capabilities_allowed_1_0`).
pub const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];
/// Sysctls a baseline pod may set (1.0, 1.27, 1.29 and 1.32 sets together).
pub const ALLOWED_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
];
/// SELinux types a baseline pod may ask for (1.31 and later).
pub const ALLOWED_SELINUX_TYPES: &[&str] =
    &["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];
/// Volume types a restricted pod may use.
pub const RESTRICTED_VOLUME_TYPES: &[&str] =
    &["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];
/// The prefix of the deprecated per-container AppArmor annotations.
const APP_ARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn pluralize(singular: &str, plural: &str, count: usize) -> String {
    if count == 1 { singular.to_string() } else { plural.to_string() }
}

/// `joinQuote`: `"a", "b"`.
fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    items.iter().map(|item| format!("{:?}", item.as_ref())).collect::<Vec<_>>().join(", ")
}

fn containers_phrase(names: &[String]) -> String {
    format!("{} {}", pluralize("container", "containers", names.len()), join_quote(names))
}

/// `visitContainers`: init containers, containers, ephemeral containers.
fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(move |field| spec.get(field).and_then(Value::as_array).into_iter().flatten())
}

fn name(container: &Value) -> String {
    container.get("name").and_then(Value::as_str).unwrap_or("").to_string()
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn flag(value: &Value, pointer: &str) -> Option<bool> {
    value.pointer(pointer).and_then(Value::as_bool)
}

/// Windows pods are exempt from some restricted checks from 1.25 on.
fn is_windows(spec: &Value) -> bool {
    text(spec, "/os/name") == Some("windows")
}

fn names_where(spec: &Value, mut bad: impl FnMut(&Value) -> bool) -> Vec<String> {
    containers(spec).filter(|container| bad(container)).map(name).collect()
}

fn allow_privilege_escalation(_: &Value, spec: &Value) -> Option<Violation> {
    if is_windows(spec) {
        return None;
    }
    let bad =
        names_where(spec, |container| flag(container, "/securityContext/allowPrivilegeEscalation") != Some(false));
    (!bad.is_empty()).then(|| {
        let detail = format!("{} must set securityContext.allowPrivilegeEscalation=false", containers_phrase(&bad));
        ("allowPrivilegeEscalation != false".to_string(), detail)
    })
}

fn app_armor_profile(annotations: &Value, spec: &Value) -> Option<Violation> {
    let mut setters = Vec::new();
    let mut values = BTreeSet::new();
    if let Some(kind) = text(spec, "/securityContext/appArmorProfile/type").filter(|kind| *kind == "Unconfined") {
        setters.push("pod".to_string());
        values.insert(kind.to_string());
    }
    let bad =
        names_where(spec, |container| text(container, "/securityContext/appArmorProfile/type") == Some("Unconfined"));
    if !bad.is_empty() {
        values.insert("Unconfined".to_string());
        setters.push(containers_phrase(&bad));
    }
    let mut values: Vec<String> = values.into_iter().collect();
    let mut forbidden: Vec<String> = annotations
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| key.starts_with(APP_ARMOR_ANNOTATION_PREFIX))
        .filter_map(|(key, value)| {
            let value = value.as_str().unwrap_or("");
            let allowed = value.is_empty() || value == "runtime/default" || value.starts_with("localhost/");
            (!allowed).then(|| format!("{key}={value:?}"))
        })
        .collect();
    if !forbidden.is_empty() {
        forbidden.sort();
        setters.push(pluralize("annotation", "annotations", forbidden.len()));
        values.extend(forbidden);
    }
    (!setters.is_empty()).then(|| {
        let reason = pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", values.len());
        (reason, format!("{} must not set AppArmor profile type to {}", setters.join(" and "), join_quote(&values)))
    })
}

fn added_capabilities(container: &Value) -> Vec<String> {
    let added = container.pointer("/securityContext/capabilities/add").and_then(Value::as_array);
    added.into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
}

fn capabilities_baseline(_: &Value, spec: &Value) -> Option<Violation> {
    let mut forbidden = BTreeSet::new();
    let bad = names_where(spec, |container| {
        let extra: Vec<String> = added_capabilities(container)
            .into_iter()
            .filter(|cap| !BASELINE_CAPABILITIES.contains(&cap.as_str()))
            .collect();
        let is_bad = !extra.is_empty();
        forbidden.extend(extra);
        is_bad
    });
    (!bad.is_empty()).then(|| {
        let forbidden: Vec<String> = forbidden.into_iter().collect();
        let detail = format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&bad),
            join_quote(&forbidden)
        );
        ("non-default capabilities".to_string(), detail)
    })
}

fn capabilities_restricted(_: &Value, spec: &Value) -> Option<Violation> {
    if is_windows(spec) {
        return None;
    }
    let missing_drop_all = names_where(spec, |container| {
        let dropped = container.pointer("/securityContext/capabilities/drop").and_then(Value::as_array);
        !dropped.into_iter().flatten().any(|cap| cap.as_str() == Some("ALL"))
    });
    let mut forbidden = BTreeSet::new();
    let adding = names_where(spec, |container| {
        let extra: Vec<String> =
            added_capabilities(container).into_iter().filter(|cap| cap != "NET_BIND_SERVICE").collect();
        let is_bad = !extra.is_empty();
        forbidden.extend(extra);
        is_bad
    });
    let mut details = Vec::new();
    if !missing_drop_all.is_empty() {
        details.push(format!(
            "{} must set securityContext.capabilities.drop=[\"ALL\"]",
            containers_phrase(&missing_drop_all)
        ));
    }
    if !adding.is_empty() {
        let forbidden: Vec<String> = forbidden.into_iter().collect();
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&adding),
            join_quote(&forbidden)
        ));
    }
    (!details.is_empty()).then(|| ("unrestricted capabilities".to_string(), details.join("; ")))
}

fn host_namespaces(_: &Value, spec: &Value) -> Option<Violation> {
    let set: Vec<String> = ["hostNetwork", "hostPID", "hostIPC"]
        .into_iter()
        .filter(|field| spec.get(*field).and_then(Value::as_bool) == Some(true))
        .map(|field| format!("{field}=true"))
        .collect();
    (!set.is_empty()).then(|| ("host namespaces".to_string(), set.join(", ")))
}

fn volumes(spec: &Value) -> impl Iterator<Item = &Value> {
    spec.get("volumes").and_then(Value::as_array).into_iter().flatten()
}

fn host_path_volumes(_: &Value, spec: &Value) -> Option<Violation> {
    let bad: Vec<String> = volumes(spec).filter(|volume| volume.get("hostPath").is_some()).map(name).collect();
    (!bad.is_empty()).then(|| {
        ("hostPath volumes".to_string(), format!("{} {}", pluralize("volume", "volumes", bad.len()), join_quote(&bad)))
    })
}

fn host_ports(_: &Value, spec: &Value) -> Option<Violation> {
    let mut ports = BTreeSet::new();
    let bad = names_where(spec, |container| {
        let used: Vec<String> = container
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|port| port.get("hostPort").and_then(Value::as_i64).filter(|port| *port != 0))
            .map(|port| port.to_string())
            .collect();
        let is_bad = !used.is_empty();
        ports.extend(used);
        is_bad
    });
    (!bad.is_empty()).then(|| {
        let ports: Vec<String> = ports.into_iter().collect();
        let detail = format!(
            "{} {} {} {}",
            containers_phrase(&bad),
            pluralize("uses", "use", bad.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            ports.join(", ")
        );
        ("hostPort".to_string(), detail)
    })
}

fn privileged(_: &Value, spec: &Value) -> Option<Violation> {
    let bad = names_where(spec, |container| flag(container, "/securityContext/privileged") == Some(true));
    (!bad.is_empty()).then(|| {
        ("privileged".to_string(), format!("{} must not set securityContext.privileged=true", containers_phrase(&bad)))
    })
}

fn proc_mount(_: &Value, spec: &Value) -> Option<Violation> {
    let mut types = BTreeSet::new();
    let bad = names_where(spec, |container| match text(container, "/securityContext/procMount") {
        Some(kind) if kind != "Default" => {
            types.insert(kind.to_string());
            true
        }
        _ => false,
    });
    (!bad.is_empty()).then(|| {
        let types: Vec<String> = types.into_iter().collect();
        let detail =
            format!("{} must not set securityContext.procMount to {}", containers_phrase(&bad), join_quote(&types));
        ("procMount".to_string(), detail)
    })
}

/// The volume's source: its one field besides `name`.
fn volume_type(volume: &Value) -> &str {
    volume
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, _)| key.as_str())
        .find(|key| *key != "name")
        .unwrap_or("unknown")
}

fn restricted_volumes(_: &Value, spec: &Value) -> Option<Violation> {
    let mut types = BTreeSet::new();
    let bad: Vec<String> = volumes(spec)
        .filter(|volume| {
            let kind = volume_type(volume);
            let is_bad = !RESTRICTED_VOLUME_TYPES.contains(&kind);
            if is_bad {
                types.insert(kind.to_string());
            }
            is_bad
        })
        .map(name)
        .collect();
    (!bad.is_empty()).then(|| {
        let types: Vec<String> = types.into_iter().collect();
        let detail = format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", bad.len()),
            join_quote(&bad),
            pluralize("uses", "use", bad.len()),
            pluralize("restricted volume type", "restricted volume types", types.len()),
            join_quote(&types)
        );
        ("restricted volume types".to_string(), detail)
    })
}

fn run_as_non_root(_: &Value, spec: &Value) -> Option<Violation> {
    let mut setters = Vec::new();
    let pod_value = flag(spec, "/securityContext/runAsNonRoot");
    if pod_value == Some(false) {
        setters.push("pod".to_string());
    }
    let explicit = names_where(spec, |container| flag(container, "/securityContext/runAsNonRoot") == Some(false));
    let implicit = names_where(spec, |container| {
        flag(container, "/securityContext/runAsNonRoot").is_none() && pod_value != Some(true)
    });
    if !explicit.is_empty() {
        setters.push(containers_phrase(&explicit));
    }
    if !setters.is_empty() {
        let detail = format!("{} must not set securityContext.runAsNonRoot=false", setters.join(" and "));
        return Some(("runAsNonRoot != true".to_string(), detail));
    }
    (!implicit.is_empty()).then(|| {
        let detail = format!("pod or {} must set securityContext.runAsNonRoot=true", containers_phrase(&implicit));
        ("runAsNonRoot != true".to_string(), detail)
    })
}

fn run_as_user(_: &Value, spec: &Value) -> Option<Violation> {
    let mut setters = Vec::new();
    if spec.pointer("/securityContext/runAsUser").and_then(Value::as_i64) == Some(0) {
        setters.push("pod".to_string());
    }
    let bad = names_where(spec, |container| {
        container.pointer("/securityContext/runAsUser").and_then(Value::as_i64) == Some(0)
    });
    if !bad.is_empty() {
        setters.push(containers_phrase(&bad));
    }
    (!setters.is_empty())
        .then(|| ("runAsUser=0".to_string(), format!("{} must not set runAsUser=0", setters.join(" and "))))
}

fn se_linux_options(_: &Value, spec: &Value) -> Option<Violation> {
    let mut bad_types = BTreeSet::new();
    let (mut set_user, mut set_role) = (false, false);
    let mut valid = |options: Option<&Value>| -> bool {
        let Some(options) = options else { return true };
        let mut ok = true;
        let kind = text(options, "/type").unwrap_or("");
        if !ALLOWED_SELINUX_TYPES.contains(&kind) {
            bad_types.insert(kind.to_string());
            ok = false;
        }
        if !text(options, "/user").unwrap_or("").is_empty() {
            set_user = true;
            ok = false;
        }
        if !text(options, "/role").unwrap_or("").is_empty() {
            set_role = true;
            ok = false;
        }
        ok
    };
    let mut setters = Vec::new();
    if !valid(spec.pointer("/securityContext/seLinuxOptions")) {
        setters.push("pod".to_string());
    }
    let bad: Vec<String> = containers(spec)
        .filter(|container| !valid(container.pointer("/securityContext/seLinuxOptions")))
        .map(name)
        .collect();
    if !bad.is_empty() {
        setters.push(containers_phrase(&bad));
    }
    if setters.is_empty() {
        return None;
    }
    let mut data = Vec::new();
    if !bad_types.is_empty() {
        let types: Vec<String> = bad_types.into_iter().collect();
        data.push(format!("{} {}", pluralize("type", "types", types.len()), join_quote(&types)));
    }
    if set_user {
        data.push("user may not be set".to_string());
    }
    if set_role {
        data.push("role may not be set".to_string());
    }
    let detail = format!("{} set forbidden securityContext.seLinuxOptions: {}", setters.join(" and "), data.join("; "));
    Some(("seLinuxOptions".to_string(), detail))
}

fn seccomp_profile_baseline(_: &Value, spec: &Value) -> Option<Violation> {
    let mut setters = Vec::new();
    if let Some(kind) = text(spec, "/securityContext/seccompProfile/type").filter(|kind| *kind == "Unconfined") {
        setters.push(format!("pod must not set securityContext.seccompProfile.type to {kind:?}"));
    }
    let bad =
        names_where(spec, |container| text(container, "/securityContext/seccompProfile/type") == Some("Unconfined"));
    if !bad.is_empty() {
        setters.push(format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            containers_phrase(&bad),
            join_quote(&["Unconfined"])
        ));
    }
    (!setters.is_empty()).then(|| ("seccompProfile".to_string(), setters.join("; ")))
}

fn seccomp_profile_restricted(_: &Value, spec: &Value) -> Option<Violation> {
    if is_windows(spec) {
        return None;
    }
    let valid = |kind: &str| kind == "RuntimeDefault" || kind == "Localhost";
    let mut setters = Vec::new();
    let mut values = BTreeSet::new();
    let pod_kind = text(spec, "/securityContext/seccompProfile/type");
    let pod_set = spec.pointer("/securityContext/seccompProfile").is_some_and(|profile| !profile.is_null());
    if pod_set && !valid(pod_kind.unwrap_or("")) {
        setters.push("pod".to_string());
        values.insert(pod_kind.unwrap_or("").to_string());
    }
    let pod_ok = pod_set && valid(pod_kind.unwrap_or(""));
    let mut implicit = Vec::new();
    let mut explicit = Vec::new();
    for container in containers(spec) {
        let profile = container.pointer("/securityContext/seccompProfile").filter(|profile| !profile.is_null());
        match profile {
            Some(profile) => {
                let kind = text(profile, "/type").unwrap_or("");
                if !valid(kind) {
                    explicit.push(name(container));
                    values.insert(kind.to_string());
                }
            }
            None if !pod_ok => implicit.push(name(container)),
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.push(containers_phrase(&explicit));
    }
    if !setters.is_empty() {
        let values: Vec<String> = values.into_iter().collect();
        let detail = format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            setters.join(" and "),
            join_quote(&values)
        );
        return Some(("seccompProfile".to_string(), detail));
    }
    (!implicit.is_empty()).then(|| {
        let detail = format!(
            "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
            containers_phrase(&implicit)
        );
        ("seccompProfile".to_string(), detail)
    })
}

fn sysctls(_: &Value, spec: &Value) -> Option<Violation> {
    let listed = spec.pointer("/securityContext/sysctls").and_then(Value::as_array);
    let forbidden: Vec<&str> = listed
        .into_iter()
        .flatten()
        .filter_map(|sysctl| sysctl.get("name").and_then(Value::as_str))
        .filter(|name| !ALLOWED_SYSCTLS.contains(name))
        .collect();
    (!forbidden.is_empty()).then(|| ("forbidden sysctls".to_string(), forbidden.join(", ")))
}

fn windows_host_process(_: &Value, spec: &Value) -> Option<Violation> {
    let mut setters = Vec::new();
    if flag(spec, "/securityContext/windowsOptions/hostProcess") == Some(true) {
        setters.push("pod".to_string());
    }
    let bad =
        names_where(spec, |container| flag(container, "/securityContext/windowsOptions/hostProcess") == Some(true));
    if !bad.is_empty() {
        setters.push(containers_phrase(&bad));
    }
    (!setters.is_empty()).then(|| {
        let detail = format!("{} must not set securityContext.windowsOptions.hostProcess=true", setters.join(" and "));
        ("hostProcess".to_string(), detail)
    })
}
