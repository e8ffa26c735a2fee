//! What the node controllers and the HorizontalPodAutoscaler controller remember between syncs,
//! held by the manager as kube-controller-manager holds it in memory: the node IPAM
//! controller's subnets handed out but not yet seen, the node lifecycle controller's zone
//! states, rate limiters and tainting queue, and each HPA's scaling history. Their reconciles
//! run here, over the shared caches and this memory; a manager that loses leadership drops it
//! all and rebuilds it from the caches, as a restarted kube-controller-manager would.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::autoscaling::v2::{CrossVersionObjectReference, HorizontalPodAutoscaler};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use super::caches::{BY_NODE_NAME, Caches};
use super::kinds::ControllerKind;
use super::lookups::{borrowed, pods_selected_by};
use crate::controllers::action::to_object;
use crate::controllers::hpa::{
    AutoscalerSelectors, MetricsSource, MetricsUnavailable, Observed, ScalingHistory, scale_selector,
};
use crate::controllers::node_lifecycle::reconcile_node_no_schedule_taints;
use crate::controllers::{
    Action, NodeIpamConfig, NodeLifecycleConfig, NodeLifecycleState, PodCidrAllocations, Reconciled,
    reconcile_horizontal_pod_autoscaler, reconcile_node_ipam, reconcile_node_lifecycle,
};
use crate::object::kinds::split_api_version;
use crate::selector::LabelSelector;

/// The node IPAM controller's one key: every reconcile looks at all nodes at once, so one
/// key is enough and keeps two subnets from being chosen in parallel. Not a valid node name.
pub const NODE_IPAM_KEY: &str = "(all-nodes)";
/// The node lifecycle controller's monitor key (`monitorNodeHealth`), requeued every
/// node-monitor-period. The controller's other keys are node names (the NoSchedule pass).
pub const NODE_MONITOR_KEY: &str = "(monitor)";

/// Where the HPA controller reads pod usage, shared with whoever feeds it (the simulator's load
/// model, the node agents).
#[derive(Clone)]
pub struct SharedMetricsSource(pub Arc<dyn MetricsSource + Send + Sync>);

impl std::fmt::Debug for SharedMetricsSource {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SharedMetricsSource")
    }
}

/// The message the HPA controller reports when the manager was given no metrics source.
pub const NO_METRICS_SOURCE: &str = "no metrics source is configured for the controller manager";

/// The memory of the node controllers and the HPA controller.
#[derive(Debug)]
pub struct NodeControllers {
    ipam: NodeIpamConfig,
    lifecycle_config: NodeLifecycleConfig,
    allocations: PodCidrAllocations,
    lifecycle: NodeLifecycleState,
    histories: BTreeMap<String, ScalingHistory>,
    selectors: AutoscalerSelectors,
    metrics: Option<SharedMetricsSource>,
}

impl NodeControllers {
    /// Memory for controllers configured so, remembering nothing yet.
    pub fn new(ipam: NodeIpamConfig, lifecycle_config: NodeLifecycleConfig) -> NodeControllers {
        NodeControllers {
            ipam,
            lifecycle_config,
            allocations: PodCidrAllocations::new(),
            lifecycle: NodeLifecycleState::new(),
            histories: BTreeMap::new(),
            selectors: AutoscalerSelectors::new(),
            metrics: None,
        }
    }

    /// Sets where the HPA controller reads pod usage.
    pub fn set_metrics(&mut self, source: SharedMetricsSource) {
        self.metrics = Some(source);
    }

    /// The node lifecycle controller's zone states, limiters and tainting queue.
    pub fn lifecycle(&self) -> &NodeLifecycleState {
        &self.lifecycle
    }

    /// The scaling history kept for the HPA `namespace/name`.
    pub fn scaling_history(&self, key: &str) -> Option<&ScalingHistory> {
        self.histories.get(key)
    }

    /// Forgets everything remembered (leadership lost); the configuration stays.
    pub fn reset(&mut self) {
        self.allocations = PodCidrAllocations::new();
        self.lifecycle = NodeLifecycleState::new();
        self.histories.clear();
        self.selectors.clear();
    }

    /// Reconciles one key of a controller for which [`ControllerKind::uses_node_state`] holds.
    /// `Ok(None)`: the object is gone.
    pub fn reconcile(
        &mut self,
        kind: ControllerKind,
        caches: &Caches,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<Reconciled>, String> {
        match kind {
            ControllerKind::NodeIpam => {
                let nodes = caches.nodes.iter().map(AsRef::as_ref);
                Ok(Some(reconcile_node_ipam(&self.ipam, nodes, &mut self.allocations, now)))
            }
            ControllerKind::NodeLifecycle if key == NODE_MONITOR_KEY => {
                let nodes = caches.nodes.iter().map(AsRef::as_ref);
                let lifecycle = &mut self.lifecycle;
                let pods_on = |node: &str| -> Vec<Pod> {
                    caches.pods.by_index(BY_NODE_NAME, node).map(|pod| pod.as_ref().clone()).collect()
                };
                let config = &self.lifecycle_config;
                Ok(Some(reconcile_node_lifecycle(config, nodes, &caches.leases, pods_on, lifecycle, now)))
            }
            ControllerKind::NodeLifecycle => {
                let Some(node) = caches.nodes.get("", key) else { return Ok(None) };
                Ok(Some(reconcile_node_no_schedule_taints(node, now)))
            }
            ControllerKind::HorizontalPodAutoscaling => Ok(self.reconcile_autoscaler(caches, key, now)),
            _ => Err(format!("{} keeps no node state", kind.name())),
        }
    }

    /// A sync of `kind` failed or was cut short: these actions were not done. A node whose
    /// pod CIDR patch did not go through gives its subnet back.
    pub fn actions_not_done(&mut self, kind: ControllerKind, actions: &[Action]) {
        if kind != ControllerKind::NodeIpam {
            return;
        }
        for action in actions {
            if let Action::Patch { name, .. } = action {
                self.allocations.forget(name);
            }
        }
    }

    /// One HPA's sync: its target's Scale as the caches show it, the namespace's pods, the
    /// metrics source, and the selectors of every HPA (this one's recorded first, as
    /// `validateAndParseSelector` does); the history and selector are dropped once the HPA is gone.
    fn reconcile_autoscaler(&mut self, caches: &Caches, key: &str, now: Timestamp) -> Option<Reconciled> {
        let (namespace, name) = key.split_once('/').unwrap_or(("", key));
        let Some(hpa) = caches.horizontal_pod_autoscalers.get(namespace, name) else {
            self.histories.remove(key);
            self.selectors.remove(key);
            return None;
        };
        let scale = target_scale(caches, hpa);
        if let Some(selector) = scale.as_ref().ok().and_then(scale_selector) {
            self.selectors.insert(key.to_string(), selector);
        }
        // Only the pods the Scale's selector selects count, so only those are read: a sync
        // every 15 s must not visit a namespace of thousands of pods, nor copy any.
        let selector = scale
            .as_ref()
            .ok()
            .and_then(|scale| scale.status.as_ref()?.selector.as_deref())
            .and_then(|selector| LabelSelector::parse(selector).ok());
        let pods: Vec<&Pod> = match &selector {
            Some(selector) => borrowed(&pods_selected_by(caches, namespace, selector)),
            None => caches.pods.in_namespace(namespace).map(AsRef::as_ref).collect(),
        };
        let unavailable = MetricsUnavailable(NO_METRICS_SOURCE.to_string());
        let metrics: &dyn MetricsSource = match &self.metrics {
            Some(source) => source.0.as_ref(),
            None => &unavailable,
        };
        let observed = Observed {
            scale: scale.as_ref().map_err(String::as_str),
            pods: &pods,
            metrics,
            selectors: &self.selectors,
        };
        let history = self.histories.entry(key.to_string()).or_default();
        Some(reconcile_horizontal_pod_autoscaler(hpa, observed, history, now))
    }
}

/// The `scale` subresource of the HPA's target, built from the cached object exactly as the API
/// server builds it (Kubernetes GETs it through the scale client; the cache holds the same
/// object, and its resourceVersion guards the patch all the same), or the API server's message
/// for a target that is not there.
fn target_scale(caches: &Caches, hpa: &HorizontalPodAutoscaler) -> Result<Scale, String> {
    let namespace = hpa.metadata.namespace.as_deref().unwrap_or_default();
    let target = hpa.spec.as_ref().map(|spec| spec.scale_target_ref.clone()).unwrap_or_default();
    let CrossVersionObjectReference { api_version, kind, name } = target;
    let (group, _) = split_api_version(api_version.as_deref().unwrap_or(""));
    let found = match (group, kind.as_str()) {
        ("apps", "Deployment") => caches.deployments.get(namespace, &name).map(|object| to_object(object.as_ref())),
        ("apps", "ReplicaSet") => caches.replica_sets.get(namespace, &name).map(|object| to_object(object.as_ref())),
        ("apps", "StatefulSet") => caches.stateful_sets.get(namespace, &name).map(|object| to_object(object.as_ref())),
        ("", "ReplicationController") => {
            caches.replication_controllers.get(namespace, &name).map(|object| to_object(object.as_ref()))
        }
        _ => return Err(format!("no matches for kind {kind:?} in group {group:?}")),
    };
    let Some(object) = found else {
        let plural = format!("{}s", kind.to_lowercase());
        let resource = if group.is_empty() { plural } else { format!("{plural}.{group}") };
        return Err(format!("{resource} {name:?} not found"));
    };
    serde_json::from_value(crate::api::scale_of(&object)).map_err(|error| error.to_string())
}
