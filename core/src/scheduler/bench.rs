//! A synthetic cluster for `cox bench schedule` and the criterion bench: N nodes with zone and
//! hostname labels and capacities, E Pods already bound, P pending Pods of a workload, all drawn
//! from a seed; and a run through the real queue, framework and cache, with preemption's
//! evictions fed back as deletions. Timing is the caller's.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::driver::{Effect, Input, Scheduler, SchedulerError};
use super::node_tree::{LABEL_HOSTNAME, LABEL_TOPOLOGY_REGION, LABEL_TOPOLOGY_ZONE};
use super::profile::SchedulerConfig;
use super::registry::Registry;
use super::schedule_one::SamplingOptions;
use crate::jiff::Timestamp;
use crate::limits::SCHEDULER_PODS_PER_STEP;

/// How many zones the synthetic nodes spread over.
pub const BENCH_ZONES: usize = 3;

/// How many applications (`app` label values) the affinity and spread workloads' Pods belong to.
pub const BENCH_APPS: usize = 100;

/// The label naming a Pod's application in the affinity and spread workloads.
pub const APP_LABEL: &str = "app";

/// The weight of the affinity workload's preferred zone anti-affinity.
pub const BENCH_PREFERRED_WEIGHT: i32 = 100;

/// The share of each node's CPU the preemption and mixed workloads' existing Pods fill.
pub const BENCH_FILL_PERCENT: i64 = 90;

/// How many low priorities (0, 10, 20, …) the filling Pods are spread over.
pub const BENCH_FILLER_PRIORITIES: usize = 4;

/// The priority of the preemption and mixed workloads' pending Pods.
pub const BENCH_HIGH_PRIORITY: i32 = 1000;

/// What a preempting Pod asks for: more CPU than the unfilled share of the largest node.
pub const BENCH_PREEMPTOR_MILLI_CPU: i64 = 8_000;

/// At most this many rounds of scheduling, feeding evictions back, and waiting out backoff.
pub const BENCH_MAX_ROUNDS: usize = 32;

/// The virtual time between rounds: longer than the longest Pod backoff (10 s).
pub const BENCH_ROUND_PAUSE: crate::jiff::SignedDuration = crate::jiff::SignedDuration::from_secs(11);

/// The Pods a benchmark schedules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Workload {
    /// One container with small CPU and memory requests, no constraints.
    #[default]
    Basic,
    /// Basic Pods of [`BENCH_APPS`] applications, each with required pod anti-affinity by
    /// hostname and preferred pod anti-affinity by zone against its own application.
    Affinity,
    /// Basic Pods of [`BENCH_APPS`] applications, each spread by zone (maxSkew 1,
    /// DoNotSchedule) and by hostname (maxSkew 1, ScheduleAnyway) over its own application.
    Spread,
    /// The existing Pods fill [`BENCH_FILL_PERCENT`] of every node's CPU at low priorities;
    /// every pending Pod has [`BENCH_HIGH_PRIORITY`] and asks for [`BENCH_PREEMPTOR_MILLI_CPU`],
    /// so it fits only by preempting.
    Preemption,
    /// The cluster of [`Workload::Preemption`], and pending Pods that cycle through basic,
    /// affinity, spread and preempting ones, all of [`BENCH_HIGH_PRIORITY`].
    Mixed,
}

impl Workload {
    /// Whether the existing Pods fill the nodes at low priority.
    pub fn fills_nodes(self) -> bool {
        matches!(self, Workload::Preemption | Workload::Mixed)
    }

    /// The shape of the pending Pod with this index.
    fn kind_of(self, index: usize) -> Workload {
        match self {
            Workload::Mixed => [Workload::Basic, Workload::Affinity, Workload::Spread, Workload::Preemption][index % 4],
            other => other,
        }
    }
}

fn app_selector(app: &str) -> meta::LabelSelector {
    meta::LabelSelector {
        match_labels: Some(BTreeMap::from([(APP_LABEL.to_owned(), app.to_owned())])),
        match_expressions: None,
    }
}

/// Gives a Basic Pod the workload's priority, size, application label and constraints.
fn shape(mut pod: core::Pod, index: usize, workload: Workload) -> core::Pod {
    if workload.fills_nodes()
        && let Some(spec) = pod.spec.as_mut()
    {
        spec.priority = Some(BENCH_HIGH_PRIORITY);
    }
    let workload = workload.kind_of(index);
    if workload == Workload::Preemption {
        if let Some(container) = pod.spec.as_mut().and_then(|spec| spec.containers.first_mut()) {
            container.resources = Some(requests(BENCH_PREEMPTOR_MILLI_CPU, 1024));
        }
        return pod;
    }
    if workload == Workload::Basic {
        return pod;
    }
    let app = format!("app-{:03}", index % BENCH_APPS);
    pod.metadata.labels = Some(BTreeMap::from([(APP_LABEL.to_owned(), app.clone())]));
    let Some(spec) = pod.spec.as_mut() else {
        return pod;
    };
    let term = |topology_key: &str| core::PodAffinityTerm {
        label_selector: Some(app_selector(&app)),
        topology_key: topology_key.to_owned(),
        ..core::PodAffinityTerm::default()
    };
    if workload == Workload::Affinity {
        spec.affinity = Some(core::Affinity {
            pod_anti_affinity: Some(core::PodAntiAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![term(LABEL_HOSTNAME)]),
                preferred_during_scheduling_ignored_during_execution: Some(vec![core::WeightedPodAffinityTerm {
                    weight: BENCH_PREFERRED_WEIGHT,
                    pod_affinity_term: term(LABEL_TOPOLOGY_ZONE),
                }]),
            }),
            ..core::Affinity::default()
        });
    } else {
        let constraint = |topology_key: &str, when_unsatisfiable: &str| core::TopologySpreadConstraint {
            max_skew: 1,
            topology_key: topology_key.to_owned(),
            when_unsatisfiable: when_unsatisfiable.to_owned(),
            label_selector: Some(app_selector(&app)),
            ..core::TopologySpreadConstraint::default()
        };
        spec.topology_spread_constraints =
            Some(vec![constraint(LABEL_TOPOLOGY_ZONE, "DoNotSchedule"), constraint(LABEL_HOSTNAME, "ScheduleAnyway")]);
    }
    pod
}

/// What to build and how to schedule it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BenchConfig {
    /// Nodes.
    pub nodes: usize,
    /// Pods already bound before the run.
    pub existing_pods: usize,
    /// Pods to schedule.
    pub pods: usize,
    /// The workload of the Pods to schedule.
    pub workload: Workload,
    /// The seed of every draw (cluster and tie-breaking).
    pub seed: u64,
    /// Score every node instead of the adaptive sample.
    pub score_all: bool,
}

impl Default for BenchConfig {
    fn default() -> BenchConfig {
        BenchConfig {
            nodes: 5_000,
            existing_pods: 0,
            pods: 1_000,
            workload: Workload::Basic,
            seed: 1,
            score_all: false,
        }
    }
}

/// The synthetic cluster.
#[derive(Clone, Debug, Default)]
pub struct BenchCluster {
    /// Nodes.
    pub nodes: Vec<Arc<core::Node>>,
    /// Bound Pods.
    pub existing_pods: Vec<Arc<core::Pod>>,
    /// Pending Pods.
    pub pending_pods: Vec<Arc<core::Pod>>,
}

/// One eviction a preemption asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eviction {
    /// The evicted Pod's name.
    pub victim: String,
    /// The Pod it made room for.
    pub preemptor: String,
    /// The node the preemptor was nominated to.
    pub node: String,
}

/// What a run produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BenchStats {
    /// Pods bound.
    pub scheduled: usize,
    /// Pods still unbound when the run ended.
    pub unschedulable: usize,
    /// Failed attempts (a preempting Pod fails once before it binds).
    pub failed_attempts: usize,
    /// Placements, pod name to node name, in binding order.
    pub placements: Vec<(String, String)>,
    /// The most Pods placed on one node by the run.
    pub max_pods_per_node: usize,
    /// Successful preemptions (nominations).
    pub preemptions: usize,
    /// Every eviction, in order.
    pub evictions: Vec<Eviction>,
    /// Rounds of scheduling run.
    pub rounds: usize,
}

fn quantity(text: String) -> WireQuantity {
    WireQuantity(text)
}

fn requests(milli_cpu: i64, memory_mebibytes: i64) -> core::ResourceRequirements {
    let requests = BTreeMap::from([
        ("cpu".to_owned(), quantity(format!("{milli_cpu}m"))),
        ("memory".to_owned(), quantity(format!("{memory_mebibytes}Mi"))),
    ]);
    core::ResourceRequirements { requests: Some(requests), ..Default::default() }
}

fn node(index: usize, cores: i64) -> core::Node {
    let name = format!("node-{index:05}");
    let labels = BTreeMap::from([
        (LABEL_HOSTNAME.to_owned(), name.clone()),
        (LABEL_TOPOLOGY_ZONE.to_owned(), format!("zone-{}", index % BENCH_ZONES)),
        (LABEL_TOPOLOGY_REGION.to_owned(), "region-1".to_owned()),
    ]);
    let allocatable = BTreeMap::from([
        ("cpu".to_owned(), quantity(cores.to_string())),
        ("memory".to_owned(), quantity(format!("{}Gi", cores * 4))),
        ("pods".to_owned(), quantity("110".to_owned())),
    ]);
    core::Node {
        metadata: meta::ObjectMeta { name: Some(name), labels: Some(labels), ..meta::ObjectMeta::default() },
        spec: Some(core::NodeSpec::default()),
        status: Some(core::NodeStatus {
            capacity: Some(allocatable.clone()),
            allocatable: Some(allocatable),
            ..core::NodeStatus::default()
        }),
    }
}

fn pod(name: String, node_name: Option<String>, rng: &mut ChaCha8Rng) -> core::Pod {
    let milli_cpu = [100, 200, 250, 500][rng.random_range(0..4usize)];
    let memory_mebibytes = [128, 256, 512][rng.random_range(0..3usize)];
    core::Pod {
        metadata: meta::ObjectMeta {
            namespace: Some("default".to_owned()),
            uid: Some(format!("uid-{name}")),
            name: Some(name),
            ..meta::ObjectMeta::default()
        },
        spec: Some(core::PodSpec {
            node_name,
            containers: vec![core::Container {
                name: "app".to_owned(),
                image: Some("registry.example/app:1".to_owned()),
                resources: Some(requests(milli_cpu, memory_mebibytes)),
                ..core::Container::default()
            }],
            ..core::PodSpec::default()
        }),
        status: None,
    }
}

/// A low-priority Pod filling its share of a node: the node's `cores` filled to
/// [`BENCH_FILL_PERCENT`] by `count` such Pods.
fn filler(index: usize, node_index: usize, cores: i64, count: usize, rng: &mut ChaCha8Rng) -> core::Pod {
    let mut pod = pod(format!("existing-{index:06}"), Some(format!("node-{node_index:05}")), rng);
    let milli_cpu = cores * 1000 * BENCH_FILL_PERCENT / 100 / count.max(1) as i64;
    if let Some(spec) = pod.spec.as_mut() {
        spec.priority = Some((index % BENCH_FILLER_PRIORITIES) as i32 * 10);
        if let Some(container) = spec.containers.first_mut() {
            container.resources = Some(requests(milli_cpu, 256));
        }
    }
    pod
}

/// Builds the cluster deterministically from the seed. The existing Pods land on random nodes,
/// or, when the workload fills the nodes, round-robin as fillers.
pub fn build_cluster(config: &BenchConfig) -> BenchCluster {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let cores: Vec<i64> = (0..config.nodes).map(|_| [16, 32, 64][rng.random_range(0..3usize)]).collect();
    let nodes: Vec<Arc<core::Node>> =
        cores.iter().enumerate().map(|(index, cores)| Arc::new(node(index, *cores))).collect();
    let existing_pods = (0..config.existing_pods)
        .map(|index| {
            if config.workload.fills_nodes() && !nodes.is_empty() {
                let node_index = index % nodes.len();
                let count =
                    config.existing_pods / nodes.len() + usize::from(node_index < config.existing_pods % nodes.len());
                return Arc::new(filler(index, node_index, cores[node_index], count, &mut rng));
            }
            let node_name = (!nodes.is_empty()).then(|| format!("node-{:05}", rng.random_range(0..nodes.len())));
            Arc::new(pod(format!("existing-{index:06}"), node_name, &mut rng))
        })
        .collect();
    let pending_pods = (0..config.pods)
        .map(|index| Arc::new(shape(pod(format!("pod-{index:06}"), None, &mut rng), index, config.workload)))
        .collect();
    BenchCluster { nodes, existing_pods, pending_pods }
}

/// The instant every benchmark event happens at.
fn bench_now() -> Timestamp {
    Timestamp::UNIX_EPOCH
}

/// A scheduler holding the cluster's nodes and bound Pods, with the pending Pods queued.
pub fn prepare(cluster: &BenchCluster, config: &BenchConfig) -> Result<Scheduler, SchedulerError> {
    let options = SamplingOptions { score_all: config.score_all, ..SamplingOptions::default() };
    let rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5eed);
    let mut scheduler = Scheduler::new(&SchedulerConfig::default(), &Registry::in_tree(), rng, options)?;
    let mut ignored = Vec::new();
    let now = bench_now();
    for node in &cluster.nodes {
        scheduler.observe(Input::NodeApplied(Arc::clone(node)), now, &mut ignored);
    }
    for pod in cluster.existing_pods.iter().chain(&cluster.pending_pods) {
        scheduler.observe(Input::PodApplied(Arc::clone(pod)), now, &mut ignored);
    }
    Ok(scheduler)
}

/// Schedules every queued Pod, then, while preemptions evicted Pods, feeds the evictions back
/// as deletions (what the API's watch would report), lets the backoff pass, and schedules
/// again; summarizes. `cluster` supplies the evicted Pods' objects.
pub fn run_prepared(scheduler: &mut Scheduler, cluster: &BenchCluster) -> BenchStats {
    let existing: BTreeMap<&str, &Arc<core::Pod>> =
        cluster.existing_pods.iter().map(|pod| (pod.metadata.name.as_deref().unwrap_or_default(), pod)).collect();
    let mut stats = BenchStats::default();
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    let mut unbound: BTreeMap<String, bool> = BTreeMap::new();
    let mut now = bench_now();
    while stats.rounds < BENCH_MAX_ROUNDS {
        stats.rounds += 1;
        let first_eviction = stats.evictions.len();
        let mut pending_evictions: Vec<String> = Vec::new();
        let mut effects = Vec::new();
        // In steps of the scheduler component's size, each step's effects handed on before the
        // next, as the component sends them: one round's effects held at once (an Event and a
        // Binding per Pod) made the bench pay for memory the scheduler never holds.
        loop {
            let attempted = scheduler.schedule_pending(now, SCHEDULER_PODS_PER_STEP, &mut effects);
            for effect in effects.drain(..) {
                take_effect(effect, &mut stats, &mut per_node, &mut unbound, &mut pending_evictions);
            }
            if attempted < SCHEDULER_PODS_PER_STEP {
                break;
            }
        }
        let evicted: std::collections::BTreeSet<&str> =
            stats.evictions[first_eviction..].iter().map(|eviction| eviction.victim.as_str()).collect();
        if evicted.is_empty() {
            break;
        }
        let deleted: Vec<Arc<core::Pod>> =
            evicted.iter().filter_map(|name| existing.get(name)).map(|pod| Arc::clone(pod)).collect();
        for pod in deleted {
            scheduler.observe(Input::PodDeleted(pod), now, &mut Vec::new());
        }
        now = now.checked_add(BENCH_ROUND_PAUSE).unwrap_or(now);
    }
    stats.unschedulable = unbound.len();
    stats.max_pods_per_node = per_node.values().copied().max().unwrap_or(0);
    stats
}

/// Books one effect of a scheduling step: a binding places a Pod, a deletion is a preemption
/// victim, a failed attempt's PodScheduled patch (with a nominated node after preemption)
/// closes the victims before it.
fn take_effect(
    effect: Effect,
    stats: &mut BenchStats,
    per_node: &mut BTreeMap<String, usize>,
    unbound: &mut BTreeMap<String, bool>,
    pending_evictions: &mut Vec<String>,
) {
    match effect {
        Effect::Bind(binding) => {
            let node = binding.target.name.unwrap_or_default();
            let name = binding.metadata.name.unwrap_or_default();
            *per_node.entry(node.clone()).or_default() += 1;
            unbound.remove(&name);
            stats.placements.push((name, node));
            stats.scheduled += 1;
        }
        Effect::DeletePod { name, .. } => pending_evictions.push(name),
        Effect::PatchPodStatus { name, condition, nominated_node_name, .. } if condition.type_ == "PodScheduled" => {
            stats.failed_attempts += 1;
            unbound.insert(name.clone(), true);
            if let Some(node) = nominated_node_name.filter(|node| !node.is_empty()) {
                stats.preemptions += 1;
                for victim in pending_evictions.drain(..) {
                    stats.evictions.push(Eviction { victim, preemptor: name.clone(), node: node.clone() });
                }
            }
        }
        _ => {}
    }
}

/// Builds, prepares and runs in one call.
pub fn run(config: &BenchConfig) -> Result<BenchStats, SchedulerError> {
    let cluster = build_cluster(config);
    let mut scheduler = prepare(&cluster, config)?;
    Ok(run_prepared(&mut scheduler, &cluster))
}

/// Checks every placement and eviction of a run independently of the framework: each evicted
/// Pod was an existing Pod on the node its preemptor was nominated to, of lower priority than
/// the preemptor; and per node, the summed requests of the existing Pods left and the placed
/// Pods stay within allocatable CPU, memory and Pod count. Returns the first violation found.
pub fn verify_placements(cluster: &BenchCluster, stats: &BenchStats) -> Result<(), String> {
    use super::resource::{Resource, pod_requests};
    let evicted = verify_evictions(cluster, stats)?;
    let mut used: BTreeMap<String, (Resource, i64)> = BTreeMap::new();
    let mut charge = |node: &str, spec: Option<&core::PodSpec>| {
        let entry = used.entry(node.to_owned()).or_insert_with(|| (Resource::default(), 0));
        if let Some(spec) = spec {
            entry.0.add(&pod_requests(spec).requests);
        }
        entry.1 += 1;
    };
    for pod in &cluster.existing_pods {
        if evicted.contains(pod.metadata.name.as_deref().unwrap_or_default()) {
            continue;
        }
        let spec = pod.spec.as_ref();
        charge(spec.and_then(|spec| spec.node_name.as_deref()).unwrap_or_default(), spec);
    }
    let pending: BTreeMap<&str, &core::Pod> = cluster
        .pending_pods
        .iter()
        .map(|pod| (pod.metadata.name.as_deref().unwrap_or_default(), pod.as_ref()))
        .collect();
    for (pod_name, node) in &stats.placements {
        let pod = pending.get(pod_name.as_str()).ok_or_else(|| format!("placed pod {pod_name} was never pending"))?;
        charge(node, pod.spec.as_ref());
    }
    for node in &cluster.nodes {
        let name = node.metadata.name.as_deref().unwrap_or_default();
        let Some((requested, pods)) = used.remove(name) else { continue };
        let allocatable = Resource::from_list(node.status.as_ref().and_then(|status| status.allocatable.as_ref()));
        if requested.milli_cpu > allocatable.milli_cpu
            || requested.memory > allocatable.memory
            || pods > allocatable.allowed_pod_number
        {
            return Err(format!("node {name} is overcommitted: {requested:?} on {allocatable:?} with {pods} pods"));
        }
    }
    if let Some(unknown) = used.keys().next() {
        return Err(format!("pods were placed on unknown node {unknown:?}"));
    }
    verify_constraints(cluster, stats)
}

fn priority_of(pod: &core::Pod) -> i32 {
    pod.spec.as_ref().and_then(|spec| spec.priority).unwrap_or(0)
}

/// Checks each eviction against the cluster as built; returns the evicted Pods' names.
fn verify_evictions<'a>(
    cluster: &BenchCluster,
    stats: &'a BenchStats,
) -> Result<std::collections::BTreeSet<&'a str>, String> {
    let existing: BTreeMap<&str, &core::Pod> = cluster
        .existing_pods
        .iter()
        .map(|pod| (pod.metadata.name.as_deref().unwrap_or_default(), pod.as_ref()))
        .collect();
    let pending: BTreeMap<&str, &core::Pod> = cluster
        .pending_pods
        .iter()
        .map(|pod| (pod.metadata.name.as_deref().unwrap_or_default(), pod.as_ref()))
        .collect();
    let mut evicted = std::collections::BTreeSet::new();
    for eviction in &stats.evictions {
        let victim = existing
            .get(eviction.victim.as_str())
            .ok_or_else(|| format!("evicted pod {} was not an existing pod", eviction.victim))?;
        let preemptor = pending
            .get(eviction.preemptor.as_str())
            .ok_or_else(|| format!("preemptor {} was never pending", eviction.preemptor))?;
        let victim_node = victim.spec.as_ref().and_then(|spec| spec.node_name.as_deref()).unwrap_or_default();
        if victim_node != eviction.node {
            return Err(format!(
                "{} evicted {} from {victim_node} for node {}",
                eviction.preemptor, eviction.victim, eviction.node
            ));
        }
        if priority_of(victim) >= priority_of(preemptor) {
            return Err(format!("{} evicted {} of no lower priority", eviction.preemptor, eviction.victim));
        }
        evicted.insert(eviction.victim.as_str());
    }
    Ok(evicted)
}

fn app_of(pod: &core::Pod) -> Option<&str> {
    pod.metadata.labels.as_ref().and_then(|labels| labels.get(APP_LABEL)).map(String::as_str)
}

/// Checks the affinity and spread workloads' constraints on the final placements, independently
/// of the plugins: no two Pods of one application on one node (required anti-affinity by
/// hostname), and per application the zones differ by at most one Pod (zone spread, maxSkew 1).
fn verify_constraints(cluster: &BenchCluster, stats: &BenchStats) -> Result<(), String> {
    let pending: BTreeMap<&str, &core::Pod> = cluster
        .pending_pods
        .iter()
        .map(|pod| (pod.metadata.name.as_deref().unwrap_or_default(), pod.as_ref()))
        .collect();
    let zones: BTreeMap<&str, &str> = cluster
        .nodes
        .iter()
        .filter_map(|node| {
            let zone = node.metadata.labels.as_ref()?.get(LABEL_TOPOLOGY_ZONE)?;
            Some((node.metadata.name.as_deref()?, zone.as_str()))
        })
        .collect();
    let mut per_app_node: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut per_app_zone: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for (pod_name, node) in &stats.placements {
        let Some(pod) = pending.get(pod_name.as_str()) else { continue };
        let Some(app) = app_of(pod) else { continue };
        let spec = pod.spec.as_ref();
        if spec.and_then(|spec| spec.affinity.as_ref()).is_some() {
            let count = per_app_node.entry((app, node.as_str())).or_default();
            *count += 1;
            if *count > 1 {
                return Err(format!("two pods of {app} on node {node} despite required anti-affinity"));
            }
        }
        if spec.and_then(|spec| spec.topology_spread_constraints.as_ref()).is_some() {
            let zone = zones.get(node.as_str()).copied().unwrap_or_default();
            *per_app_zone.entry(app).or_default().entry(zone).or_default() += 1;
        }
    }
    for (app, counts) in per_app_zone {
        let most = counts.values().copied().max().unwrap_or(0);
        let least = if counts.len() < BENCH_ZONES { 0 } else { counts.values().copied().min().unwrap_or(0) };
        if most - least > 1 {
            return Err(format!("{app} is spread over zones as {counts:?}, skew above 1"));
        }
    }
    Ok(())
}
