//! [`MemoryStore`]: the in-memory [`Store`] backend used by the simulator and tests.
//!
//! Objects live in one ordered map per collection (namespace, then name), so a namespace is a
//! range and a list comes out in key order. History is one shared log of `Arc<Change>`, one entry
//! per revision, that every watch cursor indexes by revision: a write costs one log entry no
//! matter how many watchers there are, and a poll costs the changes it returns.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::limits::WATCH_WINDOW_REVISIONS;
use crate::object::Object;
use crate::object::kinds::GroupResource;

use super::backend::Store;
use super::error::StoreError;
use super::label_index::LabelIndex;
use super::types::{
    Change, ChangeType, ListOptions, ListResult, ObjectKey, Preconditions, Revision, Write, parse_revision,
};

/// Objects of one collection: namespace → name → object.
pub(super) type Collection = BTreeMap<String, BTreeMap<String, Arc<Object>>>;

/// An in-memory store with a bounded history window.
#[derive(Debug)]
pub struct MemoryStore {
    pub(super) revision: Revision,
    pub(super) compacted: Revision,
    window_revisions: u64,
    pub(super) collections: BTreeMap<GroupResource, Collection>,
    /// The label index of each collection whose objects carry labels.
    pub(super) label_indexes: BTreeMap<GroupResource, LabelIndex>,
    /// `history[i]` is the change at revision `compacted + 1 + i`.
    pub(super) history: VecDeque<Arc<Change>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// An empty store keeping [`WATCH_WINDOW_REVISIONS`] of history.
    pub fn new() -> MemoryStore {
        MemoryStore::with_window(WATCH_WINDOW_REVISIONS)
    }

    /// An empty store keeping `window_revisions` of history (at least 1); tests use small windows
    /// to reach compaction quickly.
    pub fn with_window(window_revisions: u64) -> MemoryStore {
        MemoryStore {
            revision: 0,
            compacted: 0,
            window_revisions: window_revisions.max(1),
            collections: BTreeMap::new(),
            label_indexes: BTreeMap::new(),
            history: VecDeque::new(),
        }
    }

    /// How many objects the store holds, over every collection.
    pub fn object_count(&self) -> usize {
        self.collections.values().flat_map(BTreeMap::values).map(BTreeMap::len).sum()
    }

    fn stored(&self, key: &ObjectKey) -> Option<&Arc<Object>> {
        self.collections.get(&key.resource)?.get(&key.namespace)?.get(&key.name)
    }

    /// Takes the next revision, stamps it on the object, stores it and records the change.
    fn commit(&mut self, change_type: ChangeType, key: ObjectKey, mut object: Object) -> Arc<Object> {
        self.revision += 1;
        object.metadata.resource_version = Some(self.revision.to_string());
        let object = Arc::new(object);
        let names = self.collections.entry(key.resource).or_default().entry(key.namespace.clone()).or_default();
        let previous = if change_type == ChangeType::Deleted {
            names.remove(&key.name)
        } else {
            names.insert(key.name.clone(), Arc::clone(&object))
        };
        if change_type == ChangeType::Deleted && names.is_empty() {
            self.collections.get_mut(&key.resource).map(|namespaces| namespaces.remove(&key.namespace));
        }
        let old_labels = previous.as_ref().and_then(|previous| previous.metadata.labels.as_ref());
        let new_labels = if change_type == ChangeType::Deleted { None } else { object.metadata.labels.as_ref() };
        if old_labels.is_some() || new_labels.is_some() {
            let index = self.label_indexes.entry(key.resource).or_default();
            index.relabel(&key.namespace, &key.name, old_labels, new_labels);
        }
        let revision = self.revision;
        self.history.push_back(Arc::new(Change { change_type, revision, key, object: Arc::clone(&object), previous }));
        while self.history.len() as u64 > self.window_revisions {
            self.history.pop_front();
            self.compacted += 1;
        }
        object
    }
}

impl MemoryStore {
    /// Whether a write of a transaction would succeed on the current state, changing nothing.
    fn check_write(&self, write: &Write) -> Result<(), StoreError> {
        write.check(self.stored(&write.key()).map(|stored| &**stored))
    }
}

fn not_found(key: &ObjectKey) -> StoreError {
    key.not_found()
}

impl Store for MemoryStore {
    fn current_revision(&self) -> Revision {
        self.revision
    }

    fn compacted_revision(&self) -> Revision {
        self.compacted
    }

    fn create(&mut self, resource: GroupResource, object: Object) -> Result<Arc<Object>, StoreError> {
        if !object.resource_version().is_empty() {
            return Err(StoreError::ResourceVersionSetOnCreate);
        }
        if object.name().is_empty() {
            return Err(StoreError::NameRequired { resource });
        }
        let key = ObjectKey::of(resource, &object);
        if self.stored(&key).is_some() {
            return Err(StoreError::AlreadyExists { resource, namespace: key.namespace, name: key.name });
        }
        Ok(self.commit(ChangeType::Added, key, object))
    }

    fn get(&self, key: &ObjectKey) -> Result<Arc<Object>, StoreError> {
        self.stored(key).cloned().ok_or_else(|| not_found(key))
    }

    fn update(&mut self, resource: GroupResource, object: Object) -> Result<Arc<Object>, StoreError> {
        let key = ObjectKey::of(resource, &object);
        let stored = self.stored(&key).ok_or_else(|| not_found(&key))?;
        let expected = object.resource_version();
        if !expected.is_empty() {
            parse_revision(expected)?;
            if expected != stored.resource_version() {
                return Err(StoreError::Conflict {
                    resource,
                    actual: stored.resource_version().to_string(),
                    namespace: key.namespace,
                    name: key.name,
                });
            }
        }
        Ok(self.commit(ChangeType::Modified, key, object))
    }

    fn delete(&mut self, key: &ObjectKey, preconditions: &Preconditions) -> Result<Arc<Object>, StoreError> {
        let stored = self.stored(key).ok_or_else(|| not_found(key))?;
        preconditions.check(key, stored)?;
        let last_state = Object::clone(stored);
        Ok(self.commit(ChangeType::Deleted, key.clone(), last_state))
    }

    fn transaction(&mut self, writes: Vec<Write>) -> Result<Vec<Arc<Object>>, StoreError> {
        Write::check_distinct_keys(&writes)?;
        for write in &writes {
            self.check_write(write)?;
        }
        let committed = writes
            .into_iter()
            .map(|write| match write {
                Write::Create { resource, object } => {
                    self.commit(ChangeType::Added, ObjectKey::of(resource, &object), object)
                }
                Write::Update { resource, object } => {
                    self.commit(ChangeType::Modified, ObjectKey::of(resource, &object), object)
                }
                Write::Delete { key, .. } => {
                    let last_state = self.stored(&key).map(|stored| Object::clone(stored));
                    debug_assert!(last_state.is_some(), "checked before committing");
                    self.commit(ChangeType::Deleted, key, last_state.unwrap_or_default())
                }
            })
            .collect();
        Ok(committed)
    }

    fn list(&self, resource: GroupResource, options: &ListOptions<'_>) -> Result<ListResult, StoreError> {
        self.list_page(resource, options)
    }

    fn visit_changes_after(
        &self,
        after: Revision,
        max: usize,
        visit: &mut dyn FnMut(&Arc<Change>),
    ) -> Result<Revision, StoreError> {
        if after < self.compacted {
            return Err(StoreError::Expired { requested: after, compacted: self.compacted });
        }
        let first = (after - self.compacted) as usize;
        let mut last = after;
        for change in self.history.range(first.min(self.history.len())..).take(max) {
            visit(change);
            last = change.revision;
        }
        Ok(last)
    }

    fn compact(&mut self, revision: Revision) -> Result<(), StoreError> {
        if revision > self.revision {
            return Err(StoreError::TooLargeResourceVersion { requested: revision, current: self.revision });
        }
        while self.compacted < revision {
            self.history.pop_front();
            self.compacted += 1;
        }
        Ok(())
    }
}
