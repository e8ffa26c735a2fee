//! Which lists strategic merge patch merges and by which key, read from the schema facts
//! (`x-kubernetes-patch-strategy` and `x-kubernetes-patch-merge-key` of Kubernetes' published
//! OpenAPI document, see [`crate::object::schema_facts`]).
//!
//! Fields the schema does not describe get the default: maps merge key by key, lists are
//! replaced whole.

use serde_json::Value;

use crate::object::schema_facts::{self, Schema, SchemaFacts};

pub use crate::object::schema_facts::PatchStrategy;

/// The patch metadata of one field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldPatchMeta<'a> {
    /// How the field is patched.
    pub strategy: PatchStrategy,
    /// For lists of maps merged by key: the key (`name`, `containerPort`).
    pub merge_key: Option<&'a str>,
    /// For lists of maps: every field that identifies an element for server-side apply
    /// (`containerPort` and `protocol`), which keeps 53/UDP and 53/TCP two elements.
    pub list_map_keys: &'a [String],
    /// The schema of the field's value, or of its list elements.
    pub value_type: Option<&'a Schema>,
}

impl FieldPatchMeta<'_> {
    /// A field with no schema: maps merge, lists are replaced whole.
    pub const DEFAULT: Self =
        Self { strategy: PatchStrategy::Default, merge_key: None, list_map_keys: &[], value_type: None };
}

/// The schema facts a strategic merge patch walks.
#[derive(Clone, Copy, Debug)]
pub struct PatchSchema<'a> {
    facts: &'a SchemaFacts,
}

impl<'a> PatchSchema<'a> {
    /// A patch schema over these facts.
    pub fn new(facts: &'a SchemaFacts) -> PatchSchema<'a> {
        PatchSchema { facts }
    }

    /// The patch schema of the Kubernetes API types.
    pub fn kubernetes() -> PatchSchema<'static> {
        PatchSchema { facts: schema_facts::kubernetes() }
    }

    /// The top-level schema of an object of `kind`, found by the `apiVersion` the original or the
    /// patch carries, or by the kind alone.
    pub fn root_of(&self, original: &Value, patch: &Value, kind: &str) -> Option<&'a Schema> {
        let api_version = [original, patch].into_iter().find_map(|value| value.get("apiVersion")?.as_str());
        api_version
            .and_then(|api_version| self.facts.of_kind(api_version, kind))
            .or_else(|| self.facts.of_kind_any_version(kind))
    }

    /// The definition named `name`.
    pub fn definition(&self, name: &str) -> Option<&'a Schema> {
        self.facts.definition(name)
    }

    /// The patch metadata of `field` in a map of schema `parent`; the default for fields the
    /// schema does not describe.
    pub fn field(&self, parent: Option<&'a Schema>, field: &str) -> FieldPatchMeta<'a> {
        let Some(schema) = parent.and_then(|parent| self.facts.child(parent, field)) else {
            return FieldPatchMeta::DEFAULT;
        };
        let is_list = schema.items.is_some() || schema.type_name.as_deref() == Some("array");
        let value_type = if is_list { self.facts.items(schema) } else { Some(schema) };
        FieldPatchMeta {
            strategy: schema.patch_strategy(),
            merge_key: schema.patch_merge_key.as_deref(),
            list_map_keys: if schema.list_type.as_deref() == Some("map") { &schema.list_map_keys } else { &[] },
            value_type,
        }
    }
}
