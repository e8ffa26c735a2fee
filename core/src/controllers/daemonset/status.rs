//! A DaemonSet's status (`updateDaemonSetStatus`, `storeDaemonSetStatus`): per node that should
//! run the daemon, whether it has a pod and whether its oldest pod is ready, available and up to
//! date; per node that should not, whether it has one anyway (misscheduled).

use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSetStatus;

use super::eligibility::node_should_run_daemon_pod;
use super::manage::{Observed, is_pod_updated, oldest_first};
use super::settings::min_ready_seconds;
use crate::controllers::pods::{is_pod_available, is_pod_ready};

/// The status the observed pods give, keeping the stored conditions and collision count;
/// `observedGeneration` is raised only when `update_observed_generation` (the sync acted on
/// this generation).
pub(super) fn compute_status(
    observed: &Observed<'_>,
    collision_count: i32,
    update_observed_generation: bool,
) -> DaemonSetStatus {
    let daemon_set = observed.daemon_set;
    let stored = daemon_set.status.clone().unwrap_or_default();
    let (mut desired, mut current, mut misscheduled, mut ready, mut updated, mut available) = (0, 0, 0, 0, 0, 0);
    for (name, node) in &observed.nodes {
        let (should_run, _) = node_should_run_daemon_pod(node, daemon_set);
        let pods = observed.node_to_pods.get(name).filter(|pods| !pods.is_empty());
        match (should_run, pods) {
            (true, None) => desired += 1,
            (true, Some(pods)) => {
                desired += 1;
                current += 1;
                let oldest = oldest_first(pods)[0];
                if is_pod_ready(oldest) {
                    ready += 1;
                    available += i32::from(is_pod_available(oldest, min_ready_seconds(daemon_set), observed.now));
                }
                updated += i32::from(is_pod_updated(oldest, &observed.hash));
            }
            (false, Some(_)) => misscheduled += 1,
            (false, None) => {}
        }
    }
    let observed_generation =
        if update_observed_generation { daemon_set.metadata.generation } else { stored.observed_generation };
    DaemonSetStatus {
        desired_number_scheduled: desired,
        current_number_scheduled: current,
        number_misscheduled: misscheduled,
        number_ready: ready,
        updated_number_scheduled: Some(updated),
        number_available: Some(available),
        number_unavailable: Some(desired - available),
        observed_generation,
        collision_count: Some(collision_count),
        conditions: stored.conditions,
    }
}

/// Whether the status must be written: any count differs, the collision count moved, or the
/// stored observedGeneration is behind (`storeDaemonSetStatus`'s early return, inverted).
pub(super) fn differs(stored: Option<&DaemonSetStatus>, new: &DaemonSetStatus, generation: Option<i64>) -> bool {
    let default = DaemonSetStatus::default();
    let stored = stored.unwrap_or(&default);
    let count = |value: Option<i32>| value.unwrap_or(0);
    stored.desired_number_scheduled != new.desired_number_scheduled
        || stored.current_number_scheduled != new.current_number_scheduled
        || stored.number_misscheduled != new.number_misscheduled
        || stored.number_ready != new.number_ready
        || count(stored.updated_number_scheduled) != count(new.updated_number_scheduled)
        || count(stored.number_available) != count(new.number_available)
        || count(stored.number_unavailable) != count(new.number_unavailable)
        || count(stored.collision_count) != count(new.collision_count)
        || stored.observed_generation.unwrap_or(0) < new.observed_generation.unwrap_or(0).min(generation.unwrap_or(0))
}

/// Look again after minReadySeconds while ready pods are not yet available.
pub(super) fn requeue_for_availability(min_ready_seconds: i32, status: &DaemonSetStatus) -> Option<Duration> {
    let pending = status.number_ready != status.number_available.unwrap_or(0);
    (min_ready_seconds > 0 && pending).then(|| Duration::from_secs(min_ready_seconds as u64))
}
