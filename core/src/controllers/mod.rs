//! The controllers: pure reconcile functions from observed objects and `now` to API actions
//! and a requeue delay (DESIGN.md principles 1 and 6).
//!
//! Each reconcile reads typed `k8s_openapi` objects the shell listed and watched, never a store
//! or a clock, so the simulator and the production controller manager run the same functions.
//! The contract they share is in [`action`]; what a controller must remember between syncs lives
//! in the API objects (annotations, status), except [`expectations`], which Kubernetes also
//! keeps in memory and which the shell passes in explicitly.

pub mod action;
pub mod cronjob;
pub mod deployment;
pub mod expectations;
pub mod hpa;
pub mod job;
pub mod owner;
pub mod pods;
pub mod replicaset;
pub mod ttl_after_finished;

pub use action::{Action, CreatedEvent, EventType, PatchType, PropagationPolicy, Reconciled};
pub use cronjob::reconcile_cron_job;
pub use deployment::{DeploymentError, reconcile_deployment};
pub use expectations::{ControllerExpectations, EXPECTATIONS_TIMEOUT};
pub use hpa::reconcile_horizontal_pod_autoscaler;
pub use job::{JobError, reconcile_job};
pub use replicaset::{ReplicaSetError, reconcile_replica_set, reconcile_replication_controller};
pub use ttl_after_finished::{TtlAfterFinishedError, reconcile_ttl_after_finished};

/// Most pods a ReplicaSet creates or deletes in one sync, as Kubernetes' `BurstReplicas`.
pub const BURST_REPLICAS: usize = 500;

/// Size of the first batch of pod creations; each next batch doubles (`SlowStartInitialBatchSize`).
pub const SLOW_START_INITIAL_BATCH_SIZE: usize = 1;
