//! Ported from kubernetes/kubernetes `pkg/scheduler/framework/plugins/podtopologyspread/filtering_test.go`
//! (TestSingleConstraint, TestMultipleConstraints, TestPreFilterState, TestPreFilterStateAddPod,
//! TestPreFilterStateRemovePod): same Pods, Nodes and expected codes, counts and minimums. Rows that
//! switch Kubernetes feature gates off are left out: coxswain has 1.32's defaults built in.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use super::domain_counts::DomainCounts;
use super::filtering::{CriticalPaths, pre_filter_state};
use super::{
    DO_NOT_SCHEDULE, ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH, PodTopologySpread,
    SCHEDULE_ANYWAY,
};
use crate::scheduler::framework::{Code, CycleState, FilterPlugin, PreFilterPlugin, Status};
use crate::scheduler::listers::{ClusterObjects, ListerObject};
use crate::scheduler::node_info::PodInfo;
use crate::scheduler::testing::{PodBuilder, label_selector, make_node, make_pod, snapshot_of, taint, toleration};

pub(super) fn foo() -> Option<meta::LabelSelector> {
    Some(label_selector(&[], &[("foo", "Exists", &[])]))
}
pub(super) fn bar() -> Option<meta::LabelSelector> {
    Some(label_selector(&[], &[("bar", "Exists", &[])]))
}

/// The incoming Pod, labelled `foo` unless told otherwise.
pub(super) fn incoming(labels: &[(&str, &str)]) -> PodBuilder {
    make_pod("p").namespace("").labels(labels)
}

/// A hard constraint (`SpreadConstraint(maxSkew, key, DoNotSchedule, selector, nil, nil, nil, nil)`).
pub(super) fn hard(pod: PodBuilder, max_skew: i32, key: &str, selector: Option<meta::LabelSelector>) -> PodBuilder {
    pod.spread_constraint(max_skew, key, DO_NOT_SCHEDULE, selector, None, None, None, None)
}

pub(super) fn existing(name: &str, node: &str, labels: &[(&str, &str)]) -> core::Pod {
    make_pod(name).namespace("").node(node).labels(labels).obj()
}

pub(super) fn node(name: &str, labels: &[(&str, &str)]) -> core::Node {
    make_node(name).labels(labels).obj()
}

pub(super) fn unschedulable_taint() -> Vec<core::Taint> {
    vec![taint("node.kubernetes.io/unschedulable", "", "NoSchedule")]
}

fn zone_node(name: &str, zone: &str) -> core::Node {
    node(name, &[("zone", zone), ("node", name)])
}

/// node-a, node-b in zone1 and node-x, node-y in zone2.
pub(super) fn four_nodes() -> Vec<core::Node> {
    vec![
        zone_node("node-a", "zone1"),
        zone_node("node-b", "zone1"),
        zone_node("node-x", "zone2"),
        zone_node("node-y", "zone2"),
    ]
}

/// `count` Pods labelled `foo` on each named node, named `p-<node suffix><n>`.
pub(super) fn foo_pods(spread: &[(&str, usize)]) -> Vec<core::Pod> {
    let mut pods = Vec::new();
    for (node, count) in spread {
        let suffix = node.trim_start_matches("node-");
        for index in 1..=*count {
            pods.push(existing(&format!("p-{suffix}{index}"), node, &[("foo", "")]));
        }
    }
    pods
}

const F: [(&str, &str); 1] = [("foo", "")];
const FB: [(&str, &str); 2] = [("foo", ""), ("bar", "")];

type Codes = Vec<Code>;

/// A row: name, pod, nodes, existing pods, expected codes per node.
type CodeRow = (&'static str, PodBuilder, Vec<core::Node>, Vec<core::Pod>, Codes);

fn check_codes(name: &str, pod: PodBuilder, nodes: Vec<core::Node>, pods: Vec<core::Pod>, want: Codes) {
    let snapshot = snapshot_of(&nodes, &pods);
    let plugin = PodTopologySpread::new(Some(&serde_json::json!({"defaultingType": "List"}))).expect("args");
    let pod = PodInfo::new(Arc::new(pod.obj()));
    let mut state = CycleState::new();
    let (_, status) = plugin.pre_filter(&mut state, &pod, &snapshot);
    assert!(status.is_success(), "{name}: PreFilter {status}");
    let got: Codes = snapshot.list().iter().map(|node| plugin.filter(&state, &pod, node).code()).collect();
    assert_eq!(got, want, "{name}");
}

use Code::{Success as S, Unschedulable as U, UnschedulableAndUnresolvable as UU};

#[test]
fn single_constraint_filter_matches_kubernetes_table() {
    let honor = Some("Honor");
    let ignore = Some("Ignore");
    let three_nodes = || {
        vec![
            node("node-a", &[("node", "node-a")]),
            node("node-b", &[("node", "node-b")]),
            node("node-c", &[("node", "node-c")]),
        ]
    };
    let foo_nodes = |taint_y: bool| {
        let mut nodes = vec![
            node("node-a", &[("node", "node-a"), ("foo", "")]),
            node("node-b", &[("node", "node-b"), ("foo", "")]),
            node("node-x", &[("node", "node-x"), ("foo", "")]),
        ];
        nodes.push(if taint_y {
            make_node("node-y").labels(&[("node", "node-y")]).taints(unschedulable_taint()).obj()
        } else {
            node("node-y", &[("node", "node-y")])
        });
        nodes
    };
    let one_one_zero_one =
        || vec![existing("p-b1", "node-a", &F), existing("p-b2", "node-b", &F), existing("p-y1", "node-y", &F)];
    let min_domains = |max_skew: i32, key: &str, min: i32| {
        incoming(&F).spread_constraint(max_skew, key, DO_NOT_SCHEDULE, foo(), Some(min), None, None, None)
    };
    let spread_2_1_0_3 = || foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 3)]);
    let cases: Vec<CodeRow> = vec![
        ("no existing pods", hard(incoming(&F), 1, "zone", foo()), four_nodes(), vec![], vec![S, S, S, S]),
        (
            "no existing pods, the incoming pod does not match itself",
            hard(incoming(&F), 1, "zone", bar()),
            four_nodes(),
            vec![],
            vec![S, S, S, S],
        ),
        (
            "existing pods in another namespace do not count",
            hard(incoming(&F), 1, "zone", foo()),
            four_nodes(),
            vec![
                make_pod("p-a1").namespace("ns1").node("node-a").labels(&F).obj(),
                make_pod("p-b1").namespace("ns2").node("node-a").labels(&F).obj(),
                existing("p-x1", "node-x", &F),
                existing("p-y1", "node-y", &F),
            ],
            vec![S, S, U, U],
        ),
        (
            "existing pods do not match a null selector",
            hard(incoming(&F), 1, "zone", None),
            four_nodes(),
            vec![existing("p-x1", "node-x", &F), existing("p-y1", "node-y", &F)],
            vec![S, S, S, S],
        ),
        (
            "pods spread 3/3 over zones, every node fits",
            hard(incoming(&F), 1, "zone", foo()),
            four_nodes(),
            foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 3)]),
            vec![S, S, S, S],
        ),
        (
            "pods spread 1/2 over zones as node-b lacks the zone label",
            hard(incoming(&F), 1, "zone", foo()),
            vec![
                zone_node("node-a", "zone1"),
                node("node-b", &[("zon", "zone1"), ("node", "node-b")]),
                zone_node("node-x", "zone2"),
                zone_node("node-y", "zone2"),
            ],
            foo_pods(&[("node-a", 1), ("node-b", 1), ("node-x", 1), ("node-y", 1)]),
            vec![S, UU, U, U],
        ),
        (
            "no node has the rack label",
            hard(incoming(&F), 1, "rack", foo()),
            vec![zone_node("node-a", "zone1"), zone_node("node-x", "zone2")],
            vec![],
            vec![UU, UU],
        ),
        (
            "pods spread 2/1/0/3 over nodes, only node-x fits",
            hard(incoming(&F), 1, "node", foo()),
            four_nodes(),
            spread_2_1_0_3(),
            vec![U, U, S, U],
        ),
        (
            "pods spread 2/1/0/3 over nodes with maxSkew 2, node-b and node-x fit",
            hard(incoming(&F), 2, "node", foo()),
            four_nodes(),
            spread_2_1_0_3(),
            vec![U, S, S, U],
        ),
        (
            "pods spread 2/1/0/3 over nodes, the pod does not match itself",
            hard(incoming(&[("bar", "")]), 1, "node", foo()),
            four_nodes(),
            spread_2_1_0_3(),
            vec![U, S, S, U],
        ),
        (
            "node affinity leaves pods spread 2/~1~/~0~/3, node-a fits",
            hard(incoming(&F).node_affinity("node", "In", &["node-a", "node-y"]), 1, "node", foo()),
            four_nodes(),
            spread_2_1_0_3(),
            vec![S, S, S, U],
        ),
        (
            "terminating pods are left out",
            hard(incoming(&F), 1, "node", foo()),
            vec![node("node-a", &[("node", "node-a")]), node("node-b", &[("node", "node-b")])],
            vec![
                make_pod("p-a").namespace("").node("node-a").labels(&F).terminating().obj(),
                existing("p-b", "node-b", &F),
            ],
            vec![S, U],
        ),
        (
            "node affinity leaves pods spread 0/~2~/0/1, node-a fits",
            hard(incoming(&F).node_affinity("node", "NotIn", &["node-b"]), 1, "zone", foo()),
            four_nodes(),
            foo_pods(&[("node-b", 2), ("node-y", 1)]),
            vec![S, S, U, U],
        ),
        (
            "pods spread 2/2/1 with maxSkew 2 and fewer domains than minDomains, the third node fits",
            min_domains(2, "node", 4),
            three_nodes(),
            foo_pods(&[("node-a", 2), ("node-b", 2), ("node-c", 1)]),
            vec![U, U, S],
        ),
        (
            "pods spread 2/2/1 with maxSkew 2 and more domains than minDomains, every node fits",
            min_domains(2, "node", 2),
            three_nodes(),
            foo_pods(&[("node-a", 2), ("node-b", 2), ("node-c", 1)]),
            vec![S, S, S],
        ),
        (
            "pods spread 2/1 over zones with maxSkew 2 and fewer domains than minDomains, zone2 fits",
            min_domains(2, "zone", 3),
            four_nodes(),
            foo_pods(&[("node-a", 1), ("node-b", 1), ("node-y", 1)]),
            vec![U, U, S, S],
        ),
        (
            "pods spread 2/1 over zones with maxSkew 2 and more domains than minDomains, every node fits",
            min_domains(2, "zone", 1),
            four_nodes(),
            foo_pods(&[("node-a", 1), ("node-b", 1), ("node-y", 1)]),
            vec![S, S, S, S],
        ),
        (
            "nodeAffinityPolicy Honor with a node selector, pods spread 1/1/0/~0~",
            hard(incoming(&F).node_selector(&[("foo", "")]), 1, "node", foo()),
            foo_nodes(false),
            one_one_zero_one(),
            vec![U, U, S, S],
        ),
        (
            "nodeAffinityPolicy Ignore with a node selector, pods spread 1/1/0/1",
            incoming(&F).node_selector(&[("foo", "")]).spread_constraint(
                1,
                "node",
                DO_NOT_SCHEDULE,
                foo(),
                None,
                ignore,
                None,
                None,
            ),
            foo_nodes(false),
            one_one_zero_one(),
            vec![U, U, S, U],
        ),
        (
            "nodeAffinityPolicy Honor with node affinity, pods spread 1/1/0/~0~",
            hard(incoming(&F).node_affinity("foo", "In", &[""]), 1, "node", foo()),
            foo_nodes(false),
            one_one_zero_one(),
            vec![U, U, S, S],
        ),
        (
            "nodeAffinityPolicy Ignore with node affinity, pods spread 1/1/0/1",
            incoming(&F).node_affinity("foo", "In", &[""]).spread_constraint(
                1,
                "node",
                DO_NOT_SCHEDULE,
                foo(),
                None,
                ignore,
                None,
                None,
            ),
            foo_nodes(false),
            one_one_zero_one(),
            vec![U, U, S, U],
        ),
        (
            "nodeTaintsPolicy Honor, pods spread 1/1/0/~0~",
            incoming(&F).spread_constraint(1, "node", DO_NOT_SCHEDULE, foo(), None, None, honor, None),
            foo_nodes(true),
            one_one_zero_one(),
            vec![U, U, S, S],
        ),
        (
            "nodeTaintsPolicy Ignore by default, pods spread 1/1/0/1",
            hard(incoming(&F), 1, "node", foo()),
            foo_nodes(true),
            one_one_zero_one(),
            vec![U, U, S, U],
        ),
    ];
    for (name, pod, nodes, pods, want) in cases {
        check_codes(name, pod, nodes, pods, want);
    }
}

#[test]
fn multiple_constraints_filter_matches_kubernetes_table() {
    let zone_and_node = |pod: PodBuilder, zone: Option<meta::LabelSelector>, by_node: Option<meta::LabelSelector>| {
        hard(hard(pod, 1, "zone", zone), 1, "node", by_node)
    };
    let inclusion_nodes = |a_foo: bool, b_foo: bool, y_foo: bool, y_taint: bool, b_taint: bool| {
        let make = |name: &str, zone: &str, has_foo: bool, tainted: bool| {
            let mut builder = make_node(name).labels(&[("zone", zone), ("node", name)]);
            if has_foo {
                builder = builder.label("foo", "");
            }
            if tainted {
                builder = builder.taints(unschedulable_taint());
            }
            builder.obj()
        };
        vec![
            make("node-a", "zone1", a_foo, false),
            make("node-b", "zone1", b_foo, b_taint),
            make("node-x", "zone2", true, false),
            make("node-y", "zone2", y_foo, y_taint),
        ]
    };
    let one_each =
        || vec![existing("p-a1", "node-a", &F), existing("p-b1", "node-b", &F), existing("p-y1", "node-y", &F)];
    let cases: Vec<CodeRow> = vec![
        (
            "zone and node constraints, spreads [3/3, 2/1/0/3]",
            zone_and_node(incoming(&F), foo(), foo()),
            four_nodes(),
            foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 3)]),
            vec![U, U, S, U],
        ),
        (
            "zone and node constraints, spreads [3/4, 2/1/0/4]",
            zone_and_node(incoming(&F), foo(), foo()),
            four_nodes(),
            foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 4)]),
            vec![U, U, U, U],
        ),
        (
            "constraints with different selectors, spreads [1/0, 1/0/0/1]",
            zone_and_node(incoming(&FB), foo(), bar()),
            four_nodes(),
            vec![existing("p-a1", "node-a", &F), existing("p-y1", "node-y", &[("bar", "")])],
            vec![U, U, S, U],
        ),
        (
            "constraints with different selectors, spreads [1/0, 0/0/1/1]",
            zone_and_node(incoming(&FB), foo(), bar()),
            four_nodes(),
            vec![
                existing("p-a1", "node-a", &F),
                existing("p-x1", "node-x", &[("bar", "")]),
                existing("p-y1", "node-y", &[("bar", "")]),
            ],
            vec![U, U, U, U],
        ),
        (
            "constraints with different selectors, spreads [2/3, 1/0/0/1]",
            zone_and_node(incoming(&FB), foo(), bar()),
            four_nodes(),
            vec![
                existing("p-a1", "node-a", &F),
                existing("p-a2", "node-a", &FB),
                existing("p-y1", "node-y", &F),
                existing("p-y2", "node-y", &FB),
                existing("p-y3", "node-y", &F),
            ],
            vec![U, S, U, U],
        ),
        (
            "constraints with different selectors, the pod does not match itself on zone",
            zone_and_node(incoming(&[("bar", "")]), foo(), bar()),
            four_nodes(),
            vec![
                existing("p-a1", "node-a", &F),
                existing("p-x1", "node-x", &[("bar", "")]),
                existing("p-y1", "node-y", &[("bar", "")]),
            ],
            vec![S, S, U, U],
        ),
        (
            "zone and node constraints, node-x lacks the node label, spreads [1/1, 1/0/0/1]",
            zone_and_node(incoming(&F), foo(), foo()),
            vec![
                zone_node("node-a", "zone1"),
                zone_node("node-b", "zone1"),
                node("node-x", &[("zone", "zone2")]),
                zone_node("node-y", "zone2"),
            ],
            vec![existing("p-a1", "node-a", &F), existing("p-y3", "node-y", &F)],
            vec![U, S, UU, U],
        ),
        (
            "inclusion policies, zone honor/ignore, node ignore/ignore",
            hard(incoming(&F).node_selector(&[("foo", "")]), 1, "zone", foo()).spread_constraint(
                1,
                "node",
                DO_NOT_SCHEDULE,
                foo(),
                None,
                Some("Ignore"),
                None,
                None,
            ),
            inclusion_nodes(true, true, false, false, false),
            one_each(),
            vec![U, U, S, U],
        ),
        (
            "inclusion policies, zone honor/honor, node honor/ignore",
            hard(
                incoming(&F).spread_constraint(1, "zone", DO_NOT_SCHEDULE, foo(), None, None, Some("Honor"), None),
                1,
                "node",
                foo(),
            ),
            inclusion_nodes(true, true, false, true, false),
            one_each(),
            vec![U, U, S, U],
        ),
        (
            "inclusion policies, zone honor/ignore, node honor/ignore",
            zone_and_node(incoming(&F).node_selector(&[("foo", "")]), foo(), foo()),
            inclusion_nodes(true, false, true, true, false),
            one_each(),
            vec![U, S, S, U],
        ),
        (
            "inclusion policies, zone honor/honor, node ignore/ignore",
            incoming(&F)
                .node_selector(&[("foo", "")])
                .spread_constraint(1, "zone", DO_NOT_SCHEDULE, foo(), None, None, Some("Honor"), None)
                .spread_constraint(1, "node", DO_NOT_SCHEDULE, foo(), None, Some("Ignore"), None, None),
            inclusion_nodes(true, false, true, true, false),
            one_each(),
            vec![U, U, S, U],
        ),
    ];
    for (name, pod, nodes, pods, want) in cases {
        check_codes(name, pod, nodes, pods, want);
    }
}

#[test]
fn filter_reasons_are_kubernetes_reasons() {
    let nodes = vec![zone_node("node-a", "zone1"), node("node-b", &[("node", "node-b")]), zone_node("node-x", "zone2")];
    let snapshot = snapshot_of(&nodes, &foo_pods(&[("node-a", 1)]));
    let plugin = PodTopologySpread::default();
    let pod = PodInfo::new(Arc::new(hard(incoming(&F), 1, "zone", foo()).obj()));
    let mut state = CycleState::new();
    assert!(plugin.pre_filter(&mut state, &pod, &snapshot).1.is_success());
    let statuses: Vec<Status> = snapshot.list().iter().map(|node| plugin.filter(&state, &pod, node)).collect();
    assert_eq!(
        statuses,
        vec![
            Status::new(Code::Unschedulable, ERR_REASON_CONSTRAINTS_NOT_MATCH),
            Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_NODE_LABEL_NOT_MATCH),
            Status::success(),
        ]
    );
    let error = plugin.filter(&CycleState::new(), &pod, &snapshot.list()[0]);
    assert_eq!(error, Status::error("reading \"PreFilterPodTopologySpread\" from cycleState: not found"));
}

/// Counts of each constraint by domain, and each constraint's critical paths with equal counts
/// put in name order (Kubernetes' comparer).
type Counts = Vec<Vec<(&'static str, i64)>>;

fn sorted_paths(paths: &CriticalPaths) -> [(String, i64); 2] {
    let mut pair = paths.0.clone();
    if pair[0].1 == pair[1].1 && pair[0].0 > pair[1].0 {
        pair.swap(0, 1);
    }
    pair
}

fn expected_paths(paths: &[[(&str, i64); 2]]) -> Vec<[(String, i64); 2]> {
    paths
        .iter()
        .map(|pair| {
            let mut pair = [(pair[0].0.to_owned(), pair[0].1), (pair[1].0.to_owned(), pair[1].1)];
            if pair[0].1 == pair[1].1 && pair[0].0 > pair[1].0 {
                pair.swap(0, 1);
            }
            pair
        })
        .collect()
}

fn counts_of(counts: &[DomainCounts]) -> Vec<Vec<(String, i64)>> {
    counts.iter().map(|counts| counts.to_map().into_iter().collect()).collect()
}

fn owned(counts: Counts) -> Vec<Vec<(String, i64)>> {
    counts
        .into_iter()
        .map(|counts| counts.into_iter().map(|(value, count)| (value.to_owned(), count)).collect())
        .collect()
}

const NONE: (&str, i64) = ("", i32::MAX as i64);

#[test]
fn pre_filter_counts_match_kubernetes_table() {
    let service = |selector: &[(&str, &str)]| {
        let mut objects = ClusterObjects::new();
        let mut service = core::Service::default();
        service.metadata.namespace = Some(String::new());
        service.metadata.name = Some("svc".to_owned());
        service.spec = Some(core::ServiceSpec {
            selector: Some(selector.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()),
            ..Default::default()
        });
        objects.apply(&ListerObject::Service(Arc::new(service)));
        objects
    };
    let spread_5 = || foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 2)]);
    let spread_7 = || foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 4)]);
    let three = || vec![zone_node("node-a", "zone1"), zone_node("node-b", "zone1"), zone_node("node-y", "zone2")];
    let list_defaults = |defaults: serde_json::Value| {
        PodTopologySpread::new(Some(&serde_json::json!({"defaultingType": "List", "defaultConstraints": defaults})))
            .expect("args")
    };
    let plain = list_defaults(serde_json::json!([]));
    // (name, plugin, pod, nodes, pods, objects, counts per constraint, critical paths per constraint)
    type Row = (
        &'static str,
        PodTopologySpread,
        PodBuilder,
        Vec<core::Node>,
        Vec<core::Pod>,
        ClusterObjects,
        Counts,
        Vec<[(&'static str, i64); 2]>,
    );
    let rows: Vec<Row> = vec![
        (
            "a clean cluster with one constraint",
            plain.clone(),
            hard(incoming(&F), 5, "zone", Some(label_selector(&[("foo", "bar")], &[]))),
            four_nodes(),
            vec![],
            ClusterObjects::new(),
            vec![vec![("zone1", 0), ("zone2", 0)]],
            vec![[("zone1", 0), ("zone2", 0)]],
        ),
        (
            "one constraint",
            plain.clone(),
            hard(incoming(&F), 1, "zone", foo()),
            four_nodes(),
            spread_5(),
            ClusterObjects::new(),
            vec![vec![("zone1", 3), ("zone2", 2)]],
            vec![[("zone2", 2), ("zone1", 3)]],
        ),
        (
            "a null label selector counts nothing",
            plain.clone(),
            hard(incoming(&F), 1, "zone", None),
            four_nodes(),
            spread_5(),
            ClusterObjects::new(),
            vec![vec![("zone1", 0), ("zone2", 0)]],
            vec![[("zone1", 0), ("zone2", 0)]],
        ),
        (
            "one constraint on a three-zone cluster",
            plain.clone(),
            hard(incoming(&F), 1, "zone", foo()),
            {
                let mut nodes = four_nodes();
                nodes.push(zone_node("node-o", "zone3"));
                nodes.push(zone_node("node-p", "zone3"));
                nodes
            },
            spread_5(),
            ClusterObjects::new(),
            vec![vec![("zone1", 3), ("zone2", 2), ("zone3", 0)]],
            vec![[("zone3", 0), ("zone2", 2)]],
        ),
        (
            "pods in another namespace do not count",
            plain.clone(),
            hard(incoming(&F), 1, "zone", foo()),
            four_nodes(),
            vec![
                existing("p-a1", "node-a", &F),
                make_pod("p-a2").namespace("ns1").node("node-a").labels(&F).obj(),
                existing("p-b1", "node-b", &F),
                make_pod("p-y1").namespace("ns2").node("node-y").labels(&F).obj(),
                existing("p-y2", "node-y", &F),
            ],
            ClusterObjects::new(),
            vec![vec![("zone1", 2), ("zone2", 1)]],
            vec![[("zone2", 1), ("zone1", 2)]],
        ),
        (
            "two constraints",
            plain.clone(),
            hard(hard(incoming(&F), 1, "zone", foo()), 1, "node", foo()),
            four_nodes(),
            spread_7(),
            ClusterObjects::new(),
            vec![vec![("zone1", 3), ("zone2", 4)], vec![("node-a", 2), ("node-b", 1), ("node-x", 0), ("node-y", 4)]],
            vec![[("zone1", 3), ("zone2", 4)], [("node-x", 0), ("node-b", 1)]],
        ),
        (
            "soft constraints are left to scoring",
            plain.clone(),
            incoming(&F)
                .spread_constraint(1, "zone", SCHEDULE_ANYWAY, foo(), None, None, None, None)
                .spread_constraint(1, "zone", DO_NOT_SCHEDULE, foo(), None, None, None, None)
                .spread_constraint(1, "node", SCHEDULE_ANYWAY, foo(), None, None, None, None)
                .spread_constraint(1, "node", DO_NOT_SCHEDULE, foo(), None, None, None, None),
            three(),
            spread_7(),
            ClusterObjects::new(),
            vec![vec![("zone1", 3), ("zone2", 4)], vec![("node-a", 2), ("node-b", 1), ("node-y", 4)]],
            vec![[("zone1", 3), ("zone2", 4)], [("node-b", 1), ("node-a", 2)]],
        ),
        (
            "constraints with different selectors",
            plain.clone(),
            hard(hard(incoming(&FB), 1, "zone", foo()), 1, "node", bar()),
            three(),
            vec![existing("p-a", "node-a", &F), existing("p-b", "node-b", &[("bar", "")])],
            ClusterObjects::new(),
            vec![vec![("zone1", 1), ("zone2", 0)], vec![("node-a", 0), ("node-b", 1), ("node-y", 0)]],
            vec![[("zone2", 0), ("zone1", 1)], [("node-a", 0), ("node-y", 0)]],
        ),
        (
            "two constraints and node affinity",
            plain.clone(),
            hard(hard(incoming(&F).node_affinity("node", "NotIn", &["node-x"]), 1, "zone", foo()), 1, "node", foo()),
            four_nodes(),
            spread_7(),
            ClusterObjects::new(),
            vec![vec![("zone1", 3), ("zone2", 4)], vec![("node-a", 2), ("node-b", 1), ("node-y", 4)]],
            vec![[("zone1", 3), ("zone2", 4)], [("node-b", 1), ("node-a", 2)]],
        ),
        (
            "default constraints and a service",
            list_defaults(serde_json::json!([
                {"maxSkew": 3, "topologyKey": "node", "whenUnsatisfiable": "DoNotSchedule"},
                {"maxSkew": 2, "topologyKey": "node", "whenUnsatisfiable": "ScheduleAnyway"},
                {"maxSkew": 5, "topologyKey": "rack", "whenUnsatisfiable": "DoNotSchedule"},
            ])),
            incoming(&[("foo", "bar"), ("baz", "kar")]),
            vec![],
            vec![],
            service(&[("foo", "bar")]),
            vec![vec![], vec![]],
            vec![[NONE, NONE], [NONE, NONE]],
        ),
        (
            "a pod's own constraints win over defaults and a service",
            list_defaults(
                serde_json::json!([{"maxSkew": 2, "topologyKey": "node", "whenUnsatisfiable": "DoNotSchedule"}]),
            ),
            incoming(&[("foo", "bar"), ("baz", "tar")])
                .spread_constraint(
                    1,
                    "zone",
                    DO_NOT_SCHEDULE,
                    Some(label_selector(&[("baz", "tar")], &[])),
                    None,
                    None,
                    None,
                    None,
                )
                .spread_constraint(
                    2,
                    "planet",
                    SCHEDULE_ANYWAY,
                    Some(label_selector(&[("fot", "rok")], &[])),
                    None,
                    None,
                    None,
                    None,
                ),
            vec![],
            vec![],
            service(&[("foo", "bar")]),
            vec![vec![]],
            vec![[NONE, NONE]],
        ),
        (
            "nodeAffinityPolicy Honor with a node selector",
            plain.clone(),
            hard(incoming(&F).node_selector(&[("foo", "")]), 1, "node", bar()),
            vec![
                node("node-a", &[("node", "node-a"), ("foo", "")]),
                node("node-b", &[("node", "node-b"), ("foo", "")]),
                node("node-c", &[("node", "node-c"), ("bar", "")]),
            ],
            vec![
                existing("p-a", "node-a", &[("bar", "")]),
                existing("p-b", "node-b", &[("bar", "")]),
                existing("p-c", "node-b", &[("bar", "")]),
                existing("p-d", "node-c", &[]),
            ],
            ClusterObjects::new(),
            vec![vec![("node-a", 1), ("node-b", 2)]],
            vec![[("node-a", 1), ("node-b", 2)]],
        ),
        (
            "nodeAffinityPolicy Ignore with a node selector",
            plain.clone(),
            incoming(&F).node_selector(&[("foo", "")]).spread_constraint(
                1,
                "node",
                DO_NOT_SCHEDULE,
                bar(),
                None,
                Some("Ignore"),
                None,
                None,
            ),
            vec![
                node("node-a", &[("node", "node-a"), ("foo", "")]),
                node("node-b", &[("node", "node-b"), ("foo", "")]),
                node("node-c", &[("node", "node-c"), ("bar", "")]),
            ],
            vec![
                existing("p-a", "node-a", &[("bar", "")]),
                existing("p-b", "node-b", &[("bar", "")]),
                existing("p-c", "node-b", &[("bar", "")]),
                existing("p-d", "node-c", &[]),
            ],
            ClusterObjects::new(),
            vec![vec![("node-a", 1), ("node-b", 2), ("node-c", 0)]],
            vec![[("node-c", 0), ("node-a", 1)]],
        ),
        (
            "nodeTaintsPolicy Honor leaves out a tainted node",
            plain.clone(),
            incoming(&F).spread_constraint(1, "node", DO_NOT_SCHEDULE, bar(), None, None, Some("Honor"), None),
            vec![
                node("node-a", &[("node", "node-a")]),
                node("node-b", &[("node", "node-b")]),
                make_node("node-c").labels(&[("node", "node-c"), ("bar", "")]).taints(unschedulable_taint()).obj(),
            ],
            vec![
                existing("p-a", "node-a", &[("bar", "")]),
                existing("p-b", "node-b", &[("bar", "")]),
                existing("p-c", "node-b", &[("bar", "")]),
                existing("p-d", "node-c", &[]),
            ],
            ClusterObjects::new(),
            vec![vec![("node-a", 1), ("node-b", 2)]],
            vec![[("node-a", 1), ("node-b", 2)]],
        ),
        (
            "nodeTaintsPolicy Honor keeps a node whose taint is tolerated",
            plain.clone(),
            incoming(&F)
                .tolerations(vec![toleration("node.kubernetes.io/unschedulable", "Exists", "", "NoSchedule")])
                .spread_constraint(1, "node", DO_NOT_SCHEDULE, bar(), None, None, Some("Honor"), None),
            vec![
                node("node-a", &[("node", "node-a")]),
                node("node-b", &[("node", "node-b")]),
                make_node("node-c").labels(&[("node", "node-c"), ("bar", "")]).taints(unschedulable_taint()).obj(),
            ],
            vec![
                existing("p-a", "node-a", &[("bar", "")]),
                existing("p-b", "node-b", &[("bar", "")]),
                existing("p-c", "node-b", &[("bar", "")]),
                existing("p-d", "node-c", &[]),
            ],
            ClusterObjects::new(),
            vec![vec![("node-a", 1), ("node-b", 2), ("node-c", 0)]],
            vec![[("node-c", 0), ("node-a", 1)]],
        ),
        (
            "matchLabelKeys are ANDed with a non-empty selector",
            plain.clone(),
            incoming(&[("foo", ""), ("bar", "a")]).spread_constraint(
                1,
                "zone",
                DO_NOT_SCHEDULE,
                foo(),
                None,
                None,
                None,
                Some(&["bar"]),
            ),
            four_nodes(),
            vec![
                existing("p-a1", "node-a", &F),
                existing("p-a2", "node-a", &[("foo", ""), ("bar", "a")]),
                existing("p-b1", "node-b", &F),
                existing("p-y1", "node-y", &[("foo", ""), ("bar", "a")]),
                existing("p-y2", "node-y", &[("bar", "")]),
            ],
            ClusterObjects::new(),
            vec![vec![("zone1", 1), ("zone2", 1)]],
            vec![[("zone1", 1), ("zone2", 1)]],
        ),
        (
            "matchLabelKeys are ANDed with an empty selector",
            plain.clone(),
            incoming(&[("foo", "a")]).spread_constraint(
                1,
                "zone",
                DO_NOT_SCHEDULE,
                Some(meta::LabelSelector::default()),
                None,
                None,
                None,
                Some(&["foo"]),
            ),
            four_nodes(),
            vec![
                existing("p-a1", "node-a", &[("foo", "a")]),
                existing("p-a2", "node-a", &[("foo", "a")]),
                existing("p-b1", "node-b", &[("foo", "a")]),
                existing("p-y1", "node-y", &[("foo", "a")]),
                existing("p-y2", "node-y", &[("foo", "a")]),
            ],
            ClusterObjects::new(),
            vec![vec![("zone1", 3), ("zone2", 2)]],
            vec![[("zone2", 2), ("zone1", 3)]],
        ),
        (
            "matchLabelKeys are ignored with a null selector",
            plain.clone(),
            incoming(&F).spread_constraint(1, "zone", DO_NOT_SCHEDULE, None, None, None, None, Some(&["bar"])),
            four_nodes(),
            vec![existing("p-a1", "node-a", &[("foo", "a")]), existing("p-y1", "node-y", &[("foo", "a")])],
            ClusterObjects::new(),
            vec![vec![("zone1", 0), ("zone2", 0)]],
            vec![[("zone1", 0), ("zone2", 0)]],
        ),
        (
            "a matchLabelKeys key missing from the pod's labels is ignored",
            plain.clone(),
            incoming(&F).spread_constraint(1, "zone", DO_NOT_SCHEDULE, foo(), None, None, None, Some(&["bar"])),
            four_nodes(),
            vec![
                existing("p-a1", "node-a", &[("foo", "a")]),
                existing("p-a2", "node-a", &[("foo", "a")]),
                existing("p-b1", "node-b", &[("foo", "a")]),
                existing("p-y1", "node-y", &[("foo", "a")]),
                existing("p-y2", "node-y", &[("foo", "a")]),
            ],
            ClusterObjects::new(),
            vec![vec![("zone1", 3), ("zone2", 2)]],
            vec![[("zone2", 2), ("zone1", 3)]],
        ),
    ];
    for (name, plugin, pod, nodes, pods, objects, counts, paths) in rows {
        let snapshot = snapshot_of(&nodes, &pods).with_objects(objects);
        let pod = PodInfo::new(Arc::new(pod.obj()));
        let mut state = CycleState::new();
        let (_, status) = plugin.pre_filter(&mut state, &pod, &snapshot);
        assert!(status.is_success(), "{name}: {status}");
        let got = pre_filter_state(&state).expect("state");
        assert_eq!(counts_of(&got.match_counts), owned(counts), "{name}");
        let got_paths: Vec<[(String, i64); 2]> = got.critical_paths.iter().map(sorted_paths).collect();
        assert_eq!(got_paths, expected_paths(&paths), "{name}");
    }
}

#[test]
fn pre_filter_skips_without_hard_constraints() {
    let list = PodTopologySpread::new(Some(&serde_json::json!({
        "defaultingType": "List",
        "defaultConstraints": [{"maxSkew": 3, "topologyKey": "node", "whenUnsatisfiable": "DoNotSchedule"}]
    })))
    .expect("args");
    let mut objects = ClusterObjects::new();
    let mut service = core::Service::default();
    service.metadata.namespace = Some(String::new());
    service.metadata.name = Some("svc".to_owned());
    service.spec = Some(core::ServiceSpec {
        selector: Some(BTreeMap::from([("baz".to_owned(), "kep".to_owned())])),
        ..Default::default()
    });
    objects.apply(&ListerObject::Service(Arc::new(service)));
    let snapshot = snapshot_of(&[node("node-a", &[("zone", "zone1"), ("node", "node-a")])], &[]).with_objects(objects);
    // Kubernetes: "default constraints and a service that doesn't match", "skip if not specified".
    for (plugin, pod) in [(list, incoming(&[("foo", "bar")])), (PodTopologySpread::default(), incoming(&F))] {
        let pod = PodInfo::new(Arc::new(pod.obj()));
        let (_, status) = plugin.pre_filter(&mut CycleState::new(), &pod, &snapshot);
        assert_eq!(status, Status::code_only(Code::Skip));
    }
}

#[test]
fn add_pod_and_remove_pod_update_counts_and_critical_paths_as_kubernetes_does() {
    let two = || vec![zone_node("node-a", "zone1"), zone_node("node-b", "zone1")];
    let ax = || vec![zone_node("node-a", "zone1"), zone_node("node-x", "zone2")];
    let abx = || vec![zone_node("node-a", "zone1"), zone_node("node-b", "zone1"), zone_node("node-x", "zone2")];
    let affinity_nodes = || {
        vec![
            node("node-a", &[("zone", "zone1"), ("node", "node-a"), ("foo", "bar")]),
            node("node-b", &[("zone", "zone2"), ("node", "node-b"), ("foo", "")]),
        ]
    };
    let by_node = || hard(incoming(&F), 1, "node", foo());
    let by_zone_node = || hard(hard(incoming(&F), 1, "zone", foo()), 1, "node", foo());
    let by_zone_node_bar = || hard(hard(incoming(&FB), 1, "zone", foo()), 1, "node", bar());
    let by_zone = || hard(incoming(&F), 1, "zone", foo());
    // (name, preemptor, nodes, existing pods, the pod, its node index, added (true) or removed, counts, paths)
    type Row = (
        &'static str,
        PodBuilder,
        Vec<core::Node>,
        Vec<core::Pod>,
        core::Pod,
        usize,
        bool,
        Counts,
        Vec<[(&'static str, i64); 2]>,
    );
    let rows: Vec<Row> = vec![
        (
            "adding to node-a on an empty cluster",
            by_node(),
            two(),
            vec![],
            existing("p-a1", "node-a", &F),
            0,
            true,
            vec![vec![("node-a", 1), ("node-b", 0)]],
            vec![[("node-b", 0), ("node-a", 1)]],
        ),
        (
            "adding to node-a, only node-a moves the minimum",
            by_node(),
            two(),
            vec![existing("p-b1", "node-b", &F)],
            existing("p-a1", "node-a", &F),
            0,
            true,
            vec![vec![("node-a", 1), ("node-b", 1)]],
            vec![[("node-a", 1), ("node-b", 1)]],
        ),
        (
            "adding a pod of another namespace changes nothing",
            by_node(),
            two(),
            vec![existing("p-b1", "node-b", &F)],
            make_pod("p-a1").namespace("ns1").node("node-a").labels(&F).obj(),
            0,
            true,
            vec![vec![("node-a", 0), ("node-b", 1)]],
            vec![[("node-a", 0), ("node-b", 1)]],
        ),
        (
            "adding on a non-critical node",
            by_node(),
            two(),
            vec![existing("p-b1", "node-b", &F)],
            existing("p-b2", "node-b", &F),
            1,
            true,
            vec![vec![("node-a", 0), ("node-b", 2)]],
            vec![[("node-a", 0), ("node-b", 2)]],
        ),
        (
            "adding to node-a moves both zone and node minimums",
            by_zone_node(),
            ax(),
            vec![],
            existing("p-a1", "node-a", &F),
            0,
            true,
            vec![vec![("zone1", 1), ("zone2", 0)], vec![("node-a", 1), ("node-x", 0)]],
            vec![[("zone2", 0), ("zone1", 1)], [("node-x", 0), ("node-a", 1)]],
        ),
        (
            "adding to node-a with node-b and node-x loaded",
            by_zone_node(),
            abx(),
            foo_pods(&[("node-b", 2), ("node-x", 1)]),
            existing("p-a1", "node-a", &F),
            0,
            true,
            vec![vec![("zone1", 3), ("zone2", 1)], vec![("node-a", 1), ("node-b", 2), ("node-x", 1)]],
            vec![[("zone2", 1), ("zone1", 3)], [("node-a", 1), ("node-x", 1)]],
        ),
        (
            "adding a pod matching one of two selectors",
            by_zone_node_bar(),
            abx(),
            vec![
                existing("p-b1", "node-b", &FB),
                existing("p-x1", "node-x", &FB),
                existing("p-x2", "node-x", &[("bar", "")]),
            ],
            existing("p-a1", "node-a", &F),
            0,
            true,
            vec![vec![("zone1", 2), ("zone2", 1)], vec![("node-a", 0), ("node-b", 1), ("node-x", 2)]],
            vec![[("zone2", 1), ("zone1", 2)], [("node-a", 0), ("node-b", 1)]],
        ),
        (
            "adding to a node the preemptor's node affinity excludes",
            hard(incoming(&F).node_affinity("foo", "NotIn", &["bar"]), 1, "zone", foo()),
            affinity_nodes(),
            vec![
                existing("p-a2", "node-a", &[("foo", ""), ("zone", "zone1")]),
                existing("p-b1", "node-b", &[("foo", ""), ("zone", "zone2")]),
            ],
            existing("p-a1", "node-a", &[("foo", ""), ("zone", "zone1")]),
            0,
            true,
            vec![vec![("zone2", 1)]],
            vec![[("zone2", 1), NONE]],
        ),
        (
            "adding a pod the selector does not match",
            by_zone(),
            affinity_nodes(),
            vec![
                existing("p-a1", "node-a", &[("foo", ""), ("zone", "zone1")]),
                existing("p-b2", "node-b", &[("foo", ""), ("zone", "zone2")]),
            ],
            existing("p-b1", "node-b", &[("zone", "zone2")]),
            1,
            true,
            vec![vec![("zone1", 1), ("zone2", 1)]],
            vec![[("zone1", 1), ("zone2", 1)]],
        ),
        (
            "removing from zone1 keeps the minimum",
            by_zone(),
            abx(),
            foo_pods(&[("node-a", 1), ("node-b", 1), ("node-x", 1)]),
            existing("p-a1", "node-a", &F),
            0,
            false,
            vec![vec![("zone1", 1), ("zone2", 1)]],
            vec![[("zone1", 1), ("zone2", 1)]],
        ),
        (
            "removing from zone1 changes the minimum",
            by_zone(),
            four_nodes(),
            foo_pods(&[("node-a", 1), ("node-b", 1), ("node-x", 1), ("node-y", 1)]),
            existing("p-a1", "node-a", &F),
            0,
            false,
            vec![vec![("zone1", 1), ("zone2", 2)]],
            vec![[("zone1", 1), ("zone2", 2)]],
        ),
        (
            "removing an irrelevant pod changes nothing",
            by_zone(),
            four_nodes(),
            {
                let mut pods = vec![existing("p-a0", "node-a", &[("bar", "")])];
                pods.extend(foo_pods(&[("node-a", 1), ("node-b", 1), ("node-x", 1), ("node-y", 1)]));
                pods
            },
            existing("p-a0", "node-a", &[("bar", "")]),
            0,
            false,
            vec![vec![("zone1", 2), ("zone2", 2)]],
            vec![[("zone1", 2), ("zone2", 2)]],
        ),
        (
            "removing from node-x with two constraints",
            by_zone_node(),
            abx(),
            foo_pods(&[("node-a", 2), ("node-b", 1), ("node-x", 2)]),
            existing("p-x1", "node-x", &F),
            2,
            false,
            vec![vec![("zone1", 3), ("zone2", 1)], vec![("node-a", 2), ("node-b", 1), ("node-x", 1)]],
            vec![[("zone2", 1), ("zone1", 3)], [("node-b", 1), ("node-x", 1)]],
        ),
        (
            "removing from a node the preemptor's node affinity excludes",
            hard(incoming(&F).node_affinity("foo", "NotIn", &["bar"]), 1, "zone", foo()),
            affinity_nodes(),
            vec![
                existing("p-a2", "node-a", &[("foo", ""), ("zone", "zone1")]),
                existing("p-b1", "node-b", &[("foo", ""), ("zone", "zone2")]),
            ],
            existing("p-a1", "node-a", &[("foo", ""), ("zone", "zone1")]),
            0,
            false,
            vec![vec![("zone2", 1)]],
            vec![[("zone2", 1), NONE]],
        ),
    ];
    let plugin = PodTopologySpread::new(Some(&serde_json::json!({"defaultingType": "List"}))).expect("args");
    for (name, preemptor, nodes, pods, changed, node_index, added, counts, paths) in rows {
        let snapshot = snapshot_of(&nodes, &pods);
        let preemptor = PodInfo::new(Arc::new(preemptor.obj()));
        let mut state = CycleState::new();
        assert!(plugin.pre_filter(&mut state, &preemptor, &snapshot).1.is_success(), "{name}");
        let node = &snapshot.list()[node_index];
        let changed = PodInfo::new(Arc::new(changed));
        let status = if added {
            plugin.add_pod(&mut state, &preemptor, &changed, node)
        } else {
            plugin.remove_pod(&mut state, &preemptor, &changed, node)
        };
        assert!(status.is_success(), "{name}");
        let got = pre_filter_state(&state).expect("state");
        assert_eq!(counts_of(&got.match_counts), owned(counts), "{name}");
        let got_paths: Vec<[(String, i64); 2]> = got.critical_paths.iter().map(sorted_paths).collect();
        assert_eq!(got_paths, expected_paths(&paths), "{name}");
    }
}
