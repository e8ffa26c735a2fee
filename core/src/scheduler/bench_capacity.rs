//! Whether a synthetic bench cluster is built to fit: a sufficient condition, computed from the
//! cluster alone, under which every pending Pod must bind, so that `cox bench schedule` can
//! fail when one stays unschedulable instead of reporting a fast run that placed fewer Pods.
//!
//! The argument: a Pod fails only if every node is blocked for it. A node is blocked by
//! resources only once it holds `t` Pods that count (`t` = how many of the largest counted Pod
//! fit in its CPU, memory and Pod count), so at most `(counted − 1) / t_min` nodes can be. A node
//! is blocked by required hostname anti-affinity only if it holds a Pod of the same application
//! (at most `pods per application − 1` nodes), and a zone spread constraint (maxSkew 1) leaves
//! at least the least crowded zone open, which resources alone must then block entirely. When
//! the workload preempts, the low-priority fillers can always be evicted and do not count.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;

use super::bench::{APP_LABEL, BenchCluster, BenchConfig};
use super::node_tree::LABEL_TOPOLOGY_ZONE;
use super::resource::{Resource, pod_requests};

/// The largest CPU and memory request among the Pods.
fn largest_requests<'a>(pods: impl Iterator<Item = &'a core::Pod>) -> (i64, i64) {
    pods.filter_map(|pod| pod.spec.as_ref())
        .map(|spec| pod_requests(spec).requests)
        .fold((0, 0), |(cpu, memory), requests| (cpu.max(requests.milli_cpu), memory.max(requests.memory)))
}

/// How many Pods of at most `cpu` and `memory` a node holds before it may refuse one more.
fn pods_before_blocked(node: &core::Node, cpu: i64, memory: i64) -> i64 {
    let allocatable = Resource::from_list(node.status.as_ref().and_then(|status| status.allocatable.as_ref()));
    let by_cpu = if cpu > 0 { allocatable.milli_cpu / cpu } else { i64::MAX };
    let by_memory = if memory > 0 { allocatable.memory / memory } else { i64::MAX };
    by_cpu.min(by_memory).min(allocatable.allowed_pod_number)
}

/// The most pending Pods of one application that carry the constraint `has`.
fn most_per_application(cluster: &BenchCluster, has: impl Fn(&core::PodSpec) -> bool) -> Option<i64> {
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for pod in &cluster.pending_pods {
        if !pod.spec.as_ref().is_some_and(&has) {
            continue;
        }
        let app = pod.metadata.labels.as_ref().and_then(|labels| labels.get(APP_LABEL));
        *counts.entry(app.map_or("", String::as_str)).or_default() += 1;
    }
    counts.values().copied().max()
}

/// Whether every pending Pod of this cluster must bind (see the module documentation); `false`
/// means the run may legitimately leave Pods unschedulable.
pub fn built_to_fit(cluster: &BenchCluster, config: &BenchConfig) -> bool {
    let node_count = cluster.nodes.len() as i64;
    if node_count == 0 {
        return cluster.pending_pods.is_empty();
    }
    let counted: Vec<&core::Pod> = if config.workload.fills_nodes() {
        cluster.pending_pods.iter().map(AsRef::as_ref).collect()
    } else {
        cluster.existing_pods.iter().chain(&cluster.pending_pods).map(AsRef::as_ref).collect()
    };
    let (cpu, memory) = largest_requests(counted.iter().copied());
    let per_node: Vec<i64> = cluster.nodes.iter().map(|node| pods_before_blocked(node, cpu, memory)).collect();
    let fewest = per_node.iter().copied().min().unwrap_or(0);
    let counted_pods = counted.len() as i64;
    if counted_pods == 0 {
        return true;
    }
    if fewest == 0 || counted_pods > per_node.iter().sum::<i64>() {
        return false;
    }
    let most_blocked_by_resources = (counted_pods - 1) / fewest;
    let anti_affinity = |spec: &core::PodSpec| spec.affinity.is_some();
    if let Some(most) = most_per_application(cluster, anti_affinity)
        && most - 1 + most_blocked_by_resources >= node_count
    {
        return false;
    }
    let spread = |spec: &core::PodSpec| spec.topology_spread_constraints.is_some();
    if most_per_application(cluster, spread).is_some() {
        let mut zones: BTreeMap<&str, i64> = BTreeMap::new();
        for node in &cluster.nodes {
            let zone = node.metadata.labels.as_ref().and_then(|labels| labels.get(LABEL_TOPOLOGY_ZONE));
            *zones.entry(zone.map_or("", String::as_str)).or_default() += 1;
        }
        let smallest_zone = zones.values().copied().min().unwrap_or(0);
        if most_blocked_by_resources >= smallest_zone {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::bench::{Workload, build_cluster};

    fn fits(nodes: usize, existing_pods: usize, pods: usize, workload: Workload) -> bool {
        let config = BenchConfig { nodes, existing_pods, pods, workload, ..BenchConfig::default() };
        built_to_fit(&build_cluster(&config), &config)
    }

    #[test]
    fn the_issue_workloads_are_built_to_fit() {
        assert!(fits(500, 0, 1_000, Workload::Basic));
        assert!(fits(500, 15_000, 200, Workload::Basic));
        assert!(fits(500, 0, 1_000, Workload::Affinity));
        assert!(fits(500, 0, 1_000, Workload::Spread));
        assert!(fits(500, 2_000, 200, Workload::Preemption));
        assert!(fits(500, 2_000, 200, Workload::Mixed));
    }

    #[test]
    fn overfull_clusters_are_not_built_to_fit() {
        // 3 nodes of at most 64 cores take at most 3 × 110 Pods.
        assert!(!fits(3, 0, 400, Workload::Basic));
        // 100 applications of 10 Pods each need 10 nodes for hostname anti-affinity.
        assert!(!fits(5, 0, 1_000, Workload::Affinity));
        // Each node takes at most 8 preemptors of 8 CPUs.
        assert!(!fits(3, 12, 30, Workload::Preemption));
    }
}
