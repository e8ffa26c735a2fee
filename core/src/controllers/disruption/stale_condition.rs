//! The disruption controller's second queue (`syncStalePodDisruption`): a pod that carries
//! `DisruptionTarget=True` but was never deleted (an eviction or a taint manager that wrote the
//! condition and then failed to delete, or a deletion that was refused) would keep telling Job
//! failure policies it is being disrupted. Two minutes after the condition's transition
//! (`stalePodDisruptionTimeout`), the condition is set to False by a status update.
//!
//! Conditions the kubelet wrote (`TerminationByKubelet`) are never stale, since the kubelet may
//! take arbitrarily long to terminate; nor are those of pods in a terminal phase, to spare
//! needless writes.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::controllers::action::{Action, Reconciled, to_object};
use crate::object::pod_conditions::DISRUPTION_TARGET;

/// How long a pod not being deleted may carry `DisruptionTarget=True` before the condition is
/// reset to False (`stalePodDisruptionTimeout`, 2 minutes).
pub const STALE_POD_DISRUPTION_TIMEOUT: Duration = Duration::from_secs(2 * 60);

/// DisruptionTarget's reason when the kubelet terminates the pod (`v1.PodReasonTerminationByKubelet`).
pub const REASON_TERMINATION_BY_KUBELET: &str = "TerminationByKubelet";

/// The pod's `DisruptionTarget=True` condition if it can go stale: the pod is not being
/// deleted nor in a terminal phase, and the kubelet did not write it.
pub fn condition_that_can_go_stale(pod: &Pod) -> Option<&PodCondition> {
    if pod.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let status = pod.status.as_ref()?;
    let condition = status.conditions.as_ref()?.iter().find(|condition| condition.type_ == DISRUPTION_TARGET)?;
    let terminal = matches!(status.phase.as_deref(), Some("Succeeded" | "Failed"));
    let by_kubelet = condition.reason.as_deref() == Some(REASON_TERMINATION_BY_KUBELET);
    (condition.status == "True" && !by_kubelet && !terminal).then_some(condition)
}

/// `nonTerminatingPodHasStaleDisruptionCondition`: `None` when the pod has no condition that
/// can go stale, otherwise how long until it is stale (zero: now).
pub fn stale_disruption_condition_wait(pod: &Pod, now: Timestamp) -> Option<Duration> {
    let condition = condition_that_can_go_stale(pod)?;
    let since = condition.last_transition_time.as_ref().map_or(Timestamp::UNIX_EPOCH, |time| time.0);
    let waited = Duration::try_from(now.duration_since(since)).unwrap_or(Duration::ZERO);
    Some(STALE_POD_DISRUPTION_TIMEOUT.saturating_sub(waited))
}

/// `syncStalePodDisruption` for one pod: nothing when its condition cannot go stale, a
/// requeue when it is not stale yet, and otherwise the status update that sets it False
/// (`UpdatePodCondition` with `{type: DisruptionTarget, status: False}`: reason and message
/// are cleared, the transition time is now).
pub fn reconcile_stale_pod_disruption(pod: &Pod, now: Timestamp) -> Reconciled {
    let mut reconciled = Reconciled::default();
    let Some(wait) = stale_disruption_condition_wait(pod, now) else { return reconciled };
    if !wait.is_zero() {
        reconciled.requeue_after = Some(wait);
        return reconciled;
    }
    let mut updated = pod.clone();
    let conditions = updated.status.get_or_insert_with(Default::default).conditions.get_or_insert_with(Vec::new);
    for condition in conditions.iter_mut().filter(|condition| condition.type_ == DISRUPTION_TARGET) {
        *condition = PodCondition {
            type_: DISRUPTION_TARGET.to_string(),
            status: "False".to_string(),
            last_transition_time: Some(Time(now)),
            ..PodCondition::default()
        };
    }
    reconciled.push_alone(Action::UpdateStatus { object: to_object(&updated) });
    reconciled
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::SignedDuration;
    use serde_json::{Value, json};

    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    fn pod(deleted: bool, phase: &str, conditions: Value) -> Pod {
        let mut pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "foo", "namespace": "default", "resourceVersion": "18"},
            "status": {"phase": phase, "conditions": conditions},
        }))
        .unwrap();
        if deleted {
            pod.metadata.deletion_timestamp = Some(Time(at(0)));
        }
        pod
    }

    fn disruption(status: &str, reason: Option<&str>) -> Value {
        let mut condition =
            json!({"type": "DisruptionTarget", "status": status, "lastTransitionTime": at(0).to_string()});
        if let Some(reason) = reason {
            condition["reason"] = json!(reason);
        }
        json!([condition])
    }

    /// The conditions after a reconcile at `now`, `lastTransitionTime` left out as Kubernetes'
    /// test compares them; `None` when nothing was written.
    fn written(pod: &Pod, now: Timestamp) -> (Option<Vec<(String, String)>>, Option<Duration>) {
        let reconciled = reconcile_stale_pod_disruption(pod, now);
        let conditions = reconciled.actions.first().map(|action| {
            let Action::UpdateStatus { object } = action else { panic!("only a status update is written") };
            let updated: Pod = object.to_typed().unwrap();
            updated.status.unwrap().conditions.unwrap().into_iter().map(|c| (c.type_, c.status)).collect()
        });
        (conditions, reconciled.requeue_after)
    }

    // Rows of Kubernetes' TestStalePodDisruption (disruption_test.go): 2 min + 1 s after the
    // condition a live pod's DisruptionTarget turns False; 2 min - 1 s after, it waits the
    // second out; a pod being deleted, a pod without the condition and a False condition are
    // left as they are.
    #[test]
    fn a_stale_disruption_target_on_a_live_pod_turns_false_after_two_minutes() {
        let after = |seconds: i64| at(0) + SignedDuration::from_secs(seconds);
        let stale = pod(false, "Running", disruption("True", None));
        let expected = vec![("DisruptionTarget".to_string(), "False".to_string())];
        assert_eq!(written(&stale, after(121)), (Some(expected), None), "stale pod disruption");
        assert_eq!(written(&stale, after(119)), (None, Some(Duration::from_secs(1))), "pod disruption in progress");
        let deleted = pod(true, "Running", disruption("True", None));
        assert_eq!(written(&deleted, after(121)), (None, None), "pod disruption actuated");
        assert_eq!(written(&pod(true, "Running", json!([])), after(121)), (None, None), "no pod disruption");
        let cleared = pod(true, "Running", disruption("False", None));
        assert_eq!(written(&cleared, after(121)), (None, None), "pod disruption cleared");
        let live_cleared = pod(false, "Running", disruption("False", None));
        assert_eq!(written(&live_cleared, after(121)), (None, None), "a False condition is not stale");
    }

    // Rows of the integration TestStalePodDisruption (test/integration/disruption): the
    // kubelet's condition and the condition of a failed pod are never stale.
    #[test]
    fn kubelet_and_terminal_pod_conditions_are_never_stale() {
        let by_kubelet = pod(false, "Failed", disruption("True", Some(REASON_TERMINATION_BY_KUBELET)));
        assert_eq!(stale_disruption_condition_wait(&by_kubelet, at(600)), None);
        let running_by_kubelet = pod(false, "Running", disruption("True", Some(REASON_TERMINATION_BY_KUBELET)));
        assert_eq!(stale_disruption_condition_wait(&running_by_kubelet, at(600)), None);
        let failed = pod(false, "Failed", disruption("True", None));
        assert_eq!(stale_disruption_condition_wait(&failed, at(600)), None);
        let running = pod(false, "Running", disruption("True", Some("EvictionByEvictionAPI")));
        assert_eq!(stale_disruption_condition_wait(&running, at(30)), Some(Duration::from_secs(90)));
    }

    #[test]
    fn the_reset_clears_reason_and_message_and_keeps_other_conditions() {
        let conditions = json!([
            {"type": "Ready", "status": "True"},
            {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
             "message": "Taint manager: deleting due to NoExecute taint", "lastTransitionTime": at(0).to_string()},
        ]);
        let reconciled = reconcile_stale_pod_disruption(&pod(false, "Running", conditions), at(200));
        let Action::UpdateStatus { object } = &reconciled.actions[0] else { panic!("a status update") };
        let written = object.field("status").unwrap()["conditions"].clone();
        assert_eq!(
            written,
            json!([
                {"type": "Ready", "status": "True"},
                {"type": "DisruptionTarget", "status": "False", "lastTransitionTime": Time(at(200))},
            ])
        );
        assert_eq!(object.metadata.resource_version.as_deref(), Some("18"), "a compare-and-swap update");
    }
}
