//! The descriptions of Kubernetes' definitions and their fields, as the OpenAPI documents carry
//! them for `kubectl explain`: taken from k8s-openapi's JSON schemas (its `schemars` feature),
//! which hold the text of Kubernetes' own documents; the schema facts hold none.
//!
//! k8s-openapi's schemas are Kubernetes 1.33's, the facts 1.32's: a field's description may say
//! what 1.33 says about it, and a field 1.33 dropped has none.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use k8s_openapi::schemars::SchemaGenerator;
use serde_json::{Map, Value};

use crate::object::kinds::{self, add_json_schema};

/// The description of one definition and of each of its fields.
#[derive(Debug, Default, PartialEq)]
pub struct Description {
    /// What the definition is.
    pub text: Option<String>,
    /// Each field's description, by JSON name.
    pub properties: BTreeMap<String, String>,
}

/// Every description, by definition name (`io.k8s.api.apps.v1.DeploymentSpec`), generated on
/// first use: the walk over k8s-openapi's schemas is paid by the first OpenAPI request, not by
/// every one.
static DESCRIPTIONS: LazyLock<BTreeMap<String, Description>> = LazyLock::new(generate);

/// The description of a definition, if k8s-openapi describes it.
pub fn description(name: &str) -> Option<&'static Description> {
    DESCRIPTIONS.get(name)
}

/// Adds the descriptions of definition `name` to its schema: on the schema itself and on each
/// of its properties. Descriptions already present are kept.
pub fn describe(name: &str, schema: &mut Value) {
    let (Some(found), Value::Object(object)) = (description(name), schema) else { return };
    if let Some(text) = &found.text {
        object.entry("description").or_insert_with(|| Value::String(text.clone()));
    }
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        for (field, property) in properties.iter_mut() {
            if let (Some(text), Value::Object(property)) = (found.properties.get(field), property) {
                property.entry("description").or_insert_with(|| Value::String(text.clone()));
            }
        }
    }
}

fn generate() -> BTreeMap<String, Description> {
    let mut generator = SchemaGenerator::default();
    for resource in kinds::RESOURCES {
        (resource.add_json_schema)(&mut generator);
    }
    // The kinds of subresources and the meta kinds every document names.
    add_json_schema::<k8s_openapi::api::autoscaling::v1::Scale>(&mut generator);
    add_json_schema::<k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>(&mut generator);
    add_json_schema::<k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions>(&mut generator);
    generator.definitions().iter().map(|(name, schema)| (name.clone(), description_of(schema))).collect()
}

fn description_of(schema: &Value) -> Description {
    let text_of = |value: &Value| value.get("description").and_then(Value::as_str).map(str::to_string);
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties: &Map<String, Value>| {
            properties.iter().filter_map(|(field, property)| Some((field.clone(), text_of(property)?))).collect()
        })
        .unwrap_or_default();
    Description { text: text_of(schema), properties }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_spec_is_described_with_each_of_its_fields() {
        let spec = description("io.k8s.api.apps.v1.DeploymentSpec").expect("DeploymentSpec is described");
        assert!(spec.text.as_deref().is_some_and(|text| text.starts_with("DeploymentSpec is the specification")));
        assert_eq!(
            spec.properties.get("strategy").map(String::as_str),
            Some("The deployment strategy to use to replace existing pods with new ones.")
        );
        for field in ["replicas", "selector", "template", "minReadySeconds", "paused"] {
            assert!(spec.properties.contains_key(field), "{field}");
        }
    }

    #[test]
    fn definitions_reached_only_through_fields_are_described_too() {
        let strategy = description("io.k8s.api.apps.v1.RollingUpdateDeployment").expect("reached through strategy");
        assert!(strategy.properties.contains_key("maxSurge"));
        assert!(description("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta").is_some());
        assert!(description("io.k8s.api.autoscaling.v1.Scale").is_some());
    }

    #[test]
    fn describing_keeps_a_description_already_there_and_skips_unknown_fields() {
        let mut schema = serde_json::json!({"type": "object", "description": "mine",
            "properties": {"strategy": {"$ref": "x"}, "unheardOf": {"type": "string"}}});
        describe("io.k8s.api.apps.v1.DeploymentSpec", &mut schema);
        assert_eq!(schema["description"], "mine");
        assert_eq!(
            schema["properties"]["strategy"]["description"],
            "The deployment strategy to use to replace existing pods with new ones."
        );
        assert!(schema["properties"]["unheardOf"].get("description").is_none());
    }
}
