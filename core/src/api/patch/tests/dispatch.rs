//! Content-Type dispatch of `apply_patch`.

use serde_json::json;

use crate::api::patch::{PatchError, PatchType, apply_patch};

#[test]
fn content_type_parameters_and_case_are_ignored() {
    assert_eq!(PatchType::from_content_type("application/merge-patch+json; charset=utf-8").unwrap(), PatchType::Merge);
    assert_eq!(PatchType::from_content_type("Application/JSON-Patch+JSON").unwrap(), PatchType::Json);
    assert_eq!(
        PatchType::from_content_type("application/strategic-merge-patch+json").unwrap(),
        PatchType::StrategicMerge
    );
    assert_eq!(PatchType::from_content_type("application/apply-patch+yaml").unwrap(), PatchType::Apply);
}

#[test]
fn an_unknown_content_type_is_refused_with_415() {
    let error = apply_patch(&json!({}), b"{}", "application/json", "Pod").unwrap_err();
    assert_eq!(error.status_code(), 415);
    insta::assert_snapshot!(error.to_string());
}

#[test]
fn malformed_bodies_are_refused_with_400() {
    let cases = [
        ("application/merge-patch+json", "{"),
        ("application/merge-patch+json", "[1]"),
        ("application/strategic-merge-patch+json", "\"x\""),
        ("application/json-patch+json", "{}"),
        ("application/apply-patch+yaml", "a: [1"),
        ("application/apply-patch+yaml", "- 1"),
    ];
    for (content_type, body) in cases {
        let error = apply_patch(&json!({}), body.as_bytes(), content_type, "Pod").unwrap_err();
        assert_eq!(error.status_code(), 400, "{content_type} {body}: {error}");
    }
}

#[test]
fn a_body_over_the_request_limit_is_refused_with_413() {
    let body = vec![b' '; crate::limits::MAX_REQUEST_BYTES + 1];
    let error = apply_patch(&json!({}), &body, "application/merge-patch+json", "Pod").unwrap_err();
    assert!(matches!(error, PatchError::BodyTooLarge { .. }));
    assert_eq!(error.status_code(), 413);
}
