//! The `scale`, `binding` and `eviction` subresources: what `kubectl scale`, the scheduler and
//! `kubectl drain` call.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::body::parse_body;
use super::path::ResourcePath;
use super::request::{ApiRequest, ApiResponse, Method};
use super::server::ApiServer;
use super::status::{ApiError, StatusCause, success_status};
use super::write::patch_error;
use crate::object::Object;
use crate::object::kinds::GroupResource;
use crate::selector::label::LabelSelector;
use crate::store::objects::{self, DeleteOptions, DeletePlan};
use crate::store::{ListOptions, ObjectKey, Preconditions, Store, Write};

const PODS: GroupResource = GroupResource { group: "", resource: "pods" };
const DISRUPTION_BUDGETS: GroupResource = GroupResource { group: "policy", resource: "poddisruptionbudgets" };

/// The message of a refused eviction, in Kubernetes' words.
pub const EVICTION_REFUSED_MESSAGE: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

/// Seconds Kubernetes asks an evicting client to wait while a budget is still being processed
/// (its eviction REST's `NewTooManyRequests(…, 10)`).
pub const EVICTION_RETRY_SECONDS: u32 = 10;

/// Most evictions a budget may have recorded and not yet seen confirmed by the disruption
/// controller before further evictions are refused (Kubernetes' `MaxDisruptedPodSize`).
const DISRUPTED_PODS_MAX: usize = 2000;

impl<S: Store> ApiServer<S> {
    /// GET of `…/{name}/scale`: an `autoscaling/v1` Scale view of `spec.replicas`.
    pub(super) fn get_scale(&self, path: &ResourcePath, name: &str) -> Result<ApiResponse, ApiError> {
        let stored = self.stored(path, name)?;
        Ok(ApiResponse::json(200, scale_of(&stored)))
    }

    /// PUT and PATCH of `…/{name}/scale`: writes `spec.replicas` through the Scale view.
    pub(super) fn scale(
        &mut self,
        request: &ApiRequest,
        path: &ResourcePath,
        name: &str,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let stored = self.stored(path, name)?;
        let current = scale_of(&stored);
        let desired = match request.method {
            Method::Put => parse_body(request)?,
            _ => {
                let content_type = request.header("content-type").unwrap_or("");
                super::patch::apply_patch(&current, &request.body, content_type, "Scale").map_err(patch_error)?
            }
        };
        let replicas = desired
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .ok_or_else(|| ApiError::bad_request("Scale.spec.replicas must be an integer"))?;
        let mut updated = Object::clone(&stored);
        if let Some(version) = desired.pointer("/metadata/resourceVersion").and_then(Value::as_str) {
            updated.metadata.resource_version = Some(version.to_string());
        }
        let spec = updated.fields.entry("spec").or_insert_with(|| json!({}));
        spec["replicas"] = replicas.into();
        let path_main = ResourcePath { subresource: None, ..path.clone() };
        let dry_run = super::write::is_dry_run(request)?;
        let options_kind = if request.method == Method::Put { "UpdateOptions" } else { "PatchOptions" };
        let writer = super::write::writer_of(request, path, options_kind, false)?;
        let (stored, _) = self.update_object(&path_main, name, updated, dry_run, Some(&writer), now)?;
        Ok(ApiResponse::json(200, scale_of(&stored)))
    }

    /// `POST /api/v1/namespaces/{ns}/bindings`: the binding names the pod in its metadata.
    pub(super) fn bind_from_collection(
        &mut self,
        request: &ApiRequest,
        path: &ResourcePath,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let body = parse_body(request)?;
        let name = body.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
        self.bind(request, path, &name, now)
    }

    /// `POST …/pods/{name}/binding`: assigns a pod to a node, once.
    pub(super) fn bind(
        &mut self,
        request: &ApiRequest,
        path: &ResourcePath,
        name: &str,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let body = parse_body(request)?;
        let node = body.pointer("/target/name").and_then(Value::as_str).unwrap_or_default();
        if node.is_empty() {
            return Err(ApiError::invalid(
                path.resource,
                name,
                vec![super::admission::forbidden_field(&["target", "name"], "must be set")],
            ));
        }
        let key = ObjectKey::new(PODS, path.namespace.as_deref().unwrap_or(""), name);
        let pod = self.store.get(&key)?;
        let conflict = |detail: String| ApiError::Conflict {
            group: String::new(),
            resource: "pods/binding".into(),
            name: name.to_string(),
            detail,
        };
        if pod.metadata.deletion_timestamp.is_some() {
            return Err(conflict(format!("pod {name} is being deleted, cannot be assigned to a host")));
        }
        let assigned = pod.field("spec").and_then(|spec| spec.get("nodeName")).and_then(Value::as_str).unwrap_or("");
        if !assigned.is_empty() {
            return Err(conflict(format!("pod {name} is already assigned to node {assigned:?}")));
        }
        let mut bound = Object::clone(&pod);
        bound.fields.entry("spec").or_insert_with(|| json!({}))["nodeName"] = node.into();
        set_pod_scheduled(&mut bound, now);
        if !super::write::is_dry_run(request)? {
            self.store.update(PODS, bound)?;
        }
        Ok(ApiResponse::json(201, success_status(None)))
    }

    /// `POST …/pods/{name}/eviction`: deletes the pod unless a PodDisruptionBudget forbids it.
    pub(super) fn evict(
        &mut self,
        request: &ApiRequest,
        path: &ResourcePath,
        name: &str,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let body = parse_body(request)?;
        let namespace = path.namespace.clone().unwrap_or_default();
        let key = ObjectKey::new(PODS, &namespace, name);
        let pod = self.store.get(&key)?;
        let delete_options = body.get("deleteOptions");
        let text = |pointer: &str| delete_options.and_then(|options| options.pointer(pointer)).and_then(Value::as_str);
        let preconditions = Preconditions {
            uid: text("/preconditions/uid").map(str::to_string),
            resource_version: text("/preconditions/resourceVersion").map(str::to_string),
        };
        preconditions.check(&key, &pod)?;
        let dry_run = super::write::is_dry_run(request)?
            || delete_options
                .and_then(|options| options.get("dryRun"))
                .and_then(Value::as_array)
                .is_some_and(|values| values.iter().any(|value| value == "All"));
        let budget =
            if can_ignore_disruption_budgets(&pod) { None } else { self.take_disruption(&pod, &namespace, now)? };
        if dry_run {
            return Ok(ApiResponse::json(201, success_status(None)));
        }
        let grace = delete_options.and_then(|options| options.get("gracePeriodSeconds")).and_then(Value::as_i64);
        let options = DeleteOptions {
            grace_period_seconds: Some(super::delete::grace_period_seconds(&pod, grace)),
            preconditions,
            ..DeleteOptions::default()
        };
        // The budget's disruption and the pod's deletion are one transaction: no crash can
        // spend the budget without deleting the pod, or delete the pod without spending it.
        let mut writes: Vec<Write> =
            budget.into_iter().map(|object| Write::Update { resource: DISRUPTION_BUDGETS, object }).collect();
        match objects::plan_delete(&pod, &key, &options, now)? {
            DeletePlan::Remove(preconditions) => writes.push(Write::Delete { key, preconditions }),
            DeletePlan::Mark(object) => writes.push(Write::Update { resource: PODS, object: *object }),
            DeletePlan::Unchanged => {}
        }
        self.store.transaction(writes)?;
        Ok(ApiResponse::json(201, success_status(None)))
    }

    /// Checks the pod's one PodDisruptionBudget, as Kubernetes' eviction `checkAndDecrement`
    /// does, and returns the budget with the disruption recorded in its status, to be written
    /// with the pod's deletion (none when no budget covers the pod).
    fn take_disruption(&self, pod: &Object, namespace: &str, now: Timestamp) -> Result<Option<Object>, ApiError> {
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        let budgets = self.store.list(DISRUPTION_BUDGETS, &ListOptions::in_namespace(namespace))?;
        let matching: Vec<_> = budgets
            .items
            .iter()
            .filter(|budget| {
                let selector = budget.field("spec").and_then(|spec| spec.get("selector")).cloned();
                let selector = selector.and_then(|selector| serde_json::from_value(selector).ok());
                // policy/v1: an empty selector matches every pod, a missing one none.
                LabelSelector::from_label_selector(selector.as_ref()).is_ok_and(|selector| selector.matches(&labels))
            })
            .collect();
        let budget = match matching.as_slice() {
            [] => return Ok(None),
            [budget] => budget,
            _ => {
                return Err(ApiError::Internal {
                    message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
                        .into(),
                });
            }
        };
        let status = budget.field("status").cloned().unwrap_or_else(|| json!({}));
        let number = |field: &str| status.get(field).and_then(Value::as_i64).unwrap_or(0);
        let refuse = |message: String, retry_after_seconds: u32| ApiError::TooManyRequests {
            message: EVICTION_REFUSED_MESSAGE.into(),
            causes: vec![StatusCause::new("DisruptionBudget", message)],
            retry_after_seconds,
        };
        if number("observedGeneration") < budget.metadata.generation.unwrap_or(0) {
            let message = format!("The disruption budget {} is still being processed by the server.", budget.name());
            return Err(refuse(message, EVICTION_RETRY_SECONDS));
        }
        let forbidden = |detail: &str| ApiError::Forbidden {
            group: "policy".into(),
            resource: "poddisruptionbudget".into(),
            name: budget.name().to_string(),
            detail: detail.to_string(),
            cause: None,
        };
        if number("disruptionsAllowed") < 0 {
            return Err(forbidden("pdb disruptions allowed is negative"));
        }
        let disrupted = status.get("disruptedPods").and_then(Value::as_object).map_or(0, serde_json::Map::len);
        if disrupted > DISRUPTED_PODS_MAX {
            return Err(forbidden("DisruptedPods map too big - too many evictions not confirmed by PDB controller"));
        }
        if number("disruptionsAllowed") == 0 {
            return Err(refuse(disruption_denied_message(budget, &status), 0));
        }
        let mut updated = Object::clone(budget);
        let status = updated.fields.entry("status").or_insert_with(|| json!({}));
        status["disruptionsAllowed"] = (number("disruptionsAllowed") - 1).into();
        let disrupted = status.as_object_mut().map(|status| status.entry("disruptedPods").or_insert_with(|| json!({})));
        if let Some(Value::Object(disrupted)) = disrupted {
            disrupted.insert(pod.name().to_string(), json!(whole_seconds(now).to_string()));
        }
        Ok(Some(updated))
    }
}

/// Why a budget with no disruption allowed refuses, in the words of Kubernetes'
/// `disruptionDeniedMessage`: a failed sync first (its counts are not to be trusted), then too
/// few healthy pods, then the DisruptionAllowed condition's reason.
fn disruption_denied_message(budget: &Object, status: &Value) -> String {
    let name = budget.name();
    let number = |field: &str| status.get(field).and_then(Value::as_i64).unwrap_or(0);
    let condition = status.get("conditions").and_then(Value::as_array).and_then(|conditions| {
        conditions.iter().find(|condition| condition.get("type").and_then(Value::as_str) == Some("DisruptionAllowed"))
    });
    let field = |name: &str| condition.and_then(|condition| condition.get(name)).and_then(Value::as_str).unwrap_or("");
    let explained = field("status") == "False" && !field("message").is_empty();
    if explained && field("reason") == "SyncFailed" {
        return format!(
            "The disruption budget {name} does not allow evicting pods currently because it failed sync: {}",
            field("message")
        );
    }
    if number("currentHealthy") <= number("desiredHealthy") {
        return format!(
            "The disruption budget {name} needs {} healthy pods and has {} currently",
            number("desiredHealthy"),
            number("currentHealthy")
        );
    }
    if explained {
        return format!(
            "The disruption budget {name} does not allow evicting pods currently ({}): {}",
            field("reason"),
            field("message")
        );
    }
    format!("The disruption budget {name} does not allow evicting pods currently")
}

/// Pods that are not running (pending, finished or already terminating) are evicted without
/// consulting budgets, as Kubernetes does.
fn can_ignore_disruption_budgets(pod: &Object) -> bool {
    let phase = pod.field("status").and_then(|status| status.get("phase")).and_then(Value::as_str).unwrap_or("");
    pod.metadata.deletion_timestamp.is_some() || matches!(phase, "Succeeded" | "Failed" | "Pending" | "")
}

fn whole_seconds(now: Timestamp) -> Timestamp {
    Timestamp::from_second(now.as_second()).unwrap_or(now)
}

/// Sets the pod's PodScheduled condition to True, as binding does.
fn set_pod_scheduled(pod: &mut Object, now: Timestamp) {
    let status = pod.fields.entry("status").or_insert_with(|| json!({}));
    if !status.is_object() {
        *status = json!({});
    }
    let conditions = status.as_object_mut().map(|status| status.entry("conditions").or_insert_with(|| json!([])));
    let Some(Value::Array(conditions)) = conditions else { return };
    conditions.retain(|condition| condition.get("type").and_then(Value::as_str) != Some("PodScheduled"));
    conditions.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null,
        "lastTransitionTime": whole_seconds(now).to_string()}));
}

/// The `autoscaling/v1` Scale of a scalable object (also what the HPA controller reads from its
/// cache).
pub(crate) fn scale_of(object: &Object) -> Value {
    let spec = object.field("spec");
    let replicas = spec.and_then(|spec| spec.get("replicas")).and_then(Value::as_i64).unwrap_or(1);
    let status_replicas =
        object.field("status").and_then(|status| status.get("replicas")).and_then(Value::as_i64).unwrap_or(0);
    let selector = spec.and_then(|spec| spec.get("selector")).map(selector_string).unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": object.name(),
            "namespace": object.namespace(),
            "uid": object.metadata.uid,
            "resourceVersion": object.resource_version(),
            "creationTimestamp": object.metadata.creation_timestamp,
        },
        "spec": {"replicas": replicas},
        "status": {"replicas": status_replicas, "selector": selector},
    })
}

/// A selector in string form: a LabelSelector (`matchLabels`/`matchExpressions`) or, for
/// ReplicationControllers, a plain label map.
fn selector_string(selector: &Value) -> String {
    let is_label_selector = selector.get("matchLabels").is_some() || selector.get("matchExpressions").is_some();
    if is_label_selector {
        let typed = serde_json::from_value(selector.clone()).ok();
        return LabelSelector::from_label_selector(typed.as_ref())
            .map(|selector| selector.to_string())
            .unwrap_or_default();
    }
    let labels = serde_json::from_value(selector.clone()).unwrap_or_default();
    LabelSelector::from_set(&labels).to_string()
}
