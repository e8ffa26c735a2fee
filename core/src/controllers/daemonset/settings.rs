//! A DaemonSet's spec as the controller reads it, with Kubernetes' defaults: the update
//! strategy, maxSurge and maxUnavailable scaled to the number of nodes (`SurgeCount`,
//! `UnavailableCount`), minReadySeconds and the history limit.

use k8s_openapi::api::apps::v1::{DaemonSet, RollingUpdateDaemonSet};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::DaemonSetError;
use crate::controllers::deployment::util::value_from_int_or_percent;
use crate::object::defaults::apps::{DAEMON_SET_MAX_UNAVAILABLE, REVISION_HISTORY_LIMIT, ROLLING_UPDATE};

/// `updateStrategy.type` that replaces pods only when a user deletes them.
pub const ON_DELETE: &str = "OnDelete";

/// `spec.minReadySeconds`.
pub fn min_ready_seconds(daemon_set: &DaemonSet) -> i32 {
    daemon_set.spec.as_ref().and_then(|spec| spec.min_ready_seconds).unwrap_or(0)
}

/// `revisionHistoryLimit`, defaulted to 10.
pub fn revision_history_limit(daemon_set: &DaemonSet) -> i32 {
    daemon_set.spec.as_ref().and_then(|spec| spec.revision_history_limit).unwrap_or(REVISION_HISTORY_LIMIT)
}

/// The rolling update settings, if the strategy is RollingUpdate (the default).
fn rolling_update(daemon_set: &DaemonSet) -> Option<RollingUpdateDaemonSet> {
    let strategy = daemon_set.spec.as_ref().and_then(|spec| spec.update_strategy.as_ref());
    let type_ = strategy.and_then(|strategy| strategy.type_.as_deref()).unwrap_or(ROLLING_UPDATE);
    (type_ == ROLLING_UPDATE).then(|| strategy.and_then(|strategy| strategy.rolling_update.clone()).unwrap_or_default())
}

/// Whether pods are replaced only when deleted by someone else.
pub fn is_on_delete(daemon_set: &DaemonSet) -> bool {
    rolling_update(daemon_set).is_none()
}

fn scaled(value: &IntOrString, total: i32) -> Result<i32, DaemonSetError> {
    value_from_int_or_percent(value, total, true).map_err(|_| DaemonSetError::InvalidIntOrPercent {
        value: match value {
            IntOrString::Int(number) => number.to_string(),
            IntOrString::String(text) => text.clone(),
        },
    })
}

/// `SurgeCount`: maxSurge of `nodes`, rounded up; zero without a rolling update or a maxSurge.
pub fn surge_count(daemon_set: &DaemonSet, nodes: i32) -> Result<i32, DaemonSetError> {
    match rolling_update(daemon_set).and_then(|rolling| rolling.max_surge) {
        Some(value) => scaled(&value, nodes),
        None => Ok(0),
    }
}

/// `UnavailableCount`: maxUnavailable of `nodes`, rounded up (1 when unset, its default).
pub fn unavailable_count(daemon_set: &DaemonSet, nodes: i32) -> Result<i32, DaemonSetError> {
    match rolling_update(daemon_set) {
        None => Ok(0),
        Some(rolling) => {
            let value = rolling.max_unavailable.unwrap_or(IntOrString::Int(DAEMON_SET_MAX_UNAVAILABLE));
            scaled(&value, nodes)
        }
    }
}

/// Whether a node may hold an old and a new pod at once during an update (`AllowsSurge`).
pub fn allows_surge(daemon_set: &DaemonSet) -> bool {
    surge_count(daemon_set, 1).is_ok_and(|surge| surge > 0)
}
