//! Builders the volume plugins' table tests share: Pods with claim and inline volumes,
//! PersistentVolumeClaims, PersistentVolumes and StorageClasses, as Kubernetes' test helpers
//! (`makePVC`, `makePV`, `st.MakePod().PVC(…)`) build them.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::storage::v1 as storage;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use super::volume_helpers::ANN_BIND_COMPLETED;
use crate::scheduler::listers::{ClusterObjects, ListerObject};
use crate::scheduler::testing::PodBuilder;

/// Volume additions to the shared Pod builder.
pub trait VolumePodBuilder {
    /// Adds a `persistentVolumeClaim` volume named after the claim (`st.MakePod().PVC`).
    fn pvc(self, claim: &str) -> PodBuilder;
    /// Adds a volume as given.
    fn volume(self, volume: core::Volume) -> PodBuilder;
}

impl VolumePodBuilder for PodBuilder {
    fn pvc(self, claim: &str) -> PodBuilder {
        let source = core::PersistentVolumeClaimVolumeSource { claim_name: claim.to_owned(), read_only: None };
        self.volume(core::Volume {
            name: claim.to_owned(),
            persistent_volume_claim: Some(source),
            ..Default::default()
        })
    }

    fn volume(mut self, volume: core::Volume) -> PodBuilder {
        let spec = self.0.spec.get_or_insert_with(Default::default);
        spec.volumes.get_or_insert_with(Vec::new).push(volume);
        self
    }
}

/// A generic ephemeral volume.
pub fn ephemeral_volume(name: &str) -> core::Volume {
    core::Volume {
        name: name.to_owned(),
        ephemeral: Some(core::EphemeralVolumeSource::default()),
        ..Default::default()
    }
}

/// A claim in namespace `default` with a class (empty for none).
pub fn make_pvc(name: &str, class: &str) -> core::PersistentVolumeClaim {
    core::PersistentVolumeClaim {
        metadata: meta::ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("default".to_owned()),
            uid: Some(format!("uid-{name}")),
            ..Default::default()
        },
        spec: Some(core::PersistentVolumeClaimSpec {
            storage_class_name: (!class.is_empty()).then(|| class.to_owned()),
            ..Default::default()
        }),
        status: None,
    }
}

/// The claim bound to a volume, with the controller's bind-completed annotation (`withBoundPV`).
pub fn bound(mut claim: core::PersistentVolumeClaim, volume: &str) -> core::PersistentVolumeClaim {
    claim.spec.get_or_insert_with(Default::default).volume_name = Some(volume.to_owned());
    claim
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(ANN_BIND_COMPLETED.to_owned(), "yes".to_owned());
    claim.status = Some(core::PersistentVolumeClaimStatus { phase: Some("Bound".to_owned()), ..Default::default() });
    claim
}

/// The claim asking for this much storage (`withRequestStorage`).
pub fn requesting(mut claim: core::PersistentVolumeClaim, storage: &str) -> core::PersistentVolumeClaim {
    let spec = claim.spec.get_or_insert_with(Default::default);
    let requests = BTreeMap::from([("storage".to_owned(), WireQuantity(storage.to_owned()))]);
    spec.resources = Some(core::VolumeResourceRequirements { requests: Some(requests), limits: None });
    claim
}

/// The claim with these access modes.
pub fn with_access_modes(mut claim: core::PersistentVolumeClaim, modes: &[&str]) -> core::PersistentVolumeClaim {
    claim.spec.get_or_insert_with(Default::default).access_modes =
        Some(modes.iter().map(|mode| (*mode).to_owned()).collect());
    claim
}

/// A volume of a class (empty for none).
pub fn make_pv(name: &str, class: &str) -> core::PersistentVolume {
    core::PersistentVolume {
        metadata: meta::ObjectMeta { name: Some(name.to_owned()), ..Default::default() },
        spec: Some(core::PersistentVolumeSpec {
            storage_class_name: (!class.is_empty()).then(|| class.to_owned()),
            ..Default::default()
        }),
        status: None,
    }
}

/// The volume in a phase (`withPhase`).
pub fn in_phase(mut volume: core::PersistentVolume, phase: &str) -> core::PersistentVolume {
    volume.status = Some(core::PersistentVolumeStatus { phase: Some(phase.to_owned()), ..Default::default() });
    volume
}

/// The volume with this capacity (`withCapacity`).
pub fn with_capacity(mut volume: core::PersistentVolume, storage: &str) -> core::PersistentVolume {
    volume.spec.get_or_insert_with(Default::default).capacity =
        Some(BTreeMap::from([("storage".to_owned(), WireQuantity(storage.to_owned()))]));
    volume
}

/// The volume requiring nodes with these labels, each key `In` its values (`withNodeAffinity`).
pub fn with_node_affinity(mut volume: core::PersistentVolume, terms: &[(&str, &[&str])]) -> core::PersistentVolume {
    let expressions = terms
        .iter()
        .map(|(key, values)| core::NodeSelectorRequirement {
            key: (*key).to_owned(),
            operator: "In".to_owned(),
            values: Some(values.iter().map(|value| (*value).to_owned()).collect()),
        })
        .collect();
    let selector = core::NodeSelector {
        node_selector_terms: vec![core::NodeSelectorTerm { match_expressions: Some(expressions), match_fields: None }],
    };
    volume.spec.get_or_insert_with(Default::default).node_affinity =
        Some(core::VolumeNodeAffinity { required: Some(selector) });
    volume
}

/// A CSI volume of a driver with a handle.
pub fn csi_pv(name: &str, driver: &str, handle: &str) -> core::PersistentVolume {
    let mut volume = make_pv(name, "");
    volume.spec.get_or_insert_with(Default::default).csi = Some(core::CSIPersistentVolumeSource {
        driver: driver.to_owned(),
        volume_handle: handle.to_owned(),
        ..Default::default()
    });
    volume
}

/// A StorageClass with a binding mode and a provisioner.
pub fn storage_class(name: &str, mode: &str, provisioner: &str) -> storage::StorageClass {
    storage::StorageClass {
        metadata: meta::ObjectMeta { name: Some(name.to_owned()), ..Default::default() },
        provisioner: provisioner.to_owned(),
        volume_binding_mode: Some(mode.to_owned()),
        ..Default::default()
    }
}

/// The listers holding these objects.
pub fn objects_of(
    volumes: &[core::PersistentVolume],
    claims: &[core::PersistentVolumeClaim],
    classes: &[storage::StorageClass],
) -> ClusterObjects {
    let mut objects = ClusterObjects::new();
    for volume in volumes {
        objects.apply(&ListerObject::PersistentVolume(Arc::new(volume.clone())));
    }
    for claim in claims {
        objects.apply(&ListerObject::PersistentVolumeClaim(Arc::new(claim.clone())));
    }
    for class in classes {
        objects.apply(&ListerObject::StorageClass(Arc::new(class.clone())));
    }
    objects
}
