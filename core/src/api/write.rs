//! create, update (PUT) and patch, for objects and their `status` subresource.

use jiff::Timestamp;
use serde_json::Value;

use super::admission::{check_namespace_accepts_new_objects, prepare_create, prepare_update, settle_namespace};
use super::body::{FieldValidation, decode_object, parse_body};
use super::conversion::from_storage;
use super::patch::{PatchError, apply_patch};
use super::path::ResourcePath;
use super::request::{ApiRequest, ApiResponse};
use super::server::{ApiServer, storage_resource};
use super::status::ApiError;
use crate::object::Object;
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
        let (object, warnings) = decode_object(path.resource, parse_body(request)?, validation)?;
        let dry_run = is_dry_run(request)?;
        let stored = self.create_object(path, object, dry_run, now)?;
        Ok(ApiResponse::with_warnings(201, from_storage(path.resource, &stored).to_value(), warnings))
    }

    /// Admits and stores a new object (or, for a dry run, only admits it).
    pub(super) fn create_object(
        &mut self,
        path: &ResourcePath,
        mut object: Object,
        dry_run: bool,
        now: Timestamp,
    ) -> Result<std::sync::Arc<Object>, ApiError> {
        settle_namespace(path, &mut object)?;
        check_namespace_accepts_new_objects(&self.store, path, object.name())?;
        // The uid the store is about to draw, read from a copy of the generator so that a refused
        // create leaves the generator as it was.
        let uid = new_uid(&mut self.random.clone());
        let mut object = prepare_create(path, object, &uid)?;
        super::quota::admit_create(&mut self.store, path, &object, dry_run, now)?;
        let allocation = self.allocate_on_create(path.resource, &mut object, dry_run)?;
        if dry_run {
            return Ok(std::sync::Arc::new(object));
        }
        let resource = storage_resource(path);
        let created = objects::create(&mut self.store, resource, object, now, &mut self.random);
        self.finish_allocation(allocation, created.is_ok());
        let stored = created?;
        debug_assert_eq!(stored.metadata.uid.as_deref(), Some(uid.as_str()), "the store drew another uid");
        Ok(stored)
    }

    pub(super) fn update(
        &mut self,
        request: &ApiRequest,
        path: &ResourcePath,
        name: &str,
        _now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let validation = FieldValidation::of(request)?;
        let (mut object, warnings) = decode_object(path.resource, parse_body(request)?, validation)?;
        settle_namespace(path, &mut object)?;
        let dry_run = is_dry_run(request)?;
        let stored = self.update_object(path, name, object, dry_run)?;
        Ok(ApiResponse::with_warnings(200, from_storage(path.resource, &stored).to_value(), warnings))
    }

    /// Admits and stores a replacement for the object `name` (its status only, on the status
    /// subresource).
    pub(super) fn update_object(
        &mut self,
        path: &ResourcePath,
        name: &str,
        object: Object,
        dry_run: bool,
    ) -> Result<std::sync::Arc<Object>, ApiError> {
        let old = self.stored(path, name)?;
        let mut object = prepare_update(path, &old, object, name)?;
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
            return Ok(std::sync::Arc::new(object));
        }
        let written = objects::update(&mut self.store, storage_resource(path), object, scope);
        self.finish_allocation(allocation, written.is_ok());
        let outcome = written?;
        self.release_if_deleted(&outcome);
        Ok(match outcome {
            Outcome::Stored(object) | Outcome::MarkedForDeletion(object) | Outcome::Deleted(object) => object,
        })
    }

    pub(super) fn patch(
        &mut self,
        request: &ApiRequest,
        path: &ResourcePath,
        name: &str,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let content_type = request.header("content-type").unwrap_or("");
        let is_apply = content_type.starts_with("application/apply-patch");
        let dry_run = is_dry_run(request)?;
        let current = match self.stored(path, name) {
            Ok(current) => current,
            // Server-side apply creates what does not exist yet.
            Err(ApiError::NotFound { .. }) if is_apply && path.subresource.is_none() => {
                let patched =
                    apply_patch(&Value::Object(Default::default()), &request.body, content_type, path.resource.kind)
                        .map_err(patch_error)?;
                let (object, warnings) = decode_object(path.resource, patched, FieldValidation::of(request)?)?;
                let stored = self.create_object(path, object, dry_run, now)?;
                return Ok(ApiResponse::with_warnings(201, from_storage(path.resource, &stored).to_value(), warnings));
            }
            Err(error) => return Err(error),
        };
        let original = from_storage(path.resource, &current).to_value();
        let patched = apply_patch(&original, &request.body, content_type, path.resource.kind).map_err(patch_error)?;
        let (mut object, warnings) = decode_object(path.resource, patched, FieldValidation::of(request)?)?;
        // A resourceVersion the patch itself carries is a precondition (kubectl label and
        // annotate rely on it): a stale one is a conflict. Otherwise the patch applies to the
        // version it was computed against, and a concurrent write would be a conflict.
        if !object.resource_version().is_empty() && object.resource_version() != current.resource_version() {
            return Err(ApiError::conflict(path.resource, name));
        }
        object.metadata.resource_version = current.metadata.resource_version.clone();
        settle_namespace(path, &mut object)?;
        let stored = self.update_object(path, name, object, dry_run)?;
        Ok(ApiResponse::with_warnings(200, from_storage(path.resource, &stored).to_value(), warnings))
    }
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
