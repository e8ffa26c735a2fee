//! End-to-end tests of the storage controllers and the pod garbage collector through the API:
//! the controller manager, the scheduler component and an instant kubelet against one
//! in-memory API server that bootstrapped the default `local-path` StorageClass.

use std::time::Duration;

use serde_json::{Value, json};

use super::{ControllerManager, ControllerManagerConfig};
use crate::api::Method;
use crate::client::Component;
use crate::manifest::{ManifestEntry, read_manifest};
use crate::testing::{InstantKubelet, TestCluster, default_scheduler};

const CASSANDRA: &str =
    include_str!("../../../../tests/manifests/kubernetes-examples/databases/cassandra/cassandra-statefulset.yaml");

fn items(cluster: &mut TestCluster, path: &str) -> Vec<Value> {
    cluster.get(path)["items"].as_array().cloned().unwrap_or_default()
}

fn claims(cluster: &mut TestCluster) -> Vec<Value> {
    items(cluster, "/api/v1/namespaces/default/persistentvolumeclaims")
}

fn volumes(cluster: &mut TestCluster) -> Vec<Value> {
    items(cluster, "/api/v1/persistentvolumes")
}

fn pods(cluster: &mut TestCluster) -> Vec<Value> {
    items(cluster, "/api/v1/namespaces/default/pods")
}

/// The cassandra StatefulSet of the examples, its claim template's class annotation (a
/// minikube class) removed, as one does to run it on k3s' default local-path class.
fn cassandra_stateful_set() -> Value {
    let entries = read_manifest("cassandra-statefulset.yaml", CASSANDRA.as_bytes()).unwrap();
    let mut set = entries
        .into_iter()
        .find_map(|entry| match entry {
            ManifestEntry::Decoded { object, .. } if object.kind == "StatefulSet" => Some(object.to_value()),
            _ => None,
        })
        .expect("the manifest holds the StatefulSet");
    set["metadata"]["namespace"] = json!("default");
    for template in set["spec"]["volumeClaimTemplates"].as_array_mut().unwrap() {
        template["metadata"].as_object_mut().unwrap().remove("annotations");
    }
    set
}

#[test]
fn the_cassandra_stateful_set_comes_up_with_its_claims_bound_on_the_default_local_path_class() {
    let mut cluster = TestCluster::new(3);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    let (status, body) =
        cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/statefulsets", Some(cassandra_stateful_set()));
    assert_eq!(status, 201, "{body}");
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    assert!(cluster.run_until(components, Duration::from_secs(300), |cluster| {
        cluster.get("/apis/apps/v1/namespaces/default/statefulsets/cassandra")["status"]["readyReplicas"] == 3
    }));
    let claims = claims(&mut cluster);
    let mut names: Vec<&str> = claims.iter().filter_map(|claim| claim["metadata"]["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["cassandra-data-cassandra-0", "cassandra-data-cassandra-1", "cassandra-data-cassandra-2"]);
    let pods = pods(&mut cluster);
    for claim in &claims {
        assert_eq!(claim["spec"]["storageClassName"], "local-path", "{claim}");
        assert_eq!(claim["status"]["phase"], "Bound", "{claim}");
        assert_eq!(claim["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"], "yes");
        assert_eq!(claim["metadata"]["finalizers"], json!(["kubernetes.io/pvc-protection"]));
        let volume_name = claim["spec"]["volumeName"].as_str().unwrap();
        let volume = cluster.get(&format!("/api/v1/persistentvolumes/{volume_name}"));
        assert_eq!(volume["status"]["phase"], "Bound");
        assert_eq!(volume["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"], "rancher.io/local-path");
        assert_eq!(volume["spec"]["persistentVolumeReclaimPolicy"], "Delete");
        assert_eq!(volume["metadata"]["finalizers"], json!(["kubernetes.io/pv-protection"]));
        // The volume lives on the node its pod runs on.
        let claim_name = claim["metadata"]["name"].as_str().unwrap();
        let pod_name = claim_name.trim_start_matches("cassandra-data-");
        let pod = pods.iter().find(|pod| pod["metadata"]["name"] == pod_name).unwrap();
        let pinned = &volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0];
        assert_eq!(pinned["key"], "kubernetes.io/hostname");
        assert_eq!(pinned["values"], json!([pod["spec"]["nodeName"]]));
        assert_eq!(claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"], pod["spec"]["nodeName"]);
        assert!(volume["spec"]["hostPath"]["path"].as_str().unwrap().starts_with("/var/lib/coxswain/local-path/pvc-"));
    }
    assert_eq!(manager.stats().reconcile_errors, 0);
}

fn pod_with_claim(name: &str, claim: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "busybox",
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]}})
}

#[test]
fn a_pod_using_a_claim_of_the_default_class_runs_and_deleting_both_deletes_the_volume() {
    let mut cluster = TestCluster::new(2);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut kubelet = InstantKubelet::new();
    let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}});
    let (status, body) = cluster.send(Method::Post, "/api/v1/namespaces/default/persistentvolumeclaims", Some(claim));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["spec"]["storageClassName"], "local-path", "DefaultStorageClass admission");
    assert_eq!(body["metadata"]["finalizers"], json!(["kubernetes.io/pvc-protection"]));
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut kubelet];
    // Without a consumer the claim waits (WaitForFirstConsumer).
    cluster.run_until(components, Duration::from_secs(20), |_| false);
    assert_eq!(claims(&mut cluster)[0]["status"]["phase"], "Pending");
    assert!(volumes(&mut cluster).is_empty());
    let (status, body) =
        cluster.send(Method::Post, "/api/v1/namespaces/default/pods", Some(pod_with_claim("app", "data")));
    assert_eq!(status, 201, "{body}");
    assert!(cluster.run_until(components, Duration::from_secs(60), |cluster| {
        cluster.get("/api/v1/namespaces/default/pods/app")["status"]["phase"] == "Running"
    }));
    let claim = cluster.get("/api/v1/namespaces/default/persistentvolumeclaims/data");
    assert_eq!(claim["status"]["phase"], "Bound");
    assert_eq!(claim["status"]["capacity"]["storage"], "2Gi");
    let volumes_now = volumes(&mut cluster);
    assert_eq!(volumes_now.len(), 1);
    assert_eq!(volumes_now[0]["spec"]["claimRef"]["name"], "data");

    // A claim in use is kept while its pod runs (pvc-protection)...
    let (status, _) = cluster.send(Method::Delete, "/api/v1/namespaces/default/persistentvolumeclaims/data", None);
    assert_eq!(status, 200);
    cluster.run_until(components, Duration::from_secs(10), |_| false);
    let claim = cluster.get("/api/v1/namespaces/default/persistentvolumeclaims/data");
    assert!(claim["metadata"]["deletionTimestamp"].is_string(), "{claim}");
    // ...and goes with its pod; its volume is released and, by the Delete policy, deleted.
    let (status, _) = cluster.send(Method::Delete, "/api/v1/namespaces/default/pods/app", None);
    assert_eq!(status, 200);
    assert!(cluster.run_until(components, Duration::from_secs(120), |cluster| {
        claims(cluster).is_empty() && volumes(cluster).is_empty()
    }));
    assert_eq!(manager.stats().reconcile_errors, 0);
}

#[test]
fn a_statically_provisioned_volume_binds_the_smallest_fit_and_is_retained_after_its_claim() {
    let mut cluster = TestCluster::new(1);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    for (name, size) in [("big", "10Gi"), ("fits", "3Gi"), ("small", "1Gi")] {
        let volume = json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                "hostPath": {"path": format!("/data/{name}")}}});
        let (status, body) = cluster.send(Method::Post, "/api/v1/persistentvolumes", Some(volume));
        assert_eq!(status, 201, "{body}");
    }
    let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "claim", "namespace": "default"},
        "spec": {"storageClassName": "manual", "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "2Gi"}}}});
    cluster.send(Method::Post, "/api/v1/namespaces/default/persistentvolumeclaims", Some(claim));
    let components: &mut [&mut dyn Component] = &mut [&mut manager];
    assert!(cluster.run_until(components, Duration::from_secs(30), |cluster| {
        cluster.get("/api/v1/namespaces/default/persistentvolumeclaims/claim")["status"]["phase"] == "Bound"
    }));
    let claim = cluster.get("/api/v1/namespaces/default/persistentvolumeclaims/claim");
    assert_eq!(claim["spec"]["volumeName"], "fits");
    assert_eq!(cluster.get("/api/v1/persistentvolumes/fits")["status"]["phase"], "Bound");
    assert_eq!(cluster.get("/api/v1/persistentvolumes/big")["status"]["phase"], "Available");
    // Deleting the claim releases the volume, which a manually made volume (Retain) keeps.
    cluster.send(Method::Delete, "/api/v1/namespaces/default/persistentvolumeclaims/claim", None);
    assert!(cluster.run_until(components, Duration::from_secs(30), |cluster| {
        cluster.get("/api/v1/persistentvolumes/fits")["status"]["phase"] == "Released"
    }));
    cluster.run_until(components, Duration::from_secs(10), |_| false);
    assert_eq!(cluster.get("/api/v1/persistentvolumes/fits")["spec"]["persistentVolumeReclaimPolicy"], "Retain");
}

fn bare_pod(name: &str, node: Option<&str>) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}})
}

#[test]
fn pods_of_a_deleted_node_are_collected_after_the_quarantine() {
    let mut cluster = TestCluster::new(2);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut kubelet = InstantKubelet::new();
    for (name, node) in [("on-0", "node-0"), ("on-1a", "node-1"), ("on-1b", "node-1")] {
        let (status, body) =
            cluster.send(Method::Post, "/api/v1/namespaces/default/pods", Some(bare_pod(name, Some(node))));
        assert_eq!(status, 201, "{body}");
    }
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut kubelet];
    assert!(cluster.run_until(components, Duration::from_secs(10), |cluster| {
        pods(cluster).iter().all(|pod| pod["status"]["phase"] == "Running")
    }));
    let (status, _) = cluster.send(Method::Delete, "/api/v1/nodes/node-1", None);
    assert_eq!(status, 200);
    let deleted_at = cluster.now;
    // Within the 40 s quarantine the pods stay.
    cluster.run_until(components, Duration::from_secs(30), |_| false);
    assert_eq!(pods(&mut cluster).len(), 3);
    assert!(cluster.run_until(components, Duration::from_secs(30), |cluster| pods(cluster).len() == 1));
    assert!(cluster.now.duration_since(deleted_at).as_secs() >= 40, "collected only after the quarantine");
    assert_eq!(pods(&mut cluster)[0]["metadata"]["name"], "on-0");
}

#[test]
fn finished_pods_over_the_threshold_are_collected_oldest_first() {
    let mut cluster = TestCluster::new(1);
    let config = ControllerManagerConfig { terminated_pod_gc_threshold: 3, ..ControllerManagerConfig::default() };
    let mut manager = ControllerManager::new(config);
    for index in 0..6 {
        let name = format!("done-{index}");
        let (status, body) = cluster.send(Method::Post, "/api/v1/namespaces/default/pods", Some(bare_pod(&name, None)));
        assert_eq!(status, 201, "{body}");
        let phase = if index % 2 == 0 { "Succeeded" } else { "Failed" };
        let path = format!("/api/v1/namespaces/default/pods/{name}/status");
        let (status, body) = cluster.send(Method::Patch, &path, Some(json!({"status": {"phase": phase}})));
        assert_eq!(status, 200, "{body}");
        cluster.advance(Duration::from_secs(60));
    }
    cluster.send(Method::Post, "/api/v1/namespaces/default/pods", Some(bare_pod("pending", None)));
    let components: &mut [&mut dyn Component] = &mut [&mut manager];
    assert!(cluster.run_until(components, Duration::from_secs(30), |cluster| pods(cluster).len() == 4));
    let mut names: Vec<String> =
        pods(&mut cluster).iter().filter_map(|pod| pod["metadata"]["name"].as_str().map(str::to_string)).collect();
    names.sort();
    assert_eq!(names, ["done-3", "done-4", "done-5", "pending"], "the three oldest finished pods went");
}
