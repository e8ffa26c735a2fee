//! The discovery documents kubectl reads before anything else: `/version`, `/api`, `/apis`,
//! `/apis/{group}` and the resource lists of each group version, built from [`kinds::RESOURCES`]
//! in the shape and field order of the Kubernetes API server.

use serde_json::{Value, json};

use crate::object::kinds::{self, ResourceType};

/// The Kubernetes minor version coxswain reports. The kubectl dispatcher on these machines picks
/// its bundled kubectl by this number (see kubectl-compat.md "Version pick").
pub const KUBERNETES_MINOR: &str = "32";

/// `gitVersion` of `/version`: Kubernetes 1.32 with coxswain's own version as the pre-release.
pub fn git_version() -> String {
    format!("v1.{KUBERNETES_MINOR}.0-coxswain.{}", env!("CARGO_PKG_VERSION"))
}

/// `GET /version`: a `version.Info`, constant for a build so that traces stay byte-identical.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": KUBERNETES_MINOR,
        "gitVersion": git_version(),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `GET /api`: the versions of the core group.
pub fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [],
    })
}

/// Every named group in the order it first appears in [`kinds::RESOURCES`].
fn group_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for resource in kinds::RESOURCES {
        if !resource.group.is_empty() && !names.contains(&resource.group) {
            names.push(resource.group);
        }
    }
    names
}

/// The versions of `group`, preferred first: the first version listed in [`kinds::RESOURCES`]
/// (so `autoscaling` prefers `v2`).
fn group_versions(group: &str) -> Vec<&'static str> {
    let mut versions: Vec<&'static str> = Vec::new();
    for resource in kinds::RESOURCES.iter().filter(|resource| resource.group == group) {
        if !versions.contains(&resource.version) {
            versions.push(resource.version);
        }
    }
    versions
}

fn group_document(group: &str) -> Option<Value> {
    let versions = group_versions(group);
    let preferred = *versions.first()?;
    let version_entry = |version: &str| json!({"groupVersion": format!("{group}/{version}"), "version": version});
    Some(json!({
        "name": group,
        "versions": versions.iter().map(|version| version_entry(version)).collect::<Vec<_>>(),
        "preferredVersion": version_entry(preferred),
    }))
}

/// `GET /apis`: an `APIGroupList` of every named group.
pub fn group_list() -> Value {
    let groups: Vec<Value> = group_names().into_iter().filter_map(group_document).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/{group}`: one `APIGroup`, or `None` for a group coxswain does not serve.
pub fn group(group: &str) -> Option<Value> {
    if group.is_empty() {
        return None;
    }
    let Value::Object(document) = group_document(group)? else {
        return None;
    };
    let mut with_type = serde_json::Map::new();
    with_type.insert("kind".into(), "APIGroup".into());
    with_type.insert("apiVersion".into(), "v1".into());
    with_type.extend(document);
    Some(Value::Object(with_type))
}

/// The verbs of a stored top-level resource, as the Kubernetes API server lists them.
fn collection_verbs(resource: &ResourceType) -> &'static [&'static str] {
    match (resource.stored, resource.kind) {
        (false, _) => &["create"],
        // Namespaces have no deletecollection: deleting a namespace is a finalizing process.
        (true, "Namespace") => &["create", "delete", "get", "list", "patch", "update", "watch"],
        (true, _) => &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
    }
}

/// How a subresource appears in discovery: the kind it takes and returns, its group and version
/// when they differ from the parent's, and its verbs.
struct SubresourceEntry {
    group_version: Option<(&'static str, &'static str)>,
    kind: &'static str,
    verbs: &'static [&'static str],
}

fn subresource_entry(parent: &ResourceType, subresource: &str) -> Option<SubresourceEntry> {
    let entry = |group_version, kind, verbs| Some(SubresourceEntry { group_version, kind, verbs });
    match subresource {
        "status" => entry(None, parent.kind, &["get", "patch", "update"]),
        "scale" => entry(Some(("autoscaling", "v1")), "Scale", &["get", "patch", "update"]),
        "binding" => entry(None, "Binding", &["create"]),
        // kubectl drain posts evictions only when it finds exactly this entry.
        "eviction" => entry(Some(("policy", "v1")), "Eviction", &["create"]),
        "log" => entry(None, parent.kind, &["get"]),
        "exec" => entry(None, "PodExecOptions", &["create", "get"]),
        "portforward" => entry(None, "PodPortForwardOptions", &["create", "get"]),
        "finalize" => entry(None, parent.kind, &["update"]),
        _ => None,
    }
}

/// The `APIResource` entries of one top-level resource and its subresources.
fn resource_entries(resource: &ResourceType) -> Vec<(String, Value)> {
    let mut entries = Vec::new();
    let mut top = json!({
        "name": resource.plural,
        "singularName": resource.singular,
        "namespaced": resource.is_namespaced(),
        "kind": resource.kind,
        "verbs": collection_verbs(resource),
    });
    if !resource.short_names.is_empty() {
        top["shortNames"] = json!(resource.short_names);
    }
    if !resource.categories.is_empty() {
        top["categories"] = json!(resource.categories);
    }
    entries.push((resource.plural.to_string(), top));
    for subresource in resource.subresources {
        let Some(sub) = subresource_entry(resource, subresource) else {
            continue;
        };
        let name = format!("{}/{subresource}", resource.plural);
        let mut entry = serde_json::Map::new();
        entry.insert("name".into(), json!(name));
        entry.insert("singularName".into(), json!(""));
        entry.insert("namespaced".into(), json!(resource.is_namespaced()));
        if let Some((group, version)) = sub.group_version {
            entry.insert("group".into(), json!(group));
            entry.insert("version".into(), json!(version));
        }
        entry.insert("kind".into(), json!(sub.kind));
        entry.insert("verbs".into(), json!(sub.verbs));
        entries.push((name, Value::Object(entry)));
    }
    entries
}

/// `GET /api/v1` or `GET /apis/{group}/{version}`: the `APIResourceList` of one group version,
/// sorted by name like the Kubernetes API server. `None` when the group version is not served.
///
/// Request-only kinds appear only where Kubernetes lists them: `bindings` is a top-level
/// resource, while evictions exist only as `pods/eviction`.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let mut entries: Vec<(String, Value)> = kinds::RESOURCES
        .iter()
        .filter(|resource| resource.group == group && resource.version == version)
        .filter(|resource| resource.stored || resource.kind == "Binding")
        .flat_map(resource_entries)
        .collect();
    if entries.is_empty() {
        return None;
    }
    entries.sort_by(|left, right| left.0.cmp(&right.0));
    let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries.into_iter().map(|(_, entry)| entry).collect::<Vec<_>>(),
    }))
}

/// Every served group version as `(group, version)`, core first, in discovery order.
pub fn served_group_versions() -> Vec<(&'static str, &'static str)> {
    let mut served = vec![("", "v1")];
    for group in group_names() {
        for version in group_versions(group) {
            served.push((group, version));
        }
    }
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(list: &'a Value, name: &str) -> &'a Value {
        list["resources"].as_array().unwrap().iter().find(|entry| entry["name"] == name).unwrap()
    }

    fn names(list: &Value) -> Vec<&str> {
        list["resources"].as_array().unwrap().iter().map(|entry| entry["name"].as_str().unwrap()).collect()
    }

    #[test]
    fn the_core_resource_list_matches_its_snapshot() {
        insta::assert_json_snapshot!(resource_list("", "v1").unwrap());
    }

    #[test]
    fn the_apps_resource_list_matches_its_snapshot() {
        insta::assert_json_snapshot!(resource_list("apps", "v1").unwrap());
    }

    #[test]
    fn the_group_list_matches_its_snapshot() {
        insta::assert_json_snapshot!(group_list());
    }

    #[test]
    fn version_reports_kubernetes_1_32() {
        let version = version();
        assert_eq!((version["major"].as_str(), version["minor"].as_str()), (Some("1"), Some("32")));
        assert!(version["gitVersion"].as_str().unwrap().starts_with("v1.32.0-cox"));
    }

    #[test]
    fn pods_eviction_is_advertised_the_way_kubectl_drain_requires() {
        let core = resource_list("", "v1").unwrap();
        let eviction = entry(&core, "pods/eviction");
        assert_eq!(eviction["group"], "policy");
        assert_eq!(eviction["version"], "v1");
        assert_eq!(eviction["kind"], "Eviction");
        assert_eq!(eviction["verbs"], json!(["create"]));
        let policy = resource_list("policy", "v1").unwrap();
        assert!(!names(&policy).contains(&"evictions"), "{:?}", names(&policy));
    }

    #[test]
    fn bindings_are_a_create_only_top_level_resource() {
        let core = resource_list("", "v1").unwrap();
        assert_eq!(entry(&core, "bindings")["verbs"], json!(["create"]));
        assert_eq!(entry(&core, "pods/binding")["kind"], "Binding");
    }

    #[test]
    fn scale_subresources_speak_autoscaling_v1_scale() {
        let apps = resource_list("apps", "v1").unwrap();
        for name in ["deployments/scale", "replicasets/scale", "statefulsets/scale"] {
            let scale = entry(&apps, name);
            assert_eq!(
                (&scale["group"], &scale["version"], &scale["kind"]),
                (&json!("autoscaling"), &json!("v1"), &json!("Scale"))
            );
            assert_eq!(scale["verbs"], json!(["get", "patch", "update"]));
        }
    }

    #[test]
    fn the_short_names_kubectl_users_type_are_listed() {
        let mut short_names = Vec::new();
        for (group, version) in served_group_versions() {
            let list = resource_list(group, version).unwrap();
            for entry in list["resources"].as_array().unwrap() {
                for short in entry["shortNames"].as_array().into_iter().flatten() {
                    short_names.push(short.as_str().unwrap().to_string());
                }
            }
        }
        for wanted in ["po", "deploy", "rs", "svc", "no", "ns", "ds", "sts", "cm", "ep", "hpa", "cj"] {
            assert!(short_names.iter().any(|short| short == wanted), "{wanted} missing");
        }
    }

    #[test]
    fn autoscaling_prefers_v2() {
        let autoscaling = group("autoscaling").unwrap();
        assert_eq!(autoscaling["preferredVersion"]["version"], "v2");
        assert_eq!(autoscaling["kind"], "APIGroup");
        assert_eq!(autoscaling["versions"][1]["groupVersion"], "autoscaling/v1");
    }

    #[test]
    fn unknown_groups_and_versions_have_no_document() {
        assert_eq!(group("nosuch.io"), None);
        assert_eq!(group(""), None);
        assert_eq!(resource_list("apps", "v9"), None);
    }

    #[test]
    fn every_served_group_version_has_a_resource_list() {
        for (group, version) in served_group_versions() {
            assert!(resource_list(group, version).is_some(), "{group}/{version}");
        }
    }
}
