//! Which Node changes can move a DaemonSet's pods (the DaemonSet controller's `updateNode`
//! handler): an update that changes nothing but heartbeats and condition timestamps is ignored
//! (`shouldIgnoreNodeUpdate`), and otherwise only the DaemonSets whose placement on the node
//! changes are woken. A heartbeat of one node therefore costs nothing per DaemonSet sync.
//!
//! Difference from Kubernetes, deliberate: `managedFields` are ignored along with the
//! resourceVersion, since they change with every write, heartbeats included.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, NodeCondition};

use super::eligibility::node_should_run_daemon_pod;

/// `nodeInSameCondition`: the same condition types are True before and after.
pub fn node_in_same_condition(old: &[NodeCondition], new: &[NodeCondition]) -> bool {
    true_types(old) == true_types(new)
}

/// The distinct types of the True conditions, sorted.
fn true_types(conditions: &[NodeCondition]) -> Vec<&str> {
    let mut types: Vec<&str> =
        conditions.iter().filter(|condition| condition.status == "True").map(|c| c.type_.as_str()).collect();
    types.sort_unstable();
    types.dedup();
    types
}

/// `shouldIgnoreNodeUpdate`: the True conditions are the same and nothing but the
/// resourceVersion and the conditions changed.
pub fn should_ignore_node_update(old: &Node, new: &Node) -> bool {
    let conditions =
        |node: &Node| node.status.as_ref().and_then(|status| status.conditions.clone()).unwrap_or_default();
    if !node_in_same_condition(&conditions(old), &conditions(new)) {
        return false;
    }
    let mut old = old.clone();
    old.metadata.resource_version.clone_from(&new.metadata.resource_version);
    old.metadata.managed_fields.clone_from(&new.metadata.managed_fields);
    if let (Some(old_status), Some(new_status)) = (old.status.as_mut(), new.status.as_ref()) {
        old_status.conditions.clone_from(&new_status.conditions);
    }
    old == *new
}

/// Whether a Node update concerns `daemon_set` (`updateNode`): not an ignorable update, and
/// the DaemonSet's answer to "should run here, should keep running here" changed.
pub fn node_update_concerns(old: &Node, new: &Node, daemon_set: &DaemonSet) -> bool {
    node_should_run_daemon_pod(old, daemon_set) != node_should_run_daemon_pod(new, daemon_set)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{NodeSpec, NodeStatus, Taint};
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

    // Rows after Kubernetes' TestNodeInSameCondition
    // (pkg/controller/daemon/daemon_controller_test.go).
    #[test]
    fn conditions_are_the_same_when_the_same_types_are_true() {
        type Conditions<'a> = &'a [(&'a str, &'a str)];
        let rows: [(Conditions, Conditions, bool); 6] = [
            (&[], &[], true),
            (&[("Ready", "True")], &[("Ready", "True")], true),
            (&[("Ready", "False")], &[("Ready", "True")], false),
            (&[("Ready", "False")], &[("Ready", "Unknown")], true),
            (
                &[("Ready", "True"), ("MemoryPressure", "False")],
                &[("MemoryPressure", "False"), ("Ready", "True")],
                true,
            ),
            (&[("Ready", "True")], &[("Ready", "True"), ("DiskPressure", "True")], false),
        ];
        for (old, new, same) in rows {
            let conditions = |pairs: &[(&str, &str)]| pairs.iter().map(|(t, s)| condition(t, s, 0)).collect::<Vec<_>>();
            assert_eq!(node_in_same_condition(&conditions(old), &conditions(new)), same, "{old:?} -> {new:?}");
        }
    }

    #[test]
    fn a_heartbeat_is_ignored_but_a_readiness_or_taint_change_is_not() {
        let before = node("1", vec![condition("Ready", "True", 0)]);
        let heartbeat = node("2", vec![condition("Ready", "True", 300)]);
        assert!(should_ignore_node_update(&before, &heartbeat));
        let not_ready = node("3", vec![condition("Ready", "False", 300)]);
        assert!(!should_ignore_node_update(&before, &not_ready));
        let mut tainted = node("4", vec![condition("Ready", "True", 300)]);
        tainted.spec = Some(NodeSpec {
            taints: Some(vec![Taint { key: "dedicated".into(), effect: "NoSchedule".into(), ..Taint::default() }]),
            ..NodeSpec::default()
        });
        assert!(!should_ignore_node_update(&before, &tainted));
        let mut relabelled = node("5", vec![condition("Ready", "True", 0)]);
        relabelled.metadata.labels = Some([("disk".to_string(), "ssd".to_string())].into());
        assert!(!should_ignore_node_update(&before, &relabelled));
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
