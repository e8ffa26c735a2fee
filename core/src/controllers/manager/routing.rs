//! Which keys a change wakes up, and which expectations it fulfils: the event handlers each
//! Kubernetes controller registers on its informers (`addPod`, `updatePod`, `deletePod`,
//! `enqueueDeployment`, …), as one pure function.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::caches::{Caches, Observed};
use super::dynamic_routing::route_dynamic;
use super::kinds::ControllerKind;
use super::lookups::{labels_match, owned_by};
use super::node_routing::route_node_controllers;
pub use super::routed::Routed;
use super::stale_disruption::route_pod_to_stale_disruption;
use super::storage_routing::route_storage_controllers;
use crate::client::informer::{Change, key_of};
use crate::controllers::daemonset::eligibility::node_should_run_daemon_pod;
use crate::controllers::daemonset::node_updates::{node_update_concerns, should_ignore_node_update};
use crate::controllers::deployment::util::{Strategy, strategy};
use crate::controllers::endpointslice::SERVICE_NAME_LABEL;
use crate::controllers::owner::controller_of;
use crate::controllers::service_pods::service_selector;
use crate::selector::LabelSelector;

/// Routes one observed change. `caches` already holds the change.
pub fn route(observed: &Observed, caches: &Caches) -> Routed {
    let mut routed = Routed::default();
    match observed {
        Observed::Pod(change) => route_pod(change, caches, &mut routed),
        Observed::ReplicaSet(change) => {
            let set = change.object();
            primary(ControllerKind::ReplicaSet, change, &set.metadata, &mut routed);
            if let Some(owner) = owner_of_kind(&set.metadata, "Deployment") {
                routed.enqueue.push((ControllerKind::Deployment, owner));
            } else if controller_of(&set.metadata).is_none() {
                // An orphan ReplicaSet: every Deployment that selects it may adopt it.
                let namespace = set.metadata.namespace.as_deref().unwrap_or_default();
                for deployment in caches.deployments.in_namespace(namespace) {
                    let selector = deployment.spec.as_ref().map(|spec| &spec.selector);
                    if selects(selector, &set.metadata) {
                        routed.enqueue.push((ControllerKind::Deployment, key_of(&deployment.metadata)));
                    }
                }
            }
        }
        Observed::ReplicationController(change) => {
            primary(ControllerKind::ReplicationController, change, &change.object().metadata, &mut routed);
        }
        Observed::Deployment(change) => {
            primary(ControllerKind::Deployment, change, &change.object().metadata, &mut routed)
        }
        Observed::Job(change) => {
            primary(ControllerKind::Job, change, &change.object().metadata, &mut routed);
            primary(ControllerKind::TtlAfterFinished, change, &change.object().metadata, &mut routed);
            if let Some(owner) = owner_of_kind(&change.object().metadata, "CronJob") {
                routed.enqueue.push((ControllerKind::CronJob, owner));
            }
        }
        Observed::CronJob(change) => primary(ControllerKind::CronJob, change, &change.object().metadata, &mut routed),
        Observed::StatefulSet(change) => {
            primary(ControllerKind::StatefulSet, change, &change.object().metadata, &mut routed)
        }
        Observed::ControllerRevision(change) => {
            let metadata = &change.object().metadata;
            if let Some(owner) = owner_of_kind(metadata, "StatefulSet") {
                routed.enqueue.push((ControllerKind::StatefulSet, owner));
            } else if let Some(owner) = owner_of_kind(metadata, "DaemonSet") {
                routed.enqueue.push((ControllerKind::DaemonSet, owner));
            }
        }
        Observed::DaemonSet(change) => {
            primary(ControllerKind::DaemonSet, change, &change.object().metadata, &mut routed)
        }
        Observed::Node(change) => route_node_to_daemon_sets(change, caches, &mut routed),
        Observed::Service(change) => {
            primary(ControllerKind::Endpoints, change, &change.object().metadata, &mut routed);
            primary(ControllerKind::EndpointSlice, change, &change.object().metadata, &mut routed);
        }
        Observed::EndpointSlice(change) => {
            // A managed slice changed or went away: its Service's slices are re-checked.
            let slice = change.object();
            if let Some(service) = slice.metadata.labels.as_ref().and_then(|labels| labels.get(SERVICE_NAME_LABEL)) {
                let namespace = slice.metadata.namespace.as_deref().unwrap_or_default();
                routed.enqueue.push((ControllerKind::EndpointSlice, format!("{namespace}/{service}")));
            }
        }
        // Claims are read by the StatefulSet controller but, as in Kubernetes, not watched;
        // Endpoints are only written; node topology changes are not routed.
        Observed::PersistentVolumeClaim(_) | Observed::Endpoints(_) => {}
        // Routed below with the other storage-controller changes.
        Observed::PersistentVolume(_) | Observed::StorageClass(_) => {}
        // Routed below with the other node-controller changes.
        Observed::Lease(_) | Observed::HorizontalPodAutoscaler(_) => {}
        Observed::Dynamic(change) => return route_dynamic(change, caches),
    }
    route_node_controllers(observed, caches, &mut routed);
    route_storage_controllers(observed, caches, &mut routed);
    routed
}

/// The DaemonSet controller's node handlers: a new node wakes the DaemonSets that should run
/// there (`addNode`), an update only those whose placement there changed, heartbeats never
/// (`updateNode`), and a deleted node every DaemonSet (its pods there must go).
fn route_node_to_daemon_sets(change: &Change<Node>, caches: &Caches, routed: &mut Routed) {
    let wakes: Box<dyn Fn(&DaemonSet) -> bool> = match change {
        Change::Applied { old: Some(old), new } => {
            if should_ignore_node_update(old, new) {
                return;
            }
            Box::new(move |daemon_set| node_update_concerns(old, new, daemon_set))
        }
        Change::Applied { old: None, new } => Box::new(move |daemon_set| node_should_run_daemon_pod(new, daemon_set).0),
        Change::Deleted(_) => Box::new(|_| true),
    };
    for daemon_set in caches.daemon_sets.iter().filter(|daemon_set| wakes(daemon_set)) {
        routed.enqueue.push((ControllerKind::DaemonSet, key_of(&daemon_set.metadata)));
    }
}

/// A controller's own object changed: sync it, or forget it once deleted.
fn primary<T>(kind: ControllerKind, change: &Change<T>, metadata: &ObjectMeta, routed: &mut Routed) {
    let key = key_of(metadata);
    if matches!(change, Change::Deleted(_)) {
        routed.forget.push((kind, key.clone()));
    }
    routed.enqueue.push((kind, key));
}

fn route_pod(change: &Change<Pod>, caches: &Caches, routed: &mut Routed) {
    let pod = change.object();
    let pod_key = key_of(&pod.metadata);
    let (created, deleted) = match change {
        Change::Applied { old: None, new } => (true, new.metadata.deletion_timestamp.is_some()),
        Change::Applied { old: Some(old), new } => {
            (false, old.metadata.deletion_timestamp.is_none() && new.metadata.deletion_timestamp.is_some())
        }
        Change::Deleted(_) => (false, true),
    };
    // Owners before and after: a pod whose controllerRef changed wakes both.
    let mut owners: BTreeMap<(ControllerKind, String), ()> = BTreeMap::new();
    let metadatas: Vec<&ObjectMeta> = match change {
        Change::Applied { old: Some(old), new } => vec![&old.metadata, &new.metadata],
        _ => vec![&pod.metadata],
    };
    for metadata in metadatas {
        for (owner_kind, controller) in [
            ("ReplicaSet", ControllerKind::ReplicaSet),
            ("ReplicationController", ControllerKind::ReplicationController),
            ("Job", ControllerKind::Job),
            ("StatefulSet", ControllerKind::StatefulSet),
            ("DaemonSet", ControllerKind::DaemonSet),
        ] {
            if let Some(owner) = owner_of_kind(metadata, owner_kind) {
                owners.insert((controller, owner), ());
            }
        }
    }
    for (controller, owner) in owners.keys() {
        if created {
            routed.created.push((*controller, owner.clone()));
        }
        if deleted {
            routed.deleted.push((*controller, owner.clone(), pod_key.clone()));
        }
        routed.enqueue.push((*controller, owner.clone()));
        if *controller == ControllerKind::ReplicaSet && matches!(change, Change::Deleted(_)) {
            route_deleted_pod_to_deployment(owner, caches, routed);
        }
    }
    route_pod_to_services(change, caches, routed);
    route_pod_to_stale_disruption(change, routed);
    if controller_of(&pod.metadata).is_none() && !deleted {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
        for set in caches.stateful_sets.in_namespace(namespace) {
            if selects(set.spec.as_ref().map(|spec| &spec.selector), &pod.metadata) {
                routed.enqueue.push((ControllerKind::StatefulSet, key_of(&set.metadata)));
            }
        }
        for daemon_set in caches.daemon_sets.in_namespace(namespace) {
            if selects(daemon_set.spec.as_ref().map(|spec| &spec.selector), &pod.metadata) {
                routed.enqueue.push((ControllerKind::DaemonSet, key_of(&daemon_set.metadata)));
            }
        }
    }
    if controller_of(&pod.metadata).is_none() && !deleted {
        // An orphan: every controller that selects it may adopt it (`getPodReplicaSets`).
        let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
        for set in caches.replica_sets.in_namespace(namespace) {
            if selects(set.spec.as_ref().map(|spec| &spec.selector), &pod.metadata) {
                routed.enqueue.push((ControllerKind::ReplicaSet, key_of(&set.metadata)));
            }
        }
        for job in caches.jobs.in_namespace(namespace) {
            if selects(job.spec.as_ref().and_then(|spec| spec.selector.as_ref()), &pod.metadata) {
                routed.enqueue.push((ControllerKind::Job, key_of(&job.metadata)));
            }
        }
        for controller in caches.replication_controllers.in_namespace(namespace) {
            let selector = controller.spec.as_ref().and_then(|spec| spec.selector.as_ref());
            let matches = selector.is_some_and(|selector| {
                !selector.is_empty()
                    && selector
                        .iter()
                        .all(|(key, value)| pod.metadata.labels.as_ref().and_then(|l| l.get(key)) == Some(value))
            });
            if matches {
                routed.enqueue.push((ControllerKind::ReplicationController, key_of(&controller.metadata)));
            }
        }
    }
}

/// The Deployment controller's `deletePod`: the pod's Deployment syncs only when its pods are all
/// gone and it rolls out by Recreate (which waits for exactly that). Other pod changes reach a
/// Deployment through its ReplicaSets' status.
fn route_deleted_pod_to_deployment(replica_set_key: &str, caches: &Caches, routed: &mut Routed) {
    let (namespace, name) = replica_set_key.split_once('/').unwrap_or(("", replica_set_key));
    let Some(deployment_key) =
        caches.replica_sets.get(namespace, name).and_then(|set| owner_of_kind(&set.metadata, "Deployment"))
    else {
        return;
    };
    let deployment_name = deployment_key.split_once('/').map_or(deployment_key.as_str(), |(_, name)| name);
    let Some(deployment) = caches.deployments.get(namespace, deployment_name) else { return };
    if strategy(deployment) != Strategy::Recreate {
        return;
    }
    let replica_sets = owned_by(&caches.replica_sets, namespace, deployment.metadata.uid.as_deref());
    let mut pods = replica_sets.flat_map(|set| owned_by(&caches.pods, namespace, set.metadata.uid.as_deref()));
    if pods.next().is_none() {
        routed.enqueue.push((ControllerKind::Deployment, deployment_key));
    }
}

/// Every Service selecting the pod before or after the change re-syncs its Endpoints and
/// EndpointSlices (`getPodServiceMemberships` of old and new).
fn route_pod_to_services(change: &Change<Pod>, caches: &Caches, routed: &mut Routed) {
    let pod = change.object();
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let old_labels = match change {
        Change::Applied { old: Some(old), .. } => old.metadata.labels.as_ref(),
        _ => None,
    };
    for service in caches.services.in_namespace(namespace) {
        let Some(selector) = service_selector(service) else { continue };
        let selected = labels_match(selector, pod.metadata.labels.as_ref())
            || old_labels.is_some_and(|labels| labels_match(selector, Some(labels)));
        if selected {
            let key = key_of(&service.metadata);
            routed.enqueue.push((ControllerKind::Endpoints, key.clone()));
            routed.enqueue.push((ControllerKind::EndpointSlice, key));
        }
    }
}

/// `namespace/name` of the controller of `metadata` when it is of `kind`.
fn owner_of_kind(metadata: &ObjectMeta, kind: &str) -> Option<String> {
    let owner = controller_of(metadata).filter(|owner| owner.kind == kind)?;
    Some(format!("{}/{}", metadata.namespace.as_deref().unwrap_or_default(), owner.name))
}

/// Whether a (non-empty, valid) label selector selects `metadata`'s labels.
fn selects(
    selector: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
    metadata: &ObjectMeta,
) -> bool {
    let Some(selector) = selector else { return false };
    match LabelSelector::from_label_selector(Some(selector)) {
        Ok(parsed) => !parsed.is_empty() && parsed.matches_optional(metadata.labels.as_ref()),
        Err(_) => false,
    }
}
