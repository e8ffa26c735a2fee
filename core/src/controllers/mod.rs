//! The controllers: pure reconcile functions from observed objects and `now` to API actions
//! and a requeue delay (DESIGN.md principles 1 and 6).
//!
//! Each reconcile reads typed `k8s_openapi` objects the shell listed and watched, never a store
//! or a clock, so the simulator and the production controller manager run the same functions.
//! The contract they share is in [`action`]; what a controller must remember between syncs lives
//! in the API objects (annotations, status), except [`expectations`], which Kubernetes also
//! keeps in memory and which the shell passes in explicitly.

pub mod action;
pub mod deployment;
pub mod endpoints;
pub mod endpointslice;
pub mod expectations;
pub mod job;
pub mod node_ipam;
pub mod node_lifecycle;
pub mod owner;
pub mod pods;
pub mod replicaset;
pub mod service_pods;
pub mod taint_eviction;
pub mod ttl_after_finished;

pub use action::{Action, CreatedEvent, EventType, PatchType, PropagationPolicy, Reconciled};
pub use deployment::{DeploymentError, reconcile_deployment};
pub use endpoints::reconcile_endpoints;
pub use endpointslice::reconcile_endpoint_slices;
pub use expectations::{ControllerExpectations, EXPECTATIONS_TIMEOUT};
pub use job::{JobError, reconcile_job};
pub use node_ipam::{NodeIpamConfig, PodCidrAllocations, reconcile_node_ipam};
pub use node_lifecycle::{NodeLifecycleConfig, NodeLifecycleState, reconcile_node_lifecycle};
pub use replicaset::{ReplicaSetError, reconcile_replica_set, reconcile_replication_controller};
pub use taint_eviction::reconcile_taint_eviction;
pub use ttl_after_finished::{TtlAfterFinishedError, reconcile_ttl_after_finished};

/// Most pods a ReplicaSet creates or deletes in one sync, as Kubernetes' `BurstReplicas`.
pub const BURST_REPLICAS: usize = 500;

/// Size of the first batch of pod creations; each next batch doubles (`SlowStartInitialBatchSize`).
pub const SLOW_START_INITIAL_BATCH_SIZE: usize = 1;
