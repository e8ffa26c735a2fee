//! The node agent (kubelet) as a pure, sans-IO [`Component`](crate::client::Component): it
//! registers and heartbeats its Node, admits the pods bound to it and runs them through a
//! [`ContainerRuntime`] (pull, init containers, containers, probes, hooks, restarts with
//! back-off, graceful termination), and reports their status. The simulator drives it with the
//! [`SimulatedRuntime`]; the production agent will drive it with a Docker runtime.
//!
//! Rooms: [`config`] (flags and periods), [`runtime`] (the runtime trait and its commands and
//! reports), [`simulated`] (the deterministic runtime), [`admission`], [`backoff`], [`probe`],
//! [`container`] and [`pod`] (the lifecycle state machine), [`pod_status`], [`node`] (Node,
//! status, Lease bodies) and [`component`] (the `Kubelet` itself).

pub mod admission;
pub mod backoff;
pub mod component;
pub mod config;
pub mod container;
pub mod metrics;
pub mod node;
pub mod pod;
pub mod pod_status;
pub mod probe;
pub mod runtime;
pub mod simulated;
pub mod simulated_exec;
pub mod simulated_port;

#[cfg(test)]
mod tests;

pub use component::Kubelet;
pub use config::KubeletConfig;
pub use metrics::KubeletMetrics;
pub use runtime::{
    ContainerRef, ContainerRuntime, ContainerUsage, HandlerAction, HandlerOutcome, PodRef, PortForwardOutcome,
    RuntimeCommand, RuntimeReport,
};
pub use simulated::{ContainerBehavior, ImageRule, ProbeAnswer, SimulatedBehavior, SimulatedRuntime, UsageCurve};
