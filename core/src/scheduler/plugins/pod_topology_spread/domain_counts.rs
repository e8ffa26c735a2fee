//! Matching Pods per eligible domain of one DoNotSchedule constraint (the PreFilter's
//! `TpPairToMatchNum`), kept by value for any label or by the snapshot's dense domain ids for
//! the well-known ones.
//!
//! Filter reads one count per node and constraint. Through values that is two ordered-map
//! lookups with string compares (the node's label, then the count): at 5,000 nodes the largest
//! cost of a spread cycle. Through ids it is two array reads by the node's snapshot position.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::scheduler::topology_domains::TopologyDomains;

/// Matching Pods per eligible domain of one constraint.
#[derive(Clone, Debug)]
pub enum DomainCounts {
    /// By the domain's value.
    ByValue(BTreeMap<String, i64>),
    /// By the snapshot's domain id.
    Dense(DenseCounts),
}

/// Counts by domain id of the snapshot's dense arrays for one label.
#[derive(Clone, Debug)]
pub struct DenseCounts {
    domains: Arc<TopologyDomains>,
    /// Per id: the count, `None` for an id that is not an eligible domain.
    counts: Vec<Option<i64>>,
    /// How many ids are eligible domains.
    len: usize,
}

/// A node's domain and its count, as Filter needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeDomain {
    /// The node lacks the constraint's topology label.
    Unlabelled,
    /// The matching Pods of the node's domain (0 when it is not an eligible domain).
    Count(i64),
}

impl DenseCounts {
    /// Zero Pods in each of the `eligible` ids (by id) of `domains`.
    pub fn new(domains: Arc<TopologyDomains>, eligible: &[bool]) -> DenseCounts {
        let counts: Vec<Option<i64>> = eligible.iter().map(|eligible| eligible.then_some(0)).collect();
        let len = counts.iter().flatten().count();
        DenseCounts { domains, counts, len }
    }

    /// The label's domains.
    pub fn domains(&self) -> &TopologyDomains {
        &self.domains
    }

    /// Counts one more Pod in an id, if it is an eligible domain.
    pub fn count_at_id(&mut self, id: u32) {
        if let Some(count) = &mut self.counts[id as usize] {
            *count += 1;
        }
    }

    /// The domain of the node at a snapshot position.
    pub fn at_position(&self, position: usize) -> NodeDomain {
        match self.domains.domain_of_node[position] {
            None => NodeDomain::Unlabelled,
            Some(id) => NodeDomain::Count(self.counts[id as usize].unwrap_or(0)),
        }
    }
}

impl DomainCounts {
    /// How many eligible domains there are.
    pub fn len(&self) -> usize {
        match self {
            DomainCounts::ByValue(counts) => counts.len(),
            DomainCounts::Dense(dense) => dense.len,
        }
    }

    /// Whether there is no eligible domain.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The count of an eligible domain.
    pub fn get(&self, value: &str) -> Option<i64> {
        match self {
            DomainCounts::ByValue(counts) => counts.get(value).copied(),
            DomainCounts::Dense(dense) => dense.domains.id_of(value).and_then(|id| dense.counts[id as usize]),
        }
    }

    /// Adds `delta` to a domain's count, making it an eligible domain if it was not (as
    /// Kubernetes' `updateWithPod` does); returns the new count.
    pub fn add(&mut self, value: &str, delta: i64) -> i64 {
        match self {
            DomainCounts::ByValue(counts) => {
                let count = counts.entry(value.to_owned()).or_insert(0);
                *count += delta;
                *count
            }
            DomainCounts::Dense(dense) => match dense.domains.id_of(value) {
                Some(id) => {
                    let slot = &mut dense.counts[id as usize];
                    dense.len += usize::from(slot.is_none());
                    let count = slot.get_or_insert(0);
                    *count += delta;
                    *count
                }
                None => {
                    // A value no node of the snapshot has: only the by-value form can hold it.
                    *self = DomainCounts::ByValue(self.to_map());
                    self.add(value, delta)
                }
            },
        }
    }

    /// Calls `visit` with every eligible domain and its count, in value order.
    pub fn for_each(&self, mut visit: impl FnMut(&str, i64)) {
        match self {
            DomainCounts::ByValue(counts) => counts.iter().for_each(|(value, count)| visit(value, *count)),
            DomainCounts::Dense(dense) => {
                for (value, id) in &dense.domains.ids {
                    if let Some(count) = dense.counts[*id as usize] {
                        visit(value, count);
                    }
                }
            }
        }
    }

    /// The counts by value, whichever the form.
    pub fn to_map(&self) -> BTreeMap<String, i64> {
        let mut map = BTreeMap::new();
        self.for_each(|value, count| {
            map.insert(value.to_owned(), count);
        });
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::node_info::NodeInfo;
    use crate::scheduler::node_tree::LABEL_TOPOLOGY_ZONE;
    use crate::scheduler::testing::make_node;
    use crate::scheduler::topology_domains::DenseTopology;

    fn zones() -> Arc<TopologyDomains> {
        let nodes: Vec<Arc<NodeInfo>> = [Some("z2"), None, Some("z1"), Some("z3")]
            .iter()
            .enumerate()
            .map(|(index, zone)| {
                let mut node = make_node(&format!("node-{index}"));
                if let Some(zone) = zone {
                    node = node.label(LABEL_TOPOLOGY_ZONE, zone);
                }
                Arc::new(NodeInfo::new(Arc::new(node.obj())))
            })
            .collect();
        DenseTopology::build(&nodes).shared(LABEL_TOPOLOGY_ZONE).expect("zone is kept")
    }

    #[test]
    fn the_dense_form_reads_and_updates_as_the_map_of_its_eligible_domains() {
        // ids: z2 → 0, z1 → 1, z3 → 2; z3 is not eligible.
        let mut dense = DenseCounts::new(zones(), &[true, true, false]);
        dense.count_at_id(0);
        dense.count_at_id(0);
        dense.count_at_id(2);
        let mut counts = DomainCounts::Dense(dense);
        assert_eq!(counts.to_map(), BTreeMap::from([("z1".to_owned(), 0), ("z2".to_owned(), 2)]));
        assert_eq!((counts.len(), counts.get("z2"), counts.get("z3")), (2, Some(2), None));
        let DomainCounts::Dense(dense) = &counts else { panic!("still dense") };
        assert_eq!(
            (0..4).map(|position| dense.at_position(position)).collect::<Vec<_>>(),
            [NodeDomain::Count(2), NodeDomain::Unlabelled, NodeDomain::Count(0), NodeDomain::Count(0)]
        );

        assert_eq!(counts.add("z3", 1), 1, "a Pod added in an ineligible domain makes it eligible");
        assert_eq!((counts.len(), counts.get("z3")), (3, Some(1)));
        assert_eq!(counts.add("z9", -1), -1, "a value no node has turns the counts into a map");
        assert!(matches!(counts, DomainCounts::ByValue(_)));
        assert_eq!(
            counts.to_map(),
            BTreeMap::from([("z1".to_owned(), 0), ("z2".to_owned(), 2), ("z3".to_owned(), 1), ("z9".to_owned(), -1)])
        );
    }
}
