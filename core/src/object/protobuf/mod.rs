//! Kubernetes' protobuf encoding of request bodies (`application/vnd.kubernetes.protobuf`), which
//! kubectl's typed generators (`kubectl create deployment|configmap|secret|...`) and client-go's
//! typed clients send: decoded into exactly the JSON value Kubernetes' JSON encoding of the same
//! object would be, so that it flows through the JSON path unchanged.
//!
//! Differences from Kubernetes, all deliberate:
//! - an unknown field number is an error (Kubernetes' generated decoders skip it): a field this
//!   table does not know would otherwise vanish silently;
//! - a singular message field that occurs twice keeps the last occurrence (protobuf merges them;
//!   no Kubernetes client writes a field twice);
//! - scalars missing from the wire are left out even where Go's JSON would write a zero (Go's
//!   encoder always writes such fields, so only hand-made bodies miss them).

mod envelope;
#[cfg(test)]
mod generate;
pub mod messages;
pub mod special;
#[cfg(test)]
mod tests;
mod wire;

use serde_json::{Map, Value};

pub use envelope::{Envelope, MAGIC, read_envelope};
pub use messages::{MessageTable, kubernetes};

/// The media type of Kubernetes' protobuf encoding.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Why a protobuf body could not be decoded; every variant is a client error (400).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtobufError {
    /// The body is empty.
    #[error("empty data")]
    EmptyData,
    /// The body does not start with `k8s\0`.
    #[error("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]")]
    BadMagic,
    /// The body is the magic number alone.
    #[error("empty body")]
    EmptyBody,
    /// A varint, length or payload runs past the end of its message.
    #[error("unexpected end of data in {message} at byte {offset}")]
    Truncated {
        /// The message being read.
        message: String,
        /// Where in that message's bytes.
        offset: usize,
    },
    /// A varint longer than ten bytes.
    #[error("varint longer than 10 bytes in {message} at byte {offset}")]
    VarintTooLong {
        /// The message being read.
        message: String,
        /// Where in that message's bytes.
        offset: usize,
    },
    /// A key with a wire type Kubernetes never writes (groups, or the reserved 6 and 7).
    #[error("unsupported wire type {wire_type} at byte {offset} of {message}")]
    UnsupportedWireType {
        /// The message being read.
        message: String,
        /// The wire type of the key.
        wire_type: u8,
        /// Where in that message's bytes.
        offset: usize,
    },
    /// A key with field number 0 or beyond 32 bits.
    #[error("invalid field number at byte {offset} of {message}")]
    InvalidFieldNumber {
        /// The message being read.
        message: String,
        /// Where in that message's bytes.
        offset: usize,
    },
    /// A known field with the wrong wire type.
    #[error("field {tag} of {message} has wire type {found}, expected {expected}")]
    WrongWireType {
        /// The message (and field) being read.
        message: String,
        /// The field number.
        tag: u32,
        /// The wire type found.
        found: u8,
        /// The wire type of the field's type.
        expected: u8,
    },
    /// A field number the message does not have.
    #[error("unknown field number {tag} in {message}")]
    UnknownField {
        /// The message being read.
        message: String,
        /// The field number.
        tag: u32,
    },
    /// A message the table does not describe (a table that is out of date).
    #[error("no description of the protobuf message {message}")]
    UnknownMessage {
        /// The message.
        message: String,
    },
    /// The envelope's `typeMeta` has no kind.
    #[error("Object 'Kind' is missing in the protobuf body's typeMeta")]
    MissingKind,
    /// The envelope's `typeMeta` has no apiVersion.
    #[error("Object 'apiVersion' is missing in the protobuf body's typeMeta")]
    MissingVersion,
    /// No message is known for the kind.
    #[error("no protobuf message is known for kind {kind:?} in version {api_version:?}")]
    UnknownKind {
        /// `typeMeta.apiVersion`.
        api_version: String,
        /// `typeMeta.kind`.
        kind: String,
    },
    /// Messages nested deeper than the document depth limit.
    #[error("messages nested deeper than {limit}")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A value that has no JSON form: text that is not UTF-8, a bad quantity, a time out of range.
    #[error("{message}: {reason}")]
    InvalidValue {
        /// The message (and field) being read.
        message: String,
        /// What is wrong.
        reason: String,
    },
}

/// Decodes a Kubernetes protobuf body into the JSON object Kubernetes' JSON encoding of the same
/// object would be, with `apiVersion` and `kind` from the envelope.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    decode_with(kubernetes(), body, 0)
}

/// A protobuf object embedded in another (a `RawExtension`), `depth` messages down.
fn decode_nested(body: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    decode_with(kubernetes(), body, depth)
}

fn decode_with(table: &MessageTable, body: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    let envelope = read_envelope(body)?;
    if envelope.kind.is_empty() {
        return Err(ProtobufError::MissingKind);
    }
    if envelope.api_version.is_empty() {
        return Err(ProtobufError::MissingVersion);
    }
    let message = table.of_kind(&envelope.api_version, &envelope.kind).ok_or_else(|| ProtobufError::UnknownKind {
        api_version: envelope.api_version.clone(),
        kind: envelope.kind.clone(),
    })?;
    let fields = wire::decode_message(table, message, envelope.raw, depth)?;
    let mut object = Map::new();
    object.insert("kind".into(), Value::String(envelope.kind));
    object.insert("apiVersion".into(), Value::String(envelope.api_version));
    object.extend(fields);
    Ok(Value::Object(object))
}
