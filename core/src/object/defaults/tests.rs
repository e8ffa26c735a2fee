//! Defaulting tests, ported from Kubernetes' `defaults_test.go` tables (core/v1, apps/v1,
//! batch/v1, autoscaling/v2).

use serde_json::{Value, json};

use super::*;

fn defaulted(value: Value) -> Value {
    let mut object = Object::from_value(value).unwrap();
    apply_defaults(&mut object).unwrap();
    object.to_value()
}

fn pod_with_containers(containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}})
}

#[test]
fn image_pull_policy_follows_the_tag_as_kubernetes_parses_it() {
    // TestSetDefaultsContainersImagePullPolicy / TestSetDefaultImagePullPolicy cases.
    let cases = [
        ("image", "Always"),
        ("image:latest", "Always"),
        ("image:tag", "IfNotPresent"),
        ("image@sha256:b5509fe7c2a3c3bdcd6e0a7fa9e1ed0000b2a0c8e6f2a9a3b4f0b4c3d2e1f0a9", "IfNotPresent"),
        ("image:latest@sha256:b5509fe7c2a3c3bdcd6e0a7fa9e1ed0000b2a0c8e6f2a9a3b4f0b4c3d2e1f0a9", "Always"),
        ("localhost:5000/image", "Always"),
        ("localhost:5000/image:v1", "IfNotPresent"),
        ("registry.k8s.io/pause:3.9", "IfNotPresent"),
        ("docker.io/library/nginx", "Always"),
        ("Image:latest", "IfNotPresent"),
        ("", "IfNotPresent"),
    ];
    for (image, expected) in cases {
        assert_eq!(image_pull_policy_for(image), expected, "image {image:?}");
    }
}

#[test]
fn a_given_image_pull_policy_is_kept() {
    let pod = defaulted(pod_with_containers(json!([{"name": "c", "image": "nginx", "imagePullPolicy": "Never"}])));
    assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Never");
}

#[test]
fn a_bare_pod_gets_every_pod_spec_and_container_default() {
    let pod =
        defaulted(pod_with_containers(json!([{"name": "c", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}])));
    assert_eq!(
        pod["spec"],
        json!({
            "containers": [{
                "image": "nginx:1.25",
                "imagePullPolicy": "IfNotPresent",
                "name": "c",
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File"
            }],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": true,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "terminationGracePeriodSeconds": 30
        })
    );
}

#[test]
fn probes_get_thresholds_and_http_get_gets_scheme_and_path() {
    let container = json!({"name": "c", "image": "i", "livenessProbe": {"httpGet": {"port": 8080}}, "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 5}});
    let pod = defaulted(pod_with_containers(json!([container])));
    let liveness = &pod["spec"]["containers"][0]["livenessProbe"];
    assert_eq!(
        liveness,
        &json!({"failureThreshold": 3, "httpGet": {"path": "/", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1})
    );
    assert_eq!(pod["spec"]["containers"][0]["readinessProbe"]["periodSeconds"], 5);
}

#[test]
fn limits_without_requests_become_requests_on_pods_but_not_in_templates() {
    // TestSetDefaultRequestsPod and TestDefaultRequestIsNotSetForReplicationController.
    let container = json!({"name": "c", "image": "i", "resources": {"limits": {"cpu": "100m", "memory": "1Gi"}, "requests": {"memory": "512Mi"}}});
    let pod = defaulted(pod_with_containers(json!([container.clone()])));
    assert_eq!(pod["spec"]["containers"][0]["resources"]["requests"], json!({"cpu": "100m", "memory": "512Mi"}));
    let deployment = defaulted(deployment(json!([container])));
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"],
        json!({"memory": "512Mi"})
    );
    assert!(deployment["spec"]["template"]["spec"].get("enableServiceLinks").is_none());
}

#[test]
fn host_network_pods_expose_container_ports_on_the_host() {
    let mut pod = pod_with_containers(json!([{"name": "c", "image": "i", "ports": [{"containerPort": 8080}]}]));
    pod["spec"]["hostNetwork"] = json!(true);
    assert_eq!(defaulted(pod)["spec"]["containers"][0]["ports"][0]["hostPort"], 8080);
}

#[test]
fn volumes_get_their_source_defaults() {
    let mut pod = pod_with_containers(json!([{"name": "c", "image": "i"}]));
    pod["spec"]["volumes"] = json!([
        {"name": "none"},
        {"name": "s", "secret": {"secretName": "x"}},
        {"name": "cm", "configMap": {"name": "x"}},
        {"name": "h", "hostPath": {"path": "/x"}},
        {"name": "p", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}
    ]);
    let volumes = defaulted(pod)["spec"]["volumes"].clone();
    assert_eq!(volumes[0], json!({"emptyDir": {}, "name": "none"}));
    assert_eq!(volumes[1]["secret"]["defaultMode"], 420);
    assert_eq!(volumes[2]["configMap"]["defaultMode"], 420);
    assert_eq!(volumes[3]["hostPath"]["type"], "");
    assert_eq!(volumes[4]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"], 3600);
}

#[test]
fn downward_api_field_references_default_to_v1() {
    let container = json!({"name": "c", "image": "i", "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]});
    let pod = defaulted(pod_with_containers(json!([container])));
    assert_eq!(pod["spec"]["containers"][0]["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
}

fn service(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": spec})
}

#[test]
fn a_service_defaults_type_affinity_ports_and_families() {
    let value = defaulted(service(json!({"selector": {"app": "a"}, "ports": [{"port": 80}]})));
    assert_eq!(
        value["spec"],
        json!({
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
            "selector": {"app": "a"},
            "sessionAffinity": "None",
            "type": "ClusterIP"
        })
    );
}

#[test]
fn service_defaults_follow_the_type() {
    // TestSetDefaultServiceSessionAffinity, TestSetDefaultServiceExternalTraffic,
    // TestSetDefaultServiceInternalTrafficPolicy, TestSetDefaultServiceLoadbalancerNodePortsEnabled.
    let node_port = defaulted(service(json!({"type": "NodePort", "ports": [{"port": 80, "targetPort": "http"}]})));
    assert_eq!(node_port["spec"]["externalTrafficPolicy"], "Cluster");
    assert_eq!(node_port["spec"]["ports"][0]["targetPort"], "http");
    let load_balancer = defaulted(service(json!({"type": "LoadBalancer"})));
    assert_eq!(load_balancer["spec"]["allocateLoadBalancerNodePorts"], true);
    let external_name = defaulted(service(json!({"type": "ExternalName", "externalName": "example.com"})));
    assert!(external_name["spec"].get("internalTrafficPolicy").is_none());
    assert!(external_name["spec"].get("ipFamilies").is_none());
    let client_ip = defaulted(service(json!({"sessionAffinity": "ClientIP"})));
    assert_eq!(client_ip["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"], 10800);
    let headless = defaulted(service(json!({"clusterIP": "None"})));
    assert_eq!(headless["spec"]["ipFamilyPolicy"], "RequireDualStack");
}

fn deployment(containers: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"app": "a"}},
        "template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": containers}}
    }})
}

#[test]
fn a_deployment_gets_replicas_strategy_and_limits() {
    // TestSetDefaultDeployment.
    let value = defaulted(deployment(json!([{"name": "c", "image": "i"}])));
    let spec = &value["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(
        spec["strategy"],
        json!({"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"})
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Always");
    assert_eq!(spec["template"]["spec"]["containers"][0]["imagePullPolicy"], "Always");
}

#[test]
fn a_recreate_deployment_gets_no_rolling_update() {
    let mut value = deployment(json!([{"name": "c", "image": "i"}]));
    value["spec"]["strategy"] = json!({"type": "Recreate"});
    assert_eq!(defaulted(value)["spec"]["strategy"], json!({"type": "Recreate"}));
}

fn workload(api_version: &str, kind: &str, extra: Value) -> Value {
    let mut spec = json!({"selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}});
    for (key, value) in extra.as_object().unwrap() {
        spec[key] = value.clone();
    }
    json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "w"}, "spec": spec})
}

#[test]
fn a_stateful_set_gets_its_policies_and_claim_template_defaults() {
    // TestSetDefaultStatefulSet.
    let value = defaulted(workload(
        "apps/v1",
        "StatefulSet",
        json!({"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}),
    ));
    let spec = &value["spec"];
    assert_eq!(spec["podManagementPolicy"], "OrderedReady");
    assert_eq!(spec["updateStrategy"], json!({"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"}));
    assert_eq!(spec["persistentVolumeClaimRetentionPolicy"], json!({"whenDeleted": "Retain", "whenScaled": "Retain"}));
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["volumeClaimTemplates"][0]["spec"]["volumeMode"], "Filesystem");
    assert_eq!(spec["volumeClaimTemplates"][0]["status"]["phase"], "Pending");
}

#[test]
fn an_on_delete_stateful_set_gets_no_partition() {
    let value = defaulted(workload("apps/v1", "StatefulSet", json!({"updateStrategy": {"type": "OnDelete"}})));
    assert_eq!(value["spec"]["updateStrategy"], json!({"type": "OnDelete"}));
}

#[test]
fn a_daemon_set_gets_a_rolling_update_of_one_node_at_a_time() {
    // TestSetDefaultDaemonSetSpec.
    let value = defaulted(workload("apps/v1", "DaemonSet", json!({})));
    assert_eq!(
        value["spec"]["updateStrategy"],
        json!({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}, "type": "RollingUpdate"})
    );
    assert_eq!(value["spec"]["revisionHistoryLimit"], 10);
}

#[test]
fn a_replica_set_and_a_replication_controller_get_one_replica() {
    assert_eq!(defaulted(workload("apps/v1", "ReplicaSet", json!({})))["spec"]["replicas"], 1);
    let controller = json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"}, "spec": {"template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
    let value = defaulted(controller);
    assert_eq!(value["spec"]["replicas"], 1);
    assert_eq!(value["spec"]["selector"], json!({"app": "a"}));
    assert_eq!(value["metadata"]["labels"], json!({"app": "a"}));
}

fn job(extra: Value) -> Value {
    let mut spec = json!({"template": {"metadata": {"labels": {"app": "a"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}});
    for (key, value) in extra.as_object().unwrap() {
        spec[key] = value.clone();
    }
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": spec})
}

#[test]
fn job_completions_and_parallelism_default_as_in_kubernetes() {
    // TestSetDefaultJob: (completions, parallelism) in → out.
    let cases = [
        (json!({}), Some(1), 1),
        (json!({"parallelism": 3}), None, 3),
        (json!({"completions": 5}), Some(5), 1),
        (json!({"completions": 5, "parallelism": 2}), Some(5), 2),
    ];
    for (extra, completions, parallelism) in cases {
        let value = defaulted(job(extra.clone()));
        assert_eq!(value["spec"].get("completions").and_then(Value::as_i64), completions.map(i64::from), "{extra}");
        assert_eq!(value["spec"]["parallelism"], parallelism, "{extra}");
    }
}

#[test]
fn a_job_gets_backoff_mode_suspend_replacement_and_labels() {
    let value = defaulted(job(json!({})));
    let spec = &value["spec"];
    assert_eq!(spec["backoffLimit"], 6);
    assert_eq!(spec["completionMode"], "NonIndexed");
    assert_eq!(spec["suspend"], false);
    assert_eq!(spec["manualSelector"], false);
    assert_eq!(spec["podReplacementPolicy"], "TerminatingOrFailed");
    assert_eq!(value["metadata"]["labels"], json!({"app": "a"}));
    let per_index = defaulted(job(json!({"backoffLimitPerIndex": 1, "completionMode": "Indexed", "completions": 2})));
    assert_eq!(per_index["spec"]["backoffLimit"], i32::MAX);
    let with_policy = defaulted(job(
        json!({"podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}}),
    ));
    assert_eq!(with_policy["spec"]["podReplacementPolicy"], "Failed");
    assert_eq!(with_policy["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"], "True");
}

#[test]
fn a_cron_job_gets_its_policy_and_history_limits_but_no_job_defaults() {
    // TestSetDefaultCronJob.
    let value = defaulted(
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"}, "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "i"}]}}}}}}),
    );
    let spec = &value["spec"];
    assert_eq!(spec["concurrencyPolicy"], "Allow");
    assert_eq!(spec["suspend"], false);
    assert_eq!(spec["successfulJobsHistoryLimit"], 3);
    assert_eq!(spec["failedJobsHistoryLimit"], 1);
    assert!(spec["jobTemplate"]["spec"].get("backoffLimit").is_none());
    assert_eq!(spec["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
}

fn autoscaler(spec: Value) -> Value {
    json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"}, "spec": spec})
}

#[test]
fn an_autoscaler_without_metrics_targets_eighty_percent_cpu() {
    // TestSetDefaultHPA.
    let value = defaulted(autoscaler(
        json!({"maxReplicas": 5, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}}),
    ));
    assert_eq!(value["spec"]["minReplicas"], 1);
    assert_eq!(
        value["spec"]["metrics"],
        json!([{"resource": {"name": "cpu", "target": {"averageUtilization": 80, "type": "Utilization"}}, "type": "Resource"}])
    );
    assert!(value["spec"].get("behavior").is_none());
}

#[test]
fn a_partial_autoscaler_behavior_is_completed() {
    // TestHorizontalPodAutoscalerAnnotations / GenerateHPAScaleUpRules cases.
    let value = defaulted(autoscaler(
        json!({"maxReplicas": 5, "scaleTargetRef": {"kind": "Deployment", "name": "d"}, "behavior": {"scaleUp": {"stabilizationWindowSeconds": 60}}}),
    ));
    let behavior = &value["spec"]["behavior"];
    assert_eq!(
        behavior["scaleUp"],
        json!({"policies": [{"periodSeconds": 15, "type": "Pods", "value": 4}, {"periodSeconds": 15, "type": "Percent", "value": 100}], "selectPolicy": "Max", "stabilizationWindowSeconds": 60})
    );
    assert_eq!(
        behavior["scaleDown"],
        json!({"policies": [{"periodSeconds": 15, "type": "Percent", "value": 100}], "selectPolicy": "Max"})
    );
}

#[test]
fn storage_namespace_and_secret_defaults() {
    let volume = defaulted(
        json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"}, "spec": {"capacity": {"storage": "1Gi"}, "hostPath": {"path": "/x"}}}),
    );
    assert_eq!(volume["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(volume["spec"]["volumeMode"], "Filesystem");
    assert_eq!(volume["status"]["phase"], "Pending");
    let claim =
        defaulted(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"}, "spec": {}}));
    assert_eq!(claim["spec"]["volumeMode"], "Filesystem");
    let namespace = defaulted(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}));
    assert_eq!(namespace["status"]["phase"], "Active");
    assert_eq!(namespace["metadata"]["labels"]["kubernetes.io/metadata.name"], "team");
    let secret = defaulted(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}));
    assert_eq!(secret["type"], "Opaque");
}

#[test]
fn kinds_without_defaults_are_left_alone() {
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}});
    assert_eq!(defaulted(config_map.clone()), config_map);
}

#[test]
fn defaulting_twice_changes_nothing_more() {
    let once = defaulted(deployment(json!([{"name": "c", "image": "i", "livenessProbe": {"httpGet": {"port": 80}}}])));
    assert_eq!(defaulted(once.clone()), once);
}

#[test]
fn defaulted_output_is_in_kubernetes_field_order() {
    let value = defaulted(pod_with_containers(json!([{"name": "c", "image": "nginx"}])));
    let keys: Vec<&String> = value["spec"].as_object().unwrap().keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let top: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert_eq!(top, ["apiVersion", "kind", "metadata", "spec"]);
}
