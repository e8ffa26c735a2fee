//! Rows from Kubernetes' `staging/src/k8s.io/pod-security-admission/policy/check_*_test.go`,
//! `api/helpers_test.go` (`TestPolicyToEvaluate`) and the restricted message of
//! `test/e2e/auth/pod_security` (a bare pod in a restricted namespace).

use std::collections::BTreeMap;

use serde_json::json;

use super::*;

fn check(id: &str) -> fn(&Value, &Value) -> Option<Violation> {
    CHECKS.iter().find(|check| check.id == id).unwrap().check
}

fn run(id: &str, spec: Value) -> Option<(String, String)> {
    check(id)(&Value::Null, &spec)
}

fn expect(id: &str, spec: Value, reason: &str, detail: &str) {
    assert_eq!(run(id, spec), Some((reason.to_string(), detail.to_string())), "{id}");
}

#[test]
fn checks_are_sorted_by_id_as_kubernetes_reports_them() {
    let ids: Vec<&str> = CHECKS.iter().map(|check| check.id).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
}

/// `TestPrivileged`.
#[test]
fn privileged() {
    let spec = json!({"initContainers": [{"name": "d", "securityContext": {"privileged": true}}],
        "containers": [{"name": "a"}, {"name": "b", "securityContext": {}}, {"name": "c", "securityContext": {"privileged": false}},
            {"name": "e", "securityContext": {"privileged": true}}]});
    expect("privileged", spec, "privileged", r#"containers "d", "e" must not set securityContext.privileged=true"#);
}

/// `TestHostNamespaces`.
#[test]
fn host_namespaces() {
    expect(
        "hostNamespaces",
        json!({"hostNetwork": true, "hostIPC": true, "hostPID": true}),
        "host namespaces",
        "hostNetwork=true, hostPID=true, hostIPC=true",
    );
    assert_eq!(run("hostNamespaces", json!({"hostNetwork": false})), None);
}

/// `TestHostPathVolumes`, `TestHostPort`.
#[test]
fn host_path_volumes_and_host_ports() {
    let volumes = json!({"volumes": [{"name": "a", "emptyDir": {}}, {"name": "b", "hostPath": {"path": "/"}},
        {"name": "c", "hostPath": {"path": "/"}}]});
    expect("hostPathVolumes", volumes, "hostPath volumes", r#"volumes "b", "c""#);
    let ports = json!({"containers": [{"name": "a", "ports": [{"containerPort": 80}]},
        {"name": "b", "ports": [{"containerPort": 80, "hostPort": 10}, {"containerPort": 81, "hostPort": 20}]},
        {"name": "c", "ports": [{"containerPort": 80, "hostPort": 10}]}]});
    expect("hostPorts", ports, "hostPort", r#"containers "b", "c" use hostPorts 10, 20"#);
}

/// `TestCapabilitiesBaseline`, `TestCapabilitiesRestricted`.
#[test]
fn capabilities() {
    let spec = json!({"containers": [{"name": "a", "securityContext": {"capabilities": {"add": ["FOO", "BAR"]}}},
        {"name": "b", "securityContext": {"capabilities": {"add": ["BAR", "BAZ"]}}},
        {"name": "c", "securityContext": {"capabilities": {"add": ["CHOWN"]}}}]});
    expect(
        "capabilities_baseline",
        spec.clone(),
        "non-default capabilities",
        r#"containers "a", "b" must not include "BAR", "BAZ", "FOO" in securityContext.capabilities.add"#,
    );
    expect(
        "capabilities_restricted",
        spec,
        "unrestricted capabilities",
        r#"containers "a", "b", "c" must set securityContext.capabilities.drop=["ALL"]; containers "a", "b", "c" must not include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add"#,
    );
    let allowed = json!({"containers": [{"name": "a", "securityContext": {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}]});
    assert_eq!(run("capabilities_restricted", allowed), None);
}

/// `TestRunAsNonRoot`, `TestRunAsUser`.
#[test]
fn run_as_non_root_and_run_as_user() {
    expect(
        "runAsNonRoot",
        json!({"containers": [{"name": "a"}, {"name": "b"}]}),
        "runAsNonRoot != true",
        r#"pod or containers "a", "b" must set securityContext.runAsNonRoot=true"#,
    );
    expect(
        "runAsNonRoot",
        json!({"securityContext": {"runAsNonRoot": false}, "containers": [{"name": "a", "securityContext": {"runAsNonRoot": false}}]}),
        "runAsNonRoot != true",
        r#"pod and container "a" must not set securityContext.runAsNonRoot=false"#,
    );
    assert_eq!(
        run("runAsNonRoot", json!({"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "a"}]})),
        None
    );
    expect(
        "runAsUser",
        json!({"securityContext": {"runAsUser": 0}, "containers": [{"name": "a", "securityContext": {"runAsUser": 0}}, {"name": "b", "securityContext": {"runAsUser": 1000}}]}),
        "runAsUser=0",
        r#"pod and container "a" must not set runAsUser=0"#,
    );
}

/// `TestSeccompProfile_Baseline`, `TestSeccompProfile_Restricted`.
#[test]
fn seccomp_profiles() {
    expect(
        "seccompProfile_baseline",
        json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}},
        "containers": [{"name": "a", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]}),
        "seccompProfile",
        r#"pod must not set securityContext.seccompProfile.type to "Unconfined"; container "a" must not set securityContext.seccompProfile.type to "Unconfined""#,
    );
    expect(
        "seccompProfile_restricted",
        json!({"containers": [{"name": "a"}, {"name": "b", "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}]}),
        "seccompProfile",
        r#"pod or container "a" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost""#,
    );
    expect(
        "seccompProfile_restricted",
        json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}, "containers": [{"name": "a"}]}),
        "seccompProfile",
        r#"pod must not set securityContext.seccompProfile.type to "Unconfined""#,
    );
    assert_eq!(
        run(
            "seccompProfile_restricted",
            json!({"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [{"name": "a"}]})
        ),
        None
    );
}

/// `TestSELinuxOptions`, `TestProcMount`, `TestSysctls`, `TestWindowsHostProcess`, `TestCheckAppArmor_Forbidden`.
#[test]
fn the_other_baseline_checks() {
    expect(
        "seLinuxOptions",
        json!({"securityContext": {"seLinuxOptions": {"type": "foo", "user": "bar"}},
        "containers": [{"name": "a", "securityContext": {"seLinuxOptions": {"role": "baz"}}}]}),
        "seLinuxOptions",
        r#"pod and container "a" set forbidden securityContext.seLinuxOptions: type "foo"; user may not be set; role may not be set"#,
    );
    expect(
        "procMount",
        json!({"containers": [{"name": "a", "securityContext": {"procMount": "Unmasked"}}, {"name": "b", "securityContext": {"procMount": "Default"}}]}),
        "procMount",
        r#"container "a" must not set securityContext.procMount to "Unmasked""#,
    );
    expect(
        "sysctls",
        json!({"securityContext": {"sysctls": [{"name": "a", "value": "a"}, {"name": "net.ipv4.tcp_rmem", "value": "1"}, {"name": "b", "value": "b"}]}}),
        "forbidden sysctls",
        "a, b",
    );
    expect(
        "windowsHostProcess",
        json!({"securityContext": {"windowsOptions": {"hostProcess": true}}, "containers": [{"name": "a", "securityContext": {"windowsOptions": {"hostProcess": true}}}]}),
        "hostProcess",
        r#"pod and container "a" must not set securityContext.windowsOptions.hostProcess=true"#,
    );
    expect(
        "appArmorProfile",
        json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}),
        "forbidden AppArmor profile",
        r#"pod must not set AppArmor profile type to "Unconfined""#,
    );
    let annotations = json!({"container.apparmor.security.beta.kubernetes.io/a": "unconfined"});
    assert_eq!(check("appArmorProfile")(&annotations, &json!({"containers": [{"name": "a"}]})),
        Some(("forbidden AppArmor profile".into(),
            r#"annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/a=\"unconfined\"""#.into())));
}

/// `TestRestrictedVolumes`.
#[test]
fn restricted_volumes() {
    let spec = json!({"volumes": [{"name": "a", "configMap": {}}, {"name": "b", "hostPath": {"path": "/"}},
        {"name": "c", "nfs": {"server": "s", "path": "/"}}, {"name": "d", "secret": {}}]});
    expect(
        "restrictedVolumes",
        spec.clone(),
        "restricted volume types",
        r#"volumes "b", "c" use restricted volume types "hostPath", "nfs""#,
    );
    // At restricted, restrictedVolumes stands in for hostPathVolumes.
    let reasons: Vec<String> =
        evaluate(PodSecurityLevel::Restricted, &Value::Null, &spec).into_iter().map(|(reason, _)| reason).collect();
    assert!(
        reasons.contains(&"restricted volume types".to_string()) && !reasons.contains(&"hostPath volumes".to_string()),
        "{reasons:?}"
    );
}

#[test]
fn a_bare_pod_breaks_restricted_in_kubernetes_words() {
    let violations =
        evaluate(PodSecurityLevel::Restricted, &Value::Null, &json!({"containers": [{"name": "c", "image": "nginx"}]}));
    assert_eq!(
        describe(&violations),
        r#"allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#
    );
    assert!(evaluate(PodSecurityLevel::Baseline, &Value::Null, &json!({"containers": [{"name": "c"}]})).is_empty());
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(key, value)| (format!("{POD_SECURITY_LABEL_PREFIX}{key}"), value.to_string())).collect()
}

fn level_version(level: PodSecurityLevel, version: &str) -> LevelVersion {
    LevelVersion { level, version: version.into() }
}

/// `TestPolicyToEvaluate`.
#[test]
fn policy_to_evaluate() {
    use PodSecurityLevel::{Baseline, Privileged, Restricted};
    let privileged = level_version(Privileged, "latest");
    assert_eq!(
        policy_of(&BTreeMap::new()),
        Policy { enforce: privileged.clone(), audit: privileged.clone(), warn: privileged.clone() }
    );
    // "enforce only": warn defaults to the enforce level and version.
    assert_eq!(
        policy_of(&labels(&[("enforce", "baseline"), ("enforce-version", "v1.30")])),
        Policy {
            enforce: level_version(Baseline, "v1.30"),
            audit: privileged.clone(),
            warn: level_version(Baseline, "v1.30")
        }
    );
    // "warn set": it is kept.
    assert_eq!(
        policy_of(&labels(&[("enforce", "baseline"), ("warn", "restricted")])).warn,
        level_version(Restricted, "latest")
    );
    // "invalid labels": restricted:latest.
    let invalid = policy_of(&labels(&[("enforce", "foo"), ("audit-version", "1.2")]));
    assert_eq!(invalid.enforce, level_version(Restricted, "latest"));
    assert_eq!(invalid.audit, level_version(Restricted, "latest"));
    assert_eq!(invalid.warn, privileged, "an invalid enforce level does not default warn");
    assert_eq!(level_version(Restricted, "latest").to_string(), "restricted:latest");
}
