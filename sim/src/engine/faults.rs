//! Faults: the plan of random faults drawn from the seed, injecting a fault into the running
//! cluster, and healing everything when the liveness phase starts.

use std::collections::BTreeSet;

use coxswain_core::api::ApiServer;
use coxswain_core::client::Incoming;
use coxswain_core::store::{MemoryStore, Store};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::hosts::{Actor, HostId, HostRole};
use super::queue::{Event, Millis};
use super::watch_hub::WatchHub;
use super::{NodeSpec, Simulation};
use crate::fields;
use crate::scenario::{ContainerFault, Fault, PartitionDirection, PartitionFault, Scenario};

/// How long a random crash or partition lasts unless the scenario says (2 minutes).
pub const DEFAULT_RECOVER_AFTER_MILLIS: Millis = 120_000;

/// How long a randomly crashed API server stays down (10 s).
pub const API_SERVER_DOWN_MILLIS: Millis = 10_000;

/// Most random faults of one kind in a run: a bound on the plan whatever rate a scenario sets.
pub const MAX_RANDOM_FAULTS: usize = 10_000;

/// One fault of the random plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedFault {
    /// When.
    pub at: Millis,
    /// What.
    pub fault: Fault,
}

/// Draws the random faults of a run: for each kind a Poisson process at its rate during the
/// fault phase, each fault paired with its recovery. All draws come from `rng`, in a fixed order.
pub fn plan(scenario: &Scenario, nodes: &[NodeSpec], rng: &mut ChaCha8Rng) -> Vec<PlannedFault> {
    let rates = &scenario.faults;
    let until = rates.until.unwrap_or(scenario.duration).as_millis();
    let recover = rates.recover_after.map_or(DEFAULT_RECOVER_AFTER_MILLIS, |after| after.as_millis());
    let mut planned = Vec::new();
    let node_name = |rng: &mut ChaCha8Rng| nodes[rng.random_range(0..nodes.len())].name.clone();
    for at in arrivals(rates.node_crashes_per_hour, until, rng) {
        let node = node_name(rng);
        planned.push(PlannedFault { at, fault: Fault::CrashNode(node.clone()) });
        planned.push(PlannedFault { at: at + recover, fault: Fault::RestartNode(node) });
    }
    for at in arrivals(rates.partitions_per_hour, until, rng) {
        let node = node_name(rng);
        let partition = PartitionFault { nodes: vec![node.clone()], direction: PartitionDirection::Both };
        planned.push(PlannedFault { at, fault: Fault::Partition(partition) });
        planned.push(PlannedFault { at: at + recover, fault: Fault::Heal(vec![node]) });
    }
    for at in arrivals(rates.agent_stops_per_hour, until, rng) {
        let node = node_name(rng);
        planned.push(PlannedFault { at, fault: Fault::StopAgent(node.clone()) });
        planned.push(PlannedFault { at: at + recover, fault: Fault::StartAgent(node) });
    }
    for at in arrivals(rates.api_server_crashes_per_hour, until, rng) {
        planned.push(PlannedFault { at, fault: Fault::CrashApiServer });
        planned.push(PlannedFault { at: at + API_SERVER_DOWN_MILLIS, fault: Fault::RestartApiServer });
    }
    for at in arrivals(rates.container_crashes_per_hour, until, rng) {
        // The pod is picked when the fault fires, among the pods running then; the draw is made
        // now so the plan alone fixes every random choice.
        let pick = rng.random_range(0..u32::MAX);
        let fault = ContainerFault { pod: format!("#{pick}"), container: None, exit_code: 1 };
        planned.push(PlannedFault { at, fault: Fault::CrashContainer(fault) });
    }
    planned.sort_by_key(|fault| fault.at);
    planned
}

/// Arrival times of a Poisson process of `per_hour` events an hour in `[0, until)`.
fn arrivals(per_hour: f64, until: Millis, rng: &mut ChaCha8Rng) -> Vec<Millis> {
    if !(per_hour.is_finite() && per_hour > 0.0) || until == 0 {
        return Vec::new();
    }
    let mean_gap = 3_600_000.0 / per_hour;
    let mut times = Vec::new();
    let mut at = 0.0_f64;
    loop {
        let uniform: f64 = rng.random();
        at += -(1.0 - uniform).ln() * mean_gap;
        if at >= until as f64 || times.len() >= MAX_RANDOM_FAULTS {
            return times;
        }
        times.push(at as Millis);
    }
}

impl Simulation {
    /// Injects one fault now.
    pub(super) fn inject(&mut self, fault: &Fault, source: &str) {
        self.stats.faults += 1;
        self.safety.disturbed();
        let detail = serde_json::to_value(FaultLine(fault)).unwrap_or(Value::Null);
        self.trace.record(self.now, "fault", detail, fields! {"source" => source});
        self.report.fault(self.now, fault);
        match fault {
            Fault::CrashNode(node) => self.crash_node(node),
            Fault::RestartNode(node) => self.restart_node(node),
            Fault::StopAgent(node) => self.stop_agent(node),
            Fault::StartAgent(node) => self.start_agent(node),
            Fault::Partition(partition) => {
                for node in &partition.nodes {
                    if let Some(host) = self.node_hosts.get(node).copied() {
                        self.hosts[host.0 as usize].link.partition(partition.direction);
                        self.break_watches(host);
                    }
                }
            }
            Fault::Heal(nodes) => {
                let all = nodes.iter().any(|node| node == "all");
                for index in 0..self.hosts.len() {
                    if all || nodes.contains(&self.hosts[index].name) {
                        self.hosts[index].link.heal();
                    }
                }
            }
            Fault::Network(change) => {
                for node in &change.nodes {
                    if let Some(host) = self.node_hosts.get(node).copied() {
                        let link = &mut self.hosts[host.0 as usize].link;
                        if let Some(latency) = change.latency {
                            link.set_latency(latency);
                        }
                        if let Some(loss) = change.loss {
                            link.set_loss(loss);
                        }
                    }
                }
            }
            Fault::CrashApiServer => self.crash_api_server(),
            Fault::RestartApiServer => self.restart_api_server(),
            Fault::CrashContainer(crash) => self.crash_container(crash),
            Fault::ImagePullFailure(image) => self.set_pull_failure(image, true),
            Fault::ImagePullRecovery(image) => self.set_pull_failure(image, false),
            Fault::ProbeFailure(probe) => {
                let until = probe.duration.map(|duration| self.timestamp(self.now + duration.as_millis()));
                if let Some((host, namespace, name)) = self.pod_host(&probe.pod) {
                    let container = probe.container.as_deref();
                    if let Some(Actor::Node(agent)) = self.hosts[host.0 as usize].actor.as_mut() {
                        agent.fail_probes(&namespace, &name, container, until);
                    }
                }
            }
            Fault::ClockSkew(skew) => {
                if let Some(host) = self.node_hosts.get(&skew.node).copied() {
                    self.hosts[host.0 as usize].skew_millis = skew.offset_millis;
                    self.hosts[host.0 as usize].wake = None;
                    self.reschedule(host);
                }
            }
        }
    }

    /// Heals every fault: partitions, latency and loss, crashed and stopped nodes, the API
    /// server, clock skew, injected probe and pull failures. Random faults stop.
    pub(super) fn heal_everything(&mut self) {
        self.healed_at = Some(self.now);
        self.trace.record(self.now, "heal", json!("everything"), fields! {});
        self.safety.disturbed();
        if !self.api_up {
            self.restart_api_server();
        }
        self.pull_failures.clear();
        for index in 0..self.hosts.len() {
            let host = HostId(u32::try_from(index).unwrap_or(u32::MAX));
            let name = self.hosts[index].name.clone();
            let network = self.scenario.cluster.network.clone();
            let link = &mut self.hosts[index].link;
            link.heal();
            link.set_latency(network.latency);
            link.set_loss(network.loss);
            if self.hosts[index].skew_millis != 0 {
                self.hosts[index].skew_millis = 0;
                self.hosts[index].wake = None;
                self.reschedule(host);
            }
            if !self.node_hosts.contains_key(&name) {
                continue;
            }
            if self.hosts[index].actor.is_none() {
                self.restart_node(&name);
            } else if self.hosts[index].paused {
                self.start_agent(&name);
            }
            if let Some(Actor::Node(agent)) = self.hosts[index].actor.as_mut() {
                agent.heal();
            }
        }
    }

    /// Every watch of a host ends, as its client notices its connection broke.
    fn break_watches(&mut self, host: HostId) {
        for ((host, id), epoch) in self.hub.close_host(host) {
            self.queue.push(self.now, Event::Deliver { host, epoch, input: Box::new(Incoming::WatchClosed { id }) });
        }
    }

    fn crash_node(&mut self, node: &str) {
        let Some(host) = self.node_hosts.get(node).copied() else { return };
        let index = host.0 as usize;
        if self.hosts[index].actor.is_none() {
            return;
        }
        self.hub.close_host(host);
        self.hosts[index].actor = None;
        self.hosts[index].paused = false;
        self.hosts[index].epoch += 1;
        self.hosts[index].wake = None;
        self.outstanding.remove(&host);
        self.safety.node_lost(node);
    }

    pub(super) fn restart_node(&mut self, node: &str) {
        let Some(host) = self.node_hosts.get(node).copied() else { return };
        let index = host.0 as usize;
        if self.hosts[index].actor.is_some() {
            return;
        }
        let HostRole::Node(node_index) = self.hosts[index].role else { return };
        let spec = self.nodes[node_index].clone();
        let mut agent = (self.node_factory)(&spec, &self.scenario);
        for image in &self.pull_failures {
            agent.set_pull_failure(image, true);
        }
        self.hosts[index].actor = Some(Actor::Node(agent));
        self.hosts[index].epoch += 1;
        self.hosts[index].wake = Some(self.now);
        self.queue.push(self.now, Event::Wake { host });
    }

    fn stop_agent(&mut self, node: &str) {
        let Some(host) = self.node_hosts.get(node).copied() else { return };
        let index = host.0 as usize;
        if self.hosts[index].actor.is_none() || self.hosts[index].paused {
            return;
        }
        self.hub.close_host(host);
        self.hosts[index].paused = true;
        self.hosts[index].epoch += 1;
        self.hosts[index].wake = None;
        self.outstanding.remove(&host);
    }

    fn start_agent(&mut self, node: &str) {
        let Some(host) = self.node_hosts.get(node).copied() else { return };
        let index = host.0 as usize;
        if !self.hosts[index].paused {
            return;
        }
        if let Some(Actor::Node(agent)) = self.hosts[index].actor.as_mut() {
            agent.restart_process();
        }
        self.hosts[index].paused = false;
        self.hosts[index].epoch += 1;
        self.hosts[index].wake = Some(self.now);
        self.queue.push(self.now, Event::Wake { host });
    }

    fn crash_api_server(&mut self) {
        if !self.api_up {
            return;
        }
        self.api_up = false;
        for ((host, id), epoch) in self.hub.close_all() {
            self.queue.push(self.now, Event::Deliver { host, epoch, input: Box::new(Incoming::WatchClosed { id }) });
        }
    }

    fn restart_api_server(&mut self) {
        if self.api_up {
            return;
        }
        self.api_incarnation += 1;
        let old = std::mem::replace(&mut self.server, ApiServer::new(MemoryStore::new(), 0));
        // A restarted server draws uids and names from a new seed, as a real one seeds afresh at
        // every start.
        self.server =
            ApiServer::new(old.into_store(), self.seed.wrapping_add(self.api_incarnation.wrapping_mul(7_919)));
        self.api_up = true;
        self.hub = WatchHub::new(self.server.store().current_revision());
        if let Some(violation) = self.check_acknowledged_writes() {
            self.violate(violation);
        }
    }

    fn crash_container(&mut self, crash: &ContainerFault) {
        let Some((host, namespace, name)) = self.pod_host(&crash.pod) else { return };
        let now = self.local_time(host);
        if let Some(Actor::Node(agent)) = self.hosts[host.0 as usize].actor.as_mut() {
            agent.crash_container(&namespace, &name, crash.container.as_deref(), crash.exit_code, now);
        }
        self.hosts[host.0 as usize].wake = None;
        self.reschedule(host);
    }

    /// The `pick`-th running pod of the cluster, in name order.
    fn pick_running_pod(&self, pick: u64) -> Option<String> {
        let running: BTreeSet<String> = self
            .hosts
            .iter()
            .filter_map(|host| match &host.actor {
                Some(Actor::Node(agent)) if !host.paused => Some(agent.running_pods()),
                _ => None,
            })
            .flatten()
            .map(|pod| format!("{}/{}", pod.namespace, pod.name))
            .collect();
        if running.is_empty() {
            return None;
        }
        let index = usize::try_from(pick % running.len() as u64).unwrap_or(0);
        running.into_iter().nth(index)
    }

    /// The host a pod is bound to: `namespace/name`, `name` (in `default`), or `#N`, the N-th
    /// running pod of the cluster in name order (for random faults, and for scenarios whose
    /// pods have generated names).
    fn pod_host(&mut self, pod: &str) -> Option<(HostId, String, String)> {
        let picked;
        let pod = match pod.strip_prefix('#') {
            Some(pick) => {
                picked = self.pick_running_pod(pick.parse().unwrap_or(0))?;
                picked.as_str()
            }
            None => pod,
        };
        let (namespace, name) = pod.split_once('/').unwrap_or(("default", pod));
        let now = self.timestamp(self.now);
        let request = coxswain_core::api::ApiRequest::new(
            coxswain_core::api::Method::Get,
            &format!("/api/v1/namespaces/{namespace}/pods/{name}"),
        );
        let (status, body) = super::users::send(&mut self.server, &request, now);
        if status != 200 {
            return None;
        }
        let node = body.pointer("/spec/nodeName").and_then(Value::as_str)?;
        let host = self.node_hosts.get(node).copied()?;
        Some((host, namespace.to_string(), name.to_string()))
    }

    fn set_pull_failure(&mut self, image: &str, failing: bool) {
        if failing {
            self.pull_failures.insert(image.to_string());
        } else {
            self.pull_failures.remove(image);
        }
        for host in &mut self.hosts {
            if let Some(Actor::Node(agent)) = host.actor.as_mut() {
                agent.set_pull_failure(image, failing);
            }
        }
    }
}

/// A fault as a trace shows it: its scenario form.
struct FaultLine<'a>(&'a Fault);

impl serde::Serialize for FaultLine<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format!("{:?}", self.0))
    }
}
