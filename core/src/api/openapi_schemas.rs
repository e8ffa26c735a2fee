//! The schemas of the OpenAPI documents: Kubernetes 1.32's definitions from the schema facts
//! (types, fields, required fields and every `x-kubernetes-*` extension) with the descriptions
//! of [`super::openapi_descriptions`], each document holding the definitions its kinds reach.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::object::kinds::{self, ResourceType};
use crate::object::schema_facts::{self, DEFINITION_REFERENCE_PREFIX, Schema};

/// Where OpenAPI v3 documents keep their schemas.
pub const COMPONENTS_REFERENCE_PREFIX: &str = "#/components/schemas/";

/// The definition name of a kind (`io.k8s.api.apps.v1.Deployment`), if the facts describe it.
pub fn definition_name(group: &str, version: &str, kind: &str) -> Option<&'static str> {
    schema_facts::kubernetes().definition_name_of_kind(group, version, kind)
}

/// The names of the definitions `roots` reach through `$ref`, the roots included, sorted.
pub fn reachable_definitions<'a>(roots: impl IntoIterator<Item = &'a str>) -> BTreeSet<&'static str> {
    let facts = schema_facts::kubernetes();
    let mut reached = BTreeSet::new();
    let mut pending: Vec<String> = roots.into_iter().map(str::to_string).collect();
    while let Some(name) = pending.pop() {
        let Some((name, schema)) = facts.definitions().get_key_value(name.as_str()) else { continue };
        if reached.insert(name.as_str()) {
            collect_references(schema, &mut pending);
        }
    }
    reached
}

fn collect_references(schema: &Schema, pending: &mut Vec<String>) {
    if let Some(name) =
        schema.reference.as_deref().and_then(|reference| reference.strip_prefix(DEFINITION_REFERENCE_PREFIX))
    {
        pending.push(name.to_string());
    }
    for child in schema.items.iter().chain(schema.additional_properties.iter()) {
        collect_references(child, pending);
    }
    for child in schema.properties.values() {
        collect_references(child, pending);
    }
}

/// The definitions named, as JSON, with references pointing under `reference_prefix`.
pub fn schemas(names: &BTreeSet<&'static str>, reference_prefix: &str) -> Map<String, Value> {
    let facts = schema_facts::kubernetes();
    let mut schemas = Map::new();
    for name in names {
        let Some(schema) = facts.definition(name) else { continue };
        let mut value = serde_json::to_value(schema).unwrap_or_default();
        super::openapi_descriptions::describe(name, &mut value);
        if reference_prefix != DEFINITION_REFERENCE_PREFIX {
            rewrite_references(&mut value, reference_prefix);
        }
        schemas.insert((*name).to_string(), value);
    }
    schemas
}

/// Points references under `reference_prefix` and, as Kubernetes' v3 documents do, wraps a
/// reference that has siblings (a field's description, its extensions) in `allOf`, where
/// OpenAPI 3.0 does not ignore them: `kubectl explain` then prints the field's description
/// before the referenced definition's.
fn rewrite_references(value: &mut Value, reference_prefix: &str) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref")
                && let Some(name) = reference.strip_prefix(DEFINITION_REFERENCE_PREFIX)
            {
                *reference = format!("{reference_prefix}{name}");
            }
            if map.len() > 1
                && let Some(reference) = map.shift_remove("$ref")
            {
                map.insert("allOf".into(), json!([{"$ref": reference}]));
            }
            map.values_mut().for_each(|child| rewrite_references(child, reference_prefix));
        }
        Value::Array(items) => items.iter_mut().for_each(|child| rewrite_references(child, reference_prefix)),
        _ => {}
    }
}

/// The kinds a resource's operations name: the resource's own and its subresources'.
pub fn kinds_of(resource: &ResourceType) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut found = vec![(resource.group, resource.version, resource.kind)];
    for subresource in resource.subresources {
        match *subresource {
            "scale" => found.push(("autoscaling", "v1", "Scale")),
            "eviction" => found.push(("policy", "v1", "Eviction")),
            "binding" => found.push(("", "v1", "Binding")),
            _ => {}
        }
    }
    found
}

/// `GET /openapi/v2`: one Swagger 2.0 document with the definitions of every served kind, for
/// clients that read v2 (`kubectl explain --output=plaintext-openapiv2`, older clients).
pub fn swagger_v2(version: &str) -> Value {
    let mut roots: Vec<&'static str> = kinds::RESOURCES
        .iter()
        .flat_map(kinds_of)
        .filter_map(|(group, version, kind)| definition_name(group, version, kind))
        .collect();
    roots.extend(["io.k8s.apimachinery.pkg.apis.meta.v1.Status", "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"]);
    let names = reachable_definitions(roots);
    let definitions: BTreeMap<String, Value> = schemas(&names, DEFINITION_REFERENCE_PREFIX).into_iter().collect();
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": version},
        "paths": {},
        "definitions": definitions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_reaches_the_pod_spec_and_object_meta() {
        let names = reachable_definitions(["io.k8s.api.apps.v1.Deployment"]);
        assert!(names.contains("io.k8s.api.core.v1.PodSpec"));
        assert!(names.contains("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
        assert!(!names.contains("io.k8s.api.batch.v1.Job"));
    }

    #[test]
    fn v2_describes_definitions_and_fields_beside_their_references() {
        let document = swagger_v2("v1.32.0");
        let spec = &document["definitions"]["io.k8s.api.apps.v1.DeploymentSpec"];
        assert_eq!(
            spec["description"],
            "DeploymentSpec is the specification of the desired behavior of the Deployment."
        );
        let strategy = &spec["properties"]["strategy"];
        assert_eq!(strategy["$ref"], "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy");
        assert_eq!(strategy["description"], "The deployment strategy to use to replace existing pods with new ones.");
        let rolling = &document["definitions"]["io.k8s.api.apps.v1.DeploymentStrategy"]["properties"];
        assert!(rolling["type"]["description"].as_str().is_some_and(|text| text.starts_with("Type of deployment.")));
    }

    /// Kubernetes' v3 documents wrap a reference with siblings in `allOf`, as
    /// `{"allOf": [{"$ref": …}], "description": …}`; a bare reference stays bare.
    #[test]
    fn v3_wraps_a_described_reference_in_all_of() {
        let names = reachable_definitions(["io.k8s.api.apps.v1.Deployment"]);
        let schemas = schemas(&names, COMPONENTS_REFERENCE_PREFIX);
        let strategy = &schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"];
        assert_eq!(strategy["allOf"], json!([{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy"}]));
        assert_eq!(strategy["description"], "The deployment strategy to use to replace existing pods with new ones.");
        assert!(strategy.get("$ref").is_none());
        let text = Value::Object(schemas).to_string();
        assert!(!text.contains("#/definitions/"), "every reference points under components");
    }

    #[test]
    fn v2_holds_every_served_kind_with_its_group_version_kind_and_resolvable_references() {
        let document = swagger_v2("v1.32.0");
        let definitions = document["definitions"].as_object().unwrap();
        for resource in kinds::RESOURCES {
            let name = definition_name(resource.group, resource.version, resource.kind)
                .unwrap_or_else(|| panic!("{} {}", resource.api_version, resource.kind));
            assert_eq!(definitions[name]["x-kubernetes-group-version-kind"][0]["kind"], resource.kind);
        }
        let text = document.to_string();
        for reference in text.split("\"$ref\":\"#/definitions/").skip(1) {
            let name = &reference[..reference.find('"').unwrap()];
            assert!(definitions.contains_key(name), "{name}");
        }
    }
}
