//! Scheduler throughput: the `basic` workload (5,000 nodes, 1,000 Pods) through the real queue,
//! framework and cache, with kube-scheduler's adaptive node sampling and with every node scored;
//! the `affinity` and `spread` workloads (pod anti-affinity, topology spread) with sampling; and
//! the `preemption` and `mixed` workloads on nodes filled by 20,000 low-priority Pods (every
//! preemption's evictions fed back until the Pods bind); and the cost of bringing the
//! scheduler's snapshot up to date after one node changes, at 5,000 nodes and 150,000 Pods.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use coxswain_core::scheduler::bench::{BenchConfig, Workload, build_cluster, prepare, run_prepared};
use coxswain_core::scheduler::{Cache, PodInfo, PodKey, Snapshot};
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

/// A cache of 5,000 nodes and 150,000 bound Pods, and its snapshot, up to date.
fn loaded_cache() -> (Cache, Snapshot, coxswain_core::scheduler::bench::BenchCluster) {
    let config = BenchConfig { existing_pods: 150_000, pods: 0, ..BenchConfig::default() };
    let cluster = build_cluster(&config);
    let mut cache = Cache::new();
    for node in &cluster.nodes {
        cache.add_or_update_node(Arc::clone(node));
    }
    for pod in &cluster.existing_pods {
        cache.add_pod(Arc::new(PodInfo::new(Arc::clone(pod)))).expect("each pod is added once");
    }
    let mut snapshot = Snapshot::new();
    cache.update_snapshot(&mut snapshot);
    (cache, snapshot, cluster)
}

/// One node changes, then the snapshot is brought up to date: a Pod of the node leaves and comes
/// back (what a deletion and a binding cost), or the Node's labels change (a zone relabel moves
/// the dense topology arrays too).
fn snapshot_update(criterion: &mut Criterion) {
    let (mut cache, mut snapshot, cluster) = loaded_cache();
    let mut group = criterion.benchmark_group("snapshot_update_5000_nodes_150000_pods");
    group.sample_size(20).measurement_time(Duration::from_secs(5));
    let mut next = 0usize;
    group.bench_function("pod_removed_and_added", |bencher| {
        bencher.iter(|| {
            let pod = &cluster.existing_pods[next % cluster.existing_pods.len()];
            next += 1;
            cache.remove_pod(&PodKey::of(pod)).expect("the pod is cached");
            cache.add_pod(Arc::new(PodInfo::new(Arc::clone(pod)))).expect("the pod was removed");
            cache.update_snapshot(&mut snapshot);
            black_box(snapshot.len())
        })
    });
    for (label, key) in
        [("node_label_changed", "example.com/revision"), ("node_zone_changed", "topology.kubernetes.io/zone")]
    {
        let mut revision = 0usize;
        group.bench_function(label, |bencher| {
            bencher.iter(|| {
                revision += 1;
                let mut node = (*cluster.nodes[revision % cluster.nodes.len()]).clone();
                let labels = node.metadata.labels.get_or_insert_with(Default::default);
                labels.insert(key.to_owned(), format!("value-{}", revision % 7));
                cache.add_or_update_node(Arc::new(node));
                cache.update_snapshot(&mut snapshot);
                black_box(snapshot.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, schedule_basic, schedule_constrained, schedule_preempting, snapshot_update);
criterion_main!(benches);
