//! Scheduler tests: Kubernetes' plugin tables ported, and the cycle, queue, cache and driver.

mod cycle;
mod least_allocated;
mod node_resources_fit;
mod taint_toleration;
mod volumes;
