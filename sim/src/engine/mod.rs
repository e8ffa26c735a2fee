//! The discrete-event engine: one queue ordered by (virtual time, sequence), the API server over
//! the in-memory store, and the hosts whose components exchange requests, answers and watch
//! frames with it through the network model. Time jumps from one event to the next.
//!
//! The engine decides nothing about the cluster: every decision is the core's. It only carries
//! requests and answers (with latency, loss and partitions), fires timers, injects faults and
//! watches what happens.

pub mod faults;
pub mod hosts;
pub mod network;
pub mod queue;
pub mod users;
pub mod watch_hub;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use coxswain_core::api::{ApiRequest, ApiServer, Method};
use coxswain_core::client::{Incoming, Outgoing, RequestId};
use coxswain_core::controllers::manager::{ControllerManager, ControllerManagerConfig};
use coxswain_core::jiff::Timestamp;
use coxswain_core::store::{MemoryStore, Store};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use self::faults::PlannedFault;
use self::hosts::{Actor, Host, HostId, HostRole, NodeAgent};
use self::network::{Link, REQUEST_TIMEOUT_MILLIS};
use self::queue::{Event, EventQueue, Millis};
use self::users::UserProcess;
use self::watch_hub::WatchHub;
use crate::checkers::liveness::unconverged;
use crate::checkers::safety::object_id;
use crate::checkers::{SafetyChecker, Violation, WatchOrder};
use crate::fields;
use crate::metrics::SimulatedMetrics;
use crate::outcome::{ExpectationResult, Outcome, RunStats, Verdict};
use crate::report::ReportRecorder;
use crate::scenario::expectation::Timing;
use crate::scenario::{Expectation, NodePool, Scenario};
use crate::trace::Trace;

/// The instant every run starts at.
pub const START: &str = "2026-01-01T00:00:00Z";

/// How often an open watch that allows bookmarks gets one: kube-apiserver's cacher
/// `bookmarkFrequency`, one minute.
const BOOKMARK_FREQUENCY_MILLIS: Millis = 60_000;

/// How long before a watch's deadline its last bookmark goes out: two seconds, as the cacher.
const BOOKMARK_BEFORE_DEADLINE_MILLIS: Millis = 2_000;

/// Most steps one host takes at one instant before the run is declared livelocked.
pub const MAX_STEPS_PER_INSTANT: u32 = 100_000;

/// The generator streams of one seed: network draws, random faults and the components' own
/// generators never share a stream, so adding a fault does not shift the network's draws.
const NETWORK_STREAM: u64 = 1;
const FAULT_STREAM: u64 = 2;

/// One node as the scenario declares it.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    /// Its name.
    pub name: String,
    /// Its pool.
    pub pool: NodePool,
    /// Its labels (the pool's, its zone, and `kubernetes.io/hostname`).
    pub labels: BTreeMap<String, String>,
    /// Its index among all nodes.
    pub index: usize,
}

/// Builds a node's agent; called at the start and whenever a crashed node boots again.
pub type NodeFactory = Box<dyn FnMut(&NodeSpec, &Scenario) -> Box<dyn NodeAgent>>;

/// A whole simulated cluster.
pub struct Simulation {
    scenario: Scenario,
    seed: u64,
    start: Timestamp,
    now: Millis,
    end: Millis,
    queue: EventQueue,
    network_rng: ChaCha8Rng,
    server: ApiServer<MemoryStore>,
    api_up: bool,
    api_incarnation: u64,
    hub: WatchHub,
    hosts: Vec<Host>,
    nodes: Vec<NodeSpec>,
    node_hosts: BTreeMap<String, HostId>,
    node_factory: NodeFactory,
    trace: Trace,
    safety: SafetyChecker,
    watch_order: WatchOrder,
    expectations: Vec<(Expectation, Option<ExpectationResult>)>,
    fault_plan: Vec<PlannedFault>,
    users: Vec<UserProcess>,
    metrics: Arc<SimulatedMetrics>,
    report: ReportRecorder,
    verdict: Option<Verdict>,
    stats: RunStats,
    healed_at: Option<Millis>,
    converged_at: Option<Millis>,
    outstanding: BTreeMap<HostId, BTreeSet<RequestId>>,
    pull_failures: BTreeSet<String>,
    pod_names: std::collections::HashMap<String, String>,
    sample_every: Millis,
    /// When an [`Event::ExpireEvents`] is queued for, if one is.
    event_expiry_at: Option<Millis>,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Simulation")
            .field("scenario", &self.scenario.name)
            .field("seed", &self.seed)
            .field("now", &self.now)
            .field("hosts", &self.hosts.len())
            .finish_non_exhaustive()
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// An initial object was refused by the API server.
    #[error("initial object {object} was refused: {message}")]
    ObjectRefused {
        /// The object.
        object: String,
        /// The API server's message.
        message: String,
    },
    /// The API server could not bootstrap.
    #[error("the API server could not bootstrap: {0}")]
    Bootstrap(String),
}

impl Simulation {
    /// Sets a scenario up with `seed`: the API server bootstrapped with the initial objects, the
    /// scheduler, the controller manager and one agent per node, each to be stepped at time 0.
    pub fn new(
        scenario: Scenario,
        seed: u64,
        node_factory: NodeFactory,
        trace: Trace,
    ) -> Result<Simulation, SetupError> {
        let start: Timestamp = START.parse().unwrap_or(Timestamp::UNIX_EPOCH);
        let mut server = ApiServer::new(MemoryStore::new(), seed);
        server.bootstrap(start).map_err(|error| SetupError::Bootstrap(error.to_string()))?;
        let end = scenario.duration.as_millis();
        let metrics = Arc::new(SimulatedMetrics::new(&scenario.runtime));
        let nodes = expand_nodes(&scenario);
        let expectations = scenario.expectations.iter().cloned().map(|expectation| (expectation, None)).collect();
        let sample_every = (end / 240).clamp(1_000, 60_000);
        let mut simulation = Simulation {
            hub: WatchHub::new(server.store().current_revision()),
            seed,
            start,
            now: 0,
            end,
            queue: EventQueue::default(),
            network_rng: stream(seed, NETWORK_STREAM),
            server,
            api_up: true,
            api_incarnation: 0,
            hosts: Vec::new(),
            node_hosts: BTreeMap::new(),
            nodes,
            node_factory,
            trace,
            safety: SafetyChecker::default(),
            watch_order: WatchOrder::default(),
            expectations,
            fault_plan: Vec::new(),
            users: Vec::new(),
            metrics,
            report: ReportRecorder::default(),
            verdict: None,
            stats: RunStats::default(),
            healed_at: None,
            converged_at: None,
            outstanding: BTreeMap::new(),
            pull_failures: BTreeSet::new(),
            pod_names: std::collections::HashMap::new(),
            sample_every,
            event_expiry_at: None,
            scenario,
        };
        simulation.trace.record(
            0,
            "start",
            json!(simulation.scenario.name),
            fields! {"seed" => seed, "nodes" => simulation.nodes.len()},
        );
        simulation.create_initial_objects()?;
        simulation.start_components();
        simulation.schedule_timeline();
        simulation.fault_plan = faults::plan(&simulation.scenario, &simulation.nodes, &mut stream(seed, FAULT_STREAM));
        for (index, fault) in simulation.fault_plan.iter().enumerate() {
            simulation.queue.push(fault.at, Event::RandomFault { index });
        }
        if let Some(heal_at) = simulation.heal_time() {
            simulation.queue.push(heal_at, Event::Heal);
        }
        simulation.queue.push(0, Event::Sample);
        Ok(simulation)
    }

    /// Adds a component on its own host (a test's deliberately broken controller, say).
    pub fn add_component(&mut self, name: &str, component: Box<dyn coxswain_core::client::Component>) {
        let host = self.add_host(name, HostRole::Extra, Actor::Extra(component));
        self.queue.push(self.now, Event::Wake { host });
        self.hosts[host.0 as usize].wake = Some(self.now);
    }

    /// Runs to the end (or the first safety violation); `progress` is told the simulated time
    /// now and at the end after each event.
    pub fn run(mut self, progress: &mut dyn FnMut(Millis, Millis)) -> Outcome {
        let mut last_progress = 0;
        while let Some((at, event)) = self.queue.pop() {
            if at > self.end {
                break;
            }
            self.now = at;
            self.stats.events += 1;
            self.handle(event);
            if self.verdict.is_some() {
                break;
            }
            if self.now >= last_progress + 1_000 {
                last_progress = self.now;
                progress(self.now, self.end);
            }
        }
        if self.verdict.is_none() {
            self.now = self.now.max(self.end);
            self.finish();
        }
        progress(self.end, self.end);
        self.into_outcome()
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Wake { host } => {
                let due = self.hosts[host.0 as usize].wake == Some(self.now);
                if due {
                    self.hosts[host.0 as usize].wake = None;
                    self.step(host, None);
                }
            }
            Event::RequestArrives { host, epoch, id, request } => self.request_arrives(host, epoch, id, *request),
            Event::Deliver { host, epoch, input } => self.deliver(host, epoch, *input),
            Event::WatchDeadline { host, id } => {
                let epoch = self.hosts[host.0 as usize].epoch;
                if self.hub.close((host, id)) {
                    self.send_to_host(host, epoch, Incoming::WatchClosed { id });
                }
            }
            Event::WatchBookmark { host, id } => {
                let epoch = self.hosts[host.0 as usize].epoch;
                if let Some(frame) = self.hub.bookmark((host, id)) {
                    self.send_to_host(host, epoch, Incoming::WatchFrame { id, frame: Arc::new(frame) });
                    self.schedule_bookmark(host, id);
                }
            }
            Event::Timeline { index } => {
                let entry = self.scenario.timeline[index].clone();
                self.act(&entry.action, index);
            }
            Event::RandomFault { index } => {
                let fault = self.fault_plan[index].clone();
                if self.healed_at.is_none() {
                    self.inject(&fault.fault, "random");
                }
            }
            Event::UserWake { index } => self.user_wake(index),
            Event::Sample => self.sample(),
            Event::Heal => self.heal_everything(),
            Event::ExpireEvents => {
                self.event_expiry_at = None;
                if self.api_up {
                    let now = self.timestamp(self.now);
                    self.server.expire_events(now);
                }
            }
            Event::Join { node } => {
                let name = self.nodes[node].name.clone();
                self.trace.record(self.now, "join", json!(name), fields! {});
                self.restart_node(&name);
            }
        }
        self.after_event();
    }

    /// The current true time as a timestamp.
    pub fn timestamp(&self, millis: Millis) -> Timestamp {
        let offset = i64::try_from(millis).unwrap_or(i64::MAX);
        Timestamp::from_millisecond(self.start.as_millisecond().saturating_add(offset)).unwrap_or(Timestamp::MAX)
    }

    fn local_time(&self, host: HostId) -> Timestamp {
        let skew = self.hosts[host.0 as usize].skew_millis;
        let millis = i64::try_from(self.now).unwrap_or(i64::MAX).saturating_add(skew);
        Timestamp::from_millisecond(self.start.as_millisecond().saturating_add(millis)).unwrap_or(Timestamp::MAX)
    }

    fn step(&mut self, host: HostId, input: Option<Incoming>) {
        let index = host.0 as usize;
        if !self.hosts[index].is_running() {
            return;
        }
        let steps = &mut self.hosts[index].steps_this_instant;
        if steps.0 == self.now {
            steps.1 += 1;
            if steps.1 > MAX_STEPS_PER_INSTANT {
                self.verdict = Some(Verdict::Crash(format!(
                    "livelock: components stepped more than {} times at {} without time passing (last: {})",
                    MAX_STEPS_PER_INSTANT,
                    crate::duration::format_offset(self.now),
                    self.hosts[index].name
                )));
                return;
            }
        } else {
            *steps = (self.now, 1);
        }
        let local = self.local_time(host);
        self.stats.steps += 1;
        let Some(actor) = self.hosts[index].actor.as_mut() else { return };
        if matches!(actor, Actor::Manager(_)) {
            self.metrics.set_now(local);
        }
        let outgoing = actor.component().step(input, local);
        if let Actor::Scheduler(scheduler) = actor {
            for attempt in scheduler.scheduler().take_attempts() {
                let pod = self.pod_names.get(&attempt.pod.0).cloned().unwrap_or_else(|| attempt.pod.0.clone());
                self.report.scheduling_attempt(self.now, &pod, &attempt);
                match (&attempt.node, &attempt.message) {
                    (Some(node), _) => self.trace.record(self.now, "scheduled", json!(pod), fields! {"node" => node}),
                    (None, message) => {
                        self.trace.record(self.now, "unschedulable", json!(pod), fields! {"message" => message})
                    }
                }
            }
        }
        if let Some(Actor::Node(agent)) = self.hosts[index].actor.as_mut()
            && let Some(running) = agent.running_pods_if_changed()
        {
            let running: BTreeSet<String> =
                running.into_iter().map(|pod| format!("{}/{}", pod.namespace, pod.name)).collect();
            let name = self.hosts[index].name.clone();
            if let Some(violation) = self.safety.node_runs(&name, running, self.now) {
                self.violate(violation);
            }
        }
        for request in outgoing {
            self.send_request(host, request);
        }
        self.reschedule(host);
    }

    fn reschedule(&mut self, host: HostId) {
        let index = host.0 as usize;
        let Some(next) = self.hosts[index].actor.as_ref().and_then(Actor::next_wake) else { return };
        let skew = self.hosts[index].skew_millis;
        let offset = next.as_millisecond().saturating_sub(self.start.as_millisecond()).saturating_sub(skew);
        let at = u64::try_from(offset).unwrap_or(0).max(self.now);
        if at > self.end {
            return;
        }
        let current = self.hosts[index].wake;
        if current.is_none_or(|current| at < current || current < self.now) {
            self.hosts[index].wake = Some(at);
            self.queue.push(at, Event::Wake { host });
        }
    }

    fn send_request(&mut self, host: HostId, outgoing: Outgoing) {
        let Outgoing { id, request } = outgoing;
        let index = host.0 as usize;
        let epoch = self.hosts[index].epoch;
        self.outstanding.entry(host).or_default().insert(id);
        if self.hosts[index].link.reaches_api(&mut self.network_rng) {
            let at = self.hosts[index].link.arrival_at_api(self.now, &mut self.network_rng);
            self.queue.push(at, Event::RequestArrives { host, epoch, id, request: Box::new(request) });
        } else {
            self.stats.lost_messages += 1;
            let input = Incoming::Response { id, status: 0, body: Value::Null };
            self.queue.push(self.now + REQUEST_TIMEOUT_MILLIS, Event::Deliver { host, epoch, input: Box::new(input) });
        }
    }

    fn request_arrives(&mut self, host: HostId, epoch: u64, id: RequestId, request: ApiRequest) {
        if self.hosts[host.0 as usize].epoch != epoch {
            // The sender crashed or restarted: its connection is gone and so is the request.
            return;
        }
        if !self.api_up {
            // Connection refused: the client learns at once.
            self.respond(host, epoch, id, 0, Value::Null);
            return;
        }
        let now = self.timestamp(self.now);
        self.stats.requests += 1;
        let response = self.server.handle(&request, now);
        match response.into_json() {
            Ok((status, body)) => {
                if request.method != Method::Get {
                    let name = self.hosts[host.0 as usize].name.clone();
                    let line = format!("{} {}", request.method.as_str(), request.path);
                    self.trace.record(self.now, "request", json!(line), fields! {"from" => name, "status" => status});
                    self.dispatch_changes();
                }
                self.respond(host, epoch, id, status, body);
            }
            Err(stream) => self.open_watch(host, epoch, id, stream),
        }
    }

    fn open_watch(&mut self, host: HostId, epoch: u64, id: RequestId, stream: Box<coxswain_core::api::WatchStream>) {
        let index = host.0 as usize;
        if !self.hosts[index].link.carries_watches() {
            let input = Incoming::WatchClosed { id };
            self.queue.push(self.now + REQUEST_TIMEOUT_MILLIS, Event::Deliver { host, epoch, input: Box::new(input) });
            return;
        }
        let key = (host, id);
        let (frames, open) = self.hub.open(key, epoch, stream, self.server.store());
        for frame in frames {
            self.send_to_host(host, epoch, Incoming::WatchFrame { id, frame: Arc::new(frame) });
        }
        if !open {
            self.send_to_host(host, epoch, Incoming::WatchClosed { id });
        } else {
            if let Some(deadline) = self.watch_deadline(key) {
                self.queue.push(deadline, Event::WatchDeadline { host, id });
            }
            self.schedule_bookmark(host, id);
        }
    }

    /// The simulated instant a watch's server-side deadline falls on, if it has one.
    fn watch_deadline(&self, key: (HostId, RequestId)) -> Option<Millis> {
        let deadline = self.hub.deadline(key)?;
        let offset = deadline.as_millisecond().saturating_sub(self.start.as_millisecond());
        Some(u64::try_from(offset).unwrap_or(0).max(self.now))
    }

    /// Queues a watch's next bookmark as kube-apiserver's cacher times them
    /// (`nextBookmarkTime`): a minute from now, or two seconds before the deadline if sooner
    /// (and still ahead), so a watch ending on its timeout leaves its watcher a fresh revision.
    fn schedule_bookmark(&mut self, host: HostId, id: RequestId) {
        if !self.hub.allows_bookmarks((host, id)) {
            return;
        }
        let periodic = self.now + BOOKMARK_FREQUENCY_MILLIS;
        let before_deadline = self
            .watch_deadline((host, id))
            .and_then(|deadline| deadline.checked_sub(BOOKMARK_BEFORE_DEADLINE_MILLIS))
            .filter(|at| *at > self.now);
        let at = before_deadline.map_or(periodic, |before| before.min(periodic));
        self.queue.push(at, Event::WatchBookmark { host, id });
    }

    fn respond(&mut self, host: HostId, epoch: u64, id: RequestId, status: u16, body: Value) {
        let index = host.0 as usize;
        if self.hosts[index].link.reaches_host(&mut self.network_rng) {
            let at = self.hosts[index].link.arrival_at_host(self.now, &mut self.network_rng);
            let input = Incoming::Response { id, status, body };
            self.queue.push(at, Event::Deliver { host, epoch, input: Box::new(input) });
        } else {
            self.stats.lost_messages += 1;
            let input = Incoming::Response { id, status: 0, body: Value::Null };
            self.queue.push(self.now + REQUEST_TIMEOUT_MILLIS, Event::Deliver { host, epoch, input: Box::new(input) });
        }
    }

    /// Sends a watch frame or a watch's end to a host, in order with everything else on its link.
    fn send_to_host(&mut self, host: HostId, epoch: u64, input: Incoming) {
        let index = host.0 as usize;
        let at = self.hosts[index].link.arrival_at_host(self.now, &mut self.network_rng);
        self.queue.push(at, Event::Deliver { host, epoch, input: Box::new(input) });
    }

    fn deliver(&mut self, host: HostId, epoch: u64, input: Incoming) {
        let index = host.0 as usize;
        if self.hosts[index].epoch != epoch || !self.hosts[index].is_running() {
            return;
        }
        match &input {
            Incoming::Response { id, status, body } => {
                if let Some(ids) = self.outstanding.get_mut(&host) {
                    ids.remove(id);
                }
                if (200..300).contains(status) && body.get("kind").and_then(Value::as_str) != Some("Status") {
                    self.safety.acknowledged(body);
                }
            }
            Incoming::WatchFrame { id, frame } => {
                let name = &self.hosts[index].name;
                if let Some(violation) = self.watch_order.frame(host, *id, frame, name, self.now) {
                    self.violate(violation);
                    return;
                }
            }
            Incoming::WatchClosed { id } => self.watch_order.closed(host, *id),
        }
        self.step(host, Some(input));
    }

    /// Hands the store's new changes to the open watches and to the checkers.
    fn dispatch_changes(&mut self) {
        let now = self.timestamp(self.now);
        let dispatch = self.hub.dispatch(self.server.store(), now);
        for ((host, id), epoch, frame) in dispatch.frames {
            self.send_to_host(host, epoch, Incoming::WatchFrame { id, frame });
        }
        for ((host, id), epoch) in dispatch.ended {
            self.send_to_host(host, epoch, Incoming::WatchClosed { id });
        }
        for change in &dispatch.changes {
            self.metrics.observe(change);
            if (change.key.resource.group, change.key.resource.resource) == ("", "pods") {
                let uid = change.object.metadata.uid.clone().unwrap_or_default();
                if change.change_type == coxswain_core::store::ChangeType::Deleted {
                    self.pod_names.remove(&uid);
                } else if change.previous.is_none() {
                    self.pod_names.insert(uid, format!("{}/{}", change.key.namespace, change.key.name));
                }
            }
            if let Some(violation) = self.safety.observe(change, self.now) {
                self.violate(violation);
                return;
            }
        }
    }

    fn after_event(&mut self) {
        if self.server.store().current_revision() > self.hub.dispatched() {
            self.dispatch_changes();
        }
        self.schedule_event_expiry();
    }

    /// Keeps one [`Event::ExpireEvents`] queued for the API server's next Event expiry.
    fn schedule_event_expiry(&mut self) {
        if !self.api_up {
            return;
        }
        let Some(next) = self.server.next_event_expiry() else { return };
        let offset = next.as_millisecond().saturating_sub(self.start.as_millisecond());
        let at = u64::try_from(offset).unwrap_or(0).max(self.now);
        if at > self.end || self.event_expiry_at.is_some_and(|queued| queued <= at) {
            return;
        }
        self.event_expiry_at = Some(at);
        self.queue.push(at, Event::ExpireEvents);
    }

    fn violate(&mut self, violation: Violation) {
        if self.verdict.is_some() {
            return;
        }
        self.trace.record(
            violation.at,
            "violation",
            json!(violation.rule),
            fields! {"message" => violation.message, "objects" => violation.objects},
        );
        self.report.violation(&violation);
        self.verdict = Some(Verdict::Safety(violation));
    }

    fn add_host(&mut self, name: &str, role: HostRole, actor: Actor) -> HostId {
        let host = HostId(u32::try_from(self.hosts.len()).unwrap_or(u32::MAX));
        self.hosts.push(Host {
            name: name.to_string(),
            role,
            actor: Some(actor),
            paused: false,
            epoch: 0,
            skew_millis: 0,
            wake: None,
            steps_this_instant: (0, 0),
            link: Link::new(&self.scenario.cluster.network),
        });
        host
    }

    fn start_components(&mut self) {
        let scheduler = crate::components::scheduler(self.seed);
        self.add_host("scheduler", HostRole::Scheduler, Actor::Scheduler(Box::new(scheduler)));
        let manager = self.controller_manager();
        self.add_host("controller-manager", HostRole::Manager, Actor::Manager(Box::new(manager)));
        for index in 0..self.nodes.len() {
            let spec = self.nodes[index].clone();
            let agent = (self.node_factory)(&spec, &self.scenario);
            let host = self.add_host(&spec.name, HostRole::Node(index), Actor::Node(agent));
            self.node_hosts.insert(spec.name.clone(), host);
            if let Some(join_at) = spec.pool.join_at.filter(|at| at.as_millis() > 0) {
                // Not booted yet: the node joins when its pool says.
                self.hosts[host.0 as usize].actor = None;
                self.queue.push(join_at.as_millis(), Event::Join { node: index });
            }
        }
        for index in 0..self.hosts.len() {
            if self.hosts[index].actor.is_none() {
                continue;
            }
            let host = HostId(u32::try_from(index).unwrap_or(u32::MAX));
            self.hosts[index].wake = Some(0);
            self.queue.push(0, Event::Wake { host });
        }
    }

    fn controller_manager(&self) -> ControllerManager {
        let mut config = ControllerManagerConfig { node_ipam: self.scenario.cluster.node_ipam(), ..Default::default() };
        let disabled = &self.scenario.cluster.disabled_controllers;
        config.controllers.retain(|controller| !disabled.iter().any(|name| name == controller.name()));
        ControllerManager::new(config).with_metrics(self.metrics.clone())
    }

    fn create_initial_objects(&mut self) -> Result<(), SetupError> {
        let now = self.timestamp(0);
        for object in self.scenario.objects.clone() {
            let (status, body) = users::apply(&mut self.server, &object, now);
            let label = users::describe(&object);
            self.trace.record(0, "apply", json!(label), fields! {"status" => status});
            if !(200..300).contains(&status) {
                let message = body.get("message").and_then(Value::as_str).unwrap_or("refused").to_string();
                return Err(SetupError::ObjectRefused { object: label, message });
            }
        }
        self.dispatch_changes();
        Ok(())
    }

    fn schedule_timeline(&mut self) {
        for (index, entry) in self.scenario.timeline.iter().enumerate() {
            self.queue.push(entry.at.as_millis(), Event::Timeline { index });
        }
    }

    fn heal_time(&self) -> Option<Millis> {
        let liveness = self.scenario.liveness.as_ref()?;
        let heal_at = liveness.heal_at.or(self.scenario.faults.until).map_or(0, |at| at.as_millis());
        Some(heal_at.min(self.end))
    }

    fn sample(&mut self) {
        self.report.sample(self.now, self.server.store(), &self.safety);
        self.check_timed_expectations();
        if let (Some(healed), None) = (self.healed_at, self.converged_at) {
            match unconverged(self.server.store()) {
                None => {
                    self.converged_at = Some(self.now);
                    self.trace.record(self.now, "converged", json!(self.now - healed), fields! {});
                }
                Some(lagging) => {
                    let within = self.scenario.liveness.as_ref().map_or(0, |liveness| liveness.within.as_millis());
                    if self.now >= healed + within {
                        self.trace.record(self.now, "liveness", json!("not converged"), fields! {"lagging" => lagging});
                        self.verdict = Some(Verdict::Liveness(format!(
                            "the cluster did not converge within {} of healing: {lagging}",
                            crate::duration::SimDuration(std::time::Duration::from_millis(within))
                        )));
                    }
                }
            }
        }
        let next = self.now + self.sample_every;
        if next <= self.end {
            self.queue.push(next, Event::Sample);
        } else if self.now < self.end {
            self.queue.push(self.end, Event::Sample);
        }
    }

    fn check_timed_expectations(&mut self) {
        let now = self.timestamp(self.now);
        for index in 0..self.expectations.len() {
            if self.expectations[index].1.is_some() {
                continue;
            }
            let expectation = self.expectations[index].0.clone();
            let (due, window_end) = match expectation.timing {
                Timing::AtEnd => continue,
                Timing::At(at) => (self.now >= at.as_millis(), None),
                Timing::Within { after, within } => {
                    if self.now < after.as_millis() {
                        continue;
                    }
                    (true, Some(after.as_millis() + within.as_millis()))
                }
                Timing::Always { after } => {
                    if self.now < after.as_millis() {
                        continue;
                    }
                    (true, None)
                }
            };
            if !due {
                continue;
            }
            let measured = crate::observe::measure(&mut self.server, &expectation.subject, now);
            let holds = expectation.holds(&measured);
            let result = match expectation.timing {
                Timing::At(_) => Some(ExpectationResult { holds, measured, at: self.now }),
                Timing::Within { .. } if holds => Some(ExpectationResult { holds, measured, at: self.now }),
                Timing::Within { .. } if window_end.is_some_and(|end| self.now >= end) => {
                    Some(ExpectationResult { holds, measured, at: self.now })
                }
                Timing::Always { .. } if !holds => {
                    let violation = Violation {
                        rule: "expectation always holds",
                        message: format!("{} is {measured}", expectation.text),
                        objects: Vec::new(),
                        at: self.now,
                    };
                    self.violate(violation);
                    Some(ExpectationResult { holds, measured, at: self.now })
                }
                _ => None,
            };
            if let Some(result) = result {
                self.trace.record(
                    self.now,
                    "expectation",
                    json!(expectation.text),
                    fields! {"holds" => result.holds, "measured" => result.measured.to_string()},
                );
                self.expectations[index].1 = Some(result);
            }
        }
    }

    fn finish(&mut self) {
        let now = self.timestamp(self.end);
        self.check_timed_expectations();
        for index in 0..self.expectations.len() {
            if self.expectations[index].1.is_some() {
                continue;
            }
            let expectation = self.expectations[index].0.clone();
            let measured = crate::observe::measure(&mut self.server, &expectation.subject, now);
            let holds = match expectation.timing {
                Timing::Always { .. } => true,
                _ => expectation.holds(&measured),
            };
            self.trace.record(
                self.end,
                "expectation",
                json!(expectation.text),
                fields! {"holds" => holds, "measured" => measured.to_string()},
            );
            self.expectations[index].1 = Some(ExpectationResult { holds, measured, at: self.end });
        }
        if let Some(violation) = self.check_acknowledged_writes() {
            self.violate(violation);
            return;
        }
        if let (Some(healed), None) = (self.healed_at, self.converged_at)
            && let Some(lagging) = unconverged(self.server.store())
        {
            self.verdict = Some(Verdict::Liveness(format!(
                "the cluster had not converged {} after healing: {lagging}",
                crate::duration::SimDuration(std::time::Duration::from_millis(self.end - healed))
            )));
            return;
        }
        let failed: Vec<String> = self
            .expectations
            .iter()
            .filter(|(_, result)| result.as_ref().is_some_and(|result| !result.holds))
            .map(|(expectation, result)| {
                let measured = result.as_ref().map(|result| result.measured.to_string()).unwrap_or_default();
                format!("{} (measured {measured})", expectation.text)
            })
            .collect();
        self.verdict = Some(if failed.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Liveness(format!("expectations not met: {}", failed.join("; ")))
        });
    }

    fn check_acknowledged_writes(&self) -> Option<Violation> {
        let store = self.server.store();
        let current = |id: &str| -> Option<u64> {
            let mut parts = id.splitn(3, '/');
            let plural = parts.next()?;
            let (namespace, name) = match (parts.next(), parts.next()) {
                (Some(namespace), Some(name)) => (namespace, name),
                (Some(name), None) => ("", name),
                _ => return None,
            };
            let resource = coxswain_core::object::kinds::RESOURCES
                .iter()
                .find(|resource| resource.plural == plural && resource.stored)?;
            let key = coxswain_core::store::ObjectKey {
                resource: resource.group_resource(),
                namespace: namespace.to_string(),
                name: name.to_string(),
            };
            store.get(&key).ok().and_then(|object| object.resource_version().parse().ok())
        };
        self.safety.check_acknowledged(&current, self.now)
    }

    fn into_outcome(self) -> Outcome {
        let verdict = self.verdict.unwrap_or(Verdict::Pass);
        let expectations =
            self.expectations.into_iter().map(|(expectation, result)| (expectation.text, result)).collect();
        let report = self.report.finish(&self.scenario, self.seed, &verdict);
        let trace_lines = self.trace.lines();
        let trace_hash = self.trace.finish().map_err(|error| error.to_string());
        Outcome {
            scenario: self.scenario.name,
            file: self.scenario.file,
            seed: self.seed,
            verdict,
            trace_hash,
            trace_lines,
            simulated_millis: self.now,
            stats: self.stats,
            expectations,
            converged_after_millis: self.healed_at.zip(self.converged_at).map(|(healed, converged)| converged - healed),
            report,
        }
    }
}

/// Every node the scenario declares, in pool order: `<pool>-<index>`.
pub fn expand_nodes(scenario: &Scenario) -> Vec<NodeSpec> {
    let mut nodes = Vec::new();
    for pool in &scenario.cluster.node_pools {
        for ordinal in 0..pool.count {
            let name = format!("{}-{ordinal}", pool.name);
            let mut labels = pool.labels.clone();
            labels.insert("kubernetes.io/hostname".into(), name.clone());
            labels.insert("kubernetes.io/os".into(), "linux".into());
            if !pool.zones.is_empty() {
                let zone = &pool.zones[ordinal as usize % pool.zones.len()];
                labels.insert("topology.kubernetes.io/zone".into(), zone.clone());
            }
            let index = nodes.len();
            nodes.push(NodeSpec { name, pool: pool.clone(), labels, index });
        }
    }
    nodes
}

fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// The id the safety checker uses for an object, re-exported for the engine's helpers.
pub fn id_of(plural: &str, namespace: &str, name: &str) -> String {
    object_id(plural, namespace, name)
}
