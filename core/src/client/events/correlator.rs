//! The event correlator of client-go's recorder (`tools/record/events_cache.go`), run before an
//! event is written: the aggregator folds more than ten events that differ only in message
//! within ten minutes into one `(combined from similar events)` event; the logger turns a
//! repeat of an event it has seen into a PATCH of the existing object, raising `count` and
//! `lastTimestamp`; the spam filter lets one source send 25 events about an object, then one
//! every five minutes. New events get names from [`EventNamer`], so they never collide.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::lru::Lru;
use super::names::EventNamer;
use crate::client::token_bucket::TokenBucket;

/// Entries each cache keeps (`maxLruCacheEntries`).
pub const MAX_LRU_CACHE_ENTRIES: usize = 4096;
/// Distinct messages of similar events before they are aggregated (`defaultAggregateMaxEvents`).
pub const AGGREGATE_MAX_EVENTS: usize = 10;
/// How long similar events are remembered for aggregation (`defaultAggregateIntervalInSeconds`).
pub const AGGREGATE_INTERVAL: SignedDuration = SignedDuration::from_secs(600);
/// Events one source may send about one object at once (`defaultSpamBurst`).
pub const SPAM_BURST: u32 = 25;
/// Events per second a source regains per object: one every five minutes (`defaultSpamQPS`).
pub const SPAM_QPS: f64 = 1.0 / 300.0;
/// The prefix of an aggregated event's message (`EventAggregatorByReasonMessageFunc`).
pub const AGGREGATE_MESSAGE_PREFIX: &str = "(combined from similar events): ";

/// What to do with an event after correlation (`EventCorrelateResult`).
#[derive(Clone, Debug, PartialEq)]
pub enum Correlated {
    /// POST the event; it is new and uniquely named.
    Create(Box<Event>),
    /// PATCH (strategic merge) the existing event of the same name with `patch`; if it is gone,
    /// POST `event` instead.
    Patch {
        /// The event as it now stands (name of the first occurrence, count raised).
        event: Box<Event>,
        /// The strategic-merge patch: count, lastTimestamp and message.
        patch: Value,
    },
    /// The spam filter dropped the event.
    Skip,
}

#[derive(Clone, Debug, Default)]
struct AggregateRecord {
    local_keys: BTreeSet<String>,
    last_timestamp: Option<Timestamp>,
}

#[derive(Clone, Debug)]
struct EventLog {
    count: i32,
    first_timestamp: Option<Time>,
    name: String,
}

/// Filters, aggregates and counts events before they are written (`EventCorrelator`).
#[derive(Clone, Debug)]
pub struct EventCorrelator {
    aggregates: Lru<AggregateRecord>,
    logs: Lru<EventLog>,
    spam: Lru<TokenBucket>,
    spam_burst: u32,
    namer: EventNamer,
}

impl Default for EventCorrelator {
    fn default() -> EventCorrelator {
        EventCorrelator::new()
    }
}

fn source_and_object(event: &Event) -> Vec<&str> {
    let source = event.source.as_ref();
    let object = &event.involved_object;
    vec![
        source.and_then(|source| source.component.as_deref()).unwrap_or(""),
        source.and_then(|source| source.host.as_deref()).unwrap_or(""),
        object.kind.as_deref().unwrap_or(""),
        object.namespace.as_deref().unwrap_or(""),
        object.name.as_deref().unwrap_or(""),
        object.uid.as_deref().unwrap_or(""),
        object.api_version.as_deref().unwrap_or(""),
    ]
}

/// Joins key parts unambiguously.
fn join(parts: &[&str]) -> String {
    parts.join("\u{1f}")
}

/// The key of one exact event (`getEventKey`): source, object with field path, type, reason,
/// message.
pub fn event_key(event: &Event) -> String {
    let mut parts = source_and_object(event);
    parts.insert(5, event.involved_object.field_path.as_deref().unwrap_or(""));
    parts.push(event.type_.as_deref().unwrap_or(""));
    parts.push(event.reason.as_deref().unwrap_or(""));
    parts.push(event.message.as_deref().unwrap_or(""));
    join(&parts)
}

/// The spam filter's key (`getSpamKey`): source and object.
pub fn spam_key(event: &Event) -> String {
    join(&source_and_object(event))
}

/// The aggregation key and the local key (`EventAggregatorByReasonFunc`): events alike but for
/// their message share the first.
pub fn aggregate_keys(event: &Event) -> (String, String) {
    let mut parts = source_and_object(event);
    parts.push(event.type_.as_deref().unwrap_or(""));
    parts.push(event.reason.as_deref().unwrap_or(""));
    parts.push(event.reporting_component.as_deref().unwrap_or(""));
    parts.push(event.reporting_instance.as_deref().unwrap_or(""));
    (join(&parts), event.message.clone().unwrap_or_default())
}

impl EventCorrelator {
    /// A correlator with client-go's defaults.
    pub fn new() -> EventCorrelator {
        EventCorrelator::with_spam_burst(SPAM_BURST)
    }

    /// A correlator whose spam filter allows `burst` events at once.
    pub fn with_spam_burst(burst: u32) -> EventCorrelator {
        EventCorrelator {
            aggregates: Lru::new(MAX_LRU_CACHE_ENTRIES),
            logs: Lru::new(MAX_LRU_CACHE_ENTRIES),
            spam: Lru::new(MAX_LRU_CACHE_ENTRIES),
            spam_burst: burst,
            namer: EventNamer::new(),
        }
    }

    /// Correlates one event recorded at `now` (`EventCorrelate`).
    pub fn correlate(&mut self, event: Event, now: Timestamp) -> Correlated {
        let (event, key) = self.aggregate(event, now);
        let (event, patch) = self.observe(event, &key, now);
        if self.is_spam(&event, now) {
            return Correlated::Skip;
        }
        match patch {
            Some(patch) => Correlated::Patch { event: Box::new(event), patch },
            None => Correlated::Create(Box::new(event)),
        }
    }

    /// `EventAggregate`: the event itself and its exact key, or, from the tenth distinct
    /// message on, an aggregate event and the aggregation key.
    fn aggregate(&mut self, event: Event, now: Timestamp) -> (Event, String) {
        let (aggregate_key, local_key) = aggregate_keys(&event);
        let mut record = self.aggregates.get_mut(&aggregate_key).cloned().unwrap_or_default();
        let fresh = record.last_timestamp.is_none_or(|last| now.duration_since(last) > AGGREGATE_INTERVAL);
        if fresh {
            record = AggregateRecord::default();
        }
        record.local_keys.insert(local_key);
        record.last_timestamp = Some(now);
        let distinct = record.local_keys.len();
        if distinct >= AGGREGATE_MAX_EVENTS {
            record.local_keys.pop_first();
        }
        self.aggregates.insert(aggregate_key.clone(), record);
        if distinct < AGGREGATE_MAX_EVENTS {
            let key = event_key(&event);
            return (event, key);
        }
        let message = format!("{AGGREGATE_MESSAGE_PREFIX}{}", event.message.as_deref().unwrap_or(""));
        let aggregate = Event {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                namespace: event.metadata.namespace.clone(),
                ..Default::default()
            },
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            involved_object: event.involved_object.clone(),
            message: Some(message),
            type_: event.type_.clone(),
            reason: event.reason.clone(),
            source: event.source.clone(),
            ..Event::default()
        };
        (aggregate, aggregate_key)
    }

    /// `eventObserve`: a repeat takes the first occurrence's name and first timestamp with its
    /// count raised, and yields the patch; a new event gets a fresh unique name.
    fn observe(&mut self, mut event: Event, key: &str, now: Timestamp) -> (Event, Option<Value>) {
        let last = self.logs.get_mut(key).cloned();
        let patch = match last {
            Some(last) if last.count > 0 => {
                event.metadata.name = Some(last.name);
                event.metadata.resource_version = None;
                event.first_timestamp = last.first_timestamp;
                event.count = Some(last.count.saturating_add(1));
                let last_timestamp = event.last_timestamp.clone().unwrap_or(Time(now));
                Some(json!({
                    "count": event.count,
                    "lastTimestamp": last_timestamp,
                    "message": event.message.clone().unwrap_or_default(),
                }))
            }
            _ => {
                let object_name = event.involved_object.name.clone().unwrap_or_default();
                event.metadata.name = Some(self.namer.name(&object_name, now));
                event.count = Some(event.count.unwrap_or(1).max(1));
                None
            }
        };
        let log = EventLog {
            count: event.count.unwrap_or(1),
            first_timestamp: event.first_timestamp.clone(),
            name: event.metadata.name.clone().unwrap_or_default(),
        };
        self.logs.insert(key.to_owned(), log);
        (event, patch)
    }

    /// `EventSourceObjectSpamFilter.Filter`: whether the source has used up its events about the
    /// object.
    fn is_spam(&mut self, event: &Event, now: Timestamp) -> bool {
        let key = spam_key(event);
        let burst = self.spam_burst;
        if self.spam.get_mut(&key).is_none() {
            self.spam.insert(key.clone(), TokenBucket::with_burst(SPAM_QPS, burst, now));
        }
        let bucket = self.spam.get_mut(&key).expect("the bucket was just inserted");
        !bucket.try_accept(now)
    }
}

#[cfg(test)]
#[path = "correlator_tests.rs"]
mod tests;
