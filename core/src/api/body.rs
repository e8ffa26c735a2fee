//! Reading request bodies: size limit, media type, strict or lenient decoding into an object of
//! the kind the path names, as the API server's decoder does.

use serde_json::Value;

use super::request::ApiRequest;
use super::status::ApiError;
use crate::limits;
use crate::object::defaults::apply_defaults;
use crate::object::kinds::ResourceType;
use crate::object::protobuf;
use crate::object::strict::{DecodeError, decode_strict_as};
use crate::object::{FieldError, Object};

/// How unknown fields are treated (`fieldValidation`): Kubernetes' default is `Warn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValidation {
    /// Unknown fields are dropped silently.
    Ignore,
    /// Unknown fields are dropped and reported in `Warning` headers.
    Warn,
    /// Unknown fields fail the request with 400 BadRequest.
    Strict,
}

impl FieldValidation {
    /// Reads the `fieldValidation` query parameter.
    pub fn of(request: &ApiRequest) -> Result<FieldValidation, ApiError> {
        match request.query_param("fieldValidation") {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other:?}; supported values: \"Ignore\", \"Warn\", \"Strict\""
            ))),
        }
    }
}

/// Media types a body may have; anything else is 415.
const ACCEPTED_BODY_TYPES: &str = "application/json, application/yaml, application/vnd.kubernetes.protobuf";

/// Parses a request body as JSON, YAML or Kubernetes' protobuf encoding (decoded into the JSON
/// value Kubernetes' JSON encoding of the same object would be), refusing bodies over the size
/// limit. Only create, update and delete bodies come through here; patches have their own
/// media types, and Kubernetes refuses protobuf for them too.
pub fn parse_body(request: &ApiRequest) -> Result<Value, ApiError> {
    if request.body.len() > limits::MAX_REQUEST_BYTES {
        return Err(ApiError::TooLarge { limit: limits::MAX_REQUEST_BYTES });
    }
    match media_type(request) {
        "application/json" | "" | "*/*" => serde_json::from_slice(&request.body)
            .map_err(|error| ApiError::bad_request(format!("error decoding request body as JSON: {error}"))),
        "application/yaml" => {
            let text = std::str::from_utf8(&request.body)
                .map_err(|_| ApiError::bad_request("request body is not UTF-8 text"))?;
            crate::manifest::parse_document(text).map_err(|error| {
                ApiError::bad_request(format!("error decoding request body as YAML: {}", error.message))
            })
        }
        protobuf::MEDIA_TYPE => protobuf::decode(&request.body)
            .map_err(|error| ApiError::bad_request(format!("error decoding request body as protobuf: {error}"))),
        _ => Err(ApiError::UnsupportedMediaType { accepted: ACCEPTED_BODY_TYPES.into() }),
    }
}

/// The media type of the body, without parameters. kubectl's PUT to a scale subresource sends no
/// Content-Type: JSON is assumed.
pub fn media_type(request: &ApiRequest) -> &str {
    let content_type = request.header("content-type").unwrap_or("application/json");
    content_type.split(';').next().unwrap_or_default().trim()
}

/// Reads a create or update body as an object of `resource`, defaulted: [`parse_body`] followed
/// by [`decode_object`], except that a plain JSON body (every field known, no error) is decoded
/// straight into the kind's typed struct and converted once, which is the common case and gives
/// the same object.
pub fn decode_body(
    resource: &'static ResourceType,
    request: &ApiRequest,
    validation: FieldValidation,
) -> Result<(Object, Vec<String>), ApiError> {
    let is_json = matches!(media_type(request), "application/json" | "" | "*/*");
    if is_json
        && request.body.len() <= limits::MAX_REQUEST_BYTES
        && let Some(object) = (resource.decode_json_defaulted)(&request.body)
    {
        return Ok((object, Vec::new()));
    }
    decode_object(resource, parse_body(request)?, validation)
}

/// Decodes a body value as an object of `resource`, filling `apiVersion` and `kind` when the
/// client left them out and refusing a body of another kind, and fills in the kind's defaults as
/// Kubernetes' decoder does. Returns the object and the warnings for unknown fields (empty
/// unless `validation` is `Warn`).
pub fn decode_object(
    resource: &'static ResourceType,
    mut value: Value,
    validation: FieldValidation,
) -> Result<(Object, Vec<String>), ApiError> {
    let Value::Object(map) = &mut value else {
        return Err(ApiError::bad_request("the request body must be a JSON object"));
    };
    map.entry("apiVersion").or_insert_with(|| resource.api_version.into());
    map.entry("kind").or_insert_with(|| resource.kind.into());
    let (api_version, kind) = (map["apiVersion"].as_str().unwrap_or(""), map["kind"].as_str().unwrap_or(""));
    if api_version != resource.api_version || kind != resource.kind {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            resource.api_version
        ))
        .with_kind_mismatch(kind, resource.kind));
    }
    match decode_strict_as(resource, &value) {
        Ok((mut object, unknown)) => {
            apply_defaults(&mut object).map_err(|error| ApiError::bad_request(error.to_string()))?;
            if unknown.is_empty() || validation == FieldValidation::Ignore {
                return Ok((object, Vec::new()));
            }
            if validation == FieldValidation::Strict {
                return Err(strict_error(resource, &unknown));
            }
            Ok((object, unknown.iter().map(|error| format!("unknown field \"{}\"", error.path)).collect()))
        }
        Err(DecodeError::Fields { errors }) => Err(strict_error(resource, &errors)),
        Err(error) => Err(ApiError::bad_request(error.to_string())),
    }
}

fn strict_error(resource: &ResourceType, errors: &[FieldError]) -> ApiError {
    let message = DecodeError::Fields { errors: errors.to_vec() }.to_string();
    ApiError::bad_request(format!(
        "{} in version {:?} cannot be handled as a {}: {message}",
        resource.kind, resource.version, resource.kind
    ))
}

impl ApiError {
    /// A body of the wrong kind says so, in Kubernetes' words, instead of the version message.
    fn with_kind_mismatch(self, found: &str, expected: &str) -> ApiError {
        if found == expected {
            return self;
        }
        ApiError::bad_request(format!("the kind in the data ({found}) does not match the expected kind ({expected})"))
    }
}
