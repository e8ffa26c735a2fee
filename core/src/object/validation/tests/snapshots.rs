//! Full messages of a handful of invalid objects, as a person reads them.

use super::*;

fn messages(value: Value) -> String {
    validate_create(&defaulted(value)).iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

#[test]
fn a_deployment_whose_selector_misses_its_template_reads_like_kubernetes() {
    let value = with(
        valid_deployment(),
        &[
            ("/spec/selector/matchLabels", json!({"app": "api"})),
            ("/spec/template/metadata/labels/tier", json!("front")),
        ],
    );
    insta::assert_snapshot!(messages(value));
}

#[test]
fn a_pod_with_many_mistakes_reads_like_kubernetes() {
    let value = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Web_1", "namespace": "default", "labels": {"app": "-web"}},
        "spec": {"restartPolicy": "Sometimes", "containers": [
            {"name": "app", "image": "", "ports": [{"name": "HTTP", "containerPort": 70000, "protocol": "tcp"}],
             "livenessProbe": {"successThreshold": 3}, "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
            {"name": "app", "image": "busybox"}]}});
    insta::assert_snapshot!(messages(value));
}

#[test]
fn a_service_with_bad_ports_reads_like_kubernetes() {
    let value = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1web", "namespace": "default"},
        "spec": {"type": "NodePort", "ports": [{"name": "a", "port": 80, "nodePort": 80}, {"port": 80, "targetPort": "Http"}]}});
    insta::assert_snapshot!(messages(value));
}

#[test]
fn a_job_and_a_cron_job_with_mistakes_read_like_kubernetes() {
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "default"},
        "spec": {"backoffLimit": -1, "template": {"spec": {"restartPolicy": "Always", "containers": [{"name": "pi", "image": "perl"}]}}}});
    let cron_job = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "default"},
        "spec": {"schedule": "* * *", "concurrencyPolicy": "Sometimes", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}});
    insta::assert_snapshot!(format!("{}\n{}", messages(job), messages(cron_job)));
}

#[test]
fn forbidden_updates_read_like_kubernetes() {
    let pod = defaulted(valid_pod());
    let mut changed = pod.to_value();
    set(&mut changed, "/spec/restartPolicy", json!("Never"));
    let stateful_set =
        defaulted(with(valid_deployment(), &[("/kind", json!("StatefulSet")), ("/spec/strategy", json!(null))]));
    let mut renamed = stateful_set.to_value();
    set(&mut renamed, "/spec/serviceName", json!("other"));
    let errors: Vec<String> = validate_update(&pod, &defaulted(changed))
        .into_iter()
        .chain(validate_update(&stateful_set, &defaulted(renamed)))
        .map(|error| error.to_string())
        .collect();
    insta::assert_snapshot!(errors.join("\n"));
}

#[test]
fn config_storage_and_network_objects_with_mistakes_read_like_kubernetes() {
    let objects = [
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
            "data": {"a*b": "x", "key": "y"}, "binaryData": {"key": "eQ=="}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
            "type": "kubernetes.io/tls", "data": {"..": "eA=="}}),
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "p", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteSometimes"], "resources": {"requests": {"storage": "0"}}}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "default"},
            "spec": {"rules": [{"host": "*.*.example.com", "http": {"paths": [
                {"path": "api", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {"number": 80, "name": "http"}}}},
                {"path": "/x", "pathType": "Regex", "backend": {"service": {"name": "x"}}}]}}]}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "n", "namespace": "default"},
            "spec": {"podSelector": {}, "policyTypes": ["Inbound"], "ingress": [{"ports": [{"port": 80, "endPort": 79}],
                "from": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24"]}}]}]}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "default"}, {"kind": "Robot", "name": "r2"}]}),
    ];
    let text: Vec<String> = objects.into_iter().map(messages).collect();
    insta::assert_snapshot!(text.join("\n"));
}

#[test]
fn pod_scheduling_mistakes_read_like_kubernetes() {
    let value = with(
        valid_pod(),
        &[
            (
                "/spec/tolerations",
                json!([{"key": "a", "operator": "Exists", "value": "b"}, {"operator": "Equal", "tolerationSeconds": 5}]),
            ),
            (
                "/spec/topologySpreadConstraints",
                json!([{"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "Sometimes", "minDomains": 2}]),
            ),
            (
                "/spec/affinity",
                json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 200, "podAffinityTerm": {"topologyKey": "zone"}}]}}),
            ),
            ("/spec/securityContext", json!({"runAsUser": -1, "seccompProfile": {"type": "Localhost"}})),
        ],
    );
    insta::assert_snapshot!(messages(value));
}
