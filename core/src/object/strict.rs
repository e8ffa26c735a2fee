//! Strict decoding, as `kubectl apply --validate=strict` and the API server's
//! `fieldValidation=Strict` do it: the kind must be served at the named version, every field must
//! be known, and every value must have the right type.

mod json_bytes;
mod unknown_fields;

#[cfg(test)]
mod equivalence_tests;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::dynamic::{Object, json_type_name};
use super::field_error::{FieldError, FieldPath};
use super::kinds::{self, ResourceType};

/// Why a value is not an object of a served kind.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The value is not a mapping.
    #[error("an object must be a mapping, found {found}")]
    NotAMapping {
        /// What was found instead.
        found: &'static str,
    },
    /// `apiVersion` or `kind` (or both) are missing.
    #[error("{}", missing.join(", "))]
    MissingTypeFields {
        /// Kubernetes' messages: `apiVersion not set`, `kind not set`.
        missing: Vec<&'static str>,
    },
    /// The kind is served, but not at this version.
    #[error("no matches for kind {kind:?} in version {api_version:?}; {kind} is served at {}", served.join(", "))]
    WrongVersion {
        /// The version the object named.
        api_version: String,
        /// The kind.
        kind: String,
        /// The versions the kind is served at.
        served: Vec<&'static str>,
    },
    /// coxswain does not serve this kind at all (custom resources, kinds not in the table).
    #[error("no matches for kind {kind:?} in version {api_version:?}: coxswain does not serve this kind")]
    Unsupported {
        /// The version the object named.
        api_version: String,
        /// The kind.
        kind: String,
    },
    /// Fields are unknown or have the wrong type.
    #[error("strict decoding error: {}", super::field_error::join_field_errors(errors))]
    Fields {
        /// One error per bad field.
        errors: Vec<FieldError>,
    },
}

/// Decodes `value` strictly into an [`Object`] of a served kind, normalised the way Kubernetes
/// normalises a decoded object (nulls dropped, typed field order).
pub fn decode_strict(value: &Value) -> Result<(&'static ResourceType, Object), DecodeError> {
    let resource = resource_type_of(value)?;
    let (object, unknown) = decode_strict_as(resource, value)?;
    if !unknown.is_empty() {
        return Err(DecodeError::Fields { errors: unknown });
    }
    Ok((resource, object))
}

/// Decodes `value` as an object of `resource` (whose `apiVersion` and `kind` it must carry),
/// returning the unknown fields instead of failing on them, so that the API server can drop and
/// warn (`fieldValidation=Warn`) or refuse (`Strict`) as the client asked. A value that does not
/// fit the typed struct at all is still an error.
pub fn decode_strict_as(resource: &ResourceType, value: &Value) -> Result<(Object, Vec<FieldError>), DecodeError> {
    let Decoded { kept, unknown } =
        (resource.round_trip)(value).map_err(|error| DecodeError::Fields { errors: vec![*error] })?;
    let object = Object::from_value(kept).map_err(|error| DecodeError::Fields {
        errors: vec![FieldError::type_invalid(&FieldPath::root(), &error.to_string())],
    })?;
    Ok((object, unknown))
}

/// The fast path of the API server's decoder for a JSON body of the kind whose struct is `T`: the
/// bytes decoded straight into `T`, defaulted there, and converted to an [`Object`] once, as
/// Kubernetes' decoder defaults while it decodes. `None` when the body is not plain (a field `T`
/// does not know, a type error, a wrong `apiVersion` or `kind`, bad JSON): the caller takes the
/// `Value` path, which says what is wrong. For a body that decodes here, the result equals that
/// of the `Value` path followed by [`apply_defaults`](super::defaults::apply_defaults).
pub(crate) fn decode_json_defaulted<T>(bytes: &[u8]) -> Option<Object>
where
    T: k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta> + DeserializeOwned + Serialize + 'static,
{
    let mut typed: T = json_bytes::decode_known_fields(bytes)?;
    super::defaults::apply_defaults_typed(&mut typed);
    Object::from_typed_owned(typed).ok()
}

/// A value decoded into the typed struct of its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The typed struct encoded back to JSON: nulls dropped, fields in the struct's order.
    pub kept: Value,
    /// The fields of the value that the struct does not know, in the order they came.
    pub unknown: Vec<FieldError>,
}

/// Decodes `value` as `T`, noting the fields `T` does not know, and encodes the typed value back
/// to JSON; a value that does not fit `T` is reported with the path of the first field that does
/// not fit. One pass does the decoding and the noting; only a failure pays for the path.
pub(crate) fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Decoded, Box<FieldError>> {
    let (typed, unknown) = match unknown_fields::deserialize_noting_unknown_fields::<T>(value) {
        Ok(decoded) => decoded,
        Err(_) => return round_trip_with_paths::<T>(value),
    };
    let kept = encode(&typed)?;
    Ok(Decoded { kept, unknown })
}

/// The slow way round: decode with the path of every field tracked, encode back, and compare
/// what came in with what was kept.
fn round_trip_with_paths<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Decoded, Box<FieldError>> {
    let typed: T = serde_path_to_error::deserialize(value).map_err(|error| {
        let path = FieldPath::new(&error.path().to_string().replace(".[", "["));
        Box::new(FieldError::type_invalid(&path, &error.inner().to_string()))
    })?;
    let kept = encode(&typed)?;
    let mut unknown = Vec::new();
    find_unknown_fields(value, &kept, &FieldPath::root(), &mut unknown);
    Ok(Decoded { kept, unknown })
}

fn encode<T: Serialize>(typed: &T) -> Result<Value, Box<FieldError>> {
    serde_json::to_value(typed)
        .map_err(|error| Box::new(FieldError::type_invalid(&FieldPath::root(), &error.to_string())))
}

/// Finds the served kind a value names with `apiVersion` and `kind`.
pub fn resource_type_of(value: &Value) -> Result<&'static ResourceType, DecodeError> {
    let Value::Object(map) = value else {
        return Err(DecodeError::NotAMapping { found: json_type_name(value) });
    };
    let api_version = map.get("apiVersion").and_then(Value::as_str).filter(|text| !text.is_empty());
    let kind = map.get("kind").and_then(Value::as_str).filter(|text| !text.is_empty());
    let (api_version, kind) = match (api_version, kind) {
        (Some(api_version), Some(kind)) => (api_version, kind),
        (api_version, kind) => {
            let mut missing = Vec::new();
            if api_version.is_none() {
                missing.push("apiVersion not set");
            }
            if kind.is_none() {
                missing.push("kind not set");
            }
            return Err(DecodeError::MissingTypeFields { missing });
        }
    };
    if let Some(resource) = kinds::by_api_version_kind(api_version, kind) {
        return Ok(resource);
    }
    let served = kinds::api_versions_of_kind(kind);
    let (group, _) = kinds::split_api_version(api_version);
    if !served.is_empty() && is_kubernetes_group(group) {
        return Err(DecodeError::WrongVersion { api_version: api_version.to_string(), kind: kind.to_string(), served });
    }
    Err(DecodeError::Unsupported { api_version: api_version.to_string(), kind: kind.to_string() })
}

/// Whether a group is one of Kubernetes' own (where a served kind at another version is a
/// Kubernetes kind at a removed or wrong version, such as `extensions/v1beta1` Deployment),
/// rather than a custom resource group that happens to reuse a kind's name.
fn is_kubernetes_group(group: &str) -> bool {
    const LEGACY_GROUPS: [&str; 6] = ["", "apps", "extensions", "batch", "autoscaling", "policy"];
    LEGACY_GROUPS.contains(&group) || group.ends_with(".k8s.io")
}

/// Compares what came in with what the typed struct kept: a key the struct dropped is a field it
/// does not know. Nulls are skipped (Kubernetes treats `field: null` as unset).
fn find_unknown_fields(input: &Value, kept: &Value, path: &FieldPath, unknown: &mut Vec<FieldError>) {
    match (input, kept) {
        (Value::Object(input), Value::Object(kept)) => {
            for (key, value) in input {
                match kept.get(key) {
                    Some(kept_value) => find_unknown_fields(value, kept_value, &path.child(key), unknown),
                    None if value.is_null() => {}
                    None => unknown.push(FieldError::unknown_field(&path.child(key))),
                }
            }
        }
        (Value::Array(input), Value::Array(kept)) => {
            for (index, (value, kept_value)) in input.iter().zip(kept).enumerate() {
                find_unknown_fields(value, kept_value, &path.index(index), unknown);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_known_kind_decodes() {
        let (resource, object) = decode_strict(&json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "creationTimestamp": null},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
        }))
        .unwrap();
        assert_eq!(resource.plural, "deployments");
        assert_eq!(object.name(), "web");
        assert!(object.metadata.creation_timestamp.is_none());
    }

    #[test]
    fn an_unknown_field_is_named_by_its_path() {
        let error = decode_strict(&json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "nginx", "imagePullPolice": "Always"}]}
        }))
        .unwrap_err();
        assert_eq!(error.to_string(), "strict decoding error: unknown field \"spec.containers[0].imagePullPolice\"");
    }

    #[test]
    fn a_wrong_version_names_the_served_ones() {
        let error = decode_strict(&json!({"apiVersion": "apps/v1beta1", "kind": "Deployment"})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no matches for kind \"Deployment\" in version \"apps/v1beta1\"; Deployment is served at apps/v1"
        );
    }

    #[test]
    fn a_custom_resource_is_unsupported() {
        let error = decode_strict(&json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor"}));
        assert!(matches!(error, Err(DecodeError::Unsupported { .. })));
    }

    #[test]
    fn missing_type_fields_are_both_reported() {
        let error = decode_strict(&json!({"metadata": {"name": "x"}})).unwrap_err();
        assert_eq!(error.to_string(), "apiVersion not set, kind not set");
    }
}
