//! The two values an update's field comparison runs on, built from the objects without
//! serializing the parts both share.
//!
//! [`Typed::compare`](super::typed::Typed::compare) compares the top-level fields of two objects
//! one by one and returns at once for a field equal on both sides, so dropping the top-level
//! fields both objects set equally changes nothing in the comparison (nor which malformed
//! element it reports first: an equal field is never looked into). A Lease renewal changes
//! one field of `spec`; serializing both whole objects (managed fields and all) to compare
//! them was most of what tracking its managed fields cost.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Map, Value};

use crate::object::Object;
use crate::object::metadata_value::metadata_value_without_managed_fields;

/// The fields an [`Object`] serializes before its own (`fields` holding one of them would
/// override it in the serialized value).
const TYPE_AND_METADATA: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// `live` and `new` as field management compares them (without `managedFields`), with the
/// top-level fields both set to equal values left out; `None` when `new` holds a field
/// `apiVersion`, `kind` or `metadata` among its other fields (not reduced then).
pub fn reduced_pair(live: &Object, new: &Object) -> Option<(Value, Value)> {
    let overridden = |object: &Object| TYPE_AND_METADATA.iter().any(|field| object.fields.contains_key(*field));
    if overridden(live) || overridden(new) {
        return None;
    }
    let mut left = Map::new();
    let mut right = Map::new();
    if live.api_version != new.api_version {
        left.insert("apiVersion".into(), Value::String(live.api_version.clone()));
        right.insert("apiVersion".into(), Value::String(new.api_version.clone()));
    }
    if live.kind != new.kind {
        left.insert("kind".into(), Value::String(live.kind.clone()));
        right.insert("kind".into(), Value::String(new.kind.clone()));
    }
    if !same_but_managed_fields(&live.metadata, &new.metadata) {
        left.insert("metadata".into(), metadata_value_without_managed_fields(&live.metadata));
        right.insert("metadata".into(), metadata_value_without_managed_fields(&new.metadata));
    }
    for (key, value) in &live.fields {
        if new.fields.get(key) != Some(value) {
            left.insert(key.clone(), value.clone());
        }
    }
    for (key, value) in &new.fields {
        if live.fields.get(key) != Some(value) {
            right.insert(key.clone(), value.clone());
        }
    }
    Some((Value::Object(left), Value::Object(right)))
}

/// Checks (in debug builds, on every update the tests make) that `comparison`, made on the
/// reduced pair, is the comparison of the whole objects.
#[cfg(debug_assertions)]
pub fn assert_compares_as_whole(
    typed: &super::typed::Typed,
    live: &Object,
    new: &Object,
    comparison: &super::typed::Comparison,
) {
    let (live_value, new_value) = (super::without_managed_fields(live), super::without_managed_fields(new));
    let Ok(whole) = typed.compare(super::schema_of(&new_value), &live_value, &new_value) else {
        panic!("the whole objects do not compare where the reduced pair did");
    };
    assert_eq!(whole.modified, comparison.modified, "modified fields");
    assert_eq!(whole.added, comparison.added, "added fields");
    assert_eq!(whole.removed, comparison.removed, "removed fields");
}

/// Whether two metadata are equal but for `managedFields` (equal metadata serialize equally).
fn same_but_managed_fields(left: &ObjectMeta, right: &ObjectMeta) -> bool {
    let ObjectMeta {
        annotations,
        creation_timestamp,
        deletion_grace_period_seconds,
        deletion_timestamp,
        finalizers,
        generate_name,
        generation,
        labels,
        managed_fields: _,
        name,
        namespace,
        owner_references,
        resource_version,
        self_link,
        uid,
    } = left;
    *annotations == right.annotations
        && *creation_timestamp == right.creation_timestamp
        && *deletion_grace_period_seconds == right.deletion_grace_period_seconds
        && *deletion_timestamp == right.deletion_timestamp
        && *finalizers == right.finalizers
        && *generate_name == right.generate_name
        && *generation == right.generation
        && *labels == right.labels
        && *name == right.name
        && *namespace == right.namespace
        && *owner_references == right.owner_references
        && *resource_version == right.resource_version
        && *self_link == right.self_link
        && *uid == right.uid
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::typed::{Comparison, Typed};
    use super::super::without_managed_fields;
    use super::*;
    use crate::object::schema_facts;

    fn object(value: Value) -> Object {
        Object::from_value(value).expect("an object")
    }

    fn compare(live: &Value, new: &Value, api_version: &str, kind: &str) -> Result<Comparison, String> {
        let schema = schema_facts::kubernetes().of_kind(api_version, kind);
        Typed::new(schema_facts::kubernetes()).compare(schema, live, new).map_err(|error| error.to_string())
    }

    /// The reduced pair compares exactly as the whole objects do: the same fields modified,
    /// added and removed, or the same error.
    fn assert_same_comparison(live: Value, new: Value) {
        let (live, new) = (object(live), object(new));
        let (api_version, kind) = (new.api_version.clone(), new.kind.clone());
        let full = compare(&without_managed_fields(&live), &without_managed_fields(&new), &api_version, &kind);
        let (left, right) = reduced_pair(&live, &new).expect("reducible");
        let reduced = compare(&left, &right, &api_version, &kind);
        match (full, reduced) {
            (Ok(full), Ok(reduced)) => {
                assert_eq!(full.modified, reduced.modified, "modified");
                assert_eq!(full.added, reduced.added, "added");
                assert_eq!(full.removed, reduced.removed, "removed");
            }
            (full, reduced) => assert_eq!(full.err(), reduced.err()),
        }
    }

    fn managed(manager: &str, fields: Value) -> Value {
        json!([{"manager": manager, "operation": "Update", "apiVersion": "v1", "time": "2026-01-01T00:00:00Z",
                "fieldsType": "FieldsV1", "fieldsV1": fields}])
    }

    fn lease(renew: &str, managed_fields: Value) -> Value {
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
               "metadata": {"name": "node-1", "namespace": "kube-node-lease", "resourceVersion": "7",
                            "uid": "u-1", "managedFields": managed_fields,
                            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "n-1"}]},
               "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40, "renewTime": renew}})
    }

    fn pod(labels: Value, status: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "web", "namespace": "default", "labels": labels, "resourceVersion": "3",
                            "managedFields": managed("kubelet", json!({"f:status": {"f:phase": {}}}))},
               "spec": {"nodeName": "node-1", "containers": [{"name": "web", "image": "nginx",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}]}]},
               "status": status})
    }

    #[test]
    fn a_lease_renewal_compares_as_the_whole_objects() {
        let fields = json!({"f:spec": {"f:renewTime": {}, "f:holderIdentity": {}}});
        assert_same_comparison(
            lease("2026-01-01T00:00:00.000000Z", managed("kubelet", fields.clone())),
            lease("2026-01-01T00:00:10.000000Z", managed("kubelet", fields)),
        );
    }

    #[test]
    fn objects_equal_but_for_managed_fields_compare_as_the_whole_objects() {
        let live = lease("2026-01-01T00:00:00.000000Z", managed("kubelet", json!({"f:spec": {}})));
        let new = lease("2026-01-01T00:00:00.000000Z", managed("other", json!({"f:metadata": {}})));
        assert_same_comparison(live.clone(), new);
        assert_same_comparison(live.clone(), live);
    }

    #[test]
    fn status_conditions_and_label_changes_compare_as_the_whole_objects() {
        let running = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]});
        let failing = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"},
                                                                 {"type": "PodScheduled", "status": "True"}]});
        assert_same_comparison(pod(json!({"app": "web"}), running.clone()), pod(json!({"app": "web"}), failing));
        assert_same_comparison(
            pod(json!({"app": "web"}), running.clone()),
            pod(json!({"app": "api"}), running.clone()),
        );
        assert_same_comparison(pod(json!({"app": "web"}), running.clone()), pod(json!({}), json!({})));
    }

    #[test]
    fn top_level_fields_added_removed_and_retyped_compare_as_the_whole_objects() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "annotations": {"x": "1"}},
                          "data": {"k": "v"}, "immutable": false});
        let new = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
                         "binaryData": {"b": "AA=="}, "immutable": null});
        assert_same_comparison(live.clone(), new.clone());
        assert_same_comparison(new, live.clone());
        let other_kind =
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"}, "data": {"k": "dg=="}});
        assert_same_comparison(live, other_kind);
    }

    #[test]
    fn a_malformed_list_element_is_reported_as_the_whole_objects_report_it() {
        let live = pod(json!({}), json!({"phase": "Pending"}));
        let mut new = live.clone();
        new["spec"]["containers"] = json!([{"image": "no-name"}]);
        new["status"]["conditions"] = json!([{"status": "no-type"}]);
        assert_same_comparison(live, new);
    }

    #[test]
    fn a_field_named_like_the_type_or_metadata_is_not_reduced() {
        let mut live = object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}));
        let new = live.clone();
        live.fields.insert("kind".into(), json!("Secret"));
        assert!(reduced_pair(&live, &new).is_none());
        assert!(reduced_pair(&new, &new).is_some());
    }
}
