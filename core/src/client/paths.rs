//! REST paths for a kind from the kinds table: the inverse of
//! [`parse_path`](crate::api::path::parse_path), so clients never spell a URL by hand.

use crate::object::kinds::{ResourceType, Scope};

/// The collection path: `/api/v1/namespaces/{ns}/pods`, or across all namespaces (and for
/// cluster-scoped kinds) `/api/v1/pods`.
pub fn collection_path(resource: &ResourceType, namespace: Option<&str>) -> String {
    let prefix =
        if resource.group.is_empty() { "/api/v1".to_string() } else { format!("/apis/{}", resource.api_version) };
    match (resource.scope, namespace) {
        (Scope::Namespaced, Some(namespace)) if !namespace.is_empty() => {
            format!("{prefix}/namespaces/{namespace}/{}", resource.plural)
        }
        _ => format!("{prefix}/{}", resource.plural),
    }
}

/// The object path: the collection path plus `/{name}`.
pub fn object_path(resource: &ResourceType, namespace: &str, name: &str) -> String {
    format!("{}/{name}", collection_path(resource, Some(namespace)))
}

/// A subresource path: the object path plus `/{subresource}`.
pub fn subresource_path(resource: &ResourceType, namespace: &str, name: &str, subresource: &str) -> String {
    format!("{}/{subresource}", object_path(resource, namespace, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::path::{ApiPath, parse_path};
    use crate::object::kinds::RESOURCES;

    #[test]
    fn every_built_object_path_parses_back_to_the_same_kind_namespace_and_name() {
        for resource in RESOURCES.iter().filter(|resource| resource.stored) {
            let path = object_path(resource, "team-a", "web-0");
            let Some(ApiPath::Resource(parsed)) = parse_path(&path) else { panic!("{path} does not parse") };
            assert_eq!(parsed.resource, resource, "{path}");
            assert_eq!(parsed.name.as_deref(), Some("web-0"), "{path}");
            let expected_namespace = resource.is_namespaced().then(|| "team-a".to_string());
            assert_eq!(parsed.namespace, expected_namespace, "{path}");
        }
    }

    #[test]
    fn collection_paths_follow_the_group_layout() {
        let pods = crate::object::kinds::by_api_version_kind("v1", "Pod").unwrap();
        let deployments = crate::object::kinds::by_api_version_kind("apps/v1", "Deployment").unwrap();
        let nodes = crate::object::kinds::by_api_version_kind("v1", "Node").unwrap();
        assert_eq!(collection_path(pods, None), "/api/v1/pods");
        assert_eq!(collection_path(pods, Some("default")), "/api/v1/namespaces/default/pods");
        assert_eq!(collection_path(deployments, Some("a")), "/apis/apps/v1/namespaces/a/deployments");
        assert_eq!(collection_path(nodes, Some("ignored")), "/api/v1/nodes");
        assert_eq!(subresource_path(pods, "a", "p", "binding"), "/api/v1/namespaces/a/pods/p/binding");
    }
}
