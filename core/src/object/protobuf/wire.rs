//! The protobuf wire walk: keys, varints and length-delimited payloads read with bounds checks,
//! and a message's fields turned into the JSON object Kubernetes' JSON encoder would write, by the
//! message table.

use serde_json::{Map, Value};

use super::ProtobufError;
use super::messages::{Cardinality, Field, FieldType, MessageTable, PROTO_PACKAGE_PREFIX};
use super::special::Special;
use crate::limits;

/// How a field's value is laid out on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireType {
    /// A base-128 varint (int32, int64, bool).
    Varint,
    /// Eight little-endian bytes (double).
    Fixed64,
    /// A varint length and that many bytes (string, bytes, messages, packed lists).
    LengthDelimited,
    /// Four little-endian bytes (float; no Kubernetes field has one).
    Fixed32,
}

impl WireType {
    /// The number the key carries.
    pub fn number(self) -> u8 {
        match self {
            WireType::Varint => 0,
            WireType::Fixed64 => 1,
            WireType::LengthDelimited => 2,
            WireType::Fixed32 => 5,
        }
    }
}

/// A cursor over the bytes of one message, naming the message in its errors.
pub struct Reader<'a, 'm> {
    bytes: &'a [u8],
    position: usize,
    message: &'m str,
}

/// The longest varint: ten bytes carry 64 bits.
const VARINT_BYTES_MAX: usize = 10;

impl<'a, 'm> Reader<'a, 'm> {
    /// A reader over `bytes`, the encoding of `message` (its name appears in errors).
    pub fn new(bytes: &'a [u8], message: &'m str) -> Reader<'a, 'm> {
        Reader { bytes, position: 0, message }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.position >= self.bytes.len()
    }

    fn truncated(&self) -> ProtobufError {
        ProtobufError::Truncated { message: self.message.to_string(), offset: self.position }
    }

    /// Reads a varint.
    pub fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value = 0u64;
        for index in 0..VARINT_BYTES_MAX {
            let Some(&byte) = self.bytes.get(self.position) else {
                return Err(self.truncated());
            };
            self.position += 1;
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ProtobufError::VarintTooLong { message: self.message.to_string(), offset: self.position })
    }

    /// Reads a field key: the field number and wire type.
    pub fn key(&mut self) -> Result<(u32, WireType), ProtobufError> {
        let offset = self.position;
        let key = self.varint()?;
        let wire_type = match key & 0x7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::LengthDelimited,
            5 => WireType::Fixed32,
            other => {
                return Err(ProtobufError::UnsupportedWireType {
                    message: self.message.to_string(),
                    wire_type: other as u8,
                    offset,
                });
            }
        };
        let tag = u32::try_from(key >> 3).ok().filter(|tag| *tag > 0);
        let tag = tag.ok_or(ProtobufError::InvalidFieldNumber { message: self.message.to_string(), offset })?;
        Ok((tag, wire_type))
    }

    /// Reads `count` bytes.
    fn take(&mut self, count: usize) -> Result<&'a [u8], ProtobufError> {
        let end = self.position.checked_add(count).filter(|end| *end <= self.bytes.len());
        let end = end.ok_or_else(|| self.truncated())?;
        let taken = &self.bytes[self.position..end];
        self.position = end;
        Ok(taken)
    }

    /// Reads a length-delimited payload.
    pub fn length_delimited(&mut self) -> Result<&'a [u8], ProtobufError> {
        let length = self.varint()?;
        let length = usize::try_from(length).map_err(|_| self.truncated())?;
        self.take(length)
    }

    /// Reads eight little-endian bytes.
    pub fn fixed64(&mut self) -> Result<u64, ProtobufError> {
        let bytes = self.take(8)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(array))
    }
}

/// Decodes the encoding of the message `name` into its JSON object.
pub fn decode_message(
    table: &MessageTable,
    name: &str,
    bytes: &[u8],
    depth: usize,
) -> Result<Map<String, Value>, ProtobufError> {
    let qualified = format!("{PROTO_PACKAGE_PREFIX}{name}");
    if depth > limits::MAX_DOCUMENT_DEPTH {
        return Err(ProtobufError::TooDeep { limit: limits::MAX_DOCUMENT_DEPTH });
    }
    let fields = table.message(name).ok_or_else(|| ProtobufError::UnknownMessage { message: qualified.clone() })?;
    let mut object = Map::new();
    let mut reader = Reader::new(bytes, &qualified);
    while !reader.is_empty() {
        let (tag, wire_type) = reader.key()?;
        let field = fields.get(&tag).ok_or_else(|| ProtobufError::UnknownField { message: qualified.clone(), tag })?;
        let context = FieldContext { table, message: &qualified, field, depth };
        match field.cardinality {
            Cardinality::Single => context.read_single(&mut reader, wire_type, &mut object)?,
            Cardinality::Repeated => context.read_repeated(&mut reader, wire_type, &mut object)?,
            Cardinality::Map => context.read_map_entry(&mut reader, wire_type, &mut object)?,
        }
    }
    Ok(object)
}

/// One field being read, with what its errors name.
struct FieldContext<'a> {
    table: &'a MessageTable,
    message: &'a str,
    field: &'a Field,
    depth: usize,
}

impl FieldContext<'_> {
    fn wrong_wire_type(&self, found: WireType, expected: WireType) -> ProtobufError {
        ProtobufError::WrongWireType {
            message: format!("{} field {}", self.message, self.field.json_name),
            tag: self.field.tag,
            found: found.number(),
            expected: expected.number(),
        }
    }

    fn invalid(&self, reason: impl Into<String>) -> ProtobufError {
        ProtobufError::InvalidValue {
            message: format!("{} field {}", self.message, self.field.json_name),
            reason: reason.into(),
        }
    }

    /// A singular field: a zero scalar that Kubernetes' JSON leaves out is removed (a later
    /// occurrence of a field replaces an earlier one, as protobuf's last-one-wins).
    fn read_single(
        &self,
        reader: &mut Reader<'_, '_>,
        wire_type: WireType,
        object: &mut Map<String, Value>,
    ) -> Result<(), ProtobufError> {
        let name = &self.field.json_name;
        if let FieldType::Message(message) = &self.field.field_type
            && self.field.inline
        {
            let payload = self.expect(wire_type, WireType::LengthDelimited, reader)?;
            object.extend(decode_message(self.table, message, payload, self.depth + 1)?);
            return Ok(());
        }
        let value = self.read_value(&self.field.field_type, reader, wire_type)?;
        let scalar = !matches!(self.field.field_type, FieldType::Message(_));
        if scalar && is_zero_scalar(&value) && !self.field.keep_zero {
            object.remove(name);
        } else {
            object.insert(name.clone(), value);
        }
        Ok(())
    }

    /// One element of a list, or a packed run of numbers.
    fn read_repeated(
        &self,
        reader: &mut Reader<'_, '_>,
        wire_type: WireType,
        object: &mut Map<String, Value>,
    ) -> Result<(), ProtobufError> {
        let entry = object.entry(self.field.json_name.clone()).or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(elements) = entry else {
            return Err(self.invalid("a list field holds a single value"));
        };
        let packable =
            matches!(self.field.field_type, FieldType::Int32 | FieldType::Int64 | FieldType::Bool | FieldType::Double);
        if packable && wire_type == WireType::LengthDelimited {
            let payload = reader.length_delimited()?;
            let mut packed = Reader::new(payload, self.message);
            let element_wire_type = scalar_wire_type(&self.field.field_type);
            while !packed.is_empty() {
                elements.push(self.read_value(&self.field.field_type, &mut packed, element_wire_type)?);
            }
            return Ok(());
        }
        elements.push(self.read_value(&self.field.field_type, reader, wire_type)?);
        Ok(())
    }

    /// One entry of a `map<string, T>`: a message with the key in field 1 and the value in field 2.
    fn read_map_entry(
        &self,
        reader: &mut Reader<'_, '_>,
        wire_type: WireType,
        object: &mut Map<String, Value>,
    ) -> Result<(), ProtobufError> {
        let payload = self.expect(wire_type, WireType::LengthDelimited, reader)?;
        let entry_name = format!("{} field {} entry", self.message, self.field.json_name);
        let mut entry = Reader::new(payload, &entry_name);
        let (mut key, mut value) = (String::new(), None);
        while !entry.is_empty() {
            match entry.key()? {
                (1, WireType::LengthDelimited) => key = self.text(entry.length_delimited()?)?.to_string(),
                (2, entry_wire_type) => {
                    value = Some(self.read_value(&self.field.field_type, &mut entry, entry_wire_type)?)
                }
                (1, found) => return Err(self.wrong_wire_type(found, WireType::LengthDelimited)),
                (tag, _) => return Err(ProtobufError::UnknownField { message: entry_name, tag }),
            }
        }
        let value = match value {
            Some(value) => value,
            None => self.zero_value(&self.field.field_type)?,
        };
        let map = object.entry(self.field.json_name.clone()).or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(map) = map else {
            return Err(self.invalid("a map field holds a single value"));
        };
        map.insert(key, value);
        Ok(())
    }

    /// The value of a map entry that carries no value: the zero of its type.
    fn zero_value(&self, field_type: &FieldType) -> Result<Value, ProtobufError> {
        match field_type {
            FieldType::String | FieldType::Bytes => Ok(Value::String(String::new())),
            FieldType::Int32 | FieldType::Int64 => Ok(Value::from(0)),
            FieldType::Bool => Ok(Value::Bool(false)),
            FieldType::Double => Ok(Value::from(0.0)),
            FieldType::Message(_) => {
                self.read_value(field_type, &mut Reader::new(&[], self.message), WireType::LengthDelimited)
            }
        }
    }

    fn expect<'b>(
        &self,
        found: WireType,
        expected: WireType,
        reader: &mut Reader<'b, '_>,
    ) -> Result<&'b [u8], ProtobufError> {
        if found != expected {
            return Err(self.wrong_wire_type(found, expected));
        }
        reader.length_delimited()
    }

    fn text<'b>(&self, bytes: &'b [u8]) -> Result<&'b str, ProtobufError> {
        std::str::from_utf8(bytes).map_err(|_| self.invalid("the text is not UTF-8"))
    }

    /// One value of the field's type: a scalar, a special message's JSON form or a message's object.
    fn read_value(
        &self,
        field_type: &FieldType,
        reader: &mut Reader<'_, '_>,
        wire_type: WireType,
    ) -> Result<Value, ProtobufError> {
        let expected = scalar_wire_type(field_type);
        if wire_type != expected {
            return Err(self.wrong_wire_type(wire_type, expected));
        }
        Ok(match field_type {
            FieldType::String => Value::String(self.text(reader.length_delimited()?)?.to_string()),
            FieldType::Bytes => base64_text(reader.length_delimited()?),
            // Go's int32 conversion keeps the low 32 bits of the sign-extended varint.
            FieldType::Int32 => Value::from(reader.varint()? as i32),
            FieldType::Int64 => Value::from(reader.varint()? as i64),
            FieldType::Bool => Value::Bool(reader.varint()? != 0),
            FieldType::Double => {
                let number = f64::from_bits(reader.fixed64()?);
                serde_json::Number::from_f64(number)
                    .map(Value::Number)
                    .ok_or_else(|| self.invalid(format!("{number} has no JSON form")))?
            }
            FieldType::Message(message) => {
                let payload = reader.length_delimited()?;
                match Special::of(message) {
                    Some(special) => special.decode(payload, self.depth + 1)?,
                    None => Value::Object(decode_message(self.table, message, payload, self.depth + 1)?),
                }
            }
        })
    }
}

/// Bytes as Go's JSON encoder writes a `[]byte`: standard base64 with padding.
fn base64_text(bytes: &[u8]) -> Value {
    // k8s-openapi's `ByteString` serialises exactly so; serialising bytes cannot fail.
    serde_json::to_value(k8s_openapi::ByteString(bytes.to_vec())).unwrap_or_default()
}

/// The wire type a value of this type has (unpacked).
fn scalar_wire_type(field_type: &FieldType) -> WireType {
    match field_type {
        FieldType::Int32 | FieldType::Int64 | FieldType::Bool => WireType::Varint,
        FieldType::Double => WireType::Fixed64,
        FieldType::String | FieldType::Bytes | FieldType::Message(_) => WireType::LengthDelimited,
    }
}

/// Whether a scalar is its type's zero (`""`, `0`, `false`): what `omitempty` leaves out.
/// Messages are never zero here: Go's JSON encoder writes a struct even when it is empty.
fn is_zero_scalar(value: &Value) -> bool {
    match value {
        Value::String(text) => text.is_empty(),
        Value::Number(number) => number.as_f64() == Some(0.0),
        Value::Bool(flag) => !flag,
        _ => false,
    }
}
