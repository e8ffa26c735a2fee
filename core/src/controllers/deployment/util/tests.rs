//! Ported from Kubernetes' `deployment_util_test.go`: TestResolveFenceposts, TestMaxUnavailable,
//! TestNewRSNewReplicas, TestEqualIgnoreHash, TestFindNewReplicaSet; GetProportion by example.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, ReplicaSet, ReplicaSetSpec, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;

use super::*;

fn text(value: &str) -> IntOrString {
    IntOrString::String(value.to_string())
}

pub(crate) fn deployment(replicas: i32, surge: IntOrString, unavailable: IntOrString) -> Deployment {
    Deployment {
        metadata: ObjectMeta { name: Some("foo".to_string()), ..ObjectMeta::default() },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".to_string()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(surge),
                    max_unavailable: Some(unavailable),
                }),
            }),
            ..DeploymentSpec::default()
        }),
        status: None,
    }
}

fn template(labels: &[(&str, &str)]) -> PodTemplateSpec {
    let labels: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    PodTemplateSpec { metadata: Some(ObjectMeta { labels: Some(labels), ..ObjectMeta::default() }), spec: None }
}

fn replica_set(name: &str, replicas: i32, labels: &[(&str, &str)], created: i64) -> ReplicaSet {
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            uid: Some(name.to_string()),
            creation_timestamp: Some(Time(Timestamp::from_second(created).unwrap())),
            ..ObjectMeta::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            template: Some(template(labels)),
            ..ReplicaSetSpec::default()
        }),
        status: None,
    }
}

#[test]
fn fenceposts_round_surge_up_and_unavailable_down() {
    type Case = (Option<&'static str>, Option<&'static str>, i32, Option<(i32, i32)>);
    let cases: [Case; 7] = [
        (Some("0%"), Some("0%"), 0, Some((0, 1))),
        (Some("39%"), Some("39%"), 10, Some((4, 3))),
        (Some("oops"), Some("39%"), 10, None),
        (Some("55%"), Some("urg"), 10, None),
        (None, Some("39%"), 10, Some((0, 3))),
        (Some("39%"), None, 10, Some((4, 0))),
        (None, None, 10, Some((0, 1))),
    ];
    for (surge, unavailable, desired, expected) in cases {
        let (surge, unavailable) = (surge.map(text), unavailable.map(text));
        let resolved = resolve_fenceposts(surge.as_ref(), unavailable.as_ref(), desired).ok();
        assert_eq!(resolved, expected, "surge {surge:?} unavailable {unavailable:?} desired {desired}");
    }
    assert!(resolve_fenceposts(Some(&text("5")), Some(&text("1")), 7).is_err(), "a bare number string is refused");
}

#[test]
fn max_unavailable_is_bounded_by_replicas_and_zero_for_recreate() {
    let cases = [
        (10, IntOrString::Int(0), IntOrString::Int(2), 2),
        (0, IntOrString::Int(0), IntOrString::Int(1), 0),
        (3, IntOrString::Int(0), IntOrString::Int(10), 3),
        (10, text("0%"), text("30%"), 3),
    ];
    for (replicas, surge, unavailable, expected) in cases {
        assert_eq!(max_unavailable(&deployment(replicas, surge, unavailable)), expected);
    }
    let mut recreate = deployment(10, IntOrString::Int(1), IntOrString::Int(1));
    recreate.spec.as_mut().unwrap().strategy =
        Some(DeploymentStrategy { type_: Some("Recreate".into()), rolling_update: None });
    assert_eq!((max_unavailable(&recreate), max_surge(&recreate)), (0, 0));
}

#[test]
fn the_default_strategy_is_a_rolling_update_of_25_percent() {
    let mut defaulted = deployment(10, IntOrString::Int(0), IntOrString::Int(0));
    defaulted.spec.as_mut().unwrap().strategy = None;
    assert_eq!((max_surge(&defaulted), max_unavailable(&defaulted)), (3, 2));
}

#[test]
fn the_new_replica_set_grows_within_max_surge() {
    // TestNewRSNewReplicas: (strategy, deployment replicas, new RS replicas, maxSurge, expected);
    // one old ReplicaSet of 5 replicas.
    let cases = [("RollingUpdate", 1, 5, 1, 5), ("RollingUpdate", 6, 2, 10, 6), ("Recreate", 3, 1, 1, 3)];
    for (strategy, replicas, new_replicas, surge, expected) in cases {
        let mut deployment = deployment(replicas, IntOrString::Int(surge), IntOrString::Int(1));
        deployment.spec.as_mut().unwrap().strategy.as_mut().unwrap().type_ = Some(strategy.to_string());
        let new = replica_set("foo-v2", new_replicas, &[("v", "2")], 2);
        let old = replica_set("foo-v1", 5, &[("v", "1")], 1);
        assert_eq!(new_replica_set_replicas(&deployment, &[&new, &old], &new).unwrap(), expected);
    }
}

#[test]
fn templates_are_compared_without_the_pod_template_hash() {
    let cases = [
        (
            template(&[("a", "b"), (POD_TEMPLATE_HASH_LABEL, "1")]),
            template(&[("a", "b"), (POD_TEMPLATE_HASH_LABEL, "2")]),
            true,
        ),
        (template(&[("a", "b")]), template(&[("a", "b"), (POD_TEMPLATE_HASH_LABEL, "2")]), true),
        (template(&[]), template(&[(POD_TEMPLATE_HASH_LABEL, "2")]), true),
        (template(&[("a", "b")]), template(&[("a", "c"), (POD_TEMPLATE_HASH_LABEL, "2")]), false),
        (PodTemplateSpec::default(), template(&[]), true),
    ];
    for (left, right, expected) in cases {
        assert_eq!(equal_ignore_hash(&left, &right), expected, "{left:?} vs {right:?}");
        assert_eq!(equal_ignore_hash(&right, &left), expected);
    }
}

#[test]
fn the_new_replica_set_is_the_oldest_with_the_deployment_template() {
    let mut wanted = deployment(1, IntOrString::Int(1), IntOrString::Int(0));
    wanted.spec.as_mut().unwrap().template = template(&[("v", "2")]);
    let old = replica_set("foo-v1", 1, &[("v", "1"), (POD_TEMPLATE_HASH_LABEL, "a")], 1);
    let newer = replica_set("foo-v2b", 1, &[("v", "2"), (POD_TEMPLATE_HASH_LABEL, "c")], 30);
    let oldest_same = replica_set("foo-v2a", 1, &[("v", "2"), (POD_TEMPLATE_HASH_LABEL, "b")], 20);
    let found = find_new_replica_set(&wanted, &[&old, &newer, &oldest_same]).map(|found| found.metadata.name.clone());
    assert_eq!(found, Some(Some("foo-v2a".to_string())));
    assert!(find_new_replica_set(&wanted, &[&old]).is_none());
    let (active_old, all_old) = find_old_replica_sets(&wanted, &[&old, &newer, &oldest_same]);
    assert_eq!((active_old.len(), all_old.len()), (2, 2));
}

#[test]
fn proportions_follow_the_max_replicas_annotation_and_stay_within_what_is_allowed() {
    let deployment = deployment(10, IntOrString::Int(0), IntOrString::Int(1));
    let mut replica_set = replica_set("foo-v1", 3, &[], 1);
    set_replicas_annotations(&mut replica_set, 5, 5);
    // 3 of 5 grows to 6 of 10: +3, but never more than what is left to hand out.
    assert_eq!(get_proportion(&replica_set, &deployment, 5, 0), 3);
    assert_eq!(get_proportion(&replica_set, &deployment, 5, 4), 1);
    assert_eq!(get_proportion(&replica_set, &deployment, 5, 5), 0);
    let mut zero = deployment.clone();
    zero.spec.as_mut().unwrap().replicas = Some(0);
    assert_eq!(get_proportion(&replica_set, &zero, -5, 0), -3);
}
