//! The disruption controller's queue of pods with a `DisruptionTarget` condition that may go
//! stale (Kubernetes' `stalePodDisruptionQueue`): which pod changes put a pod on it, the keys a
//! new leader starts with, and the sync of one key.
//!
//! The queue shares the `disruption` controller's work queue; its keys are the pod's
//! `namespace/name` with the namespace prefixed by [`STALE_POD_KEY_PREFIX`], which no
//! namespace name can contain, so they never collide with a budget's key.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use super::caches::Caches;
use super::kinds::ControllerKind;
use super::routed::Routed;
use crate::client::informer::{Change, key_of};
use crate::controllers::Reconciled;
use crate::controllers::disruption::stale_condition::{condition_that_can_go_stale, reconcile_stale_pod_disruption};

/// What the namespace of a stale-condition key starts with (`pod:<namespace>/<name>`).
pub const STALE_POD_KEY_PREFIX: &str = "pod:";

/// The disruption controller's key for the pod's condition.
pub fn stale_pod_key(pod: &Pod) -> String {
    format!("{STALE_POD_KEY_PREFIX}{}", key_of(&pod.metadata))
}

/// `addPod`/`updatePod`: a pod that now carries a condition that can go stale is queued; its
/// sync waits out the rest of the timeout. Deleted pods are not (`deletePod` does not).
pub fn route_pod_to_stale_disruption(change: &Change<Pod>, routed: &mut Routed) {
    if let Change::Applied { new, .. } = change
        && condition_that_can_go_stale(new).is_some()
    {
        routed.enqueue.push((ControllerKind::Disruption, stale_pod_key(new)));
    }
}

/// Every cached pod with a condition that can go stale, for a new leader's first pass (the
/// informer's initial adds in Kubernetes).
pub fn stale_disruption_keys(caches: &Caches) -> Vec<(ControllerKind, String)> {
    caches
        .pods
        .iter()
        .filter(|pod| condition_that_can_go_stale(pod).is_some())
        .map(|pod| (ControllerKind::Disruption, stale_pod_key(pod)))
        .collect()
}

/// Whether a disruption key's namespace part names a pod's stale condition; the pod's
/// namespace if so.
pub fn stale_pod_namespace(namespace: &str) -> Option<&str> {
    namespace.strip_prefix(STALE_POD_KEY_PREFIX)
}

/// `syncStalePodDisruption` for the pod `namespace/name`; `Ok(None)` once the pod is gone.
pub fn reconcile_stale_pod_key(
    caches: &Caches,
    namespace: &str,
    name: &str,
    now: Timestamp,
) -> Result<Option<Reconciled>, String> {
    let Some(pod) = caches.pods.get(namespace, name) else { return Ok(None) };
    Ok(Some(reconcile_stale_pod_disruption(pod, now)))
}
