//! Ported from kubernetes/kubernetes `pkg/scheduler/framework/plugins/interpodaffinity/scoring_test.go`
//! (TestPreferredAffinity, TestPreferredAffinityWithHardPodAffinitySymmetricWeight): same Pods,
//! Nodes and expected normalized scores or statuses.

use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;

use super::InterPodAffinity;
use super::filtering_tests::namespaces;
use crate::scheduler::framework::{Code, CycleState, PreScorePlugin, ScorePlugin, Status};
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::testing::{PodBuilder, affinity_term, label_selector, make_node, make_pod, snapshot_of};

fn pod() -> PodBuilder {
    make_pod("p").namespace("")
}

fn on(node: &str, labels: &[(&str, &str)]) -> PodBuilder {
    pod().node(node).labels(labels)
}

fn node(name: &str, labels: &[(&str, &str)]) -> core::Node {
    make_node(name).labels(labels).obj()
}

fn security_in(values: &[&str], topology: &str) -> core::PodAffinityTerm {
    affinity_term("security", "In", values, topology)
}

fn stay_with_s1_in_region(pod: PodBuilder) -> PodBuilder {
    pod.preferred_term(false, 5, security_in(&["S1"], "region"))
}
fn stay_with_s2_in_region(pod: PodBuilder) -> PodBuilder {
    pod.preferred_term(false, 6, security_in(&["S2"], "region"))
}
fn affinity3(pod: PodBuilder) -> PodBuilder {
    let first = core::PodAffinityTerm {
        label_selector: Some(label_selector(&[], &[("security", "NotIn", &["S1"]), ("security", "In", &["S2"])])),
        topology_key: "region".to_owned(),
        ..Default::default()
    };
    let second = core::PodAffinityTerm {
        label_selector: Some(label_selector(&[], &[("security", "Exists", &[]), ("wrongkey", "DoesNotExist", &[])])),
        topology_key: "region".to_owned(),
        ..Default::default()
    };
    pod.preferred_term(false, 8, first).preferred_term(false, 2, second)
}
fn hard_affinity(pod: PodBuilder) -> PodBuilder {
    let second = core::PodAffinityTerm {
        label_selector: Some(label_selector(&[], &[("security", "Exists", &[]), ("wrongkey", "DoesNotExist", &[])])),
        topology_key: "region".to_owned(),
        ..Default::default()
    };
    pod.required_term(false, security_in(&["S1", "value2"], "region")).required_term(false, second)
}
fn away_from_s1_in_az(pod: PodBuilder) -> PodBuilder {
    pod.preferred_term(true, 5, security_in(&["S1"], "az"))
}
fn away_from_s2_in_az(pod: PodBuilder) -> PodBuilder {
    pod.preferred_term(true, 5, security_in(&["S2"], "az"))
}
fn stay_with_s1_away_from_s2(pod: PodBuilder) -> PodBuilder {
    pod.preferred_term(false, 8, security_in(&["S1"], "region")).preferred_term(true, 5, security_in(&["S2"], "az"))
}
fn namespace_selector_term() -> core::PodAffinityTerm {
    let mut term = security_in(&["S1"], "region");
    term.namespaces = Some(vec!["subteam2.team2".to_owned()]);
    term.namespace_selector = Some(label_selector(&[], &[("team", "In", &["team1"])]));
    term
}
fn affinity_namespace_selector(pod: PodBuilder) -> PodBuilder {
    pod.preferred_term(false, 5, namespace_selector_term())
}
fn anti_affinity_namespace_selector(pod: PodBuilder) -> PodBuilder {
    pod.preferred_term(true, 5, namespace_selector_term())
}

/// A row: name, plugin, pod, existing pods, nodes, expectation.
type Row<'a> = (&'a str, &'a InterPodAffinity, PodBuilder, Vec<PodBuilder>, Vec<core::Node>, Want);

const S1: [(&str, &str); 1] = [("security", "S1")];
const S2: [(&str, &str); 1] = [("security", "S2")];
const CHINA: [(&str, &str); 1] = [("region", "China")];
const INDIA: [(&str, &str); 1] = [("region", "India")];
const AZ1: [(&str, &str); 1] = [("az", "az1")];
const AZ2: [(&str, &str); 1] = [("az", "az2")];
const CHINA_AZ1: [(&str, &str); 2] = [("region", "China"), ("az", "az1")];

/// Either the normalized scores, or the status PreScore must return (code and a message part).
enum Want {
    Scores(Vec<i64>),
    Status(Code, &'static str),
}

fn run(
    name: &str,
    plugin: &InterPodAffinity,
    pod: PodBuilder,
    pods: Vec<PodBuilder>,
    nodes: Vec<core::Node>,
    want: Want,
) {
    let pods: Vec<core::Pod> = pods.into_iter().map(PodBuilder::obj).collect();
    let snapshot = snapshot_of(&nodes, &pods).with_objects(namespaces());
    let pod = PodInfo::new(Arc::new(pod.obj()));
    let candidates: Vec<&NodeInfo> = snapshot.list().iter().map(|node| node.as_ref()).collect();
    let mut state = CycleState::new();
    let status = plugin.pre_score(&mut state, &pod, &candidates, &snapshot);
    if !status.is_success() {
        let Want::Status(code, message) = want else {
            panic!("{name}: PreScore returned {status}");
        };
        assert_eq!(status.code(), code, "{name}");
        assert!(status.message().contains(message), "{name}: {}", status.message());
        return;
    }
    let Want::Scores(want) = want else {
        panic!("{name}: PreScore succeeded");
    };
    let mut scores: Vec<i64> = candidates.iter().map(|node| plugin.score(&state, &pod, node).expect("score")).collect();
    assert_eq!(plugin.normalize_score(&state, &pod, &mut scores), Status::success(), "{name}");
    assert_eq!(scores, want, "{name}");
}

fn three_nodes() -> Vec<core::Node> {
    vec![node("node1", &CHINA), node("node2", &INDIA), node("node3", &AZ1)]
}

#[test]
fn preferred_affinity_scores_match_kubernetes_table() {
    let plugin = InterPodAffinity::default();
    let ignoring: InterPodAffinity =
        InterPodAffinity::new(Some(&serde_json::json!({"ignorePreferredTermsOfExistingPods": true}))).expect("args");
    let cases: Vec<Row<'_>> = vec![
        (
            "all nodes have the same priority as affinity is nil",
            &plugin,
            pod().labels(&S1),
            vec![],
            three_nodes(),
            Want::Status(Code::Skip, ""),
        ),
        (
            "affinity: the node matching topology key and pods scores high",
            &plugin,
            stay_with_s1_in_region(pod().labels(&S1)),
            vec![on("node1", &S1), on("node2", &S2), on("node3", &S1)],
            three_nodes(),
            Want::Scores(vec![100, 0, 0]),
        ),
        (
            "nodes sharing the topology value of a node with a matching pod score the same",
            &plugin,
            stay_with_s1_in_region(pod()),
            vec![on("node1", &S1)],
            vec![node("node1", &CHINA), node("node2", &CHINA_AZ1), node("node3", &INDIA)],
            Want::Scores(vec![100, 100, 0]),
        ),
        (
            "affinity: the region with more matching pods scores high",
            &plugin,
            stay_with_s2_in_region(pod().labels(&S1)),
            vec![
                on("node1", &S2),
                on("node1", &S2),
                on("node2", &S2),
                on("node3", &S2),
                on("node4", &S2),
                on("node5", &S2),
            ],
            vec![
                node("node1", &CHINA),
                node("node2", &INDIA),
                node("node3", &CHINA),
                node("node4", &CHINA),
                node("node5", &INDIA),
            ],
            Want::Scores(vec![100, 0, 100, 100, 0]),
        ),
        (
            "affinity: different operators and values, some not matching",
            &plugin,
            affinity3(pod().labels(&S1)),
            vec![on("node1", &S1), on("node2", &S2), on("node3", &S1)],
            three_nodes(),
            Want::Scores(vec![20, 100, 0]),
        ),
        (
            "affinity symmetry: existing pods' preferred affinity counts",
            &plugin,
            pod().labels(&S2),
            vec![stay_with_s1_in_region(on("node1", &S1)), stay_with_s2_in_region(on("node2", &S2))],
            three_nodes(),
            Want::Scores(vec![0, 100, 0]),
        ),
        (
            "affinity symmetry with a namespace selector",
            &plugin,
            pod().namespace("subteam1.team1").labels(&S1),
            vec![affinity_namespace_selector(on("node1", &S1)), stay_with_s2_in_region(on("node2", &S2))],
            three_nodes(),
            Want::Scores(vec![100, 0, 0]),
        ),
        (
            "anti-affinity symmetry with a namespace selector",
            &plugin,
            pod().namespace("subteam1.team1").labels(&S1),
            vec![anti_affinity_namespace_selector(on("node1", &S1)), stay_with_s2_in_region(on("node2", &S2))],
            three_nodes(),
            Want::Scores(vec![0, 100, 100]),
        ),
        (
            "affinity symmetry: existing pods' required affinity counts",
            &plugin,
            pod().labels(&S1),
            vec![hard_affinity(on("node1", &S1)), hard_affinity(on("node2", &S2))],
            three_nodes(),
            Want::Scores(vec![100, 100, 0]),
        ),
        (
            "anti-affinity: a node without matching pods scores high",
            &plugin,
            away_from_s1_in_az(pod().labels(&S1)),
            vec![on("node1", &S1), on("node2", &S2)],
            vec![node("node1", &AZ1), node("node2", &CHINA)],
            Want::Scores(vec![0, 100]),
        ),
        (
            "anti-affinity: a node without the topology key scores higher",
            &plugin,
            away_from_s1_in_az(pod().labels(&S1)),
            vec![on("node1", &S1), on("node2", &S1)],
            vec![node("node1", &AZ1), node("node2", &CHINA)],
            Want::Scores(vec![0, 100]),
        ),
        (
            "anti-affinity: the node with more matching pods scores low",
            &plugin,
            away_from_s1_in_az(pod().labels(&S1)),
            vec![on("node1", &S1), on("node1", &S1), on("node2", &S2)],
            vec![node("node1", &AZ1), node("node2", &INDIA)],
            Want::Scores(vec![0, 100]),
        ),
        (
            "anti-affinity symmetry: nodes whose pods' anti-affinity matches score low",
            &plugin,
            pod().labels(&S2),
            vec![away_from_s2_in_az(on("node1", &S1)), away_from_s1_in_az(on("node2", &S2))],
            vec![node("node1", &AZ1), node("node2", &AZ2)],
            Want::Scores(vec![0, 100]),
        ),
        (
            "affinity and anti-affinity: preferred terms of both kinds",
            &plugin,
            stay_with_s1_away_from_s2(pod().labels(&S1)),
            vec![on("node1", &S1), on("node2", &S1)],
            vec![node("node1", &CHINA), node("node2", &AZ1)],
            Want::Scores(vec![100, 0]),
        ),
        (
            "affinity and anti-affinity: pods of one service together by region, apart by node",
            &plugin,
            stay_with_s1_away_from_s2(pod().labels(&S1)),
            vec![
                on("node1", &S1),
                on("node1", &S1),
                on("node2", &S1),
                on("node3", &S1),
                on("node3", &S1),
                on("node4", &S1),
                on("node5", &S1),
            ],
            vec![
                node("node1", &CHINA_AZ1),
                node("node2", &INDIA),
                node("node3", &CHINA),
                node("node4", &CHINA),
                node("node5", &INDIA),
            ],
            Want::Scores(vec![100, 0, 100, 100, 0]),
        ),
        (
            "affinity, anti-affinity and symmetry together",
            &plugin,
            stay_with_s1_away_from_s2(pod().labels(&S1)),
            vec![
                on("node1", &S1),
                on("node2", &S2),
                stay_with_s1_away_from_s2(on("node3", &[])),
                away_from_s1_in_az(on("node4", &[])),
            ],
            vec![node("node1", &CHINA), node("node2", &AZ1), node("node3", &INDIA), node("node4", &AZ2)],
            Want::Scores(vec![100, 0, 100, 0]),
        ),
        (
            "no panic when some nodes of a topology have no pods with affinity",
            &plugin,
            pod().labels(&S1),
            vec![on("node1", &S1), stay_with_s1_away_from_s2(on("node2", &[]))],
            vec![node("node1", &CHINA), node("node2", &CHINA)],
            Want::Scores(vec![0, 0]),
        ),
        (
            "invalid affinity fails PreScore",
            &plugin,
            pod().preferred_term(false, 8, security_in(&["{{.bad-value.}}"], "region")),
            vec![],
            vec![node("node1", &CHINA), node("node2", &CHINA)],
            Want::Status(Code::Error, "Invalid value: \"{{.bad-value.}}\""),
        ),
        (
            "invalid anti-affinity fails PreScore",
            &plugin,
            pod().preferred_term(true, 5, security_in(&["{{.bad-value.}}"], "az")),
            vec![],
            vec![node("node1", &CHINA), node("node2", &CHINA)],
            Want::Status(Code::Error, "Invalid value: \"{{.bad-value.}}\""),
        ),
        (
            "affinity with pods matching the namespace selector",
            &plugin,
            affinity_namespace_selector(pod().namespace("subteam1.team1").labels(&S1)),
            vec![
                on("node1", &S1).namespace("subteam1.team1"),
                on("node1", &S1).namespace("subteam1.team1"),
                on("node1", &S1).namespace("subteam1.team2"),
                on("node2", &S1).namespace("subteam2.team1"),
            ],
            vec![node("node1", &CHINA), node("node2", &INDIA)],
            Want::Scores(vec![100, 0]),
        ),
        (
            "affinity with pods matching both the namespace selector and the namespaces",
            &plugin,
            affinity_namespace_selector(pod().namespace("subteam1.team1").labels(&S1)),
            vec![
                on("node1", &S1).namespace("subteam1.team1"),
                on("node1", &S1).namespace("subteam1.team1"),
                on("node1", &S1).namespace("subteam2.team2"),
                on("node2", &S1).namespace("subteam2.team1"),
            ],
            vec![node("node1", &CHINA), node("node2", &INDIA)],
            Want::Scores(vec![100, 0]),
        ),
        (
            "anti-affinity with pods matching the namespace selector",
            &plugin,
            anti_affinity_namespace_selector(pod().namespace("subteam1.team1").labels(&S1)),
            vec![
                on("node1", &S1).namespace("subteam1.team1"),
                on("node1", &S1).namespace("subteam1.team1"),
                on("node1", &S1).namespace("subteam1.team2"),
                on("node2", &S1).namespace("subteam2.team1"),
            ],
            vec![node("node1", &CHINA), node("node2", &INDIA)],
            Want::Scores(vec![0, 100]),
        ),
        (
            "anti-affinity with pods matching both the namespace selector and the namespaces",
            &plugin,
            anti_affinity_namespace_selector(pod().namespace("subteam1.team1").labels(&S1)),
            vec![
                on("node1", &S1).namespace("subteam1.team1"),
                on("node1", &S1).namespace("subteam1.team1"),
                on("node1", &S1).namespace("subteam2.team2"),
                on("node2", &S1).namespace("subteam2.team1"),
            ],
            vec![node("node1", &CHINA), node("node2", &INDIA)],
            Want::Scores(vec![0, 100]),
        ),
        (
            "preferred terms of existing pods are ignored when configured so",
            &ignoring,
            pod().labels(&S2),
            vec![stay_with_s1_away_from_s2(on("node1", &S1)), stay_with_s2_in_region(on("node2", &S2))],
            vec![node("node1", &CHINA), node("node2", &INDIA)],
            Want::Status(Code::Skip, ""),
        ),
        (
            "preferred terms of existing pods count by default",
            &plugin,
            pod().labels(&S2),
            vec![stay_with_s1_away_from_s2(on("node1", &S1)), stay_with_s2_in_region(on("node2", &S2))],
            vec![node("node1", &CHINA), node("node2", &INDIA)],
            Want::Scores(vec![0, 100]),
        ),
        ("no nodes to score", &plugin, pod().labels(&S2), vec![], vec![], Want::Status(Code::Skip, "")),
    ];
    for (name, plugin, pod, pods, nodes, want) in cases {
        run(name, plugin, pod, pods, nodes, want);
    }
}

#[test]
fn hard_pod_affinity_weight_scores_match_kubernetes_table() {
    let hard = |pod: PodBuilder| {
        let mut term = affinity_term("service", "In", &["S1"], "region");
        term.namespaces = Some(vec![String::new(), "subteam2.team2".to_owned()]);
        term.namespace_selector = Some(label_selector(&[], &[("team", "In", &["team1"])]));
        pod.required_term(false, term)
    };
    let existing = || vec![hard(pod().node("node1")), hard(pod().node("node2"))];
    let weighted =
        |weight: i64| InterPodAffinity::new(Some(&serde_json::json!({"hardPodAffinityWeight": weight}))).expect("args");
    let cases = vec![
        ("with the default weight", weighted(1), "", Want::Scores(vec![100, 100, 0])),
        ("with zero weight", weighted(0), "", Want::Status(Code::Skip, "")),
        ("with no matching namespace", weighted(1), "subteam1.team2", Want::Status(Code::Skip, "")),
        ("with a matching namespace selector", weighted(1), "subteam1.team1", Want::Scores(vec![100, 100, 0])),
        ("with matching namespaces", weighted(1), "subteam2.team2", Want::Scores(vec![100, 100, 0])),
    ];
    for (name, plugin, namespace, want) in cases {
        let incoming = make_pod("p").namespace(namespace).label("service", "S1");
        run(name, &plugin, incoming, existing(), three_nodes(), want);
    }
}

#[test]
fn hard_pod_affinity_weight_outside_zero_to_one_hundred_is_refused() {
    let error = InterPodAffinity::new(Some(&serde_json::json!({"hardPodAffinityWeight": 101}))).expect_err("refused");
    assert_eq!(
        error.to_string(),
        "invalid args for plugin InterPodAffinity: hardPodAffinityWeight: Invalid value: 101: not in valid range [0-100]"
    );
}
