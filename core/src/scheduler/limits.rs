//! The scheduler's named constants and bounds, with kube-scheduler 1.32's values.

use std::time::Duration;

/// The highest score a Score plugin may return after normalization (`framework.MaxNodeScore`).
pub const MAX_NODE_SCORE: i64 = 100;

/// The lowest score a Score plugin may return (`framework.MinNodeScore`).
pub const MIN_NODE_SCORE: i64 = 0;

/// The largest weight a score plugin may be configured with (`framework.MaxWeight` is
/// `MaxTotalScore / MaxNodeScore`; validation caps a single weight at 100).
pub const MAX_PLUGIN_WEIGHT: i64 = 100;

/// CPU assumed for a container that requests none, when scoring (`DefaultMilliCPURequest`).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;

/// Memory assumed for a container that requests none, when scoring (`DefaultMemoryRequest`,
/// 200 MiB).
pub const DEFAULT_MEMORY_REQUEST_BYTES: i64 = 200 * 1024 * 1024;

/// Below this many nodes every node is evaluated (`minFeasibleNodesToFind`).
pub const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;

/// The smallest adaptive share of nodes evaluated (`minFeasibleNodesPercentageToFind`).
pub const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: u32 = 5;

/// The adaptive share starts here and drops one point per [`ADAPTIVE_PERCENTAGE_NODES_PER_POINT`]
/// nodes (`DefaultPercentageOfNodesToScore` is 0, meaning adaptive: 50 - nodes/125).
pub const ADAPTIVE_PERCENTAGE_BASE: u32 = 50;

/// How many nodes lower the adaptive share by one percentage point.
pub const ADAPTIVE_PERCENTAGE_NODES_PER_POINT: usize = 125;

/// The first backoff after a failed attempt (`podInitialBackoffSeconds`, 1 s).
pub const POD_INITIAL_BACKOFF: Duration = Duration::from_secs(1);

/// The longest backoff (`podMaxBackoffSeconds`, 10 s).
pub const POD_MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How long a Pod may stay unschedulable before it is retried anyway
/// (`podMaxInUnschedulablePodsDuration`, 5 minutes).
pub const POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION: Duration = Duration::from_secs(5 * 60);

/// How often unschedulable Pods are checked for the duration above
/// (`flushUnschedulablePodsLeftover` runs every 30 s).
pub const UNSCHEDULABLE_PODS_FLUSH_INTERVAL: Duration = Duration::from_secs(30);

/// How long an assumed Pod whose binding finished may wait for the watch to confirm it before
/// the cache forgets it; zero means never, which is kube-scheduler's `durationToExpireAssumedPod`.
pub const ASSUMED_POD_EXPIRATION: Duration = Duration::ZERO;

/// ImageLocality: images smaller than this score nothing (`minThreshold`, 23 MB).
pub const IMAGE_MIN_THRESHOLD_BYTES: i64 = 23 * 1024 * 1024;

/// ImageLocality: images larger than this per container score the maximum
/// (`maxContainerThreshold`, 1000 MB).
pub const IMAGE_MAX_CONTAINER_THRESHOLD_BYTES: i64 = 1000 * 1024 * 1024;

/// RequestedToCapacityRatio: the largest score a shape point may carry (`MaxCustomPriorityScore`).
pub const MAX_CUSTOM_PRIORITY_SCORE: i64 = 10;

/// RequestedToCapacityRatio: utilization is a percentage (`maxUtilization`).
pub const MAX_UTILIZATION: i64 = 100;

/// The most profiles one configuration may declare.
pub const MAX_PROFILES: usize = 64;

/// The most Pods one `schedule_pending` call schedules, so one step stays bounded.
pub const MAX_PODS_PER_STEP: usize = 10_000;

/// DefaultPreemption's `minCandidateNodesPercentage` default: the share of the potential nodes
/// a preemption dry-runs before picking one.
pub const MIN_CANDIDATE_NODES_PERCENTAGE: u32 = 10;

/// DefaultPreemption's `minCandidateNodesAbsolute` default: at least this many potential nodes
/// are dry-run (fewer only when fewer exist).
pub const MIN_CANDIDATE_NODES_ABSOLUTE: u32 = 100;
