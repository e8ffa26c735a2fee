//! The schema facts of the Kubernetes API types: for every type of Kubernetes' published 1.32
//! OpenAPI document, its fields and their types, and the extensions that steer server-side apply
//! and strategic merge patch (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`,
//! `x-kubernetes-map-type`, `x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`) and
//! kubectl (`x-kubernetes-group-version-kind`).
//!
//! The facts are the document's `definitions` with every description removed, generated into
//! `kubernetes-1.32.json` by the test in `generate.rs` (which also checks that the committed file
//! is up to date) and parsed once, on first use (about 250 KB, a few milliseconds).

#[cfg(test)]
mod generate;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// The generated facts of Kubernetes 1.32.
const KUBERNETES_FACTS_JSON: &str = include_str!("kubernetes-1.32.json");

/// The prefix of a reference to another definition.
pub const DEFINITION_REFERENCE_PREFIX: &str = "#/definitions/";

/// One schema of the OpenAPI v2 document: a definition or one of its fields, without prose.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// A reference to a definition: `#/definitions/io.k8s.api.core.v1.Container`.
    #[serde(rename = "$ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `object`, `array`, `string`, `integer`, `number` or `boolean`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// `int32`, `date-time`, `int-or-string`, `byte`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The schema of a list's elements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<Schema>>,
    /// The schema of a map's values (`labels`: strings).
    #[serde(rename = "additionalProperties", default, skip_serializing_if = "Option::is_none")]
    pub additional_properties: Option<Box<Schema>>,
    /// The fields of a struct, by JSON name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Schema>,
    /// The fields a struct must carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    /// The kinds whose top-level object this definition describes.
    #[serde(rename = "x-kubernetes-group-version-kind", default, skip_serializing_if = "Vec::is_empty")]
    pub group_version_kinds: Vec<GroupVersionKind>,
    /// `atomic`, `set` or `map`.
    #[serde(rename = "x-kubernetes-list-type", default, skip_serializing_if = "Option::is_none")]
    pub list_type: Option<String>,
    /// The fields that identify an element of a `map` list.
    #[serde(rename = "x-kubernetes-list-map-keys", default, skip_serializing_if = "Vec::is_empty")]
    pub list_map_keys: Vec<String>,
    /// `atomic` or `granular`.
    #[serde(rename = "x-kubernetes-map-type", default, skip_serializing_if = "Option::is_none")]
    pub map_type: Option<String>,
    /// Strategic merge patch: `merge`, `replace`, `retainKeys` or `merge,retainKeys`.
    #[serde(rename = "x-kubernetes-patch-strategy", default, skip_serializing_if = "Option::is_none")]
    pub patch_strategy: Option<String>,
    /// Strategic merge patch: the field that identifies an element of a merged list.
    #[serde(rename = "x-kubernetes-patch-merge-key", default, skip_serializing_if = "Option::is_none")]
    pub patch_merge_key: Option<String>,
    /// Unions of fields (a discriminator and the fields it selects), as published.
    #[serde(rename = "x-kubernetes-unions", default, skip_serializing_if = "Option::is_none")]
    pub unions: Option<serde_json::Value>,
}

/// A group, version and kind, as `x-kubernetes-group-version-kind` lists them.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupVersionKind {
    /// The API group; empty for the core group.
    pub group: String,
    /// The kind.
    pub kind: String,
    /// The version.
    pub version: String,
}

/// How server-side apply treats a list (structured-merge-diff's element relationship).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType<'a> {
    /// Replaced whole; owned as one field.
    Atomic,
    /// A set of scalars; each value owned on its own (`v:"foo"`).
    Set,
    /// A list of maps identified by these keys; each element owned on its own (`k:{...}`).
    Map(&'a [String]),
}

/// How strategic merge patch treats a field (`patchStrategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchStrategy {
    /// Maps merge recursively; lists are replaced whole.
    Default,
    /// Lists merge: lists of maps by their merge key, lists of scalars as sets.
    Merge,
    /// The patch value replaces the field whole, even a map.
    Replace,
}

/// The schema facts of a set of types, by definition name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SchemaFacts {
    definitions: BTreeMap<String, Schema>,
    by_kind: BTreeMap<(String, String, String), String>,
}

static KUBERNETES: LazyLock<SchemaFacts> = LazyLock::new(|| {
    let definitions: BTreeMap<String, Schema> =
        serde_json::from_str(KUBERNETES_FACTS_JSON).expect("the generated schema facts are valid JSON");
    SchemaFacts::new(definitions)
});

/// The facts of Kubernetes 1.32's API types, parsed on first use.
pub fn kubernetes() -> &'static SchemaFacts {
    &KUBERNETES
}

impl SchemaFacts {
    /// Facts over these definitions (the OpenAPI v2 `definitions` map).
    pub fn new(definitions: BTreeMap<String, Schema>) -> SchemaFacts {
        let mut by_kind = BTreeMap::new();
        for (name, schema) in &definitions {
            for gvk in &schema.group_version_kinds {
                by_kind
                    .entry((gvk.group.clone(), gvk.version.clone(), gvk.kind.clone()))
                    .or_insert_with(|| name.clone());
            }
        }
        SchemaFacts { definitions, by_kind }
    }

    /// Every definition, by name.
    pub fn definitions(&self) -> &BTreeMap<String, Schema> {
        &self.definitions
    }

    /// The definition named `name` (`io.k8s.api.core.v1.Pod`).
    pub fn definition(&self, name: &str) -> Option<&Schema> {
        self.definitions.get(name)
    }

    /// The name of the definition of a kind's top-level object.
    pub fn definition_name_of_kind(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.by_kind.get(&(group.to_string(), version.to_string(), kind.to_string())).map(String::as_str)
    }

    /// The definition of an object with this `apiVersion` and `kind`.
    pub fn of_kind(&self, api_version: &str, kind: &str) -> Option<&Schema> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        self.definition_name_of_kind(group, version, kind).and_then(|name| self.definition(name))
    }

    /// The definition of a kind's top-level object in whichever group has the kind (the core group
    /// first), for callers that know only the kind.
    pub fn of_kind_any_version(&self, kind: &str) -> Option<&Schema> {
        let mut candidates = self.by_kind.iter().filter(|((_, _, candidate), _)| candidate == kind);
        candidates.next().and_then(|(_, name)| self.definition(name))
    }

    /// The schema a field points at: the referenced definition for a `$ref`, the field itself
    /// otherwise (an unknown reference resolves to nothing).
    pub fn resolve<'a>(&'a self, schema: &'a Schema) -> Option<&'a Schema> {
        match &schema.reference {
            Some(reference) => self.definition(reference.strip_prefix(DEFINITION_REFERENCE_PREFIX)?),
            None => Some(schema),
        }
    }

    /// The schema of the field `name` of a struct or the values of a map (resolved), or `None`
    /// when the type does not describe it.
    pub fn child<'a>(&'a self, schema: &'a Schema, name: &str) -> Option<&'a Schema> {
        let parent = self.resolve(schema)?;
        parent.properties.get(name).or(parent.additional_properties.as_deref())
    }

    /// The schema of a list's elements.
    pub fn items<'a>(&'a self, schema: &'a Schema) -> Option<&'a Schema> {
        self.resolve(schema)?.items.as_deref()
    }

    /// Whether a map or struct is owned and replaced whole (`x-kubernetes-map-type: atomic` on
    /// the field or on its type).
    pub fn is_atomic_map(&self, schema: &Schema) -> bool {
        let atomic = |schema: &Schema| schema.map_type.as_deref() == Some("atomic");
        atomic(schema) || self.resolve(schema).is_some_and(atomic)
    }

    /// Whether the schema is a struct with declared fields (as opposed to a map of values).
    pub fn is_struct(&self, schema: &Schema) -> bool {
        self.resolve(schema).is_some_and(|schema| !schema.properties.is_empty())
    }
}

impl Schema {
    /// How server-side apply treats this list field, as Kubernetes converts OpenAPI to
    /// structured-merge-diff: the list type when given; otherwise a strategic-merge `merge` list
    /// is a map keyed by its merge key (a set when it has none); otherwise atomic.
    pub fn list_type(&self) -> ListType<'_> {
        match self.list_type.as_deref() {
            Some("set") => return ListType::Set,
            Some("map") => return ListType::Map(&self.list_map_keys),
            Some(_) => return ListType::Atomic,
            None => {}
        }
        match (self.patch_strategy.as_deref(), &self.patch_merge_key) {
            (Some("merge" | "merge,retainKeys"), Some(key)) => ListType::Map(std::slice::from_ref(key)),
            (Some("merge" | "merge,retainKeys"), None) => ListType::Set,
            _ => ListType::Atomic,
        }
    }

    /// How strategic merge patch treats this field.
    pub fn patch_strategy(&self) -> PatchStrategy {
        let strategies = self.patch_strategy.as_deref().unwrap_or_default();
        if strategies.split(',').any(|strategy| strategy == "merge") {
            PatchStrategy::Merge
        } else if strategies.split(',').any(|strategy| strategy == "replace") {
            PatchStrategy::Replace
        } else {
            PatchStrategy::Default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ports_are_a_map_list_keyed_by_port_and_protocol_merged_by_port() {
        let facts = kubernetes();
        let container = facts.definition("io.k8s.api.core.v1.Container").unwrap();
        let ports = &container.properties["ports"];
        assert_eq!(ports.list_type(), ListType::Map(&["containerPort".to_string(), "protocol".to_string()]));
        assert_eq!(ports.patch_strategy(), PatchStrategy::Merge);
        assert_eq!(ports.patch_merge_key.as_deref(), Some("containerPort"));
        let port = facts.items(ports).and_then(|items| facts.resolve(items)).unwrap();
        assert!(port.properties.contains_key("protocol"));
    }

    #[test]
    fn kinds_find_their_definitions_and_fields_resolve_through_references() {
        let facts = kubernetes();
        let deployment = facts.of_kind("apps/v1", "Deployment").unwrap();
        let spec = facts.child(deployment, "spec").unwrap();
        let template = facts.child(spec, "template").unwrap();
        let pod_spec = facts.child(template, "spec").unwrap();
        assert_eq!(facts.child(pod_spec, "containers").unwrap().patch_merge_key.as_deref(), Some("name"));
        assert!(facts.of_kind("v1", "Pod").is_some());
        assert!(facts.of_kind("v1", "NoSuchKind").is_none());
        let labels = facts.child(facts.child(deployment, "metadata").unwrap(), "labels").unwrap();
        assert!(!facts.is_struct(labels));
        assert_eq!(facts.child(labels, "app").and_then(|value| value.type_name.as_deref()), Some("string"));
    }

    #[test]
    fn service_account_secrets_merge_by_name_and_selectors_are_atomic() {
        // ServiceAccount.secrets was missing from the hand-written table this replaces.
        let facts = kubernetes();
        let account = facts.of_kind("v1", "ServiceAccount").unwrap();
        assert_eq!(account.properties["secrets"].patch_merge_key.as_deref(), Some("name"));
        let selector = facts.child(facts.of_kind("apps/v1", "Deployment").unwrap(), "spec").unwrap();
        assert!(facts.is_atomic_map(&facts.resolve(selector).unwrap().properties["selector"]));
        let pod_spec = facts.definition("io.k8s.api.core.v1.PodSpec").unwrap();
        assert!(facts.is_atomic_map(&pod_spec.properties["nodeSelector"]));
        assert_eq!(pod_spec.properties["tolerations"].list_type(), ListType::Atomic);
        let meta = facts.definition("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta").unwrap();
        assert_eq!(meta.properties["finalizers"].list_type(), ListType::Set);
    }
}
