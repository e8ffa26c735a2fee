//! What [`super::DurableStore`] keeps on disk, and how: three redb tables.
//!
//! - `objects`: `group/resource/namespace/name` → the object's JSON (resourceVersion included);
//! - `changes`: revision → one [`ChangeRecord`] for every revision in the kept window, with the
//!   object before the write, so that watches resumed after a restart see what they would have;
//! - `meta`: the current and compacted revisions.
//!
//! Invariant between commits: `changes` holds exactly the revisions `compacted + 1 ..= revision`.

use std::sync::Arc;

use coxswain_core::object::Object;
use coxswain_core::object::kinds::GroupResource;
use coxswain_core::store::{Change, ChangeType, ObjectKey, Revision};
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::resources::group_resource;

pub(super) const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
pub(super) const CHANGES: TableDefinition<u64, &[u8]> = TableDefinition::new("changes");
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

const REVISION: &str = "revision";
const COMPACTED: &str = "compacted";

/// One change as the `changes` table stores it.
#[derive(Serialize, Deserialize)]
struct ChangeRecord<O> {
    #[serde(rename = "type")]
    change_type: String,
    group: String,
    resource: String,
    namespace: String,
    name: String,
    object: O,
    previous: Option<O>,
}

/// Why the data on disk could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// redb failed to read.
    #[error("reading the database: {0}")]
    Database(#[from] redb::Error),
    /// A stored value is not what this store writes.
    #[error("corrupt record {what}: {reason}")]
    Corrupt {
        /// Which record.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The `objects` table key of an object.
pub(super) fn object_key(key: &ObjectKey) -> String {
    format!("{}/{}/{}/{}", key.resource.group, key.resource.resource, key.namespace, key.name)
}

fn parse_object_key(text: &str) -> Option<ObjectKey> {
    let mut parts = text.splitn(4, '/');
    let (group, resource, namespace, name) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    Some(ObjectKey::new(group_resource(group, resource), namespace, name))
}

/// Writes one change: the history row and the object's new state.
pub(super) fn write_change(transaction: &WriteTransaction, change: &Change) -> Result<(), redb::Error> {
    let record = ChangeRecord {
        change_type: change.change_type.as_str().to_string(),
        group: change.key.resource.group.to_string(),
        resource: change.key.resource.resource.to_string(),
        namespace: change.key.namespace.clone(),
        name: change.key.name.clone(),
        object: &*change.object,
        previous: change.previous.as_deref(),
    };
    let bytes = serde_json::to_vec(&record).expect("a change record always serializes");
    transaction.open_table(CHANGES)?.insert(change.revision, bytes.as_slice())?;
    let mut objects = transaction.open_table(OBJECTS)?;
    let key = object_key(&change.key);
    if change.change_type == ChangeType::Deleted {
        objects.remove(key.as_str())?;
    } else {
        let object = serde_json::to_vec(&*change.object).expect("an object always serializes");
        objects.insert(key.as_str(), object.as_slice())?;
    }
    Ok(())
}

/// Records the revisions and drops the history at and before `compacted`.
pub(super) fn write_revisions(
    transaction: &WriteTransaction,
    revision: Revision,
    compacted_before: Revision,
    compacted: Revision,
) -> Result<(), redb::Error> {
    let mut meta = transaction.open_table(META)?;
    meta.insert(REVISION, revision)?;
    if compacted > compacted_before {
        meta.insert(COMPACTED, compacted)?;
        transaction.open_table(CHANGES)?.retain_in(compacted_before + 1..=compacted, |_, _| false)?;
    }
    Ok(())
}

/// Everything on disk, read back.
pub(super) struct Loaded {
    pub(super) revision: Revision,
    pub(super) compacted: Revision,
    pub(super) objects: Vec<(GroupResource, Arc<Object>)>,
    pub(super) history: Vec<Arc<Change>>,
}

/// Reads the whole store (creating the tables of a new one).
pub(super) fn load(database: &redb::Database) -> Result<Loaded, RecordError> {
    let setup = database.begin_write().map_err(redb::Error::from)?;
    setup.open_table(OBJECTS).map_err(redb::Error::from)?;
    setup.open_table(CHANGES).map_err(redb::Error::from)?;
    setup.open_table(META).map_err(redb::Error::from)?;
    setup.commit().map_err(redb::Error::from)?;
    let read = database.begin_read().map_err(redb::Error::from)?;
    let meta = read.open_table(META).map_err(redb::Error::from)?;
    let number = |name: &str| -> Result<Revision, RecordError> {
        Ok(meta.get(name).map_err(redb::Error::from)?.map_or(0, |value| value.value()))
    };
    let (revision, compacted) = (number(REVISION)?, number(COMPACTED)?);
    let mut history = Vec::new();
    for row in read.open_table(CHANGES).map_err(redb::Error::from)?.iter().map_err(redb::Error::from)? {
        let (revision, bytes) = row.map_err(redb::Error::from)?;
        history.push(Arc::new(decode_change(revision.value(), bytes.value())?));
    }
    let mut objects = Vec::new();
    for row in read.open_table(OBJECTS).map_err(redb::Error::from)?.iter().map_err(redb::Error::from)? {
        let (key, bytes) = row.map_err(redb::Error::from)?;
        let corrupt = |reason: String| RecordError::Corrupt { what: format!("object {}", key.value()), reason };
        let parsed = parse_object_key(key.value()).ok_or_else(|| corrupt("not a key".into()))?;
        let object: Object = serde_json::from_slice(bytes.value()).map_err(|error| corrupt(error.to_string()))?;
        objects.push((parsed.resource, shared_with_history(object, &parsed, &history)));
    }
    Ok(Loaded { revision, compacted, objects, history })
}

/// The object as an `Arc`, the same one as its last change's when that change is in the history,
/// so that a reopened store shares objects between its collections and its history as a running
/// one does.
fn shared_with_history(object: Object, key: &ObjectKey, history: &[Arc<Change>]) -> Arc<Object> {
    let last = history.iter().rev().find(|change| change.key == *key);
    match last {
        Some(change) if change.change_type != ChangeType::Deleted && *change.object == object => {
            Arc::clone(&change.object)
        }
        _ => Arc::new(object),
    }
}

fn decode_change(revision: Revision, bytes: &[u8]) -> Result<Change, RecordError> {
    let corrupt = |reason: String| RecordError::Corrupt { what: format!("change at revision {revision}"), reason };
    let record: ChangeRecord<Object> = serde_json::from_slice(bytes).map_err(|error| corrupt(error.to_string()))?;
    let change_type = match record.change_type.as_str() {
        "ADDED" => ChangeType::Added,
        "MODIFIED" => ChangeType::Modified,
        "DELETED" => ChangeType::Deleted,
        other => return Err(corrupt(format!("unknown change type {other:?}"))),
    };
    let key = ObjectKey::new(group_resource(&record.group, &record.resource), &record.namespace, &record.name);
    Ok(Change { change_type, revision, key, object: Arc::new(record.object), previous: record.previous.map(Arc::new) })
}
