//! The one error type of the patch module: every way a PATCH body can fail to apply, with the
//! HTTP status and the wording the Kubernetes API server answers with.

use thiserror::Error;

use super::ACCEPTED_PATCH_MEDIA_TYPES;

/// Why a patch could not be applied. Messages follow the Kubernetes API server's wording so that
/// kubectl users see what they would see against Kubernetes.
#[derive(Debug, Error)]
pub enum PatchError {
    /// The Content-Type is not one of the four patch media types (Kubernetes answers 415).
    #[error(
        "the body of the request was in an unknown format - accepted media types include: {}",
        ACCEPTED_PATCH_MEDIA_TYPES.join(", ")
    )]
    UnsupportedMediaType {
        /// The Content-Type the request carried.
        content_type: String,
    },
    /// The body is larger than the API server accepts (Kubernetes answers 413).
    #[error("Request entity too large: limit is {limit_bytes}")]
    BodyTooLarge {
        /// The bound that was exceeded, in bytes.
        limit_bytes: usize,
    },
    /// The body is not valid JSON.
    #[error("error decoding patch: {source}")]
    InvalidJson {
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// The body of a server-side apply is neither JSON nor valid YAML.
    #[error("error decoding YAML: {source}")]
    InvalidYaml {
        /// The parser's complaint.
        #[source]
        source: serde_saphyr::Error,
    },
    /// A merge, strategic merge or apply patch whose top level is not an object.
    #[error("the patch must be a JSON object, but it is a {found}")]
    PatchNotAnObject {
        /// The JSON type the patch has.
        found: &'static str,
    },
    /// The object being patched is not a JSON object.
    #[error("the object to patch must be a JSON object, but it is a {found}")]
    OriginalNotAnObject {
        /// The JSON type the original has.
        found: &'static str,
    },
    /// A JSON patch with more operations than Kubernetes allows (answered with 413).
    #[error("The allowed maximum operations in a JSON patch is {max}, got {count}")]
    TooManyJsonPatchOperations {
        /// Operations in the body.
        count: usize,
        /// The bound, `limits::MAX_JSON_PATCH_OPERATIONS`.
        max: usize,
    },
    /// One operation of a JSON patch failed; the whole patch is rejected (422 in Kubernetes).
    #[error("{}", describe_json_patch_failure(.op, .path, .reason))]
    JsonPatchOperationFailed {
        /// Position of the failed operation in the patch, from 0.
        index: usize,
        /// The operation: `add`, `remove`, `replace`, `move`, `copy` or `test`.
        op: &'static str,
        /// The operation's `path`.
        path: String,
        /// What went wrong.
        reason: JsonPatchFailure,
        /// The json-patch crate's error.
        #[source]
        source: json_patch::PatchError,
    },
    /// The `copy` operations of a JSON patch would add more bytes than Kubernetes allows
    /// (`JSONPatchMaxCopyBytes`, answered with 422).
    #[error(
        "Unable to complete the copy, the accumulated size increase of copy is {accumulated}, exceeding the limit {limit}"
    )]
    CopyTooLarge {
        /// Bytes the copies so far would add.
        accumulated: usize,
        /// The bound, `limits::JSON_PATCH_COPY_BYTES_MAX`.
        limit: usize,
    },
    /// The patched object nests deeper than the server accepts (422).
    #[error("the patched object nests deeper than {limit} levels")]
    TooDeep {
        /// The bound, `limits::MAX_DOCUMENT_DEPTH`.
        limit: usize,
    },
    /// A `$patch` directive with a value other than `replace`, `delete` or `merge`.
    #[error("unknown patch type: {directive} in map: {map}")]
    UnknownDirective {
        /// The directive's value.
        directive: String,
        /// The map that carried it, as JSON.
        map: String,
    },
    /// `$patch: merge` as an element of a list, which Kubernetes does not support.
    #[error("merging lists cannot yet be specified in the patch")]
    MergeDirectiveInList,
    /// An element of a list merged by key lacks the key.
    #[error("map: {item} does not contain declared merge key: {merge_key}")]
    MissingMergeKey {
        /// The merge key of the list (`name`, `containerPort`).
        merge_key: String,
        /// The element, as JSON.
        item: String,
    },
    /// A `$retainKeys` directive that is not a list, or a patch with keys outside that list.
    #[error("invalid patch format of retainKeys")]
    InvalidRetainKeys,
    /// A `$deleteFromPrimitiveList/<list>` directive with a bad key or a value that is not a list.
    #[error("invalid patch format of primitive list")]
    InvalidDeleteFromPrimitiveList,
    /// A `$setElementOrder/<list>` directive with a bad key or a value that is not a list.
    #[error("invalid patch format of setElementOrder list")]
    InvalidSetElementOrder,
    /// The patch list names elements in an order or a set that `$setElementOrder` contradicts.
    #[error("The order in patch list:\n{patch_list}\n doesn't match $setElementOrder list:\n{order_list}\n")]
    SetElementOrderMismatch {
        /// The patch list, as JSON.
        patch_list: String,
        /// The `$setElementOrder` list, as JSON.
        order_list: String,
    },
    /// A list whose elements are lists (422 in Kubernetes).
    #[error("lists of lists are not supported")]
    ListOfLists,
    /// A merged list whose elements are not all of one JSON type.
    #[error("list element types are not identical: {list}")]
    MixedListElements {
        /// The lists involved, as JSON.
        list: String,
    },
    /// A list of maps declared `merge` without a merge key.
    #[error("cannot merge lists without merge key for type map")]
    ListOfMapsWithoutMergeKey,
    /// A value of the wrong JSON type where a directive or merge needs a map or a list.
    #[error("expected a {expected}, but received a {found}")]
    UnexpectedType {
        /// The JSON type needed.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
}

impl PatchError {
    /// The HTTP status Kubernetes answers this failure with.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::UnsupportedMediaType { .. } => 415,
            Self::BodyTooLarge { .. } | Self::TooManyJsonPatchOperations { .. } => 413,
            Self::JsonPatchOperationFailed { .. }
            | Self::ListOfLists
            | Self::CopyTooLarge { .. }
            | Self::TooDeep { .. } => 422,
            _ => 400,
        }
    }
}

/// How one JSON patch operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonPatchFailure {
    /// A `test` operation found a different value.
    TestFailed,
    /// The operation's `path` (or its parent, for `add`) does not exist.
    MissingPath,
    /// The `from` of a `move` or `copy` does not exist.
    MissingFrom {
        /// The operation's `from`.
        from: String,
    },
    /// A `move` into a child of its own `from`.
    MoveIntoItself,
}

/// The message for a failed JSON patch operation, in the wording of the JSON patch library the
/// Kubernetes API server uses.
fn describe_json_patch_failure(op: &str, path: &str, reason: &JsonPatchFailure) -> String {
    match reason {
        JsonPatchFailure::TestFailed => format!("testing value {path} failed: test failed"),
        JsonPatchFailure::MissingPath => {
            format!("{op} operation does not apply: doc is missing path: \"{path}\": missing value")
        }
        JsonPatchFailure::MissingFrom { from } => {
            format!("{op} operation does not apply: doc is missing from path: \"{from}\": missing value")
        }
        JsonPatchFailure::MoveIntoItself => {
            format!("{op} operation does not apply: cannot move \"{path}\" into its own child")
        }
    }
}

/// The JSON type of a value, as error messages name it.
pub(crate) fn json_type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "list",
        serde_json::Value::Object(_) => "map",
    }
}
