//! `meta.k8s.io/v1` Tables for `kubectl get`: a generic NAME/AGE rendering.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::object::Object;

/// Whether an Accept header asks for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|part| part.contains("as=Table"))
}

/// A Table of `objects` with NAME and AGE columns.
pub fn table_for(
    _kind: &str,
    objects: &[&Object],
    resource_version: &str,
    continue_token: Option<&str>,
    now: Timestamp,
) -> Value {
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let created = object.metadata.creation_timestamp.as_ref().map(|time| time.0);
            json!({"cells": [object.name(), super::duration::age(created, now)],
                   "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object.metadata}})
        })
        .collect();
    let mut metadata = json!({"resourceVersion": resource_version});
    if let Some(token) = continue_token {
        metadata["continue"] = token.into();
    }
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name of the object", "priority": 0},
            {"name": "Age", "type": "string", "format": "", "description": "Time since creation", "priority": 0}],
        "rows": rows})
}
