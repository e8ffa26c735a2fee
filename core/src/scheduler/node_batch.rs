//! A batch of nodes for the batched Filter and Score calls ([`NodeBatch`]): the NodeInfos and,
//! aligned with them, their [`NodeCounters`], so that a plugin decides the common case from the
//! packed counters and reads a NodeInfo only when they cannot answer.

use super::framework::Status;
use super::node_counters::NodeCounters;
use super::node_info::NodeInfo;

/// Nodes and their counters, position by position.
#[derive(Clone, Copy, Debug)]
pub struct NodeBatch<'a> {
    nodes: &'a [&'a NodeInfo],
    counters: &'a [NodeCounters],
}

impl<'a> NodeBatch<'a> {
    /// A batch of nodes with their counters (the snapshot's, gathered in the same order).
    ///
    /// # Panics
    /// When the two are not the same length: a batch with a node and no counters is a bug in
    /// the caller, not an input.
    pub fn new(nodes: &'a [&'a NodeInfo], counters: &'a [NodeCounters]) -> NodeBatch<'a> {
        assert_eq!(nodes.len(), counters.len(), "every node of a batch comes with its counters");
        NodeBatch { nodes, counters }
    }

    /// The NodeInfos.
    pub fn nodes(&self) -> &'a [&'a NodeInfo] {
        self.nodes
    }

    /// The counters, aligned with [`nodes`](Self::nodes).
    pub fn counters(&self) -> &'a [NodeCounters] {
        self.counters
    }

    /// How many nodes the batch holds.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the batch holds no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Each node with its counters.
    pub fn iter(&self) -> impl Iterator<Item = (&'a NodeInfo, &'a NodeCounters)> + 'a {
        self.nodes.iter().copied().zip(self.counters)
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
