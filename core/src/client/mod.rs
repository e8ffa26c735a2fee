//! The client side of the one protocol (DESIGN.md principle 3): what every component that talks
//! to the API server needs, as pure state machines the shells drive.
//!
//! A component asks for requests ([`Outgoing`]) and is fed back what the wire returned
//! ([`Incoming`]): whole responses, the frames of an open watch, and the end of a watch. The
//! simulator carries these values through its network model; production carries them over HTTP.
//! [`loopback`] is the simplest shell of all: it hands each request straight to an in-process
//! [`ApiServer`](crate::api::ApiServer), which is what end-to-end tests use.

pub mod action;
pub mod events;
pub mod informer;
pub mod leader_election;
pub mod leader_gate;
pub mod loopback;
pub mod paths;
pub mod requests;
pub mod token_bucket;
pub mod trimmed;
pub mod workqueue;

use std::sync::Arc;

use serde_json::Value;

use crate::api::ApiRequest;

/// Identifies one request (and, for a watch, every frame it delivers) between a component and
/// its shell. Each component numbers its own requests.
pub type RequestId = u64;

/// A request a component wants sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    /// The id the answer will carry.
    pub id: RequestId,
    /// The request; a `watch=1` query makes it a watch.
    pub request: ApiRequest,
}

/// What the shell feeds back to a component.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// The answer to a request (for a watch: only when the server refused to open it).
    Response {
        /// The request's id.
        id: RequestId,
        /// HTTP status code; 0 when the request never got an answer (connection lost).
        status: u16,
        /// The JSON body (`Null` when there was none).
        body: Value,
    },
    /// One frame of an open watch: `{"type": …, "object": …}`.
    WatchFrame {
        /// The watch request's id.
        id: RequestId,
        /// The frame, shared: the API server encodes a change once for every watch that
        /// receives the same frame.
        frame: Arc<Value>,
    },
    /// The watch ended (server timeout, ERROR frame sent, connection lost).
    WatchClosed {
        /// The watch request's id.
        id: RequestId,
    },
}

impl Incoming {
    /// The request this input answers.
    pub fn id(&self) -> RequestId {
        match self {
            Incoming::Response { id, .. } | Incoming::WatchFrame { id, .. } | Incoming::WatchClosed { id } => *id,
        }
    }
}

/// Whether a status code is a success (2xx).
pub fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// A component the shells drive (DESIGN.md principle 1): fed one input at a time (or none, when
/// only time passed), it answers with the requests to send now.
pub trait Component {
    /// Feeds one input (`None`: a timer fired or the shell is just asking) and returns the
    /// requests to send now.
    fn step(&mut self, input: Option<Incoming>, now: k8s_openapi::jiff::Timestamp) -> Vec<Outgoing>;

    /// When the component wants to be stepped again even if nothing arrives.
    fn next_wake(&self) -> Option<k8s_openapi::jiff::Timestamp>;
}
