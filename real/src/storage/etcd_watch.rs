//! The one etcd watch of an [`super::EtcdStore`]: follows every change under the prefix, with
//! the previous values, and feeds them to the [`History`]. It runs on the store's own tokio
//! runtime until the store is dropped, and re-watches from where it stopped after an error (from
//! etcd's compacted revision if it fell behind a compaction).

use std::sync::Arc;
use std::time::Duration;

use coxswain_core::object::Object;
use coxswain_core::store::{Change, ChangeType, Revision};
use etcd_client::{Client, Event, EventType, WatchOptions, WatchResponse};

use super::etcd_history::History;
use super::etcd_keys::{Keys, decode};

/// Pause before re-watching after the watch failed, so a down etcd is not hammered.
const REWATCH_DELAY: Duration = Duration::from_millis(200);

/// Follows the prefix from revision `from` on, forever.
pub(super) async fn follow(client: Client, keys: Keys, history: Arc<History>, from: Revision) {
    let mut from = from;
    loop {
        let options = WatchOptions::new().with_prefix().with_prev_key().with_start_revision(revision(from));
        let mut watch_client = client.watch_client();
        // When etcd is unreachable the watch is not made: writes waiting for their events time
        // out, and the watch is tried again.
        if let Ok(mut stream) = watch_client.watch(keys.root(), Some(options)).await {
            while let Ok(Some(response)) = stream.message().await {
                if !apply(&keys, &history, &response) {
                    break;
                }
            }
        }
        tokio::time::sleep(REWATCH_DELAY).await;
        from = history.lock().complete + 1;
    }
}

/// Feeds one watch response to the history; false when the watch has ended.
fn apply(keys: &Keys, history: &History, response: &WatchResponse) -> bool {
    if response.canceled() {
        if response.compact_revision() > 0 {
            // The history before etcd's compacted revision is gone: start over after it.
            history.compact(response.compact_revision() as Revision);
        }
        return false;
    }
    let events = response.events();
    // Progress notifications (no events) are not believed: see [`super::etcd_history`].
    if let Some(last) = events.last().and_then(Event::kv) {
        let changes = events.iter().filter_map(|event| change_of(keys, event)).map(Arc::new).collect();
        history.append(changes, last.mod_revision() as Revision);
    }
    true
}

/// The change one etcd event records, if it is of one of this store's keys.
fn change_of(keys: &Keys, event: &Event) -> Option<Change> {
    let kv = event.kv()?;
    let key = keys.parse(kv.key())?;
    let revision = kv.mod_revision() as Revision;
    let previous =
        event.prev_kv().and_then(|previous| decode(previous.value(), previous.mod_revision() as Revision).ok());
    let (change_type, object) = match event.event_type() {
        EventType::Put => {
            let change_type = if kv.version() == 1 { ChangeType::Added } else { ChangeType::Modified };
            (change_type, decode(kv.value(), revision).ok()?)
        }
        EventType::Delete => {
            // The last state at the deletion revision, as the DELETED event carries it.
            let mut last_state = previous.clone().unwrap_or_else(|| bare(&key.namespace, &key.name));
            last_state.metadata.resource_version = Some(revision.to_string());
            (ChangeType::Deleted, last_state)
        }
    };
    Some(Change { change_type, revision, key, object: Arc::new(object), previous: previous.map(Arc::new) })
}

/// An object that only names itself, for a delete whose previous value etcd no longer has.
fn bare(namespace: &str, name: &str) -> Object {
    let mut object = Object::default();
    object.metadata.name = Some(name.to_string());
    object.metadata.namespace = (!namespace.is_empty()).then(|| namespace.to_string());
    object
}

/// A revision as etcd's signed number.
pub(super) fn revision(revision: Revision) -> i64 {
    i64::try_from(revision).unwrap_or(i64::MAX)
}
