//! Content negotiation for reads: which representation an `Accept` header asks for (the object,
//! a `meta.k8s.io/v1` Table, or `PartialObjectMetadata`), and what a Table row carries
//! (`includeObject`). Get, list and watch all answer through it, so `kubectl get -w` and the
//! metadata informers of client-go see the same shapes as from Kubernetes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value, json};

use super::request::ApiRequest;
use super::status::ApiError;
use crate::object::Object;

/// What a Table row's `object` holds (`includeObject`; Kubernetes' default is `Metadata`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object.
    None,
    /// The object's metadata, as a `PartialObjectMetadata`.
    Metadata,
    /// The whole object.
    Object,
}

/// The representation a read answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Representation {
    /// The objects themselves (`application/json`).
    Object,
    /// A `meta.k8s.io/v1` Table (`as=Table;g=meta.k8s.io;v=v1`), rows carrying `include`.
    Table {
        /// What each row's `object` holds.
        include: IncludeObject,
    },
    /// Metadata only (`as=PartialObjectMetadata` or `as=PartialObjectMetadataList`).
    PartialObjectMetadata,
}

/// The representation `request` asks for: the first media range of its `Accept` header this
/// server can produce, in the client's order, and the object itself when none is named.
pub fn representation(request: &ApiRequest) -> Result<Representation, ApiError> {
    let include = match request.query_param("includeObject") {
        None | Some("") | Some("Metadata") => IncludeObject::Metadata,
        Some("None") => IncludeObject::None,
        Some("Object") => IncludeObject::Object,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "includeObject: Unsupported value: {other:?}: supported values: \"None\", \"Metadata\", \"Object\""
            )));
        }
    };
    let accept = request.header("accept").unwrap_or("");
    for media_range in accept.split(',') {
        let mut parts = media_range.split(';').map(str::trim);
        let media_type = parts.next().unwrap_or("");
        if !matches!(media_type.to_ascii_lowercase().as_str(), "application/json" | "*/*" | "application/*") {
            continue;
        }
        let (mut as_kind, mut group, mut version) = ("", "", "");
        for parameter in parts {
            let Some((key, value)) = parameter.split_once('=') else { continue };
            match key.trim().to_ascii_lowercase().as_str() {
                "as" => as_kind = value.trim(),
                "g" => group = value.trim(),
                "v" => version = value.trim(),
                _ => {}
            }
        }
        let meta_v1 = group == "meta.k8s.io" && version == "v1";
        match as_kind {
            "" => return Ok(Representation::Object),
            "Table" if meta_v1 => return Ok(Representation::Table { include }),
            "PartialObjectMetadata" | "PartialObjectMetadataList" if meta_v1 => {
                return Ok(Representation::PartialObjectMetadata);
            }
            _ => {}
        }
    }
    Ok(Representation::Object)
}

/// An object's metadata as a `meta.k8s.io/v1` `PartialObjectMetadata`.
pub fn partial_object_metadata(object: &Object) -> Value {
    let mut partial = Map::with_capacity(3);
    partial.insert("kind".into(), Value::from("PartialObjectMetadata"));
    partial.insert("apiVersion".into(), Value::from("meta.k8s.io/v1"));
    partial.insert("metadata".into(), crate::object::metadata_value::metadata_value(&object.metadata));
    Value::Object(partial)
}

/// An object's metadata as a `meta.k8s.io/v1` `PartialObjectMetadata`, serialized from the
/// metadata where it lies.
pub(crate) struct PartialObjectMetadata<'a>(pub(crate) &'a ObjectMeta);

impl Serialize for PartialObjectMetadata<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut partial = serializer.serialize_map(Some(3))?;
        partial.serialize_entry("kind", "PartialObjectMetadata")?;
        partial.serialize_entry("apiVersion", "meta.k8s.io/v1")?;
        partial.serialize_entry("metadata", self.0)?;
        partial.end()
    }
}

/// A list's items as a `PartialObjectMetadataList` with the list's metadata.
pub fn partial_object_metadata_list(objects: &[&Object], list_metadata: Map<String, Value>) -> Value {
    let items: Vec<Value> = objects.iter().map(|object| partial_object_metadata(object)).collect();
    json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": list_metadata, "items": items})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Method;

    fn asked(accept: &str, query: &str) -> Representation {
        let request = ApiRequest::new(Method::Get, &format!("/api/v1/pods{query}")).with_header("Accept", accept);
        representation(&request).unwrap()
    }

    #[test]
    fn the_first_producible_media_range_wins() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
        assert_eq!(asked(kubectl, ""), Representation::Table { include: IncludeObject::Metadata });
        assert_eq!(asked(kubectl, "?includeObject=Object"), Representation::Table { include: IncludeObject::Object });
        let metadata_client = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,\
            application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
        assert_eq!(asked(metadata_client, ""), Representation::PartialObjectMetadata);
        assert_eq!(asked("application/json;as=Table;v=v1beta1;g=other,application/json", ""), Representation::Object);
        assert_eq!(asked("", ""), Representation::Object);
    }

    #[test]
    fn partial_object_metadata_is_what_serializing_the_wrapper_gives() {
        let object = Object::from_value(json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "node-1", "namespace": "kube-node-lease", "uid": "u-1", "labels": {"a": "b"},
                         "managedFields": [{"manager": "kubelet", "operation": "Update", "fieldsType": "FieldsV1",
                                            "fieldsV1": {"f:spec": {"f:renewTime": {}}}}]},
            "spec": {"holderIdentity": "node-1"}
        }))
        .unwrap();
        let expected = serde_json::to_value(PartialObjectMetadata(&object.metadata)).unwrap();
        assert_eq!(
            serde_json::to_string(&partial_object_metadata(&object)).unwrap(),
            serde_json::to_string(&expected).unwrap()
        );
    }
}
