//! `ObjectMeta` as a JSON value, built field by field: the value `serde_json::to_value` gives,
//! with the same keys in the same order, without passing every `managedFields` entry's
//! `fieldsV1` tree through a serializer again (it is JSON already, and copying it is a few
//! times cheaper). Every object the API server answers with, every watch frame and every
//! conversion to a typed struct encodes its metadata here.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta, OwnerReference, Time};
use serde_json::{Map, Value};

/// `metadata` as `serde_json::to_value(metadata)` encodes it.
pub fn metadata_value(metadata: &ObjectMeta) -> Value {
    Value::Object(encode(metadata, true))
}

/// `metadata` without `managedFields`: what field management compares and what a merge patch
/// that leaves them alone is applied to.
pub fn metadata_value_without_managed_fields(metadata: &ObjectMeta) -> Value {
    Value::Object(encode(metadata, false))
}

/// The keys in k8s-openapi's order (alphabetical); `None` fields are left out.
fn encode(metadata: &ObjectMeta, with_managed_fields: bool) -> Map<String, Value> {
    let ObjectMeta {
        annotations,
        creation_timestamp,
        deletion_grace_period_seconds,
        deletion_timestamp,
        finalizers,
        generate_name,
        generation,
        labels,
        managed_fields,
        name,
        namespace,
        owner_references,
        resource_version,
        self_link,
        uid,
    } = metadata;
    let mut map = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            map.insert(key.to_string(), value);
        }
    };
    put("annotations", annotations.as_ref().map(string_map));
    put("creationTimestamp", creation_timestamp.as_ref().map(time));
    put("deletionGracePeriodSeconds", deletion_grace_period_seconds.map(Value::from));
    put("deletionTimestamp", deletion_timestamp.as_ref().map(time));
    put("finalizers", finalizers.as_deref().map(strings));
    put("generateName", generate_name.as_deref().map(Value::from));
    put("generation", generation.map(Value::from));
    put("labels", labels.as_ref().map(string_map));
    if with_managed_fields {
        put("managedFields", managed_fields.as_deref().map(|entries| entries.iter().map(managed_entry).collect()));
    }
    put("name", name.as_deref().map(Value::from));
    put("namespace", namespace.as_deref().map(Value::from));
    put("ownerReferences", owner_references.as_deref().map(|references| references.iter().map(owner).collect()));
    put("resourceVersion", resource_version.as_deref().map(Value::from));
    put("selfLink", self_link.as_deref().map(Value::from));
    put("uid", uid.as_deref().map(Value::from));
    map
}

fn string_map(entries: &std::collections::BTreeMap<String, String>) -> Value {
    Value::Object(entries.iter().map(|(key, value)| (key.clone(), Value::String(value.clone()))).collect())
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|item| Value::String(item.clone())).collect())
}

/// A timestamp as k8s-openapi writes it (`%Y-%m-%dT%H:%M:%SZ`).
fn time(time: &Time) -> Value {
    serde_json::to_value(time).expect("a Kubernetes timestamp always serializes to JSON")
}

fn managed_entry(entry: &ManagedFieldsEntry) -> Value {
    let ManagedFieldsEntry { api_version, fields_type, fields_v1, manager, operation, subresource, time: at } = entry;
    let mut map = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            map.insert(key.to_string(), value);
        }
    };
    put("apiVersion", api_version.as_deref().map(Value::from));
    put("fieldsType", fields_type.as_deref().map(Value::from));
    put("fieldsV1", fields_v1.as_ref().map(|fields| fields.0.clone()));
    put("manager", manager.as_deref().map(Value::from));
    put("operation", operation.as_deref().map(Value::from));
    put("subresource", subresource.as_deref().map(Value::from));
    put("time", at.as_ref().map(time));
    Value::Object(map)
}

fn owner(reference: &OwnerReference) -> Value {
    let OwnerReference { api_version, block_owner_deletion, controller, kind, name, uid } = reference;
    let mut map = Map::new();
    map.insert("apiVersion".into(), Value::String(api_version.clone()));
    if let Some(block) = block_owner_deletion {
        map.insert("blockOwnerDeletion".into(), Value::Bool(*block));
    }
    if let Some(controller) = controller {
        map.insert("controller".into(), Value::Bool(*controller));
    }
    map.insert("kind".into(), Value::String(kind.clone()));
    map.insert("name".into(), Value::String(name.clone()));
    map.insert("uid".into(), Value::String(uid.clone()));
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::FieldsV1;
    use serde_json::json;

    use super::*;

    fn at(seconds: i64) -> Time {
        Time(jiff::Timestamp::from_second(seconds).unwrap())
    }

    fn every_field_set() -> ObjectMeta {
        ObjectMeta {
            annotations: Some([("b".to_string(), "2".to_string()), ("a".to_string(), "1".to_string())].into()),
            creation_timestamp: Some(at(1_700_000_000)),
            deletion_grace_period_seconds: Some(30),
            deletion_timestamp: Some(at(1_700_000_030)),
            finalizers: Some(vec!["z/last".into(), "a/first".into()]),
            generate_name: Some("web-".into()),
            generation: Some(7),
            labels: Some([("app".to_string(), "web".to_string())].into()),
            managed_fields: Some(vec![
                ManagedFieldsEntry {
                    api_version: Some("v1".into()),
                    fields_type: Some("FieldsV1".into()),
                    fields_v1: Some(FieldsV1(json!({"f:spec": {"f:z": {}, "f:a": {".": {}}}, "f:metadata": {}}))),
                    manager: Some("kubelet".into()),
                    operation: Some("Update".into()),
                    subresource: Some("status".into()),
                    time: Some(at(1_700_000_001)),
                },
                ManagedFieldsEntry { manager: Some("bare".into()), ..ManagedFieldsEntry::default() },
            ]),
            name: Some("web-1".into()),
            namespace: Some("default".into()),
            owner_references: Some(vec![
                OwnerReference {
                    api_version: "apps/v1".into(),
                    block_owner_deletion: Some(true),
                    controller: Some(false),
                    kind: "ReplicaSet".into(),
                    name: "web".into(),
                    uid: "u-1".into(),
                },
                OwnerReference { kind: "Node".into(), ..OwnerReference::default() },
            ]),
            resource_version: Some("42".into()),
            self_link: Some("/api/v1/namespaces/default/pods/web-1".into()),
            uid: Some("u-2".into()),
        }
    }

    /// The encoded text, so that key order counts.
    fn text(value: &Value) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn metadata_encodes_as_serde_encodes_it_with_every_field_set() {
        let metadata = every_field_set();
        assert_eq!(text(&metadata_value(&metadata)), text(&serde_json::to_value(&metadata).unwrap()));
    }

    #[test]
    fn metadata_encodes_as_serde_encodes_it_with_no_field_set() {
        let metadata = ObjectMeta::default();
        assert_eq!(text(&metadata_value(&metadata)), text(&serde_json::to_value(&metadata).unwrap()));
        let empty = ObjectMeta { managed_fields: Some(Vec::new()), labels: Some(Default::default()), ..metadata };
        assert_eq!(text(&metadata_value(&empty)), text(&serde_json::to_value(&empty).unwrap()));
    }

    #[test]
    fn metadata_without_managed_fields_is_the_full_encoding_without_that_key() {
        let metadata = every_field_set();
        let mut expected = serde_json::to_value(&metadata).unwrap();
        expected.as_object_mut().unwrap().shift_remove("managedFields");
        assert_eq!(text(&metadata_value_without_managed_fields(&metadata)), text(&expected));
    }
}
