//! [`Object`]: an API object of any served kind, with typed metadata and the rest kept as JSON.
//!
//! The store, the API semantics and the manifest reader handle objects of every kind the same
//! way; they need the metadata typed (names, labels, resourceVersion, finalizers) and everything
//! else carried through unchanged. Components that reason about one kind convert to the typed
//! `k8s_openapi` struct with [`Object::to_typed`].

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::de::value::MapDeserializer;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Why a JSON value could not be taken as, or turned into, an [`Object`].
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The value is not a JSON object at all.
    #[error("an object must be a mapping, found {found}")]
    NotAMapping {
        /// What was found instead (`a list`, `a string`, …).
        found: &'static str,
    },
    /// `apiVersion` or `kind` is missing or not a string.
    #[error("{field} is required and must be a string")]
    MissingTypeField {
        /// `apiVersion` or `kind`.
        field: &'static str,
    },
    /// `metadata` does not decode as ObjectMeta.
    #[error("metadata: {source}")]
    Metadata {
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// The object does not decode as the typed struct of its kind.
    #[error("cannot decode {kind}: {source}")]
    Typed {
        /// The kind that was expected.
        kind: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
}

/// An API object: `apiVersion`, `kind`, typed `metadata`, and every other top-level field
/// (`spec`, `status`, `data`, …) as JSON in the order it came.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object {
    /// `apiVersion`, such as `apps/v1`.
    pub api_version: String,
    /// `kind`, such as `Deployment`.
    pub kind: String,
    /// The object's metadata.
    pub metadata: ObjectMeta,
    /// Every other top-level field.
    pub fields: Map<String, Value>,
}

impl Object {
    /// Takes a JSON object apart into type fields, metadata and the rest.
    pub fn from_value(value: Value) -> Result<Object, ObjectError> {
        let Value::Object(mut map) = value else {
            return Err(ObjectError::NotAMapping { found: json_type_name(&value) });
        };
        let api_version = take_string(&mut map, "apiVersion")?;
        let kind = take_string(&mut map, "kind")?;
        let metadata = match map.shift_remove("metadata") {
            None | Some(Value::Null) => ObjectMeta::default(),
            Some(metadata) => serde_json::from_value(metadata).map_err(|source| ObjectError::Metadata { source })?,
        };
        Ok(Object { api_version, kind, metadata, fields: map })
    }

    /// The object as one JSON value, in Kubernetes' field order.
    ///
    /// The result is what serializing the object gives; the fields, already JSON, are cloned
    /// rather than serialized again (which hashed every key of every nested mapping anew), as
    /// every list item and watch frame is built here.
    pub fn to_value(&self) -> Value {
        self.to_value_with_metadata(super::metadata_value::metadata_value(&self.metadata))
    }

    /// [`Object::to_value`] without `metadata.managedFields`: what field management compares,
    /// and what a merge patch that leaves them alone applies to.
    pub fn to_value_without_managed_fields(&self) -> Value {
        self.to_value_with_metadata(super::metadata_value::metadata_value_without_managed_fields(&self.metadata))
    }

    fn to_value_with_metadata(&self, metadata: Value) -> Value {
        let mut map = Map::with_capacity(3 + self.fields.len());
        map.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        map.insert("kind".into(), Value::String(self.kind.clone()));
        map.insert("metadata".into(), metadata);
        for (key, value) in &self.fields {
            map.insert(key.clone(), value.clone());
        }
        Value::Object(map)
    }

    /// Converts a typed `k8s_openapi` object into an [`Object`].
    pub fn from_typed<T: Serialize>(typed: &T) -> Result<Object, ObjectError> {
        let value = serde_json::to_value(typed).map_err(|source| ObjectError::Typed { kind: String::new(), source })?;
        Object::from_value(value)
    }

    /// [`Object::from_typed`] for a kind with standard metadata, taking the typed value: the
    /// metadata is moved into the object instead of being encoded to JSON and decoded back,
    /// which was a fifth of converting a freshly decoded Pod.
    pub fn from_typed_owned<T>(mut typed: T) -> Result<Object, ObjectError>
    where
        T: k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta> + Serialize,
    {
        let metadata = std::mem::take(typed.metadata_mut());
        let value =
            serde_json::to_value(&typed).map_err(|source| ObjectError::Typed { kind: T::KIND.into(), source })?;
        let Value::Object(mut fields) = value else {
            return Err(ObjectError::NotAMapping { found: json_type_name(&value) });
        };
        let api_version = take_string(&mut fields, "apiVersion")?;
        let kind = take_string(&mut fields, "kind")?;
        fields.shift_remove("metadata");
        Ok(Object { api_version, kind, metadata, fields })
    }

    /// Converts this object into the typed `k8s_openapi` struct of its kind.
    ///
    /// The typed struct is read from the object's own fields where they lie; only the metadata
    /// is encoded first. (Building the whole object as one JSON value would copy every field.)
    pub fn to_typed<T: DeserializeOwned>(&self) -> Result<T, ObjectError> {
        let typed_error = |source| ObjectError::Typed { kind: self.kind.clone(), source };
        let metadata = super::metadata_value::metadata_value(&self.metadata);
        let api_version = Value::String(self.api_version.clone());
        let kind = Value::String(self.kind.clone());
        let entries = [("apiVersion", &api_version), ("kind", &kind), ("metadata", &metadata)]
            .into_iter()
            .chain(self.fields.iter().map(|(key, value)| (key.as_str(), value)));
        T::deserialize(MapDeserializer::<_, serde_json::Error>::new(entries)).map_err(typed_error)
    }

    /// [`Object::to_typed`] for a kind with standard metadata: the metadata is cloned into the
    /// typed struct instead of being encoded to JSON and decoded back.
    pub fn to_typed_resource<T>(&self) -> Result<T, ObjectError>
    where
        T: DeserializeOwned + k8s_openapi::Metadata<Ty = ObjectMeta>,
    {
        let mut typed: T = self.to_typed_without_metadata()?;
        *typed.metadata_mut() = self.metadata.clone();
        Ok(typed)
    }

    /// [`Object::to_typed`] with the typed struct's metadata left empty, for readers that take
    /// the metadata from the object itself. Encoding the metadata (managedFields included) cost
    /// more than decoding the rest of a Pod for a `kubectl get pods` row.
    pub fn to_typed_without_metadata<T: DeserializeOwned>(&self) -> Result<T, ObjectError> {
        let typed_error = |source| ObjectError::Typed { kind: self.kind.clone(), source };
        let api_version = Value::String(self.api_version.clone());
        let kind = Value::String(self.kind.clone());
        let entries = [("apiVersion", &api_version), ("kind", &kind)]
            .into_iter()
            .chain(self.fields.iter().map(|(key, value)| (key.as_str(), value)));
        T::deserialize(MapDeserializer::<_, serde_json::Error>::new(entries)).map_err(typed_error)
    }

    /// The object's name, or the empty string.
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    /// The object's namespace, or the empty string for cluster-scoped objects.
    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("")
    }

    /// The object's `resourceVersion`, or the empty string.
    pub fn resource_version(&self) -> &str {
        self.metadata.resource_version.as_deref().unwrap_or("")
    }

    /// A label's value, if the label is set.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.metadata.labels.as_ref()?.get(key).map(String::as_str)
    }

    /// A top-level field such as `spec` or `status`.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }
}

fn take_string(map: &mut Map<String, Value>, field: &'static str) -> Result<String, ObjectError> {
    // `shift_remove`, not `remove`: with `preserve_order` the latter swaps the last field into
    // the hole, which put a typed object's `status` before its `spec`.
    match map.shift_remove(field) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(ObjectError::MissingTypeField { field }),
    }
}

/// A short English name of a JSON value's type, for error messages.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3 + self.fields.len()))?;
        map.serialize_entry("apiVersion", &self.api_version)?;
        map.serialize_entry("kind", &self.kind)?;
        map.serialize_entry("metadata", &self.metadata)?;
        for (key, value) in &self.fields {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Object::from_value(value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn to_value_gives_what_serializing_the_object_gives() {
        let value = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"b": "2", "a": "1"}, "generation": 4},
            "spec": {"replicas": 3, "ratio": 0.5, "negative": -1, "selector": {"matchLabels": {"app": "web"}},
                     "list": [1, "two", null, true, {"z": 1, "y": 2}]},
            "status": {}
        });
        let mut object = Object::from_value(value).unwrap();
        object.fields.insert("kind".into(), json!("a field that repeats a type field keeps its place"));
        let serialized = serde_json::to_value(&object).unwrap();
        assert_eq!(object.to_value(), serialized);
        let order = |value: &Value| value.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(order(&object.to_value()), order(&serialized));
        assert_eq!(order(&object.to_value()["spec"]["list"][4]), ["z", "y"]);
    }

    /// Taking `apiVersion`, `kind` and `metadata` out of a typed object's JSON once swapped the
    /// last field into their place, so a Pod with a status printed its status before its spec.
    #[test]
    fn the_fields_keep_their_order() {
        let value = json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
            "spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}
        });
        let object = Object::from_value(value.clone()).unwrap();
        assert_eq!(object.fields.keys().collect::<Vec<_>>(), ["spec", "status"]);
        assert_eq!(serde_json::to_string(&object).unwrap(), serde_json::to_string(&value).unwrap());
        let pod: k8s_openapi::api::core::v1::Pod = object.to_typed().unwrap();
        assert_eq!(Object::from_typed_owned(pod.clone()).unwrap(), Object::from_typed(&pod).unwrap());
        assert_eq!(object.to_typed_resource::<k8s_openapi::api::core::v1::Pod>().unwrap(), pod);
    }

    #[test]
    fn an_object_survives_a_round_trip_through_json() {
        let value = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "b"}, "data": {"k": "v"}});
        let object = Object::from_value(value.clone()).unwrap();
        assert_eq!(object.name(), "a");
        assert_eq!(object.namespace(), "b");
        assert_eq!(object.to_value(), value);
    }

    #[test]
    fn a_list_is_not_an_object() {
        let error = Object::from_value(json!([1])).unwrap_err();
        assert_eq!(error.to_string(), "an object must be a mapping, found a list");
    }

    #[test]
    fn typed_conversion_reaches_the_pod_spec() {
        let value = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        let pod: k8s_openapi::api::core::v1::Pod = Object::from_value(value).unwrap().to_typed().unwrap();
        assert_eq!(pod.spec.unwrap().containers[0].image.as_deref(), Some("nginx"));
    }
}
