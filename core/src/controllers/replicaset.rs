//! The ReplicaSet controller (and the ReplicationController controller, which is the same code
//! over a converted shape): keep `spec.replicas` active pods, create them in slow-start batches,
//! delete the cheapest first, report status.
//!
//! Differences from Kubernetes, all deliberate: adoption is optimistic (an adopted pod counts in
//! the same sync, before the patch's response is seen), the fresh quorum read Kubernetes makes
//! before adopting (`RecheckDeletionTimestamp`) is left to the API's uid precondition in the
//! patch body, the related pods used to rank co-located pods are the ReplicaSet's own, and the
//! outcome of the previous sync's API calls (`manageReplicasErr`) is an input.

use std::borrow::Borrow;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::{
    Pod, PodTemplateSpec, ReplicationController, ReplicationControllerCondition, ReplicationControllerStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Preconditions, Time};
use k8s_openapi::jiff::Timestamp;

use super::action::{Action, CreatedEvent, EventType, Reconciled, event_action, object_reference, to_object};
use super::expectations::ControllerExpectations;
use super::owner::{Claim, adopt_action, claim, controller_ref, release_action};
use super::pods::{is_pod_active, is_pod_available, is_pod_ready, rank_for_deletion};
use super::{BURST_REPLICAS, SLOW_START_INITIAL_BATCH_SIZE};
use crate::object::kinds::GroupResource;
use crate::selector::{LabelSelector, SelectorError};

/// The pods collection, for patches and deletes.
const PODS: GroupResource = GroupResource { group: "", resource: "pods" };

/// Condition type set when creating or deleting pods failed.
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

/// Why a ReplicaSet or ReplicationController could not be reconciled.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaSetError {
    /// `spec.selector` is not a valid label selector.
    #[error("invalid selector of {key}: {source}")]
    InvalidSelector {
        /// `namespace/name` of the controller.
        key: String,
        /// What is wrong with it.
        #[source]
        source: SelectorError,
    },
    /// The pod template has no labels, so created pods could never be selected.
    #[error("unable to create pods for {key}, no labels")]
    TemplateHasNoLabels {
        /// `namespace/name` of the controller.
        key: String,
    },
}

/// Which of the two kinds is being reconciled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    ReplicaSet,
    ReplicationController,
}

impl Kind {
    fn api_version(self) -> &'static str {
        match self {
            Kind::ReplicaSet => "apps/v1",
            Kind::ReplicationController => "v1",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::ReplicaSet => "ReplicaSet",
            Kind::ReplicationController => "ReplicationController",
        }
    }

    fn component(self) -> &'static str {
        match self {
            Kind::ReplicaSet => "replicaset-controller",
            Kind::ReplicationController => "replication-controller",
        }
    }
}

/// The one shape both kinds are reconciled in.
struct Shape<'a> {
    kind: Kind,
    metadata: &'a ObjectMeta,
    replicas: i32,
    min_ready_seconds: i32,
    selector: LabelSelector,
    template: Option<&'a PodTemplateSpec>,
    status: ReplicaSetStatus,
}

impl Shape<'_> {
    fn key(&self) -> String {
        format!("{}/{}", self.metadata.namespace.as_deref().unwrap_or(""), self.metadata.name.as_deref().unwrap_or(""))
    }
}

/// `namespace/name`, the key expectations and work queues use.
pub fn controller_key(metadata: &ObjectMeta) -> String {
    format!("{}/{}", metadata.namespace.as_deref().unwrap_or(""), metadata.name.as_deref().unwrap_or(""))
}

/// Reconciles one ReplicaSet against every pod of its namespace (`syncReplicaSet`).
///
/// `manage_error` is the message of the pod create or delete that failed in the previous sync
/// of this key, if one did; it sets the `ReplicaFailure` condition, and its absence clears it.
/// The expectations of the returned creates and deletes are raised in `expectations`.
pub fn reconcile_replica_set<P: Borrow<Pod>>(
    replica_set: &ReplicaSet,
    pods: &[P],
    manage_error: Option<&str>,
    expectations: &mut ControllerExpectations,
    now: Timestamp,
) -> Result<Reconciled, ReplicaSetError> {
    let key = controller_key(&replica_set.metadata);
    let spec = replica_set.spec.as_ref();
    let selector = LabelSelector::from_label_selector(spec.map(|spec| &spec.selector))
        .map_err(|source| ReplicaSetError::InvalidSelector { key: key.clone(), source })?;
    let shape = Shape {
        kind: Kind::ReplicaSet,
        metadata: &replica_set.metadata,
        replicas: spec.and_then(|spec| spec.replicas).unwrap_or(1),
        min_ready_seconds: spec.and_then(|spec| spec.min_ready_seconds).unwrap_or(0),
        selector,
        template: spec.and_then(|spec| spec.template.as_ref()),
        status: replica_set.status.clone().unwrap_or_default(),
    };
    let (mut reconciled, status) = reconcile_shape(&shape, pods, manage_error, expectations, now)?;
    if let Some(status) = status {
        let mut updated = replica_set.clone();
        updated.status = Some(status);
        reconciled.push_alone(Action::UpdateStatus { object: to_object(&updated) });
    }
    Ok(reconciled)
}

/// Reconciles one ReplicationController, converted to the ReplicaSet shape
/// (`pkg/controller/replication` runs the ReplicaSet code the same way).
pub fn reconcile_replication_controller<P: Borrow<Pod>>(
    controller: &ReplicationController,
    pods: &[P],
    manage_error: Option<&str>,
    expectations: &mut ControllerExpectations,
    now: Timestamp,
) -> Result<Reconciled, ReplicaSetError> {
    let spec = controller.spec.as_ref();
    let template = spec.and_then(|spec| spec.template.as_ref());
    let selector_map = spec.and_then(|spec| spec.selector.as_ref());
    // An RC without a selector selects its template's labels (API defaulting).
    let template_labels = template.and_then(|template| template.metadata.as_ref()).and_then(|m| m.labels.as_ref());
    let selector = match selector_map.or(template_labels) {
        Some(labels) if !labels.is_empty() => LabelSelector::from_set(labels),
        _ => LabelSelector::nothing(),
    };
    let shape = Shape {
        kind: Kind::ReplicationController,
        metadata: &controller.metadata,
        replicas: spec.and_then(|spec| spec.replicas).unwrap_or(1),
        min_ready_seconds: spec.and_then(|spec| spec.min_ready_seconds).unwrap_or(0),
        selector,
        template,
        status: controller.status.clone().map(rc_status_to_rs).unwrap_or_default(),
    };
    let (mut reconciled, status) = reconcile_shape(&shape, pods, manage_error, expectations, now)?;
    if let Some(status) = status {
        let mut updated = controller.clone();
        updated.status = Some(rs_status_to_rc(status));
        reconciled.push_alone(Action::UpdateStatus { object: to_object(&updated) });
    }
    Ok(reconciled)
}

/// The shared body: claim pods, manage replicas when expectations allow, compute status.
/// Returns the actions and the new status when it differs from the observed one.
fn reconcile_shape<P: Borrow<Pod>>(
    shape: &Shape<'_>,
    pods: &[P],
    manage_error: Option<&str>,
    expectations: &mut ControllerExpectations,
    now: Timestamp,
) -> Result<(Reconciled, Option<ReplicaSetStatus>), ReplicaSetError> {
    let key = shape.key();
    let needs_sync = expectations.satisfied(&key, now);
    let namespace = shape.metadata.namespace.as_deref();
    let mut reconciled = Reconciled::default();
    let mut claimed: Vec<&Pod> = Vec::new();
    let mut claim_actions = Vec::new();
    let owner_reference = controller_ref(shape.kind.api_version(), shape.kind.name(), shape.metadata);
    let active = pods
        .iter()
        .map(Borrow::borrow)
        .filter(|pod: &&Pod| pod.metadata.namespace.as_deref() == namespace && is_pod_active(pod));
    for pod in active {
        match claim(shape.metadata, &shape.selector, &pod.metadata) {
            Claim::Owned => claimed.push(pod),
            Claim::Adopt => {
                claim_actions.push(adopt_action(PODS, &owner_reference, &pod.metadata));
                claimed.push(pod);
            }
            Claim::Release => claim_actions.push(release_action(PODS, &owner_reference.uid, &pod.metadata)),
            Claim::Ignore => {}
        }
    }
    reconciled.push_batch(claim_actions);
    if needs_sync && shape.metadata.deletion_timestamp.is_none() {
        manage_replicas(shape, &claimed, expectations, &mut reconciled, now)?;
    }
    if let Some(delay) = expectations.time_until_expiry(&key, now) {
        reconciled.requeue_no_later_than(delay);
    }
    let status = calculate_status(shape, &claimed, manage_error, now);
    let ready_but_not_available = status.ready_replicas.unwrap_or(0) == shape.replicas
        && status.available_replicas.unwrap_or(0) != shape.replicas;
    if manage_error.is_none() && shape.min_ready_seconds > 0 && ready_but_not_available {
        reconciled.requeue_no_later_than(Duration::from_secs(shape.min_ready_seconds as u64));
    }
    let changed = status_differs(&shape.status, &status, shape.metadata.generation);
    Ok((reconciled, changed.then_some(status)))
}

/// `manageReplicas`: create the missing pods in slow-start batches or delete the surplus,
/// at most [`BURST_REPLICAS`] per sync.
fn manage_replicas(
    shape: &Shape<'_>,
    claimed: &[&Pod],
    expectations: &mut ControllerExpectations,
    reconciled: &mut Reconciled,
    now: Timestamp,
) -> Result<(), ReplicaSetError> {
    let key = shape.key();
    let difference = claimed.len() as i64 - i64::from(shape.replicas);
    let involved = object_reference(shape.kind.api_version(), shape.kind.name(), shape.metadata);
    if difference < 0 {
        let count = (-difference).min(BURST_REPLICAS as i64) as usize;
        let pod = pod_from_template(shape).ok_or_else(|| ReplicaSetError::TemplateHasNoLabels { key: key.clone() })?;
        expectations.expect_creations(&key, count, now);
        let on_created = CreatedEvent {
            involved_object: involved,
            component: shape.kind.component(),
            reason: "SuccessfulCreate",
            message_prefix: "Created pod: ",
        };
        let create = Action::Create { object: to_object(&pod), on_created: Some(Box::new(on_created)) };
        for size in slow_start_batch_sizes(count, SLOW_START_INITIAL_BATCH_SIZE) {
            reconciled.push_batch(vec![create.clone(); size]);
        }
    } else if difference > 0 {
        let count = difference.min(BURST_REPLICAS as i64) as usize;
        let doomed: Vec<&Pod> = if count < claimed.len() {
            rank_for_deletion(claimed, claimed, now).into_iter().take(count).collect()
        } else {
            claimed.to_vec()
        };
        let keys: Vec<String> = doomed.iter().map(|pod| controller_key(&pod.metadata)).collect();
        expectations.expect_deletions(&key, &keys, now);
        reconciled.push_batch(doomed.iter().map(|pod| delete_pod(pod)).collect());
        let events = doomed.iter().map(|pod| {
            let message = format!("Deleted pod: {}", pod.metadata.name.as_deref().unwrap_or(""));
            event_action(&involved, shape.kind.component(), EventType::Normal, "SuccessfulDelete", &message, now)
        });
        reconciled.push_batch(events.collect());
    }
    Ok(())
}

/// The batch sizes Kubernetes' `slowStartBatch` uses for `count` calls: `initial`, then
/// doubling, the last one cut to what remains.
pub fn slow_start_batch_sizes(count: usize, initial: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut remaining = count;
    let mut size = remaining.min(initial.max(1));
    while size > 0 {
        sizes.push(size);
        remaining -= size;
        size = (2 * size).min(remaining);
    }
    sizes
}

/// `GetPodFromTemplate`: the template's labels, annotations, finalizers and spec, named by
/// `generateName` `<controller>-`, controlled by the controller. `None` if it has no labels.
fn pod_from_template(shape: &Shape<'_>) -> Option<Pod> {
    let template = shape.template?;
    let template_metadata = template.metadata.clone().unwrap_or_default();
    if template_metadata.labels.as_ref().is_none_or(|labels| labels.is_empty()) {
        return None;
    }
    let name = shape.metadata.name.as_deref().unwrap_or("");
    Some(Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-")),
            namespace: shape.metadata.namespace.clone(),
            labels: template_metadata.labels,
            annotations: template_metadata.annotations,
            finalizers: template_metadata.finalizers,
            owner_references: Some(vec![controller_ref(shape.kind.api_version(), shape.kind.name(), shape.metadata)]),
            ..ObjectMeta::default()
        },
        spec: template.spec.clone(),
        status: None,
    })
}

/// Deletes one pod, only if it is still the pod that was observed (uid precondition).
pub(crate) fn delete_pod(pod: &Pod) -> Action {
    Action::Delete {
        resource: PODS,
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        preconditions: Preconditions { uid: pod.metadata.uid.clone(), resource_version: None },
        propagation_policy: None,
    }
}

/// `calculateStatus`: counts over the claimed active pods, and the ReplicaFailure condition.
fn calculate_status(
    shape: &Shape<'_>,
    claimed: &[&Pod],
    manage_error: Option<&str>,
    now: Timestamp,
) -> ReplicaSetStatus {
    let template_labels =
        shape.template.and_then(|template| template.metadata.as_ref()).and_then(|m| m.labels.as_ref());
    let template_selector = template_labels.map(LabelSelector::from_set).unwrap_or_default();
    let fully_labeled = claimed.iter().filter(|pod| template_selector.matches_optional(pod.metadata.labels.as_ref()));
    let ready = claimed.iter().filter(|pod| is_pod_ready(pod)).count();
    let available = claimed.iter().filter(|pod| is_pod_available(pod, shape.min_ready_seconds, now)).count();
    let mut conditions = shape.status.conditions.clone().unwrap_or_default();
    let has_failure = conditions.iter().any(|condition| condition.type_ == REPLICA_FAILURE);
    match manage_error {
        Some(message) if !has_failure => {
            let difference = claimed.len() as i64 - i64::from(shape.replicas);
            let reason = match difference.signum() {
                -1 => "FailedCreate",
                1 => "FailedDelete",
                _ => "",
            };
            conditions.push(ReplicaSetCondition {
                type_: REPLICA_FAILURE.to_string(),
                status: "True".to_string(),
                reason: Some(reason.to_string()),
                message: Some(message.to_string()),
                last_transition_time: Some(Time(now)),
            });
        }
        None if has_failure => conditions.retain(|condition| condition.type_ != REPLICA_FAILURE),
        _ => {}
    }
    ReplicaSetStatus {
        replicas: claimed.len() as i32,
        fully_labeled_replicas: non_zero(fully_labeled.count()),
        ready_replicas: non_zero(ready),
        available_replicas: non_zero(available),
        observed_generation: shape.metadata.generation,
        conditions: (!conditions.is_empty()).then_some(conditions),
        terminating_replicas: shape.status.terminating_replicas,
    }
}

/// Kubernetes omits zero counts (`omitempty`); so does coxswain, so statuses compare equal.
fn non_zero(count: usize) -> Option<i32> {
    (count != 0).then_some(count as i32)
}

/// Whether the status must be written (`updateReplicaSetStatus`'s early return, inverted).
fn status_differs(observed: &ReplicaSetStatus, new: &ReplicaSetStatus, generation: Option<i64>) -> bool {
    let count = |value: Option<i32>| value.unwrap_or(0);
    observed.replicas != new.replicas
        || count(observed.fully_labeled_replicas) != count(new.fully_labeled_replicas)
        || count(observed.ready_replicas) != count(new.ready_replicas)
        || count(observed.available_replicas) != count(new.available_replicas)
        || observed.observed_generation.unwrap_or(0) != generation.unwrap_or(0)
        || observed.conditions.clone().unwrap_or_default() != new.conditions.clone().unwrap_or_default()
}

fn rc_status_to_rs(status: ReplicationControllerStatus) -> ReplicaSetStatus {
    let conditions = status.conditions.map(|conditions| {
        conditions
            .into_iter()
            .map(|condition| ReplicaSetCondition {
                type_: condition.type_,
                status: condition.status,
                reason: condition.reason,
                message: condition.message,
                last_transition_time: condition.last_transition_time,
            })
            .collect()
    });
    ReplicaSetStatus {
        replicas: status.replicas,
        fully_labeled_replicas: status.fully_labeled_replicas,
        ready_replicas: status.ready_replicas,
        available_replicas: status.available_replicas,
        observed_generation: status.observed_generation,
        conditions,
        terminating_replicas: None,
    }
}

fn rs_status_to_rc(status: ReplicaSetStatus) -> ReplicationControllerStatus {
    let conditions = status.conditions.map(|conditions| {
        conditions
            .into_iter()
            .map(|condition| ReplicationControllerCondition {
                type_: condition.type_,
                status: condition.status,
                reason: condition.reason,
                message: condition.message,
                last_transition_time: condition.last_transition_time,
            })
            .collect()
    });
    ReplicationControllerStatus {
        replicas: status.replicas,
        fully_labeled_replicas: status.fully_labeled_replicas,
        ready_replicas: status.ready_replicas,
        available_replicas: status.available_replicas,
        observed_generation: status.observed_generation,
        conditions,
    }
}

#[cfg(test)]
mod tests;
