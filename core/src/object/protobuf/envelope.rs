//! The envelope of a Kubernetes protobuf body: the magic number `k8s\0` and a `runtime.Unknown`
//! message (1 `typeMeta` {1 apiVersion, 2 kind}, 2 `raw`, 3 `contentEncoding`, 4 `contentType`)
//! whose `raw` is the object's own message.

use super::ProtobufError;
use super::wire::{Reader, WireType};

/// The four bytes every Kubernetes protobuf body starts with: `k8s` and the encoding style 0.
pub const MAGIC: [u8; 4] = [0x6b, 0x38, 0x73, 0x00];

const UNKNOWN: &str = "k8s.io.apimachinery.pkg.runtime.Unknown";
const TYPE_META: &str = "k8s.io.apimachinery.pkg.runtime.TypeMeta";

/// The parts of an envelope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// `typeMeta.apiVersion` (`apps/v1`).
    pub api_version: String,
    /// `typeMeta.kind` (`Deployment`).
    pub kind: String,
    /// The object's message.
    pub raw: &'a [u8],
    /// `contentEncoding`: empty from every Kubernetes client; Kubernetes ignores it.
    pub content_encoding: String,
    /// `contentType`: empty from every Kubernetes client; Kubernetes ignores it.
    pub content_type: String,
}

/// Reads the envelope of a body, with Kubernetes' messages for an empty body and a missing magic
/// number.
pub fn read_envelope(body: &[u8]) -> Result<Envelope<'_>, ProtobufError> {
    if body.is_empty() {
        return Err(ProtobufError::EmptyData);
    }
    let Some(message) = body.strip_prefix(&MAGIC) else {
        return Err(ProtobufError::BadMagic);
    };
    if message.is_empty() {
        return Err(ProtobufError::EmptyBody);
    }
    let mut envelope = Envelope::default();
    let mut reader = Reader::new(message, UNKNOWN);
    while !reader.is_empty() {
        let (tag, payload) = length_delimited_field(&mut reader, UNKNOWN, 4)?;
        match tag {
            1 => read_type_meta(payload, &mut envelope)?,
            2 => envelope.raw = payload,
            3 => envelope.content_encoding = text(UNKNOWN, payload)?,
            _ => envelope.content_type = text(UNKNOWN, payload)?,
        }
    }
    Ok(envelope)
}

fn read_type_meta(bytes: &[u8], envelope: &mut Envelope<'_>) -> Result<(), ProtobufError> {
    let mut reader = Reader::new(bytes, TYPE_META);
    while !reader.is_empty() {
        let (tag, payload) = length_delimited_field(&mut reader, TYPE_META, 2)?;
        let value = text(TYPE_META, payload)?;
        if tag == 1 {
            envelope.api_version = value;
        } else {
            envelope.kind = value;
        }
    }
    Ok(())
}

/// The next field of an envelope message, whose fields `1..=last_tag` are all length-delimited.
fn length_delimited_field<'a>(
    reader: &mut Reader<'a, '_>,
    message: &str,
    last_tag: u32,
) -> Result<(u32, &'a [u8]), ProtobufError> {
    let (tag, wire_type) = reader.key()?;
    if !(1..=last_tag).contains(&tag) {
        return Err(ProtobufError::UnknownField { message: message.into(), tag });
    }
    if wire_type != WireType::LengthDelimited {
        return Err(ProtobufError::WrongWireType {
            message: message.into(),
            tag,
            found: wire_type.number(),
            expected: WireType::LengthDelimited.number(),
        });
    }
    Ok((tag, reader.length_delimited()?))
}

fn text(message: &str, bytes: &[u8]) -> Result<String, ProtobufError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtobufError::InvalidValue {
        message: message.to_string(),
        reason: "the text is not UTF-8".into(),
    })
}
