//! Rows of Kubernetes' `TestNormalizeDesiredReplicas`, `TestScalingWithRules`,
//! `TestStoreScaleEvents` and the scale-down `Min` policy test
//! (`pkg/controller/podautoscaler/horizontal_test.go`).

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerBehavior;

use super::*;

fn now() -> Timestamp {
    "2024-06-01T12:00:00Z".parse().unwrap()
}

fn ago(seconds: i64) -> Timestamp {
    now() - SignedDuration::from_secs(seconds)
}

/// `generateScalingRules`: a Pods and/or a Percent policy (a zero value means none).
fn rules(pods: i32, pods_period: i32, percent: i32, percent_period: i32, window: i32) -> HPAScalingRules {
    let mut policies = Vec::new();
    if pods != 0 {
        policies.push(policy("Pods", pods, pods_period));
    }
    if percent != 0 {
        policies.push(policy("Percent", percent, percent_period));
    }
    HPAScalingRules {
        stabilization_window_seconds: Some(window),
        select_policy: Some("Max".to_string()),
        policies: Some(policies),
        ..HPAScalingRules::default()
    }
}

/// `generateEventsUniformDistribution`: events spread over the last `period` seconds, oldest first.
fn spread(changes: &[i32], period: i64) -> Vec<ScaleEvent> {
    let segment = period as f64 / changes.len() as f64;
    changes
        .iter()
        .enumerate()
        .map(|(index, change)| {
            let boundary = (period as f64 - segment * (index + 1) as f64 + segment / 2.0) as i64;
            ScaleEvent { replica_change: *change, timestamp: ago(boundary), outdated: false }
        })
        .collect()
}

#[test]
fn normalize_without_behavior_stabilizes_over_five_minutes_as_kubernetes_does() {
    let sample =
        |recommendation, minutes: i64| TimestampedRecommendation { recommendation, timestamp: ago(minutes * 60) };
    let rows = [
        ("empty log", vec![], 5, 5, 1),
        ("stabilize", vec![sample(4, 2), sample(5, 1)], 3, 5, 3),
        ("no stabilize", vec![sample(1, 2), sample(2, 1)], 3, 3, 3),
        ("no stabilize - old recommendations", vec![sample(10, 10), sample(9, 9)], 3, 3, 2),
        ("stabilize - old recommendations", vec![sample(10, 10), sample(4, 1), sample(5, 2), sample(9, 9)], 3, 5, 4),
    ];
    for (name, recommendations, desired, expected, log_length) in rows {
        let mut history = ScalingHistory { recommendations, ..ScalingHistory::default() };
        assert_eq!(stabilize_recommendation(&mut history, desired, now()), expected, "{name}");
        assert_eq!(history.recommendations.len(), log_length, "{name}");
    }
}

struct RulesRow {
    name: &'static str,
    up_events: Vec<ScaleEvent>,
    down_events: Vec<ScaleEvent>,
    min: i32,
    max: i32,
    up: Option<HPAScalingRules>,
    down: Option<HPAScalingRules>,
    current: i32,
    desired: i32,
    expected: i32,
    condition: &'static str,
}

fn rules_row(
    name: &'static str,
    min: i32,
    max: i32,
    current: i32,
    desired: i32,
    expected: i32,
    condition: &'static str,
) -> RulesRow {
    RulesRow {
        name,
        up_events: Vec::new(),
        down_events: Vec::new(),
        min,
        max,
        up: None,
        down: None,
        current,
        desired,
        expected,
        condition,
    }
}

fn scaling_rows() -> Vec<RulesRow> {
    let up = |row: RulesRow, rules: HPAScalingRules| RulesRow { up: Some(rules), ..row };
    let down = |row: RulesRow, rules: HPAScalingRules| RulesRow { down: Some(rules), ..row };
    let up_events = |row: RulesRow, events: Vec<ScaleEvent>| RulesRow { up_events: events, ..row };
    let down_events = |row: RulesRow, events: Vec<ScaleEvent>| RulesRow { down_events: events, ..row };
    vec![
        rules_row("prenormalized desired replicas within range", 3, 8, 5, 7, 7, "DesiredWithinRange"),
        rules_row("prenormalized desired replicas < minReplicas", 2, 8, 3, 1, 2, "TooFewReplicas"),
        rules_row("within range when minReplicas is 0", 0, 10, 1, 0, 0, "DesiredWithinRange"),
        rules_row(
            "maxReplicas is the limit because maxReplicas < scaleUpLimit",
            1,
            10,
            20,
            1000,
            10,
            "TooManyReplicas",
        ),
        rules_row(
            "desired replica count is more than the maximum replica count",
            100,
            150,
            100,
            1000,
            150,
            "TooManyReplicas",
        ),
        up(
            rules_row("scaleUpLimit < maxReplicas with user policies", 1, 2000, 3, 1000, 4, "ScaleUpLimit"),
            rules(0, 0, 1, 60, 0),
        ),
        down(
            rules_row("scaleDownLimit > minReplicas with user policies", 3, 2000, 1000, 3, 980, "ScaleDownLimit"),
            rules(20, 60, 0, 0, 0),
        ),
        rules_row("scaleUp with default behavior", 1, 1000, 10, 50, 20, "ScaleUpLimit"),
        up(
            rules_row("pods policy larger than percent policy", 1, 1000, 10, 500, 110, "ScaleUpLimit"),
            rules(100, 60, 100, 60, 0),
        ),
        up(
            rules_row("percent policy larger than pods policy", 1, 1000, 10, 500, 20, "ScaleUpLimit"),
            rules(2, 60, 100, 60, 0),
        ),
        up(rules_row("large pod policy", 1, 1000, 10, 50, 50, "DesiredWithinRange"), rules(100, 60, 0, 0, 0)),
        up(rules_row("large percent policy", 1, 1000, 10, 50, 50, "DesiredWithinRange"), rules(10000, 60, 0, 0, 0)),
        up(
            rules_row("scaleUp with pod policy limitation", 1, 1000, 10, 50, 40, "ScaleUpLimit"),
            rules(30, 60, 0, 0, 0),
        ),
        up(
            rules_row("scaleUp with percent policy limitation", 1, 1000, 10, 50, 30, "ScaleUpLimit"),
            rules(0, 0, 200, 60, 0),
        ),
        down(
            rules_row("scaleDown percent larger than pods", 1, 1000, 100, 2, 80, "ScaleDownLimit"),
            rules(20, 60, 1, 60, 300),
        ),
        down(
            rules_row("scaleDown pods larger than percent", 1, 1000, 100, 2, 98, "ScaleDownLimit"),
            rules(2, 60, 1, 60, 300),
        ),
        down(
            rules_row("scaleDown MinReplicas with large pod policy", 1, 1000, 10, 0, 1, "TooFewReplicas"),
            rules(100, 60, 0, 0, 300),
        ),
        down(
            rules_row("scaleDown MinReplicas with large percent policy", 5, 1000, 10, 2, 5, "TooFewReplicas"),
            rules(0, 0, 100, 60, 300),
        ),
        down(
            rules_row("scaleDown with pod policy limitation", 1, 1000, 10, 2, 5, "ScaleDownLimit"),
            rules(5, 60, 0, 0, 300),
        ),
        down(
            rules_row("scaleDown with percent policy limitation", 1, 1000, 10, 5, 5, "DesiredWithinRange"),
            rules(0, 0, 50, 60, 300),
        ),
        up_events(
            up(
                rules_row("MaxReplicas with large pod policy and events", 1, 200, 100, 500, 200, "TooManyReplicas"),
                rules(300, 60, 0, 0, 0),
            ),
            spread(&[1, 5, 9], 120),
        ),
        up_events(
            up(
                rules_row("MaxReplicas with large percent policy and events", 1, 200, 100, 500, 200, "TooManyReplicas"),
                rules(0, 0, 10000, 60, 0),
            ),
            spread(&[1, 5, 9], 120),
        ),
        up_events(
            up(
                rules_row(
                    "no scale up below currentReplicas after many scale ups",
                    1,
                    1000,
                    100,
                    500,
                    100,
                    "ScaleUpLimit",
                ),
                rules(5, 120, 0, 0, 0),
            ),
            spread(&[1, 5, 9], 120),
        ),
        up_events(
            up(
                rules_row("pod policy and previous scale up events", 1, 1000, 100, 500, 235, "ScaleUpLimit"),
                rules(150, 120, 0, 0, 0),
            ),
            spread(&[1, 5, 9], 120),
        ),
        up_events(
            up(
                rules_row("percent policy and previous scale up events", 1, 1000, 100, 500, 255, "ScaleUpLimit"),
                rules(0, 0, 200, 120, 0),
            ),
            spread(&[1, 5, 9], 120),
        ),
        down_events(
            up_events(
                up(
                    rules_row("percent policy and scale up and down events", 1, 1000, 6, 24, 16, "ScaleUpLimit"),
                    rules(0, 0, 300, 300, 0),
                ),
                spread(&[4], 120),
            ),
            spread(&[2], 120),
        ),
        down_events(
            rules_row("scaleDown with default policy and previous events", 1, 1000, 10, 5, 5, "DesiredWithinRange"),
            spread(&[1, 5, 9], 120),
        ),
        down_events(
            down(
                rules_row("MinReplicas=nil with large pod policy and events", 1, 1000, 100, 0, 1, "TooFewReplicas"),
                rules(115, 120, 0, 0, 300),
            ),
            spread(&[1, 5, 9], 120),
        ),
        down_events(
            down(
                rules_row("MinReplicas with large pod policy and events", 5, 1000, 100, 0, 5, "TooFewReplicas"),
                rules(130, 120, 0, 0, 300),
            ),
            spread(&[1, 5, 9], 120),
        ),
        down_events(
            down(
                rules_row("MinReplicas with large percent policy and events", 5, 1000, 100, 2, 5, "TooFewReplicas"),
                rules(0, 0, 100, 120, 300),
            ),
            spread(&[1, 5, 9], 120),
        ),
        down_events(
            down(
                rules_row("scaleDown pod policy limitation and events", 1, 1000, 100, 2, 100, "ScaleDownLimit"),
                rules(5, 120, 0, 0, 300),
            ),
            spread(&[1, 5, 9], 120),
        ),
        down_events(
            down(
                rules_row("scaleDown percent policy limitation and events", 1, 1000, 100, 0, 56, "ScaleDownLimit"),
                rules(0, 0, 50, 120, 300),
            ),
            spread(&[2, 4, 6], 120),
        ),
        down_events(
            up_events(
                down(
                    rules_row("scaleDown percent policy and up and down events", 1, 1000, 10, 1, 6, "ScaleDownLimit"),
                    rules(0, 0, 50, 180, 0),
                ),
                spread(&[2], 120),
            ),
            spread(&[4], 120),
        ),
        down_events(
            down(
                rules_row("previous events preventing further scale down", 1, 1000, 100, 0, 100, "ScaleDownLimit"),
                rules(0, 0, 10, 120, 300),
            ),
            spread(&[10, 10, 10], 120),
        ),
        down_events(
            down(
                rules_row("previous events still allowing more scale down", 1, 1000, 10, 5, 5, "DesiredWithinRange"),
                rules(0, 0, 1000, 120, 300),
            ),
            spread(&[10, 10, 10], 120),
        ),
        up_events(
            up(
                rules_row("outdated events for one policy, up", 1, 1000, 100, 200, 200, "DesiredWithinRange"),
                rules(1000, 60, 0, 0, 0),
            ),
            spread(&[8, 12, 9, 11], 120),
        ),
        up_events(
            up(
                rules_row("two policies, up, not outdated", 1, 1000, 100, 200, 200, "DesiredWithinRange"),
                rules(1000, 120, 100, 60, 0),
            ),
            spread(&[8, 12, 9, 11], 120),
        ),
        up_events(
            up(
                rules_row("two policies, up, outdated", 1, 1000, 100, 200, 200, "DesiredWithinRange"),
                rules(1000, 30, 100, 60, 0),
            ),
            spread(&[8, 12, 9, 11], 120),
        ),
        down_events(
            down(
                rules_row("outdated events for one policy, down", 1, 1000, 100, 5, 5, "DesiredWithinRange"),
                rules(1000, 60, 0, 0, 300),
            ),
            spread(&[8, 12, 9, 11], 120),
        ),
        down_events(
            down(
                rules_row("two policies, down, not outdated", 1, 1000, 100, 5, 5, "DesiredWithinRange"),
                rules(1000, 120, 100, 60, 300),
            ),
            spread(&[8, 12, 9, 11], 120),
        ),
        down_events(
            down(
                rules_row("two policies, down, outdated", 1, 1000, 100, 5, 5, "DesiredWithinRange"),
                rules(1000, 30, 100, 60, 300),
            ),
            spread(&[8, 12, 9, 11], 120),
        ),
    ]
}

#[test]
fn rate_limits_match_kubernetes_scaling_with_rules_table() {
    for row in scaling_rows() {
        let behavior =
            Behavior::with_defaults(&HorizontalPodAutoscalerBehavior { scale_up: row.up, scale_down: row.down });
        let history = ScalingHistory {
            recommendations: Vec::new(),
            scale_up_events: row.up_events,
            scale_down_events: row.down_events,
        };
        let args = Normalization {
            min_replicas: row.min,
            max_replicas: row.max,
            current_replicas: row.current,
            desired_replicas: row.desired,
        };
        let (replicas, condition, _) = convert_with_behavior_rate(args, &behavior, &history, now());
        assert_eq!((replicas, condition), (row.expected, row.condition), "{}", row.name);
    }
}

#[test]
fn a_min_select_policy_picks_the_smallest_scale_down() {
    let mut rules = rules(2, 60, 50, 60, 300);
    rules.select_policy = Some("Min".to_string());
    assert_eq!(scale_down_limit(5, &ScalingHistory::default(), &rules, now()), 3);
    rules.select_policy = Some("Disabled".to_string());
    assert_eq!(scale_down_limit(5, &ScalingHistory::default(), &rules, now()), 5);
    assert_eq!(scale_up_limit(5, &ScalingHistory::default(), &rules, now()), 5);
}

#[test]
fn scale_events_are_stored_as_kubernetes_stores_them() {
    let event =
        |change, seconds_ago, outdated| ScaleEvent { replica_change: change, timestamp: ago(seconds_ago), outdated };
    // (name, previous events, rules, change within the last 60 s before, events after)
    let rows = [
        ("empty entries with two-policy-behavior", vec![], rules(10, 60, 100, 60, 0), 0, vec![event(5, 0, false)]),
        (
            "one outdated entry replaced",
            vec![event(7, 61, false)],
            rules(10, 60, 100, 60, 0),
            0,
            vec![event(5, 0, false)],
        ),
        (
            "one actual entry kept",
            vec![event(7, 58, false)],
            rules(10, 60, 100, 60, 0),
            7,
            vec![event(7, 58, false), event(5, 0, false)],
        ),
        (
            "two entries, one replaced",
            vec![event(7, 61, false), event(6, 59, false)],
            rules(10, 60, 0, 0, 0),
            6,
            vec![event(5, 0, false), event(6, 59, false)],
        ),
        (
            "replace one entry, policies with different periods",
            vec![event(8, 29, false), event(6, 59, false), event(7, 61, false), event(9, 61, false)],
            rules(10, 60, 100, 30, 0),
            14,
            vec![event(8, 29, false), event(6, 59, false), event(7, 61, true), event(5, 0, false)],
        ),
        (
            "two entries, both actual",
            vec![event(7, 58, false), event(6, 59, false)],
            rules(10, 120, 100, 30, 0),
            13,
            vec![event(7, 58, false), event(6, 59, false), event(5, 0, false)],
        ),
    ];
    for (name, previous, rules, change_before, expected) in rows {
        let behavior =
            Behavior::with_defaults(&HorizontalPodAutoscalerBehavior { scale_up: Some(rules), scale_down: None });
        let mut history = ScalingHistory { scale_up_events: previous, ..ScalingHistory::default() };
        assert_eq!(change_in_period(60, &history.scale_up_events, now()), change_before, "{name}");
        store_scale_event(&behavior, &mut history, 10, 15, now());
        assert_eq!(history.scale_up_events, expected, "{name}");
    }
}

#[test]
fn stabilization_with_behavior_applies_both_windows() {
    let behavior = Behavior::with_defaults(&HorizontalPodAutoscalerBehavior {
        scale_up: Some(rules(4, 15, 0, 0, 300)),
        scale_down: Some(rules(0, 0, 100, 15, 600)),
    });
    let sample =
        |recommendation, minutes: i64| TimestampedRecommendation { recommendation, timestamp: ago(minutes * 60) };
    let args = |current, desired| Normalization {
        min_replicas: 1,
        max_replicas: 100,
        current_replicas: current,
        desired_replicas: desired,
    };
    // Growing: the lowest recommendation of the last 5 minutes wins.
    let mut history = ScalingHistory { recommendations: vec![sample(8, 2), sample(7, 4)], ..ScalingHistory::default() };
    let (replicas, reason, _) = stabilize_with_behavior(args(5, 10), &behavior, &mut history, now());
    assert_eq!((replicas, reason), (7, "ScaleUpStabilized"));
    assert_eq!(history.recommendations.len(), 3);
    // Shrinking: the highest of the last 10 minutes wins; samples older than both windows are reused.
    let mut history = ScalingHistory {
        recommendations: vec![sample(5, 5), sample(4, 8), sample(9, 11)],
        ..ScalingHistory::default()
    };
    let (replicas, reason, _) = stabilize_with_behavior(args(8, 3), &behavior, &mut history, now());
    assert_eq!((replicas, reason), (5, "ScaleDownStabilized"));
    assert_eq!(history.recommendations[2], TimestampedRecommendation { recommendation: 3, timestamp: now() });
}

#[test]
fn fixed_rules_without_behavior_double_or_add_four_at_most() {
    assert_eq!(
        convert_with_rules(5, 7, 3, 10),
        (7, "DesiredWithinRange", "the desired count is within the acceptable range")
    );
    assert_eq!(convert_with_rules(5, 2, 3, 10).0, 3);
    assert_eq!(
        convert_with_rules(5, 15, 3, 100),
        (10, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
    );
    assert_eq!(convert_with_rules(1, 15, 1, 100).0, 4);
    assert_eq!(convert_with_rules(5, 15, 3, 10).1, "TooManyReplicas");
}

/// Regression (the no-panic proptest, `no_other_controller_panics_on_extreme_numbers`): a
/// target whose scale reads `i32::MIN` replicas raised to minReplicas overflowed `new -
/// previous`. The change saturates, as the count it describes cannot be larger.
#[test]
fn a_scale_up_from_i32_min_records_a_saturated_change() {
    let behavior = Behavior::with_defaults(&HorizontalPodAutoscalerBehavior::default());
    let mut history = ScalingHistory::default();
    store_scale_event(&behavior, &mut history, i32::MIN, 100, now());
    assert_eq!(history.scale_up_events[0].replica_change, i32::MAX);
    store_scale_event(&behavior, &mut history, i32::MAX, -1, now());
    assert_eq!(history.scale_down_events[0].replica_change, i32::MAX);
}
