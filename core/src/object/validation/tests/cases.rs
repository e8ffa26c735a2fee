//! Table tests: one valid object per kind, and Kubernetes' error cases as small changes to it,
//! each with the field path and error type Kubernetes reports.

use super::*;
use FieldErrorType::*;

#[test]
fn valid_objects_of_every_validated_kind_have_no_errors() {
    let objects = [
        valid_pod(),
        valid_deployment(),
        valid_service(),
        with(valid_deployment(), &[("/kind", json!("ReplicaSet"))]),
        with(valid_deployment(), &[("/kind", json!("DaemonSet")), ("/spec/replicas", json!(null))]),
        with(valid_deployment(), &[("/kind", json!("StatefulSet")), ("/spec/serviceName", json!("web"))]),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "default"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl"}]}}}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "hello", "namespace": "default"},
            "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}}),
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"maxReplicas": 10, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
        json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc", "namespace": "default"},
            "spec": {"template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}),
    ];
    for object in objects {
        let object = defaulted(object);
        let errors = validate_create(&object);
        assert!(errors.is_empty(), "{} {}: {}", object.kind, object.name(), join_field_errors(&errors));
    }
}

#[test]
fn metadata_errors_follow_object_meta_validation() {
    check_create_table(vec![
        ("no name", with(valid_pod(), &[("/metadata/name", json!(null))]), vec![("metadata.name", Required)]),
        (
            "generateName only",
            with(valid_pod(), &[("/metadata/name", json!(null)), ("/metadata/generateName", json!("web-"))]),
            vec![],
        ),
        (
            "bad generateName",
            with(valid_pod(), &[("/metadata/generateName", json!("Web-"))]),
            vec![("metadata.generateName", Invalid)],
        ),
        ("uppercase name", with(valid_pod(), &[("/metadata/name", json!("Web"))]), vec![("metadata.name", Invalid)]),
        ("dotted pod name is a subdomain", with(valid_pod(), &[("/metadata/name", json!("web.v1"))]), vec![]),
        (
            "dotted service name is not a DNS-1035 label",
            with(valid_service(), &[("/metadata/name", json!("web.v1"))]),
            vec![("metadata.name", Invalid)],
        ),
        (
            "service name starting with a digit",
            with(valid_service(), &[("/metadata/name", json!("1web"))]),
            vec![("metadata.name", Invalid)],
        ),
        (
            "no namespace",
            with(valid_pod(), &[("/metadata/namespace", json!(null))]),
            vec![("metadata.namespace", Required)],
        ),
        (
            "bad namespace",
            with(valid_pod(), &[("/metadata/namespace", json!("Default"))]),
            vec![("metadata.namespace", Invalid)],
        ),
        (
            "bad label key",
            with(valid_pod(), &[("/metadata/labels", json!({"a/b/c": "x"}))]),
            vec![("metadata.labels", Invalid)],
        ),
        (
            "bad label value",
            with(valid_pod(), &[("/metadata/labels", json!({"app": "-x"}))]),
            vec![("metadata.labels", Invalid)],
        ),
        (
            "bad annotation key",
            with(valid_pod(), &[("/metadata/annotations", json!({"-x": "y"}))]),
            vec![("metadata.annotations", Invalid)],
        ),
        (
            "annotations over 256 KiB",
            with(valid_pod(), &[("/metadata/annotations", json!({"a": "x".repeat(256 * 1024)}))]),
            vec![("metadata.annotations", TooLong)],
        ),
    ]);
}

#[test]
fn namespaces_are_cluster_scoped_dns_labels() {
    check_create_table(vec![
        (
            "dotted namespace name",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team.a"}}),
            vec![("metadata.name", Invalid)],
        ),
        (
            "namespace in a namespace",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "namespace": "b"}}),
            vec![("metadata.namespace", Forbidden)],
        ),
    ]);
}

#[test]
fn container_errors_match_validate_containers() {
    // TestValidateContainers error cases.
    let c = "/spec/containers/0";
    check_create_table(vec![
        (
            "zero-length name",
            with(valid_pod(), &[(&format!("{c}/name"), json!(""))]),
            vec![("spec.containers[0].name", Required)],
        ),
        (
            "name > 63 characters",
            with(valid_pod(), &[(&format!("{c}/name"), json!("a".repeat(64)))]),
            vec![("spec.containers[0].name", Invalid)],
        ),
        (
            "name not a DNS label",
            with(valid_pod(), &[(&format!("{c}/name"), json!("a.b.c"))]),
            vec![("spec.containers[0].name", Invalid)],
        ),
        (
            "name not unique",
            with(valid_pod(), &[("/spec/containers/1", json!({"name": "app", "image": "i"}))]),
            vec![("spec.containers[1].name", Duplicate)],
        ),
        (
            "init container name clashes",
            with(valid_pod(), &[("/spec/initContainers", json!([{"name": "app", "image": "i"}]))]),
            vec![("spec.initContainers[0].name", Duplicate)],
        ),
        (
            "zero-length image",
            with(valid_pod(), &[(&format!("{c}/image"), json!(""))]),
            vec![("spec.containers[0].image", Required)],
        ),
        (
            "blank image",
            with(valid_pod(), &[(&format!("{c}/image"), json!("  "))]),
            vec![("spec.containers[0].image", Required)],
        ),
        (
            "invalid image pull policy",
            with(valid_pod(), &[(&format!("{c}/imagePullPolicy"), json!("Sometimes"))]),
            vec![("spec.containers[0].imagePullPolicy", NotSupported)],
        ),
        (
            "invalid termination message policy",
            with(valid_pod(), &[(&format!("{c}/terminationMessagePolicy"), json!("Unknown"))]),
            vec![("spec.containers[0].terminationMessagePolicy", NotSupported)],
        ),
        (
            "restartPolicy on a regular container",
            with(valid_pod(), &[(&format!("{c}/restartPolicy"), json!("Always"))]),
            vec![("spec.containers[0].restartPolicy", Forbidden)],
        ),
        ("no containers", with(valid_pod(), &[("/spec/containers", json!([]))]), vec![("spec.containers", Required)]),
        (
            "env var without name",
            with(valid_pod(), &[(&format!("{c}/env"), json!([{"name": "", "value": "x"}]))]),
            vec![("spec.containers[0].env[0].name", Required)],
        ),
    ]);
}

#[test]
fn port_errors_match_validate_container_ports() {
    // TestValidateContainerPorts error cases.
    let port = "/spec/containers/0/ports/0";
    let p = "spec.containers[0].ports[0]";
    check_create_table(vec![
        (
            "name > 15 characters",
            with(valid_pod(), &[(&format!("{port}/name"), json!("a".repeat(16)))]),
            vec![(&format!("{p}.name") as &str, Invalid)],
        ),
        (
            "name contains invalid characters",
            with(valid_pod(), &[(&format!("{port}/name"), json!("a.b.c"))]),
            vec![(&format!("{p}.name"), Invalid)],
        ),
        (
            "name is a number",
            with(valid_pod(), &[(&format!("{port}/name"), json!("80"))]),
            vec![(&format!("{p}.name"), Invalid)],
        ),
        (
            "name not unique",
            with(valid_pod(), &[("/spec/containers/0/ports/1", json!({"name": "http", "containerPort": 81}))]),
            vec![("spec.containers[0].ports[1].name", Duplicate)],
        ),
        (
            "zero container port",
            with(valid_pod(), &[(&format!("{port}/containerPort"), json!(0))]),
            vec![(&format!("{p}.containerPort"), Required)],
        ),
        (
            "invalid container port",
            with(valid_pod(), &[(&format!("{port}/containerPort"), json!(65536))]),
            vec![(&format!("{p}.containerPort"), Invalid)],
        ),
        (
            "invalid host port",
            with(valid_pod(), &[(&format!("{port}/hostPort"), json!(65536))]),
            vec![(&format!("{p}.hostPort"), Invalid)],
        ),
        (
            "invalid protocol case",
            with(valid_pod(), &[(&format!("{port}/protocol"), json!("tcp"))]),
            vec![(&format!("{p}.protocol"), NotSupported)],
        ),
        (
            "invalid protocol",
            with(valid_pod(), &[(&format!("{port}/protocol"), json!("ICMP"))]),
            vec![(&format!("{p}.protocol"), NotSupported)],
        ),
        (
            "duplicate host port",
            with(
                valid_pod(),
                &[
                    (&format!("{port}/hostPort"), json!(8080)),
                    (
                        "/spec/containers/1",
                        json!({"name": "b", "image": "i", "ports": [{"containerPort": 81, "hostPort": 8080}]}),
                    ),
                ],
            ),
            vec![("spec.containers[1].ports[0].hostPort", Duplicate)],
        ),
    ]);
}

#[test]
fn probe_errors_match_validate_probe() {
    let c = "/spec/containers/0";
    let p = "spec.containers[0]";
    check_create_table(vec![
        (
            "no handler",
            with(valid_pod(), &[(&format!("{c}/livenessProbe"), json!({"periodSeconds": 5}))]),
            vec![(&format!("{p}.livenessProbe") as &str, Required)],
        ),
        (
            "two handlers",
            with(
                valid_pod(),
                &[(&format!("{c}/readinessProbe"), json!({"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}}))],
            ),
            vec![(&format!("{p}.readinessProbe.tcpSocket"), Forbidden)],
        ),
        (
            "exec without command",
            with(valid_pod(), &[(&format!("{c}/readinessProbe"), json!({"exec": {}}))]),
            vec![(&format!("{p}.readinessProbe.exec.command"), Required)],
        ),
        (
            "liveness success threshold 2",
            with(
                valid_pod(),
                &[(&format!("{c}/livenessProbe"), json!({"tcpSocket": {"port": 80}, "successThreshold": 2}))],
            ),
            vec![(&format!("{p}.livenessProbe.successThreshold"), Invalid)],
        ),
        (
            "startup success threshold 2",
            with(
                valid_pod(),
                &[(&format!("{c}/startupProbe"), json!({"tcpSocket": {"port": 80}, "successThreshold": 2}))],
            ),
            vec![(&format!("{p}.startupProbe.successThreshold"), Invalid)],
        ),
        (
            "readiness success threshold 2 is fine",
            with(
                valid_pod(),
                &[(&format!("{c}/readinessProbe"), json!({"tcpSocket": {"port": 80}, "successThreshold": 2}))],
            ),
            vec![],
        ),
        (
            "negative failure threshold",
            with(
                valid_pod(),
                &[(&format!("{c}/readinessProbe"), json!({"tcpSocket": {"port": 80}, "failureThreshold": -1}))],
            ),
            vec![(&format!("{p}.readinessProbe.failureThreshold"), Invalid)],
        ),
        (
            "negative initial delay",
            with(
                valid_pod(),
                &[(&format!("{c}/readinessProbe"), json!({"tcpSocket": {"port": 80}, "initialDelaySeconds": -1}))],
            ),
            vec![(&format!("{p}.readinessProbe.initialDelaySeconds"), Invalid)],
        ),
        (
            "bad http port name",
            with(valid_pod(), &[(&format!("{c}/readinessProbe"), json!({"httpGet": {"port": "Http"}}))]),
            vec![(&format!("{p}.readinessProbe.httpGet.port"), Invalid)],
        ),
        (
            "bad http scheme",
            with(valid_pod(), &[(&format!("{c}/readinessProbe"), json!({"httpGet": {"port": 80, "scheme": "FTP"}}))]),
            vec![(&format!("{p}.readinessProbe.httpGet.scheme"), NotSupported)],
        ),
        (
            "probe on plain init container",
            with(
                valid_pod(),
                &[(
                    "/spec/initContainers",
                    json!([{"name": "init", "image": "i", "readinessProbe": {"tcpSocket": {"port": 80}}}]),
                )],
            ),
            vec![("spec.initContainers[0].readinessProbe", Forbidden)],
        ),
        (
            "probe on sidecar init container",
            with(
                valid_pod(),
                &[(
                    "/spec/initContainers",
                    json!([{"name": "init", "image": "i", "restartPolicy": "Always", "readinessProbe": {"tcpSocket": {"port": 80}}}]),
                )],
            ),
            vec![],
        ),
    ]);
}

#[test]
fn volume_errors_match_validate_volumes() {
    let pod = |volumes: Value, mounts: Value| {
        with(valid_pod(), &[("/spec/volumes", volumes), ("/spec/containers/0/volumeMounts", mounts)])
    };
    check_create_table(vec![
        (
            "valid mount",
            pod(json!([{"name": "data", "emptyDir": {}}]), json!([{"name": "data", "mountPath": "/data"}])),
            vec![],
        ),
        (
            "duplicate volume names",
            pod(json!([{"name": "data", "emptyDir": {}}, {"name": "data", "emptyDir": {}}]), json!([])),
            vec![("spec.volumes[1].name", Duplicate)],
        ),
        (
            "volume name not a label",
            pod(json!([{"name": "Data", "emptyDir": {}}]), json!([])),
            vec![("spec.volumes[0].name", Invalid)],
        ),
        (
            "two sources",
            pod(json!([{"name": "data", "emptyDir": {}, "hostPath": {"path": "/x"}}]), json!([])),
            vec![("spec.volumes[0].emptyDir", Forbidden)],
        ),
        (
            "hostPath without path",
            pod(json!([{"name": "data", "hostPath": {"path": ""}}]), json!([])),
            vec![("spec.volumes[0].hostPath.path", Required)],
        ),
        (
            "claim without name",
            pod(json!([{"name": "data", "persistentVolumeClaim": {"claimName": ""}}]), json!([])),
            vec![("spec.volumes[0].persistentVolumeClaim.claimName", Required)],
        ),
        (
            "mount of unknown volume",
            pod(json!([]), json!([{"name": "missing", "mountPath": "/x"}])),
            vec![("spec.containers[0].volumeMounts[0].name", NotFound)],
        ),
        (
            "mount without path",
            pod(json!([{"name": "data", "emptyDir": {}}]), json!([{"name": "data", "mountPath": ""}])),
            vec![("spec.containers[0].volumeMounts[0].mountPath", Required)],
        ),
        (
            "two mounts on one path",
            pod(
                json!([{"name": "a", "emptyDir": {}}, {"name": "b", "emptyDir": {}}]),
                json!([{"name": "a", "mountPath": "/x"}, {"name": "b", "mountPath": "/x"}]),
            ),
            vec![("spec.containers[0].volumeMounts[1].mountPath", Invalid)],
        ),
    ]);
}

#[test]
fn pod_spec_errors_match_validate_pod_spec() {
    // TestValidatePodSpec error cases.
    check_create_table(vec![
        (
            "bad restart policy",
            with(valid_pod(), &[("/spec/restartPolicy", json!("Sometimes"))]),
            vec![("spec.restartPolicy", NotSupported)],
        ),
        (
            "bad dns policy",
            with(valid_pod(), &[("/spec/dnsPolicy", json!("Unknown"))]),
            vec![("spec.dnsPolicy", NotSupported)],
        ),
        (
            "dns policy None without config",
            with(valid_pod(), &[("/spec/dnsPolicy", json!("None"))]),
            vec![("spec.dnsConfig", Required)],
        ),
        (
            "zero active deadline",
            with(valid_pod(), &[("/spec/activeDeadlineSeconds", json!(0))]),
            vec![("spec.activeDeadlineSeconds", Invalid)],
        ),
        (
            "bad service account name",
            with(valid_pod(), &[("/spec/serviceAccountName", json!("invalid.Name"))]),
            vec![("spec.serviceAccountName", Invalid)],
        ),
        ("bad hostname", with(valid_pod(), &[("/spec/hostname", json!("Bad.Host"))]), vec![("spec.hostname", Invalid)]),
        (
            "bad node selector",
            with(valid_pod(), &[("/spec/nodeSelector", json!({"a/b/c": "x"}))]),
            vec![("spec.nodeSelector", Invalid)],
        ),
    ]);
}

#[test]
fn resource_names_follow_validate_container_resource_name() {
    let resources = "/spec/containers/0/resources";
    check_create_table(vec![
        (
            "standard",
            with(valid_pod(), &[(resources, json!({"limits": {"cpu": "1", "memory": "1Gi", "hugepages-2Mi": "2Mi"}}))]),
            vec![],
        ),
        ("extended", with(valid_pod(), &[(resources, json!({"limits": {"example.com/gpu": "1"}}))]), vec![]),
        // On a Pod the limit is also copied into requests by defaulting, so both maps report it.
        (
            "not a container resource",
            with(valid_pod(), &[(resources, json!({"limits": {"pods": "1"}}))]),
            vec![
                ("spec.containers[0].resources.limits[pods]", Invalid),
                ("spec.containers[0].resources.requests[pods]", Invalid),
            ],
        ),
        (
            "unknown unprefixed",
            with(valid_pod(), &[(resources, json!({"requests": {"disk": "1"}}))]),
            vec![
                ("spec.containers[0].resources.requests[disk]", Invalid),
                ("spec.containers[0].resources.requests[disk]", Invalid),
            ],
        ),
    ]);
}

#[test]
fn deployment_errors_match_validate_deployment() {
    // TestValidateDeployment error cases.
    check_create_table(vec![
        (
            "negative replicas",
            with(valid_deployment(), &[("/spec/replicas", json!(-1))]),
            vec![("spec.replicas", Invalid)],
        ),
        (
            "empty selector",
            with(valid_deployment(), &[("/spec/selector", json!({}))]),
            vec![("spec.selector", Invalid)],
        ),
        (
            "selector does not match",
            with(valid_deployment(), &[("/spec/selector/matchLabels/app", json!("other"))]),
            vec![("spec.template.metadata.labels", Invalid)],
        ),
        (
            "match expression selects",
            with(
                valid_deployment(),
                &[(
                    "/spec/selector",
                    json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}),
                )],
            ),
            vec![],
        ),
        (
            "bad operator",
            with(
                valid_deployment(),
                &[(
                    "/spec/selector",
                    json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "app", "operator": "Near"}]}),
                )],
            ),
            vec![("spec.selector.matchExpressions[0].operator", Invalid), ("spec.selector", Invalid)],
        ),
        (
            "In without values",
            with(
                valid_deployment(),
                &[(
                    "/spec/selector",
                    json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In"}]}),
                )],
            ),
            vec![("spec.selector.matchExpressions[0].values", Required), ("spec.selector", Invalid)],
        ),
        (
            "restart policy Never",
            with(valid_deployment(), &[("/spec/template/spec/restartPolicy", json!("Never"))]),
            vec![("spec.template.spec.restartPolicy", NotSupported)],
        ),
        (
            "active deadline",
            with(valid_deployment(), &[("/spec/template/spec/activeDeadlineSeconds", json!(30))]),
            vec![("spec.template.spec.activeDeadlineSeconds", Forbidden)],
        ),
        (
            "bad strategy type",
            with(valid_deployment(), &[("/spec/strategy", json!({"type": "Blue"}))]),
            vec![("spec.strategy", NotSupported)],
        ),
        (
            "recreate with rolling update",
            with(
                valid_deployment(),
                &[("/spec/strategy", json!({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}))],
            ),
            vec![("spec.strategy.rollingUpdate", Forbidden)],
        ),
        (
            "surge and unavailable both zero",
            with(
                valid_deployment(),
                &[(
                    "/spec/strategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}),
                )],
            ),
            vec![("spec.strategy.rollingUpdate.maxUnavailable", Invalid)],
        ),
        (
            "bad percent",
            with(
                valid_deployment(),
                &[("/spec/strategy", json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "20Percent"}}))],
            ),
            vec![("spec.strategy.rollingUpdate.maxSurge", Invalid)],
        ),
        (
            "unavailable over 100%",
            with(
                valid_deployment(),
                &[("/spec/strategy", json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "110%"}}))],
            ),
            vec![("spec.strategy.rollingUpdate.maxUnavailable", Invalid)],
        ),
        (
            "negative revision history",
            with(valid_deployment(), &[("/spec/revisionHistoryLimit", json!(-2))]),
            vec![("spec.revisionHistoryLimit", Invalid)],
        ),
        (
            "deadline not above minReadySeconds",
            with(
                valid_deployment(),
                &[("/spec/minReadySeconds", json!(30)), ("/spec/progressDeadlineSeconds", json!(30))],
            ),
            vec![("spec.progressDeadlineSeconds", Invalid)],
        ),
        (
            "template without image",
            with(valid_deployment(), &[("/spec/template/spec/containers/0/image", json!(""))]),
            vec![("spec.template.spec.containers[0].image", Required)],
        ),
        (
            "bad template label",
            with(valid_deployment(), &[("/spec/template/metadata/labels/bad key", json!("x"))]),
            vec![("spec.template.labels", Invalid)],
        ),
    ]);
}

fn kind(base: Value, kind: &str) -> Value {
    with(base, &[("/kind", json!(kind)), ("/spec/strategy", json!(null))])
}

#[test]
fn replica_set_stateful_set_and_daemon_set_errors_match_apps_validation() {
    check_create_table(vec![
        (
            "replica set empty selector",
            with(kind(valid_deployment(), "ReplicaSet"), &[("/spec/selector", json!({}))]),
            vec![("spec.selector", Invalid)],
        ),
        (
            "replica set selector mismatch",
            with(kind(valid_deployment(), "ReplicaSet"), &[("/spec/selector/matchLabels/app", json!("x"))]),
            vec![("spec.template.metadata.labels", Invalid)],
        ),
        (
            "stateful set bad pod management",
            with(kind(valid_deployment(), "StatefulSet"), &[("/spec/podManagementPolicy", json!("Random"))]),
            vec![("spec.podManagementPolicy", Invalid)],
        ),
        (
            "stateful set bad update strategy",
            with(kind(valid_deployment(), "StatefulSet"), &[("/spec/updateStrategy", json!({"type": "Sideways"}))]),
            vec![("spec.updateStrategy", Invalid)],
        ),
        (
            "stateful set OnDelete with rolling update",
            with(
                kind(valid_deployment(), "StatefulSet"),
                &[("/spec/updateStrategy", json!({"type": "OnDelete", "rollingUpdate": {"partition": 1}}))],
            ),
            vec![("spec.updateStrategy.rollingUpdate", Invalid)],
        ),
        (
            "stateful set negative partition",
            with(
                kind(valid_deployment(), "StatefulSet"),
                &[("/spec/updateStrategy", json!({"type": "RollingUpdate", "rollingUpdate": {"partition": -1}}))],
            ),
            vec![("spec.updateStrategy.rollingUpdate.partition", Invalid)],
        ),
        (
            "stateful set bad retention",
            with(
                kind(valid_deployment(), "StatefulSet"),
                &[("/spec/persistentVolumeClaimRetentionPolicy", json!({"whenDeleted": "Keep"}))],
            ),
            vec![("spec.persistentVolumeClaimRetentionPolicy.whenDeleted", NotSupported)],
        ),
        (
            "stateful set restart Never",
            with(kind(valid_deployment(), "StatefulSet"), &[("/spec/template/spec/restartPolicy", json!("Never"))]),
            vec![("spec.template.spec.restartPolicy", NotSupported)],
        ),
        (
            "stateful set mounts its claim template",
            with(
                kind(valid_deployment(), "StatefulSet"),
                &[
                    (
                        "/spec/volumeClaimTemplates",
                        json!([{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]),
                    ),
                    ("/spec/template/spec/containers/0/volumeMounts", json!([{"name": "data", "mountPath": "/data"}])),
                ],
            ),
            vec![],
        ),
        (
            "daemon set selector mismatch",
            with(kind(valid_deployment(), "DaemonSet"), &[("/spec/selector/matchLabels/app", json!("x"))]),
            vec![("spec.template.metadata.labels", Invalid)],
        ),
        (
            "daemon set surge and unavailable",
            with(
                kind(valid_deployment(), "DaemonSet"),
                &[(
                    "/spec/updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}),
                )],
            ),
            vec![("spec.updateStrategy.rollingUpdate.maxSurge", Invalid)],
        ),
        (
            "daemon set neither",
            with(
                kind(valid_deployment(), "DaemonSet"),
                &[(
                    "/spec/updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}),
                )],
            ),
            vec![("spec.updateStrategy.rollingUpdate.maxUnavailable", Required)],
        ),
        (
            "daemon set bad strategy",
            with(kind(valid_deployment(), "DaemonSet"), &[("/spec/updateStrategy", json!({"type": "Sometimes"}))]),
            vec![("spec.updateStrategy", NotSupported)],
        ),
        (
            "daemon set active deadline",
            with(kind(valid_deployment(), "DaemonSet"), &[("/spec/template/spec/activeDeadlineSeconds", json!(5))]),
            vec![("spec.template.spec.activeDeadlineSeconds", Invalid)],
        ),
    ]);
}

#[test]
fn service_errors_match_validate_service() {
    // TestValidateServiceCreate error cases.
    check_create_table(vec![
        ("no ports", with(valid_service(), &[("/spec/ports", json!([]))]), vec![("spec.ports", Required)]),
        (
            "headless without ports",
            with(valid_service(), &[("/spec/ports", json!([])), ("/spec/clusterIP", json!("None"))]),
            vec![],
        ),
        ("bad type", with(valid_service(), &[("/spec/type", json!("Internal"))]), vec![("spec.type", NotSupported)]),
        (
            "bad session affinity",
            with(valid_service(), &[("/spec/sessionAffinity", json!("Sticky"))]),
            vec![("spec.sessionAffinity", NotSupported)],
        ),
        (
            "missing port name with two ports",
            with(valid_service(), &[("/spec/ports/1", json!({"name": "b", "port": 81}))]),
            vec![("spec.ports[0].name", Required)],
        ),
        (
            "duplicate port names",
            with(valid_service(), &[("/spec/ports", json!([{"name": "a", "port": 80}, {"name": "a", "port": 81}]))]),
            vec![("spec.ports[1].name", Duplicate)],
        ),
        (
            "bad port name",
            with(valid_service(), &[("/spec/ports/0/name", json!("Web"))]),
            vec![("spec.ports[0].name", Invalid)],
        ),
        (
            "port 0",
            with(valid_service(), &[("/spec/ports/0/port", json!(0)), ("/spec/ports/0/targetPort", json!(80))]),
            vec![("spec.ports[0].port", Invalid)],
        ),
        (
            "port 65536",
            with(valid_service(), &[("/spec/ports/0/port", json!(65536))]),
            vec![("spec.ports[0].port", Invalid), ("spec.ports[0].targetPort", Invalid)],
        ),
        (
            "bad protocol",
            with(valid_service(), &[("/spec/ports/0/protocol", json!("HTTP"))]),
            vec![("spec.ports[0].protocol", NotSupported)],
        ),
        (
            "bad target port name",
            with(valid_service(), &[("/spec/ports/0/targetPort", json!("Http"))]),
            vec![("spec.ports[0].targetPort", Invalid)],
        ),
        (
            "duplicate port",
            with(valid_service(), &[("/spec/ports", json!([{"name": "a", "port": 80}, {"name": "b", "port": 80}]))]),
            vec![("spec.ports[1]", Duplicate)],
        ),
        (
            "same port other protocol",
            with(
                valid_service(),
                &[("/spec/ports", json!([{"name": "a", "port": 53}, {"name": "b", "port": 53, "protocol": "UDP"}]))],
            ),
            vec![],
        ),
        (
            "nodePort on ClusterIP",
            with(valid_service(), &[("/spec/ports/0/nodePort", json!(30080))]),
            vec![("spec.ports[0].nodePort", Forbidden)],
        ),
        (
            "nodePort out of range",
            with(valid_service(), &[("/spec/type", json!("NodePort")), ("/spec/ports/0/nodePort", json!(80))]),
            vec![("spec.ports[0].nodePort", Invalid)],
        ),
        (
            "nodePort in range",
            with(valid_service(), &[("/spec/type", json!("NodePort")), ("/spec/ports/0/nodePort", json!(30080))]),
            vec![],
        ),
        (
            "headless NodePort",
            with(valid_service(), &[("/spec/type", json!("NodePort")), ("/spec/clusterIP", json!("None"))]),
            vec![("spec.clusterIP", Invalid)],
        ),
        (
            "bad clusterIP",
            with(valid_service(), &[("/spec/clusterIP", json!("10.0.0.300"))]),
            vec![("spec.clusterIP", Invalid)],
        ),
        (
            "ExternalName without name",
            with(valid_service(), &[("/spec/type", json!("ExternalName")), ("/spec/ports", json!([]))]),
            vec![("spec.externalName", Required)],
        ),
        (
            "ExternalName with trailing dot",
            with(
                valid_service(),
                &[("/spec/type", json!("ExternalName")), ("/spec/externalName", json!("example.com."))],
            ),
            vec![],
        ),
        (
            "bad selector",
            with(valid_service(), &[("/spec/selector", json!({"app": "-x"}))]),
            vec![("spec.selector", Invalid)],
        ),
    ]);
}

fn valid_job() -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "default"},
        "spec": {"template": {"metadata": {"labels": {"app": "pi"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl"}]}}}})
}

fn valid_cron_job() -> Value {
    json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "hello", "namespace": "default"},
        "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}})
}

#[test]
fn job_and_cron_job_errors_match_batch_validation() {
    check_create_table(vec![
        (
            "negative parallelism",
            with(valid_job(), &[("/spec/parallelism", json!(-1))]),
            vec![("spec.parallelism", Invalid)],
        ),
        (
            "negative completions",
            with(valid_job(), &[("/spec/completions", json!(-1))]),
            vec![("spec.completions", Invalid)],
        ),
        (
            "negative backoff limit",
            with(valid_job(), &[("/spec/backoffLimit", json!(-1))]),
            vec![("spec.backoffLimit", Invalid)],
        ),
        (
            "restart Always",
            with(valid_job(), &[("/spec/template/spec/restartPolicy", json!("Always"))]),
            vec![("spec.template.spec.restartPolicy", NotSupported)],
        ),
        (
            "indexed without completions",
            with(valid_job(), &[("/spec/completionMode", json!("Indexed")), ("/spec/parallelism", json!(2))]),
            vec![("spec.completions", Required)],
        ),
        (
            "bad completion mode",
            with(valid_job(), &[("/spec/completionMode", json!("Sometimes"))]),
            vec![("spec.completionMode", NotSupported)],
        ),
        (
            "manual selector missing",
            with(valid_job(), &[("/spec/manualSelector", json!(true))]),
            vec![("spec.selector", Required)],
        ),
        (
            "manual selector mismatch",
            with(
                valid_job(),
                &[("/spec/manualSelector", json!(true)), ("/spec/selector", json!({"matchLabels": {"app": "x"}}))],
            ),
            vec![("spec.template.metadata.labels", Invalid)],
        ),
        ("empty schedule", with(valid_cron_job(), &[("/spec/schedule", json!(""))]), vec![("spec.schedule", Required)]),
        (
            "four-field schedule",
            with(valid_cron_job(), &[("/spec/schedule", json!("* * * *"))]),
            vec![("spec.schedule", Invalid)],
        ),
        (
            "time zone in schedule",
            with(valid_cron_job(), &[("/spec/schedule", json!("TZ=UTC 0 * * * *"))]),
            vec![("spec.schedule", Invalid)],
        ),
        ("descriptor schedule", with(valid_cron_job(), &[("/spec/schedule", json!("@hourly"))]), vec![]),
        // validateScheduleFormat runs robfig's ParseStandard: `@every` parses, minute 61 does not.
        ("every schedule", with(valid_cron_job(), &[("/spec/schedule", json!("@every 1h"))]), vec![]),
        (
            "minute out of range",
            with(valid_cron_job(), &[("/spec/schedule", json!("61 * * * *"))]),
            vec![("spec.schedule", Invalid)],
        ),
        (
            "bad every duration",
            with(valid_cron_job(), &[("/spec/schedule", json!("@every 1x"))]),
            vec![("spec.schedule", Invalid)],
        ),
        (
            "bad concurrency policy",
            with(valid_cron_job(), &[("/spec/concurrencyPolicy", json!("Sometimes"))]),
            vec![("spec.concurrencyPolicy", NotSupported)],
        ),
        (
            "negative history",
            with(valid_cron_job(), &[("/spec/failedJobsHistoryLimit", json!(-1))]),
            vec![("spec.failedJobsHistoryLimit", Invalid)],
        ),
        (
            "job template selector",
            with(valid_cron_job(), &[("/spec/jobTemplate/spec/selector", json!({"matchLabels": {"a": "b"}}))]),
            vec![("spec.jobTemplate.spec.selector", Invalid)],
        ),
        (
            "job template restart Always",
            with(valid_cron_job(), &[("/spec/jobTemplate/spec/template/spec/restartPolicy", json!("Always"))]),
            vec![("spec.jobTemplate.spec.template.spec.restartPolicy", NotSupported)],
        ),
        (
            "name over 52 characters",
            with(valid_cron_job(), &[("/metadata/name", json!("a".repeat(53)))]),
            vec![("metadata.name", Invalid)],
        ),
    ]);
}

fn valid_autoscaler() -> Value {
    json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"minReplicas": 2, "maxReplicas": 5, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}})
}

fn valid_budget() -> Value {
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
}

#[test]
fn autoscaler_and_budget_errors_match_their_validation() {
    check_create_table(vec![
        (
            "min replicas 0",
            with(valid_autoscaler(), &[("/spec/minReplicas", json!(0))]),
            vec![("spec.minReplicas", Invalid)],
        ),
        (
            "max below min",
            with(valid_autoscaler(), &[("/spec/maxReplicas", json!(1))]),
            vec![("spec.maxReplicas", Invalid)],
        ),
        (
            "max 0",
            with(valid_autoscaler(), &[("/spec/minReplicas", json!(null)), ("/spec/maxReplicas", json!(0))]),
            vec![("spec.maxReplicas", Invalid), ("spec.maxReplicas", Invalid)],
        ),
        (
            "no target kind",
            with(valid_autoscaler(), &[("/spec/scaleTargetRef/kind", json!(""))]),
            vec![("spec.scaleTargetRef.kind", Required)],
        ),
        (
            "zero utilization",
            with(
                valid_autoscaler(),
                &[(
                    "/spec/metrics",
                    json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 0}}}]),
                )],
            ),
            vec![("spec.metrics[0].resource.target.averageUtilization", Invalid)],
        ),
        (
            "metric type without source",
            with(valid_autoscaler(), &[("/spec/metrics", json!([{"type": "Pods"}]))]),
            vec![("spec.metrics[0].pods", Required)],
        ),
        (
            "bad policy value",
            with(
                valid_autoscaler(),
                &[(
                    "/spec/behavior",
                    json!({"scaleUp": {"policies": [{"type": "Pods", "value": 0, "periodSeconds": 15}]}}),
                )],
            ),
            vec![("spec.behavior.scaleUp.policies[0].value", Invalid)],
        ),
        ("both budget fields", with(valid_budget(), &[("/spec/minAvailable", json!(1))]), vec![("spec", Invalid)]),
        (
            "negative budget",
            with(valid_budget(), &[("/spec/maxUnavailable", json!(-1))]),
            vec![("spec.maxUnavailable", Invalid)],
        ),
        (
            "budget over 100%",
            with(valid_budget(), &[("/spec/maxUnavailable", json!("120%"))]),
            vec![("spec.maxUnavailable", Invalid)],
        ),
    ]);
}

/// Runs `validate_update` from `old` to `old` changed by `changes`.
fn update_errors(old: Value, changes: &[(&str, Value)]) -> Vec<(String, FieldErrorType)> {
    let old_object = defaulted(old.clone());
    let new_object = defaulted(with(old_object.to_value(), changes));
    found(&validate_update(&old_object, &new_object))
}

#[test]
fn identity_fields_may_not_change() {
    let old = with(valid_pod(), &[("/metadata/uid", json!("1"))]);
    assert_eq!(
        update_errors(old.clone(), &[("/metadata/name", json!("other"))]),
        vec![("metadata.name".to_string(), Invalid)]
    );
    assert_eq!(
        update_errors(old.clone(), &[("/metadata/namespace", json!("other"))]),
        vec![("metadata.namespace".to_string(), Invalid)]
    );
    assert_eq!(
        update_errors(old.clone(), &[("/metadata/uid", json!("2"))]),
        vec![("metadata.uid".to_string(), Invalid)]
    );
    assert_eq!(update_errors(old, &[("/metadata/labels", json!({"new": "label"}))]), vec![]);
}

#[test]
fn pod_updates_follow_validate_pod_update() {
    // TestValidatePodUpdate cases.
    let spec_forbidden = vec![("spec".to_string(), Forbidden)];
    let old = with(
        valid_pod(),
        &[
            ("/spec/activeDeadlineSeconds", json!(60)),
            (
                "/spec/tolerations",
                json!([{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}]),
            ),
        ],
    );
    assert_eq!(update_errors(old.clone(), &[("/spec/containers/0/image", json!("nginx:1.26"))]), vec![]);
    assert_eq!(update_errors(old.clone(), &[("/spec/activeDeadlineSeconds", json!(30))]), vec![]);
    assert_eq!(
        update_errors(old.clone(), &[("/spec/activeDeadlineSeconds", json!(90))]),
        vec![("spec.activeDeadlineSeconds".to_string(), Invalid)]
    );
    assert_eq!(
        update_errors(old.clone(), &[("/spec/activeDeadlineSeconds", json!(null))]),
        vec![("spec.activeDeadlineSeconds".to_string(), Invalid)]
    );
    assert_eq!(update_errors(old.clone(), &[("/spec/tolerations/0/tolerationSeconds", json!(10))]), vec![]);
    assert_eq!(
        update_errors(old.clone(), &[("/spec/tolerations/1", json!({"key": "other", "operator": "Exists"}))]),
        vec![]
    );
    assert_eq!(
        update_errors(old.clone(), &[("/spec/tolerations", json!([]))]),
        vec![("spec.tolerations".to_string(), Forbidden)]
    );
    assert_eq!(update_errors(old.clone(), &[("/spec/containers/0/ports/0/containerPort", json!(81))]), spec_forbidden);
    assert_eq!(update_errors(old.clone(), &[("/spec/terminationGracePeriodSeconds", json!(10))]), spec_forbidden);
    assert_eq!(
        update_errors(old, &[("/spec/containers/1", json!({"name": "b", "image": "i"}))]),
        vec![("spec.containers".to_string(), Forbidden)]
    );
}

#[test]
fn workload_selectors_are_immutable() {
    let change =
        [("/spec/selector/matchLabels/tier", json!("front")), ("/spec/template/metadata/labels/tier", json!("front"))];
    let immutable_selector = vec![("spec.selector".to_string(), Invalid)];
    assert_eq!(update_errors(valid_deployment(), &change), immutable_selector);
    assert_eq!(update_errors(kind(valid_deployment(), "ReplicaSet"), &change), immutable_selector);
    assert_eq!(update_errors(kind(valid_deployment(), "DaemonSet"), &change), immutable_selector);
    assert_eq!(
        update_errors(
            valid_deployment(),
            &[("/spec/replicas", json!(5)), ("/spec/template/spec/containers/0/image", json!("nginx:2"))]
        ),
        vec![]
    );
}

#[test]
fn stateful_set_updates_are_limited_to_kubernetes_list() {
    let stateful_set = kind(valid_deployment(), "StatefulSet");
    assert_eq!(
        update_errors(
            stateful_set.clone(),
            &[
                ("/spec/replicas", json!(3)),
                ("/spec/template/spec/containers/0/image", json!("x")),
                ("/spec/minReadySeconds", json!(5)),
                ("/spec/updateStrategy", json!({"type": "OnDelete"}))
            ]
        ),
        vec![]
    );
    assert_eq!(
        update_errors(stateful_set.clone(), &[("/spec/serviceName", json!("other"))]),
        vec![("spec".to_string(), Forbidden)]
    );
    assert_eq!(
        update_errors(stateful_set, &[("/spec/podManagementPolicy", json!("Parallel"))]),
        vec![("spec".to_string(), Forbidden)]
    );
}

#[test]
fn job_updates_follow_validate_job_update() {
    let job = with(
        valid_job(),
        &[("/spec/manualSelector", json!(true)), ("/spec/selector", json!({"matchLabels": {"app": "pi"}}))],
    );
    assert_eq!(
        update_errors(job.clone(), &[("/spec/template/spec/containers/0/image", json!("perl:2"))]),
        vec![("spec.template".to_string(), Invalid)]
    );
    assert_eq!(
        update_errors(job.clone(), &[("/spec/completions", json!(3))]),
        vec![("spec.completions".to_string(), Invalid)]
    );
    assert_eq!(
        update_errors(
            job.clone(),
            &[("/spec/selector/matchLabels/x", json!("y")), ("/spec/template/metadata/labels/x", json!("y"))]
        ),
        vec![("spec.selector".to_string(), Invalid), ("spec.template".to_string(), Invalid)]
    );
    assert_eq!(update_errors(job.clone(), &[("/spec/parallelism", json!(4)), ("/spec/suspend", json!(true))]), vec![]);
    let suspended = with(job, &[("/spec/suspend", json!(true))]);
    assert_eq!(update_errors(suspended, &[("/spec/template/spec/nodeSelector", json!({"zone": "a"}))]), vec![]);
    let indexed = with(
        valid_job(),
        &[("/spec/completionMode", json!("Indexed")), ("/spec/completions", json!(2)), ("/spec/parallelism", json!(2))],
    );
    assert_eq!(
        update_errors(indexed.clone(), &[("/spec/completions", json!(4)), ("/spec/parallelism", json!(4))]),
        vec![]
    );
    assert_eq!(
        update_errors(indexed, &[("/spec/completions", json!(4))]),
        vec![("spec.completions".to_string(), Invalid)]
    );
}

#[test]
fn service_cluster_ip_may_not_change_once_set() {
    let service = with(valid_service(), &[("/spec/clusterIP", json!("10.96.0.10"))]);
    assert_eq!(
        update_errors(service.clone(), &[("/spec/clusterIP", json!("10.96.0.11"))]),
        vec![("spec.clusterIPs[0]".to_string(), Invalid)]
    );
    assert_eq!(update_errors(service.clone(), &[("/spec/clusterIP", json!(""))]), vec![]);
    assert_eq!(
        update_errors(
            service,
            &[
                ("/spec/type", json!("ExternalName")),
                ("/spec/externalName", json!("example.com")),
                ("/spec/clusterIP", json!(""))
            ]
        ),
        vec![]
    );
}

#[test]
fn requests_may_not_exceed_limits() {
    // TestValidateResourceRequirements / TestValidateContainers resource cases.
    let resources = "/spec/containers/0/resources";
    let requests = "spec.containers[0].resources.requests";
    check_create_table(vec![
        (
            "request below limit",
            with(
                valid_pod(),
                &[(
                    resources,
                    json!({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1024Mi"}}),
                )],
            ),
            vec![],
        ),
        (
            "cpu request above limit",
            with(valid_pod(), &[(resources, json!({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}))]),
            vec![(requests, Invalid)],
        ),
        (
            "memory request above limit",
            with(valid_pod(), &[(resources, json!({"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}))]),
            vec![(requests, Invalid)],
        ),
        (
            "negative request",
            with(valid_pod(), &[(resources, json!({"requests": {"cpu": "-1"}}))]),
            vec![("spec.containers[0].resources.requests[cpu]", Invalid)],
        ),
        (
            "fractional extended resource",
            with(valid_pod(), &[(resources, json!({"limits": {"example.com/gpu": "500m"}}))]),
            vec![
                ("spec.containers[0].resources.limits[example.com/gpu]", Invalid),
                ("spec.containers[0].resources.requests[example.com/gpu]", Invalid),
            ],
        ),
        (
            "extended request below limit",
            with(
                valid_pod(),
                &[(resources, json!({"requests": {"example.com/gpu": "1"}, "limits": {"example.com/gpu": "2"}}))],
            ),
            vec![(requests, Invalid)],
        ),
        (
            "extended request without limit",
            with(valid_pod(), &[(resources, json!({"requests": {"example.com/gpu": "1"}}))]),
            vec![("spec.containers[0].resources.limits", Required)],
        ),
        (
            "template request above limit",
            with(
                valid_deployment(),
                &[(
                    "/spec/template/spec/containers/0/resources",
                    json!({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}),
                )],
            ),
            vec![("spec.template.spec.containers[0].resources.requests", Invalid)],
        ),
    ]);
}

#[test]
fn request_above_limit_reads_like_kubernetes() {
    let value = with(
        valid_pod(),
        &[("/spec/containers/0/resources", json!({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}))],
    );
    let errors = validate_create(&defaulted(value));
    assert_eq!(
        join_field_errors(&errors),
        "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1"
    );
}
