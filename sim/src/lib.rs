//! coxswain-sim: the deterministic cluster simulator.
//!
//! A scenario (a cluster, real Kubernetes manifests, a timeline of user actions and faults) is
//! replayed on a discrete-event engine: the API server, the scheduler, the controller manager and
//! one node agent per node — the same core code production runs — exchange requests, answers
//! and watch frames as events through a network model with latency, loss and partitions. Time
//! jumps from one event to the next, so idle time costs nothing, and every random draw comes from
//! the scenario's seed, so a seed replays byte-identically.

pub mod agent;
pub mod checkers;
pub mod components;
pub mod duration;
pub mod engine;
pub mod metrics;
pub mod observe;
pub mod outcome;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod shrink;
pub mod swarm;
pub mod trace;
