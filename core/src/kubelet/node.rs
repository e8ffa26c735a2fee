//! The Node object and its heartbeats as the kubelet writes them: the registration body
//! (capacity, allocatable, labels, taints, addresses, nodeInfo, conditions), the periodic status
//! patch (written on change or every `nodeStatusReportFrequency`), and the Lease in
//! kube-node-lease.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::config::{KubeletConfig, NODE_LEASE_DURATION_SECONDS};
use super::container::time;
use crate::controllers::node_lifecycle::NODE_LEASE_NAMESPACE;

/// The port the kubelet serves on (`daemonEndpoints.kubeletEndpoint.Port`).
pub const KUBELET_PORT: i32 = 10250;

/// The node's conditions as the kubelet reports them on a healthy node: (type, status, reason,
/// message).
const CONDITIONS: [(&str, &str, &str, &str); 4] = [
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
];

/// The node status without heartbeat times: what "changed" is decided on.
pub fn node_status_content(config: &KubeletConfig) -> Value {
    let ip = config.node_ip().to_string();
    json!({
        "capacity": config.capacity,
        "allocatable": config.allocatable,
        "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": config.node_name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "nodeInfo": {
            "machineID": "", "systemUUID": "", "bootID": "",
            "kernelVersion": "", "osImage": config.os_image,
            "containerRuntimeVersion": config.container_runtime_version,
            "kubeletVersion": config.kubelet_version, "kubeProxyVersion": "",
            "operatingSystem": config.operating_system, "architecture": config.architecture,
        },
        "conditions": CONDITIONS.iter().map(|(kind, status, reason, message)| json!({
            "type": kind, "status": status, "reason": reason, "message": message,
        })).collect::<Vec<_>>(),
    })
}

/// The full status with heartbeat and transition times filled in; `transitioned` is when the
/// conditions last changed (registration, for a node whose health never changes).
pub fn node_status(content: &Value, heartbeat: Timestamp, transitioned: Timestamp) -> Value {
    let mut status = content.clone();
    for condition in status["conditions"].as_array_mut().into_iter().flatten() {
        condition["lastHeartbeatTime"] = time(heartbeat);
        condition["lastTransitionTime"] = time(transitioned);
    }
    status
}

/// The Node the kubelet registers (`initialNode`).
pub fn node_object(config: &KubeletConfig, now: Timestamp) -> Value {
    let mut spec = json!({});
    if !config.taints.is_empty() {
        spec["taints"] = serde_json::to_value(&config.taints).unwrap_or(Value::Null);
    }
    if let Some(cidr) = &config.pod_cidr {
        spec["podCIDR"] = json!(cidr);
        spec["podCIDRs"] = json!([cidr]);
    }
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": config.node_name, "labels": config.node_labels(),
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": spec,
        "status": node_status(&node_status_content(config), now, now),
    })
}

/// A Lease time, serialized as a MicroTime.
pub fn lease_time(now: Timestamp) -> Value {
    serde_json::to_value(MicroTime(now)).unwrap_or(Value::Null)
}

/// The Lease a kubelet creates when none exists, owned by its Node when the Node's uid is known
/// (so deleting the Node deletes it).
pub fn lease_object(node_name: &str, node_uid: Option<&str>, now: Timestamp) -> Value {
    let mut lease = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": node_name, "namespace": NODE_LEASE_NAMESPACE},
        "spec": {"holderIdentity": node_name, "leaseDurationSeconds": NODE_LEASE_DURATION_SECONDS,
                 "renewTime": lease_time(now)}
    });
    if let Some(uid) = node_uid {
        lease["metadata"]["ownerReferences"] =
            json!([{"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": uid}]);
    }
    lease
}

/// Renews `lease` (a Lease as the API server returned it) at `now`, as the kubelet's `newLease`
/// does: holder, duration and renew time set, and the Node made its owner when the Lease has
/// no owner and the Node's uid is known.
pub fn renew(lease: &mut Value, node_name: &str, node_uid: Option<&str>, now: Timestamp) {
    let spec = &mut lease["spec"];
    spec["holderIdentity"] = json!(node_name);
    spec["leaseDurationSeconds"] = json!(NODE_LEASE_DURATION_SECONDS);
    spec["renewTime"] = lease_time(now);
    let owned = lease["metadata"]["ownerReferences"].as_array().is_some_and(|owners| !owners.is_empty());
    if let Some(uid) = node_uid.filter(|_| !owned) {
        lease["metadata"]["ownerReferences"] =
            json!([{"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": uid}]);
    }
}
