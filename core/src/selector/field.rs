//! Field selectors (`metadata.name=a,status.phase!=Running`): parsing with Kubernetes' `\`
//! escaping, matching, and the fields each kind can be selected by.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::SelectorError;
use crate::object::Object;

/// One `field=value` or `field!=value` condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldTerm {
    /// The field label, such as `spec.nodeName`.
    pub field: String,
    /// The value, unescaped.
    pub value: String,
    /// `=`/`==` when true, `!=` when false.
    pub equal: bool,
}

impl FieldTerm {
    fn matches_value(&self, actual: &str) -> bool {
        (actual == self.value) == self.equal
    }
}

/// A field selector: terms that must all hold; empty matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// The selector that matches everything.
    pub fn everything() -> FieldSelector {
        FieldSelector::default()
    }

    /// `field=value` (Kubernetes' `OneTermEqualSelector`).
    pub fn one_term_equal(field: &str, value: &str) -> FieldSelector {
        FieldSelector { terms: vec![FieldTerm { field: field.to_string(), value: value.to_string(), equal: true }] }
    }

    /// `field!=value` (Kubernetes' `OneTermNotEqualSelector`).
    pub fn one_term_not_equal(field: &str, value: &str) -> FieldSelector {
        FieldSelector { terms: vec![FieldTerm { field: field.to_string(), value: value.to_string(), equal: false }] }
    }

    /// Every term of both selectors (Kubernetes' `AndSelectors`).
    pub fn and(mut self, other: FieldSelector) -> FieldSelector {
        self.terms.extend(other.terms);
        self
    }

    /// Parses Kubernetes' field selector syntax (`fields.ParseSelector`): terms split on
    /// unescaped commas and sorted, each `field=value`, `field==value` or `field!=value`.
    pub fn parse(text: &str) -> Result<FieldSelector, SelectorError> {
        let mut parts = split_terms(text);
        parts.sort_unstable();
        let mut terms = Vec::with_capacity(parts.len());
        for part in parts.into_iter().filter(|part| !part.is_empty()) {
            let Some((field, operator_length, equal)) = split_term(part) else {
                return Err(SelectorError::FieldSyntax { selector: text.to_string(), term: part.to_string() });
            };
            let value = unescape_value(&part[field.len() + operator_length..])?;
            terms.push(FieldTerm { field: field.to_string(), value, equal });
        }
        Ok(FieldSelector { terms })
    }

    /// The terms, in order.
    pub fn terms(&self) -> &[FieldTerm] {
        &self.terms
    }

    /// Whether the selector places no restriction.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether an object's fields satisfy every term; `fields` reads a field label, and a field
    /// it does not know reads as the empty string, as in Kubernetes' `fields.Set`.
    pub fn matches(&self, fields: &dyn Fn(&str) -> Option<String>) -> bool {
        self.terms.iter().all(|term| term.matches_value(fields(&term.field).as_deref().unwrap_or("")))
    }

    /// Like [`matches`](Self::matches) over a prepared field set; allocation-free.
    pub fn matches_set(&self, fields: &BTreeMap<String, String>) -> bool {
        self.terms.iter().all(|term| term.matches_value(fields.get(&term.field).map_or("", String::as_str)))
    }

    /// The one value a field must have, if the selector pins it (`RequiresExactMatch`).
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.terms.iter().find(|term| term.field == field && term.equal).map(|term| term.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    /// Terms joined by commas, values escaped as Kubernetes' `EscapeValue` does.
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, term) in self.terms.iter().enumerate() {
            if index > 0 {
                out.write_str(",")?;
            }
            out.write_str(&term.field)?;
            out.write_str(if term.equal { "=" } else { "!=" })?;
            for character in term.value.chars() {
                if matches!(character, '\\' | ',' | '=') {
                    out.write_str("\\")?;
                }
                write!(out, "{character}")?;
            }
        }
        Ok(())
    }
}

impl FromStr for FieldSelector {
    type Err = SelectorError;

    fn from_str(text: &str) -> Result<FieldSelector, SelectorError> {
        FieldSelector::parse(text)
    }
}

/// Splits on commas not preceded by an escaping backslash.
fn split_terms(text: &str) -> Vec<&str> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (index, byte) in text.bytes().enumerate() {
        if escaped {
            escaped = false;
        } else if byte == b'\\' {
            escaped = true;
        } else if byte == b',' {
            terms.push(&text[start..index]);
            start = index + 1;
        }
    }
    terms.push(&text[start..]);
    terms
}

/// The field before the first operator, the operator's length, and whether it is an equality.
fn split_term(term: &str) -> Option<(&str, usize, bool)> {
    (0..term.len()).filter(|index| term.is_char_boundary(*index)).find_map(|index| {
        let rest = &term[index..];
        if rest.starts_with("!=") {
            Some((&term[..index], 2, false))
        } else if rest.starts_with("==") {
            Some((&term[..index], 2, true))
        } else if rest.starts_with('=') {
            Some((&term[..index], 1, true))
        } else {
            None
        }
    })
}

/// Kubernetes' `UnescapeValue`: `\\`, `\,` and `\=` are the only escapes, and bare `,` or `=`
/// are refused.
fn unescape_value(text: &str) -> Result<String, SelectorError> {
    let mut value = String::with_capacity(text.len());
    let mut escaped = false;
    for character in text.chars() {
        if escaped {
            if !matches!(character, '\\' | ',' | '=') {
                return Err(SelectorError::InvalidEscapeSequence { sequence: format!("\\{character}") });
            }
            value.push(character);
            escaped = false;
            continue;
        }
        match character {
            '\\' => escaped = true,
            ',' | '=' => return Err(SelectorError::UnescapedCharacter { character }),
            _ => value.push(character),
        }
    }
    if escaped {
        return Err(SelectorError::InvalidEscapeSequence { sequence: "\\".to_string() });
    }
    Ok(value)
}

const METADATA_FIELDS: &[&str] = &["metadata.name", "metadata.namespace"];
const POD_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
    "spec.host",
];
const EVENT_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];
const SECRET_FIELDS: &[&str] = &["metadata.name", "metadata.namespace", "type"];
const NODE_FIELDS: &[&str] = &["metadata.name", "metadata.namespace", "spec.unschedulable"];
const NAMESPACE_FIELDS: &[&str] = &["metadata.name", "metadata.namespace", "status.phase"];
const REPLICAS_FIELDS: &[&str] = &["metadata.name", "metadata.namespace", "status.replicas"];
const JOB_FIELDS: &[&str] = &["metadata.name", "metadata.namespace", "status.successful"];

/// The field labels a kind can be selected by, as Kubernetes' field label conversion functions
/// accept them (`spec.host` is Kubernetes' old alias of a Pod's `spec.nodeName`).
pub fn supported_field_labels(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => POD_FIELDS,
        "Event" => EVENT_FIELDS,
        "Secret" => SECRET_FIELDS,
        "Node" => NODE_FIELDS,
        "Namespace" => NAMESPACE_FIELDS,
        "ReplicaSet" | "ReplicationController" => REPLICAS_FIELDS,
        "Job" => JOB_FIELDS,
        _ => METADATA_FIELDS,
    }
}

/// Refuses a selector naming a field the kind cannot be selected by, with Kubernetes' message.
pub fn check_supported(kind: &str, selector: &FieldSelector) -> Result<(), SelectorError> {
    let supported = supported_field_labels(kind);
    match selector.terms.iter().find(|term| !supported.contains(&term.field.as_str())) {
        Some(term) => Err(SelectorError::FieldLabelNotSupported { label: term.field.clone() }),
        None => Ok(()),
    }
}

fn path<'a>(object: &'a Object, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter().try_fold(object.field(first)?, |value, key| value.get(key))
}

fn text(object: &Object, steps: &[&str]) -> String {
    path(object, steps).and_then(Value::as_str).unwrap_or("").to_string()
}

fn integer(object: &Object, steps: &[&str]) -> String {
    path(object, steps).and_then(Value::as_i64).unwrap_or(0).to_string()
}

fn boolean(object: &Object, steps: &[&str]) -> String {
    path(object, steps).and_then(Value::as_bool).unwrap_or(false).to_string()
}

/// The value of a field label on an object, as Kubernetes' registries compute it for field
/// selection (unset strings read as empty, unset booleans as `false`, unset counts as `0`);
/// `None` when the object's kind cannot be selected by that field.
pub fn field_value(object: &Object, field: &str) -> Option<String> {
    if !supported_field_labels(&object.kind).contains(&field) {
        return None;
    }
    let value = match (object.kind.as_str(), field) {
        (_, "metadata.name") => object.name().to_string(),
        (_, "metadata.namespace") => object.namespace().to_string(),
        ("Pod", "spec.nodeName" | "spec.host") => text(object, &["spec", "nodeName"]),
        ("Pod", "spec.restartPolicy") => text(object, &["spec", "restartPolicy"]),
        ("Pod", "spec.schedulerName") => text(object, &["spec", "schedulerName"]),
        ("Pod", "spec.serviceAccountName") => text(object, &["spec", "serviceAccountName"]),
        ("Pod", "spec.hostNetwork") => boolean(object, &["spec", "hostNetwork"]),
        ("Pod", "status.phase") | ("Namespace", "status.phase") => text(object, &["status", "phase"]),
        ("Pod", "status.podIP" | "status.podIPs") => pod_ip(object),
        ("Pod", "status.nominatedNodeName") => text(object, &["status", "nominatedNodeName"]),
        ("Event", "source") => event_source(object),
        ("Event", "reportingComponent") => text(object, &["reportingComponent"]),
        ("Event", "reason" | "type") => text(object, &[field]),
        ("Event", involved) => {
            let name = involved.strip_prefix("involvedObject.").unwrap_or(involved);
            text(object, &["involvedObject", name])
        }
        ("Secret", "type") => text(object, &["type"]),
        ("Node", "spec.unschedulable") => boolean(object, &["spec", "unschedulable"]),
        (_, "status.replicas") => integer(object, &["status", "replicas"]),
        ("Job", "status.successful") => integer(object, &["status", "succeeded"]),
        _ => String::new(),
    };
    Some(value)
}

/// A Pod's first IP: Kubernetes selects `status.podIP` (and `status.podIPs`) by `podIPs[0]`.
fn pod_ip(object: &Object) -> String {
    let first = path(object, &["status", "podIPs"]).and_then(|ips| ips.get(0)).and_then(|ip| ip.get("ip"));
    match first.and_then(Value::as_str) {
        Some(ip) => ip.to_string(),
        None => text(object, &["status", "podIP"]),
    }
}

/// An Event's `source`: `source.component`, or `reportingComponent` when that is empty.
fn event_source(object: &Object) -> String {
    let component = text(object, &["source", "component"]);
    if component.is_empty() { text(object, &["reportingComponent"]) } else { component }
}

#[cfg(test)]
mod tests;
