//! The node IPAM controller (`pkg/controller/nodeipam`, range allocator): give each node a pod
//! CIDR out of the cluster CIDR, one subnet of `node_cidr_mask_size` bits per node, never the
//! same to two nodes; a deleted node's subnet becomes free again.
//!
//! Kubernetes keeps the taken subnets in an in-memory `CidrSet`, rebuilt from the nodes at start.
//! Here the nodes are read on every reconcile and only the subnets handed out but not yet seen
//! on a node are remembered, in [`PodCidrAllocations`], which the shell owns (as
//! [`super::expectations`]). The choice is the lowest free subnet (Kubernetes rotates a cursor).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Node, ObjectReference};
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::action::{Action, EventType, PatchType, Reconciled, event_action};
use crate::api::allocation::cidr::Ipv4Cidr;
use crate::object::kinds::GroupResource;

const NODES: GroupResource = GroupResource { group: "", resource: "nodes" };

/// The cluster CIDR when none is configured: `10.244.0.0/16` (flannel's and kubeadm guides').
pub const DEFAULT_CLUSTER_CIDR: &str = "10.244.0.0/16";
/// The size of each node's pod CIDR when none is configured: /24 (`--node-cidr-mask-size`).
pub const DEFAULT_NODE_CIDR_MASK_SIZE: u8 = 24;
/// The event reason when no subnet is left.
pub const CIDR_NOT_AVAILABLE: &str = "CIDRNotAvailable";
/// The component that reports node IPAM events.
pub const COMPONENT: &str = "cidrAllocator";

/// What pod CIDRs are carved from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeIpamConfig {
    /// The cluster CIDR (`--cluster-cidr`).
    pub cluster_cidr: Ipv4Cidr,
    /// The prefix length of each node's pod CIDR (`--node-cidr-mask-size`).
    pub node_cidr_mask_size: u8,
}

impl Default for NodeIpamConfig {
    fn default() -> NodeIpamConfig {
        NodeIpamConfig {
            cluster_cidr: DEFAULT_CLUSTER_CIDR.parse().expect("the default cluster CIDR is valid"),
            node_cidr_mask_size: DEFAULT_NODE_CIDR_MASK_SIZE,
        }
    }
}

/// Subnets handed out to nodes whose patch has not been observed yet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodCidrAllocations {
    pending: BTreeMap<String, Ipv4Cidr>,
}

impl PodCidrAllocations {
    /// Nothing pending.
    pub fn new() -> PodCidrAllocations {
        PodCidrAllocations::default()
    }

    /// The subnet handed to `node` and not yet seen on it.
    pub fn pending(&self, node: &str) -> Option<Ipv4Cidr> {
        self.pending.get(node).copied()
    }

    /// The patch for `node` failed or was skipped: its subnet is free again.
    pub fn forget(&mut self, node: &str) {
        self.pending.remove(node);
    }
}

/// A node's pod CIDRs as written in `spec.podCIDRs` (or `spec.podCIDR`).
fn node_cidrs(node: &Node) -> Vec<String> {
    let spec = node.spec.as_ref();
    let listed = spec.and_then(|spec| spec.pod_cidrs.clone()).unwrap_or_default();
    if !listed.is_empty() {
        return listed;
    }
    spec.and_then(|spec| spec.pod_cidr.clone()).filter(|cidr| !cidr.is_empty()).into_iter().collect()
}

/// Hands a pod CIDR to every node without one (`AllocateOrOccupyCIDR`), in name order: a patch
/// of `spec.podCIDR` and `spec.podCIDRs` per node, or a `CIDRNotAvailable` event once the
/// cluster CIDR is used up.
pub fn reconcile_node_ipam<'a>(
    config: &NodeIpamConfig,
    nodes: impl IntoIterator<Item = &'a Node>,
    allocations: &mut PodCidrAllocations,
    now: Timestamp,
) -> Reconciled {
    let mut reconciled = Reconciled::default();
    let mut taken: BTreeSet<u64> = BTreeSet::new();
    let mut needing: Vec<&Node> = Vec::new();
    let nodes: Vec<&Node> = nodes.into_iter().collect();
    let names: BTreeSet<&str> = nodes.iter().filter_map(|node| node.metadata.name.as_deref()).collect();
    allocations.pending.retain(|name, _| names.contains(name.as_str()));
    for node in nodes.iter().copied() {
        let name = node.metadata.name.as_deref().unwrap_or("");
        let cidrs = node_cidrs(node);
        if cidrs.is_empty() {
            needing.push(node);
            continue;
        }
        allocations.forget(name);
        for cidr in cidrs.iter().filter_map(|cidr| cidr.parse::<Ipv4Cidr>().ok()) {
            taken.extend(config.cluster_cidr.subnet_index(&cidr, config.node_cidr_mask_size));
        }
    }
    for cidr in allocations.pending.values() {
        taken.extend(config.cluster_cidr.subnet_index(cidr, config.node_cidr_mask_size));
    }
    needing.sort_by(|left, right| left.metadata.name.cmp(&right.metadata.name));
    let mut next = 0u64;
    for node in needing {
        let name = node.metadata.name.clone().unwrap_or_default();
        let cidr = match allocations.pending(&name) {
            Some(cidr) => cidr,
            None => {
                while taken.contains(&next) {
                    next += 1;
                }
                let Some(cidr) = config.cluster_cidr.subnet(config.node_cidr_mask_size, next) else {
                    reconciled.push_alone(not_available_event(&name, now));
                    continue;
                };
                taken.insert(next);
                allocations.pending.insert(name.clone(), cidr);
                cidr
            }
        };
        let cidr = cidr.to_string();
        reconciled.push_alone(Action::Patch {
            resource: NODES,
            namespace: String::new(),
            name,
            patch_type: PatchType::StrategicMerge,
            body: json!({"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}),
        });
    }
    reconciled
}

/// `RecordNodeStatusChange(node, "CIDRNotAvailable")`: a Normal event on the node.
fn not_available_event(node: &str, now: Timestamp) -> Action {
    let reference = ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Node".into()),
        name: Some(node.to_string()),
        uid: Some(node.to_string()),
        ..ObjectReference::default()
    };
    let message = format!("Node {node} status is now: {CIDR_NOT_AVAILABLE}");
    event_action(&reference, COMPONENT, EventType::Normal, CIDR_NOT_AVAILABLE, &message, now)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn node(name: &str, pod_cidr: Option<&str>) -> Node {
        let spec = match pod_cidr {
            Some(cidr) => json!({"podCIDR": cidr, "podCIDRs": [cidr]}),
            None => json!({}),
        };
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).unwrap()
    }

    fn patched(reconciled: &Reconciled) -> Vec<(String, Value)> {
        reconciled
            .actions
            .iter()
            .filter_map(|action| match action {
                Action::Patch { name, body, .. } => Some((name.clone(), body["spec"]["podCIDR"].clone())),
                _ => None,
            })
            .collect()
    }

    // TestAllocateOrOccupyCIDRSuccess: the first nodes get the first subnets.
    #[test]
    fn nodes_without_cidr_get_the_lowest_free_subnets() {
        let mut allocations = PodCidrAllocations::new();
        let nodes = [node("b", None), node("a", None), node("c", Some("10.244.0.0/24"))];
        let reconciled = reconcile_node_ipam(&NodeIpamConfig::default(), &nodes, &mut allocations, now());
        assert_eq!(
            patched(&reconciled),
            vec![("a".into(), json!("10.244.1.0/24")), ("b".into(), json!("10.244.2.0/24"))]
        );
        let Action::Patch { body, patch_type, .. } = &reconciled.actions[0] else { unreachable!() };
        assert_eq!(*patch_type, PatchType::StrategicMerge);
        assert_eq!(body["spec"]["podCIDRs"], json!(["10.244.1.0/24"]));
    }

    #[test]
    fn a_subnet_handed_out_but_not_yet_seen_is_not_given_twice() {
        let config = NodeIpamConfig::default();
        let mut allocations = PodCidrAllocations::new();
        reconcile_node_ipam(&config, &[node("a", None)], &mut allocations, now());
        let again = reconcile_node_ipam(&config, &[node("a", None), node("b", None)], &mut allocations, now());
        assert_eq!(patched(&again), vec![("a".into(), json!("10.244.0.0/24")), ("b".into(), json!("10.244.1.0/24"))]);
        let seen = [node("a", Some("10.244.0.0/24")), node("b", Some("10.244.1.0/24"))];
        assert!(reconcile_node_ipam(&config, &seen, &mut allocations, now()).actions.is_empty());
        assert_eq!(allocations, PodCidrAllocations::new());
    }

    #[test]
    fn a_deleted_nodes_subnet_is_reused() {
        let config = NodeIpamConfig::default();
        let mut allocations = PodCidrAllocations::new();
        let nodes = [node("b", Some("10.244.1.0/24")), node("c", None)];
        let reconciled = reconcile_node_ipam(&config, &nodes, &mut allocations, now());
        assert_eq!(patched(&reconciled), vec![("c".into(), json!("10.244.0.0/24"))]);
    }

    // TestAllocateOrOccupyCIDRFailure / TestCIDRSet_AllocateNext full: a /30 of /32s holds four
    // nodes; the fifth gets the CIDRNotAvailable event.
    #[test]
    fn an_exhausted_cluster_cidr_records_cidr_not_available() {
        let config = NodeIpamConfig { cluster_cidr: "127.123.234.0/30".parse().unwrap(), node_cidr_mask_size: 32 };
        let mut allocations = PodCidrAllocations::new();
        let nodes: Vec<Node> = (0..5).map(|index| node(&format!("node-{index}"), None)).collect();
        let reconciled = reconcile_node_ipam(&config, &nodes, &mut allocations, now());
        assert_eq!(patched(&reconciled).len(), 4);
        let Some(Action::Event { event }) = reconciled.actions.last() else { panic!("expected an event") };
        assert_eq!(event.reason.as_deref(), Some(CIDR_NOT_AVAILABLE));
        assert_eq!(event.message.as_deref(), Some("Node node-4 status is now: CIDRNotAvailable"));
        assert_eq!(event.involved_object.kind.as_deref(), Some("Node"));
    }

    #[test]
    fn a_failed_patch_frees_its_subnet() {
        let config = NodeIpamConfig::default();
        let mut allocations = PodCidrAllocations::new();
        reconcile_node_ipam(&config, &[node("a", None)], &mut allocations, now());
        assert!(allocations.pending("a").is_some());
        allocations.forget("a");
        let reconciled = reconcile_node_ipam(&config, &[node("b", None)], &mut allocations, now());
        assert_eq!(patched(&reconciled), vec![("b".into(), json!("10.244.0.0/24"))]);
    }
}
