//! The Pod row: a port of Kubernetes' `printPod`, whose STATUS column condenses phase, init
//! containers, container states and deletion into one word, and whose RESTARTS column says when
//! the last restart happened.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod, PodCondition};
use serde_json::json;

use crate::object::Object;

use super::super::duration;
use super::{AGE, Column, NAME, Row, text, typed, wide};

/// The reason the node lifecycle controller sets on pods of an unreachable node.
const NODE_UNREACHABLE_POD_REASON: &str = "NodeLost";

pub(super) const COLUMNS: &[Column] = &[
    NAME,
    text("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    text("Status", "The aggregate status of the containers in this pod."),
    text(
        "Restarts",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE,
    wide(text(
        "IP",
        "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
    )),
    wide(text("Node", "NodeName indicates in which node this pod is scheduled.")),
    wide(text("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node.")),
    wide(text("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.")),
];

fn is_restartable_init_container(container: Option<&&Container>) -> bool {
    container.is_some_and(|container| container.restart_policy.as_deref() == Some("Always"))
}

fn condition_is_true(conditions: &[PodCondition], condition_type: &str) -> bool {
    conditions.iter().any(|condition| condition.type_ == condition_type && condition.status == "True")
}

/// The latest `lastState.terminated.finishedAt` of a container, folded into `latest`.
fn later_restart(latest: Option<Timestamp>, status: &ContainerStatus) -> Option<Timestamp> {
    let finished = status.last_state.as_ref().and_then(|state| state.terminated.as_ref()?.finished_at.as_ref());
    latest.max(finished.map(|time| time.0))
}

/// Counts what printPod counts while it walks the containers.
#[derive(Default)]
struct Tally {
    restarts: i64,
    ready: usize,
    last_restart: Option<Timestamp>,
}

pub(super) fn row(object: &Object, now: Timestamp) -> Row {
    let pod: Pod = typed(object);
    let spec = pod.spec.unwrap_or_default();
    let status = pod.status.unwrap_or_default();
    let conditions = status.conditions.clone().unwrap_or_default();
    let phase = status.phase.clone().unwrap_or_default();
    let mut reason = match status.reason.as_deref() {
        Some(reason) if !reason.is_empty() => reason.to_string(),
        _ => phase.clone(),
    };
    if conditions
        .iter()
        .any(|condition| condition.type_ == "PodScheduled" && condition.reason.as_deref() == Some("SchedulingGated"))
    {
        reason = "SchedulingGated".to_string();
    }
    let init_containers = spec.init_containers.clone().unwrap_or_default();
    let init_container = |name: &str| init_containers.iter().find(|container| container.name == name);
    let total = spec.containers.len()
        + init_containers.iter().filter(|container| is_restartable_init_container(Some(container))).count();

    let mut tally = Tally::default();
    let mut restartable = Tally::default();
    let mut initializing = false;
    let init_statuses = status.init_container_statuses.clone().unwrap_or_default();
    for (index, container) in init_statuses.iter().enumerate() {
        tally.restarts += i64::from(container.restart_count);
        tally.last_restart = later_restart(tally.last_restart, container);
        let is_restartable = is_restartable_init_container(init_container(&container.name).as_ref());
        if is_restartable {
            restartable.restarts += i64::from(container.restart_count);
            restartable.last_restart = later_restart(restartable.last_restart, container);
        }
        let state = container.state.clone().unwrap_or_default();
        let terminated = state.terminated.as_ref();
        let waiting_reason = state.waiting.as_ref().and_then(|waiting| waiting.reason.as_deref()).unwrap_or("");
        if terminated.is_some_and(|terminated| terminated.exit_code == 0) {
            continue;
        }
        if is_restartable && container.started == Some(true) {
            if container.ready {
                tally.ready += 1;
            }
            continue;
        }
        reason = if let Some(terminated) = terminated {
            match terminated.reason.as_deref() {
                Some(reason) if !reason.is_empty() => format!("Init:{reason}"),
                _ => match terminated.signal {
                    Some(signal) if signal != 0 => format!("Init:Signal:{signal}"),
                    _ => format!("Init:ExitCode:{}", terminated.exit_code),
                },
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{index}/{}", init_containers.len())
        };
        initializing = true;
        break;
    }

    if !initializing || condition_is_true(&conditions, "Initialized") {
        tally.restarts = restartable.restarts;
        tally.last_restart = restartable.last_restart;
        let mut has_running = false;
        for container in status.container_statuses.iter().flatten().rev() {
            tally.restarts += i64::from(container.restart_count);
            tally.last_restart = later_restart(tally.last_restart, container);
            let state = container.state.clone().unwrap_or_default();
            let waiting_reason = state.waiting.as_ref().and_then(|waiting| waiting.reason.clone()).unwrap_or_default();
            if !waiting_reason.is_empty() {
                reason = waiting_reason;
            } else if let Some(terminated) = &state.terminated {
                reason = match terminated.reason.as_deref() {
                    Some(reason) if !reason.is_empty() => reason.to_string(),
                    _ => match terminated.signal {
                        Some(signal) if signal != 0 => format!("Signal:{signal}"),
                        _ => format!("ExitCode:{}", terminated.exit_code),
                    },
                };
            } else if container.ready && state.running.is_some() {
                has_running = true;
                tally.ready += 1;
            }
        }
        // A pod with a container still running is not Completed.
        if reason == "Completed" && has_running {
            reason = if condition_is_true(&conditions, "Ready") { "Running" } else { "NotReady" }.to_string();
        }
    }

    let deleting = object.metadata.deletion_timestamp.is_some();
    if deleting && status.reason.as_deref() == Some(NODE_UNREACHABLE_POD_REASON) {
        reason = "Unknown".to_string();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".to_string();
    }

    let restarts = match tally.last_restart {
        Some(last) if tally.restarts != 0 => {
            format!("{} ({} ago)", tally.restarts, duration::human_duration(now.duration_since(last)))
        }
        _ => tally.restarts.to_string(),
    };

    let or_none = |value: Option<&str>| match value {
        Some(value) if !value.is_empty() => value.to_string(),
        _ => "<none>".to_string(),
    };
    let pod_ip = or_none(status.pod_ips.as_ref().and_then(|ips| ips.first()).map(|ip| ip.ip.as_str()));
    let readiness_gates = match spec.readiness_gates.as_deref() {
        Some(gates) if !gates.is_empty() => {
            let passing = gates
                .iter()
                .filter(|gate| {
                    conditions
                        .iter()
                        .find(|condition| condition.type_ == gate.condition_type)
                        .is_some_and(|condition| condition.status == "True")
                })
                .count();
            format!("{passing}/{}", gates.len())
        }
        _ => "<none>".to_string(),
    };
    let row_conditions = match phase.as_str() {
        "Succeeded" => Some(completed_condition("Succeeded", "The pod has completed successfully.")),
        "Failed" => Some(completed_condition("Failed", "The pod failed.")),
        _ => None,
    };
    Row {
        cells: vec![
            json!(object.name()),
            json!(format!("{}/{total}", tally.ready)),
            json!(reason),
            json!(restarts),
            json!(super::age(object, now)),
            json!(pod_ip),
            json!(or_none(spec.node_name.as_deref())),
            json!(or_none(status.nominated_node_name.as_deref())),
            json!(readiness_gates),
        ],
        conditions: row_conditions,
    }
}

fn completed_condition(reason: &str, message: &str) -> serde_json::Value {
    json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}])
}
