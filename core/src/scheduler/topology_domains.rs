//! The well-known topology labels of every node of a snapshot, as dense arrays of domain ids.
//!
//! PodTopologySpread visits every node each cycle to learn which domains exist. Reading a
//! label means following the NodeInfo, the Node and its label map: three cache misses per node,
//! which at 5,000 nodes cost more than the rest of the cycle. Keeping the domain of each node for
//! the labels spread constraints use (hostname, zone, region) in one array per label turns that
//! walk into a scan of a few kilobytes. Other labels are read from the nodes as before.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::node_info::NodeInfo;
use super::node_tree::{LABEL_HOSTNAME, LABEL_TOPOLOGY_REGION, LABEL_TOPOLOGY_ZONE};

/// The labels kept densely.
pub const DENSE_TOPOLOGY_KEYS: [&str; 3] = [LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE, LABEL_TOPOLOGY_REGION];

/// One label's domain per node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopologyDomains {
    /// Per node position: the id of the node's value, `None` when the node lacks the label.
    pub domain_of_node: Vec<Option<u32>>,
    /// The value of each id, ids in order of first appearance.
    pub values: Vec<String>,
    /// The id of each value; iterated in value order where Kubernetes' results depend on it.
    pub ids: BTreeMap<String, u32>,
    /// How many nodes lack the label.
    pub unlabelled: usize,
}

impl TopologyDomains {
    fn build(key: &str, nodes: &[Arc<NodeInfo>]) -> TopologyDomains {
        let mut domains = TopologyDomains { domain_of_node: Vec::with_capacity(nodes.len()), ..Default::default() };
        for node in nodes {
            let id = node.labels().get(key).map(|value| match domains.ids.get(value.as_str()) {
                Some(id) => *id,
                None => {
                    let id = domains.values.len() as u32;
                    domains.values.push(value.clone());
                    domains.ids.insert(value.clone(), id);
                    id
                }
            });
            domains.unlabelled += usize::from(id.is_none());
            domains.domain_of_node.push(id);
        }
        domains
    }

    /// The id of a value, if some node has it.
    pub fn id_of(&self, value: &str) -> Option<u32> {
        self.ids.get(value).copied()
    }

    /// Whether no two nodes share a value (hostnames, normally): then a domain's count is its
    /// node's count.
    pub fn one_node_per_domain(&self) -> bool {
        self.values.len() + self.unlabelled == self.domain_of_node.len()
    }

    /// The value of a node's domain.
    pub fn value_of(&self, position: usize) -> Option<&str> {
        self.domain_of_node[position].map(|id| self.values[id as usize].as_str())
    }
}

/// The dense domains of [`DENSE_TOPOLOGY_KEYS`] over a node list.
#[derive(Clone, Debug, Default)]
pub struct DenseTopology {
    by_key: BTreeMap<&'static str, Arc<TopologyDomains>>,
}

impl DenseTopology {
    /// Reads the labels of every node, `nodes[i]` at position `i`.
    pub fn build(nodes: &[Arc<NodeInfo>]) -> DenseTopology {
        let by_key =
            DENSE_TOPOLOGY_KEYS.iter().map(|key| (*key, Arc::new(TopologyDomains::build(key, nodes)))).collect();
        DenseTopology { by_key }
    }

    /// Whether a node changing from `old` to `new` changes a kept label (then the arrays must be
    /// rebuilt; labels change rarely, heartbeats often).
    pub fn affected_by(old: &NodeInfo, new: &NodeInfo) -> bool {
        if let (Some(old), Some(new)) = (old.node_arc(), new.node_arc())
            && Arc::ptr_eq(old, new)
        {
            return false;
        }
        DENSE_TOPOLOGY_KEYS.iter().any(|key| old.labels().get(*key) != new.labels().get(*key))
    }

    /// The domains of a label, if it is one of those kept.
    pub fn get(&self, key: &str) -> Option<&TopologyDomains> {
        self.by_key.get(key).map(Arc::as_ref)
    }

    /// The domains of a label behind their shared pointer, for state kept across a cycle.
    pub fn shared(&self, key: &str) -> Option<Arc<TopologyDomains>> {
        self.by_key.get(key).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::testing::make_node;

    fn node(name: &str, zone: Option<&str>) -> Arc<NodeInfo> {
        let mut builder = make_node(name).label(LABEL_HOSTNAME, name);
        if let Some(zone) = zone {
            builder = builder.label(LABEL_TOPOLOGY_ZONE, zone);
        }
        Arc::new(NodeInfo::new(Arc::new(builder.obj())))
    }

    #[test]
    fn each_node_gets_the_id_of_its_value_and_nodes_without_the_label_none() {
        let nodes = [node("a", Some("z1")), node("b", None), node("c", Some("z2")), node("d", Some("z1"))];
        let dense = DenseTopology::build(&nodes);
        let zones = dense.get(LABEL_TOPOLOGY_ZONE).expect("zone is kept");
        assert_eq!(zones.domain_of_node, [Some(0), None, Some(1), Some(0)]);
        assert_eq!(zones.values, ["z1", "z2"]);
        assert_eq!((zones.id_of("z2"), zones.id_of("z3"), zones.unlabelled), (Some(1), None, 1));
        assert!(!zones.one_node_per_domain());
        assert!(dense.get(LABEL_HOSTNAME).expect("hostname is kept").one_node_per_domain());
        assert_eq!(zones.value_of(3), Some("z1"));
        assert_eq!(dense.get(LABEL_HOSTNAME).expect("hostname is kept").value_of(1), Some("b"));
        assert!(dense.get("example.com/rack").is_none());
    }

    #[test]
    fn only_a_change_of_a_kept_label_requires_a_rebuild() {
        let old = node("a", Some("z1"));
        assert!(!DenseTopology::affected_by(&old, &old));
        let mut relabelled = make_node("a").label(LABEL_HOSTNAME, "a").label(LABEL_TOPOLOGY_ZONE, "z1").obj();
        assert!(!DenseTopology::affected_by(&old, &NodeInfo::new(Arc::new(relabelled.clone()))));
        relabelled.metadata.labels.get_or_insert_default().insert(LABEL_TOPOLOGY_ZONE.to_owned(), "z2".to_owned());
        assert!(DenseTopology::affected_by(&old, &NodeInfo::new(Arc::new(relabelled))));
    }
}
