//! JSON merge patch (RFC 7386): the examples of RFC 7386 appendix A, and `create_merge_patch`.

use serde_json::{Value, json};

use crate::api::patch::{apply_merge_patch, create_merge_patch};

/// RFC 7386 appendix A: (original, patch, result).
fn rfc_7386_examples() -> Vec<(Value, Value, Value)> {
    vec![
        (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
        (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
        (json!({"a": "b"}), json!({"a": null}), json!({})),
        (json!({"a": "b", "b": "c"}), json!({"a": null}), json!({"b": "c"})),
        (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
        (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
        (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
        (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a": "b"}), json!(["c"]), json!(["c"])),
        (json!({"a": "foo"}), json!(null), json!(null)),
        (json!({"a": "foo"}), json!("bar"), json!("bar")),
        (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
        (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
        (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
    ]
}

#[test]
fn every_rfc_7386_example_gives_its_result() {
    for (original, patch, expected) in rfc_7386_examples() {
        assert_eq!(apply_merge_patch(&original, &patch), expected, "{original} + {patch}");
    }
}

#[test]
fn created_merge_patch_holds_only_changes_and_deletions() {
    let from = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 1}});
    let to = json!({"metadata": {"labels": {"a": "1", "c": "3"}}, "spec": {"replicas": 1}});
    assert_eq!(create_merge_patch(&from, &to), json!({"metadata": {"labels": {"b": null, "c": "3"}}}));
    assert_eq!(create_merge_patch(&from, &from), json!({}));
    assert_eq!(create_merge_patch(&from, &json!([1])), json!([1]));
}
