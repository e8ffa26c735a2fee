//! Server-side apply and field management, as kube-apiserver's `fieldmanager` and
//! structured-merge-diff do them: every write records who owns which fields in
//! `metadata.managedFields`; an apply merges the applied configuration by the schema's list and
//! map types, removes what the same manager applied before and no longer applies, and refuses to
//! change fields other managers own (409) unless forced.
//!
//! As in Kubernetes, an update (create, PUT, every patch but apply) owns the object as defaulted,
//! before admission plugins and the kind's `PrepareForCreate` change it; an apply owns only what
//! it applied, and what defaulting adds after it belongs to no one; at most ten update entries
//! are kept, the oldest folded into `ancient-changes` ([`managed_fields::MAX_UPDATE_MANAGERS`]).
//!
//! Differences from Kubernetes, deliberate:
//! - one schema version per kind: fields are compared in the storage version (only
//!   HorizontalPodAutoscaler has two served versions);
//! - the object a create is compared against is `{metadata: {}, spec: {}, status: {}}`, where Go
//!   compares against the zero value of the typed struct (so a created object's non-pointer
//!   structs below `spec`, such as `strategy`, may carry a `.` entry Kubernetes would not write).

mod compared;
pub mod conflicts;
pub mod field_set;
pub mod managed_fields;
pub mod merge;
mod retimed;
pub mod typed;
pub mod upgrade;

#[cfg(test)]
mod tests;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use self::conflicts::{Conflict, conflict_error};
use self::field_set::{FieldSet, PathElement};
use self::managed_fields::{ManagedFields, Manager, Operation, Ownership, managed_time};
use self::typed::{Comparison, Typed};
use super::request::ApiRequest;
use super::status::ApiError;
use crate::object::field_error::{FieldError, FieldPath};
use crate::object::schema_facts::{self, Schema};
use crate::object::{Object, ResourceType};

pub use upgrade::{
    LAST_APPLIED_CONFIGURATION_ANNOTATION, allowed_conflicts_from_last_applied, last_applied_configuration,
};

/// The longest manager name Kubernetes accepts (`FieldManagerMaxLength`).
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;

/// The manager name kubectl applies with, for which Kubernetes takes over fields owned through
/// `last-applied-configuration` and keeps that annotation up to date.
pub const KUBECTL_MANAGER: &str = "kubectl";

/// Who is writing, and where.
#[derive(Clone, Debug)]
pub struct Writer<'a> {
    /// The manager name.
    pub manager: String,
    /// The subresource written (`status`, `scale`), or empty.
    pub subresource: &'a str,
    /// The API version of the request's path (`apps/v1`).
    pub api_version: &'a str,
    /// The kind written, for its status subresource.
    pub resource: &'a ResourceType,
}

/// The manager of a request: `fieldManager`, or else the User-Agent up to its first `/`
/// (`kubectl/v1.32.0 (linux/amd64)` → `kubectl`), printable characters only, within 128 bytes,
/// `unknown` if nothing is left (Kubernetes' `managerOrUserAgent`). `options_kind` names the
/// options in a refusal (`PatchOptions`). Apply requires `fieldManager`.
pub fn manager_of(request: &ApiRequest, options_kind: &str, is_apply: bool) -> Result<String, ApiError> {
    let path = FieldPath::new("fieldManager");
    let invalid = |error: FieldError| ApiError::Invalid {
        group: "meta.k8s.io".into(),
        kind: options_kind.into(),
        name: String::new(),
        errors: vec![error],
    };
    match request.query_param("fieldManager").filter(|manager| !manager.is_empty()) {
        Some(manager) => {
            if manager.len() > FIELD_MANAGER_MAX_LENGTH {
                return Err(invalid(FieldError::too_long(&path, FIELD_MANAGER_MAX_LENGTH)));
            }
            if manager.chars().any(char::is_control) {
                return Err(invalid(FieldError::invalid(&path, manager, "must only contain printable characters")));
            }
            Ok(manager.to_string())
        }
        None if is_apply => Err(invalid(FieldError::required(&path, "is required for apply patch"))),
        None => {
            let agent = request.header("user-agent").unwrap_or_default();
            let prefix = agent.split('/').next().unwrap_or_default();
            let mut manager = String::new();
            for character in prefix.chars().filter(|character| !character.is_control()) {
                if manager.len() + character.len_utf8() > FIELD_MANAGER_MAX_LENGTH {
                    break;
                }
                manager.push(character);
            }
            Ok(if manager.is_empty() { "unknown".into() } else { manager })
        }
    }
}

/// The fields no manager owns: type and identity metadata (Kubernetes' `StripMetaManager`),
/// built once.
fn stripped_fields() -> &'static FieldSet {
    static STRIPPED: std::sync::LazyLock<FieldSet> = std::sync::LazyLock::new(build_stripped_fields);
    &STRIPPED
}

fn build_stripped_fields() -> FieldSet {
    let mut set = FieldSet::new();
    set.insert(&[PathElement::Field("apiVersion".into())]);
    set.insert(&[PathElement::Field("kind".into())]);
    set.insert(&[PathElement::Field("metadata".into())]);
    for field in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        set.insert(&[PathElement::Field("metadata".into()), PathElement::Field(field.into())]);
    }
    set
}

impl Writer<'_> {
    fn manager(&self, operation: Operation) -> Manager {
        Manager {
            name: self.manager.clone(),
            operation,
            api_version: if operation == Operation::Update { self.api_version.to_string() } else { String::new() },
            subresource: self.subresource.to_string(),
        }
    }

    /// Whether the write may not touch a top-level field (the strategies' reset fields): a
    /// write of the main resource leaves `status` alone when the kind has a status subresource;
    /// a status write touches only `status` (and metadata).
    fn ignores(&self, field: &str) -> bool {
        match self.subresource {
            "status" => field != "status" && field != "metadata",
            _ => field == "status" && self.resource.subresources.contains(&"status"),
        }
    }

    /// `set` without the stripped and ignored fields.
    fn owned_part(&self, set: &FieldSet) -> FieldSet {
        let mut owned = set.difference(stripped_fields());
        let ignored: Vec<PathElement> = owned
            .top_level_elements()
            .filter(|element| matches!(element, PathElement::Field(field) if self.ignores(field)))
            .cloned()
            .collect();
        for element in ignored {
            owned.remove_element(&element);
        }
        owned
    }
}

/// The schema of an object, by its `apiVersion` and kind.
fn schema_of(object: &Value) -> Option<&'static Schema> {
    let api_version = object.get("apiVersion")?.as_str()?;
    let kind = object.get("kind")?.as_str()?;
    schema_facts::kubernetes().of_kind(api_version, kind)
}

/// An object as field management compares it: without `managedFields`.
fn without_managed_fields(object: &Object) -> Value {
    object.to_value_without_managed_fields()
}

/// What a create is compared against: an empty object of the kind.
fn empty_object(schema: Option<&Schema>) -> Value {
    let mut empty = Map::new();
    empty.insert("metadata".into(), json!({}));
    for field in ["spec", "status"] {
        if schema.is_some_and(|schema| schema.properties.contains_key(field)) {
            empty.insert(field.into(), json!({}));
        }
    }
    Value::Object(empty)
}

fn typed_error(error: typed::TypedError) -> ApiError {
    ApiError::Internal { message: error.to_string() }
}

/// Records an update (create, update, any patch but apply, a subresource write) in
/// `new.metadata.managedFields`: the writer owns every field it added or changed, and other
/// managers lose them and every field removed (Kubernetes' `managedFieldsUpdater`). Managed
/// fields the client sent replace the live ones when they are well formed (a single empty entry
/// clears them); a subresource write cannot change them.
pub fn track_update(live: Option<&Object>, new: &mut Object, writer: &Writer, now: Timestamp) -> Result<(), ApiError> {
    let (schema, live_value, new_value) = match live.and_then(|live| compared::reduced_pair(live, new)) {
        Some((live_value, new_value)) => {
            (schema_facts::kubernetes().of_kind(&new.api_version, &new.kind), live_value, new_value)
        }
        None => {
            let new_value = without_managed_fields(new);
            let schema = schema_of(&new_value);
            let live_value = live.map_or_else(|| empty_object(schema), without_managed_fields);
            (schema, live_value, new_value)
        }
    };
    let typed = Typed::new(schema_facts::kubernetes());
    let comparison = typed.compare(schema, &live_value, &new_value).map_err(typed_error)?;
    #[cfg(debug_assertions)]
    if let Some(live) = live {
        compared::assert_compares_as_whole(&typed, live, new, &comparison);
    }
    let mut changed = comparison.modified;
    changed.union_with(&comparison.added);
    let changed = writer.owned_part(&changed);
    let removed = writer.owned_part(&comparison.removed);
    let entries = match retimed::entries(live, new, writer, &changed, &removed, now) {
        Some(entries) => {
            #[cfg(debug_assertions)]
            assert_eq!(
                entries,
                recorded_entries(live, new, writer, &changed, &removed, now),
                "an update that moves no field between managers only retimes the writer's entry"
            );
            entries
        }
        None => recorded_entries(live, new, writer, &changed, &removed, now),
    };
    new.metadata.managed_fields = entries;
    Ok(())
}

/// The managed fields after an update that changed `changed` and removed `removed` (both the
/// writer's part only): Kubernetes' `managedFieldsUpdater` over the decoded entries.
fn recorded_entries(
    live: Option<&Object>,
    new: &Object,
    writer: &Writer,
    changed: &FieldSet,
    removed: &FieldSet,
    now: Timestamp,
) -> Option<Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry>> {
    let mut managed = base_managed_fields(live, new, writer);
    for ownership in managed.managers.values_mut() {
        ownership.fields.subtract(changed);
        ownership.fields.subtract(removed);
    }
    if !changed.is_empty() {
        let ownership = managed.managers.entry(writer.manager(Operation::Update)).or_insert_with(|| Ownership {
            fields: FieldSet::new(),
            api_version: writer.api_version.to_string(),
            time: None,
        });
        ownership.fields.union_with(changed);
        ownership.time = Some(managed_time(now));
    }
    managed.drop_empty();
    managed.cap_updaters(managed_fields::MAX_UPDATE_MANAGERS);
    managed.encode()
}

/// The managed fields an update starts from (Kubernetes' `decodeLiveOrNew`).
fn base_managed_fields(live: Option<&Object>, new: &Object, writer: &Writer) -> ManagedFields {
    let live_managed = || {
        live.and_then(|live| live.metadata.managed_fields.as_deref())
            .and_then(|entries| ManagedFields::decode(entries).ok())
            .unwrap_or_default()
    };
    if !writer.subresource.is_empty() {
        return live_managed();
    }
    match new.metadata.managed_fields.as_deref() {
        Some([only]) if *only == Default::default() => ManagedFields::default(),
        Some(entries) if !entries.is_empty() => match ManagedFields::decode(entries) {
            Ok(managed) if !managed.managers.is_empty() => managed,
            _ => live_managed(),
        },
        _ => live_managed(),
    }
}

/// The outcome of an apply: the object to write, or the live one unchanged.
#[derive(Debug)]
pub struct Applied {
    /// The merged object, with its new `managedFields`.
    pub object: Value,
    /// Whether the object (apart from managed fields) changed.
    pub changed: bool,
}

/// Server-side apply of `applied` (the configuration, already checked to carry no
/// `managedFields`) over `live` (`None` to create): structured-merge-diff's `Updater.Apply`, with
/// Kubernetes' take-over of fields owned through `last-applied-configuration` when the manager
/// is `kubectl`, and that annotation kept up to date.
pub fn apply(
    live: Option<&Object>,
    applied: &Value,
    writer: &Writer,
    force: bool,
    now: Timestamp,
) -> Result<Applied, ApiError> {
    match apply_once(live, applied, writer, force, now) {
        Err(Refused::Conflicts(conflicts)) if writer.manager == KUBECTL_MANAGER && !force => {
            let allowed = live.and_then(allowed_conflicts_from_last_applied).unwrap_or_default();
            let unexplained: Vec<Conflict> =
                conflicts.into_iter().filter(|conflict| !allowed.has(&conflict.path)).collect();
            if !unexplained.is_empty() {
                return Err(conflict_error(&unexplained));
            }
            apply_once(live, applied, writer, true, now).map_err(Refused::into_error)
        }
        outcome => outcome.map_err(Refused::into_error),
    }
    .map(|mut outcome| {
        if writer.manager == KUBECTL_MANAGER {
            upgrade::update_last_applied(&mut outcome.object, applied);
        }
        outcome
    })
}

/// Why an apply was refused.
enum Refused {
    Conflicts(Vec<Conflict>),
    Error(ApiError),
}

impl Refused {
    fn into_error(self) -> ApiError {
        match self {
            Refused::Conflicts(conflicts) => conflict_error(&conflicts),
            Refused::Error(error) => error,
        }
    }
}

fn apply_once(
    live: Option<&Object>,
    applied: &Value,
    writer: &Writer,
    force: bool,
    now: Timestamp,
) -> Result<Applied, Refused> {
    let schema = schema_of(applied);
    let typed = Typed::new(schema_facts::kubernetes());
    let live_value = live.map_or_else(|| empty_object(schema), without_managed_fields);
    let mut managed = live
        .and_then(|live| live.metadata.managed_fields.as_deref())
        .and_then(|entries| ManagedFields::decode(entries).ok())
        .unwrap_or_default();
    let mut config = applied.clone();
    if let Value::Object(map) = &mut config {
        map.retain(|field, _| field == "apiVersion" || field == "kind" || !writer.ignores(field));
    }
    let internal = |error: typed::TypedError| Refused::Error(typed_error(error));
    let mut merged = typed.merge(schema, &live_value, &config).map_err(internal)?;
    let applier = writer.manager(Operation::Apply);
    let configured = typed.field_set(schema, &config).map_err(internal)?;
    let applied_set = writer.owned_part(&configured);
    let previous = managed.managers.remove(&applier);
    let last_set = previous.as_ref().map(|ownership| ownership.fields.clone()).unwrap_or_default();
    managed.managers.insert(
        applier.clone(),
        Ownership {
            fields: applied_set,
            api_version: writer.api_version.to_string(),
            time: previous.and_then(|ownership| ownership.time),
        },
    );
    if !last_set.is_empty() {
        // What the configuration sets counts as owned, identity metadata included (Kubernetes
        // strips that from the managers only after the merge), and identity metadata is never
        // removed.
        let owned = managed.managers.values().fold(configured, |all, ownership| all.union(&ownership.fields));
        let to_remove = typed
            .ensure_named_fields_are_members(schema, &last_set)
            .difference(&typed.ensure_named_fields_are_members(schema, &owned))
            .difference(stripped_fields());
        typed.remove_items(schema, &mut merged, &to_remove);
    }
    let comparison = typed.compare(schema, &live_value, &merged).map_err(internal)?;
    take_ownership(&mut managed, &applier, &comparison, writer, force)?;
    let changed = merged != live_value;
    if changed && let Some(ownership) = managed.managers.get_mut(&applier) {
        ownership.time = Some(managed_time(now));
    }
    managed.drop_empty();
    if let Some(Value::Object(metadata)) = merged.get_mut("metadata") {
        match managed.encode() {
            Some(entries) => metadata.insert("managedFields".into(), serde_json::to_value(entries).unwrap_or_default()),
            None => metadata.shift_remove("managedFields"),
        };
    }
    Ok(Applied { object: merged, changed })
}

/// structured-merge-diff's `update`: other managers owning a field the write changes conflict
/// (unless forced, when they lose it); every manager loses the fields the write removes.
fn take_ownership(
    managed: &mut ManagedFields,
    writer_manager: &Manager,
    comparison: &Comparison,
    writer: &Writer,
    force: bool,
) -> Result<(), Refused> {
    let changed = writer.owned_part(&comparison.modified.union(&comparison.added));
    let removed = writer.owned_part(&comparison.removed);
    let mut conflicts = Vec::new();
    for (manager, ownership) in &managed.managers {
        if manager == writer_manager {
            continue;
        }
        for path in ownership.fields.intersection(&changed).paths() {
            conflicts.push(Conflict { manager: manager.clone(), path });
        }
    }
    if !force && !conflicts.is_empty() {
        return Err(Refused::Conflicts(conflicts));
    }
    for (manager, ownership) in managed.managers.iter_mut() {
        if manager != writer_manager {
            ownership.fields = ownership.fields.difference(&changed).difference(&removed);
        }
    }
    Ok(())
}
