//! The managed fields of an update that moves no field between managers, written without
//! decoding and re-encoding them: the writer already owns every field it changed, nobody else
//! owns any of them and nothing was removed, so every manager keeps its fields and only the
//! writer's entry gets the new time (and its place in the order). A Lease renewal, a status
//! write that changes what the kubelet last wrote, a controller bumping its own counters: most
//! updates are such, and decoding, updating and encoding every entry was most of what recording
//! them cost.
//!
//! The result is what [`super::recorded_entries`] gives (debug builds check it on every update
//! the tests make). That holds because stored managed fields are always written by
//! [`ManagedFields::encode`](super::managed_fields::ManagedFields::encode), which decoding and
//! encoding again reproduce.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};

use super::Writer;
use super::field_set::FieldSet;
use super::managed_fields::{MAX_UPDATE_MANAGERS, Operation, managed_time, sort_entries};
use crate::object::Object;

/// The entries after the update, or `None` when the update may move fields between managers
/// (or starts from other entries than the live ones), which the full computation handles.
pub(super) fn entries(
    live: Option<&Object>,
    new: &Object,
    writer: &Writer,
    changed: &FieldSet,
    removed: &FieldSet,
    now: Timestamp,
) -> Option<Option<Vec<ManagedFieldsEntry>>> {
    let entries = live?.metadata.managed_fields.as_deref().filter(|entries| !entries.is_empty())?;
    // A write of the main resource starts from the entries it sends when they are well formed;
    // the same entries as the live ones give the same start.
    if !removed.is_empty()
        || (writer.subresource.is_empty() && new.metadata.managed_fields.as_deref() != Some(entries))
        || !entries.iter().all(is_well_formed)
        || entries.iter().filter(|entry| entry.operation.as_deref() == Some(Operation::Update.as_str())).count()
            > MAX_UPDATE_MANAGERS
    {
        return None;
    }
    if changed.is_empty() {
        return Some(Some(entries.to_vec()));
    }
    let mut writers = entries.iter().enumerate().filter(|(_, entry)| is_writers(entry, writer));
    let (index, _) = writers.next()?;
    if writers.next().is_some() {
        return None;
    }
    for (position, entry) in entries.iter().enumerate() {
        let fields = &entry.fields_v1.as_ref()?.0;
        let keeps = if position == index { changed.within_fields_v1(fields) } else { !changed.meets_fields_v1(fields) };
        if !keeps {
            return None;
        }
    }
    let mut retimed = entries.to_vec();
    retimed[index].time = Some(managed_time(now));
    sort_entries(&mut retimed);
    Some(Some(retimed))
}

/// An entry as encoding writes it: an operation, `FieldsV1` fields that own something.
fn is_well_formed(entry: &ManagedFieldsEntry) -> bool {
    matches!(entry.operation.as_deref(), Some("Apply" | "Update"))
        && entry.fields_type.as_deref() == Some("FieldsV1")
        && matches!(&entry.fields_v1, Some(FieldsV1(serde_json::Value::Object(fields))) if !fields.is_empty())
        && entry.manager.is_some()
        && entry.api_version.is_some()
        && entry.subresource.as_deref() != Some("")
}

/// Whether `entry` is the writer's update entry.
fn is_writers(entry: &ManagedFieldsEntry, writer: &Writer) -> bool {
    entry.operation.as_deref() == Some(Operation::Update.as_str())
        && entry.manager.as_deref() == Some(writer.manager.as_str())
        && entry.api_version.as_deref() == Some(writer.api_version)
        && entry.subresource.as_deref().unwrap_or_default() == writer.subresource
}
