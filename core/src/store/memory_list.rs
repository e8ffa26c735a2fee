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
        let live = live_entries(collection, options.namespace, after);
        let past = overlay_entries(&overlay, after);
        let limit = if options.limit == 0 { usize::MAX } else { options.limit };
        let mut items = Vec::new();
        let mut continue_from = None;
        let mut last_examined = None;
        for (namespace, name, object) in merge(live, past) {
            let Some(object) = object else { continue };
            if items.len() == limit {
                continue_from = last_examined.map(|(namespace, name)| encode_continue(plan.revision, namespace, name));
                break;
            }
            if options.predicate.is_none_or(|predicate| predicate(object)) {
                items.push(Arc::clone(object));
            }
            last_examined = Some((namespace, name));
        }
        Ok(ListResult { items, revision: plan.revision, continue_token: continue_from })
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
