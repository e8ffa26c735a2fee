//! The `testcase` tables of Kubernetes' strategicpatch/patch_test.go, run against the test type
//! `MergeItem` translated into our schema table.

use serde::Deserialize;
use serde_json::Value;

use crate::api::patch::apply_strategic_merge_patch_with_schema;
use crate::api::patch::strategic_schema::{PatchSchema, merge_by, merge_set, nested, replace};

/// `MergeItem` and `RetainKeysMergeItem` of patch_test.go, tag for tag.
pub(super) static MERGE_ITEM_SCHEMA: PatchSchema = PatchSchema {
    fields: &[
        merge_by("MergeItem", "mergingList", "name", Some("MergeItem")),
        nested("MergeItem", "nonMergingList", "MergeItem"),
        merge_set("MergeItem", "mergingIntList"),
        merge_by("MergeItem", "mergeItemPtr", "name", Some("MergeItem")),
        replace("MergeItem", "replacingItem"),
        nested("MergeItem", "retainKeysMap", "RetainKeysMergeItem"),
        merge_by("MergeItem", "retainKeysMergingList", "name", Some("MergeItem")),
        merge_set("RetainKeysMergeItem", "mergingIntList"),
        merge_by("RetainKeysMergeItem", "mergingList", "name", Some("MergeItem")),
        nested("RetainKeysMergeItem", "nonMergingList", "MergeItem"),
    ],
    roots: &[],
    default_root: "MergeItem",
};

#[derive(Deserialize)]
struct Case {
    description: String,
    original: Value,
    patch: Value,
    #[serde(default)]
    expected: Option<Value>,
    #[serde(default)]
    error: Option<String>,
}

fn cases() -> Vec<Case> {
    serde_saphyr::from_str(include_str!("strategic_cases.yaml")).expect("the case table is valid YAML")
}

/// Applies a patch to an original over `MergeItem`.
pub(super) fn apply_to_merge_item(original: &Value, patch: &Value) -> Result<Value, crate::api::patch::PatchError> {
    apply_strategic_merge_patch_with_schema(original, patch, &MERGE_ITEM_SCHEMA, "MergeItem")
}

#[test]
fn every_ported_kubernetes_case_gives_the_kubernetes_result() {
    let cases = cases();
    assert!(cases.len() >= 45, "the table lost cases: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let outcome = apply_to_merge_item(&case.original, &case.patch);
        match (&case.expected, &case.error, outcome) {
            (Some(expected), None, Ok(result)) if result == *expected => {}
            (None, Some(error), Err(actual)) if actual.to_string().contains(error.as_str()) => {}
            (_, _, outcome) => failures.push(format!(
                "{}: expected {:?} / error {:?}, got {:?}",
                case.description, case.expected, case.error, outcome
            )),
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn list_order_is_compared_exactly_in_the_ported_cases() {
    // `Value` equality of arrays is order-sensitive: a result with the right elements in the wrong
    // order must not pass.
    let original = serde_json::json!({"mergingList": [{"name": 1}, {"name": 2}]});
    let patch = serde_json::json!({"$setElementOrder/mergingList": [{"name": 2}, {"name": 1}]});
    let result = apply_to_merge_item(&original, &patch).unwrap();
    assert_ne!(result, original);
    assert_eq!(result, serde_json::json!({"mergingList": [{"name": 2}, {"name": 1}]}));
}
