//! `cox bench schedule`: builds a synthetic cluster in memory, schedules its pending pods through
//! the real queue, framework and cache, checks every placement and eviction, and prints
//! throughput (over the Pods actually bound), where each cycle's time went, and the resident
//! memory once the cache holds the cluster.

use std::io::Write;
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};
use coxswain_core::scheduler::bench::{
    BenchConfig, BenchStats, Workload, build_cluster, prepare, run_prepared, verify_placements,
};
use coxswain_core::scheduler::bench_capacity::built_to_fit;
use coxswain_core::scheduler::metrics::{CycleMetrics, ExtensionPoint, MonotonicClock, percentile};

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Schedule synthetic pods onto synthetic nodes and report pods per second.
    Schedule(ScheduleArgs),
    /// Load a running API server from this process: request latency at a fixed rate, watch
    /// fan-out, and a paged Table list of many pods.
    Api(super::bench_api::ApiBenchArgs),
}

/// The workloads `cox bench schedule` can build.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum WorkloadArg {
    /// One container with small CPU and memory requests, no constraints.
    Basic,
    /// Basic pods of 100 apps with required anti-affinity by hostname and preferred
    /// anti-affinity by zone against their own app.
    Affinity,
    /// Basic pods of 100 apps spread by zone (maxSkew 1, DoNotSchedule) and hostname
    /// (maxSkew 1, ScheduleAnyway).
    Spread,
    /// The existing pods fill 90% of every node's CPU at low priorities; every pending pod has
    /// a high priority and asks for 8 CPUs, so it fits only by preempting.
    Preemption,
    /// The preemption workload's cluster; pending pods cycle through basic, affinity, spread
    /// and preempting ones.
    Mixed,
}

/// The process's resident memory in kibibytes (`VmRSS` of /proc/self/status), if readable.
fn resident_kibibytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mebibytes(kibibytes: Option<u64>) -> String {
    kibibytes.map_or_else(|| "unknown".to_owned(), |kibibytes| format!("{:.0} MiB", kibibytes as f64 / 1024.0))
}

/// Arguments of `cox bench schedule`.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Nodes in the cluster.
    #[arg(long, default_value_t = 5_000)]
    nodes: usize,
    /// Pods to schedule.
    #[arg(long, default_value_t = 10_000)]
    pods: usize,
    /// Pods already bound before the run (held in the scheduler's cache).
    #[arg(long, default_value_t = 0)]
    existing: usize,
    /// The pods' shape.
    #[arg(long, value_enum, default_value = "basic")]
    workload: WorkloadArg,
    /// Score every feasible node instead of kube-scheduler's adaptive sample.
    #[arg(long)]
    score_all: bool,
    /// Seed of the cluster and of tie-breaking.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print every placement (`bind POD NODE`) and eviction (`evict VICTIM NODE PREEMPTOR`) in
    /// order before the summary.
    #[arg(long)]
    placements: bool,
}

/// The process's monotonic clock, read by the scheduler's measuring hook.
struct InstantClock(Instant);

impl MonotonicClock for InstantClock {
    fn now_nanoseconds(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

fn milliseconds(duration: std::time::Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1000.0)
}

/// Where the time went: per extension point totals, then the p50/p99 of the scheduling
/// algorithm (PreFilter to host selection, `scheduling_algorithm_duration`) and of whole
/// attempts (with PostFilter and Reserve to Bind).
fn write_metrics(output: &mut dyn Write, metrics: &CycleMetrics) {
    let totals: Vec<String> = ExtensionPoint::ALL
        .iter()
        .map(|point| format!("{} {:.3} s", point.as_str(), metrics.total(*point).as_secs_f64()))
        .collect();
    let _ = writeln!(output, "extension points: {}", totals.join(", "));
    let algorithm = metrics.algorithm_nanoseconds();
    let attempts = metrics.attempt_nanoseconds();
    let _ = writeln!(
        output,
        "scheduling algorithm: p50 {}, p99 {} over {} runs; attempt: p50 {}, p99 {} over {} attempts",
        milliseconds(percentile(algorithm, 50)),
        milliseconds(percentile(algorithm, 99)),
        algorithm.len(),
        milliseconds(percentile(attempts, 50)),
        milliseconds(percentile(attempts, 99)),
        attempts.len()
    );
}

fn write_placements(output: &mut dyn Write, stats: &BenchStats) {
    for (pod, node) in &stats.placements {
        let _ = writeln!(output, "bind {pod} {node}");
    }
    for eviction in &stats.evictions {
        let _ = writeln!(output, "evict {} {} {}", eviction.victim, eviction.node, eviction.preemptor);
    }
}

/// Runs a benchmark; exit status 1 if a placement breaks a filter, or if a cluster built to fit
/// left a Pod unschedulable.
pub fn run(command: &BenchCommand, output: &mut dyn Write) -> u8 {
    let arguments = match command {
        BenchCommand::Schedule(arguments) => arguments,
        BenchCommand::Api(arguments) => return super::bench_api::run(arguments, output),
    };
    let config = BenchConfig {
        nodes: arguments.nodes,
        existing_pods: arguments.existing,
        pods: arguments.pods,
        workload: match arguments.workload {
            WorkloadArg::Basic => Workload::Basic,
            WorkloadArg::Affinity => Workload::Affinity,
            WorkloadArg::Spread => Workload::Spread,
            WorkloadArg::Preemption => Workload::Preemption,
            WorkloadArg::Mixed => Workload::Mixed,
        },
        seed: arguments.seed,
        score_all: arguments.score_all,
    };
    let resident_before = resident_kibibytes();
    let build_started = Instant::now();
    let cluster = build_cluster(&config);
    let mut scheduler = match prepare(&cluster, &config) {
        Ok(scheduler) => scheduler,
        Err(error) => {
            let _ = writeln!(output, "error: {error}");
            return 1;
        }
    };
    let build_seconds = build_started.elapsed().as_secs_f64();
    let resident_loaded = resident_kibibytes();
    let cached_pods = scheduler.cache().pod_count();
    let fits = built_to_fit(&cluster, &config);
    let started = Instant::now();
    scheduler.measure(CycleMetrics::new(Box::new(InstantClock(started))));
    let stats = run_prepared(&mut scheduler, &cluster);
    let seconds = started.elapsed().as_secs_f64();
    if arguments.placements {
        write_placements(output, &stats);
    }
    let _ = writeln!(
        output,
        "cluster: {} nodes, {} existing pods (built in {build_seconds:.2} s)",
        config.nodes, config.existing_pods
    );
    let _ = writeln!(
        output,
        "resident memory: {} before building, {} with the cluster in the cache ({} cached pods)",
        mebibytes(resident_before),
        mebibytes(resident_loaded),
        cached_pods
    );
    let _ = writeln!(
        output,
        "workload: {:?}, {} pods, score-all: {}, seed: {}",
        config.workload, config.pods, config.score_all, config.seed
    );
    let _ = writeln!(
        output,
        "scheduled: {}, unschedulable: {}, most pods on one node: {}, built to fit: {}",
        stats.scheduled,
        stats.unschedulable,
        stats.max_pods_per_node,
        if fits { "yes" } else { "no" }
    );
    let _ = writeln!(
        output,
        "preemptions: {}, evictions: {} ({} distinct pods), failed attempts: {}, rounds: {}",
        stats.preemptions,
        stats.evictions.len(),
        stats
            .evictions
            .iter()
            .map(|eviction| eviction.victim.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        stats.failed_attempts,
        stats.rounds
    );
    let verdict = verify_placements(&cluster, &stats);
    let _ = writeln!(
        output,
        "placements checked: {}",
        verdict.as_ref().map_or_else(Clone::clone, |()| "all fit".to_string())
    );
    let stranded = fits && stats.unschedulable > 0;
    if stranded {
        let _ = writeln!(output, "error: {} pods stayed unschedulable in a cluster built to fit", stats.unschedulable);
    }
    if let Some(metrics) = scheduler.metrics() {
        write_metrics(output, metrics);
    }
    let _ = writeln!(output, "elapsed: {seconds:.3} s");
    let _ =
        writeln!(output, "pods/s: {:.0} (pods bound / elapsed)", stats.scheduled as f64 / seconds.max(f64::EPSILON));
    u8::from(verdict.is_err() || stranded)
}
