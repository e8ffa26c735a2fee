//! Scaling without rolling out (`sync` and `scale` in `sync.go`): when a Deployment is paused
//! or only its replicas changed, its ReplicaSets are resized in proportion to their sizes, so
//! a resize mid-rollout neither hastens nor undoes the rollout.

use super::history::cleanup_deployment;
use super::progress::sync_deployment_status;
use super::sync::{Halt, Sync};
use super::util::{
    self, DESIRED_REPLICAS_ANNOTATION, Strategy, by_size_newer, by_size_older, deployment_replicas, get_proportion,
    int_annotation, is_paused, is_saturated, max_surge, spec_replicas,
};

/// `sync`: scale, prune history if paused, update status.
pub(super) fn sync_scaling(sync: &mut Sync<'_>) -> Result<(), Halt> {
    sync.sync_revision(false)?;
    scale(sync);
    if is_paused(&sync.deployment) {
        cleanup_deployment(sync, &sync.old_indices());
    }
    sync_deployment_status(sync);
    Ok(())
}

/// `isScalingEvent`: an active ReplicaSet was last sized for a different `replicas`.
pub(super) fn is_scaling_event(sync: &mut Sync<'_>) -> Result<bool, Halt> {
    sync.sync_revision(false)?;
    let replicas = deployment_replicas(&sync.deployment);
    let all = sync.all_indices();
    Ok(util::filter_active(&sync.refs(&all))
        .iter()
        .filter_map(|replica_set| int_annotation(replica_set, DESIRED_REPLICAS_ANNOTATION))
        .any(|desired| desired != replicas))
}

/// `scale`: the one active ReplicaSet takes all replicas; a saturated new ReplicaSet retires
/// the old ones; otherwise (RollingUpdate) the difference is shared out by `GetProportion`,
/// the leftover going to the first in order (largest, newer first when growing).
pub(super) fn scale(sync: &mut Sync<'_>) {
    let replicas = deployment_replicas(&sync.deployment);
    if let Some(index) = active_or_latest(sync) {
        if spec_replicas(&sync.sets[index]) != replicas {
            sync.scale_and_record(index, replicas);
        }
        return;
    }
    if is_saturated(&sync.deployment, sync.new.map(|index| &sync.sets[index])) {
        for index in sync.active_old_indices() {
            sync.scale_and_record(index, 0);
        }
        return;
    }
    if util::strategy(&sync.deployment) == Strategy::Recreate {
        return;
    }
    let mut active: Vec<usize> = sync.all_indices();
    active.retain(|index| spec_replicas(&sync.sets[*index]) > 0);
    let total = util::replica_count(&sync.refs(&active));
    let allowed = if replicas > 0 { replicas.saturating_add(max_surge(&sync.deployment)) } else { 0 };
    let to_add = allowed - total;
    let operation = match to_add.signum() {
        1 => {
            active = sync.sort_indices(active, by_size_newer);
            "up"
        }
        -1 => {
            active = sync.sort_indices(active, by_size_older);
            "down"
        }
        _ => "",
    };
    let mut added = 0;
    let mut sizes = Vec::with_capacity(active.len());
    for index in &active {
        let replica_set = &sync.sets[*index];
        let proportion = if to_add != 0 { get_proportion(replica_set, &sync.deployment, to_add, added) } else { 0 };
        sizes.push(spec_replicas(replica_set) + proportion);
        added += proportion;
    }
    for (position, index) in active.into_iter().enumerate() {
        if position == 0 && to_add != 0 {
            sizes[0] = (sizes[0] + to_add - added).max(0);
        }
        sync.scale_replica_set(index, sizes[position], operation);
    }
}

/// `FindActiveOrLatest`: the only active ReplicaSet, or the newest when none is active;
/// `None` when several are active.
fn active_or_latest(sync: &Sync<'_>) -> Option<usize> {
    let all = sync.all_indices();
    if all.is_empty() {
        return None;
    }
    let active: Vec<usize> = all.iter().copied().filter(|index| spec_replicas(&sync.sets[*index]) > 0).collect();
    match active.len() {
        0 => sync.new.or_else(|| {
            let old = sync.sort_indices(sync.old_indices(), util::by_creation_timestamp);
            old.last().copied()
        }),
        1 => Some(active[0]),
        _ => None,
    }
}
