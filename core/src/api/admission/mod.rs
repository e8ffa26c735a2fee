//! What the API server does to an object between decoding and storing it: namespace lifecycle
//! checks, conversion to the storage version, defaulting, the admission plugins (one file each,
//! run in kube-apiserver's order by [`chain`]), the kind's initial status on create (Kubernetes'
//! `PrepareForCreate`), and validation.

mod chain;
mod default_ingress_class;
mod default_toleration_seconds;
mod limit_ranger;
mod pod_security;
mod priority;
mod runtime_class;
mod service_account;
mod taint_nodes_by_condition;

pub use default_toleration_seconds::DEFAULT_TOLERATION_SECONDS;
pub use priority::bootstrap_priority_classes;

pub mod default_storage_class;
pub mod storage_object_in_use_protection;

use k8s_openapi::api::batch::v1::Job;
use serde_json::{Value, json};

use super::conversion::to_storage;
use super::path::ResourcePath;
use super::status::ApiError;
use crate::object::defaults::apply_defaults;
use crate::object::defaults::batch::generate_job_selector;
use crate::object::kinds::{self, GroupResource};
use crate::object::validation::{validate_create, validate_update};
use crate::object::{FieldError, FieldPath, Object, pod_conditions};
use crate::store::{ListOptions, ObjectKey, Store};

/// The finalizer Kubernetes puts in `spec.finalizers` of every namespace, removed by the
/// namespace controller once the namespace is empty.
pub const NAMESPACE_FINALIZER: &str = "kubernetes";

const NAMESPACES: GroupResource = GroupResource { group: "", resource: "namespaces" };

/// Puts the object in the path's namespace, refusing a body that names another one.
pub fn settle_namespace(path: &ResourcePath, object: &mut Object) -> Result<(), ApiError> {
    let Some(namespace) = path.namespace.as_deref() else {
        if path.resource.is_namespaced() {
            return Err(ApiError::bad_request("a namespaced object must be created in a namespace"));
        }
        object.metadata.namespace = None;
        return Ok(());
    };
    match object.metadata.namespace.as_deref() {
        None | Some("") => object.metadata.namespace = Some(namespace.to_string()),
        Some(given) if given == namespace => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    Ok(())
}

/// Refuses new objects in a namespace that does not exist (404) or is being deleted (403), as
/// Kubernetes' NamespaceLifecycle admission does.
pub fn check_namespace_accepts_new_objects<S: Store>(
    store: &S,
    path: &ResourcePath,
    name: &str,
) -> Result<(), ApiError> {
    let Some(namespace) = path.namespace.as_deref() else { return Ok(()) };
    let key = ObjectKey::new(NAMESPACES, "", namespace);
    // Only a missing namespace is a 404; a store that cannot answer is its own error (504/500).
    let stored = store.get(&key)?;
    if stored.metadata.deletion_timestamp.is_some() {
        return Err(ApiError::Forbidden {
            group: path.resource.group.into(),
            resource: path.resource.plural.into(),
            name: name.to_string(),
            detail: format!("unable to create new content in namespace {namespace} because it is being terminated"),
            cause: Some(Box::new(super::status::StatusCause {
                reason: "NamespaceTerminating".into(),
                message: format!("namespace {namespace} is being terminated"),
                field: "metadata.namespace".into(),
            })),
        });
    }
    Ok(())
}

/// Converts an object about to be created (decoded, and so defaulted, by
/// [`decode_object`](super::body::decode_object)) to its storage version, defaulting it there
/// when the conversion changed its version, before the field manager records the writer's
/// fields. `uid` is the uid the store will give the object: Kubernetes fills it in before
/// `PrepareForCreate`, and a Job's generated selector needs it.
pub fn default_create(path: &ResourcePath, object: Object, uid: &str) -> Result<Object, ApiError> {
    let mut object = to_storage_defaulted(path, object)?;
    object.metadata.resource_version = None;
    object.metadata.uid = Some(uid.to_string());
    Ok(object)
}

/// Converts a decoded (and so defaulted) object to its storage version, and defaults it in that
/// version when the conversion changed it.
fn to_storage_defaulted(path: &ResourcePath, object: Object) -> Result<Object, ApiError> {
    let api_version = object.api_version.clone();
    let mut object = to_storage(path.resource, object)?;
    if object.api_version != api_version {
        apply_defaults(&mut object).map_err(|error| ApiError::bad_request(error.to_string()))?;
    }
    Ok(object)
}

/// Runs the mutating admission plugins in kube-apiserver's order, sets the initial status, runs
/// the kind's create-time preparation, validates a defaulted object about to be created, then
/// runs the validating admission plugins (ResourceQuota, last, runs in the writer). What these
/// change belongs to no manager, as in Kubernetes, where they run after the field manager.
/// Returns the object and the warnings the plugins answer with.
pub fn admit_create<S: Store>(
    store: &S,
    path: &ResourcePath,
    mut object: Object,
) -> Result<(Object, Vec<String>), ApiError> {
    chain::mutate_create(store, path, &mut object)?;
    set_initial_status(&mut object);
    prepare_job(&mut object)?;
    let errors = validate_create(&object);
    if !errors.is_empty() {
        return Err(ApiError::invalid(path.resource, &display_name(&object), errors));
    }
    let mut warnings = Vec::new();
    chain::validate_create(store, path, &object, &mut warnings)?;
    Ok((object, warnings))
}

/// Converts (and, when that changed its version, defaults) and validates a decoded object about
/// to replace `old`.
pub fn prepare_update(path: &ResourcePath, old: &Object, object: Object, name: &str) -> Result<Object, ApiError> {
    if object.name() != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            object.name()
        )));
    }
    let mut object = to_storage_defaulted(path, object)?;
    if object.kind == "Namespace" && object.field("spec").is_none() {
        object.fields.insert("spec".into(), old.field("spec").cloned().unwrap_or(Value::Null));
    }
    if path.subresource.is_none() {
        chain::mutate_update(old, &mut object);
    }
    let errors = validate_update(old, &object);
    if !errors.is_empty() {
        return Err(ApiError::invalid(path.resource, name, errors));
    }
    Ok(object)
}

/// Runs the validating admission plugins on an update of the object itself (not a
/// subresource), after validation; returns their warnings.
pub fn admit_update<S: Store>(
    store: &S,
    path: &ResourcePath,
    old: &Object,
    object: &Object,
) -> Result<Vec<String>, ApiError> {
    let mut warnings = Vec::new();
    if path.subresource.is_none() {
        chain::validate_update(store, path, old, object, &mut warnings)?;
    }
    Ok(warnings)
}

/// An admission plugin's refusal (`admission.NewForbidden`): `pods "x" is forbidden: …`.
fn forbidden(path: &ResourcePath, object: &Object, detail: impl Into<String>) -> ApiError {
    ApiError::Forbidden {
        group: path.resource.group.into(),
        resource: path.resource.plural.into(),
        name: display_name(object),
        detail: detail.into(),
        cause: None,
    }
}

/// The objects of a resource in one namespace (every namespace for `""`), as a plugin's lister
/// reads them; a store that cannot answer fails the request, as Kubernetes fails closed.
fn list_objects<S: Store>(
    store: &S,
    resource: GroupResource,
    namespace: &str,
) -> Result<Vec<std::sync::Arc<Object>>, ApiError> {
    let options = if namespace.is_empty() { ListOptions::all() } else { ListOptions::in_namespace(namespace) };
    Ok(store.list(resource, &options)?.items)
}

/// One object by name, or `None` when it does not exist.
fn get_object<S: Store>(
    store: &S,
    resource: GroupResource,
    namespace: &str,
    name: &str,
) -> Result<Option<std::sync::Arc<Object>>, ApiError> {
    match store.get(&ObjectKey::new(resource, namespace, name)) {
        Ok(object) => Ok(Some(object)),
        Err(crate::store::StoreError::NotFound { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// The Job registry strategy's `PrepareForCreate`: generate the selector and template labels
/// from the Job's uid unless it asks for `manualSelector: true`.
fn prepare_job(object: &mut Object) -> Result<(), ApiError> {
    if object.api_version != "batch/v1" || object.kind != "Job" {
        return Ok(());
    }
    let mut job: Job = object.to_typed().map_err(|error| ApiError::bad_request(error.to_string()))?;
    generate_job_selector(&mut job);
    let prepared = Object::from_typed(&job).map_err(|error| ApiError::bad_request(error.to_string()))?;
    *object = prepared;
    Ok(())
}

/// The name admission errors use: the name, or the generateName prefix before one is chosen.
pub(super) fn display_name(object: &Object) -> String {
    match (object.name(), object.metadata.generate_name.as_deref()) {
        ("", Some(prefix)) => prefix.to_string(),
        (name, _) => name.to_string(),
    }
}

/// The status an object starts with, as each kind's `PrepareForCreate` sets it: clients do not
/// get to write status on create (nodes excepted, whose agents report it).
fn set_initial_status(object: &mut Object) {
    let has_status =
        kinds::storage_version(kind_resource(object)).is_some_and(|resource| resource.subresources.contains(&"status"));
    let initial = match object.kind.as_str() {
        "Node" => return,
        "Pod" => pod_initial_status(object),
        "Namespace" => {
            set_namespace_finalizer(object);
            json!({"phase": "Active"})
        }
        "PersistentVolume" | "PersistentVolumeClaim" => json!({"phase": "Pending"}),
        "Service" => json!({"loadBalancer": {}}),
        _ if has_status => json!({}),
        _ => return,
    };
    object.fields.insert("status".into(), initial);
}

/// A Pod's status on create: Pending with its QoS class, and `PodScheduled=False` with reason
/// `SchedulingGated` while it has scheduling gates (`applySchedulingGatedCondition`), so
/// `kubectl get pods` shows `SchedulingGated` before any scheduler has seen it.
fn pod_initial_status(object: &Object) -> Value {
    let mut status = json!({"phase": "Pending", "qosClass": crate::object::qos::pod_qos_class(object)});
    let gated = object
        .fields
        .get("spec")
        .and_then(|spec| spec.get("schedulingGates"))
        .and_then(Value::as_array)
        .is_some_and(|gates| !gates.is_empty());
    if gated {
        status["conditions"] = json!([{
            "type": pod_conditions::POD_SCHEDULED,
            "status": "False",
            "reason": pod_conditions::REASON_SCHEDULING_GATED,
            "message": pod_conditions::MESSAGE_SCHEDULING_GATED,
        }]);
    }
    status
}

fn kind_resource(object: &Object) -> GroupResource {
    kinds::by_api_version_kind(&object.api_version, &object.kind)
        .map_or(NAMESPACES, |resource| resource.group_resource())
}

fn set_namespace_finalizer(object: &mut Object) {
    let spec = object.fields.entry("spec").or_insert_with(|| json!({}));
    if let Value::Object(spec) = spec {
        spec.entry("finalizers").or_insert_with(|| json!([NAMESPACE_FINALIZER]));
    }
}

/// A field error for the one field a request may not change, for subresource handlers.
pub fn forbidden_field(path: &[&str], detail: &str) -> FieldError {
    let mut field = FieldPath::root();
    for segment in path {
        field = field.child(segment);
    }
    FieldError::forbidden(&field, detail)
}

#[cfg(test)]
mod job_tests {
    //! A Job's selector is generated on create from the uid it is stored with, as Kubernetes'
    //! Job strategy does (`TestJobStrategy_PrepareForCreate`, `TestJobStrategy_Validate` in
    //! `pkg/registry/batch/job/strategy_test.go`).

    use serde_json::{Value, json};

    use crate::api::{ApiRequest, ApiServer, Method};
    use crate::store::MemoryStore;

    fn create_job(spec_changes: Value) -> (u16, Value) {
        let now = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut server = ApiServer::new(MemoryStore::new(), 7);
        server.bootstrap(now).unwrap();
        let mut job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
            "spec": {"template": {"metadata": {"labels": {"app": "pi"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl"}]}}}});
        for (key, value) in spec_changes.as_object().unwrap() {
            job["spec"][key] = value.clone();
        }
        let request = ApiRequest::new(Method::Post, "/apis/batch/v1/namespaces/default/jobs").with_json(&job);
        match server.handle(&request, now).into_json() {
            Ok(answer) => answer,
            Err(_) => panic!("unexpected watch"),
        }
    }

    #[test]
    fn a_created_job_selects_its_own_uid_and_labels_its_template() {
        let (status, body) = create_job(json!({}));
        assert_eq!(status, 201, "{body}");
        let uid = body["metadata"]["uid"].as_str().unwrap();
        assert_eq!(body["spec"]["selector"], json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}));
        assert_eq!(
            body["spec"]["template"]["metadata"]["labels"],
            json!({"app": "pi", "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi",
                "controller-uid": uid, "job-name": "pi"})
        );
    }

    #[test]
    fn a_manual_selector_is_kept_as_given() {
        let (status, body) = create_job(json!({"manualSelector": true, "selector": {"matchLabels": {"app": "pi"}}}));
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["spec"]["selector"], json!({"matchLabels": {"app": "pi"}}));
        assert_eq!(body["spec"]["template"]["metadata"]["labels"], json!({"app": "pi"}));
    }

    #[test]
    fn a_selector_without_manual_selector_is_refused_as_not_auto_generated() {
        let (status, body) = create_job(json!({"selector": {"matchLabels": {"app": "pi"}}}));
        assert_eq!(status, 422, "{body}");
        let causes = body["details"]["causes"].as_array().unwrap();
        assert_eq!(causes.len(), 1, "{body}");
        assert_eq!(causes[0]["field"], "spec.selector");
        assert!(causes[0]["message"].as_str().unwrap().ends_with("`selector` not auto-generated"), "{body}");
    }

    #[test]
    fn a_template_label_that_disagrees_with_the_uid_is_refused() {
        let (status, body) = create_job(json!({"template": {"metadata": {"labels": {"controller-uid": "mine"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl"}]}}}));
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["details"]["causes"][0]["field"], "spec.template.metadata.labels[controller-uid]");
    }
}

#[cfg(test)]
mod tests;
