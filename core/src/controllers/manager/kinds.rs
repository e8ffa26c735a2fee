//! The controllers the manager runs, by name, as `kube-controller-manager --controllers` names
//! them, and what each needs from the manager (the dynamic caches, expectations, node state).

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
    /// `persistentvolume-binder`.
    PersistentVolumeBinder,
    /// `pvc-protection`.
    PvcProtection,
    /// `pv-protection`.
    PvProtection,
    /// `podgc`.
    PodGarbageCollector,
}

impl ControllerKind {
    /// Every controller, in the order the manager starts them.
    pub const ALL: [ControllerKind; 23] = [
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
        ControllerKind::PersistentVolumeBinder,
        ControllerKind::PvcProtection,
        ControllerKind::PvProtection,
        ControllerKind::PodGarbageCollector,
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
            ControllerKind::PersistentVolumeBinder => "persistentvolume-binder",
            ControllerKind::PvcProtection => "pvc-protection",
            ControllerKind::PvProtection => "pv-protection",
            ControllerKind::PodGarbageCollector => "podgc",
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

    /// Whether the controller is one of the storage controllers or the pod garbage collector,
    /// reconciled by key in `storage_reconcile`.
    pub fn reconciled_by_storage_key(self) -> bool {
        matches!(
            self,
            ControllerKind::PersistentVolumeBinder
                | ControllerKind::PvcProtection
                | ControllerKind::PvProtection
                | ControllerKind::PodGarbageCollector
        )
    }

    /// Whether the controller keeps memory between syncs that the manager's node state
    /// (`node_state::NodeControllers`) holds, and is reconciled there.
    pub fn uses_node_state(self) -> bool {
        matches!(
            self,
            ControllerKind::NodeIpam | ControllerKind::NodeLifecycle | ControllerKind::HorizontalPodAutoscaling
        )
    }
}
