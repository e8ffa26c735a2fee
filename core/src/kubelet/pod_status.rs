//! A pod's status as the kubelet reports it (`generateAPIPodStatus`): phase, the conditions it
//! owns with their transition times, IPs, start time, QoS class and container statuses; and the
//! merge patch that writes it, sent only when it differs from what was last written.

use k8s_openapi::api::core::v1::PodCondition;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::container::time;
use super::pod::PodRecord;

/// The conditions the kubelet owns, in the order Kubernetes lists them.
pub const KUBELET_CONDITIONS: [&str; 4] = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"];

fn names(containers: &[&str]) -> String {
    format!("[{}]", containers.join(" "))
}

/// One condition as JSON, remembering when its status last changed.
fn condition(
    record: &mut PodRecord,
    kind: &'static str,
    status: bool,
    reason: Option<&str>,
    message: Option<String>,
    now: Timestamp,
) -> Value {
    let since = match record.conditions.get(kind) {
        Some((previous, since)) if *previous == status => *since,
        _ => now,
    };
    record.conditions.insert(kind, (status, since));
    let mut value = json!({
        "type": kind,
        "status": if status { "True" } else { "False" },
        "lastTransitionTime": time(since),
    });
    if !status {
        if let Some(reason) = reason {
            value["reason"] = json!(reason);
        }
        if let Some(message) = message {
            value["message"] = json!(message);
        }
    }
    value
}

fn existing_conditions(record: &PodRecord) -> Vec<PodCondition> {
    record.pod.status.as_ref().and_then(|status| status.conditions.clone()).unwrap_or_default()
}

/// The pod's status now, as JSON; `host_ip` is the node's InternalIP.
pub fn pod_status(record: &mut PodRecord, host_ip: &str, now: Timestamp) -> Value {
    let phase = record.phase().unwrap_or("Pending");
    let initializing = !record.initialized();
    let pod_uid = record.uid.clone();
    let init_statuses: Vec<Value> = record.init.iter().map(|container| container.status(&pod_uid, false)).collect();
    let statuses: Vec<Value> =
        record.containers.iter().map(|container| container.status(&pod_uid, initializing)).collect();
    let incomplete: Vec<&str> = record
        .init
        .iter()
        .filter(|container| !(container.completed() || (container.is_sidecar() && container.started)))
        .map(|container| container.name())
        .collect();
    let unready: Vec<&str> =
        record.containers.iter().filter(|container| !container.is_ready()).map(|container| container.name()).collect();
    let incomplete =
        (!incomplete.is_empty()).then(|| format!("containers with incomplete status: {}", names(&incomplete)));
    let unready = (!unready.is_empty()).then(|| format!("containers with unready status: {}", names(&unready)));
    let existing = existing_conditions(record);
    let gates_ready =
        record.pod.spec.as_ref().and_then(|spec| spec.readiness_gates.as_ref()).into_iter().flatten().all(|gate| {
            existing.iter().any(|condition| condition.type_ == gate.condition_type && condition.status == "True")
        });
    let sandbox = record.pod_ip.is_some() || record.host_network();
    let succeeded = phase == "Succeeded";
    let ready_reason = if succeeded { "PodCompleted" } else { "ContainersNotReady" };
    let containers_ready = unready.is_none() && !succeeded;
    let mut conditions = vec![
        condition(record, "PodReadyToStartContainers", sandbox, None, None, now),
        condition(record, "Initialized", incomplete.is_none(), Some("ContainersNotInitialized"), incomplete, now),
        if containers_ready && !gates_ready {
            condition(record, "Ready", false, Some("ReadinessGatesNotReady"), None, now)
        } else {
            condition(record, "Ready", containers_ready, Some(ready_reason), unready.clone(), now)
        },
        condition(record, "ContainersReady", containers_ready, Some(ready_reason), unready, now),
    ];
    // Conditions other writers own (PodScheduled, DisruptionTarget, readiness gates) are kept.
    for other in existing.iter().filter(|condition| !KUBELET_CONDITIONS.contains(&condition.type_.as_str())) {
        conditions.push(serde_json::to_value(other).unwrap_or(Value::Null));
    }
    if !existing.iter().any(|condition| condition.type_ == "PodScheduled") {
        conditions
            .push(json!({"type": "PodScheduled", "status": "True", "lastTransitionTime": time(record.start_time)}));
    }
    let mut status = json!({
        "phase": phase,
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "startTime": time(record.start_time),
        "qosClass": record.qos_class,
        "containerStatuses": statuses,
    });
    if let Some((reason, message)) = &record.reason {
        status["reason"] = json!(reason);
        status["message"] = json!(message);
    }
    if !init_statuses.is_empty() {
        status["initContainerStatuses"] = json!(init_statuses);
    }
    let pod_ip = if record.host_network() { Some(host_ip.to_string()) } else { record.pod_ip.map(|ip| ip.to_string()) };
    if let Some(ip) = pod_ip {
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{"ip": ip}]);
    }
    status
}

/// Whether the API's copy of a pod disagrees with the status the kubelet last wrote in what the
/// kubelet owns: the phase and the statuses of its conditions. Another writer changed them (the
/// node lifecycle controller marks a pod not Ready while its node is unreachable), so the kubelet
/// must write its own view again, as its status manager's `needsReconcile` does; otherwise a pod
/// whose node comes back stays not Ready for good, since nothing in the kubelet's view changed.
pub fn drifted(written: &Value, api: &k8s_openapi::api::core::v1::Pod) -> bool {
    let api_status = api.status.as_ref();
    let api_phase = api_status.and_then(|status| status.phase.as_deref());
    if written["phase"].as_str().is_some_and(|phase| Some(phase) != api_phase) {
        return true;
    }
    let api_conditions = api_status.and_then(|status| status.conditions.as_deref()).unwrap_or_default();
    let written_conditions = written["conditions"].as_array().map(Vec::as_slice).unwrap_or_default();
    written_conditions.iter().any(|condition| {
        let kind = condition["type"].as_str().unwrap_or("");
        KUBELET_CONDITIONS.contains(&kind)
            && api_conditions
                .iter()
                .find(|api| api.type_ == kind)
                .is_none_or(|api| Some(api.status.as_str()) != condition["status"].as_str())
    })
}

/// The status of a pod the kubelet refused (`rejectPod`): Failed with the admission reason.
pub fn rejected_status(reason: &str, message: &str) -> Value {
    json!({"phase": "Failed", "reason": reason, "message": format!("Pod was rejected: {message}")})
}

/// The merge patch that writes `status`, with the pod's uid so a pod recreated under the same
/// name is not written by mistake.
pub fn status_patch(uid: &str, status: &Value) -> Value {
    json!({"metadata": {"uid": uid}, "status": status})
}
