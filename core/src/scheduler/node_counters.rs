//! The few numbers and flags the default filters and scores read from every node, packed into
//! one small value per node and held by the snapshot in node order ([`NodeCounters`]).
//!
//! A NodeInfo is a heap object of several cache lines reached through its own pointer; a
//! scheduling cycle at 5,000 nodes visits hundreds of them, each a cache miss, and each plugin
//! touches it again. The snapshot keeps these counters contiguously instead (80 bytes a node,
//! visited in the order the cycle walks the nodes), so NodeResourcesFit, BalancedAllocation,
//! NodeUnschedulable and TaintToleration decide the common case with a few comparisons on memory
//! the prefetcher streams in, and read the NodeInfo only for what the counters cannot answer
//! (extended resources, a taint to match, a rejection's reasons).
//!
//! One packed record per node rather than one array per field: every plugin reads several
//! fields of the same node, so the record keeps one node's fields in one or two cache lines.

use super::node_info::NodeInfo;

/// The node has a Node object (a NodeInfo may hold Pods for a node not seen yet).
const HAS_NODE: u32 = 1;
/// `spec.unschedulable` is set.
const UNSCHEDULABLE: u32 = 1 << 1;
/// The node has a NoSchedule or NoExecute taint.
const HARD_TAINTS: u32 = 1 << 2;
/// The node has a PreferNoSchedule taint.
const SOFT_TAINTS: u32 = 1 << 3;
/// The node offers or its Pods request extended resources (scalar resources).
const SCALAR_RESOURCES: u32 = 1 << 4;

/// One node's counters, copied from its NodeInfo whenever the snapshot takes a new NodeInfo.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeCounters {
    /// Allocatable CPU in thousandths of a core.
    pub allocatable_milli_cpu: i64,
    /// Allocatable memory in bytes.
    pub allocatable_memory: i64,
    /// Allocatable local ephemeral storage in bytes.
    pub allocatable_ephemeral_storage: i64,
    /// How many Pods the node allows.
    pub allowed_pod_number: i64,
    /// CPU the node's Pods request.
    pub requested_milli_cpu: i64,
    /// Memory the node's Pods request.
    pub requested_memory: i64,
    /// Local ephemeral storage the node's Pods request.
    pub requested_ephemeral_storage: i64,
    /// CPU the node's Pods request with the non-zero defaults (scoring).
    pub non_zero_requested_milli_cpu: i64,
    /// Memory the node's Pods request with the non-zero defaults (scoring).
    pub non_zero_requested_memory: i64,
    /// How many Pods the node holds.
    pub pod_count: u32,
    flags: u32,
}

impl NodeCounters {
    /// The counters of one NodeInfo.
    pub fn of(node: &NodeInfo) -> NodeCounters {
        let mut flags = 0;
        if node.node().is_some() {
            flags |= HAS_NODE;
        }
        if node.unschedulable() {
            flags |= UNSCHEDULABLE;
        }
        for taint in node.taints() {
            match taint.effect.as_str() {
                "PreferNoSchedule" => flags |= SOFT_TAINTS,
                // An unknown effect is read by the filters as they read any taint.
                _ => flags |= HARD_TAINTS,
            }
        }
        if !node.allocatable.scalar_resources.is_empty() || !node.requested.scalar_resources.is_empty() {
            flags |= SCALAR_RESOURCES;
        }
        NodeCounters {
            allocatable_milli_cpu: node.allocatable.milli_cpu,
            allocatable_memory: node.allocatable.memory,
            allocatable_ephemeral_storage: node.allocatable.ephemeral_storage,
            allowed_pod_number: node.allocatable.allowed_pod_number,
            requested_milli_cpu: node.requested.milli_cpu,
            requested_memory: node.requested.memory,
            requested_ephemeral_storage: node.requested.ephemeral_storage,
            non_zero_requested_milli_cpu: node.non_zero_requested.milli_cpu,
            non_zero_requested_memory: node.non_zero_requested.memory,
            pod_count: u32::try_from(node.pods.len()).unwrap_or(u32::MAX),
            flags,
        }
    }

    /// Whether the node has a Node object.
    pub fn has_node(&self) -> bool {
        self.flags & HAS_NODE != 0
    }

    /// Whether the node is cordoned.
    pub fn unschedulable(&self) -> bool {
        self.flags & UNSCHEDULABLE != 0
    }

    /// Whether the node has a taint whose effect is not PreferNoSchedule.
    pub fn has_hard_taints(&self) -> bool {
        self.flags & HARD_TAINTS != 0
    }

    /// Whether the node has a PreferNoSchedule taint.
    pub fn has_soft_taints(&self) -> bool {
        self.flags & SOFT_TAINTS != 0
    }

    /// Whether extended resources are offered or requested on the node.
    pub fn has_scalar_resources(&self) -> bool {
        self.flags & SCALAR_RESOURCES != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::testing::{make_node, make_pod, taint};
    use std::sync::Arc;

    #[test]
    fn the_counters_copy_what_the_node_info_holds() {
        let node = make_node("n")
            .capacity(&[("cpu", "4"), ("memory", "8Gi"), ("pods", "110"), ("ephemeral-storage", "20Gi")])
            .taints(vec![taint("soft", "x", "PreferNoSchedule")])
            .obj();
        let mut info = NodeInfo::new(Arc::new(node));
        info.add_pod(Arc::new(make_pod("p").req(&[("cpu", "500m"), ("memory", "1Gi")]).info()));
        info.add_pod(Arc::new(make_pod("q").info()));
        let counters = NodeCounters::of(&info);
        assert_eq!(counters.allocatable_milli_cpu, 4_000);
        assert_eq!(counters.allocatable_memory, 8 << 30);
        assert_eq!(counters.allocatable_ephemeral_storage, 20 << 30);
        assert_eq!(counters.allowed_pod_number, 110);
        assert_eq!(counters.requested_milli_cpu, 500);
        assert_eq!(counters.requested_memory, 1 << 30);
        assert_eq!(counters.non_zero_requested_milli_cpu, info.non_zero_requested.milli_cpu);
        assert_eq!(counters.non_zero_requested_memory, info.non_zero_requested.memory);
        assert_eq!(counters.pod_count, 2);
        assert!(counters.has_node() && counters.has_soft_taints());
        assert!(!counters.has_hard_taints() && !counters.unschedulable() && !counters.has_scalar_resources());
    }

    #[test]
    fn the_flags_follow_taints_cordons_extended_resources_and_a_missing_node() {
        let node = make_node("n")
            .capacity(&[("cpu", "4"), ("example.com/gpu", "2")])
            .taints(vec![taint("hard", "", "NoExecute")])
            .unschedulable()
            .obj();
        let counters = NodeCounters::of(&NodeInfo::new(Arc::new(node)));
        assert!(counters.has_hard_taints() && counters.unschedulable() && counters.has_scalar_resources());
        assert!(!counters.has_soft_taints());
        assert!(!NodeCounters::of(&NodeInfo::without_node("gone")).has_node());
    }
}
