//! The DaemonSet controller (`pkg/controller/daemon`): one pod per eligible node, placed by the
//! scheduler through a required node affinity on the node's name, removed from nodes that no
//! longer qualify, replaced when it fails (with back-off), and rolled to a new template revision
//! by maxUnavailable and maxSurge (`RollingUpdate`) or only as users delete pods (`OnDelete`).
//!
//! [`reconcile_daemon_set`] is `syncDaemonSet` as a pure function. Differences from Kubernetes,
//! all deliberate: nodes are visited in name order (Kubernetes ranges over a map); expected
//! deletions are tracked by pod key rather than counted, so a stranger's deletion does not
//! satisfy them; the deprecated `pod-template-generation` label is not read; revision hashes
//! are coxswain's (see [`crate::controllers::deployment::compute_hash`]).

pub mod backoff;
pub mod eligibility;
mod manage;
pub mod node_updates;
pub mod settings;
mod status;
mod update;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod, PodSpec};
use k8s_openapi::jiff::Timestamp;

pub use backoff::FailedPodsBackoff;
pub use eligibility::{
    add_daemon_tolerations, node_should_run_daemon_pod, replace_node_name_affinity, target_node_name,
};

use self::manage::{Changes, Observed, manage};
use self::settings::{is_on_delete, min_ready_seconds, revision_history_limit};
use self::status::{compute_status, differs, requeue_for_availability};
use super::action::{Action, CreatedEvent, EventType, Reconciled, event_action, object_reference, to_object};
use super::claims::claim_all;
use super::deployment::compute_hash;
use super::expectations::ControllerExpectations;
use super::history::{CONTROLLER_REVISION_HASH_LABEL, RevisionSource, plan_revisions, truncate_history};
use super::owner::controller_ref;
use super::pod_template::{PODS, pod_from_template};
use super::replicaset::{controller_key, delete_pod, slow_start_batch_sizes};
use super::{BURST_REPLICAS, SLOW_START_INITIAL_BATCH_SIZE};
use crate::selector::{LabelSelector, SelectorError};

/// The component that records the DaemonSet's events.
pub const COMPONENT: &str = "daemonset-controller";

/// Why a DaemonSet could not be reconciled.
#[derive(Debug, thiserror::Error)]
pub enum DaemonSetError {
    /// `spec.selector` is not a valid label selector.
    #[error("invalid selector of daemonset {key}: {source}")]
    InvalidSelector {
        /// `namespace/name` of the DaemonSet.
        key: String,
        /// What is wrong with it.
        #[source]
        source: SelectorError,
    },
    /// maxSurge or maxUnavailable is a string that is not a percentage.
    #[error("invalid value for IntOrString: invalid type: string is not a percentage: {value:?}")]
    InvalidIntOrPercent {
        /// The value as written.
        value: String,
    },
}

/// Reconciles one DaemonSet (`syncDaemonSet`).
///
/// `nodes` are every node; `pods` and `revisions` everything of the DaemonSet's namespace the
/// shell observed. `expectations` and `backoff` are the controller's memory the shell keeps
/// between syncs. The actions adopt and release pods and revisions, create the update revision,
/// create pods (in slow-start batches, each with a required affinity to its node) and delete
/// pods, write the status, delete surplus history, and record events.
pub fn reconcile_daemon_set<'a>(
    daemon_set: &DaemonSet,
    nodes: impl IntoIterator<Item = &'a Node>,
    pods: &[Pod],
    revisions: &[ControllerRevision],
    expectations: &mut ControllerExpectations,
    backoff: &mut FailedPodsBackoff,
    now: Timestamp,
) -> Result<Reconciled, DaemonSetError> {
    let key = controller_key(&daemon_set.metadata);
    let meta_selector = daemon_set.spec.as_ref().map(|spec| spec.selector.clone()).unwrap_or_default();
    let selector = LabelSelector::from_label_selector(Some(&meta_selector))
        .map_err(|source| DaemonSetError::InvalidSelector { key: key.clone(), source })?;
    let mut reconciled = Reconciled::default();
    let involved = object_reference("apps/v1", "DaemonSet", &daemon_set.metadata);
    if selector.is_empty() {
        let message = "This daemon set is selecting all pods. A non-empty selector is required.";
        reconciled.push_alone(event_action(&involved, COMPONENT, EventType::Warning, "SelectingAll", message, now));
        return Ok(reconciled);
    }
    if daemon_set.metadata.deletion_timestamp.is_some() {
        return Ok(reconciled);
    }
    let reference = controller_ref("apps/v1", "DaemonSet", &daemon_set.metadata);
    let claimed =
        claim_all(&daemon_set.metadata, &reference, PODS, pods, |pod| &pod.metadata, &|_| &selector, &mut reconciled);
    let template = daemon_set.spec.as_ref().map(|spec| spec.template.clone()).unwrap_or_default();
    let hash_template = |_: &serde_json::Value, collisions: Option<i32>| compute_hash(&template, collisions);
    let source = RevisionSource {
        parent: &daemon_set.metadata,
        owner: reference.clone(),
        template: &template,
        collision_count: daemon_set.status.as_ref().and_then(|status| status.collision_count),
        hash: &hash_template,
    };
    let plan = plan_revisions(&source, &selector, revisions, &mut reconciled);
    let hash = revision_hash(&plan.update);
    let mut node_to_pods: BTreeMap<&str, Vec<&Pod>> = BTreeMap::new();
    for pod in &claimed {
        if let Some(node_name) = target_node_name(pod) {
            node_to_pods.entry(node_name).or_default().push(pod);
        }
    }
    let observed = Observed {
        daemon_set,
        hash,
        nodes: nodes.into_iter().map(|node| (node.metadata.name.as_deref().unwrap_or(""), node)).collect(),
        node_to_pods,
        now,
    };
    let satisfied = expectations.satisfied(&key, now);
    let mut events = Vec::new();
    if satisfied {
        let mut changes = manage(&observed, backoff);
        if changes.is_empty() && !is_on_delete(daemon_set) {
            let rolling = update::rolling_update(&observed)?;
            changes.create_on = rolling.create_on;
            changes.delete = rolling.delete;
        }
        if let Some(delay) = changes.requeue_after {
            reconciled.requeue_no_later_than(delay);
        }
        events = sync_nodes(&observed, &changes, &key, expectations, &mut reconciled);
        for (event_type, reason, message) in &changes.events {
            events.push(event_action(&involved, COMPONENT, *event_type, reason, message, now));
        }
    }
    if let Some(delay) = expectations.time_until_expiry(&key, now) {
        reconciled.requeue_no_later_than(delay);
    }
    let status = compute_status(&observed, plan.collision_count, satisfied);
    if differs(daemon_set.status.as_ref(), &status, daemon_set.metadata.generation) {
        let mut updated = daemon_set.clone();
        updated.status = Some(status.clone());
        reconciled.push_alone(Action::UpdateStatus { object: to_object(&updated) });
    }
    if let Some(delay) = requeue_for_availability(min_ready_seconds(daemon_set), &status) {
        reconciled.requeue_no_later_than(delay);
    }
    reconciled.push_batch(cleanup_history(&observed, &plan.revisions, &plan.update, &claimed));
    reconciled.push_batch(events);
    Ok(reconciled)
}

fn revision_hash(revision: &ControllerRevision) -> String {
    let labels = revision.metadata.labels.as_ref();
    labels.and_then(|labels| labels.get(CONTROLLER_REVISION_HASH_LABEL)).cloned().unwrap_or_default()
}

/// `syncNodes`: creates in slow-start batches, then deletes, at most [`BURST_REPLICAS`] of each,
/// expecting both together (`SetExpectations(dsKey, createDiff, deleteDiff)`; a surge update
/// creates and deletes in one sync). Returns the deletion events, to be sent last.
fn sync_nodes(
    observed: &Observed<'_>,
    changes: &Changes<'_>,
    key: &str,
    expectations: &mut ControllerExpectations,
    reconciled: &mut Reconciled,
) -> Vec<Action> {
    let daemon_set = observed.daemon_set;
    let involved = object_reference("apps/v1", "DaemonSet", &daemon_set.metadata);
    let creates: Vec<&String> = changes.create_on.iter().take(BURST_REPLICAS).collect();
    let deletes: Vec<&Pod> = changes.delete.iter().copied().take(BURST_REPLICAS).collect();
    let delete_keys: Vec<String> = deletes.iter().map(|pod| controller_key(&pod.metadata)).collect();
    expectations.set_expectations(key, creates.len(), &delete_keys, observed.now);
    let mut template = daemon_set.spec.as_ref().map(|spec| spec.template.clone()).unwrap_or_default();
    add_daemon_tolerations(template.spec.get_or_insert_with(PodSpec::default));
    let labels = template.metadata.get_or_insert_with(Default::default).labels.get_or_insert_with(BTreeMap::new);
    labels.insert(CONTROLLER_REVISION_HASH_LABEL.to_string(), observed.hash.clone());
    let on_created = CreatedEvent {
        involved_object: involved.clone(),
        component: COMPONENT,
        reason: "SuccessfulCreate",
        message_prefix: "Created pod: ",
    };
    let reference = controller_ref("apps/v1", "DaemonSet", &daemon_set.metadata);
    let mut create_actions = creates.into_iter().map(|node_name| {
        let mut pod = pod_from_template(&template, daemon_set.metadata.namespace.as_deref(), reference.clone());
        pod.metadata.generate_name = Some(format!("{}-", daemon_set.metadata.name.as_deref().unwrap_or("")));
        let spec = pod.spec.get_or_insert_with(PodSpec::default);
        spec.affinity = Some(replace_node_name_affinity(spec.affinity.take(), node_name));
        Action::Create { object: to_object(&pod), on_created: Some(Box::new(on_created.clone())) }
    });
    for size in slow_start_batch_sizes(changes.create_on.len().min(BURST_REPLICAS), SLOW_START_INITIAL_BATCH_SIZE) {
        reconciled.push_batch(create_actions.by_ref().take(size).collect());
    }
    reconciled.push_batch(deletes.iter().map(|pod| delete_pod(pod)).collect());
    deletes
        .iter()
        .map(|pod| {
            let message = format!("Deleted pod: {}", pod.metadata.name.as_deref().unwrap_or(""));
            event_action(&involved, COMPONENT, EventType::Normal, "SuccessfulDelete", &message, observed.now)
        })
        .collect()
}

/// `cleanupHistory`: delete the oldest old revisions no pod carries, beyond the limit; old
/// revisions pods still carry count towards the limit but are kept.
fn cleanup_history(
    observed: &Observed<'_>,
    revisions: &[ControllerRevision],
    update: &ControllerRevision,
    pods: &[&Pod],
) -> Vec<Action> {
    let pod_hashes: BTreeSet<&str> = pods
        .iter()
        .filter_map(|pod| pod.metadata.labels.as_ref()?.get(CONTROLLER_REVISION_HASH_LABEL).map(String::as_str))
        .collect();
    let mut live: BTreeSet<String> = revisions
        .iter()
        .filter(|revision| pod_hashes.contains(revision_hash(revision).as_str()))
        .filter_map(|revision| revision.metadata.name.clone())
        .collect();
    let live_old = live.iter().filter(|name| update.metadata.name.as_ref() != Some(*name)).count() as i32;
    live.extend(update.metadata.name.clone());
    truncate_history(revisions, &live, revision_history_limit(observed.daemon_set) - live_old)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod world_tests;
