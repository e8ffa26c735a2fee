//! `pods/{name}/portforward` once the pod's node is reachable: the upgrade (a WebSocket carrying
//! SPDY, `SPDY/3.1+portforward.k8s.io`, which kubectl 1.31+ tries first, or plain `SPDY/3.1`,
//! its fallback), then the kubelet's side of the `portforward.k8s.io` protocol. kubectl opens
//! two streams per local connection, `streamType: error` and `streamType: data`, with the same
//! `requestID` and `port`; each is replied to at once, and once both are there the node is
//! asked for the port. An open port's bytes flow over the data stream; a refusal's text goes
//! on the error stream, which kubectl prints. Both streams end with FIN, the error stream
//! first, as the kubelet closes them.
//!
//! Differences from Kubernetes, deliberate: a pair whose second stream never comes waits until
//! the session ends rather than for the kubelet's 30-second stream-creation timeout, and a
//! second stream of a type the pair already has is refused instead of answered with an error.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderValue, Response, StatusCode, header};
use coxswain_core::api::{ApiError, ApiRequest};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::http::error_response;
use super::node_proxy::{PortConnection, PortForwarder, PortStream};
use super::spdy::{self, Stream, StreamReader, StreamWriter, websocket_tunnel};

/// The port-forward protocol's name (`X-Stream-Protocol-Version`).
pub const PORT_FORWARD_PROTOCOL: &str = "portforward.k8s.io";

/// The WebSocket subprotocol that tunnels a SPDY port-forward session.
pub const TUNNELING_PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";

/// The `Upgrade` token of a plain SPDY session.
pub const SPDY_UPGRADE: &str = "SPDY/3.1";

/// Answers a port-forward request with an upgrade and serves the session behind it.
pub fn upgrade(
    request: &ApiRequest,
    forwarder: Arc<dyn PortForwarder>,
    websocket: Option<WebSocketUpgrade>,
    raw_upgrade: Option<OnUpgrade>,
) -> Response<Body> {
    if let Some(websocket) = websocket {
        let websocket = websocket.protocols([TUNNELING_PROTOCOL]);
        if websocket.selected_protocol().is_none() {
            // A non-101 answer is what makes kubectl fall back to plain SPDY.
            return error_response(&ApiError::bad_request(format!(
                "unable to upgrade: the WebSocket subprotocol {TUNNELING_PROTOCOL} is required"
            )));
        }
        return websocket.on_upgrade(move |socket| serve_session(websocket_tunnel::tunnel(socket), forwarder));
    }
    let asks_for_spdy = request.header("upgrade").is_some_and(|value| value.eq_ignore_ascii_case(SPDY_UPGRADE))
        && request.header("connection").is_some_and(|value| value.to_ascii_lowercase().contains("upgrade"));
    let Some(on_upgrade) = raw_upgrade.filter(|_| asks_for_spdy) else {
        return error_response(&ApiError::bad_request("Upgrade request required"));
    };
    let offered: Vec<&str> = request
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("x-stream-protocol-version"))
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
        .collect();
    if !offered.is_empty() && !offered.contains(&PORT_FORWARD_PROTOCOL) {
        // As kubelet's handshake answers: plain text, 403.
        let message = format!(
            "unable to upgrade: unable to negotiate protocol: client supports {offered:?}, server accepts \
             [\"{PORT_FORWARD_PROTOCOL}\"]"
        );
        let mut response = Response::new(Body::from(message));
        *response.status_mut() = StatusCode::FORBIDDEN;
        return response;
    }
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => serve_session(TokioIo::new(upgraded), forwarder).await,
            Err(error) => tracing::debug!(%error, "a port-forward upgrade failed"),
        }
    });
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static(SPDY_UPGRADE));
    if !offered.is_empty() {
        headers.insert("X-Stream-Protocol-Version", HeaderValue::from_static(PORT_FORWARD_PROTOCOL));
    }
    response
}

/// Which of a connection's two streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StreamType {
    Error,
    Data,
}

/// What a stream's headers ask for: its pair, its role and the port.
#[derive(Clone, Debug, PartialEq, Eq)]
struct StreamRequest {
    request_id: String,
    stream_type: StreamType,
    port: u16,
}

/// Reads a stream's headers as the kubelet does, with its messages for what is wrong.
fn stream_request(stream_id: u32, headers: &spdy::Headers) -> Result<StreamRequest, String> {
    let port = headers.get("port").filter(|port| !port.is_empty()).ok_or("\"port\" header is required")?;
    let port: u16 = port.parse().map_err(|error| format!("unable to parse \"{port}\" as a port: {error}"))?;
    if port < 1 {
        return Err(format!("port \"{port}\" must be > 0"));
    }
    let stream_type = match headers.get("streamType").filter(|kind| !kind.is_empty()) {
        None => return Err("\"streamType\" header is required".to_string()),
        Some("error") => StreamType::Error,
        Some("data") => StreamType::Data,
        Some(other) => return Err(format!("invalid stream type \"{other}\"")),
    };
    // Clients before `requestID` existed sent a connection's streams with consecutive ids,
    // error first: the error stream's id names the pair.
    let request_id = match headers.get("requestID").filter(|id| !id.is_empty()) {
        Some(id) => id.to_string(),
        None if stream_type == StreamType::Error => stream_id.to_string(),
        None => stream_id.saturating_sub(2).to_string(),
    };
    Ok(StreamRequest { request_id, stream_type, port })
}

#[derive(Default)]
struct Pair {
    error: Option<Stream>,
    data: Option<Stream>,
}

/// Serves one SPDY session: pairs streams by request and forwards each pair.
async fn serve_session<T>(io: T, forwarder: Arc<dyn PortForwarder>)
where
    T: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut streams, session) = spdy::serve(io);
    let mut pairs: BTreeMap<String, Pair> = BTreeMap::new();
    while let Some(stream) = streams.recv().await {
        let request = match stream_request(stream.id(), stream.headers()) {
            Ok(request) => request,
            Err(reason) => {
                tracing::debug!(stream = stream.id(), %reason, "a port-forward stream was refused");
                stream.writer.refuse().await;
                continue;
            }
        };
        if stream.writer.reply().await.is_err() {
            break;
        }
        let pair = pairs.entry(request.request_id.clone()).or_default();
        let slot = match request.stream_type {
            StreamType::Error => &mut pair.error,
            StreamType::Data => &mut pair.data,
        };
        if slot.is_some() {
            stream.writer.refuse().await;
            continue;
        }
        *slot = Some(stream);
        if pair.error.is_some()
            && pair.data.is_some()
            && let Some(Pair { error: Some(error), data: Some(data) }) = pairs.remove(&request.request_id)
        {
            tokio::spawn(forward(error, data, request.port, Arc::clone(&forwarder)));
        }
    }
    drop(pairs);
    drop(streams);
    let _ = session.await;
}

/// One forwarded connection: ask the node for the port, then carry bytes or the refusal.
async fn forward(error: Stream, data: Stream, port: u16, forwarder: Arc<dyn PortForwarder>) {
    let failure = match forwarder.connect(port).await {
        Ok(PortConnection::Open(connection)) => {
            carry(connection, data.reader, &data.writer).await;
            None
        }
        Ok(PortConnection::Refused(message)) => Some(message),
        Err(error) => Some(error.to_string()),
    };
    if let Some(message) = failure {
        let _ = error.writer.write(message.as_bytes()).await;
    }
    let _ = error.writer.finish().await;
    let _ = data.writer.finish().await;
}

/// Copies the client's bytes to the port and the port's bytes back until the port closes.
async fn carry(connection: Box<dyn PortStream>, mut from_client: StreamReader, to_client: &StreamWriter) {
    let (mut from_port, mut to_port) = tokio::io::split(connection);
    let upstream = async move {
        while let Some(bytes) = from_client.read().await {
            if to_port.write_all(&bytes).await.is_err() {
                return;
            }
        }
        // The client finished sending: half-close the port so it sees the end of its input.
        let _ = to_port.shutdown().await;
        // Keep the reader, so the client's late bytes are still taken off the session.
        std::future::pending::<()>().await;
    };
    let downstream = async move {
        let mut buffer = vec![0u8; spdy::session::MAX_DATA_FRAME_BYTES];
        loop {
            match from_port.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => {
                    if to_client.write(&buffer[..read]).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    tokio::select! {
        () = upstream => {}
        () = downstream => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> spdy::Headers {
        spdy::Headers::new(pairs.iter().copied())
    }

    #[test]
    fn stream_headers_are_read_as_the_kubelet_reads_them() {
        // Rows from kubelet's httpStreamReceived and requestID (pkg/kubelet/cri/streaming/portforward/httpstream.go).
        let valid = headers(&[("streamtype", "data"), ("port", "8080"), ("requestid", "4")]);
        assert_eq!(
            stream_request(9, &valid),
            Ok(StreamRequest { request_id: "4".into(), stream_type: StreamType::Data, port: 8080 })
        );
        assert_eq!(stream_request(1, &headers(&[("streamType", "data")])), Err("\"port\" header is required".into()));
        assert_eq!(
            stream_request(1, &headers(&[("port", "http")])),
            Err("unable to parse \"http\" as a port: invalid digit found in string".into())
        );
        assert_eq!(stream_request(1, &headers(&[("port", "0")])), Err("port \"0\" must be > 0".into()));
        assert_eq!(stream_request(1, &headers(&[("port", "80")])), Err("\"streamType\" header is required".into()));
        assert_eq!(
            stream_request(1, &headers(&[("port", "80"), ("streamType", "stdin")])),
            Err("invalid stream type \"stdin\"".into())
        );
        let old_error = headers(&[("port", "80"), ("streamType", "error")]);
        let old_data = headers(&[("port", "80"), ("streamType", "data")]);
        assert_eq!(stream_request(5, &old_error).unwrap().request_id, "5");
        assert_eq!(stream_request(7, &old_data).unwrap().request_id, "5", "an old client's pair: ids 5 and 7");
    }
}
