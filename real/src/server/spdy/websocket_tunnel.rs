//! SPDY inside WebSocket (`SPDY/3.1+portforward.k8s.io`, Kubernetes' KEP-4006): the SPDY
//! session's bytes travel as WebSocket binary messages, cut anywhere, in both directions. This
//! module turns the WebSocket into a byte stream the SPDY session runs over unchanged.

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// Bytes in flight between the WebSocket and the session in each direction.
const TUNNEL_BUFFER_BYTES: usize = 64 * 1024;

/// The most bytes one binary message this side sends carries.
const MAX_MESSAGE_BYTES: usize = 32 * 1024;

/// The byte stream carried by `socket`; a task moves bytes until either side closes.
pub fn tunnel(socket: WebSocket) -> DuplexStream {
    let (session_end, tunnel_end) = tokio::io::duplex(TUNNEL_BUFFER_BYTES);
    tokio::spawn(pump(socket, tunnel_end));
    session_end
}

async fn pump(mut socket: WebSocket, tunnel: DuplexStream) {
    let (mut from_session, mut to_session) = tokio::io::split(tunnel);
    let mut buffer = BytesMut::with_capacity(MAX_MESSAGE_BYTES);
    loop {
        buffer.reserve(MAX_MESSAGE_BYTES);
        tokio::select! {
            message = socket.recv() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    if to_session.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                // Pings are answered by the WebSocket layer; the tunnel carries binary only.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Text(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            },
            read = from_session.read_buf(&mut buffer) => match read {
                Ok(0) | Err(_) => {
                    // The session ended: a normal closure, which the client reads as EOF.
                    let close = CloseFrame { code: close_code::NORMAL, reason: "".into() };
                    let _ = socket.send(Message::Close(Some(close))).await;
                    break;
                }
                Ok(_) => {
                    let message = Message::Binary(buffer.split().freeze());
                    if socket.send(message).await.is_err() {
                        break;
                    }
                }
            },
        }
    }
    // The peer's side ended: the session reads EOF.
    let _ = to_session.shutdown().await;
}
