//! The resource-allocation scorer shared by NodeResourcesFit and NodeResourcesBalancedAllocation
//! (kube-scheduler's `resourceAllocationScorer`): per configured resource, the node's
//! allocatable and what would be requested with the Pod placed, handed to a scoring function.

use std::borrow::Cow;

use serde::Deserialize;

use crate::scheduler::node_counters::NodeCounters;
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::resource::{CPU, EPHEMERAL_STORAGE, MEMORY, is_scalar_resource_name};

/// One resource a score considers, and its weight (`config.ResourceSpec`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceSpec {
    /// The resource name (`cpu`, `memory`, an extended resource).
    pub name: String,
    /// Its weight, 1 to 100.
    #[serde(default = "default_weight")]
    pub weight: i64,
}

fn default_weight() -> i64 {
    1
}

/// The default resources: CPU and memory, weight 1 each.
pub fn default_resources() -> Vec<ResourceSpec> {
    vec![ResourceSpec { name: CPU.to_owned(), weight: 1 }, ResourceSpec { name: MEMORY.to_owned(), weight: 1 }]
}

/// A scored resource's name resolved once, so scoring compares no strings for CPU and memory.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ResourceKind {
    Cpu,
    Memory,
    EphemeralStorage,
    /// A scalar (extended) resource, by name.
    Scalar(String),
    /// A name the scheduler does not account; always bypassed.
    Other,
}

impl ResourceKind {
    fn of(name: &str) -> ResourceKind {
        match name {
            CPU => ResourceKind::Cpu,
            MEMORY => ResourceKind::Memory,
            EPHEMERAL_STORAGE => ResourceKind::EphemeralStorage,
            other if is_scalar_resource_name(other) => ResourceKind::Scalar(other.to_owned()),
            _ => ResourceKind::Other,
        }
    }
}

/// What a scorer reads from a node and a Pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceAllocationScorer {
    /// The resources scored, in order.
    pub resources: Vec<ResourceSpec>,
    /// Use the real requests (BalancedAllocation) rather than the non-zero defaults (Fit).
    pub use_requested: bool,
    kinds: Vec<ResourceKind>,
}

impl ResourceAllocationScorer {
    /// A scorer over these resources.
    pub fn new(resources: Vec<ResourceSpec>, use_requested: bool) -> ResourceAllocationScorer {
        let kinds = resources.iter().map(|resource| ResourceKind::of(&resource.name)).collect();
        ResourceAllocationScorer { resources, use_requested, kinds }
    }

    /// The Pod's request for each configured resource.
    /// The pod's request list as PreScore cached it, or computed now when PreScore did not run
    /// (the framework lets Score run without it).
    pub fn cached_or_computed<'a>(&self, cached: Option<&'a Vec<i64>>, pod: &PodInfo) -> Cow<'a, [i64]> {
        match cached {
            Some(requests) => Cow::Borrowed(requests.as_slice()),
            None => Cow::Owned(self.pod_request_list(pod)),
        }
    }

    pub fn pod_request_list(&self, pod: &PodInfo) -> Vec<i64> {
        self.resources
            .iter()
            .map(|resource| match resource.name.as_str() {
                CPU if !self.use_requested => pod.requests.non_zero_milli_cpu,
                MEMORY if !self.use_requested => pod.requests.non_zero_memory,
                name => pod.requests.requests.get(name),
            })
            .collect()
    }

    /// The node's allocatable and requested-with-the-Pod of one resource; `(0, 0)` bypasses the
    /// resource (an extended resource the Pod does not request, or one the node lacks).
    fn allocatable_and_requested(&self, node: &NodeInfo, kind: &ResourceKind, pod_request: i64) -> (i64, i64) {
        let requested = if self.use_requested { &node.requested } else { &node.non_zero_requested };
        match kind {
            ResourceKind::Cpu => (node.allocatable.milli_cpu, requested.milli_cpu + pod_request),
            ResourceKind::Memory => (node.allocatable.memory, requested.memory + pod_request),
            ResourceKind::EphemeralStorage => {
                (node.allocatable.ephemeral_storage, node.requested.ephemeral_storage + pod_request)
            }
            ResourceKind::Scalar(_) if pod_request == 0 => (0, 0),
            ResourceKind::Scalar(name) => match node.allocatable.scalar_resources.get(name) {
                Some(allocatable) => (*allocatable, node.requested.get(name) + pod_request),
                None => (0, 0),
            },
            ResourceKind::Other => (0, 0),
        }
    }

    /// [`ResourceAllocationScorer::allocatable_and_requested`] read from the packed counters,
    /// going to the NodeInfo only for an extended resource.
    fn allocatable_and_requested_dense(
        &self,
        node: &NodeInfo,
        counters: &NodeCounters,
        kind: &ResourceKind,
        pod_request: i64,
    ) -> (i64, i64) {
        match kind {
            ResourceKind::Cpu => {
                let requested = if self.use_requested {
                    counters.requested_milli_cpu
                } else {
                    counters.non_zero_requested_milli_cpu
                };
                (counters.allocatable_milli_cpu, requested + pod_request)
            }
            ResourceKind::Memory => {
                let requested =
                    if self.use_requested { counters.requested_memory } else { counters.non_zero_requested_memory };
                (counters.allocatable_memory, requested + pod_request)
            }
            ResourceKind::EphemeralStorage => {
                (counters.allocatable_ephemeral_storage, counters.requested_ephemeral_storage + pod_request)
            }
            ResourceKind::Scalar(_) | ResourceKind::Other => self.allocatable_and_requested(node, kind, pod_request),
        }
    }

    /// The weights of CPU and memory when they are the resources scored, in that order (the
    /// default, and nearly every cluster's): then a batch reads two counters per node through
    /// [`ResourceAllocationScorer::cpu_and_memory`] instead of looking each resource up.
    pub fn cpu_then_memory(&self) -> Option<[i64; 2]> {
        match self.kinds.as_slice() {
            [ResourceKind::Cpu, ResourceKind::Memory] => Some([self.resources[0].weight, self.resources[1].weight]),
            _ => None,
        }
    }

    /// A node's requested CPU and memory with the Pod placed, and its allocatable CPU and
    /// memory, from its counters: what [`ResourceAllocationScorer::score_dense`] hands its
    /// scoring function when the resources are [`cpu_then_memory`](Self::cpu_then_memory),
    /// with a resource the node does not offer at `(0, 0)`.
    pub fn cpu_and_memory(&self, counters: &NodeCounters, pod_requests: &[i64]) -> ([i64; 2], [i64; 2]) {
        let (cpu, memory) = match self.use_requested {
            true => (counters.requested_milli_cpu, counters.requested_memory),
            false => (counters.non_zero_requested_milli_cpu, counters.non_zero_requested_memory),
        };
        let pod = |index: usize| pod_requests.get(index).copied().unwrap_or(0);
        let (cpu_allocatable, memory_allocatable) = (counters.allocatable_milli_cpu, counters.allocatable_memory);
        let requested = [
            if cpu_allocatable == 0 { 0 } else { cpu + pod(0) },
            if memory_allocatable == 0 { 0 } else { memory + pod(1) },
        ];
        (requested, [cpu_allocatable, memory_allocatable])
    }

    /// Scores a node: fills requested and allocatable per resource, then applies `scorer`.
    pub fn score(&self, node: &NodeInfo, pod_requests: &[i64], scorer: impl Fn(&[i64], &[i64]) -> i64) -> i64 {
        self.score_with(pod_requests, scorer, |kind, pod_request| {
            self.allocatable_and_requested(node, kind, pod_request)
        })
    }

    /// [`ResourceAllocationScorer::score`] from the node's packed counters: the same number,
    /// reading the NodeInfo only for extended resources the Pod requests.
    pub fn score_dense(
        &self,
        node: &NodeInfo,
        counters: &NodeCounters,
        pod_requests: &[i64],
        scorer: impl Fn(&[i64], &[i64]) -> i64,
    ) -> i64 {
        self.score_with(pod_requests, scorer, |kind, pod_request| {
            self.allocatable_and_requested_dense(node, counters, kind, pod_request)
        })
    }

    /// Fills requested and allocatable per resource from `lookup`, then applies `scorer`.
    fn score_with(
        &self,
        pod_requests: &[i64],
        scorer: impl Fn(&[i64], &[i64]) -> i64,
        lookup: impl Fn(&ResourceKind, i64) -> (i64, i64),
    ) -> i64 {
        const INLINE: usize = 4;
        let count = self.resources.len();
        let (mut requested_inline, mut allocatable_inline) = ([0i64; INLINE], [0i64; INLINE]);
        let (mut requested_heap, mut allocatable_heap) = (Vec::new(), Vec::new());
        let (requested, allocatable): (&mut [i64], &mut [i64]) = if count <= INLINE {
            (&mut requested_inline[..count], &mut allocatable_inline[..count])
        } else {
            requested_heap.resize(count, 0);
            allocatable_heap.resize(count, 0);
            (&mut requested_heap, &mut allocatable_heap)
        };
        for (index, kind) in self.kinds.iter().enumerate() {
            let pod_request = pod_requests.get(index).copied().unwrap_or(0);
            let (node_allocatable, node_requested) = lookup(kind, pod_request);
            if node_allocatable == 0 {
                continue;
            }
            allocatable[index] = node_allocatable;
            requested[index] = node_requested;
        }
        scorer(requested, allocatable)
    }
}
