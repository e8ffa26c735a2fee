//! The Pods nominated to each node that one scheduling attempt must count there
//! (`RunFilterPluginsWithNominatedPods`): those at least as important as the Pod, other than the
//! Pod itself. Found once per attempt and read by snapshot position, by the filters and by
//! preemption's dry runs alike, instead of a lookup by node name for every node filtered.

use std::sync::Arc;

use super::node_info::PodInfo;
use super::nominator::Nominator;
use super::snapshot::Snapshot;

/// Per snapshot position, the nominated Pods an attempt counts on that node, in nomination order.
/// Kept by the scheduler and refilled for each attempt, so its storage is reused.
#[derive(Debug, Default)]
pub struct NominatedPods {
    /// By snapshot position, where the node's Pods start and end in `pods`; empty when no node
    /// holds a Pod that counts.
    ranges: Vec<(u32, u32)>,
    pods: Vec<Arc<PodInfo>>,
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
        }
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

        let lowest = pod_info("lowest", 1000);
        let mut table = table;
        table.refill(&nominator, &lowest, &snapshot);
        assert!(table.is_empty(), "nothing nominated outranks the Pod");
        assert!(table.at(snapshot.position("b").unwrap()).is_empty());
    }
}
