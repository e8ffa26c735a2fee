//! The controllers the manager runs, by name, as `kube-controller-manager --controllers` names
//! them, with how each one reconciles a key from the shared caches.

use std::collections::BTreeSet;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ControllerRevision, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::jiff::Timestamp;

use super::caches::Caches;
use super::dynamic_kinds;
use crate::controllers::endpointslice::SERVICE_NAME_LABEL;
use crate::controllers::expectations::ControllerExpectations;
use crate::controllers::owner::controller_of;
use crate::controllers::service_pods::service_selector;
use crate::controllers::{
    FailedPodsBackoff, Reconciled, reconcile_cron_job, reconcile_daemon_set, reconcile_deployment,
    reconcile_endpoint_slices, reconcile_endpoints, reconcile_job, reconcile_replica_set,
    reconcile_replication_controller, reconcile_stateful_set, reconcile_taint_eviction, reconcile_ttl_after_finished,
};

/// One controller of the manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ControllerKind {
    /// `replicaset`.
    ReplicaSet,
    /// `replicationcontroller`.
    ReplicationController,
    /// `deployment`.
    Deployment,
    /// `job`.
    Job,
    /// `ttl-after-finished`.
    TtlAfterFinished,
    /// `statefulset`.
    StatefulSet,
    /// `endpoints`.
    Endpoints,
    /// `endpointslice`.
    EndpointSlice,
    /// `daemonset`.
    DaemonSet,
    /// `cronjob`.
    CronJob,
    /// `nodeipam`.
    NodeIpam,
    /// `node-lifecycle`.
    NodeLifecycle,
    /// `taint-eviction-controller`.
    TaintEviction,
    /// `horizontalpodautoscaling`.
    HorizontalPodAutoscaling,
    /// `garbagecollector`.
    GarbageCollector,
    /// `namespace`.
    Namespace,
    /// `disruption`.
    Disruption,
    /// `serviceaccount`.
    ServiceAccount,
    /// `resourcequota`.
    ResourceQuota,
}

impl ControllerKind {
    /// Every controller, in the order the manager starts them.
    pub const ALL: [ControllerKind; 19] = [
        ControllerKind::ReplicaSet,
        ControllerKind::ReplicationController,
        ControllerKind::Deployment,
        ControllerKind::Job,
        ControllerKind::TtlAfterFinished,
        ControllerKind::StatefulSet,
        ControllerKind::Endpoints,
        ControllerKind::EndpointSlice,
        ControllerKind::DaemonSet,
        ControllerKind::CronJob,
        ControllerKind::NodeIpam,
        ControllerKind::NodeLifecycle,
        ControllerKind::TaintEviction,
        ControllerKind::HorizontalPodAutoscaling,
        ControllerKind::GarbageCollector,
        ControllerKind::Namespace,
        ControllerKind::Disruption,
        ControllerKind::ServiceAccount,
        ControllerKind::ResourceQuota,
    ];

    /// The name `--controllers` uses.
    pub fn name(self) -> &'static str {
        match self {
            ControllerKind::ReplicaSet => "replicaset",
            ControllerKind::ReplicationController => "replicationcontroller",
            ControllerKind::Deployment => "deployment",
            ControllerKind::Job => "job",
            ControllerKind::TtlAfterFinished => "ttl-after-finished",
            ControllerKind::StatefulSet => "statefulset",
            ControllerKind::Endpoints => "endpoints",
            ControllerKind::EndpointSlice => "endpointslice",
            ControllerKind::DaemonSet => "daemonset",
            ControllerKind::CronJob => "cronjob",
            ControllerKind::NodeIpam => "nodeipam",
            ControllerKind::NodeLifecycle => "node-lifecycle",
            ControllerKind::TaintEviction => "taint-eviction-controller",
            ControllerKind::HorizontalPodAutoscaling => "horizontalpodautoscaling",
            ControllerKind::GarbageCollector => "garbagecollector",
            ControllerKind::Namespace => "namespace",
            ControllerKind::Disruption => "disruption",
            ControllerKind::ServiceAccount => "serviceaccount",
            ControllerKind::ResourceQuota => "resourcequota",
        }
    }

    /// The controller named `name`, if any.
    pub fn from_name(name: &str) -> Option<ControllerKind> {
        ControllerKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Whether the controller reads every served kind, so the manager must run the dynamic
    /// informers for it.
    pub fn reads_every_kind(self) -> bool {
        matches!(
            self,
            ControllerKind::GarbageCollector
                | ControllerKind::Namespace
                | ControllerKind::Disruption
                | ControllerKind::ServiceAccount
                | ControllerKind::ResourceQuota
        )
    }

    /// Whether the controller keeps creation/deletion expectations.
    pub fn uses_expectations(self) -> bool {
        matches!(
            self,
            ControllerKind::ReplicaSet
                | ControllerKind::ReplicationController
                | ControllerKind::Job
                | ControllerKind::DaemonSet
        )
    }

    /// Whether the controller keeps memory between syncs that the manager's
    /// [`NodeControllers`](super::node_state::NodeControllers) holds, and is reconciled there.
    pub fn uses_node_state(self) -> bool {
        matches!(
            self,
            ControllerKind::NodeIpam | ControllerKind::NodeLifecycle | ControllerKind::HorizontalPodAutoscaling
        )
    }

    /// Reconciles `namespace/name` from the caches. `Ok(None)`: the object is gone (its
    /// expectations are dropped). `manage_error` is the failure of the previous sync's writes,
    /// which ReplicaSets report as the ReplicaFailure condition. `backoff` is the DaemonSet
    /// controller's memory of failed pods per node.
    #[allow(clippy::too_many_arguments)]
    pub fn reconcile(
        self,
        caches: &Caches,
        namespace: &str,
        name: &str,
        manage_error: Option<&str>,
        expectations: &mut ControllerExpectations,
        backoff: &mut FailedPodsBackoff,
        now: Timestamp,
    ) -> Result<Option<Reconciled>, String> {
        let text = |error: &dyn std::fmt::Display| error.to_string();
        match self {
            ControllerKind::ReplicaSet => {
                let Some(replica_set) = caches.replica_sets.get(namespace, name) else { return Ok(None) };
                let pods = candidate_pods(caches, namespace, replica_set.metadata.uid.as_deref());
                reconcile_replica_set(replica_set, &pods, manage_error, expectations, now)
                    .map(Some)
                    .map_err(|e| text(&e))
            }
            ControllerKind::ReplicationController => {
                let Some(controller) = caches.replication_controllers.get(namespace, name) else { return Ok(None) };
                let pods = candidate_pods(caches, namespace, controller.metadata.uid.as_deref());
                reconcile_replication_controller(controller, &pods, manage_error, expectations, now)
                    .map(Some)
                    .map_err(|e| text(&e))
            }
            ControllerKind::Deployment => {
                let Some(deployment) = caches.deployments.get(namespace, name) else { return Ok(None) };
                let uid = deployment.metadata.uid.as_deref();
                let replica_sets: Vec<ReplicaSet> = caches
                    .replica_sets
                    .in_namespace(namespace)
                    .filter(|set| controller_of(&set.metadata).is_none_or(|owner| Some(owner.uid.as_str()) == uid))
                    .map(|set| set.as_ref().clone())
                    .collect();
                let owned: BTreeSet<&str> = replica_sets.iter().filter_map(|set| set.metadata.uid.as_deref()).collect();
                let pods: Vec<Pod> = caches
                    .pods
                    .in_namespace(namespace)
                    .filter(|pod| controller_of(&pod.metadata).is_some_and(|owner| owned.contains(owner.uid.as_str())))
                    .map(|pod| pod.as_ref().clone())
                    .collect();
                reconcile_deployment(deployment, &replica_sets, &pods, now).map(Some).map_err(|e| text(&e))
            }
            ControllerKind::Job => {
                let Some(job) = caches.jobs.get(namespace, name) else { return Ok(None) };
                let pods = candidate_pods(caches, namespace, job.metadata.uid.as_deref());
                reconcile_job(job, &pods, expectations, now).map(Some).map_err(|e| text(&e))
            }
            ControllerKind::TtlAfterFinished => {
                let Some(job) = caches.jobs.get(namespace, name) else { return Ok(None) };
                reconcile_ttl_after_finished(job, now).map(Some).map_err(|e| text(&e))
            }
            ControllerKind::StatefulSet => {
                let Some(set) = caches.stateful_sets.get(namespace, name) else { return Ok(None) };
                let uid = set.metadata.uid.as_deref();
                let pods = candidate_pods(caches, namespace, uid);
                // Claims are named `<template>-<set>-<ordinal>`.
                let infix = format!("-{name}-");
                let claims: Vec<PersistentVolumeClaim> = caches
                    .persistent_volume_claims
                    .in_namespace(namespace)
                    .filter(|claim| claim.metadata.name.as_deref().is_some_and(|claim| claim.contains(&infix)))
                    .map(|claim| claim.as_ref().clone())
                    .collect();
                let revisions = candidate_revisions(caches, namespace, uid);
                reconcile_stateful_set(set, &pods, &claims, &revisions, now).map(Some).map_err(|e| text(&e))
            }
            ControllerKind::Endpoints => {
                let service = caches.services.get(namespace, name).map(|service| service.as_ref());
                let endpoints = caches.endpoints.get(namespace, name).map(|endpoints| endpoints.as_ref());
                if service.is_none() && endpoints.is_none() {
                    return Ok(None);
                }
                let pods = selected_pods(caches, namespace, service.and_then(service_selector));
                Ok(Some(reconcile_endpoints(namespace, name, service, endpoints, &pods)))
            }
            ControllerKind::EndpointSlice => {
                let Some(service) = caches.services.get(namespace, name) else { return Ok(None) };
                let pods = selected_pods(caches, namespace, service_selector(service));
                let slices: Vec<EndpointSlice> = caches
                    .endpoint_slices
                    .in_namespace(namespace)
                    .filter(|slice| {
                        slice
                            .metadata
                            .labels
                            .as_ref()
                            .and_then(|labels| labels.get(SERVICE_NAME_LABEL))
                            .map(String::as_str)
                            == Some(name)
                    })
                    .map(|slice| slice.as_ref().clone())
                    .collect();
                let nodes: Vec<Node> = caches.nodes.iter().map(|node| node.as_ref().clone()).collect();
                Ok(Some(reconcile_endpoint_slices(service, &pods, &nodes, &slices)))
            }
            ControllerKind::DaemonSet => {
                let Some(daemon_set) = caches.daemon_sets.get(namespace, name) else { return Ok(None) };
                let uid = daemon_set.metadata.uid.as_deref();
                let pods = candidate_pods(caches, namespace, uid);
                let revisions = candidate_revisions(caches, namespace, uid);
                let nodes: Vec<Node> = caches.nodes.iter().map(|node| node.as_ref().clone()).collect();
                reconcile_daemon_set(daemon_set, &nodes, &pods, &revisions, expectations, backoff, now)
                    .map(Some)
                    .map_err(|e| text(&e))
            }
            ControllerKind::CronJob => {
                let Some(cron_job) = caches.cron_jobs.get(namespace, name) else { return Ok(None) };
                let uid = cron_job.metadata.uid.as_deref();
                let jobs: Vec<Job> = caches
                    .jobs
                    .in_namespace(namespace)
                    .filter(|job| controller_of(&job.metadata).is_some_and(|owner| Some(owner.uid.as_str()) == uid))
                    .map(|job| job.as_ref().clone())
                    .collect();
                Ok(Some(reconcile_cron_job(cron_job, &jobs, now)))
            }
            ControllerKind::TaintEviction => {
                let Some(node) = caches.nodes.get("", name) else { return Ok(None) };
                let pods: Vec<Pod> = caches
                    .pods
                    .iter()
                    .filter(|pod| pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()) == Some(name))
                    .map(|pod| pod.as_ref().clone())
                    .collect();
                Ok(Some(reconcile_taint_eviction(node, &pods, now)))
            }
            ControllerKind::NodeIpam | ControllerKind::NodeLifecycle | ControllerKind::HorizontalPodAutoscaling => {
                Err(format!("{} is reconciled with the manager's node state", self.name()))
            }
            ControllerKind::GarbageCollector => dynamic_kinds::reconcile_garbage_collector_key(caches, name, now),
            ControllerKind::Namespace => dynamic_kinds::reconcile_namespace_key(caches, name, now),
            ControllerKind::Disruption => dynamic_kinds::reconcile_disruption_key(caches, namespace, name, now),
            ControllerKind::ServiceAccount => dynamic_kinds::reconcile_service_account_key(caches, name),
            ControllerKind::ResourceQuota => dynamic_kinds::reconcile_resource_quota_key(caches, namespace, name, now),
        }
    }
}

/// The pods a controller with `owner_uid` may claim: those it controls and the orphans. Pods
/// controlled by someone else are never its business, so they are not even copied.
fn candidate_pods(caches: &Caches, namespace: &str, owner_uid: Option<&str>) -> Vec<Pod> {
    caches
        .pods
        .in_namespace(namespace)
        .filter(|pod| controller_of(&pod.metadata).is_none_or(|owner| Some(owner.uid.as_str()) == owner_uid))
        .map(|pod| pod.as_ref().clone())
        .collect()
}

/// The namespace's pods a Service's selector selects; none without a selector.
fn selected_pods(caches: &Caches, namespace: &str, selector: Option<&BTreeMap<String, String>>) -> Vec<Pod> {
    let Some(selector) = selector else { return Vec::new() };
    caches
        .pods
        .in_namespace(namespace)
        .filter(|pod| labels_match(selector, pod.metadata.labels.as_ref()))
        .map(|pod| pod.as_ref().clone())
        .collect()
}

/// Whether `labels` carry every pair of a map selector.
pub(super) fn labels_match(selector: &BTreeMap<String, String>, labels: Option<&BTreeMap<String, String>>) -> bool {
    selector.iter().all(|(key, value)| labels.and_then(|labels| labels.get(key)) == Some(value))
}

/// The revisions a controller with `owner_uid` may claim: its own and the orphans.
fn candidate_revisions(caches: &Caches, namespace: &str, owner_uid: Option<&str>) -> Vec<ControllerRevision> {
    caches
        .controller_revisions
        .in_namespace(namespace)
        .filter(|revision| controller_of(&revision.metadata).is_none_or(|owner| Some(owner.uid.as_str()) == owner_uid))
        .map(|revision| revision.as_ref().clone())
        .collect()
}
