//! JSON patch (RFC 6902), as `kubectl rollout undo` sends: a list of operations applied in order,
//! all or nothing, with failures reported per operation in Kubernetes' wording.

use json_patch::{Patch, PatchErrorKind, PatchOperation};
use serde_json::Value;

use super::error::{JsonPatchFailure, PatchError};
use crate::limits::MAX_JSON_PATCH_OPERATIONS;

/// Decodes a JSON patch body, refusing more operations than Kubernetes accepts.
pub fn parse_json_patch(body: &[u8]) -> Result<Patch, PatchError> {
    let patch: Patch = serde_json::from_slice(body).map_err(|source| PatchError::InvalidJson { source })?;
    if patch.0.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError::TooManyJsonPatchOperations { count: patch.0.len(), max: MAX_JSON_PATCH_OPERATIONS });
    }
    Ok(patch)
}

/// Applies the operations of a JSON patch to a copy of `original`; on the first failing operation
/// nothing is applied and the error names that operation, its path and why it failed.
pub fn apply_json_patch(original: &Value, operations: &[PatchOperation]) -> Result<Value, PatchError> {
    let mut document = original.clone();
    json_patch::patch(&mut document, operations).map_err(|source| operation_failed(operations, source))?;
    Ok(document)
}

fn operation_failed(operations: &[PatchOperation], source: json_patch::PatchError) -> PatchError {
    let operation = operations.get(source.operation);
    let (op, from) = match operation {
        Some(PatchOperation::Add(_)) => ("add", None),
        Some(PatchOperation::Remove(_)) => ("remove", None),
        Some(PatchOperation::Replace(_)) => ("replace", None),
        Some(PatchOperation::Move(operation)) => ("move", Some(operation.from.to_string())),
        Some(PatchOperation::Copy(operation)) => ("copy", Some(operation.from.to_string())),
        Some(PatchOperation::Test(_)) | None => ("test", None),
    };
    let reason = match &source.kind {
        PatchErrorKind::TestFailed => JsonPatchFailure::TestFailed,
        PatchErrorKind::InvalidFromPointer => JsonPatchFailure::MissingFrom { from: from.unwrap_or_default() },
        PatchErrorKind::CannotMoveInsideItself => JsonPatchFailure::MoveIntoItself,
        _ => JsonPatchFailure::MissingPath,
    };
    PatchError::JsonPatchOperationFailed { index: source.operation, op, path: source.path.to_string(), reason, source }
}
