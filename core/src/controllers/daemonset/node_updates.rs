//! Which Node changes can move a DaemonSet's pods (the DaemonSet controller's `updateNode`
//! handler): an update that leaves the node's labels and taints as they were is ignored
//! (`shouldIgnoreNodeUpdate`, Kubernetes 1.30 and later), since nothing else of a node decides
//! placement; heartbeats, condition and allocatable changes therefore cost nothing per
//! DaemonSet. Otherwise only the DaemonSets whose placement on the node changes are woken.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Taint};

use super::eligibility::node_should_run_daemon_pod;

/// `shouldIgnoreNodeUpdate`: the labels and the taints are the same before and after (an
/// absent list or map equals an empty one, as `apiequality.Semantic.DeepEqual` has it).
pub fn should_ignore_node_update(old: &Node, new: &Node) -> bool {
    labels(old) == labels(new) && taints(old) == taints(new)
}

fn labels(node: &Node) -> Option<&BTreeMap<String, String>> {
    node.metadata.labels.as_ref().filter(|labels| !labels.is_empty())
}

fn taints(node: &Node) -> Option<&[Taint]> {
    node.spec.as_ref().and_then(|spec| spec.taints.as_deref()).filter(|taints| !taints.is_empty())
}

/// Whether a Node update concerns `daemon_set` (`updateNode`): not an ignorable update, and
/// the DaemonSet's answer to "should run here, should keep running here" changed.
pub fn node_update_concerns(old: &Node, new: &Node, daemon_set: &DaemonSet) -> bool {
    node_should_run_daemon_pod(old, daemon_set) != node_should_run_daemon_pod(new, daemon_set)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{NodeCondition, NodeSpec, NodeStatus, Taint};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn condition(type_: &str, status: &str, heartbeat_seconds: i64) -> NodeCondition {
        NodeCondition {
            type_: type_.to_string(),
            status: status.to_string(),
            last_heartbeat_time: Some(Time(Timestamp::from_second(heartbeat_seconds).expect("a valid time"))),
            ..NodeCondition::default()
        }
    }

    fn node(revision: &str, conditions: Vec<NodeCondition>) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some("node-0".to_string()),
                resource_version: Some(revision.to_string()),
                ..ObjectMeta::default()
            },
            status: Some(NodeStatus { conditions: Some(conditions), ..NodeStatus::default() }),
            ..Node::default()
        }
    }

    fn with_taint(mut node: Node, effect: &str) -> Node {
        node.spec = Some(NodeSpec {
            taints: Some(vec![Taint { key: "dedicated".into(), effect: effect.into(), ..Taint::default() }]),
            ..NodeSpec::default()
        });
        node
    }

    fn with_label(mut node: Node) -> Node {
        node.metadata.labels = Some([("color".to_string(), "blue".to_string())].into());
        node
    }

    // Rows of Kubernetes' TestUpdateNode (pkg/controller/daemon/daemon_controller_test.go,
    // 1.30 and later): nothing changed, labels changed, taints changed (enqueue), allocatable
    // changed (ignored); and, since conditions no longer count, a heartbeat and a readiness
    // change are ignored too (the node lifecycle controller turns readiness into taints).
    #[test]
    fn only_a_label_or_taint_change_is_not_ignored() {
        let before = node("1", vec![condition("Ready", "True", 0)]);
        let mut allocatable = node("2", vec![condition("Ready", "True", 0)]);
        allocatable.status.as_mut().unwrap().allocatable =
            Some([("cpu".to_string(), Quantity("200m".to_string()))].into());
        let rows: [(&str, Node, bool); 7] = [
            ("nothing changed", before.clone(), true),
            ("node labels changed", with_label(before.clone()), false),
            ("node taints changed", with_taint(before.clone(), "NoSchedule"), false),
            ("node allocatable changed", allocatable, true),
            ("a heartbeat", node("3", vec![condition("Ready", "True", 300)]), true),
            ("readiness changed", node("4", vec![condition("Ready", "False", 300)]), true),
            (
                "an empty label map is no labels",
                {
                    let mut empty = before.clone();
                    empty.metadata.labels = Some(Default::default());
                    empty
                },
                true,
            ),
        ];
        for (name, after, ignored) in rows {
            assert_eq!(should_ignore_node_update(&before, &after), ignored, "{name}");
        }
        let tainted = with_taint(before.clone(), "NoSchedule");
        assert!(!should_ignore_node_update(&tainted, &before), "a taint removed");
    }

    #[test]
    fn an_update_concerns_a_daemon_set_only_when_its_placement_there_changes() {
        let daemon_set = DaemonSet::default();
        let before = node("1", vec![condition("Ready", "True", 0)]);
        let mut tainted = before.clone();
        tainted.spec = Some(NodeSpec {
            taints: Some(vec![Taint { key: "dedicated".into(), effect: "NoExecute".into(), ..Taint::default() }]),
            ..NodeSpec::default()
        });
        assert!(node_update_concerns(&before, &tainted, &daemon_set), "an untolerated NoExecute taint evicts");
        let mut relabelled = before.clone();
        relabelled.metadata.labels = Some([("disk".to_string(), "ssd".to_string())].into());
        assert!(!node_update_concerns(&before, &relabelled, &daemon_set), "no selector reads the new label");
    }
}
