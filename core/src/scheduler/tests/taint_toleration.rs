//! Ported from kubernetes `tainttoleration/taint_toleration_test.go` (score and filter tables,
//! without the comparison operators that came after 1.32), with 1.32's filter message.

use crate::scheduler::framework::Code;
use crate::scheduler::plugins::taint_toleration::TaintToleration;
use crate::scheduler::snapshot::Snapshot;
use crate::scheduler::testing::{make_node, make_pod, node_infos, run_filter, run_score, taint, toleration};

const PREFER: &str = "PreferNoSchedule";

#[test]
fn taint_toleration_scores_match_kubernetes() {
    let cases = vec![
        (
            "node with taints tolerated by the pod, gets a higher score than those node with intolerable taints",
            vec![toleration("foo", "Equal", "bar", PREFER)],
            vec![vec![taint("foo", "bar", PREFER)], vec![taint("foo", "blah", PREFER)]],
            vec![100, 0],
        ),
        (
            "the nodes that all of their taints are tolerated by the pod, get the same score, no matter how many tolerable taints a node has",
            vec![toleration("cpu-type", "Equal", "arm64", PREFER), toleration("disk-type", "Equal", "ssd", PREFER)],
            vec![
                vec![],
                vec![taint("cpu-type", "arm64", PREFER)],
                vec![taint("cpu-type", "arm64", PREFER), taint("disk-type", "ssd", PREFER)],
            ],
            vec![100, 100, 100],
        ),
        (
            "the more intolerable taints a node has, the lower score it gets.",
            vec![toleration("foo", "Equal", "bar", PREFER)],
            vec![
                vec![],
                vec![taint("cpu-type", "arm64", PREFER)],
                vec![taint("cpu-type", "arm64", PREFER), taint("disk-type", "ssd", PREFER)],
            ],
            vec![100, 50, 0],
        ),
        (
            "only taints and tolerations that have effect PreferNoSchedule are checked by taints-tolerations priority function",
            vec![
                toleration("cpu-type", "Equal", "arm64", "NoSchedule"),
                toleration("disk-type", "Equal", "ssd", "NoSchedule"),
            ],
            vec![
                vec![],
                vec![taint("cpu-type", "arm64", "NoSchedule")],
                vec![taint("cpu-type", "arm64", PREFER), taint("disk-type", "ssd", PREFER)],
            ],
            vec![100, 100, 0],
        ),
        (
            "Default behaviour No taints and tolerations, lands on node with no taints",
            vec![],
            vec![vec![], vec![taint("cpu-type", "arm64", PREFER)]],
            vec![100, 0],
        ),
    ];
    for (name, tolerations, taints, expected) in cases {
        let nodes: Vec<_> = taints
            .into_iter()
            .enumerate()
            .map(|(index, taints)| make_node(&format!("node{index}")).taints(taints).obj())
            .collect();
        let snapshot = Snapshot::from_node_infos(node_infos(&nodes, &[]));
        let pod = make_pod("pod1").tolerations(tolerations).info();
        let scores = run_score(&TaintToleration, &pod, &snapshot, true).expect("scores");
        assert_eq!(scores, expected, "{name}");
    }
}

#[test]
fn taint_toleration_filter_matches_kubernetes() {
    let untolerated = |key: &str, value: &str| Some(format!("node(s) had untolerated taint {{{key}: {value}}}"));
    let cases = vec![
        (
            "A pod having no tolerations can't be scheduled onto a node with nonempty taints",
            vec![],
            vec![taint("dedicated", "user1", "NoSchedule")],
            untolerated("dedicated", "user1"),
        ),
        (
            "A pod which can be scheduled on a dedicated node assigned to user1 with effect NoSchedule",
            vec![toleration("dedicated", "", "user1", "NoSchedule")],
            vec![taint("dedicated", "user1", "NoSchedule")],
            None,
        ),
        (
            "A pod which can't be scheduled on a dedicated node assigned to user2 with effect NoSchedule",
            vec![toleration("dedicated", "Equal", "user2", "NoSchedule")],
            vec![taint("dedicated", "user1", "NoSchedule")],
            untolerated("dedicated", "user1"),
        ),
        (
            "A pod can be scheduled onto the node, with a toleration uses operator Exists that tolerates the taints on the node",
            vec![toleration("foo", "Exists", "", "NoSchedule")],
            vec![taint("foo", "bar", "NoSchedule")],
            None,
        ),
        (
            "A pod has multiple tolerations, node has multiple taints, all the taints are tolerated, pod can be scheduled onto the node",
            vec![
                toleration("dedicated", "Equal", "user2", "NoSchedule"),
                toleration("foo", "Exists", "", "NoSchedule"),
            ],
            vec![taint("dedicated", "user2", "NoSchedule"), taint("foo", "bar", "NoSchedule")],
            None,
        ),
        (
            "A pod has a toleration that keys and values match the taint on the node, but (non-empty) effect doesn't match, can't be scheduled onto the node",
            vec![toleration("foo", "Equal", "bar", PREFER)],
            vec![taint("foo", "bar", "NoSchedule")],
            untolerated("foo", "bar"),
        ),
        (
            "The pod has a toleration that keys and values match the taint on the node, the effect of toleration is empty, and the effect of taint is NoSchedule. Pod can be scheduled onto the node",
            vec![toleration("foo", "Equal", "bar", "")],
            vec![taint("foo", "bar", "NoSchedule")],
            None,
        ),
        (
            "The pod has a toleration that key and value don't match the taint on the node, but the effect of taint on node is PreferNoSchedule. Pod can be scheduled onto the node",
            vec![toleration("dedicated", "Equal", "user2", "NoSchedule")],
            vec![taint("dedicated", "user1", PREFER)],
            None,
        ),
        (
            "The pod has no toleration, but the effect of taint on node is PreferNoSchedule. Pod can be scheduled onto the node",
            vec![],
            vec![taint("dedicated", "user1", PREFER)],
            None,
        ),
    ];
    for (name, tolerations, taints, want) in cases {
        let node = node_infos(&[make_node("nodeA").taints(taints).obj()], &[]).remove(0);
        let status = run_filter(&TaintToleration, &make_pod("pod1").tolerations(tolerations).info(), &node);
        match want {
            None => assert!(status.is_success(), "{name}: {status}"),
            Some(message) => {
                assert_eq!(status.code(), Code::UnschedulableAndUnresolvable, "{name}");
                assert_eq!(status.message(), message, "{name}");
            }
        }
    }
}
