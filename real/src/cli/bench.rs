//! `cox bench schedule`: builds a synthetic cluster in memory, schedules its pending pods through
//! the real queue, framework and cache, checks every placement and eviction, and prints
//! throughput and the resident memory once the cache holds the cluster.

use std::io::Write;
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};
use coxswain_core::scheduler::bench::{BenchConfig, Workload, build_cluster, prepare, run_prepared, verify_placements};

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
}

/// Runs a benchmark; exit status 1 if a placement breaks a filter.
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
    let started = Instant::now();
    let stats = run_prepared(&mut scheduler, &cluster);
    let seconds = started.elapsed().as_secs_f64();
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
        "scheduled: {}, unschedulable: {}, most pods on one node: {}",
        stats.scheduled, stats.unschedulable, stats.max_pods_per_node
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
    let _ = writeln!(output, "elapsed: {seconds:.3} s");
    let _ = writeln!(output, "pods/s: {:.0}", config.pods as f64 / seconds.max(f64::EPSILON));
    u8::from(verdict.is_err())
}
