//! The HPA's status conditions (`setCondition`): one per type, in the order first set; the
//! transition time moves only when the status flips.

use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscalerCondition, HorizontalPodAutoscalerStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// Whether the controller can read and update the target's scale, and whether a backoff holds it.
pub const ABLE_TO_SCALE: &str = "AbleToScale";
/// Whether a replica count could be computed from the metrics.
pub const SCALING_ACTIVE: &str = "ScalingActive";
/// Whether the desired count was clamped by min/max replicas or a rate limit.
pub const SCALING_LIMITED: &str = "ScalingLimited";

/// Sets the condition of `type_`, keeping its transition time unless the status changes.
pub fn set_condition(
    status: &mut HorizontalPodAutoscalerStatus,
    type_: &str,
    is_true: bool,
    reason: &str,
    message: &str,
    now: Timestamp,
) {
    let value = if is_true { "True" } else { "False" };
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let index = match conditions.iter().position(|condition| condition.type_ == type_) {
        Some(index) => index,
        None => {
            conditions.push(HorizontalPodAutoscalerCondition { type_: type_.to_string(), ..Default::default() });
            conditions.len() - 1
        }
    };
    let condition = &mut conditions[index];
    if condition.status != value || condition.last_transition_time.is_none() {
        condition.last_transition_time = Some(Time(now));
    }
    condition.status = value.to_string();
    condition.reason = Some(reason.to_string());
    condition.message = Some(message.to_string());
}
