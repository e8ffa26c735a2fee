//! `rollingUpdate`: replace old daemon pods by new ones. Without surge, delete old available
//! pods while no more than maxUnavailable nodes lack an available pod (old unavailable pods go
//! at once) and let `manage` create the new ones; with surge, create a new pod beside an old one
//! on up to maxSurge nodes and delete the old one when the new one is available.

use k8s_openapi::api::core::v1::Pod;

use super::DaemonSetError;
use super::eligibility::node_should_run_daemon_pod;
use super::manage::{Changes, Observed, is_pod_updated};
use super::settings::{min_ready_seconds, surge_count, unavailable_count};
use crate::controllers::pods::is_pod_available;

/// The update revision's pod and the old pod on one node; `None` if the node has more than one
/// of either, which `manage` must clean up first (`findUpdatedPodsOnNode`).
pub(super) fn find_updated_pods_on_node<'a>(
    pods: &[&'a Pod],
    hash: &str,
) -> Option<(Option<&'a Pod>, Option<&'a Pod>)> {
    let (mut new, mut old) = (None, None);
    for pod in pods.iter().copied().filter(|pod| pod.metadata.deletion_timestamp.is_none()) {
        let slot = if is_pod_updated(pod, hash) { &mut new } else { &mut old };
        if slot.is_some() {
            return None;
        }
        *slot = Some(pod);
    }
    Some((new, old))
}

/// `updatedDesiredNodeCounts`: `(maxSurge, maxUnavailable, desiredNumberScheduled)`, with
/// maxUnavailable raised to 1 when both come to zero so the update can progress.
fn desired_node_counts(observed: &Observed<'_>) -> Result<(i32, i32, i32), DaemonSetError> {
    let desired =
        observed.nodes.values().filter(|node| node_should_run_daemon_pod(node, observed.daemon_set).0).count() as i32;
    let mut max_unavailable = unavailable_count(observed.daemon_set, desired)?;
    let max_surge = surge_count(observed.daemon_set, desired)?;
    if desired > 0 && max_unavailable == 0 && max_surge == 0 {
        max_unavailable = 1;
    }
    Ok((max_surge, max_unavailable, desired))
}

/// The nodes considered by the update: those with pods and those that should run one, by name.
fn nodes_with_pods<'a>(observed: &Observed<'a>) -> Vec<(&'a str, Vec<&'a Pod>)> {
    let mut nodes = observed.node_to_pods.clone();
    for (name, node) in &observed.nodes {
        if node_should_run_daemon_pod(node, observed.daemon_set).0 {
            nodes.entry(name).or_default();
        }
    }
    nodes.into_iter().collect()
}

/// `rollingUpdate`, nodes taken in name order.
pub(super) fn rolling_update<'a>(observed: &Observed<'a>) -> Result<Changes<'a>, DaemonSetError> {
    let (max_surge, max_unavailable, desired) = desired_node_counts(observed)?;
    if max_surge == 0 {
        Ok(update_without_surge(observed, max_unavailable))
    } else {
        Ok(update_with_surge(observed, max_surge, desired))
    }
}

fn update_without_surge<'a>(observed: &Observed<'a>, max_unavailable: i32) -> Changes<'a> {
    let available = |pod: &Pod| is_pod_available(pod, min_ready_seconds(observed.daemon_set), observed.now);
    let mut unavailable = 0;
    let mut replacements: Vec<&'a Pod> = Vec::new();
    let mut candidates: Vec<&'a Pod> = Vec::new();
    for (_, pods) in nodes_with_pods(observed) {
        let Some((new, old)) = find_updated_pods_on_node(&pods, &observed.hash) else {
            unavailable += 1;
            continue;
        };
        match (new, old) {
            (None, None) | (Some(_), Some(_)) => unavailable += 1,
            (Some(new), None) => unavailable += i32::from(!available(new)),
            (None, Some(old)) if !available(old) => {
                replacements.push(old);
                unavailable += 1;
            }
            (None, Some(_)) if unavailable >= max_unavailable => {}
            (None, Some(old)) => candidates.push(old),
        }
    }
    // Saturating: a budget near i32's ends (an extreme maxUnavailable) must not overflow.
    let remaining = max_unavailable.saturating_sub(unavailable).clamp(0, candidates.len() as i32) as usize;
    replacements.extend(candidates.into_iter().take(remaining));
    Changes { delete: replacements, ..Changes::default() }
}

fn update_with_surge<'a>(observed: &Observed<'a>, max_surge: i32, desired: i32) -> Changes<'a> {
    let available = |pod: &Pod| is_pod_available(pod, min_ready_seconds(observed.daemon_set), observed.now);
    let should_run = |name: &str| {
        observed.nodes.get(name).is_some_and(|node| node_should_run_daemon_pod(node, observed.daemon_set).0)
    };
    let mut changes = Changes::default();
    let (mut should_not_run, mut candidates, mut allowed) = (Vec::new(), Vec::new(), Vec::new());
    let (mut surging, mut available_count) = (0, 0i32);
    for (name, pods) in nodes_with_pods(observed) {
        let Some((new, old)) = find_updated_pods_on_node(&pods, &observed.hash) else {
            surging += 1;
            continue;
        };
        if old.or(new).is_some_and(available) {
            available_count += 1;
        }
        match (new, old) {
            (_, None) => {}
            (None, Some(old)) if !available(old) => {
                if should_run(name) {
                    allowed.push(name.to_string());
                } else {
                    changes.delete.push(old);
                }
            }
            (None, Some(old)) if !should_run(name) => should_not_run.push(old),
            (None, Some(_)) if surging >= max_surge => {}
            (None, Some(_)) => candidates.push(name.to_string()),
            (Some(new), Some(_)) if !available(new) => surging += 1,
            (Some(_), Some(old)) => changes.delete.push(old),
        }
    }
    // Old pods on nodes that no longer qualify go only as pods elsewhere become available.
    let deletable = available_count.saturating_sub(desired).clamp(0, should_not_run.len() as i32) as usize;
    changes.delete.extend(should_not_run.into_iter().take(deletable));
    let remaining = max_surge.saturating_sub(surging).clamp(0, candidates.len() as i32) as usize;
    allowed.extend(candidates.into_iter().take(remaining));
    changes.create_on = allowed;
    changes
}
