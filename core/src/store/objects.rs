//! Kubernetes' object semantics on top of any [`Store`]: what the API server's generic registry
//! does around a storage write. Create fills uid, creationTimestamp and generation and resolves
//! `generateName`; update keeps the server-owned fields and bumps generation when `spec`
//! changes; delete marks objects that have finalizers or a grace period and really deletes the
//! rest; an update that removes the last finalizer of a marked object deletes it.
//!
//! Time and randomness are parameters: `now`, and a seeded `ChaCha8Rng` for uids and names.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use rand_chacha::ChaCha8Rng;

use crate::limits::GENERATE_NAME_ATTEMPTS_MAX;
use crate::object::Object;
use crate::object::kinds::ResourceType;

use super::backend::Store;
use super::error::StoreError;
use super::names::{generate_name, new_uid};
use super::types::{ObjectKey, Preconditions};

/// What a write did to the object.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The object was created or updated and is stored as returned.
    Stored(Arc<Object>),
    /// The delete set `deletionTimestamp`; the object stays until its finalizers are removed (or
    /// its grace period is over and it is deleted again with grace 0).
    MarkedForDeletion(Arc<Object>),
    /// The object is gone; this is its last state, with the deletion revision.
    Deleted(Arc<Object>),
}

impl Outcome {
    /// The object the outcome carries.
    pub fn object(&self) -> &Arc<Object> {
        match self {
            Outcome::Stored(object) | Outcome::MarkedForDeletion(object) | Outcome::Deleted(object) => object,
        }
    }
}

/// Which part of an object an update may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateScope {
    /// The main resource: everything but `status` (kept from the stored object when the kind
    /// has a status subresource).
    Object,
    /// The `status` subresource: only `status` (the rest is kept from the stored object).
    Status,
}

/// How to delete (`DeleteOptions`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Conditions the stored object must meet.
    pub preconditions: Preconditions,
    /// Seconds before the object may be removed; the API layer fills the kind's default (a pod's
    /// `terminationGracePeriodSeconds`) and leaves it unset (0) for kinds without graceful
    /// deletion.
    pub grace_period_seconds: Option<i64>,
}

/// A timestamp as Kubernetes stores it: whole seconds.
fn to_time(timestamp: Timestamp) -> Time {
    Time(Timestamp::from_second(timestamp.as_second()).unwrap_or(timestamp))
}

fn has_status_subresource(resource_type: &ResourceType) -> bool {
    resource_type.subresources.contains(&"status")
}

/// Creates an object: fills the server-owned metadata, names it from `generateName` when it has
/// no name (retrying up to [`GENERATE_NAME_ATTEMPTS_MAX`] times on collision), and stores it.
pub fn create<S: Store>(
    store: &mut S,
    resource_type: &ResourceType,
    mut object: Object,
    now: Timestamp,
    random: &mut ChaCha8Rng,
) -> Result<Arc<Object>, StoreError> {
    let resource = resource_type.group_resource();
    let metadata = &mut object.metadata;
    metadata.uid = Some(new_uid(random));
    metadata.creation_timestamp = Some(to_time(now));
    metadata.generation = object.fields.contains_key("spec").then_some(1);
    metadata.deletion_timestamp = None;
    metadata.deletion_grace_period_seconds = None;
    metadata.resource_version = None;
    if !resource_type.is_namespaced() {
        metadata.namespace = None;
    }
    if has_status_subresource(resource_type) {
        object.fields.shift_remove("status");
    }
    if !object.name().is_empty() {
        return store.create(resource, object);
    }
    let prefix = object.metadata.generate_name.clone().unwrap_or_default();
    if prefix.is_empty() {
        return Err(StoreError::NameRequired { resource });
    }
    let mut outcome = Err(StoreError::NameRequired { resource });
    for _ in 0..GENERATE_NAME_ATTEMPTS_MAX {
        let mut attempt = object.clone();
        attempt.metadata.name = Some(generate_name(&prefix, random));
        outcome = store.create(resource, attempt);
        if !matches!(outcome, Err(StoreError::AlreadyExists { .. })) {
            break;
        }
    }
    outcome
}

/// Updates an object: keeps uid, creationTimestamp and the deletion fields of the stored one,
/// refuses a changed uid, bumps generation when `spec` changed, and compares the resourceVersion
/// the caller sent (none: replace whatever is stored). Removing the last finalizer of an object
/// marked for deletion with no grace period left deletes it.
pub fn update<S: Store>(
    store: &mut S,
    resource_type: &ResourceType,
    mut object: Object,
    scope: UpdateScope,
) -> Result<Outcome, StoreError> {
    let resource = resource_type.group_resource();
    if !resource_type.is_namespaced() {
        object.metadata.namespace = None;
    }
    let key = ObjectKey::of(resource, &object);
    let stored = store.get(&key)?;
    let sent_uid = object.metadata.uid.as_deref().unwrap_or("");
    if !sent_uid.is_empty() && sent_uid != stored.metadata.uid.as_deref().unwrap_or("") {
        return Err(StoreError::UidChanged {
            resource,
            actual: sent_uid.to_string(),
            namespace: key.namespace,
            name: key.name,
        });
    }
    let sent_version = object.resource_version().to_string();
    if !sent_version.is_empty() && sent_version != stored.resource_version() {
        return Err(StoreError::Conflict {
            resource,
            actual: stored.resource_version().to_string(),
            namespace: key.namespace,
            name: key.name,
        });
    }
    let mut next = merge_update(resource_type, &stored, object, scope);
    if should_delete_during_update(&next, &stored) {
        let preconditions = Preconditions {
            uid: stored.metadata.uid.clone(),
            resource_version: Some(stored.resource_version().to_string()),
        };
        return store.delete(&key, &preconditions).map(Outcome::Deleted);
    }
    next.metadata.resource_version = Some(stored.resource_version().to_string());
    store.update(resource, next).map(Outcome::Stored)
}

/// The object to store: the sent object with the server-owned fields of the stored one.
fn merge_update(resource_type: &ResourceType, stored: &Object, sent: Object, scope: UpdateScope) -> Object {
    let mut next = match scope {
        UpdateScope::Object => {
            let mut next = sent;
            if has_status_subresource(resource_type) {
                match stored.fields.get("status") {
                    Some(status) => next.fields.insert("status".to_string(), status.clone()),
                    None => next.fields.shift_remove("status"),
                };
            }
            next
        }
        UpdateScope::Status => {
            let mut next = stored.clone();
            match sent.fields.get("status") {
                Some(status) => next.fields.insert("status".to_string(), status.clone()),
                None => next.fields.shift_remove("status"),
            };
            next.metadata.annotations = sent.metadata.annotations;
            next
        }
    };
    let metadata = &mut next.metadata;
    metadata.uid = stored.metadata.uid.clone();
    metadata.creation_timestamp = stored.metadata.creation_timestamp.clone();
    metadata.deletion_timestamp = stored.metadata.deletion_timestamp.clone();
    metadata.deletion_grace_period_seconds = stored.metadata.deletion_grace_period_seconds;
    metadata.generation = stored.metadata.generation;
    if let Some(generation) = stored.metadata.generation
        && next.fields.get("spec") != stored.fields.get("spec")
    {
        next.metadata.generation = Some(generation + 1);
    }
    next
}

/// Kubernetes' `ShouldDeleteDuringUpdate`: the update leaves no finalizers on an object that
/// was asked to be deleted and has no grace period left.
fn should_delete_during_update(next: &Object, stored: &Object) -> bool {
    next.metadata.finalizers.as_ref().is_none_or(Vec::is_empty)
        && stored.metadata.deletion_timestamp.is_some()
        && stored.metadata.deletion_grace_period_seconds.unwrap_or(0) == 0
}

/// Deletes an object: one with finalizers or a grace period is only marked (deletionTimestamp =
/// now + grace, deletionGracePeriodSeconds = grace, generation bumped); one without is removed. A
/// repeated delete of a marked object may shorten its grace period, or remove it once it has no
/// finalizers and the grace period asked is 0.
pub fn delete<S: Store>(
    store: &mut S,
    key: &ObjectKey,
    options: &DeleteOptions,
    now: Timestamp,
) -> Result<Outcome, StoreError> {
    let stored = store.get(key)?;
    options.preconditions.check(key, &stored)?;
    let grace_seconds = options.grace_period_seconds.unwrap_or(0).max(0);
    let has_finalizers = stored.metadata.finalizers.as_ref().is_some_and(|finalizers| !finalizers.is_empty());
    if !has_finalizers && grace_seconds == 0 {
        let preconditions = Preconditions {
            uid: stored.metadata.uid.clone(),
            resource_version: Some(stored.resource_version().to_string()),
        };
        return store.delete(key, &preconditions).map(Outcome::Deleted);
    }
    if let Some(current_grace) = stored.metadata.deletion_grace_period_seconds
        && stored.metadata.deletion_timestamp.is_some()
        && grace_seconds >= current_grace
    {
        return Ok(Outcome::MarkedForDeletion(stored));
    }
    let mut marked = Object::clone(&stored);
    marked.metadata.deletion_timestamp = Some(to_time(now + SignedDuration::from_secs(grace_seconds)));
    marked.metadata.deletion_grace_period_seconds = Some(grace_seconds);
    if stored.metadata.deletion_timestamp.is_none()
        && let Some(generation) = marked.metadata.generation
    {
        marked.metadata.generation = Some(generation + 1);
    }
    store.update(key.resource, marked).map(Outcome::MarkedForDeletion)
}
