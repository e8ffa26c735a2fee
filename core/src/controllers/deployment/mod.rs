//! The Deployment controller (`pkg/controller/deployment`): a Deployment's pod template becomes
//! a ReplicaSet named after the template's hash; changing the template rolls pods from the old
//! ReplicaSets to the new one by the Deployment's strategy; status and conditions report the
//! rollout to `kubectl rollout status`.
//!
//! [`reconcile_deployment`] is `syncDeployment` as a pure function over the observed
//! Deployment, the ReplicaSets and pods of its namespace, and `now`.

mod hash;
pub mod history;
pub mod progress;
mod recreate;
pub mod rollback;
mod rolling;
mod scale;
mod sync;
pub mod util;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

pub use hash::{compute_hash, fnv32a, safe_encode_string};
pub use rollback::rollback_patch;
pub use sync::COMPONENT;

use self::sync::{Sync, selects_everything};
use self::util::Strategy;
use super::action::{EventType, Reconciled};
use super::owner::{Claim, adopt_action, claim, controller_ref, release_action};
use crate::object::kinds::GroupResource;
use crate::selector::{LabelSelector, SelectorError};

/// The replicasets collection, for adoption and release patches.
const REPLICA_SETS: GroupResource = GroupResource { group: "apps", resource: "replicasets" };

/// Why a Deployment could not be reconciled or rolled back.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// `spec.selector` is not a valid label selector.
    #[error("invalid selector of deployment {key}: {source}")]
    InvalidSelector {
        /// `namespace/name` of the Deployment.
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
    /// `kubectl rollout undo` on a paused Deployment.
    #[error(
        "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/{name}' and try again"
    )]
    RollbackOfPausedDeployment {
        /// The Deployment's name.
        name: String,
    },
    /// `kubectl rollout undo` with one revision or none.
    #[error("no rollout history found for deployment {name:?}")]
    NoRolloutHistory {
        /// The Deployment's name.
        name: String,
    },
    /// `kubectl rollout undo --to-revision` names a revision no ReplicaSet has.
    #[error("unable to find specified revision {revision} in history")]
    RevisionNotFound {
        /// The revision asked for.
        revision: i64,
    },
}

/// Reconciles one Deployment (`syncDeployment`).
///
/// `replica_sets` and `pods` are everything of the Deployment's namespace the shell observed;
/// the controller claims (adopts, releases) the ReplicaSets its selector matches, and reads pods
/// only to know, for Recreate, whether old pods still run. The returned actions create the new
/// ReplicaSet, update changed ReplicaSets (full PUTs with their resourceVersion), delete pruned
/// history, and update the Deployment's status (with its revision annotation).
pub fn reconcile_deployment(
    deployment: &Deployment,
    replica_sets: &[ReplicaSet],
    pods: &[Pod],
    now: Timestamp,
) -> Result<Reconciled, DeploymentError> {
    let key = super::replicaset::controller_key(&deployment.metadata);
    let meta_selector = deployment.spec.as_ref().map(|spec| spec.selector.clone()).unwrap_or_default();
    if selects_everything(&meta_selector) {
        return Ok(selecting_everything(deployment, now));
    }
    let selector = LabelSelector::from_label_selector(Some(&meta_selector))
        .map_err(|source| DeploymentError::InvalidSelector { key, source })?;
    let mut claimed = Vec::new();
    let mut claims = Vec::new();
    let reference = controller_ref("apps/v1", "Deployment", &deployment.metadata);
    let namespace = deployment.metadata.namespace.as_deref();
    for replica_set in replica_sets.iter().filter(|replica_set| replica_set.metadata.namespace.as_deref() == namespace)
    {
        match claim(&deployment.metadata, &selector, &replica_set.metadata) {
            Claim::Owned => claimed.push(replica_set.clone()),
            Claim::Adopt => {
                claims.push(adopt_action(REPLICA_SETS, &reference, &replica_set.metadata));
                claimed.push(replica_set.clone());
            }
            Claim::Release => claims.push(release_action(REPLICA_SETS, &reference.uid, &replica_set.metadata)),
            Claim::Ignore => {}
        }
    }
    let mut sync = Sync::new(deployment, claimed, replica_sets, now);
    sync.claims = claims;
    // A halted sync still sends what it decided before halting, as Kubernetes' calls were made.
    let _ = run(&mut sync, pods);
    Ok(sync.finish())
}

/// The body of `syncDeployment` after claiming.
fn run(sync: &mut Sync<'_>, pods: &[Pod]) -> Result<(), sync::Halt> {
    if sync.deployment.metadata.deletion_timestamp.is_some() {
        sync.sync_revision(false)?;
        progress::sync_deployment_status(sync);
        return Ok(());
    }
    progress::check_paused_conditions(sync);
    if util::is_paused(&sync.deployment) || scale::is_scaling_event(sync)? {
        return scale::sync_scaling(sync);
    }
    match util::strategy(&sync.deployment) {
        Strategy::Recreate => recreate::rollout_recreate(sync, pods),
        Strategy::RollingUpdate { .. } => rolling::rollout_rolling(sync),
    }
}

/// A Deployment with an empty selector would take every pod: Kubernetes warns and only
/// records that it saw the generation.
fn selecting_everything(deployment: &Deployment, now: Timestamp) -> Reconciled {
    let mut sync = Sync::new(deployment, Vec::new(), &[], now);
    let message = "This deployment is selecting all pods. A non-empty selector is required.";
    sync.event(EventType::Warning, "SelectingAll", message);
    let generation = deployment.metadata.generation;
    let observed = deployment.status.as_ref().and_then(|status| status.observed_generation);
    if observed.unwrap_or(0) < generation.unwrap_or(0) {
        sync.status().observed_generation = generation;
    }
    sync.finish()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod world_tests;
