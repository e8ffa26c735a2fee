//! The scenario file: a cluster, the objects it starts with, a timeline of user actions and
//! faults, random fault rates, and the expectations checked during and after the run. The format
//! is documented in the README; [`load`] reads it with file and line in every error.

pub mod expectation;
pub mod load;
pub mod target;

use std::collections::BTreeMap;

use coxswain_core::api::allocation::Ipv4Cidr;
use coxswain_core::controllers::NodeIpamConfig;
use serde::Deserialize;
use serde_json::Value;

pub use self::expectation::{Expectation, ExpectationSpec};
pub use self::load::{ScenarioError, load_scenario, load_scenario_text};
pub use self::target::Target;
use crate::duration::SimDuration;

/// The seed used when neither the scenario nor the command line names one.
pub const DEFAULT_SEED: u64 = 1;

/// A whole scenario, as read from its file (objects already decoded).
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file it came from (for messages and reproduction commands).
    pub file: String,
    /// What the scenario shows, in a sentence.
    pub name: String,
    /// Longer prose, if any.
    pub description: String,
    /// The seed, unless the command line overrides it.
    pub seed: u64,
    /// How long to simulate (the fault phase and the liveness phase together).
    pub duration: SimDuration,
    /// Nodes and network.
    pub cluster: ClusterSpec,
    /// How simulated containers behave.
    pub runtime: RuntimeSpec,
    /// Objects created before the first event, in order.
    pub objects: Vec<Value>,
    /// User actions and faults at fixed times, in time order.
    pub timeline: Vec<TimelineEntry>,
    /// Faults drawn at random from the seed.
    pub faults: RandomFaults,
    /// What must hold.
    pub expectations: Vec<Expectation>,
    /// The liveness phase after faults, if the scenario asks for one.
    pub liveness: Option<LivenessSpec>,
}

/// The scenario file's top level, before objects are read.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioFile {
    /// What the scenario shows.
    pub name: String,
    /// Longer prose.
    #[serde(default)]
    pub description: String,
    /// The seed (default 1).
    #[serde(default)]
    pub seed: Option<u64>,
    /// How long to simulate.
    pub duration: SimDuration,
    /// Nodes and network.
    pub cluster: ClusterSpec,
    /// How simulated containers behave.
    #[serde(default)]
    pub runtime: RuntimeSpec,
    /// Initial objects: `{path: FILE}`, `{manifest: "YAML text"}` or an object inline.
    #[serde(default)]
    pub objects: Vec<Value>,
    /// The timeline: mappings of `at` and one action (read by [`load`]).
    #[serde(default)]
    pub timeline: Vec<Value>,
    /// Random faults.
    #[serde(default)]
    pub faults: RandomFaults,
    /// Expectations.
    #[serde(default)]
    pub expect: Vec<ExpectationSpec>,
    /// The liveness phase.
    #[serde(default)]
    pub liveness: Option<LivenessSpec>,
}

/// The cluster: node pools and the network between every node and the API server.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSpec {
    /// Groups of identical nodes.
    pub node_pools: Vec<NodePool>,
    /// Latency and loss on every link (default: 1 ms to 5 ms, no loss).
    #[serde(default)]
    pub network: NetworkSpec,
    /// Controllers to leave out, by their `--controllers` name (default: none).
    #[serde(default)]
    pub disabled_controllers: Vec<String>,
    /// The pod network the node IPAM controller cuts one range per node from
    /// (`--cluster-cidr`; default 10.244.0.0/16, which holds 256 nodes at /24).
    #[serde(default = "default_cluster_cidr", rename = "clusterCIDR", deserialize_with = "cidr")]
    pub cluster_cidr: Ipv4Cidr,
    /// The prefix length of each node's range (`--node-cidr-mask-size`; default 24).
    #[serde(default = "default_node_cidr_mask_size", rename = "nodeCIDRMaskSize")]
    pub node_cidr_mask_size: u8,
}

impl ClusterSpec {
    /// The node IPAM controller's configuration this cluster asks for.
    pub fn node_ipam(&self) -> NodeIpamConfig {
        NodeIpamConfig { cluster_cidr: self.cluster_cidr, node_cidr_mask_size: self.node_cidr_mask_size }
    }

    /// How many nodes the cluster CIDR gives a range to, if the mask size fits it.
    pub fn node_ranges(&self) -> Option<u64> {
        let bits = self.node_cidr_mask_size.checked_sub(self.cluster_cidr.prefix_length())?;
        (self.node_cidr_mask_size <= 32 && bits <= MAX_NODE_CIDR_BITS).then(|| 1u64 << bits)
    }
}

/// The most bits a node range may add to the cluster CIDR, as Kubernetes' CIDR set allows
/// (`clusterSubnetMaxDiff`).
pub const MAX_NODE_CIDR_BITS: u8 = 16;

fn default_cluster_cidr() -> Ipv4Cidr {
    NodeIpamConfig::default().cluster_cidr
}

fn default_node_cidr_mask_size() -> u8 {
    NodeIpamConfig::default().node_cidr_mask_size
}

fn cidr<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Ipv4Cidr, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// A group of identical nodes named `<name>-0`, `<name>-1`, …
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodePool {
    /// The pool's name, the prefix of its nodes' names.
    pub name: String,
    /// How many nodes.
    pub count: u32,
    /// Capacity (`cpu`, `memory`, `pods`, `ephemeral-storage`); default 4 CPUs, 8 GiB, 110 pods.
    #[serde(default)]
    pub capacity: BTreeMap<String, String>,
    /// Node labels (every node also gets `kubernetes.io/hostname`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Node taints, as in a Node's `spec.taints`.
    #[serde(default)]
    pub taints: Vec<Value>,
    /// Zones the pool's nodes are spread over, round robin (`topology.kubernetes.io/zone`).
    #[serde(default)]
    pub zones: Vec<String>,
    /// When the pool's nodes join the cluster (default: at the start).
    #[serde(default)]
    pub join_at: Option<SimDuration>,
}

/// Latency and loss between nodes and the API server.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkSpec {
    /// One-way latency, drawn uniformly between `min` and `max` for each message.
    #[serde(default)]
    pub latency: LatencySpec,
    /// The probability that a message is lost (the request then times out).
    #[serde(default)]
    pub loss: f64,
}

impl Default for NetworkSpec {
    fn default() -> NetworkSpec {
        NetworkSpec { latency: LatencySpec::default(), loss: 0.0 }
    }
}

/// A latency range.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatencySpec {
    /// Shortest one-way latency (default 1 ms).
    pub min: SimDuration,
    /// Longest one-way latency (default 5 ms).
    pub max: SimDuration,
}

impl Default for LatencySpec {
    fn default() -> LatencySpec {
        LatencySpec {
            min: SimDuration(std::time::Duration::from_millis(1)),
            max: SimDuration(std::time::Duration::from_millis(5)),
        }
    }
}

/// How simulated containers behave, by image. An image not listed pulls and starts at once,
/// runs until stopped, answers every probe and uses no CPU.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeSpec {
    /// Behaviour by image reference, or by a prefix ending in `*` (`busybox*`).
    #[serde(default)]
    pub images: BTreeMap<String, ImageBehavior>,
}

/// How the containers of one image behave.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageBehavior {
    /// How long a pull takes (default 0).
    #[serde(default)]
    pub pull_latency: SimDuration,
    /// Every pull of this image fails (`ErrImagePull`).
    #[serde(default)]
    pub pull_fails: bool,
    /// How long a start takes (default 0).
    #[serde(default)]
    pub start_latency: SimDuration,
    /// The container exits this long after it starts (default: it runs until stopped).
    #[serde(default)]
    pub exit_after: Option<SimDuration>,
    /// The exit code when it exits by itself (default 0).
    #[serde(default)]
    pub exit_code: i32,
    /// It is killed for using too much memory when it exits (`OOMKilled`, code 137).
    #[serde(default)]
    pub oom_killed: bool,
    /// Its probes fail from this long after it starts (default: they always succeed).
    #[serde(default)]
    pub probes_fail_after: Option<SimDuration>,
    /// CPU it uses, in millicores (default 0).
    #[serde(default)]
    pub cpu_millicores: i64,
    /// Memory it uses, in bytes (default 0).
    #[serde(default)]
    pub memory_bytes: i64,
    /// What it writes to its log.
    #[serde(default)]
    pub logs: String,
}

/// One entry of the timeline: when, and what happens.
#[derive(Clone, Debug)]
pub struct TimelineEntry {
    /// Offset from the start.
    pub at: SimDuration,
    /// The action.
    pub action: Action,
}

/// A user action or an injected fault.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Action {
    /// Create or update an object (inline, or `{path: FILE}`), as `kubectl apply`.
    Apply(Value),
    /// Delete an object (`deployment/web`), as `kubectl delete` (background propagation).
    Delete(Target),
    /// Patch an object.
    Patch(PatchAction),
    /// Set a workload's replicas through its `scale` subresource.
    Scale(ScaleAction),
    /// Set a container's image, as `kubectl set image`.
    SetImage(SetImageAction),
    /// Roll a Deployment back to its previous revision, as `kubectl rollout undo`.
    RolloutUndo(Target),
    /// Cordon a node and evict its pods (honouring PodDisruptionBudgets), as `kubectl drain`.
    Drain(String),
    /// Mark a node unschedulable.
    Cordon(String),
    /// Mark a node schedulable again.
    Uncordon(String),
    /// Change the CPU and memory the pods of a workload use.
    Load(LoadAction),
    /// Inject a fault.
    Fault(Fault),
}

/// A patch of one object.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchAction {
    /// The object.
    pub target: Target,
    /// `merge` (default), `strategic` or `json`.
    #[serde(default)]
    pub r#type: PatchType,
    /// The patch document.
    pub patch: Value,
}

/// The patch formats `kubectl patch --type` knows.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum PatchType {
    /// RFC 7386 JSON merge patch.
    #[default]
    Merge,
    /// Kubernetes' strategic merge patch.
    Strategic,
    /// RFC 6902 JSON patch.
    Json,
}

impl PatchType {
    /// The content type of the request.
    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Merge => "application/merge-patch+json",
            PatchType::Strategic => "application/strategic-merge-patch+json",
            PatchType::Json => "application/json-patch+json",
        }
    }
}

/// `kubectl scale`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScaleAction {
    /// The workload.
    pub target: Target,
    /// The new replica count.
    pub replicas: i32,
}

/// `kubectl set image`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetImageAction {
    /// The workload.
    pub target: Target,
    /// The container's name.
    pub container: String,
    /// The new image.
    pub image: String,
}

/// Load on a workload's pods: what each of its containers uses from now on.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadAction {
    /// The workload whose pods carry the load (its selector picks them).
    pub target: Target,
    /// CPU per pod, in millicores.
    #[serde(default)]
    pub cpu_millicores: Option<i64>,
    /// Memory per pod, in bytes.
    #[serde(default)]
    pub memory_bytes: Option<i64>,
}

/// A fault injected at a fixed time.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Fault {
    /// The node loses power: its agent's state and its containers are gone until it restarts.
    CrashNode(String),
    /// A crashed node boots again: a fresh agent with no containers.
    RestartNode(String),
    /// The node's agent stops (its containers keep running).
    StopAgent(String),
    /// The node's agent starts again.
    StartAgent(String),
    /// The nodes lose their network to the API server (`direction`: `both`, `toApi` or
    /// `fromApi`).
    Partition(PartitionFault),
    /// Partitions of the named nodes heal (`all` heals every partition).
    Heal(Vec<String>),
    /// Latency and loss change on the named nodes' links.
    Network(NetworkFault),
    /// The API server crashes; the store is kept.
    CrashApiServer,
    /// The API server starts again.
    RestartApiServer,
    /// A container exits with a code (default 1).
    CrashContainer(ContainerFault),
    /// Pulls of an image fail from now on.
    ImagePullFailure(String),
    /// Pulls of an image succeed again.
    ImagePullRecovery(String),
    /// A container's probes fail for a while (or for good).
    ProbeFailure(ProbeFault),
    /// A node's clock runs ahead (positive) or behind (negative), in milliseconds.
    ClockSkew(ClockSkewFault),
}

/// A partition of some nodes from the API server.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartitionFault {
    /// The nodes cut off.
    pub nodes: Vec<String>,
    /// Which way messages are lost (default both).
    #[serde(default)]
    pub direction: PartitionDirection,
}

/// Which direction a partition cuts.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub enum PartitionDirection {
    /// Nothing gets through.
    #[default]
    Both,
    /// The node's requests are lost; answers would get through.
    ToApi,
    /// The requests arrive (and take effect); the answers are lost.
    FromApi,
}

/// A change of latency and loss on some nodes' links.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkFault {
    /// The nodes.
    pub nodes: Vec<String>,
    /// The new latency range, if it changes.
    #[serde(default)]
    pub latency: Option<LatencySpec>,
    /// The new loss probability, if it changes.
    #[serde(default)]
    pub loss: Option<f64>,
}

/// A container that exits.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerFault {
    /// The pod, `namespace/name` or `name` in `default`.
    pub pod: String,
    /// The container (default: the pod's first).
    #[serde(default)]
    pub container: Option<String>,
    /// The exit code (default 1).
    #[serde(default = "default_exit_code")]
    pub exit_code: i32,
}

fn default_exit_code() -> i32 {
    1
}

/// Probes of a container that fail.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbeFault {
    /// The pod, `namespace/name` or `name` in `default`.
    pub pod: String,
    /// The container (default: the pod's first).
    #[serde(default)]
    pub container: Option<String>,
    /// For how long (default: for good).
    #[serde(default, rename = "for")]
    pub duration: Option<SimDuration>,
}

/// A node's clock offset.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClockSkewFault {
    /// The node.
    pub node: String,
    /// Milliseconds ahead (negative: behind).
    pub offset_millis: i64,
}

/// Faults drawn from the seed, at rates per simulated hour, during the fault phase.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RandomFaults {
    /// Node crashes per hour (each node restarts after `recoverAfter`).
    #[serde(default)]
    pub node_crashes_per_hour: f64,
    /// Container crashes per hour (a random running container exits with code 1).
    #[serde(default)]
    pub container_crashes_per_hour: f64,
    /// Partitions of one node per hour (healed after `recoverAfter`).
    #[serde(default)]
    pub partitions_per_hour: f64,
    /// Agent stops per hour (started again after `recoverAfter`).
    #[serde(default)]
    pub agent_stops_per_hour: f64,
    /// API server crashes per hour (restarted after 10 s).
    #[serde(default)]
    pub api_server_crashes_per_hour: f64,
    /// How long a crashed node or a partition lasts (default 2m).
    #[serde(default)]
    pub recover_after: Option<SimDuration>,
    /// When the fault phase ends (default: the whole run).
    #[serde(default)]
    pub until: Option<SimDuration>,
}

impl RandomFaults {
    /// Whether any random fault is configured.
    pub fn any(&self) -> bool {
        self.node_crashes_per_hour > 0.0
            || self.container_crashes_per_hour > 0.0
            || self.partitions_per_hour > 0.0
            || self.agent_stops_per_hour > 0.0
            || self.api_server_crashes_per_hour > 0.0
    }
}

/// The liveness phase: at `healAt` every fault is healed, and every workload must then reach its
/// declared state within `within`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LivenessSpec {
    /// When to heal everything (default: when random faults end).
    #[serde(default)]
    pub heal_at: Option<SimDuration>,
    /// How long convergence may take after healing.
    pub within: SimDuration,
}
