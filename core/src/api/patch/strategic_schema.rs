//! Which lists strategic merge patch merges and by which key: Kubernetes' `patchStrategy` and
//! `patchMergeKey` struct tags written as data, one row per (type, field).
//!
//! A row says how the field `field` of the Go type `type_name` is patched and which type its
//! values (or list elements) have, so the merge can walk down. Fields without a row get the
//! default: maps merge key by key, lists are replaced whole.

/// How a field is patched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchStrategy {
    /// Maps merge recursively; lists are replaced whole (`atomic`).
    Default,
    /// Lists merge: lists of maps by their merge key, lists of scalars as sets
    /// (`patchStrategy:"merge"`).
    Merge,
    /// The patch value replaces the field whole, even for maps (`patchStrategy:"replace"`).
    Replace,
}

/// The patch metadata of one field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldPatchMeta {
    /// How the field is patched.
    pub strategy: PatchStrategy,
    /// For lists of maps merged by key: the key (`name`, `containerPort`).
    pub merge_key: Option<&'static str>,
    /// The schema type of the field's value or of its list elements, if it has fields of its own
    /// worth describing.
    pub value_type: Option<&'static str>,
}

impl FieldPatchMeta {
    /// A field with no tags: maps merge, lists are replaced whole.
    pub const DEFAULT: Self = Self { strategy: PatchStrategy::Default, merge_key: None, value_type: None };
}

/// One row of a schema: the patch metadata of `field` in `type_name`.
#[derive(Clone, Copy, Debug)]
pub struct SchemaField {
    /// The type holding the field (`PodSpec`).
    pub type_name: &'static str,
    /// The JSON field name (`containers`).
    pub field: &'static str,
    /// How the field is patched.
    pub meta: FieldPatchMeta,
}

/// A complete schema: the rows, and which type each kind's top-level object is.
#[derive(Clone, Copy, Debug)]
pub struct PatchSchema {
    /// The rows.
    pub fields: &'static [SchemaField],
    /// The top-level type of each kind (`Deployment` -> `Workload`).
    pub roots: &'static [(&'static str, &'static str)],
    /// The top-level type of kinds not in `roots`.
    pub default_root: &'static str,
}

impl PatchSchema {
    /// The top-level type of objects of `kind`.
    pub fn root_type(&self, kind: &str) -> &'static str {
        self.roots.iter().find(|(name, _)| *name == kind).map_or(self.default_root, |(_, root)| root)
    }

    /// The patch metadata of `field` in `type_name`; the default for unknown types or fields.
    pub fn field(&self, type_name: Option<&str>, field: &str) -> FieldPatchMeta {
        let Some(type_name) = type_name else { return FieldPatchMeta::DEFAULT };
        self.fields
            .iter()
            .find(|row| row.type_name == type_name && row.field == field)
            .map_or(FieldPatchMeta::DEFAULT, |row| row.meta)
    }
}

/// A map or list-free field whose value has fields described in the schema.
pub const fn nested(type_name: &'static str, field: &'static str, value_type: &'static str) -> SchemaField {
    SchemaField {
        type_name,
        field,
        meta: FieldPatchMeta { strategy: PatchStrategy::Default, merge_key: None, value_type: Some(value_type) },
    }
}

/// A list of maps merged by `merge_key`, whose elements are of `value_type`.
pub const fn merge_by(
    type_name: &'static str,
    field: &'static str,
    merge_key: &'static str,
    value_type: Option<&'static str>,
) -> SchemaField {
    SchemaField {
        type_name,
        field,
        meta: FieldPatchMeta { strategy: PatchStrategy::Merge, merge_key: Some(merge_key), value_type },
    }
}

/// A list of scalars merged as a set (`finalizers`).
pub const fn merge_set(type_name: &'static str, field: &'static str) -> SchemaField {
    SchemaField {
        type_name,
        field,
        meta: FieldPatchMeta { strategy: PatchStrategy::Merge, merge_key: None, value_type: None },
    }
}

/// A list replaced whole. Same as no row; written out where kubectl users rely on it.
pub const fn atomic(type_name: &'static str, field: &'static str) -> SchemaField {
    SchemaField { type_name, field, meta: FieldPatchMeta::DEFAULT }
}

/// A field replaced whole even when it is a map (`patchStrategy:"replace"`).
pub const fn replace(type_name: &'static str, field: &'static str) -> SchemaField {
    SchemaField {
        type_name,
        field,
        meta: FieldPatchMeta { strategy: PatchStrategy::Replace, merge_key: None, value_type: None },
    }
}

const OBJECT_META: &str = "ObjectMeta";
const POD_TEMPLATE_SPEC: &str = "PodTemplateSpec";
const POD_SPEC: &str = "PodSpec";
const CONTAINER: &str = "Container";
const STATUS: &str = "Status";
/// Deployment, ReplicaSet, StatefulSet, DaemonSet, Job and ReplicationController: a `spec` with a
/// pod `template`.
const WORKLOAD: &str = "Workload";
const WORKLOAD_SPEC: &str = "WorkloadSpec";

/// The `patchStrategy`/`patchMergeKey` tags of the Kubernetes API types coxswain serves
/// (k8s.io/api v1.33).
pub static KUBERNETES_SCHEMA: PatchSchema = PatchSchema {
    fields: &[
        // Every object.
        nested("Object", "metadata", OBJECT_META),
        nested("Object", "status", STATUS),
        merge_set(OBJECT_META, "finalizers"),
        merge_by(OBJECT_META, "ownerReferences", "uid", None),
        merge_by(STATUS, "conditions", "type", None),
        // Pods and pod templates.
        nested("Pod", "metadata", OBJECT_META),
        nested("Pod", "spec", POD_SPEC),
        nested("Pod", "status", "PodStatus"),
        nested("PodTemplate", "metadata", OBJECT_META),
        nested("PodTemplate", "template", POD_TEMPLATE_SPEC),
        nested(POD_TEMPLATE_SPEC, "metadata", OBJECT_META),
        nested(POD_TEMPLATE_SPEC, "spec", POD_SPEC),
        merge_by(POD_SPEC, "containers", "name", Some(CONTAINER)),
        merge_by(POD_SPEC, "initContainers", "name", Some(CONTAINER)),
        merge_by(POD_SPEC, "ephemeralContainers", "name", Some(CONTAINER)),
        merge_by(POD_SPEC, "volumes", "name", None),
        merge_by(POD_SPEC, "imagePullSecrets", "name", None),
        merge_by(POD_SPEC, "hostAliases", "ip", None),
        merge_by(POD_SPEC, "topologySpreadConstraints", "topologyKey", None),
        merge_by(POD_SPEC, "resourceClaims", "name", None),
        merge_by(POD_SPEC, "schedulingGates", "name", None),
        atomic(POD_SPEC, "tolerations"),
        merge_by(CONTAINER, "ports", "containerPort", None),
        merge_by(CONTAINER, "env", "name", None),
        merge_by(CONTAINER, "volumeMounts", "mountPath", None),
        merge_by(CONTAINER, "volumeDevices", "devicePath", None),
        atomic(CONTAINER, "args"),
        atomic(CONTAINER, "command"),
        merge_by("PodStatus", "conditions", "type", None),
        merge_by("PodStatus", "podIPs", "ip", None),
        merge_by("PodStatus", "hostIPs", "ip", None),
        merge_by("PodStatus", "resourceClaimStatuses", "name", None),
        // Workloads: the pod template under `spec.template`.
        nested(WORKLOAD, "metadata", OBJECT_META),
        nested(WORKLOAD, "spec", WORKLOAD_SPEC),
        nested(WORKLOAD, "status", STATUS),
        nested(WORKLOAD_SPEC, "template", POD_TEMPLATE_SPEC),
        nested("CronJob", "metadata", OBJECT_META),
        nested("CronJob", "spec", "CronJobSpec"),
        nested("CronJobSpec", "jobTemplate", "JobTemplateSpec"),
        nested("JobTemplateSpec", "metadata", OBJECT_META),
        nested("JobTemplateSpec", "spec", WORKLOAD_SPEC),
        // Services.
        nested("Service", "metadata", OBJECT_META),
        nested("Service", "spec", "ServiceSpec"),
        nested("Service", "status", STATUS),
        merge_by("ServiceSpec", "ports", "port", None),
        // Nodes.
        nested("Node", "metadata", OBJECT_META),
        nested("Node", "spec", "NodeSpec"),
        nested("Node", "status", "NodeStatus"),
        atomic("NodeSpec", "taints"),
        merge_set("NodeSpec", "podCIDRs"),
        merge_by("NodeStatus", "conditions", "type", None),
        merge_by("NodeStatus", "addresses", "type", None),
    ],
    roots: &[
        ("Pod", "Pod"),
        ("PodTemplate", "PodTemplate"),
        ("Deployment", WORKLOAD),
        ("ReplicaSet", WORKLOAD),
        ("StatefulSet", WORKLOAD),
        ("DaemonSet", WORKLOAD),
        ("Job", WORKLOAD),
        ("ReplicationController", WORKLOAD),
        ("CronJob", "CronJob"),
        ("Service", "Service"),
        ("Node", "Node"),
    ],
    default_root: "Object",
};
