//! [`MemoryStore::restore`]: a memory store rebuilt at a given revision from objects and history
//! kept elsewhere. The embedded durable backend in coxswain-real keeps its state on disk and
//! serves reads from this image, so that it answers exactly as the memory store does.

use std::sync::Arc;

use crate::object::Object;
use crate::object::kinds::GroupResource;

use super::error::StoreError;
use super::memory::MemoryStore;
use super::types::{Change, ObjectKey, Revision};

impl MemoryStore {
    /// A store at revision `compacted + history.len()` holding `objects`, with `history` the
    /// changes at revisions `compacted + 1 ..=` that revision, in order, and a window of
    /// `window_revisions` (history beyond it is compacted as a write would). `Internal` if the
    /// history has a gap or an object is newer than the revision: the caller's data is corrupt.
    pub fn restore(
        window_revisions: u64,
        compacted: Revision,
        objects: impl IntoIterator<Item = (GroupResource, Arc<Object>)>,
        history: Vec<Arc<Change>>,
    ) -> Result<MemoryStore, StoreError> {
        let corrupt = |message: String| StoreError::Internal { message };
        for (offset, change) in history.iter().enumerate() {
            let expected = compacted + 1 + offset as u64;
            if change.revision != expected {
                return Err(corrupt(format!("history has revision {} where {expected} belongs", change.revision)));
            }
        }
        let mut store = MemoryStore::with_window(window_revisions);
        store.compacted = compacted;
        store.revision = compacted + history.len() as u64;
        for (resource, object) in objects {
            let revision = object.resource_version().parse::<Revision>().unwrap_or(Revision::MAX);
            if revision > store.revision {
                return Err(corrupt(format!(
                    "object {}/{} has resourceVersion {:?}, past the store's revision {}",
                    object.namespace(),
                    object.name(),
                    object.resource_version(),
                    store.revision
                )));
            }
            let key = ObjectKey::of(resource, &object);
            if let Some(labels) = object.metadata.labels.as_ref() {
                store.label_indexes.entry(resource).or_default().relabel(&key.namespace, &key.name, None, Some(labels));
            }
            store.collections.entry(resource).or_default().entry(key.namespace).or_default().insert(key.name, object);
        }
        store.history = history.into();
        while store.history.len() as u64 > window_revisions.max(1) {
            store.history.pop_front();
            store.compacted += 1;
        }
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::object;
    use crate::store::{ChangeType, Store};

    const PODS: GroupResource = GroupResource { group: "", resource: "pods" };

    #[test]
    fn a_restored_store_answers_as_the_store_it_was_taken_from() {
        let mut original = MemoryStore::new();
        original.create(PODS, object("Pod", "default", "a", "web")).unwrap();
        original.create(PODS, object("Pod", "default", "b", "db")).unwrap();
        original.delete(&ObjectKey::new(PODS, "default", "a"), &Default::default()).unwrap();
        original.compact(1).unwrap();
        let mut history = Vec::new();
        original.visit_changes_after(1, usize::MAX, &mut |change| history.push(Arc::clone(change))).unwrap();
        let objects = [(PODS, original.get(&ObjectKey::new(PODS, "default", "b")).unwrap())];
        let restored = MemoryStore::restore(64, 1, objects, history).unwrap();
        assert_eq!(restored.current_revision(), 3);
        assert_eq!(restored.compacted_revision(), 1);
        let list = restored.list(PODS, &crate::store::ListOptions::all()).unwrap();
        assert_eq!(list.items, original.list(PODS, &crate::store::ListOptions::all()).unwrap().items);
        let selector = crate::selector::label::LabelSelector::parse("app=db").unwrap();
        let options = crate::store::ListOptions { label_selector: Some(&selector), ..crate::store::ListOptions::all() };
        assert_eq!(restored.list(PODS, &options).unwrap().items.len(), 1, "the label index is rebuilt");
        let mut types = Vec::new();
        restored.visit_changes_after(1, usize::MAX, &mut |change| types.push(change.change_type)).unwrap();
        assert_eq!(types, [ChangeType::Added, ChangeType::Deleted]);
    }

    #[test]
    fn a_gap_in_the_history_is_corrupt_data() {
        let mut original = MemoryStore::new();
        original.create(PODS, object("Pod", "default", "a", "web")).unwrap();
        let mut history = Vec::new();
        original.visit_changes_after(0, usize::MAX, &mut |change| history.push(Arc::clone(change))).unwrap();
        let restored = MemoryStore::restore(64, 5, Vec::new(), history);
        assert!(matches!(restored, Err(StoreError::Internal { .. })), "{restored:?}");
    }
}
