//! The objects besides Nodes and Pods that plugins read through Kubernetes' informer
//! listers: Namespace labels (InterPodAffinity's `namespaceSelector`), the selectors of
//! Services, ReplicationControllers, ReplicaSets and StatefulSets (PodTopologySpread's system
//! default constraints select a Pod's siblings with them, `helper.DefaultSelector`), and the
//! PersistentVolumes, PersistentVolumeClaims and StorageClasses the volume plugins
//! (VolumeBinding, VolumeRestrictions, NodeVolumeLimits) match Pods' claims against.
//!
//! The shells feed these objects to the scheduler as [`ListerObject`] inputs; the cache keeps one
//! [`ClusterObjects`] and every snapshot shares it behind an `Arc`. Without these inputs
//! namespace selectors match only through explicit `namespaces`, and Pods get no default spread.
//!
//! DefaultPreemption reads PodDisruptionBudgets here too: their selectors and
//! `status.disruptionsAllowed`/`status.disruptedPods` decide which victims would violate them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::policy::v1 as policy;
use k8s_openapi::api::storage::v1 as storage;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use crate::selector::LabelSelector;

/// One object the scheduler's listers hold.
#[derive(Clone, Debug, PartialEq)]
pub enum ListerObject {
    /// A Namespace (its labels).
    Namespace(Arc<core::Namespace>),
    /// A Service (its `spec.selector`).
    Service(Arc<core::Service>),
    /// A ReplicationController (its `spec.selector`).
    ReplicationController(Arc<core::ReplicationController>),
    /// A ReplicaSet (its `spec.selector`).
    ReplicaSet(Arc<apps::ReplicaSet>),
    /// A StatefulSet (its `spec.selector`).
    StatefulSet(Arc<apps::StatefulSet>),
    /// A PersistentVolume (the whole object: capacity, claimRef, node affinity, phase).
    PersistentVolume(Arc<core::PersistentVolume>),
    /// A PersistentVolumeClaim (the whole object: volumeName, class, access modes).
    PersistentVolumeClaim(Arc<core::PersistentVolumeClaim>),
    /// A StorageClass (binding mode, provisioner, allowed topologies).
    StorageClass(Arc<storage::StorageClass>),
    /// A PodDisruptionBudget (its selector and disruption status).
    PodDisruptionBudget(Arc<policy::PodDisruptionBudget>),
}

/// What preemption needs of one PodDisruptionBudget, parsed once.
#[derive(Clone, Debug, PartialEq)]
pub struct DisruptionBudget {
    /// The budget's namespace; it only covers Pods there.
    pub namespace: String,
    /// Its selector; `None` when missing, empty or invalid, all of which match no Pod.
    pub selector: Option<LabelSelector>,
    /// `status.disruptionsAllowed`.
    pub disruptions_allowed: i32,
    /// `status.disruptedPods` names: evictions the API already counted against the budget.
    pub disrupted_pods: BTreeSet<String>,
}

impl DisruptionBudget {
    /// Parses a PodDisruptionBudget.
    pub fn of(budget: &policy::PodDisruptionBudget) -> DisruptionBudget {
        let selector = budget
            .spec
            .as_ref()
            .and_then(|spec| spec.selector.as_ref())
            .and_then(|selector| LabelSelector::from_label_selector(Some(selector)).ok())
            .filter(|selector| !selector.is_empty() && !selector.matches_nothing());
        let status = budget.status.as_ref();
        DisruptionBudget {
            namespace: budget.metadata.namespace.clone().unwrap_or_default(),
            selector,
            disruptions_allowed: status.map_or(0, |status| status.disruptions_allowed),
            disrupted_pods: status
                .and_then(|status| status.disrupted_pods.as_ref())
                .map(|pods| pods.keys().cloned().collect())
                .unwrap_or_default(),
        }
    }

    /// Whether the budget covers a Pod: same namespace and the selector matches its labels.
    pub fn covers(&self, pod: &core::Pod) -> bool {
        let Some(selector) = &self.selector else { return false };
        pod.metadata.namespace.as_deref().unwrap_or("") == self.namespace
            && pod.metadata.labels.as_ref().is_some_and(|labels| selector.matches(labels))
    }
}

type NamespacedName = (String, String);

fn key(metadata: &meta::ObjectMeta) -> NamespacedName {
    (metadata.namespace.clone().unwrap_or_default(), metadata.name.clone().unwrap_or_default())
}

/// The listers' contents, ordered so that every lookup is deterministic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterObjects {
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// Services with a selector (a Service without one selects nothing).
    services: BTreeMap<NamespacedName, BTreeMap<String, String>>,
    replication_controllers: BTreeMap<NamespacedName, BTreeMap<String, String>>,
    replica_sets: BTreeMap<NamespacedName, Option<meta::LabelSelector>>,
    stateful_sets: BTreeMap<NamespacedName, Option<meta::LabelSelector>>,
    pod_disruption_budgets: BTreeMap<NamespacedName, DisruptionBudget>,
    persistent_volumes: BTreeMap<String, Arc<core::PersistentVolume>>,
    persistent_volume_claims: BTreeMap<NamespacedName, Arc<core::PersistentVolumeClaim>>,
    storage_classes: BTreeMap<String, Arc<storage::StorageClass>>,
}

fn name_of(metadata: &meta::ObjectMeta) -> String {
    metadata.name.clone().unwrap_or_default()
}

impl ClusterObjects {
    /// No objects.
    pub fn new() -> ClusterObjects {
        ClusterObjects::default()
    }

    /// Records an added or changed object.
    pub fn apply(&mut self, object: &ListerObject) {
        match object {
            ListerObject::Namespace(namespace) => {
                let name = namespace.metadata.name.clone().unwrap_or_default();
                self.namespaces.insert(name, namespace.metadata.labels.clone().unwrap_or_default());
            }
            ListerObject::Service(service) => {
                match service.spec.as_ref().and_then(|spec| spec.selector.clone()) {
                    Some(selector) => self.services.insert(key(&service.metadata), selector),
                    None => self.services.remove(&key(&service.metadata)),
                };
            }
            ListerObject::ReplicationController(controller) => {
                let selector = controller.spec.as_ref().and_then(|spec| spec.selector.clone()).unwrap_or_default();
                self.replication_controllers.insert(key(&controller.metadata), selector);
            }
            ListerObject::ReplicaSet(set) => {
                self.replica_sets.insert(key(&set.metadata), set.spec.as_ref().map(|spec| spec.selector.clone()));
            }
            ListerObject::StatefulSet(set) => {
                self.stateful_sets.insert(key(&set.metadata), set.spec.as_ref().map(|spec| spec.selector.clone()));
            }
            ListerObject::PodDisruptionBudget(budget) => {
                self.pod_disruption_budgets.insert(key(&budget.metadata), DisruptionBudget::of(budget));
            }
            ListerObject::PersistentVolume(volume) => {
                self.persistent_volumes.insert(name_of(&volume.metadata), Arc::clone(volume));
            }
            ListerObject::PersistentVolumeClaim(claim) => {
                self.persistent_volume_claims.insert(key(&claim.metadata), Arc::clone(claim));
            }
            ListerObject::StorageClass(class) => {
                self.storage_classes.insert(name_of(&class.metadata), Arc::clone(class));
            }
        }
    }

    /// Whether the listers already hold an object of this kind, namespace and name (so a
    /// change is an update rather than an addition).
    pub fn contains(&self, object: &ListerObject) -> bool {
        match object {
            ListerObject::Namespace(namespace) => self.namespaces.contains_key(&name_of(&namespace.metadata)),
            ListerObject::Service(service) => self.services.contains_key(&key(&service.metadata)),
            ListerObject::ReplicationController(controller) => {
                self.replication_controllers.contains_key(&key(&controller.metadata))
            }
            ListerObject::ReplicaSet(set) => self.replica_sets.contains_key(&key(&set.metadata)),
            ListerObject::StatefulSet(set) => self.stateful_sets.contains_key(&key(&set.metadata)),
            ListerObject::PersistentVolume(volume) => self.persistent_volumes.contains_key(&name_of(&volume.metadata)),
            ListerObject::PersistentVolumeClaim(claim) => {
                self.persistent_volume_claims.contains_key(&key(&claim.metadata))
            }
            ListerObject::StorageClass(class) => self.storage_classes.contains_key(&name_of(&class.metadata)),
            ListerObject::PodDisruptionBudget(budget) => {
                self.pod_disruption_budgets.contains_key(&key(&budget.metadata))
            }
        }
    }

    /// Forgets a deleted object.
    pub fn delete(&mut self, object: &ListerObject) {
        match object {
            ListerObject::Namespace(namespace) => {
                self.namespaces.remove(namespace.metadata.name.as_deref().unwrap_or(""));
            }
            ListerObject::Service(service) => {
                self.services.remove(&key(&service.metadata));
            }
            ListerObject::ReplicationController(controller) => {
                self.replication_controllers.remove(&key(&controller.metadata));
            }
            ListerObject::ReplicaSet(set) => {
                self.replica_sets.remove(&key(&set.metadata));
            }
            ListerObject::StatefulSet(set) => {
                self.stateful_sets.remove(&key(&set.metadata));
            }
            ListerObject::PersistentVolume(volume) => {
                self.persistent_volumes.remove(&name_of(&volume.metadata));
            }
            ListerObject::PersistentVolumeClaim(claim) => {
                self.persistent_volume_claims.remove(&key(&claim.metadata));
            }
            ListerObject::StorageClass(class) => {
                self.storage_classes.remove(&name_of(&class.metadata));
            }
            ListerObject::PodDisruptionBudget(budget) => {
                self.pod_disruption_budgets.remove(&key(&budget.metadata));
            }
        }
    }

    /// A PersistentVolume by name (`PersistentVolumeLister.Get`).
    pub fn persistent_volume(&self, name: &str) -> Option<&Arc<core::PersistentVolume>> {
        self.persistent_volumes.get(name)
    }

    /// Every PersistentVolume, in name order.
    pub fn persistent_volumes(&self) -> impl Iterator<Item = &Arc<core::PersistentVolume>> {
        self.persistent_volumes.values()
    }

    /// A PersistentVolumeClaim by namespace and name (`PersistentVolumeClaimLister.Get`).
    pub fn persistent_volume_claim(&self, namespace: &str, name: &str) -> Option<&Arc<core::PersistentVolumeClaim>> {
        self.persistent_volume_claims.get(&(namespace.to_owned(), name.to_owned()))
    }

    /// A StorageClass by name (`StorageClassLister.Get`).
    pub fn storage_class(&self, name: &str) -> Option<&Arc<storage::StorageClass>> {
        self.storage_classes.get(name)
    }

    /// Every PodDisruptionBudget, ordered by namespace and name (the PDB lister's `List`).
    pub fn pod_disruption_budgets(&self) -> impl Iterator<Item = &DisruptionBudget> {
        self.pod_disruption_budgets.values()
    }

    /// A Namespace's labels, if the Namespace is known (`GetNamespaceLabelsSnapshot`).
    pub fn namespace_labels(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.namespaces.get(name)
    }

    /// The names of the Namespaces whose labels match a selector, in name order.
    pub fn namespaces_matching<'a>(&'a self, selector: &'a LabelSelector) -> impl Iterator<Item = &'a str> + 'a {
        self.namespaces.iter().filter(|(_, labels)| selector.matches(labels)).map(|(name, _)| name.as_str())
    }

    /// The selector of a Pod's siblings: the union of the selectors of the Services selecting it
    /// and of its controlling ReplicationController, ReplicaSet or StatefulSet
    /// (`helper.DefaultSelector`). Empty when nothing selects the Pod.
    pub fn default_selector(&self, pod: &core::Pod) -> LabelSelector {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        let mut label_set: BTreeMap<String, String> = BTreeMap::new();
        let range = (namespace.clone(), String::new())..;
        for ((service_namespace, _), selector) in self.services.range(range) {
            if *service_namespace != namespace {
                break;
            }
            if LabelSelector::from_set(selector).matches(&labels) {
                label_set.extend(selector.iter().map(|(key, value)| (key.clone(), value.clone())));
            }
        }
        let selector = LabelSelector::from_set(&label_set);
        let Some(owner) = pod.metadata.owner_references.iter().flatten().find(|owner| owner.controller == Some(true))
        else {
            return selector;
        };
        let owner_key = (namespace, owner.name.clone());
        let set_selector = match (owner.api_version.as_str(), owner.kind.as_str()) {
            ("v1", "ReplicationController") => {
                if let Some(controller_selector) = self.replication_controllers.get(&owner_key) {
                    label_set.extend(controller_selector.iter().map(|(key, value)| (key.clone(), value.clone())));
                    return LabelSelector::from_set(&label_set);
                }
                return selector;
            }
            ("apps/v1", "ReplicaSet") => self.replica_sets.get(&owner_key),
            ("apps/v1", "StatefulSet") => self.stateful_sets.get(&owner_key),
            _ => None,
        };
        match set_selector.map(|set| LabelSelector::from_label_selector(set.as_ref())) {
            Some(Ok(other)) if !other.matches_nothing() => {
                let mut requirements = selector.requirements().to_vec();
                requirements.extend(other.requirements().iter().cloned());
                LabelSelector::from_requirements(requirements)
            }
            _ => selector,
        }
    }
}
