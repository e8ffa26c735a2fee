//! The two NoExecute taints the lifecycle controller manages, mutually exclusive as the Ready
//! condition's False and Unknown are, and the patch that swaps them.

use k8s_openapi::api::core::v1::{Node, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use crate::controllers::action::{Action, PatchType};
use crate::object::kinds::GroupResource;

/// The taint of a node whose Ready condition is Unknown.
pub const UNREACHABLE_TAINT_KEY: &str = "node.kubernetes.io/unreachable";
/// The taint of a node whose Ready condition is False.
pub const NOT_READY_TAINT_KEY: &str = "node.kubernetes.io/not-ready";
/// The effect of both: running pods that do not tolerate it are evicted.
pub const NO_EXECUTE: &str = "NoExecute";

const NODES: GroupResource = GroupResource { group: "", resource: "nodes" };

/// The taint key a Ready status calls for: not-ready for False, unreachable for Unknown.
pub fn wanted_taint(ready_status: &str) -> Option<&'static str> {
    match ready_status {
        "False" => Some(NOT_READY_TAINT_KEY),
        "True" => None,
        _ => Some(UNREACHABLE_TAINT_KEY),
    }
}

/// Whether the node carries the NoExecute taint `key`.
pub fn has_taint(node: &Node, key: &str) -> bool {
    taints(node).iter().any(|taint| taint.key == key && taint.effect == NO_EXECUTE)
}

fn taints(node: &Node) -> &[Taint] {
    node.spec.as_ref().and_then(|spec| spec.taints.as_deref()).unwrap_or_default()
}

fn is_controller_taint(taint: &Taint) -> bool {
    taint.effect == NO_EXECUTE && (taint.key == UNREACHABLE_TAINT_KEY || taint.key == NOT_READY_TAINT_KEY)
}

/// `SwapNodeControllerTaint` / `markNodeAsReachable`: a merge patch of `spec.taints` that keeps
/// every other taint, drops the controller's taints and adds `add` (timeAdded now), or `None` if
/// the node already has exactly that.
pub fn swap_taint(node: &Node, add: Option<&str>, now: Timestamp) -> Option<Action> {
    let current = taints(node);
    let controller_keys: Vec<&str> =
        current.iter().filter(|taint| is_controller_taint(taint)).map(|taint| taint.key.as_str()).collect();
    if controller_keys == add.into_iter().collect::<Vec<_>>() {
        return None;
    }
    let mut kept: Vec<Taint> = current.iter().filter(|taint| !is_controller_taint(taint)).cloned().collect();
    if let Some(key) = add {
        let time_added = Time(Timestamp::from_second(now.as_second()).unwrap_or(now));
        kept.push(Taint { key: key.into(), effect: NO_EXECUTE.into(), time_added: Some(time_added), value: None });
    }
    let taints = if kept.is_empty() { Value::Null } else { serde_json::to_value(&kept).unwrap_or(Value::Null) };
    Some(Action::Patch {
        resource: NODES,
        namespace: String::new(),
        name: node.metadata.name.clone().unwrap_or_default(),
        patch_type: PatchType::Merge,
        body: json!({"spec": {"taints": taints}}),
    })
}
