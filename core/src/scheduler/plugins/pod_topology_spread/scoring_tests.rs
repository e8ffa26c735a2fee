//! Ported from kubernetes/kubernetes `pkg/scheduler/framework/plugins/podtopologyspread/scoring_test.go`
//! (TestPodTopologySpreadScore, TestPreScoreStateEmptyNodes, TestPreScoreSkip): same Pods, Nodes,
//! lister objects and expected scores or state. The row that turns the matchLabelKeys feature
//! gate off is left out.

use std::sync::Arc;

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use super::filtering_tests::{bar, existing, foo, foo_pods, incoming, node, unschedulable_taint};
use super::scoring::{pre_score_state, topology_normalizing_weight};
use super::{PodTopologySpread, SCHEDULE_ANYWAY};
use crate::scheduler::framework::{Code, CycleState, PreScorePlugin, ScorePlugin};
use crate::scheduler::listers::{ClusterObjects, ListerObject};
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::node_tree::{LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE};
use crate::scheduler::testing::{PodBuilder, label_selector, make_node, snapshot_of};

const H: &str = LABEL_HOSTNAME;
const F: [(&str, &str); 1] = [("foo", "")];

fn soft(pod: PodBuilder, max_skew: i32, key: &str, selector: Option<meta::LabelSelector>) -> PodBuilder {
    pod.spread_constraint(max_skew, key, SCHEDULE_ANYWAY, selector, None, None, None, None)
}

fn host(name: &str) -> core::Node {
    node(name, &[(H, name)])
}

fn zone_host(name: &str, zone: &str) -> core::Node {
    node(name, &[("zone", zone), (H, name)])
}

fn service_objects(selector: &[(&str, &str)]) -> ClusterObjects {
    let mut service = core::Service::default();
    service.metadata.namespace = Some(String::new());
    service.metadata.name = Some("svc".to_owned());
    service.spec = Some(core::ServiceSpec {
        selector: Some(selector.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()),
        ..Default::default()
    });
    let mut objects = ClusterObjects::new();
    objects.apply(&ListerObject::Service(Arc::new(service)));
    objects
}

fn replica_set_objects(name: &str, selector: meta::LabelSelector) -> ClusterObjects {
    let mut set = apps::ReplicaSet::default();
    set.metadata.namespace = Some("default".to_owned());
    set.metadata.name = Some(name.to_owned());
    set.spec = Some(apps::ReplicaSetSpec { selector, ..Default::default() });
    let mut objects = ClusterObjects::new();
    objects.apply(&ListerObject::ReplicaSet(Arc::new(set)));
    objects
}

/// Scores the candidate `nodes` with every node of `nodes` and `failed` in the snapshot.
fn scores(
    plugin: &PodTopologySpread,
    pod: PodBuilder,
    nodes: Vec<core::Node>,
    failed: Vec<core::Node>,
    pods: Vec<core::Pod>,
    objects: ClusterObjects,
) -> Vec<i64> {
    let candidates = nodes.len();
    let all: Vec<core::Node> = nodes.into_iter().chain(failed).collect();
    let snapshot = snapshot_of(&all, &pods).with_objects(objects);
    let pod = PodInfo::new(Arc::new(pod.obj()));
    let candidates: Vec<&NodeInfo> = snapshot.list()[..candidates].iter().map(|node| node.as_ref()).collect();
    let mut state = CycleState::new();
    let status = plugin.pre_score(&mut state, &pod, &candidates, &snapshot);
    assert!(status.is_success(), "{status}");
    let mut scores: Vec<i64> = candidates.iter().map(|node| plugin.score(&state, &pod, node).expect("score")).collect();
    assert!(plugin.normalize_score(&state, &pod, &mut scores).is_success());
    scores
}

#[test]
fn spread_scores_match_kubernetes_table() {
    let plugin = PodTopologySpread::default();
    let four_hosts = || vec![host("node-a"), host("node-b"), host("node-c"), host("node-d")];
    let spread_4_3_2_1 = || foo_pods(&[("node-a", 4), ("node-b", 3), ("node-c", 2), ("node-d", 1)]);
    let ten_pods = || foo_pods(&[("node-a", 4), ("node-b", 2), ("node-x", 1), ("node-y", 3)]);
    let three_zone_hosts =
        || vec![zone_host("node-a", "zone1"), zone_host("node-b", "zone1"), zone_host("node-x", "zone2")];
    let four_zone_hosts = || {
        vec![
            zone_host("node-a", "zone1"),
            zone_host("node-b", "zone1"),
            zone_host("node-x", "zone2"),
            zone_host("node-y", "zone2"),
        ]
    };
    let policy_nodes = |tainted: bool| {
        vec![
            node("node-a", &[("node", "node-a"), ("foo", "")]),
            node("node-b", &[("node", "node-b"), ("foo", "")]),
            if tainted {
                make_node("node-c").labels(&[("node", "node-c")]).taints(unschedulable_taint()).obj()
            } else {
                node("node-c", &[("node", "node-c")])
            },
        ]
    };
    let taint_nodes = || {
        vec![
            node("node-a", &[("node", "node-a")]),
            node("node-b", &[("node", "node-b")]),
            make_node("node-c").labels(&[("node", "node-c")]).taints(unschedulable_taint()).obj(),
        ]
    };
    let spread_2_1_1 = || foo_pods(&[("node-a", 2), ("node-b", 1), ("node-c", 1)]);
    let different_selectors = || {
        vec![
            existing("p-a1", "node-a", &F),
            existing("p-b1", "node-b", &[("foo", ""), ("bar", "")]),
            existing("p-y1", "node-y", &F),
            existing("p-y2", "node-y", &[("bar", "")]),
        ]
    };
    let zone_c_nodes = || {
        vec![
            zone_host("node-a", "zone1"),
            zone_host("node-b", "zone1"),
            zone_host("node-c", "zone2"),
            zone_host("node-d", "zone2"),
        ]
    };
    // (name, pod, candidate nodes, failed nodes, existing pods, objects, want)
    type Row = (&'static str, PodBuilder, Vec<core::Node>, Vec<core::Node>, Vec<core::Pod>, ClusterObjects, Vec<i64>);
    let rows: Vec<Row> = vec![
        (
            "one constraint on node, no existing pods",
            soft(incoming(&F), 1, H, foo()),
            vec![host("node-a"), host("node-b")],
            vec![],
            vec![],
            ClusterObjects::new(),
            vec![100, 100],
        ),
        (
            "one constraint on node, only one candidate",
            soft(incoming(&F), 1, H, foo()),
            vec![host("node-a")],
            vec![host("node-b")],
            foo_pods(&[("node-a", 2), ("node-b", 1)]),
            ClusterObjects::new(),
            vec![100],
        ),
        (
            "one constraint on node, the same number of matching pods everywhere",
            soft(incoming(&F), 1, H, foo()),
            vec![host("node-a"), host("node-b")],
            vec![],
            foo_pods(&[("node-a", 1), ("node-b", 1)]),
            ClusterObjects::new(),
            vec![100, 100],
        ),
        (
            "one constraint on node, all 4 nodes are candidates",
            soft(incoming(&F), 1, H, foo()),
            four_hosts(),
            vec![],
            foo_pods(&[("node-a", 2), ("node-b", 1), ("node-d", 3)]),
            ClusterObjects::new(),
            vec![20, 60, 100, 0],
        ),
        (
            "one constraint on node, null selector",
            soft(incoming(&F), 1, H, None),
            four_hosts(),
            vec![],
            foo_pods(&[("node-a", 2), ("node-b", 1), ("node-d", 3)]),
            ClusterObjects::new(),
            vec![100, 100, 100, 100],
        ),
        (
            "one constraint on node, all 4 nodes are candidates, maxSkew 2",
            soft(incoming(&F), 2, H, foo()),
            four_hosts(),
            vec![],
            foo_pods(&[("node-a", 2), ("node-b", 1), ("node-d", 3)]),
            ClusterObjects::new(),
            vec![33, 66, 100, 16],
        ),
        (
            "one constraint on node, all 4 nodes are candidates, maxSkew 3",
            soft(incoming(&F), 3, H, foo()),
            four_hosts(),
            vec![],
            spread_4_3_2_1(),
            ClusterObjects::new(),
            vec![44, 66, 77, 100],
        ),
        (
            "system defaulting, nodes without zones, pods matching a service",
            incoming(&F),
            four_hosts(),
            vec![],
            spread_4_3_2_1(),
            service_objects(&[("foo", "")]),
            vec![44, 66, 77, 100],
        ),
        (
            "one constraint on node, 3 of 4 nodes are candidates",
            soft(incoming(&F), 1, H, foo()),
            vec![host("node-a"), host("node-b"), host("node-x")],
            vec![host("node-y")],
            ten_pods(),
            ClusterObjects::new(),
            vec![33, 83, 100],
        ),
        (
            "one constraint on node, 3 of 4 candidates, one lacking the topology key",
            soft(incoming(&F), 1, H, foo()),
            vec![host("node-a"), node("node-b", &[("n", "node-b")]), host("node-x")],
            vec![host("node-y")],
            ten_pods(),
            ClusterObjects::new(),
            vec![16, 0, 100],
        ),
        (
            "one constraint on zone, 3 of 4 nodes are candidates",
            soft(incoming(&F), 1, "zone", foo()),
            three_zone_hosts(),
            vec![zone_host("node-y", "zone2")],
            ten_pods(),
            ClusterObjects::new(),
            vec![75, 75, 100],
        ),
        (
            "zone and node constraints, 2 of 4 nodes are candidates",
            soft(soft(incoming(&F), 1, "zone", foo()), 1, H, foo()),
            vec![zone_host("node-a", "zone1"), zone_host("node-x", "zone2")],
            vec![zone_host("node-b", "zone1"), zone_host("node-y", "zone2")],
            foo_pods(&[("node-a", 2), ("node-b", 1), ("node-x", 2), ("node-y", 4)]),
            ClusterObjects::new(),
            vec![100, 63],
        ),
        (
            "zone and node constraints with different selectors",
            soft(soft(incoming(&[("foo", ""), ("bar", "")]), 1, "zone", foo()), 1, H, bar()),
            four_zone_hosts(),
            vec![],
            different_selectors(),
            ClusterObjects::new(),
            vec![60, 20, 100, 60],
        ),
        (
            "zone and node constraints with different selectors, some nodes with no pods",
            soft(soft(incoming(&[("foo", ""), ("bar", "")]), 1, "zone", foo()), 1, H, bar()),
            four_zone_hosts(),
            vec![],
            vec![
                existing("p-b1", "node-b", &[("bar", "")]),
                existing("p-x1", "node-x", &F),
                existing("p-y1", "node-y", &[("foo", ""), ("bar", "")]),
            ],
            ClusterObjects::new(),
            vec![100, 60, 40, 0],
        ),
        (
            "zone and node constraints with different selectors, 3 of 4 nodes are candidates",
            soft(soft(incoming(&[("foo", ""), ("bar", "")]), 1, "zone", foo()), 1, H, bar()),
            three_zone_hosts(),
            vec![zone_host("node-y", "zone2")],
            different_selectors(),
            ClusterObjects::new(),
            vec![50, 25, 100],
        ),
        (
            "existing pods in another namespace do not count",
            soft(incoming(&F), 1, H, foo()),
            vec![host("node-a"), host("node-b")],
            vec![],
            {
                let mut pods =
                    vec![crate::scheduler::testing::make_pod("p-a1").namespace("ns1").node("node-a").labels(&F).obj()];
                pods.extend(foo_pods(&[("node-a", 1), ("node-b", 2)]));
                pods
            },
            ClusterObjects::new(),
            vec![100, 33],
        ),
        (
            "terminating pods are left out",
            soft(incoming(&F), 1, H, foo()),
            vec![host("node-a"), host("node-b")],
            vec![],
            vec![
                crate::scheduler::testing::make_pod("p-a").namespace("").node("node-a").labels(&F).terminating().obj(),
                existing("p-b", "node-b", &F),
            ],
            ClusterObjects::new(),
            vec![100, 0],
        ),
        (
            "minDomains has no effect with ScheduleAnyway",
            incoming(&F).spread_constraint(2, "node", SCHEDULE_ANYWAY, foo(), Some(10), None, None, None),
            vec![
                node("node-a", &[("node", "node-a")]),
                node("node-b", &[("node", "node-b")]),
                node("node-c", &[("node", "node-c")]),
            ],
            vec![],
            foo_pods(&[("node-a", 2), ("node-b", 2), ("node-c", 1)]),
            ClusterObjects::new(),
            vec![75, 75, 100],
        ),
        (
            "nodeAffinityPolicy Honor with a node selector",
            soft(incoming(&F).node_selector(&[("foo", "")]), 1, "node", foo()),
            policy_nodes(false),
            vec![],
            spread_2_1_1(),
            ClusterObjects::new(),
            vec![0, 33, 100],
        ),
        (
            "nodeAffinityPolicy Ignore with a node selector",
            incoming(&F).node_selector(&[("foo", "")]).spread_constraint(
                1,
                "node",
                SCHEDULE_ANYWAY,
                foo(),
                None,
                Some("Ignore"),
                None,
                None,
            ),
            policy_nodes(false),
            vec![],
            spread_2_1_1(),
            ClusterObjects::new(),
            vec![66, 100, 100],
        ),
        (
            "nodeAffinityPolicy Honor with node affinity",
            soft(incoming(&F).node_affinity("foo", "In", &[""]), 1, "node", foo()),
            policy_nodes(false),
            vec![],
            spread_2_1_1(),
            ClusterObjects::new(),
            vec![0, 33, 100],
        ),
        (
            "nodeAffinityPolicy Ignore with node affinity",
            incoming(&F).node_affinity("foo", "In", &[""]).spread_constraint(
                1,
                "node",
                SCHEDULE_ANYWAY,
                foo(),
                None,
                Some("Ignore"),
                None,
                None,
            ),
            policy_nodes(false),
            vec![],
            spread_2_1_1(),
            ClusterObjects::new(),
            vec![66, 100, 100],
        ),
        (
            "nodeTaintsPolicy Honor",
            incoming(&F).spread_constraint(1, "node", SCHEDULE_ANYWAY, foo(), None, None, Some("Honor"), None),
            taint_nodes(),
            vec![],
            spread_2_1_1(),
            ClusterObjects::new(),
            vec![0, 33, 100],
        ),
        (
            "nodeTaintsPolicy Ignore by default",
            soft(incoming(&F), 1, "node", foo()),
            taint_nodes(),
            vec![],
            spread_2_1_1(),
            ClusterObjects::new(),
            vec![66, 100, 100],
        ),
        (
            "matchLabelKeys are ANDed with empty selectors",
            incoming(&[("foo", ""), ("bar", "")])
                .spread_constraint(
                    1,
                    "zone",
                    SCHEDULE_ANYWAY,
                    Some(meta::LabelSelector::default()),
                    None,
                    None,
                    None,
                    Some(&["foo"]),
                )
                .spread_constraint(
                    1,
                    H,
                    SCHEDULE_ANYWAY,
                    Some(meta::LabelSelector::default()),
                    None,
                    None,
                    None,
                    Some(&["bar"]),
                ),
            zone_c_nodes(),
            vec![],
            vec![
                existing("p-a1", "node-a", &F),
                existing("p-b1", "node-b", &[("foo", ""), ("bar", "")]),
                existing("p-y1", "node-c", &F),
                existing("p-y2", "node-c", &[("bar", "")]),
            ],
            ClusterObjects::new(),
            vec![60, 20, 60, 100],
        ),
        (
            "matchLabelKeys are ANDed with non-empty selectors",
            soft(incoming(&[("foo", ""), ("bar", ""), ("baz", "")]), 1, "zone", foo()).spread_constraint(
                1,
                H,
                SCHEDULE_ANYWAY,
                bar(),
                None,
                None,
                None,
                Some(&["baz"]),
            ),
            zone_c_nodes(),
            vec![],
            vec![
                existing("p-a1", "node-a", &F),
                existing("p-b1", "node-b", &[("foo", ""), ("bar", ""), ("baz", "")]),
                existing("p-c1", "node-c", &F),
                existing("p-c2", "node-c", &[("bar", "")]),
                existing("p-d3", "node-c", &[("bar", ""), ("baz", "")]),
            ],
            ClusterObjects::new(),
            vec![60, 20, 60, 100],
        ),
    ];
    for (name, pod, nodes, failed, pods, objects, want) in rows {
        assert_eq!(scores(&plugin, pod, nodes, failed, pods, objects), want, "{name}");
    }
}

#[test]
fn pre_score_skips_pods_without_soft_constraints() {
    let list = |defaults: serde_json::Value| {
        PodTopologySpread::new(Some(&serde_json::json!({"defaultingType": "List", "defaultConstraints": defaults})))
            .expect("args")
    };
    let rows = vec![
        (
            "the pod has no soft constraints",
            list(serde_json::json!([])),
            incoming(&[]).namespace("default"),
            vec![host("node-a"), host("node-b")],
            ClusterObjects::new(),
        ),
        (
            "default constraints and a replicaset that does not match",
            list(serde_json::json!([{"maxSkew": 2, "topologyKey": "planet", "whenUnsatisfiable": "ScheduleAnyway"}])),
            incoming(&[("foo", "bar"), ("baz", "sup")]).namespace("default").owner("rs2", "apps/v1", "ReplicaSet"),
            vec![node("node-a", &[("planet", "mars")])],
            replica_set_objects("rs1", label_selector(&[], &[("tar", "Exists", &[])])),
        ),
    ];
    for (name, plugin, pod, nodes, objects) in rows {
        let snapshot = snapshot_of(&nodes, &[]).with_objects(objects);
        let candidates: Vec<&NodeInfo> = snapshot.list().iter().map(|node| node.as_ref()).collect();
        let pod = PodInfo::new(Arc::new(pod.obj()));
        let status = plugin.pre_score(&mut CycleState::new(), &pod, &candidates, &snapshot);
        assert_eq!(status.code(), Code::Skip, "{name}");
    }
}

#[test]
fn pre_score_state_matches_kubernetes_table() {
    let list = |defaults: serde_json::Value| {
        PodTopologySpread::new(Some(&serde_json::json!({"defaultingType": "List", "defaultConstraints": defaults})))
            .expect("args")
    };
    let foo_rs = || replica_set_objects("rs1", label_selector(&[], &[("foo", "Exists", &[])]));
    // (name, plugin, pod, nodes, objects, constraint keys, ignored nodes, counts of the non-hostname constraints, weight sizes)
    type Row = (
        &'static str,
        PodTopologySpread,
        PodBuilder,
        Vec<core::Node>,
        ClusterObjects,
        Vec<&'static str>,
        Vec<&'static str>,
        Vec<(&'static str, i64)>,
        Vec<usize>,
    );
    let rows: Vec<Row> = vec![
        (
            "the normal case",
            list(serde_json::json!([])),
            soft(soft(incoming(&F), 1, "zone", foo()), 1, H, foo()),
            vec![zone_host("node-a", "zone1"), zone_host("node-b", "zone1"), zone_host("node-x", "zone2")],
            ClusterObjects::new(),
            vec!["zone", H],
            vec![],
            vec![("zone1", 0), ("zone2", 0)],
            vec![2, 3],
        ),
        (
            "node-x lacks the zone label",
            list(serde_json::json!([])),
            soft(soft(incoming(&F), 1, "zone", foo()), 1, H, bar()),
            vec![zone_host("node-a", "zone1"), zone_host("node-b", "zone1"), host("node-x")],
            ClusterObjects::new(),
            vec!["zone", H],
            vec!["node-x"],
            vec![("zone1", 0)],
            vec![1, 2],
        ),
        (
            "system default constraints and a replicaset",
            PodTopologySpread::default(),
            incoming(&[("foo", "tar"), ("baz", "sup")]).namespace("default").owner("rs1", "apps/v1", "ReplicaSet"),
            vec![
                node("node-a", &[(H, "node-a"), (LABEL_TOPOLOGY_ZONE, "mars")]),
                node("node-b", &[(H, "node-b"), (LABEL_TOPOLOGY_ZONE, "mars")]),
                host("node-c"),
                host("node-d"),
            ],
            foo_rs(),
            vec![H, LABEL_TOPOLOGY_ZONE],
            vec![],
            vec![("", 0), ("mars", 0)],
            vec![4, 2],
        ),
        (
            "default constraints and a replicaset",
            list(serde_json::json!([
                {"maxSkew": 1, "topologyKey": H, "whenUnsatisfiable": "ScheduleAnyway"},
                {"maxSkew": 2, "topologyKey": "rack", "whenUnsatisfiable": "DoNotSchedule"},
                {"maxSkew": 2, "topologyKey": "planet", "whenUnsatisfiable": "ScheduleAnyway"},
            ])),
            incoming(&[("foo", "tar"), ("baz", "sup")]).namespace("default").owner("rs1", "apps/v1", "ReplicaSet"),
            vec![node("node-a", &[("rack", "rack1"), (H, "node-a"), ("planet", "mars")])],
            foo_rs(),
            vec![H, "planet"],
            vec![],
            vec![("mars", 0)],
            vec![1, 1],
        ),
        (
            "a pod's own constraints win over defaults and a replicaset",
            list(serde_json::json!([{"maxSkew": 2, "topologyKey": "galaxy", "whenUnsatisfiable": "ScheduleAnyway"}])),
            incoming(&[("foo", "bar"), ("baz", "sup")])
                .namespace("default")
                .owner("rs1", "apps/v1", "ReplicaSet")
                .spread_constraint(1, "zone", super::DO_NOT_SCHEDULE, bar(), None, None, None, None)
                .spread_constraint(
                    2,
                    "planet",
                    SCHEDULE_ANYWAY,
                    Some(label_selector(&[("baz", "sup")], &[])),
                    None,
                    None,
                    None,
                    None,
                ),
            vec![node("node-a", &[("planet", "mars"), ("galaxy", "andromeda")])],
            foo_rs(),
            vec!["planet"],
            vec![],
            vec![("mars", 0)],
            vec![1],
        ),
    ];
    for (name, plugin, pod, nodes, objects, keys, ignored, counts, sizes) in rows {
        let snapshot = snapshot_of(&nodes, &[]).with_objects(objects);
        let candidates: Vec<&NodeInfo> = snapshot.list().iter().map(|node| node.as_ref()).collect();
        let pod = PodInfo::new(Arc::new(pod.obj()));
        let mut state = CycleState::new();
        assert!(plugin.pre_score(&mut state, &pod, &candidates, &snapshot).is_success(), "{name}");
        let got = pre_score_state(&state).expect("state");
        let got_keys: Vec<&str> = got.constraints.iter().map(|constraint| constraint.topology_key.as_str()).collect();
        assert_eq!(got_keys, keys, "{name}");
        assert_eq!(got.ignored_nodes.iter().map(String::as_str).collect::<Vec<_>>(), ignored, "{name}");
        let mut got_counts: Vec<(String, i64)> = got
            .constraints
            .iter()
            .zip(got.topology_value_pod_counts())
            .filter(|(constraint, _)| constraint.topology_key != H)
            .flat_map(|(_, counts)| counts.into_iter())
            .collect();
        got_counts.sort();
        let want_counts: Vec<(String, i64)> =
            counts.iter().map(|(value, count)| ((*value).to_owned(), *count)).collect();
        assert_eq!(got_counts, want_counts, "{name}");
        let want_weights: Vec<f64> = sizes.into_iter().map(topology_normalizing_weight).collect();
        assert_eq!(got.topology_normalizing_weight, want_weights, "{name}");
    }
}
