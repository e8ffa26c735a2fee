//! StatefulSet tests: the identity, storage and revision helpers of Kubernetes'
//! `stateful_set_utils_test.go` (TestGetParentNameAndOrdinal, TestIsMemberOf,
//! TestIdentityMatches, TestStorageMatches, TestUpdateIdentity, TestUpdateStorage,
//! TestIsRunningAndReady, TestNewPodControllerRef, TestCreateApplyRevision,
//! TestGetPersistentVolumeClaims, the claim-owner table of TestUpdateClaimOwnerRefForSetAndPod)
//! and single reconciles.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Container, HostPathVolumeSource, PersistentVolumeClaim, Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector as MetaLabelSelector, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

use super::identity::*;
use super::retention::wanted_owner_references;
use super::*;
use crate::controllers::owner::controller_of;

pub(super) fn now() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
}

/// Kubernetes' `newStatefulSet`: set `foo` with a `datadir` claim template, a `home` hostPath
/// volume, service `governingsvc`, history limit 2.
pub(super) fn stateful_set(replicas: i32) -> StatefulSet {
    let mount = |name: &str, path: &str| VolumeMount {
        name: name.to_string(),
        mount_path: path.to_string(),
        ..VolumeMount::default()
    };
    let claim = PersistentVolumeClaim {
        metadata: ObjectMeta { name: Some("datadir".to_string()), ..ObjectMeta::default() },
        ..PersistentVolumeClaim::default()
    };
    StatefulSet {
        metadata: ObjectMeta {
            name: Some("foo".to_string()),
            namespace: Some("default".to_string()),
            uid: Some("test".to_string()),
            generation: Some(1),
            resource_version: Some("1".to_string()),
            ..ObjectMeta::default()
        },
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            selector: MetaLabelSelector { match_labels: Some(labels(&[("foo", "bar")])), match_expressions: None },
            service_name: Some("governingsvc".to_string()),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels(&[("foo", "bar")])), ..ObjectMeta::default() }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "nginx".to_string(),
                        image: Some("nginx".to_string()),
                        volume_mounts: Some(vec![mount("datadir", "/tmp/zookeeper"), mount("home", "/home")]),
                        ..Container::default()
                    }],
                    volumes: Some(vec![Volume {
                        name: "home".to_string(),
                        host_path: Some(HostPathVolumeSource { path: "/tmp/home".to_string(), type_: None }),
                        ..Volume::default()
                    }]),
                    ..PodSpec::default()
                }),
            },
            volume_claim_templates: Some(vec![claim]),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".to_string()),
                rolling_update: Some(RollingUpdateStatefulSetStrategy { partition: Some(0), max_unavailable: None }),
            }),
            pod_management_policy: Some("OrderedReady".to_string()),
            revision_history_limit: Some(2),
            ..StatefulSetSpec::default()
        }),
        status: None,
    }
}

fn template(set: &StatefulSet) -> PodTemplateSpec {
    set.spec.as_ref().unwrap().template.clone()
}

fn new_pod(set: &StatefulSet, ordinal: i32) -> Pod {
    new_stateful_set_pod(set, &template(set), ordinal)
}

fn running_and_ready(mut pod: Pod) -> Pod {
    pod.metadata.uid = pod.metadata.name.clone();
    pod.status = Some(PodStatus {
        phase: Some("Running".to_string()),
        conditions: Some(vec![PodCondition {
            type_: "Ready".to_string(),
            status: "True".to_string(),
            last_transition_time: Some(Time(now())),
            ..PodCondition::default()
        }]),
        ..PodStatus::default()
    });
    pod
}

#[test]
fn the_parent_name_and_ordinal_come_from_the_pod_name() {
    let set = stateful_set(3);
    let pod = new_pod(&set, 1);
    assert_eq!(parent_name_and_ordinal(&pod), Some(("foo", 1)));
    let mut stranger = pod.clone();
    stranger.metadata.name = Some("1-bar".to_string());
    assert_eq!(parent_name_and_ordinal(&stranger), None);
    assert_eq!(ordinal(&stranger), -1);
    stranger.metadata.name = Some("foo-99999999999".to_string());
    assert_eq!(ordinal(&stranger), -1, "an ordinal beyond int32 is no ordinal");
}

#[test]
fn membership_is_decided_by_the_parent_name() {
    let set = stateful_set(3);
    let mut other = stateful_set(3);
    other.metadata.name = Some("foo2".to_string());
    let pod = new_pod(&set, 1);
    assert!(is_member_of(&set, &pod));
    assert!(!is_member_of(&other, &pod));
}

#[test]
fn a_new_pod_has_the_identity_of_its_ordinal() {
    let set = stateful_set(3);
    let pod = new_pod(&set, 1);
    assert!(identity_matches(&set, &pod));
    assert_eq!(pod.metadata.name.as_deref(), Some("foo-1"));
    let pod_labels = pod.metadata.labels.clone().unwrap();
    assert_eq!(pod_labels[POD_NAME_LABEL], "foo-1");
    assert_eq!(pod_labels[POD_INDEX_LABEL], "1");
    let spec = pod.spec.as_ref().unwrap();
    assert_eq!((spec.hostname.as_deref(), spec.subdomain.as_deref()), (Some("foo-1"), Some("governingsvc")));
    let mut renamed = pod.clone();
    renamed.metadata.name = Some("foo".to_string());
    assert!(!identity_matches(&set, &renamed), "wrong name");
    let mut moved = pod.clone();
    moved.metadata.namespace = None;
    assert!(!identity_matches(&set, &moved), "wrong namespace");
    let mut unlabelled = pod;
    unlabelled.metadata.labels.as_mut().unwrap().remove(POD_NAME_LABEL);
    assert!(!identity_matches(&set, &unlabelled), "missing pod-name label");
}

#[test]
fn update_identity_restores_namespace_and_labels() {
    let set = stateful_set(3);
    let mut pod = new_pod(&set, 1);
    pod.metadata.namespace = None;
    pod.metadata.labels.as_mut().unwrap().remove(POD_INDEX_LABEL);
    assert!(!identity_matches(&set, &pod));
    update_identity(&set, &mut pod, 1);
    assert!(identity_matches(&set, &pod));
}

#[test]
fn storage_matches_only_when_every_claim_is_mounted_by_its_name() {
    let set = stateful_set(3);
    let pod = new_pod(&set, 1);
    assert!(storage_matches(&set, &pod));
    let volumes = pod.spec.as_ref().unwrap().volumes.clone().unwrap();
    assert_eq!(volumes[0].persistent_volume_claim.as_ref().unwrap().claim_name, "datadir-foo-1");
    assert_eq!(volumes[1].name, "home", "template volumes are kept after the claims");
    let mut no_volumes = pod.clone();
    no_volumes.spec.as_mut().unwrap().volumes = None;
    assert!(!storage_matches(&set, &no_volumes));
    let mut no_claims = pod.clone();
    no_claims
        .spec
        .as_mut()
        .unwrap()
        .volumes
        .as_mut()
        .unwrap()
        .iter_mut()
        .for_each(|v| v.persistent_volume_claim = None);
    assert!(!storage_matches(&set, &no_claims));
    let mut wrong_claim = pod.clone();
    wrong_claim.spec.as_mut().unwrap().volumes.as_mut().unwrap()[0]
        .persistent_volume_claim
        .as_mut()
        .unwrap()
        .claim_name = "foo".to_string();
    assert!(!storage_matches(&set, &wrong_claim));
    let mut no_ordinal = pod;
    no_ordinal.metadata.name = Some("bar".to_string());
    assert!(!storage_matches(&set, &no_ordinal));
    for mut broken in [no_volumes, no_claims, wrong_claim] {
        update_storage(&set, &mut broken, 1);
        assert!(storage_matches(&set, &broken), "updateStorage repairs the volumes");
    }
}

#[test]
fn claims_are_named_per_template_set_and_ordinal_and_carry_the_selector_labels() {
    let mut set = stateful_set(3);
    let spec = set.spec.as_mut().unwrap();
    spec.volume_claim_templates.as_mut().unwrap()[0].metadata.labels = Some(labels(&[("tier", "data")]));
    let claims = persistent_volume_claims(&set, 2);
    let claim = &claims["datadir"];
    assert_eq!(claim.metadata.name.as_deref(), Some("datadir-foo-2"));
    assert_eq!(claim.metadata.namespace.as_deref(), Some("default"));
    assert_eq!(claim.metadata.labels.clone().unwrap(), labels(&[("foo", "bar"), ("tier", "data")]));
}

#[test]
fn running_and_ready_needs_both_the_phase_and_the_condition() {
    let set = stateful_set(3);
    let mut pod = new_pod(&set, 1);
    assert!(!is_running_and_ready(&pod));
    pod.status = Some(PodStatus { phase: Some("Running".to_string()), ..PodStatus::default() });
    assert!(!is_running_and_ready(&pod), "running but not ready");
    assert!(is_running_and_ready(&running_and_ready(pod)));
}

#[test]
fn a_new_pod_is_controlled_by_its_set() {
    let set = stateful_set(1);
    let pod = new_pod(&set, 0);
    let reference = controller_of(&pod.metadata).expect("a controllerRef");
    assert_eq!(
        (reference.api_version.as_str(), reference.kind.as_str(), reference.name.as_str(), reference.uid.as_str()),
        ("apps/v1", "StatefulSet", "foo", "test")
    );
}

#[test]
fn a_revision_restores_the_template_it_was_made_from() {
    let mut set = stateful_set(1);
    let reconciled = reconcile_stateful_set(&set, &[], &[], &[], now()).unwrap();
    let Action::Create { object, .. } = &reconciled.actions[0] else { panic!("the revision comes first") };
    let revision: ControllerRevision = object.to_typed().unwrap();
    set.spec.as_mut().unwrap().template.spec.as_mut().unwrap().containers[0].name = "changed".to_string();
    let restored = revision_template(&revision).unwrap();
    assert_eq!(restored, template(&stateful_set(1)));
    assert_eq!(revision.metadata.name.as_deref().map(|name| name.starts_with("foo-")), Some(true));
}

/// Rows of Kubernetes' claim-owner table: (whenDeleted, whenScaled, pod scaled down) ->
/// (the set owns the claim, the pod owns the claim).
#[test]
fn claim_owners_follow_the_retention_policy() {
    let rows = [
        ("Retain", "Retain", false, (false, false)),
        ("Retain", "Retain", true, (false, false)),
        ("Delete", "Retain", false, (true, false)),
        ("Delete", "Retain", true, (true, false)),
        ("Retain", "Delete", false, (false, false)),
        ("Retain", "Delete", true, (false, true)),
        ("Delete", "Delete", false, (true, false)),
        ("Delete", "Delete", true, (false, true)),
    ];
    for (when_deleted, when_scaled, scaled_down, expected) in rows {
        let mut set = stateful_set(3);
        set.spec.as_mut().unwrap().persistent_volume_claim_retention_policy =
            Some(StatefulSetPersistentVolumeClaimRetentionPolicy {
                when_deleted: Some(when_deleted.to_string()),
                when_scaled: Some(when_scaled.to_string()),
            });
        let pod = running_and_ready(new_pod(&set, 1));
        let mut claim = persistent_volume_claims(&set, 1).remove("datadir").unwrap();
        // Owners left over from another policy are replaced, an unrelated one is kept.
        claim.metadata.owner_references = Some(vec![
            controller_ref("apps/v1", "StatefulSet", &set.metadata),
            controller_ref("v1", "Pod", &pod.metadata),
            controller_ref("v1", "Other", &ObjectMeta { uid: Some("other".to_string()), ..ObjectMeta::default() }),
        ]);
        let owners = wanted_owner_references(&set, &claim, Some(&pod), scaled_down);
        let owned_by = |uid: &str| owners.iter().any(|reference| reference.uid == uid);
        assert_eq!((owned_by("test"), owned_by("foo-1")), expected, "{when_deleted}/{when_scaled}/{scaled_down}");
        assert!(owned_by("other"));
    }
}

#[test]
fn an_empty_selector_selects_nothing_and_only_warns() {
    let mut set = stateful_set(3);
    set.spec.as_mut().unwrap().selector = MetaLabelSelector::default();
    let reconciled = reconcile_stateful_set(&set, &[], &[], &[], now()).unwrap();
    assert!(
        matches!(&reconciled.actions[..], [Action::Event { event }] if event.reason.as_deref() == Some("SelectingAll"))
    );
}

#[test]
fn the_first_sync_creates_the_revision_then_the_claim_then_only_ordinal_zero() {
    let set = stateful_set(3);
    let reconciled = reconcile_stateful_set(&set, &[], &[], &[], now()).unwrap();
    let kinds: Vec<(String, String)> = reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Create { object, .. } => Some((object.kind.clone(), object.name().to_string())),
            _ => None,
        })
        .collect();
    let revision = kinds[0].1.clone();
    assert_eq!(
        kinds,
        vec![
            ("ControllerRevision".to_string(), revision.clone()),
            ("PersistentVolumeClaim".to_string(), "datadir-foo-0".to_string()),
            ("Pod".to_string(), "foo-0".to_string()),
        ]
    );
    let status = reconciled.actions.iter().find_map(|action| match action {
        Action::UpdateStatus { object } => object.to_typed::<StatefulSet>().ok()?.status,
        _ => None,
    });
    let status = status.expect("a status update");
    assert_eq!(status.current_revision.as_deref(), Some(revision.as_str()));
    assert_eq!((status.replicas, status.observed_generation, status.collision_count), (0, Some(1), Some(0)));
}
