//! The Priority admission plugin (`plugin/pkg/admission/priority`): a new pod's
//! `priorityClassName` is resolved to `spec.priority` and `spec.preemptionPolicy`; a pod that
//! names no class gets the global default class (the one of lowest value when several claim
//! it), or priority 0 and `PreemptLowerPriority` when there is none; a PriorityClass may only be
//! the global default when no other class is. The built-in `system-cluster-critical` and
//! `system-node-critical` classes are created at bootstrap ([`bootstrap_priority_classes`]).

use k8s_openapi::api::scheduling::v1::PriorityClass;
use serde_json::{Value, json};

use super::{forbidden, list_objects};
use crate::api::path::ResourcePath;
use crate::api::status::ApiError;
use crate::object::Object;
use crate::object::defaults::scheduling::DEFAULT_PREEMPTION_POLICY;
use crate::object::kinds::GroupResource;
use crate::object::validation::scheduling::SYSTEM_PRIORITY_CLASSES;
use crate::store::Store;

const PRIORITY_CLASSES: GroupResource = GroupResource { group: "scheduling.k8s.io", resource: "priorityclasses" };

/// The priority of a pod when no class is the global default
/// (`scheduling.DefaultPriorityWhenNoDefaultClassExists`).
pub const DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS: i32 = 0;

/// The built-in PriorityClasses (`SystemPriorityClasses`), as objects to create at bootstrap.
pub fn bootstrap_priority_classes() -> Vec<Value> {
    SYSTEM_PRIORITY_CLASSES
        .iter()
        .map(|(name, value)| {
            let description = match *name {
                "system-node-critical" => "Used for system critical pods that must not be moved from their current node.",
                _ => "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
            };
            json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
                "value": value, "description": description})
        })
        .collect()
}

/// What a pod's class resolves to: the class name written back, priority and preemption policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// The class name (empty when no class is the global default).
    pub class_name: String,
    /// `spec.priority`.
    pub priority: i32,
    /// `spec.preemptionPolicy`, when the class (or the no-default rule) gives one.
    pub preemption_policy: Option<String>,
}

/// Why a pod's priority cannot be resolved.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PriorityError {
    /// The pod names a class that does not exist.
    #[error("no PriorityClass with name {0} was found")]
    UnknownClass(String),
    /// The pod gives a priority other than its class's.
    #[error(
        "the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {computed} from the given PriorityClass name"
    )]
    PriorityMismatch {
        /// The pod's `spec.priority`.
        given: i64,
        /// The class's value.
        computed: i32,
    },
    /// The pod gives a preemption policy other than its class's.
    #[error(
        "the string value of PreemptionPolicy ({given}) must not be provided in pod spec; priority admission controller computed {computed} from the given PriorityClass name"
    )]
    PreemptionPolicyMismatch {
        /// The pod's `spec.preemptionPolicy`.
        given: String,
        /// The class's policy.
        computed: String,
    },
}

/// `getDefaultPriority`: the global default class of lowest value, or none.
pub fn default_priority(classes: &[PriorityClass]) -> Resolved {
    let default = classes
        .iter()
        .filter(|class| class.global_default == Some(true))
        .min_by_key(|class| (class.value, class.metadata.name.clone()));
    match default {
        Some(class) => Resolved {
            class_name: class.metadata.name.clone().unwrap_or_default(),
            priority: class.value,
            preemption_policy: class.preemption_policy.clone(),
        },
        None => Resolved {
            class_name: String::new(),
            priority: DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS,
            preemption_policy: Some(DEFAULT_PREEMPTION_POLICY.to_string()),
        },
    }
}

/// `admitPod` on create: resolves the pod spec's class against `classes` and checks a priority
/// or preemption policy the pod gives itself.
pub fn resolve(spec: &Value, classes: &[PriorityClass]) -> Result<Resolved, PriorityError> {
    let named = spec.get("priorityClassName").and_then(Value::as_str).unwrap_or("");
    let resolved = if named.is_empty() {
        default_priority(classes)
    } else {
        let class = classes
            .iter()
            .find(|class| class.metadata.name.as_deref() == Some(named))
            .ok_or_else(|| PriorityError::UnknownClass(named.to_string()))?;
        Resolved {
            class_name: named.to_string(),
            priority: class.value,
            preemption_policy: class.preemption_policy.clone(),
        }
    };
    if let Some(given) = spec.get("priority").and_then(Value::as_i64)
        && given != i64::from(resolved.priority)
    {
        return Err(PriorityError::PriorityMismatch { given, computed: resolved.priority });
    }
    if let (Some(computed), Some(given)) =
        (&resolved.preemption_policy, spec.get("preemptionPolicy").and_then(Value::as_str))
        && given != computed
    {
        return Err(PriorityError::PreemptionPolicyMismatch { given: given.to_string(), computed: computed.clone() });
    }
    Ok(resolved)
}

/// Every stored PriorityClass; one that does not decode is left out.
fn stored_classes<S: Store>(store: &S) -> Result<Vec<PriorityClass>, ApiError> {
    let listed = list_objects(store, PRIORITY_CLASSES, "")?;
    Ok(listed.iter().filter_map(|object| object.to_typed::<PriorityClass>().ok()).collect())
}

/// Sets a new pod's priority, class name and preemption policy.
pub(super) fn admit<S: Store>(store: &S, path: &ResourcePath, object: &mut Object) -> Result<(), ApiError> {
    if object.kind != "Pod" {
        return Ok(());
    }
    let classes = stored_classes(store)?;
    let Some(spec) = object.fields.get("spec") else { return Ok(()) };
    let resolved = resolve(spec, &classes).map_err(|error| forbidden(path, object, error.to_string()))?;
    let Some(Value::Object(spec)) = object.fields.get_mut("spec") else { return Ok(()) };
    if !resolved.class_name.is_empty() {
        spec.insert("priorityClassName".into(), Value::from(resolved.class_name));
    }
    spec.insert("priority".into(), Value::from(resolved.priority));
    if let Some(policy) = resolved.preemption_policy {
        spec.insert("preemptionPolicy".into(), Value::from(policy));
    }
    Ok(())
}

/// On update, a pod keeps the priority and preemption policy set on create when the client
/// leaves them out.
pub(super) fn keep_on_update(old: &Object, object: &mut Object) {
    if object.kind != "Pod" {
        return;
    }
    let Some(old_spec) = old.field("spec") else { return };
    let Some(Value::Object(spec)) = object.fields.get_mut("spec") else { return };
    for field in ["priority", "preemptionPolicy"] {
        if spec.get(field).is_none_or(Value::is_null)
            && let Some(kept) = old_spec.get(field).filter(|value| !value.is_null())
        {
            spec.insert(field.into(), kept.clone());
        }
    }
}

/// `validatePriorityClass`: only one class may be the global default.
pub fn check_single_global_default(class: &PriorityClass, others: &[PriorityClass], update: bool) -> Option<String> {
    if class.global_default != Some(true) {
        return None;
    }
    let existing = default_priority(others);
    let is_other = !existing.class_name.is_empty()
        && (!update || class.metadata.name.as_deref() != Some(existing.class_name.as_str()));
    is_other.then(|| {
        format!("PriorityClass {} is already marked as default. Only one default can exist", existing.class_name)
    })
}

/// Refuses a second global default PriorityClass.
pub(super) fn validate<S: Store>(
    store: &S,
    path: &ResourcePath,
    object: &Object,
    update: bool,
) -> Result<(), ApiError> {
    if object.kind != "PriorityClass" {
        return Ok(());
    }
    let Ok(class) = object.to_typed::<PriorityClass>() else { return Ok(()) };
    let classes = stored_classes(store)?;
    match check_single_global_default(&class, &classes, update) {
        Some(message) => Err(forbidden(path, object, message)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
