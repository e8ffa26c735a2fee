//! The NoSchedule half of the node lifecycle controller (`doNoScheduleTaintingPass`, the
//! TaintNodesByCondition feature): a node's conditions and `spec.unschedulable` become
//! NoSchedule taints, so that the scheduler keeps new pods off a node that is not Ready, is
//! unreachable or under pressure, even when those pods tolerate the NoExecute taint for a while.
//! Unlike the NoExecute taints these are not rate limited: they only keep pods out.

use k8s_openapi::api::core::v1::{Node, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::taints::{NOT_READY_TAINT_KEY, UNREACHABLE_TAINT_KEY};
use crate::controllers::action::{Action, PatchType, Reconciled};
use crate::object::kinds::GroupResource;

const NODES: GroupResource = GroupResource { group: "", resource: "nodes" };

/// The effect of the taints this pass manages.
pub const NO_SCHEDULE: &str = "NoSchedule";
/// The taint of a node whose MemoryPressure condition is True.
pub const MEMORY_PRESSURE_TAINT_KEY: &str = "node.kubernetes.io/memory-pressure";
/// The taint of a node whose DiskPressure condition is True.
pub const DISK_PRESSURE_TAINT_KEY: &str = "node.kubernetes.io/disk-pressure";
/// The taint of a node whose PIDPressure condition is True.
pub const PID_PRESSURE_TAINT_KEY: &str = "node.kubernetes.io/pid-pressure";
/// The taint of a node whose NetworkUnavailable condition is True.
pub const NETWORK_UNAVAILABLE_TAINT_KEY: &str = "node.kubernetes.io/network-unavailable";
/// The taint of a node with `spec.unschedulable` (cordoned).
pub const UNSCHEDULABLE_TAINT_KEY: &str = "node.kubernetes.io/unschedulable";

/// `nodeConditionToTaintKeyStatusMap`: (condition type, status) → NoSchedule taint key.
const CONDITION_TAINTS: [(&str, &str, &str); 6] = [
    ("Ready", "False", NOT_READY_TAINT_KEY),
    ("Ready", "Unknown", UNREACHABLE_TAINT_KEY),
    ("MemoryPressure", "True", MEMORY_PRESSURE_TAINT_KEY),
    ("DiskPressure", "True", DISK_PRESSURE_TAINT_KEY),
    ("NetworkUnavailable", "True", NETWORK_UNAVAILABLE_TAINT_KEY),
    ("PIDPressure", "True", PID_PRESSURE_TAINT_KEY),
];

/// Whether this pass owns `taint`: a NoSchedule taint with one of its keys.
fn is_managed(taint: &Taint) -> bool {
    taint.effect == NO_SCHEDULE
        && (taint.key == UNSCHEDULABLE_TAINT_KEY || CONDITION_TAINTS.iter().any(|(_, _, key)| *key == taint.key))
}

/// The NoSchedule taint keys the node's conditions and `spec.unschedulable` call for, in the
/// order of its conditions.
pub fn wanted_no_schedule_taints(node: &Node) -> Vec<&'static str> {
    let conditions = node.status.as_ref().and_then(|status| status.conditions.as_deref()).unwrap_or_default();
    let mut wanted: Vec<&'static str> = conditions
        .iter()
        .filter_map(|condition| {
            CONDITION_TAINTS
                .iter()
                .find(|(type_, status, _)| *type_ == condition.type_ && *status == condition.status)
                .map(|(_, _, key)| *key)
        })
        .collect();
    if node.spec.as_ref().and_then(|spec| spec.unschedulable).unwrap_or(false) {
        wanted.push(UNSCHEDULABLE_TAINT_KEY);
    }
    wanted.dedup();
    wanted
}

/// `doNoScheduleTaintingPass` for one node: a merge patch of `spec.taints` that adds the
/// missing NoSchedule taints (timeAdded now) and drops those no longer called for, keeping
/// every other taint; guarded by the node's resourceVersion, so a patch built from a stale node
/// fails with a conflict and is retried rather than dropping a taint written meanwhile.
pub fn reconcile_node_no_schedule_taints(node: &Node, now: Timestamp) -> Reconciled {
    let mut reconciled = Reconciled::default();
    let current: &[Taint] = node.spec.as_ref().and_then(|spec| spec.taints.as_deref()).unwrap_or_default();
    let wanted = wanted_no_schedule_taints(node);
    let mut managed: Vec<&str> = current.iter().filter(|taint| is_managed(taint)).map(|t| t.key.as_str()).collect();
    managed.sort_unstable();
    let mut wanted_sorted = wanted.clone();
    wanted_sorted.sort_unstable();
    if managed == wanted_sorted {
        return reconciled;
    }
    let mut taints: Vec<Taint> =
        current.iter().filter(|taint| !is_managed(taint) || wanted.contains(&taint.key.as_str())).cloned().collect();
    let time_added = Time(Timestamp::from_second(now.as_second()).unwrap_or(now));
    for key in wanted {
        if !taints.iter().any(|taint| taint.key == key && taint.effect == NO_SCHEDULE) {
            let time_added = Some(time_added.clone());
            taints.push(Taint { key: key.into(), effect: NO_SCHEDULE.into(), time_added, value: None });
        }
    }
    let taints = if taints.is_empty() { Value::Null } else { serde_json::to_value(&taints).unwrap_or(Value::Null) };
    let mut body = json!({"spec": {"taints": taints}});
    if let Some(version) = node.metadata.resource_version.as_deref() {
        body["metadata"] = json!({"resourceVersion": version});
    }
    reconciled.push_alone(Action::Patch {
        resource: NODES,
        namespace: String::new(),
        name: node.metadata.name.clone().unwrap_or_default(),
        patch_type: PatchType::Merge,
        body,
    });
    reconciled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2017-01-01T12:00:00Z".parse().unwrap()
    }

    fn node(conditions: Value, taints: Value, unschedulable: bool) -> Node {
        serde_json::from_value(json!({
            "metadata": {"name": "node0", "resourceVersion": "7"},
            "spec": {"taints": taints, "unschedulable": unschedulable},
            "status": {"conditions": conditions},
        }))
        .unwrap()
    }

    fn condition(type_: &str, status: &str) -> Value {
        json!({"type": type_, "status": status})
    }

    /// The (key, effect) pairs of the patched taints, or `None` when nothing is patched.
    fn patched_taints(reconciled: &Reconciled) -> Option<Vec<(String, String)>> {
        let Some(Action::Patch { body, .. }) = reconciled.actions.first() else { return None };
        let taints = body["spec"]["taints"].as_array().cloned().unwrap_or_default();
        Some(
            taints
                .iter()
                .map(|taint| {
                    (taint["key"].as_str().unwrap().to_string(), taint["effect"].as_str().unwrap().to_string())
                })
                .collect(),
        )
    }

    fn no_schedule(key: &str) -> (String, String) {
        (key.to_string(), NO_SCHEDULE.to_string())
    }

    // TestTaintsNodeByCondition (node_lifecycle_controller_test.go): each row's conditions and the
    // taints the node ends up with.
    #[test]
    fn conditions_become_no_schedule_taints() {
        let rows: Vec<(&str, Vec<Value>, Vec<&str>)> = vec![
            (
                "NetworkUnavailable is true",
                vec![condition("Ready", "True"), condition("NetworkUnavailable", "True")],
                vec![NETWORK_UNAVAILABLE_TAINT_KEY],
            ),
            (
                "NetworkUnavailable and MemoryPressure are true",
                vec![
                    condition("Ready", "True"),
                    condition("NetworkUnavailable", "True"),
                    condition("MemoryPressure", "True"),
                ],
                vec![NETWORK_UNAVAILABLE_TAINT_KEY, MEMORY_PRESSURE_TAINT_KEY],
            ),
            (
                "NetworkUnavailable is true, MemoryPressure is unknown",
                vec![
                    condition("Ready", "True"),
                    condition("NetworkUnavailable", "True"),
                    condition("MemoryPressure", "Unknown"),
                ],
                vec![NETWORK_UNAVAILABLE_TAINT_KEY],
            ),
            ("Ready is false", vec![condition("Ready", "False")], vec![NOT_READY_TAINT_KEY]),
            ("Ready is unknown", vec![condition("Ready", "Unknown")], vec![UNREACHABLE_TAINT_KEY]),
        ];
        for (name, conditions, expected) in rows {
            let reconciled = reconcile_node_no_schedule_taints(&node(json!(conditions), json!([]), false), now());
            let expected: Vec<(String, String)> = expected.into_iter().map(no_schedule).collect();
            assert_eq!(patched_taints(&reconciled), Some(expected), "{name}");
        }
    }

    #[test]
    fn a_cordoned_node_gets_the_unschedulable_taint() {
        let reconciled =
            reconcile_node_no_schedule_taints(&node(json!([condition("Ready", "True")]), json!([]), true), now());
        assert_eq!(patched_taints(&reconciled), Some(vec![no_schedule(UNSCHEDULABLE_TAINT_KEY)]));
    }

    #[test]
    fn a_node_back_to_ready_loses_the_taint_and_keeps_the_others() {
        let taints = json!([
            {"key": UNREACHABLE_TAINT_KEY, "effect": "NoSchedule"},
            {"key": UNREACHABLE_TAINT_KEY, "effect": "NoExecute"},
            {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
        ]);
        let reconciled =
            reconcile_node_no_schedule_taints(&node(json!([condition("Ready", "True")]), taints, false), now());
        assert_eq!(
            patched_taints(&reconciled),
            Some(vec![(UNREACHABLE_TAINT_KEY.into(), "NoExecute".into()), no_schedule("dedicated")])
        );
        let Action::Patch { body, .. } = &reconciled.actions[0] else { unreachable!() };
        assert_eq!(body["metadata"]["resourceVersion"], json!("7"), "the patch is guarded");
    }

    #[test]
    fn a_node_with_the_right_taints_is_left_alone() {
        let taints = json!([{"key": NOT_READY_TAINT_KEY, "effect": "NoSchedule"}]);
        let reconciled =
            reconcile_node_no_schedule_taints(&node(json!([condition("Ready", "False")]), taints, false), now());
        assert!(reconciled.actions.is_empty());
        let healthy = node(json!([condition("Ready", "True")]), json!(null), false);
        assert!(reconcile_node_no_schedule_taints(&healthy, now()).actions.is_empty());
    }
}
