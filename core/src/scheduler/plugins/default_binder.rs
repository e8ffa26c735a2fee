//! DefaultBinder: binds a Pod by posting a `Binding` to its `binding` subresource.

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use crate::scheduler::framework::{BindDecision, BindPlugin, CycleState, Plugin};
use crate::scheduler::node_info::PodInfo;

/// The plugin's registered name.
pub const NAME: &str = "DefaultBinder";

/// Binds through the API.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultBinder;

/// The Binding object that places a Pod on a node.
pub fn binding_for(pod: &PodInfo, node_name: &str) -> core::Binding {
    core::Binding {
        metadata: meta::ObjectMeta {
            namespace: pod.pod.metadata.namespace.clone(),
            name: pod.pod.metadata.name.clone(),
            uid: pod.pod.metadata.uid.clone(),
            ..meta::ObjectMeta::default()
        },
        target: core::ObjectReference {
            kind: Some("Node".to_owned()),
            name: Some(node_name.to_owned()),
            ..core::ObjectReference::default()
        },
    }
}

impl Plugin for DefaultBinder {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_bind(&self) -> Option<&dyn BindPlugin> {
        Some(self)
    }
}

impl BindPlugin for DefaultBinder {
    fn bind(&self, _state: &CycleState, pod: &PodInfo, node_name: &str) -> BindDecision {
        BindDecision::Bind(Box::new(binding_for(pod, node_name)))
    }
}
