//! Decoding a listed or watched object without its `metadata.managedFields`: a deserializer
//! over the JSON value that never shows the decoder that one field, so an informer that drops
//! them anyway (kube-controller-manager's and kube-scheduler's informers trim them) does not
//! first build them. A Lease's or a Pod's managedFields are about as large as the rest of its
//! metadata, and a heartbeat reaches the controller manager's Lease caches every ten seconds
//! per node.

use serde::Deserializer;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Value;

/// The field left out of an object's metadata.
const MANAGED_FIELDS: &str = "managedFields";

/// Decodes `value` as `T` as `T::deserialize(value)` would, except that
/// `metadata.managedFields` is never read: `T` sees an object without it.
pub fn decode_without_managed_fields<T: DeserializeOwned>(value: &Value) -> Result<T, serde_json::Error> {
    T::deserialize(Trimmed { value, level: Level::Object })
}

/// Decodes an object's metadata (the value of its `metadata` field) without `managedFields`.
pub fn decode_metadata_without_managed_fields<T: DeserializeOwned>(metadata: &Value) -> Result<T, serde_json::Error> {
    T::deserialize(Trimmed { value: metadata, level: Level::Metadata })
}

/// Where in the object a [`Trimmed`] value sits.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Level {
    /// The whole object: its `metadata` field is trimmed.
    Object,
    /// The metadata: its `managedFields` field is left out.
    Metadata,
}

/// A JSON value seen through the trim; only mappings differ from the value itself.
#[derive(Clone, Copy, Debug)]
struct Trimmed<'de> {
    value: &'de Value,
    level: Level,
}

impl<'de> Deserializer<'de> for Trimmed<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Object(map) => {
                visitor.visit_map(TrimmedMap { entries: map.iter(), pending: None, level: self.level })
            }
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.value.deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// The entries of a mapping, with `managedFields` skipped in the metadata and the metadata
/// trimmed in turn; every other value is read as it is.
struct TrimmedMap<'de> {
    entries: serde_json::map::Iter<'de>,
    pending: Option<(&'de Value, Option<Level>)>,
    level: Level,
}

impl<'de> MapAccess<'de> for TrimmedMap<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        for (key, value) in self.entries.by_ref() {
            let level = match (self.level, key.as_str()) {
                (Level::Metadata, MANAGED_FIELDS) => continue,
                (Level::Object, "metadata") => Some(Level::Metadata),
                _ => None,
            };
            self.pending = Some((value, level));
            return seed.deserialize(BorrowedStrDeserializer::new(key)).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        match self.pending.take() {
            Some((value, Some(level))) => seed.deserialize(Trimmed { value, level }),
            Some((value, None)) => seed.deserialize(value),
            None => Err(serde::de::Error::custom("a map value was asked for before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::coordination::v1::Lease;
    use k8s_openapi::api::core::v1::{ConfigMap, Pod};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    fn managed_fields() -> Value {
        json!([{"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": "2026-01-01T00:00:00Z",
                "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:phase": {}}}}])
    }

    /// What the full decode gives once the informer has dropped the managed fields.
    fn decoded_then_trimmed<T: DeserializeOwned>(value: &Value, trim: fn(&mut T)) -> T {
        let mut object = T::deserialize(value).expect("the full decode succeeds");
        trim(&mut object);
        object
    }

    #[test]
    fn a_pod_decodes_as_the_full_decode_with_its_managed_fields_dropped() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "default", "uid": "u1", "resourceVersion": "7",
                         "labels": {"app": "web"}, "managedFields": managed_fields(),
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                              "uid": "u0", "controller": true}]},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1"}});
        let trimmed: Pod = decode_without_managed_fields(&pod).expect("it decodes");
        let full = decoded_then_trimmed(&pod, |pod: &mut Pod| pod.metadata.managed_fields = None);
        assert_eq!(trimmed, full);
        assert_eq!(trimmed.metadata.managed_fields, None);
        assert_eq!(trimmed.spec.and_then(|spec| spec.node_name).as_deref(), Some("node-1"));
    }

    #[test]
    fn a_lease_heartbeat_decodes_as_the_full_decode_with_its_managed_fields_dropped() {
        let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "node-1", "namespace": "kube-node-lease", "managedFields": managed_fields()},
            "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                     "renewTime": "2026-01-01T00:00:10.000000Z"}});
        let trimmed: Lease = decode_without_managed_fields(&lease).expect("it decodes");
        assert_eq!(trimmed, decoded_then_trimmed(&lease, |lease: &mut Lease| lease.metadata.managed_fields = None));
        assert!(trimmed.spec.and_then(|spec| spec.renew_time).is_some());
    }

    /// Only `metadata.managedFields` is left out: a data key or an annotation of that name is data.
    #[test]
    fn a_field_named_managed_fields_outside_the_metadata_is_kept() {
        let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "annotations": {"managedFields": "kept"}, "managedFields": managed_fields()},
            "data": {"managedFields": "kept too"}});
        let trimmed: ConfigMap = decode_without_managed_fields(&config_map).expect("it decodes");
        let annotations = trimmed.metadata.annotations.expect("annotations");
        assert_eq!(annotations.get("managedFields").map(String::as_str), Some("kept"));
        assert_eq!(trimmed.data.expect("data").get("managedFields").map(String::as_str), Some("kept too"));
        assert_eq!(trimmed.metadata.managed_fields, None);
    }

    #[test]
    fn metadata_alone_decodes_without_its_managed_fields() {
        let metadata = json!({"name": "n", "uid": "u", "generation": 3, "managedFields": managed_fields()});
        let trimmed: ObjectMeta = decode_metadata_without_managed_fields(&metadata).expect("it decodes");
        let mut full = ObjectMeta::deserialize(&metadata).expect("it decodes");
        full.managed_fields = None;
        assert_eq!(trimmed, full);
        assert_eq!(trimmed.generation, Some(3));
    }

    /// What the full decode refuses, the trimmed one refuses too (an informer counts it as
    /// undecodable either way).
    #[test]
    fn what_does_not_decode_in_full_does_not_decode_trimmed() {
        for value in [
            json!({"metadata": {"name": "p", "labels": "not a map"}}),
            json!({"metadata": {"name": 7}}),
            json!({"metadata": "not a map"}),
            json!({"spec": {"containers": "not a list"}}),
            json!("not an object"),
        ] {
            assert!(Pod::deserialize(&value).is_err(), "{value}");
            assert!(decode_without_managed_fields::<Pod>(&value).is_err(), "{value}");
        }
        let no_metadata = json!({"spec": {"containers": []}});
        assert_eq!(
            decode_without_managed_fields::<Pod>(&no_metadata).expect("it decodes"),
            Pod::deserialize(&no_metadata).expect("it decodes")
        );
    }
}
