//! End-to-end tests of the controllers that read every kind (garbagecollector, namespace,
//! serviceaccount, disruption, resourcequota): the manager, the scheduler and an instant kubelet
//! against one in-memory API server, driven only through the API as a user would.

use std::time::Duration;

use serde_json::{Value, json};

use super::kinds::ControllerKind;
use super::{ControllerManager, ControllerManagerConfig};
use crate::api::Method;
use crate::client::Component;
use crate::scheduler::component::SchedulerComponent;
use crate::testing::{InstantKubelet, TestCluster, default_scheduler};

const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/default/deployments/web";
const REPLICA_SETS: &str = "/apis/apps/v1/namespaces/default/replicasets";
const PODS: &str = "/api/v1/namespaces/default/pods";

/// The manager, the scheduler and a kubelet, run together.
struct Cluster {
    api: TestCluster,
    manager: ControllerManager,
    scheduler: SchedulerComponent,
    kubelet: InstantKubelet,
}

impl Cluster {
    fn new() -> Cluster {
        Cluster {
            api: TestCluster::new(2),
            manager: ControllerManager::new(ControllerManagerConfig::default()),
            scheduler: default_scheduler(),
            kubelet: InstantKubelet::new(),
        }
    }

    /// Runs every component until `done` holds, for at most `seconds` of simulated time.
    fn run_until(&mut self, seconds: u64, done: impl FnMut(&mut TestCluster) -> bool) -> bool {
        let components: &mut [&mut dyn Component] = &mut [&mut self.manager, &mut self.scheduler, &mut self.kubelet];
        self.api.run_until(components, Duration::from_secs(seconds), done)
    }

    fn send(&mut self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.api.send(method, path, body)
    }

    fn create(&mut self, path: &str, body: Value) {
        let (status, answer) = self.send(Method::Post, path, Some(body));
        assert_eq!(status, 201, "POST {path}: {answer}");
    }

    /// Deletes with a propagation policy, as `kubectl delete --cascade=…` does.
    fn delete(&mut self, path: &str, policy: &str) -> u16 {
        let options = json!({"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": policy});
        self.send(Method::Delete, path, Some(options)).0
    }

    /// A Deployment `web` in `namespace` with `replicas` running pods.
    fn deploy(&mut self, namespace: &str, replicas: i32) {
        self.create(&format!("/apis/apps/v1/namespaces/{namespace}/deployments"), deployment(namespace, replicas));
        let pods = format!("/api/v1/namespaces/{namespace}/pods");
        let ready = self.run_until(60, |api| running(&items(api, &pods)) == replicas as usize);
        assert!(ready, "{replicas} pods run");
    }
}

fn deployment(namespace: &str, replicas: i32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "web:v1",
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}
            }
        }
    })
}

fn items(api: &mut TestCluster, path: &str) -> Vec<Value> {
    api.get(path)["items"].as_array().cloned().unwrap_or_default()
}

fn running(pods: &[Value]) -> usize {
    pods.iter()
        .filter(|pod| pod["status"]["phase"] == "Running" && pod["metadata"]["deletionTimestamp"].is_null())
        .count()
}

/// No ownerReferences left (the API may leave an empty list behind).
fn unowned(object: &Value) -> bool {
    object["metadata"]["ownerReferences"].as_array().is_none_or(Vec::is_empty)
}

fn exists(api: &mut TestCluster, path: &str) -> bool {
    api.send(Method::Get, path, None).0 == 200
}

#[test]
fn the_new_controllers_are_named_as_kube_controller_manager_names_them() {
    let names = ["garbagecollector", "namespace", "disruption", "serviceaccount", "resourcequota"];
    for name in names {
        let kind = ControllerKind::from_name(name).expect("a known controller");
        assert_eq!(kind.name(), name);
        assert!(kind.reads_every_kind());
        assert!(ControllerManagerConfig::default().controllers.contains(&kind), "{name} runs by default");
    }
}

#[test]
fn a_background_delete_of_a_deployment_removes_its_replica_sets_and_pods() {
    let mut cluster = Cluster::new();
    cluster.deploy("default", 3);
    assert_eq!(cluster.delete(DEPLOYMENT, "Background"), 200);
    assert!(!exists(&mut cluster.api, DEPLOYMENT), "a background delete removes the owner at once");
    let gone = cluster.run_until(60, |api| items(api, REPLICA_SETS).is_empty() && items(api, PODS).is_empty());
    assert!(gone, "the collector deletes the ReplicaSet and, through it, the pods");
    assert_eq!(cluster.manager.stats().reconcile_errors, 0);
}

#[test]
fn a_foreground_delete_keeps_the_deployment_until_its_dependents_are_gone() {
    let mut cluster = Cluster::new();
    cluster.deploy("default", 3);
    assert_eq!(cluster.delete(DEPLOYMENT, "Foreground"), 200, "marked, not yet deleted");
    let owner = cluster.api.get(DEPLOYMENT);
    assert!(owner["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(owner["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    let mut owner_outlived_dependents = true;
    let gone = cluster.run_until(60, |api| {
        let dependents = items(api, REPLICA_SETS).len() + items(api, PODS).len();
        let owner = exists(api, DEPLOYMENT);
        if !owner && dependents > 0 {
            owner_outlived_dependents = false;
        }
        !owner
    });
    assert!(gone, "the Deployment goes once its dependents are gone");
    assert!(owner_outlived_dependents, "the Deployment never went before its ReplicaSet and pods");
    assert!(items(&mut cluster.api, REPLICA_SETS).is_empty());
    assert!(items(&mut cluster.api, PODS).is_empty());
}

#[test]
fn an_orphan_delete_leaves_the_dependents_without_owner_references() {
    let mut cluster = Cluster::new();
    cluster.deploy("default", 3);
    assert_eq!(cluster.delete(DEPLOYMENT, "Orphan"), 200, "marked, not yet deleted");
    let orphaned =
        cluster.run_until(30, |api| !exists(api, DEPLOYMENT) && items(api, REPLICA_SETS).iter().all(unowned));
    assert!(orphaned, "the Deployment goes once its ReplicaSet no longer names it");
    let sets = items(&mut cluster.api, REPLICA_SETS);
    assert_eq!(sets.len(), 1, "the ReplicaSet stays");
    let set = sets[0]["metadata"]["name"].as_str().unwrap_or_default().to_string();

    // Orphaning the ReplicaSet too leaves bare pods.
    let path = format!("{REPLICA_SETS}/{set}");
    assert_eq!(cluster.delete(&path, "Orphan"), 200, "marked, not yet deleted");
    let bare = cluster.run_until(30, |api| !exists(api, &path) && items(api, PODS).iter().all(unowned));
    assert!(bare, "the ReplicaSet goes and its pods lose their ownerReference");
    cluster.run_until(10, |_| false);
    assert_eq!(running(&items(&mut cluster.api, PODS)), 3, "the orphans keep running");
}

#[test]
fn an_object_whose_owner_never_existed_is_collected() {
    let mut cluster = Cluster::new();
    let owned = |name: &str, uid: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gone", "uid": uid}]}})
    };
    cluster.create("/api/v1/namespaces/default/configmaps", owned("dangling", "no-such-uid"));
    // A live owner keeps its dependent.
    cluster.create("/apis/apps/v1/namespaces/default/deployments", deployment("default", 1));
    let uid = cluster.api.get(DEPLOYMENT)["metadata"]["uid"].as_str().unwrap_or_default().to_string();
    let mut kept = owned("kept", &uid);
    kept["metadata"]["ownerReferences"][0]["name"] = json!("web");
    cluster.create("/api/v1/namespaces/default/configmaps", kept);
    let collected = cluster.run_until(30, |api| !exists(api, "/api/v1/namespaces/default/configmaps/dangling"));
    assert!(collected, "a dangling ownerReference gets its dependent deleted");
    cluster.run_until(5, |_| false);
    assert!(exists(&mut cluster.api, "/api/v1/namespaces/default/configmaps/kept"));
}

#[test]
fn deleting_a_namespace_deletes_everything_in_it_and_then_the_namespace() {
    let mut cluster = Cluster::new();
    cluster
        .create("/api/v1/namespaces", json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}));
    cluster.deploy("shop", 2);
    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}});
    cluster.create("/api/v1/namespaces/shop/services", service);
    let config_map =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"}});
    cluster.create("/api/v1/namespaces/shop/configmaps", config_map);
    assert!(cluster.run_until(10, |api| exists(api, "/api/v1/namespaces/shop/endpoints/web")));

    let (status, namespace) = cluster.send(Method::Delete, "/api/v1/namespaces/shop", None);
    assert_eq!(status, 200, "{namespace}");
    assert_eq!(namespace["status"]["phase"], "Terminating");
    let content = [
        "/apis/apps/v1/namespaces/shop/deployments",
        "/apis/apps/v1/namespaces/shop/replicasets",
        "/api/v1/namespaces/shop/pods",
        "/api/v1/namespaces/shop/services",
        "/api/v1/namespaces/shop/endpoints",
        "/api/v1/namespaces/shop/configmaps",
        "/api/v1/namespaces/shop/serviceaccounts",
    ];
    let mut emptied_first = true;
    let gone = cluster.run_until(120, |api| {
        let gone = !exists(api, "/api/v1/namespaces/shop");
        if gone && content.iter().any(|path| !items(api, path).is_empty()) {
            emptied_first = false;
        }
        gone
    });
    assert!(gone, "the namespace is finalized once empty");
    assert!(emptied_first, "nothing was left in the namespace when it went");
    for path in content {
        assert!(items(&mut cluster.api, path).is_empty(), "{path} is empty");
    }
}

#[test]
fn a_new_namespace_gets_its_default_service_account() {
    let mut cluster = Cluster::new();
    cluster
        .create("/api/v1/namespaces", json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}));
    let path = "/api/v1/namespaces/team/serviceaccounts/default";
    assert!(cluster.run_until(10, |api| exists(api, path)));
    assert_eq!(cluster.send(Method::Delete, path, None).0, 200);
    assert!(cluster.run_until(10, |api| exists(api, path)), "a deleted default ServiceAccount comes back");
}

fn budget_status(api: &mut TestCluster) -> Value {
    api.get("/apis/policy/v1/namespaces/default/poddisruptionbudgets/web")["status"].clone()
}

fn evict(cluster: &mut Cluster, pod: &str) -> (u16, Value) {
    let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": pod, "namespace": "default"}});
    cluster.send(Method::Post, &format!("{PODS}/{pod}/eviction"), Some(eviction))
}

#[test]
fn a_disruption_budget_follows_ready_pods_and_guards_evictions() {
    let mut cluster = Cluster::new();
    cluster.deploy("default", 3);
    let budget = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"minAvailable": 3, "selector": {"matchLabels": {"app": "web"}}}});
    cluster.create("/apis/policy/v1/namespaces/default/poddisruptionbudgets", budget);
    assert!(cluster.run_until(10, |api| budget_status(api)["observedGeneration"] == 1));
    let status = budget_status(&mut cluster.api);
    let counts = |status: &Value| {
        ["expectedPods", "currentHealthy", "desiredHealthy", "disruptionsAllowed"].map(|field| status[field].as_i64())
    };
    assert_eq!(counts(&status), [Some(3), Some(3), Some(3), Some(0)]);

    let pods = items(&mut cluster.api, PODS);
    let victim = pods[0]["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let (code, refused) = evict(&mut cluster, &victim);
    assert_eq!(code, 429, "{refused}");
    assert_eq!(refused["message"], "Cannot evict pod as it would violate the pod's disruption budget.");
    assert_eq!(
        refused["details"]["causes"][0]["message"],
        "The disruption budget web needs 3 healthy pods and has 3 currently"
    );

    let patch = json!({"spec": {"minAvailable": 2}});
    let path = "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web";
    assert_eq!(cluster.send(Method::Patch, path, Some(patch)).0, 200);
    assert!(cluster.run_until(10, |api| budget_status(api)["disruptionsAllowed"] == 1));
    assert_eq!(counts(&budget_status(&mut cluster.api)), [Some(3), Some(3), Some(2), Some(1)]);
    let (code, allowed) = evict(&mut cluster, &victim);
    assert_eq!(code, 201, "{allowed}");

    // The evicted pod is replaced; once the replacement is ready, one disruption is allowed again.
    let recovered = cluster.run_until(60, |api| {
        let status = budget_status(api);
        status["currentHealthy"] == 3 && status["disruptionsAllowed"] == 1
    });
    assert!(recovered, "the budget follows the replacement pod");
    assert!(!items(&mut cluster.api, PODS).iter().any(|pod| pod["metadata"]["name"] == victim.as_str()));
}

fn bare_pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
}

fn used_pods(api: &mut TestCluster) -> Option<String> {
    let quota = api.get("/api/v1/namespaces/default/resourcequotas/q");
    quota["status"]["used"]["pods"].as_str().map(str::to_string)
}

#[test]
fn a_resource_quota_counts_pods_as_they_come_and_go_and_refuses_the_one_too_many() {
    let mut cluster = Cluster::new();
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "q", "namespace": "default"}, "spec": {"hard": {"pods": "2"}}});
    cluster.create("/api/v1/namespaces/default/resourcequotas", quota);
    // As in Kubernetes, admission only enforces what the controller has put in status.hard.
    cluster.create(PODS, bare_pod("early"));

    assert!(cluster.run_until(10, |api| used_pods(api).as_deref() == Some("1")), "the controller counts the pod");
    let quota = cluster.api.get("/api/v1/namespaces/default/resourcequotas/q");
    assert_eq!(quota["status"]["hard"], json!({"pods": "2"}));
    cluster.create(PODS, bare_pod("a"));
    assert!(cluster.run_until(10, |api| running(&items(api, PODS)) == 2));
    assert_eq!(used_pods(&mut cluster.api).as_deref(), Some("2"));
    let (status, refused) = cluster.send(Method::Post, PODS, Some(bare_pod("c")));
    assert_eq!(status, 403, "{refused}");
    assert_eq!(
        refused["message"],
        "pods \"c\" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2"
    );

    let (status, _) = cluster.send(Method::Delete, &format!("{PODS}/a"), None);
    assert_eq!(status, 200, "deleted");
    let released = cluster.run_until(60, |api| used_pods(api).as_deref() == Some("1"));
    assert!(released, "the deleted pod no longer counts");
    cluster.create(PODS, bare_pod("c"));
}
