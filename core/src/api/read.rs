//! get, list and watch.

use std::borrow::Cow;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::conversion::from_storage_borrowed;
use super::negotiation::{Representation, partial_object_metadata, partial_object_metadata_list, representation};
use super::path::ResourcePath;
use super::request::{ApiRequest, ApiResponse};
use super::server::{ApiServer, storage_resource};
use super::status::ApiError;
use super::table::{TableDocument, table_including};
use super::watch::{Selectors, WatchStream};
use crate::limits;
use crate::object::{FieldError, FieldPath, Object};
use crate::selector::field::{FieldSelector, check_supported};
use crate::selector::label::LabelSelector;
use crate::store::{
    ListOptions, ReadRevision, Store, StoreError, WatchCursor, WatchRequest, WatchStart, parse_revision,
};

impl<S: Store> ApiServer<S> {
    pub(super) fn get(
        &self,
        request: &ApiRequest,
        path: &ResourcePath,
        name: &str,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let representation = representation(request)?;
        let stored = self.stored(path, name)?;
        let converted = from_storage_borrowed(path.resource, &stored);
        let object: &Object = &converted;
        let body = match representation {
            Representation::Object => object.to_value(),
            Representation::PartialObjectMetadata => partial_object_metadata(object),
            Representation::Table { include } => {
                table_including(path.resource.kind, &[object], object.resource_version(), None, include, now)
            }
        };
        Ok(ApiResponse::json(200, body))
    }

    pub(super) fn list(
        &self,
        request: &ApiRequest,
        path: &ResourcePath,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        validate_list_options(request, false)?;
        let representation = representation(request)?;
        let selectors = selectors(request, path)?;
        let predicate = |object: &Object| selectors.matches(object);
        let limit = match request.query_param("limit") {
            None | Some("") => 0,
            // A negative or huge limit is no limit, as Kubernetes reads it.
            Some(text) => match text.parse::<i64>() {
                Ok(limit) => usize::try_from(limit).unwrap_or(0),
                Err(_) if text.bytes().all(|byte| byte.is_ascii_digit()) => 0,
                Err(_) => return Err(ApiError::bad_request(format!("invalid limit: {text:?}"))),
            },
        };
        let continue_token = request.query_param("continue").filter(|token| !token.is_empty());
        let revision = read_revision(request)?;
        let options = ListOptions {
            namespace: path.namespace.as_deref(),
            label_selector: Some(&selectors.labels),
            predicate: Some(&predicate),
            limit,
            continue_token,
            revision,
        };
        let result = self.store.list(storage_resource(path).group_resource(), &options)?;
        let items: Vec<Cow<'_, Object>> =
            result.items.iter().map(|item| from_storage_borrowed(path.resource, item)).collect();
        let resource_version = result.revision.to_string();
        let mut metadata = Map::new();
        metadata.insert("resourceVersion".into(), resource_version.clone().into());
        if let Some(token) = &result.continue_token {
            metadata.insert("continue".into(), token.clone().into());
        }
        let body = match representation {
            Representation::Table { include } => {
                let references: Vec<&Object> = items.iter().map(AsRef::as_ref).collect();
                let continue_token = result.continue_token.as_deref();
                let table = TableDocument::new(
                    path.resource.kind,
                    &references,
                    &resource_version,
                    continue_token,
                    include,
                    now,
                );
                let body = table.encode();
                return Ok(ApiResponse::Encoded { status: 200, body });
            }
            Representation::PartialObjectMetadata => {
                let references: Vec<&Object> = items.iter().map(AsRef::as_ref).collect();
                partial_object_metadata_list(&references, metadata)
            }
            Representation::Object => {
                let items: Vec<Value> = items.iter().map(|item| item.to_value()).collect();
                json!({
                    "kind": format!("{}List", path.resource.kind),
                    "apiVersion": path.resource.api_version,
                    "metadata": metadata,
                    "items": items,
                })
            }
        };
        Ok(ApiResponse::json(200, body))
    }

    pub(super) fn watch(
        &self,
        request: &ApiRequest,
        path: &ResourcePath,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        validate_list_options(request, true)?;
        let representation = representation(request)?;
        let selectors = selectors(request, path)?;
        let bookmarks = request.query_param("allowWatchBookmarks") == Some("true");
        let resource_version = request.query_param("resourceVersion").unwrap_or("");
        let start = match (send_initial_events(request), resource_version) {
            // Kubernetes' SetListOptionsDefaults with WatchList on: a watch from "" or "0" sends
            // the current objects first.
            (None, "" | "0") => WatchStart::InitialEvents { end_bookmark: false },
            (Some(true), "" | "0") => WatchStart::InitialEvents { end_bookmark: bookmarks },
            (Some(true), text) => {
                let requested = parse_revision(text)?;
                let current = self.store.current_revision();
                if requested > current {
                    return Err(StoreError::TooLargeResourceVersion { requested, current }.into());
                }
                WatchStart::InitialEvents { end_bookmark: bookmarks }
            }
            (Some(false), "" | "0") => WatchStart::After(self.store.current_revision()),
            (None | Some(false), text) => WatchStart::After(parse_revision(text)?),
        };
        let timeout_seconds = match request.query_param("timeoutSeconds") {
            None | Some("") => limits::WATCH_TIMEOUT_SECONDS_MAX,
            Some(text) => match text.parse::<i64>() {
                // 0 (or less) means no timeout asked: the server's default.
                Ok(seconds) if seconds <= 0 => limits::WATCH_TIMEOUT_SECONDS_MAX,
                Ok(seconds) => seconds.min(limits::WATCH_TIMEOUT_SECONDS_MAX),
                Err(_) => return Err(ApiError::bad_request(format!("invalid timeoutSeconds: {text:?}"))),
            },
        };
        let watch_request = WatchRequest {
            resource: storage_resource(path).group_resource(),
            namespace: path.namespace.clone(),
            start,
        };
        let cursor = match self.store.watch(&watch_request) {
            Ok(cursor) => cursor,
            // kube-apiserver (the cacher, as the uncached etcd3 watch): once a watch's
            // resourceVersion parsed, a revision older than the kept history fails the watch with
            // an ERROR event (410 Gone) rather than an HTTP error. The cursor left at the expired
            // revision makes the stream's first poll send exactly that.
            Err(StoreError::Expired { requested, .. }) => {
                WatchCursor::after(watch_request.resource, watch_request.namespace.clone(), requested)
            }
            Err(error) => return Err(error.into()),
        };
        let deadline = now.checked_add(SignedDuration::from_secs(timeout_seconds)).ok();
        Ok(ApiResponse::Watch(Box::new(WatchStream {
            cursor,
            resource: path.resource,
            selectors,
            bookmarks,
            representation,
            opened_at: now,
            columns_sent: false,
            deadline,
            finished: false,
        })))
    }
}

/// `sendInitialEvents`, if the request names it.
fn send_initial_events(request: &ApiRequest) -> Option<bool> {
    match request.query_param("sendInitialEvents") {
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        _ => None,
    }
}

/// Kubernetes' `ValidateListOptions` (apimachinery meta/internalversion/validation), with the
/// WatchList feature on and `SetListOptionsDefaults` applied: which combinations of
/// `resourceVersion`, `resourceVersionMatch`, `continue` and `sendInitialEvents` a list or a
/// watch accepts. A refusal is 422 `ListOptions.meta.k8s.io "" is invalid`.
fn validate_list_options(request: &ApiRequest, is_watch: bool) -> Result<(), ApiError> {
    let resource_version = request.query_param("resourceVersion").unwrap_or("");
    let continue_token = request.query_param("continue").unwrap_or("");
    let mut matching = request.query_param("resourceVersionMatch").unwrap_or("");
    let mut initial_events = send_initial_events(request);
    if is_watch && initial_events.is_none() && matching.is_empty() && matches!(resource_version, "" | "0") {
        initial_events = Some(true);
        matching = "NotOlderThan";
    }
    let path = FieldPath::new("resourceVersionMatch");
    let mut errors = Vec::new();
    if is_watch {
        if initial_events.is_some() && matching != "NotOlderThan" {
            errors.push(FieldError::forbidden(
                &path,
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if !matching.is_empty() {
            if initial_events.is_none() {
                errors.push(FieldError::forbidden(
                    &path,
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                ));
            }
            if matching != "NotOlderThan" {
                errors.push(FieldError::not_supported(&path, matching, &["NotOlderThan"]));
            }
            if !continue_token.is_empty() {
                errors
                    .push(FieldError::forbidden(&path, "resourceVersionMatch is forbidden when continue is provided"));
            }
        }
    } else {
        if !matching.is_empty() {
            if resource_version.is_empty() {
                errors.push(FieldError::forbidden(
                    &path,
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            if !continue_token.is_empty() {
                errors
                    .push(FieldError::forbidden(&path, "resourceVersionMatch is forbidden when continue is provided"));
            }
            if matching != "Exact" && matching != "NotOlderThan" {
                errors.push(FieldError::not_supported(&path, matching, &["Exact", "NotOlderThan", ""]));
            }
            if matching == "Exact" && resource_version == "0" {
                errors.push(FieldError::forbidden(
                    &path,
                    "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                ));
            }
        }
        if initial_events.is_some() {
            errors.push(FieldError::forbidden(
                &FieldPath::new("sendInitialEvents"),
                "sendInitialEvents is forbidden for list",
            ));
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(ApiError::Invalid { group: "meta.k8s.io".into(), kind: "ListOptions".into(), name: String::new(), errors })
}

/// The label and field selectors of a list or watch request; a field the kind does not support is
/// 400 BadRequest, as in Kubernetes.
pub(super) fn selectors(request: &ApiRequest, path: &ResourcePath) -> Result<Selectors, ApiError> {
    let labels = match request.query_param("labelSelector") {
        None | Some("") => LabelSelector::everything(),
        Some(text) => LabelSelector::parse(text).map_err(|error| ApiError::bad_request(error.to_string()))?,
    };
    let fields = match request.query_param("fieldSelector") {
        None | Some("") => FieldSelector::everything(),
        Some(text) => FieldSelector::parse(text).map_err(|error| ApiError::bad_request(error.to_string()))?,
    };
    check_supported(path.resource.kind, &fields).map_err(|error| ApiError::bad_request(error.to_string()))?;
    Ok(Selectors { labels, fields })
}

/// Which revision a list reads (`resourceVersion` and `resourceVersionMatch`, already validated).
fn read_revision(request: &ApiRequest) -> Result<ReadRevision, ApiError> {
    let version = request.query_param("resourceVersion").filter(|text| !text.is_empty() && *text != "0");
    match (version, request.query_param("resourceVersionMatch")) {
        (None, _) => Ok(ReadRevision::Latest),
        (Some(text), Some("Exact")) => Ok(ReadRevision::Exact(parse_revision(text)?)),
        (Some(text), _) => Ok(ReadRevision::NotOlderThan(parse_revision(text)?)),
    }
}
