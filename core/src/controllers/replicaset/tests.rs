//! ReplicaSet controller tests, ported from Kubernetes' `replica_set_test.go` and
//! `controller_utils_test.go` (`TestSortingActivePodsWithRanks`) where noted.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec, ReplicaSetStatus};
use k8s_openapi::api::core::v1::{
    ContainerStatus, Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec, ReplicationController,
    ReplicationControllerSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector as MetaLabelSelector, ObjectMeta, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::*;
use crate::controllers::owner::controller_ref;
use crate::controllers::pods::{POD_DELETION_COST_ANNOTATION, rank_for_deletion};

fn now() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap()
}

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([("app".to_string(), "web".to_string())])
}

fn replica_set(replicas: i32) -> ReplicaSet {
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some("web".to_string()),
            namespace: Some("default".to_string()),
            uid: Some("rs-uid".to_string()),
            generation: Some(1),
            resource_version: Some("7".to_string()),
            ..ObjectMeta::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            min_ready_seconds: None,
            selector: MetaLabelSelector { match_labels: Some(labels()), match_expressions: None },
            template: Some(PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels()), ..ObjectMeta::default() }),
                spec: Some(PodSpec::default()),
            }),
        }),
        status: None,
    }
}

/// A pod of the ReplicaSet: `index` names it; ready pods became ready `ready_for` seconds ago.
fn pod(index: usize, phase: &str, ready: bool) -> Pod {
    let owner = replica_set(0).metadata;
    let conditions = vec![PodCondition {
        type_: "Ready".to_string(),
        status: if ready { "True" } else { "False" }.to_string(),
        last_transition_time: Some(Time(now() - SignedDuration::from_secs(60))),
        ..PodCondition::default()
    }];
    Pod {
        metadata: ObjectMeta {
            name: Some(format!("web-{index}")),
            namespace: Some("default".to_string()),
            uid: Some(format!("pod-{index}")),
            labels: Some(labels()),
            owner_references: Some(vec![controller_ref("apps/v1", "ReplicaSet", &owner)]),
            creation_timestamp: Some(Time(now() - SignedDuration::from_secs(600))),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec { node_name: Some("node-1".to_string()), ..PodSpec::default() }),
        status: Some(PodStatus {
            phase: Some(phase.to_string()),
            conditions: Some(conditions),
            ..PodStatus::default()
        }),
    }
}

fn running(count: usize) -> Vec<Pod> {
    (0..count).map(|index| pod(index, "Running", true)).collect()
}

fn reconcile(replica_set: &ReplicaSet, pods: &[Pod]) -> (Reconciled, ControllerExpectations) {
    let mut expectations = ControllerExpectations::new();
    let reconciled = reconcile_replica_set(replica_set, pods, None, &mut expectations, now()).unwrap();
    (reconciled, expectations)
}

fn creates(reconciled: &Reconciled) -> usize {
    reconciled.actions.iter().filter(|action| action.is_create()).count()
}

fn deleted_names(reconciled: &Reconciled) -> Vec<String> {
    reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Delete { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

fn status_update(reconciled: &Reconciled) -> Option<ReplicaSetStatus> {
    reconciled.actions.iter().find_map(|action| match action {
        Action::UpdateStatus { object } => object.to_typed::<ReplicaSet>().unwrap().status,
        _ => None,
    })
}

fn observed_status(replicas: i32) -> ReplicaSetStatus {
    ReplicaSetStatus {
        replicas,
        fully_labeled_replicas: Some(replicas),
        ready_replicas: Some(replicas),
        available_replicas: Some(replicas),
        observed_generation: Some(1),
        ..ReplicaSetStatus::default()
    }
}

#[test]
fn a_replica_set_with_enough_pods_does_nothing() {
    // TestSyncReplicaSetDoesNothing: 2 replicas, 2 running pods, status current.
    let mut replica_set = replica_set(2);
    replica_set.status = Some(observed_status(2));
    let (reconciled, _) = reconcile(&replica_set, &running(2));
    assert_eq!(reconciled.actions, Vec::new());
}

#[test]
fn missing_pods_are_created_in_slow_start_batches_with_generate_name() {
    let (reconciled, expectations) = reconcile(&replica_set(7), &[]);
    assert_eq!(creates(&reconciled), 7);
    assert_eq!(&reconciled.batch_sizes[..3], &[1, 2, 4]);
    let Action::Create { object, on_created } = &reconciled.actions[0] else { panic!("expected a create") };
    let created: Pod = object.to_typed().unwrap();
    assert_eq!(created.metadata.generate_name.as_deref(), Some("web-"));
    assert_eq!(created.metadata.labels, Some(labels()));
    assert_eq!(crate::controllers::owner::controller_of(&created.metadata).unwrap().uid, "rs-uid");
    let event = on_created.as_ref().unwrap().event("web-abcde", now());
    assert_eq!(event.reason.as_deref(), Some("SuccessfulCreate"));
    assert_eq!(event.message.as_deref(), Some("Created pod: web-abcde"));
    assert_eq!(expectations.get("default/web").unwrap().adds, 7);
}

#[test]
fn slow_start_batches_double_until_the_count_is_reached() {
    assert_eq!(slow_start_batch_sizes(0, 1), Vec::<usize>::new());
    assert_eq!(slow_start_batch_sizes(1, 1), vec![1]);
    assert_eq!(slow_start_batch_sizes(10, 1), vec![1, 2, 4, 3]);
    assert_eq!(slow_start_batch_sizes(500, 1), vec![1, 2, 4, 8, 16, 32, 64, 128, 245]);
}

#[test]
fn creations_per_sync_are_bounded_by_the_burst_limit() {
    // TestSyncReplicaSetBurstReplicas: at most BurstReplicas pods per sync.
    let (reconciled, _) = reconcile(&replica_set(1_200), &[]);
    assert_eq!(creates(&reconciled), BURST_REPLICAS);
}

#[test]
fn unmet_expectations_block_further_creation_until_they_expire() {
    let replica_set = replica_set(3);
    let mut expectations = ControllerExpectations::new();
    let first = reconcile_replica_set(&replica_set, &[] as &[Pod], None, &mut expectations, now()).unwrap();
    assert_eq!(creates(&first), 3);
    // The watch has not shown the pods yet: no double creation, a requeue at the expiry.
    let second = reconcile_replica_set(&replica_set, &[] as &[Pod], None, &mut expectations, now()).unwrap();
    assert_eq!(creates(&second), 0);
    assert_eq!(second.requeue_after, Some(crate::controllers::EXPECTATIONS_TIMEOUT));
    let later = now() + SignedDuration::from_secs(301);
    let third = reconcile_replica_set(&replica_set, &[] as &[Pod], None, &mut expectations, later).unwrap();
    assert_eq!(creates(&third), 3);
}

#[test]
fn surplus_pods_are_deleted_with_a_uid_precondition_and_events() {
    // TestSyncReplicaSetDeletes: 2 replicas, 3 pods -> 1 delete.
    let mut replica_set = replica_set(2);
    replica_set.status = Some(observed_status(3));
    let mut pods = running(3);
    pods[1].status.as_mut().unwrap().phase = Some("Pending".to_string());
    let (reconciled, expectations) = reconcile(&replica_set, &pods);
    assert_eq!(deleted_names(&reconciled), vec!["web-1"]);
    let Action::Delete { preconditions, .. } = &reconciled.actions[0] else { panic!("expected a delete") };
    assert_eq!(preconditions.uid.as_deref(), Some("pod-1"));
    assert!(expectations.get("default/web").unwrap().delete_keys.contains("default/web-1"));
    let event = reconciled.actions.iter().find_map(|action| match action {
        Action::Event { event } => Some(event.message.clone()),
        _ => None,
    });
    assert_eq!(event.flatten().as_deref(), Some("Deleted pod: web-1"));
}

#[test]
fn terminating_and_finished_pods_are_not_counted() {
    let mut pods = running(3);
    pods[0].metadata.deletion_timestamp = Some(Time(now()));
    pods[1].status.as_mut().unwrap().phase = Some("Succeeded".to_string());
    pods[2].status.as_mut().unwrap().phase = Some("Failed".to_string());
    let (reconciled, _) = reconcile(&replica_set(3), &pods);
    assert_eq!(creates(&reconciled), 3);
    assert_eq!(status_update(&reconciled).unwrap().replicas, 0);
}

#[test]
fn orphans_are_adopted_and_strangers_released() {
    let mut orphan = pod(0, "Running", true);
    orphan.metadata.owner_references = None;
    let mut stranger = pod(1, "Running", true);
    stranger.metadata.labels = Some(BTreeMap::from([("app".to_string(), "db".to_string())]));
    let (reconciled, _) = reconcile(&replica_set(1), &[orphan, stranger]);
    let patched: Vec<(&str, bool)> = reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Patch { name, body, .. } => Some((name.as_str(), body.to_string().contains("$patch"))),
            _ => None,
        })
        .collect();
    assert_eq!(patched, vec![("web-0", false), ("web-1", true)]);
    assert_eq!(creates(&reconciled), 0, "the adopted pod counts");
}

#[test]
fn status_counts_ready_and_available_pods_with_min_ready_seconds() {
    let mut replica_set = replica_set(3);
    replica_set.spec.as_mut().unwrap().min_ready_seconds = Some(120);
    let mut pods = running(3);
    pods[2].status.as_mut().unwrap().conditions.as_mut().unwrap()[0].status = "False".to_string();
    let (reconciled, _) = reconcile(&replica_set, &pods);
    let status = status_update(&reconciled).unwrap();
    assert_eq!(
        (status.replicas, status.ready_replicas, status.available_replicas, status.observed_generation),
        (3, Some(2), None, Some(1))
    );
    assert_eq!(status.fully_labeled_replicas, Some(3));
}

#[test]
fn all_ready_but_not_yet_available_requeues_after_min_ready_seconds() {
    let mut replica_set = replica_set(2);
    replica_set.spec.as_mut().unwrap().min_ready_seconds = Some(120);
    let (reconciled, _) = reconcile(&replica_set, &running(2));
    assert_eq!(reconciled.requeue_after, Some(std::time::Duration::from_secs(120)));
}

#[test]
fn a_failed_manage_sets_and_a_clean_sync_clears_the_replica_failure_condition() {
    let replica_set = replica_set(3);
    let mut expectations = ControllerExpectations::new();
    let failed = reconcile_replica_set(
        &replica_set,
        &running(1),
        Some("pods \"web-x\" is forbidden: exceeded quota"),
        &mut expectations,
        now(),
    )
    .unwrap();
    let status = status_update(&failed).unwrap();
    let condition = &status.conditions.clone().unwrap()[0];
    assert_eq!((condition.type_.as_str(), condition.reason.as_deref()), ("ReplicaFailure", Some("FailedCreate")));
    let mut failing = replica_set.clone();
    failing.status = Some(status);
    let mut expectations = ControllerExpectations::new();
    let cleared = reconcile_replica_set(&failing, &running(3), None, &mut expectations, now()).unwrap();
    assert_eq!(status_update(&cleared).unwrap().conditions, None);
}

#[test]
fn a_replication_controller_is_reconciled_by_the_same_code() {
    let controller = ReplicationController {
        metadata: replica_set(0).metadata,
        spec: Some(ReplicationControllerSpec {
            replicas: Some(2),
            selector: Some(labels()),
            template: replica_set(0).spec.unwrap().template,
            min_ready_seconds: None,
        }),
        status: None,
    };
    let mut expectations = ControllerExpectations::new();
    let reconciled =
        reconcile_replication_controller(&controller, &running(1), None, &mut expectations, now()).unwrap();
    assert_eq!(creates(&reconciled), 1);
    let Action::UpdateStatus { object } = reconciled.actions.last().unwrap() else { panic!("expected status") };
    assert_eq!(object.kind, "ReplicationController");
    let Action::Create { object, .. } = &reconciled.actions[0] else { panic!("expected a create") };
    let owner = crate::controllers::owner::controller_of(&object.metadata).unwrap().clone();
    assert_eq!((owner.kind.as_str(), owner.api_version.as_str()), ("ReplicationController", "v1"));
}

/// `TestSortingActivePodsWithRanks`: each pod must sort before every later one.
#[test]
fn pods_are_ranked_for_deletion_as_kubernetes_ranks_them() {
    let at = |seconds: i64| Some(Time(now() - SignedDuration::from_secs(seconds)));
    let mut unscheduled = pod(0, "Pending", false);
    unscheduled.spec.as_mut().unwrap().node_name = None;
    let scheduled_pending = pod(1, "Pending", false);
    let unknown = pod(2, "Unknown", false);
    let running_not_ready = pod(3, "Running", false);
    let mut cheap = pod(4, "Running", true);
    cheap.metadata.annotations = Some(BTreeMap::from([(POD_DELETION_COST_ANNOTATION.to_string(), "-10".to_string())]));
    let mut ready_recently = pod(5, "Running", true);
    ready_recently.spec.as_mut().unwrap().node_name = Some("node-2".to_string());
    ready_recently.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].last_transition_time = at(1);
    let mut restarted = pod(6, "Running", true);
    restarted.spec.as_mut().unwrap().node_name = Some("node-2".to_string());
    restarted.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].last_transition_time = at(100_000);
    restarted.status.as_mut().unwrap().container_statuses =
        Some(vec![ContainerStatus { restart_count: 3, ..ContainerStatus::default() }]);
    let mut created_recently = pod(7, "Running", true);
    created_recently.spec.as_mut().unwrap().node_name = Some("node-2".to_string());
    created_recently.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].last_transition_time = at(100_000);
    created_recently.metadata.creation_timestamp = at(200_000);
    let mut oldest = pod(8, "Running", true);
    oldest.spec.as_mut().unwrap().node_name = Some("node-2".to_string());
    oldest.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].last_transition_time = at(100_000);
    oldest.metadata.creation_timestamp = at(10_000_000);
    let expected = [
        &unscheduled,
        &scheduled_pending,
        &unknown,
        &running_not_ready,
        &cheap,
        &ready_recently,
        &restarted,
        &created_recently,
        &oldest,
    ];
    let mut shuffled: Vec<&Pod> = expected.to_vec();
    shuffled.reverse();
    shuffled.swap(1, 4);
    let ranked = rank_for_deletion(&shuffled, &[], now());
    let names = |pods: &[&Pod]| pods.iter().map(|pod| pod.metadata.name.clone().unwrap()).collect::<Vec<_>>();
    assert_eq!(names(&ranked), names(&expected));
}

#[test]
fn pods_doubled_up_on_a_node_are_deleted_first() {
    let mut alone = pod(0, "Running", true);
    alone.spec.as_mut().unwrap().node_name = Some("node-a".to_string());
    let crowded = [pod(1, "Running", true), pod(2, "Running", true)];
    let candidates = vec![&alone, &crowded[0]];
    let related = vec![&alone, &crowded[0], &crowded[1]];
    let ranked = rank_for_deletion(&candidates, &related, now());
    assert_eq!(ranked[0].metadata.name.as_deref(), Some("web-1"));
}
