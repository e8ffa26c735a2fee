//! Table tests: pods in each state `kubectl get` distinguishes, nodes, services and deployments
//! as snapshots of the printed table, and every served kind rendering without a panic.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::*;
use crate::object::kinds;

fn now() -> Timestamp {
    "2025-06-01T12:00:00Z".parse().unwrap()
}

fn object(value: Value) -> Object {
    Object::from_value(value).unwrap()
}

/// Prints a Table the way kubectl does: upper-case headers, columns padded by three spaces,
/// wide columns only when `wide`.
fn render(table: &Value, wide: bool) -> String {
    let columns = table["columnDefinitions"].as_array().unwrap();
    let shown: Vec<usize> = (0..columns.len()).filter(|index| wide || columns[*index]["priority"] == 0).collect();
    let mut lines: Vec<Vec<String>> =
        vec![shown.iter().map(|index| columns[*index]["name"].as_str().unwrap().to_uppercase()).collect()];
    for row in table["rows"].as_array().unwrap() {
        let cells = row["cells"].as_array().unwrap();
        lines.push(
            shown
                .iter()
                .map(|index| match &cells[*index] {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect(),
        );
    }
    let widths: Vec<usize> =
        (0..shown.len()).map(|column| lines.iter().map(|line| line[column].len()).max().unwrap_or(0)).collect();
    lines
        .iter()
        .map(|line| {
            let padded: Vec<String> = line.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
            padded.join("   ").trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn table(kind: &str, objects: &[Object]) -> Value {
    let references: Vec<&Object> = objects.iter().collect();
    table_for(kind, &references, "42", None, now())
}

fn pod(name: &str, spec: Value, status: Value) -> Object {
    object(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": "2025-06-01T11:00:00Z"},
        "spec": spec, "status": status,
    }))
}

fn pods_in_every_state() -> Vec<Object> {
    let one = json!({"containers": [{"name": "app", "image": "nginx"}]});
    let scheduled = json!({"containers": [{"name": "app", "image": "nginx"}], "nodeName": "node-1"});
    let mut terminating = pod(
        "terminating",
        scheduled.clone(),
        json!({"phase": "Running", "containerStatuses": [
            {"name": "app", "image": "nginx", "imageID": "", "ready": true, "restartCount": 0, "state": {"running": {}}}
        ]}),
    );
    terminating.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now()));
    vec![
        pod("pending", one.clone(), json!({"phase": "Pending"})),
        pod(
            "running",
            scheduled.clone(),
            json!({"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}], "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [{"name": "app", "image": "nginx", "imageID": "", "ready": true, "restartCount": 0,
                                          "state": {"running": {"startedAt": "2025-06-01T11:00:05Z"}}}]}),
        ),
        pod(
            "crashing",
            scheduled.clone(),
            json!({"phase": "Running", "containerStatuses": [{"name": "app", "image": "nginx", "imageID": "", "ready": false,
                   "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                   "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2025-06-01T11:58:00Z"}}}]}),
        ),
        terminating,
        pod(
            "completed",
            scheduled.clone(),
            json!({"phase": "Succeeded", "containerStatuses": [{"name": "app", "image": "nginx", "imageID": "", "ready": false,
                   "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
        ),
        pod(
            "initializing",
            json!({"initContainers": [{"name": "setup", "image": "busybox"}], "containers": [{"name": "app", "image": "nginx"}], "nodeName": "node-1"}),
            json!({"phase": "Pending", "initContainerStatuses": [{"name": "setup", "image": "busybox", "imageID": "", "ready": false,
                   "restartCount": 0, "state": {"running": {}}}],
                   "containerStatuses": [{"name": "app", "image": "nginx", "imageID": "", "ready": false, "restartCount": 0,
                   "state": {"waiting": {"reason": "PodInitializing"}}}]}),
        ),
        pod(
            "init-failing",
            json!({"initContainers": [{"name": "setup", "image": "busybox"}], "containers": [{"name": "app", "image": "nginx"}]}),
            json!({"phase": "Pending", "initContainerStatuses": [{"name": "setup", "image": "busybox", "imageID": "", "ready": false,
                   "restartCount": 2, "state": {"terminated": {"exitCode": 3}}}]}),
        ),
        pod(
            "with-sidecar",
            json!({"initContainers": [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}],
                   "containers": [{"name": "app", "image": "nginx"}]}),
            json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
                   "initContainerStatuses": [{"name": "proxy", "image": "envoy", "imageID": "", "ready": true, "started": true,
                   "restartCount": 1, "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 137, "finishedAt": "2025-06-01T11:30:00Z"}}}],
                   "containerStatuses": [{"name": "app", "image": "nginx", "imageID": "", "ready": true, "restartCount": 0, "state": {"running": {}}}]}),
        ),
    ]
}

#[test]
fn pods_in_every_state_print_like_kubectl_get_pods() {
    insta::assert_snapshot!(render(&table("Pod", &pods_in_every_state()), false));
}

#[test]
fn pods_print_their_wide_columns() {
    insta::assert_snapshot!(render(&table("Pod", &pods_in_every_state()), true));
}

#[test]
fn finished_pods_carry_the_completed_row_condition() {
    let table = table("Pod", &pods_in_every_state());
    let completed = &table["rows"][4];
    assert_eq!(completed["cells"][2], "Completed");
    assert_eq!(completed["conditions"][0]["type"], "Completed");
    assert_eq!(completed["conditions"][0]["reason"], "Succeeded");
    assert!(table["rows"][1].get("conditions").is_none());
}

#[test]
fn rows_carry_partial_object_metadata_and_the_table_its_list_metadata() {
    let pods = pods_in_every_state();
    let table = table_for("Pod", &[&pods[0]], "7", Some("next-page"), now());
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(table["metadata"], json!({"resourceVersion": "7", "continue": "next-page"}));
    let row_object = &table["rows"][0]["object"];
    assert_eq!(row_object["kind"], "PartialObjectMetadata");
    assert_eq!(row_object["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(row_object["metadata"]["namespace"], "default");
    assert_eq!(
        table["columnDefinitions"][0],
        json!({
            "name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION, "priority": 0
        })
    );
}

/// The list answer writes the Table straight to text; it must be the Table `table_including`
/// builds, for every `includeObject` and with a finished pod's row conditions.
#[test]
fn the_encoded_table_is_the_built_table() {
    let pods = pods_in_every_state();
    let references: Vec<&Object> = pods.iter().collect();
    for include in [IncludeObject::None, IncludeObject::Metadata, IncludeObject::Object] {
        let built = table_including("Pod", &references, "7", Some("next-page"), include, now());
        let encoded = TableDocument::new("Pod", &references, "7", Some("next-page"), include, now()).encode();
        assert_eq!(serde_json::to_vec(&built).unwrap(), encoded, "{include:?}");
    }
    assert!(
        table_for("Pod", &references, "7", None, now())["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row.get("conditions").is_some())
    );
}

fn node(name: &str, ready: &str, unschedulable: bool, labels: Value) -> Object {
    object(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels, "creationTimestamp": "2025-05-30T12:00:00Z"},
        "spec": {"unschedulable": unschedulable},
        "status": {
            "conditions": [{"type": "Ready", "status": ready}],
            "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}],
            "nodeInfo": {"kubeletVersion": "v1.32.0-coxswain", "osImage": "coxswain", "kernelVersion": "", "containerRuntimeVersion": "docker://27.0",
                         "architecture": "amd64", "bootID": "", "machineID": "", "operatingSystem": "linux", "systemUUID": "", "kubeProxyVersion": ""},
        },
    }))
}

#[test]
fn nodes_print_status_roles_and_version() {
    let nodes = vec![
        node(
            "control",
            "True",
            false,
            json!({"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "master"}),
        ),
        node("worker", "False", true, json!({})),
        object(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "new"}})),
    ];
    insta::assert_snapshot!(render(&table("Node", &nodes), true));
}

#[test]
fn services_print_type_addresses_and_ports() {
    let service = |name: &str, spec: Value, status: Value| {
        object(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "creationTimestamp": "2025-06-01T11:57:00Z"}, "spec": spec, "status": status}))
    };
    let services = vec![
        service(
            "kubernetes",
            json!({"type": "ClusterIP", "clusterIPs": ["10.96.0.1"], "ports": [{"port": 443, "protocol": "TCP"}]}),
            json!({}),
        ),
        service(
            "web",
            json!({"type": "NodePort", "clusterIPs": ["10.96.0.20"], "selector": {"app": "web"},
                   "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}, {"port": 443, "protocol": "TCP", "nodePort": 30443}]}),
            json!({}),
        ),
        service(
            "balancer",
            json!({"type": "LoadBalancer", "clusterIPs": ["10.96.0.30"], "ports": [{"port": 53, "protocol": "UDP", "nodePort": 31053}]}),
            json!({}),
        ),
        service(
            "balanced",
            json!({"type": "LoadBalancer", "clusterIPs": ["10.96.0.31"], "ports": [{"port": 80, "protocol": "TCP"}]}),
            json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "lb.example"}]}}),
        ),
        service("external", json!({"type": "ExternalName", "externalName": "db.example"}), json!({})),
    ];
    insta::assert_snapshot!(render(&table("Service", &services), true));
}

#[test]
fn deployments_print_ready_up_to_date_and_available() {
    let deployment = |name: &str, replicas: i32, status: Value| {
        object(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "creationTimestamp": "2025-06-01T09:00:00Z"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": "nginx:1.26"}, {"name": "log", "image": "fluentbit"}]}}},
            "status": status}))
    };
    let deployments = vec![
        deployment("web", 3, json!({"replicas": 3, "readyReplicas": 3, "updatedReplicas": 3, "availableReplicas": 3})),
        deployment(
            "rolling",
            4,
            json!({"replicas": 5, "readyReplicas": 2, "updatedReplicas": 1, "availableReplicas": 2}),
        ),
        deployment("fresh", 2, json!({})),
    ];
    insta::assert_snapshot!(render(&table("Deployment", &deployments), true));
}

#[test]
fn workload_and_config_kinds_print_their_kubernetes_cells() {
    let job = object(
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "creationTimestamp": "2025-06-01T11:00:00Z"},
        "spec": {"completions": 3, "template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}},
        "status": {"succeeded": 3, "startTime": "2025-06-01T11:00:00Z", "completionTime": "2025-06-01T11:02:10Z",
                   "conditions": [{"type": "Complete", "status": "True"}]}}),
    );
    assert_eq!(
        table("Job", &[job])["rows"][0]["cells"],
        json!(["pi", "Complete", "3/3", "2m10s", "60m", "pi", "perl", "<none>"])
    );

    let autoscaler = object(
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 10,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]},
        "status": {"currentReplicas": 2, "desiredReplicas": 2,
                   "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 50}}}]}}),
    );
    assert_eq!(
        table("HorizontalPodAutoscaler", &[autoscaler])["rows"][0]["cells"],
        json!(["web", "Deployment/web", "cpu: 50%/80%", "1", 10, 2, "<unknown>"])
    );

    let daemon_set = object(json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "containers": [{"name": "a", "image": "agent"}]}}},
        "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2, "numberMisscheduled": 0, "updatedNumberScheduled": 3, "numberAvailable": 2}}));
    assert_eq!(
        table("DaemonSet", &[daemon_set])["rows"][0]["cells"],
        json!(["agent", 3, 3, 2, 3, 2, "kubernetes.io/os=linux", "<unknown>", "a", "agent", "app=agent"])
    );

    let cron_job = object(json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 3 * * *", "suspend": false, "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}}));
    assert_eq!(
        table("CronJob", &[cron_job])["rows"][0]["cells"],
        json!(["nightly", "0 3 * * *", "<none>", "False", 0, "<none>", "<unknown>", "", "", "<none>"])
    );

    let event =
        object(json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web-0.1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web-0"}, "reason": "Scheduled", "type": "Normal",
        "message": "Successfully assigned default/web-0 to node-1 ", "source": {"component": "default-scheduler"},
        "firstTimestamp": "2025-06-01T11:59:00Z", "lastTimestamp": "2025-06-01T11:59:30Z", "count": 2}));
    assert_eq!(
        table("Event", &[event])["rows"][0]["cells"],
        json!([
            "30s",
            "Normal",
            "Scheduled",
            "pod/web-0",
            "",
            "default-scheduler",
            "Successfully assigned default/web-0 to node-1",
            "60s",
            2,
            "web-0.1"
        ])
    );

    let quota = object(json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute"},
        "status": {"hard": {"requests.cpu": "2", "limits.memory": "2Gi", "pods": "10"}, "used": {"requests.cpu": "500m", "pods": "3"}}}));
    assert_eq!(
        table("ResourceQuota", &[quota])["rows"][0]["cells"],
        json!(["compute", "pods: 3/10, requests.cpu: 500m/2", "limits.memory: 0/2Gi", "<unknown>"])
    );
}

#[test]
fn every_served_kind_renders_a_table_with_one_cell_per_column() {
    for resource in kinds::RESOURCES {
        let minimal =
            object(json!({"apiVersion": resource.api_version, "kind": resource.kind, "metadata": {"name": "x"}}));
        let malformed =
            object(json!({"apiVersion": resource.api_version, "kind": resource.kind, "metadata": {"name": "y"},
            "spec": "not an object", "status": 7}));
        let table = table(resource.kind, &[minimal, malformed]);
        let columns = table["columnDefinitions"].as_array().unwrap().len();
        for row in table["rows"].as_array().unwrap() {
            assert_eq!(row["cells"].as_array().unwrap().len(), columns, "{}", resource.kind);
        }
    }
}

#[test]
fn kinds_without_a_printer_get_name_and_age() {
    let other = object(
        json!({"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w", "creationTimestamp": "2025-06-01T11:59:00Z"}}),
    );
    assert_eq!(table("Widget", &[other])["rows"][0]["cells"], json!(["w", "60s"]));
    let role = object(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "reader", "creationTimestamp": "2025-06-01T11:59:00Z"}}),
    );
    assert_eq!(table("Role", &[role])["rows"][0]["cells"], json!(["reader", "2025-06-01T11:59:00Z"]));
}

#[test]
fn kubectl_get_accept_headers_ask_for_a_table() {
    assert!(wants_table(
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
    ));
    assert!(wants_table("application/json; as=Table; g=meta.k8s.io; v=v1"));
    assert!(!wants_table("application/json"));
    assert!(!wants_table("application/vnd.kubernetes.protobuf,application/json"));
    assert!(!wants_table("application/json;as=Table;v=v1beta1;g=meta.k8s.io"));
    assert!(!wants_table("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"));
    assert!(!wants_table(""));
}

/// Kubernetes' `TestPrintReplicaSet` row (pkg/printers/internalversion/printers_test.go): NAME,
/// DESIRED, CURRENT, READY, AGE, then the wide CONTAINERS, IMAGES and SELECTOR; a
/// ReplicationController prints the same row with its map selector.
#[test]
fn replica_sets_and_replication_controllers_print_desired_current_and_ready() {
    let template = json!({"spec": {"containers": [
        {"name": "fake-container1", "image": "fake-image1"},
        {"name": "fake-container2", "image": "fake-image2"},
    ]}});
    let replica_set = object(json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "test1", "creationTimestamp": "2025-06-01T12:00:00Z"},
        "spec": {"replicas": 5, "selector": {"matchLabels": {"foo": "bar"}}, "template": template},
        "status": {"replicas": 5, "readyReplicas": 2},
    }));
    let controller = object(json!({
        "apiVersion": "v1", "kind": "ReplicationController",
        "metadata": {"name": "test1", "creationTimestamp": "2025-06-01T12:00:00Z"},
        "spec": {"replicas": 5, "selector": {"foo": "bar"}, "template": template},
        "status": {"replicas": 5, "readyReplicas": 2},
    }));
    let expected =
        json!(["test1", 5, 5, 2, "0s", "fake-container1,fake-container2", "fake-image1,fake-image2", "foo=bar"]);
    for (kind, object) in [("ReplicaSet", &replica_set), ("ReplicationController", &controller)] {
        let table = table_for(kind, &[object], "1", None, now());
        assert_eq!(table["rows"][0]["cells"], expected, "{kind}");
    }
}
