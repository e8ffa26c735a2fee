//! Scheduler throughput: the `basic` workload (5,000 nodes, 1,000 Pods) through the real queue,
//! framework and cache, with kube-scheduler's adaptive node sampling and with every node scored;
//! the `affinity` and `spread` workloads (pod anti-affinity, topology spread) with sampling; and
//! the `preemption` and `mixed` workloads on nodes filled by 20,000 low-priority Pods (every
//! preemption's evictions fed back until the Pods bind).

use std::hint::black_box;
use std::time::Duration;

use coxswain_core::scheduler::bench::{BenchConfig, Workload, build_cluster, prepare, run_prepared};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

/// Measures one run per configuration, building a fresh scheduler outside the measurement.
fn bench_runs(criterion: &mut Criterion, group_name: &str, configs: &[(&str, BenchConfig)]) {
    let mut group = criterion.benchmark_group(group_name);
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    for (label, config) in configs {
        let cluster = build_cluster(config);
        group.throughput(Throughput::Elements(config.pods as u64));
        group.bench_function(*label, |bencher| {
            bencher.iter_batched(
                || prepare(&cluster, config).expect("the default profile builds"),
                // The scheduler is returned so that dropping it happens outside the measurement.
                |mut scheduler| {
                    let stats = black_box(run_prepared(&mut scheduler, &cluster));
                    (scheduler, stats)
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn schedule_basic(criterion: &mut Criterion) {
    let configs = [
        ("default_sampling", BenchConfig::default()),
        ("score_all", BenchConfig { score_all: true, ..BenchConfig::default() }),
    ];
    bench_runs(criterion, "schedule_basic_5000_nodes", &configs);
}

fn schedule_constrained(criterion: &mut Criterion) {
    let configs = [
        ("affinity", BenchConfig { workload: Workload::Affinity, ..BenchConfig::default() }),
        ("spread", BenchConfig { workload: Workload::Spread, ..BenchConfig::default() }),
    ];
    bench_runs(criterion, "schedule_constrained_5000_nodes", &configs);
}

fn schedule_preempting(criterion: &mut Criterion) {
    let filled = BenchConfig { existing_pods: 20_000, pods: 500, ..BenchConfig::default() };
    let configs = [
        ("preemption", BenchConfig { workload: Workload::Preemption, ..filled }),
        ("mixed", BenchConfig { workload: Workload::Mixed, ..filled }),
    ];
    bench_runs(criterion, "schedule_preempting_5000_nodes", &configs);
}

criterion_group!(benches, schedule_basic, schedule_constrained, schedule_preempting);
criterion_main!(benches);
