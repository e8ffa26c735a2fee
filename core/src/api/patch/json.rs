//! JSON patch (RFC 6902), as `kubectl rollout undo` sends: a list of operations applied in order,
//! all or nothing, with failures reported per operation in Kubernetes' wording.

use json_patch::{Patch, PatchErrorKind, PatchOperation};
use serde_json::Value;

use super::error::{JsonPatchFailure, PatchError};
use crate::limits::{JSON_PATCH_COPY_BYTES_MAX, MAX_JSON_PATCH_OPERATIONS};

/// Decodes a JSON patch body, refusing more operations than Kubernetes accepts.
pub fn parse_json_patch(body: &[u8]) -> Result<Patch, PatchError> {
    let patch: Patch = serde_json::from_slice(body).map_err(|source| PatchError::InvalidJson { source })?;
    if patch.0.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError::TooManyJsonPatchOperations { count: patch.0.len(), max: MAX_JSON_PATCH_OPERATIONS });
    }
    Ok(patch)
}

/// Applies the operations of a JSON patch to a copy of `original`; on the first failing operation
/// nothing is applied and the error names that operation, its path and why it failed. The bytes
/// `copy` operations add are counted, and a patch whose copies add more than
/// [`JSON_PATCH_COPY_BYTES_MAX`] is refused, as Kubernetes does (`JSONPatchMaxCopyBytes`): thirty
/// copies of a document into itself would otherwise double it thirty times.
pub fn apply_json_patch(original: &Value, operations: &[PatchOperation]) -> Result<Value, PatchError> {
    let mut document = original.clone();
    let mut copied_bytes: usize = 0;
    for (index, operation) in operations.iter().enumerate() {
        if let PatchOperation::Copy(copy) = operation
            && let Some(value) = document.pointer(copy.from.as_str())
        {
            copied_bytes = copied_bytes.saturating_add(encoded_length(value));
            if copied_bytes > JSON_PATCH_COPY_BYTES_MAX {
                return Err(PatchError::CopyTooLarge { accumulated: copied_bytes, limit: JSON_PATCH_COPY_BYTES_MAX });
            }
        }
        // The document is a copy, so a failed operation may leave it half-patched: it is dropped.
        json_patch::patch_unsafe(&mut document, std::slice::from_ref(operation)).map_err(|mut source| {
            source.operation = index;
            operation_failed(operations, source)
        })?;
    }
    Ok(document)
}

/// The length of a value's compact JSON encoding, counted without building it.
fn encoded_length(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(bytes.len());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail, and a Value always encodes.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
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
