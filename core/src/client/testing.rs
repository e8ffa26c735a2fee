//! A small cluster for end-to-end tests of the components: an in-memory API server behind the
//! [`Loopback`] shell, nodes that report Ready, and a stand-in kubelet that starts every bound
//! pod at once (Running, Ready, an IP), confirms graceful deletions and renews every node's
//! Lease in kube-node-lease (and can fall silent for one node, as a lost node does). The real kubelet state
//! machine replaces the stand-in when it exists; until then this is the least that lets
//! controllers see pods become ready.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::informer::{Change, Informer};
use super::loopback::Loopback;
use super::paths::{object_path, subresource_path};
use super::{Component, Incoming, Outgoing, RequestId};
use crate::api::{ApiRequest, ApiResponse, ApiServer, Method};
use crate::controllers::node_lifecycle::NODE_LEASE_NAMESPACE;
use crate::object::kinds;
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
    /// A bootstrapped server with `nodes` Ready nodes `node-0…` of 4 CPUs and 8 GiB.
    pub fn new(nodes: usize) -> TestCluster {
        let mut server = ApiServer::new(MemoryStore::new(), 7);
        server.bootstrap(start()).expect("bootstrap succeeds on an empty store");
        let mut cluster = TestCluster { loopback: Loopback::new(server), now: start() };
        for index in 0..nodes {
            let (status, body) = cluster.send(Method::Post, "/api/v1/nodes", Some(node(&format!("node-{index}"))));
            assert_eq!(status, 201, "{body}");
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
        match self.loopback.server().handle(&request, self.now) {
            ApiResponse::Json { status, body, .. } => (status, body),
            ApiResponse::Watch(_) => panic!("tests send no watches through send()"),
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

/// How often a kubelet renews its node's Lease: 10 s, a quarter of the Lease's duration
/// (kubelet's `nodeLeaseRenewIntervalFraction` 0.25 of 40 s).
pub const NODE_LEASE_RENEW_INTERVAL: Duration = Duration::from_secs(10);
/// The duration a kubelet writes in its node's Lease (`nodeLeaseDurationSeconds`).
pub const NODE_LEASE_DURATION_SECONDS: i64 = 40;

/// Starts every bound pod at once, confirms graceful deletions and renews each node's Lease
/// every [`NODE_LEASE_RENEW_INTERVAL`], as the kubelets of every node with instant containers
/// would. A node can be made to fall silent ([`InstantKubelet::stop_node`]): its Lease is no
/// longer renewed and its pods are neither started nor confirmed deleted.
#[derive(Debug, Default)]
pub struct InstantKubelet {
    pods: Informer<Pod>,
    nodes: Informer<Node>,
    next_id: RequestId,
    started: u64,
    /// When each node's Lease was last renewed.
    renewed: BTreeMap<String, Timestamp>,
    /// Lease renewals awaiting an answer: a 404 means the Lease must be created first.
    renewals: BTreeMap<RequestId, String>,
    stopped: BTreeSet<String>,
}

impl InstantKubelet {
    /// A kubelet for every node.
    pub fn new() -> InstantKubelet {
        InstantKubelet { next_id: 1, ..InstantKubelet::default() }
    }

    /// Pods it reported Running.
    pub fn started(&self) -> u64 {
        self.started
    }

    /// The kubelet of `node` stops, as when the node loses power or its network: no more Lease
    /// renewals, pod starts or deletion confirmations there.
    pub fn stop_node(&mut self, node: &str) {
        self.stopped.insert(node.to_string());
    }

    /// When `node`'s Lease was last renewed.
    pub fn last_renewal(&self, node: &str) -> Option<Timestamp> {
        self.renewed.get(node).copied()
    }

    /// Renews the Lease of every running node whose renewal is due: a merge patch of its
    /// renewTime, or a create when the patch found no Lease.
    fn renew_leases(&mut self, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        let interval = SignedDuration::try_from(NODE_LEASE_RENEW_INTERVAL).expect("a small interval");
        let due: Vec<String> = self
            .nodes
            .iter()
            .filter_map(|node| node.metadata.name.clone())
            .filter(|name| !self.stopped.contains(name))
            .filter(|name| self.renewed.get(name).is_none_or(|at| *at + interval <= now))
            .collect();
        for name in due {
            self.renewed.insert(name.clone(), now);
            let body = json!({"spec": {"holderIdentity": name, "renewTime": lease_time(now)}});
            let request = ApiRequest::new(Method::Patch, &lease_path(&name))
                .with_body("application/merge-patch+json", body.to_string().into_bytes());
            self.renewals.insert(self.next_id, name);
            self.push(request, outgoing);
        }
    }

    fn lease_answered(&mut self, id: RequestId, status: u16, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        let Some(name) = self.renewals.remove(&id) else { return };
        if status != 404 || self.stopped.contains(&name) {
            return;
        }
        let leases = kinds::by_api_version_kind("coordination.k8s.io/v1", "Lease").expect("Lease is served");
        let lease = json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": NODE_LEASE_NAMESPACE},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": NODE_LEASE_DURATION_SECONDS,
                     "renewTime": lease_time(now)}
        });
        let path = super::paths::collection_path(leases, Some(NODE_LEASE_NAMESPACE));
        self.push(ApiRequest::new(Method::Post, &path).with_json(&lease), outgoing);
    }

    fn next_renewal(&self) -> Option<Timestamp> {
        let interval = SignedDuration::try_from(NODE_LEASE_RENEW_INTERVAL).expect("a small interval");
        let running = self.nodes.iter().filter_map(|node| node.metadata.name.as_deref());
        running
            .filter(|name| !self.stopped.contains(*name))
            .map(|name| self.renewed.get(name).map_or(Timestamp::MIN, |at| *at + interval))
            .min()
    }

    fn react(&mut self, pod: &Pod, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        let pods = kinds::by_api_version_kind("v1", "Pod").expect("Pod is served");
        let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let node = pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref());
        if node.is_some_and(|node| self.stopped.contains(node)) {
            return;
        }
        let bound = node.is_some();
        if pod.metadata.deletion_timestamp.is_some() {
            let options = json!({"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0});
            let request = ApiRequest::new(Method::Delete, &object_path(pods, namespace, name)).with_json(&options);
            self.push(request, outgoing);
            return;
        }
        let phase = pod.status.as_ref().and_then(|status| status.phase.as_deref());
        if !bound || matches!(phase, Some("Running" | "Succeeded" | "Failed")) {
            return;
        }
        self.started += 1;
        let mut running = serde_json::to_value(pod).expect("a typed pod serializes");
        running["apiVersion"] = json!("v1");
        running["kind"] = json!("Pod");
        let time = now.to_string();
        let ip = format!("10.244.{}.{}", (self.started / 250) % 250, self.started % 250 + 1);
        running["status"]["phase"] = json!("Running");
        running["status"]["podIP"] = json!(ip);
        running["status"]["podIPs"] = json!([{"ip": ip}]);
        running["status"]["startTime"] = json!(time);
        running["status"]["conditions"] = json!([
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": time},
            {"type": "Initialized", "status": "True", "lastTransitionTime": time},
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": time},
            {"type": "Ready", "status": "True", "lastTransitionTime": time}
        ]);
        let request =
            ApiRequest::new(Method::Put, &subresource_path(pods, namespace, name, "status")).with_json(&running);
        self.push(request, outgoing);
    }

    fn push(&mut self, request: ApiRequest, outgoing: &mut Vec<Outgoing>) {
        outgoing.push(Outgoing { id: self.next_id, request });
        self.next_id += 1;
    }
}

impl Component for InstantKubelet {
    fn step(&mut self, input: Option<Incoming>, now: Timestamp) -> Vec<Outgoing> {
        let mut outgoing = Vec::new();
        if let Some(input) = input {
            if let Some(changes) = self.pods.handle(&input, now) {
                for change in changes {
                    if let Change::Applied { new, .. } = change {
                        self.react(&new, now, &mut outgoing);
                    }
                }
            } else if self.nodes.handle(&input, now).is_none()
                && let Incoming::Response { id, status, .. } = input
            {
                self.lease_answered(id, status, now, &mut outgoing);
            }
        }
        outgoing.extend(self.pods.poll_request(now, &mut self.next_id));
        outgoing.extend(self.nodes.poll_request(now, &mut self.next_id));
        self.renew_leases(now, &mut outgoing);
        outgoing
    }

    fn next_wake(&self) -> Option<Timestamp> {
        [self.pods.next_wake(), self.nodes.next_wake(), self.next_renewal()].into_iter().flatten().min()
    }
}

/// The path of `node`'s Lease.
fn lease_path(node: &str) -> String {
    let leases = kinds::by_api_version_kind("coordination.k8s.io/v1", "Lease").expect("Lease is served");
    object_path(leases, NODE_LEASE_NAMESPACE, node)
}

/// A Lease time, serialized as a MicroTime.
fn lease_time(now: Timestamp) -> Value {
    serde_json::to_value(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(now)).unwrap_or(Value::Null)
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
