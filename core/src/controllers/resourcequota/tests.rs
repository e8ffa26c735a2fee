//! ResourceQuota tests: the pod, Service and claim evaluators (rows of Kubernetes'
//! `pods_test.go` `TestPodEvaluatorUsage` and the scope tests), the controller's
//! `status.used`, and admission through the API server (rows of the ResourceQuota plugin's
//! `admission_test.go`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::SignedDuration;
use serde_json::{Value, json};

use super::*;
use crate::api::{ApiRequest, ApiServer, Method};
use crate::controllers::test_world::{apply, now, observe, send};
use crate::object::quota_usage::{quota_matches, usage};
use crate::store::MemoryStore;

fn object(value: Value) -> Object {
    Object::from_value(value).unwrap()
}

fn pod_with(spec: Value) -> Object {
    object(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "test"}, "spec": spec}))
}

fn container(requests: Value, limits: Value) -> Value {
    json!({"name": "c", "image": "i", "resources": {"requests": requests, "limits": limits}})
}

fn list(entries: &[(&str, &str)]) -> ResourceList {
    entries.iter().map(|(name, amount)| (name.to_string(), Quantity::parse(amount).unwrap())).collect()
}

#[test]
fn pod_usage_matches_kubernetes_evaluator_rows() {
    let cases: Vec<(&str, Object, ResourceList)> = vec![
        (
            "init container CPU",
            pod_with(
                json!({"initContainers": [container(json!({"cpu": "1m"}), json!({"cpu": "2m"}))], "containers": []}),
            ),
            list(&[("requests.cpu", "1m"), ("limits.cpu", "2m"), ("pods", "1"), ("cpu", "1m"), ("count/pods", "1")]),
        ),
        (
            "init container MEM",
            pod_with(json!({"initContainers": [container(json!({"memory": "1m"}), json!({"memory": "2m"}))]})),
            list(&[
                ("requests.memory", "1m"),
                ("limits.memory", "2m"),
                ("pods", "1"),
                ("memory", "1m"),
                ("count/pods", "1"),
            ]),
        ),
        (
            "init container local ephemeral storage",
            pod_with(
                json!({"initContainers": [container(json!({"ephemeral-storage": "32Mi"}), json!({"ephemeral-storage": "64Mi"}))]}),
            ),
            list(&[
                ("ephemeral-storage", "32Mi"),
                ("requests.ephemeral-storage", "32Mi"),
                ("limits.ephemeral-storage", "64Mi"),
                ("pods", "1"),
                ("count/pods", "1"),
            ]),
        ),
        (
            "init container hugepages",
            pod_with(json!({"initContainers": [container(json!({"hugepages-2Mi": "100Mi"}), json!({}))]})),
            list(&[
                ("hugepages-2Mi", "100Mi"),
                ("requests.hugepages-2Mi", "100Mi"),
                ("pods", "1"),
                ("count/pods", "1"),
            ]),
        ),
        (
            "container extended resources",
            pod_with(
                json!({"containers": [container(json!({"example.com/dongle": "3"}), json!({"example.com/dongle": "3"}))]}),
            ),
            list(&[("requests.example.com/dongle", "3"), ("pods", "1"), ("count/pods", "1")]),
        ),
        (
            "init container maximums override sum of containers",
            pod_with(json!({
                "initContainers": [
                    container(json!({"cpu": "4", "memory": "100M", "example.com/dongle": "4"}), json!({"cpu": "8", "memory": "200M", "example.com/dongle": "4"})),
                    container(json!({"cpu": "1", "memory": "50M", "example.com/dongle": "2"}), json!({"cpu": "2", "memory": "100M", "example.com/dongle": "2"})),
                ],
                "containers": [
                    container(json!({"cpu": "1", "memory": "50M", "example.com/dongle": "1"}), json!({"cpu": "2", "memory": "100M", "example.com/dongle": "1"})),
                    container(json!({"cpu": "2", "memory": "25M", "example.com/dongle": "2"}), json!({"cpu": "5", "memory": "50M", "example.com/dongle": "2"})),
                ],
            })),
            list(&[
                ("requests.cpu", "4"),
                ("requests.memory", "100M"),
                ("limits.cpu", "8"),
                ("limits.memory", "200M"),
                ("pods", "1"),
                ("cpu", "4"),
                ("memory", "100M"),
                ("requests.example.com/dongle", "4"),
                ("count/pods", "1"),
            ]),
        ),
    ];
    for (name, pod, expected) in cases {
        assert_eq!(usage(&pod, now()), expected, "{name}");
    }
}

#[test]
fn finished_pods_and_pods_past_their_deletion_grace_charge_only_their_count() {
    let spec = json!({"containers": [container(json!({"cpu": "1"}), json!({"cpu": "2"}))]});
    let mut finished = pod_with(spec.clone());
    finished.fields.insert("status".into(), json!({"phase": "Succeeded"}));
    assert_eq!(usage(&finished, now()), list(&[("count/pods", "1")]), "terminal pod");
    let mut stuck = pod_with(spec);
    stuck.metadata.deletion_timestamp = Some(Time(now() - SignedDuration::from_secs(60)));
    stuck.metadata.deletion_grace_period_seconds = Some(30);
    assert_eq!(usage(&stuck, now()), list(&[("count/pods", "1")]), "pod deletion timestamp exceeded");
    stuck.metadata.deletion_grace_period_seconds = Some(120);
    assert_eq!(usage(&stuck, now())["requests.cpu"], Quantity::parse("1").unwrap(), "not exceeded");
}

#[test]
fn services_and_claims_charge_their_own_resources() {
    let service = |type_: &str| {
        object(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "test"},
            "spec": {"type": type_, "ports": [{"port": 80}, {"port": 443}]}}))
    };
    let base = [("count/services", "1"), ("services", "1")];
    let with = |extra: &[(&'static str, &'static str)]| list(&[&base[..], extra].concat());
    assert_eq!(
        usage(&service("ClusterIP"), now()),
        with(&[("services.loadbalancers", "0"), ("services.nodeports", "0")])
    );
    assert_eq!(
        usage(&service("NodePort"), now()),
        with(&[("services.loadbalancers", "0"), ("services.nodeports", "2")])
    );
    assert_eq!(
        usage(&service("LoadBalancer"), now()),
        with(&[("services.loadbalancers", "1"), ("services.nodeports", "2")])
    );
    let claim = object(
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "test"},
        "spec": {"resources": {"requests": {"storage": "10Gi"}}}, "status": {"allocatedResources": {"storage": "12Gi"}}}),
    );
    assert_eq!(
        usage(&claim, now()),
        list(&[("count/persistentvolumeclaims", "1"), ("persistentvolumeclaims", "1"), ("requests.storage", "12Gi")])
    );
    let config_map =
        object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "test"}}));
    assert_eq!(usage(&config_map, now()), list(&[("configmaps", "1"), ("count/configmaps", "1")]));
    let deployment =
        object(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "test"}}));
    assert_eq!(usage(&deployment, now()), list(&[("count/deployments.apps", "1")]));
}

#[test]
fn scopes_select_pods_as_kubernetes_does() {
    let spec = |scopes: &[&str]| k8s_openapi::api::core::v1::ResourceQuotaSpec {
        scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    };
    let best_effort = pod_with(json!({"containers": [{"name": "c", "image": "i"}]}));
    let burstable =
        pod_with(json!({"containers": [container(json!({"cpu": "1"}), json!({}))], "activeDeadlineSeconds": 30}));
    let cases = [
        (spec(&[]), &best_effort, true),
        (spec(&["BestEffort"]), &best_effort, true),
        (spec(&["BestEffort"]), &burstable, false),
        (spec(&["NotBestEffort"]), &burstable, true),
        (spec(&["Terminating"]), &burstable, true),
        (spec(&["Terminating"]), &best_effort, false),
        (spec(&["NotTerminating"]), &best_effort, true),
        (spec(&["NotTerminating", "BestEffort"]), &best_effort, true),
    ];
    for (index, (spec, pod, expected)) in cases.into_iter().enumerate() {
        assert_eq!(quota_matches(&spec, pod), expected, "case {index}");
    }
    let mut priority = spec(&[]);
    priority.scope_selector = serde_json::from_value(json!({"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}))
    .unwrap();
    let mut high = best_effort.clone();
    high.fields["spec"]["priorityClassName"] = "high".into();
    assert!(quota_matches(&priority, &high));
    assert!(!quota_matches(&priority, &best_effort));
    let config_map =
        object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "test"}}));
    assert!(!quota_matches(&spec(&["BestEffort"]), &config_map), "scoped quotas only track pods");
}

fn quota(name: &str, hard: Value, used: Option<Value>) -> ResourceQuota {
    let mut value = json!({"apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": name, "namespace": "test", "resourceVersion": "1"}, "spec": {"hard": hard}});
    if let Some(used) = used {
        value["status"] = json!({"hard": hard, "used": used});
    }
    serde_json::from_value(value).unwrap()
}

#[test]
fn the_controller_sums_what_matching_objects_charge() {
    let pods = [
        pod_with(json!({"containers": [container(json!({"cpu": "500m", "memory": "1Gi"}), json!({"cpu": "1"}))]})),
        pod_with(json!({"containers": [container(json!({"cpu": "250m"}), json!({}))]})),
        object(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "elsewhere", "namespace": "other"},
            "spec": {"containers": [container(json!({"cpu": "4"}), json!({}))]}})),
    ];
    let quota =
        quota("compute", json!({"pods": "10", "requests.cpu": "2", "limits.cpu": "4", "configmaps": "3"}), None);
    let reconciled = reconcile_resource_quota(&quota, &pods, now());
    let [Action::UpdateStatus { object }] = reconciled.actions.as_slice() else { panic!("{:?}", reconciled.actions) };
    let status = object.to_typed::<ResourceQuota>().unwrap().status.unwrap();
    let used: Vec<(String, String)> = status.used.unwrap().into_iter().map(|(k, v)| (k, v.0)).collect();
    let expected = [("configmaps", "0"), ("limits.cpu", "1"), ("pods", "2"), ("requests.cpu", "750m")];
    assert_eq!(used, expected.map(|(k, v)| (k.to_string(), v.to_string())));
    assert_eq!(reconciled.requeue_after, Some(RESOURCE_QUOTA_SYNC_PERIOD));
    let synced: ResourceQuota = object.to_typed().unwrap();
    assert!(
        reconcile_resource_quota(&synced, &pods, now()).actions.is_empty(),
        "an up-to-date status is not rewritten"
    );
}

/// A server with namespace `test` and the given quotas, their status as given.
fn server_with(quotas: &[ResourceQuota]) -> ApiServer<MemoryStore> {
    let mut server = ApiServer::new(MemoryStore::new(), 7);
    server.bootstrap(now()).unwrap();
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "test"}});
    assert_eq!(send(&mut server, ApiRequest::new(Method::Post, "/api/v1/namespaces").with_json(&namespace)).0, 201);
    for quota in quotas {
        let mut body = serde_json::to_value(quota).unwrap();
        body["metadata"].as_object_mut().unwrap().remove("resourceVersion");
        let path = "/api/v1/namespaces/test/resourcequotas";
        let (status, mut stored) = send(&mut server, ApiRequest::new(Method::Post, path).with_json(&body));
        assert_eq!(status, 201, "{stored}");
        if let Some(status) = body.get("status") {
            stored["status"] = status.clone();
            let path = format!("{path}/{}/status", quota.metadata.name.as_deref().unwrap());
            assert_eq!(send(&mut server, ApiRequest::new(Method::Put, &path).with_json(&stored)).0, 200);
        }
    }
    server
}

fn create_pod(server: &mut ApiServer<MemoryStore>, name: &str, spec: Value) -> (u16, Value) {
    let body = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec});
    send(server, ApiRequest::new(Method::Post, "/api/v1/namespaces/test/pods").with_json(&body))
}

fn used_of(server: &mut ApiServer<MemoryStore>, name: &str) -> Value {
    send(server, ApiRequest::new(Method::Get, &format!("/api/v1/namespaces/test/resourcequotas/{name}"))).1["status"]["used"]
        .clone()
}

fn compute_quota() -> ResourceQuota {
    quota(
        "quota",
        json!({"cpu": "3", "memory": "100Gi", "pods": "5"}),
        Some(json!({"cpu": "1", "memory": "50Gi", "pods": "3"})),
    )
}

#[test]
fn a_pod_below_the_limit_is_admitted_and_charged() {
    // TestAdmitBelowQuotaLimit.
    let mut server = server_with(&[compute_quota()]);
    let spec = json!({"containers": [container(json!({"cpu": "100m", "memory": "2Gi"}), json!({}))]});
    assert_eq!(create_pod(&mut server, "allowed-pod", spec).0, 201);
    assert_eq!(used_of(&mut server, "quota"), json!({"cpu": "1100m", "memory": "52Gi", "pods": "4"}));
}

#[test]
fn a_pod_above_the_limit_is_forbidden_with_kubernetes_message() {
    // TestAdmitExceedQuotaLimit.
    let mut server = server_with(&[compute_quota()]);
    let spec = json!({"containers": [container(json!({"cpu": "3", "memory": "2Gi"}), json!({}))]});
    let (status, body) = create_pod(&mut server, "not-allowed-pod", spec);
    assert_eq!(status, 403);
    assert_eq!(
        body["message"],
        "pods \"not-allowed-pod\" is forbidden: exceeded quota: quota, requested: cpu=3, used: cpu=1, limited: cpu=3"
    );
    assert_eq!(used_of(&mut server, "quota"), json!({"cpu": "1", "memory": "50Gi", "pods": "3"}), "nothing charged");
}

#[test]
fn a_quota_on_limits_requires_every_container_to_declare_them() {
    // TestAdmitEnforceQuotaConstraints.
    let quota = quota(
        "quota",
        json!({"cpu": "3", "memory": "100Gi", "limits.cpu": "200m", "limits.memory": "200Mi", "pods": "5"}),
        Some(json!({"cpu": "1", "memory": "50Gi", "limits.cpu": "100m", "limits.memory": "100Mi", "pods": "3"})),
    );
    let mut server = server_with(&[quota]);
    let mut second = container(json!({"cpu": "100m", "memory": "2Gi"}), json!({"cpu": "100m"}));
    second["name"] = "sidecar".into();
    let spec = json!({"containers": [container(json!({"cpu": "100m", "memory": "2Gi"}), json!({})), second]});
    let (status, body) = create_pod(&mut server, "not-allowed-pod", spec);
    assert_eq!(status, 403);
    assert_eq!(
        body["message"],
        "pods \"not-allowed-pod\" is forbidden: failed quota: quota: must specify limits.cpu for: c; limits.memory for: c,sidecar"
    );
}

#[test]
fn scoped_quotas_charge_only_the_pods_they_select() {
    // TestAdmitBelowTerminatingQuotaLimit and TestAdmitBelowBestEffortQuotaLimit.
    let scoped = |name: &str, scope: &str| {
        let mut quota = quota(name, json!({"pods": "5"}), Some(json!({"pods": "3"})));
        quota.spec.as_mut().unwrap().scopes = Some(vec![scope.to_string()]);
        quota
    };
    let mut server = server_with(&[
        scoped("quota-terminating", "Terminating"),
        scoped("quota-non-terminating", "NotTerminating"),
        scoped("quota-besteffort", "BestEffort"),
        scoped("quota-not-besteffort", "NotBestEffort"),
    ]);
    let spec = json!({"activeDeadlineSeconds": 60, "containers": [container(json!({"cpu": "100m"}), json!({}))]});
    assert_eq!(create_pod(&mut server, "burstable-terminating", spec).0, 201);
    let spec = json!({"containers": [{"name": "c", "image": "i"}]});
    assert_eq!(create_pod(&mut server, "best-effort", spec).0, 201);
    let pods = |server: &mut ApiServer<MemoryStore>, name: &str| used_of(server, name)["pods"].clone();
    assert_eq!(pods(&mut server, "quota-terminating"), "4");
    assert_eq!(pods(&mut server, "quota-non-terminating"), "4");
    assert_eq!(pods(&mut server, "quota-besteffort"), "4");
    assert_eq!(pods(&mut server, "quota-not-besteffort"), "4");
}

#[test]
fn a_quota_whose_usage_is_not_known_yet_refuses_what_it_limits() {
    let mut unsynced = quota("quota", json!({"pods": "5"}), Some(json!({})));
    unsynced.status.as_mut().unwrap().used = None;
    let mut server = server_with(&[unsynced]);
    let (status, body) = create_pod(&mut server, "p", json!({"containers": [{"name": "c", "image": "i"}]}));
    assert_eq!(status, 403);
    assert_eq!(body["message"], "pods \"p\" is forbidden: status unknown for quota: quota, resources: pods");
}

#[test]
fn node_ports_beyond_the_quota_are_refused() {
    let quota = quota("services", json!({"services.nodeports": "2"}), Some(json!({"services.nodeports": "1"})));
    let mut server = server_with(&[quota]);
    let body = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}});
    let (status, body) =
        send(&mut server, ApiRequest::new(Method::Post, "/api/v1/namespaces/test/services").with_json(&body));
    assert_eq!(status, 403);
    assert_eq!(
        body["message"],
        "services \"web\" is forbidden: exceeded quota: services, requested: services.nodeports=2, used: services.nodeports=1, limited: services.nodeports=2"
    );
}

#[test]
fn the_controller_and_admission_together_cap_a_namespace() {
    let fresh = quota("pods", json!({"pods": "2", "count/configmaps": "1"}), None);
    let mut server = server_with(&[fresh]);
    let sync = |server: &mut ApiServer<MemoryStore>| {
        let objects = observe(server);
        let quota: ResourceQuota = objects.iter().find(|o| o.kind == "ResourceQuota").unwrap().to_typed().unwrap();
        apply(server, &reconcile_resource_quota(&quota, &objects, now()));
    };
    sync(&mut server);
    assert_eq!(used_of(&mut server, "pods"), json!({"count/configmaps": "0", "pods": "0"}));
    let spec = json!({"containers": [{"name": "c", "image": "i"}]});
    assert_eq!(create_pod(&mut server, "a", spec.clone()).0, 201);
    assert_eq!(create_pod(&mut server, "b", spec.clone()).0, 201);
    let (status, body) = create_pod(&mut server, "c", spec.clone());
    assert_eq!(
        (status, body["message"].as_str().unwrap()),
        (403, "pods \"c\" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2")
    );
    assert_eq!(send(&mut server, ApiRequest::new(Method::Delete, "/api/v1/namespaces/test/pods/a")).0, 200);
    // Admission never uncharges; the controller's recount does.
    assert_eq!(create_pod(&mut server, "c", spec.clone()).0, 403);
    sync(&mut server);
    assert_eq!(create_pod(&mut server, "c", spec).0, 201);
}

#[test]
fn turning_a_service_into_a_node_port_charges_only_the_growth() {
    let quota = quota("services", json!({"services.nodeports": "2"}), Some(json!({"services.nodeports": "0"})));
    let mut server = server_with(&[quota]);
    let body = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "a", "port": 80}]}});
    let path = "/api/v1/namespaces/test/services";
    assert_eq!(send(&mut server, ApiRequest::new(Method::Post, path).with_json(&body)).0, 201);
    let patch = |server: &mut ApiServer<MemoryStore>, patch: Value| {
        let request = ApiRequest::new(Method::Patch, &format!("{path}/web"))
            .with_body("application/merge-patch+json", serde_json::to_vec(&patch).unwrap());
        send(server, request)
    };
    assert_eq!(patch(&mut server, json!({"spec": {"type": "NodePort"}})).0, 200);
    assert_eq!(used_of(&mut server, "services")["services.nodeports"], "1");
    let (status, body) = patch(
        &mut server,
        json!({"spec": {"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}, {"name": "c", "port": 82}]}}),
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["message"],
        "services \"web\" is forbidden: exceeded quota: services, requested: services.nodeports=2, used: services.nodeports=1, limited: services.nodeports=2"
    );
}
