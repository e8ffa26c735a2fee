//! Revision history: old ReplicaSets kept for rollback, pruned to `revisionHistoryLimit`
//! (`cleanupDeployment`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Preconditions;

use super::sync::Sync;
use super::util::{actual_replicas, by_revision, revision_history_limit, spec_replicas};
use crate::controllers::action::{Action, PropagationPolicy};
use crate::object::kinds::GroupResource;

/// The replicasets collection.
const REPLICA_SETS: GroupResource = GroupResource { group: "apps", resource: "replicasets" };

/// Deletes the oldest revisions beyond the limit, skipping any that still has pods, wants pods,
/// has a spec its controller has not yet seen, or is already being deleted.
pub(super) fn cleanup_deployment(sync: &mut Sync<'_>, old: &[usize]) {
    let limit = revision_history_limit(&sync.deployment);
    if limit == i32::MAX {
        return;
    }
    let alive: Vec<usize> =
        old.iter().copied().filter(|index| sync.sets[*index].metadata.deletion_timestamp.is_none()).collect();
    let surplus = alive.len() as i64 - i64::from(limit.max(0));
    if surplus <= 0 {
        return;
    }
    let alive = sync.sort_indices(alive, by_revision);
    for index in alive.into_iter().take(surplus as usize) {
        let replica_set = &sync.sets[index];
        let generation = replica_set.metadata.generation.unwrap_or(0);
        let observed = replica_set.status.as_ref().and_then(|status| status.observed_generation).unwrap_or(0);
        if actual_replicas(replica_set) != 0 || spec_replicas(replica_set) != 0 || generation > observed {
            continue;
        }
        sync.deletes.push(Action::Delete {
            resource: REPLICA_SETS,
            namespace: replica_set.metadata.namespace.clone().unwrap_or_default(),
            name: replica_set.metadata.name.clone().unwrap_or_default(),
            preconditions: Preconditions {
                uid: replica_set.metadata.uid.clone(),
                resource_version: replica_set.metadata.resource_version.clone(),
            },
            propagation_policy: Some(PropagationPolicy::Background),
        });
    }
}
