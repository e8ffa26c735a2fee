//! The order nodes are evaluated in: zones interleaved round-robin, nodes within a zone in the
//! order they were added (kube-scheduler's `nodeTree`), so sampling a share of the nodes spreads
//! across zones.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;

/// The label naming a node's zone.
pub const LABEL_TOPOLOGY_ZONE: &str = "topology.kubernetes.io/zone";
/// The label naming a node's region.
pub const LABEL_TOPOLOGY_REGION: &str = "topology.kubernetes.io/region";
/// The label naming a node's hostname.
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";

/// A node's zone key: region and zone joined as `utilnode.GetZoneKey` does; empty when neither
/// is set.
pub fn zone_key(node: &core::Node) -> String {
    let labels = node.metadata.labels.as_ref();
    let get = |key: &str| labels.and_then(|labels| labels.get(key)).map(String::as_str).unwrap_or("");
    let (region, zone) = (get(LABEL_TOPOLOGY_REGION), get(LABEL_TOPOLOGY_ZONE));
    if region.is_empty() && zone.is_empty() { String::new() } else { format!("{region}:\x00:{zone}") }
}

/// Nodes by zone, zones in the order first seen.
#[derive(Clone, Debug, Default)]
pub struct NodeTree {
    zones: Vec<String>,
    tree: BTreeMap<String, Vec<String>>,
    node_count: usize,
}

impl NodeTree {
    /// Adds a node to its zone; adding a node twice is ignored.
    pub fn add(&mut self, zone: &str, name: &str) {
        let nodes = self.tree.entry(zone.to_owned()).or_default();
        if nodes.iter().any(|existing| existing == name) {
            return;
        }
        if nodes.is_empty() {
            self.zones.push(zone.to_owned());
        }
        nodes.push(name.to_owned());
        self.node_count += 1;
    }

    /// Removes a node from its zone (swapping the zone's last node into its place, as
    /// Kubernetes does); returns whether it was there.
    pub fn remove(&mut self, zone: &str, name: &str) -> bool {
        let Some(nodes) = self.tree.get_mut(zone) else {
            return false;
        };
        let Some(index) = nodes.iter().position(|existing| existing == name) else {
            return false;
        };
        nodes.swap_remove(index);
        self.node_count -= 1;
        if nodes.is_empty() {
            self.tree.remove(zone);
            self.zones.retain(|existing| existing != zone);
        }
        true
    }

    /// How many nodes the tree holds.
    pub fn len(&self) -> usize {
        self.node_count
    }

    /// Whether the tree holds no node.
    pub fn is_empty(&self) -> bool {
        self.node_count == 0
    }

    /// Every node, zones interleaved: the first node of each zone, then the second, and so on.
    pub fn list(&self) -> Vec<String> {
        let mut list = Vec::with_capacity(self.node_count);
        let columns: Vec<&Vec<String>> = self.zones.iter().filter_map(|zone| self.tree.get(zone)).collect();
        let mut index = 0;
        while list.len() < self.node_count {
            let before = list.len();
            for nodes in &columns {
                if let Some(name) = nodes.get(index) {
                    list.push(name.clone());
                }
            }
            if list.len() == before {
                break;
            }
            index += 1;
        }
        list
    }
}
