//! One admitted pod's lifecycle (`pkg/kubelet` `SyncPod` and `kuberuntime`'s
//! `computePodActions`, as one level-triggered state machine): init containers in order, then
//! containers, each through pull → create → start, restarted per restartPolicy with the
//! crash-loop back-off; probes and hooks; graceful termination on deletion; the phase.
//!
//! Differences from Kubernetes, all deliberate: the pod worker's 10 s retry after a sync error is
//! 1 s here ([`ERROR_RESYNC_DELAY`]), so ErrImagePull turns into ImagePullBackOff within the first
//! back-off; one pod's sandbox is its IP (no pause container).

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::backoff::BACKOFF_INITIAL;
use super::container::{
    ContainerRecord, REASON_CONTAINER_CREATING, REASON_CRASH_LOOP_BACK_OFF, REASON_CREATE_CONTAINER_ERROR,
    REASON_ERR_IMAGE_NEVER_PULL, REASON_ERR_IMAGE_PULL, REASON_IMAGE_PULL_BACK_OFF, Stage, Stopping, Terminated,
};
use super::probe::{ProbeKind, ProbeTransition, hook_action, probe_action};
use super::runtime::{ContainerRef, HandlerOutcome, PodRef, RuntimeCommand};

/// A pod's grace period when neither the deletion nor the spec names one (30 s).
pub const DEFAULT_TERMINATION_GRACE_PERIOD: Duration = Duration::from_secs(30);
/// How soon a pod is synced again after an error (Kubernetes' pod worker waits 10 s, jittered).
pub const ERROR_RESYNC_DELAY: Duration = Duration::from_secs(1);

/// `status.reason` of a pod that outlived `activeDeadlineSeconds`.
pub const REASON_DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
/// Its `status.message`, as Kubernetes words it.
pub const MESSAGE_DEADLINE_EXCEEDED: &str = "Pod was active on the node longer than the specified deadline";

/// `namespace`, `name`.
pub type PodKey = (String, String);

/// Whether the final delete was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinalDelete {
    /// Containers still run, or the pod is not being deleted.
    NotYet,
    /// The DELETE with grace 0 is out.
    Sent,
}

/// What a sync asks of the kubelet besides runtime commands.
#[derive(Debug)]
pub struct SyncEffects {
    /// Runtime commands, in order.
    pub commands: Vec<RuntimeCommand>,
    /// Pulls started: (image, container name), so the pull's report finds its waiters.
    pub pulls: Vec<(String, String)>,
    /// The final delete is due.
    pub delete: bool,
}

/// One admitted pod.
#[derive(Debug)]
pub struct PodRecord {
    /// The latest pod seen.
    pub pod: Arc<Pod>,
    /// Its uid.
    pub uid: String,
    /// The sandbox IP.
    pub pod_ip: Option<Ipv4Addr>,
    /// When the kubelet admitted it (`status.startTime`).
    pub start_time: Timestamp,
    /// Init containers, in order.
    pub init: Vec<ContainerRecord>,
    /// App containers, in order.
    pub containers: Vec<ContainerRecord>,
    /// A terminal phase reached (sticky).
    pub terminal: Option<&'static str>,
    /// When SIGKILL follows for a pod being deleted.
    pub deletion_deadline: Option<Timestamp>,
    /// The final delete.
    pub final_delete: FinalDelete,
    /// Each kubelet-owned condition's status and when it last changed.
    pub conditions: std::collections::BTreeMap<&'static str, (bool, Timestamp)>,
    /// `status.qosClass`.
    pub qos_class: &'static str,
    /// `status.reason` and `status.message` when the kubelet ended the pod (DeadlineExceeded).
    pub reason: Option<(&'static str, String)>,
    /// The next request number for probes and hooks.
    next_request: u64,
}

fn after(at: Timestamp, duration: Duration) -> Timestamp {
    at.saturating_add(SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX)).unwrap_or(Timestamp::MAX)
}

/// The pull policy, defaulted as the API server does: `Always` for `:latest` or no tag,
/// `IfNotPresent` otherwise.
pub fn pull_policy(container: &Container) -> &str {
    if let Some(policy) = container.image_pull_policy.as_deref().filter(|policy| !policy.is_empty()) {
        return policy;
    }
    let image = container.image.as_deref().unwrap_or_default();
    let without_digest = image.split('@').next().unwrap_or_default();
    let last = without_digest.rsplit('/').next().unwrap_or_default();
    let tagged = last.split_once(':').map(|(_, tag)| tag);
    if image.contains('@') {
        return "IfNotPresent";
    }
    match tagged {
        None | Some("latest") => "Always",
        Some(_) => "IfNotPresent",
    }
}

/// The effective command and args (`command`/`args` semantics): `command` replaces the image's
/// entrypoint, `args` its cmd; `command` without `args` drops the image's cmd. Empty means "the
/// image's own", which the runtime fills in.
pub fn effective_command(container: &Container) -> (Vec<String>, Vec<String>) {
    (container.command.clone().unwrap_or_default(), container.args.clone().unwrap_or_default())
}

/// The TCP ports a container declares (`ports[].containerPort`, protocol unset or `TCP`): the
/// ones `kubectl port-forward` can reach in a simulated container.
pub fn declared_tcp_ports(container: &Container) -> Vec<u16> {
    container
        .ports
        .iter()
        .flatten()
        .filter(|port| port.protocol.as_deref().is_none_or(|protocol| protocol == "TCP"))
        .filter_map(|port| u16::try_from(port.container_port).ok())
        .collect()
}

impl PodRecord {
    /// A pod admitted at `now`. A pod that ran before (its status lists container statuses with
    /// restarts or a started run) keeps counting its restarts: its containers start again as
    /// after a node reboot.
    pub fn new(pod: Arc<Pod>, now: Timestamp) -> PodRecord {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let spec = pod.spec.clone().unwrap_or_default();
        let status = pod.status.clone().unwrap_or_default();
        let previous = |name: &str, init: bool| -> u32 {
            let statuses = if init { &status.init_container_statuses } else { &status.container_statuses };
            let found = statuses.iter().flatten().find(|status| status.name == name);
            found.map_or(0, |status| {
                let ran =
                    status.state.as_ref().is_some_and(|state| state.running.is_some() || state.terminated.is_some());
                u32::try_from(status.restart_count).unwrap_or(0) + u32::from(ran)
            })
        };
        let init = spec
            .init_containers
            .iter()
            .flatten()
            .map(|container| ContainerRecord::new(container, true, previous(&container.name, true)))
            .collect();
        let containers = spec
            .containers
            .iter()
            .map(|container| ContainerRecord::new(container, false, previous(&container.name, false)))
            .collect();
        let start_time = status.start_time.map_or(now, |time| time.0);
        PodRecord {
            pod,
            uid,
            pod_ip: None,
            start_time,
            init,
            containers,
            terminal: None,
            deletion_deadline: None,
            final_delete: FinalDelete::NotYet,
            conditions: std::collections::BTreeMap::new(),
            qos_class: "BestEffort",
            reason: None,
            next_request: 1,
        }
    }

    /// The pod's key.
    pub fn key(&self) -> PodKey {
        (self.pod.metadata.namespace.clone().unwrap_or_default(), self.pod.metadata.name.clone().unwrap_or_default())
    }

    /// The sandbox reference.
    pub fn pod_ref(&self) -> PodRef {
        let (namespace, pod) = self.key();
        PodRef { namespace, pod, pod_uid: self.uid.clone() }
    }

    fn container_ref(&self, container: &ContainerRecord) -> ContainerRef {
        self.pod_ref().container(container.name(), container.attempt)
    }

    /// `spec.restartPolicy` (Always when unset).
    pub fn restart_policy(&self) -> &str {
        self.pod.spec.as_ref().and_then(|spec| spec.restart_policy.as_deref()).unwrap_or("Always")
    }

    /// Whether the pod uses the node's network (no pod IP of its own).
    pub fn host_network(&self) -> bool {
        self.pod.spec.as_ref().and_then(|spec| spec.host_network).unwrap_or(false)
    }

    /// Whether the pod is being torn down: deleted, or finished.
    pub fn is_terminating(&self) -> bool {
        self.pod.metadata.deletion_timestamp.is_some() || self.terminal.is_some()
    }

    /// Whether any container process runs (or is being started).
    pub fn any_running(&self) -> bool {
        self.all().any(|container| container.is_running() || matches!(container.stage, Stage::Creating))
    }

    /// Every container, init first.
    pub fn all(&self) -> impl Iterator<Item = &ContainerRecord> {
        self.init.iter().chain(self.containers.iter())
    }

    /// Whether every regular init container completed.
    pub fn initialized(&self) -> bool {
        self.init.iter().all(|container| container.completed() || (container.is_sidecar() && container.started))
    }

    /// The container named `name` of attempt `attempt`, if current.
    pub fn container_mut(&mut self, name: &str, attempt: u32) -> Option<&mut ContainerRecord> {
        self.init
            .iter_mut()
            .chain(self.containers.iter_mut())
            .find(|container| container.name() == name && container.attempt == attempt)
    }

    /// The pod's grace period (`deletionGracePeriodSeconds`, else the spec's, else 30 s).
    pub fn grace_period(&self) -> Duration {
        let seconds = self
            .pod
            .metadata
            .deletion_grace_period_seconds
            .or_else(|| self.pod.spec.as_ref().and_then(|spec| spec.termination_grace_period_seconds));
        seconds.map_or(DEFAULT_TERMINATION_GRACE_PERIOD, |seconds| {
            Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
        })
    }

    /// When the pod next needs a sync without any report arriving.
    pub fn next_wake(&self) -> Option<Timestamp> {
        let mut wakes = Vec::new();
        for container in self.all() {
            wakes.extend(container.not_before);
            wakes.extend(container.back_off_shown_at);
            wakes.extend(
                container.stopping.as_ref().filter(|stopping| !stopping.killed).map(|stopping| stopping.deadline),
            );
            if container.is_running() {
                wakes.extend(
                    container
                        .probes
                        .iter()
                        .filter(|probe| probe.in_flight.is_none())
                        .filter_map(|probe| probe.next_run),
                );
            }
        }
        wakes.extend(self.deletion_deadline.filter(|_| self.any_running()));
        if !self.is_terminating() {
            wakes.extend(self.active_deadline());
        }
        wakes.into_iter().min()
    }

    /// When the pod has been active longer than `spec.activeDeadlineSeconds`.
    pub fn active_deadline(&self) -> Option<Timestamp> {
        let seconds = self.pod.spec.as_ref().and_then(|spec| spec.active_deadline_seconds)?;
        Some(after(self.start_time, Duration::from_secs(u64::try_from(seconds).unwrap_or(0))))
    }

    /// Brings the pod one step closer to what its spec, deletion and reports ask, at `now`;
    /// `images` says which images the node has.
    pub fn sync(&mut self, now: Timestamp, images: &std::collections::BTreeSet<String>) -> SyncEffects {
        let mut effects = SyncEffects { commands: Vec::new(), pulls: Vec::new(), delete: false };
        self.show_pull_back_offs(now);
        self.enforce_stop_deadlines(now, &mut effects);
        if self.pod.metadata.deletion_timestamp.is_some() && self.deletion_deadline.is_none() {
            self.deletion_deadline = Some(after(now, self.grace_period()));
        }
        if !self.is_terminating() && self.active_deadline().is_some_and(|deadline| deadline <= now) {
            self.terminal = Some("Failed");
            self.reason = Some((REASON_DEADLINE_EXCEEDED, MESSAGE_DEADLINE_EXCEEDED.to_string()));
        }
        if !self.is_terminating() {
            self.start_containers(now, images, &mut effects);
            self.run_probes(now, &mut effects);
            if let Some(phase) = self.phase().filter(|phase| matches!(*phase, "Succeeded" | "Failed")) {
                self.terminal = Some(phase);
            }
        }
        if self.is_terminating() {
            self.terminate(now, &mut effects);
        }
        effects
    }

    fn show_pull_back_offs(&mut self, now: Timestamp) {
        for container in self.init.iter_mut().chain(self.containers.iter_mut()) {
            if container.back_off_shown_at.is_some_and(|at| at <= now) {
                container.back_off_shown_at = None;
                if let Stage::Waiting { reason: REASON_ERR_IMAGE_PULL, .. } = container.stage {
                    let message = format!("Back-off pulling image \"{}\"", container.image());
                    container.stage = Stage::Waiting { reason: REASON_IMAGE_PULL_BACK_OFF, message: Some(message) };
                }
            }
        }
    }

    /// Init containers one at a time, each to completion (sidecars to started), then every app
    /// container.
    fn start_containers(
        &mut self,
        now: Timestamp,
        images: &std::collections::BTreeSet<String>,
        effects: &mut SyncEffects,
    ) {
        if self.pod_ip.is_none() && !self.host_network() {
            return;
        }
        for index in 0..self.init.len() {
            if self.init[index].completed() {
                continue;
            }
            self.advance(true, index, now, images, effects);
            let container = &self.init[index];
            if !(container.is_sidecar() && container.started && container.is_running()) {
                return;
            }
        }
        for index in 0..self.containers.len() {
            self.advance(false, index, now, images, effects);
        }
    }

    /// Starts one container's pipeline if it waits and may start now.
    fn advance(
        &mut self,
        init: bool,
        index: usize,
        now: Timestamp,
        images: &std::collections::BTreeSet<String>,
        effects: &mut SyncEffects,
    ) {
        let container = if init { &mut self.init[index] } else { &mut self.containers[index] };
        if !matches!(container.stage, Stage::Waiting { .. }) {
            return;
        }
        if container.not_before.is_some_and(|at| at > now) {
            return;
        }
        container.not_before = None;
        // A restart: the previous run ended; count it when it was this attempt.
        if let Some(last) = &container.last_terminated
            && last.attempt == container.attempt
        {
            container.restart_backoff.next(last.finished_at);
            container.attempt += 1;
        }
        let image = container.image().to_string();
        let present = images.contains(&image);
        match pull_policy(&container.spec) {
            "Never" if !present => {
                let message = format!("Container image \"{image}\" is not present with pull policy of Never");
                container.stage = Stage::Waiting { reason: REASON_ERR_IMAGE_NEVER_PULL, message: Some(message) };
                container.not_before = Some(after(now, BACKOFF_INITIAL));
                return;
            }
            "IfNotPresent" | "Never" if present => {}
            _ => {
                if container.pull_backoff.in_backoff_since_update(now) {
                    container.not_before = container.pull_backoff.retry_at();
                    return;
                }
                container.stage = Stage::Pulling;
                effects.pulls.push((image.clone(), container.name().to_string()));
                effects.commands.push(RuntimeCommand::PullImage { image });
                return;
            }
        }
        self.create(init, index, effects);
    }

    /// The image is there: create the container.
    fn create(&mut self, init: bool, index: usize, effects: &mut SyncEffects) {
        let pod_ip = self.pod_ip.map(|ip| ip.to_string());
        let container = if init { &self.init[index] } else { &self.containers[index] };
        let reference = self.container_ref(container);
        let (command, args) = effective_command(&container.spec);
        let image = container.image().to_string();
        let ports = declared_tcp_ports(&container.spec);
        effects.commands.push(RuntimeCommand::CreateContainer {
            container: reference,
            image,
            command,
            args,
            pod_ip,
            ports,
        });
        let container = if init { &mut self.init[index] } else { &mut self.containers[index] };
        container.stage = Stage::Creating;
    }

    fn position(&self, name: &str) -> Option<(bool, usize)> {
        if let Some(index) = self.init.iter().position(|container| container.name() == name) {
            return Some((true, index));
        }
        self.containers.iter().position(|container| container.name() == name).map(|index| (false, index))
    }

    /// A pull this container waited for ended.
    pub fn image_pulled(&mut self, name: &str, result: &Result<(), String>, now: Timestamp, effects: &mut SyncEffects) {
        let Some((init, index)) = self.position(name) else { return };
        let container = if init { &mut self.init[index] } else { &mut self.containers[index] };
        if container.stage != Stage::Pulling {
            return;
        }
        match result {
            Ok(()) => {
                if self.is_terminating() {
                    let container = if init { &mut self.init[index] } else { &mut self.containers[index] };
                    container.stage = Stage::Waiting { reason: REASON_CONTAINER_CREATING, message: None };
                } else {
                    self.create(init, index, effects);
                }
            }
            Err(message) => {
                container.pull_backoff.next(now);
                container.stage = Stage::Waiting { reason: REASON_ERR_IMAGE_PULL, message: Some(message.clone()) };
                container.back_off_shown_at = Some(after(now, ERROR_RESYNC_DELAY));
                container.not_before = Some(container.pull_backoff.until(now));
            }
        }
    }

    /// The runtime created a container (or could not).
    pub fn container_created(
        &mut self,
        reference: &ContainerRef,
        result: &Result<(), String>,
        now: Timestamp,
        effects: &mut SyncEffects,
    ) {
        let terminating = self.is_terminating();
        let Some(container) = self.container_mut(&reference.container, reference.attempt) else { return };
        if container.stage != Stage::Creating {
            return;
        }
        match result {
            Ok(()) if !terminating => {
                container.stage = Stage::Starting;
                effects.commands.push(RuntimeCommand::StartContainer { container: reference.clone() });
            }
            Ok(()) => container.stage = Stage::Waiting { reason: REASON_CONTAINER_CREATING, message: None },
            Err(message) => {
                container.stage =
                    Stage::Waiting { reason: REASON_CREATE_CONTAINER_ERROR, message: Some(message.clone()) };
                container.not_before = Some(after(now, BACKOFF_INITIAL));
            }
        }
    }

    /// A container's process started.
    pub fn container_started(
        &mut self,
        reference: &ContainerRef,
        at: Timestamp,
        now: Timestamp,
        effects: &mut SyncEffects,
    ) {
        let terminating = self.is_terminating();
        let pod_ip = self.pod_ip.map(|ip| ip.to_string()).unwrap_or_default();
        let request = self.next_request;
        let Some(container) = self.container_mut(&reference.container, reference.attempt) else { return };
        if container.stage != Stage::Starting {
            return;
        }
        container.stage = Stage::Running { started_at: at };
        container.started = container.probe(ProbeKind::Startup).is_none();
        for probe in &mut container.probes {
            if probe.kind == ProbeKind::Startup || container.started {
                probe.arm(at, now);
            } else {
                probe.disarm();
            }
        }
        let hook = container.spec.lifecycle.as_ref().and_then(|lifecycle| lifecycle.post_start.as_ref());
        if let Some(action) = hook.and_then(|hook| hook_action(hook, &container.spec, &pod_ip)) {
            container.post_start = Some(request);
            effects.commands.push(RuntimeCommand::RunHook {
                request,
                container: reference.clone(),
                action,
                timeout: DEFAULT_TERMINATION_GRACE_PERIOD,
            });
            self.next_request += 1;
        }
        if terminating {
            self.terminate(now, effects);
        }
    }

    /// A container's process ended.
    pub fn container_exited(&mut self, reference: &ContainerRef, exit_code: i32, reason: &str, at: Timestamp) {
        let terminating = self.is_terminating();
        let restart_policy = self.restart_policy().to_string();
        let Some(container) = self.container_mut(&reference.container, reference.attempt) else { return };
        let started_at = match container.stage {
            Stage::Running { started_at } => Some(started_at),
            Stage::Starting => None,
            _ => return,
        };
        let stopping = container.stopping.take();
        for probe in &mut container.probes {
            probe.disarm();
        }
        container.post_start = None;
        container.started = false;
        let terminated = Terminated {
            exit_code,
            reason: reason.to_string(),
            message: stopping.and_then(|stopping| stopping.message),
            started_at,
            finished_at: at,
            attempt: container.attempt,
        };
        let restart = if terminating {
            false
        } else if container.is_sidecar() {
            true
        } else if container.init {
            exit_code != 0 && restart_policy != "Never"
        } else {
            match restart_policy.as_str() {
                "Never" => false,
                "OnFailure" => exit_code != 0,
                _ => true,
            }
        };
        if !restart {
            container.stage = Stage::Terminated(terminated);
            return;
        }
        if container.restart_backoff.in_backoff_since(at, at) {
            let delay = container.restart_backoff.delay().as_secs();
            let (namespace, pod) = (&reference.namespace, &reference.pod);
            let message = format!(
                "back-off {delay}s restarting failed container={} pod={pod}_{namespace}({})",
                reference.container, reference.pod_uid
            );
            container.not_before = Some(container.restart_backoff.until(at));
            container.stage = Stage::Waiting { reason: REASON_CRASH_LOOP_BACK_OFF, message: Some(message) };
        } else {
            container.stage = Stage::Waiting { reason: REASON_CONTAINER_CREATING, message: None };
        }
        container.last_terminated = Some(terminated);
    }

    /// A probe or hook answered.
    pub fn handler_answered(
        &mut self,
        reference: &ContainerRef,
        request: u64,
        outcome: &HandlerOutcome,
        now: Timestamp,
        effects: &mut SyncEffects,
    ) -> bool {
        let grace = self.grace_period();
        let pod_ip = self.pod_ip.map(|ip| ip.to_string()).unwrap_or_default();
        let hook_request = self.next_request;
        let Some(container) = self.container_mut(&reference.container, reference.attempt) else { return false };
        let hook = Some((hook_request, pod_ip.as_str()));
        let mut used_request = false;
        if container.post_start == Some(request) {
            container.post_start = None;
            if !outcome.is_success() {
                let message = format!("PostStartHook failed: {outcome:?}");
                used_request = stop(container, reference, grace, Some(message), hook, now, effects);
            }
            self.next_request += u64::from(used_request);
            return true;
        }
        if let Some(stopping) = container.stopping.as_mut()
            && stopping.pre_stop == Some(request)
        {
            stopping.pre_stop = None;
            if !stopping.signalled {
                stopping.signalled = true;
                let remaining = stopping.deadline.duration_since(now).unsigned_abs();
                effects.commands.push(RuntimeCommand::StopContainer { container: reference.clone(), grace: remaining });
            }
            return true;
        }
        let Some(probe) = container.probes.iter_mut().find(|probe| probe.in_flight == Some(request)) else {
            return false;
        };
        let kind = probe.kind;
        // A probe-level terminationGracePeriodSeconds overrides the pod's.
        let grace = probe
            .settings
            .probe
            .termination_grace_period_seconds
            .map_or(grace, |seconds| Duration::from_secs(u64::try_from(seconds).unwrap_or(0)));
        let transition = probe.observe(outcome.is_success());
        match (kind, transition) {
            (ProbeKind::Startup, ProbeTransition::Succeeded) => {
                probe.disarm();
                container.started = true;
                let started_at = match container.stage {
                    Stage::Running { started_at } => started_at,
                    _ => now,
                };
                for other in container.probes.iter_mut().filter(|probe| probe.kind != ProbeKind::Startup) {
                    other.arm(started_at, now);
                }
            }
            (ProbeKind::Startup | ProbeKind::Liveness, ProbeTransition::Failed) => {
                let message =
                    format!("Container {} failed {} probe, will be restarted", reference.container, kind.as_str());
                used_request = stop(container, reference, grace, Some(message), hook, now, effects);
            }
            _ => {}
        }
        self.next_request += u64::from(used_request);
        transition != ProbeTransition::Unchanged
    }

    /// Whether only probe runs are due at `now` (no back-off, deadline or pull display): a sync
    /// then sends probes and cannot change the status.
    pub fn only_probes_due(&self, now: Timestamp) -> bool {
        let due = |at: Option<Timestamp>| at.is_some_and(|at| at <= now);
        let containers_quiet = self.all().all(|container| {
            !due(container.not_before)
                && !due(container.back_off_shown_at)
                && !due(container
                    .stopping
                    .as_ref()
                    .filter(|stopping| !stopping.killed)
                    .map(|stopping| stopping.deadline))
        });
        containers_quiet && !due(self.deletion_deadline) && !due(self.active_deadline())
    }

    /// Sends every probe that is due.
    fn run_probes(&mut self, now: Timestamp, effects: &mut SyncEffects) {
        let pod_ip = self.pod_ip.map(|ip| ip.to_string()).unwrap_or_default();
        let pod_ref = self.pod_ref();
        for container in self.init.iter_mut().chain(self.containers.iter_mut()) {
            if !matches!(container.stage, Stage::Running { .. }) || container.stopping.is_some() {
                continue;
            }
            let reference = pod_ref.container(container.name(), container.attempt);
            let spec = container.spec.clone();
            for probe in &mut container.probes {
                if !probe.take_due(now) {
                    continue;
                }
                match probe_action(&probe.settings.probe, &spec, &pod_ip) {
                    Ok(action) => {
                        probe.in_flight = Some(self.next_request);
                        effects.commands.push(RuntimeCommand::Probe {
                            request: self.next_request,
                            container: reference.clone(),
                            action,
                            timeout: probe.settings.timeout,
                        });
                        self.next_request += 1;
                    }
                    Err(_) => {
                        probe.observe(false);
                    }
                }
            }
        }
    }

    /// Stops every running container (preStop first when the pod is being deleted), kills those
    /// past the deadline, and asks for the final delete once nothing runs.
    fn terminate(&mut self, now: Timestamp, effects: &mut SyncEffects) {
        let deadline = self.deletion_deadline.unwrap_or_else(|| after(now, self.grace_period()));
        let deleting = self.pod.metadata.deletion_timestamp.is_some();
        let pod_ip = self.pod_ip.map(|ip| ip.to_string()).unwrap_or_default();
        let pod_ref = self.pod_ref();
        for container in self.init.iter_mut().chain(self.containers.iter_mut()) {
            let reference = pod_ref.container(container.name(), container.attempt);
            if matches!(container.stage, Stage::Waiting { .. }) {
                container.not_before = None;
                container.back_off_shown_at = None;
            }
            if !matches!(container.stage, Stage::Running { .. }) {
                continue;
            }
            for probe in &mut container.probes {
                probe.disarm();
            }
            match container.stopping.as_mut() {
                None => {
                    let mut stopping =
                        Stopping { deadline, killed: false, signalled: false, pre_stop: None, message: None };
                    let hook = container.spec.lifecycle.as_ref().and_then(|lifecycle| lifecycle.pre_stop.as_ref());
                    let action = hook.and_then(|hook| hook_action(hook, &container.spec, &pod_ip)).filter(|_| deleting);
                    if let Some(action) = action {
                        stopping.pre_stop = Some(self.next_request);
                        let timeout = deadline.duration_since(now).unsigned_abs();
                        effects.commands.push(RuntimeCommand::RunHook {
                            request: self.next_request,
                            container: reference,
                            action,
                            timeout,
                        });
                        self.next_request += 1;
                    } else {
                        stopping.signalled = true;
                        let grace = deadline.duration_since(now).unsigned_abs();
                        effects.commands.push(RuntimeCommand::StopContainer { container: reference, grace });
                    }
                    container.stopping = Some(stopping);
                }
                Some(stopping) if !stopping.killed && stopping.deadline <= now => {
                    stopping.killed = true;
                    effects.commands.push(RuntimeCommand::KillContainer { container: reference });
                }
                Some(_) => {}
            }
        }
        if deleting && !self.any_running() && self.final_delete == FinalDelete::NotYet {
            self.final_delete = FinalDelete::Sent;
            effects.delete = true;
        }
    }

    /// Kills containers whose liveness stop passed its deadline (outside pod termination).
    pub fn enforce_stop_deadlines(&mut self, now: Timestamp, effects: &mut SyncEffects) {
        let pod_ref = self.pod_ref();
        for container in self.init.iter_mut().chain(self.containers.iter_mut()) {
            let attempt = container.attempt;
            let name = container.name().to_string();
            if let Some(stopping) = container.stopping.as_mut()
                && !stopping.killed
                && stopping.deadline <= now
            {
                stopping.killed = true;
                let reference = pod_ref.container(&name, attempt);
                effects.commands.push(RuntimeCommand::KillContainer { container: reference });
            }
        }
    }

    /// The pod phase (`getPhase` in kubelet_pods.go), once the pod is admitted. A pod being
    /// deleted whose containers all stopped is terminal: Succeeded when every container exited
    /// 0, else Failed, whatever its restart policy.
    pub fn phase(&self) -> Option<&'static str> {
        if let Some(phase) = self.terminal {
            return Some(phase);
        }
        let policy = self.restart_policy();
        let (mut pending_initialization, mut failed_initialization) = (0, 0);
        for container in self.init.iter().filter(|container| !container.is_sidecar()) {
            match (&container.stage, &container.last_terminated) {
                (Stage::Terminated(terminated), _) => failed_initialization += usize::from(terminated.exit_code != 0),
                (Stage::Waiting { .. }, Some(last)) => failed_initialization += usize::from(last.exit_code != 0),
                _ => pending_initialization += 1,
            }
        }
        let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
        for container in &self.containers {
            match (&container.stage, &container.last_terminated) {
                (Stage::Running { .. }, _) => running += 1,
                (Stage::Terminated(terminated), _) => {
                    stopped += 1;
                    succeeded += usize::from(terminated.exit_code == 0);
                }
                (_, Some(_)) => stopped += 1,
                _ => waiting += 1,
            }
        }
        if failed_initialization > 0 && policy == "Never" {
            return Some("Failed");
        }
        let any_regular_started = self.containers.iter().any(ContainerRecord::has_run) || running > 0;
        let pod_is_terminal = self.pod.metadata.deletion_timestamp.is_some() && !self.any_running();
        Some(if (pending_initialization > 0 && !any_regular_started) || waiting > 0 {
            "Pending"
        } else if running > 0 {
            "Running"
        } else if stopped > 0 {
            if pod_is_terminal {
                if stopped == succeeded { "Succeeded" } else { "Failed" }
            } else if policy == "Always" {
                "Running"
            } else if stopped == succeeded {
                "Succeeded"
            } else if policy == "Never" {
                "Failed"
            } else {
                "Running"
            }
        } else {
            "Pending"
        })
    }
}

/// Starts stopping a container outside pod termination (failed liveness, startup or postStart):
/// its preStop hook first when it has one (as `killContainer` runs it), then SIGTERM, and SIGKILL
/// after the grace period. `request` numbers the hook.
fn stop(
    container: &mut ContainerRecord,
    reference: &ContainerRef,
    grace: Duration,
    message: Option<String>,
    hook: Option<(u64, &str)>,
    now: Timestamp,
    effects: &mut SyncEffects,
) -> bool {
    if container.stopping.is_some() {
        return false;
    }
    for probe in &mut container.probes {
        probe.disarm();
    }
    let deadline = after(now, grace);
    let lifecycle = container.spec.lifecycle.as_ref().and_then(|lifecycle| lifecycle.pre_stop.as_ref());
    let action = hook.and_then(|(request, pod_ip)| {
        lifecycle.and_then(|pre_stop| hook_action(pre_stop, &container.spec, pod_ip)).map(|action| (request, action))
    });
    let mut stopping = Stopping { deadline, killed: false, signalled: false, pre_stop: None, message };
    let used_request = match action {
        Some((request, action)) => {
            stopping.pre_stop = Some(request);
            effects.commands.push(RuntimeCommand::RunHook {
                request,
                container: reference.clone(),
                action,
                timeout: grace,
            });
            true
        }
        None => {
            stopping.signalled = true;
            effects.commands.push(RuntimeCommand::StopContainer { container: reference.clone(), grace });
            false
        }
    };
    container.stopping = Some(stopping);
    used_request
}
