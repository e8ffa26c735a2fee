//! The merge of server-side apply: the applied configuration laid over the live object by the
//! schema (structured-merge-diff's `Merge` with its keep-the-applied-value rule). Maps and structs
//! merge field by field; sets and map lists merge element by element, in the applied order with
//! the live-only elements kept where they were; atomic lists, atomic maps and scalars take the
//! applied value.

use serde_json::{Map, Value};

use super::field_set::{Path, PathElement};
use super::typed::{Shape, Typed, TypedError};
use crate::object::schema_facts::Schema;

impl<'a> Typed<'a> {
    /// `applied` merged over `live`.
    pub fn merge(&self, schema: Option<&'a Schema>, live: &Value, applied: &Value) -> Result<Value, TypedError> {
        self.merge_node(schema, live, applied, &mut Vec::new())
    }

    fn merge_node(
        &self,
        schema: Option<&'a Schema>,
        live: &Value,
        applied: &Value,
        path: &mut Path,
    ) -> Result<Value, TypedError> {
        if std::mem::discriminant(live) != std::mem::discriminant(applied) {
            return Ok(applied.clone());
        }
        match (self.shape(schema, applied), live, applied) {
            (Shape::Map { .. }, Value::Object(live_map), Value::Object(applied_map)) => {
                let mut merged = Map::with_capacity(live_map.len() + applied_map.len());
                for (key, live_child) in live_map {
                    let value = match applied_map.get(key) {
                        Some(applied_child) => {
                            path.push(PathElement::Field(key.clone()));
                            let value = self.merge_node(self.child(schema, key), live_child, applied_child, path)?;
                            path.pop();
                            value
                        }
                        None => live_child.clone(),
                    };
                    merged.insert(key.clone(), value);
                }
                for (key, applied_child) in applied_map.iter().filter(|(key, _)| !live_map.contains_key(*key)) {
                    merged.insert(key.clone(), applied_child.clone());
                }
                Ok(Value::Object(merged))
            }
            (Shape::List { list_type, items }, Value::Array(_), Value::Array(_)) => {
                let live_items = self.index_elements(&list_type, Some(live), path)?;
                let applied_items = self.index_elements(&list_type, Some(applied), path)?;
                let live_elements: Vec<&PathElement> = live_items.keys().collect();
                let applied_elements: Vec<&PathElement> = applied_items.keys().collect();
                let mut merged = Vec::with_capacity(live_items.len() + applied_items.len());
                for (element, side) in interleave(&live_elements, &applied_elements, &applied_items, &live_items) {
                    let value = match (side, live_items.get(element), applied_items.get(element)) {
                        (_, Some(live_child), Some(applied_child)) => {
                            path.push(element.clone());
                            let value = self.merge_node(items, live_child, applied_child, path)?;
                            path.pop();
                            value
                        }
                        (_, Some(live_child), None) => (*live_child).clone(),
                        (_, None, Some(applied_child)) => (*applied_child).clone(),
                        (_, None, None) => continue,
                    };
                    merged.push(value);
                }
                Ok(Value::Array(merged))
            }
            _ => Ok(applied.clone()),
        }
    }
}

/// Which list an element of the merged order comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Live,
    Applied,
}

/// The merged order of structured-merge-diff's `visitListItems`: applied elements in applied
/// order; a live-only element stays where it was relative to the shared elements around it.
fn interleave<'e, V>(
    live: &[&'e PathElement],
    applied: &[&'e PathElement],
    applied_items: &indexmap::IndexMap<PathElement, V>,
    live_items: &indexmap::IndexMap<PathElement, V>,
) -> Vec<(&'e PathElement, Side)> {
    let mut shared = applied.iter().filter(|element| live_items.contains_key(**element)).copied();
    let mut next_shared = shared.next();
    let mut merged_applied = std::collections::BTreeSet::new();
    let mut order = Vec::with_capacity(live.len() + applied.len());
    let (mut live_index, mut applied_index) = (0, 0);
    while live_index < live.len() || applied_index < applied.len() {
        if live_index < live.len() && applied_index < applied.len() {
            let element = live[live_index];
            if element == applied[applied_index] {
                merged_applied.insert(element);
                order.push((element, Side::Applied));
                live_index += 1;
                applied_index += 1;
                next_shared = shared.next();
                continue;
            }
            if applied_items.contains_key(element) && next_shared.is_some_and(|next| next != element) {
                live_index += 1;
                continue;
            }
        }
        if live_index < live.len() {
            let element = live[live_index];
            if !applied_items.contains_key(element) {
                order.push((element, Side::Live));
                live_index += 1;
                continue;
            } else if merged_applied.contains(element) {
                live_index += 1;
                continue;
            }
        }
        if applied_index < applied.len() {
            let element = applied[applied_index];
            merged_applied.insert(element);
            order.push((element, Side::Applied));
            applied_index += 1;
            if next_shared == Some(element) {
                next_shared = shared.next();
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::object::schema_facts::kubernetes;

    fn merge_pod_spec(live: Value, applied: Value) -> Value {
        let facts = kubernetes();
        let typed = Typed::new(facts);
        typed.merge(facts.definition("io.k8s.api.core.v1.PodSpec"), &live, &applied).unwrap()
    }

    /// structured-merge-diff merge/multiple_appliers_test.go and typed/merge_test.go: map lists
    /// merge element by element in the applied order; live-only elements keep their place.
    #[test]
    fn map_lists_merge_by_key_in_the_applied_order_keeping_live_only_elements_in_place() {
        let live = json!({"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}, {"name": "c", "image": "c:1"}]});
        let applied = json!({"containers": [{"name": "c", "image": "c:2"}, {"name": "a", "image": "a:2"}]});
        let merged = merge_pod_spec(live, applied);
        let names: Vec<&str> =
            merged["containers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["b", "c", "a"]);
        assert_eq!(merged["containers"][1]["image"], "c:2");
    }

    #[test]
    fn coredns_ports_keyed_by_port_and_protocol_stay_two_elements() {
        let live = json!({"containers": [{"name": "coredns", "ports": [{"containerPort": 53, "protocol": "UDP", "name": "dns"}]}]});
        let applied = json!({"containers": [{"name": "coredns", "ports": [
            {"containerPort": 53, "protocol": "UDP", "name": "dns"},
            {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"}
        ]}]});
        let merged = merge_pod_spec(live, applied);
        assert_eq!(merged["containers"][0]["ports"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn atomic_lists_and_maps_take_the_applied_value() {
        let live = json!({"tolerations": [{"key": "a"}], "nodeSelector": {"a": "1", "b": "2"}, "hostname": "x"});
        let applied = json!({"tolerations": [{"key": "b"}], "nodeSelector": {"c": "3"}});
        let merged = merge_pod_spec(live, applied);
        assert_eq!(merged, json!({"tolerations": [{"key": "b"}], "nodeSelector": {"c": "3"}, "hostname": "x"}));
    }
}
