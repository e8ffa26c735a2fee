//! What the scheduler knows about one Pod ([`PodInfo`], parsed once) and one Node
//! ([`NodeInfo`]: the Node, its Pods, their summed requests, used host ports and images), kept up
//! to date incrementally by the cache (kube-scheduler's `framework.NodeInfo`).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;

use super::pod_affinity::PodAffinityTerms;
use super::resource::{PodRequests, Resource, pod_requests};
use crate::jiff::Timestamp;

/// The address a host port binds when none is given.
pub const DEFAULT_BIND_ALL_HOST_IP: &str = "0.0.0.0";

/// The protocol a port uses when none is given.
pub const DEFAULT_PROTOCOL: &str = "TCP";

/// A Pod's identity in the scheduler: its uid, or `namespace/name` when it has none.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PodKey(pub String);

impl PodKey {
    /// The key of a Pod.
    pub fn of(pod: &core::Pod) -> PodKey {
        match pod.metadata.uid.as_deref() {
            Some(uid) if !uid.is_empty() => PodKey(uid.to_owned()),
            _ => PodKey(format!(
                "{}/{}",
                pod.metadata.namespace.as_deref().unwrap_or(""),
                pod.metadata.name.as_deref().unwrap_or("")
            )),
        }
    }
}

/// One host port a container asks for, normalized (empty IP is `0.0.0.0`, empty protocol TCP).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    /// The host IP.
    pub ip: String,
    /// TCP, UDP or SCTP.
    pub protocol: String,
    /// The port, above zero.
    pub port: i32,
}

impl HostPort {
    /// Whether two host ports cannot both be bound: same protocol and port, and the same IP or
    /// either binds every IP.
    pub fn conflicts_with(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == DEFAULT_BIND_ALL_HOST_IP || other.ip == DEFAULT_BIND_ALL_HOST_IP)
    }
}

/// The host ports of a Pod's containers (init containers do not keep ports), as the NodePorts
/// plugin and `NodeInfo.UsedPorts` read them.
pub fn container_host_ports(spec: &core::PodSpec) -> Vec<HostPort> {
    let mut ports = Vec::new();
    for container in &spec.containers {
        for port in container.ports.iter().flatten() {
            let Some(host_port) = port.host_port.filter(|host_port| *host_port > 0) else {
                continue;
            };
            ports.push(HostPort {
                ip: port.host_ip.as_deref().filter(|ip| !ip.is_empty()).unwrap_or(DEFAULT_BIND_ALL_HOST_IP).to_owned(),
                protocol: port.protocol.as_deref().filter(|p| !p.is_empty()).unwrap_or(DEFAULT_PROTOCOL).to_owned(),
                port: host_port,
            });
        }
    }
    ports
}

/// A Pod with everything the scheduler derives from it computed once.
#[derive(Clone, Debug)]
pub struct PodInfo {
    /// The Pod as the store had it.
    pub pod: Arc<core::Pod>,
    /// Its identity.
    pub key: PodKey,
    /// Its effective requests.
    pub requests: PodRequests,
    /// The host ports its containers bind.
    pub host_ports: Vec<HostPort>,
    /// `spec.priority`, zero when unset.
    pub priority: i32,
    /// Whether it declares pod affinity or anti-affinity terms (for InterPodAffinity).
    pub has_affinity: bool,
    /// Whether it declares required pod anti-affinity terms.
    pub has_required_anti_affinity: bool,
    /// Its pod (anti-)affinity terms, parsed once; `None` when it declares none.
    pub affinity_terms: Option<Arc<PodAffinityTerms>>,
    /// `status.startTime`; a Pod that has not started counts as starting last (Kubernetes uses
    /// the current time). Read once: preemption sorts every candidate node's Pods by it.
    pub start_time: Timestamp,
}

impl PodInfo {
    /// Parses a Pod once.
    pub fn new(pod: Arc<core::Pod>) -> PodInfo {
        let spec = pod.spec.as_ref();
        let requests = spec.map(pod_requests).unwrap_or_default();
        let host_ports = spec.map(container_host_ports).unwrap_or_default();
        let affinity_terms = PodAffinityTerms::of(&pod).map(Arc::new);
        let has_affinity = affinity_terms.is_some();
        let has_required_anti_affinity =
            affinity_terms.as_ref().is_some_and(|terms| !terms.required_anti_affinity.is_empty());
        let start_time =
            pod.status.as_ref().and_then(|status| status.start_time.as_ref()).map_or(Timestamp::MAX, |time| time.0);
        PodInfo {
            key: PodKey::of(&pod),
            start_time,
            priority: spec.and_then(|spec| spec.priority).unwrap_or(0),
            pod,
            requests,
            host_ports,
            has_affinity,
            has_required_anti_affinity,
            affinity_terms,
        }
    }

    /// The Pod's namespace.
    pub fn namespace(&self) -> &str {
        self.pod.metadata.namespace.as_deref().unwrap_or("")
    }

    /// The Pod's name.
    pub fn name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or("")
    }

    /// The Pod's spec; an empty one when missing.
    pub fn spec(&self) -> &core::PodSpec {
        static EMPTY: std::sync::OnceLock<core::PodSpec> = std::sync::OnceLock::new();
        self.pod.spec.as_ref().unwrap_or_else(|| EMPTY.get_or_init(core::PodSpec::default))
    }

    /// `spec.nodeName`, empty when unset.
    pub fn node_name(&self) -> &str {
        self.pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()).unwrap_or("")
    }
}

/// An image's name as the kubelet reports it: a name without tag or digest means `:latest`
/// (ImageLocality's `normalizedImageName`).
pub fn normalized_image_name(name: &str) -> String {
    let last_colon = name.rfind(':');
    let last_slash = name.rfind('/');
    if last_colon.is_none_or(|colon| last_slash.is_some_and(|slash| colon <= slash)) {
        format!("{name}:latest")
    } else {
        name.to_owned()
    }
}

/// Everything the scheduler knows about one Node (`framework.NodeInfo`). What only changes with
/// the Node object (its images and taints) is shared between copies, so that a copy (a snapshot's,
/// or preemption's scratch copy) costs the Pods' handles and the counters.
#[derive(Debug, Default)]
pub struct NodeInfo {
    node: Option<Arc<core::Node>>,
    name: String,
    /// The Pods on the node, assumed ones included, in the order they arrived.
    pub pods: Vec<Arc<PodInfo>>,
    /// The Pods that declare pod affinity or anti-affinity.
    pub pods_with_affinity: Vec<Arc<PodInfo>>,
    /// The Pods that declare required pod anti-affinity.
    pub pods_with_required_anti_affinity: Vec<Arc<PodInfo>>,
    /// The sum of the Pods' requests.
    pub requested: Resource,
    /// The sum of the Pods' requests with non-zero CPU and memory defaults (scoring only).
    pub non_zero_requested: Resource,
    /// What the node offers (`status.allocatable`).
    pub allocatable: Resource,
    /// The host ports the Pods bind.
    pub used_ports: Vec<HostPort>,
    /// Sizes in bytes of the images present, by normalized name.
    pub image_sizes: Arc<BTreeMap<String, i64>>,
    /// Bumped by the cache on every change; snapshots copy only nodes whose generation moved.
    pub generation: u64,
    /// The Node's taints, copied next to the counters so filters and scores stay in this struct.
    taints: Arc<[core::Taint]>,
    /// The Node's `spec.unschedulable`.
    unschedulable: bool,
}

impl Clone for NodeInfo {
    fn clone(&self) -> NodeInfo {
        let mut copy = NodeInfo::default();
        copy.clone_from(self);
        copy
    }

    /// Reuses this NodeInfo's allocations: preemption dry-runs every candidate node on one
    /// scratch copy.
    fn clone_from(&mut self, source: &NodeInfo) {
        self.node.clone_from(&source.node);
        self.name.clone_from(&source.name);
        self.pods.clone_from(&source.pods);
        self.pods_with_affinity.clone_from(&source.pods_with_affinity);
        self.pods_with_required_anti_affinity.clone_from(&source.pods_with_required_anti_affinity);
        self.requested.clone_from(&source.requested);
        self.non_zero_requested.clone_from(&source.non_zero_requested);
        self.allocatable.clone_from(&source.allocatable);
        self.used_ports.clone_from(&source.used_ports);
        self.image_sizes.clone_from(&source.image_sizes);
        self.generation = source.generation;
        self.taints.clone_from(&source.taints);
        self.unschedulable = source.unschedulable;
    }
}

impl NodeInfo {
    /// A NodeInfo for a Node, without Pods.
    pub fn new(node: Arc<core::Node>) -> NodeInfo {
        let mut info = NodeInfo::default();
        info.set_node(node);
        info
    }

    /// A NodeInfo holding Pods for a node the scheduler has not seen yet.
    pub fn without_node(name: &str) -> NodeInfo {
        NodeInfo { name: name.to_owned(), ..NodeInfo::default() }
    }

    /// The Node, if known.
    pub fn node(&self) -> Option<&core::Node> {
        self.node.as_deref()
    }

    /// The Node's shared handle, if known.
    pub fn node_arc(&self) -> Option<&Arc<core::Node>> {
        self.node.as_ref()
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        static NONE: BTreeMap<String, String> = BTreeMap::new();
        self.node.as_ref().and_then(|node| node.metadata.labels.as_ref()).unwrap_or(&NONE)
    }

    /// The node's taints.
    pub fn taints(&self) -> &[core::Taint] {
        &self.taints
    }

    /// Whether the node is cordoned (`spec.unschedulable`).
    pub fn unschedulable(&self) -> bool {
        self.unschedulable
    }

    /// Replaces the Node object, recomputing allocatable and images.
    pub fn set_node(&mut self, node: Arc<core::Node>) {
        self.name = node.metadata.name.clone().unwrap_or_default();
        let status = node.status.as_ref();
        self.allocatable = Resource::from_list(status.and_then(|status| status.allocatable.as_ref()));
        let mut image_sizes = BTreeMap::new();
        for image in status.and_then(|status| status.images.as_ref()).into_iter().flatten() {
            for name in image.names.iter().flatten() {
                image_sizes.insert(normalized_image_name(name), image.size_bytes.unwrap_or(0));
            }
        }
        self.image_sizes = Arc::new(image_sizes);
        let spec = node.spec.as_ref();
        self.taints = spec.and_then(|spec| spec.taints.as_deref()).unwrap_or_default().into();
        self.unschedulable = spec.and_then(|spec| spec.unschedulable).unwrap_or(false);
        self.node = Some(node);
    }

    /// Forgets the Node object but keeps its Pods (they may still be deleted later).
    pub fn remove_node(&mut self) {
        self.node = None;
        self.allocatable = Resource::default();
        self.image_sizes = Arc::default();
        self.taints = Arc::default();
        self.unschedulable = false;
    }

    /// Accounts a Pod on this node.
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested.add(&pod.requests.requests);
        self.non_zero_requested.milli_cpu += pod.requests.non_zero_milli_cpu;
        self.non_zero_requested.memory += pod.requests.non_zero_memory;
        self.used_ports.extend(pod.host_ports.iter().cloned());
        if pod.has_affinity {
            self.pods_with_affinity.push(Arc::clone(&pod));
        }
        if pod.has_required_anti_affinity {
            self.pods_with_required_anti_affinity.push(Arc::clone(&pod));
        }
        self.pods.push(pod);
    }

    /// Stops accounting a Pod; returns whether it was here.
    pub fn remove_pod(&mut self, key: &PodKey) -> bool {
        let Some(index) = self.pods.iter().position(|pod| pod.key == *key) else {
            return false;
        };
        self.remove_pod_at(index);
        true
    }

    /// Stops accounting a Pod this node holds by the same handle (preemption's dry run removes
    /// the very Pods it read from the node): found by address, without comparing keys; by key
    /// when the handle is another. Returns whether it was here.
    pub fn remove_pod_info(&mut self, pod: &Arc<PodInfo>) -> bool {
        match self.pods.iter().position(|held| Arc::ptr_eq(held, pod)) {
            Some(index) => {
                self.remove_pod_at(index);
                true
            }
            None => self.remove_pod(&pod.key),
        }
    }

    /// Removes the Pod at `index` of `pods` and its share of the counters. Keys are unique on a
    /// node, so the affinity lists hold the Pod only when it declares affinity.
    fn remove_pod_at(&mut self, index: usize) {
        let pod = self.pods.remove(index);
        let key = &pod.key;
        if pod.has_affinity {
            self.pods_with_affinity.retain(|other| other.key != *key);
        }
        if pod.has_required_anti_affinity {
            self.pods_with_required_anti_affinity.retain(|other| other.key != *key);
        }
        self.requested.subtract(&pod.requests.requests);
        self.non_zero_requested.milli_cpu -= pod.requests.non_zero_milli_cpu;
        self.non_zero_requested.memory -= pod.requests.non_zero_memory;
        for port in &pod.host_ports {
            if let Some(position) = self.used_ports.iter().position(|used| used == port) {
                self.used_ports.swap_remove(position);
            }
        }
    }
}
