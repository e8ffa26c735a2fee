//! Conversion between the versions of a kind the API serves and the one version the store keeps
//! (the first listed in the kinds table). Only HorizontalPodAutoscaler is served at two versions:
//! autoscaling/v2 is stored; autoscaling/v1 is converted as Kubernetes converts it for its
//! CPU-utilization field (other v2 metrics have no v1 form and are not shown through v1).

use serde_json::{Value, json};

use super::status::ApiError;
use crate::object::Object;
use crate::object::kinds::{self, ResourceType};

/// The kind's storage version.
pub fn storage_type(resource: &'static ResourceType) -> &'static ResourceType {
    kinds::storage_version(resource.group_resource()).unwrap_or(resource)
}

/// Converts an object at the version `resource` names into the storage version.
pub fn to_storage(resource: &'static ResourceType, mut object: Object) -> Result<Object, ApiError> {
    let storage = storage_type(resource);
    if std::ptr::eq(storage, resource) || storage == resource {
        return Ok(object);
    }
    match (resource.kind, resource.api_version) {
        ("HorizontalPodAutoscaler", "autoscaling/v1") => {
            hpa_spec_v1_to_v2(&mut object);
            object.api_version = storage.api_version.into();
            Ok(object)
        }
        _ => Err(ApiError::Internal {
            message: format!("no conversion from {} to {}", resource.api_version, storage.api_version),
        }),
    }
}

/// A stored object in the version `resource` names, borrowed when it is stored in that version
/// already: a list of thousands of pods is served without copying each one.
pub fn from_storage_borrowed<'a>(resource: &'static ResourceType, object: &'a Object) -> std::borrow::Cow<'a, Object> {
    if object.api_version == resource.api_version {
        std::borrow::Cow::Borrowed(object)
    } else {
        std::borrow::Cow::Owned(from_storage(resource, object))
    }
}

/// Converts a stored object to the version `resource` names.
pub fn from_storage(resource: &'static ResourceType, object: &Object) -> Object {
    if object.api_version == resource.api_version {
        return object.clone();
    }
    let mut converted = object.clone();
    if let ("HorizontalPodAutoscaler", "autoscaling/v1") = (resource.kind, resource.api_version) {
        hpa_v2_to_v1(&mut converted);
    }
    converted.api_version = resource.api_version.into();
    converted
}

fn hpa_spec_v1_to_v2(object: &mut Object) {
    let Some(Value::Object(spec)) = object.fields.get_mut("spec") else { return };
    if let Some(target) = spec.remove("targetCPUUtilizationPercentage") {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]),
        );
    }
    object.fields.shift_remove("status");
}

fn hpa_v2_to_v1(object: &mut Object) {
    if let Some(Value::Object(spec)) = object.fields.get_mut("spec") {
        let metrics = spec.remove("metrics");
        let target = metrics.as_ref().and_then(|metrics| cpu_utilization(metrics, "target", "averageUtilization"));
        spec.shift_remove("behavior");
        if let Some(target) = target {
            spec.insert("targetCPUUtilizationPercentage".into(), target);
        }
    }
    if let Some(Value::Object(status)) = object.fields.get_mut("status") {
        let current = status.remove("currentMetrics");
        status.shift_remove("conditions");
        if let Some(current) =
            current.as_ref().and_then(|metrics| cpu_utilization(metrics, "current", "averageUtilization"))
        {
            status.insert("currentCPUUtilizationPercentage".into(), current);
        }
        if !status.contains_key("currentReplicas") {
            status.insert("currentReplicas".into(), 0.into());
        }
    }
}

/// The CPU utilization of a v2 metrics list (`spec.metrics` or `status.currentMetrics`).
fn cpu_utilization(metrics: &Value, side: &str, field: &str) -> Option<Value> {
    metrics.as_array()?.iter().find_map(|metric| {
        let resource = metric.get("resource")?;
        (metric.get("type")?.as_str()? == "Resource" && resource.get("name")?.as_str()? == "cpu")
            .then(|| resource.get(side)?.get(field).cloned())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hpa_types() -> (&'static ResourceType, &'static ResourceType) {
        (
            kinds::by_api_version_kind("autoscaling/v1", "HorizontalPodAutoscaler").unwrap(),
            kinds::by_api_version_kind("autoscaling/v2", "HorizontalPodAutoscaler").unwrap(),
        )
    }

    #[test]
    fn a_v1_cpu_target_becomes_a_v2_metric_and_back() {
        let (v1, v2) = hpa_types();
        let object = Object::from_value(json!({
            "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5, "targetCPUUtilizationPercentage": 70}
        }))
        .unwrap();
        let stored = to_storage(v1, object).unwrap();
        assert_eq!(stored.api_version, v2.api_version);
        assert_eq!(stored.fields["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 70);
        let back = from_storage(v1, &stored);
        assert_eq!(back.fields["spec"]["targetCPUUtilizationPercentage"], 70);
        assert!(back.fields["spec"].get("metrics").is_none());
    }
}
