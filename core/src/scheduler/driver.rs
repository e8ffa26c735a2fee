//! The scheduler as a pure state machine: watch events and `now` in, effects out (bindings for
//! the binding subresource, PodScheduled=False status patches, FailedScheduling events,
//! preemption deletions, the next wake-up). kube-scheduler's `scheduleOne` with the binding
//! cycle turned into effects whose outcome comes back as inputs.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::cache::{Cache, CacheError};
use super::framework::{ActionType, ClusterEvent, Code, CycleState, EventResource, PreBindWrite};
use super::limits::MAX_PODS_PER_STEP;
use super::listers::ListerObject;
use super::metrics::{CycleMetrics, ExtensionPoint, Meter};
use super::node_info::{PodInfo, PodKey};
use super::nominated_pods::NominatedPods;
use super::nominator::Nominator;
use super::plugins::default_preemption::{DISRUPTION_TARGET, REASON_PREEMPTION_BY_SCHEDULER};
use super::plugins::volume_binding::BIND_TIMEOUT;
use super::profile::{DEFAULT_SCHEDULER_NAME, SchedulerConfig};
use super::queue::{Failure, QueuedPodInfo, SchedulingQueue};
use super::registry::{Registry, RegistryError};
use super::runtime::Framework;
use super::schedule_one::{DecisionTrace, NodeCursor, SamplingOptions, ScheduleError, schedule_pod};
use super::snapshot::Snapshot;
use crate::jiff::{SignedDuration, Timestamp};

mod pre_bind_wait;
use self::pre_bind_wait::WaitingOnPreBind;

/// What the scheduler observes.
#[derive(Clone, Debug)]
pub enum Input {
    /// A Node was added or changed.
    NodeApplied(Arc<core::Node>),
    /// A Node was deleted.
    NodeDeleted(Arc<core::Node>),
    /// A Pod was added or changed.
    PodApplied(Arc<core::Pod>),
    /// A Pod was deleted.
    PodDeleted(Arc<core::Pod>),
    /// A Binding the scheduler asked for was refused.
    BindingFailed {
        /// The Pod's key.
        pod: PodKey,
        /// Why, as the API said.
        message: String,
    },
    /// A Namespace, Service, ReplicationController, ReplicaSet or StatefulSet (what
    /// InterPodAffinity's namespace selectors and PodTopologySpread's default constraints
    /// read), or a PersistentVolume, PersistentVolumeClaim or StorageClass (what the volume
    /// plugins read) was added or changed. Volume objects move the unschedulable Pods whose
    /// rejecting plugins registered for them.
    ObjectApplied(ListerObject),
    /// One of those objects was deleted.
    ObjectDeleted(ListerObject),
    /// Only time passed.
    Tick,
}

/// The event resource of a lister object whose changes plugins register for (the volume
/// plugins'); no plugin coxswain implements registers for the other listers' objects.
fn lister_event_resource(object: &ListerObject) -> Option<EventResource> {
    match object {
        ListerObject::PersistentVolume(_) => Some(EventResource::PersistentVolume),
        ListerObject::PersistentVolumeClaim(_) => Some(EventResource::PersistentVolumeClaim),
        ListerObject::StorageClass(_) => Some(EventResource::StorageClass),
        _ => None,
    }
}

/// What the scheduler asks the shell to do.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant, reason = "effects are few per Pod and moved, not stored in bulk")]
pub enum Effect {
    /// POST this Binding to `pods/{name}/binding`.
    Bind(core::Binding),
    /// Patch a Pod's status: a condition (PodScheduled, or DisruptionTarget on a preemption
    /// victim) and, after preemption, the nominated node.
    PatchPodStatus {
        /// Namespace.
        namespace: String,
        /// Pod name.
        name: String,
        /// The condition to set.
        condition: core::PodCondition,
        /// `status.nominatedNodeName` to set, if any; an empty name clears it.
        nominated_node_name: Option<String>,
    },
    /// Record this Event.
    RecordEvent(core::Event),
    /// Delete a preemption victim.
    DeletePod {
        /// Namespace.
        namespace: String,
        /// Pod name.
        name: String,
    },
    /// Clear a Pod's `status.nominatedNodeName`: a higher-priority Pod took the room its
    /// nomination was waiting for (`clearNominatedNodeName`).
    ClearNominatedNodeName {
        /// Namespace.
        namespace: String,
        /// Pod name.
        name: String,
    },
    /// Make a write a PreBind plugin needs (VolumeBinding's claimRef or selected node); a
    /// refusal comes back as `BindingFailed` for the Pod.
    PreBindWrite {
        /// The Pod whose binding waits for the write.
        pod: PodKey,
        /// The write.
        write: PreBindWrite,
    },
    /// Step again at this time, even if nothing else happens.
    WakeAt(Timestamp),
}

/// Why the scheduler could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// A profile's plugins could not be built.
    #[error("building profile {profile:?}")]
    Profile {
        /// The scheduler name of the profile.
        profile: String,
        /// The cause.
        #[source]
        source: RegistryError,
    },
}

/// The ChaCha stream preemption draws its offsets from.
const PREEMPTION_STREAM: u64 = 1;

/// The result of one scheduling attempt, for the simulator's trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    /// The Pod.
    pub pod: PodKey,
    /// The node chosen, or `None`.
    pub node: Option<String>,
    /// The failure message (FitError text), if any.
    pub message: Option<String>,
    /// The decision trace, when tracing.
    pub trace: Option<DecisionTrace>,
}

/// The scheduler: cache, queue, profiles and the seeded generator for tie-breaking.
#[derive(Debug)]
pub struct Scheduler {
    frameworks: Vec<Framework>,
    cache: Cache,
    snapshot: Snapshot,
    queue: SchedulingQueue,
    cursor: NodeCursor,
    rng: ChaCha8Rng,
    /// A separate stream of the same seed for preemption's offsets, so that preempting does
    /// not shift the tie-breaking draws.
    preemption_rng: ChaCha8Rng,
    nominator: Nominator,
    /// The nominated Pods the current attempt counts, by node position: refilled for each
    /// attempt, read by its filters and its preemption.
    nominated: NominatedPods,
    options: SamplingOptions,
    event_sequence: u64,
    attempts: Vec<Attempt>,
    /// Whether decided attempts are kept for [`Scheduler::take_attempts`]. Off by default: a
    /// long-running scheduler nobody asks would keep one entry per Pod it ever placed.
    keep_attempts: bool,
    /// Pods whose PreBind issued API writes and waits for them to take effect, assumed on
    /// their node meanwhile.
    waiting_on_pre_bind: BTreeMap<PodKey, WaitingOnPreBind>,
    /// Times the extension points when the shell asked for it; off by default.
    meter: Meter,
}

impl Scheduler {
    /// Builds the profiles' frameworks; `rng` breaks score ties.
    pub fn new(
        config: &SchedulerConfig,
        registry: &Registry,
        rng: ChaCha8Rng,
        options: SamplingOptions,
    ) -> Result<Scheduler, SchedulerError> {
        let mut frameworks = Vec::new();
        for profile in &config.profiles {
            let framework = Framework::new(registry, profile)
                .map_err(|source| SchedulerError::Profile { profile: profile.scheduler_name.clone(), source })?;
            frameworks.push(framework);
        }
        let mut events = BTreeMap::new();
        for framework in &frameworks {
            for (plugin, registered) in framework.events_to_register() {
                events.insert(*plugin, registered.clone());
            }
        }
        Ok(Scheduler {
            frameworks,
            cache: Cache::new(),
            snapshot: Snapshot::new(),
            queue: SchedulingQueue::new(config.pod_initial_backoff, config.pod_max_backoff, events),
            cursor: NodeCursor::default(),
            preemption_rng: {
                let mut stream = rng.clone();
                stream.set_stream(PREEMPTION_STREAM);
                stream
            },
            rng,
            nominator: Nominator::new(),
            nominated: NominatedPods::default(),
            options,
            event_sequence: 0,
            attempts: Vec::new(),
            keep_attempts: false,
            waiting_on_pre_bind: BTreeMap::new(),
            meter: Meter::default(),
        })
    }

    /// The cache (read-only), for inspection.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The Pods nominated by preemption (read-only), for inspection.
    pub fn nominator(&self) -> &Nominator {
        &self.nominator
    }

    /// The queue (read-only), for inspection.
    pub fn queue(&self) -> &SchedulingQueue {
        &self.queue
    }

    /// Starts measuring where each cycle's time goes, reading the shell's clock (`cox bench`);
    /// the decisions are the same with or without.
    pub fn measure(&mut self, metrics: CycleMetrics) {
        self.meter = Meter::new(metrics);
    }

    /// What was measured since [`Scheduler::measure`], if measuring.
    pub fn metrics(&self) -> Option<&CycleMetrics> {
        self.meter.metrics()
    }

    /// Keeps every decided attempt (Pod, node or failure message, decision trace) until
    /// [`Scheduler::take_attempts`] takes them: the simulator's trace and report read them.
    pub fn keep_attempts(&mut self) {
        self.keep_attempts = true;
    }

    /// Takes the attempts recorded since the last call (none unless
    /// [`Scheduler::keep_attempts`] was called).
    pub fn take_attempts(&mut self) -> Vec<Attempt> {
        std::mem::take(&mut self.attempts)
    }

    fn framework_for(&self, pod: &core::Pod) -> Option<usize> {
        let name = pod.spec.as_ref().and_then(|spec| spec.scheduler_name.as_deref()).unwrap_or(DEFAULT_SCHEDULER_NAME);
        self.frameworks.iter().position(|framework| framework.scheduler_name() == name)
    }

    /// Applies an input, then schedules what it can; returns the effects.
    pub fn step(&mut self, input: Input, now: Timestamp) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.observe(input, now, &mut effects);
        self.schedule_pending(now, MAX_PODS_PER_STEP, &mut effects);
        if let Some(wake) = self.queue.next_wakeup() {
            effects.push(Effect::WakeAt(wake));
        }
        effects
    }

    /// Applies an input to the cache and queue without scheduling.
    pub fn observe(&mut self, input: Input, now: Timestamp, effects: &mut Vec<Effect>) {
        let volume_changed_or_tick = match &input {
            Input::ObjectApplied(object) | Input::ObjectDeleted(object) => lister_event_resource(object).is_some(),
            Input::Tick => true,
            _ => false,
        };
        match input {
            Input::NodeApplied(node) => {
                let existed = node.metadata.name.as_deref().and_then(|name| self.cache.node_info(name)).is_some();
                self.cache.add_or_update_node(node);
                let action = if existed { ActionType::UPDATE } else { ActionType::ADD };
                self.queue.move_all_to_active_or_backoff(ClusterEvent { resource: EventResource::Node, action }, now);
            }
            Input::NodeDeleted(node) => self.cache.remove_node(node.metadata.name.as_deref().unwrap_or("")),
            Input::PodApplied(pod) => self.observe_pod(pod, now),
            Input::PodDeleted(pod) => {
                let key = PodKey::of(&pod);
                if self.cache.pod(&key).is_some() {
                    // A cache miss here only means the Pod was never accounted.
                    let _ = self.cache.remove_pod(&key);
                    let event = ClusterEvent { resource: EventResource::AssignedPod, action: ActionType::DELETE };
                    self.queue.move_all_to_active_or_backoff(event, now);
                }
                self.queue.delete(&key);
                self.nominator.delete(&key);
                self.waiting_on_pre_bind.remove(&key);
            }
            Input::BindingFailed { pod, message } => self.binding_failed(&pod, &message, now, effects),
            Input::ObjectApplied(object) => {
                let action = if self.cache.objects().contains(&object) { ActionType::UPDATE } else { ActionType::ADD };
                self.cache.apply_object(&object);
                if let Some(resource) = lister_event_resource(&object) {
                    self.queue.move_all_to_active_or_backoff(ClusterEvent { resource, action }, now);
                }
            }
            Input::ObjectDeleted(object) => {
                self.cache.delete_object(&object);
                if let Some(resource) = lister_event_resource(&object) {
                    let event = ClusterEvent { resource, action: ActionType::DELETE };
                    self.queue.move_all_to_active_or_backoff(event, now);
                }
            }
            Input::Tick => {}
        }
        if volume_changed_or_tick {
            self.check_pre_bind_waits(now, effects);
        }
        for key in self.cache.cleanup_expired_assumed_pods(now) {
            let _ = key;
        }
        self.queue.flush_unschedulable_leftover(now);
    }

    fn observe_pod(&mut self, pod: Arc<core::Pod>, now: Timestamp) {
        let terminal =
            matches!(pod.status.as_ref().and_then(|status| status.phase.as_deref()), Some("Succeeded" | "Failed"));
        let assigned =
            pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()).is_some_and(|name| !name.is_empty());
        let info = Arc::new(PodInfo::new(pod));
        let key = info.key.clone();
        if assigned {
            self.queue.delete(&key);
            self.nominator.delete(&key);
            let known = self.cache.pod(&key).is_some();
            if terminal {
                if known {
                    let _ = self.cache.remove_pod(&key);
                    let event = ClusterEvent { resource: EventResource::AssignedPod, action: ActionType::DELETE };
                    self.queue.move_all_to_active_or_backoff(event, now);
                }
                return;
            }
            let updating = known && !self.cache.is_assumed(&key);
            let labels_changed = updating
                && self.cache.pod(&key).is_some_and(|(old, _)| old.pod.metadata.labels != info.pod.metadata.labels);
            let result: Result<(), CacheError> =
                if updating { self.cache.update_pod(info) } else { self.cache.add_pod(info) };
            let action = if !known {
                Some(ActionType::ADD)
            } else if labels_changed {
                Some(ActionType::UPDATE_POD_LABEL)
            } else {
                None
            };
            if let (Ok(()), Some(action)) = (result, action) {
                let event = ClusterEvent { resource: EventResource::AssignedPod, action };
                self.queue.move_all_to_active_or_backoff(event, now);
            }
            return;
        }
        if terminal || info.pod.metadata.deletion_timestamp.is_some() || self.framework_for(&info.pod).is_none() {
            self.queue.delete(&key);
            self.nominator.delete(&key);
            return;
        }
        if self.cache.is_assumed(&key) {
            return;
        }
        let nominated = info.pod.status.as_ref().and_then(|status| status.nominated_node_name.as_deref());
        if let Some(node_name) = nominated.filter(|name| !name.is_empty()) {
            self.nominator.add(Arc::clone(&info), node_name);
        }
        let admitted = self.framework_for(&info.pod).is_none_or(|profile| {
            // Kubernetes logs the refusal; the API server already shows it as SchedulingGated.
            self.frameworks[profile].run_pre_enqueue(&info).is_success()
        });
        if admitted {
            self.queue.add(info, now);
        } else {
            self.queue.gate(info, now);
        }
    }

    fn binding_failed(&mut self, key: &PodKey, message: &str, now: Timestamp, effects: &mut Vec<Effect>) {
        let Some((pod, _)) = self.cache.pod(key) else {
            return;
        };
        if !self.cache.is_assumed(key) {
            return;
        }
        if let Some(waiting) = self.waiting_on_pre_bind.remove(key) {
            let mut state = waiting.state;
            self.frameworks[waiting.profile].run_unreserve(&mut state, &waiting.assumed, &waiting.host);
        }
        let pod = Arc::clone(pod);
        let _ = self.cache.forget_pod(key);
        let event = ClusterEvent { resource: EventResource::AssignedPod, action: ActionType::DELETE };
        self.queue.move_all_to_active_or_backoff(event, now);
        let mut original = (*pod.pod).clone();
        if let Some(spec) = original.spec.as_mut() {
            spec.node_name = None;
        }
        let info = QueuedPodInfo {
            pod: Arc::new(PodInfo::new(Arc::new(original))),
            timestamp: now,
            attempts: 1,
            initial_attempt_timestamp: now,
            unschedulable_plugins: Default::default(),
        };
        self.report_failure(&info, "SchedulerError", &format!("binding rejected: {message}"), None, now, effects);
        self.queue.add_unschedulable(info, Failure::Error, now);
    }

    /// Schedules up to `limit` Pods from activeQ; returns how many it took (fewer than `limit`
    /// when activeQ ran dry).
    pub fn schedule_pending(&mut self, now: Timestamp, limit: usize, effects: &mut Vec<Effect>) -> usize {
        for attempted in 0..limit {
            let Some(info) = self.queue.pop(now) else {
                return attempted;
            };
            let started = self.meter.start();
            self.schedule_one(info, now, effects);
            self.meter.record_attempt(started);
        }
        limit
    }

    fn schedule_one(&mut self, info: QueuedPodInfo, now: Timestamp, effects: &mut Vec<Effect>) {
        let Some(profile) = self.framework_for(&info.pod.pod) else {
            self.queue.done(&info.pod.key);
            return;
        };
        if info.pod.pod.metadata.deletion_timestamp.is_some() || self.cache.is_assumed(&info.pod.key) {
            self.queue.done(&info.pod.key);
            return;
        }
        self.cache.update_snapshot(&mut self.snapshot);
        let framework = &self.frameworks[profile];
        let mut state = CycleState::new();
        self.nominated.refill(&self.nominator, &info.pod, &self.snapshot);
        let (result, trace) = schedule_pod(
            framework,
            &mut state,
            &info.pod,
            &self.snapshot,
            &mut self.cursor,
            &mut self.rng,
            &self.options,
            &self.nominator,
            &self.nominated,
            &mut self.meter,
        );
        match result {
            Ok(result) => self.assume_and_bind(profile, info, state, &result.suggested_host, trace, now, effects),
            Err(error) => self.handle_schedule_error(profile, info, &state, error, trace, now, effects),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn assume_and_bind(
        &mut self,
        profile: usize,
        info: QueuedPodInfo,
        mut state: CycleState,
        host: &str,
        trace: Option<DecisionTrace>,
        now: Timestamp,
        effects: &mut Vec<Effect>,
    ) {
        let state = &mut state;
        let mut assumed = (*info.pod.pod).clone();
        if let Some(spec) = assumed.spec.as_mut() {
            spec.node_name = Some(host.to_owned());
        }
        let mut assumed_info = (*info.pod).clone();
        assumed_info.pod = Arc::new(assumed);
        let assumed_info = Arc::new(assumed_info);
        if let Err(error) = self.cache.assume_pod(Arc::clone(&assumed_info)) {
            self.fail(info, "SchedulerError", &error.to_string(), Failure::Error, trace, now, effects);
            return;
        }
        self.nominator.delete(&info.pod.key);
        let framework = &self.frameworks[profile];
        let started = self.meter.start();
        let mut status = framework.run_reserve(state, &assumed_info, host);
        self.meter.record(ExtensionPoint::Reserve, started);
        if status.is_success() {
            let started = self.meter.start();
            let (permit, _timeout) = framework.run_permit(state, &assumed_info, host);
            self.meter.record(ExtensionPoint::Permit, started);
            // Waiting permits are not supported yet: a Wait counts as a rejection, so no Pod
            // is ever bound without every Permit plugin's consent.
            status = if permit.code() == Code::Wait {
                super::framework::Status::new(Code::Unschedulable, "pod rejected while waiting on permit")
            } else {
                permit
            };
        }
        if status.is_success() {
            let started = self.meter.start();
            status = framework.run_pre_bind(state, &assumed_info, host);
            self.meter.record(ExtensionPoint::PreBind, started);
        }
        if status.code() == Code::Wait {
            let writes = framework.run_pre_bind_writes(state, &assumed_info, host);
            let waiting = WaitingOnPreBind {
                profile,
                info,
                state: std::mem::take(state),
                assumed: assumed_info,
                host: host.to_owned(),
                trace,
                deadline: now + SignedDuration::try_from(BIND_TIMEOUT).unwrap_or(SignedDuration::MAX),
            };
            self.wait_on_pre_bind(waiting, writes, effects);
            return;
        }
        self.finish_binding_cycle(profile, info, state, &assumed_info, host, status, trace, now, effects);
    }

    /// The end of a binding cycle once PreBind is over: Bind (and the Scheduled event) when
    /// `status` succeeded, otherwise unreserve, forget and fail the Pod.
    #[allow(clippy::too_many_arguments)]
    fn finish_binding_cycle(
        &mut self,
        profile: usize,
        info: QueuedPodInfo,
        state: &mut CycleState,
        assumed_info: &Arc<PodInfo>,
        host: &str,
        status: super::framework::Status,
        trace: Option<DecisionTrace>,
        now: Timestamp,
        effects: &mut Vec<Effect>,
    ) {
        let framework = &self.frameworks[profile];
        let started = self.meter.start();
        let binding = if status.is_success() { framework.run_bind(state, assumed_info, host) } else { Err(status) };
        self.meter.record(ExtensionPoint::Bind, started);
        match binding {
            Ok(binding) => {
                let _ = self.cache.finish_binding(&info.pod.key, now);
                self.queue.done(&info.pod.key);
                let message = format!("Successfully assigned {}/{} to {host}", info.pod.namespace(), info.pod.name());
                effects.push(Effect::Bind(binding));
                let event = self.event(&info.pod, "Normal", "Scheduled", &message, now);
                effects.push(Effect::RecordEvent(event));
                if self.keep_attempts {
                    self.attempts.push(Attempt {
                        pod: info.pod.key.clone(),
                        node: Some(host.to_owned()),
                        message: None,
                        trace,
                    });
                }
            }
            Err(status) => {
                self.frameworks[profile].run_unreserve(state, assumed_info, host);
                let _ = self.cache.forget_pod(&info.pod.key);
                let failure = if status.is_rejected() {
                    Failure::Unschedulable(std::iter::once(status.plugin()).filter(|p| !p.is_empty()).collect())
                } else {
                    Failure::Error
                };
                let reason = if status.is_rejected() { "Unschedulable" } else { "SchedulerError" };
                self.fail(info, reason, &status.message(), failure, trace, now, effects);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_schedule_error(
        &mut self,
        profile: usize,
        info: QueuedPodInfo,
        state: &CycleState,
        error: ScheduleError,
        trace: Option<DecisionTrace>,
        now: Timestamp,
        effects: &mut Vec<Effect>,
    ) {
        match error {
            ScheduleError::NoNodesAvailable => {
                let message = error.to_string();
                self.fail(
                    info,
                    "Unschedulable",
                    &message,
                    Failure::Unschedulable(Default::default()),
                    trace,
                    now,
                    effects,
                );
            }
            ScheduleError::Internal(status) => {
                self.fail(info, "SchedulerError", &status.message(), Failure::Error, trace, now, effects);
            }
            ScheduleError::Unfit(mut fit_error) => {
                let framework = &self.frameworks[profile];
                let random = self.preemption_rng.random::<u64>();
                let started = self.meter.start();
                let (result, status) = framework.run_post_filter(
                    state,
                    &info.pod,
                    &fit_error.diagnosis.node_to_status,
                    &self.snapshot,
                    &self.nominator,
                    &self.nominated,
                    random,
                );
                self.meter.record(ExtensionPoint::PostFilter, started);
                fit_error.diagnosis.post_filter_message =
                    if status.is_success() { String::new() } else { status.message() };
                let nominated = match result {
                    Some(result) => self.carry_out_preemption(&info.pod, result, status.is_success(), now, effects),
                    None => None,
                };
                let plugins = fit_error.diagnosis.unschedulable_plugins.clone();
                let message = fit_error.to_string();
                self.report_failure(&info, "Unschedulable", &message, nominated, now, effects);
                self.record_failure(&info, &message, trace);
                self.queue.add_unschedulable(info, Failure::Unschedulable(plugins), now);
            }
        }
    }

    /// Carries out a PostFilter result (`prepareCandidate`): each victim not already terminating
    /// gets the DisruptionTarget condition, is deleted, and gets a `Preempted` event; Pods of
    /// lower priority nominated to the node lose their nomination; the preemptor is nominated.
    /// A result without a node clears the preemptor's nomination. Returns the
    /// `status.nominatedNodeName` to patch onto the preemptor.
    fn carry_out_preemption(
        &mut self,
        preemptor: &Arc<PodInfo>,
        result: super::framework::PostFilterResult,
        succeeded: bool,
        now: Timestamp,
        effects: &mut Vec<Effect>,
    ) -> Option<String> {
        let node_name = result.nominated_node_name.filter(|name| !name.is_empty());
        let Some(node_name) = node_name.filter(|_| succeeded) else {
            let was_nominated = self.nominator.delete(&preemptor.key).is_some()
                || preemptor.pod.status.as_ref().and_then(|status| status.nominated_node_name.as_deref()).is_some();
            return was_nominated.then(String::new);
        };
        let scheduler_name =
            preemptor.spec().scheduler_name.clone().unwrap_or_else(|| DEFAULT_SCHEDULER_NAME.to_owned());
        for victim in result.victims.iter().filter(|victim| victim.pod.metadata.deletion_timestamp.is_none()) {
            let condition = core::PodCondition {
                type_: DISRUPTION_TARGET.to_owned(),
                status: "True".to_owned(),
                reason: Some(REASON_PREEMPTION_BY_SCHEDULER.to_owned()),
                message: Some(format!("{scheduler_name}: preempting to accommodate a higher priority pod")),
                last_transition_time: Some(meta::Time(now)),
                ..core::PodCondition::default()
            };
            let (namespace, name) = (victim.namespace().to_owned(), victim.name().to_owned());
            effects.push(Effect::PatchPodStatus {
                namespace: namespace.clone(),
                name: name.clone(),
                condition,
                nominated_node_name: None,
            });
            effects.push(Effect::DeletePod { namespace, name });
            let uid = preemptor.pod.metadata.uid.as_deref().unwrap_or("");
            let message = format!("Preempted by pod {uid} on node {node_name}");
            let mut event = self.event(victim, "Normal", "Preempted", &message, now);
            event.action = Some("Preempting".to_owned());
            event.related = Some(object_reference(preemptor));
            effects.push(Effect::RecordEvent(event));
        }
        let lower: Vec<Arc<PodInfo>> = self
            .nominator
            .pods_for_node(&node_name)
            .iter()
            .filter(|other| other.priority < preemptor.priority)
            .cloned()
            .collect();
        for other in lower {
            self.nominator.delete(&other.key);
            effects.push(Effect::ClearNominatedNodeName {
                namespace: other.namespace().to_owned(),
                name: other.name().to_owned(),
            });
        }
        self.nominator.add(Arc::clone(preemptor), &node_name);
        Some(node_name)
    }

    #[allow(clippy::too_many_arguments)]
    fn fail(
        &mut self,
        info: QueuedPodInfo,
        reason: &str,
        message: &str,
        failure: Failure,
        trace: Option<DecisionTrace>,
        now: Timestamp,
        effects: &mut Vec<Effect>,
    ) {
        self.report_failure(&info, reason, message, None, now, effects);
        self.record_failure(&info, message, trace);
        self.queue.add_unschedulable(info, failure, now);
    }

    fn record_failure(&mut self, info: &QueuedPodInfo, message: &str, trace: Option<DecisionTrace>) {
        if !self.keep_attempts {
            return;
        }
        self.attempts.push(Attempt { pod: info.pod.key.clone(), node: None, message: Some(message.to_owned()), trace });
    }

    fn report_failure(
        &mut self,
        info: &QueuedPodInfo,
        reason: &str,
        message: &str,
        nominated_node_name: Option<String>,
        now: Timestamp,
        effects: &mut Vec<Effect>,
    ) {
        let condition = core::PodCondition {
            type_: "PodScheduled".to_owned(),
            status: "False".to_owned(),
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            last_transition_time: Some(meta::Time(now)),
            ..core::PodCondition::default()
        };
        effects.push(Effect::PatchPodStatus {
            namespace: info.pod.namespace().to_owned(),
            name: info.pod.name().to_owned(),
            condition,
            nominated_node_name,
        });
        let event = self.event(&info.pod, "Warning", "FailedScheduling", message, now);
        effects.push(Effect::RecordEvent(event));
    }

    fn event(&mut self, pod: &PodInfo, kind: &str, reason: &str, message: &str, now: Timestamp) -> core::Event {
        self.event_sequence += 1;
        core::Event {
            metadata: meta::ObjectMeta {
                namespace: Some(pod.namespace().to_owned()),
                name: Some(format!("{}.{:x}", pod.name(), self.event_sequence)),
                ..meta::ObjectMeta::default()
            },
            involved_object: object_reference(pod),
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            type_: Some(kind.to_owned()),
            action: Some("Scheduling".to_owned()),
            reporting_component: Some(DEFAULT_SCHEDULER_NAME.to_owned()),
            source: Some(core::EventSource { component: Some(DEFAULT_SCHEDULER_NAME.to_owned()), host: None }),
            first_timestamp: Some(meta::Time(now)),
            last_timestamp: Some(meta::Time(now)),
            event_time: Some(meta::MicroTime(now)),
            count: Some(1),
            ..core::Event::default()
        }
    }
}

/// A reference to a Pod, for events.
fn object_reference(pod: &PodInfo) -> core::ObjectReference {
    core::ObjectReference {
        api_version: Some("v1".to_owned()),
        kind: Some("Pod".to_owned()),
        namespace: Some(pod.namespace().to_owned()),
        name: Some(pod.name().to_owned()),
        uid: pod.pod.metadata.uid.clone(),
        ..core::ObjectReference::default()
    }
}
