//! A batch of nodes for the batched Filter and Score calls ([`NodeBatch`]): the NodeInfos and
//! their positions in the snapshot, whose packed [`NodeCounters`] the batch reads in place, so
//! that a plugin decides the common case from the counters and reads a NodeInfo only when they
//! cannot answer.
//!
//! The counters are not copied into the batch: a cycle's batches would be tens of kilobytes
//! allocated and freed per Pod, and the allocator returns such pages to the kernel, which
//! zeroes them again on the next touch (that churn was a third of the scheduler's profile).

use super::framework::Status;
use super::node_counters::NodeCounters;
use super::node_info::NodeInfo;

/// Nodes, their positions in the snapshot, and the snapshot's counters.
#[derive(Clone, Copy, Debug)]
pub struct NodeBatch<'a> {
    nodes: &'a [&'a NodeInfo],
    positions: &'a [usize],
    counters: &'a [NodeCounters],
}

impl<'a> NodeBatch<'a> {
    /// A batch of nodes at these positions of a snapshot whose counters (every node's, by
    /// position) are `counters`.
    ///
    /// # Panics
    /// When a node has no position or a position no counters: a batch like that is a bug in the
    /// caller, not an input.
    pub fn new(nodes: &'a [&'a NodeInfo], positions: &'a [usize], counters: &'a [NodeCounters]) -> NodeBatch<'a> {
        assert_eq!(nodes.len(), positions.len(), "every node of a batch comes with its position");
        assert!(positions.iter().all(|position| *position < counters.len()), "every position has counters");
        NodeBatch { nodes, positions, counters }
    }

    /// The NodeInfos.
    pub fn nodes(&self) -> &'a [&'a NodeInfo] {
        self.nodes
    }

    /// Each node's position in the snapshot, aligned with [`nodes`](Self::nodes).
    pub fn positions(&self) -> &'a [usize] {
        self.positions
    }

    /// How many nodes the batch holds.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the batch holds no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Each node's counters, in batch order.
    pub fn node_counters(&self) -> impl Iterator<Item = &'a NodeCounters> + 'a {
        let counters = self.counters;
        self.positions.iter().map(move |position| &counters[*position])
    }

    /// Each node with its counters.
    pub fn iter(&self) -> impl Iterator<Item = (&'a NodeInfo, &'a NodeCounters)> + 'a {
        let counters = self.counters;
        self.nodes.iter().copied().zip(self.positions.iter().map(move |position| &counters[*position]))
    }
}

/// Stores `filter(node, counters)` into each undecided verdict it does not pass: the loop every
/// `FilterPlugin::filter_nodes` runs once it has read its state.
pub fn fill_verdicts(
    batch: &NodeBatch<'_>,
    verdicts: &mut [Option<Status>],
    mut filter: impl FnMut(&NodeInfo, &NodeCounters) -> Status,
) {
    for ((node, counters), verdict) in batch.iter().zip(verdicts.iter_mut()).filter(|(_, verdict)| verdict.is_none()) {
        let status = filter(node, counters);
        if !status.is_success() {
            *verdict = Some(status);
        }
    }
}
