//! The informers the controller manager shares between its controllers (client-go's shared
//! informer factory): one list+watch per kind, whatever the number of controllers reading it,
//! with the secondary indexes the controllers look things up by (client-go's indexers), so a
//! sync reads what concerns its key instead of scanning a namespace or the cluster.

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    Endpoints, Node, PersistentVolume, PersistentVolumeClaim, Pod, ReplicationController, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::jiff::Timestamp;

use super::dynamic::{DynamicCaches, DynamicObserved};
use crate::client::informer::{Cached, Change, Informer};
use crate::client::{Incoming, Outgoing, RequestId};
use crate::controllers::endpointslice::SERVICE_NAME_LABEL;
use crate::controllers::node_lifecycle::NODE_LEASE_NAMESPACE;
use crate::controllers::owner::controller_of;
use crate::controllers::podgc::is_pod_terminated;
use crate::scheduler::plugins::volume_helpers::{pod_claims, volume_class};

/// The index of objects by the uid of their controller (`controller: true` ownerReference).
pub const BY_CONTROLLER_UID: &str = "controller-uid";
/// The index of objects without a controller, by namespace: the orphans a controller may adopt.
pub const ORPHANS_BY_NAMESPACE: &str = "orphans";
/// The index of pods by `spec.nodeName`.
pub const BY_NODE_NAME: &str = "node-name";
/// The index of objects by each of their labels, as `namespace/key=value`.
pub const BY_LABEL: &str = "label";
/// The index of pods by each claim they use, as `namespace/claim`.
pub const BY_CLAIM: &str = "claim";
/// The index of terminated pods, all under [`TERMINATED`].
pub const BY_POD_GC: &str = "podgc";
/// The one value of [`BY_POD_GC`].
pub const TERMINATED: &str = "terminated";
/// The index of PersistentVolumes by their class.
pub const BY_STORAGE_CLASS: &str = "storage-class";
/// The index of PersistentVolumes by the claim their `claimRef` names, as `namespace/name`.
pub const BY_CLAIM_REF: &str = "claim-ref";
/// The index of EndpointSlices by the Service they belong to, as `namespace/service`.
pub const BY_SERVICE: &str = "service";

/// Declares the shared caches: a field per kind, the matching [`Observed`] variant, and the
/// plumbing that polls and feeds every informer.
macro_rules! shared_caches {
    ($($field:ident: $kind:ty => $variant:ident),* $(,)?) => {
        /// The shared informers, one per kind the controllers read.
        #[derive(Debug, Default)]
        pub struct Caches {
            $(
                #[doc = concat!("Every `", stringify!($kind), "` in the cluster.")]
                pub $field: Informer<$kind>,
            )*
            /// Every object of every served kind, when a controller that reads them all runs.
            pub dynamic: DynamicCaches,
        }

        /// One change seen by one of the shared informers.
        #[derive(Clone, Debug)]
        pub enum Observed {
            $(
                #[doc = concat!("A `", stringify!($kind), "` changed.")]
                $variant(Change<$kind>),
            )*
            /// The dynamic caches saw a change.
            Dynamic(DynamicObserved),
        }

        impl Caches {
            /// Adds the informers' due requests to `outgoing`.
            pub fn poll_requests(&mut self, now: Timestamp, next_id: &mut RequestId, outgoing: &mut Vec<Outgoing>) {
                $( outgoing.extend(self.$field.poll_request(now, next_id)); )*
                self.dynamic.poll_requests(now, next_id, outgoing);
            }

            /// Offers an input to each informer; `None` when none of them sent its request.
            pub fn handle(&mut self, input: &Incoming, now: Timestamp) -> Option<Vec<Observed>> {
                $(
                    if let Some(changes) = self.$field.handle(input, now) {
                        return Some(changes.into_iter().map(Observed::$variant).collect());
                    }
                )*
                self.dynamic.handle(input, now).map(|changes| changes.into_iter().map(Observed::Dynamic).collect())
            }

            /// Whether every informer has finished its first list.
            pub fn has_synced(&self) -> bool {
                self.dynamic.has_synced() $( && self.$field.has_synced() )*
            }

            /// The earliest retry an informer is waiting for.
            pub fn next_wake(&self) -> Option<Timestamp> {
                [$( self.$field.next_wake(), )* self.dynamic.next_wake()].into_iter().flatten().min()
            }
        }
    };
}

impl Caches {
    /// Empty caches with the indexes the controllers read, the node Leases only (the node
    /// lifecycle controller watches kube-node-lease, not every Lease), and no dynamic caches.
    pub fn indexed() -> Caches {
        Caches {
            pods: owned(Informer::new())
                .with_index(BY_NODE_NAME, pod_node_name)
                .with_index(BY_LABEL, namespaced_labels)
                .with_index(BY_CLAIM, pod_claim_keys)
                .with_index(BY_POD_GC, pod_gc_class),
            persistent_volumes: Informer::new()
                .with_index(BY_STORAGE_CLASS, volume_storage_class)
                .with_index(BY_CLAIM_REF, volume_claim_ref),
            replica_sets: owned(Informer::new()),
            jobs: owned(Informer::new()),
            controller_revisions: owned(Informer::new()),
            endpoint_slices: Informer::new().with_index(BY_SERVICE, slice_service),
            leases: Informer::for_namespace(NODE_LEASE_NAMESPACE),
            ..Caches::default()
        }
    }
}

/// The informer, with the indexes of who controls what and of the orphans to adopt.
fn owned<T: Cached>(informer: Informer<T>) -> Informer<T> {
    informer.with_index(BY_CONTROLLER_UID, controller_uid).with_index(ORPHANS_BY_NAMESPACE, orphan_namespace)
}

/// The uid of the object's controller.
fn controller_uid<T: Cached>(object: &T) -> Vec<String> {
    controller_of(object.object_meta()).map(|owner| owner.uid.clone()).into_iter().collect()
}

/// The namespace of an object without a controller.
fn orphan_namespace<T: Cached>(object: &T) -> Vec<String> {
    let metadata = object.object_meta();
    if controller_of(metadata).is_some() {
        return Vec::new();
    }
    vec![metadata.namespace.clone().unwrap_or_default()]
}

/// The node a pod is bound to.
fn pod_node_name(pod: &Pod) -> Vec<String> {
    pod.spec.as_ref().and_then(|spec| spec.node_name.clone()).filter(|name| !name.is_empty()).into_iter().collect()
}

/// `namespace/claim` for each claim the pod uses.
fn pod_claim_keys(pod: &Pod) -> Vec<String> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    pod_claims(pod).into_iter().map(|claim| format!("{namespace}/{}", claim.name)).collect()
}

/// [`TERMINATED`] for a terminated pod.
fn pod_gc_class(pod: &Pod) -> Vec<String> {
    if is_pod_terminated(pod) { vec![TERMINATED.to_string()] } else { Vec::new() }
}

/// A volume's class.
fn volume_storage_class(volume: &PersistentVolume) -> Vec<String> {
    vec![volume_class(volume).to_string()]
}

/// `namespace/name` of the claim a volume's `claimRef` names.
fn volume_claim_ref(volume: &PersistentVolume) -> Vec<String> {
    let reference = volume.spec.as_ref().and_then(|spec| spec.claim_ref.as_ref());
    reference
        .map(|reference| {
            format!(
                "{}/{}",
                reference.namespace.as_deref().unwrap_or_default(),
                reference.name.as_deref().unwrap_or_default()
            )
        })
        .into_iter()
        .collect()
}

/// `namespace/key=value` for each label of the object.
fn namespaced_labels<T: Cached>(object: &T) -> Vec<String> {
    let metadata = object.object_meta();
    let namespace = metadata.namespace.as_deref().unwrap_or_default();
    metadata.labels.iter().flatten().map(|(key, value)| label_index_value(namespace, key, value)).collect()
}

/// The [`BY_LABEL`] value of one label in one namespace.
pub fn label_index_value(namespace: &str, key: &str, value: &str) -> String {
    format!("{namespace}/{key}={value}")
}

/// `namespace/service` of a slice labelled with its Service's name.
fn slice_service(slice: &EndpointSlice) -> Vec<String> {
    let namespace = slice.metadata.namespace.as_deref().unwrap_or_default();
    let service = slice.metadata.labels.as_ref().and_then(|labels| labels.get(SERVICE_NAME_LABEL));
    service.map(|service| format!("{namespace}/{service}")).into_iter().collect()
}

shared_caches! {
    pods: Pod => Pod,
    replica_sets: ReplicaSet => ReplicaSet,
    replication_controllers: ReplicationController => ReplicationController,
    deployments: Deployment => Deployment,
    jobs: Job => Job,
    stateful_sets: StatefulSet => StatefulSet,
    controller_revisions: ControllerRevision => ControllerRevision,
    persistent_volume_claims: PersistentVolumeClaim => PersistentVolumeClaim,
    persistent_volumes: PersistentVolume => PersistentVolume,
    storage_classes: StorageClass => StorageClass,
    services: Service => Service,
    endpoints: Endpoints => Endpoints,
    endpoint_slices: EndpointSlice => EndpointSlice,
    nodes: Node => Node,
    daemon_sets: DaemonSet => DaemonSet,
    cron_jobs: CronJob => CronJob,
    leases: Lease => Lease,
    horizontal_pod_autoscalers: HorizontalPodAutoscaler => HorizontalPodAutoscaler,
}
