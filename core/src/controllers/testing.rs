//! Test helpers the workload controllers' in-test worlds share.

use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// Pending pods start running and become ready at `now`, as a kubelet would report them.
pub fn start_pending_pods<'a>(pods: impl Iterator<Item = &'a mut Pod>, now: Timestamp) {
    for pod in pods {
        let Some(status) = pod.status.as_mut() else { continue };
        if status.phase.as_deref() == Some("Pending") {
            status.phase = Some("Running".to_string());
            status.conditions = Some(vec![PodCondition {
                type_: "Ready".to_string(),
                status: "True".to_string(),
                last_transition_time: Some(Time(now)),
                ..PodCondition::default()
            }]);
        }
    }
}
