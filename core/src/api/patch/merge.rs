//! JSON merge patch (RFC 7386): applying one, as `kubectl label`, `annotate` and `scale` send, and
//! computing the patch that turns one document into another.

use serde_json::{Map, Value};

/// Applies an RFC 7386 merge patch: objects merge key by key, `null` deletes a key, anything else
/// (lists included) replaces the target whole.
pub fn apply_merge_patch(original: &Value, patch: &Value) -> Value {
    let mut document = original.clone();
    json_patch::merge(&mut document, patch);
    document
}

/// The RFC 7386 merge patch that turns `from` into `to`: keys missing from `to` become `null`,
/// changed objects recurse, any other change is the new value. Merge patches cannot express a
/// `null` value inside an object, so `to` must not hold one for the round trip to be exact.
pub fn create_merge_patch(from: &Value, to: &Value) -> Value {
    match (from, to) {
        (Value::Object(from), Value::Object(to)) => Value::Object(object_merge_patch(from, to)),
        _ => to.clone(),
    }
}

fn object_merge_patch(from: &Map<String, Value>, to: &Map<String, Value>) -> Map<String, Value> {
    let mut patch = Map::new();
    for key in from.keys() {
        if !to.contains_key(key) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    for (key, to_value) in to {
        match (from.get(key), to_value) {
            (Some(Value::Object(from_child)), Value::Object(to_child)) => {
                let child = object_merge_patch(from_child, to_child);
                if !child.is_empty() {
                    patch.insert(key.clone(), Value::Object(child));
                }
            }
            (Some(from_value), _) if from_value == to_value => {}
            _ => {
                patch.insert(key.clone(), to_value.clone());
            }
        }
    }
    patch
}
