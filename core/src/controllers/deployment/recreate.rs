//! The Recreate strategy (`recreate.go`): scale every old ReplicaSet to zero, wait until no
//! old pod runs, then scale the new ReplicaSet up.

use k8s_openapi::api::core::v1::Pod;

use super::history::cleanup_deployment;
use super::progress::{deployment_complete, sync_rollout_status};
use super::sync::{Halt, Sync};
use super::util::{actual_replicas, deployment_replicas};
use crate::controllers::owner::controller_of;
use crate::controllers::pods::phase;

/// `rolloutRecreate`.
pub(super) fn rollout_recreate(sync: &mut Sync<'_>, pods: &[Pod]) -> Result<(), Halt> {
    sync.sync_revision(false)?;
    let mut scaled_down = false;
    for index in sync.active_old_indices() {
        scaled_down |= sync.scale_and_record(index, 0);
    }
    if scaled_down || old_pods_running(sync, pods) {
        sync_rollout_status(sync);
        return Ok(());
    }
    if sync.new.is_none() {
        sync.sync_revision(true)?;
    }
    if let Some(new) = sync.new {
        sync.scale_and_record(new, deployment_replicas(&sync.deployment));
    }
    if deployment_complete(&sync.deployment, &sync.status_ref()) {
        cleanup_deployment(sync, &sync.old_indices());
    }
    sync_rollout_status(sync);
    Ok(())
}

/// `oldPodsRunning`: an old ReplicaSet still reports pods, or a pod controlled by one is not
/// yet Succeeded or Failed (Unknown counts as running).
fn old_pods_running(sync: &Sync<'_>, pods: &[Pod]) -> bool {
    let old = sync.old_indices();
    if old.iter().map(|index| actual_replicas(&sync.sets[*index])).sum::<i32>() > 0 {
        return true;
    }
    let old_uids: Vec<&str> = old.iter().filter_map(|index| sync.sets[*index].metadata.uid.as_deref()).collect();
    pods.iter().any(|pod| {
        let owner = controller_of(&pod.metadata).map(|reference| reference.uid.as_str());
        owner.is_some_and(|uid| old_uids.contains(&uid)) && !matches!(phase(pod), "Failed" | "Succeeded")
    })
}
