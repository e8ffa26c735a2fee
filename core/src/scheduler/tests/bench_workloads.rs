//! The preemption and mixed bench workloads end to end: every preempting Pod binds after its
//! evictions are fed back, and the independent check catches a wrong eviction.

use crate::scheduler::bench::{BenchConfig, Workload, build_cluster, prepare, run_prepared, verify_placements};

fn small(workload: Workload, pods: usize) -> BenchConfig {
    BenchConfig { nodes: 30, existing_pods: 120, pods, workload, seed: 5, ..BenchConfig::default() }
}

#[test]
fn the_preemption_workload_binds_every_pod_by_evicting_lower_priority_fillers() {
    let config = small(Workload::Preemption, 20);
    let cluster = build_cluster(&config);
    let mut scheduler = prepare(&cluster, &config).expect("builds");
    let stats = run_prepared(&mut scheduler, &cluster);
    assert_eq!(stats.scheduled, 20);
    assert_eq!(stats.unschedulable, 0);
    assert!(stats.preemptions >= 20, "{} preemptions", stats.preemptions);
    assert!(!stats.evictions.is_empty());
    assert_eq!(verify_placements(&cluster, &stats), Ok(()));
    assert!(scheduler.nominator().is_empty());
    // The check does not trust the plugin: an eviction on another node, or of the preemptor's
    // own priority, is caught.
    let mut moved = stats.clone();
    moved.evictions[0].node = "node-99999".to_owned();
    assert!(verify_placements(&cluster, &moved).is_err());
    let mut spared = stats.clone();
    spared.evictions.clear();
    assert!(verify_placements(&cluster, &spared).is_err(), "without evictions the nodes are overcommitted");
}

#[test]
fn the_mixed_workload_places_every_kind_of_pod() {
    let config = small(Workload::Mixed, 40);
    let cluster = build_cluster(&config);
    let mut scheduler = prepare(&cluster, &config).expect("builds");
    let stats = run_prepared(&mut scheduler, &cluster);
    assert_eq!(stats.scheduled, 40);
    assert!(stats.preemptions >= 10, "{} preemptions", stats.preemptions);
    assert_eq!(verify_placements(&cluster, &stats), Ok(()));
}

#[test]
fn existing_pods_are_honoured_by_every_workload() {
    for workload in [Workload::Basic, Workload::Affinity, Workload::Spread, Workload::Preemption, Workload::Mixed] {
        let config = small(workload, 10);
        let cluster = build_cluster(&config);
        assert_eq!(cluster.existing_pods.len(), 120, "{workload:?}");
        let scheduler = prepare(&cluster, &config).expect("builds");
        assert_eq!(scheduler.cache().pod_count(), 120, "{workload:?}");
    }
}

/// A clock that advances by one microsecond at every reading.
struct Ticking(std::sync::atomic::AtomicU64);

impl crate::scheduler::metrics::MonotonicClock for Ticking {
    fn now_nanoseconds(&self) -> u64 {
        self.0.fetch_add(1_000, std::sync::atomic::Ordering::Relaxed)
    }
}

#[test]
fn measuring_the_cycles_changes_no_placement_and_times_every_point_reached() {
    use crate::scheduler::metrics::{CycleMetrics, ExtensionPoint};
    let config = small(Workload::Mixed, 40);
    let cluster = build_cluster(&config);
    let unmeasured = run_prepared(&mut prepare(&cluster, &config).expect("builds"), &cluster);
    let mut scheduler = prepare(&cluster, &config).expect("builds");
    scheduler.measure(CycleMetrics::new(Box::new(Ticking(Default::default()))));
    let measured = run_prepared(&mut scheduler, &cluster);
    assert_eq!(measured, unmeasured);
    let metrics = scheduler.metrics().expect("measuring");
    for point in [ExtensionPoint::PreFilter, ExtensionPoint::Filter, ExtensionPoint::PostFilter, ExtensionPoint::Bind] {
        assert!(!metrics.total(point).is_zero(), "{point:?} was reached but not timed");
    }
    assert_eq!(metrics.attempt_nanoseconds().len(), measured.scheduled + measured.failed_attempts);
    assert_eq!(metrics.algorithm_nanoseconds().len(), metrics.attempt_nanoseconds().len());
}

#[test]
fn the_bench_workloads_are_built_to_fit_and_bind_every_pod() {
    use crate::scheduler::bench_capacity::built_to_fit;
    for workload in [Workload::Basic, Workload::Affinity, Workload::Spread, Workload::Preemption, Workload::Mixed] {
        let config = small(workload, 20);
        let cluster = build_cluster(&config);
        assert!(built_to_fit(&cluster, &config), "{workload:?}");
        let stats = run_prepared(&mut prepare(&cluster, &config).expect("builds"), &cluster);
        assert_eq!((stats.scheduled, stats.unschedulable), (20, 0), "{workload:?}");
    }
}
