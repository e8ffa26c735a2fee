//! Watch streams: the state of one open watch, and the encoding of store events into the
//! `{"type": …, "object": …}` frames Kubernetes sends, with selector transitions (an object that
//! starts matching is ADDED, one that stops matching is DELETED) and bookmarks.

use std::borrow::Cow;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::conversion::{from_storage, from_storage_borrowed};
use super::negotiation::{Representation, partial_object_metadata};
use super::status::ApiError;
use crate::object::Object;
use crate::object::kinds::ResourceType;
use crate::selector::field::{FieldSelector, field_value};
use crate::selector::label::LabelSelector;
use crate::store::{Change, ChangeType, Store, WatchCursor, WatchEvent};

/// Label and field selectors of a list or watch.
#[derive(Clone, Debug)]
pub struct Selectors {
    /// The label selector (everything when unset).
    pub labels: LabelSelector,
    /// The field selector (everything when unset).
    pub fields: FieldSelector,
}

impl Selectors {
    /// Whether an object matches both selectors.
    pub fn matches(&self, object: &Object) -> bool {
        (self.labels.is_empty() || self.labels.matches_optional(object.metadata.labels.as_ref()))
            && (self.fields.is_empty() || self.fields.matches(&|field| field_value(object, field)))
    }
}

/// One open watch.
#[derive(Debug)]
pub struct WatchStream {
    /// Where in the store's history the watch is.
    pub cursor: WatchCursor,
    /// The kind and version the client watches.
    pub resource: &'static ResourceType,
    /// Which objects the client wants.
    pub selectors: Selectors,
    /// Whether BOOKMARK events may be sent (`allowWatchBookmarks=true`).
    pub bookmarks: bool,
    /// How each event's object is encoded: the object, a one-row Table (`kubectl get -w`) or
    /// its metadata.
    pub representation: Representation,
    /// When the watch opened: Table rows measure ages to it when polled without a time.
    pub opened_at: Timestamp,
    /// Whether a Table event has carried the column definitions yet: Kubernetes sends them
    /// with the first Table event of a watch only.
    pub columns_sent: bool,
    /// When the server ends the watch (`timeoutSeconds`), if ever.
    pub deadline: Option<Timestamp>,
    /// Whether the stream has ended (an ERROR was sent); the shell closes the connection.
    pub finished: bool,
}

impl WatchStream {
    /// The frames due now: every change after the cursor that passes the selectors, or one ERROR
    /// frame (410 Gone) when the cursor fell out of the store's window.
    pub fn poll<S: Store>(&mut self, store: &S) -> Vec<Value> {
        let now = self.opened_at;
        self.poll_at(store, now)
    }

    /// [`WatchStream::poll`], with Table rows' ages measured to `now`.
    pub fn poll_at<S: Store>(&mut self, store: &S, now: Timestamp) -> Vec<Value> {
        if self.finished {
            return Vec::new();
        }
        let events = match store.poll_watch(&mut self.cursor) {
            Ok(events) => events,
            Err(error) => {
                self.finished = true;
                let status = ApiError::from(error).to_status();
                return vec![json!({"type": "ERROR", "object": status})];
            }
        };
        events.into_iter().filter_map(|event| self.frame(event, now)).collect()
    }

    /// The frame for one change, for a shell that dispatches each change once to the watches its
    /// index says the change may concern, instead of polling every watch after every write (so a
    /// write costs the same with ten watchers or ten thousand). The cursor moves past the change
    /// whether or not it matches. Use it only on a stream whose initial events [`Self::poll`] has
    /// drained, with changes in revision order; an older change is ignored.
    ///
    /// `shared` holds the frames already encoded for this change: every watch that receives the
    /// same frame (same version, representation, event type and object) shares one encoding, as
    /// kube-apiserver's watch cache serializes an event once for all its watchers. Give each
    /// change a fresh [`SharedFrames`].
    pub fn deliver(&mut self, change: &Arc<Change>, now: Timestamp, shared: &mut SharedFrames) -> Option<Arc<Value>> {
        if self.finished || change.revision <= self.cursor.revision() {
            return None;
        }
        self.cursor.advance_to(change.revision);
        if !self.cursor.watches(change) {
            return None;
        }
        let (event_type, source) = self.selected(change)?;
        if matches!(self.representation, Representation::Table { .. }) {
            // A Table row depends on the watch (its columns go with its first event only).
            return Some(Arc::new(self.encode(change, event_type, source, now)));
        }
        let key = FrameKey { resource: self.resource, representation: self.representation, event_type, source };
        if let Some((_, frame)) = shared.frames.iter().find(|(cached, _)| *cached == key) {
            return Some(Arc::clone(frame));
        }
        let frame = Arc::new(self.encode(change, event_type, source, now));
        shared.frames.push((key, Arc::clone(&frame)));
        Some(frame)
    }

    /// A BOOKMARK frame at the cursor's revision, if the client allows bookmarks.
    pub fn bookmark(&self) -> Option<Value> {
        if !self.bookmarks || self.finished {
            return None;
        }
        Some(bookmark_frame(self.resource, self.cursor.revision(), false))
    }

    /// Whether `now` is past the watch's `timeoutSeconds`.
    pub fn timed_out(&self, now: Timestamp) -> bool {
        self.deadline.is_some_and(|deadline| now >= deadline)
    }

    fn frame(&mut self, event: WatchEvent, now: Timestamp) -> Option<Value> {
        let change = match event {
            WatchEvent::Bookmark { revision, initial_events_end } => {
                return (self.bookmarks || initial_events_end)
                    .then(|| bookmark_frame(self.resource, revision, initial_events_end));
            }
            WatchEvent::Change(change) => change,
        };
        let (event_type, source) = self.selected(&change)?;
        Some(self.encode(&change, event_type, source, now))
    }

    /// Whether this watch sees `change`, and as what: its event type and which object the frame
    /// carries. An object leaving the selection is DELETED as it was when it last matched.
    fn selected(&self, change: &Change) -> Option<(&'static str, FrameSource)> {
        let matches_now = self.selectors.matches(&change.object);
        let matched_before = change.previous.as_ref().is_some_and(|previous| self.selectors.matches(previous));
        let source = match (change.change_type, &change.previous) {
            (ChangeType::Added | ChangeType::Modified, _) if matches_now => FrameSource::Current,
            (ChangeType::Modified, Some(_)) if matched_before => FrameSource::PreviousAtRevision,
            (ChangeType::Deleted, _) if matches_now || matched_before => FrameSource::Current,
            _ => return None,
        };
        let event_type = match change.change_type {
            ChangeType::Added => "ADDED",
            ChangeType::Modified if matches_now && matched_before => "MODIFIED",
            ChangeType::Modified if matches_now => "ADDED",
            ChangeType::Modified | ChangeType::Deleted => "DELETED",
        };
        Some((event_type, source))
    }

    /// The `{"type": …, "object": …}` frame of `change` in this watch's version and representation.
    fn encode(&mut self, change: &Change, event_type: &'static str, source: FrameSource, now: Timestamp) -> Value {
        // The stored object is borrowed, not copied, when no conversion is needed: a frame is
        // encoded for nearly every write.
        let object = match (source, &change.previous) {
            (FrameSource::PreviousAtRevision, Some(previous)) => {
                // Kubernetes' cacher sends it at the event's resourceVersion.
                let mut object = from_storage(self.resource, previous);
                object.metadata.resource_version = Some(change.revision.to_string());
                Cow::Owned(object)
            }
            _ => from_storage_borrowed(self.resource, &change.object),
        };
        let body = match self.representation {
            Representation::Object => object.to_value(),
            Representation::PartialObjectMetadata => partial_object_metadata(&object),
            Representation::Table { include } => {
                let mut table = super::table::table_including(
                    self.resource.kind,
                    &[object.as_ref()],
                    object.resource_version(),
                    None,
                    include,
                    now,
                );
                if self.columns_sent {
                    table["columnDefinitions"] = Value::Null;
                }
                self.columns_sent = true;
                table
            }
        };
        // Moved in, not through `json!`, which would serialize the object into a copy.
        let mut frame = serde_json::Map::with_capacity(2);
        frame.insert("type".into(), Value::String(event_type.into()));
        frame.insert("object".into(), body);
        Value::Object(frame)
    }
}

/// Which object a frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrameSource {
    /// The object as the change left it.
    Current,
    /// The object before the change, stamped with the change's revision (it left the selection).
    PreviousAtRevision,
}

/// What makes two watches' frames of one change identical.
#[derive(Clone, Copy, Debug, PartialEq)]
struct FrameKey {
    resource: &'static ResourceType,
    representation: Representation,
    event_type: &'static str,
    source: FrameSource,
}

/// The frames encoded so far for one change, shared by the watches that receive them (see
/// [`WatchStream::deliver`]). A handful of entries at most: one per version, representation and
/// event type that the change's watchers ask for.
#[derive(Debug, Default)]
pub struct SharedFrames {
    frames: Vec<(FrameKey, Arc<Value>)>,
}

impl SharedFrames {
    /// How many distinct frames were encoded.
    pub fn encoded(&self) -> usize {
        self.frames.len()
    }
}

fn bookmark_frame(resource: &ResourceType, revision: u64, initial_events_end: bool) -> Value {
    let mut metadata = json!({"resourceVersion": revision.to_string()});
    if initial_events_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"type": "BOOKMARK", "object": {"kind": resource.kind, "apiVersion": resource.api_version, "metadata": metadata}})
}
