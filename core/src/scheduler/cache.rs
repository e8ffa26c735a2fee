//! The scheduler's cache: one NodeInfo per node, updated incrementally from Node and Pod watch
//! events and from the scheduler's own assumptions (assume → finish binding → confirmed by the
//! watch, or forgotten), and copied into a [`Snapshot`] per cycle in time proportional to what
//! changed (kube-scheduler's `internal/cache`).
//!
//! NodeInfos live behind `Arc`s shared with the snapshot; a change copies only the NodeInfo it
//! touches (`Arc::make_mut`), and a generation index tells the snapshot which ones moved.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1 as core;

use super::fast_map::FastHashMap;
use super::limits::ASSUMED_POD_EXPIRATION;
use super::listers::{ClusterObjects, ListerObject};
use super::node_counters::NodeCounters;
use super::node_info::{NodeInfo, PodInfo, PodKey};
use super::node_tree::{NodeTree, zone_key};
use super::snapshot::Snapshot;
use super::topology_domains::DenseTopology;
use crate::jiff::{SignedDuration, Timestamp};

/// Why the cache refused an update.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// A Pod was assumed or added twice.
    #[error("pod {key} is already in the cache")]
    PodAlreadyInCache {
        /// The Pod's key.
        key: String,
    },
    /// A Pod to update, forget or remove is not known.
    #[error("pod {key} is not in the cache")]
    PodNotInCache {
        /// The Pod's key.
        key: String,
    },
    /// A Pod to forget or finish binding was not assumed.
    #[error("pod {key} was not assumed")]
    PodNotAssumed {
        /// The Pod's key.
        key: String,
    },
    /// A Pod to assume has no node name.
    #[error("pod {key} has no node to be assumed on")]
    PodWithoutNode {
        /// The Pod's key.
        key: String,
    },
}

#[derive(Clone, Debug)]
struct PodState {
    pod: Arc<PodInfo>,
    node_name: String,
    assumed: bool,
    /// When the assumption expires, once binding finished (never when expiration is zero).
    deadline: Option<Timestamp>,
}

/// The cache of NodeInfos and Pod placements.
#[derive(Clone, Debug, Default)]
pub struct Cache {
    nodes: BTreeMap<String, Arc<NodeInfo>>,
    zones: BTreeMap<String, String>,
    node_tree: NodeTree,
    pods: FastHashMap<PodKey, PodState>,
    assumed: BTreeSet<PodKey>,
    /// The assumptions that expire, by deadline, so that expiry visits only what is due
    /// (Kubernetes scans every assumed pod each second; this keeps the cost per event flat).
    expiring: BTreeSet<(Timestamp, PodKey)>,
    /// How long a finished binding stays assumed without the watch confirming it; zero: forever.
    assumed_pod_expiration: Duration,
    generation: u64,
    /// The latest generation of each node, so a snapshot finds what changed since its own.
    by_generation: BTreeMap<u64, String>,
    /// Bumped when nodes are added or removed (the snapshot's list must be rebuilt).
    tree_generation: u64,
    /// Which nodes hold each image.
    image_nodes: BTreeMap<String, BTreeSet<String>>,
    images_changed: bool,
    /// Namespaces and workload selectors; shared with snapshots, copied on write.
    objects: Arc<ClusterObjects>,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Cache {
        Cache { assumed_pod_expiration: ASSUMED_POD_EXPIRATION, ..Cache::default() }
    }

    /// An empty cache whose finished bindings expire after `expiration` unless confirmed
    /// (kube-scheduler's cache `ttl`; [`ASSUMED_POD_EXPIRATION`] by default).
    pub fn with_assumed_pod_expiration(expiration: Duration) -> Cache {
        Cache { assumed_pod_expiration: expiration, ..Cache::default() }
    }

    /// Mutable access to one node's info, creating it if needed, with its generation bumped.
    fn touch(&mut self, name: &str) -> &mut NodeInfo {
        self.generation += 1;
        let generation = self.generation;
        let info = self.nodes.entry(name.to_owned()).or_insert_with(|| Arc::new(NodeInfo::without_node(name)));
        let info = Arc::make_mut(info);
        self.by_generation.remove(&info.generation);
        info.generation = generation;
        self.by_generation.insert(generation, name.to_owned());
        info
    }

    fn set_images(&mut self, name: &str, old: &BTreeMap<String, i64>, new: &BTreeMap<String, i64>) {
        if old.keys().eq(new.keys()) {
            return;
        }
        for image in old.keys() {
            if let Some(nodes) = self.image_nodes.get_mut(image) {
                nodes.remove(name);
                if nodes.is_empty() {
                    self.image_nodes.remove(image);
                }
            }
        }
        for image in new.keys() {
            self.image_nodes.entry(image.clone()).or_default().insert(name.to_owned());
        }
        self.images_changed = true;
    }

    /// A Node was added or updated.
    pub fn add_or_update_node(&mut self, node: Arc<core::Node>) {
        let name = node.metadata.name.clone().unwrap_or_default();
        let zone = zone_key(&node);
        let had_node = self.nodes.get(&name).is_some_and(|info| info.node().is_some());
        let old_zone = self.zones.insert(name.clone(), zone.clone());
        if !had_node || old_zone.as_deref() != Some(zone.as_str()) {
            if let Some(old_zone) = old_zone.filter(|_| had_node) {
                self.node_tree.remove(&old_zone, &name);
            }
            self.node_tree.add(&zone, &name);
            self.tree_generation += 1;
        }
        let info = self.touch(&name);
        let old_images = std::mem::take(&mut info.image_sizes);
        info.set_node(node);
        let new_images = info.image_sizes.clone();
        self.set_images(&name, &old_images, &new_images);
    }

    /// A Node was deleted. Its Pods stay accounted until they are deleted too.
    pub fn remove_node(&mut self, name: &str) {
        let Some(info) = self.nodes.get(name) else {
            return;
        };
        let old_images = info.image_sizes.clone();
        let empty = info.pods.is_empty();
        if let Some(zone) = self.zones.remove(name) {
            self.node_tree.remove(&zone, name);
        }
        self.tree_generation += 1;
        self.set_images(name, &old_images, &BTreeMap::new());
        if empty {
            if let Some(info) = self.nodes.remove(name) {
                self.by_generation.remove(&info.generation);
            }
            self.generation += 1;
        } else {
            self.touch(name).remove_node();
        }
    }

    fn add_pod_to_node(&mut self, pod: Arc<PodInfo>, node_name: &str) {
        self.touch(node_name).add_pod(pod);
    }

    fn remove_pod_from_node(&mut self, key: &PodKey, node_name: &str) {
        if !self.nodes.contains_key(node_name) {
            return;
        }
        let info = self.touch(node_name);
        info.remove_pod(key);
        if info.node().is_none()
            && info.pods.is_empty()
            && let Some(info) = self.nodes.remove(node_name)
        {
            self.by_generation.remove(&info.generation);
        }
    }

    /// The scheduler decided to place a Pod (its `spec.nodeName` set to the chosen node): account
    /// it now, before the binding is confirmed, so the next cycle sees the resources as taken.
    pub fn assume_pod(&mut self, pod: Arc<PodInfo>) -> Result<(), CacheError> {
        let key = pod.key.clone();
        if self.pods.contains_key(&key) {
            return Err(CacheError::PodAlreadyInCache { key: key.0 });
        }
        let node_name = pod.node_name().to_owned();
        if node_name.is_empty() {
            return Err(CacheError::PodWithoutNode { key: key.0 });
        }
        self.add_pod_to_node(Arc::clone(&pod), &node_name);
        self.pods.insert(key.clone(), PodState { pod, node_name, assumed: true, deadline: None });
        self.assumed.insert(key);
        Ok(())
    }

    /// The binding request was sent: the assumption now expires after the cache's expiration
    /// ([`ASSUMED_POD_EXPIRATION`] by default) unless the watch confirms it (never, with
    /// Kubernetes' zero).
    pub fn finish_binding(&mut self, key: &PodKey, now: Timestamp) -> Result<(), CacheError> {
        let state = self.pods.get_mut(key).ok_or_else(|| CacheError::PodNotInCache { key: key.0.clone() })?;
        if !state.assumed {
            return Err(CacheError::PodNotAssumed { key: key.0.clone() });
        }
        if !self.assumed_pod_expiration.is_zero() {
            let expiration = SignedDuration::try_from(self.assumed_pod_expiration).unwrap_or(SignedDuration::MAX);
            if let Some(old) = state.deadline.take() {
                self.expiring.remove(&(old, key.clone()));
            }
            state.deadline = now.checked_add(expiration).ok();
            if let Some(deadline) = state.deadline {
                self.expiring.insert((deadline, key.clone()));
            }
        }
        Ok(())
    }

    /// Undoes an assumption (binding failed or a later point rejected the Pod).
    pub fn forget_pod(&mut self, key: &PodKey) -> Result<(), CacheError> {
        let state = self.pods.get(key).ok_or_else(|| CacheError::PodNotInCache { key: key.0.clone() })?;
        if !state.assumed {
            return Err(CacheError::PodNotAssumed { key: key.0.clone() });
        }
        let node_name = state.node_name.clone();
        self.remove_pod_from_node(key, &node_name);
        self.forget_state(key);
        Ok(())
    }

    /// A bound Pod appeared in the watch: confirms an assumption (moving it if the API put it
    /// elsewhere) or accounts a Pod bound by someone else.
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) -> Result<(), CacheError> {
        let key = pod.key.clone();
        let node_name = pod.node_name().to_owned();
        match self.pods.get(&key) {
            Some(state) if state.assumed => {
                let old_node = state.node_name.clone();
                self.remove_pod_from_node(&key, &old_node);
                self.add_pod_to_node(Arc::clone(&pod), &node_name);
                self.assumed.remove(&key);
            }
            Some(_) => return Err(CacheError::PodAlreadyInCache { key: key.0 }),
            None => self.add_pod_to_node(Arc::clone(&pod), &node_name),
        }
        self.forget_state(&key);
        self.pods.insert(key, PodState { pod, node_name, assumed: false, deadline: None });
        Ok(())
    }

    /// A bound Pod changed.
    pub fn update_pod(&mut self, pod: Arc<PodInfo>) -> Result<(), CacheError> {
        let key = pod.key.clone();
        let state = self.pods.get(&key).ok_or_else(|| CacheError::PodNotInCache { key: key.0.clone() })?;
        if state.assumed {
            return self.add_pod(pod);
        }
        let old_node = state.node_name.clone();
        self.remove_pod_from_node(&key, &old_node);
        let node_name = pod.node_name().to_owned();
        self.add_pod_to_node(Arc::clone(&pod), &node_name);
        self.pods.insert(key, PodState { pod, node_name, assumed: false, deadline: None });
        Ok(())
    }

    /// A bound Pod was deleted (or finished).
    pub fn remove_pod(&mut self, key: &PodKey) -> Result<(), CacheError> {
        let node_name =
            self.pods.get(key).ok_or_else(|| CacheError::PodNotInCache { key: key.0.clone() })?.node_name.clone();
        self.remove_pod_from_node(key, &node_name);
        self.forget_state(key);
        Ok(())
    }

    /// Drops a Pod's state, its assumption and its place in the expiry order.
    fn forget_state(&mut self, key: &PodKey) {
        if let Some(state) = self.pods.remove(key)
            && let Some(deadline) = state.deadline
        {
            self.expiring.remove(&(deadline, key.clone()));
        }
        self.assumed.remove(key);
    }

    /// Forgets assumptions whose binding finished longer ago than the expiration; returns them
    /// in deadline order. Visits only the expired ones.
    pub fn cleanup_expired_assumed_pods(&mut self, now: Timestamp) -> Vec<PodKey> {
        let mut expired = Vec::new();
        while let Some((deadline, _)) = self.expiring.first() {
            if *deadline > now {
                break;
            }
            let (_, key) = self.expiring.pop_first().expect("the first entry was just seen");
            // Only assumed pods carry a deadline, so forgetting cannot fail.
            let _ = self.forget_pod(&key);
            expired.push(key);
        }
        expired
    }

    /// Whether a Pod is assumed and not yet confirmed.
    pub fn is_assumed(&self, key: &PodKey) -> bool {
        self.assumed.contains(key)
    }

    /// The Pod the cache holds under a key, and its node.
    pub fn pod(&self, key: &PodKey) -> Option<(&Arc<PodInfo>, &str)> {
        self.pods.get(key).map(|state| (&state.pod, state.node_name.as_str()))
    }

    /// The lister objects the cache holds.
    pub fn objects(&self) -> &ClusterObjects {
        &self.objects
    }

    /// A lister object (Namespace, Service, workload, PersistentVolume, PersistentVolumeClaim,
    /// StorageClass) was added or changed.
    pub fn apply_object(&mut self, object: &ListerObject) {
        Arc::make_mut(&mut self.objects).apply(object);
    }

    /// A lister object was deleted.
    pub fn delete_object(&mut self, object: &ListerObject) {
        Arc::make_mut(&mut self.objects).delete(object);
    }

    /// How many nodes have a Node object.
    pub fn node_count(&self) -> usize {
        self.node_tree.len()
    }

    /// How many Pods are accounted (assumed included).
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    /// One node's current info (also for nodes only known through their Pods).
    pub fn node_info(&self, name: &str) -> Option<&Arc<NodeInfo>> {
        self.nodes.get(name)
    }

    /// Brings a snapshot up to date, copying only the `Arc`s of nodes changed since it was taken
    /// and rebuilding the ordered list only when nodes were added or removed.
    pub fn update_snapshot(&mut self, snapshot: &mut Snapshot) {
        let rebuild_list = snapshot.tree_generation != self.tree_generation;
        let mut topology_changed = false;
        if !rebuild_list {
            for name in self.by_generation.range(snapshot.generation + 1..).map(|(_, name)| name) {
                let (Some(info), Some(position)) = (self.nodes.get(name), snapshot.index.get(name)) else {
                    continue;
                };
                let old = &snapshot.node_info_list[*position];
                snapshot.pod_index.replace_node(*position, old, info);
                topology_changed |= DenseTopology::affected_by(old, info);
                snapshot.node_info_list[*position] = Arc::clone(info);
                snapshot.counters[*position] = NodeCounters::of(info);
            }
        }
        if rebuild_list {
            snapshot.node_info_list = self
                .node_tree
                .list()
                .iter()
                .filter_map(|name| self.nodes.get(name))
                .filter(|info| info.node().is_some())
                .cloned()
                .collect();
            snapshot.rebuild_indexes();
            snapshot.tree_generation = self.tree_generation;
        } else if topology_changed {
            snapshot.dense_topology = DenseTopology::build(&snapshot.node_info_list);
        }
        if self.images_changed || rebuild_list {
            let counts = self.image_nodes.iter().map(|(image, nodes)| (image.clone(), nodes.len())).collect();
            snapshot.image_node_counts = Arc::new(counts);
            self.images_changed = false;
        }
        if !Arc::ptr_eq(&snapshot.objects, &self.objects) {
            snapshot.objects = Arc::clone(&self.objects);
        }
        snapshot.generation = self.generation;
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
