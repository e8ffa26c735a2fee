//! How one pod of a Job stands for counting: whether it carries the tracking finalizer (so is
//! not yet counted) and whether it counts as failed (Kubernetes' `isPodFailed`).

use k8s_openapi::api::core::v1::Pod;

use crate::controllers::pods::phase;

/// The finalizer the Job controller puts on every pod it creates or adopts, and removes once
/// the pod is counted in the Job's status (`batch.kubernetes.io/job-tracking`).
pub const JOB_TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";

/// Whether the pod still carries [`JOB_TRACKING_FINALIZER`].
pub fn has_tracking_finalizer(pod: &Pod) -> bool {
    pod.metadata.finalizers.iter().flatten().any(|finalizer| finalizer == JOB_TRACKING_FINALIZER)
}

/// `isPodFailed`: phase Failed, or, unless only failed pods are replaced, deleted before it
/// succeeded (an orphan or evicted pod may never reach the Failed phase).
pub fn is_pod_failed(pod: &Pod, only_replace_failed: bool) -> bool {
    if phase(pod) == "Failed" {
        return true;
    }
    if only_replace_failed {
        return false;
    }
    pod.metadata.deletion_timestamp.is_some() && phase(pod) != "Succeeded"
}
