//! API errors as Kubernetes reports them: a `Status` object with the same `reason`, `code`,
//! `details` and message wording as the Kubernetes API server, so that `kubectl` prints
//! `Error from server (NotFound): pods "web-0" not found` for coxswain exactly as for Kubernetes.

use serde_json::{Map, Value, json};

use crate::object::field_error::{FieldError, join_field_errors};
use crate::object::kinds::{GroupResource, ResourceType};
use crate::store::StoreError;

/// One cause of a `Status`, as Kubernetes' `StatusCause`: a machine-readable reason, a message
/// and, when the cause is one field, that field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCause {
    /// The cause type (`NamespaceTerminating`, `DisruptionBudget`, `ResourceVersionTooLarge`).
    pub reason: String,
    /// What happened.
    pub message: String,
    /// The field concerned (`metadata.namespace`), or empty.
    pub field: String,
}

impl StatusCause {
    /// A cause without a field.
    pub fn new(reason: &str, message: impl Into<String>) -> StatusCause {
        StatusCause { reason: reason.into(), message: message.into(), field: String::new() }
    }

    fn to_value(&self) -> Value {
        let mut cause = Map::new();
        cause.insert("reason".into(), self.reason.clone().into());
        cause.insert("message".into(), self.message.clone().into());
        if !self.field.is_empty() {
            cause.insert("field".into(), self.field.clone().into());
        }
        Value::Object(cause)
    }
}

/// A failed API request, named for what failed. Converts into a Kubernetes `Status`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// 404: the named object does not exist.
    #[error("{} {name:?} not found", qualified(group, resource))]
    NotFound {
        /// API group of the resource.
        group: String,
        /// Plural resource name.
        resource: String,
        /// Object name.
        name: String,
    },
    /// 404: no route for the path.
    #[error("the server could not find the requested resource")]
    NoRoute,
    /// 409: an object with that name exists.
    #[error("{} {name:?} already exists", qualified(group, resource))]
    AlreadyExists {
        /// API group of the resource.
        group: String,
        /// Plural resource name.
        resource: String,
        /// Object name.
        name: String,
    },
    /// 409: the resourceVersion (or another precondition) does not match.
    #[error("Operation cannot be fulfilled on {} {name:?}: {detail}", qualified(group, resource))]
    Conflict {
        /// API group of the resource.
        group: String,
        /// Plural resource name.
        resource: String,
        /// Object name.
        name: String,
        /// Why, such as [`CONFLICT_MODIFIED`].
        detail: String,
    },
    /// 409: a server-side apply would change fields other managers own (Kubernetes'
    /// `NewApplyConflict`): one `FieldManagerConflict` cause per field.
    #[error("{message}")]
    ApplyConflict {
        /// `Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas`.
        message: String,
        /// The fields and their managers.
        causes: Vec<StatusCause>,
    },
    /// 422: fields are invalid.
    #[error("{} {name:?} is invalid: {}", qualified_kind(group, kind), join_field_errors(errors))]
    Invalid {
        /// API group of the kind.
        group: String,
        /// The kind (`Pod`): Kubernetes names the kind here, not the resource.
        kind: String,
        /// Object name.
        name: String,
        /// The field errors.
        errors: Vec<FieldError>,
    },
    /// 422: the request is well formed but cannot be carried out (a JSON patch whose `test`
    /// fails, say); Kubernetes' reason is Invalid, without field causes.
    #[error("{message}")]
    Unprocessable {
        /// Why.
        message: String,
    },
    /// 400: the request itself is malformed.
    #[error("{message}")]
    BadRequest {
        /// What is wrong.
        message: String,
    },
    /// 403: the request is refused (for example, a terminating namespace).
    #[error("{} {name:?} is forbidden: {detail}", qualified(group, resource))]
    Forbidden {
        /// API group of the resource.
        group: String,
        /// Plural resource name.
        resource: String,
        /// Object name (may be empty).
        name: String,
        /// Why.
        detail: String,
        /// The cause, such as `NamespaceTerminating` on `metadata.namespace` (boxed to keep the
        /// error small).
        cause: Option<Box<StatusCause>>,
    },
    /// 405: the verb is not served on this path.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// 410: the resourceVersion is older than the store's window.
    #[error("{message}")]
    Expired {
        /// Kubernetes' wording: `too old resource version: 5 (20)`.
        message: String,
        /// For an expired continue token: the token that continues the list at the newest
        /// state, sent as the Status's `metadata.continue`.
        continue_token: Option<String>,
    },
    /// 413: the body is over the limit.
    #[error("Request entity too large: limit is {limit}")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 415: the body's media type is not one the server reads.
    #[error("the body of the request was in an unknown format - accepted media types include: {accepted}")]
    UnsupportedMediaType {
        /// The accepted types, comma-separated.
        accepted: String,
    },
    /// 429: the request would break a limit such as a PodDisruptionBudget.
    #[error("{message}")]
    TooManyRequests {
        /// Why.
        message: String,
        /// The causes.
        causes: Vec<StatusCause>,
        /// Seconds after which the client may try again (`details.retryAfterSeconds` and the
        /// `Retry-After` header); 0 for no suggestion.
        retry_after_seconds: u32,
    },
    /// 504 (Kubernetes' `NewTimeoutError`): the store has not reached the requested
    /// resourceVersion yet (cause `ResourceVersionTooLarge`), or did not answer before the
    /// request's deadline.
    #[error("Timeout: {message}")]
    Timeout {
        /// Why.
        message: String,
        /// The causes.
        causes: Vec<StatusCause>,
        /// Seconds after which the client may try again.
        retry_after_seconds: u32,
    },
    /// 500: something went wrong that is not the caller's fault.
    #[error("Internal error occurred: {message}")]
    Internal {
        /// What.
        message: String,
    },
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        let owned = |resource: GroupResource| (resource.group.to_string(), resource.resource.to_string());
        match error {
            StoreError::NotFound { resource, name, .. } => {
                let (group, resource) = owned(resource);
                ApiError::NotFound { group, resource, name }
            }
            StoreError::AlreadyExists { resource, name, .. } => {
                let (group, resource) = owned(resource);
                ApiError::AlreadyExists { group, resource, name }
            }
            StoreError::Conflict { resource, name, .. } => {
                let (group, resource) = owned(resource);
                ApiError::Conflict { group, resource, name, detail: CONFLICT_MODIFIED.into() }
            }
            StoreError::PreconditionFailed { resource, name, mismatch, .. } => {
                let (group, resource) = owned(resource);
                let field = mismatch.field.as_str();
                let detail = format!(
                    "Precondition failed: {field} in precondition: {}, {field} in object meta: {}",
                    mismatch.expected, mismatch.actual
                );
                ApiError::Conflict { group, resource, name, detail }
            }
            StoreError::UidChanged { resource, name, actual, .. } => {
                let path = crate::object::FieldPath::new("metadata").child("uid");
                let kind =
                    crate::object::kinds::storage_version(resource).map_or(resource.resource, |found| found.kind);
                ApiError::Invalid {
                    group: resource.group.into(),
                    kind: kind.into(),
                    name,
                    errors: vec![FieldError::invalid(&path, actual, "field is immutable")],
                }
            }
            StoreError::NameRequired { resource } => {
                let path = crate::object::FieldPath::new("metadata").child("name");
                let kind =
                    crate::object::kinds::storage_version(resource).map_or(resource.resource, |found| found.kind);
                ApiError::Invalid {
                    group: resource.group.into(),
                    kind: kind.into(),
                    name: String::new(),
                    errors: vec![FieldError::required(&path, "name or generateName is required")],
                }
            }
            StoreError::ContinueExpired { continue_token, .. } => ApiError::Expired {
                message: crate::store::CONTINUE_EXPIRED_MESSAGE.to_string(),
                continue_token: Some(continue_token),
            },
            error @ (StoreError::Expired { .. } | StoreError::ListExpired { .. }) => {
                ApiError::Expired { message: error.to_string(), continue_token: None }
            }
            error @ StoreError::TooLargeResourceVersion { .. } => ApiError::Timeout {
                message: error.to_string(),
                causes: vec![StatusCause::new("ResourceVersionTooLarge", "Too large resource version")],
                retry_after_seconds: RESOURCE_VERSION_TOO_LARGE_RETRY_SECONDS,
            },
            // etcd's client waits for a reachable member until the request's deadline, so an
            // unreachable or stalled etcd reaches a client as the handler's `finishRequest`
            // timeout: 504 with no retry delay. (The storage layer's `NewServerTimeout`, 500
            // ServerTimeout, is for `ErrCodeUnreachable`, which the etcd3 store never raises.)
            StoreError::Unavailable { .. } => ApiError::Timeout {
                message: REQUEST_DEADLINE_EXCEEDED_MESSAGE.into(),
                causes: Vec::new(),
                retry_after_seconds: 0,
            },
            StoreError::Internal { message } => ApiError::Internal { message },
            error @ (StoreError::InvalidContinue { .. }
            | StoreError::InvalidResourceVersion { .. }
            | StoreError::ResourceVersionSetOnCreate) => ApiError::BadRequest { message: error.to_string() },
        }
    }
}

/// How long a client waits before asking again for a resourceVersion the store has not reached:
/// 1 s, the Kubernetes watch cache's `resourceVersionTooHighRetrySeconds`.
pub const RESOURCE_VERSION_TOO_LARGE_RETRY_SECONDS: u32 = 1;

/// The message of Kubernetes' `finishRequest` when the storage does not answer before the
/// request's deadline (`NewTimeoutError` adds the `Timeout: ` prefix).
pub const REQUEST_DEADLINE_EXCEEDED_MESSAGE: &str =
    "request did not complete within requested timeout - context deadline exceeded";

/// The detail of a resourceVersion conflict, in Kubernetes' words.
pub const CONFLICT_MODIFIED: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") }
}

/// A kind with its group, as Kubernetes' `GroupKind.String()` prints it: `Deployment.apps`, `Pod`.
fn qualified_kind(group: &str, kind: &str) -> String {
    qualified(group, kind)
}

impl ApiError {
    /// A 404 for an object of `resource`.
    pub fn not_found(resource: &ResourceType, name: &str) -> ApiError {
        ApiError::NotFound { group: resource.group.into(), resource: resource.plural.into(), name: name.into() }
    }

    /// A 409 AlreadyExists for an object of `resource`.
    pub fn already_exists(resource: &ResourceType, name: &str) -> ApiError {
        ApiError::AlreadyExists { group: resource.group.into(), resource: resource.plural.into(), name: name.into() }
    }

    /// A 409 Conflict for an object of `resource` whose resourceVersion moved on.
    pub fn conflict(resource: &ResourceType, name: &str) -> ApiError {
        ApiError::Conflict {
            group: resource.group.into(),
            resource: resource.plural.into(),
            name: name.into(),
            detail: CONFLICT_MODIFIED.into(),
        }
    }

    /// A 422 Invalid for an object of `resource`.
    pub fn invalid(resource: &ResourceType, name: &str, errors: Vec<FieldError>) -> ApiError {
        ApiError::Invalid { group: resource.group.into(), kind: resource.kind.into(), name: name.into(), errors }
    }

    /// A 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::BadRequest { message: message.into() }
    }

    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            ApiError::NotFound { .. } | ApiError::NoRoute => 404,
            ApiError::AlreadyExists { .. } | ApiError::Conflict { .. } | ApiError::ApplyConflict { .. } => 409,
            ApiError::Invalid { .. } | ApiError::Unprocessable { .. } => 422,
            ApiError::BadRequest { .. } => 400,
            ApiError::Forbidden { .. } => 403,
            ApiError::MethodNotAllowed => 405,
            ApiError::Expired { .. } => 410,
            ApiError::TooLarge { .. } => 413,
            ApiError::UnsupportedMediaType { .. } => 415,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Timeout { .. } => 504,
            ApiError::Internal { .. } => 500,
        }
    }

    /// The `reason` of the Status (`NotFound`, `AlreadyExists`, …).
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::NoRoute => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } | ApiError::ApplyConflict { .. } => "Conflict",
            ApiError::Invalid { .. } | ApiError::Unprocessable { .. } => "Invalid",
            ApiError::BadRequest { .. } => "BadRequest",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::Expired { .. } => "Expired",
            ApiError::TooLarge { .. } => "RequestEntityTooLarge",
            ApiError::UnsupportedMediaType { .. } => "UnsupportedMediaType",
            ApiError::TooManyRequests { .. } => "TooManyRequests",
            ApiError::Timeout { .. } => "Timeout",
            ApiError::Internal { .. } => "InternalError",
        }
    }

    /// The `details` of the Status, if Kubernetes sends any for this error.
    fn details(&self) -> Option<Value> {
        let named = |group: &str, kind: &str, name: &str| {
            let mut details = Map::new();
            if !name.is_empty() {
                details.insert("name".into(), name.into());
            }
            if !group.is_empty() {
                details.insert("group".into(), group.into());
            }
            details.insert("kind".into(), kind.into());
            details
        };
        match self {
            ApiError::NotFound { group, resource, name }
            | ApiError::AlreadyExists { group, resource, name }
            | ApiError::Conflict { group, resource, name, .. } => Some(Value::Object(named(group, resource, name))),
            ApiError::Forbidden { group, resource, name, cause, .. } => {
                let mut details = named(group, resource, name);
                if let Some(cause) = cause {
                    details.insert("causes".into(), json!([cause.to_value()]));
                }
                Some(Value::Object(details))
            }
            ApiError::Invalid { group, kind, name, errors } => {
                let mut details = named(group, kind, name);
                let causes: Vec<Value> = errors
                    .iter()
                    .map(|error| {
                        json!({"reason": error.error_type.cause_reason(), "message": error.body(), "field": error.path.as_str()})
                    })
                    .collect();
                details.insert("causes".into(), Value::Array(causes));
                Some(Value::Object(details))
            }
            ApiError::ApplyConflict { causes, .. } => {
                Some(json!({"causes": causes.iter().map(StatusCause::to_value).collect::<Vec<_>>()}))
            }
            ApiError::TooManyRequests { causes, retry_after_seconds, .. }
            | ApiError::Timeout { causes, retry_after_seconds, .. } => {
                let mut details = Map::new();
                if !causes.is_empty() {
                    details.insert("causes".into(), causes.iter().map(StatusCause::to_value).collect());
                }
                if *retry_after_seconds > 0 {
                    details.insert("retryAfterSeconds".into(), (*retry_after_seconds).into());
                }
                Some(Value::Object(details))
            }
            ApiError::NoRoute => Some(json!({})),
            // `NewInternalError` repeats the error as the one cause.
            ApiError::Internal { message } => Some(json!({"causes": [{"message": message}]})),
            _ => None,
        }
    }

    /// The seconds Kubernetes tells the client to wait before retrying, if any: sent as
    /// `details.retryAfterSeconds` and as the `Retry-After` header.
    pub fn retry_after_seconds(&self) -> Option<u32> {
        match self {
            ApiError::TooManyRequests { retry_after_seconds, .. } | ApiError::Timeout { retry_after_seconds, .. } => {
                (*retry_after_seconds > 0).then_some(*retry_after_seconds)
            }
            _ => None,
        }
    }

    /// The HTTP headers Kubernetes sends with this error: `Retry-After` when the Status says
    /// when to retry (the API server's `ErrorNegotiated`).
    pub fn headers(&self) -> Vec<(String, String)> {
        self.retry_after_seconds().map(|seconds| ("Retry-After".to_string(), seconds.to_string())).into_iter().collect()
    }

    /// The `Status` object Kubernetes would send for this error.
    pub fn to_status(&self) -> Value {
        let mut status = Map::new();
        status.insert("kind".into(), "Status".into());
        status.insert("apiVersion".into(), "v1".into());
        let metadata = match self {
            ApiError::Expired { continue_token: Some(token), .. } => json!({"continue": token}),
            _ => json!({}),
        };
        status.insert("metadata".into(), metadata);
        status.insert("status".into(), "Failure".into());
        status.insert("message".into(), self.to_string().into());
        status.insert("reason".into(), self.reason().into());
        if let Some(details) = self.details() {
            status.insert("details".into(), details);
        }
        status.insert("code".into(), self.code().into());
        Value::Object(status)
    }
}

/// The `Status` Kubernetes sends for a successful delete of a collection or of an object that is
/// already gone: `{"kind":"Status","status":"Success",…}`.
pub fn success_status(details: Option<Value>) -> Value {
    let mut status = Map::new();
    status.insert("kind".into(), "Status".into());
    status.insert("apiVersion".into(), "v1".into());
    status.insert("metadata".into(), json!({}));
    status.insert("status".into(), "Success".into());
    if let Some(details) = details {
        status.insert("details".into(), details);
    }
    Value::Object(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::field_error::FieldPath;
    use crate::object::kinds::by_api_version_kind;

    fn pods() -> &'static ResourceType {
        by_api_version_kind("v1", "Pod").unwrap()
    }

    fn deployments() -> &'static ResourceType {
        by_api_version_kind("apps/v1", "Deployment").unwrap()
    }

    #[test]
    fn not_found_reads_like_kubernetes() {
        let error = ApiError::not_found(pods(), "web-0");
        insta::assert_json_snapshot!(error.to_status(), @r#"
        {
          "kind": "Status",
          "apiVersion": "v1",
          "metadata": {},
          "status": "Failure",
          "message": "pods \"web-0\" not found",
          "reason": "NotFound",
          "details": {
            "name": "web-0",
            "kind": "pods"
          },
          "code": 404
        }
        "#);
    }

    #[test]
    fn grouped_resources_are_qualified() {
        assert_eq!(ApiError::not_found(deployments(), "nosuch").to_string(), "deployments.apps \"nosuch\" not found");
        assert_eq!(
            ApiError::already_exists(deployments(), "web").to_string(),
            "deployments.apps \"web\" already exists"
        );
    }

    #[test]
    fn conflict_uses_kubernetes_wording() {
        assert_eq!(
            ApiError::conflict(pods(), "p").to_string(),
            "Operation cannot be fulfilled on pods \"p\": the object has been modified; please apply your changes to the latest version and try again"
        );
    }

    #[test]
    fn invalid_names_the_kind_and_lists_causes() {
        let path = FieldPath::new("spec").child("containers").index(0).child("image");
        let error = ApiError::invalid(pods(), "p", vec![FieldError::required(&path, "")]);
        insta::assert_json_snapshot!(error.to_status(), @r#"
        {
          "kind": "Status",
          "apiVersion": "v1",
          "metadata": {},
          "status": "Failure",
          "message": "Pod \"p\" is invalid: spec.containers[0].image: Required value",
          "reason": "Invalid",
          "details": {
            "name": "p",
            "kind": "Pod",
            "causes": [
              {
                "reason": "FieldValueRequired",
                "message": "Required value",
                "field": "spec.containers[0].image"
              }
            ]
          },
          "code": 422
        }
        "#);
    }
}
