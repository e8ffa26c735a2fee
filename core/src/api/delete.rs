//! delete and deletecollection: `DeleteOptions` (propagation policy, grace period,
//! preconditions), graceful deletion of pods, and the namespace lifecycle (a deleted namespace is
//! Terminating until the namespace controller has emptied it and finalized it).

use std::sync::Arc;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::conversion::from_storage_borrowed;
use super::path::ResourcePath;
use super::request::{ApiRequest, ApiResponse};
use super::server::{ApiServer, storage_resource};
use super::status::ApiError;
use crate::object::Object;
use crate::store::objects::{self, DeleteOptions, Outcome};
use crate::store::{ListOptions, ObjectKey, Preconditions, Store};

/// The finalizer that makes the garbage collector delete dependents first (`Foreground`).
pub const FOREGROUND_DELETION_FINALIZER: &str = "foregroundDeletion";
/// The finalizer that makes the garbage collector orphan dependents (`Orphan`).
pub const ORPHAN_FINALIZER: &str = "orphan";
/// A pod's grace period when its spec names none: 30 s (`DefaultTerminationGracePeriodSeconds`).
pub const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;

/// The parts of a `meta/v1` DeleteOptions body the server acts on.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteBody {
    grace_period_seconds: Option<i64>,
    propagation_policy: Option<String>,
    orphan_dependents: Option<bool>,
    preconditions: Option<PreconditionsBody>,
    dry_run: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PreconditionsBody {
    uid: Option<String>,
    resource_version: Option<String>,
}

/// How dependents are treated when their owner is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Propagation {
    Background,
    Foreground,
    Orphan,
}

struct ParsedDelete {
    options: DeleteOptions,
    /// The propagation the request asked for, if it asked (`propagationPolicy` or
    /// `orphanDependents`); otherwise the object's own finalizers decide.
    propagation: Option<Propagation>,
    /// The client said `orphanDependents: false`, the one case in which Kubernetes answers 202
    /// for a delete that only marked the object.
    asked_cascading: bool,
    dry_run: bool,
}

/// The HTTP status of a delete, as Kubernetes' `DeleteResource` handler chooses it: 200, unless
/// the object was only marked (graceful pod deletion, finalizers, a terminating namespace) and
/// the client explicitly set `orphanDependents=false`, which answers 202 Accepted.
fn delete_status_code(deleted: bool, asked_cascading: bool) -> u16 {
    if !deleted && asked_cascading { 202 } else { 200 }
}

fn bool_query(request: &ApiRequest, name: &str) -> Result<Option<bool>, ApiError> {
    match request.query_param(name) {
        None | Some("") => Ok(None),
        Some(text) => {
            text.parse::<bool>().map(Some).map_err(|_| ApiError::bad_request(format!("invalid {name}: {text:?}")))
        }
    }
}

fn parse_delete(request: &ApiRequest) -> Result<ParsedDelete, ApiError> {
    let body: DeleteBody = if request.body.iter().all(u8::is_ascii_whitespace) {
        DeleteBody::default()
    } else if super::body::media_type(request) == crate::object::protobuf::MEDIA_TYPE {
        // client-go's typed clients (kubectl drain's fallback DELETE) send DeleteOptions as protobuf.
        serde_json::from_value(super::body::parse_body(request)?)
            .map_err(|error| ApiError::bad_request(format!("error decoding DeleteOptions: {error}")))?
    } else {
        serde_json::from_slice(&request.body)
            .map_err(|error| ApiError::bad_request(format!("error decoding DeleteOptions: {error}")))?
    };
    let query_grace = match request.query_param("gracePeriodSeconds") {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<i64>().map_err(|_| ApiError::bad_request(format!("invalid gracePeriodSeconds: {text:?}")))?,
        ),
    };
    let grace = body.grace_period_seconds.or(query_grace);
    let policy = body.propagation_policy.or_else(|| request.query_param("propagationPolicy").map(str::to_string));
    let orphan_dependents = match body.orphan_dependents {
        Some(orphan) => Some(orphan),
        None => bool_query(request, "orphanDependents")?,
    };
    let propagation = match (policy.as_deref(), orphan_dependents) {
        (Some("Foreground"), _) => Some(Propagation::Foreground),
        (Some("Orphan"), _) | (None | Some(""), Some(true)) => Some(Propagation::Orphan),
        (Some("Background"), _) | (None | Some(""), Some(false)) => Some(Propagation::Background),
        (None | Some(""), None) => None,
        (Some(other), _) => {
            return Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
            )));
        }
    };
    let preconditions = body.preconditions.unwrap_or_default();
    let dry_run = body.dry_run.is_some_and(|values| values.iter().any(|value| value == "All"))
        || request.query_param("dryRun") == Some("All");
    Ok(ParsedDelete {
        options: DeleteOptions {
            preconditions: Preconditions { uid: preconditions.uid, resource_version: preconditions.resource_version },
            grace_period_seconds: grace,
            finalizers: None,
        },
        propagation,
        asked_cascading: orphan_dependents == Some(false),
        dry_run,
    })
}

/// The kinds whose delete answers with the deleted object (Kubernetes' registries with
/// `ReturnDeletedObject`); a delete of any other kind that removes the object at once answers
/// `Status{Success}` naming it.
const RETURNS_DELETED_OBJECT: [&str; 8] = [
    "pods",
    "services",
    "serviceaccounts",
    "namespaces",
    "persistentvolumes",
    "persistentvolumeclaims",
    "storageclasses",
    "customresourcedefinitions",
];

/// The finalizers an object carries after a delete, as Kubernetes'
/// `deletionFinalizersForGarbageCollection` computes them: `orphan` and `foregroundDeletion`
/// are taken off, and put back as the request's propagation says; a request that names none
/// keeps whichever of the two the object carries first (so a repeated plain delete does not
/// undo an earlier Foreground one).
fn deletion_finalizers(stored: &Object, propagation: Option<Propagation>) -> Vec<String> {
    let existing = stored.metadata.finalizers.clone().unwrap_or_default();
    let is_gc = |finalizer: &String| finalizer == ORPHAN_FINALIZER || finalizer == FOREGROUND_DELETION_FINALIZER;
    let propagation = propagation.or_else(|| {
        existing
            .iter()
            .find(|finalizer| is_gc(finalizer))
            .map(|finalizer| if finalizer == ORPHAN_FINALIZER { Propagation::Orphan } else { Propagation::Foreground })
    });
    let mut finalizers: Vec<String> = existing.iter().filter(|finalizer| !is_gc(finalizer)).cloned().collect();
    match propagation {
        Some(Propagation::Orphan) => finalizers.push(ORPHAN_FINALIZER.to_string()),
        Some(Propagation::Foreground) => finalizers.push(FOREGROUND_DELETION_FINALIZER.to_string()),
        Some(Propagation::Background) | None => {}
    }
    let mut before = existing.clone();
    let mut after = finalizers.clone();
    before.sort();
    after.sort();
    if before == after { existing } else { finalizers }
}

/// The grace period a delete really gets, as Kubernetes' `CheckGracefulDelete` decides it: only
/// pods are deleted gracefully (any other kind goes at once whatever the request asks); a pod
/// gets the requested period or its spec's `terminationGracePeriodSeconds`, none at all if it
/// never ran (no node) or has finished, and 1 s for a negative period.
pub(super) fn grace_period_seconds(object: &Object, requested: Option<i64>) -> i64 {
    if object.kind != "Pod" {
        return 0;
    }
    let spec = object.field("spec");
    let node = spec.and_then(|spec| spec.get("nodeName")).and_then(Value::as_str).unwrap_or("");
    let phase = object.field("status").and_then(|status| status.get("phase")).and_then(Value::as_str).unwrap_or("");
    if node.is_empty() || phase == "Succeeded" || phase == "Failed" {
        return 0;
    }
    let period = requested.unwrap_or_else(|| {
        spec.and_then(|spec| spec.get("terminationGracePeriodSeconds"))
            .and_then(Value::as_i64)
            .unwrap_or(DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS)
    });
    if period < 0 { 1 } else { period }
}

impl<S: Store> ApiServer<S> {
    pub(super) fn delete(
        &mut self,
        request: &ApiRequest,
        path: &ResourcePath,
        name: &str,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let parsed = parse_delete(request)?;
        let asked_cascading = parsed.asked_cascading;
        let (deleted, object) = self.delete_object(path, name, parsed, now)?;
        let status = delete_status_code(deleted, asked_cascading);
        let resource = storage_resource(path);
        if deleted && !RETURNS_DELETED_OBJECT.contains(&resource.plural) {
            let mut details = serde_json::Map::new();
            details.insert("name".into(), object.name().into());
            if !resource.group.is_empty() {
                details.insert("group".into(), resource.group.into());
            }
            details.insert("kind".into(), resource.plural.into());
            details.insert("uid".into(), object.metadata.uid.clone().unwrap_or_default().into());
            return Ok(ApiResponse::json(200, super::status::success_status(Some(Value::Object(details)))));
        }
        Ok(ApiResponse::json(status, from_storage_borrowed(path.resource, &object).to_value()))
    }

    /// Deletes or marks one object; answers whether it is gone (Kubernetes' `wasDeleted`) and
    /// the object as it was deleted or as it is now marked.
    fn delete_object(
        &mut self,
        path: &ResourcePath,
        name: &str,
        mut parsed: ParsedDelete,
        now: Timestamp,
    ) -> Result<(bool, Arc<Object>), ApiError> {
        let key = super::object_key(path, name);
        let stored = self.store.get(&key)?;
        parsed.options.preconditions.check(&key, &stored)?;
        let grace = grace_period_seconds(&stored, parsed.options.grace_period_seconds);
        let finalizers = deletion_finalizers(&stored, parsed.propagation);
        if parsed.dry_run {
            let is_immediate = grace == 0 && finalizers.is_empty() && stored.kind != "Namespace";
            return Ok((is_immediate, stored));
        }
        if stored.kind == "Namespace" {
            return self.delete_namespace(&key, &stored, now);
        }
        // One write: the garbage-collection finalizer and the deletion mark go together, so no
        // crash can leave one without the other, and a resourceVersion precondition is checked
        // against the object as the client saw it.
        parsed.options.grace_period_seconds = Some(grace);
        parsed.options.finalizers = Some(finalizers);
        let outcome = objects::delete(&mut self.store, &key, &parsed.options, now)?;
        self.release_if_deleted(&outcome);
        Ok(match outcome {
            Outcome::Deleted(object) | Outcome::Stored(object) => (true, object),
            Outcome::MarkedForDeletion(object) => (false, object),
        })
    }

    /// A namespace is marked Terminating; the namespace controller deletes its content and then
    /// finalizes it, which removes it.
    fn delete_namespace(
        &mut self,
        key: &ObjectKey,
        stored: &Object,
        now: Timestamp,
    ) -> Result<(bool, Arc<Object>), ApiError> {
        if spec_finalizers(stored).is_empty() && stored.metadata.finalizers.as_ref().is_none_or(Vec::is_empty) {
            return Ok((true, self.store.delete(key, &Preconditions::default())?));
        }
        if stored.metadata.deletion_timestamp.is_some() {
            return Ok((false, Arc::new(stored.clone())));
        }
        let mut marked = stored.clone();
        marked.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            Timestamp::from_second(now.as_second()).unwrap_or(now),
        ));
        // Kubernetes leaves deletionGracePeriodSeconds unset on a namespace, so that updates
        // (the namespace controller's status writes) do not delete it; only finalize does.
        marked.fields.insert("status".into(), json!({"phase": "Terminating"}));
        Ok((false, self.store.update(key.resource, marked)?))
    }

    /// `PUT /api/v1/namespaces/{name}/finalize`: sets `spec.finalizers`; a terminating namespace
    /// with none left is removed.
    pub(super) fn finalize_namespace(
        &mut self,
        request: &ApiRequest,
        path: &ResourcePath,
        name: &str,
        _now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let body = super::body::parse_body(request)?;
        let finalizers = body.pointer("/spec/finalizers").cloned().unwrap_or_else(|| json!([]));
        let key = super::object_key(path, name);
        let stored = self.store.get(&key)?;
        let mut updated = Object::clone(&stored);
        let spec = updated.fields.entry("spec").or_insert_with(|| json!({}));
        spec["finalizers"] = finalizers;
        let terminating = updated.metadata.deletion_timestamp.is_some();
        if terminating
            && spec_finalizers(&updated).is_empty()
            && updated.metadata.finalizers.as_ref().is_none_or(Vec::is_empty)
        {
            let deleted = self.store.delete(&key, &Preconditions::default())?;
            return Ok(ApiResponse::json(200, deleted.to_value()));
        }
        let stored = self.store.update(key.resource, updated)?;
        Ok(ApiResponse::json(200, stored.to_value()))
    }

    pub(super) fn delete_collection(
        &mut self,
        request: &ApiRequest,
        path: &ResourcePath,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        if path.resource.kind == "Namespace" {
            // Kubernetes serves no deletecollection for namespaces: each is finalized on its own.
            return Err(ApiError::MethodNotAllowed);
        }
        let selectors = super::read::selectors(request, path)?;
        let predicate = |object: &Object| selectors.matches(object);
        let options =
            ListOptions { namespace: path.namespace.as_deref(), predicate: Some(&predicate), ..ListOptions::all() };
        let listed = self.store.list(storage_resource(path).group_resource(), &options)?;
        let mut deleted = Vec::new();
        for item in listed.items {
            let parsed = parse_delete(request)?;
            let path = ResourcePath { namespace: item.metadata.namespace.clone(), ..path.clone() };
            match self.delete_object(&path, item.name(), parsed, now) {
                Ok((_, object)) => deleted.push(from_storage_borrowed(path.resource, &object).to_value()),
                Err(ApiError::NotFound { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(ApiResponse::json(
            200,
            json!({
                "kind": format!("{}List", path.resource.kind),
                "apiVersion": path.resource.api_version,
                "metadata": {"resourceVersion": self.store.current_revision().to_string()},
                "items": deleted,
            }),
        ))
    }
}

fn spec_finalizers(object: &Object) -> Vec<String> {
    object
        .field("spec")
        .and_then(|spec| spec.get("finalizers"))
        .and_then(Value::as_array)
        .map(|finalizers| finalizers.iter().filter_map(|value| value.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}
