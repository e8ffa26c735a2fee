//! The kinds coxswain serves: for each, its group, version, plural resource name, scope, short
//! names and subresources, and the typed Rust struct that decodes it. Discovery, REST routing,
//! manifest decoding and the store all read this one table.

use k8s_openapi::api::{
    apps::v1 as apps, autoscaling::v1 as autoscaling_v1, autoscaling::v2 as autoscaling_v2, batch::v1 as batch,
    coordination::v1 as coordination, core::v1 as core, discovery::v1 as discovery, networking::v1 as networking,
    node::v1 as node, policy::v1 as policy, rbac::v1 as rbac, scheduling::v1 as scheduling, storage::v1 as storage,
};
use serde_json::Value;

use super::dynamic::Object;
use super::field_error::FieldError;
use super::strict::Decoded;

/// Whether objects of a kind live in a namespace or in the cluster as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Objects are named within a namespace (`/namespaces/{ns}/pods/{name}`).
    Namespaced,
    /// Objects are named in the cluster (`/nodes/{name}`).
    Cluster,
}

/// Everything the API machinery knows about one served kind at one version.
#[derive(Debug)]
pub struct ResourceType {
    /// API group; empty for the core group.
    pub group: &'static str,
    /// API version within the group (`v1`, `v2`).
    pub version: &'static str,
    /// `apiVersion` as written in manifests: `v1` or `apps/v1`.
    pub api_version: &'static str,
    /// The kind (`Deployment`).
    pub kind: &'static str,
    /// The plural resource name used in URLs (`deployments`).
    pub plural: &'static str,
    /// The singular resource name (`deployment`).
    pub singular: &'static str,
    /// Namespaced or cluster-scoped.
    pub scope: Scope,
    /// Short names kubectl accepts (`deploy`).
    pub short_names: &'static [&'static str],
    /// Categories (`all`) for `kubectl get all`.
    pub categories: &'static [&'static str],
    /// Subresources served under each object (`status`, `scale`, `binding`, `eviction`).
    pub subresources: &'static [&'static str],
    /// Whether the kind is stored and listed (false for request-only kinds such as `Binding` and
    /// `Eviction`, which are only ever created).
    pub stored: bool,
    /// Decodes a JSON object into the typed struct, noting the fields the struct does not know,
    /// and encodes it back.
    pub round_trip: fn(&Value) -> Result<Decoded, Box<FieldError>>,
    /// The API server's fast path for a JSON body: decoded straight into the typed struct,
    /// defaulted and converted to an [`Object`] once; `None` sends the body down the `Value`
    /// path (unknown fields, errors), which reports what is wrong.
    pub decode_json_defaulted: fn(&[u8]) -> Option<Object>,
    /// Adds the typed struct's JSON schema (k8s-openapi's, with Kubernetes' descriptions) and
    /// the schemas it references to a generator's definitions; the OpenAPI documents take their
    /// descriptions from these.
    pub add_json_schema: fn(&mut k8s_openapi::schemars::SchemaGenerator),
}

impl PartialEq for ResourceType {
    fn eq(&self, other: &ResourceType) -> bool {
        self.api_version == other.api_version && self.kind == other.kind
    }
}

impl ResourceType {
    /// The group/resource pair that identifies the stored collection, independent of version.
    pub fn group_resource(&self) -> GroupResource {
        GroupResource { group: self.group, resource: self.plural }
    }

    /// Whether objects of this kind live in namespaces.
    pub fn is_namespaced(&self) -> bool {
        self.scope == Scope::Namespaced
    }

    /// The name Kubernetes uses in error messages: `pods`, `deployments.apps`.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() { self.plural.to_string() } else { format!("{}.{}", self.plural, self.group) }
    }
}

/// A stored collection: the API group and plural resource name (`apps`, `deployments`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupResource {
    /// API group; empty for the core group.
    pub group: &'static str,
    /// Plural resource name.
    pub resource: &'static str,
}

/// Adds `T`'s schema and every schema it references to `generator`'s definitions.
pub fn add_json_schema<T: k8s_openapi::schemars::JsonSchema>(generator: &mut k8s_openapi::schemars::SchemaGenerator) {
    generator.subschema_for::<T>();
}

macro_rules! resource {
    ($ty:ty, $group:literal, $version:literal, $api_version:literal, $kind:tt, $plural:literal,
     $scope:ident, short: [$($short:literal),*], categories: [$($category:literal),*],
     subresources: [$($sub:literal),*], stored: $stored:literal) => {
        ResourceType {
            group: $group,
            version: $version,
            api_version: $api_version,
            kind: $kind,
            plural: $plural,
            singular: const_lower!($kind),
            scope: Scope::$scope,
            short_names: &[$($short),*],
            categories: &[$($category),*],
            subresources: &[$($sub),*],
            stored: $stored,
            round_trip: super::strict::round_trip::<$ty>,
            decode_json_defaulted: super::strict::decode_json_defaulted::<$ty>,
            add_json_schema: add_json_schema::<$ty>,
        }
    };
}

/// Singular names are the lower-cased kinds; spelled out because `const fn` cannot allocate.
macro_rules! const_lower {
    ("Pod") => {
        "pod"
    };
    ("Node") => {
        "node"
    };
    ("Namespace") => {
        "namespace"
    };
    ("Service") => {
        "service"
    };
    ("Endpoints") => {
        "endpoints"
    };
    ("ConfigMap") => {
        "configmap"
    };
    ("Secret") => {
        "secret"
    };
    ("ServiceAccount") => {
        "serviceaccount"
    };
    ("PersistentVolume") => {
        "persistentvolume"
    };
    ("PersistentVolumeClaim") => {
        "persistentvolumeclaim"
    };
    ("Event") => {
        "event"
    };
    ("ReplicationController") => {
        "replicationcontroller"
    };
    ("LimitRange") => {
        "limitrange"
    };
    ("ResourceQuota") => {
        "resourcequota"
    };
    ("Binding") => {
        "binding"
    };
    ("Deployment") => {
        "deployment"
    };
    ("ReplicaSet") => {
        "replicaset"
    };
    ("StatefulSet") => {
        "statefulset"
    };
    ("DaemonSet") => {
        "daemonset"
    };
    ("ControllerRevision") => {
        "controllerrevision"
    };
    ("Job") => {
        "job"
    };
    ("CronJob") => {
        "cronjob"
    };
    ("HorizontalPodAutoscaler") => {
        "horizontalpodautoscaler"
    };
    ("PodDisruptionBudget") => {
        "poddisruptionbudget"
    };
    ("Eviction") => {
        "eviction"
    };
    ("NetworkPolicy") => {
        "networkpolicy"
    };
    ("Ingress") => {
        "ingress"
    };
    ("IngressClass") => {
        "ingressclass"
    };
    ("EndpointSlice") => {
        "endpointslice"
    };
    ("Role") => {
        "role"
    };
    ("ClusterRole") => {
        "clusterrole"
    };
    ("RoleBinding") => {
        "rolebinding"
    };
    ("ClusterRoleBinding") => {
        "clusterrolebinding"
    };
    ("Lease") => {
        "lease"
    };
    ("PriorityClass") => {
        "priorityclass"
    };
    ("StorageClass") => {
        "storageclass"
    };
    ("RuntimeClass") => {
        "runtimeclass"
    };
}

/// Every served kind at every served version. The first entry of a group/resource is its
/// storage version.
pub static RESOURCES: &[ResourceType] = &[
    resource!(core::Pod, "", "v1", "v1", "Pod", "pods", Namespaced, short: ["po"], categories: ["all"], subresources: ["status", "binding", "eviction", "log", "exec", "portforward"], stored: true),
    resource!(core::Node, "", "v1", "v1", "Node", "nodes", Cluster, short: ["no"], categories: [], subresources: ["status"], stored: true),
    resource!(core::Namespace, "", "v1", "v1", "Namespace", "namespaces", Cluster, short: ["ns"], categories: [], subresources: ["status", "finalize"], stored: true),
    resource!(core::Service, "", "v1", "v1", "Service", "services", Namespaced, short: ["svc"], categories: ["all"], subresources: ["status"], stored: true),
    resource!(core::Endpoints, "", "v1", "v1", "Endpoints", "endpoints", Namespaced, short: ["ep"], categories: [], subresources: [], stored: true),
    resource!(core::ConfigMap, "", "v1", "v1", "ConfigMap", "configmaps", Namespaced, short: ["cm"], categories: [], subresources: [], stored: true),
    resource!(core::Secret, "", "v1", "v1", "Secret", "secrets", Namespaced, short: [], categories: [], subresources: [], stored: true),
    resource!(core::ServiceAccount, "", "v1", "v1", "ServiceAccount", "serviceaccounts", Namespaced, short: ["sa"], categories: [], subresources: [], stored: true),
    resource!(core::PersistentVolume, "", "v1", "v1", "PersistentVolume", "persistentvolumes", Cluster, short: ["pv"], categories: [], subresources: ["status"], stored: true),
    resource!(core::PersistentVolumeClaim, "", "v1", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", Namespaced, short: ["pvc"], categories: [], subresources: ["status"], stored: true),
    resource!(core::Event, "", "v1", "v1", "Event", "events", Namespaced, short: ["ev"], categories: [], subresources: [], stored: true),
    resource!(core::ReplicationController, "", "v1", "v1", "ReplicationController", "replicationcontrollers", Namespaced, short: ["rc"], categories: ["all"], subresources: ["status", "scale"], stored: true),
    resource!(core::LimitRange, "", "v1", "v1", "LimitRange", "limitranges", Namespaced, short: ["limits"], categories: [], subresources: [], stored: true),
    resource!(core::ResourceQuota, "", "v1", "v1", "ResourceQuota", "resourcequotas", Namespaced, short: ["quota"], categories: [], subresources: ["status"], stored: true),
    resource!(core::Binding, "", "v1", "v1", "Binding", "bindings", Namespaced, short: [], categories: [], subresources: [], stored: false),
    resource!(apps::Deployment, "apps", "v1", "apps/v1", "Deployment", "deployments", Namespaced, short: ["deploy"], categories: ["all"], subresources: ["status", "scale"], stored: true),
    resource!(apps::ReplicaSet, "apps", "v1", "apps/v1", "ReplicaSet", "replicasets", Namespaced, short: ["rs"], categories: ["all"], subresources: ["status", "scale"], stored: true),
    resource!(apps::StatefulSet, "apps", "v1", "apps/v1", "StatefulSet", "statefulsets", Namespaced, short: ["sts"], categories: ["all"], subresources: ["status", "scale"], stored: true),
    resource!(apps::DaemonSet, "apps", "v1", "apps/v1", "DaemonSet", "daemonsets", Namespaced, short: ["ds"], categories: ["all"], subresources: ["status"], stored: true),
    resource!(apps::ControllerRevision, "apps", "v1", "apps/v1", "ControllerRevision", "controllerrevisions", Namespaced, short: [], categories: [], subresources: [], stored: true),
    resource!(batch::Job, "batch", "v1", "batch/v1", "Job", "jobs", Namespaced, short: [], categories: ["all"], subresources: ["status"], stored: true),
    resource!(batch::CronJob, "batch", "v1", "batch/v1", "CronJob", "cronjobs", Namespaced, short: ["cj"], categories: ["all"], subresources: ["status"], stored: true),
    resource!(autoscaling_v2::HorizontalPodAutoscaler, "autoscaling", "v2", "autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", Namespaced, short: ["hpa"], categories: ["all"], subresources: ["status"], stored: true),
    resource!(autoscaling_v1::HorizontalPodAutoscaler, "autoscaling", "v1", "autoscaling/v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", Namespaced, short: ["hpa"], categories: ["all"], subresources: ["status"], stored: true),
    resource!(policy::PodDisruptionBudget, "policy", "v1", "policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", Namespaced, short: ["pdb"], categories: [], subresources: ["status"], stored: true),
    resource!(policy::Eviction, "policy", "v1", "policy/v1", "Eviction", "evictions", Namespaced, short: [], categories: [], subresources: [], stored: false),
    resource!(networking::NetworkPolicy, "networking.k8s.io", "v1", "networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", Namespaced, short: ["netpol"], categories: [], subresources: [], stored: true),
    resource!(networking::Ingress, "networking.k8s.io", "v1", "networking.k8s.io/v1", "Ingress", "ingresses", Namespaced, short: ["ing"], categories: [], subresources: ["status"], stored: true),
    resource!(networking::IngressClass, "networking.k8s.io", "v1", "networking.k8s.io/v1", "IngressClass", "ingressclasses", Cluster, short: [], categories: [], subresources: [], stored: true),
    resource!(discovery::EndpointSlice, "discovery.k8s.io", "v1", "discovery.k8s.io/v1", "EndpointSlice", "endpointslices", Namespaced, short: [], categories: [], subresources: [], stored: true),
    resource!(rbac::Role, "rbac.authorization.k8s.io", "v1", "rbac.authorization.k8s.io/v1", "Role", "roles", Namespaced, short: [], categories: [], subresources: [], stored: true),
    resource!(rbac::ClusterRole, "rbac.authorization.k8s.io", "v1", "rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", Cluster, short: [], categories: [], subresources: [], stored: true),
    resource!(rbac::RoleBinding, "rbac.authorization.k8s.io", "v1", "rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", Namespaced, short: [], categories: [], subresources: [], stored: true),
    resource!(rbac::ClusterRoleBinding, "rbac.authorization.k8s.io", "v1", "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", Cluster, short: [], categories: [], subresources: [], stored: true),
    resource!(coordination::Lease, "coordination.k8s.io", "v1", "coordination.k8s.io/v1", "Lease", "leases", Namespaced, short: [], categories: [], subresources: [], stored: true),
    resource!(scheduling::PriorityClass, "scheduling.k8s.io", "v1", "scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", Cluster, short: ["pc"], categories: [], subresources: [], stored: true),
    resource!(storage::StorageClass, "storage.k8s.io", "v1", "storage.k8s.io/v1", "StorageClass", "storageclasses", Cluster, short: ["sc"], categories: [], subresources: [], stored: true),
    resource!(node::RuntimeClass, "node.k8s.io", "v1", "node.k8s.io/v1", "RuntimeClass", "runtimeclasses", Cluster, short: [], categories: [], subresources: [], stored: true),
];

/// Finds a served kind by the `apiVersion` and `kind` a manifest names.
pub fn by_api_version_kind(api_version: &str, kind: &str) -> Option<&'static ResourceType> {
    RESOURCES.iter().find(|resource| resource.api_version == api_version && resource.kind == kind)
}

/// Every `apiVersion` at which `kind` is served, for the error that names the versions that exist.
pub fn api_versions_of_kind(kind: &str) -> Vec<&'static str> {
    RESOURCES.iter().filter(|resource| resource.kind == kind).map(|resource| resource.api_version).collect()
}

/// Finds a served resource by URL parts: group, version and plural name.
pub fn by_group_version_resource(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|resource| resource.group == group && resource.version == version && resource.plural == plural)
}

/// The storage version of a group/resource: the version objects are kept at in the store.
pub fn storage_version(group_resource: GroupResource) -> Option<&'static ResourceType> {
    RESOURCES.iter().find(|resource| resource.group_resource() == group_resource)
}

/// Splits an `apiVersion` into group and version: `apps/v1` → (`apps`, `v1`), `v1` → (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_unique_version_and_resource() {
        let mut seen = std::collections::BTreeSet::new();
        for resource in RESOURCES {
            assert!(seen.insert((resource.api_version, resource.plural)), "{} listed twice", resource.kind);
            assert_eq!(split_api_version(resource.api_version), (resource.group, resource.version));
        }
    }

    #[test]
    fn kinds_match_the_typed_structs() {
        use k8s_openapi::Resource;
        assert_eq!(by_api_version_kind("apps/v1", "Deployment").unwrap().plural, apps::Deployment::URL_PATH_SEGMENT);
        assert_eq!(by_api_version_kind("v1", "Pod").unwrap().plural, core::Pod::URL_PATH_SEGMENT);
        assert_eq!(api_versions_of_kind("HorizontalPodAutoscaler"), vec!["autoscaling/v2", "autoscaling/v1"]);
    }

    #[test]
    fn round_trip_reports_the_path_of_a_mistyped_field() {
        let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "ports": [{"containerPort": "eighty"}]}]}});
        let error = (by_api_version_kind("v1", "Pod").unwrap().round_trip)(&pod).unwrap_err();
        assert_eq!(error.path.as_str(), "spec.containers[0].ports[0].containerPort");
    }
}
