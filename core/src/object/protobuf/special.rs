//! The messages whose JSON form is not an object of their fields: `Time`, `MicroTime`,
//! `Duration`, `FieldsV1`, `Quantity`, `IntOrString` and `RawExtension`, each turned into the
//! value Kubernetes' JSON encoder writes for it (`MarshalJSON` of the Go type).

use jiff::Timestamp;
use serde_json::Value;

use super::ProtobufError;
use super::wire::{Reader, WireType};
use crate::object::quantity::Quantity;

/// A message with its own JSON form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    /// `meta.v1.Time` {1 seconds, 2 nanos}: RFC 3339 in UTC to the second, `null` when zero.
    Time,
    /// `meta.v1.MicroTime` {1 seconds, 2 nanos}: RFC 3339 in UTC with six fractional digits.
    MicroTime,
    /// `meta.v1.Duration` {1 duration in nanoseconds}: Go's duration text (`1h0m0s`).
    Duration,
    /// `meta.v1.FieldsV1` {1 Raw}: the embedded JSON document.
    FieldsV1,
    /// `api.resource.Quantity` {1 string}: the quantity's canonical text.
    Quantity,
    /// `util.intstr.IntOrString` {1 type, 2 intVal, 3 strVal}: a number or a string.
    IntOrString,
    /// `runtime.RawExtension` {1 raw}: the embedded JSON document (or protobuf object).
    RawExtension,
}

/// Every special message with its table name.
pub const SPECIAL_MESSAGES: [(&str, Special); 7] = [
    ("apimachinery.pkg.apis.meta.v1.Time", Special::Time),
    ("apimachinery.pkg.apis.meta.v1.MicroTime", Special::MicroTime),
    ("apimachinery.pkg.apis.meta.v1.Duration", Special::Duration),
    ("apimachinery.pkg.apis.meta.v1.FieldsV1", Special::FieldsV1),
    ("apimachinery.pkg.api.resource.Quantity", Special::Quantity),
    ("apimachinery.pkg.util.intstr.IntOrString", Special::IntOrString),
    ("apimachinery.pkg.runtime.RawExtension", Special::RawExtension),
];

/// Go's zero `time.Time` (January 1 of year 1, UTC) in Unix seconds: Kubernetes writes it as `null`.
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// `IntOrString.type` of an integer.
const INT_OR_STRING_INT: i64 = 0;
/// `IntOrString.type` of a string.
const INT_OR_STRING_STRING: i64 = 1;

impl Special {
    /// The special message with this table name, if it is one.
    pub fn of(name: &str) -> Option<Special> {
        SPECIAL_MESSAGES.iter().find(|(special, _)| *special == name).map(|(_, special)| *special)
    }

    /// The table name of this message.
    pub fn name(self) -> &'static str {
        SPECIAL_MESSAGES.iter().find(|(_, special)| *special == self).map(|(name, _)| *name).unwrap_or_default()
    }

    /// The JSON value of an encoded message of this type. `depth` is the nesting of the message,
    /// for a `RawExtension` that embeds a protobuf object.
    pub(super) fn decode(self, bytes: &[u8], depth: usize) -> Result<Value, ProtobufError> {
        let fields = Fields::read(self.name(), bytes)?;
        match self {
            Special::Time => time_value(self, bytes, &fields, "%Y-%m-%dT%H:%M:%SZ"),
            Special::MicroTime => time_value(self, bytes, &fields, "%Y-%m-%dT%H:%M:%S%.6fZ"),
            Special::Duration => Ok(Value::String(go_duration(fields.varint(1).unwrap_or(0) as i64))),
            Special::FieldsV1 | Special::RawExtension => embedded_document(self, fields.bytes(1), depth),
            Special::Quantity => quantity_value(self, fields.text(self, 1)?),
            Special::IntOrString => int_or_string_value(self, &fields),
        }
    }

    fn invalid(self, reason: impl Into<String>) -> ProtobufError {
        ProtobufError::InvalidValue { message: qualified(self.name()), reason: reason.into() }
    }
}

fn qualified(name: &str) -> String {
    format!("{}{name}", super::messages::PROTO_PACKAGE_PREFIX)
}

/// The last value of each field of a special message (they have no repeated fields).
struct Fields<'a> {
    varints: [Option<u64>; 4],
    payloads: [Option<&'a [u8]>; 4],
}

impl<'a> Fields<'a> {
    fn read(name: &str, bytes: &'a [u8]) -> Result<Fields<'a>, ProtobufError> {
        let message = qualified(name);
        let mut fields = Fields { varints: [None; 4], payloads: [None; 4] };
        let mut reader = Reader::new(bytes, &message);
        while !reader.is_empty() {
            let (tag, wire_type) = reader.key()?;
            let slot = usize::try_from(tag).ok().filter(|slot| (1..4).contains(slot));
            let Some(slot) = slot.filter(|slot| expected_wire_type(name, *slot) == Some(wire_type)) else {
                return Err(match slot.and_then(|slot| expected_wire_type(name, slot)) {
                    Some(expected) => ProtobufError::WrongWireType {
                        message,
                        tag,
                        found: wire_type.number(),
                        expected: expected.number(),
                    },
                    None => ProtobufError::UnknownField { message, tag },
                });
            };
            match wire_type {
                WireType::Varint => fields.varints[slot] = Some(reader.varint()?),
                _ => fields.payloads[slot] = Some(reader.length_delimited()?),
            }
        }
        Ok(fields)
    }

    fn varint(&self, tag: usize) -> Option<u64> {
        self.varints[tag]
    }

    fn bytes(&self, tag: usize) -> &'a [u8] {
        self.payloads[tag].unwrap_or_default()
    }

    fn text(&self, special: Special, tag: usize) -> Result<&'a str, ProtobufError> {
        std::str::from_utf8(self.bytes(tag)).map_err(|_| special.invalid("the text is not UTF-8"))
    }
}

/// The wire type of each field of each special message; `None` for a field it does not have.
fn expected_wire_type(name: &str, tag: usize) -> Option<WireType> {
    let special = Special::of(name)?;
    match (special, tag) {
        (Special::Time | Special::MicroTime, 1 | 2) => Some(WireType::Varint),
        (Special::Duration, 1) => Some(WireType::Varint),
        (Special::FieldsV1 | Special::RawExtension | Special::Quantity, 1) => Some(WireType::LengthDelimited),
        (Special::IntOrString, 1 | 2) => Some(WireType::Varint),
        (Special::IntOrString, 3) => Some(WireType::LengthDelimited),
        _ => None,
    }
}

/// `Time` and `MicroTime`: an empty message is Go's zero time, written `null`; so is a message
/// that spells the zero time out.
fn time_value(special: Special, bytes: &[u8], fields: &Fields<'_>, format: &str) -> Result<Value, ProtobufError> {
    let seconds = fields.varint(1).unwrap_or(0) as i64;
    let nanos = i64::from(fields.varint(2).unwrap_or(0) as i32);
    if bytes.is_empty() || (seconds == GO_ZERO_TIME_SECONDS && nanos == 0) {
        return Ok(Value::Null);
    }
    let total = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    let timestamp = Timestamp::from_nanosecond(total)
        .map_err(|error| special.invalid(format!("time {seconds}s {nanos}ns is out of range: {error}")))?;
    Ok(Value::String(timestamp.strftime(format).to_string()))
}

/// `FieldsV1.Raw` and `RawExtension.raw`: the JSON document they carry (`null` when empty), or
/// the object of a nested Kubernetes protobuf envelope.
fn embedded_document(special: Special, raw: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    if raw.starts_with(&super::envelope::MAGIC) {
        return super::decode_nested(raw, depth + 1);
    }
    serde_json::from_slice(raw).map_err(|error| special.invalid(format!("the embedded document is not JSON: {error}")))
}

/// `Quantity`: Kubernetes parses the text and writes it back in canonical form; a missing string
/// is the zero quantity.
fn quantity_value(special: Special, text: &str) -> Result<Value, ProtobufError> {
    if text.is_empty() {
        return Ok(Value::String("0".into()));
    }
    let quantity = Quantity::parse(text).map_err(|error| special.invalid(format!("quantity {text:?}: {error}")))?;
    Ok(Value::String(quantity.to_string()))
}

fn int_or_string_value(special: Special, fields: &Fields<'_>) -> Result<Value, ProtobufError> {
    match fields.varint(1).unwrap_or(0) as i64 {
        INT_OR_STRING_INT => Ok(Value::from(fields.varint(2).unwrap_or(0) as i32)),
        INT_OR_STRING_STRING => Ok(Value::String(fields.text(special, 3)?.to_string())),
        other => Err(special.invalid(format!("type {other} is neither 0 (int) nor 1 (string)"))),
    }
}

/// Go's `time.Duration.String`: `1h2m3.5s`, `1.5ms`, `0s`.
pub fn go_duration(nanoseconds: i64) -> String {
    let negative = nanoseconds < 0;
    let magnitude = nanoseconds.unsigned_abs();
    let mut text = if magnitude < 1_000_000_000 {
        small_duration(magnitude)
    } else {
        let seconds = magnitude / 1_000_000_000;
        let fraction = fraction_digits(magnitude % 1_000_000_000, 9);
        let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        let seconds_part = format!("{seconds}{fraction}s");
        if hours > 0 {
            format!("{hours}h{minutes}m{seconds_part}")
        } else if minutes > 0 {
            format!("{minutes}m{seconds_part}")
        } else {
            seconds_part
        }
    };
    if negative {
        text.insert(0, '-');
    }
    text
}

/// Durations under a second, in the largest unit below a second that is at least one.
fn small_duration(nanoseconds: u64) -> String {
    match nanoseconds {
        0 => "0s".to_string(),
        1..1_000 => format!("{nanoseconds}ns"),
        1_000..1_000_000 => format!("{}{}µs", nanoseconds / 1_000, fraction_digits(nanoseconds % 1_000, 3)),
        _ => format!("{}{}ms", nanoseconds / 1_000_000, fraction_digits(nanoseconds % 1_000_000, 6)),
    }
}

/// `.5`, `.25`, or nothing: the fraction `remainder / 10^digits` without trailing zeros.
fn fraction_digits(remainder: u64, digits: usize) -> String {
    if remainder == 0 {
        return String::new();
    }
    let padded = format!("{remainder:0digits$}");
    format!(".{}", padded.trim_end_matches('0'))
}
