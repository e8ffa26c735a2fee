//! Validation tests, ported from Kubernetes' tables: `apimachinery/pkg/util/validation`
//! (`TestIsDNS1123Label`, `TestIsQualifiedName`, …), `pkg/apis/core/validation`
//! (`TestValidateContainers`, `TestValidateContainerPorts`, `TestValidatePodSpec`,
//! `TestValidateServiceCreate`, `TestValidatePodUpdate`), `pkg/apis/apps/validation`
//! (`TestValidateDeployment`, `TestValidateStatefulSet`, `TestValidateDaemonSet`, …) and
//! `pkg/apis/batch/validation`.

use serde_json::{Value, json};

use super::name_rules::*;
use super::*;
use crate::object::defaults::apply_defaults;
use crate::object::field_error::{FieldErrorType, join_field_errors};

mod cases;
mod cluster_network;
mod config_storage;
mod names;
mod pod_details;
mod snapshots;

/// A defaulted object from JSON, as the API server would validate it.
fn defaulted(value: Value) -> Object {
    let mut object = Object::from_value(value).unwrap();
    apply_defaults(&mut object).unwrap();
    object
}

/// The (path, type) of every error, for table comparisons.
fn found(errors: &[FieldError]) -> Vec<(String, FieldErrorType)> {
    errors.iter().map(|error| (error.path.to_string(), error.error_type)).collect()
}

/// Sets `value` at a JSON pointer, creating objects on the way.
fn set(target: &mut Value, pointer: &str, value: Value) {
    let mut current = target;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (position, part) in parts.iter().enumerate() {
        let last = position == parts.len() - 1;
        current = match current {
            Value::Array(items) => {
                let index: usize = part.parse().unwrap();
                if index == items.len() {
                    items.push(json!({}));
                }
                &mut items[index]
            }
            Value::Object(map) => {
                if last {
                    map.insert(part.to_string(), value);
                    return;
                }
                map.entry(part.to_string()).or_insert_with(|| json!({}))
            }
            _ => panic!("cannot descend into {part}"),
        };
        if last {
            *current = value;
            return;
        }
    }
}

fn valid_pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.25", "ports": [{"name": "http", "containerPort": 80}]}]}})
}

fn valid_deployment() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "nginx"}]}}}})
}

fn valid_service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
}

fn with(base: Value, changes: &[(&str, Value)]) -> Value {
    let mut value = base;
    for (pointer, change) in changes {
        set(&mut value, pointer, change.clone());
    }
    value
}

/// One table row: a case name, the object, and the (path, type) of each error expected.
type Case<'a> = (&'a str, Value, Vec<(&'a str, FieldErrorType)>);

/// Runs a table of cases through `validate_create`.
fn check_create_table(cases: Vec<Case>) {
    for (name, value, expected) in cases {
        let errors = validate_create(&defaulted(value));
        let expected: Vec<(String, FieldErrorType)> =
            expected.into_iter().map(|(path, error_type)| (path.to_string(), error_type)).collect();
        assert_eq!(found(&errors), expected, "case {name:?}: {}", join_field_errors(&errors));
    }
}

/// One update table row: a case name, the old and new objects, and the errors expected.
type UpdateCase<'a> = (&'a str, Value, Value, Vec<(&'a str, FieldErrorType)>);

/// Runs `validate_update` over (old, new) pairs and compares (path, type).
fn check_update_table(cases: Vec<UpdateCase>) {
    for (name, old, new, expected) in cases {
        let mut old = defaulted(old);
        old.metadata.resource_version = Some("1".into());
        let errors = validate_update(&old, &defaulted(new));
        let expected: Vec<(String, FieldErrorType)> =
            expected.into_iter().map(|(path, error_type)| (path.to_string(), error_type)).collect();
        assert_eq!(found(&errors), expected, "case {name:?}: {}", join_field_errors(&errors));
    }
}
