//! The controller manager and scheduler at scale (issue 10, section 3), with the instant
//! kubelets over the zero-latency loopback: (a) one rollout of 3,000 pods (10 Deployments of
//! 300) on 1,000 nodes to all-Ready; (b) simulated minutes of a steady 1,000-node / 30,000-pod
//! cluster (Lease renewals every 10 s, node status every 5 min, the controllers' periodic
//! passes). Building the steady cluster (its own rollout) happens once, outside the measurement.

use std::hint::black_box;
use std::time::{Duration, Instant};

use coxswain_core::testing::scale::{ScaleCluster, ScaleConfig};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

/// Simulated time one iteration of the steady benchmark runs.
const STEADY_MINUTE: Duration = Duration::from_secs(60);
/// Simulated time a rollout may take before the benchmark gives up on it.
const ROLLOUT_LIMIT: Duration = Duration::from_secs(30 * 60);

fn rollout_3000_pods(criterion: &mut Criterion) {
    let config = ScaleConfig::ROLLOUT_3000_PODS;
    let mut group = criterion.benchmark_group("controllers_rollout_1000_nodes");
    group.sample_size(10).sampling_mode(SamplingMode::Flat).measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(config.pods() as u64));
    group.bench_function("3000_pods", |bencher| {
        bencher.iter_batched(
            || {
                let mut scale = ScaleCluster::new(config);
                scale.create_deployments();
                scale
            },
            |mut scale| {
                assert!(scale.roll_out(ROLLOUT_LIMIT), "the Deployments roll out");
                black_box(scale)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn steady_30000_pods(criterion: &mut Criterion) {
    let config = ScaleConfig::STEADY_30000_PODS;
    let built = Instant::now();
    let mut scale = ScaleCluster::new(config);
    scale.create_deployments();
    assert!(scale.roll_out(ROLLOUT_LIMIT), "the Deployments roll out");
    eprintln!(
        "steady cluster: {} pods rolled out on {} nodes in {:?} wall",
        config.pods(),
        config.nodes,
        built.elapsed()
    );
    let mut group = criterion.benchmark_group("controllers_steady_1000_nodes");
    group.sample_size(10).sampling_mode(SamplingMode::Flat).measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(STEADY_MINUTE.as_secs()));
    group.bench_function("30000_pods_one_simulated_minute", |bencher| {
        bencher.iter(|| scale.run_for(STEADY_MINUTE));
    });
    group.finish();
    assert!(scale.rolled_out(), "the steady cluster stays rolled out");
}

criterion_group!(benches, rollout_3000_pods, steady_30000_pods);
criterion_main!(benches);
