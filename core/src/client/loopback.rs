//! The simplest shell: components' requests go straight to an in-process [`ApiServer`], answers
//! and watch frames come straight back, in order, with no latency and no loss unless a test asks
//! for it. End-to-end tests run the real components this way; the simulator adds a network model
//! on top of the same values.

use std::collections::VecDeque;
use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;

use super::{Component, Incoming, Outgoing, RequestId};
use crate::api::{ApiServer, WatchStream};
use crate::store::Store;

/// Most rounds of deliveries [`Loopback::settle`] makes at one instant before it declares a
/// livelock: components that keep answering each other without time passing are a bug.
pub const MAX_SETTLE_ROUNDS: usize = 100_000;

/// Why the loopback shell stopped.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LoopbackError {
    /// The components kept exchanging messages at one instant.
    #[error("components still busy after {rounds} delivery rounds at one instant (livelock)")]
    Livelock {
        /// Rounds made.
        rounds: usize,
    },
}

#[derive(Debug)]
struct OpenWatch {
    component: usize,
    id: RequestId,
    stream: Box<WatchStream>,
}

/// An API server and the watches components hold open on it.
pub struct Loopback<S: Store> {
    server: ApiServer<S>,
    watches: Vec<OpenWatch>,
    pending: VecDeque<(usize, Incoming)>,
    requests: u64,
}

impl<S: Store> std::fmt::Debug for Loopback<S> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Loopback")
            .field("watches", &self.watches.len())
            .field("pending", &self.pending.len())
            .field("requests", &self.requests)
            .finish_non_exhaustive()
    }
}

impl<S: Store> Loopback<S> {
    /// A shell around `server`.
    pub fn new(server: ApiServer<S>) -> Loopback<S> {
        Loopback { server, watches: Vec::new(), pending: VecDeque::new(), requests: 0 }
    }

    /// The server, to inspect or to act on as a user would.
    pub fn server(&mut self) -> &mut ApiServer<S> {
        &mut self.server
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Watches open now.
    pub fn open_watches(&self) -> usize {
        self.watches.len()
    }

    /// Steps every component and delivers requests, answers and watch frames until nothing is
    /// left to deliver at `now`. Returns how many inputs were delivered.
    pub fn settle(&mut self, components: &mut [&mut dyn Component], now: Timestamp) -> Result<usize, LoopbackError> {
        for (index, component) in components.iter_mut().enumerate() {
            let outgoing = component.step(None, now);
            self.send_all(index, outgoing, now);
        }
        let mut delivered = 0;
        let mut rounds = 0;
        loop {
            self.poll_watches(now);
            if self.pending.is_empty() {
                return Ok(delivered);
            }
            while let Some((index, input)) = self.pending.pop_front() {
                // A component that left the slice (a stopped process) loses what was in flight.
                let Some(component) = components.get_mut(index) else { continue };
                delivered += 1;
                let outgoing = component.step(Some(input), now);
                self.send_all(index, outgoing, now);
            }
            rounds += 1;
            if rounds > MAX_SETTLE_ROUNDS {
                return Err(LoopbackError::Livelock { rounds });
            }
        }
    }

    /// The earliest time a component or an open watch's deadline needs attention.
    pub fn next_wake(&self, components: &[&mut dyn Component]) -> Option<Timestamp> {
        let component_wakes = components.iter().filter_map(|component| component.next_wake());
        let watch_deadlines = self.watches.iter().filter_map(|watch| watch.stream.deadline);
        component_wakes.chain(watch_deadlines).min()
    }

    /// Closes every open watch, as a dropped connection would; the components see `WatchClosed`
    /// at the next settle.
    pub fn drop_watches(&mut self) {
        for watch in self.watches.drain(..) {
            self.pending.push_back((watch.component, Incoming::WatchClosed { id: watch.id }));
        }
    }

    fn send_all(&mut self, component: usize, outgoing: Vec<Outgoing>, now: Timestamp) {
        for Outgoing { id, request } in outgoing {
            self.requests += 1;
            match self.server.handle(&request, now).into_json() {
                Ok((status, body)) => self.pending.push_back((component, Incoming::Response { id, status, body })),
                Err(stream) => self.watches.push(OpenWatch { component, id, stream }),
            }
        }
    }

    fn poll_watches(&mut self, now: Timestamp) {
        let store = self.server.store();
        let mut closed = Vec::new();
        for (position, watch) in self.watches.iter_mut().enumerate() {
            for frame in watch.stream.poll(store) {
                self.pending
                    .push_back((watch.component, Incoming::WatchFrame { id: watch.id, frame: Arc::new(frame) }));
            }
            if watch.stream.finished || watch.stream.timed_out(now) {
                closed.push(position);
            }
        }
        for position in closed.into_iter().rev() {
            let watch = self.watches.remove(position);
            self.pending.push_back((watch.component, Incoming::WatchClosed { id: watch.id }));
        }
    }
}
