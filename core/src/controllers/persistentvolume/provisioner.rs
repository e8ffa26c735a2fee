//! Dynamic provisioning: the [`Provisioner`] trait a class's provisioner implements to turn a
//! claim into a volume, and the one coxswain runs, [`LocalPathProvisioner`] (k3s'
//! `rancher.io/local-path`): a hostPath directory on the node the claim's first pod was
//! scheduled to, pinned there by node affinity.
//!
//! A provisioner here only describes the volume. In the simulator that is all there is; on a
//! real node the kubelet creates the directory when it mounts the volume (`DirectoryOrCreate`).

use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PersistentVolume,
    PersistentVolumeClaim, VolumeNodeAffinity,
};
use k8s_openapi::api::storage::v1::StorageClass;

use crate::api::local_path::{LOCAL_PATH_PROVISIONER, LOCAL_PATH_ROOT};

/// The node label local volumes are pinned by.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// What a provisioner is asked for.
#[derive(Clone, Copy, Debug)]
pub struct ProvisionRequest<'a> {
    /// The claim to provision for.
    pub claim: &'a PersistentVolumeClaim,
    /// Its class.
    pub class: &'a StorageClass,
    /// The node the scheduler chose (`volume.kubernetes.io/selected-node`), if any.
    pub selected_node: Option<&'a Node>,
}

/// Why a provisioner refused a claim; the message becomes a ProvisioningFailed event.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProvisionError {
    /// The volume must live on one node and the claim names none (an Immediate class).
    #[error("configuration error, no node was specified")]
    NoNodeSelected,
    /// The claim asks for an access mode a node-local volume cannot give.
    #[error("NodePath only supports ReadWriteOnce and ReadWriteOncePod access modes, not {mode}")]
    UnsupportedAccessMode {
        /// The mode asked for.
        mode: String,
    },
}

/// A provisioner the controller runs in-process (Kubernetes' in-tree provisioners).
pub trait Provisioner: std::fmt::Debug {
    /// The name classes give in `provisioner`.
    fn name(&self) -> &str;

    /// Fills in the volume source (and node affinity) of `volume`, which the controller has
    /// named and given its class, capacity, access modes, claimRef and reclaim policy.
    fn provision(
        &self,
        volume: PersistentVolume,
        request: &ProvisionRequest<'_>,
    ) -> Result<PersistentVolume, ProvisionError>;
}

/// k3s' local-path provisioner: `<root>/<volume>_<namespace>_<claim>` on the selected node.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalPathProvisioner;

impl Provisioner for LocalPathProvisioner {
    fn name(&self) -> &str {
        LOCAL_PATH_PROVISIONER
    }

    fn provision(
        &self,
        mut volume: PersistentVolume,
        request: &ProvisionRequest<'_>,
    ) -> Result<PersistentVolume, ProvisionError> {
        let node = request.selected_node.ok_or(ProvisionError::NoNodeSelected)?;
        let modes = request.claim.spec.as_ref().and_then(|spec| spec.access_modes.as_deref()).unwrap_or_default();
        if let Some(mode) = modes.iter().find(|mode| !matches!(mode.as_str(), "ReadWriteOnce" | "ReadWriteOncePod")) {
            return Err(ProvisionError::UnsupportedAccessMode { mode: mode.clone() });
        }
        let node_name = node.metadata.name.clone().unwrap_or_default();
        let hostname =
            node.metadata.labels.as_ref().and_then(|labels| labels.get(HOSTNAME_LABEL)).cloned().unwrap_or(node_name);
        let volume_name = volume.metadata.name.clone().unwrap_or_default();
        let namespace = request.claim.metadata.namespace.as_deref().unwrap_or_default();
        let claim_name = request.claim.metadata.name.as_deref().unwrap_or_default();
        let spec = volume.spec.get_or_insert_with(Default::default);
        spec.host_path = Some(HostPathVolumeSource {
            path: format!("{LOCAL_PATH_ROOT}/{volume_name}_{namespace}_{claim_name}"),
            type_: Some("DirectoryOrCreate".into()),
        });
        spec.node_affinity = Some(VolumeNodeAffinity {
            required: Some(NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(vec![NodeSelectorRequirement {
                        key: HOSTNAME_LABEL.into(),
                        operator: "In".into(),
                        values: Some(vec![hostname]),
                    }]),
                    match_fields: None,
                }],
            }),
        });
        Ok(volume)
    }
}
