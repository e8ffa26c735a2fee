//! Objects walked with their schema, as structured-merge-diff walks typed values: the field set
//! an object sets, the fields that differ between two objects, and removing fields. Lists are
//! atomic, sets or maps by the schema facts; maps and structs are granular unless declared
//! atomic; values the schema does not describe are deduced from their shape (maps granular,
//! lists atomic).

use serde_json::{Map, Value};

use super::field_set::{FieldSet, Path, PathElement, display_path};
use crate::object::schema_facts::{ListType, Schema, SchemaFacts};

/// A list element the schema cannot identify (a `map` list element without its key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct TypedError {
    /// Where, as Kubernetes prints paths.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// What a node of an object is, by its schema and value.
#[derive(Clone, Copy)]
pub(super) enum Shape<'a> {
    /// A scalar, or a map or list owned whole.
    Leaf,
    /// A struct (declared fields) or a map (`additionalProperties`, or undescribed).
    Map { is_struct: bool },
    /// A set or a map list, whose elements are owned one by one.
    List { list_type: ListType<'a>, items: Option<&'a Schema> },
}

/// Default values of list-map keys a client may leave out (`protocol` of ports is `TCP`), as
/// Kubernetes' schemas declare them with `+default`.
const LIST_MAP_KEY_DEFAULTS: [(&str, &str); 1] = [("protocol", "TCP")];

/// The schema facts and the walks over them.
#[derive(Clone, Copy)]
pub struct Typed<'a> {
    facts: &'a SchemaFacts,
}

/// The fields two objects differ in.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Fields only the second object sets.
    pub added: FieldSet,
    /// Fields both set to different values.
    pub modified: FieldSet,
    /// Fields only the first object sets.
    pub removed: FieldSet,
}

impl<'a> Typed<'a> {
    /// Walks over these facts.
    pub fn new(facts: &'a SchemaFacts) -> Typed<'a> {
        Typed { facts }
    }

    pub(super) fn shape(&self, schema: Option<&'a Schema>, value: &Value) -> Shape<'a> {
        match value {
            Value::Object(_) => match schema {
                Some(schema) if self.facts.is_atomic_map(schema) => Shape::Leaf,
                Some(schema) => Shape::Map { is_struct: self.facts.is_struct(schema) },
                None => Shape::Map { is_struct: false },
            },
            Value::Array(_) => match schema {
                Some(schema) => match schema.list_type() {
                    ListType::Atomic => Shape::Leaf,
                    ListType::Map([]) => Shape::Leaf,
                    list_type => Shape::List { list_type, items: self.facts.items(schema) },
                },
                None => Shape::Leaf,
            },
            _ => Shape::Leaf,
        }
    }

    pub(super) fn child(&self, schema: Option<&'a Schema>, name: &str) -> Option<&'a Schema> {
        schema.and_then(|schema| self.facts.child(schema, name))
    }

    fn is_declared_field(&self, schema: Option<&'a Schema>, name: &str) -> bool {
        schema.and_then(|schema| self.facts.resolve(schema)).is_some_and(|parent| parent.properties.contains_key(name))
    }

    /// The path element of a list element: its keys for a map list, its value for a set.
    pub(super) fn element(
        &self,
        list_type: &ListType<'a>,
        item: &Value,
        path: &[PathElement],
    ) -> Result<PathElement, TypedError> {
        let error = |message: String| TypedError { path: display_path(path), message };
        match list_type {
            ListType::Map(keys) => {
                let Value::Object(map) = item else {
                    return Err(error("associative list with keys may not have non-map elements".into()));
                };
                let mut fields = Vec::with_capacity(keys.len());
                for key in keys.iter() {
                    let value = match map.get(key) {
                        Some(value) => value.clone(),
                        None => match LIST_MAP_KEY_DEFAULTS.iter().find(|(name, _)| name == key) {
                            Some((_, default)) => Value::from(*default),
                            None => {
                                return Err(error(format!(
                                    "associative list with keys has an element that omits key field {key:?} (and doesn't have default value)"
                                )));
                            }
                        },
                    };
                    fields.push((key.clone(), value));
                }
                fields.sort_by(|left, right| left.0.cmp(&right.0));
                Ok(PathElement::Key(fields))
            }
            _ => Ok(PathElement::Value(item.clone())),
        }
    }

    /// The fields `value` sets below its own node (structured-merge-diff's `ToFieldSet`): every
    /// scalar, atomic value, list element and map entry, but not the structs on the way.
    pub fn field_set(&self, schema: Option<&'a Schema>, value: &Value) -> Result<FieldSet, TypedError> {
        let mut set = FieldSet::new();
        self.field_set_into(schema, value, &mut Vec::new(), &mut set)?;
        Ok(set)
    }

    fn field_set_into(
        &self,
        schema: Option<&'a Schema>,
        value: &Value,
        path: &mut Path,
        set: &mut FieldSet,
    ) -> Result<(), TypedError> {
        match (self.shape(schema, value), value) {
            (Shape::Leaf, _) => {}
            (Shape::Map { is_struct }, Value::Object(map)) => {
                for (key, child) in map {
                    let element = PathElement::Field(key.clone());
                    let child_schema = self.child(schema, key);
                    let mut below = FieldSet::new();
                    path.push(element.clone());
                    self.field_set_into(child_schema, child, path, &mut below)?;
                    path.pop();
                    let empty = child.is_null() || child.as_object().is_some_and(Map::is_empty);
                    let leaf = matches!(self.shape(child_schema, child), Shape::Leaf);
                    if leaf || empty || !is_struct || !self.is_declared_field(schema, key) {
                        set.insert_member(element.clone());
                    }
                    if !below.is_empty() {
                        *set.child_mut(element) = below;
                    }
                }
            }
            (Shape::List { list_type, items }, Value::Array(list)) => {
                for item in list {
                    let element = self.element(&list_type, item, path)?;
                    let mut below = FieldSet::new();
                    path.push(element.clone());
                    self.field_set_into(items, item, path, &mut below)?;
                    path.pop();
                    set.insert_member(element.clone());
                    if !below.is_empty() {
                        *set.child_mut(element) = below;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The fields that differ between `left` and `right` (structured-merge-diff's `Compare`):
    /// leaves added, changed or removed, and maps, lists and elements that appear or go.
    pub fn compare(&self, schema: Option<&'a Schema>, left: &Value, right: &Value) -> Result<Comparison, TypedError> {
        let mut comparison = Comparison::default();
        self.compare_node(schema, Some(left), Some(right), &mut Vec::new(), &mut comparison)?;
        Ok(comparison)
    }

    fn compare_node(
        &self,
        schema: Option<&'a Schema>,
        left: Option<&Value>,
        right: Option<&Value>,
        path: &mut Path,
        comparison: &mut Comparison,
    ) -> Result<(), TypedError> {
        if left == right {
            return Ok(());
        }
        let shape = match (left, right) {
            (Some(left), Some(right)) if std::mem::discriminant(left) != std::mem::discriminant(right) => {
                let both_granular = matches!((left, right), (Value::Null, _) | (_, Value::Null));
                if both_granular { self.shape(schema, if left.is_null() { right } else { left }) } else { Shape::Leaf }
            }
            (Some(value), _) | (None, Some(value)) => self.shape(schema, value),
            (None, None) => return Ok(()),
        };
        let is_empty = |value: Option<&Value>| match value {
            None | Some(Value::Null) => true,
            Some(Value::Object(map)) => map.is_empty(),
            Some(Value::Array(list)) => list.is_empty(),
            Some(_) => false,
        };
        let leaf = matches!(shape, Shape::Leaf) || (is_empty(left) && is_empty(right));
        if leaf {
            let target = match (left, right) {
                (None, _) => &mut comparison.added,
                (_, None) => &mut comparison.removed,
                _ => &mut comparison.modified,
            };
            target.insert(path);
            return Ok(());
        }
        match shape {
            Shape::Map { .. } => {
                let empty = Map::new();
                let left_map = left.and_then(Value::as_object).unwrap_or(&empty);
                let right_map = right.and_then(Value::as_object).unwrap_or(&empty);
                for (key, left_child) in left_map {
                    path.push(PathElement::Field(key.clone()));
                    self.compare_node(self.child(schema, key), Some(left_child), right_map.get(key), path, comparison)?;
                    path.pop();
                }
                for (key, right_child) in right_map.iter().filter(|(key, _)| !left_map.contains_key(*key)) {
                    path.push(PathElement::Field(key.clone()));
                    self.compare_node(self.child(schema, key), None, Some(right_child), path, comparison)?;
                    path.pop();
                }
            }
            Shape::List { list_type, items } => {
                let left_items = self.index_elements(&list_type, left, path)?;
                let mut right_items = self.index_elements(&list_type, right, path)?;
                for (element, left_child) in left_items {
                    let right_child = right_items.shift_remove(&element);
                    path.push(element);
                    self.compare_node(items, Some(left_child), right_child, path, comparison)?;
                    path.pop();
                }
                for (element, right_child) in right_items {
                    path.push(element);
                    self.compare_node(items, None, Some(right_child), path, comparison)?;
                    path.pop();
                }
            }
            Shape::Leaf => {}
        }
        match (left, right) {
            (None, _) => comparison.added.insert(path),
            (_, None) => comparison.removed.insert(path),
            _ => {}
        }
        Ok(())
    }

    /// The elements of a list by path element, the first of duplicates winning.
    pub(super) fn index_elements<'v>(
        &self,
        list_type: &ListType<'a>,
        list: Option<&'v Value>,
        path: &[PathElement],
    ) -> Result<indexmap::IndexMap<PathElement, &'v Value>, TypedError> {
        let mut indexed = indexmap::IndexMap::new();
        for item in list.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
            let element = self.element(list_type, item, path)?;
            indexed.entry(element).or_insert(item);
        }
        Ok(indexed)
    }

    /// `set` with every declared struct field on the way to a member made a member too
    /// (structured-merge-diff's `EnsureNamedFieldsAreMembers`).
    pub fn ensure_named_fields_are_members(&self, schema: Option<&'a Schema>, set: &FieldSet) -> FieldSet {
        let mut result = set.clone();
        for (element, child) in set.children() {
            let child_schema = match element {
                PathElement::Field(name) => {
                    if self.is_declared_field(schema, name) {
                        result.insert_member(element.clone());
                    }
                    self.child(schema, name)
                }
                _ => schema.and_then(|schema| self.facts.items(schema)),
            };
            *result.child_mut(element.clone()) = self.ensure_named_fields_are_members(child_schema, child);
        }
        result
    }

    /// Removes from `value` every member of `set` (with all it holds) (structured-merge-diff's
    /// `RemoveItems`).
    pub fn remove_items(&self, schema: Option<&'a Schema>, value: &mut Value, set: &FieldSet) {
        match (self.shape(schema, value), value) {
            (Shape::Map { .. }, Value::Object(map)) => {
                map.retain(|key, _| !set.has_member(&PathElement::Field(key.clone())));
                for (key, child) in map.iter_mut() {
                    if let Some(below) = set.child(&PathElement::Field(key.clone())) {
                        self.remove_items(self.child(schema, key), child, below);
                    }
                }
            }
            (Shape::List { list_type, items }, Value::Array(list)) => {
                list.retain(|item| {
                    self.element(&list_type, item, &[]).map_or(true, |element| !set.has_member(&element))
                });
                for item in list.iter_mut() {
                    if let Ok(element) = self.element(&list_type, item, &[])
                        && let Some(below) = set.child(&element)
                    {
                        self.remove_items(items, item, below);
                    }
                }
            }
            _ => {}
        }
    }
}
