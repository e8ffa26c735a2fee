//! Strategic merge patch as `k8s.io/apimachinery/pkg/util/strategicpatch` applies it on the
//! server: maps merge recursively, `null` deletes, lists merge by the key the schema declares (or
//! as sets, or are replaced whole), and the directives `$patch`, `$retainKeys`,
//! `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` steer the merge.
//!
//! Values the patch adds where the original has nothing are cleaned the same way (merged onto
//! nothing), so no directive or `null` ever reaches a stored object; Kubernetes gets the same
//! effect by decoding the result into typed structs.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::error::{PatchError, json_type_name};
use super::strategic_schema::{FieldPatchMeta, PatchSchema, PatchStrategy};
use crate::object::schema_facts::Schema;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder";
const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList";

/// Applies a strategic merge patch to an object of `kind`, with the merge keys of the Kubernetes
/// API types. A `null` original counts as an empty object.
pub fn apply_strategic_merge_patch(original: &Value, patch: &Value, kind: &str) -> Result<Value, PatchError> {
    let schema = PatchSchema::kubernetes();
    let root = schema.root_of(original, patch, kind);
    merge_with_root(original, patch, schema, root)
}

/// Applies a strategic merge patch whose top-level object is the definition `root_type` of
/// `schema` (any name the schema lacks means "no schema").
pub fn apply_strategic_merge_patch_with_schema(
    original: &Value,
    patch: &Value,
    schema: &PatchSchema,
    root_type: &str,
) -> Result<Value, PatchError> {
    merge_with_root(original, patch, *schema, schema.definition(root_type))
}

fn merge_with_root<'a>(
    original: &Value,
    patch: &Value,
    schema: PatchSchema<'a>,
    root: Option<&'a Schema>,
) -> Result<Value, PatchError> {
    let original = match original {
        Value::Null => Map::new(),
        Value::Object(map) => map.clone(),
        other => return Err(PatchError::OriginalNotAnObject { found: json_type_name(other) }),
    };
    let Value::Object(patch) = patch else {
        return Err(PatchError::PatchNotAnObject { found: json_type_name(patch) });
    };
    let merger = Merger { schema };
    merger.merge_map(original, patch.clone(), root).map(Value::Object)
}

/// Walks original and patch together, carrying the schema.
struct Merger<'a> {
    schema: PatchSchema<'a>,
}

/// A merged list, and the original order its elements are interleaved by when a
/// `$setElementOrder` applies to it.
struct MergedList {
    list: Vec<Value>,
    server_order: Vec<Value>,
}

/// An element of a merged list, compared by merge key (lists of maps) or whole (scalars).
#[derive(Clone, Copy)]
struct ListIdentity<'a> {
    merge_key: Option<&'a str>,
}

impl ListIdentity<'_> {
    /// What identifies `item` in its list.
    fn of(self, item: &Value) -> Option<&Value> {
        match (self.merge_key, item) {
            (Some(key), Value::Object(map)) => map.get(key),
            (_, item) => Some(item),
        }
    }

    fn same(self, left: &Value, right: &Value) -> bool {
        match (self.of(left), self.of(right)) {
            (Some(left), Some(right)) => left == right,
            _ => false,
        }
    }

    /// What identifies `item`, as a hashable text (see [`canonical`]); none if it cannot be
    /// identified (a map without the merge key), which matches nothing.
    fn key(self, item: &Value) -> Option<String> {
        self.of(item).map(canonical)
    }

    /// The position of the first element of `list` with each identity, so that finding an
    /// element costs a hash lookup rather than a scan (a 60,000-entry list stays linear).
    fn first_positions(self, list: &[Value]) -> HashMap<String, usize> {
        let mut positions = HashMap::with_capacity(list.len());
        for (index, item) in list.iter().enumerate() {
            if let Some(key) = self.key(item) {
                positions.entry(key).or_insert(index);
            }
        }
        positions
    }
}

/// Where the elements of a list of maps are, by merge key, so that finding the element a patch
/// element merges into costs a hash lookup (a 60,000-entry list stays linear).
struct ElementPositions {
    by_merge_key: HashMap<String, Vec<usize>>,
}

impl ElementPositions {
    fn new(list: &[Value], merge_key: &str) -> ElementPositions {
        let mut positions = ElementPositions { by_merge_key: HashMap::with_capacity(list.len()) };
        for (index, item) in list.iter().enumerate() {
            if let Some(key) = item.get(merge_key) {
                positions.add(canonical(key), index);
            }
        }
        positions
    }

    fn add(&mut self, merge_key: String, index: usize) {
        self.by_merge_key.entry(merge_key).or_default().push(index);
    }

    /// The element `item` merges into: the first with its merge key whose other list-map keys
    /// (`protocol` beside `containerPort`) agree with those the item gives. So 53/UDP and 53/TCP
    /// stay two elements, while an item that leaves `protocol` out still finds its element.
    fn find(&self, list: &[Value], item: &Value, merge_key: &str, list_map_keys: &[String]) -> Option<usize> {
        let candidates = self.by_merge_key.get(merge_key)?;
        candidates.iter().copied().find(|index| {
            list_map_keys.iter().all(|key| match (item.get(key), list[*index].get(key)) {
                (Some(wanted), Some(found)) => wanted == found,
                _ => true,
            })
        })
    }
}

/// A text equal for two values exactly when the values are equal (`==`): compact JSON with map
/// keys sorted, since maps compare without regard to key order.
fn canonical(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|left, right| left.0.cmp(right.0));
                out.push('{');
                for (index, (key, item)) in entries.into_iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(item, out);
                }
                out.push('}');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

impl<'a> Merger<'a> {
    fn merge_map(
        &self,
        mut original: Map<String, Value>,
        mut patch: Map<String, Value>,
        type_name: Option<&'a Schema>,
    ) -> Result<Map<String, Value>, PatchError> {
        if let Some(directive) = patch.get(DIRECTIVE) {
            match directive.as_str() {
                Some("replace") => {
                    patch.shift_remove(DIRECTIVE);
                    return self.merge_map(Map::new(), patch, type_name);
                }
                Some("delete") => return Ok(Map::new()),
                Some("merge") => {
                    patch.shift_remove(DIRECTIVE);
                }
                _ => {
                    return Err(PatchError::UnknownDirective {
                        directive: directive_text(directive),
                        map: Value::Object(patch).to_string(),
                    });
                }
            }
        }
        apply_retain_keys(&mut original, &mut patch)?;
        self.merge_ordered_lists(&mut original, &mut patch, type_name)?;
        for (key, patch_value) in patch {
            let (key, is_delete_list) = match key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
                Some(rest) => {
                    let list = rest.strip_prefix('/').ok_or(PatchError::InvalidDeleteFromPrimitiveList)?;
                    if !patch_value.is_array() {
                        return Err(PatchError::InvalidDeleteFromPrimitiveList);
                    }
                    (list.to_string(), true)
                }
                None => (key, false),
            };
            if patch_value.is_null() {
                original.shift_remove(&key);
                continue;
            }
            let meta = self.schema.field(type_name, &key);
            let Some(current) = original.get_mut(&key) else {
                if !is_delete_list {
                    original.insert(key, self.clean(patch_value, meta)?);
                }
                continue;
            };
            let merged = match (current.take(), patch_value) {
                (Value::Array(current), Value::Array(deletions)) if is_delete_list => {
                    let deletions: HashSet<String> = deletions.iter().map(canonical).collect();
                    Value::Array(current.into_iter().filter(|item| !deletions.contains(&canonical(item))).collect())
                }
                (current, _) if is_delete_list => current,
                (Value::Object(current), Value::Object(patch_map)) if meta.strategy != PatchStrategy::Replace => {
                    Value::Object(self.merge_map(current, patch_map, meta.value_type)?)
                }
                (Value::Array(current), Value::Array(patch_list)) if meta.strategy == PatchStrategy::Merge => {
                    Value::Array(self.merge_list(current, patch_list, meta)?)
                }
                (_, patch_value) => self.clean(patch_value, meta)?,
            };
            *current = merged;
        }
        Ok(original)
    }

    /// A patch value placed where the original has nothing: merged onto nothing, which drops
    /// `null`s and applies directives.
    fn clean(&self, value: Value, meta: FieldPatchMeta<'a>) -> Result<Value, PatchError> {
        match value {
            Value::Object(map) => Ok(Value::Object(self.merge_map(Map::new(), map, meta.value_type)?)),
            Value::Array(items) if meta.strategy == PatchStrategy::Merge => {
                Ok(Value::Array(self.merge_list(Vec::new(), items, meta)?))
            }
            Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::Object(map) => Ok(Value::Object(self.merge_map(Map::new(), map, meta.value_type)?)),
                    other => Ok(other),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other),
        }
    }

    /// Merges a list declared `merge`: scalars as a set, maps by merge key, honouring
    /// `$patch: delete` and `$patch: replace` elements; then orders patch elements as the patch
    /// does and the others as the original does.
    fn merge_list(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        meta: FieldPatchMeta<'a>,
    ) -> Result<Vec<Value>, PatchError> {
        self.merge_list_with_order(original, patch, meta).map(|merged| merged.list)
    }

    /// [`Self::merge_list`], also returning the original order a `$setElementOrder` interleaves by.
    fn merge_list_with_order(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        meta: FieldPatchMeta<'a>,
    ) -> Result<MergedList, PatchError> {
        if original.is_empty() && patch.is_empty() {
            return Ok(MergedList { server_order: Vec::new(), list: original });
        }
        let elements = element_type(&original, &patch)?;
        if elements != "map" {
            let identity = ListIdentity { merge_key: None };
            let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
            let mut seen = HashSet::with_capacity(original.len() + patch.len());
            for item in original.iter().chain(&patch) {
                if seen.insert(canonical(item)) {
                    merged.push(item.clone());
                }
            }
            let list = order_like_patch(merged, &patch, &original, identity);
            return Ok(MergedList { server_order: original, list });
        }
        let merge_key = meta.merge_key.ok_or(PatchError::ListOfMapsWithoutMergeKey)?;
        let identity = ListIdentity { merge_key: Some(merge_key) };
        let original_length = original.len();
        let (server_order, plain, replaced) = self.apply_list_directives(original, patch, merge_key, meta)?;
        let mut merged = server_order.clone();
        let mut positions = ElementPositions::new(&merged, merge_key);
        for item in &plain {
            let key_value = merge_key_value(item, merge_key)?;
            let found = positions.find(&merged, item, &canonical(key_value), meta.list_map_keys);
            match (found, item) {
                (Some(index), Value::Object(patch_map)) => {
                    // element_type() has checked that every element is a map.
                    let current = match merged[index].take() {
                        Value::Object(current) => current,
                        _ => Map::new(),
                    };
                    merged[index] = Value::Object(self.merge_map(current, patch_map.clone(), meta.value_type)?);
                }
                _ => {
                    let cleaned =
                        self.clean(item.clone(), FieldPatchMeta { strategy: PatchStrategy::Default, ..meta })?;
                    if let Some(key) = identity.key(&cleaned) {
                        positions.add(key, merged.len());
                    }
                    merged.push(cleaned);
                }
            }
        }
        for item in server_order.iter().chain(&plain) {
            merge_key_value(item, merge_key)?;
        }
        // Kubernetes deletes elements in place and appends new ones to the same Go slice, so the
        // "original order" that $setElementOrder later interleaves by sees the first appended
        // elements in the slots the deleted ones freed. Reproduce that, as kubectl users see it.
        let deleted = if replaced { 0 } else { original_length - server_order.len() };
        let appended = merged.iter().skip(server_order.len()).take(deleted).cloned();
        let aliased_order: Vec<Value> = server_order.iter().cloned().chain(appended).collect();
        let list = order_like_patch(merged, &plain, &server_order, identity);
        Ok(MergedList { server_order: aliased_order, list })
    }

    /// Applies the `$patch` elements of a list of maps: returns the original list after
    /// deletions (or the cleaned replacement) and the patch elements left to merge.
    fn apply_list_directives(
        &self,
        mut original: Vec<Value>,
        patch: Vec<Value>,
        merge_key: &'a str,
        meta: FieldPatchMeta<'a>,
    ) -> Result<(Vec<Value>, Vec<Value>, bool), PatchError> {
        let mut plain = Vec::with_capacity(patch.len());
        let mut replace = false;
        let mut deleted = HashSet::new();
        for item in patch {
            match item.get(DIRECTIVE) {
                None => plain.push(item),
                Some(directive) => match directive.as_str() {
                    Some("delete") => {
                        deleted.insert(canonical(merge_key_value(&item, merge_key)?));
                    }
                    Some("replace") => replace = true,
                    Some("merge") => return Err(PatchError::MergeDirectiveInList),
                    _ => {
                        return Err(PatchError::UnknownDirective {
                            directive: directive_text(directive),
                            map: item.to_string(),
                        });
                    }
                },
            }
        }
        if !deleted.is_empty() {
            original.retain(|candidate| candidate.get(merge_key).is_none_or(|key| !deleted.contains(&canonical(key))));
        }
        if !replace {
            return Ok((original, plain, false));
        }
        let element_meta = FieldPatchMeta { strategy: PatchStrategy::Default, ..meta };
        let replacement = plain.into_iter().map(|item| self.clean(item, element_meta)).collect::<Result<_, _>>()?;
        Ok((replacement, Vec::new(), true))
    }

    /// Handles every `$setElementOrder/<list>` of a patch map: merges that list with its patch
    /// list (if any) and orders the result as the directive says, leaving elements the directive
    /// does not name in their original relative places.
    fn merge_ordered_lists(
        &self,
        original: &mut Map<String, Value>,
        patch: &mut Map<String, Value>,
        type_name: Option<&'a Schema>,
    ) -> Result<(), PatchError> {
        let directive_keys: Vec<String> =
            patch.keys().filter(|key| key.starts_with(SET_ELEMENT_ORDER_PREFIX)).cloned().collect();
        for directive_key in directive_keys {
            let Some(Value::Array(order)) = patch.shift_remove(&directive_key) else {
                return Err(PatchError::InvalidSetElementOrder);
            };
            let field = directive_key
                .strip_prefix(SET_ELEMENT_ORDER_PREFIX)
                .and_then(|rest| rest.strip_prefix('/'))
                .ok_or(PatchError::InvalidSetElementOrder)?;
            let original_list = list_field(original, field)?;
            let patch_list = list_field(patch, field)?;
            let meta = self.schema.field(type_name, field);
            let identity = ListIdentity { merge_key: meta.merge_key };
            validate_against_order(patch_list.as_deref().unwrap_or_default(), &order, identity)?;
            let merged = match (original_list, patch_list) {
                (None, None) => continue,
                (Some(original_list), None) => MergedList { server_order: original_list.clone(), list: original_list },
                (None, Some(patch_list)) => MergedList {
                    server_order: Vec::new(),
                    list: into_list(self.clean(Value::Array(patch_list), meta)?),
                },
                (Some(original_list), Some(patch_list)) if meta.strategy == PatchStrategy::Merge => {
                    self.merge_list_with_order(original_list, patch_list, meta)?
                }
                (Some(original_list), Some(patch_list)) => MergedList {
                    server_order: original_list,
                    list: into_list(self.clean(Value::Array(patch_list), meta)?),
                },
            };
            patch.shift_remove(field);
            let ordered = order_like_patch(merged.list, &order, &merged.server_order, identity);
            original.insert(field.to_string(), Value::Array(ordered));
        }
        Ok(())
    }
}

/// `$retainKeys`: drops every key of `original` the directive does not list, after checking
/// that the patch sets no key outside it.
fn apply_retain_keys(original: &mut Map<String, Value>, patch: &mut Map<String, Value>) -> Result<(), PatchError> {
    let Some(retain) = patch.shift_remove(RETAIN_KEYS) else { return Ok(()) };
    let Value::Array(retain) = retain else { return Err(PatchError::InvalidRetainKeys) };
    let retain: HashSet<&str> = retain.iter().filter_map(Value::as_str).collect();
    let retained = |key: &str| retain.contains(key);
    for (key, value) in patch.iter() {
        let is_directive =
            key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) || key.starts_with(SET_ELEMENT_ORDER_PREFIX);
        if !value.is_null() && !is_directive && !retained(key) {
            return Err(PatchError::InvalidRetainKeys);
        }
    }
    original.retain(|key, _| retained(key));
    Ok(())
}

/// Checks that the patch list names its elements in the order `$setElementOrder` gives and only
/// elements it names (elements carrying `$patch` are exempt).
fn validate_against_order(patch_list: &[Value], order: &[Value], identity: ListIdentity) -> Result<(), PatchError> {
    if patch_list.is_empty() || order.is_empty() {
        return Ok(());
    }
    let mismatch = || PatchError::SetElementOrderMismatch {
        patch_list: Value::Array(patch_list.to_vec()).to_string(),
        order_list: Value::Array(order.to_vec()).to_string(),
    };
    let mut order_index = 0;
    for item in patch_list.iter().filter(|item| item.get(DIRECTIVE).is_none()) {
        if let Some(key) = identity.merge_key {
            merge_key_value(item, key)?;
        }
        while order_index < order.len() && !identity.same(item, &order[order_index]) {
            order_index += 1;
        }
        if order_index == order.len() {
            return Err(mismatch());
        }
        order_index += 1;
    }
    Ok(())
}

/// Orders `merged`: elements found in `patch_order` come in that order, the others keep the
/// order they have in `server_order`, and the two sequences are interleaved so that an original
/// element stays before a patch element it preceded in the original. A new element meets no
/// such constraint and goes first, as in Kubernetes.
fn order_like_patch(
    merged: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    identity: ListIdentity,
) -> Vec<Value> {
    let patch_ranks = identity.first_positions(patch_order);
    let server_ranks = identity.first_positions(server_order);
    let rank =
        |ranks: &HashMap<String, usize>, key: &Option<String>| key.as_ref().and_then(|key| ranks.get(key)).copied();
    // Each element with its rank in the server order and in the patch order, computed once.
    let ranked = merged.into_iter().map(|item| {
        let key = identity.key(&item);
        (rank(&server_ranks, &key), rank(&patch_ranks, &key), item)
    });
    let (mut from_patch, mut server_only): (Vec<_>, Vec<_>) =
        ranked.partition(|(_, patch_rank, _)| patch_rank.is_some());
    from_patch.sort_by_key(|(_, patch_rank, _)| patch_rank.unwrap_or(usize::MAX));
    server_only.sort_by_key(|(server_rank, _, _)| server_rank.unwrap_or(usize::MAX));

    let mut ordered = Vec::with_capacity(from_patch.len() + server_only.len());
    let mut server_only = server_only.into_iter().peekable();
    let mut from_patch = from_patch.into_iter().peekable();
    loop {
        let take_server = match (server_only.peek(), from_patch.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((server_rank, _, _)), Some((patched_rank, _, _))) => match (server_rank, patched_rank) {
                (Some(server_rank), Some(patched_rank)) => server_rank < patched_rank,
                _ => false,
            },
        };
        let next = if take_server { server_only.next() } else { from_patch.next() };
        ordered.extend(next.map(|(_, _, item)| item));
    }
    ordered
}

/// The JSON type shared by the elements of the lists: `map`, `string`, ... Lists of lists and
/// mixed lists are refused.
fn element_type(original: &[Value], patch: &[Value]) -> Result<&'static str, PatchError> {
    let mut found: Option<&'static str> = None;
    for item in original.iter().chain(patch) {
        let this = json_type_name(item);
        if this == "list" {
            return Err(PatchError::ListOfLists);
        }
        match found {
            Some(previous) if previous != this => {
                return Err(PatchError::MixedListElements {
                    list: format!("{} {}", Value::Array(original.to_vec()), Value::Array(patch.to_vec())),
                });
            }
            _ => found = Some(this),
        }
    }
    Ok(found.unwrap_or("null"))
}

fn merge_key_value<'v>(item: &'v Value, merge_key: &str) -> Result<&'v Value, PatchError> {
    match item {
        Value::Object(map) => map
            .get(merge_key)
            .ok_or_else(|| PatchError::MissingMergeKey { merge_key: merge_key.to_string(), item: item.to_string() }),
        other => Err(PatchError::UnexpectedType { expected: "map", found: json_type_name(other) }),
    }
}

/// The list stored under `field`, if any.
fn list_field(map: &Map<String, Value>, field: &str) -> Result<Option<Vec<Value>>, PatchError> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items.clone())),
        Some(other) => Err(PatchError::UnexpectedType { expected: "list", found: json_type_name(other) }),
    }
}

fn into_list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => vec![other],
    }
}

fn directive_text(directive: &Value) -> String {
    directive.as_str().map_or_else(|| directive.to_string(), str::to_string)
}
