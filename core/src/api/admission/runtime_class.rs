//! The RuntimeClass admission plugin (`plugin/pkg/admission/runtimeclass`): a new pod that names
//! a `runtimeClassName` gets the class's pod overhead as `spec.overhead` and its
//! `scheduling.nodeSelector` and tolerations merged into its own; a pod naming a class that
//! does not exist, giving an overhead of its own, or selecting another value for a label the
//! class selects is refused.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Toleration;
use k8s_openapi::api::node::v1::RuntimeClass;
use serde_json::{Map, Value};

use super::{forbidden, get_object};
use crate::api::path::ResourcePath;
use crate::api::status::ApiError;
use crate::object::kinds::GroupResource;
use crate::object::{Object, Quantity};
use crate::store::Store;

const RUNTIME_CLASSES: GroupResource = GroupResource { group: "node.k8s.io", resource: "runtimeclasses" };

/// Why a pod does not fit its RuntimeClass, in Kubernetes' words.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RuntimeClassError {
    /// The pod names a class that does not exist.
    #[error("pod rejected: RuntimeClass {0:?} not found")]
    NotFound(String),
    /// The pod gives an overhead other than its class's.
    #[error("pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")]
    OverheadMismatch,
    /// The pod gives an overhead and its class defines none.
    #[error("pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead")]
    OverheadWithoutClass,
    /// The pod selects another value for a node label its class selects.
    #[error(
        "conflict: runtimeClass.scheduling.nodeSelector[{key}] = {class_value}; pod.spec.nodeSelector[{key}] = {pod_value}"
    )]
    NodeSelectorConflict {
        /// The label.
        key: String,
        /// The class's value.
        class_value: String,
        /// The pod's value.
        pod_value: String,
    },
}

/// The pod's RuntimeClass, `None` when it names none.
fn runtime_class_of<S: Store>(
    store: &S,
    spec: &Value,
) -> Result<Result<Option<RuntimeClass>, RuntimeClassError>, ApiError> {
    let Some(name) = spec.get("runtimeClassName").and_then(Value::as_str).filter(|name| !name.is_empty()) else {
        return Ok(Ok(None));
    };
    let Some(stored) = get_object(store, RUNTIME_CLASSES, "", name)? else {
        return Ok(Err(RuntimeClassError::NotFound(name.to_string())));
    };
    Ok(Ok(stored.to_typed::<RuntimeClass>().ok()))
}

fn quantities(list: Option<&Value>) -> Option<BTreeMap<String, Quantity>> {
    let Value::Object(map) = list? else { return None };
    Some(map.iter().filter_map(|(name, value)| Some((name.clone(), Quantity::parse(value.as_str()?).ok()?))).collect())
}

fn class_overhead(class: Option<&RuntimeClass>) -> Option<BTreeMap<String, Quantity>> {
    let pod_fixed = class?.overhead.as_ref()?.pod_fixed.as_ref()?;
    Some(
        pod_fixed
            .iter()
            .filter_map(|(name, quantity)| Some((name.clone(), Quantity::try_from(quantity).ok()?)))
            .collect(),
    )
}

/// `setOverhead` and `setScheduling` on a pod spec.
pub fn mutate_pod_spec(spec: &mut Map<String, Value>, class: &RuntimeClass) -> Result<(), RuntimeClassError> {
    if let Some(overhead) = class.overhead.as_ref().and_then(|overhead| overhead.pod_fixed.as_ref()) {
        let given = quantities(spec.get("overhead")).filter(|given| !given.is_empty());
        if given.is_some_and(|given| Some(given) != class_overhead(Some(class))) {
            return Err(RuntimeClassError::OverheadMismatch);
        }
        spec.insert("overhead".into(), serde_json::to_value(overhead).unwrap_or(Value::Null));
    }
    let Some(scheduling) = &class.scheduling else { return Ok(()) };
    let mut selector: BTreeMap<String, Value> = match spec.get("nodeSelector") {
        Some(Value::Object(map)) => map.clone().into_iter().collect(),
        _ => BTreeMap::new(),
    };
    for (key, class_value) in scheduling.node_selector.iter().flatten() {
        if let Some(pod_value) = selector.get(key).and_then(Value::as_str)
            && pod_value != class_value
        {
            return Err(RuntimeClassError::NodeSelectorConflict {
                key: key.clone(),
                class_value: class_value.clone(),
                pod_value: pod_value.to_string(),
            });
        }
        selector.insert(key.clone(), Value::from(class_value.as_str()));
    }
    if !selector.is_empty() {
        spec.insert("nodeSelector".into(), Value::Object(selector.into_iter().collect()));
    }
    let own: Vec<Toleration> =
        spec.get("tolerations").and_then(|value| serde_json::from_value(value.clone()).ok()).unwrap_or_default();
    let merged = merge_tolerations(&own, scheduling.tolerations.as_deref().unwrap_or_default());
    if !merged.is_empty() {
        spec.insert("tolerations".into(), serde_json::to_value(merged).unwrap_or(Value::Null));
    }
    Ok(())
}

/// `isSuperset`: whether `wider` tolerates everything `toleration` does.
fn is_superset(wider: &Toleration, toleration: &Toleration) -> bool {
    if wider == toleration {
        return true;
    }
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    if text(&toleration.key) != text(&wider.key) && !text(&wider.key).is_empty() {
        return false;
    }
    if text(&toleration.effect) != text(&wider.effect) && !text(&wider.effect).is_empty() {
        return false;
    }
    if text(&wider.effect) == "NoExecute"
        && let Some(seconds) = wider.toleration_seconds
        && toleration.toleration_seconds.is_none_or(|own| own > seconds)
    {
        return false;
    }
    match text(&wider.operator).as_str() {
        "Equal" | "" => text(&toleration.operator) == "Equal" && text(&toleration.value) == text(&wider.value),
        "Exists" => true,
        _ => false,
    }
}

/// `tolerations.MergeTolerations`: both lists, without a toleration another one covers.
pub fn merge_tolerations(first: &[Toleration], second: &[Toleration]) -> Vec<Toleration> {
    let all: Vec<&Toleration> = first.iter().chain(second).collect();
    let mut merged: Vec<Toleration> = Vec::new();
    for (index, toleration) in all.iter().enumerate() {
        if merged.iter().any(|kept| is_superset(kept, toleration)) {
            continue;
        }
        if all[index + 1..].iter().any(|later| *later != *toleration && is_superset(later, toleration)) {
            continue;
        }
        merged.push((*toleration).clone());
    }
    merged
}

/// `validateOverhead`: the pod's overhead is its class's, or none without one.
pub fn validate_overhead(spec: &Value, class: Option<&RuntimeClass>) -> Result<(), RuntimeClassError> {
    let given = quantities(spec.get("overhead"));
    match class_overhead(class) {
        Some(overhead) if given.as_ref() != Some(&overhead) => Err(RuntimeClassError::OverheadMismatch),
        Some(_) => Ok(()),
        None if given.is_some() => Err(RuntimeClassError::OverheadWithoutClass),
        None => Ok(()),
    }
}

/// Applies the pod's RuntimeClass to a new pod.
pub(super) fn admit<S: Store>(store: &S, path: &ResourcePath, object: &mut Object) -> Result<(), ApiError> {
    if object.kind != "Pod" {
        return Ok(());
    }
    let Some(spec) = object.fields.get("spec") else { return Ok(()) };
    let class = runtime_class_of(store, spec)?.map_err(|error| forbidden(path, object, error.to_string()))?;
    let Some(class) = class else { return Ok(()) };
    let Some(Value::Object(spec)) = object.fields.get_mut("spec") else { return Ok(()) };
    let result = mutate_pod_spec(spec, &class);
    result.map_err(|error| forbidden(path, object, error.to_string()))
}

/// Checks a new pod's overhead against its RuntimeClass.
pub(super) fn validate<S: Store>(store: &S, path: &ResourcePath, object: &Object) -> Result<(), ApiError> {
    if object.kind != "Pod" {
        return Ok(());
    }
    let Some(spec) = object.field("spec") else { return Ok(()) };
    let checked = runtime_class_of(store, spec)?.and_then(|class| validate_overhead(spec, class.as_ref()));
    checked.map_err(|error| forbidden(path, object, error.to_string()))
}

#[cfg(test)]
mod tests;
