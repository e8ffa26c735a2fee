//! The container runtime as the kubelet sees it (the CRI, reduced to what the pod lifecycle
//! needs), sans-IO: the kubelet submits [`RuntimeCommand`]s and later polls [`RuntimeReport`]s.
//! The simulated runtime ([`super::simulated`]) and the Docker runtime (in `real/`) implement
//! [`ContainerRuntime`]; the kubelet never knows which one it drives.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

/// One container of one pod, as both sides name it. The uid tells a pod recreated under the same
/// name apart from its predecessor.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerRef {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub pod: String,
    /// The pod's uid.
    pub pod_uid: String,
    /// The container's name.
    pub container: String,
    /// Which start of the container this is (its restartCount when it was created): reports of
    /// an earlier attempt are stale and ignored.
    pub attempt: u32,
}

/// One pod's sandbox (network namespace and everything its containers share).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodRef {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub pod: String,
    /// The pod's uid.
    pub pod_uid: String,
}

impl PodRef {
    /// One container of this pod, at `attempt`.
    pub fn container(&self, name: &str, attempt: u32) -> ContainerRef {
        ContainerRef {
            namespace: self.namespace.clone(),
            pod: self.pod.clone(),
            pod_uid: self.pod_uid.clone(),
            container: name.to_string(),
            attempt,
        }
    }
}

impl ContainerRef {
    /// The pod the container belongs to.
    pub fn pod_ref(&self) -> PodRef {
        PodRef { namespace: self.namespace.clone(), pod: self.pod.clone(), pod_uid: self.pod_uid.clone() }
    }
}

/// What a probe or a lifecycle hook does (`ProbeHandler` / `LifecycleHandler`), resolved: named
/// ports are already looked up in the container's ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandlerAction {
    /// Run a command in the container; exit code 0 is success.
    Exec {
        /// The command and its arguments.
        command: Vec<String>,
    },
    /// An HTTP GET; a status in 200..400 is success.
    HttpGet {
        /// `http` or `https`.
        scheme: String,
        /// The host (the pod IP when the spec names none).
        host: String,
        /// The port.
        port: i32,
        /// The path.
        path: String,
    },
    /// A TCP connect; an open connection is success.
    TcpSocket {
        /// The host (the pod IP when the spec names none).
        host: String,
        /// The port.
        port: i32,
    },
    /// A gRPC health check (`grpc.health.v1.Health/Check`); SERVING is success.
    Grpc {
        /// The port.
        port: i32,
        /// The service name sent in the request (empty: the server's overall health).
        service: String,
    },
    /// Wait this long (the `sleep` hook handler).
    Sleep {
        /// How long.
        duration: Duration,
    },
}

/// What connecting to a pod's port found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortForwardOutcome {
    /// Something listens. The simulated runtime has no process to carry bytes to, so its
    /// listener is a tiny HTTP server: it answers the first request with `reply` and closes.
    Reply {
        /// The bytes the connection answers with.
        reply: Vec<u8>,
    },
    /// Nothing listens: the text the kubelet writes on the port-forward error stream.
    Refused {
        /// The kubelet's message.
        message: String,
    },
}

/// A command the kubelet submits. Commands naming a container carry its attempt, so a report
/// always names which start of the container it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeCommand {
    /// Pull an image onto the node; answered by [`RuntimeReport::ImagePulled`].
    PullImage {
        /// The image reference as the pod spec names it.
        image: String,
    },
    /// Create a container (its sandbox first, when the pod has none); answered by
    /// [`RuntimeReport::ContainerCreated`].
    CreateContainer {
        /// The container.
        container: ContainerRef,
        /// The image.
        image: String,
        /// The effective command: the spec's `command` or, when unset, the image's entrypoint
        /// (empty here: the runtime fills it in).
        command: Vec<String>,
        /// The effective arguments: the spec's `args` or, when `command` is unset too, the
        /// image's cmd (empty here for the same reason).
        args: Vec<String>,
        /// The pod's IP, for handlers and logs.
        pod_ip: Option<String>,
        /// The TCP ports the container declares (`ports[].containerPort`). A real runtime needs
        /// nothing from them; the simulated one's process listens on exactly these.
        ports: Vec<u16>,
    },
    /// Start a created container; answered by [`RuntimeReport::ContainerStarted`].
    StartContainer {
        /// The container.
        container: ContainerRef,
    },
    /// Send SIGTERM (the image's stop signal); the container exits when it does, reported by
    /// [`RuntimeReport::ContainerExited`]. The kubelet sends [`RuntimeCommand::KillContainer`] at
    /// the grace deadline; `grace` is passed on for runtimes that enforce it themselves.
    StopContainer {
        /// The container.
        container: ContainerRef,
        /// The grace period left.
        grace: Duration,
    },
    /// Send SIGKILL; answered by [`RuntimeReport::ContainerExited`] with exit code 137.
    KillContainer {
        /// The container.
        container: ContainerRef,
    },
    /// Run a command in a running container (`kubectl exec`, exec hooks); answered by
    /// [`RuntimeReport::ExecResult`].
    Exec {
        /// The kubelet's number for this request.
        request: u64,
        /// The container.
        container: ContainerRef,
        /// The command.
        command: Vec<String>,
        /// How long the command may run.
        timeout: Duration,
    },
    /// Run one probe; answered by [`RuntimeReport::ProbeResult`].
    Probe {
        /// The kubelet's number for this request.
        request: u64,
        /// The container.
        container: ContainerRef,
        /// What the probe does.
        action: HandlerAction,
        /// `timeoutSeconds`.
        timeout: Duration,
    },
    /// Run a postStart or preStop hook; answered by [`RuntimeReport::HookResult`].
    RunHook {
        /// The kubelet's number for this request.
        request: u64,
        /// The container.
        container: ContainerRef,
        /// What the hook does.
        action: HandlerAction,
        /// How long it may take.
        timeout: Duration,
    },
    /// Read a container's logs; answered by [`RuntimeReport::LogsResult`].
    Logs {
        /// The kubelet's number for this request.
        request: u64,
        /// The container.
        container: ContainerRef,
        /// Only the last lines, when set.
        tail_lines: Option<u64>,
    },
    /// Connect to a port in a pod's network namespace (`kubectl port-forward`); answered by
    /// [`RuntimeReport::PortForwardResult`].
    PortForward {
        /// The kubelet's number for this request.
        request: u64,
        /// The pod.
        pod: PodRef,
        /// The port inside the pod.
        port: u16,
    },
    /// Sample the resource usage of a pod's running containers; answered by one
    /// [`RuntimeReport::Stats`].
    Stats {
        /// The pod.
        pod: PodRef,
    },
    /// Remove a pod's sandbox and every container of it (after its final delete); no answer.
    RemovePodSandbox {
        /// The pod.
        pod: PodRef,
    },
}

/// How a probe or hook went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandlerOutcome {
    /// It succeeded.
    Success,
    /// It failed, with the runtime's message.
    Failure(String),
    /// It did not answer within its timeout.
    Timeout,
}

impl HandlerOutcome {
    /// Whether it succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self, HandlerOutcome::Success)
    }
}

/// The usage of one container at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerUsage {
    /// The container's name.
    pub container: String,
    /// CPU in millicores.
    pub cpu_millis: i64,
    /// Memory working set in bytes.
    pub memory_bytes: i64,
}

/// Something the runtime reports, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeReport {
    /// A pull ended: `Ok` or the error message (`ErrImagePull`'s message).
    ImagePulled {
        /// The image.
        image: String,
        /// The outcome.
        result: Result<(), String>,
    },
    /// A container was created, or could not be (`CreateContainerError` with the message).
    ContainerCreated {
        /// The container.
        container: ContainerRef,
        /// The outcome.
        result: Result<(), String>,
    },
    /// A container started running.
    ContainerStarted {
        /// The container.
        container: ContainerRef,
        /// When it started.
        at: Timestamp,
    },
    /// A container's process ended.
    ContainerExited {
        /// The container.
        container: ContainerRef,
        /// The exit code (137 after SIGKILL).
        exit_code: i32,
        /// `OOMKilled`, `Error` or `Completed`, as the runtime saw it.
        reason: String,
        /// When it ended.
        at: Timestamp,
    },
    /// A probe's answer.
    ProbeResult {
        /// The request it answers.
        request: u64,
        /// The container.
        container: ContainerRef,
        /// The outcome.
        outcome: HandlerOutcome,
    },
    /// A hook's answer.
    HookResult {
        /// The request it answers.
        request: u64,
        /// The container.
        container: ContainerRef,
        /// The outcome.
        outcome: HandlerOutcome,
    },
    /// An exec's answer.
    ExecResult {
        /// The request it answers.
        request: u64,
        /// The command's exit code.
        exit_code: i32,
        /// What it printed.
        output: String,
    },
    /// A logs answer.
    LogsResult {
        /// The request it answers.
        request: u64,
        /// The log text.
        text: String,
    },
    /// A port-forward connection's answer.
    PortForwardResult {
        /// The request it answers.
        request: u64,
        /// What the connection found.
        outcome: PortForwardOutcome,
    },
    /// A pod's usage sample.
    Stats {
        /// The pod.
        pod: PodRef,
        /// When it was sampled.
        at: Timestamp,
        /// Each running container's usage, by container name order.
        containers: Vec<ContainerUsage>,
    },
}

/// The container runtime, sans-IO: commands go in, reports come out in the order they happened.
/// Implementations must be deterministic given the same commands at the same instants.
pub trait ContainerRuntime {
    /// Accepts a command at `now`; its effects are reported later through [`Self::poll`].
    fn submit(&mut self, command: RuntimeCommand, now: Timestamp);

    /// The reports due at or before `now`, in the order they happened.
    fn poll(&mut self, now: Timestamp) -> Vec<RuntimeReport>;

    /// When the next report is due, if any is pending.
    fn next_wake(&self) -> Option<Timestamp>;
}
