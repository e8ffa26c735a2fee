//! The hosts of a simulated cluster and the component each one runs: the scheduler, the
//! controller manager and one node agent per node, each behind its own link to the API server.

use coxswain_core::client::Component;
use coxswain_core::controllers::manager::ControllerManager;
use coxswain_core::jiff::Timestamp;
use coxswain_core::scheduler::component::SchedulerComponent;

use super::network::Link;
use super::queue::Millis;

/// A host's index in the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(pub u32);

/// A pod by namespace, name and uid.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PodRef {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Uid.
    pub uid: String,
}

/// What the engine needs of a node's agent beyond the component protocol: the hooks faults are
/// injected through, and what it runs (for the checkers).
pub trait NodeAgent: Component {
    /// Makes a running container of a pod exit with `exit_code`; false if there is none.
    fn crash_container(
        &mut self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        exit_code: i32,
        now: Timestamp,
    ) -> bool;

    /// Makes a container's probes fail until `until` (for good when `None`); false if there is
    /// no such container.
    fn fail_probes(&mut self, namespace: &str, pod: &str, container: Option<&str>, until: Option<Timestamp>) -> bool;

    /// Makes pulls of `image` fail (or succeed again).
    fn set_pull_failure(&mut self, image: &str, failing: bool);

    /// The pods with at least one running container on this node.
    fn running_pods(&self) -> Vec<PodRef>;

    /// [`NodeAgent::running_pods`] when what runs may have changed since the last call on this
    /// agent, `None` when it cannot have: the engine checks what a node runs after each of its
    /// steps, and most steps (a Lease renewal, an answer) start or stop nothing.
    fn running_pods_if_changed(&mut self) -> Option<Vec<PodRef>> {
        Some(self.running_pods())
    }

    /// The agent's process restarts: everything it held in memory is gone, its containers (the
    /// runtime) are not.
    fn restart_process(&mut self);

    /// Ends every injected probe and pull failure (the liveness phase heals everything).
    fn heal(&mut self);
}

/// The component a host runs.
pub enum Actor {
    /// kube-scheduler.
    Scheduler(Box<SchedulerComponent>),
    /// kube-controller-manager.
    Manager(Box<ControllerManager>),
    /// A node's agent.
    Node(Box<dyn NodeAgent>),
    /// Any other component a test adds (a deliberately broken controller, say).
    Extra(Box<dyn Component>),
}

impl std::fmt::Debug for Actor {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Actor::Scheduler(_) => "Scheduler",
            Actor::Manager(_) => "Manager",
            Actor::Node(_) => "Node",
            Actor::Extra(_) => "Extra",
        })
    }
}

impl Actor {
    /// The component, to step.
    pub fn component(&mut self) -> &mut dyn Component {
        match self {
            Actor::Scheduler(scheduler) => scheduler.as_mut(),
            Actor::Manager(manager) => manager.as_mut(),
            Actor::Node(agent) => agent.as_mut(),
            Actor::Extra(component) => component.as_mut(),
        }
    }

    /// When the component wants to be stepped next, on its own clock.
    pub fn next_wake(&self) -> Option<Timestamp> {
        match self {
            Actor::Scheduler(scheduler) => scheduler.next_wake(),
            Actor::Manager(manager) => manager.next_wake(),
            Actor::Node(agent) => agent.next_wake(),
            Actor::Extra(component) => component.next_wake(),
        }
    }
}

/// What kind of host it is (what to rebuild after a crash).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostRole {
    /// The scheduler.
    Scheduler,
    /// The controller manager.
    Manager,
    /// The node of this index in the scenario's node list.
    Node(usize),
    /// A test's extra component.
    Extra,
}

/// One host.
#[derive(Debug)]
pub struct Host {
    /// Its name (a node's name, `scheduler`, `controller-manager`).
    pub name: String,
    /// What it is.
    pub role: HostRole,
    /// The component, or none while the host is down.
    pub actor: Option<Actor>,
    /// Whether the component is stopped (not stepped) while its host is up.
    pub paused: bool,
    /// Bumped at every crash and restart: messages sent to an older incarnation are dropped.
    pub epoch: u64,
    /// How far the host's clock is ahead of true time.
    pub skew_millis: i64,
    /// The wake-up the queue holds for it.
    pub wake: Option<Millis>,
    /// Its link to the API server.
    pub link: Link,
    /// The instant it last stepped at and how many steps it took then: a component that keeps
    /// stepping without time passing is livelocked. Counted per host, because at a thousand nodes
    /// one broadcast legitimately steps every component at one instant.
    pub steps_this_instant: (Millis, u32),
}

impl Host {
    /// Whether the component runs and can be stepped.
    pub fn is_running(&self) -> bool {
        self.actor.is_some() && !self.paused
    }
}
