//! What controllers read off pods: active, ready, available (with minReadySeconds and `now`),
//! and the order in which a ReplicaSet prefers to delete them (`ActivePodsWithRanks`).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// Annotation whose integer value makes a pod cheaper (lower) or dearer to delete.
pub const POD_DELETION_COST_ANNOTATION: &str = "controller.kubernetes.io/pod-deletion-cost";

/// The pod's phase, or the empty string.
pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|status| status.phase.as_deref()).unwrap_or("")
}

/// Not Succeeded, not Failed and not being deleted (`IsPodActive`).
pub fn is_pod_active(pod: &Pod) -> bool {
    !matches!(phase(pod), "Succeeded" | "Failed") && pod.metadata.deletion_timestamp.is_none()
}

/// When the Ready condition last became True, if the pod is ready.
pub fn ready_since(pod: &Pod) -> Option<Option<Timestamp>> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    let ready = conditions.iter().find(|condition| condition.type_ == "Ready")?;
    (ready.status == "True").then(|| ready.last_transition_time.as_ref().map(|time| time.0))
}

/// The Ready condition is True (`IsPodReady`).
pub fn is_pod_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// Ready for at least `min_ready_seconds` at `now` (`IsPodAvailable`): with a minimum of zero
/// any ready pod is available; otherwise the Ready transition must be strictly older.
pub fn is_pod_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(None) => false,
        Some(Some(since)) => available_from(since, min_ready_seconds) < now,
    }
}

/// When a pod ready since `since` has been ready for `min_ready_seconds`; the last representable
/// time when that lies beyond it (a `lastTransitionTime` near year 9999 from a client).
fn available_from(since: Timestamp, min_ready_seconds: i32) -> Timestamp {
    since.checked_add(SignedDuration::from_secs(i64::from(min_ready_seconds))).unwrap_or(Timestamp::MAX)
}

/// When a ready pod becomes available, if it is ready but not yet available at `now`.
pub fn becomes_available_at(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> Option<Timestamp> {
    let since = ready_since(pod)??;
    let at =
        available_from(since, min_ready_seconds).checked_add(SignedDuration::from_nanos(1)).unwrap_or(Timestamp::MAX);
    (min_ready_seconds > 0 && at > now).then_some(at)
}

/// The pod-deletion-cost annotation, zero when absent or not an int32.
pub fn deletion_cost(pod: &Pod) -> i32 {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(POD_DELETION_COST_ANNOTATION))
        .and_then(|value| value.parse::<i32>().ok())
        .unwrap_or(0)
}

fn node_name(pod: &Pod) -> &str {
    pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()).unwrap_or("")
}

fn phase_ordinal(pod: &Pod) -> u8 {
    match phase(pod) {
        "Unknown" => 1,
        "Running" => 2,
        _ => 0,
    }
}

fn max_container_restarts(pod: &Pod) -> i32 {
    let statuses = pod.status.as_ref().and_then(|status| status.container_statuses.as_ref());
    statuses.into_iter().flatten().map(|status| status.restart_count).max().unwrap_or(0)
}

fn uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or("")
}

/// Rank of a duration on a log2 scale of nanoseconds; -1 for durations not above zero.
fn logarithmic_rank(since: Timestamp, now: Timestamp) -> i64 {
    let nanoseconds = now.duration_since(since).as_nanos();
    if nanoseconds <= 0 { -1 } else { (nanoseconds as f64).log2() as i64 }
}

/// Kubernetes' `afterOrZero`: a zero (missing) time first, then the later time first.
fn after_or_zero(left: Option<Timestamp>, right: Option<Timestamp>) -> bool {
    match (left, right) {
        (None, _) | (_, None) => left.is_none(),
        (Some(left), Some(right)) => left > right,
    }
}

/// Kubernetes' logarithmic time comparison: times of the same log2 age rank compare by uid.
fn newer_first(left: Option<Timestamp>, right: Option<Timestamp>, now: Timestamp, pods: (&Pod, &Pod)) -> bool {
    let (Some(left_time), Some(right_time)) = (left, right) else { return after_or_zero(left, right) };
    let difference = logarithmic_rank(left_time, now) - logarithmic_rank(right_time, now);
    if difference == 0 { uid(pods.0) < uid(pods.1) } else { difference < 0 }
}

/// `ActivePodsWithRanks.Less`: whether `left` should be deleted before `right`. `rank` is the
/// number of related active pods on the same node (more doubled-up pods go first).
fn delete_before(left: (&Pod, usize), right: (&Pod, usize), now: Timestamp) -> bool {
    let ((left, left_rank), (right, right_rank)) = (left, right);
    if node_name(left) != node_name(right) && (node_name(left).is_empty() || node_name(right).is_empty()) {
        return node_name(left).is_empty();
    }
    if phase_ordinal(left) != phase_ordinal(right) {
        return phase_ordinal(left) < phase_ordinal(right);
    }
    if is_pod_ready(left) != is_pod_ready(right) {
        return !is_pod_ready(left);
    }
    if deletion_cost(left) != deletion_cost(right) {
        return deletion_cost(left) < deletion_cost(right);
    }
    if left_rank != right_rank {
        return left_rank > right_rank;
    }
    if is_pod_ready(left) && is_pod_ready(right) {
        let (left_ready, right_ready) = (ready_since(left).flatten(), ready_since(right).flatten());
        if left_ready != right_ready {
            return newer_first(left_ready, right_ready, now, (left, right));
        }
    }
    if max_container_restarts(left) != max_container_restarts(right) {
        return max_container_restarts(left) > max_container_restarts(right);
    }
    let left_created = left.metadata.creation_timestamp.as_ref().map(|time| time.0);
    let right_created = right.metadata.creation_timestamp.as_ref().map(|time| time.0);
    if left_created != right_created {
        return newer_first(left_created, right_created, now, (left, right));
    }
    false
}

/// The pods a ReplicaSet deletes first, most preferred first (`getPodsToDelete` after
/// `getPodsRankedByRelatedPodsOnSameNode`): `related` are the active pods whose node
/// co-location counts. A stable merge sort, so a comparison that is not a total order cannot
/// panic and equal pods keep their input order.
pub fn rank_for_deletion<'a>(pods: &[&'a Pod], related: &[&Pod], now: Timestamp) -> Vec<&'a Pod> {
    let mut on_node: BTreeMap<&str, usize> = BTreeMap::new();
    for pod in related.iter().filter(|pod| is_pod_active(pod)) {
        *on_node.entry(node_name(pod)).or_default() += 1;
    }
    let ranked: Vec<(&'a Pod, usize)> =
        pods.iter().map(|pod| (*pod, on_node.get(node_name(pod)).copied().unwrap_or(0))).collect();
    merge_sort(ranked, &|left, right| delete_before(*left, *right, now)).into_iter().map(|(pod, _)| pod).collect()
}

/// A stable merge sort by a "less" predicate.
pub(crate) fn merge_sort<T: Clone>(items: Vec<T>, less: &dyn Fn(&T, &T) -> bool) -> Vec<T> {
    if items.len() <= 1 {
        return items;
    }
    let mut left = items;
    let right = left.split_off(left.len() / 2);
    let (left, right) = (merge_sort(left, less), merge_sort(right, less));
    let mut merged = Vec::with_capacity(left.len() + right.len());
    let (mut left, mut right) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(first), Some(second)) = (left.peek(), right.peek()) {
        if less(second, first) {
            merged.extend(right.next());
        } else {
            merged.extend(left.next());
        }
    }
    merged.extend(left);
    merged.extend(right);
    merged
}

/// Orders by a key comparison for [`merge_sort`] callers that have one.
pub(crate) fn less_by<T>(compare: impl Fn(&T, &T) -> Ordering) -> impl Fn(&T, &T) -> bool {
    move |left, right| compare(left, right) == Ordering::Less
}
