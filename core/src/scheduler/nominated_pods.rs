//! The Pods nominated to each node that one scheduling attempt must count there
//! (`RunFilterPluginsWithNominatedPods`): those at least as important as the Pod, other than the
//! Pod itself. Found once per attempt and read by snapshot position, by the filters and by
//! preemption's dry runs alike, instead of a lookup by node name for every node filtered.
//!
//! Each node holding counted Pods is also kept with them added ([`NominatedPods::prepared`]),
//! from attempt to attempt while neither the node nor its nominations change: filtering a node
//! with its nominated Pods otherwise copies the node for every attempt, and after a burst of
//! preemptions every attempt meets hundreds of such nodes.

use std::sync::Arc;

use super::fast_map::FastHashMap;
use super::node_info::{NodeInfo, PodInfo};
use super::nominator::Nominator;
use super::snapshot::Snapshot;

/// A snapshot node with the Pods nominated to it added one by one.
#[derive(Debug)]
struct PreparedNode {
    /// The snapshot's node it was built from (held, so the pointer stays its identity).
    source: Arc<NodeInfo>,
    /// The nominated Pods added, in order.
    nominated: Vec<Arc<PodInfo>>,
    /// The node after each Pod was added: `steps[i]` holds the first `i + 1`.
    steps: Vec<NodeInfo>,
    /// The refill that last confirmed it; older ones are dropped.
    refill: u64,
}

impl PreparedNode {
    fn build(source: &Arc<NodeInfo>, nominated: &[Arc<PodInfo>], refill: u64) -> PreparedNode {
        let mut steps: Vec<NodeInfo> = Vec::with_capacity(nominated.len());
        for pod in nominated {
            let mut step = steps.last().unwrap_or(source.as_ref()).clone();
            step.add_pod(Arc::clone(pod));
            steps.push(step);
        }
        PreparedNode { source: Arc::clone(source), nominated: nominated.to_vec(), steps, refill }
    }

    fn built_from(&self, source: &Arc<NodeInfo>, nominated: &[Arc<PodInfo>]) -> bool {
        Arc::ptr_eq(&self.source, source)
            && self.nominated.len() == nominated.len()
            && self.nominated.iter().zip(nominated).all(|(kept, pod)| Arc::ptr_eq(kept, pod))
    }
}

/// Per snapshot position, the nominated Pods an attempt counts on that node, in nomination order.
/// Kept by the scheduler and refilled for each attempt, so its storage is reused.
#[derive(Debug, Default)]
pub struct NominatedPods {
    /// By snapshot position, where the node's Pods start and end in `pods`; empty when no node
    /// holds a Pod that counts.
    ranges: Vec<(u32, u32)>,
    pods: Vec<Arc<PodInfo>>,
    /// By snapshot position, the nodes holding counted Pods, with them added.
    prepared: FastHashMap<usize, PreparedNode>,
    /// How many refills ran, to tell prepared nodes still in use.
    refills: u64,
}

impl NominatedPods {
    /// The table for `pod`'s attempt on `snapshot`.
    pub fn of(nominator: &Nominator, pod: &PodInfo, snapshot: &Snapshot) -> NominatedPods {
        let mut table = NominatedPods::default();
        table.refill(nominator, pod, snapshot);
        table
    }

    /// Refills the table for `pod`'s attempt on `snapshot`, reusing its storage.
    pub fn refill(&mut self, nominator: &Nominator, pod: &PodInfo, snapshot: &Snapshot) {
        self.ranges.clear();
        self.pods.clear();
        self.refills += 1;
        let refill = self.refills;
        for (node, nominated) in nominator.nodes() {
            let counted = |other: &&Arc<PodInfo>| other.priority >= pod.priority && other.key != pod.key;
            if !nominated.iter().any(|other| counted(&other)) {
                continue;
            }
            let Some(position) = snapshot.position(node) else { continue };
            if self.ranges.is_empty() {
                self.ranges.resize(snapshot.len(), (0, 0));
            }
            let start = self.pods.len() as u32;
            self.pods.extend(nominated.iter().filter(counted).cloned());
            self.ranges[position] = (start, self.pods.len() as u32);
            let counted = &self.pods[start as usize..];
            let source = &snapshot.list()[position];
            match self.prepared.get_mut(&position) {
                Some(prepared) if prepared.built_from(source, counted) => prepared.refill = refill,
                _ => {
                    self.prepared.insert(position, PreparedNode::build(source, counted, refill));
                }
            }
        }
        self.prepared.retain(|_, prepared| prepared.refill == refill);
    }

    /// The node at `position` after each Pod counted there was added ([`at`](Self::at)'s
    /// order, `[i]` holding the first `i + 1`): what filtering with the nominated Pods builds,
    /// built once for as long as the node and its nominations stay the same.
    pub fn prepared(&self, position: usize) -> Option<&[NodeInfo]> {
        self.prepared.get(&position).map(|prepared| prepared.steps.as_slice())
    }

    /// The Pods counted on the node at `position`, in nomination order.
    pub fn at(&self, position: usize) -> &[Arc<PodInfo>] {
        match self.ranges.get(position) {
            Some(&(start, end)) => &self.pods[start as usize..end as usize],
            None => &[],
        }
    }

    /// Whether no node holds a Pod that counts.
    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::node_info::NodeInfo;
    use crate::scheduler::testing::{make_node, make_pod};

    fn pod_info(name: &str, priority: i32) -> Arc<PodInfo> {
        Arc::new(make_pod(name).priority(priority).info())
    }

    #[test]
    fn only_pods_at_least_as_important_and_not_the_pod_itself_count_on_their_node() {
        let snapshot = Snapshot::from_node_infos(
            ["a", "b", "c"].iter().map(|name| NodeInfo::new(Arc::new(make_node(name).obj()))).collect(),
        );
        let mut nominator = Nominator::new();
        let pod = pod_info("pod", 100);
        nominator.add(Arc::clone(&pod), "a");
        nominator.add(pod_info("low", 99), "a");
        nominator.add(pod_info("equal", 100), "b");
        nominator.add(pod_info("high", 200), "b");
        nominator.add(pod_info("elsewhere", 300), "gone");

        let table = NominatedPods::of(&nominator, &pod, &snapshot);
        let names =
            |position: usize| table.at(position).iter().map(|other| other.name().to_owned()).collect::<Vec<_>>();
        assert!(names(snapshot.position("a").unwrap()).is_empty());
        assert_eq!(names(snapshot.position("b").unwrap()), ["equal", "high"]);
        assert!(names(snapshot.position("c").unwrap()).is_empty());
        assert!(names(99).is_empty());
        assert!(!table.is_empty());
        let on_b = table.prepared(snapshot.position("b").unwrap()).expect("Pods count on b");
        let step_names = |step: &NodeInfo| step.pods.iter().map(|other| other.name().to_owned()).collect::<Vec<_>>();
        assert_eq!(on_b.iter().map(step_names).collect::<Vec<_>>(), [vec!["equal"], vec!["equal", "high"]]);
        assert!(table.prepared(snapshot.position("a").unwrap()).is_none(), "nothing counts on a");

        nominator.add(pod_info("only", 500), "c");
        let c = snapshot.position("c").unwrap();
        let mut table = table;
        table.refill(&nominator, &pod, &snapshot);
        let prepared = table.prepared(c).expect("one Pod counts on c");
        assert_eq!(prepared.iter().map(step_names).collect::<Vec<_>>(), [vec!["only"]]);
        // The steps stay where they were allocated while the prepared node is kept.
        let first = prepared.as_ptr();
        table.refill(&nominator, &pod, &snapshot);
        assert_eq!(first, table.prepared(c).unwrap().as_ptr(), "unchanged, the prepared node is kept");
        nominator.add(pod_info("replacement", 500), "c");
        nominator.delete(&pod_info("only", 500).key);
        table.refill(&nominator, &pod, &snapshot);
        let on_c = table.prepared(c).unwrap();
        assert_eq!(
            on_c.iter().map(step_names).collect::<Vec<_>>(),
            [vec!["replacement"]],
            "a new nomination rebuilds it"
        );

        let lowest = pod_info("lowest", 1000);
        table.refill(&nominator, &lowest, &snapshot);
        assert!(table.is_empty(), "nothing nominated outranks the Pod");
        assert!(table.at(snapshot.position("b").unwrap()).is_empty());
        assert!(table.prepared(snapshot.position("b").unwrap()).is_none(), "no longer counted, dropped");
    }
}
