//! End-to-end tests through the API: the controller manager, the scheduler component and an
//! instant kubelet against one in-memory API server, the way `cox server` and the simulator run
//! them.

use std::time::Duration;

use serde_json::{Value, json};

use super::{ControllerManager, ControllerManagerConfig};
use crate::api::Method;
use crate::client::Component;
use crate::client::leader_election::LeaderElectionConfig;
use crate::testing::{InstantKubelet, Stoppable, TestCluster, default_scheduler};

fn deployment(replicas: i32, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image,
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}
            }
        }
    })
}

fn pods(cluster: &mut TestCluster) -> Vec<Value> {
    cluster.get("/api/v1/namespaces/default/pods")["items"].as_array().cloned().unwrap_or_default()
}

fn images_of_running_pods(cluster: &mut TestCluster) -> Vec<String> {
    let mut images: Vec<String> = pods(cluster)
        .iter()
        .filter(|pod| pod["status"]["phase"] == "Running" && pod["metadata"]["deletionTimestamp"].is_null())
        .map(|pod| pod["spec"]["containers"][0]["image"].as_str().unwrap_or_default().to_string())
        .collect();
    images.sort();
    images
}

/// What `kubectl rollout status` waits for: the controller saw the latest generation and every
/// replica is updated and available.
fn rolled_out(cluster: &mut TestCluster, replicas: i64) -> bool {
    let deployment = cluster.get("/apis/apps/v1/namespaces/default/deployments/web");
    let status = &deployment["status"];
    status["observedGeneration"] == deployment["metadata"]["generation"]
        && status["updatedReplicas"].as_i64() == Some(replicas)
        && status["availableReplicas"].as_i64() == Some(replicas)
        && status["replicas"].as_i64() == Some(replicas)
}

#[test]
fn a_deployment_rolls_out_scales_and_rolls_back_through_the_api() {
    let mut cluster = TestCluster::new(3);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    let (status, body) =
        cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/deployments", Some(deployment(3, "web:v1")));
    assert_eq!(status, 201, "{body}");

    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    assert!(cluster.run_until(components, Duration::from_secs(60), |cluster| rolled_out(cluster, 3)));
    assert_eq!(images_of_running_pods(&mut cluster), vec!["web:v1"; 3]);
    for pod in pods(&mut cluster) {
        assert!(pod["spec"]["nodeName"].as_str().is_some_and(|node| node.starts_with("node-")), "bound: {pod}");
    }

    // A new image rolls out: every running pod ends on v2, at revision 2.
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:v2"}]}}}});
    let (status, body) = cluster.send(Method::Patch, "/apis/apps/v1/namespaces/default/deployments/web", Some(patch));
    assert_eq!(status, 200, "{body}");
    assert!(cluster.run_until(components, Duration::from_secs(120), |cluster| {
        rolled_out(cluster, 3) && images_of_running_pods(cluster) == vec!["web:v2"; 3]
    }));
    let deployment = cluster.get("/apis/apps/v1/namespaces/default/deployments/web");
    assert_eq!(deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "2");
    let replica_sets = cluster.get("/apis/apps/v1/namespaces/default/replicasets")["items"].clone();
    assert_eq!(replica_sets.as_array().map(Vec::len), Some(2), "old and new ReplicaSet");

    // Scaling up while at v2.
    let patch = json!({"spec": {"replicas": 5}});
    cluster.send(Method::Patch, "/apis/apps/v1/namespaces/default/deployments/web", Some(patch));
    assert!(cluster.run_until(components, Duration::from_secs(60), |cluster| rolled_out(cluster, 5)));
    assert_eq!(images_of_running_pods(&mut cluster), vec!["web:v2"; 5]);

    // Rolling back to v1 (what `kubectl rollout undo` leaves in the template).
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:v1"}]}}}});
    cluster.send(Method::Patch, "/apis/apps/v1/namespaces/default/deployments/web", Some(patch));
    assert!(cluster.run_until(components, Duration::from_secs(120), |cluster| {
        rolled_out(cluster, 5) && images_of_running_pods(cluster) == vec!["web:v1"; 5]
    }));
    let replica_sets = cluster.get("/apis/apps/v1/namespaces/default/replicasets")["items"].clone();
    assert_eq!(replica_sets.as_array().map(Vec::len), Some(2), "the v1 ReplicaSet is reused, not duplicated");
    let deployment = cluster.get("/apis/apps/v1/namespaces/default/deployments/web");
    assert_eq!(deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "3");
    assert_eq!(manager.stats().reconcile_errors, 0);
}

#[test]
fn lost_watches_resume_without_creating_a_pod_twice() {
    let mut cluster = TestCluster::new(2);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/deployments", Some(deployment(4, "web:v1")));
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    cluster.loopback.settle(components, cluster.now).unwrap();
    cluster.loopback.drop_watches();
    assert!(cluster.run_until(components, Duration::from_secs(60), |cluster| rolled_out(cluster, 4)));
    for _ in 0..3 {
        cluster.loopback.drop_watches();
        cluster.run_until(components, Duration::from_secs(5), |_| false);
    }
    assert_eq!(pods(&mut cluster).len(), 4, "exactly the replicas, never a duplicate");
}

#[test]
fn only_the_lease_holder_acts_and_a_standby_takes_over_after_the_lease_expires() {
    let mut cluster = TestCluster::new(1);
    let config = |identity: &str| ControllerManagerConfig {
        leader_election: Some(LeaderElectionConfig::new("kube-controller-manager", identity)),
        ..ControllerManagerConfig::default()
    };
    let mut first = Stoppable::new(ControllerManager::new(config("first")));
    let mut second = ControllerManager::new(config("second"));
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/deployments", Some(deployment(2, "web:v1")));
    {
        let components: &mut [&mut dyn Component] = &mut [&mut first, &mut second, &mut scheduler, &mut kubelet];
        assert!(cluster.run_until(components, Duration::from_secs(60), |cluster| rolled_out(cluster, 2)));
        cluster.run_until(components, Duration::from_secs(30), |_| false);
    }
    assert!(first.inner.is_leader(cluster.now), "the first candidate took the lease");
    assert!(!second.is_leader(cluster.now), "never two leaders");
    assert_eq!(second.stats().syncs, 0, "the standby reconciled nothing");
    let lease = cluster.get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager");
    assert_eq!(lease["spec"]["holderIdentity"], "first");

    // The leader stops; the standby waits out the lease, then acts.
    first.stopped = true;
    let patch = json!({"spec": {"replicas": 3}});
    cluster.send(Method::Patch, "/apis/apps/v1/namespaces/default/deployments/web", Some(patch));
    let components: &mut [&mut dyn Component] = &mut [&mut first, &mut second, &mut scheduler, &mut kubelet];
    let stopped_at = cluster.now;
    assert!(cluster.run_until(components, Duration::from_secs(60), |cluster| rolled_out(cluster, 3)));
    assert!(second.is_leader(cluster.now));
    let waited = cluster.now.duration_since(stopped_at);
    assert!(waited.as_secs() >= 13, "the standby waited for the 15 s lease to expire, not {waited:?}");
    let lease = cluster.get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager");
    assert_eq!(lease["spec"]["holderIdentity"], "second");
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
}

#[test]
fn a_job_runs_to_completion_through_the_api() {
    let mut cluster = TestCluster::new(2);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    let job = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "pi", "namespace": "default"},
        "spec": {"completions": 3, "parallelism": 2,
                 "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl"}]}}}
    });
    let (status, body) = cluster.send(Method::Post, "/apis/batch/v1/namespaces/default/jobs", Some(job));
    assert_eq!(status, 201, "{body}");
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    assert!(cluster.run_until(components, Duration::from_secs(30), |cluster| pods(cluster).len() == 2));
    // The containers finish: mark every running pod Succeeded, as a kubelet would.
    let mut succeeded = 0;
    while succeeded < 3 {
        for mut pod in pods(&mut cluster) {
            if pod["status"]["phase"] != "Running" {
                continue;
            }
            pod["status"]["phase"] = json!("Succeeded");
            pod["status"]["conditions"] = json!([{"type": "Ready", "status": "False"}]);
            pod["apiVersion"] = json!("v1");
            pod["kind"] = json!("Pod");
            let name = pod["metadata"]["name"].as_str().unwrap().to_string();
            let path = format!("/api/v1/namespaces/default/pods/{name}/status");
            let (status, body) = cluster.send(Method::Put, &path, Some(pod));
            assert_eq!(status, 200, "{body}");
            succeeded += 1;
        }
        cluster.run_until(components, Duration::from_secs(5), |_| false);
    }
    assert!(cluster.run_until(components, Duration::from_secs(30), |cluster| {
        let job = cluster.get("/apis/batch/v1/namespaces/default/jobs/pi");
        job["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Complete" && c["status"] == "True")
    }));
    let job = cluster.get("/apis/batch/v1/namespaces/default/jobs/pi");
    assert_eq!(job["status"]["succeeded"], 3);
}

fn stateful_set(replicas: i32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "serviceName": "web",
            "podManagementPolicy": "OrderedReady",
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx",
                    "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}]}]}
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "www"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
            }]
        }
    })
}

fn running_pod_names(cluster: &mut TestCluster) -> Vec<String> {
    let mut names: Vec<String> = pods(cluster)
        .iter()
        .filter(|pod| pod["status"]["phase"] == "Running")
        .map(|pod| pod["metadata"]["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn a_stateful_set_creates_its_pods_in_order_with_their_claims_through_the_api() {
    let mut cluster = TestCluster::new(3);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    let (status, body) =
        cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/statefulsets", Some(stateful_set(3)));
    assert_eq!(status, 201, "{body}");
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    // The claims get the default local-path class and are provisioned on their pods' nodes.
    assert!(cluster.run_until(components, Duration::from_secs(60), |cluster| {
        cluster.get("/apis/apps/v1/namespaces/default/statefulsets/web")["status"]["readyReplicas"] == 3
    }));
    assert_eq!(running_pod_names(&mut cluster), vec!["web-0", "web-1", "web-2"]);
    let mut claims: Vec<String> = cluster.get("/api/v1/namespaces/default/persistentvolumeclaims")["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|claim| claim["metadata"]["name"].as_str().unwrap_or_default().to_string())
        .collect();
    claims.sort();
    assert_eq!(claims, vec!["www-web-0", "www-web-1", "www-web-2"]);
    assert_eq!(manager.stats().reconcile_errors, 0);
}

#[test]
fn a_service_gets_endpoints_and_an_endpoint_slice_for_the_pods_it_selects() {
    let mut cluster = TestCluster::new(2);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/deployments", Some(deployment(2, "web:v1")));
    let service = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
    });
    let (status, body) = cluster.send(Method::Post, "/api/v1/namespaces/default/services", Some(service));
    assert_eq!(status, 201, "{body}");
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    let endpoint_ips = |cluster: &mut TestCluster| -> Vec<String> {
        let endpoints = cluster.get("/api/v1/namespaces/default/endpoints/web");
        let mut ips: Vec<String> = endpoints["subsets"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|subset| subset["addresses"].as_array().cloned().unwrap_or_default())
            .map(|address| address["ip"].as_str().unwrap_or_default().to_string())
            .collect();
        ips.sort();
        ips
    };
    let slice_endpoints = |cluster: &mut TestCluster| -> usize {
        let slices = cluster.get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices");
        slices["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|slice| slice["metadata"]["labels"]["kubernetes.io/service-name"] == "web")
            .map(|slice| slice["endpoints"].as_array().map_or(0, Vec::len))
            .sum()
    };
    assert!(cluster.run_until(components, Duration::from_secs(60), |cluster| {
        rolled_out(cluster, 2) && endpoint_ips(cluster).len() == 2 && slice_endpoints(cluster) == 2
    }));
    let mut pod_ips: Vec<String> =
        pods(&mut cluster).iter().map(|pod| pod["status"]["podIP"].as_str().unwrap_or_default().to_string()).collect();
    pod_ips.sort();
    assert_eq!(endpoint_ips(&mut cluster), pod_ips);
    let endpoints = cluster.get("/api/v1/namespaces/default/endpoints/web");
    assert_eq!(endpoints["subsets"][0]["ports"][0]["port"], 8080);
    assert_eq!(manager.stats().reconcile_errors, 0);
}

#[test]
fn a_daemon_set_runs_one_pod_on_every_node_placed_by_the_scheduler() {
    let mut cluster = TestCluster::new(3);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    let daemon_set = json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "agent", "image": "agent:v1"}]}
            }
        }
    });
    let (status, body) = cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/daemonsets", Some(daemon_set));
    assert_eq!(status, 201, "{body}");
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    assert!(cluster.run_until(components, Duration::from_secs(60), |cluster| {
        cluster.get("/apis/apps/v1/namespaces/default/daemonsets/agent")["status"]["numberReady"] == 3
    }));
    let mut nodes: Vec<String> = pods(&mut cluster)
        .iter()
        .filter(|pod| pod["status"]["phase"] == "Running")
        .map(|pod| {
            // The controller pins the pod with node affinity; the scheduler binds it there.
            let terms = &pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
            let pinned = &terms["nodeSelectorTerms"][0]["matchFields"][0]["values"][0];
            assert_eq!(pinned, &pod["spec"]["nodeName"], "{pod}");
            pod["spec"]["nodeName"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    nodes.sort();
    assert_eq!(nodes, vec!["node-0", "node-1", "node-2"]);
    assert_eq!(manager.stats().reconcile_errors, 0);
}

#[test]
fn a_cron_job_creates_a_job_once_the_clock_passes_the_minute() {
    let mut cluster = TestCluster::new(1);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let cron_job = json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "tick", "namespace": "default"},
        "spec": {
            "schedule": "*/1 * * * *",
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "tick", "image": "busybox"}]}}}}
        }
    });
    let (status, body) = cluster.send(Method::Post, "/apis/batch/v1/namespaces/default/cronjobs", Some(cron_job));
    assert_eq!(status, 201, "{body}");
    let jobs = |cluster: &mut TestCluster| -> Vec<Value> {
        cluster.get("/apis/batch/v1/namespaces/default/jobs")["items"].as_array().cloned().unwrap_or_default()
    };
    let components: &mut [&mut dyn Component] = &mut [&mut manager];
    cluster.run_until(components, Duration::from_secs(1), |_| false);
    assert!(jobs(&mut cluster).is_empty(), "nothing before the minute passes");
    assert!(cluster.run_until(components, Duration::from_secs(61), |cluster| !jobs(cluster).is_empty()));
    let job = &jobs(&mut cluster)[0];
    assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    assert_eq!(job["metadata"]["ownerReferences"][0]["name"], "tick");
    let cron_job = cluster.get("/apis/batch/v1/namespaces/default/cronjobs/tick");
    assert!(cron_job["status"]["lastScheduleTime"].is_string(), "{cron_job}");
    assert_eq!(manager.stats().reconcile_errors, 0);
}
