//! NodeResourcesFit: a Pod fits a node only if its requests (containers summed, init containers
//! by the max rule, plus overhead) fit in what the node's Pods leave of its allocatable, and the
//! node's Pod count allows one more; scored by a strategy: LeastAllocated (default, spreading),
//! MostAllocated (bin packing) or RequestedToCapacityRatio (a piecewise-linear shape).

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::Deserialize;

use super::decode_args;
use super::resource_allocation::{ResourceAllocationScorer, ResourceSpec, default_resources};
use crate::scheduler::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, NodeBatch, Plugin, PreFilterPlugin,
    PreFilterResult, PreScorePlugin, ScorePlugin, Status, fill_verdicts,
};
use crate::scheduler::limits::{MAX_CUSTOM_PRIORITY_SCORE, MAX_NODE_SCORE, MAX_PLUGIN_WEIGHT, MAX_UTILIZATION};
use crate::scheduler::node_counters::NodeCounters;
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::registry::RegistryError;
use crate::scheduler::resource::{Resource, is_extended_resource_name};
use crate::scheduler::snapshot::Snapshot;

/// The plugin's registered name.
pub const NAME: &str = "NodeResourcesFit";

/// How nodes are scored (`config.ScoringStrategyType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum ScoringStrategyType {
    /// Prefer nodes with the most free resources left.
    #[default]
    LeastAllocated,
    /// Prefer nodes with the least free resources left.
    MostAllocated,
    /// Score by a shape over utilization.
    RequestedToCapacityRatio,
}

/// One point of the RequestedToCapacityRatio shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UtilizationShapePoint {
    /// Utilization percentage, 0 to 100, increasing along the shape.
    pub utilization: i64,
    /// Score at that utilization, 0 to 10.
    pub score: i64,
}

/// RequestedToCapacityRatio's parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequestedToCapacityRatioParam {
    /// The shape.
    #[serde(default)]
    pub shape: Vec<UtilizationShapePoint>,
}

/// The scoring strategy (`config.ScoringStrategy`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScoringStrategy {
    /// Which strategy; LeastAllocated by default.
    #[serde(default, rename = "type")]
    pub strategy: ScoringStrategyType,
    /// Scored resources and weights; CPU and memory with weight 1 by default.
    #[serde(default)]
    pub resources: Vec<ResourceSpec>,
    /// The shape, for RequestedToCapacityRatio.
    #[serde(default)]
    pub requested_to_capacity_ratio: Option<RequestedToCapacityRatioParam>,
}

/// NodeResourcesFit's arguments (`NodeResourcesFitArgs`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeResourcesFitArgs {
    /// Extended resources not checked by the Filter.
    #[serde(default)]
    pub ignored_resources: Vec<String>,
    /// Extended-resource domains (before the `/`) not checked by the Filter.
    #[serde(default)]
    pub ignored_resource_groups: Vec<String>,
    /// How to score.
    #[serde(default)]
    pub scoring_strategy: Option<ScoringStrategy>,
}

/// One resource the node lacks (`InsufficientResource`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsufficientResource {
    /// The resource name.
    pub resource_name: String,
    /// The reason people read, like `Insufficient cpu`.
    pub reason: Cow<'static, str>,
    /// What the Pod asks.
    pub requested: i64,
    /// What the node's Pods use.
    pub used: i64,
    /// What the node offers.
    pub capacity: i64,
}

/// Filters on free resources and scores by the configured strategy.
#[derive(Clone, Debug)]
pub struct Fit {
    ignored_resources: BTreeSet<String>,
    ignored_resource_groups: BTreeSet<String>,
    strategy: ScoringStrategyType,
    shape: Vec<UtilizationShapePoint>,
    scorer: ResourceAllocationScorer,
}

impl Fit {
    /// Builds the plugin from its arguments, validating them as Kubernetes does.
    pub fn new(args: Option<&serde_json::Value>) -> Result<Fit, RegistryError> {
        let args: NodeResourcesFitArgs = decode_args(NAME, args)?;
        let strategy = args.scoring_strategy.unwrap_or_default();
        let resources = if strategy.resources.is_empty() { default_resources() } else { strategy.resources };
        let invalid = |message: String| RegistryError::InvalidArgsValue { plugin: NAME, message };
        for resource in &resources {
            if !(1..=MAX_PLUGIN_WEIGHT).contains(&resource.weight) {
                return Err(invalid(format!(
                    "scoringStrategy.resources[{}].weight: Invalid value: {}: must be in the range [1, 100]",
                    resource.name, resource.weight
                )));
            }
        }
        let shape = match strategy.strategy {
            ScoringStrategyType::RequestedToCapacityRatio => {
                let shape = strategy.requested_to_capacity_ratio.map(|param| param.shape).unwrap_or_default();
                validate_shape(&shape).map_err(invalid)?;
                shape
            }
            _ => Vec::new(),
        };
        Ok(Fit {
            ignored_resources: args.ignored_resources.into_iter().collect(),
            ignored_resource_groups: args.ignored_resource_groups.into_iter().collect(),
            strategy: strategy.strategy,
            shape,
            scorer: ResourceAllocationScorer::new(resources, false),
        })
    }

    /// The resources the node lacks for the Pod, in Kubernetes' order: pods, cpu, memory,
    /// ephemeral-storage, then scalar resources by name.
    pub fn insufficient_resources(&self, request: &Resource, node: &NodeInfo) -> Vec<InsufficientResource> {
        let mut insufficient = Vec::new();
        self.for_each_insufficient(request, node, |resource_name, reason, requested, used, capacity| {
            insufficient.push(InsufficientResource {
                resource_name: resource_name.to_owned(),
                reason,
                requested,
                used,
                capacity,
            });
        });
        insufficient
    }

    /// Calls `visit` with the name, reason, request, use and capacity of each resource the
    /// node lacks, in [`Fit::insufficient_resources`]' order, building nothing when all fit.
    fn for_each_insufficient(
        &self,
        request: &Resource,
        node: &NodeInfo,
        mut visit: impl FnMut(&str, Cow<'static, str>, i64, i64, i64),
    ) {
        for_each_insufficient_counted(request, &Usage::of_node(node), &mut visit);
        for (name, wanted) in &request.scalar_resources {
            if *wanted == 0 || self.is_ignored(name) {
                continue;
            }
            let used = node.requested.get(name);
            let capacity = node.allocatable.get(name);
            if *wanted > capacity - used {
                visit(name, Cow::Owned(format!("Insufficient {name}")), *wanted, used, capacity);
            }
        }
    }

    fn is_ignored(&self, name: &str) -> bool {
        if !is_extended_resource_name(name) {
            return false;
        }
        let group = name.split('/').next().unwrap_or("");
        self.ignored_resources.contains(name) || self.ignored_resource_groups.contains(group)
    }

    /// The configured strategy's score from each scored resource's requested-with-the-Pod and
    /// allocatable amounts.
    fn strategy_score(&self, requested: &[i64], allocatable: &[i64]) -> i64 {
        let resources = &self.scorer.resources;
        match self.strategy {
            ScoringStrategyType::LeastAllocated => {
                weighted_score(resources, requested, allocatable, least_requested_score)
            }
            ScoringStrategyType::MostAllocated => {
                weighted_score(resources, requested, allocatable, most_requested_score)
            }
            ScoringStrategyType::RequestedToCapacityRatio => {
                requested_to_capacity_ratio_score(&self.shape, resources, requested, allocatable)
            }
        }
    }
}

/// What the Filter compares for the resources every node has: the Pod count and the CPU,
/// memory and ephemeral storage used and offered, read from a NodeInfo or from its packed
/// counters (the same numbers).
struct Usage {
    pod_count: i64,
    allowed_pod_number: i64,
    /// CPU, memory, ephemeral storage, as [`COUNTED_RESOURCES`] lists them.
    used: [i64; 3],
    capacity: [i64; 3],
}

/// The resources of [`Usage`], with their rejection reasons, in Kubernetes' order.
const COUNTED_RESOURCES: [(&str, &str); 3] = [
    ("cpu", "Insufficient cpu"),
    ("memory", "Insufficient memory"),
    ("ephemeral-storage", "Insufficient ephemeral-storage"),
];

impl Usage {
    fn of_node(node: &NodeInfo) -> Usage {
        let (requested, allocatable) = (&node.requested, &node.allocatable);
        Usage {
            pod_count: node.pods.len() as i64,
            allowed_pod_number: allocatable.allowed_pod_number,
            used: [requested.milli_cpu, requested.memory, requested.ephemeral_storage],
            capacity: [allocatable.milli_cpu, allocatable.memory, allocatable.ephemeral_storage],
        }
    }

    fn of_counters(counters: &NodeCounters) -> Usage {
        Usage {
            pod_count: i64::from(counters.pod_count),
            allowed_pod_number: counters.allowed_pod_number,
            used: [counters.requested_milli_cpu, counters.requested_memory, counters.requested_ephemeral_storage],
            capacity: [
                counters.allocatable_milli_cpu,
                counters.allocatable_memory,
                counters.allocatable_ephemeral_storage,
            ],
        }
    }
}

/// Whether [`for_each_insufficient_counted`] would find nothing on a node with these counters:
/// the same comparisons, without building a visitor, for the batch Filter's usual verdict.
fn fits_counted(request: &Resource, counters: &NodeCounters) -> bool {
    let fits = |wanted: i64, capacity: i64, used: i64| wanted <= 0 || wanted <= capacity - used;
    i64::from(counters.pod_count) < counters.allowed_pod_number
        && fits(request.milli_cpu, counters.allocatable_milli_cpu, counters.requested_milli_cpu)
        && fits(request.memory, counters.allocatable_memory, counters.requested_memory)
        && fits(request.ephemeral_storage, counters.allocatable_ephemeral_storage, counters.requested_ephemeral_storage)
}

/// The Pod-count, CPU, memory and ephemeral-storage part of [`Fit::insufficient_resources`].
fn for_each_insufficient_counted(
    request: &Resource,
    usage: &Usage,
    visit: &mut impl FnMut(&str, Cow<'static, str>, i64, i64, i64),
) {
    if usage.pod_count + 1 > usage.allowed_pod_number {
        visit("pods", Cow::Borrowed("Too many pods"), 1, usage.pod_count, usage.allowed_pod_number);
    }
    let wanted = [request.milli_cpu, request.memory, request.ephemeral_storage];
    for (index, (name, reason)) in COUNTED_RESOURCES.iter().enumerate() {
        let (wanted, used, capacity) = (wanted[index], usage.used[index], usage.capacity[index]);
        if wanted > 0 && wanted > capacity - used {
            visit(name, Cow::Borrowed(reason), wanted, used, capacity);
        }
    }
}

/// The Filter's status from the insufficient resources `for_each` visits: Success when none.
/// The first reason is kept apart so that the usual rejection (one resource short) allocates
/// nothing.
fn rejection(for_each: impl FnOnce(&mut dyn FnMut(Cow<'static, str>))) -> Status {
    let mut first: Option<Cow<'static, str>> = None;
    let mut more: Vec<Cow<'static, str>> = Vec::new();
    for_each(&mut |reason| match first {
        None => first = Some(reason),
        Some(_) => more.push(reason),
    });
    match first {
        None => Status::success(),
        Some(reason) if more.is_empty() => Status::new(Code::Unschedulable, reason),
        Some(reason) => {
            more.insert(0, reason);
            Status::with_reasons(Code::Unschedulable, more)
        }
    }
}

fn validate_shape(shape: &[UtilizationShapePoint]) -> Result<(), String> {
    if shape.is_empty() {
        return Err(
            "scoringStrategy.requestedToCapacityRatio.shape: Required value: at least one point must be specified"
                .to_owned(),
        );
    }
    for (index, point) in shape.iter().enumerate() {
        if !(0..=MAX_UTILIZATION).contains(&point.utilization) {
            return Err(format!(
                "shape[{index}].utilization: Invalid value: {}: not in valid range [0, 100]",
                point.utilization
            ));
        }
        if !(0..=MAX_CUSTOM_PRIORITY_SCORE).contains(&point.score) {
            return Err(format!("shape[{index}].score: Invalid value: {}: not in valid range [0, 10]", point.score));
        }
        if index > 0 && point.utilization <= shape[index - 1].utilization {
            return Err(format!(
                "shape[{index}].utilization: Invalid value: {}: utilization values must be sorted in increasing order",
                point.utilization
            ));
        }
    }
    Ok(())
}

/// The weighted integer mean of per-resource scores, skipping resources the node lacks.
fn weighted_score(
    resources: &[ResourceSpec],
    requested: &[i64],
    allocatable: &[i64],
    per_resource: fn(i64, i64) -> i64,
) -> i64 {
    let (mut node_score, mut weight_sum) = (0i64, 0i64);
    for ((resource, requested), allocatable) in resources.iter().zip(requested).zip(allocatable) {
        if *allocatable == 0 {
            continue;
        }
        node_score += per_resource(*requested, *allocatable) * resource.weight;
        weight_sum += resource.weight;
    }
    if weight_sum == 0 { 0 } else { node_score / weight_sum }
}

/// LeastAllocated over CPU and memory with these weights: [`weighted_score`] of
/// [`least_requested_score`] without the general loop, for the batch path.
fn least_allocated_cpu_memory_score(weights: [i64; 2], requested: [i64; 2], allocatable: [i64; 2]) -> i64 {
    let (mut node_score, mut weight_sum) = (0, 0);
    for index in 0..2 {
        if allocatable[index] != 0 {
            node_score += least_requested_score(requested[index], allocatable[index]) * weights[index];
            weight_sum += weights[index];
        }
    }
    if weight_sum == 0 { 0 } else { node_score / weight_sum }
}

/// LeastAllocated for one resource: the free share after placing, times 100.
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

/// MostAllocated for one resource: the used share after placing (capped at full), times 100.
pub fn most_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    requested.min(capacity) * MAX_NODE_SCORE / capacity
}

/// The piecewise-linear shape at a utilization (`helper.BuildBrokenLinearFunction`), with
/// scores already scaled to the node-score range.
fn broken_linear(shape: &[UtilizationShapePoint], utilization: i64) -> i64 {
    let scale = MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE;
    for (index, point) in shape.iter().enumerate() {
        if utilization <= point.utilization {
            if index == 0 {
                return point.score * scale;
            }
            let previous = shape[index - 1];
            return previous.score * scale
                + (point.score * scale - previous.score * scale) * (utilization - previous.utilization)
                    / (point.utilization - previous.utilization);
        }
    }
    shape.last().map_or(0, |point| point.score * scale)
}

/// RequestedToCapacityRatio: the shape at each resource's utilization, weighted over resources
/// with a positive score, rounded to nearest.
pub fn requested_to_capacity_ratio_score(
    shape: &[UtilizationShapePoint],
    resources: &[ResourceSpec],
    requested: &[i64],
    allocatable: &[i64],
) -> i64 {
    let (mut node_score, mut weight_sum) = (0i64, 0i64);
    for ((resource, requested), capacity) in resources.iter().zip(requested).zip(allocatable) {
        if *capacity == 0 {
            continue;
        }
        let utilization = if *requested > *capacity { MAX_UTILIZATION } else { requested * MAX_UTILIZATION / capacity };
        let score = broken_linear(shape, utilization);
        if score > 0 {
            node_score += score * resource.weight;
            weight_sum += resource.weight;
        }
    }
    if weight_sum == 0 { 0 } else { (node_score as f64 / weight_sum as f64).round() as i64 }
}

impl Plugin for Fit {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent {
                resource: EventResource::AssignedPod,
                action: ActionType::DELETE.or(ActionType::UPDATE_POD_SCALE_DOWN),
            },
            ClusterEvent {
                resource: EventResource::Node,
                action: ActionType::ADD.or(ActionType::UPDATE_NODE_ALLOCATABLE),
            },
            ClusterEvent { resource: EventResource::UnscheduledPod, action: ActionType::UPDATE_POD_SCALE_DOWN },
        ]
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for Fit {
    fn pre_filter(&self, _state: &mut CycleState, _pod: &PodInfo, _: &Snapshot) -> (Option<PreFilterResult>, Status) {
        // The Pod's requests were computed once when it entered the scheduler (`PodInfo`).
        (None, Status::success())
    }
}

impl FilterPlugin for Fit {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        rejection(|reject| {
            self.for_each_insufficient(&pod.requests.requests, node, |_, reason, _, _, _| reject(reason));
        })
    }

    /// For a Pod that asks for no extended resource, the verdict (reasons included) comes from
    /// the packed counters alone; otherwise every node is checked in full.
    fn filter_nodes(&self, state: &CycleState, pod: &PodInfo, batch: &NodeBatch<'_>, verdicts: &mut [Option<Status>]) {
        let request = &pod.requests.requests;
        if !request.scalar_resources.is_empty() {
            fill_verdicts(batch, verdicts, |node, _| self.filter(state, pod, node));
            return;
        }
        fill_verdicts(batch, verdicts, |_, counters| {
            if fits_counted(request, counters) {
                return Status::success();
            }
            rejection(|reject| {
                for_each_insufficient_counted(request, &Usage::of_counters(counters), &mut |_, reason, _, _, _| {
                    reject(reason)
                });
            })
        });
    }
}

#[derive(Clone)]
struct PreScoreState {
    pod_requests: Vec<i64>,
}

impl PreScorePlugin for Fit {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, _: &[&NodeInfo], _: &Snapshot) -> Status {
        state.write(NAME, PreScoreState { pod_requests: self.scorer.pod_request_list(pod) });
        Status::success()
    }
}

impl ScorePlugin for Fit {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let pod_requests = self
            .scorer
            .cached_or_computed(state.read::<PreScoreState>(NAME).map(|pre_score| &pre_score.pod_requests), pod);
        Ok(self.scorer.score(node, &pod_requests, |requested, allocatable| self.strategy_score(requested, allocatable)))
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
        if let (ScoringStrategyType::LeastAllocated, Some(weights)) = (&self.strategy, self.scorer.cpu_then_memory()) {
            scores.extend(batch.node_counters().map(|counters| {
                let (requested, allocatable) = self.scorer.cpu_and_memory(counters, &pod_requests);
                least_allocated_cpu_memory_score(weights, requested, allocatable)
            }));
            return Ok(());
        }
        scores.extend(batch.iter().map(|(node, counters)| {
            self.scorer.score_dense(node, counters, &pod_requests, |requested, allocatable| {
                self.strategy_score(requested, allocatable)
            })
        }));
        Ok(())
    }
}
