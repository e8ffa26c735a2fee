//! Ported from client-go's `events_cache_test.go`: `TestEventAggregatorByReasonFunc`,
//! `TestEventAggregatorByReasonMessageFunc`, `TestEventCorrelator` (every scenario) and
//! `TestEventSpamFilter`'s default-key row.

use k8s_openapi::api::core::v1::{EventSource, ObjectReference};

use super::*;

fn object_reference(kind: &str, name: &str, namespace: &str) -> ObjectReference {
    ObjectReference {
        kind: Some(kind.into()),
        name: Some(name.into()),
        namespace: Some(namespace.into()),
        uid: Some("C934D34AFB20242".into()),
        api_version: Some("version".into()),
        field_path: Some("spec.containers{mycontainer}".into()),
        ..ObjectReference::default()
    }
}

fn make_event(reason: &str, message: &str, involved_object: ObjectReference) -> Event {
    Event {
        reason: Some(reason.into()),
        message: Some(message.into()),
        involved_object,
        source: Some(EventSource { component: Some("kubelet".into()), host: Some("kublet.node1".into()) }),
        count: Some(1),
        type_: Some("Normal".into()),
        ..Event::default()
    }
}

fn make_unique_events(count: usize) -> Vec<Event> {
    (0..count)
        .map(|index| {
            let object = object_reference("Pod", &format!("pod-{index}"), &format!("ns-{index}"));
            make_event(&format!("reason-{index}"), &format!("message-{index}"), object)
        })
        .collect()
}

fn make_similar_events(count: usize, template: &Event, prefix: &str) -> Vec<Event> {
    (0..count)
        .map(|index| {
            let mut event = template.clone();
            event.message = Some(format!("{prefix}-{index}-{}", template.message.as_deref().unwrap_or("")));
            event
        })
        .collect()
}

fn start() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap()
}

/// The event a correlation created or patched, if not skipped.
fn event_of(correlated: &Correlated) -> Option<&Event> {
    match correlated {
        Correlated::Create(event) | Correlated::Patch { event, .. } => Some(event),
        Correlated::Skip => None,
    }
}

#[test]
fn events_alike_but_for_their_message_share_an_aggregate_key() {
    let object = || object_reference("Pod", "pod1", "other");
    let (aggregate1, local1) = aggregate_keys(&make_event("end-of-world", "it was fun", object()));
    let (aggregate2, local2) = aggregate_keys(&make_event("end-of-world", "it was awful", object()));
    let (aggregate3, _) = aggregate_keys(&make_event("nevermind", "it was a bug", object()));
    assert_eq!(aggregate1, aggregate2);
    assert_ne!(local1, local2);
    assert_ne!(aggregate1, aggregate3);
}

struct Scenario {
    name: &'static str,
    previous: Vec<Event>,
    new: Event,
    interval_seconds: i64,
    /// The count and message wanted, or `None` for a skip.
    expected: Option<(i32, String)>,
}

#[test]
fn the_correlator_counts_aggregates_and_filters_as_client_go_does() {
    let object = || object_reference("Pod", "my-pod", "my-ns");
    let first = make_event("first", "i am first", object());
    let duplicate = make_event("duplicate", "me again", object());
    let unique = make_event("unique", "snowflake", object());
    let mut similar = make_event("similar", "similar message", object());
    similar.involved_object.field_path = Some("spec.containers{container1}".into());
    let aggregate_message = format!("{AGGREGATE_MESSAGE_PREFIX}similar message");
    let mut other_container = similar.clone();
    other_container.involved_object.field_path = Some("spec.containers{container2}".into());
    let max = AGGREGATE_MAX_EVENTS;
    let scenarios = vec![
        Scenario {
            name: "create-a-single-event",
            previous: vec![],
            new: first.clone(),
            interval_seconds: 5,
            expected: Some((1, "i am first".into())),
        },
        Scenario {
            name: "the-same-event-should-just-count",
            previous: vec![duplicate.clone()],
            new: duplicate.clone(),
            interval_seconds: 5,
            expected: Some((2, "me again".into())),
        },
        Scenario {
            name: "the-same-event-should-just-count-even-if-more-than-aggregate",
            previous: vec![duplicate.clone(); max],
            new: duplicate.clone(),
            interval_seconds: 30,
            expected: Some((max as i32 + 1, "me again".into())),
        },
        Scenario {
            name: "the-same-event-is-spam-if-happens-too-frequently",
            previous: vec![duplicate.clone(); SPAM_BURST as usize + 1],
            new: duplicate.clone(),
            interval_seconds: 1,
            expected: None,
        },
        Scenario {
            name: "create-many-unique-events",
            previous: make_unique_events(30),
            new: unique.clone(),
            interval_seconds: 5,
            expected: Some((1, "snowflake".into())),
        },
        Scenario {
            name: "similar-events-should-aggregate-event",
            previous: make_similar_events(max - 1, &similar, "similar message"),
            new: similar.clone(),
            interval_seconds: 5,
            expected: Some((1, aggregate_message.clone())),
        },
        Scenario {
            name: "similar-events-many-times-should-count-the-aggregate",
            previous: make_similar_events(max, &similar, "similar message"),
            new: similar.clone(),
            interval_seconds: 5,
            expected: Some((2, aggregate_message.clone())),
        },
        Scenario {
            name: "events-from-different-containers-do-not-aggregate",
            previous: vec![other_container],
            new: similar.clone(),
            interval_seconds: 5,
            expected: Some((1, "similar message".into())),
        },
        Scenario {
            name: "similar-events-whose-interval-is-greater-than-aggregate-interval-do-not-aggregate",
            previous: make_similar_events(max - 1, &similar, "similar message"),
            new: similar.clone(),
            interval_seconds: AGGREGATE_INTERVAL.as_secs() + 1,
            expected: Some((1, "similar message".into())),
        },
    ];
    for scenario in scenarios {
        let mut correlator = EventCorrelator::new();
        let mut now = start();
        for event in scenario.previous {
            now += SignedDuration::from_secs(scenario.interval_seconds);
            correlator.correlate(event, now);
        }
        now += SignedDuration::from_secs(scenario.interval_seconds);
        let correlated = correlator.correlate(scenario.new, now);
        let got =
            event_of(&correlated).map(|event| (event.count.unwrap_or(0), event.message.clone().unwrap_or_default()));
        assert_eq!(got, scenario.expected, "{}", scenario.name);
        if let Some((count, _)) = scenario.expected {
            assert_eq!(
                matches!(correlated, Correlated::Patch { .. }),
                count > 1,
                "{}: a repeat is a patch",
                scenario.name
            );
        }
    }
}

// Kubernetes' Go test runs the interval scenario at exactly 600 s and relies on its interval
// clock also advancing between the aggregator's reads; coxswain reads one `now` per event, so the
// row above uses 601 s and this one pins the boundary: 600 s apart still aggregates.
#[test]
fn similar_events_exactly_ten_minutes_apart_still_aggregate() {
    let mut similar = make_event("similar", "similar message", object_reference("Pod", "my-pod", "my-ns"));
    similar.involved_object.field_path = None;
    let mut correlator = EventCorrelator::new();
    let mut now = start();
    for event in make_similar_events(AGGREGATE_MAX_EVENTS - 1, &similar, "m") {
        now += AGGREGATE_INTERVAL;
        correlator.correlate(event, now);
    }
    now += AGGREGATE_INTERVAL;
    let correlated = correlator.correlate(similar, now);
    assert!(event_of(&correlated).unwrap().message.as_deref().unwrap().starts_with(AGGREGATE_MESSAGE_PREFIX));
}

// TestEventSpamFilter, "event should be reported as spam if object reference is the same for
// default spam filter" (burst 1): the spam key ignores the reason.
#[test]
fn the_default_spam_key_is_the_source_and_object_only() {
    let object = || object_reference("Pod", "my-pod", "my-ns");
    let mut correlator = EventCorrelator::with_spam_burst(1);
    let original = correlator.correlate(make_event("original", "i am first", object()), start());
    assert!(matches!(original, Correlated::Create(_)));
    let later = start() + SignedDuration::from_secs(1);
    let different_reason = correlator.correlate(make_event("duplicate", "me again", object()), later);
    assert_eq!(different_reason, Correlated::Skip);
}

#[test]
fn a_repeat_becomes_a_patch_of_the_first_events_name_with_count_and_last_timestamp() {
    let mut correlator = EventCorrelator::new();
    let event =
        make_event("BackOff", "Back-off restarting failed container", object_reference("Pod", "web", "default"));
    let Correlated::Create(first) = correlator.correlate(event.clone(), start()) else { panic!("first is a create") };
    let later = start() + SignedDuration::from_secs(30);
    let mut again = event;
    again.last_timestamp = Some(Time(later));
    let Correlated::Patch { event: repeat, patch } = correlator.correlate(again, later) else { panic!("a patch") };
    assert_eq!(repeat.metadata.name, first.metadata.name);
    assert_eq!(first.metadata.name.as_deref(), Some(format!("web.{:x}", start().as_nanosecond()).as_str()));
    assert_eq!(
        patch,
        json!({"count": 2, "lastTimestamp": later.to_string(), "message": "Back-off restarting failed container"})
    );
}
