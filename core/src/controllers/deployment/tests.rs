//! Deployment controller tests: Kubernetes' `rolling_test.go` tables
//! (TestDeploymentController_reconcileNewReplicaSet, _reconcileOldReplicaSets,
//! _cleanupUnhealthyReplicas, _scaleDownOldReplicaSetsForRollingUpdate), `sync_test.go`
//! TestScale, and whole reconciles over observed state.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStatus, DeploymentStrategy, ReplicaSet, ReplicaSetSpec, ReplicaSetStatus,
    RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector as MetaLabelSelector, ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::rolling::{
    cleanup_unhealthy_replicas, reconcile_new_replica_set, reconcile_old_replica_sets,
    scale_down_old_replica_sets_for_rolling_update,
};
use super::sync::Sync;
use super::util::{self, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, REVISION_ANNOTATION, spec_replicas};
use super::*;
use crate::controllers::action::Action;
use crate::controllers::owner::controller_ref;

pub(super) fn now() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap()
}

pub(super) fn app_labels(version: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("app".to_string(), "foo".to_string()), ("version".to_string(), version.to_string())])
}

pub(super) fn deployment(replicas: i32, surge: i32, unavailable: i32, version: &str) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            name: Some("foo".to_string()),
            namespace: Some("default".to_string()),
            uid: Some("deployment-uid".to_string()),
            generation: Some(1),
            resource_version: Some("1".to_string()),
            ..ObjectMeta::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: MetaLabelSelector {
                match_labels: Some(BTreeMap::from([("app".to_string(), "foo".to_string())])),
                match_expressions: None,
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".to_string()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(surge)),
                    max_unavailable: Some(IntOrString::Int(unavailable)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(app_labels(version)), ..ObjectMeta::default() }),
                spec: None,
            },
            ..DeploymentSpec::default()
        }),
        status: None,
    }
}

/// A ReplicaSet of `deployment` for template `version`, `age` seconds old.
pub(super) fn replica_set(owner: &Deployment, version: &str, replicas: i32, available: i32, age: i64) -> ReplicaSet {
    let name = format!("foo-{version}");
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some("default".to_string()),
            uid: Some(name),
            labels: Some(app_labels(version)),
            resource_version: Some("1".to_string()),
            creation_timestamp: Some(Time(now() - SignedDuration::from_secs(age))),
            owner_references: Some(vec![controller_ref("apps/v1", "Deployment", &owner.metadata)]),
            ..ObjectMeta::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            min_ready_seconds: None,
            selector: MetaLabelSelector { match_labels: Some(app_labels(version)), match_expressions: None },
            template: Some(PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(app_labels(version)), ..ObjectMeta::default() }),
                spec: None,
            }),
        }),
        status: Some(ReplicaSetStatus {
            replicas,
            available_replicas: Some(available),
            ready_replicas: Some(available),
            ..ReplicaSetStatus::default()
        }),
    }
}

/// A sync whose last ReplicaSet is the new one.
fn sync_with<'a>(deployment: &'a Deployment, sets: Vec<ReplicaSet>, new: Option<&str>) -> Sync<'a> {
    let mut sync = Sync::new(deployment, sets, &[], now());
    sync.new = new.and_then(|name| sync.sets.iter().position(|rs| rs.metadata.name.as_deref() == Some(name)));
    sync
}

fn size_of(sync: &Sync<'_>, name: &str) -> i32 {
    spec_replicas(sync.sets.iter().find(|rs| rs.metadata.name.as_deref() == Some(name)).unwrap())
}

#[test]
fn the_new_replica_set_is_scaled_within_max_surge() {
    // (deployment replicas, maxSurge, old replicas, new replicas, expected new replicas if scaled)
    let cases = [
        (10, 0, 10, 0, None),
        (10, 2, 10, 0, Some(2)),
        (10, 2, 5, 0, Some(7)),
        (10, 2, 10, 2, None),
        (10, 2, 2, 11, Some(10)),
    ];
    for (replicas, surge, old, new, expected) in cases {
        let deployment = deployment(replicas, surge, 0, "v2");
        let sets = vec![replica_set(&deployment, "v1", old, old, 20), replica_set(&deployment, "v2", new, 0, 10)];
        let mut sync = sync_with(&deployment, sets, Some("foo-v2"));
        let scaled = reconcile_new_replica_set(&mut sync);
        assert_eq!(scaled, expected.is_some(), "case {replicas} {surge} {old} {new}");
        assert_eq!(size_of(&sync, "foo-v2"), expected.unwrap_or(new));
        assert_eq!(sync.changed.len(), usize::from(expected.is_some()));
    }
}

#[test]
fn old_replica_sets_are_scaled_down_within_max_unavailable() {
    // (replicas, maxUnavailable, old replicas, new replicas, old available, new available, expected old)
    let cases = [
        (10, 0, 10, 0, 10, 0, Some(9)),
        (10, 2, 10, 0, 10, 0, Some(8)),
        (10, 2, 10, 0, 8, 0, Some(8)),
        (10, 2, 10, 0, 9, 0, Some(8)),
        (10, 2, 8, 2, 8, 0, None),
    ];
    for (replicas, unavailable, old, new, old_available, new_available, expected) in cases {
        let mut deployment = deployment(replicas, 0, unavailable, "v2");
        if unavailable == 0 {
            // Kubernetes' newDeployment with both fenceposts zero: ResolveFenceposts makes it 1.
            deployment
                .spec
                .as_mut()
                .unwrap()
                .strategy
                .as_mut()
                .unwrap()
                .rolling_update
                .as_mut()
                .unwrap()
                .max_unavailable = Some(IntOrString::Int(0));
        }
        let sets = vec![
            replica_set(&deployment, "v1", old, old_available, 20),
            replica_set(&deployment, "v2", new, new_available, 10),
        ];
        let mut sync = sync_with(&deployment, sets, Some("foo-v2"));
        let active_old = sync.active_old_indices();
        let scaled = reconcile_old_replica_sets(&mut sync, active_old);
        assert_eq!(scaled, expected.is_some(), "case {replicas} {unavailable} {old} {new} {old_available}");
        assert_eq!(size_of(&sync, "foo-v1"), expected.unwrap_or(old));
    }
}

#[test]
fn unhealthy_old_replicas_are_cleaned_up_first_within_the_limit() {
    // (old replicas, available, max cleanup, expected cleaned)
    for (old, available, max_cleanup, expected) in [(10, 8, 1, 1), (10, 8, 3, 2), (10, 8, 0, 0), (10, 10, 3, 0)] {
        let deployment = deployment(10, 2, 2, "v2");
        let mut sync = sync_with(&deployment, vec![replica_set(&deployment, "v1", old, available, 20)], None);
        assert_eq!(cleanup_unhealthy_replicas(&mut sync, vec![0], max_cleanup), expected);
    }
}

#[test]
fn available_old_replicas_are_scaled_down_only_above_min_available() {
    // (replicas, maxUnavailable, available, old replicas, expected old replicas if scaled)
    let cases = [
        (10, 0, 10, 10, Some(9)),
        (10, 2, 10, 10, Some(8)),
        (10, 2, 8, 10, None),
        (10, 2, 10, 0, None),
        (10, 2, 1, 10, None),
    ];
    for (replicas, unavailable, available, old, expected) in cases {
        let deployment = deployment(replicas, 0, unavailable, "v2");
        let mut sync = sync_with(&deployment, vec![replica_set(&deployment, "v1", old, available, 20)], None);
        let scaled = scale_down_old_replica_sets_for_rolling_update(&mut sync, vec![0]);
        assert_eq!(scaled > 0, expected.is_some());
        assert_eq!(size_of(&sync, "foo-v1"), expected.unwrap_or(old));
    }
}

fn annotate(replica_set: &mut ReplicaSet, desired: i32, max: i32) {
    let annotations = replica_set.metadata.annotations.get_or_insert_with(BTreeMap::new);
    annotations.insert(DESIRED_REPLICAS_ANNOTATION.to_string(), desired.to_string());
    annotations.insert(MAX_REPLICAS_ANNOTATION.to_string(), max.to_string());
}

fn updated_sizes(reconciled: &crate::controllers::Reconciled) -> BTreeMap<String, i32> {
    reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Update { object } => {
                let replica_set: ReplicaSet = object.to_typed().unwrap();
                Some((replica_set.metadata.name.clone().unwrap(), spec_replicas(&replica_set)))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn scaling_mid_rollout_is_proportional() {
    // TestScale: (name, replicas, surge, old replicas, old surge, new RS, old RSes newest first, expected new, expected old)
    type Case = (&'static str, i32, i32, i32, i32, Option<i32>, &'static [i32], Option<i32>, &'static [i32]);
    let cases: [Case; 11] = [
        ("10 -> 12", 12, 0, 10, 0, Some(10), &[], Some(12), &[]),
        ("10 -> 5", 5, 0, 10, 0, Some(10), &[], Some(5), &[]),
        ("5 -> 10", 10, 0, 5, 0, Some(2), &[3], Some(4), &[6]),
        ("5 -> 3", 3, 0, 5, 0, Some(2), &[3], Some(1), &[2]),
        ("9 -> 4", 4, 0, 9, 0, Some(8), &[1], Some(4), &[0]),
        ("7 -> 10", 10, 0, 7, 0, Some(2), &[3, 2], Some(3), &[4, 3]),
        ("13 -> 8", 8, 0, 13, 0, Some(2), &[8, 3], Some(1), &[5, 2]),
        ("leftover 3 -> 4", 4, 0, 3, 0, Some(1), &[1, 1], Some(2), &[1, 1]),
        ("leftover 3 -> 2", 2, 0, 3, 0, Some(1), &[1, 1], Some(1), &[1, 0]),
        ("surge 10 -> 20", 20, 2, 10, 2, Some(6), &[6], Some(11), &[11]),
        ("surge and size", 50, 6, 10, 3, Some(5), &[8], Some(22), &[34]),
    ];
    for (name, replicas, surge, old_replicas, old_surge, new, olds, expected_new, expected_olds) in cases {
        let deployment = deployment(replicas, surge, 0, "new");
        let mut sets = Vec::new();
        if let Some(new) = new {
            sets.push(replica_set(&deployment, "new", new, new, 10));
        }
        for (position, size) in olds.iter().enumerate() {
            sets.push(replica_set(&deployment, &format!("old{position}"), *size, *size, 20 + position as i64 * 10));
        }
        for replica_set in &mut sets {
            annotate(replica_set, old_replicas, old_replicas + old_surge);
            let annotations = replica_set.metadata.annotations.as_mut().unwrap();
            annotations.insert(REVISION_ANNOTATION.to_string(), "1".to_string());
        }
        if let Some(new) = sets.first_mut().filter(|_| new.is_some()) {
            new.metadata.annotations.as_mut().unwrap().insert(REVISION_ANNOTATION.to_string(), "2".to_string());
        }
        let reconciled = reconcile_deployment(&deployment, &sets, &[], now()).unwrap();
        let sizes = updated_sizes(&reconciled);
        let size = |name: &str, before: i32| sizes.get(name).copied().unwrap_or(before);
        if let (Some(before), Some(expected)) = (new, expected_new) {
            assert_eq!(size("foo-new", before), expected, "{name}: new");
        }
        for (position, expected) in expected_olds.iter().enumerate() {
            assert_eq!(size(&format!("foo-old{position}"), olds[position]), *expected, "{name}: old{position}");
        }
    }
}

#[test]
fn a_first_sync_creates_the_new_replica_set_named_by_its_template_hash() {
    let mut deployment = deployment(3, 1, 0, "v1");
    deployment.metadata.annotations =
        Some(BTreeMap::from([(util::CHANGE_CAUSE_ANNOTATION.to_string(), "kubectl create".to_string())]));
    let reconciled = reconcile_deployment(&deployment, &[], &[], now()).unwrap();
    let Action::Create { object, .. } = &reconciled.actions[0] else { panic!("expected a create: {reconciled:?}") };
    let created: ReplicaSet = object.to_typed().unwrap();
    let hash = compute_hash(&util::template(&deployment), None);
    assert_eq!(created.metadata.name, Some(format!("foo-{hash}")));
    assert_eq!(spec_replicas(&created), 3, "with no old pods the first ReplicaSet takes every replica");
    let annotations = created.metadata.annotations.clone().unwrap();
    assert_eq!(annotations[REVISION_ANNOTATION], "1");
    assert_eq!(annotations[DESIRED_REPLICAS_ANNOTATION], "3");
    assert_eq!(annotations[MAX_REPLICAS_ANNOTATION], "4");
    assert_eq!(annotations[util::CHANGE_CAUSE_ANNOTATION], "kubectl create");
    let template_labels = created.spec.unwrap().template.unwrap().metadata.unwrap().labels.unwrap();
    assert_eq!(template_labels[util::POD_TEMPLATE_HASH_LABEL], hash);
    let Action::UpdateStatus { object } = &reconciled.actions[1] else { panic!("expected a status update") };
    let updated: Deployment = object.to_typed().unwrap();
    assert_eq!(updated.metadata.annotations.unwrap()[REVISION_ANNOTATION], "1");
    let progressing = util::condition(updated.status.as_ref().unwrap(), util::PROGRESSING).unwrap();
    assert_eq!(progressing.reason.as_deref(), Some("NewReplicaSetCreated"));
    assert_eq!(progressing.message.as_deref(), Some(format!("Created new replica set \"foo-{hash}\"").as_str()));
}

#[test]
fn a_paused_deployment_does_not_roll_out_but_records_the_pause() {
    let mut deployment = deployment(3, 1, 0, "v2");
    deployment.spec.as_mut().unwrap().paused = Some(true);
    let mut old = replica_set(&deployment, "v1", 3, 3, 20);
    annotate(&mut old, 3, 4);
    let reconciled = reconcile_deployment(&deployment, &[old], &[], now()).unwrap();
    assert!(!reconciled.actions.iter().any(Action::is_create));
    assert!(updated_sizes(&reconciled).is_empty());
    let status = reconciled.actions.iter().find_map(|action| match action {
        Action::UpdateStatus { object } => object.to_typed::<Deployment>().unwrap().status,
        _ => None,
    });
    let progressing = util::condition(status.as_ref().unwrap(), util::PROGRESSING).cloned().unwrap();
    assert_eq!((progressing.status.as_str(), progressing.reason.as_deref()), ("Unknown", Some("DeploymentPaused")));
}

#[test]
fn a_stalled_rollout_exceeds_its_progress_deadline() {
    let mut deployment = deployment(2, 1, 0, "v2");
    let stale = now() - SignedDuration::from_secs(601);
    let mut new = replica_set(&deployment, "v2", 2, 0, 700);
    let mut old = replica_set(&deployment, "v1", 1, 1, 800);
    annotate(&mut new, 2, 3);
    annotate(&mut old, 2, 3);
    new.metadata.annotations.as_mut().unwrap().insert(REVISION_ANNOTATION.to_string(), "2".to_string());
    old.metadata.annotations.as_mut().unwrap().insert(REVISION_ANNOTATION.to_string(), "1".to_string());
    deployment.metadata.annotations = Some(BTreeMap::from([(REVISION_ANNOTATION.to_string(), "2".to_string())]));
    let mut condition = util::new_condition(
        util::PROGRESSING,
        "True",
        "ReplicaSetUpdated",
        "ReplicaSet \"foo-v2\" is progressing.",
        stale,
    );
    condition.last_transition_time = Some(Time(stale));
    deployment.status = Some(DeploymentStatus {
        observed_generation: Some(1),
        replicas: Some(3),
        updated_replicas: Some(2),
        ready_replicas: Some(1),
        available_replicas: Some(1),
        unavailable_replicas: Some(2),
        conditions: Some(vec![condition]),
        ..DeploymentStatus::default()
    });
    let reconciled = reconcile_deployment(&deployment, &[new, old], &[], now()).unwrap();
    let status = reconciled.actions.iter().find_map(|action| match action {
        Action::UpdateStatus { object } => object.to_typed::<Deployment>().unwrap().status,
        _ => None,
    });
    let progressing = util::condition(status.as_ref().unwrap(), util::PROGRESSING).cloned().unwrap();
    assert_eq!(
        (progressing.status.as_str(), progressing.reason.as_deref()),
        ("False", Some("ProgressDeadlineExceeded"))
    );
    assert_eq!(progressing.message.as_deref(), Some("ReplicaSet \"foo-v2\" has timed out progressing."));
}

#[test]
fn history_beyond_the_revision_history_limit_is_deleted_oldest_first() {
    let mut deployment = deployment(1, 1, 0, "v4");
    deployment.spec.as_mut().unwrap().revision_history_limit = Some(1);
    let mut sets = vec![replica_set(&deployment, "v4", 1, 1, 10)];
    for (revision, version) in [(1, "v1"), (2, "v2"), (3, "v3")] {
        let mut old = replica_set(&deployment, version, 0, 0, 100 - revision);
        old.metadata.annotations = Some(BTreeMap::from([(REVISION_ANNOTATION.to_string(), revision.to_string())]));
        sets.push(old);
    }
    let new = &mut sets[0];
    annotate(new, 1, 2);
    new.metadata.annotations.as_mut().unwrap().insert(REVISION_ANNOTATION.to_string(), "4".to_string());
    deployment.status = Some(DeploymentStatus {
        observed_generation: Some(1),
        replicas: Some(1),
        updated_replicas: Some(1),
        available_replicas: Some(1),
        ..DeploymentStatus::default()
    });
    let reconciled = reconcile_deployment(&deployment, &sets, &[], now()).unwrap();
    let deleted: Vec<&str> = reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Delete { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deleted, vec!["foo-v1", "foo-v2"]);
}

#[test]
fn an_empty_selector_is_refused_with_a_warning() {
    let mut deployment = deployment(1, 1, 0, "v1");
    deployment.spec.as_mut().unwrap().selector = MetaLabelSelector::default();
    let reconciled = reconcile_deployment(&deployment, &[], &[], now()).unwrap();
    let reasons: Vec<Option<String>> = reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Event { event } => Some(event.reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, vec![Some("SelectingAll".to_string())]);
    assert!(!reconciled.actions.iter().any(Action::is_create));
}

#[test]
fn rollback_patches_the_template_back_without_the_hash() {
    let deployment = deployment(1, 1, 0, "v2");
    let mut old = replica_set(&deployment, "v1", 0, 0, 20);
    old.spec
        .as_mut()
        .unwrap()
        .template
        .as_mut()
        .unwrap()
        .metadata
        .as_mut()
        .unwrap()
        .labels
        .as_mut()
        .unwrap()
        .insert(util::POD_TEMPLATE_HASH_LABEL.to_string(), "abc".to_string());
    old.metadata.annotations = Some(BTreeMap::from([(REVISION_ANNOTATION.to_string(), "1".to_string())]));
    let mut new = replica_set(&deployment, "v2", 1, 1, 10);
    new.metadata.annotations = Some(BTreeMap::from([(REVISION_ANNOTATION.to_string(), "2".to_string())]));
    let patch = rollback_patch(&deployment, &[&old, &new], 0).unwrap().unwrap();
    assert_eq!(patch[0]["path"], "/spec/template");
    assert_eq!(patch[0]["value"]["metadata"]["labels"], serde_json::json!({"app": "foo", "version": "v1"}));
    assert!(matches!(
        rollback_patch(&deployment, &[&old, &new], 7),
        Err(DeploymentError::RevisionNotFound { revision: 7 })
    ));
    assert!(matches!(rollback_patch(&deployment, &[&new], 0), Err(DeploymentError::NoRolloutHistory { .. })));
}

/// Regression (the no-panic proptest, `no_workload_controller_panics_on_extreme_numbers`,
/// input `replicas: -2147483648`): `replicas - maxUnavailable` overflowed computing the
/// Available condition. It saturates, so the condition is computed and nothing panics.
#[test]
fn i32_min_replicas_compute_availability_without_overflow() {
    let mut deployment = deployment(2, 1, 1, "v1");
    deployment.spec.as_mut().unwrap().replicas = Some(i32::MIN);
    let replica_set = replica_set(&deployment, "v1", 1, 1, 700);
    let reconciled = reconcile_deployment(&deployment, &[replica_set], &[], now()).unwrap();
    let status = reconciled.actions.iter().find_map(|action| match action {
        Action::UpdateStatus { object } => object.to_typed::<Deployment>().unwrap().status,
        _ => None,
    });
    let available = util::condition(status.as_ref().unwrap(), util::AVAILABLE).cloned().unwrap();
    assert_eq!(available.status, "True");
}
