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
    /// The finalizers the object carries from this delete on (the API layer adds or removes
    /// `orphan` and `foregroundDeletion` by propagation policy), written in the same update that
    /// marks it; `None` keeps the stored ones.
    pub finalizers: Option<Vec<String>>,
}

/// A timestamp as Kubernetes stores it: whole seconds.
fn to_time(timestamp: Timestamp) -> Time {
    Time(Timestamp::from_second(timestamp.as_second()).unwrap_or(timestamp))
}

/// `now` plus `seconds` a client chose (a grace period, say), saturating at the ends of the
/// representable range instead of overflowing: `gracePeriodSeconds=9223372036854775807` marks an
/// object for deletion at the end of time rather than crashing the server.
pub fn saturating_after(now: Timestamp, seconds: i64) -> Timestamp {
    let bound = if seconds < 0 { Timestamp::MIN } else { Timestamp::MAX };
    now.checked_add(SignedDuration::from_secs(seconds)).unwrap_or(bound)
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
    // The initial status is the API layer's to set (Kubernetes' PrepareForCreate: a pod starts
    // Pending, a namespace Active, a Deployment empty); the store keeps what it is given.
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
            next.metadata.managed_fields = sent.metadata.managed_fields;
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
/// was asked to be deleted and has no grace period left. An object marked without a grace period
/// (a Terminating namespace) is not: it goes when its own finalization says so.
fn should_delete_during_update(next: &Object, stored: &Object) -> bool {
    next.metadata.finalizers.as_ref().is_none_or(Vec::is_empty)
        && stored.metadata.deletion_timestamp.is_some()
        && stored.metadata.deletion_grace_period_seconds == Some(0)
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
    match plan_delete(&stored, key, options, now)? {
        DeletePlan::Remove(preconditions) => store.delete(key, &preconditions).map(Outcome::Deleted),
        DeletePlan::Unchanged => Ok(Outcome::MarkedForDeletion(stored)),
        DeletePlan::Mark(marked) => store.update(key.resource, *marked).map(Outcome::MarkedForDeletion),
    }
}

/// What a delete writes, decided from the stored object without writing, so that a request can
/// commit it with its other writes in one [`Store::transaction`] (an eviction: the budget's
/// status and the pod).
#[derive(Clone, Debug, PartialEq)]
pub enum DeletePlan {
    /// Remove the object, if it still is the one read.
    Remove(Preconditions),
    /// Store this marked object (compare-and-swap on the version read).
    Mark(Box<Object>),
    /// Nothing to write: the object is already marked as this delete would mark it.
    Unchanged,
}

/// Plans a delete of `stored` (see [`delete`]).
pub fn plan_delete(
    stored: &Arc<Object>,
    key: &ObjectKey,
    options: &DeleteOptions,
    now: Timestamp,
) -> Result<DeletePlan, StoreError> {
    options.preconditions.check(key, stored)?;
    let grace_seconds = options.grace_period_seconds.unwrap_or(0).max(0);
    let stored_finalizers = stored.metadata.finalizers.clone().unwrap_or_default();
    let finalizers = options.finalizers.clone().unwrap_or_else(|| stored_finalizers.clone());
    if finalizers.is_empty() && grace_seconds == 0 {
        return Ok(DeletePlan::Remove(Preconditions {
            uid: stored.metadata.uid.clone(),
            resource_version: Some(stored.resource_version().to_string()),
        }));
    }
    let keeps_deadline = stored.metadata.deletion_timestamp.is_some()
        && stored.metadata.deletion_grace_period_seconds.is_some_and(|current| grace_seconds >= current);
    if keeps_deadline && finalizers == stored_finalizers {
        return Ok(DeletePlan::Unchanged);
    }
    let mut marked = Object::clone(stored);
    marked.metadata.finalizers =
        if finalizers.is_empty() && stored.metadata.finalizers.is_none() { None } else { Some(finalizers) };
    if !keeps_deadline {
        marked.metadata.deletion_timestamp = Some(to_time(saturating_after(now, grace_seconds)));
        marked.metadata.deletion_grace_period_seconds = Some(grace_seconds);
    }
    if stored.metadata.deletion_timestamp.is_none()
        && let Some(generation) = marked.metadata.generation
    {
        marked.metadata.generation = Some(generation + 1);
    }
    Ok(DeletePlan::Mark(Box::new(marked)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::kinds::by_api_version_kind;
    use crate::store::MemoryStore;
    use rand::SeedableRng;
    use serde_json::json;

    fn now() -> Timestamp {
        "2025-01-02T03:04:05.678Z".parse().unwrap()
    }

    fn deployment(name: &str, replicas: i64) -> Object {
        Object::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default", "resourceVersion": ""},
            "spec": {"replicas": replicas}, "status": {"replicas": 9},
        }))
        .unwrap()
    }

    fn deployments() -> &'static ResourceType {
        by_api_version_kind("apps/v1", "Deployment").unwrap()
    }

    fn created(store: &mut MemoryStore, object: Object) -> Arc<Object> {
        let mut object = object;
        object.metadata.resource_version = None;
        create(store, deployments(), object, now(), &mut ChaCha8Rng::seed_from_u64(1)).unwrap()
    }

    /// A store holding one deployment with a finalizer, the deployment and its key.
    fn store_with_finalized_deployment() -> (MemoryStore, Arc<Object>, ObjectKey) {
        let mut store = MemoryStore::new();
        let mut object = deployment("web", 1);
        object.metadata.finalizers = Some(vec!["example.com/cleanup".into()]);
        let first = created(&mut store, object);
        let key = ObjectKey::of(deployments().group_resource(), &first);
        (store, first, key)
    }

    #[test]
    fn create_fills_uid_timestamp_generation_and_keeps_the_given_status() {
        let mut store = MemoryStore::new();
        let object = created(&mut store, deployment("web", 1));
        assert_eq!(object.metadata.uid.as_deref().map(str::len), Some(36));
        assert_eq!(serde_json::to_value(&object.metadata.creation_timestamp).unwrap(), json!("2025-01-02T03:04:05Z"));
        assert_eq!(object.metadata.generation, Some(1));
        assert_eq!(
            object.field("status"),
            deployment("web", 1).field("status"),
            "the API layer sets the initial status"
        );
        assert_eq!(object.resource_version(), "1");
    }

    #[test]
    fn create_gives_no_generation_to_kinds_without_spec() {
        let mut store = MemoryStore::new();
        let config_map = Object::from_value(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"}, "data": {}}),
        )
        .unwrap();
        let resource_type = by_api_version_kind("v1", "ConfigMap").unwrap();
        let object = create(&mut store, resource_type, config_map, now(), &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        assert_eq!(object.metadata.generation, None);
    }

    /// Takes the first `taken` names the generator will draw for "web-", then creates a
    /// deployment named from "web-" with that generator.
    fn create_after_taking_generated_names(taken: usize) -> (Result<Arc<Object>, StoreError>, Vec<String>) {
        let mut store = MemoryStore::new();
        let mut random = ChaCha8Rng::seed_from_u64(5);
        let mut preview = random.clone();
        new_uid(&mut preview);
        let taken: Vec<String> = (0..taken).map(|_| generate_name("web-", &mut preview)).collect();
        for name in &taken {
            created(&mut store, deployment(name, 1));
        }
        let mut object = deployment("", 1);
        object.metadata.generate_name = Some("web-".into());
        object.metadata.resource_version = None;
        (create(&mut store, deployments(), object, now(), &mut random), taken)
    }

    #[test]
    fn generate_name_retries_names_that_are_taken() {
        let (made, taken) = create_after_taking_generated_names(3);
        let made = made.unwrap();
        assert!(made.name().starts_with("web-") && made.name().len() == 9, "{}", made.name());
        assert!(!taken.iter().any(|name| name == made.name()), "a taken name is not reused");
    }

    #[test]
    fn generate_name_gives_up_after_the_attempt_limit() {
        let (error, _) = create_after_taking_generated_names(GENERATE_NAME_ATTEMPTS_MAX);
        assert!(matches!(error, Err(StoreError::AlreadyExists { .. })), "{error:?}");
    }

    #[test]
    fn update_keeps_server_fields_and_bumps_generation_only_for_spec_changes() {
        let mut store = MemoryStore::new();
        let first = created(&mut store, deployment("web", 1));
        let mut labels_only = Object::clone(&first);
        labels_only.metadata.labels = Some([("a".to_string(), "b".to_string())].into());
        labels_only.metadata.uid = None;
        labels_only.metadata.creation_timestamp = None;
        let Outcome::Stored(second) = update(&mut store, deployments(), labels_only, UpdateScope::Object).unwrap()
        else {
            panic!()
        };
        assert_eq!(second.metadata.generation, Some(1), "metadata changes keep the generation");
        assert_eq!(second.metadata.uid, first.metadata.uid);
        assert_eq!(second.metadata.creation_timestamp, first.metadata.creation_timestamp);
        let mut scaled = Object::clone(&second);
        scaled.fields.insert("spec".into(), json!({"replicas": 3}));
        scaled.fields.insert("status".into(), json!({"replicas": 3}));
        let Outcome::Stored(third) = update(&mut store, deployments(), scaled, UpdateScope::Object).unwrap() else {
            panic!()
        };
        assert_eq!(third.metadata.generation, Some(2));
        assert_eq!(third.field("status"), Some(&json!({"replicas": 9})), "the main resource does not write status");
        let mut status = Object::clone(&third);
        status.fields.insert("status".into(), json!({"replicas": 3}));
        status.fields.insert("spec".into(), json!({"replicas": 7}));
        let Outcome::Stored(fourth) = update(&mut store, deployments(), status, UpdateScope::Status).unwrap() else {
            panic!()
        };
        assert_eq!(fourth.field("status"), Some(&json!({"replicas": 3})));
        assert_eq!(fourth.field("spec"), Some(&json!({"replicas": 3})), "the status subresource does not write spec");
        assert_eq!(fourth.metadata.generation, Some(2));
    }

    #[test]
    fn update_refuses_a_changed_uid_and_a_stale_resource_version() {
        let mut store = MemoryStore::new();
        let first = created(&mut store, deployment("web", 1));
        let mut other_uid = Object::clone(&first);
        other_uid.metadata.uid = Some("other".into());
        let error = update(&mut store, deployments(), other_uid, UpdateScope::Object).unwrap_err();
        assert_eq!(
            error.to_string(),
            "deployments.apps \"web\" is invalid: metadata.uid: Invalid value: \"other\": field is immutable"
        );
        update(&mut store, deployments(), Object::clone(&first), UpdateScope::Object).unwrap();
        let error = update(&mut store, deployments(), Object::clone(&first), UpdateScope::Object).unwrap_err();
        assert!(matches!(error, StoreError::Conflict { .. }), "{error:?}");
    }

    #[test]
    fn delete_marks_an_object_with_finalizers_and_removing_the_last_one_deletes_it() {
        let (mut store, _, key) = store_with_finalized_deployment();
        let Outcome::MarkedForDeletion(marked) = delete(&mut store, &key, &DeleteOptions::default(), now()).unwrap()
        else {
            panic!()
        };
        assert_eq!(serde_json::to_value(&marked.metadata.deletion_timestamp).unwrap(), json!("2025-01-02T03:04:05Z"));
        assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(0));
        assert_eq!(marked.metadata.generation, Some(2), "marking for deletion bumps generation");
        let again = delete(&mut store, &key, &DeleteOptions::default(), now()).unwrap();
        assert_eq!(again, Outcome::MarkedForDeletion(Arc::clone(&marked)), "a second delete changes nothing");
        let mut finalized = Object::clone(&marked);
        finalized.metadata.finalizers = Some(Vec::new());
        let outcome = update(&mut store, deployments(), finalized, UpdateScope::Object).unwrap();
        assert!(matches!(outcome, Outcome::Deleted(_)), "{outcome:?}");
        assert!(matches!(store.get(&key), Err(StoreError::NotFound { .. })));
    }

    #[test]
    fn graceful_delete_waits_for_a_delete_with_no_grace() {
        let mut store = MemoryStore::new();
        let first = created(&mut store, deployment("web", 1));
        let key = ObjectKey::of(deployments().group_resource(), &first);
        let graceful = DeleteOptions { grace_period_seconds: Some(30), ..DeleteOptions::default() };
        let Outcome::MarkedForDeletion(marked) = delete(&mut store, &key, &graceful, now()).unwrap() else { panic!() };
        assert_eq!(serde_json::to_value(&marked.metadata.deletion_timestamp).unwrap(), json!("2025-01-02T03:04:35Z"));
        assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(30));
        let outcome = update(&mut store, deployments(), Object::clone(&marked), UpdateScope::Object).unwrap();
        assert!(matches!(outcome, Outcome::Stored(_)), "a grace period left keeps the object: {outcome:?}");
        let outcome = delete(&mut store, &key, &DeleteOptions::default(), now()).unwrap();
        assert!(matches!(outcome, Outcome::Deleted(_)), "{outcome:?}");
    }

    #[test]
    fn delete_checks_preconditions_before_marking() {
        let (mut store, first, key) = store_with_finalized_deployment();
        let options = DeleteOptions {
            preconditions: Preconditions { uid: Some("other".into()), resource_version: None },
            ..DeleteOptions::default()
        };
        let error = delete(&mut store, &key, &options, now()).unwrap_err();
        assert!(matches!(error, StoreError::PreconditionFailed { .. }), "{error:?}");
        assert_eq!(store.get(&key).unwrap(), first);
    }
}
