//! What an object charges against a ResourceQuota (Kubernetes' quota evaluators in
//! `pkg/quota/v1/evaluator/core`): pods charge compute resources while they live, Services their
//! node ports and load balancers, PersistentVolumeClaims their storage, and every object its
//! `count/<resource>`. Shared by the quota controller and the API server's quota admission, so
//! it lives on the object floor below both.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::ResourceQuotaSpec;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::object::kinds;
use crate::object::qos::pod_qos_class;
use crate::object::{Format, Object, Quantity};

/// A set of resource names with their amounts, ordered by name.
pub type ResourceList = BTreeMap<String, Quantity>;

/// The resources whose use the pod evaluator requires every container to declare when a quota
/// limits them (`validationSet`).
const CONTAINER_DECLARED: [&str; 6] =
    ["cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"];

/// The compute resources the pod evaluator charges (`podResources`).
const POD_RESOURCES: [&str; 10] = [
    "pods",
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
];

/// Object counts Kubernetes also names without the `count/` prefix.
const LEGACY_COUNT_NAMES: [&str; 4] = ["configmaps", "resourcequotas", "replicationcontrollers", "secrets"];

/// A wire resource list read as exact quantities; unparsable amounts are left out.
pub fn resource_list(wire: Option<&BTreeMap<String, WireQuantity>>) -> ResourceList {
    wire.into_iter()
        .flatten()
        .filter_map(|(name, quantity)| Some((name.clone(), Quantity::try_from(quantity).ok()?)))
        .collect()
}

/// A resource list written out in canonical form.
pub fn wire_list(list: &ResourceList) -> BTreeMap<String, WireQuantity> {
    list.iter().map(|(name, quantity)| (name.clone(), WireQuantity(quantity.to_string()))).collect()
}

fn one() -> Quantity {
    Quantity::from_value(1, Format::DecimalSI)
}

/// `count/<resource>` for the core group, `count/<resource>.<group>` otherwise.
pub fn object_count_name(api_version: &str, kind: &str) -> Option<String> {
    let resource = kinds::by_api_version_kind(api_version, kind)?;
    Some(if resource.group.is_empty() {
        format!("count/{}", resource.plural)
    } else {
        format!("count/{}.{}", resource.plural, resource.group)
    })
}

/// What `object` charges at `now` (the evaluators' `Usage`).
pub fn usage(object: &Object, now: Timestamp) -> ResourceList {
    let mut result = ResourceList::new();
    let Some(count_name) = object_count_name(&object.api_version, &object.kind) else { return result };
    result.insert(count_name, one());
    match object.kind.as_str() {
        "Pod" if is_charged_pod(object, now) => result.extend(pod_compute_usage(object)),
        "Service" => result.extend(service_usage(object)),
        "PersistentVolumeClaim" => result.extend(claim_usage(object)),
        _ => {}
    }
    if let Some(resource) = kinds::by_api_version_kind(&object.api_version, &object.kind)
        && LEGACY_COUNT_NAMES.contains(&resource.plural)
        && resource.group.is_empty()
    {
        result.insert(resource.plural.to_string(), one());
    }
    result
}

/// `QuotaV1Pod`: finished pods and pods stuck terminating past their grace period are not charged.
fn is_charged_pod(pod: &Object, now: Timestamp) -> bool {
    let phase = pod.field("status").and_then(|status| status.get("phase")).and_then(Value::as_str).unwrap_or("");
    if matches!(phase, "Succeeded" | "Failed") {
        return false;
    }
    match (&pod.metadata.deletion_timestamp, pod.metadata.deletion_grace_period_seconds) {
        (Some(deleted), Some(grace)) => now <= deleted.0 + SignedDuration::from_secs(grace),
        _ => true,
    }
}

/// The requests and limits of one container, or of a pod's containers summed with each init
/// container's taken as a floor (`PodRequests`/`PodLimits`, without sidecars and overhead).
pub fn pod_requests_and_limits(pod: &Object) -> (ResourceList, ResourceList) {
    let spec = pod.field("spec");
    let list = |name: &str| spec.and_then(|spec| spec.get(name)).and_then(Value::as_array).cloned().unwrap_or_default();
    let mut totals = (ResourceList::new(), ResourceList::new());
    for container in list("containers") {
        let (requests, limits) = container_resources(&container);
        add_into(&mut totals.0, &requests);
        add_into(&mut totals.1, &limits);
    }
    for container in list("initContainers") {
        let (requests, limits) = container_resources(&container);
        max_into(&mut totals.0, &requests);
        max_into(&mut totals.1, &limits);
    }
    totals
}

fn container_resources(container: &Value) -> (ResourceList, ResourceList) {
    let read = |pointer: &str| -> ResourceList {
        let Some(Value::Object(map)) = container.pointer(pointer) else { return ResourceList::new() };
        map.iter().filter_map(|(name, value)| Some((name.clone(), parse(value)?))).collect()
    };
    (read("/resources/requests"), read("/resources/limits"))
}

fn parse(value: &Value) -> Option<Quantity> {
    match value {
        Value::String(text) => Quantity::parse(text).ok(),
        Value::Number(number) => Quantity::parse(&number.to_string()).ok(),
        _ => None,
    }
}

fn add_into(total: &mut ResourceList, more: &ResourceList) {
    for (name, quantity) in more {
        let entry = total.entry(name.clone()).or_insert(Quantity::ZERO.with_format(quantity.format()));
        *entry = entry.checked_add(*quantity).unwrap_or(*entry);
    }
}

fn max_into(total: &mut ResourceList, floor: &ResourceList) {
    for (name, quantity) in floor {
        let entry = total.entry(name.clone()).or_insert(*quantity);
        if *quantity > *entry {
            *entry = *quantity;
        }
    }
}

/// `podComputeUsageHelper`: `pods`, and the compute resources under their quota names.
fn compute_usage_of(requests: &ResourceList, limits: &ResourceList) -> ResourceList {
    let mut result = ResourceList::from([("pods".to_string(), one())]);
    for resource in ["cpu", "memory", "ephemeral-storage"] {
        if let Some(request) = requests.get(resource) {
            result.insert(resource.to_string(), *request);
            result.insert(format!("requests.{resource}"), *request);
        }
        if let Some(limit) = limits.get(resource) {
            result.insert(format!("limits.{resource}"), *limit);
        }
    }
    for (resource, request) in requests {
        if resource.starts_with("hugepages-") {
            result.insert(resource.clone(), *request);
            result.insert(format!("requests.{resource}"), *request);
        } else if resource.contains('/') && !resource.starts_with("kubernetes.io/") {
            // An extended resource is quota'd only as `requests.<name>`.
            result.insert(format!("requests.{resource}"), *request);
        }
    }
    result
}

fn pod_compute_usage(pod: &Object) -> ResourceList {
    let (requests, limits) = pod_requests_and_limits(pod);
    compute_usage_of(&requests, &limits)
}

/// The Service evaluator: `services`, and node ports and load balancers by type.
fn service_usage(service: &Object) -> ResourceList {
    let spec = service.field("spec");
    let service_type = spec.and_then(|spec| spec.get("type")).and_then(Value::as_str).unwrap_or("ClusterIP");
    let ports = spec.and_then(|spec| spec.get("ports")).and_then(Value::as_array).cloned().unwrap_or_default();
    let count = |value: usize| Quantity::from_value(value as i64, Format::DecimalSI);
    let mut result = ResourceList::from([
        ("services".to_string(), one()),
        ("services.loadbalancers".to_string(), Quantity::ZERO),
        ("services.nodeports".to_string(), Quantity::ZERO),
    ]);
    match service_type {
        "NodePort" => {
            result.insert("services.nodeports".into(), count(ports.len()));
        }
        "LoadBalancer" => {
            let allocate = spec.and_then(|spec| spec.get("allocateLoadBalancerNodePorts")).and_then(Value::as_bool);
            let node_ports = if allocate == Some(false) {
                ports.iter().filter(|port| port.get("nodePort").and_then(Value::as_i64).is_some_and(|p| p != 0)).count()
            } else {
                ports.len()
            };
            result.insert("services.nodeports".into(), count(node_ports));
            result.insert("services.loadbalancers".into(), one());
        }
        _ => {}
    }
    result
}

/// The PersistentVolumeClaim evaluator: `persistentvolumeclaims` and `requests.storage` (the
/// larger of the request and what was allocated).
fn claim_usage(claim: &Object) -> ResourceList {
    let mut result = ResourceList::from([("persistentvolumeclaims".to_string(), one())]);
    let requested = claim.field("spec").and_then(|spec| spec.pointer("/resources/requests/storage")).and_then(parse);
    let allocated =
        claim.field("status").and_then(|status| status.pointer("/allocatedResources/storage")).and_then(parse);
    if let Some(storage) = requested.into_iter().chain(allocated).max() {
        result.insert("requests.storage".to_string(), storage);
    }
    result
}

/// The quota's scopes as (scope, operator, values) selectors (`getScopeSelectorsFromQuota`).
fn scope_selectors(spec: &ResourceQuotaSpec) -> Vec<(String, String, Vec<String>)> {
    let mut selectors: Vec<(String, String, Vec<String>)> =
        spec.scopes.iter().flatten().map(|scope| (scope.clone(), "Exists".to_string(), Vec::new())).collect();
    for requirement in spec.scope_selector.iter().flat_map(|selector| selector.match_expressions.iter().flatten()) {
        selectors.push((
            requirement.scope_name.clone(),
            requirement.operator.clone(),
            requirement.values.clone().unwrap_or_default(),
        ));
    }
    selectors
}

/// Whether the quota applies to `object`: a quota without scopes applies to every object; one
/// with scopes only to pods matching all of them (`Matches` and `podMatchesScopeFunc`).
pub fn quota_matches(spec: &ResourceQuotaSpec, object: &Object) -> bool {
    scope_selectors(spec).iter().all(|(scope, operator, values)| {
        if object.kind != "Pod" {
            return false;
        }
        let pod_spec = object.field("spec");
        let deadline = pod_spec.and_then(|spec| spec.get("activeDeadlineSeconds")).and_then(Value::as_i64);
        match scope.as_str() {
            "Terminating" => deadline.is_some_and(|seconds| seconds >= 0),
            "NotTerminating" => deadline.is_none_or(|seconds| seconds < 0),
            "BestEffort" => pod_qos_class(object) == "BestEffort",
            "NotBestEffort" => pod_qos_class(object) != "BestEffort",
            "PriorityClass" => {
                let class =
                    pod_spec.and_then(|spec| spec.get("priorityClassName")).and_then(Value::as_str).unwrap_or("");
                match operator.as_str() {
                    "In" => values.iter().any(|value| value == class),
                    "NotIn" => !values.iter().any(|value| value == class),
                    "Exists" => !class.is_empty(),
                    "DoesNotExist" => class.is_empty(),
                    _ => false,
                }
            }
            _ => false,
        }
    })
}

/// The pod evaluator's `Constraints`: when a quota limits cpu or memory, every container must
/// declare the request or limit it charges. The message is Kubernetes'
/// `must specify limits.cpu for: a,b; requests.memory for: a`.
pub fn pod_constraints(required: &[&str], pod: &Object) -> Result<(), String> {
    let required: BTreeSet<&str> = required.iter().copied().filter(|name| CONTAINER_DECLARED.contains(name)).collect();
    let spec = pod.field("spec");
    let mut missing: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for list in ["containers", "initContainers"] {
        for container in spec.and_then(|spec| spec.get(list)).and_then(Value::as_array).into_iter().flatten() {
            let (requests, limits) = container_resources(container);
            let declared = compute_usage_of(&requests, &limits);
            let name = container.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            for resource in required.iter().filter(|resource| !declared.contains_key(**resource)) {
                missing.entry(resource).or_default().insert(name.clone());
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let parts: Vec<String> = missing
        .iter()
        .map(|(resource, containers)| {
            format!("{resource} for: {}", containers.iter().cloned().collect::<Vec<_>>().join(","))
        })
        .collect();
    Err(format!("must specify {}", parts.join("; ")))
}

/// The resource names of `hard` the evaluator of `object`'s kind can charge
/// (`MatchingResources`), for the check that a quota's usage is known.
pub fn matching_resources<'a>(hard: &'a ResourceList, object: &Object) -> Vec<&'a str> {
    let count_name = object_count_name(&object.api_version, &object.kind).unwrap_or_default();
    hard.keys()
        .map(String::as_str)
        .filter(|name| {
            *name == count_name
                || match object.kind.as_str() {
                    "Pod" => {
                        POD_RESOURCES.contains(name)
                            || name.starts_with("hugepages-")
                            || name.starts_with("requests.hugepages-")
                            || (name.starts_with("requests.") && name.contains('/'))
                    }
                    "Service" => matches!(*name, "services" | "services.nodeports" | "services.loadbalancers"),
                    "PersistentVolumeClaim" => matches!(*name, "persistentvolumeclaims" | "requests.storage"),
                    _ => LEGACY_COUNT_NAMES.contains(name) && count_name == format!("count/{name}"),
                }
        })
        .collect()
}

/// `prettyPrint`: `name=value` pairs, sorted, joined by commas.
pub fn pretty_print(list: &ResourceList) -> String {
    list.iter().map(|(name, quantity)| format!("{name}={quantity}")).collect::<Vec<_>>().join(",")
}
