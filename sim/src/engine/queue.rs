//! The one event queue of a run, ordered by (virtual time, sequence): events at the same instant
//! run in the order they were scheduled, so a run is a pure function of its inputs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use coxswain_core::api::ApiRequest;
use coxswain_core::client::{Incoming, RequestId};

use super::hosts::HostId;

/// Milliseconds since the start of the run: the engine's clock. Integer time keeps ordering and
/// traces exact.
pub type Millis = u64;

/// Something that happens at an instant.
#[derive(Debug)]
pub enum Event {
    /// A component asked to be stepped at this time.
    Wake {
        /// The host.
        host: HostId,
    },
    /// A request reaches the API server.
    RequestArrives {
        /// Who sent it.
        host: HostId,
        /// The sender's incarnation when it sent it.
        epoch: u64,
        /// The request's id at the sender.
        id: RequestId,
        /// The request.
        request: Box<ApiRequest>,
    },
    /// An answer, a watch frame or a watch's end reaches a component.
    Deliver {
        /// The receiver.
        host: HostId,
        /// The receiver's incarnation the message was sent to.
        epoch: u64,
        /// What arrives.
        input: Box<Incoming>,
    },
    /// An open watch reaches its server-side deadline (`timeoutSeconds`).
    WatchDeadline {
        /// The watcher.
        host: HostId,
        /// The watch request's id.
        id: RequestId,
    },
    /// An open watch that allows bookmarks is due one (kube-apiserver's cacher sends one about
    /// every minute and one just before the deadline).
    WatchBookmark {
        /// The watcher.
        host: HostId,
        /// The watch request's id.
        id: RequestId,
    },
    /// The next timeline entry is due.
    Timeline {
        /// Its index.
        index: usize,
    },
    /// A random fault is due.
    RandomFault {
        /// Its index in the drawn fault plan.
        index: usize,
    },
    /// A user process (a drain) wants to act again.
    UserWake {
        /// Its index.
        index: usize,
    },
    /// Time to sample the cluster for the report and check timed expectations.
    Sample,
    /// Heal every fault: the liveness phase starts.
    Heal,
    /// The API server's next Event expiry (`--event-ttl`) is due.
    ExpireEvents,
    /// A node of a pool with `joinAt` boots for the first time.
    Join {
        /// The node's index.
        node: usize,
    },
}

#[derive(Debug)]
struct Scheduled {
    at: Millis,
    sequence: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Scheduled) -> bool {
        (self.at, self.sequence) == (other.at, other.sequence)
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Scheduled) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Scheduled) -> std::cmp::Ordering {
        (self.at, self.sequence).cmp(&(other.at, other.sequence))
    }
}

/// Events in (time, sequence) order.
#[derive(Debug, Default)]
pub struct EventQueue {
    heap: BinaryHeap<Reverse<Scheduled>>,
    sequence: u64,
}

impl EventQueue {
    /// Schedules `event` at `at`.
    pub fn push(&mut self, at: Millis, event: Event) {
        self.sequence += 1;
        self.heap.push(Reverse(Scheduled { at, sequence: self.sequence, event }));
    }

    /// The earliest event, if any.
    pub fn pop(&mut self) -> Option<(Millis, Event)> {
        self.heap.pop().map(|Reverse(scheduled)| (scheduled.at, scheduled.event))
    }

    /// When the earliest event is due.
    pub fn peek_time(&self) -> Option<Millis> {
        self.heap.peek().map(|Reverse(scheduled)| scheduled.at)
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_by_time_then_in_the_order_they_were_scheduled() {
        let mut queue = EventQueue::default();
        queue.push(20, Event::Timeline { index: 0 });
        queue.push(10, Event::Timeline { index: 1 });
        queue.push(10, Event::Timeline { index: 2 });
        queue.push(15, Event::Timeline { index: 3 });
        let order: Vec<(Millis, usize)> = std::iter::from_fn(|| queue.pop())
            .map(|(at, event)| match event {
                Event::Timeline { index } => (at, index),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(order, [(10, 1), (10, 2), (15, 3), (20, 0)]);
    }
}
