//! The contract every controller shares: a reconcile turns observed objects and `now` into a list
//! of API [`Action`]s and an optional requeue delay ([`Reconciled`]).
//!
//! The shell carries the actions out in order over the Kubernetes REST protocol. Actions are
//! grouped into batches (`Reconciled::batch_sizes`): the actions of one batch may be sent
//! concurrently; after a batch in which any action failed the shell skips every later batch and
//! requeues the key (Kubernetes' `slowStartBatch`), unless the reconcile marked its batches
//! independent (`Reconciled::independent_batches`). Because controllers are level-triggered, the
//! next reconcile recomputes whatever the skipped actions would have done.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Preconditions, Time};
use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use crate::object::Object;
use crate::object::kinds::GroupResource;

/// How a patch body is to be read, named by its Content-Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// `application/strategic-merge-patch+json`, as controllers patch ownerReferences.
    StrategicMerge,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/json-patch+json` (RFC 6902).
    Json,
}

impl PatchType {
    /// The Content-Type header value for this patch type.
    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::StrategicMerge => "application/strategic-merge-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::Json => "application/json-patch+json",
        }
    }
}

/// What the garbage collector does with dependents when an owner is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropagationPolicy {
    /// Delete the owner now; the garbage collector deletes dependents afterwards.
    Background,
    /// Delete dependents first, then the owner.
    Foreground,
    /// Leave dependents, removing their ownerReferences.
    Orphan,
}

/// An event to record once a `Create` sent with `generateName` has succeeded, because only the
/// response says which name the API server chose (`SuccessfulCreate` "Created pod: web-abcde").
#[derive(Clone, Debug, PartialEq)]
pub struct CreatedEvent {
    /// The object the event is about (the controller that created the pod).
    pub involved_object: ObjectReference,
    /// The component that reports it (`replicaset-controller`).
    pub component: &'static str,
    /// The event reason (`SuccessfulCreate`).
    pub reason: &'static str,
    /// The message before the created object's name (`Created pod: `).
    pub message_prefix: &'static str,
}

impl CreatedEvent {
    /// The Normal event for the object the API server created under `created_name`.
    pub fn event(&self, created_name: &str, now: Timestamp) -> Event {
        let message = format!("{}{created_name}", self.message_prefix);
        new_event(&self.involved_object, self.component, EventType::Normal, self.reason, &message, now)
    }
}

/// One request a controller wants made of the API server.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// POST a new object. Pods carry `generateName`, so the API server picks the name.
    Create {
        /// The object to create, with `metadata.namespace` set.
        object: Object,
        /// The event to record once the create succeeds, if any.
        on_created: Option<Box<CreatedEvent>>,
    },
    /// PUT the whole object; its `resourceVersion` makes it a compare-and-swap (409 on conflict).
    Update {
        /// The object as it should be stored.
        object: Object,
    },
    /// PUT the `status` subresource (and, for Deployments, annotations), with `resourceVersion`.
    UpdateStatus {
        /// The object carrying the new status.
        object: Object,
    },
    /// PATCH an object.
    Patch {
        /// The collection the object lives in.
        resource: GroupResource,
        /// The object's namespace.
        namespace: String,
        /// The object's name.
        name: String,
        /// How to read `body`.
        patch_type: PatchType,
        /// The patch document.
        body: Value,
    },
    /// DELETE an object.
    Delete {
        /// The collection the object lives in.
        resource: GroupResource,
        /// The object's namespace.
        namespace: String,
        /// The object's name.
        name: String,
        /// Delete only if the object still has this uid (and resourceVersion, when set).
        preconditions: Preconditions,
        /// What happens to the object's dependents; `None` is the resource's default.
        propagation_policy: Option<PropagationPolicy>,
    },
    /// DELETE every object of one resource in one namespace (`deletecollection`), as the
    /// namespace controller empties a namespace one resource type at a time. Never cluster-wide:
    /// an empty namespace has no request.
    DeleteCollection {
        /// The collection to empty.
        resource: GroupResource,
        /// The namespace whose objects go; never empty.
        namespace: String,
        /// What happens to the objects' dependents; `None` is the resource's default.
        propagation_policy: Option<PropagationPolicy>,
    },
    /// DELETE an object at once (`gracePeriodSeconds: 0`), as the pod garbage collector
    /// force-deletes pods no kubelet will finish terminating.
    ForceDelete {
        /// The collection the object lives in.
        resource: GroupResource,
        /// The object's namespace.
        namespace: String,
        /// The object's name.
        name: String,
        /// Delete only if the object still has this uid (and resourceVersion, when set).
        preconditions: Preconditions,
    },
    /// PUT a Namespace to its `finalize` subresource: the namespace controller's last step,
    /// which sets `spec.finalizers` (and removes a Terminating namespace left with none).
    Finalize {
        /// The Namespace with the finalizers it should keep.
        object: Object,
    },
    /// POST a core/v1 Event, as Kubernetes' event recorder does.
    Event {
        /// The event object.
        event: Box<Event>,
    },
}

impl Action {
    /// Whether this action creates an object (and so raised a creation expectation).
    pub fn is_create(&self) -> bool {
        matches!(self, Action::Create { .. })
    }
}

/// What one reconcile decided: the actions to take, in order, and when to look again.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reconciled {
    /// The API requests to make, in order.
    pub actions: Vec<Action>,
    /// Sizes of the consecutive batches `actions` is split into; the sizes sum to
    /// `actions.len()`. An empty list means every action is a batch of its own.
    pub batch_sizes: Vec<usize>,
    /// Reconcile this key again after this long even if nothing changes (`None`: wait for a
    /// change). Kubernetes' `AddAfter`.
    pub requeue_after: Option<Duration>,
    /// Whether every batch goes out whatever became of the earlier ones: a pass over many
    /// independent objects (the node monitor's nodes), where one object's failed write must not
    /// hold back another's. The key is still retried when any action failed.
    pub independent_batches: bool,
}

impl Reconciled {
    /// The actions split into the batches the shell may send concurrently.
    pub fn batches(&self) -> Vec<&[Action]> {
        if self.batch_sizes.is_empty() {
            return self.actions.chunks(1).collect();
        }
        let mut batches = Vec::with_capacity(self.batch_sizes.len());
        let mut start = 0;
        for size in &self.batch_sizes {
            let end = (start + size).min(self.actions.len());
            batches.push(&self.actions[start..end]);
            start = end;
        }
        if start < self.actions.len() {
            batches.extend(self.actions[start..].chunks(1));
        }
        batches
    }

    /// Appends one action as a batch of its own.
    pub(crate) fn push_alone(&mut self, action: Action) {
        self.close_batches();
        self.actions.push(action);
        self.batch_sizes.push(1);
    }

    /// Appends several actions as one batch.
    pub(crate) fn push_batch(&mut self, actions: Vec<Action>) {
        if actions.is_empty() {
            return;
        }
        self.close_batches();
        self.batch_sizes.push(actions.len());
        self.actions.extend(actions);
    }

    /// Keeps `batch_sizes` covering every action before new batches are added.
    fn close_batches(&mut self) {
        let covered: usize = self.batch_sizes.iter().sum();
        for _ in covered..self.actions.len() {
            self.batch_sizes.push(1);
        }
    }

    /// Keeps the shorter of two requeue delays.
    pub(crate) fn requeue_no_later_than(&mut self, delay: Duration) {
        self.requeue_after = Some(self.requeue_after.map_or(delay, |current| current.min(delay)));
    }
}

/// `Normal` or `Warning`, the two event types Kubernetes defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Something expected happened.
    Normal,
    /// Something went wrong or needs attention.
    Warning,
}

impl EventType {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// A reference to an object for an event's `involvedObject`.
pub fn object_reference(api_version: &str, kind: &str, metadata: &ObjectMeta) -> ObjectReference {
    ObjectReference {
        api_version: Some(api_version.to_string()),
        kind: Some(kind.to_string()),
        name: metadata.name.clone(),
        namespace: metadata.namespace.clone(),
        uid: metadata.uid.clone(),
        resource_version: metadata.resource_version.clone(),
        field_path: None,
    }
}

/// A core/v1 Event as client-go's recorder builds it: named `<object>.<nanoseconds in hex>`,
/// count 1, first and last timestamps `now`.
pub fn new_event(
    involved_object: &ObjectReference,
    component: &str,
    event_type: EventType,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> Event {
    let object_name = involved_object.name.clone().unwrap_or_default();
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{object_name}.{:x}", now.as_nanosecond())),
            namespace: Some(involved_object.namespace.clone().unwrap_or_else(|| "default".to_string())),
            ..ObjectMeta::default()
        },
        involved_object: involved_object.clone(),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        type_: Some(event_type.as_str().to_string()),
        source: Some(EventSource { component: Some(component.to_string()), host: None }),
        reporting_component: Some(component.to_string()),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        event_time: None::<MicroTime>,
        count: Some(1),
        ..Event::default()
    }
}

/// An `Event` action.
pub fn event_action(
    involved_object: &ObjectReference,
    component: &str,
    event_type: EventType,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> Action {
    Action::Event { event: Box::new(new_event(involved_object, component, event_type, reason, message, now)) }
}

/// Converts a typed object for an action; typed `k8s_openapi` objects always serialize.
pub(crate) fn to_object<T: serde::Serialize>(typed: &T) -> Object {
    Object::from_typed(typed).expect("a typed Kubernetes object always converts to an Object")
}
