//! The conformance suite every [`Store`] backend must pass: public (not test-only) so the
//! durable and etcd backends in coxswain-real run exactly these checks. Each property is one
//! function that builds fresh stores with `make`, and panics with a message on failure.

use std::sync::Arc;

use serde_json::json;

use crate::object::Object;
use crate::object::kinds::GroupResource;
use crate::selector::label::LabelSelector;

use super::backend::Store;
use super::error::StoreError;
use super::types::{
    ChangeType, ListOptions, ObjectKey, Preconditions, ReadRevision, Revision, WatchEvent, WatchRequest, WatchStart,
};

const PODS: GroupResource = GroupResource { group: "", resource: "pods" };
const CONFIGMAPS: GroupResource = GroupResource { group: "", resource: "configmaps" };

/// Runs every property against stores made by `make`.
pub fn run_all<S: Store>(make: impl Fn() -> S) {
    create_stores_the_object_at_the_next_revision(&make);
    create_refuses_a_taken_key(&make);
    create_refuses_a_resource_version(&make);
    update_compares_and_swaps_on_resource_version(&make);
    delete_checks_uid_and_resource_version_preconditions(&make);
    failed_writes_take_no_revision(&make);
    list_returns_objects_in_key_order_filtered(&make);
    list_by_label_selector_returns_what_matching_every_object_returns(&make);
    list_pages_are_consistent_at_the_first_page_revision(&make);
    list_reads_an_exact_past_revision(&make);
    list_refuses_compacted_and_future_revisions(&make);
    continue_token_expires_with_compaction(&make);
    watch_delivers_every_change_in_order_once(&make);
    watch_sees_only_its_collection_and_namespace(&make);
    polling_into_a_buffer_appends_what_a_poll_returns(&make);
    watch_older_than_compaction_is_expired(&make);
    watch_with_initial_events_sends_the_snapshot_first(&make);
    bookmarks_carry_the_revision_seen(&make);
    deleted_event_carries_last_state_at_deletion_revision(&make);
    transaction_commits_every_write_or_none(&make);
}

/// A transaction whose every condition holds commits all its writes, one change each, at one
/// revision each (etcd: at the transaction's one revision); one failing condition (here a stale
/// resourceVersion) commits none and takes no revision.
pub fn transaction_commits_every_write_or_none<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    let first = store.create(PODS, pod("default", "a")).expect("create");
    let doomed = store.create(PODS, pod("default", "b")).expect("create");
    let before = store.current_revision();
    let mut stale = Object::clone(&first);
    stale.metadata.resource_version = Some("1000".to_string());
    let writes = vec![
        super::types::Write::Create { resource: PODS, object: pod("default", "c") },
        super::types::Write::Update { resource: PODS, object: stale },
    ];
    let error = store.transaction(writes).expect_err("a stale update fails the transaction");
    assert!(matches!(error, StoreError::Conflict { .. }), "{error:?}");
    assert_eq!(store.current_revision(), before, "nothing was committed");
    assert!(matches!(store.get(&ObjectKey::new(PODS, "default", "c")), Err(StoreError::NotFound { .. })));
    let writes = vec![
        super::types::Write::Create { resource: PODS, object: pod("default", "c") },
        super::types::Write::Update { resource: PODS, object: Object::clone(&first) },
        super::types::Write::Delete {
            key: ObjectKey::new(PODS, "default", "b"),
            preconditions: Preconditions { uid: doomed.metadata.uid.clone(), resource_version: None },
        },
    ];
    let committed = store.transaction(writes).expect("every condition holds");
    let revisions: Vec<Revision> = committed.iter().map(|object| revision_of(object)).collect();
    assert!(
        revisions == [before + 1, before + 2, before + 3] || revisions == [before + 1; 3],
        "each write takes the next revision, or (etcd) all share the transaction's: {revisions:?} after {before}"
    );
    assert_eq!(store.current_revision(), revisions[2]);
    let mut cursor = watch_after(&store, PODS, None, before);
    let seen: Vec<(ChangeType, String)> = changes(&durable(&store).poll_watch(&mut cursor).expect("poll"))
        .into_iter()
        .map(|(kind, name, _)| (kind, name))
        .collect();
    let expected = [(ChangeType::Added, "c"), (ChangeType::Modified, "a"), (ChangeType::Deleted, "b")];
    assert_eq!(seen, expected.map(|(kind, name)| (kind, name.to_string())), "one change per write, in order");
    assert!(matches!(store.get(&ObjectKey::new(PODS, "default", "b")), Err(StoreError::NotFound { .. })));
}

/// A namespaced object with one label, as the suite writes them.
pub fn object(kind: &str, namespace: &str, name: &str, label: &str) -> Object {
    Object::from_value(json!({
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{namespace}-{name}"), "labels": {"app": label}},
        "data": {"value": "1"},
    }))
    .expect("the suite's objects are valid")
}

fn pod(namespace: &str, name: &str) -> Object {
    object("Pod", namespace, name, "web")
}

/// `store` once every write so far is durable: a store that commits in the background shows a
/// change to watches only then (see [`Store::durability`]).
fn durable<S: Store>(store: &S) -> &S {
    if let Some(durability) = store.durability() {
        durability.wait_durable(store.current_revision()).expect("the writes become durable");
    }
    store
}

fn revision_of(object: &Object) -> Revision {
    object.resource_version().parse().expect("a stored object has a decimal resourceVersion")
}

fn names(items: &[Arc<Object>]) -> Vec<String> {
    items.iter().map(|item| format!("{}/{}", item.namespace(), item.name())).collect()
}

fn changes(events: &[WatchEvent]) -> Vec<(ChangeType, String, Revision)> {
    events
        .iter()
        .filter_map(|event| match event {
            WatchEvent::Change(change) => Some((change.change_type, change.key.name.clone(), change.revision)),
            WatchEvent::Bookmark { .. } => None,
        })
        .collect()
}

fn watch_after<S: Store>(
    store: &S,
    resource: GroupResource,
    namespace: Option<&str>,
    revision: Revision,
) -> super::WatchCursor {
    let request =
        WatchRequest { resource, namespace: namespace.map(str::to_string), start: WatchStart::After(revision) };
    store.watch(&request).expect("a watch inside the window starts")
}

/// Create stores the object with the next revision as resourceVersion; get returns it.
pub fn create_stores_the_object_at_the_next_revision<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    let before = store.current_revision();
    let created = store.create(PODS, pod("default", "a")).expect("create");
    assert_eq!(revision_of(&created), before + 1, "create takes the next revision");
    assert_eq!(store.current_revision(), before + 1);
    let got = store.get(&ObjectKey::new(PODS, "default", "a")).expect("get");
    assert_eq!(got, created, "get returns the stored object");
    let missing = store.get(&ObjectKey::new(PODS, "other", "a"));
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "a key in another namespace is not found: {missing:?}"
    );
}

/// Create of a taken key is AlreadyExists, and the stored object is unchanged.
pub fn create_refuses_a_taken_key<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    let first = store.create(PODS, pod("default", "a")).expect("create");
    let error = store.create(PODS, pod("default", "a")).expect_err("second create");
    assert_eq!(error.to_string(), "pods \"a\" already exists");
    assert_eq!(store.get(&ObjectKey::new(PODS, "default", "a")).expect("get"), first);
    store.create(CONFIGMAPS, object("ConfigMap", "default", "a", "web")).expect("the same name in another collection");
}

/// Create of an object that carries a resourceVersion is refused.
pub fn create_refuses_a_resource_version<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    let mut object = pod("default", "a");
    object.metadata.resource_version = Some("5".to_string());
    assert_eq!(store.create(PODS, object), Err(StoreError::ResourceVersionSetOnCreate));
}

/// Update with the stored resourceVersion succeeds, with a stale one is a Conflict, with none is
/// unconditional; update of a missing key is NotFound.
pub fn update_compares_and_swaps_on_resource_version<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    let created = store.create(PODS, pod("default", "a")).expect("create");
    let mut next = Object::clone(&created);
    next.fields.insert("data".into(), json!({"value": "2"}));
    let updated = store.update(PODS, next.clone()).expect("update at the stored resourceVersion");
    assert_eq!(revision_of(&updated), revision_of(&created) + 1);
    assert_eq!(updated.fields["data"], json!({"value": "2"}));
    let error = store.update(PODS, next.clone()).expect_err("update at a stale resourceVersion");
    assert!(matches!(&error, StoreError::Conflict { name, .. } if name == "a"), "{error:?}");
    assert_eq!(
        error.to_string(),
        "Operation cannot be fulfilled on pods \"a\": the object has been modified; please apply your changes to the latest version and try again"
    );
    next.metadata.resource_version = None;
    let unconditional = store.update(PODS, next).expect("unconditional update");
    assert_eq!(revision_of(&unconditional), revision_of(&updated) + 1);
    let missing = store.update(PODS, pod("default", "missing"));
    assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");
}

/// Delete checks uid and resourceVersion preconditions, then removes the object.
pub fn delete_checks_uid_and_resource_version_preconditions<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    let created = store.create(PODS, pod("default", "a")).expect("create");
    let key = ObjectKey::new(PODS, "default", "a");
    let wrong_uid = Preconditions { uid: Some("other".into()), resource_version: None };
    let error = store.delete(&key, &wrong_uid).expect_err("delete with another uid");
    assert_eq!(
        error.to_string(),
        "Operation cannot be fulfilled on pods \"a\": Precondition failed: UID in precondition: other, UID in object meta: uid-default-a"
    );
    let wrong_version = Preconditions { uid: None, resource_version: Some("999".into()) };
    let error = store.delete(&key, &wrong_version).expect_err("delete with another resourceVersion");
    assert!(matches!(error, StoreError::PreconditionFailed { .. }), "{error:?}");
    let right =
        Preconditions { uid: created.metadata.uid.clone(), resource_version: Some(created.resource_version().into()) };
    store.delete(&key, &right).expect("delete with matching preconditions");
    assert!(matches!(store.get(&key), Err(StoreError::NotFound { .. })));
    assert!(matches!(store.delete(&key, &Preconditions::default()), Err(StoreError::NotFound { .. })));
}

/// A failed create, update or delete leaves the revision and the history alone.
pub fn failed_writes_take_no_revision<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    store.create(PODS, pod("default", "a")).expect("create");
    let before = store.current_revision();
    let _ = store.create(PODS, pod("default", "a"));
    let _ = store.update(PODS, pod("default", "missing"));
    let _ = store.delete(&ObjectKey::new(PODS, "default", "missing"), &Preconditions::default());
    assert_eq!(store.current_revision(), before, "failed writes take no revision");
    let mut cursor = watch_after(&store, PODS, None, before);
    assert!(durable(&store).poll_watch(&mut cursor).expect("poll").is_empty(), "failed writes record no change");
}

/// List returns objects in (namespace, name) order, limited to a namespace and a predicate.
pub fn list_returns_objects_in_key_order_filtered<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    for (namespace, name, label) in [("b", "y", "web"), ("a", "z", "db"), ("b", "x", "db"), ("a", "w", "web")] {
        store.create(PODS, object("Pod", namespace, name, label)).expect("create");
    }
    store.create(CONFIGMAPS, object("ConfigMap", "a", "c", "web")).expect("create");
    let all = store.list(PODS, &ListOptions::all()).expect("list");
    assert_eq!(names(&all.items), ["a/w", "a/z", "b/x", "b/y"]);
    assert_eq!(all.revision, store.current_revision());
    assert_eq!(all.continue_token, None);
    let in_b = store.list(PODS, &ListOptions::in_namespace("b")).expect("list");
    assert_eq!(names(&in_b.items), ["b/x", "b/y"]);
    let web = |object: &Object| object.label("app") == Some("web");
    let selected = store.list(PODS, &ListOptions { predicate: Some(&web), ..ListOptions::all() }).expect("list");
    assert_eq!(names(&selected.items), ["a/w", "b/y"]);
    let empty = store.list(PODS, &ListOptions::in_namespace("none")).expect("list");
    assert!(empty.items.is_empty());
}

/// Every page of a list, read with `options` and followed through its continue tokens.
fn all_pages<S: Store>(store: &S, options: ListOptions<'_>) -> Vec<String> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        // A continue token carries its revision; the options may not name one as well.
        let revision = if token.is_some() { ReadRevision::Latest } else { options.revision };
        let page = ListOptions { continue_token: token.as_deref(), revision, ..options };
        let result = store.list(PODS, &page).expect("list");
        items.extend(names(&result.items));
        match result.continue_token {
            Some(next) => token = Some(next),
            None => return items,
        }
    }
}

/// A list by label selector (which a store may answer from an index) returns the objects that
/// testing every object's labels returns, in the same order, in one page or many, at the newest
/// revision and at a past one, after labels are changed and objects deleted.
pub fn list_by_label_selector_returns_what_matching_every_object_returns<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    for index in 0..48 {
        let app = ["web", "db", "cache", "queue", "batch", "api", "auth", "mail"][index % 8];
        let namespace = ["a", "b", "c"][index % 4 % 3];
        store.create(PODS, object("Pod", namespace, &format!("pod-{index:02}"), app)).expect("create");
    }
    let mut unlabelled = object("Pod", "b", "bare", "web");
    unlabelled.metadata.labels = None;
    store.create(PODS, unlabelled).expect("create");
    let past = store.current_revision();
    for index in [0, 4, 8] {
        let namespace = ["a", "b", "c"][index % 4 % 3];
        let mut relabelled = object("Pod", namespace, &format!("pod-{index:02}"), "db");
        relabelled.metadata.labels.get_or_insert_default().insert("tier".into(), "front".into());
        store.update(PODS, relabelled).expect("update");
    }
    for index in [3, 6] {
        let namespace = ["a", "b", "c"][index % 4 % 3];
        let key = ObjectKey::new(PODS, namespace, &format!("pod-{index:02}"));
        store.delete(&key, &Preconditions::default()).expect("delete");
    }
    let selectors = ["app=web", "app in (web, db)", "app=db,tier=front", "app!=web", "tier", "app=none", ""];
    for text in selectors {
        let selector = LabelSelector::parse(text).expect("selector");
        let matches = |object: &Object| selector.matches_optional(object.metadata.labels.as_ref());
        for (namespace, limit, revision) in [
            (None, 0, ReadRevision::Latest),
            (Some("b"), 0, ReadRevision::Latest),
            (None, 4, ReadRevision::Latest),
            (Some("a"), 2, ReadRevision::Latest),
            (None, 0, ReadRevision::Exact(past)),
            (None, 3, ReadRevision::Exact(past)),
        ] {
            let base = ListOptions { namespace, limit, revision, ..ListOptions::all() };
            let by_selector = all_pages(&store, ListOptions { label_selector: Some(&selector), ..base });
            let by_predicate = all_pages(&store, ListOptions { predicate: Some(&matches), ..base });
            assert_eq!(by_selector, by_predicate, "selector {text:?} in {namespace:?}, limit {limit}, {revision:?}");
        }
    }
}

/// Pages after the first read the first page's revision: later writes do not show, deleted
/// objects still do, every object is returned once, and the last page has no continue token.
pub fn list_pages_are_consistent_at_the_first_page_revision<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    for name in ["a", "b", "c", "d", "e"] {
        store.create(PODS, pod("default", name)).expect("create");
    }
    let first = store.list(PODS, &ListOptions { limit: 2, ..ListOptions::all() }).expect("first page");
    assert_eq!(names(&first.items), ["default/a", "default/b"]);
    let snapshot = first.revision;
    store.delete(&ObjectKey::new(PODS, "default", "d"), &Preconditions::default()).expect("delete");
    store.create(PODS, pod("default", "bb")).expect("create");
    let c = store.get(&ObjectKey::new(PODS, "default", "c")).expect("get");
    let mut changed = Object::clone(&c);
    changed.fields.insert("data".into(), json!({"value": "changed"}));
    store.update(PODS, changed).expect("update");
    let token = first.continue_token.expect("a full first page has a continue token");
    let second =
        store.list(PODS, &ListOptions { limit: 2, continue_token: Some(&token), ..ListOptions::all() }).expect("page");
    assert_eq!(names(&second.items), ["default/c", "default/d"], "the page shows the snapshot, not later writes");
    assert_eq!(second.revision, snapshot);
    assert_eq!(second.items[0], c, "an object updated since is shown as it was");
    let token = second.continue_token.expect("more remain");
    let third =
        store.list(PODS, &ListOptions { limit: 2, continue_token: Some(&token), ..ListOptions::all() }).expect("page");
    assert_eq!(names(&third.items), ["default/e"]);
    assert_eq!(third.continue_token, None, "the last page has no continue token");
    let error = store.list(PODS, &ListOptions { continue_token: Some("garbage"), ..ListOptions::all() });
    assert!(matches!(error, Err(StoreError::InvalidContinue { .. })), "{error:?}");
}

/// A list at an exact revision in the window shows the collection as it was then.
pub fn list_reads_an_exact_past_revision<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    store.create(PODS, pod("default", "a")).expect("create");
    let at_one = store.create(PODS, pod("default", "b")).expect("create");
    let past = revision_of(&at_one);
    store.delete(&ObjectKey::new(PODS, "default", "a"), &Preconditions::default()).expect("delete");
    store.create(PODS, pod("default", "c")).expect("create");
    let exact =
        store.list(PODS, &ListOptions { revision: ReadRevision::Exact(past), ..ListOptions::all() }).expect("list");
    assert_eq!(names(&exact.items), ["default/a", "default/b"]);
    assert_eq!(exact.revision, past);
    let newer = store.list(PODS, &ListOptions { revision: ReadRevision::NotOlderThan(past), ..ListOptions::all() });
    assert_eq!(names(&newer.expect("list").items), ["default/b", "default/c"]);
    let empty =
        store.list(PODS, &ListOptions { revision: ReadRevision::Exact(0), ..ListOptions::all() }).expect("list");
    assert!(empty.items.is_empty(), "revision 0 is the empty store");
}

/// A list at a compacted revision is ListExpired; at a future one TooLargeResourceVersion.
pub fn list_refuses_compacted_and_future_revisions<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    for name in ["a", "b", "c"] {
        store.create(PODS, pod("default", name)).expect("create");
    }
    let current = store.current_revision();
    store.compact(current - 1).expect("compact");
    let error = store.list(PODS, &ListOptions { revision: ReadRevision::Exact(current - 2), ..ListOptions::all() });
    assert_eq!(error, Err(StoreError::ListExpired { requested: current - 2, compacted: current - 1 }));
    let error =
        store.list(PODS, &ListOptions { revision: ReadRevision::NotOlderThan(current + 1), ..ListOptions::all() });
    assert_eq!(error, Err(StoreError::TooLargeResourceVersion { requested: current + 1, current }));
    assert_eq!(
        error.unwrap_err().to_string(),
        format!("Too large resource version: {}, current: {current}", current + 1)
    );
}

/// A continue token whose revision has been compacted is ContinueExpired (410 in Kubernetes).
pub fn continue_token_expires_with_compaction<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    for name in ["a", "b", "c"] {
        store.create(PODS, pod("default", name)).expect("create");
    }
    let first = store.list(PODS, &ListOptions { limit: 1, ..ListOptions::all() }).expect("list");
    store.create(PODS, pod("default", "d")).expect("create");
    store.compact(store.current_revision()).expect("compact");
    let token = first.continue_token.expect("continue");
    let error =
        store.list(PODS, &ListOptions { limit: 1, continue_token: Some(&token), ..ListOptions::all() }).unwrap_err();
    assert!(matches!(error, StoreError::ContinueExpired { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("The provided continue parameter is too old to display a consistent list result.")
    );
}

/// A watch delivers ADDED, MODIFIED and DELETED for every write after its start revision, in
/// revision order, each once, across many polls.
pub fn watch_delivers_every_change_in_order_once<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    store.create(PODS, pod("default", "before")).expect("create");
    let mut cursor = watch_after(&store, PODS, None, store.current_revision());
    assert!(!cursor.has_pending(store.current_revision()));
    let created = store.create(PODS, pod("default", "a")).expect("create");
    let mut seen = durable(&store).poll_watch(&mut cursor).expect("poll");
    assert!(durable(&store).poll_watch(&mut cursor).expect("poll again").is_empty(), "a poll does not repeat events");
    store.update(PODS, Object::clone(&created)).expect("update");
    store.delete(&ObjectKey::new(PODS, "default", "a"), &Preconditions::default()).expect("delete");
    assert!(cursor.has_pending(store.current_revision()));
    seen.extend(durable(&store).poll_watch(&mut cursor).expect("poll"));
    let first = revision_of(&created);
    assert_eq!(
        changes(&seen),
        [
            (ChangeType::Added, "a".to_string(), first),
            (ChangeType::Modified, "a".to_string(), first + 1),
            (ChangeType::Deleted, "a".to_string(), first + 2),
        ]
    );
    assert_eq!(cursor.revision(), store.current_revision());
}

/// A watch on one collection and namespace skips writes elsewhere but still advances past them.
pub fn watch_sees_only_its_collection_and_namespace<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    let mut cursor = watch_after(&store, PODS, Some("a"), store.current_revision());
    store.create(PODS, pod("b", "other-namespace")).expect("create");
    store.create(CONFIGMAPS, object("ConfigMap", "a", "other-collection", "web")).expect("create");
    store.create(PODS, pod("a", "mine")).expect("create");
    let seen = durable(&store).poll_watch(&mut cursor).expect("poll");
    assert_eq!(changes(&seen).into_iter().map(|(_, name, _)| name).collect::<Vec<_>>(), ["mine"]);
    assert_eq!(cursor.revision(), store.current_revision());
}

/// Polling into a caller's buffer appends exactly the events a poll returns, after what the
/// buffer already holds; a failed poll leaves the buffer as it was.
pub fn polling_into_a_buffer_appends_what_a_poll_returns<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    let start = store.current_revision();
    let mut polled = watch_after(&store, PODS, None, start);
    let mut buffered = watch_after(&store, PODS, None, start);
    let mut lagging = watch_after(&store, PODS, None, start);
    for name in ["a", "b"] {
        store.create(PODS, pod("default", name)).expect("create");
    }
    let marker = WatchEvent::Bookmark { revision: 0, initial_events_end: false };
    let mut events = vec![marker.clone()];
    let appended = durable(&store).poll_watch_into(&mut buffered, &mut events).expect("poll into");
    let expected = durable(&store).poll_watch(&mut polled).expect("poll");
    assert_eq!(appended, 2);
    assert_eq!(events[0], marker, "what the buffer held stays first");
    assert_eq!(events[1..], expected[..]);
    assert_eq!(buffered.revision(), polled.revision());
    assert_eq!(durable(&store).poll_watch_into(&mut buffered, &mut events).expect("poll again"), 0);
    store.compact(start + 1).expect("compact");
    assert!(matches!(durable(&store).poll_watch_into(&mut lagging, &mut events), Err(StoreError::Expired { .. })));
    assert_eq!(events.len(), 3, "a failed poll appends nothing");
}

/// A watch from before the compacted revision is Expired with Kubernetes' message, and so is a
/// cursor that fell behind compaction; a watch from a future revision is too large.
pub fn watch_older_than_compaction_is_expired<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    let start = store.current_revision();
    let mut lagging = watch_after(&store, PODS, None, start);
    for name in ["a", "b", "c"] {
        store.create(PODS, pod("default", name)).expect("create");
    }
    store.compact(start + 2).expect("compact");
    let request = WatchRequest { resource: PODS, namespace: None, start: WatchStart::After(start + 1) };
    let error = store.watch(&request).unwrap_err();
    assert_eq!(error, StoreError::Expired { requested: start + 1, compacted: start + 2 });
    assert_eq!(error.to_string(), format!("too old resource version: {} ({})", start + 1, start + 2));
    assert!(matches!(durable(&store).poll_watch(&mut lagging), Err(StoreError::Expired { .. })));
    let mut at_edge = watch_after(&store, PODS, None, start + 2);
    assert_eq!(
        changes(&durable(&store).poll_watch(&mut at_edge).expect("poll")).len(),
        1,
        "the compacted revision itself is watchable"
    );
    let future = WatchRequest { resource: PODS, namespace: None, start: WatchStart::After(start + 10) };
    assert!(matches!(store.watch(&future), Err(StoreError::TooLargeResourceVersion { .. })));
}

/// A watch with initial events sends ADDED for every current object at the start revision, the
/// end bookmark if asked, then live changes.
pub fn watch_with_initial_events_sends_the_snapshot_first<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    store.create(PODS, pod("default", "b")).expect("create");
    store.create(PODS, pod("default", "a")).expect("create");
    store.create(PODS, pod("other", "c")).expect("create");
    let start = store.current_revision();
    for end_bookmark in [false, true] {
        let request = WatchRequest {
            resource: PODS,
            namespace: Some("default".into()),
            start: WatchStart::InitialEvents { end_bookmark },
        };
        let mut cursor = store.watch(&request).expect("watch");
        assert_eq!(cursor.bookmark(), None, "no bookmark before the initial events are out");
        let events = durable(&store).poll_watch(&mut cursor).expect("poll");
        assert_eq!(
            changes(&events),
            [(ChangeType::Added, "a".to_string(), start), (ChangeType::Added, "b".to_string(), start)]
        );
        let end = WatchEvent::Bookmark { revision: start, initial_events_end: true };
        assert_eq!(events.last() == Some(&end), end_bookmark, "end bookmark only when asked");
    }
    let request =
        WatchRequest { resource: PODS, namespace: None, start: WatchStart::InitialEvents { end_bookmark: false } };
    let mut cursor = store.watch(&request).expect("watch");
    store.create(PODS, pod("default", "d")).expect("create");
    let events = durable(&store).poll_watch(&mut cursor).expect("poll");
    let names: Vec<String> = changes(&events).into_iter().map(|(_, name, _)| name).collect();
    assert_eq!(names, ["a", "b", "c", "d"], "initial events, then the live change");
}

/// A bookmark carries the revision up to which the cursor has seen everything.
pub fn bookmarks_carry_the_revision_seen<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    let mut cursor = watch_after(&store, PODS, None, store.current_revision());
    store.create(CONFIGMAPS, object("ConfigMap", "default", "a", "web")).expect("create");
    assert!(durable(&store).poll_watch(&mut cursor).expect("poll").is_empty());
    assert_eq!(
        cursor.bookmark(),
        Some(WatchEvent::Bookmark { revision: store.current_revision(), initial_events_end: false })
    );
}

/// A DELETED event carries the object's last state with the deletion revision as
/// resourceVersion, and the state before as `previous`.
pub fn deleted_event_carries_last_state_at_deletion_revision<S: Store>(make: &impl Fn() -> S) {
    let mut store = make();
    let created = store.create(PODS, pod("default", "a")).expect("create");
    let mut cursor = watch_after(&store, PODS, None, store.current_revision());
    let deleted = store.delete(&ObjectKey::new(PODS, "default", "a"), &Preconditions::default()).expect("delete");
    assert_eq!(revision_of(&deleted), store.current_revision());
    let events = durable(&store).poll_watch(&mut cursor).expect("poll");
    let [WatchEvent::Change(change)] = events.as_slice() else { panic!("one DELETED event expected, got {events:?}") };
    assert_eq!(change.change_type, ChangeType::Deleted);
    assert_eq!(change.object, deleted);
    assert_eq!(change.object.fields, created.fields);
    assert_eq!(change.previous.as_ref(), Some(&created));
}

/// For stores that outlive their process: everything written is there after the store is closed
/// and opened again, at the same revision, with the history after it so that a watch resumes
/// from a revision written before the restart, and the next write takes a newer revision. `open`
/// opens the same storage (directory, etcd prefix) on every call; the store is dropped between.
pub fn a_reopened_store_resumes_where_it_was<S: Store>(open: impl Fn() -> S) {
    let (revision, pods, before_writes) = {
        let mut store = open();
        let before_writes = store.current_revision();
        let a = store.create(PODS, pod("default", "a")).expect("create");
        store.create(PODS, pod("default", "b")).expect("create");
        store.update(PODS, Object::clone(&a)).expect("update");
        store.delete(&ObjectKey::new(PODS, "default", "b"), &Preconditions::default()).expect("delete");
        let pods = names(&store.list(PODS, &ListOptions::all()).expect("list").items);
        let revision = durable(&store).current_revision();
        (revision, pods, before_writes)
    };
    let mut store = open();
    assert_eq!(store.current_revision(), revision, "a reopened store resumes at its revision");
    assert_eq!(names(&store.list(PODS, &ListOptions::all()).expect("list").items), pods, "and has its objects");
    let mut cursor = watch_after(&store, PODS, None, before_writes);
    let seen: Vec<(ChangeType, String)> = changes(&durable(&store).poll_watch(&mut cursor).expect("poll"))
        .into_iter()
        .map(|(change_type, name, _)| (change_type, name))
        .collect();
    let expected =
        [(ChangeType::Added, "a"), (ChangeType::Added, "b"), (ChangeType::Modified, "a"), (ChangeType::Deleted, "b")]
            .map(|(change_type, name)| (change_type, name.to_string()));
    assert_eq!(seen, expected, "a watch resumes from a revision written before the reopen");
    let next = store.create(PODS, pod("default", "c")).expect("a write after the reopen");
    assert!(revision_of(&next) > revision, "the next write takes a newer revision than {revision}");
}

#[cfg(test)]
mod tests {
    use super::super::MemoryStore;

    #[test]
    fn the_memory_store_passes_the_conformance_suite() {
        super::run_all(MemoryStore::new);
    }

    #[test]
    fn the_memory_store_passes_the_conformance_suite_with_a_tiny_window() {
        super::run_all(|| MemoryStore::with_window(64));
    }
}
