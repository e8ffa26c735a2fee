//! The kube-scheduler, pure and deterministic: the framework's extension points, the plugins
//! of kube-scheduler 1.32, profiles from `KubeSchedulerConfiguration`, the incremental cache
//! and its cheap snapshots, the scheduling queue, one scheduling cycle, and a `step`-driven
//! [`Scheduler`] whose effects the simulator and the server carry out alike.

pub mod bench;
pub mod bench_capacity;
pub mod cache;
pub mod component;
pub mod driver;
pub mod fast_map;
pub mod fit_error;
pub mod framework;
pub mod limits;
pub mod lister_informers;
pub mod listers;
pub mod metrics;
pub mod node_batch;
pub mod node_counters;
pub mod node_info;
pub mod node_tree;
pub mod nominated_pods;
pub mod nominator;
pub mod plugins;
pub mod pod_affinity;
pub mod pod_index;
pub mod profile;
pub mod queue;
pub mod registry;
pub mod resource;
pub mod runtime;
pub mod schedule_one;
pub mod snapshot;
pub mod term_classes;
pub mod topology_domains;

#[cfg(test)]
pub mod testing;
#[cfg(test)]
mod tests;

pub use cache::{Cache, CacheError};
pub use driver::{Attempt, Effect, Input, Scheduler, SchedulerError};
pub use fit_error::{Diagnosis, FitError};
pub use framework::{CycleState, Plugin, Status};
pub use listers::{ClusterObjects, ListerObject};
pub use node_info::{NodeInfo, PodInfo, PodKey};
pub use nominator::Nominator;
pub use profile::{ProfileError, SchedulerConfig};
pub use registry::{Registry, RegistryError};
pub use runtime::Framework;
pub use schedule_one::{DecisionTrace, SamplingOptions, ScheduleError, ScheduleResult};
pub use snapshot::Snapshot;
