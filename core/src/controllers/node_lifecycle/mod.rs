//! The node lifecycle controller (`pkg/controller/nodelifecycle`): watch node heartbeats, set a
//! silent node's conditions to Unknown after [`NODE_MONITOR_GRACE_PERIOD`], and taint nodes
//! that are not Ready with `node.kubernetes.io/unreachable:NoExecute` (Unknown) or
//! `node.kubernetes.io/not-ready:NoExecute` (False) so that the taint eviction controller
//! ([`super::taint_eviction`]) evicts their pods. New taints are paced per zone: 0.1 node/s in a
//! healthy zone, 0.01 node/s in a partially disrupted zone of more than 50 nodes (0 in a smaller
//! one), and none at all while every zone is fully disrupted (then the controller assumes its own
//! network is at fault and lifts the taints).
//!
//! When the controller turns a node's Ready condition Unknown it marks the node's pods
//! `Ready=False` (`MarkPodsNotReady`), so Services stop sending them traffic at once.
//!
//! Kubernetes keeps the zone states, rate limiters, tainting queue and per-node probe timestamps
//! (`nodeHealthData`) in memory; here they are [`NodeLifecycleState`], a value the shell owns and
//! passes to every reconcile. Probe timestamps come from the controller's clock when a node's
//! heartbeat or Lease changes, so a node with a skewed clock is judged correctly. Each node's
//! writes are batches of their own and the batches are independent: one failed write does not
//! hold back the other nodes'. One difference, deliberate: pods are marked not ready on every
//! pass while the controller sees the node Unknown (level-triggered), where Kubernetes marks
//! them once on the transition and retries failures.

mod health;
mod no_schedule;
mod pods_not_ready;
mod taints;
#[cfg(test)]
mod tests;
mod zones;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;

pub use health::{
    KUBELET_NEVER_POSTED, KUBELET_STOPPED_POSTING, MONITORED_CONDITIONS, NODE_LEASE_NAMESPACE,
    NODE_STATUS_NEVER_UPDATED, NODE_STATUS_UNKNOWN, NodeHealth, last_heartbeat,
};
pub use no_schedule::{
    DISK_PRESSURE_TAINT_KEY, MEMORY_PRESSURE_TAINT_KEY, NETWORK_UNAVAILABLE_TAINT_KEY, NO_SCHEDULE,
    PID_PRESSURE_TAINT_KEY, UNSCHEDULABLE_TAINT_KEY, reconcile_node_no_schedule_taints, wanted_no_schedule_taints,
};
pub use pods_not_ready::{NODE_NOT_READY, mark_pods_not_ready};
pub use taints::{NO_EXECUTE, NOT_READY_TAINT_KEY, UNREACHABLE_TAINT_KEY};
pub use zones::{REGION_LABEL, TokenBucket, ZONE_LABEL, ZoneState, compute_zone_state, zone_key};

use super::action::{Action, Reconciled, to_object};
use super::lookup::ByName;

/// How long a node may stay silent before its conditions become Unknown: 40 s, the
/// kube-controller-manager default `--node-monitor-grace-period` this port follows.
pub const NODE_MONITOR_GRACE_PERIOD: Duration = Duration::from_secs(40);
/// How long a new node may take to first report Ready: 60 s (`--node-startup-grace-period`).
pub const NODE_STARTUP_GRACE_PERIOD: Duration = Duration::from_secs(60);
/// How often the controller looks at every node: 5 s (`--node-monitor-period`).
pub const NODE_MONITOR_PERIOD: Duration = Duration::from_secs(5);
/// Nodes tainted per second in a healthy zone (`--node-eviction-rate`).
pub const EVICTION_LIMITER_QPS: f64 = 0.1;
/// Nodes tainted per second in a partially disrupted large zone (`--secondary-node-eviction-rate`).
pub const SECONDARY_EVICTION_LIMITER_QPS: f64 = 0.01;
/// Zones of at most this many nodes stop tainting when partially disrupted
/// (`--large-cluster-size-threshold`).
pub const LARGE_CLUSTER_SIZE_THRESHOLD: usize = 50;
/// The share of not-Ready nodes (of more than two) that makes a zone partially disrupted
/// (`--unhealthy-zone-threshold`).
pub const UNHEALTHY_ZONE_THRESHOLD: f64 = 0.55;

/// The controller's settings; `Default` gives Kubernetes' defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeLifecycleConfig {
    /// See [`NODE_MONITOR_GRACE_PERIOD`].
    pub node_monitor_grace_period: Duration,
    /// See [`NODE_STARTUP_GRACE_PERIOD`].
    pub node_startup_grace_period: Duration,
    /// See [`EVICTION_LIMITER_QPS`].
    pub eviction_limiter_qps: f64,
    /// See [`SECONDARY_EVICTION_LIMITER_QPS`].
    pub secondary_eviction_limiter_qps: f64,
    /// See [`LARGE_CLUSTER_SIZE_THRESHOLD`].
    pub large_cluster_size_threshold: usize,
    /// See [`UNHEALTHY_ZONE_THRESHOLD`].
    pub unhealthy_zone_threshold: f64,
}

impl Default for NodeLifecycleConfig {
    fn default() -> NodeLifecycleConfig {
        NodeLifecycleConfig {
            node_monitor_grace_period: NODE_MONITOR_GRACE_PERIOD,
            node_startup_grace_period: NODE_STARTUP_GRACE_PERIOD,
            eviction_limiter_qps: EVICTION_LIMITER_QPS,
            secondary_eviction_limiter_qps: SECONDARY_EVICTION_LIMITER_QPS,
            large_cluster_size_threshold: LARGE_CLUSTER_SIZE_THRESHOLD,
            unhealthy_zone_threshold: UNHEALTHY_ZONE_THRESHOLD,
        }
    }
}

impl NodeLifecycleConfig {
    /// The tainting rate for a zone of `size` nodes in `state` (`setLimiterInZone`): a fully
    /// disrupted zone alone is taken for a zone outage and tainted at the healthy rate.
    pub fn zone_qps(&self, state: ZoneState, size: usize) -> f64 {
        match state {
            ZoneState::PartialDisruption if size > self.large_cluster_size_threshold => {
                self.secondary_eviction_limiter_qps
            }
            ZoneState::PartialDisruption => 0.0,
            ZoneState::Initial | ZoneState::Normal | ZoneState::FullDisruption => self.eviction_limiter_qps,
        }
    }
}

/// One zone's state and tainting limiter.
#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    /// The state last decided.
    pub state: ZoneState,
    /// The limiter pacing new taints.
    pub limiter: TokenBucket,
}

/// What Kubernetes keeps in memory between passes, owned by the shell.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeLifecycleState {
    zones: BTreeMap<String, Zone>,
    /// Nodes waiting for a taint, with when they were queued (the `RateLimitedTimedQueue`).
    queue: BTreeMap<String, Timestamp>,
    /// When every node's grace period restarts (the end of a full disruption).
    grace_from: Option<Timestamp>,
    /// Per node, when the controller last saw it alive (`nodeHealthMap`).
    health: BTreeMap<String, NodeHealth>,
}

impl NodeLifecycleState {
    /// A controller that has seen nothing yet.
    pub fn new() -> NodeLifecycleState {
        NodeLifecycleState::default()
    }

    /// A zone's state and limiter, by zone key.
    pub fn zone(&self, key: &str) -> Option<&Zone> {
        self.zones.get(key)
    }

    /// What the controller remembers of a node's health.
    pub fn health(&self, node: &str) -> Option<&NodeHealth> {
        self.health.get(node)
    }

    /// Whether `node` waits for a taint.
    pub fn is_queued(&self, node: &str) -> bool {
        self.queue.contains_key(node)
    }
}

/// One pass over every node (`monitorNodeHealth`, then `doNoExecuteTaintingPass`): status
/// updates for nodes gone silent, their pods marked not ready, instant taint swaps and removals,
/// and new taints as far as each zone's limiter allows. Requeues after [`NODE_MONITOR_PERIOD`].
/// `leases` may hold any Leases; a node's is the one of its name in kube-node-lease, looked up by
/// name (the manager hands over its Lease cache rather than a copy). `pods_on` lists the pods
/// bound to a node (an index lookup); it is called only for nodes the controller sees Unknown.
pub fn reconcile_node_lifecycle<'a>(
    config: &NodeLifecycleConfig,
    nodes: impl IntoIterator<Item = &'a Node>,
    leases: &(impl ByName<Lease> + ?Sized),
    pods_on: impl Fn(&str) -> Vec<Pod>,
    state: &mut NodeLifecycleState,
    now: Timestamp,
) -> Reconciled {
    let mut reconciled = Reconciled { independent_batches: true, ..Reconciled::default() };
    let mut sorted: Vec<&Node> = nodes.into_iter().collect();
    sorted.sort_by(|left, right| left.metadata.name.cmp(&right.metadata.name));
    let mut observed: Vec<(&Node, String)> = Vec::new();
    let mut health = BTreeMap::new();
    for node in sorted {
        let name = node.metadata.name.as_deref().unwrap_or_default();
        let lease = leases.by_name(NODE_LEASE_NAMESPACE, name);
        let mut node_health = NodeHealth::observed(state.health.get(name), node, lease, now);
        let (updated, ready) = health::observe(config, node, &mut node_health, state.grace_from, now);
        health.insert(name.to_owned(), node_health);
        if let Some(updated) = updated {
            let was_ready = health::condition(node, "Ready").is_some_and(|ready| ready.status == "True");
            reconciled.push_alone(Action::UpdateStatus { object: to_object(&updated) });
            if was_ready {
                reconciled.push_alone(pods_not_ready::node_status_change_event(node, now));
            }
        }
        if ready == "Unknown" {
            reconciled.push_batch(mark_pods_not_ready(&pods_on(name), name, now));
        }
        observed.push((node, ready));
    }
    state.health = health;
    if handle_disruption(config, &observed, state, now) {
        for (node, _) in &observed {
            state.queue.remove(node.metadata.name.as_deref().unwrap_or(""));
            if let Some(action) = taints::swap_taint(node, None, now) {
                reconciled.push_alone(action);
            }
        }
        reconciled.requeue_after = Some(NODE_MONITOR_PERIOD);
        return reconciled;
    }
    for (node, ready) in &observed {
        process_taint_based_eviction(node, ready, state, &mut reconciled, now);
    }
    tainting_pass(&observed, state, &mut reconciled, now);
    reconciled.requeue_after = Some(NODE_MONITOR_PERIOD);
    reconciled
}

/// `handleDisruption`: new zone states and limiter rates. Returns true while every zone is fully
/// disrupted, when no node may be tainted and every controller taint is lifted.
fn handle_disruption(
    config: &NodeLifecycleConfig,
    observed: &[(&Node, String)],
    state: &mut NodeLifecycleState,
    now: Timestamp,
) -> bool {
    let mut by_zone: BTreeMap<String, Vec<bool>> = BTreeMap::new();
    for (node, ready) in observed {
        by_zone.entry(zone_key(node)).or_default().push(ready == "True");
    }
    state.zones.retain(|key, _| by_zone.contains_key(key));
    let was_all_disrupted =
        !state.zones.is_empty() && state.zones.values().all(|zone| zone.state == ZoneState::FullDisruption);
    let mut new_states = BTreeMap::new();
    for (key, ready) in &by_zone {
        let (_, new_state) = compute_zone_state(ready, config.unhealthy_zone_threshold);
        new_states.insert(key.clone(), (new_state, ready.len()));
        state.zones.entry(key.clone()).or_insert_with(|| Zone {
            state: ZoneState::Initial,
            limiter: TokenBucket::new(config.eviction_limiter_qps, now),
        });
    }
    let all_disrupted =
        !new_states.is_empty() && new_states.values().all(|(zone_state, _)| *zone_state == ZoneState::FullDisruption);
    if all_disrupted && was_all_disrupted {
        return true;
    }
    if all_disrupted {
        for zone in state.zones.values_mut() {
            zone.limiter.swap(0.0, now);
            zone.state = ZoneState::FullDisruption;
        }
        return true;
    }
    if was_all_disrupted {
        state.grace_from = Some(now);
    }
    for (key, (new_state, size)) in new_states {
        let zone = state.zones.get_mut(&key).expect("every observed zone was inserted");
        if zone.state != new_state || was_all_disrupted {
            zone.limiter.swap(config.zone_qps(new_state, size), now);
            zone.state = new_state;
        }
    }
    false
}

/// `processTaintBaseEviction`: swap a wrong controller taint at once, queue a missing one, lift
/// both from a Ready node.
fn process_taint_based_eviction(
    node: &Node,
    ready: &str,
    state: &mut NodeLifecycleState,
    reconciled: &mut Reconciled,
    now: Timestamp,
) {
    let name = node.metadata.name.clone().unwrap_or_default();
    let Some(wanted) = taints::wanted_taint(ready) else {
        state.queue.remove(&name);
        if let Some(action) = taints::swap_taint(node, None, now) {
            reconciled.push_alone(action);
        }
        return;
    };
    let opposite = if wanted == UNREACHABLE_TAINT_KEY { NOT_READY_TAINT_KEY } else { UNREACHABLE_TAINT_KEY };
    if taints::has_taint(node, opposite) {
        state.queue.remove(&name);
        if let Some(action) = taints::swap_taint(node, Some(wanted), now) {
            reconciled.push_alone(action);
        }
    } else if !taints::has_taint(node, wanted) {
        state.queue.entry(name).or_insert(now);
    } else {
        state.queue.remove(&name);
    }
}

/// `doNoExecuteTaintingPass`: per zone, queued nodes in the order they were queued, as long as
/// the zone's limiter gives tokens.
fn tainting_pass(
    observed: &[(&Node, String)],
    state: &mut NodeLifecycleState,
    reconciled: &mut Reconciled,
    now: Timestamp,
) {
    let by_name: BTreeMap<&str, &(&Node, String)> =
        observed.iter().map(|entry| (entry.0.metadata.name.as_deref().unwrap_or(""), entry)).collect();
    state.queue.retain(|name, _| by_name.contains_key(name.as_str()));
    let mut queued: Vec<(Timestamp, String)> = state.queue.iter().map(|(name, at)| (*at, name.clone())).collect();
    queued.sort();
    for (_, name) in queued {
        let (node, ready) = by_name[name.as_str()];
        let Some(zone) = state.zones.get_mut(&zone_key(node)) else { continue };
        if !zone.limiter.try_accept(now) {
            continue;
        }
        state.queue.remove(&name);
        if let Some(action) = taints::swap_taint(node, taints::wanted_taint(ready), now) {
            reconciled.push_alone(action);
        }
    }
}
