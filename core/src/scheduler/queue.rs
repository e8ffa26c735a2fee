//! The scheduling queue (kube-scheduler's `PriorityQueue`): activeQ served by priority then
//! queue time (PrioritySort's order), backoffQ for Pods waiting out 1 s doubling to 10 s per
//! attempt, and the unschedulable Pods that move back when a cluster event one of their
//! rejecting plugins registered happens, or after five minutes. Time is always an input.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::fast_map::FastHashMap;
use super::framework::{ClusterEvent, EventResource};
use super::limits::{POD_INITIAL_BACKOFF, POD_MAX_BACKOFF, POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION};
use super::node_info::{PodInfo, PodKey};
use crate::jiff::{SignedDuration, Timestamp};

/// A Pod in the queue with its scheduling history (`framework.QueuedPodInfo`).
#[derive(Clone, Debug)]
pub struct QueuedPodInfo {
    /// The Pod.
    pub pod: Arc<PodInfo>,
    /// When the Pod last entered the queue or last failed; orders activeQ and starts backoff.
    pub timestamp: Timestamp,
    /// How many times it was popped for scheduling.
    pub attempts: u32,
    /// When it first entered the queue.
    pub initial_attempt_timestamp: Timestamp,
    /// The plugins that rejected it last time; empty after an error.
    pub unschedulable_plugins: BTreeSet<&'static str>,
}

/// Where a Pod waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Location {
    Active(ActiveKey),
    Backoff((Timestamp, u64)),
    Unschedulable,
    /// Refused by a PreEnqueue plugin: waits for its own update, deaf to cluster events.
    Gated,
    /// Popped and being scheduled.
    InFlight,
}

/// activeQ's order: higher priority first, then earlier timestamp, then arrival.
type ActiveKey = (Reverse<i32>, Timestamp, u64);

#[derive(Clone, Debug)]
struct Entry {
    info: QueuedPodInfo,
    location: Location,
}

/// How a failed attempt ended, which decides where the Pod waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Rejected by these plugins: wait for an event they registered.
    Unschedulable(BTreeSet<&'static str>),
    /// Failed internally: back off and retry.
    Error,
}

/// The queue of Pods waiting to be scheduled.
#[derive(Clone, Debug)]
pub struct SchedulingQueue {
    entries: FastHashMap<PodKey, Entry>,
    active: BTreeMap<ActiveKey, PodKey>,
    backoff: BTreeMap<(Timestamp, u64), PodKey>,
    unschedulable: BTreeSet<PodKey>,
    /// The unschedulable Pods by when they entered, so the five-minute leftover flush and the
    /// next wake-up read the oldest instead of scanning every unschedulable Pod on each step.
    unschedulable_since: BTreeSet<(Timestamp, PodKey)>,
    gated: usize,
    sequence: u64,
    initial_backoff: Duration,
    max_backoff: Duration,
    /// The events each plugin registered.
    events_by_plugin: BTreeMap<&'static str, Vec<ClusterEvent>>,
}

fn after(time: Timestamp, duration: Duration) -> Timestamp {
    let duration = SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX);
    time.checked_add(duration).unwrap_or(Timestamp::MAX)
}

impl Default for SchedulingQueue {
    fn default() -> SchedulingQueue {
        SchedulingQueue::new(POD_INITIAL_BACKOFF, POD_MAX_BACKOFF, BTreeMap::new())
    }
}

impl SchedulingQueue {
    /// An empty queue with the given backoff bounds and the plugins' registered events.
    pub fn new(
        initial_backoff: Duration,
        max_backoff: Duration,
        events_by_plugin: BTreeMap<&'static str, Vec<ClusterEvent>>,
    ) -> SchedulingQueue {
        SchedulingQueue {
            entries: FastHashMap::default(),
            active: BTreeMap::new(),
            backoff: BTreeMap::new(),
            unschedulable: BTreeSet::new(),
            unschedulable_since: BTreeSet::new(),
            gated: 0,
            sequence: 0,
            initial_backoff,
            max_backoff,
            events_by_plugin,
        }
    }

    fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    fn detach(&mut self, key: &PodKey) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        match entry.location {
            Location::Active(active) => {
                self.active.remove(&active);
            }
            Location::Backoff(backoff) => {
                self.backoff.remove(&backoff);
            }
            Location::Unschedulable => {
                self.unschedulable.remove(key);
                self.unschedulable_since.remove(&(entry.info.timestamp, key.clone()));
            }
            Location::Gated => self.gated -= 1,
            Location::InFlight => {}
        }
        Some(entry)
    }

    fn push_active(&mut self, info: QueuedPodInfo) {
        let key = (Reverse(info.pod.priority), info.timestamp, self.next_sequence());
        self.active.insert(key, info.pod.key.clone());
        self.entries.insert(info.pod.key.clone(), Entry { info, location: Location::Active(key) });
    }

    fn push_backoff(&mut self, info: QueuedPodInfo) {
        let key = (self.backoff_expiry(&info), self.next_sequence());
        self.backoff.insert(key, info.pod.key.clone());
        self.entries.insert(info.pod.key.clone(), Entry { info, location: Location::Backoff(key) });
    }

    /// The backoff after `attempts` attempts: initial, doubled per further attempt, capped.
    pub fn backoff_duration(&self, attempts: u32) -> Duration {
        let mut duration = self.initial_backoff;
        for _ in 1..attempts {
            duration = duration.saturating_mul(2);
            if duration > self.max_backoff {
                return self.max_backoff;
            }
        }
        duration
    }

    fn backoff_expiry(&self, info: &QueuedPodInfo) -> Timestamp {
        after(info.timestamp, self.backoff_duration(info.attempts))
    }

    /// A new pending Pod: straight to activeQ. A Pod already queued is updated instead.
    pub fn add(&mut self, pod: Arc<PodInfo>, now: Timestamp) {
        if self.entries.contains_key(&pod.key) {
            self.update(pod, now);
            return;
        }
        self.push_active(Self::fresh(pod, now));
    }

    fn fresh(pod: Arc<PodInfo>, now: Timestamp) -> QueuedPodInfo {
        QueuedPodInfo {
            pod,
            timestamp: now,
            attempts: 0,
            initial_attempt_timestamp: now,
            unschedulable_plugins: BTreeSet::new(),
        }
    }

    /// A pending Pod a PreEnqueue plugin refused (a scheduling gate): it waits outside activeQ,
    /// and only its own update (through [`SchedulingQueue::add`]) can release it. An in-flight
    /// Pod is left to its attempt.
    pub fn gate(&mut self, pod: Arc<PodInfo>, now: Timestamp) {
        let info = match self.entries.get(&pod.key).map(|entry| entry.location) {
            Some(Location::InFlight) => return,
            Some(_) => match self.detach(&pod.key) {
                Some(entry) => QueuedPodInfo { pod, ..entry.info },
                None => Self::fresh(pod, now),
            },
            None => Self::fresh(pod, now),
        };
        self.gated += 1;
        self.entries.insert(info.pod.key.clone(), Entry { info, location: Location::Gated });
    }

    /// A pending Pod changed: updated where it waits; an unschedulable one is retried (its
    /// change may be what it needed), after its backoff.
    pub fn update(&mut self, pod: Arc<PodInfo>, now: Timestamp) {
        let Some(entry) = self.entries.get_mut(&pod.key) else {
            self.add(pod, now);
            return;
        };
        entry.info.pod = pod;
        match entry.location {
            Location::Unschedulable => {
                let key = entry.info.pod.key.clone();
                if let Some(entry) = self.detach(&key) {
                    self.requeue(entry.info, now);
                }
            }
            Location::Gated => {
                // Released from its gates: straight to activeQ, as a Pod never attempted.
                let key = entry.info.pod.key.clone();
                if let Some(mut entry) = self.detach(&key) {
                    entry.info.timestamp = now;
                    self.push_active(entry.info);
                }
            }
            _ => {}
        }
    }

    /// A pending Pod was deleted or bound elsewhere.
    pub fn delete(&mut self, key: &PodKey) {
        self.detach(key);
    }

    fn requeue(&mut self, info: QueuedPodInfo, now: Timestamp) {
        if self.backoff_expiry(&info) > now {
            self.push_backoff(info);
        } else {
            self.push_active(info);
        }
    }

    /// Moves Pods whose backoff ended to activeQ (`flushBackoffQCompleted`).
    pub fn flush_backoff_completed(&mut self, now: Timestamp) {
        while let Some(entry) = self.backoff.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            if let Some(entry) = self.entries.remove(&key) {
                self.push_active(entry.info);
            }
        }
    }

    /// Moves Pods unschedulable for longer than five minutes back (`flushUnschedulablePodsLeftover`).
    pub fn flush_unschedulable_leftover(&mut self, now: Timestamp) {
        // In key order, as the scan over every unschedulable Pod had it.
        let mut expired: Vec<PodKey> = self
            .unschedulable_since
            .iter()
            .take_while(|(since, _)| after(*since, POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION) <= now)
            .map(|(_, key)| key.clone())
            .collect();
        expired.sort();
        for key in expired {
            if let Some(entry) = self.detach(&key) {
                self.requeue(entry.info, now);
            }
        }
    }

    /// Takes the next Pod to schedule, after flushing completed backoffs; its attempt count
    /// goes up.
    pub fn pop(&mut self, now: Timestamp) -> Option<QueuedPodInfo> {
        self.flush_backoff_completed(now);
        let (_, key) = self.active.pop_first()?;
        let entry = self.entries.get_mut(&key)?;
        entry.location = Location::InFlight;
        entry.info.attempts += 1;
        Some(entry.info.clone())
    }

    /// A popped Pod was scheduled (or its attempt otherwise ended without requeueing).
    pub fn done(&mut self, key: &PodKey) {
        if self.entries.get(key).is_some_and(|entry| entry.location == Location::InFlight) {
            self.entries.remove(key);
        }
    }

    /// A popped Pod failed: rejected Pods wait for an event, errors back off
    /// (`AddUnschedulableIfNotPresent`).
    pub fn add_unschedulable(&mut self, mut info: QueuedPodInfo, failure: Failure, now: Timestamp) {
        let key = info.pod.key.clone();
        self.detach(&key);
        info.timestamp = now;
        match failure {
            Failure::Error => {
                info.unschedulable_plugins.clear();
                self.push_backoff(info);
            }
            Failure::Unschedulable(plugins) => {
                info.unschedulable_plugins = plugins;
                self.unschedulable.insert(key.clone());
                self.unschedulable_since.insert((info.timestamp, key.clone()));
                self.entries.insert(key, Entry { info, location: Location::Unschedulable });
            }
        }
    }

    /// Whether an event can make a Pod rejected by these plugins schedulable.
    fn event_may_help(&self, plugins: &BTreeSet<&'static str>, event: &ClusterEvent) -> bool {
        if plugins.is_empty() || event.resource == EventResource::WildCard {
            return true;
        }
        plugins.iter().any(|plugin| match self.events_by_plugin.get(plugin) {
            None => true,
            Some(events) if events.is_empty() => true,
            Some(events) => events.iter().any(|registered| registered.matches(event)),
        })
    }

    /// A cluster event happened: unschedulable Pods it may help move to activeQ, or backoffQ if
    /// still backing off (`MoveAllToActiveOrBackoffQueue`).
    pub fn move_all_to_active_or_backoff(&mut self, event: ClusterEvent, now: Timestamp) {
        let moving: Vec<PodKey> = self
            .unschedulable
            .iter()
            .filter(|key| {
                self.entries
                    .get(*key)
                    .is_some_and(|entry| self.event_may_help(&entry.info.unschedulable_plugins, &event))
            })
            .cloned()
            .collect();
        for key in moving {
            if let Some(entry) = self.detach(&key) {
                self.requeue(entry.info, now);
            }
        }
    }

    /// When the queue next needs a step: the earliest backoff expiry or unschedulable timeout.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        let backoff = self.backoff.keys().next().map(|(expiry, _)| *expiry);
        let unschedulable =
            self.unschedulable_since.first().map(|(since, _)| after(*since, POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION));
        match (backoff, unschedulable) {
            (Some(left), Some(right)) => Some(left.min(right)),
            (left, right) => left.or(right),
        }
    }

    /// How many Pods wait behind a PreEnqueue plugin (scheduling gates).
    pub fn gated_len(&self) -> usize {
        self.gated
    }

    /// How many Pods wait in activeQ, backoffQ and among the unschedulable.
    pub fn lengths(&self) -> (usize, usize, usize) {
        (self.active.len(), self.backoff.len(), self.unschedulable.len())
    }

    /// Whether the queue holds the Pod anywhere.
    pub fn contains(&self, key: &PodKey) -> bool {
        self.entries.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::testing::make_pod;

    fn pod(name: &str) -> Arc<PodInfo> {
        Arc::new(make_pod(name).info())
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).expect("in range")
    }

    fn rejected() -> Failure {
        Failure::Unschedulable(BTreeSet::from(["NodeResourcesFit"]))
    }

    /// Two Pods rejected a minute apart: the queue wakes five minutes after the older one
    /// entered, the leftover flush moves only the older one, and then the queue wakes for the
    /// younger (Kubernetes' `TestPriorityQueue_flushUnschedulablePodsLeftover`, with its
    /// five-minute `podMaxInUnschedulablePodsDuration`).
    #[test]
    fn the_leftover_flush_moves_pods_unschedulable_for_five_minutes_oldest_first() {
        let mut queue = SchedulingQueue::default();
        for (name, rejected_at) in [("older", at(0)), ("younger", at(60))] {
            queue.add(pod(name), rejected_at);
            let info = queue.pop(rejected_at).expect("queued");
            queue.add_unschedulable(info, rejected(), rejected_at);
        }
        assert_eq!(queue.lengths(), (0, 0, 2));
        assert_eq!(queue.next_wakeup(), Some(at(300)));

        queue.flush_unschedulable_leftover(at(299));
        assert_eq!(queue.lengths(), (0, 0, 2), "nothing has waited five minutes yet");

        queue.flush_unschedulable_leftover(at(300));
        assert_eq!(queue.lengths().2, 1);
        assert_eq!(queue.next_wakeup(), Some(at(360)), "the younger Pod's five minutes end next");
        let moved = queue.pop(at(400)).expect("the older Pod moved back");
        assert_eq!(moved.pod.key, pod("older").key);
    }

    /// A Pod that leaves the unschedulable Pods (deleted, or updated and retried) no longer
    /// decides when the queue wakes.
    #[test]
    fn a_deleted_unschedulable_pod_no_longer_wakes_the_queue() {
        let mut queue = SchedulingQueue::default();
        for (name, rejected_at) in [("first", at(0)), ("second", at(30))] {
            queue.add(pod(name), rejected_at);
            let info = queue.pop(rejected_at).expect("queued");
            queue.add_unschedulable(info, rejected(), rejected_at);
        }
        queue.delete(&pod("first").key);
        assert_eq!(queue.next_wakeup(), Some(at(330)));
        queue.delete(&pod("second").key);
        assert_eq!(queue.next_wakeup(), None);
    }
}
