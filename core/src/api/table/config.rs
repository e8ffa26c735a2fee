//! Rows of the configuration and bookkeeping kinds: ConfigMap, Secret, ServiceAccount, Event and
//! ResourceQuota, as Kubernetes' printers lay them out.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ConfigMap, Event, ResourceQuota, Secret, ServiceAccount};
use serde_json::json;

use crate::object::Object;

use super::super::duration;
use super::{AGE, Column, NAME, Printer, Row, RowFn, format, text, typed, wide};

pub(super) fn printer(kind: &str) -> Option<Printer> {
    let (columns, row): (&'static [Column], RowFn) = match kind {
        "ConfigMap" => (CONFIG_MAP, config_map),
        "Secret" => (SECRET, secret),
        "ServiceAccount" => (SERVICE_ACCOUNT, service_account),
        "Event" => (EVENT, event),
        "ResourceQuota" => (RESOURCE_QUOTA, resource_quota),
        _ => return None,
    };
    Some(Printer { columns, row })
}

const CONFIG_MAP: &[Column] = &[NAME, text("Data", "Data contains the configuration data."), AGE];

const SECRET: &[Column] = &[
    NAME,
    text("Type", "Used to facilitate programmatic handling of secret data."),
    text("Data", "Data contains the secret data."),
    AGE,
];

const SERVICE_ACCOUNT: &[Column] = &[
    NAME,
    text(
        "Secrets",
        "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
    ),
    AGE,
];

const EVENT: &[Column] = &[
    text("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    text("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
    text(
        "Reason",
        "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    text("Object", "The object that this event is about."),
    wide(text(
        "Subobject",
        "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.",
    )),
    wide(text("Source", "The component reporting this event. Should be a short machine understandable string.")),
    text("Message", "A human-readable description of the status of this operation."),
    wide(text(
        "First Seen",
        "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
    )),
    wide(text("Count", "The number of times this event has occurred.")),
    wide(super::Column { format: "name", ..text("Name", super::NAME_DESCRIPTION) }),
];

const RESOURCE_QUOTA: &[Column] = &[
    NAME,
    text("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
    text(
        "Limit",
        "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
    ),
    AGE,
];

fn config_map(object: &Object, now: Timestamp) -> Row {
    let config_map: ConfigMap = typed(object);
    let count = config_map.data.map_or(0, |data| data.len()) + config_map.binary_data.map_or(0, |data| data.len());
    Row::new(vec![json!(object.name()), json!(count), json!(super::age(object, now))])
}

fn secret(object: &Object, now: Timestamp) -> Row {
    let secret: Secret = typed(object);
    Row::new(vec![
        json!(object.name()),
        json!(secret.type_.unwrap_or_default()),
        json!(secret.data.map_or(0, |data| data.len())),
        json!(super::age(object, now)),
    ])
}

fn service_account(object: &Object, now: Timestamp) -> Row {
    let account: ServiceAccount = typed(object);
    Row::new(vec![
        json!(object.name()),
        json!(account.secrets.map_or(0, |secrets| secrets.len())),
        json!(super::age(object, now)),
    ])
}

fn event(object: &Object, now: Timestamp) -> Row {
    let event: Event = typed(object);
    let since = |time: Option<Timestamp>| duration::age(time, now);
    let first_seen = match &event.first_timestamp {
        Some(first) => since(Some(first.0)),
        None => since(event.event_time.as_ref().map(|time| time.0)),
    };
    let mut last_seen = match &event.last_timestamp {
        Some(last) => since(Some(last.0)),
        None => first_seen.clone(),
    };
    let mut count = event.count.unwrap_or(0);
    if let Some(series) = &event.series {
        last_seen = since(series.last_observed_time.as_ref().map(|time| time.0));
        count = series.count.unwrap_or(0);
    } else if count == 0 {
        // Singleton events of the events.k8s.io API carry no count.
        count = 1;
    }
    let involved = &event.involved_object;
    let kind = involved.kind.as_deref().unwrap_or("").to_lowercase();
    let target = match involved.name.as_deref() {
        Some(name) if !name.is_empty() => format!("{kind}/{name}"),
        _ => kind,
    };
    let source = event.source.clone().unwrap_or_default();
    let component = source.component.filter(|text| !text.is_empty()).or(event.reporting_component.clone());
    let host = source.host.filter(|text| !text.is_empty()).or(event.reporting_instance.clone());
    let source = match host.filter(|host| !host.is_empty()) {
        Some(host) => format!("{}, {host}", component.unwrap_or_default()),
        None => component.unwrap_or_default(),
    };
    Row::new(vec![
        json!(last_seen),
        json!(event.type_.unwrap_or_default()),
        json!(event.reason.unwrap_or_default()),
        json!(target),
        json!(involved.field_path.clone().unwrap_or_default()),
        json!(source),
        json!(event.message.unwrap_or_default().trim()),
        json!(first_seen),
        json!(count),
        json!(object.name()),
    ])
}

/// `resource: used/hard` for every hard limit by name; `limits.*` go to the LIMIT column.
fn resource_quota(object: &Object, now: Timestamp) -> Row {
    let quota: ResourceQuota = typed(object);
    let status = quota.status.unwrap_or_default();
    let used = status.used.unwrap_or_default();
    let (mut requests, mut limits) = (Vec::new(), Vec::new());
    for (resource, hard) in status.hard.iter().flatten() {
        let used = used.get(resource).map(format::quantity).unwrap_or_else(|| "0".into());
        let entry = format!("{resource}: {used}/{}", format::quantity(hard));
        let is_limit = resource.split('.').count() > 1 && resource.starts_with("limits.");
        if is_limit { limits.push(entry) } else { requests.push(entry) }
    }
    Row::new(vec![
        json!(object.name()),
        json!(requests.join(", ")),
        json!(limits.join(", ")),
        json!(super::age(object, now)),
    ])
}
