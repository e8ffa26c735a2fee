//! `metadata.managedFields` read into field sets by manager, and written back as Kubernetes
//! writes them: one entry per manager, operation, (for updates) API version and subresource,
//! with `fieldsType: FieldsV1`, sorted by operation, time, manager, API version and subresource;
//! at most ten entries from updates, the oldest folded into `ancient-changes` entries.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry, Time};

use super::field_set::FieldSet;

/// The most entries from updates an object keeps (Kubernetes' `DefaultMaxUpdateManagers`).
pub const MAX_UPDATE_MANAGERS: usize = 10;

/// The manager the oldest updates are folded into, one per API version.
pub const ANCIENT_CHANGES_MANAGER: &str = "ancient-changes";

/// How a manager last wrote its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Create, update, and every patch but apply.
    Update,
}

impl Operation {
    /// The name Kubernetes writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// Who owns a set of fields: Kubernetes' manager identifier. Appliers are one manager whatever
/// version they apply; updaters are one per API version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Manager {
    /// The manager name (`kubectl`, `kube-controller-manager`).
    pub name: String,
    /// Apply or Update.
    pub operation: Operation,
    /// For updaters, the API version they wrote (`apps/v1`); empty for appliers.
    pub api_version: String,
    /// The subresource written (`status`, `scale`), or empty.
    pub subresource: String,
}

impl Manager {
    /// The manager as Kubernetes names it in conflict messages: `"kubectl"`,
    /// `"kube-controller-manager" using apps/v1`, `"x" with subresource "status" using v1`.
    pub fn display(&self) -> String {
        let mut text = format!("{:?}", self.name);
        if !self.subresource.is_empty() {
            text.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == Operation::Update {
            text.push_str(&format!(" using {}", self.api_version));
        }
        text
    }

    /// Kubernetes' manager identifier: the entry's identifying fields as JSON, which orders
    /// updaters written in the same second.
    fn identifier(&self) -> String {
        let mut identifier = serde_json::Map::new();
        identifier.insert("manager".into(), self.name.clone().into());
        identifier.insert("operation".into(), self.operation.as_str().into());
        if !self.api_version.is_empty() {
            identifier.insert("apiVersion".into(), self.api_version.clone().into());
        }
        if !self.subresource.is_empty() {
            identifier.insert("subresource".into(), self.subresource.clone().into());
        }
        serde_json::Value::Object(identifier).to_string()
    }
}

/// What one manager owns.
#[derive(Clone, Debug, PartialEq)]
pub struct Ownership {
    /// The fields.
    pub fields: FieldSet,
    /// The API version the fields are named in (for appliers, the last version applied).
    pub api_version: String,
    /// When the manager last changed the object, if known.
    pub time: Option<Time>,
}

/// Every manager's fields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ManagedFields {
    /// The owners, by manager.
    pub managers: BTreeMap<Manager, Ownership>,
}

/// Why `metadata.managedFields` cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManagedFieldsError {
    /// An entry is not well formed.
    #[error("invalid managedFields entry {index}: {reason}")]
    InvalidEntry {
        /// Which entry.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

impl ManagedFields {
    /// Reads `metadata.managedFields`.
    pub fn decode(entries: &[ManagedFieldsEntry]) -> Result<ManagedFields, ManagedFieldsError> {
        let mut managed = ManagedFields::default();
        for (index, entry) in entries.iter().enumerate() {
            let invalid = |reason| ManagedFieldsError::InvalidEntry { index, reason };
            let operation = match entry.operation.as_deref() {
                Some("Apply") => Operation::Apply,
                Some("Update") => Operation::Update,
                _ => return Err(invalid("operation must be Apply or Update")),
            };
            if entry.fields_type.as_deref().is_some_and(|fields_type| fields_type != "FieldsV1") {
                return Err(invalid("fieldsType must be FieldsV1"));
            }
            let fields = match &entry.fields_v1 {
                Some(FieldsV1(value)) => {
                    FieldSet::from_fields_v1(value).ok_or_else(|| invalid("fieldsV1 is malformed"))?
                }
                None => FieldSet::new(),
            };
            let api_version = entry.api_version.clone().unwrap_or_default();
            let manager = Manager {
                name: entry.manager.clone().unwrap_or_default(),
                operation,
                api_version: if operation == Operation::Update { api_version.clone() } else { String::new() },
                subresource: entry.subresource.clone().unwrap_or_default(),
            };
            managed.managers.insert(manager, Ownership { fields, api_version, time: entry.time.clone() });
        }
        Ok(managed)
    }

    /// `metadata.managedFields`, sorted as Kubernetes sorts them; `None` when no manager owns
    /// anything.
    pub fn encode(&self) -> Option<Vec<ManagedFieldsEntry>> {
        let mut entries: Vec<ManagedFieldsEntry> = self
            .managers
            .iter()
            .filter(|(_, ownership)| !ownership.fields.is_empty())
            .map(|(manager, ownership)| ManagedFieldsEntry {
                api_version: Some(ownership.api_version.clone()),
                fields_type: Some("FieldsV1".into()),
                fields_v1: Some(FieldsV1(ownership.fields.to_fields_v1())),
                manager: Some(manager.name.clone()),
                operation: Some(manager.operation.as_str().into()),
                subresource: Some(manager.subresource.clone()).filter(|subresource| !subresource.is_empty()),
                time: ownership.time.clone(),
            })
            .collect();
        sort_entries(&mut entries);
        (!entries.is_empty()).then_some(entries)
    }

    /// Drops managers that own nothing.
    pub fn drop_empty(&mut self) {
        self.managers.retain(|_, ownership| !ownership.fields.is_empty());
    }

    /// Keeps at most `max` entries from updates, as Kubernetes' `capManagersManager` does after
    /// every update: the oldest updaters (by time, then identifier) are folded, per API
    /// version, into one `ancient-changes` Update entry that takes the union of their fields and
    /// the time of the newest folded in. An updater whose version no older updater shares is
    /// kept, so the result can exceed `max` when versions differ.
    pub fn cap_updaters(&mut self, max: usize) {
        let mut updaters: Vec<Manager> =
            self.managers.keys().filter(|manager| manager.operation == Operation::Update).cloned().collect();
        if updaters.len() <= max {
            return;
        }
        let seconds = |manager: &Manager| self.managers[manager].time.as_ref().map_or(0, |time| time.0.as_second());
        updaters.sort_by_cached_key(|manager| (seconds(manager), manager.identifier()));
        let mut first_of_version: BTreeMap<String, Manager> = BTreeMap::new();
        let mut remaining = updaters.len();
        for manager in updaters {
            if remaining <= max {
                break;
            }
            let version = self.managers[&manager].api_version.clone();
            let Some(first) = first_of_version.get(&version) else {
                first_of_version.insert(version, manager);
                continue;
            };
            let bucket = Manager {
                name: ANCIENT_CHANGES_MANAGER.into(),
                operation: Operation::Update,
                api_version: version.clone(),
                subresource: String::new(),
            };
            if !self.managers.contains_key(&bucket)
                && let Some(oldest) = self.managers.remove(first)
            {
                self.managers.insert(bucket.clone(), oldest);
            }
            let Some(folded) = self.managers.remove(&manager) else { continue };
            if let Some(ownership) = self.managers.get_mut(&bucket) {
                ownership.fields = ownership.fields.union(&folded.fields);
                ownership.time = folded.time;
            }
            remaining -= 1;
        }
    }
}

/// Sorts entries as Kubernetes writes them: by operation, time (to the second), manager, API
/// version and subresource.
pub fn sort_entries(entries: &mut [ManagedFieldsEntry]) {
    let seconds = |entry: &ManagedFieldsEntry| entry.time.as_ref().map_or(0, |time| time.0.as_second());
    entries.sort_by(|left, right| {
        left.operation
            .cmp(&right.operation)
            .then_with(|| seconds(left).cmp(&seconds(right)))
            .then_with(|| left.manager.cmp(&right.manager))
            .then_with(|| left.api_version.cmp(&right.api_version))
            .then_with(|| left.subresource.cmp(&right.subresource))
    });
}

/// A timestamp as managed fields keep it: whole seconds.
pub fn managed_time(now: Timestamp) -> Time {
    Time(Timestamp::from_second(now.as_second()).unwrap_or(now))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn entries_round_trip_and_sort_appliers_first_then_by_time_and_name() {
        let entries: Vec<ManagedFieldsEntry> = serde_json::from_value(json!([
            {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
             "time": "2024-01-01T00:00:05Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:replicas": {}}},
             "subresource": "status"},
            {"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1",
             "time": "2024-01-01T00:00:09Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "apps/v1",
             "time": "2024-01-01T00:00:01Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:paused": {}}}},
        ]))
        .unwrap();
        let managed = ManagedFields::decode(&entries).unwrap();
        let encoded = managed.encode().unwrap();
        let order: Vec<&str> = encoded.iter().map(|entry| entry.manager.as_deref().unwrap()).collect();
        assert_eq!(order, ["kubectl", "kubectl-edit", "kube-controller-manager"]);
        assert_eq!(encoded[2], entries[0]);
        let status_writer = managed.managers.keys().find(|manager| manager.subresource == "status").unwrap();
        assert_eq!(status_writer.display(), r#""kube-controller-manager" with subresource "status" using apps/v1"#);
    }

    /// An Update entry with one top-level field per name, written `hour` hours after the epoch.
    fn updater(name: &str, version: &str, hour: i64, fields: &[&str]) -> Value {
        let fields: serde_json::Map<String, Value> =
            fields.iter().map(|field| (format!("f:{field}"), json!({}))).collect();
        let time = Timestamp::from_second(hour * 3600).unwrap();
        json!({"manager": name, "operation": "Update", "apiVersion": version, "time": time.to_string(),
               "fieldsType": "FieldsV1", "fieldsV1": fields})
    }

    fn capped(entries: Value, max: usize) -> Value {
        let entries: Vec<ManagedFieldsEntry> = serde_json::from_value(entries).unwrap();
        let mut managed = ManagedFields::decode(&entries).unwrap();
        managed.cap_updaters(max);
        let capped = serde_json::to_value(managed.encode().unwrap()).unwrap();
        managed.cap_updaters(max);
        assert_eq!(serde_json::to_value(managed.encode().unwrap()).unwrap(), capped, "capping again changes nothing");
        capped
    }

    /// The rows of Kubernetes' `TestCapUpdateManagers` (apimachinery managedfields/internal
    /// capmanagers_test.go), with its cap of three.
    #[test]
    fn the_oldest_updaters_fold_into_ancient_changes_per_version() {
        let rows = [
            (
                "one version, no ancient changes",
                json!([
                    updater("update-manager1", "v1", 1, &["a"]),
                    updater("update-manager2", "v1", 2, &["b"]),
                    updater("update-manager3", "v1", 3, &["c"]),
                    updater("update-manager4", "v1", 4, &["d"])
                ]),
                json!([
                    updater("ancient-changes", "v1", 2, &["a", "b"]),
                    updater("update-manager3", "v1", 3, &["c"]),
                    updater("update-manager4", "v1", 4, &["d"])
                ]),
            ),
            (
                "one version, one ancient changes",
                json!([
                    updater("ancient-changes", "v1", 2, &["a", "b"]),
                    updater("update-manager3", "v1", 3, &["c"]),
                    updater("update-manager4", "v1", 4, &["d"]),
                    updater("update-manager5", "v1", 5, &["e"])
                ]),
                json!([
                    updater("ancient-changes", "v1", 3, &["a", "b", "c"]),
                    updater("update-manager4", "v1", 4, &["d"]),
                    updater("update-manager5", "v1", 5, &["e"])
                ]),
            ),
            (
                "two versions, no ancient changes",
                json!([
                    updater("update-manager1", "v1", 1, &["a"]),
                    updater("update-manager2", "v2", 2, &["b"]),
                    updater("update-manager3", "v1", 3, &["c"]),
                    updater("update-manager4", "v1", 4, &["d"]),
                    updater("update-manager5", "v1", 5, &["e"])
                ]),
                json!([
                    updater("update-manager2", "v2", 2, &["b"]),
                    updater("ancient-changes", "v1", 4, &["a", "c", "d"]),
                    updater("update-manager5", "v1", 5, &["e"])
                ]),
            ),
            (
                "three versions, one ancient changes",
                json!([
                    updater("update-manager2", "v2", 2, &["b"]),
                    updater("ancient-changes", "v1", 4, &["a", "c", "d"]),
                    updater("update-manager5", "v1", 5, &["e"]),
                    updater("update-manager6", "v3", 6, &["f"]),
                    updater("update-manager7", "v2", 7, &["g"])
                ]),
                json!([
                    updater("ancient-changes", "v1", 5, &["a", "c", "d", "e"]),
                    updater("update-manager6", "v3", 6, &["f"]),
                    updater("ancient-changes", "v2", 7, &["b", "g"])
                ]),
            ),
            (
                "three versions, two ancient changes",
                json!([
                    updater("ancient-changes", "v1", 5, &["a", "c", "d", "e"]),
                    updater("update-manager6", "v3", 6, &["f"]),
                    updater("ancient-changes", "v2", 7, &["b", "g"]),
                    updater("update-manager8", "v3", 8, &["h"])
                ]),
                json!([
                    updater("ancient-changes", "v1", 5, &["a", "c", "d", "e"]),
                    updater("ancient-changes", "v2", 7, &["b", "g"]),
                    updater("ancient-changes", "v3", 8, &["f", "h"])
                ]),
            ),
            (
                "four versions, two ancient changes",
                json!([
                    updater("ancient-changes", "v1", 5, &["a", "c", "d", "e"]),
                    updater("update-manager6", "v3", 6, &["f"]),
                    updater("ancient-changes", "v2", 7, &["b", "g"]),
                    updater("update-manager8", "v4", 8, &["h"])
                ]),
                json!([
                    updater("ancient-changes", "v1", 5, &["a", "c", "d", "e"]),
                    updater("update-manager6", "v3", 6, &["f"]),
                    updater("ancient-changes", "v2", 7, &["b", "g"]),
                    updater("update-manager8", "v4", 8, &["h"])
                ]),
            ),
        ];
        for (name, input, expected) in rows {
            assert_eq!(capped(input, 3), expected, "{name}");
        }
    }

    #[test]
    fn appliers_are_never_folded_and_do_not_count() {
        let mut entries = vec![json!({"manager": "kubectl", "operation": "Apply", "apiVersion": "v1",
            "time": "1970-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:z": {}}})];
        entries.extend((1..=MAX_UPDATE_MANAGERS as i64).map(|hour| updater(&format!("u{hour}"), "v1", hour, &["a"])));
        let capped = capped(Value::Array(entries.clone()), MAX_UPDATE_MANAGERS);
        assert_eq!(capped.as_array().unwrap().len(), MAX_UPDATE_MANAGERS + 1, "ten updaters fit");
        entries.push(updater("u11", "v1", 11, &["b"]));
        let capped = self::capped(Value::Array(entries), MAX_UPDATE_MANAGERS);
        let managers: Vec<&str> =
            capped.as_array().unwrap().iter().map(|entry| entry["manager"].as_str().unwrap()).collect();
        assert_eq!(managers[..3], ["kubectl", "ancient-changes", "u3"]);
        assert_eq!(managers.len(), MAX_UPDATE_MANAGERS + 1);
    }

    #[test]
    fn malformed_entries_are_refused() {
        let entries: Vec<ManagedFieldsEntry> =
            serde_json::from_value(json!([{"manager": "m", "operation": "Delete"}])).unwrap();
        assert!(ManagedFields::decode(&entries).is_err());
        let entries: Vec<ManagedFieldsEntry> =
            serde_json::from_value(json!([{"manager": "m", "operation": "Update", "fieldsV1": {"x": {}}}])).unwrap();
        assert!(ManagedFields::decode(&entries).is_err());
    }
}
