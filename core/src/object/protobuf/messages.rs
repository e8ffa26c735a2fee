//! The table of Kubernetes' protobuf messages coxswain decodes: for every message reachable from a
//! served kind, its fields by tag with their JSON name, type and presence rule.
//!
//! The table is generated into `messages.json` by the test in `generate.rs` from the prost
//! sources of the `k8s-pb` crate (the structure of Kubernetes' `generated.proto` files), the
//! schema facts (JSON names) and the real kubectl (which zero values Kubernetes' JSON keeps), and
//! parsed once, on first use.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// The generated table.
const MESSAGES_JSON: &str = include_str!("messages.json");

/// The prefix Kubernetes' proto packages share and the table leaves out
/// (`k8s.io.api.apps.v1.Deployment` is `api.apps.v1.Deployment` in the table).
pub const PROTO_PACKAGE_PREFIX: &str = "k8s.io.";

/// The scalar and message types a field can have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// `string`: UTF-8 text.
    String,
    /// `bytes`: base64 text in JSON, as Go's `[]byte`.
    Bytes,
    /// `int32`: a varint, sign-extended when negative.
    Int32,
    /// `int64`: a varint.
    Int64,
    /// `bool`: a varint, 0 or 1.
    Bool,
    /// `double`: eight little-endian bytes.
    Double,
    /// Another message, by its table name.
    Message(String),
}

impl FieldType {
    /// Reads the table's spelling: a scalar's proto name or a message's table name.
    pub fn parse(name: &str) -> FieldType {
        match name {
            "string" => FieldType::String,
            "bytes" => FieldType::Bytes,
            "int32" => FieldType::Int32,
            "int64" => FieldType::Int64,
            "bool" => FieldType::Bool,
            "double" => FieldType::Double,
            message => FieldType::Message(message.to_string()),
        }
    }

    /// The table's spelling.
    pub fn name(&self) -> &str {
        match self {
            FieldType::String => "string",
            FieldType::Bytes => "bytes",
            FieldType::Int32 => "int32",
            FieldType::Int64 => "int64",
            FieldType::Bool => "bool",
            FieldType::Double => "double",
            FieldType::Message(name) => name,
        }
    }
}

/// How many values a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cardinality {
    /// At most one (proto2 `optional`).
    Single,
    /// A list (`repeated`).
    Repeated,
    /// `map<string, T>`: on the wire a repeated entry message (key 1, value 2).
    Map,
}

/// One field of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field number.
    pub tag: u32,
    /// The JSON name (`hostPID`).
    pub json_name: String,
    /// The type of the field, or of a list's elements, or of a map's values.
    pub field_type: FieldType,
    /// Single, list or map.
    pub cardinality: Cardinality,
    /// Whether Kubernetes' JSON keeps the zero value of this scalar when the wire carries it:
    /// true for Go pointers (`replicas *int32`) and fields without `omitempty`; false for plain
    /// `omitempty` values, which Go's protobuf encoder always writes and its JSON encoder drops.
    pub keep_zero: bool,
    /// Whether the message's fields are inlined into the parent object (Go's `json:",inline"`:
    /// `Volume.volumeSource`, `Probe.handler`, `EphemeralContainer.ephemeralContainerCommon`).
    pub inline: bool,
}

/// The table's row of one field: `[tag, jsonName, type, flags]`, where the flags are letters:
/// `r` repeated, `m` map, `z` keeps zero values, `i` inline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldRow(pub u32, pub String, pub String, pub String);

impl From<&FieldRow> for Field {
    fn from(FieldRow(tag, json_name, type_name, flags): &FieldRow) -> Field {
        let cardinality = if flags.contains('m') {
            Cardinality::Map
        } else if flags.contains('r') {
            Cardinality::Repeated
        } else {
            Cardinality::Single
        };
        Field {
            tag: *tag,
            json_name: json_name.clone(),
            field_type: FieldType::parse(type_name),
            cardinality,
            keep_zero: flags.contains('z'),
            inline: flags.contains('i'),
        }
    }
}

impl From<&Field> for FieldRow {
    fn from(field: &Field) -> FieldRow {
        let mut flags = String::new();
        match field.cardinality {
            Cardinality::Single => {}
            Cardinality::Repeated => flags.push('r'),
            Cardinality::Map => flags.push('m'),
        }
        if field.keep_zero {
            flags.push('z');
        }
        if field.inline {
            flags.push('i');
        }
        FieldRow(field.tag, field.json_name.clone(), field.field_type.name().to_string(), flags)
    }
}

/// The fields of every known message, by table name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MessageTable {
    messages: BTreeMap<String, BTreeMap<u32, Field>>,
}

static KUBERNETES: LazyLock<MessageTable> = LazyLock::new(|| {
    let rows: BTreeMap<String, Vec<FieldRow>> =
        serde_json::from_str(MESSAGES_JSON).expect("the generated protobuf message table is valid JSON");
    MessageTable::from_rows(&rows)
});

/// The messages of Kubernetes 1.32's served kinds, parsed on first use.
pub fn kubernetes() -> &'static MessageTable {
    &KUBERNETES
}

impl MessageTable {
    /// A table from its rows, as `messages.json` holds them.
    pub fn from_rows(rows: &BTreeMap<String, Vec<FieldRow>>) -> MessageTable {
        let messages = rows
            .iter()
            .map(|(name, fields)| {
                (name.clone(), fields.iter().map(|row| (row.0, Field::from(row))).collect::<BTreeMap<_, _>>())
            })
            .collect();
        MessageTable { messages }
    }

    /// The rows of the table, as `messages.json` holds them.
    pub fn to_rows(&self) -> BTreeMap<String, Vec<FieldRow>> {
        self.messages
            .iter()
            .map(|(name, fields)| (name.clone(), fields.values().map(FieldRow::from).collect()))
            .collect()
    }

    /// The fields of the message with this table name.
    pub fn message(&self, name: &str) -> Option<&BTreeMap<u32, Field>> {
        self.messages.get(name)
    }

    /// Every message, by table name.
    pub fn messages(&self) -> &BTreeMap<String, BTreeMap<u32, Field>> {
        &self.messages
    }

    /// Adds or replaces a message (for the generator and tests).
    pub fn insert(&mut self, name: &str, fields: BTreeMap<u32, Field>) {
        self.messages.insert(name.to_string(), fields);
    }

    /// The table name of the message of an object with this `apiVersion` and `kind`:
    /// `apps/v1` `Deployment` is `api.apps.v1.Deployment`, `v1` `Pod` is `api.core.v1.Pod`.
    /// `DeleteOptions` belongs to every group version (Kubernetes registers it in each) and is
    /// always `apimachinery.pkg.apis.meta.v1.DeleteOptions`.
    pub fn of_kind(&self, api_version: &str, kind: &str) -> Option<&str> {
        let name = message_name_of_kind(api_version, kind)?;
        self.messages.get_key_value(&name).map(|(name, _)| name.as_str())
    }
}

/// The table name of the message of a kind (whether or not the table has it).
pub fn message_name_of_kind(api_version: &str, kind: &str) -> Option<String> {
    if kind == "DeleteOptions" {
        return Some("apimachinery.pkg.apis.meta.v1.DeleteOptions".to_string());
    }
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let package = match group {
        "" => "core",
        group => group.split('.').next()?,
    };
    let well_formed = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric());
    if !well_formed(package) || !well_formed(version) || !well_formed(kind) {
        return None;
    }
    Some(format!("api.{package}.{version}.{kind}"))
}
