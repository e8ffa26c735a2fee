//! The LimitRanger admission plugin (`plugin/pkg/admission/limitranger`): a new pod's
//! containers get the default requests and limits of the namespace's LimitRanges (items of type
//! Container: `defaultRequest`, `default`), recorded in the `kubernetes.io/limit-ranger`
//! annotation; then every container, the pod as a whole and every PersistentVolumeClaim must
//! keep within the items' `min`, `max` and `maxLimitRequestRatio`. Pods are checked on create
//! only (their containers' resources cannot change), claims on create and update.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{LimitRange, LimitRangeItem};
use serde_json::{Map, Value};

use super::{forbidden, list_objects};
use crate::api::path::ResourcePath;
use crate::api::status::ApiError;
use crate::object::kinds::GroupResource;
use crate::object::quota_usage::{ResourceList, pod_requests_and_limits, resource_list};
use crate::object::{Object, Quantity};
use crate::store::Store;

const LIMIT_RANGES: GroupResource = GroupResource { group: "", resource: "limitranges" };

/// The annotation that records what LimitRanger set (`limitRangerAnnotation`).
pub const LIMIT_RANGER_ANNOTATION: &str = "kubernetes.io/limit-ranger";
/// The largest value whose thousandths fit in 64 bits (`resource.MaxMilliValue`).
const MAX_MILLI_VALUE: i64 = i64::MAX / 1000;

/// The LimitRanges of a namespace, in name order; one that does not decode is left out.
fn limit_ranges<S: Store>(store: &S, namespace: &str) -> Result<Vec<LimitRange>, ApiError> {
    if namespace.is_empty() {
        return Ok(Vec::new());
    }
    let listed = list_objects(store, LIMIT_RANGES, namespace)?;
    Ok(listed.iter().filter_map(|object| object.to_typed::<LimitRange>().ok()).collect())
}

fn items(limit_range: &LimitRange) -> &[LimitRangeItem] {
    limit_range.spec.as_ref().map(|spec| spec.limits.as_slice()).unwrap_or_default()
}

/// `defaultContainerResourceRequirements`: the Container items' default requests and limits.
pub fn default_container_requirements(limit_range: &LimitRange) -> (ResourceList, ResourceList) {
    let mut requests = ResourceList::new();
    let mut limits = ResourceList::new();
    for item in items(limit_range).iter().filter(|item| item.type_ == "Container") {
        requests.extend(resource_list(item.default_request.as_ref()));
        limits.extend(resource_list(item.default.as_ref()));
    }
    (requests, limits)
}

/// `mergeContainerResources`: fills the container's missing requests and limits, returning
/// what it set as annotation phrases.
fn merge_container_resources(
    container: &mut Map<String, Value>,
    defaults: &(ResourceList, ResourceList),
    prefix: &str,
    annotations: &mut Vec<String>,
) {
    let name = container.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    let resources = container.entry("resources").or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(resources) = resources else { return };
    for (field, defaults, noun) in [("requests", &defaults.0, "request"), ("limits", &defaults.1, "limit")] {
        let mut set = Vec::new();
        for (resource, quantity) in defaults {
            let list = resources.entry(field).or_insert_with(|| Value::Object(Map::new()));
            if list.is_null() {
                *list = Value::Object(Map::new());
            }
            let Value::Object(list) = list else { continue };
            if !list.contains_key(resource) {
                list.insert(resource.clone(), Value::from(quantity.to_string()));
                set.push(resource.clone());
            }
        }
        if resources.get(field).is_some_and(|list| list.as_object().is_some_and(Map::is_empty)) {
            resources.remove(field);
        }
        if !set.is_empty() {
            set.sort();
            annotations.push(format!("{} {noun} for {prefix} {name}", set.join(", ")));
        }
    }
}

/// `mergePodResourceRequirements` (one LimitRange's defaults) on a pod object; the phrases are
/// recorded in [`LIMIT_RANGER_ANNOTATION`].
pub fn merge_pod_resource_requirements(pod: &mut Object, defaults: &(ResourceList, ResourceList)) {
    let mut annotations = Vec::new();
    let Some(Value::Object(spec)) = pod.fields.get_mut("spec") else { return };
    for (field, prefix) in [("containers", "container"), ("initContainers", "init container")] {
        let Some(Value::Array(containers)) = spec.get_mut(field) else { continue };
        for container in containers.iter_mut().filter_map(Value::as_object_mut) {
            merge_container_resources(container, defaults, prefix, &mut annotations);
        }
    }
    if !annotations.is_empty() {
        let value = format!("LimitRanger plugin set: {}", annotations.join("; "));
        pod.metadata.annotations.get_or_insert_with(Default::default).insert(LIMIT_RANGER_ANNOTATION.into(), value);
    }
}

/// Fills a new pod's defaults from every LimitRange of its namespace.
pub(super) fn admit<S: Store>(store: &S, object: &mut Object) -> Result<(), ApiError> {
    if object.kind != "Pod" {
        return Ok(());
    }
    for limit_range in limit_ranges(store, object.namespace())? {
        let defaults = default_container_requirements(&limit_range);
        if !defaults.0.is_empty() || !defaults.1.is_empty() {
            merge_pod_resource_requirements(object, &defaults);
        }
    }
    Ok(())
}

/// `requestLimitEnforcedValues`: the three in thousandths when they all fit, else in units.
fn enforced_values(request: Option<Quantity>, limit: Option<Quantity>, enforced: Quantity) -> (i64, i64, i64) {
    let (request, limit) = (request.unwrap_or(Quantity::ZERO), limit.unwrap_or(Quantity::ZERO));
    if [request, limit, enforced].iter().all(|quantity| quantity.value() <= MAX_MILLI_VALUE) {
        (request.milli_value(), limit.milli_value(), enforced.milli_value())
    } else {
        (request.value(), limit.value(), enforced.value())
    }
}

/// `minConstraint`.
fn min_constraint(
    kind: &str,
    resource: &str,
    enforced: Quantity,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let (request, limit) = (requests.get(resource).copied(), limits.get(resource).copied());
    let (observed_request, observed_limit, enforced_value) = enforced_values(request, limit, enforced);
    let Some(request) = request else {
        return Some(format!("minimum {resource} usage per {kind} is {enforced}.  No request is specified"));
    };
    if observed_request < enforced_value {
        return Some(format!("minimum {resource} usage per {kind} is {enforced}, but request is {request}"));
    }
    match limit {
        Some(limit) if observed_limit < enforced_value => {
            Some(format!("minimum {resource} usage per {kind} is {enforced}, but limit is {limit}"))
        }
        _ => None,
    }
}

/// `maxConstraint`.
fn max_constraint(
    kind: &str,
    resource: &str,
    enforced: Quantity,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let (request, limit) = (requests.get(resource).copied(), limits.get(resource).copied());
    let (observed_request, observed_limit, enforced_value) = enforced_values(request, limit, enforced);
    let Some(limit) = limit else {
        return Some(format!("maximum {resource} usage per {kind} is {enforced}.  No limit is specified"));
    };
    if observed_limit > enforced_value {
        return Some(format!("maximum {resource} usage per {kind} is {enforced}, but limit is {limit}"));
    }
    match request {
        Some(request) if observed_request > enforced_value => {
            Some(format!("maximum {resource} usage per {kind} is {enforced}, but request is {request}"))
        }
        _ => None,
    }
}

/// `maxRequestConstraint`, for claims, which have no limits.
fn max_request_constraint(kind: &str, resource: &str, enforced: Quantity, requests: &ResourceList) -> Option<String> {
    let request = requests.get(resource).copied();
    let (observed_request, _, enforced_value) = enforced_values(request, None, enforced);
    let Some(request) = request else {
        return Some(format!("maximum {resource} usage per {kind} is {enforced}.  No request is specified"));
    };
    (observed_request > enforced_value)
        .then(|| format!("maximum {resource} usage per {kind} is {enforced}, but request is {request}"))
}

/// `limitRequestRatioConstraint`.
fn ratio_constraint(
    kind: &str,
    resource: &str,
    enforced: Quantity,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let (request, limit) = (requests.get(resource).copied(), limits.get(resource).copied());
    let (observed_request, observed_limit, _) = enforced_values(request, limit, enforced);
    if request.is_none() || observed_request == 0 {
        return Some(format!(
            "{resource} max limit to request ratio per {kind} is {enforced}, but no request is specified or request is 0"
        ));
    }
    if limit.is_none() || observed_limit == 0 {
        return Some(format!(
            "{resource} max limit to request ratio per {kind} is {enforced}, but no limit is specified or limit is 0"
        ));
    }
    let displayed_ratio = observed_limit as f64 / observed_request as f64;
    let (observed_ratio, max_ratio) = if enforced.value() <= MAX_MILLI_VALUE {
        (displayed_ratio * 1000.0, enforced.milli_value() as f64)
    } else {
        (displayed_ratio, enforced.value() as f64)
    };
    (observed_ratio > max_ratio).then(|| {
        format!(
            "{resource} max limit to request ratio per {kind} is {enforced}, but provided ratio is {displayed_ratio:.6}"
        )
    })
}

/// Every min, max and ratio of one item against one set of requests and limits.
fn check_item(item: &LimitRangeItem, requests: &ResourceList, limits: &ResourceList, errors: &mut Vec<String>) {
    let kind = item.type_.as_str();
    for (resource, enforced) in resource_list(item.min.as_ref()) {
        errors.extend(min_constraint(kind, &resource, enforced, requests, limits));
    }
    for (resource, enforced) in resource_list(item.max.as_ref()) {
        errors.extend(max_constraint(kind, &resource, enforced, requests, limits));
    }
    for (resource, enforced) in resource_list(item.max_limit_request_ratio.as_ref()) {
        errors.extend(ratio_constraint(kind, &resource, enforced, requests, limits));
    }
}

fn container_lists(container: &Value) -> (ResourceList, ResourceList) {
    let read = |field: &str| -> ResourceList {
        let wire = container.get("resources").and_then(|resources| resources.get(field)).cloned();
        let wire: Option<BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>> =
            wire.and_then(|wire| serde_json::from_value(wire).ok());
        resource_list(wire.as_ref())
    };
    (read("requests"), read("limits"))
}

/// `PodValidateLimitFunc`: every container (init containers too) against Container items, and
/// the pod's totals (with its overhead) against Pod items.
pub fn pod_limit_errors(limit_range: &LimitRange, pod: &Object) -> Vec<String> {
    let mut errors = Vec::new();
    let spec = pod.field("spec");
    for item in items(limit_range) {
        match item.type_.as_str() {
            "Container" => {
                for field in ["containers", "initContainers"] {
                    let containers = spec.and_then(|spec| spec.get(field)).and_then(Value::as_array);
                    for container in containers.into_iter().flatten() {
                        let (requests, limits) = container_lists(container);
                        check_item(item, &requests, &limits, &mut errors);
                    }
                }
            }
            "Pod" => {
                let (mut requests, limits) = pod_requests_and_limits(pod);
                let overhead = spec.and_then(|spec| spec.get("overhead")).cloned();
                let overhead: Option<BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>> =
                    overhead.and_then(|overhead| serde_json::from_value(overhead).ok());
                for (resource, quantity) in resource_list(overhead.as_ref()) {
                    let total = requests.entry(resource).or_insert(Quantity::ZERO);
                    *total = total.checked_add(quantity).unwrap_or(*total);
                }
                check_item(item, &requests, &limits, &mut errors);
            }
            _ => {}
        }
    }
    errors
}

/// `PersistentVolumeClaimValidateLimitFunc`: the claim's storage request against
/// PersistentVolumeClaim items.
pub fn claim_limit_errors(limit_range: &LimitRange, claim: &Object) -> Vec<String> {
    let mut errors = Vec::new();
    let requests = claim.field("spec").map(|spec| container_lists(spec).0).unwrap_or_default();
    for item in items(limit_range).iter().filter(|item| item.type_ == "PersistentVolumeClaim") {
        for (resource, enforced) in resource_list(item.min.as_ref()) {
            errors.extend(min_constraint(&item.type_, &resource, enforced, &requests, &ResourceList::new()));
        }
        for (resource, enforced) in resource_list(item.max.as_ref()) {
            errors.extend(max_request_constraint(&item.type_, &resource, enforced, &requests));
        }
    }
    errors
}

/// Go's `utilerrors.NewAggregate(…).Error()`: one message alone, several in brackets.
fn aggregate(errors: &[String]) -> String {
    match errors {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// Refuses a pod (on create) or a claim that breaks a LimitRange of its namespace.
pub(super) fn validate<S: Store>(
    store: &S,
    path: &ResourcePath,
    object: &Object,
    update: bool,
) -> Result<(), ApiError> {
    let check: fn(&LimitRange, &Object) -> Vec<String> = match object.kind.as_str() {
        "Pod" if !update => pod_limit_errors,
        "PersistentVolumeClaim" => claim_limit_errors,
        _ => return Ok(()),
    };
    let errors: Vec<String> =
        limit_ranges(store, object.namespace())?.iter().flat_map(|limit_range| check(limit_range, object)).collect();
    if errors.is_empty() { Ok(()) } else { Err(forbidden(path, object, aggregate(&errors))) }
}

#[cfg(test)]
mod tests;
