//! HTTP ⇄ core: turns each HTTP request into an [`ApiRequest`], answers it through the shared
//! [`ApiServer`](coxswain_core::api::ApiServer), and writes the [`ApiResponse`] back — a JSON
//! body with Kubernetes' headers, or a chunked watch stream. The shell decides nothing about
//! Kubernetes objects; it enforces only the transport's limits (body size, requests in flight).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Response, StatusCode, header};
use bytes::Bytes;
use coxswain_core::api::{ApiError, ApiRequest, ApiResponse, Method, WatchStream, is_read};
use coxswain_core::limits::{MAX_MUTATING_REQUESTS_IN_FLIGHT, MAX_REQUEST_BYTES, MAX_REQUESTS_IN_FLIGHT};
use coxswain_core::store::Store;
use http_body_util::BodyExt;
use tokio::sync::Semaphore;

use super::node_proxy::{self, NodeProxy};
use super::shared_api::SharedApi;
use super::watch_stream;

/// What every connection's handler shares.
pub struct HttpState<S: Store> {
    /// The API server.
    pub api: Arc<SharedApi<S>>,
    /// Where log and exec requests go.
    pub nodes: Arc<dyn NodeProxy>,
    /// Non-mutating requests in flight.
    pub reads: Semaphore,
    /// Mutating requests in flight.
    pub writes: Semaphore,
    /// Flips to true when the server stops: open watches end.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

impl<S: Store + Send + Sync + 'static> HttpState<S> {
    /// The state for `api`, with at most `limits` requests in flight.
    pub fn new(
        api: Arc<SharedApi<S>>,
        nodes: Arc<dyn NodeProxy>,
        limits: InFlightLimits,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Arc<HttpState<S>> {
        Arc::new(HttpState {
            api,
            nodes,
            reads: Semaphore::new(limits.reads),
            writes: Semaphore::new(limits.writes),
            shutdown,
        })
    }
}

/// How many requests may be served at once before the server answers 429 with `Retry-After`
/// (kube-apiserver's `--max-requests-inflight` and `--max-mutating-requests-inflight`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InFlightLimits {
    /// Gets and lists.
    pub reads: usize,
    /// Creates, updates, patches and deletes.
    pub writes: usize,
}

impl Default for InFlightLimits {
    fn default() -> InFlightLimits {
        InFlightLimits { reads: MAX_REQUESTS_IN_FLIGHT, writes: MAX_MUTATING_REQUESTS_IN_FLIGHT }
    }
}

/// The router: every path goes to the core.
pub fn router<S: Store + Send + Sync + 'static>(state: Arc<HttpState<S>>) -> Router {
    Router::new().fallback(serve::<S>).with_state(state)
}

async fn serve<S: Store + Send + Sync + 'static>(
    State(state): State<Arc<HttpState<S>>>,
    request: Request,
) -> Response<Body> {
    let started = std::time::Instant::now();
    let method_name = request.method().to_string();
    let uri = request.uri().to_string();
    let response = answer(&state, request).await;
    tracing::debug!(method = %method_name, %uri, status = response.status().as_u16(), elapsed = ?started.elapsed(), "request");
    response
}

async fn answer<S: Store + Send + Sync + 'static>(state: &Arc<HttpState<S>>, request: Request) -> Response<Body> {
    let (mut parts, body) = request.into_parts();
    let Some(method) = Method::parse(parts.method.as_str()) else {
        return error_response(&ApiError::MethodNotAllowed);
    };
    let path_and_query = parts.uri.path_and_query().map(|value| value.as_str()).unwrap_or("/");
    let mut api_request = ApiRequest::new(method, path_and_query);
    api_request.headers = parts
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
        .collect();

    if let Some(target) = node_proxy::target(&api_request) {
        let upgrade = axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &()).await.ok();
        // What a WebSocket upgrade did not take: a SPDY upgrade's connection.
        let raw_upgrade = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();
        let (api, nodes) = (Arc::clone(&state.api), Arc::clone(&state.nodes));
        return node_proxy::serve(api, nodes, target, api_request, upgrade, raw_upgrade).await;
    }

    let declared_length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared_length.is_some_and(|length| length > MAX_REQUEST_BYTES) {
        return error_response(&ApiError::TooLarge { limit: MAX_REQUEST_BYTES });
    }
    match http_body_util::Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => api_request.body = collected.to_bytes().to_vec(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return error_response(&ApiError::TooLarge { limit: MAX_REQUEST_BYTES });
        }
        Err(error) => {
            return error_response(&ApiError::bad_request(format!("reading the request body failed: {error}")));
        }
    }

    let watching = is_read(&api_request) && is_watch(&api_request);
    let limit = if is_read(&api_request) { &state.reads } else { &state.writes };
    // Watches are long-running: like kube-apiserver, they do not count against the limits.
    let _permit = if watching {
        None
    } else {
        match limit.try_acquire() {
            Ok(permit) => Some(permit),
            Err(_) => return error_response(&too_many_requests()),
        }
    };
    let api = Arc::clone(&state.api);
    let answered = tokio::task::spawn_blocking(move || api.answer(&api_request)).await;
    match answered {
        Ok(ApiResponse::Json { status, body, warnings, headers }) => json_response(status, &body, &warnings, &headers),
        Ok(ApiResponse::Encoded { status, body }) => encoded_response(status, body, &[], &[]),
        Ok(ApiResponse::Watch(stream)) => watch_response(state, stream),
        Err(error) => error_response(&ApiError::Internal { message: format!("the request's task failed: {error}") }),
    }
}

/// Whether a GET is a watch (`?watch=true` or the legacy `/watch/` paths).
pub fn is_watch(request: &ApiRequest) -> bool {
    matches!(request.query_param("watch"), Some("1" | "true")) || request.path.contains("/watch/")
}

fn too_many_requests() -> ApiError {
    ApiError::TooManyRequests {
        message: "Too many requests, please try again later.".to_string(),
        causes: Vec::new(),
        retry_after_seconds: 1,
    }
}

/// The response for a core error.
pub fn error_response(error: &ApiError) -> Response<Body> {
    json_response(error.code(), &error.to_status(), &[], &error.headers())
}

/// A JSON answer with Kubernetes' `Warning` headers and whatever headers the core names.
pub fn json_response(
    status: u16,
    body: &serde_json::Value,
    warnings: &[String],
    headers: &[(String, String)],
) -> Response<Body> {
    encoded_response(status, serde_json::to_vec(body).unwrap_or_default(), warnings, headers)
}

/// [`json_response`] for a body that is JSON text already.
pub fn encoded_response(
    status: u16,
    bytes: Vec<u8>,
    warnings: &[String],
    headers: &[(String, String)],
) -> Response<Body> {
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let response_headers = response.headers_mut();
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in headers {
        let (Ok(name), Ok(value)) =
            (header::HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str()))
        else {
            continue;
        };
        response_headers.insert(name, value);
    }
    for warning in warnings {
        if let Ok(value) = HeaderValue::try_from(coxswain_core::api::warning_header_value(warning)) {
            response_headers.append(header::WARNING, value);
        }
    }
    response
}

fn watch_response<S: Store + Send + Sync + 'static>(
    state: &Arc<HttpState<S>>,
    stream: Box<WatchStream>,
) -> Response<Body> {
    let frames = watch_stream::spawn(Arc::clone(&state.api), stream, state.shutdown.clone());
    let body = Body::from_stream(futures_util::stream::unfold(frames, |mut frames| async move {
        frames.recv().await.map(|frame| (Ok::<Bytes, std::convert::Infallible>(frame), frames))
    }));
    let mut response = Response::new(body);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
