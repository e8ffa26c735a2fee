//! Scheduler throughput: the `basic` workload (5,000 nodes, 1,000 Pods) through the real queue,
//! framework and cache, with kube-scheduler's adaptive node sampling and with every node scored.

use std::hint::black_box;
use std::time::Duration;

use coxswain_core::scheduler::bench::{BenchConfig, build_cluster, prepare, run_prepared};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

fn schedule_basic(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("schedule_basic_5000_nodes");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    for (label, score_all) in [("default_sampling", false), ("score_all", true)] {
        let config = BenchConfig { score_all, ..BenchConfig::default() };
        let cluster = build_cluster(&config);
        group.throughput(Throughput::Elements(config.pods as u64));
        group.bench_function(label, |bencher| {
            bencher.iter_batched(
                || prepare(&cluster, &config).expect("the default profile builds"),
                // The scheduler is returned so that dropping it happens outside the measurement.
                |mut scheduler| {
                    let stats = black_box(run_prepared(&mut scheduler));
                    (scheduler, stats)
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, schedule_basic);
criterion_main!(benches);
