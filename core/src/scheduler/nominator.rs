//! The Pods nominated to nodes by preemption and not bound yet (kube-scheduler's
//! `PodNominator`): filtering counts them on their node as if they ran there, so that the room
//! preemption made is kept for the Pod it was made for rather than taken by a lower-priority Pod.

use std::sync::Arc;

use super::fast_map::FastHashMap;
use super::node_info::{PodInfo, PodKey};

/// Nominated Pods by node, in the order they were nominated.
#[derive(Clone, Debug, Default)]
pub struct Nominator {
    /// Looked up by node name, so hashed; iterated only to build sets (see [`Nominator::nodes`]),
    /// so its order cannot leak.
    by_node: FastHashMap<String, Vec<Arc<PodInfo>>>,
    /// The node of each nominated Pod, for lookups only (never iterated).
    node_of: FastHashMap<PodKey, String>,
}

impl Nominator {
    /// No nominations.
    pub fn new() -> Nominator {
        Nominator::default()
    }

    /// Whether no Pod is nominated anywhere (the filters' fast path).
    pub fn is_empty(&self) -> bool {
        self.node_of.is_empty()
    }

    /// How many Pods are nominated.
    pub fn len(&self) -> usize {
        self.node_of.len()
    }

    /// Nominates a Pod to a node, replacing any earlier nomination of the same Pod
    /// (`AddNominatedPod`). An empty node name only removes the nomination.
    pub fn add(&mut self, pod: Arc<PodInfo>, node_name: &str) {
        self.delete(&pod.key);
        if node_name.is_empty() {
            return;
        }
        self.node_of.insert(pod.key.clone(), node_name.to_owned());
        self.by_node.entry(node_name.to_owned()).or_default().push(pod);
    }

    /// Forgets a Pod's nomination, if any (`DeleteNominatedPodIfExists`); returns the node it was
    /// nominated to.
    pub fn delete(&mut self, key: &PodKey) -> Option<String> {
        let node_name = self.node_of.remove(key)?;
        if let Some(pods) = self.by_node.get_mut(&node_name) {
            pods.retain(|pod| pod.key != *key);
            if pods.is_empty() {
                self.by_node.remove(&node_name);
            }
        }
        Some(node_name)
    }

    /// The node a Pod is nominated to.
    pub fn node_of(&self, key: &PodKey) -> Option<&str> {
        self.node_of.get(key).map(String::as_str)
    }

    /// The nodes with at least one Pod nominated, with those Pods, in no particular order:
    /// for building a set, never for anything whose order shows.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &[Arc<PodInfo>])> {
        self.by_node.iter().map(|(node, pods)| (node.as_str(), pods.as_slice()))
    }

    /// The Pods nominated to a node, in nomination order (`NominatedPodsForNode`).
    pub fn pods_for_node(&self, node_name: &str) -> &[Arc<PodInfo>] {
        self.by_node.get(node_name).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::testing::make_pod;

    #[test]
    fn renominating_a_pod_moves_it_and_deleting_forgets_it() {
        let mut nominator = Nominator::new();
        let pod = Arc::new(make_pod("p").info());
        nominator.add(Arc::clone(&pod), "node1");
        nominator.add(Arc::new(make_pod("q").info()), "node1");
        nominator.add(Arc::clone(&pod), "node2");
        assert_eq!(nominator.pods_for_node("node1").iter().map(|pod| pod.name()).collect::<Vec<_>>(), ["q"]);
        assert_eq!(nominator.node_of(&pod.key), Some("node2"));
        assert_eq!(nominator.delete(&pod.key).as_deref(), Some("node2"));
        assert!(nominator.pods_for_node("node2").is_empty());
        nominator.add(Arc::new(make_pod("q").info()), "");
        assert!(nominator.is_empty());
    }
}
