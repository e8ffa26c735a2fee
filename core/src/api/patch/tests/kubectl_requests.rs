//! The PATCH requests kubectl sends (kubectl-compat.md), applied through `apply_patch` to the
//! kinds they target, and the merge keys of the Kubernetes schema table.

use serde_json::{Value, json};

use crate::api::patch::{apply_patch, apply_strategic_merge_patch};

const STRATEGIC: &str = "application/strategic-merge-patch+json";
const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [
                    {"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                    {"name": "sidecar", "image": "busybox", "args": ["sleep", "3600"]}
                ]}
            }
        }
    })
}

fn node() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
        "spec": {"taints": [{"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "NoExecute"}]}
    })
}

fn patch(original: &Value, body: &str, content_type: &str, kind: &str) -> Value {
    apply_patch(original, body.as_bytes(), content_type, kind).expect("the patch applies")
}

#[test]
fn client_side_apply_with_set_element_order_changes_only_the_image() {
    let body = r#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"},{"name":"sidecar"}],"containers":[{"image":"nginx:1.26","name":"nginx"}]}}}}"#;
    let result = patch(&deployment(), body, STRATEGIC, "Deployment");
    let mut expected = deployment();
    expected["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.26");
    assert_eq!(result, expected);
}

#[test]
fn client_side_apply_dropping_a_container_keeps_only_the_listed_order() {
    // kubectl-compat.md's exact body: the order names nginx alone; the sidecar was not in the
    // last-applied configuration, so kubectl leaves it to the server, which keeps it after nginx.
    let body = r#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"}],"containers":[{"image":"nginx:1.26","name":"nginx"}]}}}}"#;
    let result = patch(&deployment(), body, STRATEGIC, "Deployment");
    let containers = &result["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["image"], "nginx:1.26");
    assert_eq!(containers[1]["name"], "sidecar");
    assert_eq!(containers.as_array().map(Vec::len), Some(2));
}

#[test]
fn set_image_merges_containers_by_name() {
    let body = r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}"#;
    let result = patch(&deployment(), body, STRATEGIC, "Deployment");
    let containers = &result["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["image"], "nginx:1.25");
    assert_eq!(containers[1], json!({"name": "sidecar", "image": "busybox:1.36", "args": ["sleep", "3600"]}));
}

#[test]
fn taint_replaces_the_whole_taint_list() {
    let body = r#"{"spec":{"taints":[{"effect":"NoSchedule","key":"c","value":"x"}]}}"#;
    let result = patch(&node(), body, STRATEGIC, "Node");
    assert_eq!(result["spec"]["taints"], json!([{"effect": "NoSchedule", "key": "c", "value": "x"}]));
}

#[test]
fn taint_null_removes_every_taint() {
    let result = patch(&node(), r#"{"spec":{"taints":null}}"#, STRATEGIC, "Node");
    assert_eq!(result["spec"], json!({}));
}

#[test]
fn cordon_sets_unschedulable_and_uncordon_removes_it() {
    let cordoned = patch(&node(), r#"{"spec":{"unschedulable":true}}"#, STRATEGIC, "Node");
    assert_eq!(cordoned["spec"]["unschedulable"], true);
    let uncordoned = patch(&cordoned, r#"{"spec":{"unschedulable":null}}"#, STRATEGIC, "Node");
    assert_eq!(uncordoned, node());
}

#[test]
fn label_merge_patch_adds_and_null_removes() {
    let labelled = patch(&deployment(), r#"{"metadata":{"labels":{"tier":"front"}}}"#, MERGE, "Deployment");
    assert_eq!(labelled["metadata"]["labels"], json!({"app": "web", "tier": "front"}));
    let unlabelled = patch(&labelled, r#"{"metadata":{"labels":{"tier":null}}}"#, MERGE, "Deployment");
    assert_eq!(unlabelled, deployment());
}

#[test]
fn scale_merge_patch_sets_replicas() {
    let scale = json!({"kind": "Scale", "spec": {"replicas": 1}, "status": {"replicas": 1}});
    let result = patch(&scale, r#"{"spec":{"replicas":3}}"#, MERGE, "Scale");
    assert_eq!(result["spec"]["replicas"], 3);
}

#[test]
fn rollout_undo_json_patch_replaces_template_and_annotations() {
    let mut original = deployment();
    original["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "2"});
    let body = r#"[{"op":"replace","path":"/spec/template","value":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"nginx","image":"nginx:1.24"}]}}},{"op":"replace","path":"/metadata/annotations","value":{"deployment.kubernetes.io/revision":"3"}}]"#;
    let result = patch(&original, body, JSON_PATCH, "Deployment");
    assert_eq!(result["spec"]["template"]["spec"]["containers"], json!([{"name": "nginx", "image": "nginx:1.24"}]));
    assert_eq!(result["metadata"]["annotations"], json!({"deployment.kubernetes.io/revision": "3"}));
}

#[test]
fn server_side_apply_merges_the_desired_object_given_as_json() {
    let body = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":4}}"#;
    let result = patch(&deployment(), body, "application/apply-patch+yaml", "Deployment");
    assert_eq!(result["spec"]["replicas"], 4);
    assert_eq!(result["spec"]["template"], deployment()["spec"]["template"]);
}

#[test]
fn server_side_apply_accepts_yaml_and_merges_containers_by_name() {
    let body = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: nginx\n        image: nginx:1.27\n";
    let result = patch(&deployment(), body, "application/apply-patch+yaml", "Deployment");
    let containers = &result["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["image"], "nginx:1.27");
    assert_eq!(containers[0]["ports"], json!([{"containerPort": 80, "protocol": "TCP"}]));
    assert_eq!(containers[1]["name"], "sidecar");
}

/// Applies a strategic merge patch and returns the value at a JSON pointer.
fn strategic_at(original: Value, patch: Value, kind: &str, pointer: &str) -> Value {
    let result = apply_strategic_merge_patch(&original, &patch, kind).expect("the patch applies");
    result.pointer(pointer).cloned().unwrap_or(Value::Null)
}

#[test]
fn container_env_merges_by_name_and_ports_by_container_port() {
    let pod = json!({"spec": {"containers": [{"name": "c", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        "ports": [{"containerPort": 80, "name": "http"}]}]}});
    let patch = json!({"spec": {"containers": [{"name": "c", "env": [{"name": "B", "value": "3"}],
        "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}});
    let container = strategic_at(pod, patch, "Pod", "/spec/containers/0");
    assert_eq!(container["env"], json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]));
    assert_eq!(container["ports"], json!([{"containerPort": 80, "name": "http", "protocol": "TCP"}]));
}

#[test]
fn volume_mounts_merge_by_mount_path_and_args_are_replaced() {
    let pod = json!({"spec": {"containers": [{"name": "c", "args": ["a", "b"],
        "volumeMounts": [{"name": "v", "mountPath": "/data"}]}]}});
    let patch = json!({"spec": {"containers": [{"name": "c", "args": ["c"],
        "volumeMounts": [{"name": "w", "mountPath": "/data", "readOnly": true}]}]}});
    let container = strategic_at(pod, patch, "Pod", "/spec/containers/0");
    assert_eq!(container["args"], json!(["c"]));
    assert_eq!(container["volumeMounts"], json!([{"name": "w", "mountPath": "/data", "readOnly": true}]));
}

#[test]
fn tolerations_are_replaced_whole_but_volumes_merge_by_name() {
    let pod = json!({"spec": {"tolerations": [{"key": "a"}], "volumes": [{"name": "x", "emptyDir": {}}]}});
    let patch = json!({"spec": {"tolerations": [{"key": "b"}], "volumes": [{"name": "y", "emptyDir": {}}]}});
    let spec = strategic_at(pod, patch, "Pod", "/spec");
    assert_eq!(spec["tolerations"], json!([{"key": "b"}]));
    assert_eq!(spec["volumes"].as_array().map(Vec::len), Some(2));
}

#[test]
fn service_ports_merge_by_port() {
    let service = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}});
    let patch = json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}});
    let ports = strategic_at(service, patch, "Service", "/spec/ports");
    assert_eq!(ports, json!([{"port": 80, "targetPort": 9090}, {"port": 443}]));
}

#[test]
fn finalizers_merge_as_a_set_and_delete_from_primitive_list_removes() {
    let object = json!({"metadata": {"finalizers": ["a", "b"]}});
    let added = strategic_at(
        object.clone(),
        json!({"metadata": {"finalizers": ["b", "c"]}}),
        "ConfigMap",
        "/metadata/finalizers",
    );
    assert_eq!(added, json!(["a", "b", "c"]));
    let removed = strategic_at(
        object,
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        "ConfigMap",
        "/metadata/finalizers",
    );
    assert_eq!(removed, json!(["b"]));
}

#[test]
fn owner_references_merge_by_uid() {
    let object = json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}]}});
    let patch = json!({"metadata": {"ownerReferences": [{"uid": "1", "controller": true}, {"uid": "2", "name": "b"}]}});
    let references = strategic_at(object, patch, "ReplicaSet", "/metadata/ownerReferences");
    assert_eq!(references.as_array().map(Vec::len), Some(2));
    assert!(references.as_array().unwrap().contains(&json!({"uid": "1", "name": "a", "controller": true})));
}

#[test]
fn status_conditions_merge_by_type() {
    let pod = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Initialized", "status": "True"}]}});
    let patch = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
    let conditions = strategic_at(pod, patch, "Pod", "/status/conditions");
    assert_eq!(conditions, json!([{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}]));
}

#[test]
fn node_addresses_merge_by_type() {
    let node = json!({"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "n1"}]}});
    let patch = json!({"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.2"}]}});
    let addresses = strategic_at(node, patch, "Node", "/status/addresses");
    assert_eq!(
        addresses,
        json!([{"type": "InternalIP", "address": "10.0.0.2"}, {"type": "Hostname", "address": "n1"}])
    );
}

#[test]
fn every_workload_kind_merges_its_pod_template_containers_by_name() {
    let template = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}});
    let template_patch = json!({"spec": {"containers": [{"name": "b", "image": "2"}]}});
    for kind in ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"] {
        let images = strategic_at(
            json!({"spec": {"template": template}}),
            json!({"spec": {"template": template_patch}}),
            kind,
            "/spec/template/spec/containers",
        );
        assert_eq!(images, json!([{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]), "{kind}");
    }
    let images = strategic_at(
        json!({"spec": {"jobTemplate": {"spec": {"template": template}}}}),
        json!({"spec": {"jobTemplate": {"spec": {"template": template_patch}}}}),
        "CronJob",
        "/spec/jobTemplate/spec/template/spec/containers",
    );
    assert_eq!(images, json!([{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]));
}

#[test]
fn a_kind_without_a_pod_template_replaces_lists_whole() {
    let images = strategic_at(
        json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}}}),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "2"}]}}}}),
        "ConfigMap",
        "/spec/template/spec/containers",
    );
    assert_eq!(images, json!([{"name": "b", "image": "2"}]));
}

/// kubernetes/kubernetes#39188 (CoreDNS): ports 53/UDP and 53/TCP share `containerPort`, the
/// strategic merge key; the list-map keys (`containerPort`, `protocol`) keep them two entries,
/// whether the patch adds the list or merges into it.
#[test]
fn coredns_ports_53_udp_and_tcp_stay_two_entries_under_strategic_merge() {
    let ports = json!([
        {"containerPort": 53, "name": "dns", "protocol": "UDP"},
        {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"}
    ]);
    let mut without_ports = deployment();
    without_ports["spec"]["template"]["spec"]["containers"][0].as_object_mut().unwrap().shift_remove("ports");
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "ports": ports}]}}}});
    let added = apply_strategic_merge_patch(&without_ports, &patch, "Deployment").unwrap();
    assert_eq!(added["spec"]["template"]["spec"]["containers"][0]["ports"], ports);

    let mut with_ports = deployment();
    with_ports["spec"]["template"]["spec"]["containers"][0]["ports"] = ports.clone();
    let rename = json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "ports": [
        {"containerPort": 53, "name": "dns-udp", "protocol": "UDP"}
    ]}]}}}});
    let merged = apply_strategic_merge_patch(&with_ports, &rename, "Deployment").unwrap();
    let merged_ports = &merged["spec"]["template"]["spec"]["containers"][0]["ports"];
    assert_eq!(merged_ports.as_array().unwrap().len(), 2, "{merged_ports}");
    assert_eq!(merged_ports[0]["name"], "dns-udp");
    assert_eq!(merged_ports[1]["name"], "dns-tcp");
}

/// The hand-written key table this replaced lacked `ServiceAccount.secrets`: the published schema
/// merges it by `name`.
#[test]
fn service_account_secrets_merge_by_name() {
    let account =
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}, "secrets": [{"name": "one"}]});
    let patch = json!({"secrets": [{"name": "two"}]});
    let merged = apply_strategic_merge_patch(&account, &patch, "ServiceAccount").unwrap();
    assert_eq!(merged["secrets"], json!([{"name": "two"}, {"name": "one"}]));
}
