//! The API semantics: HTTP-shaped request values to response values over a store, so that the
//! simulator and the HTTP server run the same code (DESIGN.md principle 3).
//!
//! [`ApiServer::handle`] takes an [`ApiRequest`] and the time and answers an [`ApiResponse`]:
//! discovery, get/list/watch, create, update, patch (merge, JSON, strategic merge, apply),
//! delete and deletecollection, and the `status`, `scale`, `binding` and `eviction`
//! subresources, with Kubernetes' `Status` errors.

mod admission;
pub mod allocation;
pub mod apply;
mod body;
pub mod conversion;
mod delete;
pub mod discovery;
pub mod discovery_aggregated;
pub mod duration;
pub mod event_ttl;
pub mod local_path;
pub mod negotiation;
pub mod openapi;
pub mod openapi_descriptions;
pub mod openapi_schemas;
pub mod patch;
pub mod path;
pub mod pod_proxy;
mod quota;
mod read;
pub mod request;
mod server;
pub mod status;
mod subresource;
pub mod table;
pub mod watch;
mod write;

pub use admission::default_storage_class::{
    BETA_IS_DEFAULT_STORAGE_CLASS_ANNOTATION, IS_DEFAULT_STORAGE_CLASS_ANNOTATION, default_class, is_default_class,
};
pub use admission::storage_object_in_use_protection::{PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER};
pub use admission::{DEFAULT_TOLERATION_SECONDS, NAMESPACE_FINALIZER};
pub use body::{FieldValidation, decode_body, decode_object, parse_body};
pub use delete::{DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS, FOREGROUND_DELETION_FINALIZER, ORPHAN_FINALIZER};
pub use request::{ApiRequest, ApiResponse, Method, to_json_bytes, warning_header_value};
pub use server::{ApiServer, SYSTEM_NAMESPACES, is_read};
pub use status::ApiError;
pub(crate) use subresource::scale_of;
pub use watch::{SharedFrames, WatchStream};

use path::{ApiPath, ResourcePath};

use crate::store::ObjectKey;

/// The store key of the object `name` at a resource path.
fn object_key(path: &ResourcePath, name: &str) -> ObjectKey {
    let resource = conversion::storage_type(path.resource).group_resource();
    ObjectKey::new(resource, path.namespace.as_deref().unwrap_or(""), name)
}

/// Answers the discovery and OpenAPI paths, which only support GET. `/api` and `/apis` answer
/// with aggregated discovery when the client asks for it first, as kubectl 1.32 does.
fn discovery_route(path: &ApiPath, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    if request.method != Method::Get {
        return Err(ApiError::MethodNotAllowed);
    }
    if matches!(path, ApiPath::CoreVersions | ApiPath::Groups) && discovery_aggregated::wants_aggregated(request) {
        let body = discovery_aggregated::aggregated_discovery(matches!(path, ApiPath::CoreVersions));
        let content_type = discovery_aggregated::AGGREGATED_DISCOVERY_CONTENT_TYPE;
        return Ok(ApiResponse::Json {
            status: 200,
            body,
            warnings: Vec::new(),
            headers: vec![("Content-Type".into(), content_type.into())],
        });
    }
    let document = match path {
        ApiPath::Version => Some(discovery::version()),
        ApiPath::CoreVersions => Some(discovery::core_versions()),
        ApiPath::Groups => Some(discovery::group_list()),
        ApiPath::Group { group } => discovery::group(group),
        ApiPath::Resources { group, version } => discovery::resource_list(group, version),
        ApiPath::OpenApi { rest } => openapi::openapi_document(rest),
        ApiPath::Resource(_) => None,
    };
    document.map(|document| ApiResponse::json(200, document)).ok_or(ApiError::NoRoute)
}

#[cfg(test)]
mod tests;
