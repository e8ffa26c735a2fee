//! One scheduling attempt's algorithm (kube-scheduler's `schedulePod`): PreFilter, Filter over
//! a sample of nodes starting where the last attempt stopped, PreScore, Score and Normalize
//! with weights, then a host chosen among the best by reservoir sampling with the seeded
//! generator. Also the decision trace the simulator records.

use std::sync::Arc;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::fit_error::{Diagnosis, FitError};
use super::framework::{CycleState, NodeBatch, NominatedScratch, Status};
use super::limits::{
    ADAPTIVE_PERCENTAGE_BASE, ADAPTIVE_PERCENTAGE_NODES_PER_POINT, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND,
    MIN_FEASIBLE_NODES_TO_FIND,
};
use super::metrics::{ExtensionPoint, Meter};
use super::node_counters::NodeCounters;
use super::node_info::{NodeInfo, PodInfo};
use super::nominated_pods::NominatedPods;
use super::nominator::Nominator;
use super::runtime::{Framework, run_filter_list, run_filter_list_batch, run_filter_list_with_nominated};
use super::snapshot::Snapshot;

/// The fewest nodes the filters are run on at once in the batched fast path: enough that a
/// batch amortizes each plugin's state lookup, few enough that little is filtered in vain once
/// the wanted feasible nodes are found.
pub const FILTER_CHUNK_NODES_MIN: usize = 64;

/// The most nodes the filters are run on at once: each plugin walks the chunk's NodeInfos in
/// turn, so a chunk must stay small enough for them to remain in cache between plugins.
pub const FILTER_CHUNK_NODES_MAX: usize = 256;

/// How many of the best nodes a trace lists (`numberOfHighestScoredNodesToReport`).
pub const HIGHEST_SCORED_NODES_TO_REPORT: usize = 3;

/// How one attempt samples nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SamplingOptions {
    /// The configured global share of nodes to score; `None` or 0 means adaptive.
    pub percentage_of_nodes_to_score: Option<u32>,
    /// Evaluate every node regardless of the share (coxswain's `score_all` mode).
    pub score_all: bool,
    /// Record a decision trace.
    pub trace: bool,
}

/// The chosen node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleResult {
    /// The node to bind to.
    pub suggested_host: String,
    /// How many nodes were filtered.
    pub evaluated_nodes: usize,
    /// How many passed.
    pub feasible_nodes: usize,
}

/// Why an attempt found no node.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    /// The cluster has no nodes.
    #[error("no nodes available to schedule pods")]
    NoNodesAvailable,
    /// No node fits; the diagnosis says why.
    #[error("{0}")]
    Unfit(FitError),
    /// A plugin failed internally.
    #[error("{0}")]
    Internal(Status),
}

/// One node's verdict in a trace.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NodeVerdict {
    /// The node.
    pub node: String,
    /// The plugin that rejected it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_by: Option<String>,
    /// Why, as the plugin said.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Weighted score per plugin, for feasible nodes that were scored.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scores: Vec<(String, i64)>,
    /// The total score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

/// What one attempt saw and decided, for explanations and simulator traces.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DecisionTrace {
    /// The Pod, as namespace/name.
    pub pod: String,
    /// The PreFilter rejection, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_filter_rejection: Option<String>,
    /// Every node evaluated, in evaluation order.
    pub nodes: Vec<NodeVerdict>,
    /// The chosen node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected: Option<String>,
}

/// How many feasible nodes to look for before scoring (`numFeasibleNodesToFind`): every node
/// below 100; otherwise the configured share, or adaptively 50% minus one point per 125 nodes,
/// at least 5%, and never fewer than 100 nodes.
pub fn num_feasible_nodes_to_find(percentage: Option<u32>, node_count: usize) -> usize {
    if node_count < MIN_FEASIBLE_NODES_TO_FIND {
        return node_count;
    }
    let percentage = match percentage.filter(|percentage| *percentage > 0) {
        Some(percentage) => percentage.min(100) as usize,
        None => {
            let reduction = node_count / ADAPTIVE_PERCENTAGE_NODES_PER_POINT;
            (ADAPTIVE_PERCENTAGE_BASE as usize)
                .saturating_sub(reduction)
                .max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND as usize)
        }
    };
    (node_count * percentage / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// Where the next attempt starts scanning, carried between attempts (`nextStartNodeIndex`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeCursor(pub usize);

fn trace_rejection(trace: &mut Option<DecisionTrace>, node: &NodeInfo, status: &Status) {
    if let Some(trace) = trace {
        trace.nodes.push(NodeVerdict {
            node: node.name().to_owned(),
            rejected_by: Some(status.plugin().to_owned()),
            reasons: status.reasons().iter().map(|reason| reason.to_string()).collect(),
            scores: Vec::new(),
            total: None,
        });
    }
}

/// The nodes an attempt filters: every node of the snapshot (borrowed, nothing is copied per
/// cycle), or those a PreFilter narrowed them to (by position in the snapshot).
enum CandidateNodes<'a> {
    All(&'a [Arc<NodeInfo>], &'a [NodeCounters]),
    Narrowed(&'a [Arc<NodeInfo>], &'a [NodeCounters], Vec<usize>),
}

impl<'a> CandidateNodes<'a> {
    fn len(&self) -> usize {
        match self {
            CandidateNodes::All(nodes, _) => nodes.len(),
            CandidateNodes::Narrowed(_, _, positions) => positions.len(),
        }
    }

    /// The `index`-th candidate: its position in the snapshot and its NodeInfo.
    fn get(&self, index: usize) -> (usize, &'a NodeInfo) {
        match self {
            CandidateNodes::All(nodes, _) => (index, &nodes[index]),
            CandidateNodes::Narrowed(nodes, _, positions) => {
                let position = positions[index];
                (position, &nodes[position])
            }
        }
    }

    /// Every node's counters, by snapshot position.
    fn counters(&self) -> &'a [NodeCounters] {
        match self {
            CandidateNodes::All(_, counters) | CandidateNodes::Narrowed(_, counters, _) => counters,
        }
    }
}

/// The nodes that passed the filters, in visiting order, with their snapshot positions (where
/// scoring reads their counters).
#[derive(Default)]
struct FeasibleNodes<'a> {
    nodes: Vec<&'a NodeInfo>,
    positions: Vec<usize>,
}

impl<'a> FeasibleNodes<'a> {
    fn with_capacity(capacity: usize) -> FeasibleNodes<'a> {
        FeasibleNodes { nodes: Vec::with_capacity(capacity), positions: Vec::with_capacity(capacity) }
    }

    fn push(&mut self, node: &'a NodeInfo, position: usize) {
        self.nodes.push(node);
        self.positions.push(position);
    }

    fn len(&self) -> usize {
        self.nodes.len()
    }

    fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// Filters nodes from the cursor until enough are feasible (`findNodesThatPassFilters`).
#[allow(clippy::too_many_arguments)]
fn find_nodes_that_pass_filters<'a>(
    framework: &Framework,
    state: &CycleState,
    pod: &PodInfo,
    nodes: &CandidateNodes<'a>,
    diagnosis: &mut Diagnosis,
    options: &SamplingOptions,
    cursor: usize,
    nominated: &NominatedPods,
    trace: &mut Option<DecisionTrace>,
) -> Result<FeasibleNodes<'a>, Status> {
    let count = nodes.len();
    let percentage = framework.percentage_of_nodes_to_score().or(options.percentage_of_nodes_to_score);
    let to_find = if options.score_all { count } else { num_feasible_nodes_to_find(percentage, count) };
    let mut feasible = FeasibleNodes::with_capacity(to_find.min(count));
    if count == 0 {
        return Ok(feasible);
    }
    if !framework.has_filter_plugins() {
        for offset in 0..to_find {
            let (position, node) = nodes.get((cursor + offset) % count);
            feasible.push(node, position);
        }
        return Ok(feasible);
    }
    let filters = framework.active_filters(state);
    // Rejections are collected in visiting order, by snapshot position.
    let mut rejected: Vec<(usize, Status)> = Vec::new();
    let mut last_plugin = "";
    let mut outcome = Ok(());
    let mut visit = |position: usize, node: &'a NodeInfo, status: Status, feasible: &mut FeasibleNodes<'a>| {
        if status.is_success() {
            feasible.push(node, position);
            return feasible.len() < to_find;
        }
        if !status.is_rejected() {
            outcome = Err(status);
            return false;
        }
        trace_rejection(trace, node, &status);
        if !std::ptr::eq(last_plugin, status.plugin()) {
            last_plugin = status.plugin();
            diagnosis.unschedulable_plugins.insert(last_plugin);
        }
        rejected.push((position, status));
        true
    };
    // Filters run plugin by plugin over chunks of nodes in visiting order, each chunk no larger
    // than the feasible nodes still wanted (within FILTER_CHUNK_NODES_MIN and _MAX); a node with Pods
    // nominated to it is filtered again on its own with them, its batch verdict standing for the
    // run without them. The verdicts are then taken in
    // order exactly as node by node; those past the point where enough nodes were found are
    // dropped unread.
    let mut chunk: Vec<&'a NodeInfo> = Vec::new();
    let mut chunk_positions: Vec<usize> = Vec::new();
    let mut verdicts: Vec<Option<Status>> = Vec::new();
    let mut scratch = NominatedScratch::default();
    let mut offset = 0;
    'chunks: while offset < count {
        let size = (to_find - feasible.len()).clamp(FILTER_CHUNK_NODES_MIN, FILTER_CHUNK_NODES_MAX).min(count - offset);
        chunk.clear();
        chunk_positions.clear();
        for index in offset..offset + size {
            let (position, node) = nodes.get((cursor + index) % count);
            chunk.push(node);
            chunk_positions.push(position);
        }
        offset += size;
        let batch = NodeBatch::new(&chunk, &chunk_positions, nodes.counters());
        run_filter_list_batch(&filters, state, pod, &batch, &mut verdicts);
        for ((node, position), verdict) in chunk.iter().zip(&chunk_positions).zip(verdicts.drain(..)) {
            let with = nominated.at(*position);
            if verdict.is_none() && with.is_empty() {
                // The usual verdict, taken without building a status.
                feasible.push(node, *position);
                if feasible.len() < to_find {
                    continue;
                }
                break 'chunks;
            }
            let without = || verdict.unwrap_or_else(Status::success);
            let prepared = nominated.prepared(*position);
            let status = run_filter_list_with_nominated(
                framework,
                &filters,
                state,
                pod,
                node,
                with,
                prepared,
                &mut scratch,
                without,
            );
            if !visit(*position, node, status, &mut feasible) {
                break 'chunks;
            }
        }
    }
    debug_assert!(diagnosis.node_to_status.statuses.is_empty(), "filters run once per attempt");
    diagnosis.node_to_status.statuses = rejected;
    outcome.map(|()| feasible)
}

/// Picks among the highest totals uniformly at random by reservoir sampling in node order
/// (`selectHost`).
pub fn select_host(totals: &[i64], rng: &mut ChaCha8Rng) -> Option<usize> {
    let max = *totals.iter().max()?;
    let mut seen = 0u64;
    let mut selected = None;
    for (index, _) in totals.iter().enumerate().filter(|(_, total)| **total == max) {
        seen += 1;
        if seen == 1 || rng.random_range(0..seen) == 0 {
            selected = Some(index);
        }
    }
    selected
}

#[allow(clippy::result_large_err, reason = "the FitError is the answer people read; it is built once per failure")]
/// One attempt to find a node for a Pod. `state` is the cycle's fresh state; `cursor` is
/// advanced by the nodes processed, whatever the outcome; `nominator` holds the Pods nominated
/// by earlier preemptions, and `nominated` those of them this attempt counts, by node position
/// ([`NominatedPods::refill`] for this Pod and snapshot); `meter` totals the time of each extension point when measuring.
/// Returns the trace when asked for.
#[allow(clippy::too_many_arguments)]
pub fn schedule_pod(
    framework: &Framework,
    state: &mut CycleState,
    pod: &PodInfo,
    snapshot: &Snapshot,
    cursor: &mut NodeCursor,
    rng: &mut ChaCha8Rng,
    options: &SamplingOptions,
    nominator: &Nominator,
    nominated: &NominatedPods,
    meter: &mut Meter,
) -> (Result<ScheduleResult, ScheduleError>, Option<DecisionTrace>) {
    let mut trace = options
        .trace
        .then(|| DecisionTrace { pod: format!("{}/{}", pod.namespace(), pod.name()), ..DecisionTrace::default() });
    let started = meter.start();
    let context = CycleContext { framework, snapshot, options, nominator, nominated };
    let result = schedule_pod_traced(&context, state, pod, cursor, rng, meter, &mut trace);
    meter.record_algorithm(started);
    if let (Some(trace), Ok(result)) = (trace.as_mut(), result.as_ref()) {
        trace.selected = Some(result.suggested_host.clone());
    }
    (result, trace)
}

/// What stays fixed during one attempt.
struct CycleContext<'a> {
    framework: &'a Framework,
    snapshot: &'a Snapshot,
    options: &'a SamplingOptions,
    nominator: &'a Nominator,
    nominated: &'a NominatedPods,
}

#[allow(clippy::result_large_err)]
fn schedule_pod_traced(
    context: &CycleContext<'_>,
    state: &mut CycleState,
    pod: &PodInfo,
    cursor: &mut NodeCursor,
    rng: &mut ChaCha8Rng,
    meter: &mut Meter,
    trace: &mut Option<DecisionTrace>,
) -> Result<ScheduleResult, ScheduleError> {
    let CycleContext { framework, snapshot, options, nominated, .. } = *context;
    let all_nodes = snapshot.list();
    if all_nodes.is_empty() {
        return Err(ScheduleError::NoNodesAvailable);
    }
    let mut diagnosis = Diagnosis::default();
    let started = meter.start();
    let (pre_filter_result, status, narrowing) = framework.run_pre_filter(state, pod, snapshot);
    meter.record(ExtensionPoint::PreFilter, started);
    diagnosis.unschedulable_plugins.extend(narrowing.iter().copied());
    if !status.is_success() {
        if !status.is_rejected() {
            return Err(ScheduleError::Internal(status));
        }
        if let Some(trace) = trace {
            trace.pre_filter_rejection = Some(format!("{}: {}", status.plugin(), status.message()));
        }
        diagnosis.pre_filter_message = status.message();
        if !status.plugin().is_empty() {
            diagnosis.unschedulable_plugins.insert(status.plugin());
        }
        diagnosis.node_to_status.absent = Some(status);
        return Err(ScheduleError::Unfit(FitError { node_count: all_nodes.len(), diagnosis }));
    }
    let nodes = match &pre_filter_result.node_names {
        None => CandidateNodes::All(all_nodes, snapshot.counters()),
        Some(names) => {
            let narrowed = names.iter().filter_map(|name| snapshot.position(name)).collect();
            diagnosis.node_to_status.absent = Some(Status::new(
                super::framework::Code::UnschedulableAndUnresolvable,
                format!("node(s) didn't satisfy plugin(s) [{}]", narrowing.join(" ")),
            ));
            CandidateNodes::Narrowed(all_nodes, snapshot.counters(), narrowed)
        }
    };
    let started = meter.start();
    if let Some(result) = evaluate_nominated_node(context, state, pod, cursor, trace) {
        meter.record(ExtensionPoint::Filter, started);
        return Ok(result);
    }
    let filtered = find_nodes_that_pass_filters(
        framework,
        state,
        pod,
        &nodes,
        &mut diagnosis,
        options,
        cursor.0,
        nominated,
        trace,
    );
    meter.record(ExtensionPoint::Filter, started);
    let processed = filtered.as_ref().map_or(0, FeasibleNodes::len) + diagnosis.node_to_status.statuses.len();
    cursor.0 = (cursor.0 + processed) % all_nodes.len();
    let feasible = filtered.map_err(ScheduleError::Internal)?;
    if feasible.is_empty() {
        return Err(ScheduleError::Unfit(FitError { node_count: all_nodes.len(), diagnosis }));
    }
    let evaluated_nodes = feasible.len() + diagnosis.node_to_status.statuses.len();
    if feasible.len() == 1 {
        if let Some(trace) = trace {
            trace.nodes.push(verdict_feasible(feasible.nodes[0], Vec::new(), None));
        }
        return Ok(ScheduleResult {
            suggested_host: feasible.nodes[0].name().to_owned(),
            evaluated_nodes,
            feasible_nodes: 1,
        });
    }
    let totals = if framework.has_score_plugins() {
        let started = meter.start();
        let batch = NodeBatch::new(&feasible.nodes, &feasible.positions, snapshot.counters());
        let status = framework.run_pre_score(state, pod, &batch, snapshot);
        meter.record(ExtensionPoint::PreScore, started);
        if !status.is_success() {
            return Err(ScheduleError::Internal(status));
        }
        let started = meter.start();
        let scores = framework.run_score(state, pod, &batch).map_err(ScheduleError::Internal);
        meter.record(ExtensionPoint::Score, started);
        let scores = scores?;
        if let Some(trace) = trace {
            for (index, node) in feasible.nodes.iter().enumerate() {
                let per_plugin =
                    scores.per_plugin.iter().map(|(name, scores)| (name.to_string(), scores[index])).collect();
                trace.nodes.push(verdict_feasible(node, per_plugin, Some(scores.totals[index])));
            }
        }
        scores.totals
    } else {
        vec![1; feasible.len()]
    };
    let Some(index) = select_host(&totals, rng) else {
        return Err(ScheduleError::Internal(Status::error("empty priorityList")));
    };
    Ok(ScheduleResult {
        suggested_host: feasible.nodes[index].name().to_owned(),
        evaluated_nodes,
        feasible_nodes: feasible.len(),
    })
}

/// A Pod nominated by an earlier preemption tries its nominated node first: it is likely the
/// only node that fits, and a pass there skips the scan of every other node
/// (`evaluateNominatedNode`). The node counts as one processed node for the cursor.
fn evaluate_nominated_node(
    context: &CycleContext<'_>,
    state: &CycleState,
    pod: &PodInfo,
    cursor: &mut NodeCursor,
    trace: &mut Option<DecisionTrace>,
) -> Option<ScheduleResult> {
    let CycleContext { framework, snapshot, nominator, nominated, .. } = *context;
    let position = snapshot.position(nominator.node_of(&pod.key)?)?;
    let node = &snapshot.list()[position];
    cursor.0 = (cursor.0 + 1) % snapshot.len().max(1);
    let filters = framework.active_filters(state);
    let with = nominated.at(position);
    let mut scratch = NominatedScratch::default();
    let without = || run_filter_list(&filters, state, pod, node);
    let prepared = nominated.prepared(position);
    let status =
        run_filter_list_with_nominated(framework, &filters, state, pod, node, with, prepared, &mut scratch, without);
    if !status.is_success() {
        return None;
    }
    if let Some(trace) = trace {
        trace.nodes.push(verdict_feasible(node, Vec::new(), None));
    }
    Some(ScheduleResult { suggested_host: node.name().to_owned(), evaluated_nodes: 1, feasible_nodes: 1 })
}

fn verdict_feasible(node: &NodeInfo, scores: Vec<(String, i64)>, total: Option<i64>) -> NodeVerdict {
    NodeVerdict { node: node.name().to_owned(), rejected_by: None, reasons: Vec::new(), scores, total }
}
