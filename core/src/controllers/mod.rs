//! The controllers: pure reconcile functions from observed objects and `now` to API actions
//! and a requeue delay (DESIGN.md principles 1 and 6).
//!
//! Each reconcile reads typed `k8s_openapi` objects the shell listed and watched, never a store
//! or a clock, so the simulator and the production controller manager run the same functions.
//! The contract they share is in [`action`]; what a controller must remember between syncs lives
//! in the API objects (annotations, status), except [`expectations`], which Kubernetes also
//! keeps in memory and which the shell passes in explicitly.

/// The actions reconciles return live in the client room, below the controllers, because the
/// client maps them to requests; re-exported here where every controller names them.
pub use crate::client::action;
pub mod claims;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod endpoints;
pub mod endpointslice;
pub mod expectations;
pub mod garbage_collector;
pub mod history;
pub mod hpa;
pub mod job;
pub mod lookup;
pub mod manager;
pub mod namespace;
#[cfg(test)]
mod no_panic_tests;
pub mod node_ipam;
pub mod node_lifecycle;
pub mod owner;
pub mod persistentvolume;
pub mod pod_template;
pub mod podgc;
pub mod pods;
pub mod replicaset;
pub mod request;
pub mod resourcequota;
pub mod service_pods;
pub mod serviceaccount;
pub mod statefulset;
pub mod taint_eviction;
#[cfg(test)]
mod test_world;
#[cfg(test)]
mod testing;
pub mod ttl_after_finished;
pub mod volume_protection;

pub use action::{Action, CreatedEvent, EventType, PatchType, PropagationPolicy, Reconciled};
pub use cronjob::reconcile_cron_job;
pub use daemonset::{DaemonSetError, FailedPodsBackoff, reconcile_daemon_set};
pub use deployment::{DeploymentError, reconcile_deployment};
pub use disruption::{DisruptionError, reconcile_disruption_budget};
pub use endpoints::reconcile_endpoints;
pub use endpointslice::reconcile_endpoint_slices;
pub use expectations::{ControllerExpectations, EXPECTATIONS_TIMEOUT};
pub use garbage_collector::reconcile_garbage_collector;
pub use hpa::reconcile_horizontal_pod_autoscaler;
pub use job::{JobError, reconcile_job};
pub use namespace::{NamespaceReconciled, reconcile_namespace};
pub use node_ipam::{NodeIpamConfig, PodCidrAllocations, reconcile_node_ipam};
pub use node_lifecycle::{NodeLifecycleConfig, NodeLifecycleState, reconcile_node_lifecycle};
pub use replicaset::{ReplicaSetError, reconcile_replica_set, reconcile_replication_controller};
pub use request::{RequestError, action_request, finalize_request};
pub use resourcequota::{RESOURCE_QUOTA_SYNC_PERIOD, reconcile_resource_quota};
pub use serviceaccount::{DEFAULT_SERVICE_ACCOUNT_NAME, reconcile_service_accounts};
pub use statefulset::{StatefulSetError, reconcile_stateful_set};
pub use taint_eviction::reconcile_taint_eviction;
pub use ttl_after_finished::{TtlAfterFinishedError, reconcile_ttl_after_finished};

/// Most pods a ReplicaSet creates or deletes in one sync, as Kubernetes' `BurstReplicas`.
pub const BURST_REPLICAS: usize = 500;

/// Size of the first batch of pod creations; each next batch doubles (`SlowStartInitialBatchSize`).
pub const SLOW_START_INITIAL_BATCH_SIZE: usize = 1;
