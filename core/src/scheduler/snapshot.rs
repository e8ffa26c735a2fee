//! The per-cycle view of the cluster: every NodeInfo behind an `Arc`, in node-tree order, taken
//! from the cache in time proportional to what changed since the last cycle (kube-scheduler's
//! `Snapshot` and `Cache.UpdateSnapshot`).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::fast_map::FastHashMap;
use super::listers::ClusterObjects;
use super::node_counters::NodeCounters;
use super::node_info::NodeInfo;
use super::node_info::PodInfo;
use super::pod_affinity::AffinityTerm;
use super::pod_index::{Candidates, IndexedPod, PodIndex};
use super::topology_domains::{DenseTopology, TopologyDomains};
use crate::selector::LabelSelector;

/// An immutable view of the nodes for one scheduling cycle.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Nodes with a Node object, in node-tree order.
    pub(super) node_info_list: Vec<Arc<NodeInfo>>,
    /// Each node's counters, aligned with `node_info_list` (see [`NodeCounters`]).
    pub(super) counters: Vec<NodeCounters>,
    /// Position of each node in `node_info_list`, for lookups only (never iterated).
    pub(super) index: FastHashMap<String, usize>,
    /// How many nodes hold each image, by normalized name.
    pub(super) image_node_counts: Arc<BTreeMap<String, usize>>,
    /// The placed Pods by label and by the labels their affinity terms pin.
    pub(super) pod_index: PodIndex,
    /// The well-known topology labels of every node, as dense arrays.
    pub(super) dense_topology: DenseTopology,
    /// Namespaces and workload selectors, as the listers hold them.
    pub(super) objects: Arc<ClusterObjects>,
    /// The cache generation this snapshot reflects.
    pub(super) generation: u64,
    /// The cache's node-set generation this snapshot's list reflects.
    pub(super) tree_generation: u64,
}

impl Snapshot {
    /// An empty snapshot, to be filled by `Cache::update_snapshot`.
    pub fn new() -> Snapshot {
        Snapshot::default()
    }

    /// Builds a snapshot straight from NodeInfos (tests and one-off evaluations).
    pub fn from_node_infos(infos: Vec<NodeInfo>) -> Snapshot {
        let mut image_node_counts = BTreeMap::new();
        for info in &infos {
            for image in info.image_sizes.keys() {
                *image_node_counts.entry(image.clone()).or_insert(0) += 1;
            }
        }
        let node_info_list: Vec<Arc<NodeInfo>> = infos.into_iter().map(Arc::new).collect();
        let mut snapshot =
            Snapshot { node_info_list, image_node_counts: Arc::new(image_node_counts), ..Snapshot::default() };
        snapshot.rebuild_indexes();
        snapshot
    }

    pub(super) fn rebuild_indexes(&mut self) {
        self.index =
            self.node_info_list.iter().enumerate().map(|(position, info)| (info.name().to_owned(), position)).collect();
        self.counters = self.node_info_list.iter().map(|info| NodeCounters::of(info)).collect();
        self.pod_index = PodIndex::build(&self.node_info_list);
        self.dense_topology = DenseTopology::build(&self.node_info_list);
    }

    /// The same snapshot with these lister objects (tests and one-off evaluations).
    pub fn with_objects(mut self, objects: ClusterObjects) -> Snapshot {
        self.objects = Arc::new(objects);
        self
    }

    /// Namespaces and workload selectors.
    pub fn objects(&self) -> &ClusterObjects {
        &self.objects
    }

    /// The placed Pods, indexed by label (each with its node's position in [`list`](Self::list)).
    pub fn pod_index(&self) -> &PodIndex {
        &self.pod_index
    }

    /// Calls `visit` with the position (in [`list`](Self::list)) and NodeInfo of a node and a
    /// placed Pod on it, for every placed Pod whose labels may satisfy `selector`:
    /// the Pods under the label values the selector pins, or every Pod when it pins none.
    /// Callers match each Pod in full; only how many are visited depends on the index.
    pub fn for_each_pod_possibly_matching(
        &self,
        selector: &LabelSelector,
        mut visit: impl FnMut(usize, &NodeInfo, &Arc<PodInfo>),
    ) {
        match self.pod_index.candidates(selector) {
            Candidates::Some(pods) => {
                for entry in pods {
                    visit(entry.node, &self.node_info_list[entry.node], &entry.pod);
                }
            }
            Candidates::All => {
                for (position, node) in self.node_info_list.iter().enumerate() {
                    for pod in &node.pods {
                        visit(position, node, pod);
                    }
                }
            }
        }
    }

    /// Calls `visit` with the position (in [`list`](Self::list)) of a node and a placed Pod on
    /// it, for every placed Pod `term` matches as [`AffinityTerm::matches`] with no namespace
    /// labels decides (the incoming Pod's terms, their namespace selectors resolved). Where the
    /// index settles the match, the Pods are not read.
    pub fn for_each_pod_matching(&self, term: &AffinityTerm, mut visit: impl FnMut(usize, &Arc<PodInfo>)) {
        let mut visit_entry = |entry: &IndexedPod| visit(entry.node, &entry.pod);
        if self.pod_index.visit_exact_matches(term, &mut visit_entry) {
            return;
        }
        self.for_each_pod_possibly_matching(&term.selector, |position, _, pod| {
            if term.matches(&pod.pod, None) {
                visit(position, pod);
            }
        });
    }

    /// Calls `visit` with every placed Pod that has affinity terms one of which may match a Pod
    /// with these labels (with its node's position and its terms' class).
    pub fn for_each_pod_with_terms_possibly_matching<'a>(
        &'a self,
        labels: Option<&BTreeMap<String, String>>,
        visit: impl FnMut(&'a IndexedPod),
    ) {
        self.pod_index.with_terms_possibly_matching(labels).into_iter().for_each(visit);
    }

    /// Each node's domain for a well-known topology label (hostname, zone, region), by position
    /// in [`list`](Self::list); `None` for other labels.
    pub fn topology_domains(&self, key: &str) -> Option<&TopologyDomains> {
        self.dense_topology.get(key)
    }

    /// [`topology_domains`](Self::topology_domains) behind its shared pointer, for a cycle
    /// state that reads it after PreFilter or PreScore.
    pub fn shared_topology_domains(&self, key: &str) -> Option<Arc<TopologyDomains>> {
        self.dense_topology.shared(key)
    }

    /// The listers' objects behind their shared pointer, for plugins that keep them in the
    /// cycle state for Filter (which sees only a node).
    pub fn shared_objects(&self) -> Arc<ClusterObjects> {
        Arc::clone(&self.objects)
    }

    /// Every node, in evaluation order.
    pub fn list(&self) -> &[Arc<NodeInfo>] {
        &self.node_info_list
    }

    /// Every node's counters, aligned with [`list`](Self::list).
    pub fn counters(&self) -> &[NodeCounters] {
        &self.counters
    }

    /// How many nodes there are.
    pub fn len(&self) -> usize {
        self.node_info_list.len()
    }

    /// Whether there is no node.
    pub fn is_empty(&self) -> bool {
        self.node_info_list.is_empty()
    }

    /// A node's position in [`list`](Self::list), by name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// One node by name.
    pub fn get(&self, name: &str) -> Option<&Arc<NodeInfo>> {
        self.index.get(name).map(|position| &self.node_info_list[*position])
    }

    /// Nodes with Pods that declare pod affinity or anti-affinity, in list order. Found by a
    /// scan when asked rather than kept per cycle: the plugins reach such Pods through the pod
    /// index, and keeping the list cost a pass over every node after each binding of one.
    pub fn have_pods_with_affinity(&self) -> impl Iterator<Item = &Arc<NodeInfo>> {
        self.node_info_list.iter().filter(|info| !info.pods_with_affinity.is_empty())
    }

    /// Nodes with Pods that declare required pod anti-affinity, in list order (found by a scan,
    /// as [`Snapshot::have_pods_with_affinity`]).
    pub fn have_pods_with_required_anti_affinity(&self) -> impl Iterator<Item = &Arc<NodeInfo>> {
        self.node_info_list.iter().filter(|info| !info.pods_with_required_anti_affinity.is_empty())
    }

    /// How many nodes hold an image (by normalized name).
    pub fn image_node_count(&self, image: &str) -> usize {
        self.image_node_counts.get(image).copied().unwrap_or(0)
    }
}
