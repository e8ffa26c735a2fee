//! Properties of one garbage collection pass over random ownership graphs of ConfigMaps (owner
//! references to each other, to absent uids, to stale uids; owners deleted in the foreground,
//! orphaning or not deleted): no object with a live, non-waiting owner is ever deleted, and the
//! decision does not depend on the order the objects were observed in.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use proptest::prelude::*;
use serde_json::json;

use super::*;

/// One generated object: its owners (index into the objects, or an absent uid), whether each
/// reference blocks, and how the object itself is being deleted (0: not, 1: foreground,
/// 2: orphan, 3: background in progress).
type Spec = (Vec<(usize, bool, bool)>, u8);

fn build(specs: &[Spec]) -> Vec<Object> {
    let count = specs.len();
    specs
        .iter()
        .enumerate()
        .map(|(index, (owners, deletion))| {
            let mut object = Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("c{index}"), "namespace": "ns", "uid": format!("u{index}"), "resourceVersion": "1"}}))
            .unwrap();
            let references: Vec<OwnerReference> = owners
                .iter()
                .map(|(owner, blocking, stale)| {
                    let owner = owner % (count + 2);
                    let uid = if *stale { format!("stale{owner}") } else { format!("u{owner}") };
                    OwnerReference {
                        api_version: "v1".into(),
                        kind: "ConfigMap".into(),
                        name: format!("c{owner}"),
                        uid,
                        controller: None,
                        block_owner_deletion: blocking.then_some(true),
                    }
                })
                .collect();
            object.metadata.owner_references = (!references.is_empty()).then_some(references);
            let finalizer = match deletion {
                1 => Some(FOREGROUND_DELETION_FINALIZER),
                2 => Some(ORPHAN_FINALIZER),
                _ => None,
            };
            if *deletion != 0 {
                object.metadata.deletion_timestamp = Some(Time("2026-01-01T00:00:00Z".parse().unwrap()));
                object.metadata.finalizers = finalizer.map(|f| vec![f.to_string()]);
            }
            object
        })
        .collect()
}

fn specs() -> impl Strategy<Value = Vec<Spec>> {
    let owner = (0usize..10, any::<bool>(), prop::bool::weighted(0.15));
    prop::collection::vec((prop::collection::vec(owner, 0..3), 0u8..4), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn an_object_with_a_live_owner_is_never_deleted(specs in specs()) {
        let objects = build(&specs);
        let graph = DependencyGraph::build(&objects);
        let reconciled = reconcile_garbage_collector(&objects, "2026-01-01T00:00:00Z".parse().unwrap());
        for action in &reconciled.actions {
            let Action::Delete { name, .. } = action else { continue };
            let item = objects.iter().find(|object| object.name() == name).unwrap();
            let solid = item.metadata.owner_references.iter().flatten()
                .any(|reference| graph.classify(item, reference) == OwnerState::Solid);
            prop_assert!(!solid, "{name} has a live owner");
            prop_assert!(!is_being_deleted(item), "{name} is already being deleted");
        }
    }

    #[test]
    fn the_decision_does_not_depend_on_observation_order(specs in specs()) {
        let objects = build(&specs);
        let mut reversed = objects.clone();
        reversed.reverse();
        let now = "2026-01-01T00:00:00Z".parse().unwrap();
        prop_assert_eq!(reconcile_garbage_collector(&objects, now), reconcile_garbage_collector(&reversed, now));
    }
}
