//! The OpenAPI documents kubectl fetches before `create`, `apply`, `edit` and `explain`: the v3
//! root listing every served group version, one v3 document per group version, and the v2
//! document. Schemas are Kubernetes 1.32's own (from the schema facts, see
//! [`super::openapi_schemas`]) with Kubernetes' descriptions, so `kubectl explain` walks real
//! fields and types and prints what each one is for. Every document is built once, on first
//! request.
//!
//! The PATCH operations carry `x-kubernetes-group-version-kind` and a `fieldValidation` query
//! parameter, so kubectl's field-validation check finds that the server validates fields itself
//! (it then sends `fieldValidation=Strict`). They deliberately do not list
//! `application/strategic-merge-patch+json`, so that `kubectl apply` computes its strategic merge
//! patches from its compiled-in types.

use serde_json::{Map, Value, json};

use crate::object::kinds::{self, ResourceType};

use super::{discovery, openapi_schemas};

/// Answers `GET /openapi/{rest}`: `v2` is the Swagger 2.0 document, `v3` the root, `v3/api/v1`
/// and `v3/apis/{group}/{version}` the group-version documents; anything else is `None` (404).
pub fn openapi_document(rest: &str) -> Option<Value> {
    let rest = rest.trim_matches('/');
    if rest == "v2" {
        return Some(SWAGGER_V2.clone());
    }
    if rest == "v3" {
        return Some(ROOT.clone());
    }
    let group_version_path = rest.strip_prefix("v3/")?;
    let (group, version) = parse_group_version_path(group_version_path)?;
    DOCUMENTS.get(&group_version_key(group, version)).cloned()
}

/// The group-version documents, built once: they depend only on the served kinds and the
/// schema facts, both fixed at build time.
static DOCUMENTS: std::sync::LazyLock<std::collections::BTreeMap<String, Value>> = std::sync::LazyLock::new(|| {
    discovery::served_group_versions()
        .into_iter()
        .filter_map(|(group, version)| {
            Some((group_version_key(group, version), group_version_document(group, version)?))
        })
        .collect()
});

static ROOT: std::sync::LazyLock<Value> = std::sync::LazyLock::new(root);

static SWAGGER_V2: std::sync::LazyLock<Value> =
    std::sync::LazyLock::new(|| openapi_schemas::swagger_v2(&discovery::git_version()));

/// `api/v1` → (``, `v1`); `apis/apps/v1` → (`apps`, `v1`).
fn parse_group_version_path(path: &str) -> Option<(&str, &str)> {
    let segments: Vec<&str> = path.split('/').collect();
    match segments.as_slice() {
        ["api", version] => Some(("", version)),
        ["apis", group, version] if !group.is_empty() => Some((group, version)),
        _ => None,
    }
}

/// The key of a group version in the root document: `api/v1`, `apis/apps/v1`.
fn group_version_key(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

/// `GET /openapi/v3`: every served group version with a URL whose `hash` changes whenever the
/// document does, so kubectl's cache never serves a stale one.
fn root() -> Value {
    let mut paths = Map::new();
    for (group, version) in discovery::served_group_versions() {
        let key = group_version_key(group, version);
        let Some(document) = DOCUMENTS.get(&key) else {
            continue;
        };
        let hash = fnv1a_hex(document.to_string().as_bytes());
        paths.insert(key.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}")}));
    }
    json!({"paths": paths})
}

/// 64-bit FNV-1a as sixteen upper-case hex digits: a stable content hash with no dependency.
fn fnv1a_hex(bytes: &[u8]) -> String {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = bytes.iter().fold(OFFSET_BASIS, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(PRIME));
    format!("{hash:016X}")
}

/// The schema name Kubernetes gives a kind: `io.k8s.api.apps.v1.Deployment`.
fn schema_name(group: &str, version: &str, kind: &str) -> String {
    if let Some(name) = openapi_schemas::definition_name(group, version, kind) {
        return name.to_string();
    }
    let package = match group {
        "" => "core",
        group => group.split('.').next().unwrap_or(group),
    };
    format!("io.k8s.api.{package}.{version}.{kind}")
}

fn schema_ref(group: &str, version: &str, kind: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{}", schema_name(group, version, kind))})
}

/// A group-version document, or `None` when the group version is not served.
fn group_version_document(group: &str, version: &str) -> Option<Value> {
    let resources: Vec<&ResourceType> =
        kinds::RESOURCES.iter().filter(|resource| resource.group == group && resource.version == version).collect();
    if resources.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for resource in &resources {
        add_resource_paths(resource, &mut paths, &mut schemas);
    }
    let roots: Vec<&'static str> = resources
        .iter()
        .flat_map(|resource| openapi_schemas::kinds_of(resource))
        .filter_map(|(group, version, kind)| openapi_schemas::definition_name(group, version, kind))
        .chain(["io.k8s.apimachinery.pkg.apis.meta.v1.Status"])
        .collect();
    let reached = openapi_schemas::reachable_definitions(roots);
    schemas.extend(openapi_schemas::schemas(&reached, openapi_schemas::COMPONENTS_REFERENCE_PREFIX));
    schemas.insert("io.k8s.apimachinery.pkg.apis.meta.v1.Patch".into(), json!({"type": "object"}));
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": discovery::git_version()},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// An object schema that accepts any fields: coxswain validates on the server.
fn permissive_schema(description: &str, group_version_kinds: &[(&str, &str, &str)]) -> Value {
    let mut schema = json!({"description": description, "type": "object"});
    if !group_version_kinds.is_empty() {
        schema["x-kubernetes-group-version-kind"] = group_version_kinds
            .iter()
            .map(|(group, version, kind)| json!({"group": group, "kind": kind, "version": version}))
            .collect();
    }
    schema["x-kubernetes-preserve-unknown-fields"] = json!(true);
    schema
}

/// The kind and group version an operation on `resource` (or its subresource) takes and returns.
fn operation_kind(resource: &ResourceType, subresource: Option<&str>) -> (&'static str, &'static str, &'static str) {
    match subresource {
        Some("scale") => ("autoscaling", "v1", "Scale"),
        Some("eviction") => ("policy", "v1", "Eviction"),
        Some("binding") => ("", "v1", "Binding"),
        Some("exec") => ("", "v1", "PodExecOptions"),
        Some("portforward") => ("", "v1", "PodPortForwardOptions"),
        _ => (resource.group, resource.version, resource.kind),
    }
}

/// One operation: its action, the kind it concerns, and the parameters and body it accepts.
fn operation(action: &str, resource: &ResourceType, subresource: Option<&str>) -> Value {
    let (group, version, kind) = operation_kind(resource, subresource);
    let suffix = subresource.map(|sub| format!(" {sub} of")).unwrap_or_default();
    let mut operation = json!({
        "description": format!("{action}{suffix} the specified {kind}"),
        "operationId": format!("{action}{}{}", resource.kind, subresource.unwrap_or("")),
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": schema_ref(group, version, kind)}},
            },
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": group, "kind": kind, "version": version},
    });
    match action {
        "patch" => {
            operation["parameters"] = json!([
                query_parameter("dryRun", "string"),
                query_parameter("fieldManager", "string"),
                query_parameter("fieldValidation", "string"),
                query_parameter("force", "boolean"),
            ]);
            let patch_schema =
                json!({"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}});
            operation["requestBody"] = json!({
                "content": {
                    "application/apply-patch+yaml": patch_schema,
                    "application/json-patch+json": patch_schema,
                    "application/merge-patch+json": patch_schema,
                },
                "required": true,
            });
        }
        "post" | "put" => {
            operation["parameters"] = json!([
                query_parameter("dryRun", "string"),
                query_parameter("fieldManager", "string"),
                query_parameter("fieldValidation", "string"),
            ]);
            operation["requestBody"] = json!({
                "content": {"application/json": {"schema": schema_ref(group, version, kind)}},
                "required": true,
            });
        }
        _ => {}
    }
    operation
}

fn query_parameter(name: &str, kind: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": kind, "uniqueItems": true}})
}

fn path_parameter(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "uniqueItems": true}})
}

/// Adds the collection, object and subresource paths of `resource`, and the schemas they name.
fn add_resource_paths(resource: &ResourceType, paths: &mut Map<String, Value>, schemas: &mut Map<String, Value>) {
    let prefix = format!("/{}", group_version_key(resource.group, resource.version));
    let scoped = if resource.is_namespaced() {
        format!("{prefix}/namespaces/{{namespace}}/{}", resource.plural)
    } else {
        format!("{prefix}/{}", resource.plural)
    };
    let scope_parameters = |with_name: bool| {
        let mut parameters = Vec::new();
        if with_name {
            parameters.push(path_parameter("name"));
        }
        if resource.is_namespaced() {
            parameters.push(path_parameter("namespace"));
        }
        Value::Array(parameters)
    };
    let (group, version, kind) = operation_kind(resource, None);
    schemas.insert(
        schema_name(group, version, kind),
        permissive_schema(&format!("{kind} of {}", resource.api_version), &[(group, version, kind)]),
    );
    if !resource.stored {
        // Request-only kinds are only ever created: `bindings` at the top level, evictions only
        // as the `pods/eviction` subresource.
        if resource.kind == "Binding" {
            paths.insert(
                scoped,
                json!({"parameters": scope_parameters(false), "post": operation("post", resource, None)}),
            );
        }
        return;
    }
    paths.insert(
        scoped.clone(),
        json!({
            "parameters": scope_parameters(false),
            "get": operation("list", resource, None),
            "post": operation("post", resource, None),
            "delete": operation("deletecollection", resource, None),
        }),
    );
    if resource.is_namespaced() {
        paths.insert(format!("{prefix}/{}", resource.plural), json!({"get": operation("list", resource, None)}));
    }
    paths.insert(
        format!("{scoped}/{{name}}"),
        json!({
            "parameters": scope_parameters(true),
            "get": operation("get", resource, None),
            "put": operation("put", resource, None),
            "patch": operation("patch", resource, None),
            "delete": operation("delete", resource, None),
        }),
    );
    for subresource in resource.subresources {
        let sub = Some(*subresource);
        let mut path_item = match *subresource {
            "status" | "scale" => json!({
                "get": operation("get", resource, sub),
                "put": operation("put", resource, sub),
                "patch": operation("patch", resource, sub),
            }),
            "binding" | "eviction" => json!({"post": operation("post", resource, sub)}),
            "finalize" => json!({"put": operation("put", resource, sub)}),
            "log" => json!({"get": operation("get", resource, sub)}),
            "exec" | "portforward" => {
                json!({"get": operation("connect", resource, sub), "post": operation("connect", resource, sub)})
            }
            _ => continue,
        };
        path_item["parameters"] = scope_parameters(true);
        let (group, version, kind) = operation_kind(resource, sub);
        schemas
            .entry(schema_name(group, version, kind))
            .or_insert_with(|| permissive_schema(&format!("{kind} of {group}/{version}"), &[(group, version, kind)]));
        paths.insert(format!("{scoped}/{{name}}/{subresource}"), path_item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What kubectl's `supportsQueryParamV3` looks for: among the PATCH operations of the kind,
    /// the first one found must list the query parameter.
    fn patch_supports_field_validation(document: &Value, group: &str, version: &str, kind: &str) -> bool {
        let mut found = false;
        for path_item in document["paths"].as_object().unwrap().values() {
            let Some(patch) = path_item.get("patch") else { continue };
            let gvk = &patch["x-kubernetes-group-version-kind"];
            if gvk["group"] != group || gvk["version"] != version || gvk["kind"] != kind {
                continue;
            }
            let has = patch["parameters"].as_array().is_some_and(|parameters| {
                parameters.iter().any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
            });
            if !has {
                return false;
            }
            found = true;
        }
        found
    }

    #[test]
    fn the_root_lists_every_served_group_version_with_a_hashed_url() {
        let root = openapi_document("v3").unwrap();
        let paths = root["paths"].as_object().unwrap();
        for (group, version) in discovery::served_group_versions() {
            let key = group_version_key(group, version);
            let url = paths[&key]["serverRelativeURL"].as_str().unwrap();
            assert!(url.starts_with(&format!("/openapi/v3/{key}?hash=")), "{url}");
        }
        assert_eq!(paths.len(), discovery::served_group_versions().len());
    }

    #[test]
    fn every_stored_kind_supports_field_validation_on_patch() {
        for resource in kinds::RESOURCES.iter().filter(|resource| resource.stored) {
            let document = openapi_document(&format!("v3/{}", group_version_key(resource.group, resource.version)))
                .unwrap_or_else(|| panic!("{}", resource.api_version));
            assert!(
                patch_supports_field_validation(&document, resource.group, resource.version, resource.kind),
                "{} {}",
                resource.api_version,
                resource.kind
            );
        }
    }

    #[test]
    fn every_kind_has_a_schema_tagged_with_its_group_version_kind() {
        for resource in kinds::RESOURCES {
            let document =
                openapi_document(&format!("v3/{}", group_version_key(resource.group, resource.version))).unwrap();
            let schema =
                &document["components"]["schemas"][schema_name(resource.group, resource.version, resource.kind)];
            assert_eq!(schema["x-kubernetes-group-version-kind"][0]["kind"], resource.kind);
        }
    }

    #[test]
    fn patch_bodies_do_not_offer_strategic_merge_so_kubectl_uses_its_builtin_types() {
        let document = openapi_document("v3/apis/apps/v1").unwrap();
        let patch = &document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        let content = patch["requestBody"]["content"].as_object().unwrap();
        assert!(content.contains_key("application/merge-patch+json"));
        assert!(!content.contains_key("application/strategic-merge-patch+json"));
    }

    #[test]
    fn the_hash_is_stable_and_v2_and_unknown_paths_are_not_served() {
        assert_eq!(openapi_document("v3"), openapi_document("v3/"));
        assert_eq!(openapi_document("v2").unwrap()["swagger"], "2.0");
        assert_eq!(openapi_document("v3/apis/nosuch.io/v1"), None);
        assert_eq!(openapi_document("v3/api/v2"), None);
        assert_eq!(fnv1a_hex(b""), "CBF29CE484222325");
        assert_eq!(fnv1a_hex(b"a"), "AF63DC4C8601EC8C");
    }

    #[test]
    fn the_core_document_addresses_namespaced_and_cluster_scoped_objects() {
        let document = openapi_document("v3/api/v1").unwrap();
        let paths = document["paths"].as_object().unwrap();
        for path in [
            "/api/v1/namespaces/{namespace}/pods/{name}",
            "/api/v1/namespaces/{namespace}/pods/{name}/eviction",
            "/api/v1/nodes/{name}",
            "/api/v1/pods",
        ] {
            assert!(paths.contains_key(path), "{path}");
        }
        assert_eq!(
            paths["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"]["x-kubernetes-group-version-kind"]["group"],
            "policy"
        );
    }
}
