//! The `testcase` tables of Kubernetes' strategicpatch/patch_test.go, run against the test type
//! `MergeItem` translated into our schema table.

use serde::Deserialize;
use serde_json::Value;

use crate::api::patch::apply_strategic_merge_patch_with_schema;
use crate::api::patch::strategic_schema::PatchSchema;
use crate::object::schema_facts::SchemaFacts;

/// `MergeItem` and `RetainKeysMergeItem` of patch_test.go, tag for tag, as OpenAPI definitions.
pub(super) static MERGE_ITEM_FACTS: std::sync::LazyLock<SchemaFacts> = std::sync::LazyLock::new(|| {
    let merge_list = serde_json::json!({
        "type": "array", "items": {"$ref": "#/definitions/MergeItem"},
        "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name",
    });
    let non_merging_list = serde_json::json!({"type": "array", "items": {"$ref": "#/definitions/MergeItem"}});
    let merge_set =
        serde_json::json!({"type": "array", "items": {"type": "integer"}, "x-kubernetes-patch-strategy": "merge"});
    let definitions = serde_json::json!({
        "MergeItem": {"type": "object", "properties": {
            "mergingList": merge_list,
            "nonMergingList": non_merging_list,
            "mergingIntList": merge_set,
            "mergeItemPtr": {"$ref": "#/definitions/MergeItem", "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
            "replacingItem": {"type": "object", "x-kubernetes-patch-strategy": "replace"},
            "retainKeysMap": {"$ref": "#/definitions/RetainKeysMergeItem", "x-kubernetes-patch-strategy": "retainKeys"},
            "retainKeysMergingList": merge_list,
        }},
        "RetainKeysMergeItem": {"type": "object", "properties": {
            "mergingIntList": merge_set,
            "mergingList": merge_list,
            "nonMergingList": non_merging_list,
        }},
    });
    SchemaFacts::new(serde_json::from_value(definitions).expect("the MergeItem definitions are schemas"))
});

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
    apply_strategic_merge_patch_with_schema(original, patch, &PatchSchema::new(&MERGE_ITEM_FACTS), "MergeItem")
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
