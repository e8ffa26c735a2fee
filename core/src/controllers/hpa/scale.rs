//! The `scale` subresource of an HPA's target: which collection serves it, and the patch that
//! resizes it (Kubernetes' `scaleNamespacer.Update`, here a merge patch guarded by the Scale's
//! `resourceVersion`).

use k8s_openapi::api::autoscaling::v1::Scale;
use serde_json::json;

use crate::controllers::action::{Action, PatchType};
use crate::object::kinds::{GroupResource, RESOURCES, split_api_version};

/// The `<plural>/scale` collections of every served kind with a `scale` subresource; an action
/// on one of them addresses `/…/<plural>/<name>/scale`.
pub const SCALE_SUBRESOURCES: &[GroupResource] = &[
    GroupResource { group: "", resource: "replicationcontrollers/scale" },
    GroupResource { group: "apps", resource: "deployments/scale" },
    GroupResource { group: "apps", resource: "replicasets/scale" },
    GroupResource { group: "apps", resource: "statefulsets/scale" },
];

/// The scale subresource of `kind` in the group of `api_version`, or the message Kubernetes'
/// REST mapper or API server gives when there is none.
pub fn scale_subresource(api_version: &str, kind: &str) -> Result<GroupResource, String> {
    let (group, _) = split_api_version(api_version);
    let Some(resource) = RESOURCES.iter().find(|resource| resource.group == group && resource.kind == kind) else {
        return Err(format!("no matches for kind {kind:?} in group {group:?}"));
    };
    let plural = format!("{}/scale", resource.plural);
    SCALE_SUBRESOURCES
        .iter()
        .find(|scale| scale.group == group && scale.resource == plural)
        .copied()
        .ok_or_else(|| "the server could not find the requested resource".to_string())
}

/// The patch that sets the target's replicas, failing with a conflict if the Scale changed
/// since it was read.
pub fn rescale_action(subresource: GroupResource, scale: &Scale, replicas: i32) -> Action {
    let mut body = json!({"spec": {"replicas": replicas}});
    if let Some(version) = scale.metadata.resource_version.as_deref() {
        body["metadata"] = json!({"resourceVersion": version});
    }
    Action::Patch {
        resource: subresource,
        namespace: scale.metadata.namespace.clone().unwrap_or_default(),
        name: scale.metadata.name.clone().unwrap_or_default(),
        patch_type: PatchType::Merge,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_kind_with_a_scale_subresource_is_in_the_table() {
        for resource in RESOURCES.iter().filter(|resource| resource.subresources.contains(&"scale")) {
            let found = scale_subresource(resource.api_version, resource.kind).unwrap();
            assert_eq!(found.resource, format!("{}/scale", resource.plural));
        }
        assert_eq!(SCALE_SUBRESOURCES.len(), RESOURCES.iter().filter(|r| r.subresources.contains(&"scale")).count());
    }

    #[test]
    fn unknown_or_unscalable_kinds_say_why() {
        assert_eq!(scale_subresource("apps/v1", "Foo"), Err("no matches for kind \"Foo\" in group \"apps\"".into()));
        assert!(scale_subresource("apps/v1", "DaemonSet").unwrap_err().contains("could not find"));
        assert_eq!(scale_subresource("apps/v1", "Deployment").unwrap().resource, "deployments/scale");
    }
}
