//! The controller manager: the controllers of `kube-controller-manager` run as one component
//! against the API, through the same list+watch protocol every component uses.
//!
//! Shared informers fill the caches; each change is routed to the keys it concerns (and to the
//! expectations it fulfils); each controller has a work queue that deduplicates keys and backs
//! off failures, and at most [`CONTROLLER_WORKERS`] keys in flight. A key's sync is the
//! controller's pure reconcile over the caches; its actions go out batch by batch and their
//! answers decide whether the key is forgotten, requeued after a delay, or retried with
//! back-off. With leader election configured, nothing is reconciled unless this manager holds
//! the Lease, so two managers never both act.

pub mod caches;
pub mod dynamic;
pub mod dynamic_kinds;
pub mod dynamic_routing;
pub mod event_recorder;
pub mod kinds;
pub mod lookups;
pub mod node_routing;
pub mod node_state;
pub mod reconcile;
pub mod routed;
pub mod routing;
pub mod slice_tracking;
pub mod stale_disruption;
pub mod storage_reconcile;
pub mod storage_routing;
pub mod sync;

#[cfg(test)]
mod admission_tests;
#[cfg(test)]
mod disruption_condition_tests;
#[cfg(test)]
mod dynamic_tests;
#[cfg(test)]
mod fidelity_tests;
#[cfg(test)]
mod gc_tests;
#[cfg(test)]
mod hpa_tests;
#[cfg(test)]
mod job_tests;
#[cfg(test)]
mod node_tests;
#[cfg(test)]
mod storage_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use self::caches::Caches;
use self::dynamic::DynamicCaches;
use self::event_recorder::EventRecorder;
use self::kinds::ControllerKind;
use self::node_routing::node_controller_keys;
use self::node_state::{NodeControllers, SharedMetricsSource};
use self::reconcile::reconcile;
use self::routing::{Routed, route};
use self::storage_reconcile::reconcile_storage_key;
use self::storage_routing::storage_controller_keys;
use self::sync::{RunningSync, SyncOutcome};
use crate::client::leader_election::{LeaderElectionConfig, LeaderElector};
use crate::client::requests::request_for_action;
use crate::client::workqueue::WorkQueue;
use crate::client::{Component, Incoming, Outgoing, RequestId, is_success};
use crate::controllers::endpointslice::EndpointSliceTracker;
use crate::controllers::expectations::ControllerExpectations;
use crate::controllers::hpa::MetricsSource;
use crate::controllers::podgc::DEFAULT_TERMINATED_POD_GC_THRESHOLD;
use crate::controllers::{Action, FailedPodsBackoff, NodeIpamConfig, NodeLifecycleConfig};
use crate::limits::CONTROLLER_WORKERS;

/// Which controllers run, and whether to elect a leader first.
#[derive(Clone, Debug, PartialEq)]
pub struct ControllerManagerConfig {
    /// The controllers to run.
    pub controllers: Vec<ControllerKind>,
    /// The Lease to hold before acting (`--leader-elect`), if any.
    pub leader_election: Option<LeaderElectionConfig>,
    /// The cluster CIDR and node CIDR size of the node IPAM controller (`--cluster-cidr`,
    /// `--node-cidr-mask-size`; default 10.244.0.0/16 and /24).
    pub node_ipam: NodeIpamConfig,
    /// The node lifecycle controller's grace periods and eviction rates (Kubernetes'
    /// defaults: 40 s grace, 0.1 node/s).
    pub node_lifecycle: NodeLifecycleConfig,
    /// How many terminated pods podgc keeps before deleting the oldest
    /// (`--terminated-pod-gc-threshold`; default 12,500; 0 keeps them all).
    pub terminated_pod_gc_threshold: usize,
}

impl Default for ControllerManagerConfig {
    /// Every controller, no leader election.
    fn default() -> ControllerManagerConfig {
        ControllerManagerConfig {
            controllers: ControllerKind::ALL.to_vec(),
            leader_election: None,
            node_ipam: NodeIpamConfig::default(),
            node_lifecycle: NodeLifecycleConfig::default(),
            terminated_pod_gc_threshold: DEFAULT_TERMINATED_POD_GC_THRESHOLD,
        }
    }
}

/// Counters for traces and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ManagerStats {
    /// Syncs started.
    pub syncs: u64,
    /// Reconciles that returned an error.
    pub reconcile_errors: u64,
    /// Actions the API refused.
    pub failed_actions: u64,
}

#[derive(Debug, Default)]
struct ControllerState {
    queue: WorkQueue,
    expectations: ControllerExpectations,
    manage_errors: BTreeMap<String, String>,
    /// The DaemonSet controller's failed-pod back-off (empty for the others).
    backoff: FailedPodsBackoff,
    in_flight: usize,
}

/// What an outstanding request belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    /// An action of a running sync.
    Sync(u64),
    /// An event recorded after a create; its answer does not matter.
    Event,
}

/// The controller manager component.
#[derive(Debug)]
pub struct ControllerManager {
    caches: Caches,
    controllers: BTreeMap<ControllerKind, ControllerState>,
    elector: Option<LeaderElector>,
    leading: bool,
    next_id: RequestId,
    next_sync: u64,
    syncs: BTreeMap<u64, RunningSync>,
    pending: BTreeMap<RequestId, Pending>,
    stats: ManagerStats,
    node_state: NodeControllers,
    events: EventRecorder,
    slice_tracker: EndpointSliceTracker,
    terminated_pod_gc_threshold: usize,
}

impl ControllerManager {
    /// A manager that has not listed anything yet.
    pub fn new(config: ControllerManagerConfig) -> ControllerManager {
        let controllers = config.controllers.iter().map(|kind| (*kind, ControllerState::default())).collect();
        let mut caches = Caches::indexed();
        if config.controllers.iter().any(|kind| kind.reads_every_kind()) {
            caches.dynamic = DynamicCaches::for_every_served_kind();
        }
        ControllerManager {
            caches,
            controllers,
            elector: config.leader_election.map(LeaderElector::new),
            leading: false,
            next_id: 1,
            next_sync: 1,
            syncs: BTreeMap::new(),
            pending: BTreeMap::new(),
            stats: ManagerStats::default(),
            node_state: NodeControllers::new(config.node_ipam, config.node_lifecycle),
            events: EventRecorder::new(),
            slice_tracker: EndpointSliceTracker::new(),
            terminated_pod_gc_threshold: config.terminated_pod_gc_threshold,
        }
    }

    /// The manager, with the HPA controller reading pod usage from `source` (the simulator's
    /// load model or the node agents); without one every HPA reports its metrics unavailable.
    pub fn with_metrics(mut self, source: Arc<dyn MetricsSource + Send + Sync>) -> ControllerManager {
        self.node_state.set_metrics(SharedMetricsSource(source));
        self
    }

    /// What the node controllers and the HPA controller remember, for inspection.
    pub fn node_controllers(&self) -> &NodeControllers {
        &self.node_state
    }

    /// The shared caches, for inspection.
    pub fn caches(&self) -> &Caches {
        &self.caches
    }

    /// The counters.
    pub fn stats(&self) -> ManagerStats {
        self.stats
    }

    /// Whether this manager may act at `now` (always, without leader election).
    pub fn is_leader(&self, now: Timestamp) -> bool {
        self.elector.as_ref().is_none_or(|elector| elector.is_leader(now))
    }

    fn handle(&mut self, input: Incoming, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        if let Some(elector) = self.elector.as_mut()
            && elector.handle(&input, now)
        {
            return;
        }
        if let Some(observed) = self.caches.handle(&input, now) {
            for change in &observed {
                slice_tracking::observe_change(&mut self.slice_tracker, change);
                self.apply_routing(route(change, &self.caches), now);
            }
            return;
        }
        let Incoming::Response { id, status, body } = input else { return };
        if let Some(request) = self.events.answered(id, status) {
            let event_id = self.next_id;
            self.next_id += 1;
            self.pending.insert(event_id, Pending::Event);
            outgoing.push(Outgoing { id: event_id, request });
        }
        match self.pending.remove(&id) {
            Some(Pending::Sync(sync_id)) => self.action_answered(sync_id, id, status, &body, now, outgoing),
            Some(Pending::Event) | None => {}
        }
    }

    fn apply_routing(&mut self, routed: Routed, now: Timestamp) {
        for (kind, key) in routed.created {
            if let Some(state) = self.controllers.get_mut(&kind) {
                state.expectations.creation_observed(&key);
            }
        }
        for (kind, key, deleted) in routed.deleted {
            if let Some(state) = self.controllers.get_mut(&kind) {
                state.expectations.deletion_observed(&key, &deleted);
            }
        }
        for (kind, key) in routed.forget {
            if let Some(state) = self.controllers.get_mut(&kind) {
                state.expectations.forget(&key);
                state.manage_errors.remove(&key);
            }
        }
        for (kind, key) in routed.enqueue {
            if let Some(state) = self.controllers.get_mut(&kind) {
                state.queue.add(&key);
            }
        }
        for (kind, key, delay) in routed.enqueue_after {
            if let Some(state) = self.controllers.get_mut(&kind) {
                state.queue.add_after(&key, delay, now);
            }
        }
    }

    fn action_answered(
        &mut self,
        sync_id: u64,
        id: RequestId,
        status: u16,
        body: &Value,
        now: Timestamp,
        outgoing: &mut Vec<Outgoing>,
    ) {
        let Some(sync) = self.syncs.get_mut(&sync_id) else { return };
        let failure = sync.outstanding_action(id).and_then(|action| failure_of(action, status, body));
        if failure.is_some() {
            self.stats.failed_actions += 1;
        }
        let Some(index) = sync.answered(id, failure) else { return };
        if is_success(status) && sync.controller == ControllerKind::EndpointSlice {
            slice_tracking::observe_answer(&mut self.slice_tracker, &sync.actions[index], body);
        }
        if is_success(status)
            && let Action::Create { on_created: Some(event), .. } = &sync.actions[index]
        {
            let name = body["metadata"]["name"].as_str().unwrap_or_default();
            let event_id = self.next_id;
            if let Some(Ok(request)) = self.events.request(event_id, &event.event(name, now), now) {
                self.next_id += 1;
                self.pending.insert(event_id, Pending::Event);
                outgoing.push(Outgoing { id: event_id, request });
            }
        }
        self.advance(sync_id, now, outgoing);
    }

    /// Sends the sync's next batch, or finishes it.
    fn advance(&mut self, sync_id: u64, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        loop {
            let Some(sync) = self.syncs.get_mut(&sync_id) else { return };
            if sync.waiting() {
                return;
            }
            if let Some(outcome) = sync.outcome() {
                let sync = self.syncs.remove(&sync_id).expect("the sync was just found");
                self.finish(sync, outcome, now);
                return;
            }
            let Some(batch) = sync.next_batch(&mut self.next_id) else { return };
            for (id, index) in batch {
                let request = match &sync.actions[index] {
                    Action::Event { event } => match self.events.request(id, event, now) {
                        Some(request) => request,
                        None => {
                            // Dropped as spam: recorded as far as the controller is concerned.
                            sync.answered(id, None);
                            continue;
                        }
                    },
                    action => request_for_action(action),
                };
                match request {
                    Ok(request) => {
                        self.pending.insert(id, Pending::Sync(sync_id));
                        outgoing.push(Outgoing { id, request });
                    }
                    Err(error) => {
                        sync.answered(id, Some(error.to_string()));
                    }
                }
            }
        }
    }

    fn finish(&mut self, sync: RunningSync, outcome: SyncOutcome, now: Timestamp) {
        let Some(state) = self.controllers.get_mut(&sync.controller) else { return };
        state.in_flight -= 1;
        match outcome {
            SyncOutcome::Succeeded { requeue_after } => {
                state.queue.forget(&sync.key);
                state.queue.done(&sync.key);
                state.manage_errors.remove(&sync.key);
                match requeue_after {
                    // "Look again now" goes through the rate limiter, as Kubernetes'
                    // `enqueueRateLimited`: an immediate requeue whose cause is a write still in
                    // flight would otherwise spin without letting that write land.
                    Some(delay) if delay.is_zero() => state.queue.add_rate_limited(&sync.key, now),
                    Some(delay) => state.queue.add_after(&sync.key, delay, now),
                    None => {}
                }
            }
            SyncOutcome::Failed { not_done, message } => {
                let skipped: Vec<Action> = not_done.iter().map(|index| sync.actions[*index].clone()).collect();
                if sync.controller.uses_expectations() {
                    state.expectations.actions_not_done(&sync.key, &skipped);
                }
                self.node_state.actions_not_done(sync.controller, &skipped);
                state.manage_errors.insert(sync.key.clone(), message);
                state.queue.done(&sync.key);
                state.queue.add_rate_limited(&sync.key, now);
            }
        }
    }

    /// Starts syncs for due keys while workers are free.
    fn start_syncs(&mut self, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        let kinds: Vec<ControllerKind> = self.controllers.keys().copied().collect();
        for kind in kinds {
            loop {
                let state = self.controllers.get_mut(&kind).expect("kinds come from the map");
                if state.in_flight >= CONTROLLER_WORKERS {
                    break;
                }
                let Some(key) = state.queue.pop(now) else { break };
                let (namespace, name) = key.split_once('/').unwrap_or(("", key.as_str()));
                let manage_error = state.manage_errors.get(&key).cloned();
                self.stats.syncs += 1;
                let stale = kind == ControllerKind::EndpointSlice
                    && slice_tracking::stale(&self.slice_tracker, &self.caches, namespace, name);
                let result = if stale {
                    // The cache lags the controller's own writes: look again (rate limited)
                    // rather than create duplicate slices or undo a write.
                    Ok(Some(crate::controllers::Reconciled {
                        requeue_after: Some(std::time::Duration::ZERO),
                        ..Default::default()
                    }))
                } else if kind.uses_node_state() {
                    self.node_state.reconcile(kind, &self.caches, &key, now)
                } else if kind.reconciled_by_storage_key() {
                    reconcile_storage_key(kind, &self.caches, &key, self.terminated_pod_gc_threshold, now)
                } else {
                    reconcile(
                        kind,
                        &self.caches,
                        namespace,
                        name,
                        manage_error.as_deref(),
                        &mut state.expectations,
                        &mut state.backoff,
                        now,
                    )
                };
                match result {
                    Ok(None) => {
                        state.expectations.forget(&key);
                        state.manage_errors.remove(&key);
                        state.queue.forget(&key);
                        state.queue.done(&key);
                    }
                    Ok(Some(reconciled)) => {
                        state.in_flight += 1;
                        let sync_id = self.next_sync;
                        self.next_sync += 1;
                        self.syncs.insert(sync_id, RunningSync::new(kind, key, reconciled));
                        self.advance(sync_id, now, outgoing);
                    }
                    Err(_) => {
                        self.stats.reconcile_errors += 1;
                        state.queue.done(&key);
                        state.queue.add_rate_limited(&key, now);
                    }
                }
            }
        }
    }

    /// Leadership was lost: what was in memory may be stale, so start over from the caches
    /// when leadership comes back (client-go's managers exit and restart).
    fn stop_leading(&mut self) {
        for state in self.controllers.values_mut() {
            *state = ControllerState::default();
        }
        self.syncs.clear();
        self.pending.clear();
        self.node_state.reset();
        self.slice_tracker = EndpointSliceTracker::new();
    }
}

impl Component for ControllerManager {
    fn step(&mut self, input: Option<Incoming>, now: Timestamp) -> Vec<Outgoing> {
        let mut outgoing = Vec::new();
        if let Some(input) = input {
            self.handle(input, now, &mut outgoing);
        }
        if let Some(elector) = self.elector.as_mut() {
            outgoing.extend(elector.poll_request(now, &mut self.next_id));
        }
        let leading = self.is_leader(now);
        if self.leading && !leading {
            self.stop_leading();
        }
        if leading && !self.leading {
            // Everything cached may need work: a new leader syncs every object once.
            self.enqueue_everything();
        }
        self.leading = leading;
        self.caches.poll_requests(now, &mut self.next_id, &mut outgoing);
        if leading && self.caches.has_synced() {
            self.start_syncs(now, &mut outgoing);
        }
        outgoing
    }

    fn next_wake(&self) -> Option<Timestamp> {
        // A due key only wakes the manager when a worker is free to sync it and syncs may start:
        // with every worker busy the manager waits for a response, which steps it anyway, and a
        // wake-up for work it cannot start would step it again and again at one instant.
        let may_sync = self.leading && self.caches.has_synced();
        let queues = self
            .controllers
            .values()
            .filter(|state| may_sync && state.in_flight < CONTROLLER_WORKERS)
            .filter_map(|state| state.queue.next_wake());
        let elector = self.elector.as_ref().and_then(LeaderElector::next_wake);
        let renew_deadline = self.elector.as_ref().and_then(LeaderElector::leadership_expires);
        queues.chain(elector).chain(renew_deadline).chain(self.caches.next_wake()).min()
    }
}

impl ControllerManager {
    fn enqueue_everything(&mut self) {
        use crate::client::informer::key_of;
        let mut keys = Vec::new();
        for set in self.caches.replica_sets.iter() {
            keys.push((ControllerKind::ReplicaSet, key_of(&set.metadata)));
        }
        for controller in self.caches.replication_controllers.iter() {
            keys.push((ControllerKind::ReplicationController, key_of(&controller.metadata)));
        }
        for deployment in self.caches.deployments.iter() {
            keys.push((ControllerKind::Deployment, key_of(&deployment.metadata)));
        }
        for job in self.caches.jobs.iter() {
            keys.push((ControllerKind::Job, key_of(&job.metadata)));
            keys.push((ControllerKind::TtlAfterFinished, key_of(&job.metadata)));
        }
        for set in self.caches.stateful_sets.iter() {
            keys.push((ControllerKind::StatefulSet, key_of(&set.metadata)));
        }
        for cron_job in self.caches.cron_jobs.iter() {
            keys.push((ControllerKind::CronJob, key_of(&cron_job.metadata)));
        }
        for daemon_set in self.caches.daemon_sets.iter() {
            keys.push((ControllerKind::DaemonSet, key_of(&daemon_set.metadata)));
        }
        for service in self.caches.services.iter() {
            keys.push((ControllerKind::Endpoints, key_of(&service.metadata)));
            keys.push((ControllerKind::EndpointSlice, key_of(&service.metadata)));
        }
        keys.extend(node_controller_keys(&self.caches));
        keys.extend(storage_controller_keys(&self.caches));
        keys.extend(self::dynamic_routing::every_key(&self.caches.dynamic));
        keys.extend(self::stale_disruption::stale_disruption_keys(&self.caches));
        for (kind, key) in keys {
            if let Some(state) = self.controllers.get_mut(&kind) {
                state.queue.add(&key);
            }
        }
    }
}

/// Why an answered action counts as failed, or `None` when it succeeded. Deleting what is
/// already gone succeeded: the goal is reached; so did patching a pod that is gone (adopting,
/// releasing or removing a finalizer from it has nothing left to do). An event that could not be recorded fails
/// nothing: client-go's recorder is fire-and-forget, so a refused event (say, a name taken by
/// another event of the same object at the same instant) must not keep the status write
/// after it from going out.
fn failure_of(action: &Action, status: u16, body: &Value) -> Option<String> {
    if is_success(status)
        || matches!(action, Action::Event { .. })
        || (status == 404 && matches!(action, Action::Delete { .. } | Action::DeleteCollection { .. }))
        || (status == 404
            && matches!(action, Action::Patch { resource, .. } if resource.group.is_empty() && resource.resource == "pods"))
        || (status == 404 && matches!(action, Action::Delete { .. } | Action::ForceDelete { .. }))
    {
        return None;
    }
    let message = body["message"].as_str().map_or_else(|| format!("HTTP {status}"), str::to_string);
    Some(message)
}
