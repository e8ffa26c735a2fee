//! get, list and watch.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::conversion::from_storage;
use super::path::ResourcePath;
use super::request::{ApiRequest, ApiResponse};
use super::server::{ApiServer, storage_resource};
use super::status::ApiError;
use super::watch::{Selectors, WatchStream};
use crate::limits;
use crate::object::Object;
use crate::selector::field::{FieldSelector, check_supported};
use crate::selector::label::LabelSelector;
use crate::store::{ListOptions, ReadRevision, Store, WatchRequest, WatchStart, parse_revision};

impl<S: Store> ApiServer<S> {
    pub(super) fn get(
        &self,
        request: &ApiRequest,
        path: &ResourcePath,
        name: &str,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let stored = self.stored(path, name)?;
        let object = from_storage(path.resource, &stored);
        if super::table::wants_table(request.header("accept").unwrap_or("")) {
            let table = super::table::table_for(path.resource.kind, &[&object], object.resource_version(), None, now);
            return Ok(ApiResponse::json(200, table));
        }
        Ok(ApiResponse::json(200, object.to_value()))
    }

    pub(super) fn list(
        &self,
        request: &ApiRequest,
        path: &ResourcePath,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let selectors = selectors(request, path)?;
        let predicate = |object: &Object| selectors.matches(object);
        let limit = match request.query_param("limit") {
            None | Some("") => 0,
            Some(text) => {
                text.parse::<usize>().map_err(|_| ApiError::bad_request(format!("invalid limit: {text:?}")))?
            }
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
        let items: Vec<Object> = result.items.iter().map(|item| from_storage(path.resource, item)).collect();
        let resource_version = result.revision.to_string();
        if super::table::wants_table(request.header("accept").unwrap_or("")) {
            let references: Vec<&Object> = items.iter().collect();
            let table = super::table::table_for(
                path.resource.kind,
                &references,
                &resource_version,
                result.continue_token.as_deref(),
                now,
            );
            return Ok(ApiResponse::json(200, table));
        }
        let mut metadata = Map::new();
        metadata.insert("resourceVersion".into(), resource_version.into());
        if let Some(token) = result.continue_token {
            metadata.insert("continue".into(), token.into());
        }
        let items: Vec<Value> = items.iter().map(Object::to_value).collect();
        Ok(ApiResponse::json(
            200,
            json!({
                "kind": format!("{}List", path.resource.kind),
                "apiVersion": path.resource.api_version,
                "metadata": metadata,
                "items": items,
            }),
        ))
    }

    pub(super) fn watch(
        &self,
        request: &ApiRequest,
        path: &ResourcePath,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let selectors = selectors(request, path)?;
        let bookmarks = request.query_param("allowWatchBookmarks") == Some("true");
        let send_initial_events = request.query_param("sendInitialEvents") == Some("true");
        let start = match request.query_param("resourceVersion") {
            _ if send_initial_events => WatchStart::InitialEvents { end_bookmark: bookmarks },
            None | Some("") | Some("0") => WatchStart::InitialEvents { end_bookmark: false },
            Some(text) => WatchStart::After(parse_revision(text)?),
        };
        let timeout_seconds = match request.query_param("timeoutSeconds") {
            None | Some("") => limits::WATCH_TIMEOUT_SECONDS_MAX,
            Some(text) => text
                .parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {text:?}")))?
                .clamp(0, limits::WATCH_TIMEOUT_SECONDS_MAX),
        };
        let watch_request = WatchRequest {
            resource: storage_resource(path).group_resource(),
            namespace: path.namespace.clone(),
            start,
        };
        let cursor = self.store.watch(&watch_request)?;
        let deadline = now.checked_add(SignedDuration::from_secs(timeout_seconds)).ok();
        Ok(ApiResponse::Watch(Box::new(WatchStream {
            cursor,
            resource: path.resource,
            selectors,
            bookmarks,
            as_table: super::table::wants_table(request.header("accept").unwrap_or("")),
            deadline,
            finished: false,
        })))
    }
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

/// Which revision a list reads (`resourceVersion` and `resourceVersionMatch`).
fn read_revision(request: &ApiRequest) -> Result<ReadRevision, ApiError> {
    let version = request.query_param("resourceVersion").filter(|text| !text.is_empty() && *text != "0");
    match (version, request.query_param("resourceVersionMatch")) {
        (None, None | Some("")) => Ok(ReadRevision::Latest),
        (None, Some(_)) => {
            Err(ApiError::bad_request("resourceVersionMatch is forbidden unless resourceVersion is provided"))
        }
        (Some(text), None | Some("") | Some("NotOlderThan")) => Ok(ReadRevision::NotOlderThan(parse_revision(text)?)),
        (Some(text), Some("Exact")) => Ok(ReadRevision::Exact(parse_revision(text)?)),
        (Some(_), Some(other)) => Err(ApiError::bad_request(format!(
            "resourceVersionMatch: Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\""
        ))),
    }
}
