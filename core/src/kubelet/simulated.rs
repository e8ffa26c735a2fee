//! The simulated container runtime: pure and deterministic. Images pull and containers start
//! after configured latencies, run until told to exit (or forever), answer probes and report
//! usage as the scenario says, per image prefix; the simulator injects faults (crashes, failing
//! probes, load changes) through its methods. Reports come out ordered by (time, sequence).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::runtime::{
    ContainerRef, ContainerRuntime, ContainerUsage, HandlerAction, HandlerOutcome, PodRef, RuntimeCommand,
    RuntimeReport,
};
use super::simulated_port::{ListeningContainer, simulated_port_forward};

/// The exit code of a container killed by SIGKILL (128 + 9), as runtimes report it.
pub const EXIT_CODE_SIGKILL: i32 = 137;

/// How a container's probes answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ProbeAnswer {
    /// Every probe succeeds (the default).
    #[default]
    AlwaysSucceed,
    /// Probes succeed until the container has run this long, then fail.
    FailAfter(Duration),
    /// Probes fail until the container has run this long, then succeed (a slow starter).
    SucceedAfter(Duration),
    /// Every probe fails.
    AlwaysFail,
}

/// A container's resource usage over its life, measured from its start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsageCurve {
    /// The same usage all along.
    Constant {
        /// CPU in millicores.
        cpu_millis: i64,
        /// Memory in bytes.
        memory_bytes: i64,
    },
    /// Usage moving linearly from the first values to the second over `over`, then staying.
    Ramp {
        /// CPU at start.
        cpu_millis_start: i64,
        /// CPU after `over`.
        cpu_millis_end: i64,
        /// Memory at start.
        memory_bytes_start: i64,
        /// Memory after `over`.
        memory_bytes_end: i64,
        /// How long the ramp lasts.
        over: Duration,
    },
}

impl Default for UsageCurve {
    /// A small idle process: 1 m CPU, 8 MiB.
    fn default() -> UsageCurve {
        UsageCurve::Constant { cpu_millis: 1, memory_bytes: 8 * 1024 * 1024 }
    }
}

impl UsageCurve {
    /// The usage after the container ran for `elapsed`.
    pub fn at(&self, elapsed: Duration) -> (i64, i64) {
        match self {
            UsageCurve::Constant { cpu_millis, memory_bytes } => (*cpu_millis, *memory_bytes),
            UsageCurve::Ramp { cpu_millis_start, cpu_millis_end, memory_bytes_start, memory_bytes_end, over } => {
                let fraction = if over.is_zero() { 1.0 } else { (elapsed.as_secs_f64() / over.as_secs_f64()).min(1.0) };
                let between = |start: i64, end: i64| start + ((end - start) as f64 * fraction).round() as i64;
                (between(*cpu_millis_start, *cpu_millis_end), between(*memory_bytes_start, *memory_bytes_end))
            }
        }
    }
}

/// How the containers of one image behave. Every field's default is the well-behaved container:
/// instant pull and start, runs forever, exits at once on SIGTERM with code 0, probes succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerBehavior {
    /// Whether pulling the image fails (default false).
    pub pull_fails: bool,
    /// How long a pull takes (default 0 s).
    pub pull_latency: Duration,
    /// How long from StartContainer to running (default 0 s).
    pub start_latency: Duration,
    /// The process exits by itself after running this long (default never).
    pub exit_after: Option<Duration>,
    /// The code it exits with then (default 0).
    pub exit_code: i32,
    /// Whether that exit is the kernel's OOM killer (exit code 137, reason `OOMKilled`).
    pub oom: bool,
    /// Whether the process ignores SIGTERM, so only SIGKILL at the grace deadline ends it
    /// (default false).
    pub ignores_sigterm: bool,
    /// How long it takes to shut down after SIGTERM (default 0 s).
    pub shutdown_latency: Duration,
    /// The code it exits with after SIGTERM (default 0).
    pub sigterm_exit_code: i32,
    /// How probes answer (default: always succeed).
    pub probes: ProbeAnswer,
    /// Resource usage (default 1 m CPU, 8 MiB).
    pub usage: UsageCurve,
    /// What the logs say (default empty).
    pub logs: String,
}

impl Default for ContainerBehavior {
    fn default() -> ContainerBehavior {
        ContainerBehavior {
            pull_fails: false,
            pull_latency: Duration::ZERO,
            start_latency: Duration::ZERO,
            exit_after: None,
            exit_code: 0,
            oom: false,
            ignores_sigterm: false,
            shutdown_latency: Duration::ZERO,
            sigterm_exit_code: 0,
            probes: ProbeAnswer::AlwaysSucceed,
            usage: UsageCurve::default(),
            logs: String::new(),
        }
    }
}

/// A behavior for every image whose reference starts with a prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRule {
    /// The image prefix (`registry.example/app`, `busybox:1.36`).
    pub image_prefix: String,
    /// How its containers behave.
    pub behavior: ContainerBehavior,
}

/// The whole runtime's behavior: the first rule whose prefix matches an image wins, else the
/// default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimulatedBehavior {
    /// For images no rule matches.
    pub default: ContainerBehavior,
    /// Per image prefix, first match wins.
    pub rules: Vec<ImageRule>,
}

impl SimulatedBehavior {
    /// The behavior of an image's containers.
    pub fn for_image(&self, image: &str) -> &ContainerBehavior {
        self.rules
            .iter()
            .find(|rule| image.starts_with(&rule.image_prefix))
            .map_or(&self.default, |rule| &rule.behavior)
    }

    /// Adds a rule (builder style).
    pub fn with_rule(mut self, image_prefix: &str, behavior: ContainerBehavior) -> SimulatedBehavior {
        self.rules.push(ImageRule { image_prefix: image_prefix.to_string(), behavior });
        self
    }
}

/// Where a simulated container is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Created,
    Starting,
    Running { since: Timestamp },
    Exited,
}

#[derive(Clone, Debug)]
struct SimulatedContainer {
    reference: ContainerRef,
    behavior: ContainerBehavior,
    phase: Phase,
    /// Probes fail until then (`Some(None)`: forever), set by [`SimulatedRuntime::fail_probes`].
    probes_fail_until: Option<Option<Timestamp>>,
    /// Usage set by [`SimulatedRuntime::set_usage`], replacing the behavior's curve.
    usage_override: Option<(i64, i64)>,
    /// The TCP ports the container declares: its process listens on them.
    ports: Vec<u16>,
}

/// Something due at an instant, resolved when it comes due against the state then.
#[derive(Clone, Debug)]
enum Due {
    Report(RuntimeReport),
    Started(ContainerRef),
    Exit { container: ContainerRef, exit_code: i32, reason: String },
}

/// (namespace, pod, container).
type ContainerKey = (String, String, String);

/// The simulated runtime of one node.
#[derive(Clone, Debug, Default)]
pub struct SimulatedRuntime {
    behavior: SimulatedBehavior,
    images: BTreeSet<String>,
    containers: BTreeMap<ContainerKey, SimulatedContainer>,
    due: BTreeMap<(Timestamp, u64), Due>,
    sequence: u64,
    commands: u64,
    /// Counts the changes to the containers and their phases: while it stands still,
    /// [`SimulatedRuntime::running`] answers the same.
    container_changes: u64,
}

fn key_of(reference: &ContainerRef) -> ContainerKey {
    (reference.namespace.clone(), reference.pod.clone(), reference.container.clone())
}

fn after(now: Timestamp, delay: Duration) -> Timestamp {
    now.saturating_add(SignedDuration::try_from(delay).unwrap_or(SignedDuration::MAX)).unwrap_or(Timestamp::MAX)
}

/// The reason a runtime gives an exit code.
pub fn exit_reason(exit_code: i32) -> &'static str {
    if exit_code == 0 { "Completed" } else { "Error" }
}

impl SimulatedRuntime {
    /// An empty runtime (no images, no containers) behaving as `behavior` says.
    pub fn new(behavior: SimulatedBehavior) -> SimulatedRuntime {
        SimulatedRuntime { behavior, ..SimulatedRuntime::default() }
    }

    /// The behavior, to change it mid-run (an image that starts failing to pull).
    pub fn behavior_mut(&mut self) -> &mut SimulatedBehavior {
        &mut self.behavior
    }

    /// Images on the node.
    pub fn images(&self) -> &BTreeSet<String> {
        &self.images
    }

    /// Commands submitted so far.
    pub fn commands(&self) -> u64 {
        self.commands
    }

    /// A number that changes whenever a container is created, starts, exits or is removed: a
    /// watcher of what runs (the simulator's safety checker) asks [`Self::running`] again only
    /// when it moved, instead of after every step.
    pub fn container_changes(&self) -> u64 {
        self.container_changes
    }

    /// Containers currently running, as (namespace, pod, container).
    pub fn running(&self) -> Vec<(String, String, String)> {
        self.containers
            .iter()
            .filter(|(_, container)| matches!(container.phase, Phase::Running { .. }))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Fault injection: the container's process dies now with `exit_code` (137 and no SIGKILL
    /// reads as an OOM kill only when the behavior says so; here the reason follows the code).
    pub fn crash_container(&mut self, namespace: &str, pod: &str, container: &str, exit_code: i32, now: Timestamp) {
        let key = (namespace.to_string(), pod.to_string(), container.to_string());
        if let Some(found) = self.containers.get(&key) {
            let container = found.reference.clone();
            self.schedule(now, Due::Exit { container, exit_code, reason: exit_reason(exit_code).to_string() });
        }
    }

    /// Fault injection: the container's probes fail until `until` (`None`: until told otherwise;
    /// an instant in the past heals them).
    pub fn fail_probes(&mut self, namespace: &str, pod: &str, container: &str, until: Option<Timestamp>) {
        let key = (namespace.to_string(), pod.to_string(), container.to_string());
        if let Some(found) = self.containers.get_mut(&key) {
            found.probes_fail_until = Some(until);
        }
    }

    /// Fault injection: the container's probes answer as its behavior says again.
    pub fn heal_probes(&mut self, namespace: &str, pod: &str, container: &str) {
        let key = (namespace.to_string(), pod.to_string(), container.to_string());
        if let Some(found) = self.containers.get_mut(&key) {
            found.probes_fail_until = None;
        }
    }

    /// A load change: the container uses this much from now on.
    pub fn set_usage(&mut self, namespace: &str, pod: &str, container: &str, cpu_millis: i64, memory_bytes: i64) {
        let key = (namespace.to_string(), pod.to_string(), container.to_string());
        if let Some(found) = self.containers.get_mut(&key) {
            found.usage_override = Some((cpu_millis, memory_bytes));
        }
    }

    fn schedule(&mut self, at: Timestamp, due: Due) {
        self.sequence += 1;
        self.due.insert((at, self.sequence), due);
    }

    fn report(&mut self, at: Timestamp, report: RuntimeReport) {
        self.schedule(at, Due::Report(report));
    }

    /// The container a command names, if it is that attempt.
    fn current(&self, reference: &ContainerRef) -> Option<&SimulatedContainer> {
        self.containers.get(&key_of(reference)).filter(|found| found.reference == *reference)
    }

    fn probe_outcome(&self, reference: &ContainerRef, now: Timestamp) -> HandlerOutcome {
        let Some(container) = self.current(reference) else {
            return HandlerOutcome::Failure("container not found".to_string());
        };
        let Phase::Running { since } = container.phase else {
            return HandlerOutcome::Failure("container is not running".to_string());
        };
        if let Some(until) = container.probes_fail_until
            && until.is_none_or(|until| now < until)
        {
            return HandlerOutcome::Failure("probe failed (injected)".to_string());
        }
        let ran = now.duration_since(since).unsigned_abs();
        match &container.behavior.probes {
            ProbeAnswer::AlwaysSucceed => HandlerOutcome::Success,
            ProbeAnswer::FailAfter(limit) if ran < *limit => HandlerOutcome::Success,
            ProbeAnswer::SucceedAfter(limit) if ran >= *limit => HandlerOutcome::Success,
            ProbeAnswer::FailAfter(_) | ProbeAnswer::SucceedAfter(_) | ProbeAnswer::AlwaysFail => {
                HandlerOutcome::Failure("probe failed".to_string())
            }
        }
    }

    fn usage(&self, container: &SimulatedContainer, now: Timestamp) -> Option<ContainerUsage> {
        let Phase::Running { since } = container.phase else { return None };
        let (cpu_millis, memory_bytes) = container
            .usage_override
            .unwrap_or_else(|| container.behavior.usage.at(now.duration_since(since).unsigned_abs()));
        Some(ContainerUsage { container: container.reference.container.clone(), cpu_millis, memory_bytes })
    }

    fn stats(&self, pod: &PodRef, now: Timestamp) -> RuntimeReport {
        let containers = self
            .containers
            .range((pod.namespace.clone(), pod.pod.clone(), String::new())..)
            .take_while(|((namespace, name, _), _)| *namespace == pod.namespace && *name == pod.pod)
            .filter(|(_, container)| container.reference.pod_uid == pod.pod_uid)
            .filter_map(|(_, container)| self.usage(container, now))
            .collect();
        RuntimeReport::Stats { pod: pod.clone(), at: now, containers }
    }

    /// The pod's running containers and the ports they listen on.
    fn listening(&self, pod: &PodRef) -> Vec<ListeningContainer> {
        self.containers
            .range((pod.namespace.clone(), pod.pod.clone(), String::new())..)
            .take_while(|((namespace, name, _), _)| *namespace == pod.namespace && *name == pod.pod)
            .filter(|(_, container)| container.reference.pod_uid == pod.pod_uid)
            .filter(|(_, container)| matches!(container.phase, Phase::Running { .. }))
            .map(|(_, container)| ListeningContainer {
                container: container.reference.container.clone(),
                ports: container.ports.clone(),
            })
            .collect()
    }

    fn pull(&mut self, image: String, now: Timestamp) {
        let behavior = self.behavior.for_image(&image);
        let at = after(now, behavior.pull_latency);
        let result = if behavior.pull_fails {
            Err(format!("failed to pull and unpack image \"{image}\": not found"))
        } else {
            self.images.insert(image.clone());
            Ok(())
        };
        self.report(at, RuntimeReport::ImagePulled { image, result });
    }

    fn create(&mut self, container: ContainerRef, image: &str, ports: Vec<u16>, now: Timestamp) {
        let behavior = self.behavior.for_image(image).clone();
        let created = SimulatedContainer {
            reference: container.clone(),
            behavior,
            phase: Phase::Created,
            probes_fail_until: None,
            usage_override: None,
            ports,
        };
        self.containers.insert(key_of(&container), created);
        self.container_changes += 1;
        self.report(now, RuntimeReport::ContainerCreated { container, result: Ok(()) });
    }

    fn start(&mut self, container: ContainerRef, now: Timestamp) {
        let Some(found) = self.containers.get_mut(&key_of(&container)).filter(|found| found.reference == container)
        else {
            return;
        };
        found.phase = Phase::Starting;
        self.container_changes += 1;
        let at = after(now, found.behavior.start_latency);
        self.schedule(at, Due::Started(container));
    }

    fn stop(&mut self, container: ContainerRef, now: Timestamp) {
        let Some(found) = self.current(&container) else { return };
        if found.behavior.ignores_sigterm || found.phase == Phase::Exited {
            return;
        }
        let exit_code = found.behavior.sigterm_exit_code;
        let at = after(now, found.behavior.shutdown_latency);
        self.schedule(at, Due::Exit { container, exit_code, reason: exit_reason(exit_code).to_string() });
    }

    fn remove_sandbox(&mut self, pod: &PodRef) {
        self.container_changes += 1;
        self.containers.retain(|(namespace, name, _), container| {
            !(*namespace == pod.namespace && *name == pod.pod && container.reference.pod_uid == pod.pod_uid)
        });
    }

    /// Resolves one due entry against the state now; returns the report it makes, if any.
    fn resolve(&mut self, at: Timestamp, due: Due) -> Option<RuntimeReport> {
        match due {
            Due::Report(report) => Some(report),
            Due::Started(reference) => {
                let found =
                    self.containers.get_mut(&key_of(&reference)).filter(|found| found.reference == reference)?;
                if found.phase != Phase::Starting {
                    return None;
                }
                found.phase = Phase::Running { since: at };
                self.container_changes += 1;
                if let Some(exit_after) = found.behavior.exit_after {
                    let (exit_code, reason) = if found.behavior.oom {
                        (EXIT_CODE_SIGKILL, "OOMKilled".to_string())
                    } else {
                        (found.behavior.exit_code, exit_reason(found.behavior.exit_code).to_string())
                    };
                    let container = reference.clone();
                    self.schedule(after(at, exit_after), Due::Exit { container, exit_code, reason });
                }
                Some(RuntimeReport::ContainerStarted { container: reference, at })
            }
            Due::Exit { container, exit_code, reason } => {
                let found =
                    self.containers.get_mut(&key_of(&container)).filter(|found| found.reference == container)?;
                if !matches!(found.phase, Phase::Running { .. } | Phase::Starting) {
                    return None;
                }
                found.phase = Phase::Exited;
                self.container_changes += 1;
                Some(RuntimeReport::ContainerExited { container, exit_code, reason, at })
            }
        }
    }
}

impl ContainerRuntime for SimulatedRuntime {
    fn submit(&mut self, command: RuntimeCommand, now: Timestamp) {
        self.commands += 1;
        match command {
            RuntimeCommand::PullImage { image } => self.pull(image, now),
            RuntimeCommand::CreateContainer { container, image, ports, .. } => {
                self.create(container, &image, ports, now)
            }
            RuntimeCommand::StartContainer { container } => self.start(container, now),
            RuntimeCommand::StopContainer { container, .. } => self.stop(container, now),
            RuntimeCommand::KillContainer { container } => {
                let reason = exit_reason(EXIT_CODE_SIGKILL).to_string();
                self.schedule(now, Due::Exit { container, exit_code: EXIT_CODE_SIGKILL, reason });
            }
            RuntimeCommand::Exec { request, container, command, .. } => {
                let running =
                    self.current(&container).is_some_and(|found| matches!(found.phase, Phase::Running { .. }));
                let (exit_code, output) = if running {
                    super::simulated_exec::simulated_command(&command, &container)
                } else {
                    (1, "container not running".into())
                };
                self.report(now, RuntimeReport::ExecResult { request, exit_code, output });
            }
            RuntimeCommand::Probe { request, container, .. } => {
                let outcome = self.probe_outcome(&container, now);
                self.report(now, RuntimeReport::ProbeResult { request, container, outcome });
            }
            RuntimeCommand::RunHook { request, container, action, timeout } => {
                let at = match action {
                    HandlerAction::Sleep { duration } => after(now, duration.min(timeout)),
                    _ => now,
                };
                self.report(at, RuntimeReport::HookResult { request, container, outcome: HandlerOutcome::Success });
            }
            RuntimeCommand::Logs { request, container, tail_lines } => {
                let text = self.current(&container).map(|found| found.behavior.logs.clone()).unwrap_or_default();
                let text = match tail_lines {
                    Some(lines) => {
                        let all: Vec<&str> = text.lines().collect();
                        let skip = all.len().saturating_sub(usize::try_from(lines).unwrap_or(usize::MAX));
                        all[skip..].join("\n")
                    }
                    None => text,
                };
                self.report(now, RuntimeReport::LogsResult { request, text });
            }
            RuntimeCommand::PortForward { request, pod, port } => {
                let outcome = simulated_port_forward(&pod, port, &self.listening(&pod));
                self.report(now, RuntimeReport::PortForwardResult { request, outcome });
            }
            RuntimeCommand::Stats { pod } => {
                let report = self.stats(&pod, now);
                self.report(now, report);
            }
            RuntimeCommand::RemovePodSandbox { pod } => self.remove_sandbox(&pod),
        }
    }

    fn poll(&mut self, now: Timestamp) -> Vec<RuntimeReport> {
        let mut reports = Vec::new();
        while let Some(entry) = self.due.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((at, _), due) = entry.remove_entry();
            reports.extend(self.resolve(at, due));
        }
        reports
    }

    fn next_wake(&self) -> Option<Timestamp> {
        self.due.keys().next().map(|(at, _)| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubelet::PortForwardOutcome;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + seconds).unwrap()
    }

    fn reference(attempt: u32) -> ContainerRef {
        ContainerRef {
            namespace: "default".into(),
            pod: "web".into(),
            pod_uid: "u1".into(),
            container: "app".into(),
            attempt,
        }
    }

    fn start(runtime: &mut SimulatedRuntime, image: &str, now: Timestamp) -> Vec<RuntimeReport> {
        runtime.submit(RuntimeCommand::PullImage { image: image.into() }, now);
        let container = reference(0);
        let create = RuntimeCommand::CreateContainer {
            container: container.clone(),
            image: image.into(),
            command: vec![],
            args: vec![],
            pod_ip: None,
            ports: vec![80],
        };
        runtime.submit(create, now);
        runtime.submit(RuntimeCommand::StartContainer { container }, now);
        runtime.poll(now)
    }

    #[test]
    fn a_default_container_pulls_creates_and_starts_at_once_and_runs_forever() {
        let mut runtime = SimulatedRuntime::new(SimulatedBehavior::default());
        let reports = start(&mut runtime, "nginx", at(0));
        assert_eq!(reports.len(), 3, "{reports:?}");
        assert!(matches!(reports[2], RuntimeReport::ContainerStarted { .. }));
        assert_eq!(runtime.next_wake(), None);
        assert_eq!(runtime.running().len(), 1);
    }

    /// The simulator's safety checker reads what runs only when this counter moved, so every
    /// change to what runs must move it, and probes or time passing must not.
    #[test]
    fn the_change_counter_moves_exactly_when_what_runs_changes() {
        let mut runtime = SimulatedRuntime::new(SimulatedBehavior::default());
        let before = runtime.container_changes();
        start(&mut runtime, "nginx", at(0));
        let started = runtime.container_changes();
        assert!(started > before);
        assert_eq!(runtime.running().len(), 1);
        runtime.fail_probes("default", "web", "app", None);
        runtime.poll(at(30));
        assert_eq!(runtime.container_changes(), started, "nothing started or stopped");
        runtime.crash_container("default", "web", "app", 1, at(31));
        runtime.poll(at(31));
        assert!(runtime.container_changes() > started);
        assert!(runtime.running().is_empty());
    }

    #[test]
    fn a_port_answers_while_a_container_declaring_it_runs() {
        let mut runtime = SimulatedRuntime::new(SimulatedBehavior::default());
        start(&mut runtime, "nginx", at(0));
        let outcome = |runtime: &mut SimulatedRuntime, port: u16, now: Timestamp| {
            runtime.submit(RuntimeCommand::PortForward { request: 7, pod: reference(0).pod_ref(), port }, now);
            match runtime.poll(now).pop() {
                Some(RuntimeReport::PortForwardResult { request: 7, outcome }) => outcome,
                other => panic!("expected the port-forward answer, got {other:?}"),
            }
        };
        assert!(matches!(outcome(&mut runtime, 80, at(1)), PortForwardOutcome::Reply { .. }));
        assert!(matches!(outcome(&mut runtime, 81, at(1)), PortForwardOutcome::Refused { .. }));
        runtime.crash_container("default", "web", "app", 1, at(2));
        runtime.poll(at(2));
        let after_exit = outcome(&mut runtime, 80, at(3));
        assert!(matches!(after_exit, PortForwardOutcome::Refused { .. }), "an exited process listens no more");
    }

    #[test]
    fn an_oom_container_exits_with_137_and_oomkilled_after_its_run_time() {
        let behavior = ContainerBehavior { exit_after: Some(Duration::from_secs(5)), oom: true, ..Default::default() };
        let mut runtime = SimulatedRuntime::new(SimulatedBehavior::default().with_rule("hog", behavior));
        start(&mut runtime, "hog:1", at(0));
        assert_eq!(runtime.next_wake(), Some(at(5)));
        let reports = runtime.poll(at(5));
        assert!(
            matches!(&reports[..], [RuntimeReport::ContainerExited { exit_code: 137, reason, .. }] if reason == "OOMKilled")
        );
    }

    #[test]
    fn a_container_ignoring_sigterm_only_dies_from_sigkill() {
        let behavior = ContainerBehavior { ignores_sigterm: true, ..Default::default() };
        let mut runtime = SimulatedRuntime::new(SimulatedBehavior::default().with_rule("stubborn", behavior));
        start(&mut runtime, "stubborn", at(0));
        runtime
            .submit(RuntimeCommand::StopContainer { container: reference(0), grace: Duration::from_secs(30) }, at(1));
        assert!(runtime.poll(at(10)).is_empty());
        runtime.submit(RuntimeCommand::KillContainer { container: reference(0) }, at(31));
        let reports = runtime.poll(at(31));
        assert!(matches!(&reports[..], [RuntimeReport::ContainerExited { exit_code: 137, .. }]));
    }

    #[test]
    fn injected_probe_failures_last_until_their_deadline_and_stale_attempts_are_ignored() {
        let mut runtime = SimulatedRuntime::new(SimulatedBehavior::default());
        start(&mut runtime, "nginx", at(0));
        runtime.fail_probes("default", "web", "app", Some(at(10)));
        let probe = |request| RuntimeCommand::Probe {
            request,
            container: reference(0),
            action: HandlerAction::TcpSocket { host: "10.0.0.1".into(), port: 80 },
            timeout: Duration::from_secs(1),
        };
        runtime.submit(probe(1), at(5));
        runtime.submit(probe(2), at(10));
        let outcomes: Vec<bool> = runtime
            .poll(at(10))
            .into_iter()
            .filter_map(|report| match report {
                RuntimeReport::ProbeResult { outcome, .. } => Some(outcome.is_success()),
                _ => None,
            })
            .collect();
        assert_eq!(outcomes, vec![false, true]);
        // A crash of attempt 0 reported after attempt 1 replaced it is dropped.
        runtime.crash_container("default", "web", "app", 1, at(11));
        let create = RuntimeCommand::CreateContainer {
            container: reference(1),
            image: "nginx".into(),
            command: vec![],
            args: vec![],
            pod_ip: None,
            ports: vec![80],
        };
        runtime.submit(create, at(11));
        let reports = runtime.poll(at(11));
        assert!(reports.iter().all(|report| !matches!(report, RuntimeReport::ContainerExited { .. })), "{reports:?}");
    }

    #[test]
    fn usage_ramps_linearly_and_set_usage_overrides_it() {
        let usage = UsageCurve::Ramp {
            cpu_millis_start: 100,
            cpu_millis_end: 300,
            memory_bytes_start: 0,
            memory_bytes_end: 1000,
            over: Duration::from_secs(100),
        };
        assert_eq!(usage.at(Duration::from_secs(50)), (200, 500));
        assert_eq!(usage.at(Duration::from_secs(500)), (300, 1000));
        let mut runtime = SimulatedRuntime::new(SimulatedBehavior::default());
        start(&mut runtime, "nginx", at(0));
        runtime.set_usage("default", "web", "app", 750, 42);
        runtime.submit(RuntimeCommand::Stats { pod: reference(0).pod_ref() }, at(3));
        let reports = runtime.poll(at(3));
        let RuntimeReport::Stats { containers, .. } = &reports[0] else { panic!("{reports:?}") };
        assert_eq!((containers[0].cpu_millis, containers[0].memory_bytes), (750, 42));
    }
}
