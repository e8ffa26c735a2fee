//! Counts of matching Pods per topology key and domain (Kubernetes'
//! `topologyToMatchedTermCount`), kept by the snapshot's dense domain id for the well-known keys
//! (hostname, zone, region) and by label value for the others.
//!
//! PreFilter counts the Pods it finds by their node's snapshot position: for a dense key that
//! is one array write, where counting by value reads the node's label map (a cache miss and a
//! string search per Pod) and hashes the value. The batch Filter then reads the same arrays by
//! position without converting them. AddPod and RemovePod (preemption's dry run, nominated
//! Pods) name a node rather than a position and go through its label value; a value no node of
//! the snapshot has turns that key's counts back into a map by value.

use std::collections::BTreeMap;

use super::dense_totals::DenseTotals;
use crate::scheduler::fast_map::FastHashMap;
use crate::scheduler::snapshot::Snapshot;

/// One topology key's counts.
#[derive(Clone, Debug)]
enum KeyCounts {
    /// By domain id; `nonzero` domains hold a count other than zero.
    Dense { totals: DenseTotals, nonzero: usize },
    /// By label value; counts back at zero are removed.
    ByValue(FastHashMap<String, i64>),
}

/// Counts per topology key and domain. A key is present while some domain's count is not zero.
/// Never iterated where order could show; equality compares the counts, not their layout.
#[derive(Clone, Debug, Default)]
pub struct TopologyCounts(FastHashMap<String, KeyCounts>);

impl TopologyCounts {
    /// Adds `delta` to the domain of `topology_key` of the node at a snapshot position, if the
    /// node has that label.
    pub fn add_at(&mut self, snapshot: &Snapshot, position: usize, topology_key: &str, delta: i64) {
        match self.0.get_mut(topology_key) {
            Some(KeyCounts::Dense { totals, nonzero }) => {
                if let Some(id) = totals.domain_at(position) {
                    *nonzero = bump(totals.count_mut(id), delta, *nonzero);
                    if *nonzero == 0 {
                        self.0.remove(topology_key);
                    }
                }
            }
            Some(KeyCounts::ByValue(_)) => self.update(snapshot.list()[position].labels(), topology_key, delta),
            None => match snapshot.shared_topology_domains(topology_key) {
                Some(domains) => {
                    let mut totals = DenseTotals::zero(domains);
                    if let Some(id) = totals.domain_at(position) {
                        let nonzero = bump(totals.count_mut(id), delta, 0);
                        if nonzero > 0 {
                            self.0.insert(topology_key.to_owned(), KeyCounts::Dense { totals, nonzero });
                        }
                    }
                }
                None => self.update(snapshot.list()[position].labels(), topology_key, delta),
            },
        }
    }

    /// Adds `delta` to the node's domain of `topology_key`, if the node has that label; a count
    /// back at zero is removed.
    pub fn update(&mut self, node_labels: &BTreeMap<String, String>, topology_key: &str, delta: i64) {
        let Some(value) = node_labels.get(topology_key) else {
            return;
        };
        if let Some(KeyCounts::Dense { totals, nonzero }) = self.0.get_mut(topology_key) {
            match totals.id_of(value) {
                Some(id) => {
                    *nonzero = bump(totals.count_mut(id), delta, *nonzero);
                    if *nonzero == 0 {
                        self.0.remove(topology_key);
                    }
                    return;
                }
                None => {
                    let by_value = totals.by_value();
                    self.0.insert(topology_key.to_owned(), KeyCounts::ByValue(by_value));
                }
            }
        }
        if !self.0.contains_key(topology_key) {
            self.0.insert(topology_key.to_owned(), KeyCounts::ByValue(FastHashMap::default()));
        }
        let Some(KeyCounts::ByValue(values)) = self.0.get_mut(topology_key) else {
            return;
        };
        let count = match values.get_mut(value.as_str()) {
            Some(count) => count,
            None => values.entry(value.clone()).or_insert(0),
        };
        *count += delta;
        if *count == 0 {
            values.remove(value.as_str());
            if values.is_empty() {
                self.0.remove(topology_key);
            }
        }
    }

    /// The count of one domain.
    pub fn get(&self, topology_key: &str, value: &str) -> i64 {
        match self.0.get(topology_key) {
            Some(KeyCounts::Dense { totals, .. }) => totals.id_of(value).map_or(0, |id| totals.count(id)),
            Some(KeyCounts::ByValue(values)) => values.get(value).copied().unwrap_or(0),
            None => 0,
        }
    }

    /// Whether any domain of the node (any of its labels, by the topology keys counted) has a
    /// positive count; visits the few counted keys rather than every label of the node.
    pub fn any_in_domains_of(&self, node_labels: &BTreeMap<String, String>) -> bool {
        self.0.keys().any(|key| node_labels.get(key).is_some_and(|value| self.get(key, value) > 0))
    }

    /// Whether no domain has a count.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The counted topology keys, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// One key's counts by dense domain id, for the batch Filter; `None` when the key is not
    /// kept densely.
    pub fn dense_totals(&self, snapshot: &Snapshot, topology_key: &str) -> Option<DenseTotals> {
        match self.0.get(topology_key) {
            Some(KeyCounts::Dense { totals, .. }) => Some(totals.clone()),
            Some(KeyCounts::ByValue(values)) => DenseTotals::of(snapshot, topology_key, Some(values)),
            None => snapshot.shared_topology_domains(topology_key).map(DenseTotals::zero),
        }
    }

    /// Every `(key, value)` count, sorted: for tests and traces.
    pub fn pairs(&self) -> BTreeMap<(String, String), i64> {
        let mut pairs = BTreeMap::new();
        for (key, counts) in &self.0 {
            let by_value = match counts {
                KeyCounts::Dense { totals, .. } => totals.by_value(),
                KeyCounts::ByValue(values) => values.clone(),
            };
            pairs.extend(by_value.into_iter().map(|(value, count)| ((key.clone(), value), count)));
        }
        pairs
    }
}

impl PartialEq for TopologyCounts {
    fn eq(&self, other: &TopologyCounts) -> bool {
        self.pairs() == other.pairs()
    }
}

impl Eq for TopologyCounts {}

/// Adds `delta` to a count and returns how many domains hold a count other than zero after it,
/// given how many did before.
fn bump(count: &mut i64, delta: i64, nonzero: usize) -> usize {
    let was_zero = *count == 0;
    *count += delta;
    match (was_zero, *count == 0) {
        (true, false) => nonzero + 1,
        (false, true) => nonzero - 1,
        _ => nonzero,
    }
}

impl DenseTotals {
    /// The counts by value, zeros left out.
    fn by_value(&self) -> FastHashMap<String, i64> {
        self.nonzero().map(|(value, count)| (value.to_owned(), count)).collect()
    }
}
