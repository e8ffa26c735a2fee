//! Multi-step tests: the Deployment and ReplicaSet reconcilers run against an in-test world
//! (a BTreeMap of objects) whose pods become ready one step after they are created, until the
//! world stops changing.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::tests::{app_labels, deployment, now};
use super::util::{self, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION, spec_replicas};
use super::*;
use crate::controllers::action::Action;
use crate::controllers::expectations::ControllerExpectations;
use crate::controllers::replicaset::reconcile_replica_set;

#[derive(Default)]
struct World {
    deployment: Option<Deployment>,
    replica_sets: BTreeMap<String, ReplicaSet>,
    pods: BTreeMap<String, Pod>,
    next_id: u64,
    time: i64,
}

impl World {
    fn now(&self) -> Timestamp {
        now() + SignedDuration::from_secs(self.time)
    }

    fn version(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    fn apply(&mut self, actions: &[Action]) {
        for action in actions {
            match action {
                Action::Create { object, .. } if object.kind == "ReplicaSet" => {
                    let mut replica_set: ReplicaSet = object.to_typed().unwrap();
                    replica_set.metadata.uid = replica_set.metadata.name.clone();
                    replica_set.metadata.creation_timestamp = Some(Time(self.now()));
                    replica_set.metadata.resource_version = Some(self.version());
                    self.replica_sets.insert(replica_set.metadata.name.clone().unwrap(), replica_set);
                }
                Action::Create { object, .. } => {
                    let mut pod: Pod = object.to_typed().unwrap();
                    let id = self.version();
                    let name = format!("{}{id}", pod.metadata.generate_name.clone().unwrap());
                    pod.metadata.name = Some(name.clone());
                    pod.metadata.uid = Some(name.clone());
                    pod.metadata.creation_timestamp = Some(Time(self.now()));
                    pod.status = Some(PodStatus { phase: Some("Pending".to_string()), ..PodStatus::default() });
                    self.pods.insert(name, pod);
                }
                Action::Update { object } | Action::UpdateStatus { object } if object.kind == "ReplicaSet" => {
                    let mut replica_set: ReplicaSet = object.to_typed().unwrap();
                    let stored = &self.replica_sets[object.name()];
                    assert_eq!(stored.metadata.resource_version, replica_set.metadata.resource_version, "conflict");
                    replica_set.metadata.resource_version = Some(self.version());
                    self.replica_sets.insert(object.name().to_string(), replica_set);
                }
                Action::UpdateStatus { object } => {
                    let updated: Deployment = object.to_typed().unwrap();
                    let deployment = self.deployment.as_mut().unwrap();
                    deployment.status = updated.status;
                    deployment.metadata.annotations = updated.metadata.annotations;
                }
                Action::Delete { resource, name, .. } if resource.resource == "pods" => {
                    self.pods.remove(name);
                }
                Action::Delete { name, .. } => {
                    self.replica_sets.remove(name);
                }
                Action::Patch { .. }
                | Action::Event { .. }
                | Action::Update { .. }
                | Action::Finalize { .. }
                | Action::ForceDelete { .. }
                | Action::DeleteCollection { .. } => {}
            }
        }
    }

    /// Pods created in an earlier step start running and become ready.
    fn pods_become_ready(&mut self) {
        let now = self.now();
        for pod in self.pods.values_mut() {
            let status = pod.status.as_mut().unwrap();
            if status.phase.as_deref() == Some("Pending") {
                status.phase = Some("Running".to_string());
                status.conditions = Some(vec![PodCondition {
                    type_: "Ready".to_string(),
                    status: "True".to_string(),
                    last_transition_time: Some(Time(now)),
                    ..PodCondition::default()
                }]);
            }
        }
    }

    /// One round: the Deployment controller, then every ReplicaSet's controller.
    fn step(&mut self) -> usize {
        self.time += 10;
        self.pods_become_ready();
        let mut actions = 0;
        let deployment = self.deployment.clone().unwrap();
        let sets: Vec<ReplicaSet> = self.replica_sets.values().cloned().collect();
        let pods: Vec<Pod> = self.pods.values().cloned().collect();
        let reconciled = reconcile_deployment(&deployment, &sets, &pods, self.now()).unwrap();
        actions += reconciled.actions.iter().filter(|action| !matches!(action, Action::Event { .. })).count();
        self.apply(&reconciled.actions);
        for replica_set in self.replica_sets.clone().values() {
            let pods: Vec<Pod> = self.pods.values().cloned().collect();
            let mut expectations = ControllerExpectations::new();
            let reconciled = reconcile_replica_set(replica_set, &pods, None, &mut expectations, self.now()).unwrap();
            actions += reconciled.actions.iter().filter(|action| !matches!(action, Action::Event { .. })).count();
            self.apply(&reconciled.actions);
        }
        actions
    }

    fn ready_pods(&self) -> usize {
        self.pods.values().filter(|pod| crate::controllers::pods::is_pod_ready(pod)).count()
    }

    /// Steps until nothing changes, checking `invariant` after every step.
    fn converge(&mut self, invariant: &dyn Fn(&World)) -> usize {
        for step in 0..100 {
            if self.step() == 0 {
                return step;
            }
            invariant(self);
        }
        panic!("the world did not converge in 100 steps");
    }

    /// spec.replicas of each ReplicaSet, by the template version it runs.
    fn sizes(&self) -> BTreeMap<String, i32> {
        let version =
            |rs: &ReplicaSet| util::replica_set_template(rs).metadata.unwrap().labels.unwrap()["version"].clone();
        self.replica_sets.values().map(|rs| (version(rs), spec_replicas(rs))).collect()
    }

    fn set_version(&mut self, version: &str) {
        let deployment = self.deployment.as_mut().unwrap();
        deployment.spec.as_mut().unwrap().template.metadata.as_mut().unwrap().labels = Some(app_labels(version));
        deployment.metadata.generation = Some(deployment.metadata.generation.unwrap() + 1);
    }
}

fn world_at_v1(replicas: i32, surge: i32, unavailable: i32) -> World {
    let mut world = World { deployment: Some(deployment(replicas, surge, unavailable, "v1")), ..World::default() };
    world.converge(&|_| {});
    assert_eq!(world.ready_pods(), replicas as usize);
    world
}

#[test]
fn a_rollout_from_v1_to_v2_converges_without_exceeding_max_unavailable_or_max_surge() {
    let mut world = world_at_v1(10, 3, 2);
    world.set_version("v2");
    world.converge(&|world| {
        assert!(world.ready_pods() >= 8, "only {} ready pods", world.ready_pods());
        assert!(world.pods.len() <= 13, "{} pods exceed replicas + maxSurge", world.pods.len());
    });
    assert_eq!(world.sizes(), BTreeMap::from([("v1".to_string(), 0), ("v2".to_string(), 10)]));
    assert_eq!(world.ready_pods(), 10);
    let status = world.deployment.as_ref().unwrap().status.clone().unwrap();
    assert_eq!(
        (status.replicas, status.updated_replicas, status.available_replicas, status.observed_generation),
        (Some(10), Some(10), Some(10), Some(2))
    );
    let progressing = util::condition(&status, util::PROGRESSING).unwrap();
    assert_eq!(progressing.reason.as_deref(), Some("NewReplicaSetAvailable"));
    let annotations = world.deployment.as_ref().unwrap().metadata.annotations.clone().unwrap();
    assert_eq!(annotations[REVISION_ANNOTATION], "2");
}

#[test]
fn a_rollback_reuses_the_old_replica_set() {
    let mut world = world_at_v1(4, 1, 1);
    world.set_version("v2");
    world.converge(&|_| {});
    let names_before: Vec<String> = world.replica_sets.keys().cloned().collect();
    world.set_version("v1");
    world.converge(&|world| assert!(world.ready_pods() >= 3));
    let names_after: Vec<String> = world.replica_sets.keys().cloned().collect();
    assert_eq!(names_before, names_after, "no ReplicaSet was created for the rollback");
    assert_eq!(world.sizes(), BTreeMap::from([("v1".to_string(), 4), ("v2".to_string(), 0)]));
    let reused = world.replica_sets.values().find(|rs| spec_replicas(rs) == 4).unwrap();
    let annotations = reused.metadata.annotations.clone().unwrap();
    assert_eq!(
        (annotations[REVISION_ANNOTATION].as_str(), annotations[REVISION_HISTORY_ANNOTATION].as_str()),
        ("3", "1")
    );
}

#[test]
fn scaling_mid_rollout_keeps_the_proportion_of_each_replica_set() {
    let mut world = world_at_v1(10, 3, 2);
    world.set_version("v2");
    world.step();
    world.step();
    let before = world.sizes();
    assert!(before["v1"] > 0 && before["v2"] > 0, "mid-rollout: {before:?}");
    let total_before: i32 = before.values().sum();
    world.deployment.as_mut().unwrap().spec.as_mut().unwrap().replicas = Some(20);
    world.step();
    let after = world.sizes();
    let total_after: i32 = after.values().sum();
    assert_eq!(total_after, 20 + 3, "replicas + maxSurge");
    for version in ["v1", "v2"] {
        let expected = f64::from(before[version]) * f64::from(total_after) / f64::from(total_before);
        assert!((f64::from(after[version]) - expected).abs() <= 1.0, "{version}: {before:?} -> {after:?}");
    }
    world.converge(&|_| {});
    assert_eq!(world.sizes(), BTreeMap::from([("v1".to_string(), 0), ("v2".to_string(), 20)]));
}
