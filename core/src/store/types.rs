//! The values that cross the [`Store`](super::Store) interface: revisions, keys, changes, watch
//! events, list options and results, delete preconditions.

use std::sync::Arc;

use crate::object::Object;
use crate::object::kinds::GroupResource;
use crate::selector::label::LabelSelector;

use super::error::{PreconditionField, PreconditionMismatch, StoreError};

/// A store-wide revision. Every write (create, update, delete) takes the next one, so revision
/// `n` is the state after exactly `n` writes; revision 0 is the empty store. The decimal form is
/// an object's `metadata.resourceVersion` and a list's `metadata.resourceVersion`.
pub type Revision = u64;

/// Parses a `resourceVersion` as a revision; Kubernetes' resourceVersions from this store are
/// decimal revisions.
pub fn parse_revision(text: &str) -> Result<Revision, StoreError> {
    text.parse().map_err(|_| StoreError::InvalidResourceVersion { value: text.to_string() })
}

/// Where an object lives: its collection, namespace (empty for cluster-scoped kinds) and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// The collection.
    pub resource: GroupResource,
    /// The namespace, or the empty string for cluster-scoped objects.
    pub namespace: String,
    /// The object's name.
    pub name: String,
}

impl ObjectKey {
    /// The key of an object in a collection, read from its metadata.
    pub fn of(resource: GroupResource, object: &Object) -> ObjectKey {
        ObjectKey { resource, namespace: object.namespace().to_string(), name: object.name().to_string() }
    }

    /// A key from its parts.
    pub fn new(resource: GroupResource, namespace: &str, name: &str) -> ObjectKey {
        ObjectKey { resource, namespace: namespace.to_string(), name: name.to_string() }
    }

    /// The error for a key that holds nothing.
    pub fn not_found(&self) -> StoreError {
        StoreError::NotFound { resource: self.resource, namespace: self.namespace.clone(), name: self.name.clone() }
    }
}

/// What a write did to its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeType {
    /// The key did not exist and now does (`ADDED`).
    Added,
    /// The key existed and was replaced (`MODIFIED`).
    Modified,
    /// The key existed and is gone (`DELETED`).
    Deleted,
}

impl ChangeType {
    /// The watch event type as Kubernetes spells it on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One write, as the store's history keeps it. Shared by `Arc` between the history and every
/// watcher that receives it, so fan-out never copies an object.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// What the write did.
    pub change_type: ChangeType,
    /// The revision the write took.
    pub revision: Revision,
    /// The key written.
    pub key: ObjectKey,
    /// The object after the write; for a delete, its last state with `resourceVersion` set to
    /// the deletion revision, as Kubernetes sends in a `DELETED` event.
    pub object: Arc<Object>,
    /// The object before the write (none for `ADDED`); the API layer needs it to turn a label
    /// selector watch into ADDED/DELETED when an object enters or leaves the selection.
    pub previous: Option<Arc<Object>>,
}

/// What a watch delivers.
#[derive(Clone, Debug, PartialEq)]
pub enum WatchEvent {
    /// A write in the watched collection, or a synthetic `ADDED` for an object that existed when
    /// a watch with initial events started (then `revision` is the watch's start revision).
    Change(Arc<Change>),
    /// No object, only the revision the watcher has seen everything up to (`BOOKMARK`).
    Bookmark {
        /// Every change up to and including this revision has been delivered.
        revision: Revision,
        /// Whether this bookmark closes the initial events of a `sendInitialEvents` watch
        /// (Kubernetes marks it with the `k8s.io/initial-events-end: "true"` annotation).
        initial_events_end: bool,
    },
}

/// Which state of the store a list reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadRevision {
    /// The newest state (resourceVersion unset, or `"0"`: this store's newest state is as cheap as
    /// a cache).
    Latest,
    /// Any state at least this new (resourceVersionMatch=NotOlderThan, the default for a set
    /// resourceVersion): the newest, or `TooLargeResourceVersion` if the store is behind.
    NotOlderThan(Revision),
    /// Exactly this state (resourceVersionMatch=Exact): `ListExpired` once compacted away.
    Exact(Revision),
}

/// How to list a collection.
#[derive(Clone, Copy)]
pub struct ListOptions<'a> {
    /// Only this namespace, or every namespace.
    pub namespace: Option<&'a str>,
    /// Only objects whose labels this selector matches, or every object. Unlike `predicate`, a
    /// store can see into it: one that keeps a label index reads only the objects that carry a
    /// label the selector pins.
    pub label_selector: Option<&'a LabelSelector>,
    /// Only objects for which this holds too (field selectors, say), or every object.
    pub predicate: Option<&'a dyn Fn(&Object) -> bool>,
    /// Most items to return; 0 for no limit.
    pub limit: usize,
    /// The continue token from the previous page; the page is read at that page's revision.
    pub continue_token: Option<&'a str>,
    /// Which state to read; must be `Latest` with a continue token.
    pub revision: ReadRevision,
}

impl<'a> ListOptions<'a> {
    /// Every object of the collection at the newest revision.
    pub fn all() -> ListOptions<'a> {
        ListOptions {
            namespace: None,
            label_selector: None,
            predicate: None,
            limit: 0,
            continue_token: None,
            revision: ReadRevision::Latest,
        }
    }

    /// Every object of one namespace at the newest revision.
    pub fn in_namespace(namespace: &'a str) -> ListOptions<'a> {
        ListOptions { namespace: Some(namespace), ..ListOptions::all() }
    }
}

/// One page of a list.
#[derive(Clone, Debug, PartialEq)]
pub struct ListResult {
    /// The objects, in key order (namespace, then name).
    pub items: Vec<Arc<Object>>,
    /// The revision the page was read at: the list's `metadata.resourceVersion`. Every page of
    /// one paginated list has the same.
    pub revision: Revision,
    /// The token for the next page, if there may be more objects.
    pub continue_token: Option<String>,
}

/// Conditions a delete must meet (`DeleteOptions.preconditions`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// The object's uid must be this.
    pub uid: Option<String>,
    /// The object's resourceVersion must be this.
    pub resource_version: Option<String>,
}

impl Preconditions {
    /// Checks the preconditions against the stored object under `key`.
    pub fn check(&self, key: &ObjectKey, stored: &Object) -> Result<(), StoreError> {
        let uid = stored.metadata.uid.as_deref().unwrap_or("");
        check_field(key, PreconditionField::Uid, self.uid.as_deref(), uid)?;
        check_field(
            key,
            PreconditionField::ResourceVersion,
            self.resource_version.as_deref(),
            stored.resource_version(),
        )
    }
}

fn check_field(
    key: &ObjectKey,
    field: PreconditionField,
    expected: Option<&str>,
    actual: &str,
) -> Result<(), StoreError> {
    match expected {
        Some(expected) if expected != actual => Err(StoreError::PreconditionFailed {
            resource: key.resource,
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            mismatch: Box::new(PreconditionMismatch {
                field,
                expected: expected.to_string(),
                actual: actual.to_string(),
            }),
        }),
        _ => Ok(()),
    }
}

/// One write of a [`Store::transaction`](super::Store::transaction).
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// Stores a new object (as [`Store::create`](super::Store::create)).
    Create {
        /// The collection.
        resource: GroupResource,
        /// The object, without a resourceVersion.
        object: Object,
    },
    /// Replaces an object (as [`Store::update`](super::Store::update)): compare-and-swap on the
    /// resourceVersion it carries.
    Update {
        /// The collection.
        resource: GroupResource,
        /// The object, carrying the resourceVersion it replaces.
        object: Object,
    },
    /// Removes an object that meets the preconditions (as [`Store::delete`](super::Store::delete)).
    Delete {
        /// The key.
        key: ObjectKey,
        /// What the stored object must match.
        preconditions: Preconditions,
    },
}

impl Write {
    /// The key the write touches.
    pub fn key(&self) -> ObjectKey {
        match self {
            Write::Create { resource, object } | Write::Update { resource, object } => ObjectKey::of(*resource, object),
            Write::Delete { key, .. } => key.clone(),
        }
    }

    /// Refuses writes that touch one key twice, which a transaction may not (etcd refuses them).
    pub fn check_distinct_keys(writes: &[Write]) -> Result<(), StoreError> {
        let mut keys: Vec<ObjectKey> = writes.iter().map(Write::key).collect();
        keys.sort();
        keys.dedup();
        if keys.len() != writes.len() {
            return Err(StoreError::Internal { message: "a transaction wrote one key twice".into() });
        }
        Ok(())
    }

    /// Whether the write may be applied when its key holds `stored`: absence for a create, the
    /// resourceVersion (if the update names one) for an update, the preconditions for a delete.
    /// Every backend checks a transaction's writes with this, so they fail alike.
    pub fn check(&self, stored: Option<&Object>) -> Result<(), StoreError> {
        match self {
            Write::Create { resource, object } => {
                if !object.resource_version().is_empty() {
                    return Err(StoreError::ResourceVersionSetOnCreate);
                }
                if object.name().is_empty() {
                    return Err(StoreError::NameRequired { resource: *resource });
                }
                match stored {
                    Some(_) => {
                        let key = ObjectKey::of(*resource, object);
                        Err(StoreError::AlreadyExists { resource: *resource, namespace: key.namespace, name: key.name })
                    }
                    None => Ok(()),
                }
            }
            Write::Update { resource, object } => {
                let key = ObjectKey::of(*resource, object);
                let stored = stored.ok_or_else(|| key.not_found())?;
                let expected = object.resource_version();
                if !expected.is_empty() {
                    parse_revision(expected)?;
                    if expected != stored.resource_version() {
                        return Err(StoreError::Conflict {
                            resource: *resource,
                            actual: stored.resource_version().to_string(),
                            namespace: key.namespace,
                            name: key.name,
                        });
                    }
                }
                Ok(())
            }
            Write::Delete { key, preconditions } => preconditions.check(key, stored.ok_or_else(|| key.not_found())?),
        }
    }
}

/// Where a watch starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchStart {
    /// Every change after this revision (a watch with `resourceVersion=N`).
    After(Revision),
    /// A synthetic `ADDED` for every current object, then every change after the current
    /// revision (`resourceVersion=0` or unset, or `sendInitialEvents=true`); with `end_bookmark`
    /// a bookmark marked `initial_events_end` separates the two (`sendInitialEvents=true`).
    InitialEvents {
        /// Whether to send the initial-events-end bookmark.
        end_bookmark: bool,
    },
}

/// What a watch watches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchRequest {
    /// The collection.
    pub resource: GroupResource,
    /// Only this namespace, or every namespace.
    pub namespace: Option<String>,
    /// Where to start.
    pub start: WatchStart,
}
