//! Scaling behaviour (`horizontal.go`): stabilization windows over recent recommendations and
//! rate limits from `behavior` policies over recent scale events, or the older fixed rules when
//! `behavior` is unset.
//!
//! Kubernetes keeps the recommendations and scale events in the controller's memory; here they
//! are a [`ScalingHistory`] the shell keeps per HorizontalPodAutoscaler and passes in, as it does
//! [`ControllerExpectations`](crate::controllers::ControllerExpectations). A restarted shell
//! starts from an empty history, as a restarted Kubernetes controller does.

use k8s_openapi::api::autoscaling::v2::{HPAScalingPolicy, HPAScalingRules, HorizontalPodAutoscalerBehavior};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// Scale-down stabilization window when no `behavior` says otherwise
/// (`--horizontal-pod-autoscaler-downscale-stabilization`, 300 s).
pub const DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS: i32 = 300;

/// Without `behavior`, one sync grows the target to at most this factor of its size ...
const SCALE_UP_LIMIT_FACTOR: f64 = 2.0;
/// ... or to this many replicas, whichever is more.
const SCALE_UP_LIMIT_MINIMUM: f64 = 4.0;

/// A replica count the metrics asked for, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampedRecommendation {
    /// The recommendation before stabilization.
    pub recommendation: i32,
    /// When it was made.
    pub timestamp: Timestamp,
}

/// A change of scale the controller made, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleEvent {
    /// How many replicas were added (scale-up) or removed (scale-down).
    pub replica_change: i32,
    /// When.
    pub timestamp: Timestamp,
    /// Older than every policy period: free to be overwritten.
    pub outdated: bool,
}

/// What the controller remembers of one HorizontalPodAutoscaler between syncs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScalingHistory {
    /// Recent unstabilized recommendations.
    pub recommendations: Vec<TimestampedRecommendation>,
    /// Recent scale-ups (only kept when `behavior` is set).
    pub scale_up_events: Vec<ScaleEvent>,
    /// Recent scale-downs (only kept when `behavior` is set).
    pub scale_down_events: Vec<ScaleEvent>,
}

/// The `behavior` rules with Kubernetes' defaults filled in (`SetDefaults_HorizontalPodAutoscalerBehavior`
/// and `maybeInitScaleDownStabilizationWindow`).
#[derive(Clone, Debug, PartialEq)]
pub struct Behavior {
    /// Rules for growing.
    pub scale_up: HPAScalingRules,
    /// Rules for shrinking.
    pub scale_down: HPAScalingRules,
}

fn policy(type_: &str, value: i32, period_seconds: i32) -> HPAScalingPolicy {
    HPAScalingPolicy { type_: type_.to_string(), value, period_seconds }
}

impl Behavior {
    /// Fills what `behavior` leaves unset: scale-up without stabilization by the larger of 4
    /// pods or 100 % per 15 s; scale-down stabilized over 300 s by 100 % per 15 s.
    pub fn with_defaults(behavior: &HorizontalPodAutoscalerBehavior) -> Behavior {
        let fill = |rules: Option<&HPAScalingRules>, window: i32, policies: Vec<HPAScalingPolicy>| {
            let rules = rules.cloned().unwrap_or_default();
            HPAScalingRules {
                stabilization_window_seconds: Some(rules.stabilization_window_seconds.unwrap_or(window)),
                select_policy: Some(rules.select_policy.unwrap_or_else(|| "Max".to_string())),
                policies: Some(rules.policies.unwrap_or(policies)),
                ..rules
            }
        };
        Behavior {
            scale_up: fill(behavior.scale_up.as_ref(), 0, vec![policy("Pods", 4, 15), policy("Percent", 100, 15)]),
            scale_down: fill(
                behavior.scale_down.as_ref(),
                DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS,
                vec![policy("Percent", 100, 15)],
            ),
        }
    }
}

/// What the normalization works on (`NormalizationArg`).
#[derive(Clone, Copy, Debug)]
pub struct Normalization {
    /// `minReplicas` (default 1).
    pub min_replicas: i32,
    /// `maxReplicas`.
    pub max_replicas: i32,
    /// The target's replica count now.
    pub current_replicas: i32,
    /// What the metrics asked for.
    pub desired_replicas: i32,
}

/// A normalized count with the condition that explains it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized {
    /// The replica count to scale to.
    pub replicas: i32,
    /// `AbleToScale` reason and message.
    pub able_to_scale: (&'static str, &'static str),
    /// `ScalingLimited` status, reason and message.
    pub scaling_limited: (bool, &'static str, &'static str),
}

/// `recordInitialRecommendation`: a fresh history starts with the current size.
pub fn record_initial_recommendation(history: &mut ScalingHistory, current_replicas: i32, now: Timestamp) {
    if history.recommendations.is_empty() {
        history.recommendations.push(TimestampedRecommendation { recommendation: current_replicas, timestamp: now });
    }
}

/// `normalizeDesiredReplicas` (no `behavior`): the highest recommendation of the last 300 s,
/// then `minReplicas`, `maxReplicas` and at most doubling (or 4).
pub fn normalize_without_behavior(args: Normalization, history: &mut ScalingHistory, now: Timestamp) -> Normalized {
    let stabilized = stabilize_recommendation(history, args.desired_replicas, now);
    let able_to_scale = if stabilized != args.desired_replicas {
        (
            "ScaleDownStabilized",
            "recent recommendations were higher than current one, applying the highest recent recommendation",
        )
    } else {
        ("ReadyForNewScale", "recommended size matches current size")
    };
    let (replicas, reason, message) =
        convert_with_rules(args.current_replicas, stabilized, args.min_replicas, args.max_replicas);
    Normalized { replicas, able_to_scale, scaling_limited: (replicas != stabilized, reason, message) }
}

/// `normalizeDesiredReplicasWithBehaviors`: stabilize within the windows, then bound by
/// `minReplicas`, `maxReplicas` and the policies' rates.
pub fn normalize_with_behavior(
    args: Normalization,
    behavior: &Behavior,
    history: &mut ScalingHistory,
    now: Timestamp,
) -> Normalized {
    let (stabilized, reason, message) = stabilize_with_behavior(args, behavior, history, now);
    let able_to_scale = if stabilized != args.desired_replicas {
        (reason, message)
    } else {
        ("ReadyForNewScale", "recommended size matches current size")
    };
    let (replicas, reason, message) =
        convert_with_behavior_rate(Normalization { desired_replicas: stabilized, ..args }, behavior, history, now);
    Normalized { replicas, able_to_scale, scaling_limited: (replicas != stabilized, reason, message) }
}

fn cutoff(now: Timestamp, seconds: i32) -> Timestamp {
    now.checked_sub(SignedDuration::from_secs(i64::from(seconds))).unwrap_or(Timestamp::MIN)
}

/// `stabilizeRecommendation`: replaces one sample older than the window with this one and
/// returns the highest within it.
fn stabilize_recommendation(history: &mut ScalingHistory, desired: i32, now: Timestamp) -> i32 {
    let cutoff = cutoff(now, DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS);
    let mut highest = desired;
    let mut old_sample = None;
    for (index, sample) in history.recommendations.iter().enumerate() {
        if sample.timestamp < cutoff {
            old_sample = Some(index);
        } else {
            highest = highest.max(sample.recommendation);
        }
    }
    store_recommendation(history, old_sample, desired, now);
    highest
}

fn store_recommendation(history: &mut ScalingHistory, old_sample: Option<usize>, desired: i32, now: Timestamp) {
    let sample = TimestampedRecommendation { recommendation: desired, timestamp: now };
    match old_sample {
        Some(index) => history.recommendations[index] = sample,
        None => history.recommendations.push(sample),
    }
}

/// `stabilizeRecommendationWithBehaviors`: the current size, raised to the lowest
/// recommendation of the scale-up window and lowered to the highest of the scale-down window.
fn stabilize_with_behavior(
    args: Normalization,
    behavior: &Behavior,
    history: &mut ScalingHistory,
    now: Timestamp,
) -> (i32, &'static str, &'static str) {
    let up_cutoff = cutoff(now, behavior.scale_up.stabilization_window_seconds.unwrap_or(0));
    let down_cutoff = cutoff(now, behavior.scale_down.stabilization_window_seconds.unwrap_or(0));
    let (mut up, mut down) = (args.desired_replicas, args.desired_replicas);
    let mut old_sample = None;
    for (index, sample) in history.recommendations.iter().enumerate() {
        if sample.timestamp > up_cutoff {
            up = up.min(sample.recommendation);
        }
        if sample.timestamp > down_cutoff {
            down = down.max(sample.recommendation);
        }
        if sample.timestamp < up_cutoff && sample.timestamp < down_cutoff {
            old_sample = Some(index);
        }
    }
    let recommendation = args.current_replicas.max(up).min(down);
    store_recommendation(history, old_sample, args.desired_replicas, now);
    if args.desired_replicas >= args.current_replicas {
        (
            recommendation,
            "ScaleUpStabilized",
            "recent recommendations were lower than current one, applying the lowest recent recommendation",
        )
    } else {
        (
            recommendation,
            "ScaleDownStabilized",
            "recent recommendations were higher than current one, applying the highest recent recommendation",
        )
    }
}

/// `convertDesiredReplicasWithBehaviorRate`: bounds by `maxReplicas` and the scale-up rate, or
/// `minReplicas` and the scale-down rate.
fn convert_with_behavior_rate(
    args: Normalization,
    behavior: &Behavior,
    history: &ScalingHistory,
    now: Timestamp,
) -> (i32, &'static str, &'static str) {
    if args.desired_replicas > args.current_replicas {
        let limit = scale_up_limit(args.current_replicas, history, &behavior.scale_up, now).max(args.current_replicas);
        let (maximum, reason, message) = if args.max_replicas > limit {
            (limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
        } else {
            (args.max_replicas, "TooManyReplicas", "the desired replica count is more than the maximum replica count")
        };
        if args.desired_replicas > maximum {
            return (maximum, reason, message);
        }
    } else if args.desired_replicas < args.current_replicas {
        let limit =
            scale_down_limit(args.current_replicas, history, &behavior.scale_down, now).min(args.current_replicas);
        let (minimum, reason, message) = if args.min_replicas < limit {
            (limit, "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate")
        } else {
            (args.min_replicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count")
        };
        if args.desired_replicas < minimum {
            return (minimum, reason, message);
        }
    }
    (args.desired_replicas, "DesiredWithinRange", "the desired count is within the acceptable range")
}

/// `convertDesiredReplicasWithRules` (no `behavior`).
pub fn convert_with_rules(current: i32, desired: i32, min: i32, max: i32) -> (i32, &'static str, &'static str) {
    let scale_up_limit = (SCALE_UP_LIMIT_FACTOR * f64::from(current)).max(SCALE_UP_LIMIT_MINIMUM) as i32;
    let (maximum, reason, message) = if max > scale_up_limit {
        (scale_up_limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
    } else {
        (max, "TooManyReplicas", "the desired replica count is more than the maximum replica count")
    };
    if desired < min {
        return (min, "TooFewReplicas", "the desired replica count is less than the minimum replica count");
    }
    if desired > maximum {
        return (maximum, reason, message);
    }
    (desired, "DesiredWithinRange", "the desired count is within the acceptable range")
}

/// `getReplicasChangePerPeriod`: replicas changed by events newer than the period.
fn change_in_period(period_seconds: i32, events: &[ScaleEvent], now: Timestamp) -> i32 {
    let cutoff = cutoff(now, period_seconds);
    events
        .iter()
        .filter(|event| event.timestamp > cutoff)
        .fold(0i32, |total, event| total.saturating_add(event.replica_change))
}

fn policies(rules: &HPAScalingRules) -> &[HPAScalingPolicy] {
    rules.policies.as_deref().unwrap_or(&[])
}

/// Each policy's bound, from the replica count at the start of its period (the current count
/// less what was added and plus what was removed within it); `None` when scaling is `Disabled`.
fn policy_bounds(
    current: i32,
    history: &ScalingHistory,
    rules: &HPAScalingRules,
    now: Timestamp,
    bound: impl Fn(i32, &HPAScalingPolicy) -> i32,
) -> Option<Vec<i32>> {
    if rules.select_policy.as_deref() == Some("Disabled") {
        return None;
    }
    let bounds = policies(rules).iter().map(|policy| {
        let added = change_in_period(policy.period_seconds, &history.scale_up_events, now);
        let deleted = change_in_period(policy.period_seconds, &history.scale_down_events, now);
        bound(current.saturating_sub(added).saturating_add(deleted), policy)
    });
    Some(bounds.collect())
}

fn selects_min(rules: &HPAScalingRules) -> bool {
    rules.select_policy.as_deref() == Some("Min")
}

/// `calculateScaleUpLimitWithScalingRules`: the most replicas the policies allow now.
pub fn scale_up_limit(current: i32, history: &ScalingHistory, rules: &HPAScalingRules, now: Timestamp) -> i32 {
    let bounds = policy_bounds(current, history, rules, now, |start, policy| match policy.type_.as_str() {
        "Pods" => start.saturating_add(policy.value),
        // Rounded up, or a small target could never grow.
        _ => (f64::from(start) * (1.0 + f64::from(policy.value) / 100.0)).ceil() as i32,
    });
    let Some(bounds) = bounds else { return current };
    let bounds = bounds.into_iter();
    if selects_min(rules) { bounds.min().unwrap_or(i32::MAX) } else { bounds.max().unwrap_or(i32::MIN) }
}

/// `calculateScaleDownLimitWithBehaviors`: the fewest replicas the policies allow now.
pub fn scale_down_limit(current: i32, history: &ScalingHistory, rules: &HPAScalingRules, now: Timestamp) -> i32 {
    let bounds = policy_bounds(current, history, rules, now, |start, policy| match policy.type_.as_str() {
        "Pods" => start.saturating_sub(policy.value),
        _ => (f64::from(start) * (1.0 - f64::from(policy.value) / 100.0)) as i32,
    });
    let Some(bounds) = bounds else { return current };
    let bounds = bounds.into_iter();
    if selects_min(rules) { bounds.max().unwrap_or(i32::MIN) } else { bounds.min().unwrap_or(i32::MAX) }
}

/// `storeScaleEvent`: records a scale change, reusing a slot older than every policy period.
pub fn store_scale_event(behavior: &Behavior, history: &mut ScalingHistory, previous: i32, new: i32, now: Timestamp) {
    let (rules, events, change) = if new > previous {
        (&behavior.scale_up, &mut history.scale_up_events, new.saturating_sub(previous))
    } else {
        (&behavior.scale_down, &mut history.scale_down_events, previous.saturating_sub(new))
    };
    let longest = policies(rules).iter().map(|policy| policy.period_seconds).max().unwrap_or(0);
    let cutoff = cutoff(now, longest);
    for event in events.iter_mut() {
        if event.timestamp < cutoff {
            event.outdated = true;
        }
    }
    let event = ScaleEvent { replica_change: change, timestamp: now, outdated: false };
    match events.iter().rposition(|event| event.outdated) {
        Some(index) => events[index] = event,
        None => events.push(event),
    }
}

#[cfg(test)]
#[path = "behavior_tests.rs"]
mod tests;
