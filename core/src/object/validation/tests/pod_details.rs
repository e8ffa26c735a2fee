//! PodSpec details: security contexts, affinity, tolerations and topology spread constraints,
//! ported from `TestValidatePodSpec`, `TestValidateSecurityContext`,
//! `TestValidateSeccompAnnotationsAndFields`, `TestValidateAppArmorProfileFormat`,
//! `TestValidateAffinity`, `TestValidateTolerations` and `TestValidateTopologySpreadConstraints`
//! (`pkg/apis/core/validation/validation_test.go`).

use super::*;
use FieldErrorType::*;

fn pod_with(pointer: &str, value: Value) -> Value {
    with(valid_pod(), &[(pointer, value)])
}

#[test]
fn security_contexts_follow_validate_security_context() {
    let c = "/spec/containers/0/securityContext";
    check_create_table(vec![
        ("pod runAsUser 0", pod_with("/spec/securityContext", json!({"runAsUser": 0, "runAsNonRoot": true})), vec![]),
        (
            "pod negative runAsUser",
            pod_with("/spec/securityContext/runAsUser", json!(-1)),
            vec![("spec.securityContext.runAsUser", Invalid)],
        ),
        (
            "pod negative runAsGroup",
            pod_with("/spec/securityContext/runAsGroup", json!(-1)),
            vec![("spec.securityContext.runAsGroup", Invalid)],
        ),
        (
            "pod negative fsGroup",
            pod_with("/spec/securityContext/fsGroup", json!(-1)),
            vec![("spec.securityContext.fsGroup", Invalid)],
        ),
        (
            "pod supplemental group too large",
            pod_with("/spec/securityContext/supplementalGroups", json!([1, 2_147_483_648_i64])),
            vec![("spec.securityContext.supplementalGroups[1]", Invalid)],
        ),
        (
            "shareProcessNamespace with hostPID",
            with(valid_pod(), &[("/spec/hostPID", json!(true)), ("/spec/shareProcessNamespace", json!(true))]),
            vec![("spec.securityContext.shareProcessNamespace", Invalid)],
        ),
        (
            "bad fsGroupChangePolicy",
            pod_with("/spec/securityContext/fsGroupChangePolicy", json!("Sometimes")),
            vec![("spec.securityContext.fsGroupChangePolicy", NotSupported)],
        ),
        ("container runAsUser in range", pod_with(&format!("{c}/runAsUser"), json!(2_147_483_647_i64)), vec![]),
        (
            "container runAsUser too large",
            pod_with(&format!("{c}/runAsUser"), json!(2_147_483_648_i64)),
            vec![("spec.containers[0].securityContext.runAsUser", Invalid)],
        ),
        (
            "no privilege escalation but privileged",
            pod_with(c, json!({"allowPrivilegeEscalation": false, "privileged": true})),
            vec![("spec.containers[0].securityContext", Invalid)],
        ),
        (
            "no privilege escalation but CAP_SYS_ADMIN",
            pod_with(c, json!({"allowPrivilegeEscalation": false, "capabilities": {"add": ["CAP_SYS_ADMIN"]}})),
            vec![("spec.containers[0].securityContext", Invalid)],
        ),
        (
            "capabilities added and dropped",
            pod_with(c, json!({"capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}})),
            vec![],
        ),
        (
            "unmasked proc mount with host users",
            pod_with(&format!("{c}/procMount"), json!("Unmasked")),
            vec![("spec.containers[0].securityContext.procMount", Invalid)],
        ),
        (
            "unmasked proc mount without host users",
            with(valid_pod(), &[(&format!("{c}/procMount"), json!("Unmasked")), ("/spec/hostUsers", json!(false))]),
            vec![],
        ),
        (
            "init container runAsGroup",
            pod_with(
                "/spec/initContainers",
                json!([{"name": "init", "image": "i", "securityContext": {"runAsGroup": -5}}]),
            ),
            vec![("spec.initContainers[0].securityContext.runAsGroup", Invalid)],
        ),
    ]);
}

#[test]
fn seccomp_and_app_armor_profiles_follow_their_field_validation() {
    let seccomp = "/spec/securityContext/seccompProfile";
    let app_armor = "/spec/containers/0/securityContext/appArmorProfile";
    check_create_table(vec![
        ("runtime default", pod_with(seccomp, json!({"type": "RuntimeDefault"})), vec![]),
        (
            "localhost",
            pod_with(seccomp, json!({"type": "Localhost", "localhostProfile": "profiles/audit.json"})),
            vec![],
        ),
        ("no type", pod_with(seccomp, json!({})), vec![("spec.securityContext.seccompProfile.type", Required)]),
        (
            "unknown type",
            pod_with(seccomp, json!({"type": "Custom"})),
            vec![("spec.securityContext.seccompProfile.type", NotSupported)],
        ),
        (
            "localhost without profile",
            pod_with(seccomp, json!({"type": "Localhost"})),
            vec![("spec.securityContext.seccompProfile.localhostProfile", Required)],
        ),
        (
            "absolute localhost profile",
            pod_with(seccomp, json!({"type": "Localhost", "localhostProfile": "/etc/seccomp.json"})),
            vec![("spec.securityContext.seccompProfile.localhostProfile", Invalid)],
        ),
        (
            "backstepping localhost profile",
            pod_with(seccomp, json!({"type": "Localhost", "localhostProfile": "../seccomp.json"})),
            vec![("spec.securityContext.seccompProfile.localhostProfile", Invalid)],
        ),
        (
            "profile without Localhost",
            pod_with(seccomp, json!({"type": "RuntimeDefault", "localhostProfile": "p.json"})),
            vec![("spec.securityContext.seccompProfile.localhostProfile", Invalid)],
        ),
        ("app armor unconfined", pod_with(app_armor, json!({"type": "Unconfined"})), vec![]),
        (
            "app armor localhost",
            pod_with(app_armor, json!({"type": "Localhost", "localhostProfile": "foo-bar"})),
            vec![],
        ),
        (
            "app armor padded",
            pod_with(app_armor, json!({"type": "Localhost", "localhostProfile": "   foo-bar "})),
            vec![("spec.containers[0].securityContext.appArmorProfile.localhostProfile", Invalid)],
        ),
        (
            "app armor empty localhost",
            pod_with(app_armor, json!({"type": "Localhost", "localhostProfile": ""})),
            vec![("spec.containers[0].securityContext.appArmorProfile.localhostProfile", Required)],
        ),
        (
            "app armor profile with runtime default",
            pod_with(app_armor, json!({"type": "RuntimeDefault", "localhostProfile": "foo"})),
            vec![("spec.containers[0].securityContext.appArmorProfile.localhostProfile", Invalid)],
        ),
        (
            "app armor unknown type",
            pod_with(app_armor, json!({"type": "foo"})),
            vec![("spec.containers[0].securityContext.appArmorProfile.type", NotSupported)],
        ),
        (
            "app armor no type",
            pod_with(app_armor, json!({})),
            vec![("spec.containers[0].securityContext.appArmorProfile.type", Required)],
        ),
    ]);
}

#[test]
fn tolerations_follow_validate_tolerations() {
    let t = |toleration: Value| pod_with("/spec/tolerations", json!([toleration]));
    let path = "spec.tolerations[0]";
    let operator = format!("{path}.operator");
    let effect = format!("{path}.effect");
    let key = format!("{path}.key");
    check_create_table(vec![
        ("equal", t(json!({"key": "foo", "operator": "Equal", "value": "bar", "effect": "NoSchedule"})), vec![]),
        ("empty operator means Equal", t(json!({"key": "foo", "value": "bar"})), vec![]),
        ("exists with any key", t(json!({"operator": "Exists"})), vec![]),
        (
            "exists with tolerationSeconds",
            t(json!({"key": "foo", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60})),
            vec![],
        ),
        (
            "invalid key",
            t(json!({"key": "nospecialchars^=@", "operator": "Equal", "value": "bar"})),
            vec![(key.as_str(), Invalid)],
        ),
        ("empty key with Equal", t(json!({"operator": "Equal", "value": "bar"})), vec![(operator.as_str(), Invalid)]),
        (
            "exists with a value",
            t(json!({"key": "foo", "operator": "Exists", "value": "bar"})),
            vec![(operator.as_str(), Invalid)],
        ),
        (
            "unknown operator",
            t(json!({"key": "foo", "operator": "In", "value": "bar"})),
            vec![(operator.as_str(), NotSupported)],
        ),
        (
            "invalid value",
            t(json!({"key": "foo", "operator": "Equal", "value": "-bar"})),
            vec![(operator.as_str(), Invalid)],
        ),
        (
            "tolerationSeconds without NoExecute",
            t(json!({"key": "foo", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 20})),
            vec![(effect.as_str(), Invalid)],
        ),
        (
            "unknown effect",
            t(json!({"key": "foo", "operator": "Exists", "effect": "Sometimes"})),
            vec![(effect.as_str(), NotSupported)],
        ),
    ]);
}

fn node_affinity(required: Value) -> Value {
    pod_with("/spec/affinity", json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}))
}

fn pod_affinity(kind: &str, affinity: Value) -> Value {
    pod_with("/spec/affinity", json!({kind: affinity}))
}

#[test]
fn affinity_follows_validate_affinity() {
    let required = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms";
    let expression = format!("{required}[0].matchExpressions[0]");
    let term = |expression: Value| json!({"nodeSelectorTerms": [{"matchExpressions": [expression]}]});
    let values = format!("{expression}.values");
    let operator = format!("{expression}.operator");
    let fields = format!("{required}[0].matchFields[0]");
    let anti = "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]";
    let preferred = "spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]";
    let pod_term =
        json!({"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone", "namespaces": ["ns"]});
    check_create_table(vec![
        (
            "node affinity In",
            node_affinity(term(json!({"key": "key2", "operator": "In", "values": ["value1", "value2"]}))),
            vec![],
        ),
        ("node affinity Gt", node_affinity(term(json!({"key": "key2", "operator": "Gt", "values": ["3"]}))), vec![]),
        ("no terms", node_affinity(json!({"nodeSelectorTerms": []})), vec![(required, Required)]),
        (
            "In without values",
            node_affinity(term(json!({"key": "key1", "operator": "In"}))),
            vec![(values.as_str(), Required)],
        ),
        (
            "Exists with values",
            node_affinity(term(json!({"key": "key1", "operator": "Exists", "values": ["a"]}))),
            vec![(values.as_str(), Forbidden)],
        ),
        (
            "Gt with two values",
            node_affinity(term(json!({"key": "key1", "operator": "Gt", "values": ["1", "2"]}))),
            vec![(values.as_str(), Required)],
        ),
        (
            "unknown operator",
            node_affinity(term(json!({"key": "key1", "operator": "Like", "values": ["a"]}))),
            vec![(operator.as_str(), Invalid)],
        ),
        (
            "invalid key",
            node_affinity(term(json!({"key": "invalid key ___@#", "operator": "Exists"}))),
            vec![(format!("{expression}.key").leak() as &str, Invalid)],
        ),
        (
            "match fields by name",
            node_affinity(
                json!({"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["host1"]}]}]}),
            ),
            vec![],
        ),
        (
            "match fields by another field",
            node_affinity(
                json!({"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.namespace", "operator": "In", "values": ["ns1"]}]}]}),
            ),
            vec![(format!("{fields}.key").leak() as &str, Invalid)],
        ),
        (
            "match fields with two values",
            node_affinity(
                json!({"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a", "b"]}]}]}),
            ),
            vec![(format!("{fields}.values").leak() as &str, Required)],
        ),
        (
            "preferred node term weight 0",
            pod_with(
                "/spec/affinity",
                json!({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 0, "preference": {"matchExpressions": [{"key": "a", "operator": "Exists"}]}}]}}),
            ),
            vec![("spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight", Invalid)],
        ),
        (
            "pod anti-affinity",
            pod_affinity(
                "podAntiAffinity",
                json!({"requiredDuringSchedulingIgnoredDuringExecution": [pod_term.clone()]}),
            ),
            vec![],
        ),
        (
            "pod affinity preferred weight 10",
            pod_affinity(
                "podAffinity",
                json!({"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 10, "podAffinityTerm": pod_term.clone()}]}),
            ),
            vec![],
        ),
        (
            "pod affinity preferred weight 101",
            pod_affinity(
                "podAffinity",
                json!({"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 101, "podAffinityTerm": pod_term.clone()}]}),
            ),
            vec![(format!("{preferred}.weight").leak() as &str, Invalid)],
        ),
        (
            "pod anti-affinity without topologyKey",
            pod_affinity(
                "podAntiAffinity",
                json!({"requiredDuringSchedulingIgnoredDuringExecution": [with(pod_term.clone(), &[("/topologyKey", json!(""))])]}),
            ),
            vec![
                (format!("{anti}.topologyKey").leak() as &str, Required),
                (format!("{anti}.topologyKey").leak() as &str, Invalid),
                (format!("{anti}.topologyKey").leak() as &str, Invalid),
            ],
        ),
        (
            "pod anti-affinity with a bad namespace",
            pod_affinity(
                "podAntiAffinity",
                json!({"requiredDuringSchedulingIgnoredDuringExecution": [with(pod_term.clone(), &[("/namespaces", json!(["INVALID"]))])]}),
            ),
            vec![(format!("{anti}.namespace").leak() as &str, Invalid)],
        ),
        (
            "matchLabelKeys without labelSelector",
            pod_affinity(
                "podAntiAffinity",
                json!({"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "zone", "matchLabelKeys": ["app"]}]}),
            ),
            vec![(format!("{anti}.matchLabelKeys").leak() as &str, Forbidden)],
        ),
        (
            "a key in both matchLabelKeys and mismatchLabelKeys",
            pod_affinity(
                "podAntiAffinity",
                json!({"requiredDuringSchedulingIgnoredDuringExecution": [with(pod_term, &[("/matchLabelKeys", json!(["tier"])), ("/mismatchLabelKeys", json!(["tier"]))])]}),
            ),
            vec![(format!("{anti}.matchLabelKeys[0]").leak() as &str, Invalid)],
        ),
    ]);
}

#[test]
fn topology_spread_constraints_follow_their_validation() {
    let constraint = json!({"maxSkew": 1, "topologyKey": "k8s.io/zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}});
    let tsc = |changes: &[(&str, Value)]| {
        pod_with("/spec/topologySpreadConstraints", json!([with(constraint.clone(), changes)]))
    };
    let path = "spec.topologySpreadConstraints[0]";
    let at = |field: &str| -> &'static str { format!("{path}.{field}").leak() };
    check_create_table(vec![
        ("valid", tsc(&[]), vec![]),
        ("schedule anyway", tsc(&[("/whenUnsatisfiable", json!("ScheduleAnyway"))]), vec![]),
        ("minDomains with DoNotSchedule", tsc(&[("/minDomains", json!(3))]), vec![]),
        ("policies", tsc(&[("/nodeAffinityPolicy", json!("Honor")), ("/nodeTaintsPolicy", json!("Ignore"))]), vec![]),
        ("matchLabelKeys", tsc(&[("/matchLabelKeys", json!(["pod-template-hash"]))]), vec![]),
        ("maxSkew 0", tsc(&[("/maxSkew", json!(0))]), vec![(at("maxSkew"), Invalid)]),
        ("empty topologyKey", tsc(&[("/topologyKey", json!(""))]), vec![(at("topologyKey"), Required)]),
        ("unknown action", tsc(&[("/whenUnsatisfiable", json!("N/A"))]), vec![(at("whenUnsatisfiable"), NotSupported)]),
        ("minDomains 0", tsc(&[("/minDomains", json!(0))]), vec![(at("minDomains"), Invalid)]),
        (
            "minDomains with ScheduleAnyway",
            tsc(&[("/minDomains", json!(2)), ("/whenUnsatisfiable", json!("ScheduleAnyway"))]),
            vec![(at("minDomains"), Invalid)],
        ),
        (
            "unknown nodeAffinityPolicy",
            tsc(&[("/nodeAffinityPolicy", json!("Sometimes"))]),
            vec![(at("nodeAffinityPolicy"), NotSupported)],
        ),
        (
            "unknown nodeTaintsPolicy",
            tsc(&[("/nodeTaintsPolicy", json!("Sometimes"))]),
            vec![(at("nodeTaintsPolicy"), NotSupported)],
        ),
        (
            "matchLabelKeys repeat the selector",
            tsc(&[("/matchLabelKeys", json!(["app"]))]),
            vec![(at("matchLabelKeys[0]"), Invalid)],
        ),
        (
            "matchLabelKeys without a selector",
            tsc(&[("/matchLabelKeys", json!(["app"])), ("/labelSelector", json!(null))]),
            vec![(at("matchLabelKeys"), Forbidden)],
        ),
        (
            "invalid matchLabelKey",
            tsc(&[("/matchLabelKeys", json!(["/simple"]))]),
            vec![(at("matchLabelKeys[0]"), Invalid)],
        ),
        (
            "repeated pair",
            pod_with(
                "/spec/topologySpreadConstraints",
                json!([constraint.clone(), with(constraint.clone(), &[("/maxSkew", json!(2))])]),
            ),
            vec![(at("{topologyKey, whenUnsatisfiable}"), Duplicate)],
        ),
        (
            "same key with another action",
            pod_with(
                "/spec/topologySpreadConstraints",
                json!([constraint.clone(), with(constraint, &[("/whenUnsatisfiable", json!("ScheduleAnyway"))])]),
            ),
            vec![],
        ),
    ]);
}
