//! Small checks shared by every kind: non-negative numbers, port numbers and names,
//! int-or-percent values, immutable fields, and Go-style rendering of bad values.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use serde_json::Value;

use super::name_rules::{max_length_error, regex_error};
use crate::object::field_error::{FieldError, FieldErrorType, FieldPath};

/// Lowest valid port number.
pub const PORT_MIN: i32 = 1;
/// Highest valid port number.
pub const PORT_MAX: i32 = 65535;
/// Longest port name (an IANA service name).
pub const PORT_NAME_MAX_LENGTH: usize = 15;
/// Kubernetes' message for a field that may not change.
pub const FIELD_IMMUTABLE: &str = "field is immutable";
/// The protocols a port may use, sorted as Kubernetes lists them.
pub const SUPPORTED_PORT_PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

/// `ValidateNonnegativeField`.
pub fn nonnegative(value: i64, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if value < 0 {
        errors.push(FieldError::invalid(path, value, "must be greater than or equal to 0"));
    }
}

/// `validation.InclusiveRangeError`.
pub fn inclusive_range_error(low: i64, high: i64) -> String {
    format!("must be between {low} and {high}, inclusive")
}

/// `IsValidPortNum`.
pub fn is_valid_port_number(port: i32) -> Vec<String> {
    if (PORT_MIN..=PORT_MAX).contains(&port) {
        Vec::new()
    } else {
        vec![inclusive_range_error(i64::from(PORT_MIN), i64::from(PORT_MAX))]
    }
}

/// `IsValidPortName`: an IANA service name.
pub fn is_valid_port_name(name: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if name.len() > PORT_NAME_MAX_LENGTH {
        errors.push(max_length_error(PORT_NAME_MAX_LENGTH));
    }
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        errors.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string());
    }
    if !name.chars().any(|c| c.is_ascii_lowercase()) {
        errors.push("must contain at least one letter (a-z)".to_string());
    }
    if name.contains("--") {
        errors.push("must not contain consecutive hyphens".to_string());
    }
    if name.starts_with('-') || name.ends_with('-') {
        errors.push("must not begin or end with a hyphen".to_string());
    }
    errors
}

/// `ValidatePortNumOrName`.
pub fn port_number_or_name(port: &IntOrString, path: &FieldPath, errors: &mut Vec<FieldError>) {
    match port {
        IntOrString::Int(number) => {
            for message in is_valid_port_number(*number) {
                errors.push(FieldError::invalid(path, *number, &message));
            }
        }
        IntOrString::String(name) => {
            for message in is_valid_port_name(name) {
                errors.push(FieldError::invalid(path, name.as_str(), &message));
            }
        }
    }
}

/// An int-or-string as JSON, for error messages.
pub fn int_or_string_value(value: &IntOrString) -> Value {
    match value {
        IntOrString::Int(number) => Value::from(*number),
        IntOrString::String(text) => Value::from(text.as_str()),
    }
}

/// The number in an int-or-percent (`25%` → 25), as `getIntOrPercentValue` reads it.
pub fn int_or_percent_value(value: &IntOrString) -> i64 {
    match value {
        IntOrString::Int(number) => i64::from(*number),
        IntOrString::String(text) => text.strip_suffix('%').and_then(|digits| digits.parse().ok()).unwrap_or(0),
    }
}

fn is_valid_percent(text: &str) -> bool {
    text.strip_suffix('%').is_some_and(|digits| !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
}

/// `ValidatePositiveIntOrPercent`: a non-negative integer or a `<digits>%` string.
pub fn positive_int_or_percent(value: &IntOrString, path: &FieldPath, errors: &mut Vec<FieldError>) {
    match value {
        IntOrString::String(text) if !is_valid_percent(text) => {
            let message = regex_error(
                "a valid percent string must be a numeric string followed by an ending '%'",
                "[0-9]+%",
                &["1%", "93%"],
            );
            errors.push(FieldError::invalid(path, text.as_str(), &message));
        }
        IntOrString::String(_) => {}
        IntOrString::Int(number) => nonnegative(i64::from(*number), path, errors),
    }
}

/// `IsNotMoreThan100Percent`.
pub fn not_more_than_100_percent(value: &IntOrString, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if let IntOrString::String(text) = value
        && is_valid_percent(text)
        && int_or_percent_value(value) > 100
    {
        errors.push(FieldError::invalid(path, text.as_str(), "must not be greater than 100%"));
    }
}

/// `ValidateImmutableField`: `Invalid value: <new>: field is immutable` when the values differ.
pub fn immutable<T: PartialEq + Serialize>(new: &T, old: &T, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if new != old {
        errors.push(FieldError::invalid(path, to_json(new), FIELD_IMMUTABLE));
    }
}

/// A value as JSON, for a field error's bad value.
pub fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// An `Invalid value` error whose value is a string map, rendered as Go's `%#v` does
/// (`map[string]string{"app":"web"}`), as Kubernetes prints template labels.
pub fn invalid_string_map(path: &FieldPath, map: Option<&BTreeMap<String, String>>, detail: &str) -> FieldError {
    let rendered = match map {
        None => "map[string]string(nil)".to_string(),
        Some(map) => {
            let entries: Vec<String> = map.iter().map(|(key, value)| format!("{key:?}:{value:?}")).collect();
            format!("map[string]string{{{}}}", entries.join(", "))
        }
    };
    // The rendered value goes in the detail so it is printed bare, not as a quoted string.
    FieldError {
        path: path.clone(),
        error_type: FieldErrorType::Invalid,
        bad_value: None,
        detail: format!("{rendered}: {detail}"),
    }
}
