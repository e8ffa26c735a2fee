//! Reads a manifest stream into entries: one per object, each either decoded, unsupported or
//! invalid, and each with its position. Nothing is skipped silently: an object that cannot be
//! read becomes an entry that says why.

use std::fmt;

use serde_json::Value;

use super::split::{DocumentText, split_documents};
use super::yaml::{Position, locate, parse_document};
use crate::limits;
use crate::object::kinds::ResourceType;
use crate::object::strict::{DecodeError, decode_strict};
use crate::object::{FieldError, Object};

/// Why a whole manifest stream was refused before any object was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The stream is larger than [`limits::MAX_REQUEST_BYTES`].
    #[error("{file}: manifest is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// The file.
        file: String,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The stream is not UTF-8 text.
    #[error("{file}: manifest is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 {
        /// The file.
        file: String,
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The stream has more than [`limits::MAX_DOCUMENTS`] documents.
    #[error("{file}: manifest has {count} documents, more than the limit of {limit}")]
    TooManyDocuments {
        /// The file.
        file: String,
        /// How many documents it has.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

/// Where an object came from: file, document, position in a `List`, line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePosition {
    /// The file or stream name.
    pub file: String,
    /// Zero-based index of the document in the stream.
    pub document: usize,
    /// Zero-based index in the `items` of a `List`, if the object came from one.
    pub item: Option<usize>,
    /// Line and column in the file, where known.
    pub position: Option<Position>,
}

impl fmt::Display for SourcePosition {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.file)?;
        if let Some(position) = self.position {
            write!(formatter, ":{}:{}", position.line, position.column)?;
        }
        write!(formatter, " (document {}", self.document)?;
        if let Some(item) = self.item {
            write!(formatter, ", item {item}")?;
        }
        formatter.write_str(")")
    }
}

/// What a manifest object claims to be, read before decoding so that errors can name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectIdentity {
    /// `apiVersion`, or empty.
    pub api_version: String,
    /// `kind`, or empty.
    pub kind: String,
    /// `metadata.namespace`, or empty.
    pub namespace: String,
    /// `metadata.name` (or `generateName` followed by `*`), or empty.
    pub name: String,
}

impl ObjectIdentity {
    fn of(value: &Value) -> ObjectIdentity {
        let text = |pointer: &str| value.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_string();
        let mut name = text("/metadata/name");
        if name.is_empty() {
            let generate_name = text("/metadata/generateName");
            if !generate_name.is_empty() {
                name = format!("{generate_name}*");
            }
        }
        ObjectIdentity {
            api_version: text("/apiVersion"),
            kind: text("/kind"),
            namespace: text("/metadata/namespace"),
            name,
        }
    }
}

/// One object of a manifest, as far as it could be read.
// Entries are made once per object and consumed at once; boxing the decoded object would cost an
// allocation per object for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ManifestEntry {
    /// The object decoded strictly into a served kind.
    Decoded {
        /// Where it came from.
        source: SourcePosition,
        /// Its kind.
        resource: &'static ResourceType,
        /// The object, normalised as Kubernetes normalises a decoded object.
        object: Object,
    },
    /// The object names a kind coxswain does not serve (a custom resource, say).
    Unsupported {
        /// Where it came from.
        source: SourcePosition,
        /// What it claims to be.
        identity: ObjectIdentity,
    },
    /// The object (or its document) could not be read.
    Invalid {
        /// Where it came from; the position is that of the first error.
        source: SourcePosition,
        /// What it claims to be, as far as known.
        identity: ObjectIdentity,
        /// Why, as one message.
        message: String,
        /// The field errors, when the problem is in fields.
        errors: Vec<FieldError>,
    },
}

impl ManifestEntry {
    /// Where the entry came from.
    pub fn source(&self) -> &SourcePosition {
        match self {
            ManifestEntry::Decoded { source, .. }
            | ManifestEntry::Unsupported { source, .. }
            | ManifestEntry::Invalid { source, .. } => source,
        }
    }
}

/// Reads every object of a manifest stream (YAML documents separated by `---`, or JSON), expanding
/// `kind: List` and `*List` kinds into their items.
pub fn read_manifest(file: &str, bytes: &[u8]) -> Result<Vec<ManifestEntry>, ManifestError> {
    if bytes.len() > limits::MAX_REQUEST_BYTES {
        return Err(ManifestError::TooLarge {
            file: file.to_string(),
            size: bytes.len(),
            limit: limits::MAX_REQUEST_BYTES,
        });
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|error| ManifestError::NotUtf8 { file: file.to_string(), offset: error.valid_up_to() })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let documents = split_documents(text);
    if documents.len() > limits::MAX_DOCUMENTS {
        return Err(ManifestError::TooManyDocuments {
            file: file.to_string(),
            count: documents.len(),
            limit: limits::MAX_DOCUMENTS,
        });
    }
    let mut entries = Vec::new();
    for document in documents {
        read_document(file, &document, &mut entries);
    }
    Ok(entries)
}

fn read_document(file: &str, document: &DocumentText<'_>, entries: &mut Vec<ManifestEntry>) {
    let source = |position: Option<Position>, item: Option<usize>| SourcePosition {
        file: file.to_string(),
        document: document.index,
        item,
        position: position.map(|position| shift(position, document.first_line)),
    };
    let value = match parse_document(document.text) {
        Ok(value) => value,
        Err(error) => {
            entries.push(ManifestEntry::Invalid {
                source: source(error.position, None),
                identity: ObjectIdentity::default(),
                message: error.message,
                errors: Vec::new(),
            });
            return;
        }
    };
    if let Some(items) = list_items(&value) {
        for (index, item) in items.iter().enumerate() {
            let path_prefix = format!("items[{index}]");
            entries.push(decode_entry(item, document.text, &path_prefix, |position| source(position, Some(index))));
        }
        return;
    }
    entries.push(decode_entry(&value, document.text, "", |position| source(position, None)));
}

/// The items of a `List` (`kind: List` or any `…List` kind that carries `items`).
fn list_items(value: &Value) -> Option<&Vec<Value>> {
    let kind = value.get("kind")?.as_str()?;
    if !kind.ends_with("List") {
        return None;
    }
    value.get("items")?.as_array()
}

fn decode_entry(
    value: &Value,
    text: &str,
    path_prefix: &str,
    source: impl Fn(Option<Position>) -> SourcePosition,
) -> ManifestEntry {
    let identity = ObjectIdentity::of(value);
    let full_path = |path: &str| match (path_prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (false, true) => path_prefix.to_string(),
        (false, false) => format!("{path_prefix}.{path}"),
    };
    // `locate` parses the document again, so only errors pay for an exact position; an object
    // that was read is placed at its document's first line.
    let object_position = || locate(text, path_prefix);
    match decode_strict(value) {
        Ok((resource, object)) => ManifestEntry::Decoded { source: source(first_line(text)), resource, object },
        Err(DecodeError::Unsupported { .. }) => {
            ManifestEntry::Unsupported { source: source(first_line(text)), identity }
        }
        Err(DecodeError::Fields { errors }) => {
            let position = errors.first().and_then(|error| locate(text, &full_path(error.path.as_str())));
            let message = DecodeError::Fields { errors: errors.clone() }.to_string();
            ManifestEntry::Invalid { source: source(position.or_else(object_position)), identity, message, errors }
        }
        Err(error) => ManifestEntry::Invalid {
            source: source(object_position()),
            identity,
            message: error.to_string(),
            errors: Vec::new(),
        },
    }
}

/// The first line of a document that holds content (not blank, a comment or a directive), where
/// its top-level node starts; found without parsing.
fn first_line(text: &str) -> Option<Position> {
    text.lines().enumerate().find_map(|(index, line)| {
        let content = line.trim_start();
        let is_content = !content.is_empty() && !content.starts_with('#') && !content.starts_with('%');
        is_content.then(|| Position { line: index + 1, column: line.len() - content.len() + 1 })
    })
}

/// Turns a position inside a document into a position in the stream.
fn shift(position: Position, first_line: usize) -> Position {
    Position { line: position.line + first_line - 1, column: position.column }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<ManifestEntry> {
        read_manifest("test.yaml", text.as_bytes()).unwrap()
    }

    #[test]
    fn every_document_becomes_an_entry_and_bad_ones_do_not_hide_good_ones() {
        let entries = read(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\nkind: [unclosed\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
        );
        assert_eq!(entries.len(), 3);
        assert!(matches!(&entries[0], ManifestEntry::Decoded { object, .. } if object.name() == "a"));
        assert!(matches!(&entries[1], ManifestEntry::Invalid { source, .. } if source.document == 1));
        assert!(matches!(&entries[2], ManifestEntry::Decoded { object, .. } if object.name() == "b"));
    }

    #[test]
    fn an_unknown_field_error_points_at_its_line_in_the_file() {
        let entries = read(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: nginx\n    imagePullPolice: Always\n",
        );
        let ManifestEntry::Invalid { source, message, identity, .. } = &entries[1] else { panic!("{entries:?}") };
        assert_eq!(source.to_string(), "test.yaml:14:5 (document 1)");
        assert_eq!(message, "strict decoding error: unknown field \"spec.containers[0].imagePullPolice\"");
        assert_eq!(identity.name, "p");
    }

    #[test]
    fn a_list_is_expanded_into_its_items() {
        let entries = read(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: b}\n  bogus: 1\n",
        );
        assert_eq!(entries.len(), 2);
        let ManifestEntry::Invalid { source, .. } = &entries[1] else { panic!("{entries:?}") };
        assert_eq!(source.item, Some(1));
        assert_eq!(source.position.map(|position| position.line), Some(10));
    }

    #[test]
    fn a_read_object_is_placed_at_the_first_content_line_of_its_document() {
        let entries = read(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# a comment\n\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
        );
        let lines: Vec<String> = entries.iter().map(|entry| entry.source().to_string()).collect();
        assert_eq!(lines, ["test.yaml:1:1 (document 0)", "test.yaml:8:1 (document 1)"]);
    }

    #[test]
    fn custom_resources_are_unsupported_not_skipped() {
        let entries = read("apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: m\n");
        assert!(
            matches!(&entries[0], ManifestEntry::Unsupported { identity, .. } if identity.kind == "ServiceMonitor")
        );
    }

    #[test]
    fn json_manifests_are_read() {
        let entries =
            read("{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"Namespace\",\n\t\"metadata\": {\"name\": \"n\"}\n}\n");
        assert!(matches!(&entries[0], ManifestEntry::Decoded { object, .. } if object.name() == "n"), "{entries:?}");
    }

    #[test]
    fn oversized_and_binary_streams_are_refused_whole() {
        let big = vec![b'a'; limits::MAX_REQUEST_BYTES + 1];
        assert!(matches!(read_manifest("big", &big), Err(ManifestError::TooLarge { .. })));
        assert!(matches!(read_manifest("bin", &[0xff, 0xfe, 0]), Err(ManifestError::NotUtf8 { offset: 0, .. })));
    }
}
