//! The directives of strategic merge patch one by one, and the errors bad directives give.

use serde_json::json;

use super::strategic_kubernetes_cases::apply_to_merge_item as apply;
use crate::api::patch::PatchError;

#[test]
fn retain_keys_drops_original_keys_it_does_not_list() {
    let original = json!({"retainKeysMap": {"name": "foo", "value": "a", "other": "b"}});
    let patch = json!({"retainKeysMap": {"$retainKeys": ["name", "simpleMap"], "simpleMap": {"k": "v"}}});
    let result = apply(&original, &patch).unwrap();
    assert_eq!(result, json!({"retainKeysMap": {"name": "foo", "simpleMap": {"k": "v"}}}));
}

#[test]
fn retain_keys_refuses_a_patch_setting_a_key_it_does_not_list() {
    let original = json!({"retainKeysMap": {"name": "foo"}});
    let patch = json!({"retainKeysMap": {"$retainKeys": ["name"], "value": "x"}});
    assert!(matches!(apply(&original, &patch), Err(PatchError::InvalidRetainKeys)));
}

#[test]
fn retain_keys_that_is_not_a_list_is_refused() {
    let patch = json!({"retainKeysMap": {"$retainKeys": "name"}});
    assert!(matches!(apply(&json!({"retainKeysMap": {}}), &patch), Err(PatchError::InvalidRetainKeys)));
}

#[test]
fn patch_replace_on_a_list_element_replaces_the_list() {
    let original = json!({"mergingList": [{"name": 1}, {"name": 2}]});
    let patch = json!({"mergingList": [{"name": 3, "value": null}, {"$patch": "replace"}]});
    assert_eq!(apply(&original, &patch).unwrap(), json!({"mergingList": [{"name": 3}]}));
}

#[test]
fn patch_delete_in_a_list_element_deletes_the_element_with_that_key() {
    let original = json!({"mergingList": [{"name": 1}, {"name": 2, "value": "b"}]});
    let patch = json!({"mergingList": [{"name": 1, "$patch": "delete"}]});
    assert_eq!(apply(&original, &patch).unwrap(), json!({"mergingList": [{"name": 2, "value": "b"}]}));
}

#[test]
fn patch_replace_on_a_nested_map_replaces_it() {
    let original = json!({"simpleMap": {"a": "1", "b": "2"}});
    let patch = json!({"simpleMap": {"$patch": "replace", "c": "3"}});
    assert_eq!(apply(&original, &patch).unwrap(), json!({"simpleMap": {"c": "3"}}));
}

#[test]
fn patch_merge_on_a_map_merges_as_without_directive() {
    let original = json!({"simpleMap": {"a": "1"}});
    let patch = json!({"simpleMap": {"$patch": "merge", "b": "2"}});
    assert_eq!(apply(&original, &patch).unwrap(), json!({"simpleMap": {"a": "1", "b": "2"}}));
}

#[test]
fn patch_merge_in_a_list_is_refused_as_kubernetes_does() {
    let original = json!({"mergingList": [{"name": 1}]});
    let patch = json!({"mergingList": [{"$patch": "merge"}]});
    assert!(matches!(apply(&original, &patch), Err(PatchError::MergeDirectiveInList)));
}

#[test]
fn directives_in_new_values_never_reach_the_result() {
    let patch = json!({"simpleMap": {"a": null, "b": "2"}, "mergingList": [{"name": 1, "mergingList": [{"name": 9, "$patch": "delete"}]}],
        "retainKeysMap": {"$retainKeys": ["name"], "name": "x"}});
    let result = apply(&json!({}), &patch).unwrap();
    assert_eq!(
        result,
        json!({"simpleMap": {"b": "2"}, "mergingList": [{"name": 1, "mergingList": []}], "retainKeysMap": {"name": "x"}})
    );
}

#[test]
fn set_element_order_reorders_without_a_patch_list() {
    let original = json!({"mergingList": [{"name": 1}, {"name": 2}, {"name": 3}]});
    let patch = json!({"$setElementOrder/mergingList": [{"name": 3}, {"name": 1}, {"name": 2}]});
    assert_eq!(apply(&original, &patch).unwrap(), json!({"mergingList": [{"name": 3}, {"name": 1}, {"name": 2}]}));
}

#[test]
fn a_new_list_element_without_set_element_order_goes_first_as_in_kubernetes() {
    let original = json!({"mergingList": [{"name": 1}, {"name": 2}]});
    let patch = json!({"mergingList": [{"name": 3}]});
    assert_eq!(apply(&original, &patch).unwrap(), json!({"mergingList": [{"name": 3}, {"name": 1}, {"name": 2}]}));
}

#[test]
fn bad_directives_are_refused_with_kubernetes_messages() {
    let cases = [
        json!({"simpleMap": {"$patch": "explode"}}),
        json!({"mergingList": [{"name": 1, "$patch": "explode"}]}),
        json!({"$setElementOrder/mergingList": "x"}),
        json!({"$setElementOrderX": []}),
        json!({"$deleteFromPrimitiveList/mergingIntList": 3}),
        json!({"mergingList": [[1]]}),
        json!({"mergingList": [{"name": 1}, "x"]}),
        json!({"mergingList": [{"value": 1}]}),
    ];
    let original = json!({"simpleMap": {}, "mergingList": [{"name": 1}], "mergingIntList": [1]});
    let messages: Vec<String> = cases
        .iter()
        .map(|patch| match apply(&original, patch) {
            Ok(result) => format!("accepted: {result}"),
            Err(error) => format!("{} {}", error.status_code(), error),
        })
        .collect();
    insta::assert_yaml_snapshot!(messages);
}

#[test]
fn a_patch_that_is_not_an_object_is_refused() {
    assert!(matches!(apply(&json!({}), &json!([1])), Err(PatchError::PatchNotAnObject { found: "list" })));
    assert!(matches!(apply(&json!("x"), &json!({})), Err(PatchError::OriginalNotAnObject { found: "string" })));
}
