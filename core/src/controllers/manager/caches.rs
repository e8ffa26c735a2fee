//! The informers the controller manager shares between its controllers (client-go's shared
//! informer factory): one list+watch per kind, whatever the number of controllers reading it.

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Endpoints, Node, PersistentVolumeClaim, Pod, ReplicationController, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::jiff::Timestamp;

use super::dynamic::{DynamicCaches, DynamicObserved};
use crate::client::informer::{Change, Informer};
use crate::client::{Incoming, Outgoing, RequestId};

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

shared_caches! {
    pods: Pod => Pod,
    replica_sets: ReplicaSet => ReplicaSet,
    replication_controllers: ReplicationController => ReplicationController,
    deployments: Deployment => Deployment,
    jobs: Job => Job,
    stateful_sets: StatefulSet => StatefulSet,
    controller_revisions: ControllerRevision => ControllerRevision,
    persistent_volume_claims: PersistentVolumeClaim => PersistentVolumeClaim,
    services: Service => Service,
    endpoints: Endpoints => Endpoints,
    endpoint_slices: EndpointSlice => EndpointSlice,
    nodes: Node => Node,
    daemon_sets: DaemonSet => DaemonSet,
    cron_jobs: CronJob => CronJob,
    leases: Lease => Lease,
    horizontal_pod_autoscalers: HorizontalPodAutoscaler => HorizontalPodAutoscaler,
}
