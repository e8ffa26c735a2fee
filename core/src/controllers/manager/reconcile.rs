//! How each controller reconciles one key from the shared caches: what it reads (through the
//! caches' indexes) and which pure reconcile it calls.

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::jiff::Timestamp;

use super::caches::{BY_LABEL, BY_NODE_NAME, BY_SERVICE, Caches};
use super::dynamic_kinds;
use super::kinds::ControllerKind;
use super::lookups::{borrowed, cloned, owned_by, owned_or_orphans, pods_selected_by_map};
use super::stale_disruption::{reconcile_stale_pod_key, stale_pod_namespace};
use crate::controllers::deployment::util::{Strategy, strategy};
use crate::controllers::expectations::ControllerExpectations;
use crate::controllers::job::{JOB_NAME_LABEL, release_finalizers_of_deleted_job};
use crate::controllers::service_pods::service_selector;
use crate::controllers::{
    FailedPodsBackoff, Reconciled, reconcile_cron_job, reconcile_daemon_set, reconcile_deployment,
    reconcile_endpoint_slices, reconcile_endpoints, reconcile_job, reconcile_replica_set,
    reconcile_replication_controller, reconcile_stateful_set, reconcile_taint_eviction, reconcile_ttl_after_finished,
};

/// Reconciles `namespace/name` from the caches. `Ok(None)`: the object is gone (its
/// expectations are dropped). `manage_error` is the failure of the previous sync's writes,
/// which ReplicaSets report as the ReplicaFailure condition. `backoff` is the DaemonSet
/// controller's memory of failed pods per node.
#[allow(clippy::too_many_arguments)]
pub fn reconcile(
    kind: ControllerKind,
    caches: &Caches,
    namespace: &str,
    name: &str,
    manage_error: Option<&str>,
    expectations: &mut ControllerExpectations,
    backoff: &mut FailedPodsBackoff,
    now: Timestamp,
) -> Result<Option<Reconciled>, String> {
    let text = |error: &dyn std::fmt::Display| error.to_string();
    match kind {
        ControllerKind::ReplicaSet => {
            let Some(replica_set) = caches.replica_sets.get(namespace, name) else { return Ok(None) };
            let pods = borrowed(&owned_or_orphans(&caches.pods, namespace, replica_set.metadata.uid.as_deref()));
            reconcile_replica_set(replica_set, &pods, manage_error, expectations, now).map(Some).map_err(|e| text(&e))
        }
        ControllerKind::ReplicationController => {
            let Some(controller) = caches.replication_controllers.get(namespace, name) else { return Ok(None) };
            let pods = borrowed(&owned_or_orphans(&caches.pods, namespace, controller.metadata.uid.as_deref()));
            reconcile_replication_controller(controller, &pods, manage_error, expectations, now)
                .map(Some)
                .map_err(|e| text(&e))
        }
        ControllerKind::Deployment => {
            let Some(deployment) = caches.deployments.get(namespace, name) else { return Ok(None) };
            let replica_sets = owned_or_orphans(&caches.replica_sets, namespace, deployment.metadata.uid.as_deref());
            // Only a Recreate rollout reads pods (to wait for the old ones to stop).
            let pods: Vec<Pod> = if strategy(deployment) == Strategy::Recreate {
                let mut pods: Vec<_> = replica_sets
                    .iter()
                    .flat_map(|set| owned_by(&caches.pods, namespace, set.metadata.uid.as_deref()))
                    .collect();
                pods.sort_by(|left, right| left.metadata.name.cmp(&right.metadata.name));
                cloned(&pods)
            } else {
                Vec::new()
            };
            let replica_sets: Vec<ReplicaSet> = cloned(&replica_sets);
            reconcile_deployment(deployment, &replica_sets, &pods, now).map(Some).map_err(|e| text(&e))
        }
        ControllerKind::Job => {
            let Some(job) = caches.jobs.get(namespace, name) else {
                return Ok(released_job_pods(caches, namespace, name));
            };
            let pods = borrowed(&owned_or_orphans(&caches.pods, namespace, job.metadata.uid.as_deref()));
            reconcile_job(job, &pods, expectations, now).map(Some).map_err(|e| text(&e))
        }
        ControllerKind::TtlAfterFinished => {
            let Some(job) = caches.jobs.get(namespace, name) else { return Ok(None) };
            reconcile_ttl_after_finished(job, now).map(Some).map_err(|e| text(&e))
        }
        ControllerKind::StatefulSet => {
            let Some(set) = caches.stateful_sets.get(namespace, name) else { return Ok(None) };
            let uid = set.metadata.uid.as_deref();
            let pods = cloned(&owned_or_orphans(&caches.pods, namespace, uid));
            // Claims are named `<template>-<set>-<ordinal>`.
            let infix = format!("-{name}-");
            let claims: Vec<PersistentVolumeClaim> = caches
                .persistent_volume_claims
                .in_namespace(namespace)
                .filter(|claim| claim.metadata.name.as_deref().is_some_and(|claim| claim.contains(&infix)))
                .map(|claim| claim.as_ref().clone())
                .collect();
            let revisions = cloned(&owned_or_orphans(&caches.controller_revisions, namespace, uid));
            reconcile_stateful_set(set, &pods, &claims, &revisions, now).map(Some).map_err(|e| text(&e))
        }
        ControllerKind::Endpoints => {
            let service = caches.services.get(namespace, name).map(|service| service.as_ref());
            let endpoints = caches.endpoints.get(namespace, name).map(|endpoints| endpoints.as_ref());
            if service.is_none() && endpoints.is_none() {
                return Ok(None);
            }
            let pods = borrowed(&pods_selected_by_map(caches, namespace, service.and_then(service_selector)));
            Ok(Some(reconcile_endpoints(namespace, name, service, endpoints, &pods)))
        }
        ControllerKind::EndpointSlice => {
            let Some(service) = caches.services.get(namespace, name) else { return Ok(None) };
            let pods = borrowed(&pods_selected_by_map(caches, namespace, service_selector(service)));
            let service_key = format!("{namespace}/{name}");
            let slices: Vec<EndpointSlice> =
                caches.endpoint_slices.by_index(BY_SERVICE, &service_key).map(|slice| slice.as_ref().clone()).collect();
            Ok(Some(reconcile_endpoint_slices(service, &pods, &caches.nodes, &slices)))
        }
        ControllerKind::DaemonSet => {
            let Some(daemon_set) = caches.daemon_sets.get(namespace, name) else { return Ok(None) };
            let uid = daemon_set.metadata.uid.as_deref();
            let pods = cloned(&owned_or_orphans(&caches.pods, namespace, uid));
            let revisions = cloned(&owned_or_orphans(&caches.controller_revisions, namespace, uid));
            let nodes = caches.nodes.iter().map(AsRef::as_ref);
            reconcile_daemon_set(daemon_set, nodes, &pods, &revisions, expectations, backoff, now)
                .map(Some)
                .map_err(|e| text(&e))
        }
        ControllerKind::CronJob => {
            let Some(cron_job) = caches.cron_jobs.get(namespace, name) else { return Ok(None) };
            let jobs: Vec<Job> = owned_by(&caches.jobs, namespace, cron_job.metadata.uid.as_deref())
                .map(|job| job.as_ref().clone())
                .collect();
            Ok(Some(reconcile_cron_job(cron_job, &jobs, now)))
        }
        ControllerKind::TaintEviction => {
            let Some(node) = caches.nodes.get("", name) else { return Ok(None) };
            let pods: Vec<&Pod> = caches.pods.by_index(BY_NODE_NAME, name).map(AsRef::as_ref).collect();
            Ok(Some(reconcile_taint_eviction(node, &pods, now)))
        }
        ControllerKind::NodeIpam | ControllerKind::NodeLifecycle | ControllerKind::HorizontalPodAutoscaling => {
            Err(format!("{} is reconciled with the manager's node state", kind.name()))
        }
        ControllerKind::PersistentVolumeBinder
        | ControllerKind::PvcProtection
        | ControllerKind::PvProtection
        | ControllerKind::PodGarbageCollector => Err(format!("{} is reconciled by storage_reconcile", kind.name())),
        ControllerKind::GarbageCollector => dynamic_kinds::reconcile_garbage_collector_key(caches, name, now),
        ControllerKind::Namespace => dynamic_kinds::reconcile_namespace_key(caches, name, now),
        ControllerKind::Disruption => match stale_pod_namespace(namespace) {
            Some(pod_namespace) => reconcile_stale_pod_key(caches, pod_namespace, name, now),
            None => dynamic_kinds::reconcile_disruption_key(caches, namespace, name, now),
        },
        ControllerKind::ServiceAccount => dynamic_kinds::reconcile_service_account_key(caches, name),
        ControllerKind::ResourceQuota => dynamic_kinds::reconcile_resource_quota_key(caches, namespace, name, now),
    }
}

/// A deleted Job's pods, found by their job-name label, lose the tracking finalizer; `None`
/// once none is left to release.
fn released_job_pods(caches: &Caches, namespace: &str, name: &str) -> Option<Reconciled> {
    let labelled = format!("{namespace}/{JOB_NAME_LABEL}={name}");
    let pods: Vec<&Pod> = caches.pods.by_index(BY_LABEL, &labelled).map(AsRef::as_ref).collect();
    let released = release_finalizers_of_deleted_job(namespace, name, &pods);
    (!released.actions.is_empty()).then_some(released)
}
