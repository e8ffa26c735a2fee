//! `cox server --simulated-nodes N`: N node agents in the server's process, like KWOK. Each is
//! the core kubelet over the simulated container runtime, talking to the API server over the
//! same HTTP client an out-of-process agent uses; pods go Running and Ready, probes answer, and
//! `kubectl logs`/`exec`/`port-forward` reach the simulated containers through [`NodeProxy`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use coxswain_core::api::ApiError;
use coxswain_core::kubelet::simulated_port;
use coxswain_core::kubelet::{
    Kubelet, KubeletConfig, PortForwardOutcome, RuntimeReport, SimulatedBehavior, SimulatedRuntime,
};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::node_proxy::{ExecOutput, NodeProxy, Pending, PortConnection, PortForwarder};
use crate::client::http::HttpClient;
use crate::client::runner::{self, ComponentHandle};
use crate::clock::SharedClock;

/// A simulated node's agent.
pub type SimulatedKubelet = Kubelet<SimulatedRuntime>;

/// How long an exec may run in a simulated container.
const EXEC_TIMEOUT: Duration = Duration::from_secs(30);

/// How many times, and how often, the proxy looks for a runtime's answer before giving up.
const ANSWER_POLLS: usize = 100;
const ANSWER_POLL_INTERVAL: Duration = Duration::from_millis(20);

struct Agent {
    handle: ComponentHandle<SimulatedKubelet>,
    /// Answers taken from the kubelet that belong to another waiting request.
    unclaimed: Mutex<Vec<RuntimeReport>>,
}

/// The simulated nodes of one server.
pub struct SimulatedNodes {
    agents: BTreeMap<String, Arc<Agent>>,
}

/// The name of the `index`th simulated node (from 1).
pub fn node_name(index: usize) -> String {
    format!("cox-node-{index}")
}

/// What a simulated container prints as its log.
fn default_behavior() -> SimulatedBehavior {
    let mut behavior = SimulatedBehavior::default();
    behavior.default.logs = "simulated container started by coxswain\n".to_string();
    behavior
}

impl SimulatedNodes {
    /// Starts `count` agents; they stop when `shutdown` turns true.
    pub fn start(
        count: usize,
        client: &HttpClient,
        clock: &SharedClock,
        shutdown: &watch::Receiver<bool>,
    ) -> (Arc<SimulatedNodes>, Vec<JoinHandle<SimulatedKubelet>>) {
        let mut agents = BTreeMap::new();
        let mut tasks = Vec::with_capacity(count);
        for index in 1..=count {
            let name = node_name(index);
            let kubelet = Kubelet::new(KubeletConfig::new(&name), SimulatedRuntime::new(default_behavior()));
            let (handle, task) = runner::spawn(
                format!("kubelet/{name}"),
                kubelet,
                client.with_user_agent(&super::user_agent("kubelet")),
                Arc::clone(clock),
                shutdown.clone(),
            );
            agents.insert(name, Arc::new(Agent { handle, unclaimed: Mutex::new(Vec::new()) }));
            tasks.push(task);
        }
        (Arc::new(SimulatedNodes { agents }), tasks)
    }

    /// The node names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.agents.keys().map(String::as_str)
    }

    fn agent(&self, node: &str) -> Result<Arc<Agent>, ApiError> {
        self.agents.get(node).cloned().ok_or_else(|| ApiError::Internal {
            message: format!("error dialing backend: node {node} has no agent in this server"),
        })
    }
}

/// Waits for the runtime's answer numbered `request`, keeping others' answers for them.
async fn answer(agent: &Agent, request: u64) -> Option<RuntimeReport> {
    for _ in 0..ANSWER_POLLS {
        let taken = agent.handle.call(|kubelet, _| kubelet.take_answers()).await?;
        let found = {
            let mut unclaimed = agent.unclaimed.lock();
            unclaimed.extend(taken);
            let position = unclaimed.iter().position(|report| answer_number(report) == Some(request));
            position.map(|position| unclaimed.remove(position))
        };
        if found.is_some() {
            return found;
        }
        tokio::time::sleep(ANSWER_POLL_INTERVAL).await;
    }
    None
}

fn answer_number(report: &RuntimeReport) -> Option<u64> {
    match report {
        RuntimeReport::ExecResult { request, .. }
        | RuntimeReport::LogsResult { request, .. }
        | RuntimeReport::PortForwardResult { request, .. } => Some(*request),
        _ => None,
    }
}

fn no_answer(node: &str) -> ApiError {
    ApiError::Internal { message: format!("the agent of node {node} did not answer") }
}

impl NodeProxy for SimulatedNodes {
    fn logs(
        &self,
        node: &str,
        namespace: &str,
        pod: &str,
        container: &str,
        tail_lines: Option<u64>,
    ) -> Pending<Result<Option<String>, ApiError>> {
        let agent = self.agent(node);
        let (node, namespace, pod, container) =
            (node.to_string(), namespace.to_string(), pod.to_string(), container.to_string());
        Box::pin(async move {
            let agent = agent?;
            let request = agent
                .handle
                .call(move |kubelet, now| kubelet.request_logs(&namespace, &pod, &container, tail_lines, now))
                .await
                .ok_or_else(|| no_answer(&node))?;
            let Some(request) = request else { return Ok(None) };
            match answer(&agent, request).await {
                Some(RuntimeReport::LogsResult { text, .. }) => Ok(Some(text)),
                _ => Err(no_answer(&node)),
            }
        })
    }

    fn exec(
        &self,
        node: &str,
        namespace: &str,
        pod: &str,
        container: &str,
        command: Vec<String>,
    ) -> Pending<Result<Option<ExecOutput>, ApiError>> {
        let agent = self.agent(node);
        let (node, namespace, pod, container) =
            (node.to_string(), namespace.to_string(), pod.to_string(), container.to_string());
        Box::pin(async move {
            let agent = agent?;
            let request = agent
                .handle
                .call(move |kubelet, now| kubelet.exec(&namespace, &pod, &container, command, EXEC_TIMEOUT, now))
                .await
                .ok_or_else(|| no_answer(&node))?;
            let Some(request) = request else { return Ok(None) };
            match answer(&agent, request).await {
                Some(RuntimeReport::ExecResult { exit_code, output, .. }) => Ok(Some(ExecOutput { exit_code, output })),
                _ => Err(no_answer(&node)),
            }
        })
    }

    fn port_forward(
        &self,
        node: &str,
        namespace: &str,
        pod: &str,
    ) -> Pending<Result<Arc<dyn PortForwarder>, ApiError>> {
        let forwarder = self.agent(node).map(|agent| {
            Arc::new(SimulatedPortForwarder {
                agent,
                node: node.to_string(),
                namespace: namespace.to_string(),
                pod: pod.to_string(),
            }) as Arc<dyn PortForwarder>
        });
        Box::pin(async move { forwarder })
    }
}

/// One port-forward session's way to a pod on a simulated node.
struct SimulatedPortForwarder {
    agent: Arc<Agent>,
    node: String,
    namespace: String,
    pod: String,
}

impl PortForwarder for SimulatedPortForwarder {
    fn connect(&self, port: u16) -> Pending<Result<PortConnection, ApiError>> {
        let agent = Arc::clone(&self.agent);
        let (node, namespace, pod) = (self.node.clone(), self.namespace.clone(), self.pod.clone());
        Box::pin(async move {
            let (asked_namespace, asked_pod) = (namespace.clone(), pod.clone());
            let request = agent
                .handle
                .call(move |kubelet, now| kubelet.port_forward(&asked_namespace, &asked_pod, port, now))
                .await
                .ok_or_else(|| no_answer(&node))?;
            let Some(request) = request else {
                return Ok(PortConnection::Refused(simulated_port::pod_not_found(&namespace, &pod, port)));
            };
            match answer(&agent, request).await {
                Some(RuntimeReport::PortForwardResult { outcome: PortForwardOutcome::Reply { reply }, .. }) => {
                    Ok(PortConnection::Open(Box::new(simulated_listener(reply))))
                }
                Some(RuntimeReport::PortForwardResult { outcome: PortForwardOutcome::Refused { message }, .. }) => {
                    Ok(PortConnection::Refused(message))
                }
                _ => Err(no_answer(&node)),
            }
        })
    }
}

/// The most request bytes the simulated listener reads before it answers anyway.
const SIMULATED_REQUEST_BYTES: usize = 64 * 1024;

/// The simulated process behind an open port: it reads the client's request (up to the blank
/// line ending an HTTP request's headers, or the client's end of input), writes `reply` and
/// closes, as the core's simulated runtime decided.
fn simulated_listener(reply: Vec<u8>) -> tokio::io::DuplexStream {
    let (client, mut process) = tokio::io::duplex(SIMULATED_REQUEST_BYTES);
    tokio::spawn(async move {
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        while !request.windows(4).any(|window| window == b"\r\n\r\n") && request.len() < SIMULATED_REQUEST_BYTES {
            match process.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => request.extend_from_slice(&buffer[..read]),
            }
        }
        if process.write_all(&reply).await.is_ok() {
            let _ = process.shutdown().await;
        }
    });
    client
}
