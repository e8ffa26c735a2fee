//! Every bound of the core in one place (DESIGN.md principle 7), with Kubernetes' value where
//! Kubernetes has one.

/// Largest request body or manifest file accepted: 3 MiB, as the Kubernetes API server.
pub const MAX_REQUEST_BYTES: usize = 3 * 1024 * 1024;

/// Deepest nesting of YAML or JSON collections accepted in one document.
pub const MAX_DOCUMENT_DEPTH: usize = 100;

/// Most YAML alias references accepted in one manifest; a document that needs more is refused
/// before it is expanded (this stops "billion laughs" documents).
pub const MAX_YAML_ALIASES: usize = 1_000;

/// Most YAML nodes (scalars, sequences, mappings) accepted in one manifest, after alias
/// expansion would be counted.
pub const MAX_YAML_NODES: usize = 1_000_000;

/// Most documents accepted in one manifest stream.
pub const MAX_DOCUMENTS: usize = 10_000;

/// Most operations accepted in one JSON patch (RFC 6902) body, as the Kubernetes API server
/// (`maxJSONPatchOperations`).
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;
