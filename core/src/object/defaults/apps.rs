//! Defaults of the apps/v1 workloads: Deployment, ReplicaSet, StatefulSet and DaemonSet
//! (`pkg/apis/apps/v1/defaults.go`), and of the pod templates inside them.

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetUpdateStrategy, Deployment, DeploymentStrategy, ReplicaSet, RollingUpdateDaemonSet,
    RollingUpdateDeployment, RollingUpdateStatefulSetStrategy, StatefulSet,
    StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetUpdateStrategy,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::pod::default_pod_template_spec;
use super::storage::default_persistent_volume_claim;
use super::{set_if_empty, set_if_none};

/// Replicas of a workload that does not say.
pub const REPLICAS: i32 = 1;
/// Old ReplicaSets or ControllerRevisions a workload keeps for rollback.
pub const REVISION_HISTORY_LIMIT: i32 = 10;
/// The update strategy of Deployments, StatefulSets and DaemonSets that do not name one.
pub const ROLLING_UPDATE: &str = "RollingUpdate";
/// A Deployment's rolling update may take down this share of the desired pods.
pub const DEPLOYMENT_MAX_UNAVAILABLE: &str = "25%";
/// A Deployment's rolling update may add this share of the desired pods.
pub const DEPLOYMENT_MAX_SURGE: &str = "25%";
/// Seconds without progress after which a Deployment reports `ProgressDeadlineExceeded`.
pub const PROGRESS_DEADLINE_SECONDS: i32 = 600;
/// How a StatefulSet creates and deletes its pods.
pub const POD_MANAGEMENT_POLICY: &str = "OrderedReady";
/// The ordinal from which a StatefulSet's rolling update replaces pods.
pub const STATEFUL_SET_PARTITION: i32 = 0;
/// What happens to a StatefulSet's claims when it is deleted or scaled down.
pub const PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY: &str = "Retain";
/// A DaemonSet's rolling update takes down this many nodes' pods at a time.
pub const DAEMON_SET_MAX_UNAVAILABLE: i32 = 1;
/// A DaemonSet's rolling update starts no new pod before the old one is gone.
pub const DAEMON_SET_MAX_SURGE: i32 = 0;

/// `SetDefaults_Deployment`.
pub fn default_deployment(deployment: &mut Deployment) {
    let spec = deployment.spec.get_or_insert_with(Default::default);
    set_if_none(&mut spec.replicas, REPLICAS);
    let strategy = spec.strategy.get_or_insert_with(DeploymentStrategy::default);
    set_if_empty(&mut strategy.type_, ROLLING_UPDATE);
    if strategy.type_.as_deref() == Some(ROLLING_UPDATE) {
        let rolling_update = strategy.rolling_update.get_or_insert_with(RollingUpdateDeployment::default);
        set_if_none(&mut rolling_update.max_unavailable, IntOrString::String(DEPLOYMENT_MAX_UNAVAILABLE.to_string()));
        set_if_none(&mut rolling_update.max_surge, IntOrString::String(DEPLOYMENT_MAX_SURGE.to_string()));
    }
    set_if_none(&mut spec.revision_history_limit, REVISION_HISTORY_LIMIT);
    set_if_none(&mut spec.progress_deadline_seconds, PROGRESS_DEADLINE_SECONDS);
    default_pod_template_spec(&mut spec.template);
}

/// `SetDefaults_ReplicaSet`.
pub fn default_replica_set(replica_set: &mut ReplicaSet) {
    let spec = replica_set.spec.get_or_insert_with(Default::default);
    set_if_none(&mut spec.replicas, REPLICAS);
    if let Some(template) = &mut spec.template {
        default_pod_template_spec(template);
    }
}

/// `SetDefaults_StatefulSet`, plus the claim defaults of its volumeClaimTemplates.
pub fn default_stateful_set(stateful_set: &mut StatefulSet) {
    let spec = stateful_set.spec.get_or_insert_with(Default::default);
    set_if_empty(&mut spec.pod_management_policy, POD_MANAGEMENT_POLICY);
    let strategy = spec.update_strategy.get_or_insert_with(StatefulSetUpdateStrategy::default);
    if strategy.type_.as_deref().is_none_or(str::is_empty) {
        strategy.type_ = Some(ROLLING_UPDATE.to_string());
        set_if_none(&mut strategy.rolling_update, RollingUpdateStatefulSetStrategy::default());
    }
    if strategy.type_.as_deref() == Some(ROLLING_UPDATE)
        && let Some(rolling_update) = &mut strategy.rolling_update
    {
        set_if_none(&mut rolling_update.partition, STATEFUL_SET_PARTITION);
    }
    let retention = spec
        .persistent_volume_claim_retention_policy
        .get_or_insert_with(StatefulSetPersistentVolumeClaimRetentionPolicy::default);
    set_if_empty(&mut retention.when_deleted, PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY);
    set_if_empty(&mut retention.when_scaled, PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY);
    set_if_none(&mut spec.replicas, REPLICAS);
    set_if_none(&mut spec.revision_history_limit, REVISION_HISTORY_LIMIT);
    default_pod_template_spec(&mut spec.template);
    for claim in spec.volume_claim_templates.iter_mut().flatten() {
        default_persistent_volume_claim(claim);
    }
}

/// `SetDefaults_DaemonSet`.
pub fn default_daemon_set(daemon_set: &mut DaemonSet) {
    let spec = daemon_set.spec.get_or_insert_with(Default::default);
    let strategy = spec.update_strategy.get_or_insert_with(DaemonSetUpdateStrategy::default);
    set_if_empty(&mut strategy.type_, ROLLING_UPDATE);
    if strategy.type_.as_deref() == Some(ROLLING_UPDATE) {
        let rolling_update = strategy.rolling_update.get_or_insert_with(RollingUpdateDaemonSet::default);
        set_if_none(&mut rolling_update.max_unavailable, IntOrString::Int(DAEMON_SET_MAX_UNAVAILABLE));
        set_if_none(&mut rolling_update.max_surge, IntOrString::Int(DAEMON_SET_MAX_SURGE));
    }
    set_if_none(&mut spec.revision_history_limit, REVISION_HISTORY_LIMIT);
    default_pod_template_spec(&mut spec.template);
}
