//! Ported from kubernetes/kubernetes `pkg/scheduler/framework/plugins/interpodaffinity/filtering_test.go`
//! (TestRequiredAffinitySingleNode, TestRequiredAffinityMultipleNodes, TestPreFilterStateAddRemovePod,
//! TestGetTPMapMatchingIncomingAffinityAntiAffinity): same Pods, Nodes and expected statuses.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use super::InterPodAffinity;
use super::filtering::{
    ERR_REASON_AFFINITY_RULES_NOT_MATCH, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
    ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH, pre_filter_state,
};
use crate::scheduler::framework::{Code, CycleState, FilterPlugin, PreFilterPlugin, Status};
use crate::scheduler::listers::{ClusterObjects, ListerObject};
use crate::scheduler::node_info::PodInfo;
use crate::scheduler::testing::{PodBuilder, affinity_term, label_selector, make_node, make_pod, snapshot_of};

const REQUIRED: bool = false;
const ANTI: bool = true;

/// A Pod in the empty namespace, as `st.MakePod()` makes it.
fn pod() -> PodBuilder {
    make_pod("p").namespace("")
}

fn node(name: &str, labels: &[(&str, &str)]) -> core::Node {
    make_node(name).labels(labels).obj()
}

/// The namespaces Kubernetes' tests register with the informer.
pub(super) fn namespaces() -> ClusterObjects {
    let mut objects = ClusterObjects::new();
    for (name, team) in [
        ("subteam1.team1", "team1"),
        ("subteam2.team1", "team1"),
        ("subteam1.team2", "team2"),
        ("subteam2.team2", "team2"),
    ] {
        let mut namespace = core::Namespace::default();
        namespace.metadata.name = Some(name.to_owned());
        namespace.metadata.labels = Some(BTreeMap::from([("team".to_owned(), team.to_owned())]));
        objects.apply(&ListerObject::Namespace(Arc::new(namespace)));
    }
    objects
}

fn ok() -> Status {
    Status::success()
}
fn skip() -> Status {
    Status::code_only(Code::Skip)
}
fn affinity_fails() -> Status {
    Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_AFFINITY_RULES_NOT_MATCH)
}
fn anti_affinity_fails() -> Status {
    Status::new(Code::Unschedulable, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH)
}
fn existing_anti_affinity_fails() -> Status {
    Status::new(Code::Unschedulable, ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH)
}

fn term_in(key: &str, topology: &str, values: &[&str]) -> core::PodAffinityTerm {
    affinity_term(key, "In", values, topology)
}
fn term_not_in(key: &str, topology: &str, values: &[&str]) -> core::PodAffinityTerm {
    affinity_term(key, "NotIn", values, topology)
}
fn term_exists(key: &str, topology: &str) -> core::PodAffinityTerm {
    affinity_term(key, "Exists", &[], topology)
}

/// A term with several expressions (`createPodWithAffinityTerms` in the tables).
fn term_of(expressions: &[(&str, &str, &[&str])], topology: &str) -> core::PodAffinityTerm {
    core::PodAffinityTerm {
        label_selector: Some(label_selector(&[], expressions)),
        topology_key: topology.to_owned(),
        ..Default::default()
    }
}

fn with_namespace_selector(
    mut term: core::PodAffinityTerm,
    selector: Option<meta::LabelSelector>,
    namespaces: &[&str],
) -> core::PodAffinityTerm {
    term.namespace_selector = selector;
    if !namespaces.is_empty() {
        term.namespaces = Some(namespaces.iter().map(|name| (*name).to_owned()).collect());
    }
    term
}

struct Case {
    name: &'static str,
    pod: core::Pod,
    pods: Vec<core::Pod>,
    nodes: Vec<core::Node>,
    want_pre_filter: Status,
    want_filter: Vec<Status>,
}

fn run(case: Case, objects: ClusterObjects) {
    let snapshot = snapshot_of(&case.nodes, &case.pods).with_objects(objects);
    let plugin = InterPodAffinity::default();
    let pod = PodInfo::new(Arc::new(case.pod));
    let mut state = CycleState::new();
    let (_, status) = plugin.pre_filter(&mut state, &pod, &snapshot);
    assert_eq!(status, case.want_pre_filter, "{}: PreFilter", case.name);
    if !status.is_success() {
        return;
    }
    assert_eq!(snapshot.len(), case.want_filter.len(), "{}", case.name);
    for (node, want) in snapshot.list().iter().zip(&case.want_filter) {
        assert_eq!(&plugin.filter(&state, &pod, node), want, "{}: Filter on {}", case.name, node.name());
    }
}

fn single(name: &'static str, pod: PodBuilder, pods: Vec<core::Pod>, pre: Status, filter: Status) -> Case {
    let node1 = node("node1", &[("region", "r1"), ("zone", "z11")]);
    Case { name, pod: pod.obj(), pods, nodes: vec![node1], want_pre_filter: pre, want_filter: vec![filter] }
}

fn security_scan_pod() -> core::Pod {
    pod().label("service", "securityscan").node("node1").obj()
}

fn invalid_label_message() -> String {
    "parsing pod: requiredAffinityTerms: values[0][service]: Invalid value: \"{{.bad-value.}}\": a valid label must be \
     an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an \
     alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is \
     '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        .to_owned()
}

#[test]
fn required_affinity_on_a_single_node_matches_kubernetes_table() {
    let s1 = [("security", "S1")];
    let scan = [("service", "securityscan")];
    let team1 = Some(label_selector(&[], &[("team", "In", &["team1"])]));
    let cases = vec![
        single(
            "a pod without required pod affinity can go to a node with no existing pods",
            make_pod("p").namespace(""),
            vec![],
            skip(),
            ok(),
        ),
        single(
            "satisfies required PodAffinity with the In operator matching the existing pod",
            pod().labels(&s1).required_term(REQUIRED, term_in("service", "region", &["securityscan", "value2"])),
            vec![security_scan_pod()],
            ok(),
            ok(),
        ),
        single(
            "satisfies required PodAffinity with the NotIn operator matching the existing pod",
            pod().labels(&s1).required_term(REQUIRED, term_not_in("service", "region", &["securityscan3", "value3"])),
            vec![security_scan_pod()],
            ok(),
            ok(),
        ),
        single(
            "does not satisfy PodAffinity because of a different namespace",
            pod().labels(&s1).required_term(
                REQUIRED,
                with_namespace_selector(term_in("service", "", &["securityscan", "value2"]), None, &["DiffNameSpace"]),
            ),
            vec![pod().namespace("ns").labels(&scan).node("node1").obj()],
            ok(),
            affinity_fails(),
        ),
        single(
            "does not satisfy PodAffinity because the label selector does not match the existing pod",
            pod().labels(&scan).required_term(REQUIRED, term_in("service", "", &["antivirusscan", "value2"])),
            vec![security_scan_pod()],
            ok(),
            affinity_fails(),
        ),
        single(
            "satisfies PodAffinity with different operators in several required terms",
            pod()
                .labels(&s1)
                .required_term(
                    REQUIRED,
                    term_of(&[("service", "Exists", &[]), ("wrongkey", "DoesNotExist", &[])], "region"),
                )
                .required_term(
                    REQUIRED,
                    term_of(&[("service", "In", &["securityscan"]), ("service", "NotIn", &["WrongValue"])], "region"),
                ),
            vec![security_scan_pod()],
            ok(),
            ok(),
        ),
        single(
            "match expressions are ANDed, one failing expression keeps the pod off the node",
            pod()
                .labels(&s1)
                .required_term(
                    REQUIRED,
                    term_of(&[("service", "Exists", &[]), ("wrongkey", "DoesNotExist", &[])], "region"),
                )
                .required_term(
                    REQUIRED,
                    term_of(&[("service", "In", &["securityscan2"]), ("service", "NotIn", &["WrongValue"])], "region"),
                ),
            vec![security_scan_pod()],
            ok(),
            affinity_fails(),
        ),
        single(
            "satisfies PodAffinity and PodAntiAffinity with the existing pod",
            pod()
                .labels(&s1)
                .required_term(REQUIRED, term_in("service", "region", &["securityscan", "value2"]))
                .required_term(ANTI, term_in("service", "node", &["antivirusscan", "value2"])),
            vec![security_scan_pod()],
            ok(),
            ok(),
        ),
        single(
            "satisfies PodAffinity, PodAntiAffinity and the existing pod's anti-affinity",
            pod()
                .labels(&s1)
                .required_term(REQUIRED, term_in("service", "region", &["securityscan", "value2"]))
                .required_term(ANTI, term_in("service", "node", &["antivirusscan", "value2"])),
            vec![
                pod()
                    .node("node1")
                    .labels(&scan)
                    .required_term(ANTI, term_in("service", "node", &["antivirusscan", "value2"]))
                    .obj(),
            ],
            ok(),
            ok(),
        ),
        single(
            "satisfies PodAffinity but not PodAntiAffinity with the existing pod",
            pod()
                .labels(&s1)
                .required_term(REQUIRED, term_in("service", "region", &["securityscan", "value2"]))
                .required_term(ANTI, term_in("service", "zone", &["securityscan", "value2"])),
            vec![security_scan_pod()],
            ok(),
            anti_affinity_fails(),
        ),
        single(
            "satisfies PodAffinity and PodAntiAffinity but not the existing pod's anti-affinity",
            pod()
                .labels(&scan)
                .required_term(REQUIRED, term_in("service", "region", &["securityscan", "value2"]))
                .required_term(ANTI, term_in("service", "node", &["antivirusscan", "value2"])),
            vec![
                pod()
                    .labels(&scan)
                    .node("node1")
                    .required_term(ANTI, term_in("service", "zone", &["securityscan", "value2"]))
                    .obj(),
            ],
            ok(),
            existing_anti_affinity_fails(),
        ),
        single(
            "a pod that does not match its own NotIn affinity term is not let in",
            pod().labels(&scan).required_term(REQUIRED, term_not_in("service", "region", &["securityscan", "value2"])),
            vec![pod().label("service", "securityscan").node("node2").obj()],
            ok(),
            affinity_fails(),
        ),
        single(
            "an existing pod's anti-affinity is respected when the pod has none (violated)",
            pod().labels(&scan),
            vec![
                pod()
                    .node("node1")
                    .labels(&scan)
                    .required_term(ANTI, term_in("service", "zone", &["securityscan", "value2"]))
                    .obj(),
            ],
            ok(),
            existing_anti_affinity_fails(),
        ),
        single(
            "an existing pod's anti-affinity is respected when the pod has none (satisfied)",
            pod().labels(&scan),
            vec![
                pod()
                    .node("node1")
                    .labels(&scan)
                    .required_term(ANTI, term_not_in("service", "zone", &["securityscan", "value2"]))
                    .obj(),
            ],
            skip(),
            ok(),
        ),
        single(
            "satisfies the existing pod's anti-affinity but its own anti-affinity refuses the existing pod",
            pod()
                .labels(&scan)
                .required_term(ANTI, term_exists("service", "region"))
                .required_term(ANTI, term_exists("security", "region")),
            vec![pod().node("node1").labels(&s1).required_term(ANTI, term_exists("security", "zone")).obj()],
            ok(),
            anti_affinity_fails(),
        ),
        single(
            "anti-affinity symmetry a1: the pods partially match each other's terms",
            pod()
                .labels(&scan)
                .required_term(ANTI, term_exists("service", "zone"))
                .required_term(ANTI, term_exists("security", "zone")),
            vec![pod().node("node1").labels(&s1).required_term(ANTI, term_exists("security", "zone")).obj()],
            ok(),
            anti_affinity_fails(),
        ),
        single(
            "anti-affinity symmetry a2: the pods partially match each other's terms",
            pod().labels(&s1).required_term(ANTI, term_exists("security", "zone")),
            vec![
                pod()
                    .node("node1")
                    .labels(&scan)
                    .required_term(ANTI, term_exists("service", "zone"))
                    .required_term(ANTI, term_exists("security", "zone"))
                    .obj(),
            ],
            ok(),
            existing_anti_affinity_fails(),
        ),
        single(
            "anti-affinity symmetry b1: the pods partially match each other's terms",
            pod()
                .labels(&[("abc", ""), ("xyz", "")])
                .required_term(ANTI, term_exists("abc", "zone"))
                .required_term(ANTI, term_exists("def", "zone")),
            vec![
                pod()
                    .node("node1")
                    .labels(&[("def", ""), ("xyz", "")])
                    .required_term(ANTI, term_exists("abc", "zone"))
                    .required_term(ANTI, term_exists("def", "zone"))
                    .obj(),
            ],
            ok(),
            anti_affinity_fails(),
        ),
        single(
            "anti-affinity symmetry b2: the pods partially match each other's terms",
            pod()
                .labels(&[("def", ""), ("xyz", "")])
                .required_term(ANTI, term_exists("abc", "zone"))
                .required_term(ANTI, term_exists("def", "zone")),
            vec![
                pod()
                    .node("node1")
                    .labels(&[("abc", ""), ("xyz", "")])
                    .required_term(ANTI, term_exists("abc", "zone"))
                    .required_term(ANTI, term_exists("def", "zone"))
                    .obj(),
            ],
            ok(),
            anti_affinity_fails(),
        ),
        single(
            "PodAffinity fails PreFilter with an invalid label value",
            pod()
                .labels(&scan)
                .required_term(REQUIRED, term_in("service", "region", &["{{.bad-value.}}"]))
                .required_term(REQUIRED, term_in("service", "node", &["antivirusscan", "value2"])),
            vec![],
            Status::new(Code::UnschedulableAndUnresolvable, invalid_label_message()),
            ok(),
        ),
        single(
            "PodAffinity fails PreFilter with an invalid label value in its second term",
            pod()
                .labels(&scan)
                .required_term(REQUIRED, term_in("service", "region", &["foo"]))
                .required_term(REQUIRED, term_in("service", "node", &["{{.bad-value.}}"])),
            vec![],
            Status::new(Code::UnschedulableAndUnresolvable, invalid_label_message()),
            ok(),
        ),
        single(
            "affinity with a matching namespaceSelector",
            pod().labels(&s1).required_term(
                REQUIRED,
                with_namespace_selector(term_in("service", "region", &["securityscan", "value2"]), team1.clone(), &[]),
            ),
            vec![pod().namespace("subteam1.team1").labels(&scan).node("node1").obj()],
            ok(),
            ok(),
        ),
        single(
            "affinity with a namespaceSelector the existing pod's namespace does not match",
            pod().labels(&s1).required_term(
                REQUIRED,
                with_namespace_selector(term_in("service", "region", &["securityscan", "value2"]), team1.clone(), &[]),
            ),
            vec![pod().namespace("subteam1.team2").labels(&scan).node("node1").obj()],
            ok(),
            affinity_fails(),
        ),
        single(
            "anti-affinity with a matching namespaceSelector",
            pod().namespace("subteam1.team1").labels(&s1).required_term(
                ANTI,
                with_namespace_selector(term_in("service", "zone", &["securityscan", "value2"]), team1.clone(), &[]),
            ),
            vec![pod().namespace("subteam2.team1").labels(&scan).node("node1").obj()],
            ok(),
            anti_affinity_fails(),
        ),
        single(
            "anti-affinity with a namespaceSelector matching every namespace",
            pod().namespace("subteam1.team1").labels(&s1).required_term(
                ANTI,
                with_namespace_selector(
                    term_in("service", "zone", &["securityscan", "value2"]),
                    Some(meta::LabelSelector::default()),
                    &[],
                ),
            ),
            vec![pod().namespace("subteam2.team1").labels(&scan).node("node1").obj()],
            ok(),
            anti_affinity_fails(),
        ),
        single(
            "anti-affinity with a namespaceSelector the existing pod's namespace does not match",
            pod().namespace("subteam1.team1").labels(&s1).required_term(
                ANTI,
                with_namespace_selector(term_in("service", "zone", &["securityscan", "value2"]), team1, &[]),
            ),
            vec![pod().namespace("subteam1.team2").labels(&scan).node("node1").obj()],
            ok(),
            ok(),
        ),
    ];
    for case in cases {
        run(case, namespaces());
    }
}

fn multi(name: &'static str, pod: PodBuilder, pods: Vec<core::Pod>, nodes: Vec<core::Node>, want: Vec<Status>) -> Case {
    Case { name, pod: pod.obj(), pods, nodes, want_pre_filter: ok(), want_filter: want }
}

#[test]
fn required_affinity_over_several_nodes_matches_kubernetes_table() {
    let china = [("region", "China")];
    let china_az1 = [("region", "China"), ("az", "az1")];
    let india = [("region", "India")];
    let abc_nodes = |zones: [&str; 2]| {
        vec![
            node("nodeA", &[("region", "r1"), ("zone", zones[0]), ("hostname", "nodeA")]),
            node("nodeB", &[("region", "r1"), ("zone", zones[1]), ("hostname", "nodeB")]),
        ]
    };
    let three_regions = || vec![node("nodeA", &china), node("nodeB", &china_az1), node("nodeC", &india)];
    let mut cases = vec![
        multi(
            "all nodes sharing the topology value of a node with a matching pod fit",
            pod().required_term(REQUIRED, term_in("foo", "region", &["bar"])),
            vec![pod().node("node1").label("foo", "bar").obj()],
            vec![node("node1", &china), node("node2", &china_az1), node("node3", &india)],
            vec![ok(), ok(), affinity_fails()],
        ),
        multi(
            "the first pod of a collection with affinity to itself may go to any node",
            pod()
                .labels(&[("foo", "bar"), ("service", "securityscan")])
                .required_term(REQUIRED, term_in("foo", "zone", &["bar"]))
                .required_term(REQUIRED, term_in("service", "zone", &["securityscan"])),
            vec![pod().node("nodeA").label("foo", "bar").obj()],
            vec![
                node("nodeA", &[("zone", "az1"), ("hostname", "h1")]),
                node("nodeB", &[("zone", "az2"), ("hostname", "h2")]),
            ],
            vec![ok(), ok()],
        ),
        multi(
            "the first pod of a collection still needs nodes with the topology keys",
            pod()
                .labels(&[("foo", "bar"), ("service", "securityscan")])
                .required_term(REQUIRED, term_in("foo", "zone", &["bar"]))
                .required_term(REQUIRED, term_in("service", "zone", &["securityscan"])),
            vec![pod().node("nodeA").label("foo", "bar").obj()],
            vec![
                node("nodeA", &[("zoneLabel", "az1"), ("hostname", "h1")]),
                node("nodeB", &[("zoneLabel", "az2"), ("hostname", "h2")]),
            ],
            vec![affinity_fails(), affinity_fails()],
        ),
        multi(
            "anti-affinity keeps the pod off every node sharing the matching pod's region",
            pod().required_term(ANTI, term_in("foo", "region", &["abc"])),
            vec![pod().node("nodeA").label("foo", "abc").obj()],
            vec![
                node("nodeA", &[("region", "r1"), ("hostname", "nodeA")]),
                node("nodeB", &[("region", "r1"), ("hostname", "nodeB")]),
            ],
            vec![anti_affinity_fails(), anti_affinity_fails()],
        ),
        multi(
            "anti-affinity matches a pod when any of its terms matches",
            pod()
                .required_term(ANTI, term_in("foo", "region", &["abc"]))
                .required_term(ANTI, term_in("service", "zone", &["securityscan"])),
            vec![pod().node("nodeA").labels(&[("foo", "abc"), ("service", "securityscan")]).obj()],
            abc_nodes(["z1", "z2"]),
            vec![anti_affinity_fails(), anti_affinity_fails()],
        ),
        multi(
            "anti-affinity keeps the pod off nodeA and nodeB but not nodeC in another region",
            pod().required_term(ANTI, term_in("foo", "region", &["abc"])),
            vec![pod().node("nodeA").label("foo", "abc").obj()],
            three_regions(),
            vec![anti_affinity_fails(), anti_affinity_fails(), ok()],
        ),
        multi(
            "an anti-affinity term of a pod in another namespace does not apply",
            pod().namespace("NS1").label("foo", "123").required_term(ANTI, term_in("foo", "region", &["bar"])),
            vec![
                pod().node("nodeA").namespace("NS1").label("foo", "bar").obj(),
                pod().node("nodeC").namespace("NS2").required_term(ANTI, term_in("foo", "region", &["123"])).obj(),
            ],
            three_regions(),
            vec![anti_affinity_fails(), anti_affinity_fails(), ok()],
        ),
        multi(
            "an existing pod's anti-affinity term whose topology key no node has does not apply",
            pod().label("foo", ""),
            vec![pod().node("nodeA").required_term(ANTI, term_exists("foo", "invalid-node-label")).obj()],
            abc_nodes(["z1", "z1"]),
            vec![ok(), ok()],
        ),
        multi(
            "the incoming pod's anti-affinity needs the topology key as well as the selector",
            pod().node("nodeA").required_term(ANTI, term_exists("foo", "invalid-node-label")),
            vec![pod().node("nodeA").label("foo", "").obj()],
            abc_nodes(["z1", "z1"]),
            vec![ok(), ok()],
        ),
        multi(
            "the incoming pod violates each existing pod's anti-affinity on every node",
            pod().labels(&[("foo", ""), ("bar", "")]),
            vec![
                pod().node("nodeA").required_term(ANTI, term_exists("foo", "zone")).obj(),
                pod().node("nodeA").required_term(ANTI, term_exists("bar", "region")).obj(),
            ],
            abc_nodes(["z1", "z2"]),
            vec![existing_anti_affinity_fails(), existing_anti_affinity_fails()],
        ),
        multi(
            "the incoming pod's anti-affinity refuses a pod on each node",
            pod().required_term(ANTI, term_exists("foo", "zone")).required_term(ANTI, term_exists("bar", "region")),
            vec![pod().node("nodeA").label("foo", "").obj(), pod().node("nodeB").label("bar", "").obj()],
            abc_nodes(["z1", "z2"]),
            vec![anti_affinity_fails(), anti_affinity_fails()],
        ),
        multi(
            "an existing pod's term counts only where selector and topology key both match",
            pod().labels(&[("foo", ""), ("bar", "")]),
            vec![
                pod()
                    .node("nodeA")
                    .required_term(ANTI, term_exists("foo", "invalid-node-label"))
                    .required_term(ANTI, term_exists("bar", "zone"))
                    .obj(),
            ],
            abc_nodes(["z1", "z2"]),
            vec![existing_anti_affinity_fails(), ok()],
        ),
        multi(
            "an incoming term counts only where selector and topology key both match",
            pod()
                .required_term(ANTI, term_exists("foo", "invalid-node-label"))
                .required_term(ANTI, term_exists("bar", "zone")),
            vec![pod().node("nodeA").labels(&[("foo", ""), ("bar", "")]).obj()],
            abc_nodes(["z1", "z2"]),
            vec![anti_affinity_fails(), ok()],
        ),
        multi(
            "an existing pod's terms with valid topology keys refuse the pod on both nodes",
            pod().labels(&[("foo", ""), ("bar", "")]),
            vec![
                pod()
                    .node("nodeA")
                    .required_term(ANTI, term_exists("foo", "region"))
                    .required_term(ANTI, term_exists("bar", "zone"))
                    .obj(),
            ],
            abc_nodes(["z1", "z2"]),
            vec![existing_anti_affinity_fails(), existing_anti_affinity_fails()],
        ),
        multi(
            "incoming terms with valid topology keys refuse both nodes",
            pod().required_term(ANTI, term_exists("foo", "region")).required_term(ANTI, term_exists("bar", "zone")),
            vec![pod().node("nodeA").labels(&[("foo", ""), ("bar", "")]).obj()],
            abc_nodes(["z1", "z2"]),
            vec![anti_affinity_fails(), anti_affinity_fails()],
        ),
        multi(
            "affinity needs all terms matched by one pod, then all topology keys",
            pod()
                .required_term(REQUIRED, term_exists("foo", "region"))
                .required_term(REQUIRED, term_exists("bar", "zone")),
            vec![pod().node("nodeA").labels(&[("foo", ""), ("bar", "")]).obj()],
            abc_nodes(["z1", "z1"]),
            vec![ok(), ok()],
        ),
        multi(
            "affinity terms matched by different pods do not count",
            pod()
                .required_term(REQUIRED, term_exists("foo", "region"))
                .required_term(REQUIRED, term_exists("bar", "zone")),
            vec![pod().node("nodeA").label("foo", "").obj(), pod().node("nodeB").label("bar", "").obj()],
            abc_nodes(["z1", "z2"]),
            vec![affinity_fails(), affinity_fails()],
        ),
    ];
    let mut nodes3 = abc_nodes(["z1", "z2"]);
    nodes3.push(node("nodeC", &[("region", "r1"), ("zone", "z3"), ("hostname", "nodeC")]));
    cases.push(multi(
        "existing pods on nodeA and nodeB refuse the pod, which goes only to nodeC",
        pod().labels(&[("foo", ""), ("bar", "")]),
        vec![
            pod()
                .node("nodeA")
                .required_term(ANTI, term_exists("foo", "zone"))
                .required_term(ANTI, term_exists("labelA", "zone"))
                .obj(),
            pod()
                .node("nodeB")
                .required_term(ANTI, term_exists("bar", "zone"))
                .required_term(ANTI, term_exists("labelB", "zone"))
                .obj(),
        ],
        nodes3,
        vec![existing_anti_affinity_fails(), existing_anti_affinity_fails(), ok()],
    ));
    // Kubernetes expects PreFilter to Skip here: the existing term's topology key is on no node.
    cases[7].want_pre_filter = skip();
    for case in cases {
        run(case, ClusterObjects::new());
    }
}

#[test]
fn filter_without_pre_filter_state_is_an_error() {
    let pod = PodInfo::new(Arc::new(pod().obj()));
    let snapshot = snapshot_of(&[node("node", &[])], &[]);
    let status = InterPodAffinity::default().filter(&CycleState::new(), &pod, &snapshot.list()[0]);
    assert_eq!(status, Status::error("error reading \"PreFilterInterPodAffinity\" from cycleState: not found"));
}

type Pairs = BTreeMap<(String, String), i64>;

fn pairs(entries: &[(&str, &str, i64)]) -> Pairs {
    entries.iter().map(|(key, value, count)| (((*key).to_owned(), (*value).to_owned()), *count)).collect()
}

#[test]
fn add_pod_and_remove_pod_update_the_pre_filter_counts_as_kubernetes_does() {
    let foo_bar_region = term_in("foo", "region", &["bar"]);
    let complex =
        [term_in("foo", "region", &["bar", "buzz"]), term_not_in("service", "zone", &["bar", "security", "test"])];
    let nodes = vec![
        node("nodeA", &[("region", "r1"), ("zone", "z11")]),
        node("nodeB", &[("region", "r1"), ("zone", "z12")]),
        node("nodeC", &[("region", "r2"), ("zone", "z21")]),
    ];
    let with_terms = |builder: PodBuilder, anti: bool, terms: &[core::PodAffinityTerm]| {
        terms.iter().cloned().fold(builder, |builder, term| builder.required_term(anti, term))
    };
    let p1 = make_pod("p1").namespace("").label("foo", "bar").node("nodeA").obj();
    let p2_anti = with_terms(make_pod("p2").namespace("").node("nodeC"), ANTI, std::slice::from_ref(&foo_bar_region));
    // (pending pod, existing pods, added pod, expected anti-affinity counts, expected affinity counts)
    let cases = vec![
        (
            with_terms(
                make_pod("pending").namespace("").label("foo", "bar"),
                ANTI,
                std::slice::from_ref(&foo_bar_region),
            ),
            vec![p1.clone(), p2_anti.clone().obj()],
            with_terms(
                make_pod("added").namespace("").label("foo", "bar").node("nodeB"),
                ANTI,
                std::slice::from_ref(&foo_bar_region),
            ),
            pairs(&[("region", "r1", 2)]),
            pairs(&[]),
        ),
        (
            with_terms(make_pod("pending").namespace("").label("foo", "bar"), ANTI, &complex),
            vec![p1.clone(), p2_anti.clone().obj()],
            with_terms(make_pod("added").namespace("").label("foo", "bar").node("nodeA"), ANTI, &complex),
            pairs(&[("region", "r1", 2), ("zone", "z11", 2), ("zone", "z21", 1)]),
            pairs(&[]),
        ),
        (
            with_terms(make_pod("pending").namespace("").label("foo", "bar"), REQUIRED, &complex),
            vec![p1, with_terms(p2_anti, REQUIRED, &complex).obj()],
            with_terms(make_pod("added").namespace("").label("foo", "bar").node("nodeA"), ANTI, &complex),
            pairs(&[]),
            pairs(&[("region", "r1", 2), ("zone", "z11", 2)]),
        ),
    ];
    let plugin = InterPodAffinity::default();
    for (index, (pending, existing, added, want_anti, want_affinity)) in cases.into_iter().enumerate() {
        let pending = PodInfo::new(Arc::new(pending.obj()));
        let added = added.obj();
        let state_for = |pods: &[core::Pod]| {
            let snapshot = snapshot_of(&nodes, pods);
            let mut state = CycleState::new();
            let (_, status) = plugin.pre_filter(&mut state, &pending, &snapshot);
            assert!(status.is_success(), "case {index}: {status}");
            (state, snapshot)
        };
        let mut all = existing.clone();
        all.push(added.clone());
        let (all_state, _) = state_for(&all);
        let (mut state, snapshot) = state_for(&existing);
        let original = pre_filter_state(&state).cloned().expect("state");
        let node = snapshot.get(added.spec.as_ref().and_then(|spec| spec.node_name.as_deref()).unwrap_or("")).cloned();
        let node = node.expect("the added pod's node");
        let added = PodInfo::new(Arc::new(added));
        assert!(plugin.add_pod(&mut state, &pending, &added, &node).is_success());
        let updated = pre_filter_state(&state).expect("state");
        assert_eq!(updated.anti_affinity_counts.pairs(), want_anti, "case {index}: anti-affinity");
        assert_eq!(updated.affinity_counts.pairs(), want_affinity, "case {index}: affinity");
        let all_state = pre_filter_state(&all_state).expect("state");
        assert_eq!(updated.existing_anti_affinity_counts, all_state.existing_anti_affinity_counts, "case {index}");
        assert_eq!(updated.affinity_counts, all_state.affinity_counts, "case {index}");
        assert_eq!(updated.anti_affinity_counts, all_state.anti_affinity_counts, "case {index}");
        assert!(plugin.remove_pod(&mut state, &pending, &added, &node).is_success());
        let removed = pre_filter_state(&state).expect("state");
        assert_eq!(removed.existing_anti_affinity_counts, original.existing_anti_affinity_counts, "case {index}");
        assert_eq!(removed.affinity_counts, original.affinity_counts, "case {index}");
        assert_eq!(removed.anti_affinity_counts, original.anti_affinity_counts, "case {index}");
    }
}

#[test]
fn incoming_affinity_and_anti_affinity_counts_match_kubernetes_table() {
    let normal = |labels: &[&str]| {
        labels.iter().fold(make_pod("normal").namespace("").node("nodeA"), |pod, label| pod.label(label, "")).obj()
    };
    let node_a = node("nodeA", &[("hostname", "nodeA")]);
    let affinity = |keys: &[&str], anti_keys: &[&str]| {
        let pod = keys.iter().fold(pod(), |pod, key| pod.required_term(REQUIRED, term_exists(key, "hostname")));
        anti_keys.iter().fold(pod, |pod, key| pod.required_term(ANTI, term_exists(key, "hostname")))
    };
    let one = pairs(&[("hostname", "nodeA", 1)]);
    // (name, existing pod, incoming pod, affinity counts, anti-affinity counts)
    let cases = vec![
        (
            "no pod violates the incoming affinity and anti-affinity",
            normal(&["bbb"]),
            affinity(&["aaa"], &["aaa"]),
            pairs(&[]),
            pairs(&[]),
        ),
        (
            "an existing pod matches both, single term",
            normal(&["aaa"]),
            affinity(&["aaa"], &["aaa"]),
            one.clone(),
            one.clone(),
        ),
        (
            "an existing pod matches both, several terms",
            normal(&["aaa", "bbb"]),
            affinity(&["aaa", "bbb"], &["aaa"]),
            pairs(&[("hostname", "nodeA", 2)]),
            one.clone(),
        ),
        (
            "an existing pod matches the anti-affinity only",
            normal(&["aaa"]),
            affinity(&["aaa", "bbb"], &["aaa", "bbb"]),
            pairs(&[]),
            one.clone(),
        ),
        (
            "partial anti-affinity match, case 1",
            normal(&["aaa", "bbb"]),
            affinity(&["aaa", "ccc"], &["aaa", "ccc"]),
            pairs(&[]),
            one.clone(),
        ),
        (
            "partial anti-affinity match, case 2",
            normal(&["bbb"]),
            affinity(&["aaa", "bbb"], &["aaa", "bbb"]),
            pairs(&[]),
            one,
        ),
    ];
    for (name, existing, incoming, want_affinity, want_anti) in cases {
        let snapshot = snapshot_of(std::slice::from_ref(&node_a), &[existing]);
        let incoming = PodInfo::new(Arc::new(incoming.obj()));
        let mut state = CycleState::new();
        let (_, status) = InterPodAffinity::default().pre_filter(&mut state, &incoming, &snapshot);
        assert!(status.is_success(), "{name}: {status}");
        let state = pre_filter_state(&state).expect("state");
        assert_eq!(state.affinity_counts.pairs(), want_affinity, "{name}");
        assert_eq!(state.anti_affinity_counts.pairs(), want_anti, "{name}");
    }
}

/// The batch Filter reads the PreFilter counts by dense domain id for well-known keys; after
/// AddPod or RemovePod (preemption's dry run, nominated Pods) it must see the updated counts.
#[test]
fn the_batch_filter_sees_pods_added_and_removed_after_pre_filter() {
    use crate::scheduler::framework::NodeBatch;
    use crate::scheduler::node_info::NodeInfo;
    use crate::scheduler::node_tree::LABEL_HOSTNAME;

    let nodes = vec![node("nodeA", &[(LABEL_HOSTNAME, "nodeA")]), node("nodeB", &[(LABEL_HOSTNAME, "nodeB")])];
    let snapshot = snapshot_of(&nodes, &[]);
    let pending = pod().label("foo", "bar").required_term(ANTI, term_in("foo", LABEL_HOSTNAME, &["bar"])).obj();
    let pending = PodInfo::new(Arc::new(pending));
    let plugin = InterPodAffinity::default();
    let mut state = CycleState::new();
    let (_, status) = plugin.pre_filter(&mut state, &pending, &snapshot);
    assert!(status.is_success(), "{status}");
    let list: Vec<&NodeInfo> = snapshot.list().iter().map(|node| node.as_ref()).collect();
    let positions: Vec<usize> = (0..list.len()).collect();
    let batch_verdicts = |state: &CycleState| {
        let mut verdicts = vec![None; list.len()];
        plugin.filter_nodes(state, &pending, &NodeBatch::new(&list, &positions, snapshot.counters()), &mut verdicts);
        verdicts
    };
    assert_eq!(batch_verdicts(&state), [None, None]);

    let node_b = snapshot.get("nodeB").cloned().expect("nodeB");
    let added = PodInfo::new(Arc::new(pod().label("foo", "bar").node("nodeB").obj()));
    assert!(plugin.add_pod(&mut state, &pending, &added, &node_b).is_success());
    assert_eq!(batch_verdicts(&state), [None, Some(anti_affinity_fails())]);
    assert!(plugin.remove_pod(&mut state, &pending, &added, &node_b).is_success());
    assert_eq!(batch_verdicts(&state), [None, None]);
}
