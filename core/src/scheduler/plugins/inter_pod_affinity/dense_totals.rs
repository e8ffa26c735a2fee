//! InterPodAffinity's per-domain counts and scores by the snapshot's dense domain ids, read by
//! node position in the batch Filter and Score.
//!
//! Through values, each node costs a label lookup in an ordered map and a hashed lookup of the
//! value per topology key, and following the node to its labels is a cache miss of its own: at
//! 5,000 nodes the largest cost of an affinity cycle. When every topology key involved is a
//! well-known one (hostname, zone, region), PreFilter and PreScore keep their totals as one
//! array per key, indexed by domain id.

use std::sync::Arc;

use super::TopologyCounts;
use crate::scheduler::fast_map::FastHashMap;
use crate::scheduler::snapshot::Snapshot;
use crate::scheduler::topology_domains::TopologyDomains;

/// One topology key's totals by domain id.
#[derive(Clone, Debug)]
pub struct DenseTotals {
    domains: Arc<TopologyDomains>,
    /// The total of each domain id; empty while every total is zero. Shared with the batch
    /// Filter's view, copied on the first write after it was taken.
    by_id: Arc<Vec<i64>>,
}

impl DenseTotals {
    /// The totals of `values` (by domain value) for a key; `None` when the key is not kept
    /// densely. Values no node has are dropped: no node's score or verdict reads them.
    pub fn of(snapshot: &Snapshot, key: &str, values: Option<&FastHashMap<String, i64>>) -> Option<DenseTotals> {
        let mut totals = DenseTotals::zero(snapshot.shared_topology_domains(key)?);
        for (value, total) in values.into_iter().flatten() {
            if let Some(id) = totals.id_of(value) {
                *totals.count_mut(id) = *total;
            }
        }
        Some(totals)
    }

    /// Every domain of these at zero.
    pub fn zero(domains: Arc<TopologyDomains>) -> DenseTotals {
        DenseTotals { domains, by_id: Arc::default() }
    }

    /// The total of the domain of the node at a snapshot position; `None` when the node lacks
    /// the label.
    pub fn at(&self, position: usize) -> Option<i64> {
        self.domain_at(position).map(|id| self.count(id))
    }

    /// The domain id of the node at a snapshot position.
    pub fn domain_at(&self, position: usize) -> Option<u32> {
        self.domains.domain_of_node[position]
    }

    /// The id of a domain value, if some node has it.
    pub fn id_of(&self, value: &str) -> Option<u32> {
        self.domains.id_of(value)
    }

    /// The total of one domain.
    pub fn count(&self, id: u32) -> i64 {
        self.by_id.get(id as usize).copied().unwrap_or(0)
    }

    /// The total of one domain, to change.
    pub fn count_mut(&mut self, id: u32) -> &mut i64 {
        let by_id = Arc::make_mut(&mut self.by_id);
        if by_id.is_empty() {
            by_id.resize(self.domains.values.len(), 0);
        }
        &mut by_id[id as usize]
    }

    /// The domains whose total is not zero, with their values, in id order.
    pub fn nonzero(&self) -> impl Iterator<Item = (&str, i64)> {
        let values = &self.domains.values;
        self.by_id.iter().enumerate().filter(|(_, total)| **total != 0).map(|(id, total)| (values[id].as_str(), *total))
    }
}

/// The totals of a [`TopologyCounts`] for each of `keys`, or `None` if one is not kept densely.
pub fn dense_counts<'a>(
    snapshot: &Snapshot,
    counts: &TopologyCounts,
    keys: impl IntoIterator<Item = &'a str>,
) -> Option<Vec<DenseTotals>> {
    keys.into_iter().map(|key| counts.dense_totals(snapshot, key)).collect()
}
