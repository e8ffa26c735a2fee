//! `pods/{name}/log`, `pods/{name}/exec` and `pods/{name}/portforward`: kube-apiserver streams
//! these from the pod's node rather than answering them itself. The core decides which node and
//! container ([`coxswain_core::api::pod_proxy`]); this module fetches the pod, asks the node's
//! agent through a [`NodeProxy`], and carries the answer back: plain text for logs (held open
//! with `follow=true` until the container ends), the `v5.channel.k8s.io` WebSocket protocol for
//! exec, and SPDY streams for port-forward ([`super::port_forward`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderValue, Response, StatusCode, header};
use bytes::Bytes;
use coxswain_core::api::path::{ApiPath, parse_path};
use coxswain_core::api::pod_proxy::{self, ContainerLocation};
use coxswain_core::api::{ApiError, ApiRequest, ApiResponse, Method};
use coxswain_core::k8s_openapi::api::core::v1::Pod;
use coxswain_core::store::Store;
use serde_json::json;

use hyper::upgrade::OnUpgrade;
use tokio::io::{AsyncRead, AsyncWrite};

use super::http::{encoded_response, error_response, json_response};
use super::port_forward;
use super::shared_api::SharedApi;

/// A boxed future, as the proxy's methods return.
pub type Pending<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A command's result: exit code and what it printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOutput {
    /// The exit code.
    pub exit_code: i32,
    /// Standard output.
    pub output: String,
}

/// A byte stream to a port inside a pod.
pub trait PortStream: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> PortStream for T {}

/// What connecting to a pod's port gave.
pub enum PortConnection {
    /// Connected: bytes flow both ways until either side closes.
    Open(Box<dyn PortStream>),
    /// Refused: the node's error text, written on the port-forward error stream as it is.
    Refused(String),
}

/// One `kubectl port-forward` session's way to a pod, opened once per request as
/// kube-apiserver dials the kubelet once; each forwarded connection then asks for a port.
pub trait PortForwarder: Send + Sync + 'static {
    /// Connects to `port` inside the pod.
    fn connect(&self, port: u16) -> Pending<Result<PortConnection, ApiError>>;
}

/// The way to a node's agent.
pub trait NodeProxy: Send + Sync + 'static {
    /// A container's logs; `Ok(None)` when the node runs no such container.
    fn logs(
        &self,
        node: &str,
        namespace: &str,
        pod: &str,
        container: &str,
        tail_lines: Option<u64>,
    ) -> Pending<Result<Option<String>, ApiError>>;

    /// Runs a command in a container; `Ok(None)` when the node runs no such container.
    fn exec(
        &self,
        node: &str,
        namespace: &str,
        pod: &str,
        container: &str,
        command: Vec<String>,
    ) -> Pending<Result<Option<ExecOutput>, ApiError>>;

    /// Opens the way to a pod's ports (`kubectl port-forward`); an unreachable node fails here,
    /// before the client's connection is upgraded.
    fn port_forward(&self, node: &str, namespace: &str, pod: &str)
    -> Pending<Result<Arc<dyn PortForwarder>, ApiError>>;
}

/// No node agent runs in this process: every node is out of reach, as kube-apiserver answers
/// when it cannot dial a kubelet.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoNodes;

fn unreachable_node(node: &str) -> ApiError {
    ApiError::Internal { message: format!("error dialing backend: no agent of node {node} is reachable") }
}

impl NodeProxy for NoNodes {
    fn logs(&self, node: &str, _: &str, _: &str, _: &str, _: Option<u64>) -> Pending<Result<Option<String>, ApiError>> {
        let error = unreachable_node(node);
        Box::pin(async move { Err(error) })
    }

    fn exec(
        &self,
        node: &str,
        _: &str,
        _: &str,
        _: &str,
        _: Vec<String>,
    ) -> Pending<Result<Option<ExecOutput>, ApiError>> {
        let error = unreachable_node(node);
        Box::pin(async move { Err(error) })
    }

    fn port_forward(&self, node: &str, _: &str, _: &str) -> Pending<Result<Arc<dyn PortForwarder>, ApiError>> {
        let error = unreachable_node(node);
        Box::pin(async move { Err(error) })
    }
}

/// Which streaming subresource a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// `log`.
    Log,
    /// `exec`.
    Exec,
    /// `portforward`.
    PortForward,
}

/// A streaming request's pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyTarget {
    /// Which stream.
    pub stream: Stream,
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub pod: String,
}

/// The target when `request` is a pod log or exec request.
pub fn target(request: &ApiRequest) -> Option<ProxyTarget> {
    let Some(ApiPath::Resource(path)) = parse_path(&request.path) else { return None };
    if path.resource.kind != "Pod" || !path.resource.group.is_empty() {
        return None;
    }
    let stream = match (request.method, path.subresource.as_deref()) {
        (Method::Get, Some("log")) => Stream::Log,
        (Method::Get | Method::Post, Some("exec")) => Stream::Exec,
        (Method::Get | Method::Post, Some("portforward")) => Stream::PortForward,
        _ => return None,
    };
    Some(ProxyTarget { stream, namespace: path.namespace?, pod: path.name? })
}

/// Serves one log, exec or port-forward request. `upgrade` is the request's WebSocket upgrade,
/// `raw_upgrade` any other upgrade (SPDY) it asks for.
pub async fn serve<S: Store + Send + Sync + 'static>(
    api: Arc<SharedApi<S>>,
    nodes: Arc<dyn NodeProxy>,
    target: ProxyTarget,
    request: ApiRequest,
    upgrade: Option<WebSocketUpgrade>,
    raw_upgrade: Option<OnUpgrade>,
) -> Response<Body> {
    let pod = match fetch_pod(&api, &target).await {
        Ok(pod) => pod,
        Err(response) => return response,
    };
    let container = request.query_param("container");
    match target.stream {
        Stream::Log => {
            let location = match pod_proxy::log_location(&pod, container) {
                Ok(location) => location,
                Err(error) => return error_response(&error),
            };
            let tail_lines = request.query_param("tailLines").and_then(|lines| lines.parse().ok());
            let follow = matches!(request.query_param("follow"), Some("true" | "1"));
            logs(api, nodes, target, pod, location, tail_lines, follow).await
        }
        Stream::Exec => {
            let location = match pod_proxy::exec_location(&pod, container) {
                Ok(location) => location,
                Err(error) => return error_response(&error),
            };
            let command: Vec<String> =
                request.query.iter().filter(|(name, _)| name == "command").map(|(_, value)| value.clone()).collect();
            let Some(upgrade) = upgrade else {
                return error_response(&ApiError::bad_request("Upgrade request required"));
            };
            let output =
                match nodes.exec(&location.node, &target.namespace, &target.pod, &location.container, command).await {
                    Ok(Some(output)) => output,
                    Ok(None) => return error_response(&pod_proxy::container_not_running(&pod, &location.container)),
                    Err(error) => return error_response(&error),
                };
            upgrade
                .protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"])
                .on_upgrade(move |socket| send_exec_output(socket, output))
        }
        Stream::PortForward => {
            let node = match pod_proxy::port_forward_location(&pod) {
                Ok(node) => node,
                Err(error) => return error_response(&error),
            };
            let forwarder = match nodes.port_forward(&node, &target.namespace, &target.pod).await {
                Ok(forwarder) => forwarder,
                Err(error) => return error_response(&error),
            };
            port_forward::upgrade(&request, forwarder, upgrade, raw_upgrade)
        }
    }
}

async fn fetch_pod<S: Store + Send + Sync + 'static>(
    api: &Arc<SharedApi<S>>,
    target: &ProxyTarget,
) -> Result<Pod, Response<Body>> {
    let path = format!("/api/v1/namespaces/{}/pods/{}", target.namespace, target.pod);
    let request = ApiRequest::new(Method::Get, &path);
    let shared = Arc::clone(api);
    let answer = tokio::task::spawn_blocking(move || shared.answer(&request)).await;
    match answer {
        Ok(ApiResponse::Json { status: 200, body, .. }) => serde_json::from_value(body).map_err(|error| {
            error_response(&ApiError::Internal { message: format!("the stored pod does not decode: {error}") })
        }),
        Ok(ApiResponse::Json { status, body, warnings, headers }) => {
            Err(json_response(status, &body, &warnings, &headers))
        }
        Ok(ApiResponse::Encoded { status, body }) => Err(encoded_response(status, body, &[], &[])),
        Ok(ApiResponse::Watch(_)) | Err(_) => {
            Err(error_response(&ApiError::Internal { message: "reading the pod failed".to_string() }))
        }
    }
}

/// How often a followed log checks whether its container still runs.
const FOLLOW_POLL: Duration = Duration::from_secs(1);

async fn logs<S: Store + Send + Sync + 'static>(
    api: Arc<SharedApi<S>>,
    nodes: Arc<dyn NodeProxy>,
    target: ProxyTarget,
    pod: Pod,
    location: ContainerLocation,
    tail_lines: Option<u64>,
    follow: bool,
) -> Response<Body> {
    let text = match nodes.logs(&location.node, &target.namespace, &target.pod, &location.container, tail_lines).await {
        Ok(Some(text)) => text,
        Ok(None) => return error_response(&pod_proxy::container_not_running(&pod, &location.container)),
        Err(error) => return error_response(&error),
    };
    let mut text = text;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    let body = if follow {
        let (chunks, receiver) = tokio::sync::mpsc::channel::<Bytes>(4);
        tokio::spawn(async move {
            if chunks.send(Bytes::from(text)).await.is_err() {
                return;
            }
            // The simulated runtime writes no new lines: hold the stream until the container
            // stops running or the client leaves.
            loop {
                tokio::select! {
                    _ = chunks.closed() => return,
                    _ = tokio::time::sleep(FOLLOW_POLL) => {}
                }
                match nodes.logs(&location.node, &target.namespace, &target.pod, &location.container, Some(0)).await {
                    Ok(Some(_)) if still_running(&api, &target, &location.container).await => {}
                    _ => return,
                }
            }
        });
        Body::from_stream(futures_util::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|chunk| (Ok::<Bytes, std::convert::Infallible>(chunk), receiver))
        }))
    } else {
        Body::from(text)
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

async fn still_running<S: Store + Send + Sync + 'static>(
    api: &Arc<SharedApi<S>>,
    target: &ProxyTarget,
    container: &str,
) -> bool {
    let Ok(pod) = fetch_pod(api, target).await else { return false };
    pod.status
        .and_then(|status| status.container_statuses)
        .and_then(|statuses| statuses.into_iter().find(|status| status.name == container))
        .and_then(|status| status.state)
        .is_some_and(|state| state.running.is_some())
}

/// The exec protocol: stdout on channel 1, then the Status on channel 3 (`Success`, or
/// `NonZeroExitCode` with the exit code as a cause, which kubectl turns into its own exit code).
async fn send_exec_output(mut socket: WebSocket, output: ExecOutput) {
    if !output.output.is_empty() {
        let mut frame = vec![1u8];
        frame.extend_from_slice(output.output.as_bytes());
        if socket.send(Message::Binary(frame.into())).await.is_err() {
            return;
        }
    }
    let status = if output.exit_code == 0 {
        json!({"metadata": {}, "status": "Success"})
    } else {
        json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("command terminated with non-zero exit code: exit status {}", output.exit_code),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": output.exit_code.to_string()}]},
        })
    };
    let mut frame = vec![3u8];
    frame.extend_from_slice(status.to_string().as_bytes());
    let _ = socket.send(Message::Binary(frame.into())).await;
    // A normal closure (1000): kubectl treats a close without a code as a broken stream.
    let close = axum::extract::ws::CloseFrame { code: axum::extract::ws::close_code::NORMAL, reason: "".into() };
    let _ = socket.send(Message::Close(Some(close))).await;
    // Wait for the client's close (it may still be sending stdin): dropping the socket first
    // would reset the connection under it.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}
