//! Pods made from a workload's pod template (`controller.GetPodFromTemplate`), for the
//! controllers that name their pods themselves (StatefulSet) or place them (DaemonSet).

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::object::kinds::GroupResource;

/// The pods collection.
pub const PODS: GroupResource = GroupResource { group: "", resource: "pods" };

/// The template's labels, annotations, finalizers and spec in `namespace`, controlled by
/// `owner`; the caller names the pod.
pub fn pod_from_template(template: &PodTemplateSpec, namespace: Option<&str>, owner: OwnerReference) -> Pod {
    let metadata = template.metadata.clone().unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            namespace: namespace.map(str::to_string),
            labels: metadata.labels,
            annotations: metadata.annotations,
            finalizers: metadata.finalizers,
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}
