//! Scheduler tests: Kubernetes' plugin tables ported, and the cycle, queue, cache and driver.

mod bench_workloads;
mod cycle;
mod default_preemption;
mod fast_path_equivalence;
mod gates_and_zones;
mod least_allocated;
mod node_resources_fit;
mod preemption_equivalence;
mod taint_toleration;
mod volumes;
