//! Pod condition types, reasons and messages that several rooms write or read (the API server,
//! the scheduler, the node lifecycle and disruption controllers), spelled as Kubernetes 1.32
//! spells them (`k8s.io/api/core/v1` constants).

/// The condition saying whether the Pod was bound to a node (`v1.PodScheduled`).
pub const POD_SCHEDULED: &str = "PodScheduled";

/// The Pod's readiness to serve, which endpoints follow (`v1.PodReady`).
pub const POD_READY: &str = "Ready";

/// PodScheduled's reason while the Pod has scheduling gates (`v1.PodReasonSchedulingGated`).
pub const REASON_SCHEDULING_GATED: &str = "SchedulingGated";

/// PodScheduled's message while the Pod has scheduling gates, as the API server writes it.
pub const MESSAGE_SCHEDULING_GATED: &str = "Scheduling is blocked due to non-empty scheduling gates";

/// The condition marking a Pod about to be deleted by a disruption (`v1.DisruptionTarget`).
pub const DISRUPTION_TARGET: &str = "DisruptionTarget";

/// DisruptionTarget's reason when taint eviction deletes the Pod
/// (`v1.PodReasonDeletionByTaintManager`).
pub const REASON_DELETION_BY_TAINT_MANAGER: &str = "DeletionByTaintManager";
