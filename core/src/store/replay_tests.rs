//! Property: under random writes across collections and namespaces, every watcher sees exactly
//! the changes after its start revision in its collection, in order, once; and replaying them onto
//! the state at its start reproduces the store's final state.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;

use crate::object::Object;
use crate::object::kinds::GroupResource;

use super::conformance::object;
use super::{
    ChangeType, ListOptions, MemoryStore, ObjectKey, Preconditions, ReadRevision, Revision, Store, WatchCursor,
    WatchEvent, WatchRequest, WatchStart,
};

const RESOURCES: [GroupResource; 3] = [
    GroupResource { group: "", resource: "pods" },
    GroupResource { group: "", resource: "configmaps" },
    GroupResource { group: "apps", resource: "deployments" },
];
const NAMESPACES: [&str; 2] = ["default", "kube-system"];

#[derive(Clone, Debug)]
enum Step {
    Create {
        resource: usize,
        namespace: usize,
        name: u8,
    },
    Update {
        resource: usize,
        namespace: usize,
        name: u8,
        value: u8,
    },
    Delete {
        resource: usize,
        namespace: usize,
        name: u8,
    },
    /// Starts a watcher `back` revisions before the current one, or with initial events.
    Watch {
        resource: usize,
        namespace: Option<usize>,
        back: u8,
        initial_events: bool,
    },
    Poll {
        watcher: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let key = (0..RESOURCES.len(), 0..NAMESPACES.len(), 0u8..4);
    prop_oneof![
        3 => key.clone().prop_map(|(resource, namespace, name)| Step::Create { resource, namespace, name }),
        3 => (key.clone(), any::<u8>()).prop_map(|((resource, namespace, name), value)| Step::Update { resource, namespace, name, value }),
        2 => key.prop_map(|(resource, namespace, name)| Step::Delete { resource, namespace, name }),
        1 => (0..RESOURCES.len(), proptest::option::of(0..NAMESPACES.len()), any::<u8>(), any::<bool>())
            .prop_map(|(resource, namespace, back, initial_events)| Step::Watch { resource, namespace, back: back % 16, initial_events }),
        2 => (0usize..8).prop_map(|watcher| Step::Poll { watcher }),
    ]
}

struct Watcher {
    cursor: WatchCursor,
    start: Revision,
    initial_events: bool,
    events: Vec<WatchEvent>,
}

fn apply(store: &mut MemoryStore, step: &Step) {
    match *step {
        Step::Create { resource, namespace, name } => {
            let _ = store.create(RESOURCES[resource], object("Thing", NAMESPACES[namespace], &format!("n{name}"), "x"));
        }
        Step::Update { resource, namespace, name, value } => {
            let key = ObjectKey::new(RESOURCES[resource], NAMESPACES[namespace], &format!("n{name}"));
            if let Ok(stored) = store.get(&key) {
                let mut next = Object::clone(&stored);
                next.fields.insert("data".into(), serde_json::json!({"value": value}));
                store.update(key.resource, next).expect("update at the stored resourceVersion");
            }
        }
        Step::Delete { resource, namespace, name } => {
            let key = ObjectKey::new(RESOURCES[resource], NAMESPACES[namespace], &format!("n{name}"));
            let _ = store.delete(&key, &Preconditions::default());
        }
        Step::Watch { .. } | Step::Poll { .. } => {}
    }
}

fn start_watch(
    store: &MemoryStore,
    resource: usize,
    namespace: Option<usize>,
    back: u8,
    initial_events: bool,
) -> Watcher {
    let start = if initial_events {
        WatchStart::InitialEvents { end_bookmark: true }
    } else {
        WatchStart::After(store.current_revision().saturating_sub(u64::from(back)))
    };
    let request = WatchRequest {
        resource: RESOURCES[resource],
        namespace: namespace.map(|index| NAMESPACES[index].to_string()),
        start,
    };
    let cursor = store.watch(&request).expect("a watch inside the window starts");
    let start = if initial_events { store.current_revision() } else { cursor.revision() };
    Watcher { cursor, start, initial_events, events: Vec::new() }
}

type State = BTreeMap<(String, String), Arc<Object>>;

fn list_state(store: &MemoryStore, cursor: &WatchCursor, revision: ReadRevision) -> State {
    let options = ListOptions { namespace: cursor.namespace(), revision, ..ListOptions::all() };
    let list = store.list(cursor.resource(), &options).expect("list inside the window");
    list.items.into_iter().map(|item| ((item.namespace().to_string(), item.name().to_string()), item)).collect()
}

fn check_watcher(store: &MemoryStore, watcher: &Watcher) -> Result<(), TestCaseError> {
    let mut expected = Vec::new();
    store
        .visit_changes_after(watcher.start, usize::MAX, &mut |change| {
            if watcher.cursor.watches(change) {
                expected.push(Arc::clone(change));
            }
        })
        .expect("history is complete");
    let mut state = if watcher.initial_events {
        State::new()
    } else {
        list_state(store, &watcher.cursor, ReadRevision::Exact(watcher.start))
    };
    let mut live = Vec::new();
    for event in &watcher.events {
        let WatchEvent::Change(change) = event else { continue };
        let key = (change.key.namespace.clone(), change.key.name.clone());
        if change.change_type == ChangeType::Deleted {
            prop_assert!(state.remove(&key).is_some(), "DELETED of an object the watcher did not have");
        } else {
            prop_assert_eq!(
                state.insert(key, Arc::clone(&change.object)).is_some(),
                change.change_type == ChangeType::Modified
            );
        }
        if change.revision > watcher.start || !watcher.initial_events {
            live.push(Arc::clone(change));
        }
    }
    prop_assert_eq!(live, expected, "the watcher sees exactly the changes after its start, in order");
    prop_assert_eq!(
        state,
        list_state(store, &watcher.cursor, ReadRevision::Latest),
        "replay reproduces the final state"
    );
    Ok(())
}

proptest! {
    #[test]
    fn every_watcher_sees_each_change_after_its_start_once_in_order(steps in proptest::collection::vec(step(), 1..120)) {
        let mut store = MemoryStore::new();
        let mut watchers: Vec<Watcher> = Vec::new();
        for step in &steps {
            match *step {
                Step::Watch { resource, namespace, back, initial_events } => {
                    watchers.push(start_watch(&store, resource, namespace, back, initial_events));
                }
                Step::Poll { watcher } => {
                    if let Some(watcher) = watchers.get_mut(watcher) {
                        let events = store.poll_watch(&mut watcher.cursor).expect("poll");
                        watcher.events.extend(events);
                    }
                }
                _ => apply(&mut store, step),
            }
        }
        for watcher in &mut watchers {
            let events = store.poll_watch(&mut watcher.cursor).expect("poll");
            watcher.events.extend(events);
            prop_assert_eq!(watcher.cursor.revision(), store.current_revision());
            check_watcher(&store, watcher)?;
        }
    }
}
