//! Multi-step DaemonSet scenarios, after `daemon_controller_test.go` and `update_test.go`
//! (TestSimpleDaemonSetLaunchesPods, TestSelectorDaemonDeletesUnselectedPods,
//! TestTaintedNodeDaemonDoesNotLaunchIntolerantPod, TestDealsWithExistingPods,
//! TestDaemonSetUpdatesPods, TestDaemonSetUpdatesPodsWithMaxSurge, TestDaemonSetUpdatesNoTemplateChanged,
//! failed pods with back-off): the reconciler runs against an in-test world with a scheduler
//! that binds each pod to the node its affinity names and a kubelet that starts it in the same
//! step; deleted pods terminate for one step. Expectations are lowered as a watch would lower
//! them, when the world applies an action.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, DaemonSetStatus, RollingUpdateDaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::tests::{daemon_set, labels, node, now};
use super::*;
use crate::controllers::pods::is_pod_available;
use crate::controllers::testing::start_pending_pods;

struct World {
    daemon_set: DaemonSet,
    nodes: BTreeMap<String, Node>,
    pods: BTreeMap<String, Pod>,
    revisions: BTreeMap<String, ControllerRevision>,
    expectations: ControllerExpectations,
    backoff: FailedPodsBackoff,
    next_id: u64,
    time: i64,
    /// `(creates, deletes)` of every reconcile that did something.
    syncs: Vec<(usize, usize)>,
    last: Reconciled,
}

impl World {
    fn new(node_count: usize) -> World {
        let nodes = (0..node_count).map(|index| node(&format!("node-{index}"))).collect();
        World::with_nodes(daemon_set(), nodes)
    }

    fn with_nodes(daemon_set: DaemonSet, nodes: Vec<Node>) -> World {
        World {
            daemon_set,
            nodes: nodes.into_iter().map(|node| (node.metadata.name.clone().unwrap(), node)).collect(),
            pods: BTreeMap::new(),
            revisions: BTreeMap::new(),
            expectations: ControllerExpectations::new(),
            backoff: FailedPodsBackoff::new(),
            next_id: 0,
            time: 0,
            syncs: Vec::new(),
            last: Reconciled::default(),
        }
    }

    fn now(&self) -> Timestamp {
        now() + SignedDuration::from_secs(self.time)
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn key(&self) -> String {
        "default/foo".to_string()
    }

    fn apply(&mut self, actions: &[Action]) {
        let key = self.key();
        for action in actions {
            match action {
                Action::Create { object, .. } if object.kind == "Pod" => {
                    let mut pod: Pod = object.to_typed().unwrap();
                    let spec = pod.spec.as_ref().unwrap();
                    assert!(spec.node_name.is_none(), "daemon pods are placed by the scheduler");
                    let target = target_node_name(&pod).expect("a daemon pod names its node").to_string();
                    let name = format!("{}{}", pod.metadata.generate_name.clone().unwrap(), self.id());
                    pod.metadata.name = Some(name.clone());
                    pod.metadata.uid = Some(name.clone());
                    pod.metadata.creation_timestamp =
                        Some(Time(self.now() + SignedDuration::from_nanos(self.id() as i64)));
                    pod.status = Some(PodStatus { phase: Some("Pending".to_string()), ..PodStatus::default() });
                    assert!(self.nodes.contains_key(&target), "a pod for a node that does not exist");
                    self.pods.insert(name, pod);
                    self.expectations.creation_observed(&key);
                }
                Action::Create { object, .. } => {
                    let mut revision: ControllerRevision = object.to_typed().unwrap();
                    revision.metadata.uid = Some(object.name().to_string());
                    revision.metadata.resource_version = Some(self.id().to_string());
                    self.revisions.insert(object.name().to_string(), revision);
                }
                Action::Update { object } => {
                    self.revisions.insert(object.name().to_string(), object.to_typed().unwrap());
                }
                Action::UpdateStatus { object } => {
                    self.daemon_set.status = object.to_typed::<DaemonSet>().unwrap().status;
                }
                Action::Delete { resource, name, namespace, .. } if resource.resource == "pods" => {
                    let pod = self.pods.get_mut(name).expect("deleting a pod that exists");
                    assert!(pod.metadata.deletion_timestamp.is_none(), "{name} deleted twice");
                    pod.metadata.deletion_timestamp = Some(Time(now()));
                    self.expectations.deletion_observed(&key, &format!("{namespace}/{name}"));
                }
                Action::Delete { name, .. } => {
                    self.revisions.remove(name);
                }
                Action::Patch { .. }
                | Action::Event { .. }
                | Action::Finalize { .. }
                | Action::ForceDelete { .. }
                | Action::DeleteCollection { .. } => {}
            }
        }
    }

    fn reconcile(&mut self) -> (usize, usize) {
        let nodes: Vec<Node> = self.nodes.values().cloned().collect();
        let pods: Vec<Pod> = self.pods.values().cloned().collect();
        let revisions: Vec<ControllerRevision> = self.revisions.values().cloned().collect();
        let now = self.now();
        let reconciled = reconcile_daemon_set(
            &self.daemon_set,
            &nodes,
            &pods,
            &revisions,
            &mut self.expectations,
            &mut self.backoff,
            now,
        )
        .unwrap();
        self.apply(&reconciled.actions);
        let count = |kind: &dyn Fn(&Action) -> bool| reconciled.actions.iter().filter(|action| kind(action)).count();
        let creates = count(&|action| matches!(action, Action::Create { object, .. } if object.kind == "Pod"));
        let deletes = count(&|action| matches!(action, Action::Delete { resource, .. } if resource.resource == "pods"));
        if creates + deletes > 0 {
            self.syncs.push((creates, deletes));
        }
        self.last = reconciled;
        (creates, deletes)
    }

    /// Terminated pods go, the scheduler binds new pods to their node, the kubelet starts them.
    fn cluster(&mut self) {
        self.pods.retain(|_, pod| pod.metadata.deletion_timestamp.is_none());
        for pod in self.pods.values_mut() {
            let target = target_node_name(pod).map(str::to_string);
            let spec = pod.spec.as_mut().unwrap();
            if spec.node_name.is_none() {
                spec.node_name = target;
            }
        }
        let now = self.now();
        start_pending_pods(self.pods.values_mut(), now);
    }

    fn step(&mut self) -> (usize, usize) {
        self.time += 10;
        self.cluster();
        self.reconcile()
    }

    fn converge(&mut self, invariant: &dyn Fn(&World)) {
        for _ in 0..100 {
            let (creates, deletes) = self.step();
            invariant(self);
            if creates + deletes == 0 && self.pods.values().all(|pod| pod.metadata.deletion_timestamp.is_none()) {
                return;
            }
        }
        panic!("the world did not converge: {:?}", self.syncs);
    }

    /// The nodes that have a pod, in name order.
    fn nodes_with_pods(&self) -> Vec<String> {
        let mut nodes: Vec<String> =
            self.pods.values().filter_map(|pod| target_node_name(pod).map(str::to_string)).collect();
        nodes.sort();
        nodes.dedup();
        nodes
    }

    fn status(&self) -> DaemonSetStatus {
        self.daemon_set.status.clone().unwrap()
    }

    fn set_image(&mut self, image: &str) {
        self.daemon_set.metadata.generation = Some(self.daemon_set.metadata.generation.unwrap() + 1);
        let spec = self.daemon_set.spec.as_mut().unwrap();
        spec.template.spec.as_mut().unwrap().containers[0].image = Some(image.to_string());
    }

    fn rolling(&mut self, surge: i32, unavailable: i32) {
        let strategy = self.daemon_set.spec.as_mut().unwrap().update_strategy.as_mut().unwrap();
        strategy.rolling_update = Some(RollingUpdateDaemonSet {
            max_surge: Some(IntOrString::Int(surge)),
            max_unavailable: Some(IntOrString::Int(unavailable)),
        });
    }

    fn nodes_with_available_pods(&self) -> usize {
        let mut nodes: Vec<&str> = self
            .pods
            .values()
            .filter(|pod| pod.metadata.deletion_timestamp.is_none() && is_pod_available(pod, 0, self.now()))
            .filter_map(target_node_name)
            .collect();
        nodes.sort();
        nodes.dedup();
        nodes.len()
    }

    fn hash(&self) -> String {
        let status = &self.daemon_set;
        let template = status.spec.as_ref().unwrap().template.clone();
        crate::controllers::deployment::compute_hash(&template, status.status.as_ref().and_then(|s| s.collision_count))
    }
}

fn running(node_count: usize) -> World {
    let mut world = World::new(node_count);
    world.converge(&|_| {});
    world.syncs.clear();
    world
}

fn taint(key: &str, effect: &str) -> k8s_openapi::api::core::v1::Taint {
    k8s_openapi::api::core::v1::Taint { key: key.into(), value: None, effect: effect.into(), time_added: None }
}

#[test]
fn one_pod_runs_on_each_eligible_node_placed_by_affinity() {
    let mut nodes: Vec<Node> = (0..5).map(|index| node(&format!("node-{index}"))).collect();
    nodes[1].spec.as_mut().unwrap().taints = Some(vec![taint("dedicated", "NoSchedule")]);
    nodes[2].spec.as_mut().unwrap().unschedulable = Some(true);
    nodes[2].spec.as_mut().unwrap().taints = Some(vec![taint("node.kubernetes.io/unschedulable", "NoSchedule")]);
    nodes[3].spec.as_mut().unwrap().taints = Some(vec![taint("node.kubernetes.io/not-ready", "NoExecute")]);
    nodes[4].spec.as_mut().unwrap().taints = Some(vec![taint("dedicated", "NoExecute")]);
    let mut world = World::with_nodes(daemon_set(), nodes);
    assert_eq!(world.reconcile(), (3, 0), "one create per eligible node, in one sync");
    world.converge(&|_| {});
    assert_eq!(world.nodes_with_pods(), ["node-0", "node-2", "node-3"]);
    let pod = world.pods.values().next().unwrap();
    let tolerations = pod.spec.as_ref().unwrap().tolerations.clone().unwrap();
    assert_eq!(tolerations.len(), 6, "the daemon tolerations");
    assert_eq!(pod.metadata.labels.as_ref().unwrap()["controller-revision-hash"], world.hash());
    let status = world.status();
    assert_eq!((status.desired_number_scheduled, status.current_number_scheduled, status.number_ready), (3, 3, 3));
    assert_eq!(
        (
            status.updated_number_scheduled,
            status.number_available,
            status.number_unavailable,
            status.number_misscheduled
        ),
        (Some(3), Some(3), Some(0), 0)
    );
    assert_eq!(status.observed_generation, Some(1));
}

#[test]
fn pods_leave_nodes_that_stop_matching_and_come_to_new_ones() {
    let mut daemon_set = daemon_set();
    daemon_set.spec.as_mut().unwrap().template.spec.as_mut().unwrap().node_selector =
        Some(labels(&[("color", "blue")]));
    let mut world = World::with_nodes(daemon_set, (0..3).map(|index| node(&format!("node-{index}"))).collect());
    world.converge(&|_| {});
    world.nodes.get_mut("node-1").unwrap().metadata.labels = Some(labels(&[("color", "red")]));
    world.nodes.insert("node-3".into(), node("node-3"));
    assert_eq!(world.step(), (1, 1));
    world.converge(&|_| {});
    assert_eq!(world.nodes_with_pods(), ["node-0", "node-2", "node-3"]);
    assert_eq!(world.status().desired_number_scheduled, 3);
}

#[test]
fn a_no_schedule_taint_leaves_the_running_pod_misscheduled_and_no_execute_evicts_it() {
    let mut world = running(2);
    world.nodes.get_mut("node-1").unwrap().spec.as_mut().unwrap().taints = Some(vec![taint("dedicated", "NoSchedule")]);
    world.converge(&|_| {});
    assert_eq!(world.nodes_with_pods(), ["node-0", "node-1"]);
    let status = world.status();
    assert_eq!((status.desired_number_scheduled, status.number_misscheduled), (1, 1));
    world.nodes.get_mut("node-1").unwrap().spec.as_mut().unwrap().taints = Some(vec![taint("dedicated", "NoExecute")]);
    world.converge(&|_| {});
    assert_eq!(world.nodes_with_pods(), ["node-0"]);
    assert_eq!(world.status().number_misscheduled, 0);
}

#[test]
fn excess_pods_on_a_node_are_deleted_keeping_the_oldest() {
    let mut world = running(2);
    let oldest = world.pods.values().find(|pod| target_node_name(pod) == Some("node-0")).unwrap().clone();
    let mut twin = oldest.clone();
    twin.metadata.name = Some("foo-twin".into());
    twin.metadata.uid = Some("foo-twin".into());
    twin.metadata.creation_timestamp = Some(Time(world.now()));
    world.pods.insert("foo-twin".into(), twin);
    assert_eq!(world.reconcile(), (0, 1));
    assert!(world.pods["foo-twin"].metadata.deletion_timestamp.is_some());
    assert!(world.pods[oldest.metadata.name.as_deref().unwrap()].metadata.deletion_timestamp.is_none());
}

#[test]
fn a_rolling_update_replaces_max_unavailable_nodes_at_a_time() {
    let mut world = running(5);
    world.rolling(0, 2);
    world.set_image("foo2/bar2");
    world.reconcile();
    world.converge(&|world| assert!(world.nodes_with_available_pods() >= 3, "more than 2 nodes down"));
    assert_eq!(world.syncs, [(0, 2), (2, 0), (0, 2), (2, 0), (0, 1), (1, 0)]);
    let status = world.status();
    assert_eq!((status.updated_number_scheduled, status.number_available), (Some(5), Some(5)));
    let hash = world.hash();
    assert!(world.pods.values().all(|pod| pod.metadata.labels.as_ref().unwrap()["controller-revision-hash"] == hash));
}

#[test]
fn a_rolling_update_with_max_surge_never_lowers_availability() {
    let mut world = running(5);
    world.rolling(2, 0);
    world.set_image("foo2/bar2");
    world.reconcile();
    world.converge(&|world| {
        assert_eq!(world.nodes_with_available_pods(), 5, "surge keeps every node available");
        assert!(world.pods.len() <= 7, "at most maxSurge extra pods");
    });
    assert_eq!(world.syncs, [(2, 0), (0, 2), (2, 0), (0, 2), (1, 0), (0, 1)]);
    assert_eq!(world.status().updated_number_scheduled, Some(5));
}

#[test]
fn an_unchanged_template_replaces_nothing() {
    let mut world = running(5);
    world.daemon_set.metadata.generation = Some(2);
    world.converge(&|_| {});
    assert!(world.syncs.is_empty());
    assert_eq!(world.status().observed_generation, Some(2));
}

#[test]
fn on_delete_replaces_only_deleted_pods() {
    let mut world = running(3);
    world.daemon_set.spec.as_mut().unwrap().update_strategy =
        Some(k8s_openapi::api::apps::v1::DaemonSetUpdateStrategy {
            type_: Some("OnDelete".into()),
            rolling_update: None,
        });
    world.set_image("foo2/bar2");
    world.converge(&|_| {});
    assert!(world.syncs.is_empty(), "nothing is replaced by itself");
    assert_eq!(world.status().updated_number_scheduled, Some(0));
    let victim = world.pods.values().next().unwrap().clone();
    world.pods.get_mut(victim.metadata.name.as_deref().unwrap()).unwrap().metadata.deletion_timestamp =
        Some(Time(now()));
    world.converge(&|_| {});
    assert_eq!(world.syncs, [(1, 0)]);
    assert_eq!(world.status().updated_number_scheduled, Some(1));
}

#[test]
fn a_failed_pod_is_replaced_and_repeated_failures_back_off() {
    let mut world = running(1);
    let fail = |world: &mut World| {
        let pod = world.pods.values_mut().find(|pod| pod.metadata.deletion_timestamp.is_none()).unwrap();
        pod.status.as_mut().unwrap().phase = Some("Failed".into());
    };
    fail(&mut world);
    assert_eq!(world.reconcile(), (0, 1));
    let warned =
        world.last.actions.iter().any(
            |action| matches!(action, Action::Event { event } if event.reason.as_deref() == Some("FailedDaemonPod")),
        );
    assert!(warned, "a FailedDaemonPod warning");
    world.cluster();
    assert_eq!(world.reconcile(), (1, 0), "a replacement on the same node");
    world.cluster();
    fail(&mut world);
    assert_eq!(world.reconcile(), (0, 0), "within a second of the last deletion the node backs off");
    assert_eq!(world.last.requeue_after, Some(std::time::Duration::from_secs(1)));
    world.time += 2;
    assert_eq!(world.reconcile(), (0, 1));
    assert_eq!(world.backoff.get(&FailedPodsBackoff::key("ds-uid", 1, "node-0")).as_secs(), 2);
}

#[test]
fn history_keeps_the_limit_of_old_revisions() {
    let mut world = running(2);
    world.daemon_set.spec.as_mut().unwrap().revision_history_limit = Some(1);
    for version in 2..=5 {
        world.set_image(&format!("foo/bar:{version}"));
        world.converge(&|_| {});
    }
    let mut numbers: Vec<i64> = world.revisions.values().map(|revision| revision.revision).collect();
    numbers.sort();
    assert_eq!(numbers, [4, 5], "the current revision and one old one");
}

// A surge update's sync that creates and deletes at once (`rollingUpdate` calls `syncNodes`
// with both, and `syncNodes` sets `SetExpectations(dsKey, createDiff, deleteDiff)`): the
// DaemonSet waits for the creation and the deletion alike before acting again.
#[test]
fn a_surge_sync_that_creates_and_deletes_waits_for_both() {
    let mut world = running(4);
    // node-3 no longer takes new daemon pods, but its pod may stay: once the others are
    // available it is surplus.
    world.nodes.get_mut("node-3").unwrap().spec.as_mut().unwrap().taints = Some(vec![taint("dedicated", "NoSchedule")]);
    world.rolling(1, 0);
    world.set_image("foo2/bar2");
    world.time += 10;
    world.cluster();
    let (nodes, pods, revisions): (Vec<Node>, Vec<Pod>, Vec<ControllerRevision>) = (
        world.nodes.values().cloned().collect(),
        world.pods.values().cloned().collect(),
        world.revisions.values().cloned().collect(),
    );
    let now = world.now();
    let sync = |world: &mut World| {
        let reconciled = reconcile_daemon_set(
            &world.daemon_set,
            &nodes,
            &pods,
            &revisions,
            &mut world.expectations,
            &mut world.backoff,
            now,
        )
        .unwrap();
        let creates =
            reconciled.actions.iter().filter(|a| matches!(a, Action::Create { object, .. } if object.kind == "Pod"));
        let deletes = reconciled.actions.iter().filter_map(|action| match action {
            Action::Delete { resource, name, .. } if resource.resource == "pods" => Some(name.clone()),
            _ => None,
        });
        (creates.count(), deletes.collect::<Vec<_>>())
    };
    let (creates, deletes) = sync(&mut world);
    assert_eq!(creates, 1, "one new pod beside an old one (maxSurge 1)");
    let on_node_3 = world.pods.values().find(|pod| target_node_name(pod) == Some("node-3")).unwrap();
    assert_eq!(deletes, [on_node_3.metadata.name.clone().unwrap()], "the surplus pod on node-3");
    let expectation = world.expectations.get(&world.key()).unwrap().clone();
    assert_eq!((expectation.adds, expectation.deletes), (1, 1));
    // The watch has shown neither yet: nothing more is created or deleted.
    assert_eq!(sync(&mut world), (0, Vec::new()));
    world.expectations.creation_observed(&world.key());
    assert_eq!(sync(&mut world), (0, Vec::new()), "the deletion is still expected");
    world.expectations.deletion_observed(&world.key(), &format!("default/{}", deletes[0]));
    assert!(world.expectations.satisfied(&world.key(), now));
}
