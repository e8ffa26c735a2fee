//! A synthetic cluster for `cox bench schedule` and the criterion bench: N nodes with zone and
//! hostname labels and capacities, E Pods already bound, P pending Pods of a workload, all drawn
//! from a seed; and a run through the real queue, framework and cache. Timing is the caller's.

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

/// How many zones the synthetic nodes spread over.
pub const BENCH_ZONES: usize = 3;

/// How many applications (`app` label values) the affinity and spread workloads' Pods belong to.
pub const BENCH_APPS: usize = 100;

/// The label naming a Pod's application in the affinity and spread workloads.
pub const APP_LABEL: &str = "app";

/// The weight of the affinity workload's preferred zone anti-affinity.
pub const BENCH_PREFERRED_WEIGHT: i32 = 100;

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
}

fn app_selector(app: &str) -> meta::LabelSelector {
    meta::LabelSelector {
        match_labels: Some(BTreeMap::from([(APP_LABEL.to_owned(), app.to_owned())])),
        match_expressions: None,
    }
}

/// Gives a Basic Pod an application label and the workload's constraints.
fn shape(mut pod: core::Pod, index: usize, workload: Workload) -> core::Pod {
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

/// What a run produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BenchStats {
    /// Pods bound.
    pub scheduled: usize,
    /// Pods that fit nowhere on their attempt.
    pub unschedulable: usize,
    /// Placements, pod name to node name, in binding order.
    pub placements: Vec<(String, String)>,
    /// The most Pods placed on one node by the run.
    pub max_pods_per_node: usize,
}

fn quantity(text: String) -> WireQuantity {
    WireQuantity(text)
}

fn node(index: usize, rng: &mut ChaCha8Rng) -> core::Node {
    let name = format!("node-{index:05}");
    let cores = [16, 32, 64][rng.random_range(0..3usize)];
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
    let requests = BTreeMap::from([
        ("cpu".to_owned(), quantity(format!("{milli_cpu}m"))),
        ("memory".to_owned(), quantity(format!("{memory_mebibytes}Mi"))),
    ]);
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
                resources: Some(core::ResourceRequirements { requests: Some(requests), ..Default::default() }),
                ..core::Container::default()
            }],
            ..core::PodSpec::default()
        }),
        status: None,
    }
}

/// Builds the cluster deterministically from the seed.
pub fn build_cluster(config: &BenchConfig) -> BenchCluster {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let nodes: Vec<Arc<core::Node>> = (0..config.nodes).map(|index| Arc::new(node(index, &mut rng))).collect();
    let existing_pods = (0..config.existing_pods)
        .map(|index| {
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

/// Schedules every queued Pod once and summarizes.
pub fn run_prepared(scheduler: &mut Scheduler) -> BenchStats {
    let mut effects = Vec::new();
    scheduler.schedule_pending(bench_now(), usize::MAX, &mut effects);
    let mut stats = BenchStats::default();
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    for effect in effects {
        match effect {
            Effect::Bind(binding) => {
                let node = binding.target.name.unwrap_or_default();
                *per_node.entry(node.clone()).or_default() += 1;
                stats.placements.push((binding.metadata.name.unwrap_or_default(), node));
                stats.scheduled += 1;
            }
            Effect::PatchPodStatus { .. } => stats.unschedulable += 1,
            _ => {}
        }
    }
    stats.max_pods_per_node = per_node.values().copied().max().unwrap_or(0);
    stats
}

/// Builds, prepares and runs in one call.
pub fn run(config: &BenchConfig) -> Result<BenchStats, SchedulerError> {
    let cluster = build_cluster(config);
    let mut scheduler = prepare(&cluster, config)?;
    Ok(run_prepared(&mut scheduler))
}

/// Checks every placement of a run against the resource filters, independently of the
/// framework: per node, the summed requests of existing and placed Pods stay within allocatable
/// CPU, memory and Pod count. Returns the first violation found.
pub fn verify_placements(cluster: &BenchCluster, stats: &BenchStats) -> Result<(), String> {
    use super::resource::{Resource, pod_requests};
    let mut used: BTreeMap<String, (Resource, i64)> = BTreeMap::new();
    let mut charge = |node: &str, spec: Option<&core::PodSpec>| {
        let entry = used.entry(node.to_owned()).or_insert_with(|| (Resource::default(), 0));
        if let Some(spec) = spec {
            entry.0.add(&pod_requests(spec).requests);
        }
        entry.1 += 1;
    };
    for pod in &cluster.existing_pods {
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
