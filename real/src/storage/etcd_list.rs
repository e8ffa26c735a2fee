//! Lists of [`EtcdStore`]: a range read of the collection's keys at the page's revision (the
//! newest, or a past one etcd still holds), in chunks when the list is paged, filtered by the
//! label selector and predicate here, as Kubernetes' etcd3 storage does.

use std::sync::Arc;

use coxswain_core::object::Object;
use coxswain_core::object::kinds::GroupResource;
use coxswain_core::store::paging::{encode_continue, plan_page};
use coxswain_core::store::{ListOptions, ListResult, ObjectKey, ReadRevision, Revision, StoreError};
use etcd_client::GetOptions;

use super::etcd::{EtcdStore, is_compacted};
use super::etcd_keys::{decode, prefix_end};
use super::etcd_watch::revision;

/// Most keys one read of a paged list fetches beyond the page's limit, so that a selective
/// filter does not cost one round trip per object.
const LIST_CHUNK_MIN: usize = 500;

impl EtcdStore {
    /// One page of a collection; see [`coxswain_core::store::Store::list`].
    pub(super) fn list_page(
        &self,
        resource: GroupResource,
        options: &ListOptions<'_>,
    ) -> Result<ListResult, StoreError> {
        let (newest, floor) = {
            let window = self.history().lock();
            (window.complete.max(window.seen), window.floor)
        };
        let plan = plan_page(options, newest, floor)?;
        let newest = options.continue_token.is_none()
            && matches!(options.revision, ReadRevision::Latest | ReadRevision::NotOlderThan(_));
        if !newest && plan.revision == 0 {
            // Nothing exists at revision 0, and etcd would read 0 as "the newest".
            return Ok(ListResult { items: Vec::new(), revision: 0, continue_token: None });
        }
        let collection = self.keys().collection(resource, options.namespace);
        let start = match &plan.after {
            Some(after) => {
                let mut key = self.keys().object(&ObjectKey::new(resource, &after.namespace, &after.name)).into_bytes();
                key.push(0);
                key
            }
            None => collection.clone().into_bytes(),
        };
        let read_at = if newest { 0 } else { plan.revision };
        match self.read_pages(&collection, start, read_at, options) {
            Err(error) if is_compacted(&error) => {
                // Another client compacted etcd past this revision: answer as the store would
                // have had it known.
                self.history().compact(read_at + 1);
                let window = self.history().lock();
                plan_page(options, window.complete.max(window.seen), window.floor)?;
                Err(StoreError::ListExpired { requested: read_at, compacted: window.floor })
            }
            result => result,
        }
    }

    /// Reads `[start, end of collection)` at `read_at` (0: the newest) until the page is full.
    fn read_pages(
        &self,
        collection: &str,
        mut start: Vec<u8>,
        mut read_at: Revision,
        options: &ListOptions<'_>,
    ) -> Result<ListResult, StoreError> {
        let end = prefix_end(collection);
        let limit = options.limit;
        let mut items: Vec<Arc<Object>> = Vec::new();
        let mut last: Option<ObjectKey> = None;
        loop {
            let mut get = GetOptions::new().with_range(end.clone()).with_revision(revision(read_at));
            if limit > 0 {
                get = get.with_limit(revision((limit - items.len()).max(LIST_CHUNK_MIN) as u64 + 1));
            }
            let response = self.call(self.kv().get(start.clone(), Some(get)))?;
            if read_at == 0 {
                read_at = response.header().map_or(0, |header| header.revision() as Revision);
                self.history().saw(read_at);
            }
            for kv in response.kvs() {
                if limit > 0 && items.len() == limit {
                    // One more key follows the full page: it has a next one.
                    let token = last.map(|key| encode_continue(read_at, &key.namespace, &key.name));
                    return Ok(ListResult { items, revision: read_at, continue_token: token });
                }
                let Some(key) = self.keys().parse(kv.key()) else { continue };
                let object = decode(kv.value(), kv.mod_revision() as Revision)?;
                if selected(options, &object) {
                    items.push(Arc::new(object));
                }
                last = Some(key);
            }
            match response.kvs().last() {
                Some(kv) if response.more() => {
                    start = kv.key().to_vec();
                    start.push(0);
                }
                _ => return Ok(ListResult { items, revision: read_at, continue_token: None }),
            }
        }
    }
}

/// Whether an object passes the list's label selector and predicate.
fn selected(options: &ListOptions<'_>, object: &Object) -> bool {
    options.label_selector.is_none_or(|selector| selector.matches_optional(object.metadata.labels.as_ref()))
        && options.predicate.is_none_or(|predicate| predicate(object))
}
