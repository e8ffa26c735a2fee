//! `MarkPodsNotReady`: once the controller has set a node's Ready condition to Unknown, every pod
//! bound to the node gets `Ready=False`, so the Endpoints and EndpointSlice controllers drop it
//! from Services at once rather than after the pod's eviction; each marked pod gets a
//! `NodeNotReady` Warning event, and the node a `NodeNotReady` Normal event when it turns.

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::controllers::action::{Action, EventType, event_action, object_reference, to_object};
use crate::object::pod_conditions::POD_READY;

/// The component name on the controller's events.
pub const COMPONENT: &str = "node-controller";
/// The reason of the events on a node that stopped being Ready and on its pods.
pub const NODE_NOT_READY: &str = "NodeNotReady";

/// The pod with its Ready condition False, or `None` if it has no Ready condition, already has
/// it False, or is bound elsewhere (`MarkPodsNotReady`'s defensive check).
pub fn not_ready(pod: &Pod, node_name: &str, now: Timestamp) -> Option<Pod> {
    if pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()) != Some(node_name) {
        return None;
    }
    let mut updated = pod.clone();
    let conditions = updated.status.as_mut()?.conditions.as_mut()?;
    let ready = conditions.iter_mut().find(|condition| condition.type_ == POD_READY)?;
    if ready.status == "False" {
        return None;
    }
    ready.status = "False".to_owned();
    ready.last_transition_time = Some(Time(now));
    Some(updated)
}

/// The status writes and events marking a node's pods not ready.
pub fn mark_pods_not_ready(pods: &[Pod], node_name: &str, now: Timestamp) -> Vec<Action> {
    let mut actions = Vec::new();
    for pod in pods {
        let Some(updated) = not_ready(pod, node_name, now) else { continue };
        let reference = object_reference("v1", "Pod", &pod.metadata);
        actions.push(Action::UpdateStatus { object: to_object(&updated) });
        actions.push(event_action(&reference, COMPONENT, EventType::Warning, NODE_NOT_READY, "Node is not ready", now));
    }
    actions
}

/// The event on a node whose Ready condition the controller just turned (`RecordNodeStatusChange`).
pub fn node_status_change_event(node: &Node, now: Timestamp) -> Action {
    let reference = object_reference("v1", "Node", &node.metadata);
    let name = node.metadata.name.as_deref().unwrap_or_default();
    let message = format!("Node {name} status is now: {NODE_NOT_READY}");
    event_action(&reference, COMPONENT, EventType::Normal, NODE_NOT_READY, &message, now)
}
