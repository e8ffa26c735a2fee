//! The volume plugins end to end through the API: the scheduler component lists and watches
//! PersistentVolumeClaims, PersistentVolumes and StorageClasses, keeps a Pod with an unbound
//! immediate claim Pending, and places it on the volume's node once the claim binds. Also the
//! driver's re-queueing on volume events and on an assigned Pod's label change, without the API.

use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::cycle::{at, bound_nodes};
use crate::api::Method;
use crate::scheduler::component::SchedulerComponent;
use crate::scheduler::driver::{Input, Scheduler};
use crate::scheduler::listers::ListerObject;
use crate::scheduler::plugins::volume_testing::{
    VolumePodBuilder, bound, in_phase, make_pv, make_pvc, storage_class, with_node_affinity,
};
use crate::scheduler::profile::SchedulerConfig;
use crate::scheduler::registry::Registry;
use crate::scheduler::schedule_one::SamplingOptions;
use crate::scheduler::testing::{affinity_term, make_node, make_pod};
use crate::testing::TestCluster;

fn scheduler() -> Scheduler {
    Scheduler::new(
        &SchedulerConfig::default(),
        &Registry::in_tree(),
        ChaCha8Rng::seed_from_u64(3),
        SamplingOptions::default(),
    )
    .expect("the default profile builds")
}

const POD_PATH: &str = "/api/v1/namespaces/default/pods/db";
const CLAIM_PATH: &str = "/api/v1/namespaces/default/persistentvolumeclaims/data";

fn pod_scheduled_message(pod: &Value) -> Option<String> {
    pod["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|condition| condition["type"] == "PodScheduled" && condition["status"] == "False")
        .and_then(|condition| condition["message"].as_str().map(str::to_owned))
}

#[test]
fn a_pod_with_an_unbound_immediate_claim_waits_and_lands_on_the_node_of_the_volume_it_binds_to() {
    let mut cluster = TestCluster::new(3);
    let mut component = SchedulerComponent::new(scheduler());
    let storage_class = json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "local"},
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "Immediate"
    });
    let (status, body) = cluster.send(Method::Post, "/apis/storage.k8s.io/v1/storageclasses", Some(storage_class));
    assert_eq!(status, 201, "{body}");
    let claim = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "default"},
        "spec": {"storageClassName": "local", "accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}}}
    });
    let (status, body) = cluster.send(Method::Post, "/api/v1/namespaces/default/persistentvolumeclaims", Some(claim));
    assert_eq!(status, 201, "{body}");
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {
            "containers": [{"name": "db", "image": "postgres:17",
                            "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
        }
    });
    let (status, body) = cluster.send(Method::Post, "/api/v1/namespaces/default/pods", Some(pod));
    assert_eq!(status, 201, "{body}");

    let rejected = cluster.run_until(&mut [&mut component], Duration::from_secs(30), |cluster| {
        pod_scheduled_message(&cluster.get(POD_PATH)).is_some()
    });
    assert!(rejected, "the scheduler never reported the pod unschedulable");
    let message = pod_scheduled_message(&cluster.get(POD_PATH)).expect("a PodScheduled=False condition");
    // The doubled period is Kubernetes' own: FitError appends one to PostFilter's sentence.
    insta::assert_snapshot!(message, @"0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..");
    let events = cluster.get("/api/v1/namespaces/default/events");
    let failed = events["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|event| event["reason"] == "FailedScheduling" && event["involvedObject"]["name"] == "db")
        .count();
    assert!(failed >= 1, "no FailedScheduling event: {events}");
    // Nothing changes while the claim stays unbound: the pod waits for a volume event.
    cluster.run_until(&mut [&mut component], Duration::from_secs(60), |_| false);
    assert!(cluster.get(POD_PATH)["spec"]["nodeName"].is_null(), "scheduled with an unbound claim");

    let volume = json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": "pv-data"},
        "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "local",
            "local": {"path": "/mnt/disks/data"},
            "claimRef": {"namespace": "default", "name": "data"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-2"]}]}]}}
        }
    });
    let (status, body) = cluster.send(Method::Post, "/api/v1/persistentvolumes", Some(volume));
    assert_eq!(status, 201, "{body}");
    // What the PersistentVolume controller does when it binds the claim.
    let binding = json!({
        "metadata": {"annotations": {"pv.kubernetes.io/bind-completed": "yes"}},
        "spec": {"volumeName": "pv-data"}
    });
    let (status, body) = cluster.send(Method::Patch, CLAIM_PATH, Some(binding));
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        cluster.send(Method::Patch, &format!("{CLAIM_PATH}/status"), Some(json!({"status": {"phase": "Bound"}})));
    assert_eq!(status, 200, "{body}");

    let placed = cluster.run_until(&mut [&mut component], Duration::from_secs(30), |cluster| {
        !cluster.get(POD_PATH)["spec"]["nodeName"].is_null()
    });
    assert!(placed, "the pod was not scheduled after its claim bound");
    assert_eq!(cluster.get(POD_PATH)["spec"]["nodeName"], "node-2");
}

#[test]
fn a_claim_update_requeues_only_through_the_volume_plugins_registration() {
    let mut scheduler = scheduler();
    for name in ["node-a", "node-b"] {
        let node =
            make_node(name).capacity(&[("cpu", "4"), ("pods", "10")]).label("kubernetes.io/hostname", name).obj();
        scheduler.step(Input::NodeApplied(Arc::new(node)), at(0));
    }
    let class = storage_class("local", "Immediate", "kubernetes.io/no-provisioner");
    scheduler.step(Input::ObjectApplied(ListerObject::StorageClass(Arc::new(class))), at(0));
    let claim = make_pvc("data", "local");
    scheduler.step(Input::ObjectApplied(ListerObject::PersistentVolumeClaim(Arc::new(claim.clone()))), at(0));
    let effects = scheduler.step(Input::PodApplied(Arc::new(make_pod("db").pvc("data").obj())), at(1));
    assert!(bound_nodes(&effects).is_empty());
    assert_eq!(scheduler.queue().lengths(), (0, 0, 1));

    // A Namespace change is no event VolumeBinding registered: the pod stays unschedulable.
    let namespace = k8s_openapi::api::core::v1::Namespace {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some("default".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    scheduler.step(Input::ObjectApplied(ListerObject::Namespace(Arc::new(namespace))), at(2));
    assert_eq!(scheduler.queue().lengths(), (0, 0, 1));

    let volume =
        with_node_affinity(in_phase(make_pv("pv-data", "local"), "Bound"), &[("kubernetes.io/hostname", &["node-b"])]);
    scheduler.step(Input::ObjectApplied(ListerObject::PersistentVolume(Arc::new(volume))), at(3));
    // The volume alone does not bind the claim: the pod is retried and rejected again.
    assert_eq!(scheduler.queue().lengths().2, 1);
    let claim = bound(claim, "pv-data");
    let effects = scheduler.step(Input::ObjectApplied(ListerObject::PersistentVolumeClaim(Arc::new(claim))), at(20));
    assert_eq!(bound_nodes(&effects), vec!["node-b".to_owned()]);
}

#[test]
fn an_assigned_pod_label_change_requeues_a_pod_waiting_for_pod_affinity() {
    let mut scheduler = scheduler();
    let node =
        make_node("node-a").capacity(&[("cpu", "4"), ("pods", "10")]).label("kubernetes.io/hostname", "node-a").obj();
    scheduler.step(Input::NodeApplied(Arc::new(node)), at(0));
    let cache = make_pod("cache").label("app", "old").node("node-a").obj();
    scheduler.step(Input::PodApplied(Arc::new(cache.clone())), at(0));
    let web =
        make_pod("web").required_term(false, affinity_term("app", "In", &["cache"], "kubernetes.io/hostname")).obj();
    let effects = scheduler.step(Input::PodApplied(Arc::new(web)), at(1));
    assert!(bound_nodes(&effects).is_empty());
    assert_eq!(scheduler.queue().lengths(), (0, 0, 1));

    // An update that leaves the labels alone is no UpdatePodLabel event.
    let mut annotated = cache.clone();
    annotated.metadata.annotations = Some([("note".to_owned(), "x".to_owned())].into());
    scheduler.step(Input::PodApplied(Arc::new(annotated)), at(10));
    assert_eq!(scheduler.queue().lengths(), (0, 0, 1));

    let mut relabelled = cache;
    relabelled.metadata.labels = Some([("app".to_owned(), "cache".to_owned())].into());
    let effects = scheduler.step(Input::PodApplied(Arc::new(relabelled)), at(20));
    assert_eq!(bound_nodes(&effects), vec!["node-a".to_owned()]);
}
