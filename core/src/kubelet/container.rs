//! One container of one pod as the kubelet tracks it: where it is in its start pipeline (pull,
//! create, start), its restarts and back-offs, its probes and hooks, and its stop, and how that
//! reads as a `ContainerStatus` (state and lastState with Kubernetes' reasons).

use k8s_openapi::api::core::v1::Container;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::backoff::Backoff;
use super::probe::{ProbeKind, ProbeWorker};

/// Waiting reason while the container is being pulled, created and started.
pub const REASON_CONTAINER_CREATING: &str = "ContainerCreating";
/// Waiting reason of app containers while init containers run.
pub const REASON_POD_INITIALIZING: &str = "PodInitializing";
/// Waiting reason while a crashed container waits out its back-off.
pub const REASON_CRASH_LOOP_BACK_OFF: &str = "CrashLoopBackOff";
/// Waiting reason right after a pull failed.
pub const REASON_ERR_IMAGE_PULL: &str = "ErrImagePull";
/// Waiting reason while a failed pull waits out its back-off.
pub const REASON_IMAGE_PULL_BACK_OFF: &str = "ImagePullBackOff";
/// Waiting reason when the policy is Never and the image is absent.
pub const REASON_ERR_IMAGE_NEVER_PULL: &str = "ErrImageNeverPull";
/// Waiting reason when the runtime could not create the container.
pub const REASON_CREATE_CONTAINER_ERROR: &str = "CreateContainerError";

/// A finished run of a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terminated {
    /// The exit code.
    pub exit_code: i32,
    /// `Completed`, `Error`, `OOMKilled`.
    pub reason: String,
    /// Why the kubelet ended it, if it did (a failed liveness probe).
    pub message: Option<String>,
    /// When that run started.
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub finished_at: Timestamp,
    /// The attempt it was.
    pub attempt: u32,
}

/// Where a container is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Not started, or waiting to be started again.
    Waiting {
        /// The waiting reason.
        reason: &'static str,
        /// The message, if any.
        message: Option<String>,
    },
    /// Its image is being pulled.
    Pulling,
    /// Created is awaited.
    Creating,
    /// Started is awaited.
    Starting,
    /// Its process runs.
    Running {
        /// Since when.
        started_at: Timestamp,
    },
    /// It ended and stays ended (completed init container, or no restart).
    Terminated(Terminated),
}

/// Why the kubelet is stopping a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stopping {
    /// When SIGKILL follows.
    pub deadline: Timestamp,
    /// Whether SIGKILL was sent.
    pub killed: bool,
    /// Whether SIGTERM was sent (after the preStop hook, if any).
    pub signalled: bool,
    /// The preStop hook in flight.
    pub pre_stop: Option<u64>,
    /// The message to record (`Container web failed liveness probe, will be restarted`).
    pub message: Option<String>,
}

/// One container of a pod.
#[derive(Clone, Debug)]
pub struct ContainerRecord {
    /// Its spec.
    pub spec: Container,
    /// Whether it is an init container.
    pub init: bool,
    /// Its restart count, also the attempt number of the current run.
    pub attempt: u32,
    /// Where it is.
    pub stage: Stage,
    /// The previous run, if any.
    pub last_terminated: Option<Terminated>,
    /// It may not be (re)started or pulled again before this.
    pub not_before: Option<Timestamp>,
    /// When an ErrImagePull turns into ImagePullBackOff.
    pub back_off_shown_at: Option<Timestamp>,
    /// Crash-loop back-off.
    pub restart_backoff: Backoff,
    /// Image pull back-off.
    pub pull_backoff: Backoff,
    /// Whether the startup probe passed (true without one once running).
    pub started: bool,
    /// Probes: startup, liveness, readiness (those the spec has).
    pub probes: Vec<ProbeWorker>,
    /// The postStart hook in flight.
    pub post_start: Option<u64>,
    /// Being stopped.
    pub stopping: Option<Stopping>,
}

impl ContainerRecord {
    /// A container not started yet; `attempt` is its restart count so far (non-zero for a pod
    /// that ran before this kubelet started).
    pub fn new(spec: &Container, init: bool, attempt: u32) -> ContainerRecord {
        let probes = [ProbeKind::Startup, ProbeKind::Liveness, ProbeKind::Readiness]
            .into_iter()
            .filter_map(|kind| ProbeWorker::of(spec, kind))
            .collect();
        ContainerRecord {
            spec: spec.clone(),
            init,
            attempt,
            stage: Stage::Waiting { reason: REASON_CONTAINER_CREATING, message: None },
            last_terminated: None,
            not_before: None,
            back_off_shown_at: None,
            restart_backoff: Backoff::default(),
            pull_backoff: Backoff::default(),
            started: false,
            probes,
            post_start: None,
            stopping: None,
        }
    }

    /// The container's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The image.
    pub fn image(&self) -> &str {
        self.spec.image.as_deref().unwrap_or_default()
    }

    /// Whether its process runs (or is about to).
    pub fn is_running(&self) -> bool {
        matches!(self.stage, Stage::Running { .. } | Stage::Starting)
    }

    /// Whether it is a sidecar (an init container with `restartPolicy: Always`).
    pub fn is_sidecar(&self) -> bool {
        self.init && self.spec.restart_policy.as_deref() == Some("Always")
    }

    /// Whether it finished successfully and stays so.
    pub fn completed(&self) -> bool {
        matches!(&self.stage, Stage::Terminated(terminated) if terminated.exit_code == 0)
    }

    /// Whether it waits in a state that counts as never having run (for the pod phase).
    pub fn has_run(&self) -> bool {
        self.last_terminated.is_some() || matches!(self.stage, Stage::Terminated(_))
    }

    /// The probe of `kind`, if the container has one.
    pub fn probe(&self, kind: ProbeKind) -> Option<&ProbeWorker> {
        self.probes.iter().find(|probe| probe.kind == kind)
    }

    /// The probe of `kind`, mutable.
    pub fn probe_mut(&mut self, kind: ProbeKind) -> Option<&mut ProbeWorker> {
        self.probes.iter_mut().find(|probe| probe.kind == kind)
    }

    /// Whether it is ready: running, started, postStart done, not stopping, readiness holds.
    pub fn is_ready(&self) -> bool {
        matches!(self.stage, Stage::Running { .. })
            && self.started
            && self.post_start.is_none()
            && self.stopping.is_none()
            && self.probe(ProbeKind::Readiness).is_none_or(|probe| probe.result)
    }

    /// The `ContainerStatus` as JSON.
    pub fn status(&self, pod_uid: &str, initializing: bool) -> Value {
        let state = match &self.stage {
            Stage::Waiting { reason, message } => {
                let reason = if *reason == REASON_CONTAINER_CREATING && initializing && !self.init {
                    REASON_POD_INITIALIZING
                } else {
                    reason
                };
                waiting(reason, message.as_deref())
            }
            Stage::Pulling | Stage::Creating | Stage::Starting => waiting(REASON_CONTAINER_CREATING, None),
            Stage::Running { started_at } => json!({"running": {"startedAt": time(*started_at)}}),
            Stage::Terminated(terminated) => json!({"terminated": self.terminated(pod_uid, terminated)}),
        };
        let last_state = match &self.last_terminated {
            Some(terminated) => json!({"terminated": self.terminated(pod_uid, terminated)}),
            None => json!({}),
        };
        let mut status = json!({
            "name": self.spec.name,
            "image": self.image(),
            "imageID": "",
            "ready": self.is_ready(),
            "restartCount": self.attempt,
            "started": matches!(self.stage, Stage::Running { .. }) && self.started,
            "state": state,
            "lastState": last_state,
        });
        // A waiting container that ran before shows the id of its last run, as Kubernetes does.
        let shown_attempt = match (&self.stage, &self.last_terminated) {
            (Stage::Running { .. } | Stage::Terminated(_), _) => Some(self.attempt),
            (_, Some(last)) => Some(last.attempt),
            _ => None,
        };
        if let Some(attempt) = shown_attempt {
            status["containerID"] = json!(container_id(pod_uid, &self.spec.name, attempt));
            status["imageID"] = json!(format!("{}@simulated", self.image()));
        }
        status
    }

    fn terminated(&self, pod_uid: &str, terminated: &Terminated) -> Value {
        let mut value = json!({
            "exitCode": terminated.exit_code,
            "reason": terminated.reason,
            "finishedAt": time(terminated.finished_at),
            "containerID": container_id(pod_uid, &self.spec.name, terminated.attempt),
        });
        if let Some(started_at) = terminated.started_at {
            value["startedAt"] = time(started_at);
        }
        if let Some(message) = &terminated.message {
            value["message"] = json!(message);
        }
        value
    }
}

fn waiting(reason: &str, message: Option<&str>) -> Value {
    match message {
        Some(message) => json!({"waiting": {"reason": reason, "message": message}}),
        None => json!({"waiting": {"reason": reason}}),
    }
}

/// A container id as the status shows it: `<runtime>://<id>`, stable for one attempt.
fn container_id(pod_uid: &str, name: &str, attempt: u32) -> String {
    format!("coxswain://{pod_uid}-{name}-{attempt}")
}

/// A timestamp as the API writes it (RFC 3339, whole seconds).
pub fn time(at: Timestamp) -> Value {
    serde_json::to_value(Time(at)).unwrap_or(Value::Null)
}
