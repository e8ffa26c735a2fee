//! `manage`: for each node, the daemon pods to create and delete (`podsShouldBeOnNode`) — a pod
//! where one should run and none is, failed and succeeded pods deleted (failed ones with
//! back-off), surplus pods on one node deleted (the oldest kept; with surge, the oldest old and
//! oldest new kept while the new one is not yet available), pods on nodes that no longer
//! qualify deleted, and unscheduled pods for nodes that are gone deleted.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;

use super::backoff::FailedPodsBackoff;
use super::eligibility::node_should_run_daemon_pod;
use super::settings::{allows_surge, min_ready_seconds};
use crate::controllers::action::EventType;
use crate::controllers::history::CONTROLLER_REVISION_HASH_LABEL;
use crate::controllers::pods::{is_pod_available, is_pod_ready, less_by, merge_sort, phase};

/// Event reason for a failed daemon pod about to be deleted.
pub const FAILED_DAEMON_POD_REASON: &str = "FailedDaemonPod";
/// Event reason for a succeeded daemon pod about to be deleted.
pub const SUCCEEDED_DAEMON_POD_REASON: &str = "SucceededDaemonPod";

/// What one sync of a DaemonSet reads.
pub(super) struct Observed<'a> {
    pub daemon_set: &'a DaemonSet,
    /// The update revision's hash: the `controller-revision-hash` of up-to-date pods.
    pub hash: String,
    /// Every node, by name.
    pub nodes: BTreeMap<&'a str, &'a Node>,
    /// The DaemonSet's pods by the node they are for.
    pub node_to_pods: BTreeMap<&'a str, Vec<&'a Pod>>,
    pub now: Timestamp,
}

/// The pod changes one sync decided, and its events.
#[derive(Default)]
pub(super) struct Changes<'a> {
    pub create_on: Vec<String>,
    pub delete: Vec<&'a Pod>,
    pub events: Vec<(EventType, &'static str, String)>,
    pub requeue_after: Option<Duration>,
}

impl Changes<'_> {
    pub fn is_empty(&self) -> bool {
        self.create_on.is_empty() && self.delete.is_empty()
    }
}

/// Whether the pod carries the update revision's hash (`IsPodUpdated`).
pub fn is_pod_updated(pod: &Pod, hash: &str) -> bool {
    !hash.is_empty()
        && pod
            .metadata
            .labels
            .as_ref()
            .and_then(|labels| labels.get(CONTROLLER_REVISION_HASH_LABEL))
            .map(String::as_str)
            == Some(hash)
}

/// Bound pods first, then older first, then by name (`podByCreationTimestampAndPhase`).
pub fn compare_by_creation(left: &&Pod, right: &&Pod) -> Ordering {
    let bound = |pod: &Pod| pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()).is_some_and(|n| !n.is_empty());
    let created = |pod: &Pod| pod.metadata.creation_timestamp.as_ref().map(|time| time.0);
    bound(right)
        .cmp(&bound(left))
        .then_with(|| created(left).cmp(&created(right)))
        .then_with(|| left.metadata.name.cmp(&right.metadata.name))
}

/// The pods sorted oldest first by [`compare_by_creation`].
pub fn oldest_first<'a>(pods: &[&'a Pod]) -> Vec<&'a Pod> {
    merge_sort(pods.to_vec(), &less_by(compare_by_creation))
}

/// `manage` over every node, then the unscheduled pods of nodes that no longer exist.
pub(super) fn manage<'a>(observed: &Observed<'a>, backoff: &mut FailedPodsBackoff) -> Changes<'a> {
    let mut changes = Changes::default();
    for node in observed.nodes.values() {
        pods_should_be_on_node(observed, node, backoff, &mut changes);
    }
    for (node_name, pods) in &observed.node_to_pods {
        if observed.nodes.contains_key(node_name) {
            continue;
        }
        let unscheduled = pods
            .iter()
            .filter(|pod| pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()).is_none_or(str::is_empty));
        changes.delete.extend(unscheduled);
    }
    changes
}

/// `podsShouldBeOnNode` for one node.
fn pods_should_be_on_node<'a>(
    observed: &Observed<'a>,
    node: &Node,
    backoff: &mut FailedPodsBackoff,
    changes: &mut Changes<'a>,
) {
    let daemon_set = observed.daemon_set;
    let node_name = node.metadata.name.as_deref().unwrap_or("");
    let (should_run, should_continue_running) = node_should_run_daemon_pod(node, daemon_set);
    let pods = observed.node_to_pods.get(node_name);
    if should_run && pods.is_none() {
        changes.create_on.push(node_name.to_string());
        return;
    }
    let Some(pods) = pods else { return };
    if !should_continue_running {
        changes.delete.extend(pods.iter().filter(|pod| pod.metadata.deletion_timestamp.is_none()));
        return;
    }
    let mut running: Vec<&'a Pod> = Vec::new();
    for pod in pods.iter().copied().filter(|pod| pod.metadata.deletion_timestamp.is_none()) {
        let pod_key = format!(
            "{}/{}",
            pod.metadata.namespace.as_deref().unwrap_or(""),
            pod.metadata.name.as_deref().unwrap_or("")
        );
        match phase(pod) {
            "Failed" => {
                let observed_generation =
                    daemon_set.status.as_ref().and_then(|status| status.observed_generation).unwrap_or(0);
                let uid = daemon_set.metadata.uid.as_deref().unwrap_or("");
                let key = FailedPodsBackoff::key(uid, observed_generation, node_name);
                if backoff.is_in_back_off_since_update(&key, observed.now) {
                    let delay = backoff.get(&key);
                    changes.requeue_after = Some(changes.requeue_after.map_or(delay, |current| current.min(delay)));
                    continue;
                }
                backoff.next(&key, observed.now);
                let message = format!("Found failed daemon pod {pod_key} on node {node_name}, will try to kill it");
                changes.events.push((EventType::Warning, FAILED_DAEMON_POD_REASON, message));
                changes.delete.push(pod);
            }
            "Succeeded" => {
                let message =
                    format!("Found succeeded daemon pod {pod_key} on node {node_name}, will try to delete it");
                changes.events.push((EventType::Normal, SUCCEEDED_DAEMON_POD_REASON, message));
                changes.delete.push(pod);
            }
            _ => running.push(pod),
        }
    }
    let running = oldest_first(&running);
    if !allows_surge(daemon_set) {
        changes.delete.extend(running.iter().skip(1));
        return;
    }
    if running.len() <= 1 {
        if running.is_empty() && should_run {
            changes.create_on.push(node_name.to_string());
        }
        return;
    }
    surge_survivors(observed, &running, changes);
}

/// With surge, a node keeps the oldest up-to-date pod and the oldest old one, and the old one
/// only while it is ready and the new one is not yet available.
fn surge_survivors<'a>(observed: &Observed<'a>, running: &[&'a Pod], changes: &mut Changes<'a>) {
    let (mut oldest_new, mut oldest_old): (Option<&'a Pod>, Option<&'a Pod>) = (None, None);
    for pod in running {
        let slot = if is_pod_updated(pod, &observed.hash) { &mut oldest_new } else { &mut oldest_old };
        if slot.is_none() {
            *slot = Some(pod);
        } else {
            changes.delete.push(pod);
        }
    }
    if let (Some(new), Some(old)) = (oldest_new, oldest_old) {
        let min_ready_seconds = min_ready_seconds(observed.daemon_set);
        if !is_pod_ready(old) || is_pod_available(new, min_ready_seconds, observed.now) {
            changes.delete.push(old);
        }
    }
}
