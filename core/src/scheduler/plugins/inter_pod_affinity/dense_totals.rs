//! InterPodAffinity's per-domain counts and scores by the snapshot's dense domain ids, read by
//! node position in the batch Filter and Score.
//!
//! Through values, each node costs a label lookup in an ordered map and a hashed lookup of the
//! value per topology key, and following the node to its labels is a cache miss of its own: at
//! 5,000 nodes the largest cost of an affinity cycle. When every topology key involved is a
//! well-known one (hostname, zone, region), PreFilter and PreScore turn their totals into one
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
    by_id: Vec<i64>,
}

impl DenseTotals {
    /// The totals of `values` (by domain value) for a key; `None` when the key is not kept
    /// densely. Values no node has are dropped: no node's score or verdict reads them.
    pub fn of(snapshot: &Snapshot, key: &str, values: Option<&FastHashMap<String, i64>>) -> Option<DenseTotals> {
        let domains = snapshot.shared_topology_domains(key)?;
        let mut by_id = vec![0; domains.values.len()];
        for (value, total) in values.into_iter().flatten() {
            if let Some(id) = domains.id_of(value) {
                by_id[id as usize] = *total;
            }
        }
        Some(DenseTotals { domains, by_id })
    }

    /// The total of the domain of the node at a snapshot position; `None` when the node lacks
    /// the label.
    pub fn at(&self, position: usize) -> Option<i64> {
        self.domains.domain_of_node[position].map(|id| self.by_id[id as usize])
    }
}

/// The totals of a [`TopologyCounts`] for each of `keys`, or `None` if one is not kept densely.
pub fn dense_counts<'a>(
    snapshot: &Snapshot,
    counts: &TopologyCounts,
    keys: impl IntoIterator<Item = &'a str>,
) -> Option<Vec<DenseTotals>> {
    keys.into_iter().map(|key| DenseTotals::of(snapshot, key, counts.values_of(key))).collect()
}
