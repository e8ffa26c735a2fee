//! The harness for tests and benchmarks of the components working together: a small cluster
//! (an in-memory API server behind the [`Loopback`] shell, nodes that report Ready, a clock),
//! a stand-in kubelet ([`InstantKubelet`]) that starts every bound pod at once, the scheduler as
//! the end-to-end tests run it, and the workloads the controller benchmarks measure
//! ([`scale`]). It stands on the top floor of core (it drives the scheduler and the
//! controllers), so the component rooms' own tests and `benches/` share one copy.

pub mod kubelet;
pub mod scale;

pub use self::kubelet::{
    InstantKubelet, NODE_LEASE_DURATION_SECONDS, NODE_LEASE_RENEW_INTERVAL, NODE_STATUS_REPORT_FREQUENCY,
};

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::api::{ApiRequest, ApiServer, Method};
use crate::client::loopback::Loopback;
use crate::client::{Component, Incoming, Outgoing};
use crate::scheduler::component::SchedulerComponent;
use crate::scheduler::{Registry, SamplingOptions, Scheduler, SchedulerConfig};
use crate::store::MemoryStore;

/// The instant tests start at.
pub fn start() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().expect("a valid timestamp")
}

/// Most instants [`TestCluster::run_until`] visits before it gives up.
const MAX_INSTANTS: usize = 100_000;

/// An API server with the loopback shell and a clock.
#[derive(Debug)]
pub struct TestCluster {
    /// The shell and the server behind it.
    pub loopback: Loopback<MemoryStore>,
    /// The current time.
    pub now: Timestamp,
}

impl TestCluster {
    /// A bootstrapped server with `nodes` Ready nodes `node-0…` of 4 CPUs and 8 GiB. The
    /// `node.kubernetes.io/not-ready:NoSchedule` taint the TaintNodesByCondition admission plugin
    /// gives every new node is lifted here, as the node lifecycle controller's first pass over a
    /// Ready node would, so that tests running the scheduler alone can place pods.
    pub fn new(nodes: usize) -> TestCluster {
        let mut server = ApiServer::new(MemoryStore::new(), 7);
        server.bootstrap(start()).expect("bootstrap succeeds on an empty store");
        let mut cluster = TestCluster { loopback: Loopback::new(server), now: start() };
        for index in 0..nodes {
            let name = format!("node-{index}");
            let (status, body) = cluster.send(Method::Post, "/api/v1/nodes", Some(node(&name)));
            assert_eq!(status, 201, "{body}");
            let lifted = json!({"spec": {"taints": null}});
            let request = ApiRequest::new(Method::Patch, &format!("/api/v1/nodes/{name}"))
                .with_body("application/merge-patch+json", lifted.to_string().into_bytes());
            let response = cluster.loopback.server().handle(&request, cluster.now);
            assert_eq!(response.status(), 200, "{:?}", response.body());
        }
        cluster
    }

    /// Sends a request as a user would; returns status and body.
    pub fn send(&mut self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = ApiRequest::new(method, path);
        if let Some(body) = body {
            request = if method == Method::Patch {
                request.with_body("application/strategic-merge-patch+json", body.to_string().into_bytes())
            } else {
                request.with_json(&body)
            };
        }
        match self.loopback.server().handle(&request, self.now).into_json() {
            Ok(answer) => answer,
            Err(_) => panic!("tests send no watches through send()"),
        }
    }

    /// GETs a path and returns the body, asserting 200.
    pub fn get(&mut self, path: &str) -> Value {
        let (status, body) = self.send(Method::Get, path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Runs the components, jumping from one wake-up to the next, until `done` holds or
    /// `limit` of simulated time has passed; returns whether `done` held.
    pub fn run_until(
        &mut self,
        components: &mut [&mut dyn Component],
        limit: Duration,
        mut done: impl FnMut(&mut TestCluster) -> bool,
    ) -> bool {
        let deadline = self.now + SignedDuration::try_from(limit).expect("test limits are small");
        for _ in 0..MAX_INSTANTS {
            self.loopback.settle(components, self.now).expect("components settle");
            if done(self) {
                return true;
            }
            if self.now >= deadline {
                return false;
            }
            let next = self.loopback.next_wake(components).unwrap_or(deadline);
            // Time moves at least a millisecond and at most a second per instant, so polling
            // conditions (readiness, minReadySeconds) are seen without skipping far past them.
            self.now = next.clamp(self.now + SignedDuration::from_millis(1), self.now + SignedDuration::from_secs(1));
            self.now = self.now.min(deadline);
        }
        false
    }

    /// Advances the clock with no component stepped (a stopped process).
    pub fn advance(&mut self, by: Duration) {
        self.now += SignedDuration::try_from(by).expect("test durations are small");
    }
}

/// The scheduler component with the default profile and a fixed seed, as the end-to-end tests
/// run it next to the controller manager.
pub fn default_scheduler() -> SchedulerComponent {
    let scheduler = Scheduler::new(
        &SchedulerConfig::default(),
        &Registry::in_tree(),
        ChaCha8Rng::seed_from_u64(1),
        SamplingOptions::default(),
    )
    .expect("the default profile builds");
    SchedulerComponent::new(scheduler)
}

/// A Ready node with 4 CPUs, 8 GiB and 110 pods.
pub fn node(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": "zone-a"}},
        "status": {
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    })
}

/// A component that can be stopped like a killed process: while stopped it is never stepped
/// and loses every input addressed to it.
#[derive(Debug)]
pub struct Stoppable<C> {
    /// The component.
    pub inner: C,
    /// Whether it is stopped.
    pub stopped: bool,
}

impl<C: Component> Stoppable<C> {
    /// A running component.
    pub fn new(inner: C) -> Stoppable<C> {
        Stoppable { inner, stopped: false }
    }
}

impl<C: Component> Component for Stoppable<C> {
    fn step(&mut self, input: Option<Incoming>, now: Timestamp) -> Vec<Outgoing> {
        if self.stopped { Vec::new() } else { self.inner.step(input, now) }
    }

    fn next_wake(&self) -> Option<Timestamp> {
        if self.stopped { None } else { self.inner.next_wake() }
    }
}
