//! Maps a request path onto what it addresses: discovery documents, or a collection, an object or
//! a subresource of a served kind, the way the Kubernetes API server lays out its REST paths.

use crate::object::kinds::{self, ResourceType, Scope};

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiPath {
    /// `/version`.
    Version,
    /// `/api`: the core group's versions.
    CoreVersions,
    /// `/apis`: every group.
    Groups,
    /// `/apis/{group}`: one group.
    Group {
        /// The group name.
        group: String,
    },
    /// `/api/v1` or `/apis/{group}/{version}`: the resources of one group version.
    Resources {
        /// The group, empty for core.
        group: String,
        /// The version.
        version: String,
    },
    /// `/openapi/v3` and below, `/openapi/v2`.
    OpenApi {
        /// The rest of the path after `/openapi/`.
        rest: String,
    },
    /// A collection, an object, or an object's subresource.
    Resource(ResourcePath),
}

/// A path to a collection, an object or a subresource of a served kind.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourcePath {
    /// The served kind, at the version the path names.
    pub resource: &'static ResourceType,
    /// The namespace in the path; `None` for cluster-scoped kinds and all-namespaces lists.
    pub namespace: Option<String>,
    /// The object name, for object paths.
    pub name: Option<String>,
    /// The subresource (`status`, `scale`, `binding`, `eviction`, `log`, `exec`).
    pub subresource: Option<String>,
    /// Whether the path used the legacy `/watch/` prefix.
    pub legacy_watch: bool,
}

/// Parses a path (without its query). `None` means no route: the server answers 404.
pub fn parse_path(path: &str) -> Option<ApiPath> {
    let trimmed = path.trim_end_matches('/');
    let segments: Vec<&str> = trimmed.split('/').skip(1).collect();
    match segments.as_slice() {
        ["version"] => Some(ApiPath::Version),
        ["api"] => Some(ApiPath::CoreVersions),
        ["apis"] => Some(ApiPath::Groups),
        ["openapi", rest @ ..] => Some(ApiPath::OpenApi { rest: rest.join("/") }),
        ["apis", group] => known_group(group).then(|| ApiPath::Group { group: group.to_string() }),
        ["api", "v1"] => Some(ApiPath::Resources { group: String::new(), version: "v1".into() }),
        ["apis", group, version] => known_group_version(group, version)
            .then(|| ApiPath::Resources { group: group.to_string(), version: version.to_string() }),
        ["api", "v1", rest @ ..] => resource_path("", "v1", rest).map(ApiPath::Resource),
        ["apis", group, version, rest @ ..] => resource_path(group, version, rest).map(ApiPath::Resource),
        _ => None,
    }
}

fn known_group(group: &str) -> bool {
    !group.is_empty() && kinds::RESOURCES.iter().any(|resource| resource.group == group)
}

fn known_group_version(group: &str, version: &str) -> bool {
    known_group(group) && kinds::RESOURCES.iter().any(|resource| resource.group == group && resource.version == version)
}

fn resource_path(group: &str, version: &str, segments: &[&str]) -> Option<ResourcePath> {
    let (legacy_watch, segments) = match segments {
        ["watch", rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    let lookup = |plural: &str| kinds::by_group_version_resource(group, version, plural);
    let make = |resource, namespace: Option<&str>, name: Option<&str>, subresource: Option<&str>| {
        Some(ResourcePath {
            resource,
            namespace: namespace.map(str::to_string),
            name: name.map(str::to_string),
            subresource: subresource.map(str::to_string),
            legacy_watch,
        })
    };
    match segments {
        // `/namespaces/{ns}/{plural}[/{name}[/{subresource}]]`, unless `{plural}` is a
        // subresource of the Namespace object itself (`/namespaces/{name}/status`).
        ["namespaces", namespace, plural, rest @ ..] if lookup(plural).is_some_and(ResourceType::is_namespaced) => {
            let resource = lookup(plural)?;
            match rest {
                [] => make(resource, Some(namespace), None, None),
                [name] => make(resource, Some(namespace), Some(name), None),
                [name, subresource] if resource.subresources.contains(subresource) => {
                    make(resource, Some(namespace), Some(name), Some(subresource))
                }
                _ => None,
            }
        }
        [plural, rest @ ..] => {
            let resource = lookup(plural)?;
            match (resource.scope, rest) {
                // `/pods` lists every namespace; `/nodes` lists the cluster-scoped kind.
                (_, []) => make(resource, None, None, None),
                (Scope::Cluster, [name]) => make(resource, None, Some(name), None),
                (Scope::Cluster, [name, subresource]) if resource.subresources.contains(subresource) => {
                    make(resource, None, Some(name), Some(subresource))
                }
                _ => None,
            }
        }
        [] => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(path: &str) -> ResourcePath {
        match parse_path(path) {
            Some(ApiPath::Resource(resource)) => resource,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn a_namespaced_object_path_names_namespace_and_name() {
        let path = resource("/api/v1/namespaces/default/pods/web-0");
        assert_eq!(path.resource.kind, "Pod");
        assert_eq!(path.namespace.as_deref(), Some("default"));
        assert_eq!(path.name.as_deref(), Some("web-0"));
        assert_eq!(path.subresource, None);
    }

    #[test]
    fn grouped_paths_and_subresources_resolve() {
        let path = resource("/apis/apps/v1/namespaces/prod/deployments/web/scale");
        assert_eq!((path.resource.kind, path.subresource.as_deref()), ("Deployment", Some("scale")));
        let path = resource("/api/v1/namespaces/default/pods/web-0/eviction");
        assert_eq!(path.subresource.as_deref(), Some("eviction"));
    }

    #[test]
    fn the_namespace_object_and_its_status_are_cluster_scoped_paths() {
        let path = resource("/api/v1/namespaces/prod");
        assert_eq!(
            (path.resource.kind, path.name.as_deref(), path.namespace.as_deref()),
            ("Namespace", Some("prod"), None)
        );
        let path = resource("/api/v1/namespaces/prod/status");
        assert_eq!(path.subresource.as_deref(), Some("status"));
    }

    #[test]
    fn all_namespace_lists_and_cluster_scoped_kinds_have_no_namespace() {
        assert_eq!(resource("/api/v1/pods").namespace, None);
        assert_eq!(resource("/api/v1/nodes/n1").name.as_deref(), Some("n1"));
        assert_eq!(resource("/apis/autoscaling/v1/namespaces/a/horizontalpodautoscalers").resource.version, "v1");
    }

    #[test]
    fn unknown_paths_have_no_route() {
        for path in [
            "/api/v2/pods",
            "/apis/apps/v9/deployments",
            "/apis/nosuch.group/v1/things",
            "/api/v1/namespaces/default/pods/a/b/c",
            "/api/v1/namespaces/default/pods/a/scale",
            "/api/v1/pods/a",
            "/",
        ] {
            assert_eq!(parse_path(path), None, "{path}");
        }
    }

    #[test]
    fn discovery_paths_resolve() {
        assert_eq!(parse_path("/api"), Some(ApiPath::CoreVersions));
        assert_eq!(parse_path("/apis/"), Some(ApiPath::Groups));
        assert_eq!(
            parse_path("/apis/apps/v1"),
            Some(ApiPath::Resources { group: "apps".into(), version: "v1".into() })
        );
        assert!(matches!(resource("/api/v1/watch/namespaces/a/pods"), ResourcePath { legacy_watch: true, .. }));
    }
}
