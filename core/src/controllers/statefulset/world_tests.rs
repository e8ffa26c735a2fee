//! Multi-step StatefulSet scenarios, after the scenarios of Kubernetes'
//! `stateful_set_control_test.go` (scale up, scale down, rolling update with a partition,
//! OnDelete, a failed pod recreated under its name, Parallel bursts, history truncation): the
//! reconciler runs against an in-test world in which created pods run and become ready one step
//! later and deleted pods terminate for one step before they go. At every action the world
//! refuses a second pod for an ordinal, a pod whose claims do not exist yet, and (OrderedReady)
//! a pod whose lower ordinals are not all running and ready.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::identity::{allows_burst, is_running_and_ready, ordinal, pod_revision};
use super::tests::{now, stateful_set};
use super::*;
use crate::controllers::testing::start_pending_pods;

struct World {
    set: StatefulSet,
    pods: BTreeMap<String, Pod>,
    claims: BTreeMap<String, PersistentVolumeClaim>,
    revisions: BTreeMap<String, ControllerRevision>,
    next_id: u64,
    time: i64,
    /// Every pod create and delete, as `+name` or `-name`, in order.
    log: Vec<String>,
}

impl World {
    fn new(set: StatefulSet) -> World {
        World {
            set,
            pods: BTreeMap::new(),
            claims: BTreeMap::new(),
            revisions: BTreeMap::new(),
            next_id: 0,
            time: 0,
            log: Vec::new(),
        }
    }

    fn now(&self) -> Timestamp {
        now() + SignedDuration::from_secs(self.time)
    }

    fn id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    fn apply(&mut self, actions: &[Action]) {
        for action in actions {
            match action {
                Action::Create { object, .. } => match object.kind.as_str() {
                    "Pod" => self.create_pod(object.to_typed().unwrap()),
                    "PersistentVolumeClaim" => {
                        assert!(!self.claims.contains_key(object.name()), "claim {} created twice", object.name());
                        let mut claim: PersistentVolumeClaim = object.to_typed().unwrap();
                        claim.metadata.uid = Some(format!("{}-{}", object.name(), self.id()));
                        self.claims.insert(object.name().to_string(), claim);
                    }
                    "ControllerRevision" => {
                        let mut revision: ControllerRevision = object.to_typed().unwrap();
                        assert!(!self.revisions.contains_key(object.name()), "revision name taken");
                        revision.metadata.uid = Some(object.name().to_string());
                        revision.metadata.resource_version = Some(self.id());
                        revision.metadata.creation_timestamp = Some(Time(self.now()));
                        self.revisions.insert(object.name().to_string(), revision);
                    }
                    other => panic!("unexpected create of a {other}"),
                },
                Action::Update { object } => match object.kind.as_str() {
                    "Pod" => {
                        self.pods.insert(object.name().to_string(), object.to_typed().unwrap());
                    }
                    "PersistentVolumeClaim" => {
                        self.claims.insert(object.name().to_string(), object.to_typed().unwrap());
                    }
                    "ControllerRevision" => {
                        self.revisions.insert(object.name().to_string(), object.to_typed().unwrap());
                    }
                    other => panic!("unexpected update of a {other}"),
                },
                Action::UpdateStatus { object } => {
                    let updated: StatefulSet = object.to_typed().unwrap();
                    self.set.status = updated.status;
                }
                Action::Delete { resource, name, preconditions, .. } => match resource.resource {
                    "pods" => {
                        let pod = self.pods.get_mut(name).expect("deleting a pod that exists");
                        assert_eq!(pod.metadata.uid, preconditions.uid, "the uid precondition holds");
                        if pod.metadata.deletion_timestamp.is_none() {
                            pod.metadata.deletion_timestamp = Some(Time(now()));
                            self.log.push(format!("-{name}"));
                        }
                    }
                    "controllerrevisions" => {
                        self.revisions.remove(name);
                    }
                    other => panic!("unexpected delete of {other}"),
                },
                Action::Patch { .. }
                | Action::Event { .. }
                | Action::Finalize { .. }
                | Action::ForceDelete { .. }
                | Action::DeleteCollection { .. } => {}
            }
        }
    }

    fn create_pod(&mut self, mut pod: Pod) {
        let name = pod.metadata.name.clone().unwrap();
        assert!(!self.pods.contains_key(&name), "a second pod for ordinal {name}");
        for volume in pod.spec.iter().flat_map(|spec| spec.volumes.iter().flatten()) {
            if let Some(claim) = &volume.persistent_volume_claim {
                assert!(
                    self.claims.contains_key(&claim.claim_name),
                    "{name} created before claim {}",
                    claim.claim_name
                );
            }
        }
        if !allows_burst(&self.set) {
            let below = self.pods.values().filter(|other| ordinal(other) < ordinal(&pod));
            assert!(below.clone().all(is_running_and_ready), "{name} created before its predecessors were ready");
            assert_eq!(below.count() as i32, ordinal(&pod), "{name} created with a gap below it");
        }
        pod.metadata.uid = Some(format!("{name}-{}", self.id()));
        pod.metadata.creation_timestamp = Some(Time(self.now()));
        pod.status = Some(PodStatus { phase: Some("Pending".to_string()), ..PodStatus::default() });
        self.log.push(format!("+{name}"));
        self.pods.insert(name, pod);
    }

    /// Terminating pods go (and the garbage collector takes the claims they owned); pending
    /// pods start and become ready.
    fn kubelet(&mut self) {
        let gone: Vec<Pod> =
            self.pods.values().filter(|pod| pod.metadata.deletion_timestamp.is_some()).cloned().collect();
        for pod in gone {
            self.pods.remove(pod.metadata.name.as_deref().unwrap());
            let uid = pod.metadata.uid.clone().unwrap();
            self.claims
                .retain(|_, claim| claim.metadata.owner_references.iter().flatten().all(|owner| owner.uid != uid));
        }
        let now = self.now();
        start_pending_pods(self.pods.values_mut(), now);
    }

    /// One reconcile; returns how many non-event actions it took.
    fn reconcile(&mut self) -> usize {
        let pods: Vec<Pod> = self.pods.values().cloned().collect();
        let claims: Vec<PersistentVolumeClaim> = self.claims.values().cloned().collect();
        let revisions: Vec<ControllerRevision> = self.revisions.values().cloned().collect();
        let reconciled = reconcile_stateful_set(&self.set, &pods, &claims, &revisions, self.now()).unwrap();
        self.apply(&reconciled.actions);
        reconciled.actions.iter().filter(|action| !matches!(action, Action::Event { .. })).count()
    }

    fn step(&mut self) -> usize {
        self.time += 10;
        self.kubelet();
        self.reconcile()
    }

    /// Steps until nothing changes and no pod is terminating, checking `invariant` each step.
    fn converge(&mut self, invariant: &dyn Fn(&World)) {
        for _ in 0..200 {
            let actions = self.step();
            invariant(self);
            if actions == 0 && self.pods.values().all(|pod| pod.metadata.deletion_timestamp.is_none()) {
                return;
            }
        }
        panic!("the world did not converge in 200 steps: {:?}", self.log);
    }

    fn names(&self) -> Vec<String> {
        self.pods.keys().cloned().collect()
    }

    fn status(&self) -> k8s_openapi::api::apps::v1::StatefulSetStatus {
        self.set.status.clone().unwrap()
    }

    fn spec(&mut self) -> &mut k8s_openapi::api::apps::v1::StatefulSetSpec {
        self.set.metadata.generation = Some(self.set.metadata.generation.unwrap() + 1);
        self.set.spec.as_mut().unwrap()
    }

    fn set_image(&mut self, image: &str) {
        let spec = self.spec();
        spec.template.spec.as_mut().unwrap().containers[0].image = Some(image.to_string());
    }

    fn revision_of(&self, name: &str) -> String {
        pod_revision(&self.pods[name]).to_string()
    }

    fn taken_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }
}

/// At most one pod of the set is not running and ready.
fn one_at_a_time(world: &World) {
    let unready =
        world.pods.values().filter(|pod| !is_running_and_ready(pod) || pod.metadata.deletion_timestamp.is_some());
    assert!(unready.count() <= 1, "more than one pod down: {:?}", world.log);
}

fn running_set(replicas: i32) -> World {
    let mut world = World::new(stateful_set(replicas));
    world.converge(&one_at_a_time);
    world
}

#[test]
fn scaling_up_creates_ordinals_in_order_one_at_a_time_after_their_claims() {
    let mut world = World::new(stateful_set(3));
    world.converge(&one_at_a_time);
    assert_eq!(world.taken_log(), ["+foo-0", "+foo-1", "+foo-2"]);
    assert_eq!(world.names(), ["foo-0", "foo-1", "foo-2"]);
    assert_eq!(world.claims.keys().cloned().collect::<Vec<_>>(), ["datadir-foo-0", "datadir-foo-1", "datadir-foo-2"]);
    let status = world.status();
    assert_eq!(
        (status.replicas, status.ready_replicas, status.current_replicas, status.updated_replicas),
        (3, Some(3), Some(3), Some(3))
    );
    assert_eq!(status.available_replicas, Some(3));
    assert_eq!(status.current_revision, status.update_revision);
    assert_eq!(status.observed_generation, Some(1));
    let revision = status.update_revision.unwrap();
    assert!(world.pods.keys().all(|name| world.revision_of(name) == revision));
}

#[test]
fn scaling_down_deletes_from_the_highest_ordinal_one_at_a_time_and_retains_claims() {
    let mut world = running_set(5);
    world.taken_log();
    world.spec().replicas = Some(2);
    world.converge(&one_at_a_time);
    assert_eq!(world.taken_log(), ["-foo-4", "-foo-3", "-foo-2"]);
    assert_eq!(world.names(), ["foo-0", "foo-1"]);
    assert_eq!(world.claims.len(), 5, "Retain keeps the claims of removed ordinals");
    assert_eq!(world.status().replicas, 2);
    world.spec().replicas = Some(3);
    world.converge(&one_at_a_time);
    assert_eq!(world.taken_log(), ["+foo-2"], "scaling up again reuses the retained claim");
    assert_eq!(world.claims.len(), 5);
}

#[test]
fn scaling_down_with_when_scaled_delete_lets_the_claims_go_with_their_pods() {
    let mut set = stateful_set(4);
    set.spec.as_mut().unwrap().persistent_volume_claim_retention_policy =
        Some(StatefulSetPersistentVolumeClaimRetentionPolicy {
            when_deleted: Some("Retain".to_string()),
            when_scaled: Some("Delete".to_string()),
        });
    let mut world = World::new(set);
    world.converge(&one_at_a_time);
    world.spec().replicas = Some(2);
    world.converge(&one_at_a_time);
    assert_eq!(world.claims.keys().cloned().collect::<Vec<_>>(), ["datadir-foo-0", "datadir-foo-1"]);
}

#[test]
fn a_rolling_update_with_a_partition_updates_only_the_ordinals_at_or_above_it_from_the_highest_down() {
    let mut world = running_set(5);
    world.taken_log();
    let old = world.status().current_revision.unwrap();
    world.spec().update_strategy.as_mut().unwrap().rolling_update.as_mut().unwrap().partition = Some(2);
    world.set_image("nginx:2");
    world.converge(&one_at_a_time);
    assert_eq!(world.taken_log(), ["-foo-4", "+foo-4", "-foo-3", "+foo-3", "-foo-2", "+foo-2"]);
    let status = world.status();
    let new = status.update_revision.clone().unwrap();
    assert_ne!(new, old);
    let revisions: Vec<String> = world.names().iter().map(|name| world.revision_of(name)).collect();
    assert_eq!(revisions, [old.clone(), old.clone(), new.clone(), new.clone(), new.clone()]);
    assert_eq!(status.current_revision.as_deref(), Some(old.as_str()), "a partitioned rollout is not complete");
    assert_eq!((status.current_replicas, status.updated_replicas, status.ready_replicas), (Some(2), Some(3), Some(5)));
    let image = |name: &str| world.pods[name].spec.as_ref().unwrap().containers[0].image.clone().unwrap();
    assert_eq!((image("foo-1"), image("foo-2")), ("nginx".to_string(), "nginx:2".to_string()));

    world.spec().update_strategy.as_mut().unwrap().rolling_update.as_mut().unwrap().partition = Some(0);
    world.converge(&one_at_a_time);
    assert_eq!(world.taken_log(), ["-foo-1", "+foo-1", "-foo-0", "+foo-0"]);
    let status = world.status();
    assert_eq!(status.current_revision.as_deref(), Some(new.as_str()), "the finished rollout becomes current");
    assert_eq!((status.current_replicas, status.updated_replicas), (Some(5), Some(5)));
}

#[test]
fn a_pod_deleted_below_the_partition_is_recreated_at_the_current_revision() {
    let mut world = running_set(3);
    let old = world.status().current_revision.unwrap();
    world.spec().update_strategy.as_mut().unwrap().rolling_update.as_mut().unwrap().partition = Some(3);
    world.set_image("nginx:2");
    world.converge(&one_at_a_time);
    world.taken_log();
    world.apply(&[crate::controllers::replicaset::delete_pod(&world.pods["foo-1"].clone())]);
    world.converge(&one_at_a_time);
    assert_eq!(world.taken_log(), ["-foo-1", "+foo-1"]);
    assert_eq!(world.revision_of("foo-1"), old);
}

#[test]
fn on_delete_replaces_only_the_pods_a_user_deletes() {
    let mut world = running_set(3);
    world.spec().update_strategy = Some(k8s_openapi::api::apps::v1::StatefulSetUpdateStrategy {
        type_: Some("OnDelete".to_string()),
        rolling_update: None,
    });
    world.set_image("nginx:2");
    world.converge(&one_at_a_time);
    world.taken_log();
    let old = world.status().current_revision.unwrap();
    let new = world.status().update_revision.unwrap();
    assert_ne!(old, new);
    assert!(world.names().iter().all(|name| world.revision_of(name) == old), "nothing is rolled by itself");
    world.apply(&[crate::controllers::replicaset::delete_pod(&world.pods["foo-1"].clone())]);
    world.converge(&one_at_a_time);
    assert_eq!(world.taken_log(), ["-foo-1", "+foo-1"]);
    assert_eq!(world.revision_of("foo-1"), new);
    assert_eq!((world.revision_of("foo-0"), world.revision_of("foo-2")), (old.clone(), old));
    let status = world.status();
    assert_eq!((status.current_replicas, status.updated_replicas), (Some(2), Some(1)));
}

#[test]
fn a_failed_pod_is_deleted_and_recreated_under_the_same_name_once_it_is_gone() {
    let mut world = running_set(3);
    world.taken_log();
    let failed_uid = world.pods["foo-1"].metadata.uid.clone();
    world.pods.get_mut("foo-1").unwrap().status.as_mut().unwrap().phase = Some("Failed".to_string());
    world.reconcile();
    assert_eq!(world.taken_log(), ["-foo-1"]);
    world.reconcile();
    assert!(world.taken_log().is_empty(), "no replacement while the failed pod terminates");
    world.converge(&|_| {});
    assert_eq!(world.taken_log(), ["+foo-1"]);
    assert_ne!(world.pods["foo-1"].metadata.uid, failed_uid);
    assert_eq!(world.names(), ["foo-0", "foo-1", "foo-2"]);
}

#[test]
fn ordered_ready_waits_for_an_unready_pod_before_creating_the_next() {
    let mut world = World::new(stateful_set(3));
    world.reconcile();
    assert_eq!(world.names(), ["foo-0"]);
    for _ in 0..3 {
        world.reconcile();
    }
    assert_eq!(world.names(), ["foo-0"], "foo-0 is still pending");
    world.converge(&one_at_a_time);
    assert_eq!(world.names(), ["foo-0", "foo-1", "foo-2"]);
}

#[test]
fn parallel_creates_and_deletes_every_ordinal_in_one_sync() {
    let mut set = stateful_set(4);
    set.spec.as_mut().unwrap().pod_management_policy = Some("Parallel".to_string());
    let mut world = World::new(set);
    world.reconcile();
    assert_eq!(world.taken_log(), ["+foo-0", "+foo-1", "+foo-2", "+foo-3"]);
    world.converge(&|_| {});
    world.spec().replicas = Some(1);
    world.step();
    assert_eq!(world.taken_log(), ["-foo-3", "-foo-2", "-foo-1"]);
    world.converge(&|_| {});
    assert_eq!(world.names(), ["foo-0"]);
}

#[test]
fn history_beyond_the_limit_is_deleted_but_revisions_in_use_are_kept() {
    let mut world = running_set(2);
    for version in 2..=6 {
        world.set_image(&format!("nginx:{version}"));
        world.converge(&one_at_a_time);
    }
    let status = world.status();
    assert_eq!(status.current_revision, status.update_revision);
    assert_eq!(world.revisions.len(), 3, "the live revision and the two newest old ones (revisionHistoryLimit 2)");
    let numbers: Vec<i64> = world.revisions.values().map(|revision| revision.revision).collect::<Vec<_>>();
    let mut sorted = numbers.clone();
    sorted.sort();
    assert_eq!(sorted, [4, 5, 6]);
    assert!(world.revisions.contains_key(status.update_revision.as_deref().unwrap()));
}

#[test]
fn rolling_back_to_an_old_template_reuses_its_revision() {
    let mut world = running_set(2);
    let first = world.status().update_revision.unwrap();
    world.set_image("nginx:2");
    world.converge(&one_at_a_time);
    world.set_image("nginx");
    world.converge(&one_at_a_time);
    let status = world.status();
    assert_eq!(status.update_revision.as_deref(), Some(first.as_str()));
    assert_eq!(world.revisions[&first].revision, 3, "the reused revision is renumbered as the newest");
}

#[test]
fn a_terminating_condemned_pod_blocks_further_scale_down() {
    let mut world = running_set(3);
    world.taken_log();
    world.spec().replicas = Some(1);
    world.reconcile();
    assert_eq!(world.taken_log(), ["-foo-2"]);
    world.reconcile();
    assert!(world.taken_log().is_empty(), "foo-1 waits for foo-2 to terminate");
}
