//! One node agent's static configuration (the kubelet's flags and `KubeletConfiguration`), with
//! Kubernetes' defaults and each period named.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use k8s_openapi::api::core::v1::Taint;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// How often the kubelet renews its node's Lease: a quarter of the Lease's duration
/// (`nodeLeaseRenewIntervalFraction` 0.25 of 40 s).
pub const NODE_LEASE_RENEW_INTERVAL: Duration = Duration::from_secs(10);
/// The duration written in the node's Lease (`nodeLeaseDurationSeconds`).
pub const NODE_LEASE_DURATION_SECONDS: i32 = 40;
/// How often node status is computed (`nodeStatusUpdateFrequency`).
pub const NODE_STATUS_UPDATE_FREQUENCY: Duration = Duration::from_secs(10);
/// How often node status is written even when nothing changed (`nodeStatusReportFrequency`).
pub const NODE_STATUS_REPORT_FREQUENCY: Duration = Duration::from_secs(5 * 60);
/// How often pod usage is sampled (metrics-server's default `--metric-resolution`, 15 s).
pub const STATS_PERIOD: Duration = Duration::from_secs(15);
/// The most pods a node runs (`maxPods`).
pub const DEFAULT_MAX_PODS: u32 = 110;
/// The version the node reports (`nodeInfo.kubeletVersion`).
pub const DEFAULT_KUBELET_VERSION: &str = "v1.32.0";

/// Static configuration of one node's agent.
#[derive(Clone, Debug, PartialEq)]
pub struct KubeletConfig {
    /// The Node's name (`--hostname-override`).
    pub node_name: String,
    /// What the machine has: cpu, memory, pods, ephemeral-storage.
    pub capacity: BTreeMap<String, Quantity>,
    /// What pods may use: capacity less system and kube reservations.
    pub allocatable: BTreeMap<String, Quantity>,
    /// Labels the node registers with (`--node-labels`); `kubernetes.io/hostname`,
    /// `kubernetes.io/os` and `kubernetes.io/arch` are added as the kubelet does.
    pub labels: BTreeMap<String, String>,
    /// Taints the node registers with (`--register-with-taints`).
    pub taints: Vec<Taint>,
    /// The node's InternalIP; derived from the node name when unset.
    pub internal_ip: Option<Ipv4Addr>,
    /// The pod CIDR (`--pod-cidr`), for clusters without node IPAM; otherwise the kubelet waits
    /// for the node's `spec.podCIDR`.
    pub pod_cidr: Option<String>,
    /// `nodeInfo.kubeletVersion`.
    pub kubelet_version: String,
    /// `nodeInfo.containerRuntimeVersion`.
    pub container_runtime_version: String,
    /// `nodeInfo.osImage`.
    pub os_image: String,
    /// `nodeInfo.operatingSystem` and the `kubernetes.io/os` label.
    pub operating_system: String,
    /// `nodeInfo.architecture` and the `kubernetes.io/arch` label.
    pub architecture: String,
    /// [`NODE_LEASE_RENEW_INTERVAL`].
    pub node_lease_renew_interval: Duration,
    /// [`NODE_STATUS_UPDATE_FREQUENCY`].
    pub node_status_update_frequency: Duration,
    /// [`NODE_STATUS_REPORT_FREQUENCY`].
    pub node_status_report_frequency: Duration,
    /// [`STATS_PERIOD`].
    pub stats_period: Duration,
    /// Whether the kubelet samples its pods' usage every [`Self::stats_period`] (the summary
    /// metrics-server reads; on by default). A host that reads usage elsewhere turns it off: the
    /// simulator's metrics pipeline models usage from the scenario, and sampling 3,000 pods
    /// every 15 s that nobody reads was a tenth of a simulated day's cost.
    pub sample_stats: bool,
}

impl KubeletConfig {
    /// A node of 4 CPUs, 8 GiB, 110 pods and 100 GiB ephemeral storage, everything allocatable.
    pub fn new(node_name: &str) -> KubeletConfig {
        let capacity: BTreeMap<String, Quantity> = [
            ("cpu", "4".to_string()),
            ("memory", "8Gi".to_string()),
            ("pods", DEFAULT_MAX_PODS.to_string()),
            ("ephemeral-storage", "100Gi".to_string()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), Quantity(value)))
        .collect();
        KubeletConfig {
            node_name: node_name.to_string(),
            allocatable: capacity.clone(),
            capacity,
            labels: BTreeMap::new(),
            taints: Vec::new(),
            internal_ip: None,
            pod_cidr: None,
            kubelet_version: DEFAULT_KUBELET_VERSION.to_string(),
            container_runtime_version: "simulated://1.0.0".to_string(),
            os_image: "coxswain simulated node".to_string(),
            operating_system: "linux".to_string(),
            architecture: "amd64".to_string(),
            node_lease_renew_interval: NODE_LEASE_RENEW_INTERVAL,
            node_status_update_frequency: NODE_STATUS_UPDATE_FREQUENCY,
            node_status_report_frequency: NODE_STATUS_REPORT_FREQUENCY,
            stats_period: STATS_PERIOD,
            sample_stats: true,
        }
    }

    /// Sets capacity and allocatable of one resource (builder style).
    pub fn with_resource(mut self, name: &str, quantity: &str) -> KubeletConfig {
        self.capacity.insert(name.to_string(), Quantity(quantity.to_string()));
        self.allocatable.insert(name.to_string(), Quantity(quantity.to_string()));
        self
    }

    /// The node's InternalIP: the configured one, or one derived from the name's hash in
    /// 10.0.0.0/8 (stable across runs and restarts).
    pub fn node_ip(&self) -> Ipv4Addr {
        self.internal_ip.unwrap_or_else(|| derived_ip(&self.node_name))
    }

    /// The labels registered: the configured ones plus the well-known ones the kubelet sets.
    pub fn node_labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.labels.clone();
        labels.entry("kubernetes.io/hostname".into()).or_insert_with(|| self.node_name.clone());
        labels.entry("kubernetes.io/os".into()).or_insert_with(|| self.operating_system.clone());
        labels.entry("kubernetes.io/arch".into()).or_insert_with(|| self.architecture.clone());
        labels
    }
}

/// An address in 10.0.0.0/8 from the FNV-1a hash of the name, avoiding .0 and .255.
fn derived_ip(name: &str) -> Ipv4Addr {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let [_, b, c, d] = hash.to_be_bytes();
    Ipv4Addr::new(10, b, c, d.clamp(1, 254))
}
