//! The RollingUpdate strategy (`rolling.go`): grow the new ReplicaSet within maxSurge, shrink
//! old ones within maxUnavailable, unhealthy old replicas first.

use super::history::cleanup_deployment;
use super::progress::{deployment_complete, sync_rollout_status};
use super::sync::{Halt, Sync};
use super::util::{
    available_replicas, by_creation_timestamp, deployment_replicas, max_unavailable, replica_count, spec_replicas,
};

/// `rolloutRolling`: scale up if possible, else scale down, else clean up history.
pub(super) fn rollout_rolling(sync: &mut Sync<'_>) -> Result<(), Halt> {
    sync.sync_revision(true)?;
    if reconcile_new_replica_set(sync) {
        sync_rollout_status(sync);
        return Ok(());
    }
    let active_old = sync.active_old_indices();
    if reconcile_old_replica_sets(sync, active_old) {
        sync_rollout_status(sync);
        return Ok(());
    }
    if deployment_complete(&sync.deployment, &sync.status_ref()) {
        cleanup_deployment(sync, &sync.old_indices());
    }
    sync_rollout_status(sync);
    Ok(())
}

/// `reconcileNewReplicaSet`: the new ReplicaSet's size towards `replicas` within maxSurge.
pub(super) fn reconcile_new_replica_set(sync: &mut Sync<'_>) -> bool {
    let Some(new) = sync.new else { return false };
    let replicas = deployment_replicas(&sync.deployment);
    let current = spec_replicas(&sync.sets[new]);
    if current == replicas {
        return false;
    }
    if current > replicas {
        return sync.scale_and_record(new, replicas);
    }
    let all = sync.refs(&sync.all_indices());
    let Ok(new_replicas) = super::util::new_replica_set_replicas(&sync.deployment, &all, &sync.sets[new]) else {
        return false;
    };
    sync.scale_and_record(new, new_replicas)
}

/// `reconcileOldReplicaSets`: shrink old ReplicaSets without taking availability below
/// `replicas - maxUnavailable`, counting the new ReplicaSet's unavailable pods against it.
pub(super) fn reconcile_old_replica_sets(sync: &mut Sync<'_>, old: Vec<usize>) -> bool {
    let Some(new) = sync.new else { return false };
    if replica_count(&sync.refs(&old)) == 0 {
        return false;
    }
    let mut all = old.clone();
    all.push(new);
    let all_pods = replica_count(&sync.refs(&all));
    let min_available = deployment_replicas(&sync.deployment) - max_unavailable(&sync.deployment);
    let new_unavailable = spec_replicas(&sync.sets[new]) - available_replicas(&sync.sets[new]);
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return false;
    }
    let cleaned = cleanup_unhealthy_replicas(sync, old.clone(), max_scaled_down);
    let scaled_down = scale_down_old_replica_sets_for_rolling_update(sync, old);
    cleaned + scaled_down > 0
}

/// `cleanupUnhealthyReplicas`: scale old ReplicaSets down by their unavailable pods, oldest
/// first, at most `max_cleanup` in all; returns how many were removed.
pub(super) fn cleanup_unhealthy_replicas(sync: &mut Sync<'_>, old: Vec<usize>, max_cleanup: i32) -> i32 {
    let mut total = 0;
    for index in sync.sort_indices(old, by_creation_timestamp) {
        if total >= max_cleanup {
            break;
        }
        let replicas = spec_replicas(&sync.sets[index]);
        let available = available_replicas(&sync.sets[index]);
        if replicas == 0 || replicas == available {
            continue;
        }
        let count = (max_cleanup - total).min(replicas - available);
        sync.scale_and_record(index, replicas - count);
        total += count;
    }
    total
}

/// `scaleDownOldReplicaSetsForRollingUpdate`: remove available old pods while more than
/// `replicas - maxUnavailable` are available, oldest ReplicaSet first.
pub(super) fn scale_down_old_replica_sets_for_rolling_update(sync: &mut Sync<'_>, old: Vec<usize>) -> i32 {
    let min_available = deployment_replicas(&sync.deployment) - max_unavailable(&sync.deployment);
    let mut all = old.clone();
    all.extend(sync.new);
    let available: i32 = all.iter().map(|index| available_replicas(&sync.sets[*index])).sum();
    if available <= min_available {
        return 0;
    }
    let wanted = available - min_available;
    let mut total = 0;
    for index in sync.sort_indices(old, by_creation_timestamp) {
        if total >= wanted {
            break;
        }
        let replicas = spec_replicas(&sync.sets[index]);
        if replicas == 0 {
            continue;
        }
        let count = replicas.min(wanted - total);
        sync.scale_and_record(index, replicas - count);
        total += count;
    }
    total
}
