//! Lists for [`MemoryStore`]: pages at the newest revision or at any revision still in the
//! history window.
//!
//! A past revision is read without a second copy of the data: the changes after it tell, for each
//! key they touch, what the key held at that revision (the `previous` object of the first change
//! after it). Those keys form a small ordered overlay that is merged with the live map in key
//! order, so a page at an old revision costs the page plus the changes since that revision.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use crate::object::Object;
use crate::object::kinds::GroupResource;

use super::error::StoreError;
use super::memory::{Collection, MemoryStore};
use super::paging::{encode_continue, plan_page};
use super::types::{ListOptions, ListResult, Revision};

/// What the keys touched since a revision held at that revision (none: the key did not exist).
type Overlay = BTreeMap<(String, String), Option<Arc<Object>>>;

/// One candidate of a list page, in key order.
type Entry<'a> = (&'a str, &'a str, Option<&'a Arc<Object>>);

impl MemoryStore {
    /// One page of a collection; see [`super::Store::list`].
    pub(super) fn list_page(
        &self,
        resource: GroupResource,
        options: &ListOptions<'_>,
    ) -> Result<ListResult, StoreError> {
        let plan = plan_page(options, self.revision, self.compacted)?;
        let overlay = self.overlay(resource, options.namespace, plan.revision);
        let empty = Collection::new();
        let collection = self.collections.get(&resource).unwrap_or(&empty);
        let after = plan.after.as_ref().map(|key| (key.namespace.as_str(), key.name.as_str()));
        let limit = if options.limit == 0 { usize::MAX } else { options.limit };
        let page = Page::new(options, plan.revision, limit);
        if !overlay.is_empty() {
            let live = live_entries(collection, options.namespace, after);
            return Ok(page.fill(merge(live, overlay_entries(&overlay, after)), 0));
        }
        // The newest revision: no past state to merge in.
        let candidates = live_count(collection, options.namespace);
        if let Some(keys) = self.indexed_candidates(resource, options, after, candidates) {
            let count = keys.len();
            let entries = keys.into_iter().filter_map(|(namespace, name)| {
                let object = collection.get(namespace)?.get(name)?;
                Some((namespace, name, Some(object)))
            });
            return Ok(page.fill(entries, count));
        }
        Ok(page.fill(live_entries(collection, options.namespace, after), candidates))
    }

    /// The keys of the objects that can match the list's label selector, from the collection's
    /// label index, when the index narrows the list to a small part of its `candidates`.
    fn indexed_candidates(
        &self,
        resource: GroupResource,
        options: &ListOptions<'_>,
        after: Option<(&str, &str)>,
        candidates: usize,
    ) -> Option<Vec<(&str, &str)>> {
        let selector = options.label_selector?;
        let index = self.label_indexes.get(&resource)?;
        // Reading an object through the index costs a lookup; past a quarter of the candidates,
        // reading them all in order is as cheap.
        index.candidates(selector, options.namespace, after, candidates / INDEX_WORTH_DIVISOR)
    }

    /// The state at `revision` of every key of the collection (and namespace) written since.
    fn overlay(&self, resource: GroupResource, namespace: Option<&str>, revision: Revision) -> Overlay {
        let mut overlay = Overlay::new();
        if revision >= self.revision {
            return overlay;
        }
        let first = (revision - self.compacted) as usize;
        for change in self.history.range(first..) {
            let key = &change.key;
            if key.resource != resource || namespace.is_some_and(|namespace| namespace != key.namespace) {
                continue;
            }
            overlay.entry((key.namespace.clone(), key.name.clone())).or_insert_with(|| change.previous.clone());
        }
        overlay
    }
}

/// The index is read when it names at most one candidate in this many.
const INDEX_WORTH_DIVISOR: usize = 4;

/// A list page being filled, one candidate at a time in key order.
struct Page<'a, 'o> {
    options: &'o ListOptions<'o>,
    revision: Revision,
    limit: usize,
    items: Vec<Arc<Object>>,
    continue_token: Option<String>,
    last: Option<(&'a str, &'a str)>,
}

impl<'a, 'o> Page<'a, 'o> {
    fn new(options: &'o ListOptions<'o>, revision: Revision, limit: usize) -> Page<'a, 'o> {
        Page { options, revision, limit, items: Vec::new(), continue_token: None, last: None }
    }

    /// Fills the page from `entries` (at most `candidates` of them, a bound used to size it).
    fn fill(mut self, entries: impl Iterator<Item = Entry<'a>>, candidates: usize) -> ListResult {
        let unfiltered = self.options.predicate.is_none() && self.options.label_selector.is_none();
        if self.limit == usize::MAX {
            // One page: no page to cut and no token to make, so the only work per object is
            // selecting it.
            let objects = entries.filter_map(|(_, _, object)| object);
            if unfiltered {
                self.items.reserve(candidates);
                self.items.extend(objects.cloned());
            } else {
                self.items.extend(objects.filter(|object| selected(self.options, object)).cloned());
            }
        } else {
            if unfiltered {
                self.items.reserve(self.limit.min(candidates));
            }
            entries.take_while(|entry| self.offer(*entry)).for_each(drop);
        }
        ListResult { items: self.items, revision: self.revision, continue_token: self.continue_token }
    }

    /// Takes a candidate; returns false once the page is full (and has set its continue token).
    fn offer(&mut self, (namespace, name, object): Entry<'a>) -> bool {
        let Some(object) = object else { return true };
        if self.items.len() == self.limit {
            self.continue_token = self.last.map(|(namespace, name)| encode_continue(self.revision, namespace, name));
            return false;
        }
        if selected(self.options, object) {
            self.items.push(Arc::clone(object));
        }
        self.last = Some((namespace, name));
        true
    }
}

/// Whether an object passes the list's label selector and predicate.
fn selected(options: &ListOptions<'_>, object: &Object) -> bool {
    options.label_selector.is_none_or(|selector| selector.matches_optional(object.metadata.labels.as_ref()))
        && options.predicate.is_none_or(|predicate| predicate(object))
}

/// How many live objects a collection holds (in one namespace, or in all).
fn live_count(collection: &Collection, namespace: Option<&str>) -> usize {
    match namespace {
        Some(namespace) => collection.get(namespace).map_or(0, BTreeMap::len),
        None => collection.values().map(BTreeMap::len).sum(),
    }
}

/// The live objects of a collection in key order, after `after`.
fn live_entries<'a>(
    collection: &'a Collection,
    namespace: Option<&'a str>,
    after: Option<(&'a str, &'a str)>,
) -> impl Iterator<Item = Entry<'a>> + 'a {
    let lower = match (namespace, after) {
        (Some(namespace), _) => Bound::Included(namespace),
        (None, Some((namespace, _))) => Bound::Included(namespace),
        (None, None) => Bound::Unbounded,
    };
    let upper = namespace.map_or(Bound::Unbounded, Bound::Included);
    collection.range::<str, _>((lower, upper)).flat_map(move |(namespace, names)| {
        let lower = match after {
            Some((after_namespace, after_name)) if after_namespace == namespace => Bound::Excluded(after_name),
            _ => Bound::Unbounded,
        };
        names
            .range::<str, _>((lower, Bound::Unbounded))
            .map(move |(name, object)| (namespace.as_str(), name.as_str(), Some(object)))
    })
}

/// The overlay's keys in key order, after `after`.
fn overlay_entries<'a>(overlay: &'a Overlay, after: Option<(&str, &str)>) -> impl Iterator<Item = Entry<'a>> + 'a {
    let lower = match after {
        Some((namespace, name)) => Bound::Excluded((namespace.to_string(), name.to_string())),
        None => Bound::Unbounded,
    };
    overlay
        .range((lower, Bound::Unbounded))
        .map(|((namespace, name), object)| (namespace.as_str(), name.as_str(), object.as_ref()))
}

/// Merges live entries with overlay entries by key; where both have a key, the overlay's state
/// (the past) wins.
fn merge<'a>(
    live: impl Iterator<Item = Entry<'a>>,
    past: impl Iterator<Item = Entry<'a>>,
) -> impl Iterator<Item = Entry<'a>> {
    let mut live = live.peekable();
    let mut past = past.peekable();
    std::iter::from_fn(move || {
        let order = match (live.peek(), past.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(left), Some(right)) => (left.0, left.1).cmp(&(right.0, right.1)),
        };
        match order {
            Ordering::Less => live.next(),
            Ordering::Greater => past.next(),
            Ordering::Equal => {
                live.next();
                past.next()
            }
        }
    })
}
