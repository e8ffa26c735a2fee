//! Rows of the cluster and storage kinds: Node, Namespace, PersistentVolume,
//! PersistentVolumeClaim, StorageClass, PriorityClass, RuntimeClass, Lease and the RBAC kinds, as Kubernetes'
//! printers lay them out (Role and ClusterRole have only the default NAME / CREATED AT columns).

use std::collections::BTreeSet;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding, Subject};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::api::storage::v1::StorageClass;
use serde_json::{Value, json};

use crate::object::Object;

use super::{AGE, CellType, Column, NAME, Printer, Row, RowFn, boolean, format, integer, text, typed, wide};

/// Label prefix of node roles (`node-role.kubernetes.io/control-plane`).
const NODE_ROLE_LABEL_PREFIX: &str = "node-role.kubernetes.io/";
/// The older node role label (`kubernetes.io/role=master`).
const NODE_ROLE_LABEL: &str = "kubernetes.io/role";
/// The beta annotation that names a volume's or claim's storage class.
const BETA_STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

pub(super) fn printer(kind: &str) -> Option<Printer> {
    let (columns, row): (&'static [Column], RowFn) = match kind {
        "Node" => (NODE, node),
        "Namespace" => (NAMESPACE, namespace),
        "PersistentVolume" => (PERSISTENT_VOLUME, persistent_volume),
        "PersistentVolumeClaim" => (PERSISTENT_VOLUME_CLAIM, persistent_volume_claim),
        "StorageClass" => (STORAGE_CLASS, storage_class),
        "PriorityClass" => (PRIORITY_CLASS, priority_class),
        "RuntimeClass" => (RUNTIME_CLASS, runtime_class),
        "Lease" => (LEASE, lease),
        "RoleBinding" => (ROLE_BINDING, role_binding),
        "ClusterRoleBinding" => (ROLE_BINDING, cluster_role_binding),
        "Role" | "ClusterRole" | "LimitRange" => (DEFAULT, created_at),
        _ => return None,
    };
    Some(Printer { columns, row })
}

/// The API server's default table (`rest.NewDefaultTableConvertor`) for kinds without a printer.
const DEFAULT: &[Column] = &[NAME, Column { cell_type: CellType::Date, ..text("Created At", super::AGE_DESCRIPTION) }];

fn created_at(object: &Object, _now: Timestamp) -> Row {
    let created =
        object.metadata.creation_timestamp.as_ref().map(|time| time.0.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    Row::new(vec![json!(object.name()), json!(created.unwrap_or_default())])
}

const NODE: &[Column] = &[
    NAME,
    text("Status", "The status of the node"),
    text("Roles", "The roles of the node"),
    AGE,
    text("Version", "Kubelet Version reported by the node."),
    wide(text("Internal-IP", "List of addresses reachable to the node.")),
    wide(text("External-IP", "List of addresses reachable to the node.")),
    wide(text("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).")),
    wide(text("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).")),
    wide(text(
        "Container-Runtime",
        "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
    )),
];

const NAMESPACE: &[Column] = &[NAME, text("Status", "The status of the namespace"), AGE];

const PERSISTENT_VOLUME: &[Column] = &[
    NAME,
    text("Capacity", "capacity is the description of the persistent volume's resources and capacity."),
    text("Access Modes", "accessModes contains all ways the volume can be mounted."),
    text(
        "Reclaim Policy",
        "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.",
    ),
    text("Status", "phase indicates if a volume is available, bound to a claim, or released by a claim."),
    text("Claim", "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim."),
    text("StorageClass", "StorageClass of the pv"),
    text("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
    text("Reason", "reason is a brief CamelCase string that describes any failure."),
    AGE,
    wide(text(
        "VolumeMode",
        "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.",
    )),
];

const PERSISTENT_VOLUME_CLAIM: &[Column] = &[
    NAME,
    text("Status", "phase represents the current phase of PersistentVolumeClaim."),
    text("Volume", "volumeName is the binding reference to the PersistentVolume backing this claim."),
    text("Capacity", "capacity represents the actual resources of the underlying volume."),
    text("Access Modes", "accessModes contains the actual access modes the volume backing the PVC has."),
    text("StorageClass", "StorageClass of the pvc"),
    text("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
    AGE,
    wide(text("VolumeMode", "volumeMode defines what type of volume is required by the claim.")),
];

const STORAGE_CLASS: &[Column] = &[
    NAME,
    text("Provisioner", "provisioner indicates the type of the provisioner."),
    text(
        "ReclaimPolicy",
        "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.",
    ),
    text(
        "VolumeBindingMode",
        "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.",
    ),
    text("AllowVolumeExpansion", "allowVolumeExpansion shows whether the storage class allow volume expand."),
    AGE,
];

const PRIORITY_CLASS: &[Column] = &[
    NAME,
    integer("Value", "value represents the integer value of this priority class."),
    boolean(
        "Global-Default",
        "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class.",
    ),
    AGE,
    wide(text("PreemptionPolicy", "preemptionPolicy is the Policy for preempting pods with lower priority.")),
];

const RUNTIME_CLASS: &[Column] = &[
    NAME,
    text(
        "Handler",
        "handler specifies the underlying runtime and configuration that the CRI implementation will use to handle pods of this class. The possible values are specific to the node & CRI configuration.  It is assumed that all handlers are available on every node, and handlers of the same name are equivalent on every node. For example, a handler called \"runc\" might specify that the runc (OCI-compatible) runtime (implemented by the native Linux kernel) will be used to run the containers in a pod. The Handler must be lowercase, conform to the DNS Label (RFC 1123) requirements, and is immutable.",
    ),
    AGE,
];

const LEASE: &[Column] =
    &[NAME, text("Holder", "holderIdentity contains the identity of the holder of a current lease."), AGE];

const ROLE_BINDING: &[Column] = &[
    NAME,
    text("Role", "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace."),
    AGE,
    wide(text("Users", "Users in the roleBinding")),
    wide(text("Groups", "Groups in the roleBinding")),
    wide(text("ServiceAccounts", "ServiceAccounts in the roleBinding")),
];

fn node(object: &Object, now: Timestamp) -> Row {
    let node: Node = typed(object);
    let status = node.status.unwrap_or_default();
    let ready = status.conditions.iter().flatten().rev().find(|condition| condition.type_ == "Ready");
    let mut states = vec![match ready {
        Some(condition) if condition.status == "True" => "Ready".to_string(),
        Some(_) => "NotReady".to_string(),
        None => "Unknown".to_string(),
    }];
    if node.spec.as_ref().and_then(|spec| spec.unschedulable) == Some(true) {
        states.push("SchedulingDisabled".into());
    }
    let roles: BTreeSet<String> = object
        .metadata
        .labels
        .iter()
        .flatten()
        .filter_map(|(key, value)| match key.strip_prefix(NODE_ROLE_LABEL_PREFIX) {
            Some(role) if !role.is_empty() => Some(role.to_string()),
            Some(_) => None,
            None if key == NODE_ROLE_LABEL && !value.is_empty() => Some(value.clone()),
            None => None,
        })
        .collect();
    let roles = if roles.is_empty() { "<none>".to_string() } else { roles.into_iter().collect::<Vec<_>>().join(",") };
    let address = |address_type: &str| {
        status
            .addresses
            .iter()
            .flatten()
            .find(|address| address.type_ == address_type)
            .map(|address| address.address.clone())
            .unwrap_or_else(|| "<none>".into())
    };
    let info = status.node_info.clone().unwrap_or_default();
    let or_unknown = |value: String| if value.is_empty() { "<unknown>".to_string() } else { value };
    Row::new(vec![
        json!(object.name()),
        json!(states.join(",")),
        json!(roles),
        json!(super::age(object, now)),
        json!(info.kubelet_version),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(or_unknown(info.os_image)),
        json!(or_unknown(info.kernel_version)),
        json!(or_unknown(info.container_runtime_version)),
    ])
}

fn namespace(object: &Object, now: Timestamp) -> Row {
    let namespace: Namespace = typed(object);
    let phase = namespace.status.and_then(|status| status.phase).unwrap_or_default();
    Row::new(vec![json!(object.name()), json!(phase), json!(super::age(object, now))])
}

/// A volume's or claim's class: the field, else the beta annotation, else empty.
fn storage_class_name(object: &Object, field: Option<String>) -> String {
    let annotation = object.metadata.annotations.as_ref().and_then(|map| map.get(BETA_STORAGE_CLASS_ANNOTATION));
    annotation.cloned().or(field).unwrap_or_default()
}

fn persistent_volume(object: &Object, now: Timestamp) -> Row {
    let volume: PersistentVolume = typed(object);
    let spec = volume.spec.unwrap_or_default();
    let status = volume.status.unwrap_or_default();
    let claim = spec
        .claim_ref
        .as_ref()
        .map(|claim| format!("{}/{}", claim.namespace.as_deref().unwrap_or(""), claim.name.as_deref().unwrap_or("")))
        .unwrap_or_default();
    let size = spec.capacity.as_ref().and_then(|capacity| capacity.get("storage")).map(format::quantity);
    let phase = if object.metadata.deletion_timestamp.is_some() {
        "Terminating".to_string()
    } else {
        status.phase.unwrap_or_default()
    };
    Row::new(vec![
        json!(object.name()),
        json!(size.unwrap_or_else(|| "0".into())),
        json!(format::access_modes(spec.access_modes.as_ref())),
        json!(spec.persistent_volume_reclaim_policy.unwrap_or_default()),
        json!(phase),
        json!(claim),
        json!(storage_class_name(object, spec.storage_class_name)),
        json!(spec.volume_attributes_class_name.unwrap_or_else(|| "<unset>".into())),
        json!(status.reason.unwrap_or_default()),
        json!(super::age(object, now)),
        json!(spec.volume_mode.unwrap_or_else(|| "<unset>".into())),
    ])
}

fn persistent_volume_claim(object: &Object, now: Timestamp) -> Row {
    let claim: PersistentVolumeClaim = typed(object);
    let spec = claim.spec.unwrap_or_default();
    let status = claim.status.unwrap_or_default();
    let phase = if object.metadata.deletion_timestamp.is_some() {
        "Terminating".to_string()
    } else {
        status.phase.clone().unwrap_or_default()
    };
    let volume_name = spec.volume_name.clone().unwrap_or_default();
    let (capacity, access_modes) = if volume_name.is_empty() {
        (String::new(), String::new())
    } else {
        let storage = status.capacity.as_ref().and_then(|capacity| capacity.get("storage")).map(format::quantity);
        (storage.unwrap_or_else(|| "0".into()), format::access_modes(status.access_modes.as_ref()))
    };
    Row::new(vec![
        json!(object.name()),
        json!(phase),
        json!(volume_name),
        json!(capacity),
        json!(access_modes),
        json!(storage_class_name(object, spec.storage_class_name)),
        json!(spec.volume_attributes_class_name.unwrap_or_else(|| "<unset>".into())),
        json!(super::age(object, now)),
        json!(spec.volume_mode.unwrap_or_else(|| "<unset>".into())),
    ])
}

fn storage_class(object: &Object, now: Timestamp) -> Row {
    let class: StorageClass = typed(object);
    let annotations = object.metadata.annotations.as_ref();
    let is_default =
        ["storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"]
            .iter()
            .any(|key| annotations.and_then(|map| map.get(*key)).is_some_and(|value| value == "true"));
    let name = if is_default { format!("{} (default)", object.name()) } else { object.name().to_string() };
    Row::new(vec![
        json!(name),
        json!(class.provisioner),
        json!(class.reclaim_policy.unwrap_or_else(|| "Delete".into())),
        json!(class.volume_binding_mode.unwrap_or_else(|| "Immediate".into())),
        json!(class.allow_volume_expansion.unwrap_or(false)),
        json!(super::age(object, now)),
    ])
}

fn runtime_class(object: &Object, now: Timestamp) -> Row {
    let handler = object.field("handler").and_then(Value::as_str).unwrap_or_default();
    Row::new(vec![json!(object.name()), json!(handler), json!(super::age(object, now))])
}

fn priority_class(object: &Object, now: Timestamp) -> Row {
    let class: PriorityClass = typed(object);
    Row::new(vec![
        json!(object.name()),
        json!(class.value),
        json!(class.global_default.unwrap_or(false)),
        json!(super::age(object, now)),
        json!(class.preemption_policy.unwrap_or_default()),
    ])
}

fn lease(object: &Object, now: Timestamp) -> Row {
    let lease: Lease = typed(object);
    let holder = lease.spec.and_then(|spec| spec.holder_identity).unwrap_or_default();
    Row::new(vec![json!(object.name()), json!(holder), json!(super::age(object, now))])
}

/// `rbac.SubjectsStrings`: users, groups and `namespace:name` service accounts, each joined.
fn subject_cells(subjects: &[Subject]) -> [serde_json::Value; 3] {
    let of_kind = |kind: &str| -> Vec<String> {
        subjects
            .iter()
            .filter(|subject| subject.kind == kind)
            .map(|subject| match kind {
                "ServiceAccount" => format!("{}:{}", subject.namespace.as_deref().unwrap_or(""), subject.name),
                _ => subject.name.clone(),
            })
            .collect()
    };
    [json!(of_kind("User").join(", ")), json!(of_kind("Group").join(", ")), json!(of_kind("ServiceAccount").join(", "))]
}

fn binding_row(object: &Object, now: Timestamp, role_kind: &str, role_name: &str, subjects: &[Subject]) -> Row {
    let [users, groups, service_accounts] = subject_cells(subjects);
    Row::new(vec![
        json!(object.name()),
        json!(format!("{role_kind}/{role_name}")),
        json!(super::age(object, now)),
        users,
        groups,
        service_accounts,
    ])
}

fn role_binding(object: &Object, now: Timestamp) -> Row {
    let binding: RoleBinding = typed(object);
    binding_row(
        object,
        now,
        &binding.role_ref.kind,
        &binding.role_ref.name,
        binding.subjects.as_deref().unwrap_or_default(),
    )
}

fn cluster_role_binding(object: &Object, now: Timestamp) -> Row {
    let binding: ClusterRoleBinding = typed(object);
    binding_row(
        object,
        now,
        &binding.role_ref.kind,
        &binding.role_ref.name,
        binding.subjects.as_deref().unwrap_or_default(),
    )
}
