//! PATCH bodies: the four patch types the Kubernetes API server applies, chosen by Content-Type.
//!
//! - `application/merge-patch+json`: RFC 7386 ([`merge`]), e.g. `kubectl label`, `scale`;
//! - `application/json-patch+json`: RFC 6902 ([`json`]), e.g. `kubectl rollout undo`;
//! - `application/strategic-merge-patch+json`: Kubernetes' strategic merge patch ([`strategic`]),
//!   e.g. `kubectl apply`, `set image`, `taint`, `cordon`, `edit`;
//! - `application/apply-patch+yaml`: server-side apply; [`parse_apply_configuration`] reads the
//!   configuration and [`crate::api::apply`] merges it by the schema and records ownership (a
//!   subresource such as `scale` still merges it here, with strategic-merge semantics).
//!
//! Everything works on `serde_json::Value`; decoding into typed objects, validation and creating
//! an object that does not exist yet (server-side apply) belong to the API layer.

mod error;
pub mod json;
pub mod merge;
pub mod strategic;
pub mod strategic_schema;

#[cfg(test)]
mod tests;

use serde_json::Value;

pub use error::{JsonPatchFailure, PatchError};
pub use json::{apply_json_patch, parse_json_patch};
pub use merge::{apply_merge_patch, create_merge_patch};
pub use strategic::{apply_strategic_merge_patch, apply_strategic_merge_patch_with_schema};

use crate::limits::{MAX_DOCUMENT_DEPTH, MAX_REQUEST_BYTES, MAX_YAML_ALIASES, MAX_YAML_NODES};
use error::json_type_name;

/// The patch media types, in the order Kubernetes lists them in its 415 answer.
pub const ACCEPTED_PATCH_MEDIA_TYPES: [&str; 4] = [
    PatchType::Json.media_type(),
    PatchType::Merge.media_type(),
    PatchType::StrategicMerge.media_type(),
    PatchType::Apply.media_type(),
];

/// The kind of a PATCH body, named by its Content-Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// RFC 6902 JSON patch.
    Json,
    /// RFC 7386 JSON merge patch.
    Merge,
    /// Kubernetes strategic merge patch.
    StrategicMerge,
    /// Server-side apply.
    Apply,
}

impl PatchType {
    /// The media type of this patch type.
    pub const fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/json-patch+json",
            Self::Merge => "application/merge-patch+json",
            Self::StrategicMerge => "application/strategic-merge-patch+json",
            Self::Apply => "application/apply-patch+yaml",
        }
    }

    /// The patch type a Content-Type header names; parameters such as `; charset=utf-8` are
    /// ignored, as Kubernetes does.
    pub fn from_content_type(content_type: &str) -> Result<Self, PatchError> {
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        [Self::Json, Self::Merge, Self::StrategicMerge, Self::Apply]
            .into_iter()
            .find(|patch_type| patch_type.media_type().eq_ignore_ascii_case(media_type))
            .ok_or_else(|| PatchError::UnsupportedMediaType { content_type: content_type.to_string() })
    }
}

/// Applies a PATCH body to `original` (an object of `kind`) according to its Content-Type.
/// Returns the patched object, not yet validated.
pub fn apply_patch(original: &Value, patch_body: &[u8], content_type: &str, kind: &str) -> Result<Value, PatchError> {
    let patch_type = PatchType::from_content_type(content_type)?;
    if patch_body.len() > MAX_REQUEST_BYTES {
        return Err(PatchError::BodyTooLarge { limit_bytes: MAX_REQUEST_BYTES });
    }
    let patched = match patch_type {
        PatchType::Json => apply_json_patch(original, &parse_json_patch(patch_body)?),
        PatchType::Merge => Ok(apply_merge_patch(original, &parse_json_object(patch_body)?)),
        PatchType::StrategicMerge => apply_strategic_merge_patch(original, &parse_json_object(patch_body)?, kind),
        PatchType::Apply => apply_strategic_merge_patch(original, &parse_apply_body(patch_body)?, kind),
    }?;
    if nests_deeper_than(&patched, MAX_DOCUMENT_DEPTH) {
        return Err(PatchError::TooDeep { limit: MAX_DOCUMENT_DEPTH });
    }
    Ok(patched)
}

/// [`apply_patch`] for a JSON merge patch its caller has already read: a JSON object from a
/// body within the request limit. The same result, without reading the body a second time.
pub fn apply_read_merge_patch(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    debug_assert!(patch.is_object(), "a merge patch read by the caller is a JSON object");
    let patched = apply_merge_patch(original, patch);
    if nests_deeper_than(&patched, MAX_DOCUMENT_DEPTH) {
        return Err(PatchError::TooDeep { limit: MAX_DOCUMENT_DEPTH });
    }
    Ok(patched)
}

/// Reads a server-side apply body (JSON or YAML) as the configuration it is, within the
/// request and depth limits; the merge belongs to [`crate::api::apply`].
pub fn parse_apply_configuration(patch_body: &[u8]) -> Result<Value, PatchError> {
    if patch_body.len() > MAX_REQUEST_BYTES {
        return Err(PatchError::BodyTooLarge { limit_bytes: MAX_REQUEST_BYTES });
    }
    let configuration = parse_apply_body(patch_body)?;
    if nests_deeper_than(&configuration, MAX_DOCUMENT_DEPTH) {
        return Err(PatchError::TooDeep { limit: MAX_DOCUMENT_DEPTH });
    }
    Ok(configuration)
}

/// Whether `value` nests more than `limit` levels of lists and maps. A JSON patch can nest a
/// document in itself (`copy` into a child), deeper than any body the parser accepts; the check
/// recurses at most `limit` levels.
pub(crate) fn nests_deeper_than(value: &Value, limit: usize) -> bool {
    let children: Box<dyn Iterator<Item = &Value>> = match value {
        Value::Array(items) => Box::new(items.iter()),
        Value::Object(map) => Box::new(map.values()),
        _ => return false,
    };
    if limit == 0 {
        return true;
    }
    children.into_iter().any(|child| nests_deeper_than(child, limit - 1))
}

/// Decodes a JSON body that must be an object.
fn parse_json_object(body: &[u8]) -> Result<Value, PatchError> {
    let value: Value = serde_json::from_slice(body).map_err(|source| PatchError::InvalidJson { source })?;
    require_object(value)
}

/// Decodes a server-side apply body: JSON (what kubectl sends) or YAML, within the YAML limits.
fn parse_apply_body(body: &[u8]) -> Result<Value, PatchError> {
    if body.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{') {
        return parse_json_object(body);
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DOCUMENT_DEPTH,
            max_aliases: MAX_YAML_ALIASES,
            max_nodes: MAX_YAML_NODES,
        },
    };
    let value: Value =
        serde_saphyr::from_slice_with_options(body, options).map_err(|source| PatchError::InvalidYaml { source })?;
    require_object(value)
}

fn require_object(value: Value) -> Result<Value, PatchError> {
    if value.is_object() { Ok(value) } else { Err(PatchError::PatchNotAnObject { found: json_type_name(&value) }) }
}
