//! create, update (PUT) and patch, for objects and their `status` subresource.

use jiff::Timestamp;
use serde_json::Value;

use super::admission::{
    admit_create, admit_update, check_namespace_accepts_new_objects, default_create, prepare_update, settle_namespace,
};
use super::apply::{Writer, manager_of, track_update};
use super::body::{FieldValidation, decode_body, decode_object};
use super::conversion::{from_storage, from_storage_borrowed};
use super::patch::{PatchError, apply_patch, apply_read_merge_patch};
use super::path::ResourcePath;
use super::request::{ApiRequest, ApiResponse};
use super::server::{ApiServer, storage_resource};
use super::status::ApiError;
use crate::object::Object;
use crate::object::field_error::{FieldError, FieldPath};
use crate::store::Store;
use crate::store::names::new_uid;
use crate::store::objects::{self, Outcome, UpdateScope};

/// Whether a request asks for a dry run (`dryRun=All`): everything but the write.
pub(super) fn is_dry_run(request: &ApiRequest) -> Result<bool, ApiError> {
    match request.query_param("dryRun") {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(other) => {
            Err(ApiError::bad_request(format!("dryRun: Unsupported value: {other:?}: supported values: \"All\"")))
        }
    }
}

impl<S: Store> ApiServer<S> {
    pub(super) fn create(
        &mut self,
        request: &ApiRequest,
        path: &ResourcePath,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let validation = FieldValidation::of(request)?;
        let writer = writer_of(request, path, "CreateOptions", false)?;
        let (object, mut warnings) = decode_body(path.resource, request, validation)?;
        let dry_run = is_dry_run(request)?;
        let (stored, admission_warnings) = self.create_object(path, object, dry_run, Some(&writer), now)?;
        warnings.extend(admission_warnings);
        Ok(ApiResponse::with_warnings(201, from_storage_borrowed(path.resource, &stored).to_value(), warnings))
    }

    /// Admits and stores a new object (or, for a dry run, only admits it), recording the
    /// writer's fields in `managedFields` (`None`: an apply has recorded them). Returns the
    /// stored object and the admission plugins' warnings.
    pub(super) fn create_object(
        &mut self,
        path: &ResourcePath,
        mut object: Object,
        dry_run: bool,
        writer: Option<&Writer>,
        now: Timestamp,
    ) -> Result<(std::sync::Arc<Object>, Vec<String>), ApiError> {
        settle_namespace(path, &mut object)?;
        check_namespace_accepts_new_objects(&self.store, path, object.name())?;
        // The uid the store is about to draw, read from a copy of the generator so that a refused
        // create leaves the generator as it was.
        let uid = new_uid(&mut self.random.clone());
        let mut object = default_create(path, object, &uid)?;
        if let Some(writer) = writer {
            track_update(None, &mut object, writer, now)?;
        }
        let (mut object, warnings) = admit_create(&self.store, path, object)?;
        super::quota::admit_create(&mut self.store, path, &object, dry_run, now)?;
        let allocation = self.allocate_on_create(path.resource, &mut object, dry_run)?;
        if dry_run {
            return Ok((std::sync::Arc::new(object), warnings));
        }
        let resource = storage_resource(path);
        let created = objects::create(&mut self.store, resource, object, now, &mut self.random);
        self.finish_allocation(allocation, created.is_ok());
        let stored = created?;
        debug_assert_eq!(stored.metadata.uid.as_deref(), Some(uid.as_str()), "the store drew another uid");
        Ok((stored, warnings))
    }

    pub(super) fn update(
        &mut self,
        request: &ApiRequest,
        path: &ResourcePath,
        name: &str,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let validation = FieldValidation::of(request)?;
        let writer = writer_of(request, path, "UpdateOptions", false)?;
        let (mut object, mut warnings) = decode_body(path.resource, request, validation)?;
        settle_namespace(path, &mut object)?;
        let dry_run = is_dry_run(request)?;
        let (stored, admission_warnings) = self.update_object(path, name, object, dry_run, Some(&writer), now)?;
        warnings.extend(admission_warnings);
        Ok(ApiResponse::with_warnings(200, from_storage_borrowed(path.resource, &stored).to_value(), warnings))
    }

    /// Admits and stores a replacement for the object `name` (its status only, on the status
    /// subresource), recording the writer's fields in `managedFields` (`None`: an apply has
    /// recorded them). Returns the stored object and the admission plugins' warnings.
    pub(super) fn update_object(
        &mut self,
        path: &ResourcePath,
        name: &str,
        object: Object,
        dry_run: bool,
        writer: Option<&Writer>,
        now: Timestamp,
    ) -> Result<(std::sync::Arc<Object>, Vec<String>), ApiError> {
        let old = self.stored(path, name)?;
        let mut object = prepare_update(path, &old, object, name)?;
        if let Some(writer) = writer {
            track_update(Some(&old), &mut object, writer, now)?;
        }
        let warnings = admit_update(&self.store, path, &old, &object)?;
        if path.subresource.is_none() {
            super::quota::admit_update(&mut self.store, path, &old, &object, dry_run)?;
        }
        let scope =
            if path.subresource.as_deref() == Some("status") { UpdateScope::Status } else { UpdateScope::Object };
        let allocation = match scope {
            UpdateScope::Object => self.allocate_on_update(path.resource, &old, &mut object, dry_run)?,
            UpdateScope::Status => None,
        };
        if dry_run {
            return Ok((std::sync::Arc::new(object), warnings));
        }
        let written = objects::update(&mut self.store, storage_resource(path), object, scope);
        self.finish_allocation(allocation, written.is_ok());
        let outcome = written?;
        self.release_if_deleted(&outcome);
        let stored = match outcome {
            Outcome::Stored(object) | Outcome::MarkedForDeletion(object) | Outcome::Deleted(object) => object,
        };
        Ok((stored, warnings))
    }

    pub(super) fn patch(
        &mut self,
        request: &ApiRequest,
        path: &ResourcePath,
        name: &str,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let content_type = request.header("content-type").unwrap_or("");
        if content_type.starts_with("application/apply-patch") {
            return self.apply(request, path, name, now);
        }
        if request.query_param("force").is_some() {
            let error = FieldError::forbidden(&FieldPath::new("force"), "may not be specified for non-apply patch");
            return Err(options_invalid("PatchOptions", error));
        }
        let writer = writer_of(request, path, "PatchOptions", false)?;
        let dry_run = is_dry_run(request)?;
        let current = self.stored(path, name)?;
        // The object as the client sees it, borrowed when stored in the request's version.
        let original = from_storage_borrowed(path.resource, &current);
        // A merge patch that does not name managedFields leaves them as they are: they skip the
        // round trip through the patch and the decoder (half a Lease renewal's bytes), and are
        // not encoded at all.
        let merge_patch = read_merge_patch(content_type, &request.body);
        let (original_value, kept_managed_fields) =
            if merge_patch.as_ref().is_some_and(|patch| merge_patch_leaves_managed_fields(patch, &original)) {
                (original.to_value_without_managed_fields(), original.metadata.managed_fields.clone())
            } else {
                (original.to_value(), None)
            };
        drop(original);
        let patched = match &merge_patch {
            Some(patch) => apply_read_merge_patch(&original_value, patch),
            None => apply_patch(&original_value, &request.body, content_type, path.resource.kind),
        }
        .map_err(patch_error)?;
        let (mut object, mut warnings) = decode_object(path.resource, patched, FieldValidation::of(request)?)?;
        if kept_managed_fields.is_some() {
            object.metadata.managed_fields = kept_managed_fields;
        }
        let (stored, admission_warnings) =
            self.update_patched(path, name, object, &current, dry_run, Some(&writer), now)?;
        warnings.extend(admission_warnings);
        Ok(ApiResponse::with_warnings(200, from_storage_borrowed(path.resource, &stored).to_value(), warnings))
    }

    /// Stores the result of a patch of `current`.
    #[allow(clippy::too_many_arguments)]
    fn update_patched(
        &mut self,
        path: &ResourcePath,
        name: &str,
        mut object: Object,
        current: &Object,
        dry_run: bool,
        writer: Option<&Writer>,
        now: Timestamp,
    ) -> Result<(std::sync::Arc<Object>, Vec<String>), ApiError> {
        // A resourceVersion the patch itself carries is a precondition (kubectl label and
        // annotate rely on it): a stale one is a conflict. Otherwise the patch applies to the
        // version it was computed against, and a concurrent write would be a conflict.
        if !object.resource_version().is_empty() && object.resource_version() != current.resource_version() {
            return Err(ApiError::conflict(path.resource, name));
        }
        object.metadata.resource_version = current.metadata.resource_version.clone();
        settle_namespace(path, &mut object)?;
        self.update_object(path, name, object, dry_run, writer, now)
    }

    /// Server-side apply (`application/apply-patch+yaml`): merges the configuration by the
    /// schema, records and checks ownership, and creates the object when it does not exist.
    fn apply(
        &mut self,
        request: &ApiRequest,
        path: &ResourcePath,
        name: &str,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let force = match request.query_param("force") {
            None | Some("" | "false" | "0") => false,
            Some("true" | "1") => true,
            Some(other) => return Err(ApiError::bad_request(format!("force: invalid boolean value {other:?}"))),
        };
        let writer = writer_of(request, path, "PatchOptions", true)?;
        let dry_run = is_dry_run(request)?;
        let configuration = parse_apply_configuration(request)?;
        let current = match self.stored(path, name) {
            Ok(current) => Some(current),
            Err(ApiError::NotFound { .. }) if path.subresource.is_none() => None,
            Err(error) => return Err(error),
        };
        let live = current.as_ref().map(|current| from_storage(path.resource, current));
        let applied = super::apply::apply(live.as_ref(), &configuration, &writer, force, now)?;
        let (object, mut warnings) = decode_object(path.resource, applied.object, FieldValidation::of(request)?)?;
        let (status, (stored, admission_warnings)) = match &current {
            None => {
                let mut object = object;
                settle_namespace(path, &mut object)?;
                (201, self.create_object(path, object, dry_run, None, now)?)
            }
            Some(current) => (200, self.update_patched(path, name, object, current, dry_run, None, now)?),
        };
        warnings.extend(admission_warnings);
        Ok(ApiResponse::with_warnings(status, from_storage_borrowed(path.resource, &stored).to_value(), warnings))
    }
}

/// The body of a JSON merge patch (RFC 7386) read once for both the managed-fields check and
/// the patch: `None` for another patch type, a body over the request limit or one that is not a
/// JSON object, which [`apply_patch`] then reads and refuses as it always has.
fn read_merge_patch(content_type: &str, body: &[u8]) -> Option<Value> {
    if !matches!(super::patch::PatchType::from_content_type(content_type), Ok(super::patch::PatchType::Merge))
        || body.len() > crate::limits::MAX_REQUEST_BYTES
    {
        return None;
    }
    serde_json::from_slice::<Value>(body).ok().filter(Value::is_object)
}

/// Whether a JSON merge patch cannot change `original`'s `metadata.managedFields`: an object
/// whose `metadata`, if any, is an object without that key. The managed fields must also be
/// shallow enough that leaving them out of the patched document cannot change its depth check.
fn merge_patch_leaves_managed_fields(patch: &Value, original: &Object) -> bool {
    // The managed fields' `fieldsV1` values lie four levels below the document's top.
    const FIELDS_V1_DEPTH: usize = 4;
    let Some(entries) = original.metadata.managed_fields.as_deref() else { return false };
    let leaves = match patch.get("metadata") {
        None => true,
        Some(Value::Object(metadata)) => !metadata.contains_key("managedFields"),
        Some(_) => false,
    };
    leaves
        && entries.iter().all(|entry| {
            entry.fields_v1.as_ref().is_none_or(|fields| {
                !super::patch::nests_deeper_than(&fields.0, crate::limits::MAX_DOCUMENT_DEPTH - FIELDS_V1_DEPTH)
            })
        })
}

/// The configuration of an apply request: an object that names no `managedFields`.
fn parse_apply_configuration(request: &ApiRequest) -> Result<Value, ApiError> {
    let configuration = super::patch::parse_apply_configuration(&request.body).map_err(patch_error)?;
    if configuration.pointer("/metadata/managedFields").is_some_and(|fields| !fields.is_null()) {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    Ok(configuration)
}

/// A refusal of the request's options (`PatchOptions.meta.k8s.io "" is invalid: …`).
fn options_invalid(options_kind: &str, error: FieldError) -> ApiError {
    ApiError::Invalid {
        group: "meta.k8s.io".into(),
        kind: options_kind.into(),
        name: String::new(),
        errors: vec![error],
    }
}

/// The writer of a request to `path`: its manager, subresource and version.
pub(super) fn writer_of<'p>(
    request: &ApiRequest,
    path: &'p ResourcePath,
    options_kind: &str,
    is_apply: bool,
) -> Result<Writer<'p>, ApiError> {
    Ok(Writer {
        manager: manager_of(request, options_kind, is_apply)?,
        subresource: path.subresource.as_deref().unwrap_or(""),
        api_version: path.resource.api_version,
        resource: path.resource,
    })
}

/// Maps a patch failure onto the status Kubernetes answers it with.
pub(super) fn patch_error(error: PatchError) -> ApiError {
    match error.status_code() {
        415 => ApiError::UnsupportedMediaType { accepted: super::patch::ACCEPTED_PATCH_MEDIA_TYPES.join(", ") },
        413 => ApiError::TooLarge { limit: crate::limits::MAX_REQUEST_BYTES },
        422 => ApiError::Unprocessable { message: error.to_string() },
        _ => ApiError::bad_request(error.to_string()),
    }
}
