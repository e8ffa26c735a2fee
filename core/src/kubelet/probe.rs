//! Probes (`pkg/kubelet/prober`): a worker per container and probe kind that runs the probe
//! every period after the initial delay and turns consecutive answers into a result with the
//! success and failure thresholds. Startup gates liveness and readiness; readiness starts out
//! failed, liveness and startup start out succeeded / unknown.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, ContainerPort, LifecycleHandler, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::runtime::HandlerAction;

/// `initialDelaySeconds` when unset.
pub const DEFAULT_INITIAL_DELAY_SECONDS: i32 = 0;
/// `periodSeconds` when unset.
pub const DEFAULT_PERIOD_SECONDS: i32 = 10;
/// `timeoutSeconds` when unset.
pub const DEFAULT_TIMEOUT_SECONDS: i32 = 1;
/// `successThreshold` when unset.
pub const DEFAULT_SUCCESS_THRESHOLD: i32 = 1;
/// `failureThreshold` when unset.
pub const DEFAULT_FAILURE_THRESHOLD: i32 = 3;

/// Which probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProbeKind {
    /// `startupProbe`.
    Startup,
    /// `livenessProbe`.
    Liveness,
    /// `readinessProbe`.
    Readiness,
}

impl ProbeKind {
    /// The name used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Startup => "startup",
            ProbeKind::Liveness => "liveness",
            ProbeKind::Readiness => "readiness",
        }
    }
}

/// A probe's settings with Kubernetes' defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeSettings {
    /// The handler, unresolved (named ports are resolved per run).
    pub probe: Probe,
    /// `initialDelaySeconds`.
    pub initial_delay: Duration,
    /// `periodSeconds`.
    pub period: Duration,
    /// `timeoutSeconds`.
    pub timeout: Duration,
    /// `successThreshold`.
    pub success_threshold: u32,
    /// `failureThreshold`.
    pub failure_threshold: u32,
}

fn seconds(value: Option<i32>, default: i32) -> Duration {
    Duration::from_secs(u64::try_from(value.unwrap_or(default)).unwrap_or(0))
}

fn count(value: Option<i32>, default: i32) -> u32 {
    u32::try_from(value.unwrap_or(default)).unwrap_or(1).max(1)
}

impl ProbeSettings {
    /// Reads a probe with defaults.
    pub fn of(probe: &Probe) -> ProbeSettings {
        ProbeSettings {
            probe: probe.clone(),
            initial_delay: seconds(probe.initial_delay_seconds, DEFAULT_INITIAL_DELAY_SECONDS),
            period: seconds(probe.period_seconds, DEFAULT_PERIOD_SECONDS).max(Duration::from_secs(1)),
            timeout: seconds(probe.timeout_seconds, DEFAULT_TIMEOUT_SECONDS).max(Duration::from_secs(1)),
            success_threshold: count(probe.success_threshold, DEFAULT_SUCCESS_THRESHOLD),
            failure_threshold: count(probe.failure_threshold, DEFAULT_FAILURE_THRESHOLD),
        }
    }
}

/// One probe worker's state.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeWorker {
    /// Which probe.
    pub kind: ProbeKind,
    /// Its settings.
    pub settings: ProbeSettings,
    /// When it next runs (`None` until the container runs and, for liveness and readiness, has
    /// started).
    pub next_run: Option<Timestamp>,
    /// The request in flight.
    pub in_flight: Option<u64>,
    /// Whether the probe currently holds (liveness starts true; readiness and startup false).
    pub result: bool,
    consecutive_successes: u32,
    consecutive_failures: u32,
}

/// What a probe answer changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeTransition {
    /// The result did not change.
    Unchanged,
    /// The result turned to success.
    Succeeded,
    /// The result turned to failure.
    Failed,
}

fn add(at: Timestamp, duration: Duration) -> Timestamp {
    at.saturating_add(SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX)).unwrap_or(Timestamp::MAX)
}

impl ProbeWorker {
    /// A worker for a container's probe of `kind`, if the container has one.
    pub fn of(container: &Container, kind: ProbeKind) -> Option<ProbeWorker> {
        let probe = match kind {
            ProbeKind::Startup => container.startup_probe.as_ref(),
            ProbeKind::Liveness => container.liveness_probe.as_ref(),
            ProbeKind::Readiness => container.readiness_probe.as_ref(),
        }?;
        Some(ProbeWorker {
            kind,
            settings: ProbeSettings::of(probe),
            next_run: None,
            in_flight: None,
            result: kind == ProbeKind::Liveness,
            consecutive_successes: 0,
            consecutive_failures: 0,
        })
    }

    /// The container (attempt) started running at `started_at`, or it passed its startup probe
    /// at `now`: the first run comes after the initial delay, counted from the start.
    pub fn arm(&mut self, started_at: Timestamp, now: Timestamp) {
        self.next_run = Some(add(started_at, self.settings.initial_delay).max(now));
        self.in_flight = None;
        self.consecutive_successes = 0;
        self.consecutive_failures = 0;
        self.result = self.kind == ProbeKind::Liveness;
    }

    /// Stops the worker (the container stopped, or startup succeeded).
    pub fn disarm(&mut self) {
        self.next_run = None;
        self.in_flight = None;
    }

    /// Whether a run is due at `now`; if so, schedules the one after.
    pub fn take_due(&mut self, now: Timestamp) -> bool {
        match self.next_run {
            Some(at) if at <= now && self.in_flight.is_none() => {
                self.next_run = Some(add(now, self.settings.period));
                true
            }
            _ => false,
        }
    }

    /// Feeds one answer.
    pub fn observe(&mut self, success: bool) -> ProbeTransition {
        self.in_flight = None;
        if success {
            self.consecutive_failures = 0;
            self.consecutive_successes += 1;
            // Liveness and startup require one success (their threshold must be 1).
            if !self.result && self.consecutive_successes >= self.settings.success_threshold {
                self.result = true;
                return ProbeTransition::Succeeded;
            }
        } else {
            self.consecutive_successes = 0;
            self.consecutive_failures += 1;
            if self.consecutive_failures >= self.settings.failure_threshold
                && (self.result || self.is_startup_pending())
            {
                self.result = false;
                self.consecutive_failures = 0;
                return ProbeTransition::Failed;
            }
        }
        ProbeTransition::Unchanged
    }

    /// A startup probe that has not succeeded yet still fails the container after its threshold.
    fn is_startup_pending(&self) -> bool {
        self.kind == ProbeKind::Startup
    }
}

/// Resolves a port that may name one of the container's ports.
fn resolve_port(port: &IntOrString, ports: &[ContainerPort]) -> Option<i32> {
    match port {
        IntOrString::Int(number) => Some(*number),
        IntOrString::String(name) => match name.parse::<i32>() {
            Ok(number) => Some(number),
            Err(_) => ports.iter().find(|port| port.name.as_deref() == Some(name)).map(|port| port.container_port),
        },
    }
}

/// The action a probe performs against a container at `pod_ip`, or why it cannot run.
pub fn probe_action(probe: &Probe, container: &Container, pod_ip: &str) -> Result<HandlerAction, String> {
    let ports = container.ports.as_deref().unwrap_or_default();
    if let Some(exec) = &probe.exec {
        return Ok(HandlerAction::Exec { command: exec.command.clone().unwrap_or_default() });
    }
    if let Some(http) = &probe.http_get {
        let port = resolve_port(&http.port, ports).ok_or_else(|| format!("unknown port {:?}", http.port))?;
        return Ok(HandlerAction::HttpGet {
            scheme: http.scheme.clone().unwrap_or_else(|| "HTTP".into()).to_lowercase(),
            host: http.host.clone().unwrap_or_else(|| pod_ip.to_string()),
            port,
            path: http.path.clone().unwrap_or_else(|| "/".into()),
        });
    }
    if let Some(tcp) = &probe.tcp_socket {
        let port = resolve_port(&tcp.port, ports).ok_or_else(|| format!("unknown port {:?}", tcp.port))?;
        return Ok(HandlerAction::TcpSocket { host: tcp.host.clone().unwrap_or_else(|| pod_ip.to_string()), port });
    }
    if let Some(grpc) = &probe.grpc {
        return Ok(HandlerAction::Grpc { port: grpc.port, service: grpc.service.clone().unwrap_or_default() });
    }
    Err("probe has no handler".to_string())
}

/// The action a lifecycle hook performs, or `None` when it names no handler.
pub fn hook_action(handler: &LifecycleHandler, container: &Container, pod_ip: &str) -> Option<HandlerAction> {
    let ports = container.ports.as_deref().unwrap_or_default();
    if let Some(exec) = &handler.exec {
        return Some(HandlerAction::Exec { command: exec.command.clone().unwrap_or_default() });
    }
    if let Some(http) = &handler.http_get {
        return Some(HandlerAction::HttpGet {
            scheme: http.scheme.clone().unwrap_or_else(|| "HTTP".into()).to_lowercase(),
            host: http.host.clone().unwrap_or_else(|| pod_ip.to_string()),
            port: resolve_port(&http.port, ports)?,
            path: http.path.clone().unwrap_or_else(|| "/".into()),
        });
    }
    if let Some(tcp) = &handler.tcp_socket {
        return Some(HandlerAction::TcpSocket {
            host: tcp.host.clone().unwrap_or_else(|| pod_ip.to_string()),
            port: resolve_port(&tcp.port, ports)?,
        });
    }
    handler
        .sleep
        .as_ref()
        .map(|sleep| HandlerAction::Sleep { duration: Duration::from_secs(u64::try_from(sleep.seconds).unwrap_or(0)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(kind: ProbeKind, success_threshold: i32, failure_threshold: i32) -> ProbeWorker {
        let probe = Probe {
            success_threshold: Some(success_threshold),
            failure_threshold: Some(failure_threshold),
            ..Probe::default()
        };
        let container = Container {
            readiness_probe: Some(probe.clone()),
            liveness_probe: Some(probe.clone()),
            startup_probe: Some(probe),
            ..Container::default()
        };
        ProbeWorker::of(&container, kind).unwrap()
    }

    /// The threshold rows of `TestUpdateProbeResultWithThresholds`-style cases in
    /// pkg/kubelet/prober/worker_test.go (`TestHandleCrash`, `TestSuccessThreshold`,
    /// `TestFailureThreshold`).
    #[test]
    fn thresholds_count_consecutive_answers() {
        let mut readiness = worker(ProbeKind::Readiness, 3, 3);
        assert!(!readiness.result);
        assert_eq!(readiness.observe(true), ProbeTransition::Unchanged);
        assert_eq!(readiness.observe(true), ProbeTransition::Unchanged);
        assert_eq!(readiness.observe(true), ProbeTransition::Succeeded);
        assert_eq!(readiness.observe(false), ProbeTransition::Unchanged);
        assert_eq!(readiness.observe(true), ProbeTransition::Unchanged);
        assert_eq!(readiness.observe(false), ProbeTransition::Unchanged);
        assert_eq!(readiness.observe(false), ProbeTransition::Unchanged);
        assert_eq!(readiness.observe(false), ProbeTransition::Failed);

        let mut liveness = worker(ProbeKind::Liveness, 1, 2);
        assert!(liveness.result);
        assert_eq!(liveness.observe(false), ProbeTransition::Unchanged);
        assert_eq!(liveness.observe(false), ProbeTransition::Failed);
    }

    #[test]
    fn defaults_are_kubernetes_defaults() {
        let settings = ProbeSettings::of(&Probe::default());
        assert_eq!(settings.period, Duration::from_secs(10));
        assert_eq!(settings.timeout, Duration::from_secs(1));
        assert_eq!((settings.success_threshold, settings.failure_threshold), (1, 3));
        assert_eq!(settings.initial_delay, Duration::ZERO);
    }

    #[test]
    fn a_named_port_resolves_against_the_container_ports() {
        let container = Container {
            ports: Some(vec![ContainerPort { name: Some("http".into()), container_port: 8080, ..Default::default() }]),
            ..Container::default()
        };
        let probe = Probe {
            http_get: Some(k8s_openapi::api::core::v1::HTTPGetAction {
                port: IntOrString::String("http".into()),
                path: Some("/healthz".into()),
                ..Default::default()
            }),
            ..Probe::default()
        };
        assert_eq!(
            probe_action(&probe, &container, "10.244.0.2"),
            Ok(HandlerAction::HttpGet {
                scheme: "http".into(),
                host: "10.244.0.2".into(),
                port: 8080,
                path: "/healthz".into()
            })
        );
    }
}
