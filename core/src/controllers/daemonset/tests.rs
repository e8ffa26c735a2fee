//! DaemonSet tests: rows of Kubernetes' TestNodeShouldRunDaemonPod and the taint tests of
//! `daemon_controller_test.go` (TestTaintPressureNodeDaemonLaunchesPod,
//! TestTaintedNodeDaemonDoesNotLaunchIntolerantPod, TestNodeDaemonLaunchesToleratePod,
//! TestNetworkUnavailableNodeDaemonLaunchesPod), `util/daemonset_util_test.go`
//! (TestReplaceDaemonSetPodNodeNameNodeAffinity, TestGetTargetNodeName), the failed-pod
//! back-off, the surge and unavailability counts, and `findUpdatedPodsOnNode`.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, RollingUpdateDaemonSet};
use k8s_openapi::api::core::v1::{
    Affinity, Container, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, NodeSpec, Pod,
    PodAffinity, PodSpec, PodTemplateSpec, PreferredSchedulingTerm, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector as MetaLabelSelector, ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::settings::{allows_surge, surge_count, unavailable_count};
use super::update::find_updated_pods_on_node;
use super::*;

pub(super) fn now() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap()
}

pub(super) fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
}

/// Kubernetes' `newDaemonSet("foo")`: selector and template labels `name: simple-daemon`.
pub(super) fn daemon_set() -> DaemonSet {
    let selector = labels(&[("name", "simple-daemon"), ("type", "production")]);
    DaemonSet {
        metadata: ObjectMeta {
            name: Some("foo".to_string()),
            namespace: Some("default".to_string()),
            uid: Some("ds-uid".to_string()),
            generation: Some(1),
            resource_version: Some("1".to_string()),
            ..ObjectMeta::default()
        },
        spec: Some(DaemonSetSpec {
            selector: MetaLabelSelector { match_labels: Some(selector.clone()), match_expressions: None },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(selector), ..ObjectMeta::default() }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "foo".to_string(),
                        image: Some("foo/bar".to_string()),
                        ..Container::default()
                    }],
                    ..PodSpec::default()
                }),
            },
            update_strategy: Some(DaemonSetUpdateStrategy {
                type_: Some("RollingUpdate".to_string()),
                rolling_update: Some(RollingUpdateDaemonSet {
                    max_unavailable: Some(IntOrString::Int(1)),
                    max_surge: Some(IntOrString::Int(0)),
                }),
            }),
            revision_history_limit: Some(10),
            ..DaemonSetSpec::default()
        }),
        status: None,
    }
}

/// Kubernetes' `newNode`: labelled `color: blue`.
pub(super) fn node(name: &str) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(labels(&[("color", "blue")])),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec::default()),
        status: None,
    }
}

fn taint(key: &str, effect: &str) -> Taint {
    Taint { key: key.to_string(), value: None, effect: effect.to_string(), time_added: None }
}

fn tainted(name: &str, taints: Vec<Taint>) -> Node {
    let mut node = node(name);
    node.spec.as_mut().unwrap().taints = Some(taints);
    node
}

fn pod_spec(daemon_set: &mut DaemonSet) -> &mut PodSpec {
    daemon_set.spec.as_mut().unwrap().template.spec.as_mut().unwrap()
}

fn required(key_in: (&str, &str), fields: bool) -> NodeSelector {
    let requirement = NodeSelectorRequirement {
        key: key_in.0.to_string(),
        operator: "In".to_string(),
        values: Some(vec![key_in.1.to_string()]),
    };
    NodeSelector {
        node_selector_terms: vec![if fields {
            NodeSelectorTerm { match_expressions: None, match_fields: Some(vec![requirement]) }
        } else {
            NodeSelectorTerm { match_expressions: Some(vec![requirement]), match_fields: None }
        }],
    }
}

fn with_required_affinity(selector: NodeSelector) -> Affinity {
    Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(selector),
            preferred_during_scheduling_ignored_during_execution: None,
        }),
        ..Affinity::default()
    }
}

#[test]
fn node_should_run_daemon_pod_follows_name_selector_affinity_and_taints() {
    type Edit = fn(&mut DaemonSet, &mut Node);
    let rows: Vec<(&str, Edit, (bool, bool))> = vec![
        ("a simple daemon runs everywhere", |_, _| {}, (true, true)),
        (
            "a template nodeName of another node",
            |ds, _| pod_spec(ds).node_name = Some("other-node".into()),
            (false, false),
        ),
        ("a template nodeName of this node", |ds, _| pod_spec(ds).node_name = Some("node-0".into()), (true, true)),
        (
            "a nodeSelector the node does not match",
            |ds, _| pod_spec(ds).node_selector = Some(labels(&[("color", "red")])),
            (false, false),
        ),
        (
            "a nodeSelector the node matches",
            |ds, _| pod_spec(ds).node_selector = Some(labels(&[("color", "blue")])),
            (true, true),
        ),
        (
            "a required affinity the node does not match",
            |ds, _| pod_spec(ds).affinity = Some(with_required_affinity(required(("color", "red"), false))),
            (false, false),
        ),
        (
            "a required affinity the node matches",
            |ds, _| pod_spec(ds).affinity = Some(with_required_affinity(required(("color", "blue"), false))),
            (true, true),
        ),
        (
            "a malformed required affinity matches nothing",
            |ds, _| {
                let mut selector = required(("color", "blue"), false);
                selector.node_selector_terms[0].match_expressions.as_mut().unwrap()[0].operator = "Bogus".into();
                pod_spec(ds).affinity = Some(with_required_affinity(selector));
            },
            (false, false),
        ),
        (
            "an unschedulable node without taints",
            |_, node| node.spec.as_mut().unwrap().unschedulable = Some(true),
            (true, true),
        ),
        (
            "an untolerated NoSchedule taint keeps new pods out but running ones in",
            |_, node| node.spec.as_mut().unwrap().taints = Some(vec![taint("dedicated", "NoSchedule")]),
            (false, true),
        ),
        (
            "an untolerated NoExecute taint evicts",
            |_, node| node.spec.as_mut().unwrap().taints = Some(vec![taint("dedicated", "NoExecute")]),
            (false, false),
        ),
        (
            "a PreferNoSchedule taint does not matter",
            |_, node| node.spec.as_mut().unwrap().taints = Some(vec![taint("dedicated", "PreferNoSchedule")]),
            (true, true),
        ),
        (
            "a taint the template tolerates",
            |ds, node| {
                node.spec.as_mut().unwrap().taints = Some(vec![taint("dedicated", "NoSchedule")]);
                pod_spec(ds).tolerations = Some(vec![Toleration {
                    key: Some("dedicated".into()),
                    operator: Some("Exists".into()),
                    ..Toleration::default()
                }]);
            },
            (true, true),
        ),
    ];
    for (name, edit, expected) in rows {
        let (mut daemon_set, mut node) = (daemon_set(), node("node-0"));
        edit(&mut daemon_set, &mut node);
        assert_eq!(node_should_run_daemon_pod(&node, &daemon_set), expected, "{name}");
    }
}

#[test]
fn daemon_pods_tolerate_node_conditions_and_cordoning() {
    for (key, effect) in [
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ] {
        let node = tainted("node-0", vec![taint(key, effect)]);
        assert_eq!(node_should_run_daemon_pod(&node, &daemon_set()), (true, true), "{key}:{effect}");
    }
}

#[test]
fn only_host_network_daemon_pods_tolerate_an_unavailable_network() {
    let node = tainted("node-0", vec![taint("node.kubernetes.io/network-unavailable", "NoSchedule")]);
    let mut daemon_set = daemon_set();
    assert_eq!(node_should_run_daemon_pod(&node, &daemon_set), (false, true));
    pod_spec(&mut daemon_set).host_network = Some(true);
    assert_eq!(node_should_run_daemon_pod(&node, &daemon_set), (true, true));
}

#[test]
fn daemon_tolerations_replace_a_bounded_toleration_of_the_same_taint() {
    let mut spec = PodSpec {
        tolerations: Some(vec![Toleration {
            key: Some("node.kubernetes.io/not-ready".into()),
            operator: Some("Exists".into()),
            effect: Some("NoExecute".into()),
            value: None,
            toleration_seconds: Some(300),
        }]),
        ..PodSpec::default()
    };
    add_daemon_tolerations(&mut spec);
    let tolerations = spec.tolerations.clone().unwrap();
    assert_eq!(tolerations.len(), 6);
    assert!(tolerations.iter().all(|toleration| toleration.toleration_seconds.is_none()), "tolerated forever");
    add_daemon_tolerations(&mut spec);
    assert_eq!(spec.tolerations.unwrap().len(), 6, "adding twice changes nothing");
}

#[test]
fn the_node_affinity_is_replaced_by_the_node_name_and_other_affinities_are_kept() {
    let created = replace_node_name_affinity(None, "host_1");
    assert_eq!(created, with_required_affinity(required(("metadata.name", "host_1"), true)));

    let preferred = vec![PreferredSchedulingTerm {
        weight: 1,
        preference: required(("color", "blue"), false).node_selector_terms[0].clone(),
    }];
    let mut affinity = with_required_affinity(required(("color", "blue"), false));
    affinity.node_affinity.as_mut().unwrap().preferred_during_scheduling_ignored_during_execution =
        Some(preferred.clone());
    affinity.pod_affinity = Some(PodAffinity::default());
    let replaced = replace_node_name_affinity(Some(affinity), "host_1");
    let node_affinity = replaced.node_affinity.clone().unwrap();
    assert_eq!(
        node_affinity.required_during_scheduling_ignored_during_execution,
        Some(required(("metadata.name", "host_1"), true)),
        "the old required terms are gone"
    );
    assert_eq!(node_affinity.preferred_during_scheduling_ignored_during_execution, Some(preferred));
    assert_eq!(replaced.pod_affinity, Some(PodAffinity::default()));
}

#[test]
fn the_target_node_is_the_bound_node_or_the_single_name_in_the_affinity() {
    let pod = |spec: PodSpec| Pod { spec: Some(spec), ..Pod::default() };
    let bound = pod(PodSpec { node_name: Some("node-1".into()), ..PodSpec::default() });
    assert_eq!(target_node_name(&bound), Some("node-1"));
    let affine = pod(PodSpec {
        affinity: Some(with_required_affinity(required(("metadata.name", "node-1"), true))),
        ..PodSpec::default()
    });
    assert_eq!(target_node_name(&affine), Some("node-1"));
    let mut two = required(("metadata.name", "node-1"), true);
    two.node_selector_terms[0].match_fields.as_mut().unwrap()[0].values = Some(vec!["node-1".into(), "node-2".into()]);
    let ambiguous = pod(PodSpec { affinity: Some(with_required_affinity(two)), ..PodSpec::default() });
    assert_eq!(target_node_name(&ambiguous), None, "two node names are no target");
    let by_label = pod(PodSpec {
        affinity: Some(with_required_affinity(required(("color", "blue"), false))),
        ..PodSpec::default()
    });
    assert_eq!(target_node_name(&by_label), None);
    assert_eq!(target_node_name(&pod(PodSpec::default())), None);
}

#[test]
fn failed_pod_back_off_doubles_from_one_second_to_fifteen_minutes() {
    let mut backoff = FailedPodsBackoff::new();
    let key = FailedPodsBackoff::key("ds-uid", 1, "node-0");
    assert!(!backoff.is_in_back_off_since_update(&key, now()));
    let mut at = now();
    let mut delays = Vec::new();
    for _ in 0..12 {
        backoff.next(&key, at);
        delays.push(backoff.get(&key).as_secs());
        assert!(backoff.is_in_back_off_since_update(&key, at));
        at += SignedDuration::try_from(backoff.get(&key)).unwrap();
        assert!(!backoff.is_in_back_off_since_update(&key, at), "the delay has passed");
    }
    assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
    backoff.next(&key, at + SignedDuration::from_secs(31 * 60));
    assert_eq!(backoff.get(&key), Duration::from_secs(1), "after a long quiet the back-off starts over");
}

#[test]
fn surge_and_unavailability_scale_with_the_nodes_and_round_up() {
    let mut daemon_set = daemon_set();
    let rolling = |daemon_set: &mut DaemonSet, surge: IntOrString, unavailable: IntOrString| {
        daemon_set.spec.as_mut().unwrap().update_strategy.as_mut().unwrap().rolling_update =
            Some(RollingUpdateDaemonSet { max_surge: Some(surge), max_unavailable: Some(unavailable) });
    };
    rolling(&mut daemon_set, IntOrString::String("25%".into()), IntOrString::String("10%".into()));
    assert_eq!((surge_count(&daemon_set, 10).unwrap(), unavailable_count(&daemon_set, 10).unwrap()), (3, 1));
    assert!(allows_surge(&daemon_set));
    rolling(&mut daemon_set, IntOrString::Int(0), IntOrString::String("x".into()));
    assert!(matches!(unavailable_count(&daemon_set, 10), Err(DaemonSetError::InvalidIntOrPercent { .. })));
    assert!(!allows_surge(&daemon_set));
    daemon_set.spec.as_mut().unwrap().update_strategy =
        Some(DaemonSetUpdateStrategy { type_: Some("OnDelete".into()), rolling_update: None });
    assert_eq!((surge_count(&daemon_set, 10).unwrap(), unavailable_count(&daemon_set, 10).unwrap()), (0, 0));
}

#[test]
fn a_node_with_two_old_or_two_new_pods_is_left_to_manage() {
    let pod = |name: &str, hash: &str, deleting: bool| Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels(&[("controller-revision-hash", hash)])),
            deletion_timestamp: deleting.then(|| Time(now())),
            ..ObjectMeta::default()
        },
        ..Pod::default()
    };
    let (new, old, old_too, gone) =
        (pod("a", "new", false), pod("b", "old", false), pod("c", "old", false), pod("d", "new", true));
    let names = |found: Option<(Option<&Pod>, Option<&Pod>)>| {
        found.map(|(new, old)| (new.and_then(|p| p.metadata.name.clone()), old.and_then(|p| p.metadata.name.clone())))
    };
    assert_eq!(names(find_updated_pods_on_node(&[&new, &old], "new")), Some((Some("a".into()), Some("b".into()))));
    assert_eq!(names(find_updated_pods_on_node(&[&old, &old_too], "new")), None);
    assert_eq!(
        names(find_updated_pods_on_node(&[&gone, &old], "new")),
        Some((None, Some("b".into()))),
        "deleting pods do not count"
    );
}
