//! Properties over random JSON documents: diffs and merge patches round-trip, and strategic
//! merge patch equals merge patch where no schema or directive applies.

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::api::patch::strategic_schema::PatchSchema;
use crate::api::patch::{
    apply_json_patch, apply_merge_patch, apply_strategic_merge_patch_with_schema, create_merge_patch,
};
use crate::object::schema_facts::SchemaFacts;

/// A schema with no definitions: every map merges, every list is replaced.
static EMPTY_FACTS: std::sync::LazyLock<SchemaFacts> = std::sync::LazyLock::new(SchemaFacts::default);

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        "[a-c]{0,3}".prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    // Never `$`-prefixed, so no key is a directive.
    "[a-e]{1,2}"
}

/// JSON values without `null` inside objects (merge patches cannot express such a value).
fn document() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(prop_oneof![inner.clone(), Just(Value::Null)], 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..5).prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(key(), document(), 0..5)
        .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>()))
}

proptest! {
    #[test]
    fn applying_the_json_diff_of_two_documents_gives_the_second(a in document(), b in document()) {
        let diff = json_patch::diff(&a, &b);
        prop_assert_eq!(apply_json_patch(&a, &diff.0).unwrap(), b);
    }

    #[test]
    fn applying_the_created_merge_patch_gives_the_second(a in document(), b in document()) {
        let patch = create_merge_patch(&a, &b);
        prop_assert_eq!(apply_merge_patch(&a, &patch), b);
    }

    #[test]
    fn strategic_patch_without_schema_or_directives_equals_merge_patch(a in object(), b in object()) {
        let patch = create_merge_patch(&a, &b);
        let strategic = apply_strategic_merge_patch_with_schema(&a, &patch, &PatchSchema::new(&EMPTY_FACTS), "Anything").unwrap();
        prop_assert_eq!(&strategic, &apply_merge_patch(&a, &patch));
        prop_assert_eq!(strategic, b);
    }

    #[test]
    fn strategic_patch_of_arbitrary_objects_equals_merge_patch(a in object(), patch in object()) {
        let strategic = apply_strategic_merge_patch_with_schema(&a, &patch, &PatchSchema::new(&EMPTY_FACTS), "Anything").unwrap();
        prop_assert_eq!(strategic, apply_merge_patch(&a, &patch));
    }
}
