//! A pod's quality-of-service class (`status.qosClass`), as Kubernetes computes it from the
//! containers' requests and limits: Guaranteed, Burstable or BestEffort.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Object;
use super::quantity::Quantity;

/// The resources that decide the QoS class.
const QOS_RESOURCES: [&str; 2] = ["cpu", "memory"];

/// Guaranteed when every container (init containers included) has cpu and memory limits equal
/// to its requests; BestEffort when no container requests or limits anything; Burstable otherwise.
pub fn pod_qos_class(pod: &Object) -> &'static str {
    let spec = pod.field("spec");
    let containers = ["containers", "initContainers"]
        .iter()
        .filter_map(|list| spec.and_then(|spec| spec.get(*list)).and_then(Value::as_array))
        .flatten();
    let mut any_set = false;
    let mut guaranteed = true;
    for container in containers {
        let requests = quantities(container.pointer("/resources/requests"));
        let mut limits = quantities(container.pointer("/resources/limits"));
        // A limit without a request defaults the request to the limit.
        let mut requests_with_defaults = limits.clone();
        requests_with_defaults.extend(requests.clone());
        any_set |= requests.values().chain(limits.values()).any(|quantity| !quantity.is_zero());
        for resource in QOS_RESOURCES {
            let request = requests_with_defaults.get(resource);
            let limit = limits.remove(resource);
            if request.is_none() || limit.is_none() || request != limit.as_ref() {
                guaranteed = false;
            }
        }
    }
    match (any_set, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

fn quantities(value: Option<&Value>) -> BTreeMap<String, Quantity> {
    let Some(Value::Object(map)) = value else { return BTreeMap::new() };
    map.iter()
        .filter(|(name, _)| QOS_RESOURCES.contains(&name.as_str()))
        .filter_map(|(name, value)| Some((name.clone(), Quantity::parse(value.as_str()?).ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(resources: Value) -> Object {
        Object::from_value(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "i", "resources": resources}]}}))
        .unwrap()
    }

    #[test]
    fn classes_follow_requests_and_limits() {
        assert_eq!(pod_qos_class(&pod(json!({}))), "BestEffort");
        assert_eq!(pod_qos_class(&pod(json!({"requests": {"cpu": "100m"}}))), "Burstable");
        assert_eq!(pod_qos_class(&pod(json!({"limits": {"cpu": "1", "memory": "1Gi"}}))), "Guaranteed");
        assert_eq!(
            pod_qos_class(&pod(
                json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}})
            )),
            "Guaranteed"
        );
        assert_eq!(
            pod_qos_class(&pod(
                json!({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}})
            )),
            "Burstable"
        );
    }
}
