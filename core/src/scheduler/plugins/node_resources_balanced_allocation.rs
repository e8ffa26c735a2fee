//! NodeResourcesBalancedAllocation: favours nodes whose resource usage stays balanced with the
//! Pod placed: score = (1 − standard deviation of requested/allocatable fractions) × 100.

use serde::Deserialize;

use super::decode_args;
use super::resource_allocation::{ResourceAllocationScorer, ResourceSpec, default_resources};
use crate::scheduler::framework::{CycleState, NodeBatch, Plugin, PreScorePlugin, ScorePlugin, Status};
use crate::scheduler::limits::MAX_NODE_SCORE;
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::registry::RegistryError;
use crate::scheduler::snapshot::Snapshot;

/// The plugin's registered name.
pub const NAME: &str = "NodeResourcesBalancedAllocation";

/// The plugin's arguments (`NodeResourcesBalancedAllocationArgs`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BalancedAllocationArgs {
    /// The resources to balance; CPU and memory when empty.
    #[serde(default)]
    pub resources: Vec<ResourceSpec>,
}

/// Scores how balanced a node's resources would be.
#[derive(Clone, Debug)]
pub struct BalancedAllocation {
    scorer: ResourceAllocationScorer,
}

impl BalancedAllocation {
    /// Builds the plugin from its arguments.
    pub fn new(args: Option<&serde_json::Value>) -> Result<BalancedAllocation, RegistryError> {
        let args: BalancedAllocationArgs = decode_args(NAME, args)?;
        let resources = if args.resources.is_empty() { default_resources() } else { args.resources };
        Ok(BalancedAllocation { scorer: ResourceAllocationScorer::new(resources, true) })
    }
}

/// A resource's requested share of allocatable, capped at 1.
fn fraction(requested: i64, allocatable: i64) -> f64 {
    (requested as f64 / allocatable as f64).min(1.0)
}

/// [`balanced_resource_score`] of CPU and memory: the same number without the general loop,
/// for the batch path that scores every feasible node.
pub fn balanced_cpu_memory_score(requested: [i64; 2], allocatable: [i64; 2]) -> i64 {
    if allocatable[0] == 0 || allocatable[1] == 0 {
        // One fraction or none: no deviation.
        return MAX_NODE_SCORE;
    }
    let deviation = ((fraction(requested[0], allocatable[0]) - fraction(requested[1], allocatable[1])) / 2.0).abs();
    ((1.0 - deviation) * MAX_NODE_SCORE as f64) as i64
}

/// The score of fractions: 1 minus their standard deviation (half the difference for two),
/// times the maximum score; fractions above 1 count as 1.
pub fn balanced_resource_score(requested: &[i64], allocatable: &[i64]) -> i64 {
    let mut fractions = [0f64; 8];
    let mut heap = Vec::new();
    let mut count = 0usize;
    let mut total = 0f64;
    for (requested, allocatable) in requested.iter().zip(allocatable) {
        if *allocatable == 0 {
            continue;
        }
        let fraction = fraction(*requested, *allocatable);
        total += fraction;
        if count < fractions.len() {
            fractions[count] = fraction;
        } else {
            heap.push(fraction);
        }
        count += 1;
    }
    let all: Vec<f64>;
    let fractions: &[f64] = if count <= fractions.len() {
        &fractions[..count]
    } else {
        all = fractions.iter().copied().chain(heap).collect();
        &all
    };
    let deviation = match fractions {
        [first, second] => ((first - second) / 2.0).abs(),
        [_, _, _, ..] => {
            let mean = total / count as f64;
            (fractions.iter().map(|fraction| (fraction - mean) * (fraction - mean)).sum::<f64>() / count as f64).sqrt()
        }
        _ => 0.0,
    };
    ((1.0 - deviation) * MAX_NODE_SCORE as f64) as i64
}

#[derive(Clone)]
struct PreScoreState {
    pod_requests: Vec<i64>,
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreScorePlugin for BalancedAllocation {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, _: &[&NodeInfo], _: &Snapshot) -> Status {
        state.write(NAME, PreScoreState { pod_requests: self.scorer.pod_request_list(pod) });
        Status::success()
    }
}

impl ScorePlugin for BalancedAllocation {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let pod_requests = self
            .scorer
            .cached_or_computed(state.read::<PreScoreState>(NAME).map(|pre_score| &pre_score.pod_requests), pod);
        Ok(self.scorer.score(node, &pod_requests, balanced_resource_score))
    }

    fn score_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        batch: &NodeBatch<'_>,
        scores: &mut Vec<i64>,
    ) -> Result<(), Status> {
        let pod_requests = self
            .scorer
            .cached_or_computed(state.read::<PreScoreState>(NAME).map(|pre_score| &pre_score.pod_requests), pod);
        if self.scorer.cpu_then_memory().is_some() {
            scores.extend(batch.node_counters().map(|counters| {
                let (requested, allocatable) = self.scorer.cpu_and_memory(counters, &pod_requests);
                balanced_cpu_memory_score(requested, allocatable)
            }));
            return Ok(());
        }
        scores.extend(
            batch.iter().map(|(node, counters)| {
                self.scorer.score_dense(node, counters, &pod_requests, balanced_resource_score)
            }),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_and_memory_score_equals_the_general_one() {
        let values = [0, 1, 2, 3, 7, 100, 999, 1000, 1001, 4_000, 65_536, i64::from(u32::MAX)];
        for requested_cpu in values {
            for allocatable_cpu in values {
                for (requested_memory, allocatable_memory) in [(0, 0), (5, 10), (10, 10), (11, 10), (3, 0), (1, 3)] {
                    let requested = [requested_cpu, requested_memory];
                    let allocatable = [allocatable_cpu, allocatable_memory];
                    assert_eq!(
                        balanced_cpu_memory_score(requested, allocatable),
                        balanced_resource_score(&requested, &allocatable),
                        "requested {requested:?}, allocatable {allocatable:?}"
                    );
                }
            }
        }
    }
}
