//! Kubelet admission (`pkg/kubelet/lifecycle/predicate.go`): before running a pod bound to its
//! node, the kubelet re-checks what the scheduler checked, against the pods it already admitted,
//! because the scheduler's view may have been stale. A refused pod is Failed with the reason.
//!
//! Checked as Kubernetes does: resources (`OutOfcpu`, `OutOfmemory`, `OutOfpods`, …), node
//! selector and required node affinity (`NodeAffinity`), and only `NoExecute` taints
//! (`TaintToleration`; a `NoSchedule` taint does not stop a pod already bound, as in Kubernetes).

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};

use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::plugins::node_affinity::{ERR_REASON_POD, RequiredNodeAffinity};
use crate::scheduler::plugins::taint_toleration::find_matching_untolerated_taint;
use crate::scheduler::resource::{CPU, EPHEMERAL_STORAGE, MEMORY, PODS, Resource, pod_requests};

/// Why a pod was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// `status.reason`.
    pub reason: String,
    /// The message (the status says `Pod was rejected: <message>`).
    pub message: String,
}

/// The taint message of the kubelet's TaintToleration predicate.
const TAINT_REASON: &str = "node(s) had untolerated taint";

/// Checks `pod` against the node and what the admitted pods already request (`used`) and how
/// many there are (`admitted_pods`).
pub fn admit(pod: &Arc<Pod>, node: &Arc<Node>, used: &Resource, admitted_pods: i64) -> Result<(), Rejection> {
    let allocatable = Resource::from_list(node.status.as_ref().and_then(|status| status.allocatable.as_ref()));
    let requests = pod.spec.as_ref().map(|spec| pod_requests(spec).requests).unwrap_or_default();
    let fits = |name: &str, requested: i64, used: i64, capacity: i64| {
        if requested > 0 && requested + used > capacity {
            Err(Rejection {
                reason: format!("OutOf{name}"),
                message: format!(
                    "Node didn't have enough resource: {name}, requested: {requested}, used: {used}, capacity: {capacity}"
                ),
            })
        } else {
            Ok(())
        }
    };
    fits(PODS, 1, admitted_pods, allocatable.allowed_pod_number)?;
    fits(CPU, requests.milli_cpu, used.milli_cpu, allocatable.milli_cpu)?;
    fits(MEMORY, requests.memory, used.memory, allocatable.memory)?;
    fits(EPHEMERAL_STORAGE, requests.ephemeral_storage, used.ephemeral_storage, allocatable.ephemeral_storage)?;
    for (name, requested) in &requests.scalar_resources {
        fits(name, *requested, used.get(name), allocatable.get(name))?;
    }
    let pod_info = PodInfo::new(pod.clone());
    let node_info = NodeInfo::new(node.clone());
    if !RequiredNodeAffinity::of(&pod_info).matches(&node_info) {
        return Err(Rejection {
            reason: "NodeAffinity".into(),
            message: format!("Predicate NodeAffinity failed: {ERR_REASON_POD}"),
        });
    }
    let tolerations = pod.spec.as_ref().and_then(|spec| spec.tolerations.clone()).unwrap_or_default();
    let taints = node_info.taints();
    if let Some(taint) = find_matching_untolerated_taint(taints, &tolerations, |taint| taint.effect == "NoExecute") {
        return Err(Rejection {
            reason: "TaintToleration".into(),
            message: format!(
                "Predicate TaintToleration failed: {TAINT_REASON} {{{}: {}}}",
                taint.key,
                taint.value.as_deref().unwrap_or_default()
            ),
        });
    }
    Ok(())
}

/// A pod's effective requests, for the admitted total.
pub fn requests_of(pod: &Pod) -> Resource {
    pod.spec.as_ref().map(|spec| pod_requests(spec).requests).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node() -> Arc<Node> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": "n1", "labels": {"disk": "ssd"}},
                "spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoExecute"},
                                    {"key": "soft", "effect": "NoSchedule"}]},
                "status": {"allocatable": {"cpu": "2", "memory": "1Gi", "pods": "2"}}
            }))
            .unwrap(),
        )
    }

    fn pod(extra: serde_json::Value) -> Arc<Pod> {
        let mut value = json!({
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i",
                "resources": {"requests": {"cpu": "500m"}}}],
                "tolerations": [{"key": "dedicated", "operator": "Exists"}]}
        });
        if let (Some(spec), Some(extra)) = (value["spec"].as_object_mut(), extra.as_object()) {
            for (key, field) in extra {
                spec.insert(key.clone(), field.clone());
            }
        }
        Arc::new(serde_json::from_value(value).unwrap())
    }

    /// Rows in the manner of `TestGeneralPredicates` / `TestRejectPodAdmissionBasedOnOSSelector`
    /// (pkg/kubelet/lifecycle/predicate_test.go).
    #[test]
    fn admission_refuses_what_does_not_fit_with_kubernetes_reasons() {
        let used = Resource { milli_cpu: 1800, ..Resource::default() };
        let refused = admit(&pod(json!({})), &node(), &used, 1).unwrap_err();
        assert_eq!(refused.reason, "OutOfcpu");
        assert_eq!(
            refused.message,
            "Node didn't have enough resource: cpu, requested: 500, used: 1800, capacity: 2000"
        );

        assert_eq!(admit(&pod(json!({})), &node(), &Resource::default(), 2).unwrap_err().reason, "OutOfpods");
        assert_eq!(admit(&pod(json!({})), &node(), &Resource::default(), 1), Ok(()));

        let selector = pod(json!({"nodeSelector": {"disk": "hdd"}}));
        assert_eq!(admit(&selector, &node(), &Resource::default(), 0).unwrap_err().reason, "NodeAffinity");

        // NoSchedule is the scheduler's business; NoExecute is checked.
        let untolerated = pod(json!({"tolerations": []}));
        let refused = admit(&untolerated, &node(), &Resource::default(), 0).unwrap_err();
        assert_eq!(refused.reason, "TaintToleration");
    }
}
