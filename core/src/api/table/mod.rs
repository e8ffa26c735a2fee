//! `meta.k8s.io/v1` Tables for `kubectl get`: the columns and cells Kubernetes' printers
//! (`pkg/printers/internalversion/printers.go`) produce for every served kind, so that
//! `kubectl get` prints the same columns against coxswain as against Kubernetes.
//!
//! Like the Kubernetes API server, every row carries the wide (`-o wide`, priority 1) cells too;
//! kubectl hides them unless asked. Each row's `object` is a `PartialObjectMetadata`, which kubectl
//! needs for `-A` (the NAMESPACE column) and `--show-labels`.

mod autoscaler;
mod cluster;
mod config;
mod format;
mod network;
mod pod;
mod workloads;

use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde_json::{Value, json};

use crate::object::Object;

use super::duration;
use super::negotiation::{IncludeObject, PartialObjectMetadata};

/// `type` of a column, as the OpenAPI type of its cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CellType {
    String,
    Integer,
    Boolean,
    Date,
}

/// One `columnDefinitions` entry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Column {
    name: &'static str,
    cell_type: CellType,
    description: &'static str,
    /// 0 for default columns, 1 for those only `-o wide` shows.
    priority: u8,
    /// `name` for the column that holds the object name.
    format: &'static str,
}

/// `metav1.ObjectMeta` swagger text of `name`, the description of every NAME column.
const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// `metav1.ObjectMeta` swagger text of `creationTimestamp`, the description of every AGE column.
const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// The NAME column.
pub(crate) const NAME: Column =
    Column { name: "Name", cell_type: CellType::String, description: NAME_DESCRIPTION, priority: 0, format: "name" };
/// The AGE column.
pub(crate) const AGE: Column =
    Column { name: "Age", cell_type: CellType::String, description: AGE_DESCRIPTION, priority: 0, format: "" };

/// A default string column.
pub(crate) const fn text(name: &'static str, description: &'static str) -> Column {
    Column { name, cell_type: CellType::String, description, priority: 0, format: "" }
}

/// A default integer column.
pub(crate) const fn integer(name: &'static str, description: &'static str) -> Column {
    Column { name, cell_type: CellType::Integer, description, priority: 0, format: "" }
}

/// A default boolean column.
pub(crate) const fn boolean(name: &'static str, description: &'static str) -> Column {
    Column { name, cell_type: CellType::Boolean, description, priority: 0, format: "" }
}

/// A column only `-o wide` shows.
pub(crate) const fn wide(column: Column) -> Column {
    Column { priority: 1, ..column }
}

/// The wide CONTAINERS and IMAGES columns of the workload kinds.
pub(crate) const CONTAINERS: Column = wide(text("Containers", "Names of each container in the template."));
/// See [`CONTAINERS`].
pub(crate) const IMAGES: Column = wide(text("Images", "Images referenced by each container in the template."));

/// The row of one object: its cells, and row conditions (`Completed` for finished pods).
pub(crate) struct Row {
    pub(crate) cells: Vec<Value>,
    pub(crate) conditions: Option<Value>,
}

impl Row {
    pub(crate) fn new(cells: Vec<Value>) -> Row {
        Row { cells, conditions: None }
    }
}

/// Renders the row of one object at `now`.
pub(crate) type RowFn = fn(&Object, Timestamp) -> Row;

/// What renders one kind: its columns, and the cells of one object at `now`.
pub(crate) struct Printer {
    pub(crate) columns: &'static [Column],
    pub(crate) row: RowFn,
}

/// The printer for a kind; the generic NAME/AGE one for kinds Kubernetes has no printer for.
fn printer(kind: &str) -> Printer {
    workloads::printer(kind)
        .or_else(|| network::printer(kind))
        .or_else(|| cluster::printer(kind))
        .or_else(|| config::printer(kind))
        .unwrap_or(Printer { columns: &[NAME, AGE], row: name_and_age })
}

fn name_and_age(object: &Object, now: Timestamp) -> Row {
    Row::new(vec![json!(object.name()), json!(age(object, now))])
}

/// The AGE cell of an object.
pub(crate) fn age(object: &Object, now: Timestamp) -> String {
    duration::age(object.metadata.creation_timestamp.as_ref().map(|time| time.0), now)
}

/// The typed struct of an object without its metadata (rows read the metadata from the object
/// itself); a default one when the object does not decode, so that a malformed object still gets
/// a row (with its name and age from the metadata).
pub(crate) fn typed<T: DeserializeOwned + Default>(object: &Object) -> T {
    object.to_typed_without_metadata().unwrap_or_default()
}

/// Renders `objects` (all of `kind`) as a `meta.k8s.io/v1` Table for `kubectl get`.
/// `list_resource_version` and `continue_token` become the Table's list metadata; `now` is the
/// time ages are measured to.
pub fn table_for(
    kind: &str,
    objects: &[&Object],
    list_resource_version: &str,
    continue_token: Option<&str>,
    now: Timestamp,
) -> Value {
    table_including(kind, objects, list_resource_version, continue_token, IncludeObject::Metadata, now)
}

/// [`table_for`] with rows carrying what `include` says (`includeObject`).
pub fn table_including(
    kind: &str,
    objects: &[&Object],
    list_resource_version: &str,
    continue_token: Option<&str>,
    include: IncludeObject,
    now: Timestamp,
) -> Value {
    TableDocument::new(kind, objects, list_resource_version, continue_token, include, now).to_value()
}

/// A Table as it serializes: rows are rendered while they are written.
pub struct TableDocument<'a> {
    printer: Printer,
    objects: &'a [&'a Object],
    list_resource_version: &'a str,
    continue_token: Option<&'a str>,
    include: IncludeObject,
    now: Timestamp,
}

impl<'a> TableDocument<'a> {
    /// The Table of `objects` (all of `kind`) whose rows carry what `include` says, with
    /// `list_resource_version` and `continue_token` as its list metadata and ages measured to
    /// `now`.
    pub fn new(
        kind: &str,
        objects: &'a [&'a Object],
        list_resource_version: &'a str,
        continue_token: Option<&'a str>,
        include: IncludeObject,
        now: Timestamp,
    ) -> TableDocument<'a> {
        TableDocument { printer: printer(kind), objects, list_resource_version, continue_token, include, now }
    }

    /// The Table as one JSON value (watch frames, single objects, tests).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a Table always serializes to JSON")
    }

    /// The Table written straight to JSON text, for the list answer: a page of 500 pods built as
    /// a [`Value`] first spent most of its time copying metadata into maps.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a Table always serializes to JSON")
    }
}

impl Serialize for TableDocument<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut table = serializer.serialize_map(Some(5))?;
        table.serialize_entry("kind", "Table")?;
        table.serialize_entry("apiVersion", "meta.k8s.io/v1")?;
        let continue_token = self.continue_token.filter(|token| !token.is_empty());
        table.serialize_entry(
            "metadata",
            &ListMetadata { resource_version: self.list_resource_version, continue_token },
        )?;
        table.serialize_entry("columnDefinitions", &Columns(self.printer.columns))?;
        table.serialize_entry("rows", &Rows(self))?;
        table.end()
    }
}

#[derive(Serialize)]
struct ListMetadata<'a> {
    #[serde(rename = "resourceVersion")]
    resource_version: &'a str,
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    continue_token: Option<&'a str>,
}

struct Columns(&'static [Column]);

impl Serialize for Columns {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(ColumnDefinition::from))
    }
}

/// One `columnDefinitions` entry as it serializes.
#[derive(Serialize)]
struct ColumnDefinition {
    name: &'static str,
    #[serde(rename = "type")]
    cell_type: &'static str,
    format: &'static str,
    description: &'static str,
    priority: u8,
}

impl From<&Column> for ColumnDefinition {
    fn from(column: &Column) -> ColumnDefinition {
        let cell_type = match column.cell_type {
            CellType::String => "string",
            CellType::Integer => "integer",
            CellType::Boolean => "boolean",
            CellType::Date => "date",
        };
        ColumnDefinition {
            name: column.name,
            cell_type,
            format: column.format,
            description: column.description,
            priority: column.priority,
        }
    }
}

struct Rows<'a>(&'a TableDocument<'a>);

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let document = self.0;
        let mut rows = serializer.serialize_seq(Some(document.objects.len()))?;
        for object in document.objects {
            let row = (document.printer.row)(object, document.now);
            debug_assert_eq!(
                row.cells.len(),
                document.printer.columns.len(),
                "{} printer cells and columns differ",
                object.kind
            );
            rows.serialize_element(&RowDocument { row, object, include: document.include })?;
        }
        rows.end()
    }
}

/// One row: its cells, its conditions, and the object as `includeObject` asks.
struct RowDocument<'a> {
    row: Row,
    object: &'a Object,
    include: IncludeObject,
}

impl Serialize for RowDocument<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut row = serializer.serialize_map(None)?;
        row.serialize_entry("cells", &self.row.cells)?;
        if let Some(conditions) = &self.row.conditions {
            row.serialize_entry("conditions", conditions)?;
        }
        match self.include {
            IncludeObject::None => {}
            IncludeObject::Metadata => row.serialize_entry("object", &PartialObjectMetadata(&self.object.metadata))?,
            IncludeObject::Object => row.serialize_entry("object", self.object)?,
        }
        row.end()
    }
}

/// Whether an `Accept` header asks for a `meta.k8s.io/v1` Table, as `kubectl get` does with
/// `application/json;as=Table;v=v1;g=meta.k8s.io,application/json`.
pub fn wants_table(accept_header: &str) -> bool {
    accept_header.split(',').any(|media_range| {
        let mut parts = media_range.split(';').map(str::trim);
        let media_type = parts.next().unwrap_or("");
        if !media_type.eq_ignore_ascii_case("application/json") {
            return false;
        }
        let (mut as_table, mut group, mut version) = (false, false, false);
        for parameter in parts {
            let Some((key, value)) = parameter.split_once('=') else {
                continue;
            };
            match key.trim().to_ascii_lowercase().as_str() {
                "as" => as_table = value.trim() == "Table",
                "g" => group = value.trim() == "meta.k8s.io",
                "v" => version = value.trim() == "v1",
                _ => {}
            }
        }
        as_table && group && version
    })
}

#[cfg(test)]
mod tests;
