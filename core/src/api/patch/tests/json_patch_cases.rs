//! JSON patch (RFC 6902): operations in order, all or nothing, failures named per operation.

use json_patch::Patch;
use serde_json::{Value, json};

use crate::api::patch::{JsonPatchFailure, PatchError, apply_json_patch, parse_json_patch};

fn operations(value: Value) -> Patch {
    serde_json::from_value(value).expect("a valid JSON patch")
}

#[test]
fn operations_apply_in_order() {
    let original = json!({"a": {"b": 1}, "list": [1, 2]});
    let patch = operations(json!([
        {"op": "add", "path": "/a/c", "value": 2},
        {"op": "remove", "path": "/a/b"},
        {"op": "add", "path": "/list/-", "value": 3},
        {"op": "move", "from": "/a/c", "path": "/moved"},
        {"op": "copy", "from": "/moved", "path": "/copied"},
        {"op": "test", "path": "/copied", "value": 2},
        {"op": "replace", "path": "/list/0", "value": 0}
    ]));
    let result = apply_json_patch(&original, &patch.0).unwrap();
    assert_eq!(result, json!({"a": {}, "list": [0, 2, 3], "moved": 2, "copied": 2}));
}

#[test]
fn a_failed_test_rejects_the_whole_patch_and_names_the_operation() {
    let original = json!({"spec": {"replicas": 1}});
    let patch = operations(json!([
        {"op": "replace", "path": "/spec/replicas", "value": 5},
        {"op": "test", "path": "/spec/replicas", "value": 1}
    ]));
    let error = apply_json_patch(&original, &patch.0).unwrap_err();
    match &error {
        PatchError::JsonPatchOperationFailed { index, op, path, reason, .. } => {
            assert_eq!(
                (*index, *op, path.as_str(), reason),
                (1, "test", "/spec/replicas", &JsonPatchFailure::TestFailed)
            );
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(error.status_code(), 422);
}

#[test]
fn failure_messages_follow_kubernetes_wording() {
    let original = json!({"spec": {"replicas": 1}});
    let cases = [
        json!([{"op": "test", "path": "/spec/replicas", "value": 2}]),
        json!([{"op": "replace", "path": "/spec/paused", "value": true}]),
        json!([{"op": "remove", "path": "/metadata/labels/app"}]),
        json!([{"op": "add", "path": "/metadata/labels/app", "value": "x"}]),
        json!([{"op": "move", "from": "/spec/nothing", "path": "/spec/other"}]),
        json!([{"op": "move", "from": "/spec", "path": "/spec/inner"}]),
    ];
    let messages: Vec<String> = cases
        .into_iter()
        .map(|patch| apply_json_patch(&original, &operations(patch).0).unwrap_err().to_string())
        .collect();
    insta::assert_yaml_snapshot!(messages);
}

#[test]
fn a_body_that_is_not_a_json_patch_is_refused() {
    assert!(matches!(parse_json_patch(br#"{"op":"add"}"#), Err(PatchError::InvalidJson { .. })));
    assert!(matches!(parse_json_patch(br#"[{"op":"explode","path":"/a"}]"#), Err(PatchError::InvalidJson { .. })));
}

#[test]
fn more_operations_than_kubernetes_allows_are_refused() {
    let operation = r#"{"op":"test","path":"","value":{}}"#;
    let body = format!("[{}]", vec![operation; crate::limits::MAX_JSON_PATCH_OPERATIONS + 1].join(","));
    let error = parse_json_patch(body.as_bytes()).unwrap_err();
    assert_eq!(error.to_string(), "The allowed maximum operations in a JSON patch is 10000, got 10001");
    assert_eq!(error.status_code(), 413);
    let body = format!("[{}]", vec![operation; crate::limits::MAX_JSON_PATCH_OPERATIONS].join(","));
    assert!(parse_json_patch(body.as_bytes()).is_ok());
}
