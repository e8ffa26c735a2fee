//! The way from client-side apply to server-side apply, as Kubernetes 1.32 and kubectl take it:
//! - kubectl first moves the fields `kubectl-client-side-apply` owns into its own `kubectl` Apply
//!   entry ([`upgrade_managed_fields_patch`], client-go's `csaupgrade`), so that the following
//!   apply removes what the new configuration dropped;
//! - the server lets `kubectl` take over, without a conflict, every field it set through
//!   `last-applied-configuration` and that still holds that value ([`allowed_conflicts_from_last_applied`],
//!   the `lastAppliedManager`);
//! - the server keeps that annotation in step with what `kubectl` applies ([`update_last_applied`],
//!   the `lastAppliedUpdater`).

use serde_json::{Map, Value, json};

use super::field_set::{FieldSet, PathElement};
use super::managed_fields::{ManagedFields, Operation};
use super::schema_of;
use super::typed::Typed;
use crate::object::Object;
use crate::object::schema_facts;

/// The annotation client-side apply records the applied configuration in.
pub const LAST_APPLIED_CONFIGURATION_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The manager name kubectl's client-side apply writes with.
pub const CLIENT_SIDE_APPLY_MANAGER: &str = "kubectl-client-side-apply";

/// The configuration an object was last applied with on the client side, if any.
pub fn last_applied_configuration(object: &Object) -> Option<Value> {
    let text = object.metadata.annotations.as_ref()?.get(LAST_APPLIED_CONFIGURATION_ANNOTATION)?;
    serde_json::from_str(text).ok().filter(Value::is_object)
}

/// The fields `kubectl` may take over without a conflict: those the last applied configuration
/// sets and the live object still holds at that value.
pub fn allowed_conflicts_from_last_applied(live: &Object) -> Option<FieldSet> {
    let last_applied = last_applied_configuration(live)?;
    let typed = Typed::new(schema_facts::kubernetes());
    let live_value = live.to_value();
    let schema = schema_of(&live_value);
    let set = typed.field_set(schema, &last_applied).ok()?;
    let comparison = typed.compare(schema, &last_applied, &live_value).ok()?;
    Some(set.difference(&comparison.modified))
}

/// Rewrites the annotation, where the object carries it, to the configuration just applied
/// (without the annotation itself), as compact JSON with sorted keys and a final newline, as Go
/// encodes it.
pub fn update_last_applied(object: &mut Value, applied: &Value) {
    let Some(Value::Object(annotations)) = object.pointer_mut("/metadata/annotations") else { return };
    if annotations.get(LAST_APPLIED_CONFIGURATION_ANNOTATION).and_then(Value::as_str).is_none_or(str::is_empty) {
        return;
    }
    let mut configuration = applied.clone();
    if let Some(Value::Object(applied_annotations)) = configuration.pointer_mut("/metadata/annotations") {
        applied_annotations.shift_remove(LAST_APPLIED_CONFIGURATION_ANNOTATION);
    }
    let text = format!("{}\n", sorted(&configuration));
    annotations.insert(LAST_APPLIED_CONFIGURATION_ANNOTATION.into(), Value::String(text));
}

/// A value with every map's keys sorted, as Go's `encoding/json` writes maps.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|left, right| left.0.cmp(right.0));
            Value::Object(entries.into_iter().map(|(key, value)| (key.clone(), sorted(value))).collect::<Map<_, _>>())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        scalar => scalar.clone(),
    }
}

/// The JSON patch kubectl sends before `apply --server-side` over an object client-side apply
/// managed (client-go's `csaupgrade.UpgradeManagedFieldsPatch`): the `kubectl-client-side-apply`
/// Update entry's fields join `ssa_manager`'s Apply entry (the Update entry becomes it when
/// there is none), without the annotation itself; the resourceVersion guards the write. `None`
/// when there is nothing to move.
pub fn upgrade_managed_fields_patch(object: &Object, ssa_manager: &str) -> Option<Value> {
    let mut managed = ManagedFields::decode(object.metadata.managed_fields.as_deref()?).ok()?;
    let is_csa = |manager: &super::Manager| {
        manager.name == CLIENT_SIDE_APPLY_MANAGER
            && manager.operation == Operation::Update
            && manager.subresource.is_empty()
    };
    let csa_managers: Vec<super::Manager> =
        managed.managers.keys().filter(|manager| is_csa(manager)).cloned().collect();
    if csa_managers.is_empty() {
        return None;
    }
    let target = super::Manager {
        name: ssa_manager.to_string(),
        operation: Operation::Apply,
        api_version: String::new(),
        subresource: String::new(),
    };
    let mut ownership = match managed.managers.remove(&target) {
        Some(ownership) => ownership,
        None => managed.managers.get(&csa_managers[0]).cloned()?,
    };
    for csa_manager in &csa_managers {
        if let Some(csa) = managed.managers.remove(csa_manager)
            && (csa.api_version == ownership.api_version || csa_manager == &csa_managers[0])
        {
            ownership.fields = ownership.fields.union(&csa.fields);
        }
    }
    let annotation = [
        PathElement::Field("metadata".into()),
        PathElement::Field("annotations".into()),
        PathElement::Field(LAST_APPLIED_CONFIGURATION_ANNOTATION.into()),
    ];
    // Neither the annotation nor the annotations map itself moves, so that the apply keeps
    // them (and the server keeps the annotation up to date).
    let mut annotation_set = FieldSet::new();
    annotation_set.insert(&annotation);
    annotation_set.insert(&annotation[..2]);
    ownership.fields = ownership.fields.difference(&annotation_set);
    managed.managers.insert(target, ownership);
    let entries = serde_json::to_value(managed.encode().unwrap_or_default()).ok()?;
    Some(json!([
        {"op": "replace", "path": "/metadata/managedFields", "value": entries},
        {"op": "replace", "path": "/metadata/resourceVersion", "value": object.resource_version()},
    ]))
}
