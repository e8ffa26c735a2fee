//! Requests and watches over HTTP/1.1: one connection per request (on loopback a connect costs
//! less than a pool's bookkeeping, and a partition cannot leave a pooled connection half-open),
//! a timeout on every request, and watch bodies split into their newline-separated JSON frames.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use coxswain_core::api::ApiRequest;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::connector::Connector;

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached.
    #[error("connecting to the API server failed: {0}")]
    Connect(#[source] std::io::Error),
    /// HTTP failed on the connection.
    #[error("HTTP exchange with the API server failed: {0}")]
    Http(#[from] hyper::Error),
    /// The request could not be built.
    #[error("invalid request: {0}")]
    Request(#[from] hyper::http::Error),
    /// No answer in time.
    #[error("the API server did not answer within {0:?}")]
    Timeout(Duration),
}

/// An answer: status and JSON body (`Null` when the body was empty or not JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Value,
}

/// A client of one API server.
#[derive(Clone)]
pub struct HttpClient {
    connector: Arc<dyn Connector>,
    timeout: Duration,
    user_agent: Arc<str>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("HttpClient").field("server", &self.connector.authority()).finish()
    }
}

impl HttpClient {
    /// A client that connects through `connector` and gives requests up after `timeout`.
    pub fn new(connector: Arc<dyn Connector>, timeout: Duration) -> HttpClient {
        HttpClient { connector, timeout, user_agent: Arc::from("coxswain") }
    }

    /// The same client, naming itself `agent` (`kube-scheduler/v1.32.0 …`): the API server
    /// takes a writer's field manager from the User-Agent's first part.
    pub fn with_user_agent(&self, agent: &str) -> HttpClient {
        HttpClient { user_agent: Arc::from(agent), ..self.clone() }
    }

    /// Sends a request and reads the whole answer.
    pub async fn send(&self, request: &ApiRequest) -> Result<Answer, ClientError> {
        let exchange = async {
            let response = self.exchange(request).await?;
            let status = response.status().as_u16();
            let bytes = response.into_body().collect().await?.to_bytes();
            Ok::<Answer, ClientError>(Answer { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
        };
        tokio::time::timeout(self.timeout, exchange).await.map_err(|_| ClientError::Timeout(self.timeout))?
    }

    /// Opens a watch: `Ok(Ok(frames))` when the server streams, `Ok(Err(answer))` when it
    /// refused (the answer carries its Status).
    pub async fn watch(&self, request: &ApiRequest) -> Result<Result<WatchFrames, Answer>, ClientError> {
        let response = tokio::time::timeout(self.timeout, self.exchange(request))
            .await
            .map_err(|_| ClientError::Timeout(self.timeout))??;
        let status = response.status().as_u16();
        if status != 200 {
            let bytes = response.into_body().collect().await?.to_bytes();
            return Ok(Err(Answer { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }));
        }
        Ok(Ok(WatchFrames { body: response.into_body(), buffer: BytesMut::new() }))
    }

    /// A session: requests sent one after the other on one kept-alive connection.
    pub fn session(&self) -> Session {
        Session { client: self.clone(), sender: None }
    }

    async fn connect(&self) -> Result<Sender, ClientError> {
        let connection = self.connector.connect().await.map_err(ClientError::Connect)?;
        let (sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(connection)).await?;
        tokio::spawn(async move {
            // The connection ends when its sender is dropped; its error, if any, reaches the
            // sender's request.
            let _ = driver.await;
        });
        Ok(sender)
    }

    async fn exchange(&self, request: &ApiRequest) -> Result<hyper::Response<Incoming>, ClientError> {
        let mut sender = self.connect().await?;
        Ok(sender.send_request(self.http_request(request)?).await?)
    }

    fn http_request(&self, request: &ApiRequest) -> Result<hyper::Request<Full<Bytes>>, ClientError> {
        let mut builder = hyper::Request::builder()
            .method(request.method.as_str())
            .uri(path_and_query(request))
            .header(hyper::header::HOST, self.connector.authority());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if request.header("user-agent").is_none() {
            builder = builder.header(hyper::header::USER_AGENT, &*self.user_agent);
        }
        if request.header("accept").is_none() {
            builder = builder.header(hyper::header::ACCEPT, "application/json");
        }
        Ok(builder.body(Full::new(Bytes::from(request.body.clone())))?)
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Requests sent in order on one kept-alive connection, reconnecting after a failure. A
/// component's requests go through one session so the server applies them in the order the
/// component sent them (a pod status written twice must land in that order), as the simulator's
/// FIFO links deliver them.
pub struct Session {
    client: HttpClient,
    sender: Option<Sender>,
}

impl Session {
    /// Sends a request and reads the whole answer.
    pub async fn send(&mut self, request: &ApiRequest) -> Result<Answer, ClientError> {
        let timeout = self.client.timeout;
        let result =
            tokio::time::timeout(timeout, self.exchange(request)).await.unwrap_or(Err(ClientError::Timeout(timeout)));
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    async fn exchange(&mut self, request: &ApiRequest) -> Result<Answer, ClientError> {
        let http_request = self.client.http_request(request)?;
        let sender = match &mut self.sender {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.sender.insert(self.client.connect().await?),
        };
        sender.ready().await?;
        let response = sender.send_request(http_request).await?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok(Answer { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
    }
}

/// The frames of an open watch.
#[derive(Debug)]
pub struct WatchFrames {
    body: Incoming,
    buffer: BytesMut,
}

impl WatchFrames {
    /// The next frame; `None` when the stream ended (or broke). Lines that are not JSON are
    /// skipped.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(end) = self.buffer.iter().position(|byte| *byte == b'\n') {
                let line = self.buffer.split_to(end + 1);
                match serde_json::from_slice(&line[..end]) {
                    Ok(frame) => return Some(frame),
                    Err(_) => continue,
                }
            }
            let frame = self.body.frame().await?.ok()?;
            if let Ok(mut data) = frame.into_data() {
                while data.has_remaining() {
                    let chunk = data.chunk();
                    self.buffer.extend_from_slice(chunk);
                    let length = chunk.len();
                    data.advance(length);
                }
            }
        }
    }
}

/// The request's path with its query re-encoded.
pub fn path_and_query(request: &ApiRequest) -> String {
    if request.query.is_empty() {
        return request.path.clone();
    }
    let query: Vec<String> = request
        .query
        .iter()
        .map(|(name, value)| format!("{}={}", encode_component(name), encode_component(value)))
        .collect();
    format!("{}?{}", request.path, query.join("&"))
}

fn encode_component(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => encoded.push(byte as char),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use coxswain_core::api::Method;

    use super::*;

    #[test]
    fn queries_are_percent_encoded() {
        let request =
            ApiRequest::new(Method::Get, "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1,status.phase!%3DFailed");
        assert_eq!(
            path_and_query(&request),
            "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1%2Cstatus.phase%21%3DFailed"
        );
        let round_trip = ApiRequest::new(Method::Get, &path_and_query(&request));
        assert_eq!(round_trip.query, request.query);
    }
}
