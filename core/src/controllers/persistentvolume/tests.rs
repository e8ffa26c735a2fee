//! Rows of Kubernetes' PersistentVolume controller tests
//! (`pkg/controller/volume/persistentvolume/binder_test.go` `TestSync`, `provision_test.go`
//! `TestProvisionSync`, `delete_test.go` `TestDeleteSync`), named by their row ids, checked
//! against the actions one sync returns.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::claim::{ClaimSync, NO_VOLUME_AND_NO_CLASS_MESSAGE, WAITING_FOR_FIRST_CONSUMER_MESSAGE};
use super::volume::{NO_RECYCLER_MESSAGE, no_deleter_message};
use super::*;
use crate::client::action::Reconciled;
use crate::scheduler::plugins::volume_helpers::ANN_SELECTED_NODE;

fn now() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn volume(name: &str, capacity: &str, class: &str, phase: &str, claim: Option<(&str, &str)>) -> PersistentVolume {
    let claim_ref = claim.map(|(name, uid)| {
        json!({"kind": "PersistentVolumeClaim", "apiVersion": "v1",
        "namespace": "default", "name": name, "uid": uid})
    });
    serde_json::from_value(json!({
        "metadata": {"name": name, "uid": format!("uid-{name}"), "resourceVersion": "1"},
        "spec": {"capacity": {"storage": capacity}, "accessModes": ["ReadWriteOnce"], "storageClassName": class,
            "persistentVolumeReclaimPolicy": "Retain", "claimRef": claim_ref, "hostPath": {"path": "/tmp"}},
        "status": {"phase": phase},
    }))
    .unwrap()
}

fn annotated(mut volume: PersistentVolume, annotations: &[(&str, &str)]) -> PersistentVolume {
    let map = volume.metadata.annotations.get_or_insert_with(Default::default);
    for (key, value) in annotations {
        map.insert((*key).into(), (*value).into());
    }
    volume
}

fn with_policy(mut volume: PersistentVolume, policy: &str) -> PersistentVolume {
    volume.spec.as_mut().unwrap().persistent_volume_reclaim_policy = Some(policy.into());
    volume
}

fn claim(
    name: &str,
    request: &str,
    class: Option<&str>,
    volume_name: Option<&str>,
    annotations: Value,
) -> PersistentVolumeClaim {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"), "resourceVersion": "1",
            "annotations": annotations},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": request}},
            "storageClassName": class, "volumeName": volume_name},
        "status": {"phase": "Pending"},
    }))
    .unwrap()
}

fn bound_claim(name: &str, volume_name: &str) -> PersistentVolumeClaim {
    let mut claim = claim(name, "1Gi", Some(""), Some(volume_name), json!({ANN_BIND_COMPLETED: "yes"}));
    claim.status.as_mut().unwrap().phase = Some("Bound".into());
    claim
}

fn class(name: &str, provisioner: &str, mode: &str) -> StorageClass {
    serde_json::from_value(json!({"metadata": {"name": name}, "provisioner": provisioner,
        "reclaimPolicy": "Delete", "volumeBindingMode": mode}))
    .unwrap()
}

fn node(name: &str) -> Node {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}})).unwrap()
}

/// A provisioner that needs no node, as an in-tree cloud provisioner.
#[derive(Debug)]
struct AnywhereProvisioner;

impl Provisioner for AnywhereProvisioner {
    fn name(&self) -> &str {
        "example.com/anywhere"
    }

    fn provision(
        &self,
        mut volume: PersistentVolume,
        _: &ProvisionRequest<'_>,
    ) -> Result<PersistentVolume, ProvisionError> {
        volume.spec.get_or_insert_with(Default::default).host_path =
            Some(k8s_openapi::api::core::v1::HostPathVolumeSource { path: "/anywhere".into(), type_: None });
        Ok(volume)
    }
}

const PROVISIONERS: [&dyn Provisioner; 2] = [&LocalPathProvisioner, &AnywhereProvisioner];

fn sync_claim(
    claim: &PersistentVolumeClaim,
    volumes: &[PersistentVolume],
    class: Option<&StorageClass>,
    node: Option<&Node>,
) -> Reconciled {
    let candidates: Vec<Arc<PersistentVolume>> = volumes.iter().cloned().map(Arc::new).collect();
    let volume_name = claim.spec.as_ref().and_then(|spec| spec.volume_name.as_deref());
    let named_volume = volumes.iter().find(|volume| volume.metadata.name.as_deref() == volume_name);
    let sync = ClaimSync {
        claim,
        candidates: &candidates,
        named_volume,
        class,
        selected_node: node,
        provisioners: &PROVISIONERS,
    };
    reconcile_claim(&sync, now())
}

/// The actions, one line each: `update pv1 claimRef=claim1`, `patch persistentvolumes/status pv1 {...}`,
/// `event Reason: message`, `create pvc-uid`, `delete pv1`.
fn summary(reconciled: &Reconciled) -> Vec<String> {
    reconciled
        .actions
        .iter()
        .map(|action| match action {
            Action::Update { object } => {
                let volume: PersistentVolume = object.to_typed().unwrap();
                let reference = volume.spec.and_then(|spec| spec.claim_ref);
                let claim = reference.as_ref().and_then(|reference| reference.name.clone()).unwrap_or_default();
                let uid = reference.and_then(|reference| reference.uid).unwrap_or_default();
                format!("update {} claimRef={claim}/{uid}", object.name())
            }
            Action::Patch { resource, name, body, .. } => format!("patch {} {name} {body}", resource.resource),
            Action::Event { event } => {
                format!(
                    "event {}: {}",
                    event.reason.clone().unwrap_or_default(),
                    event.message.clone().unwrap_or_default()
                )
            }
            Action::Create { object, .. } => format!("create {}", object.name()),
            Action::Delete { name, .. } => format!("delete {name}"),
            other => format!("{other:?}"),
        })
        .collect()
}

fn bound_status(capacity: &str) -> String {
    json!({"status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": capacity}}})
        .to_string()
}

fn claim_bind_patch(volume: &str, by_controller: bool) -> String {
    let mut annotations = json!({ANN_BIND_COMPLETED: "yes"});
    if by_controller {
        annotations[ANN_BOUND_BY_CONTROLLER] = json!("yes");
    }
    json!({"metadata": {"annotations": annotations}, "spec": {"volumeName": volume}}).to_string()
}

#[test]
fn row_1_1_a_pending_claim_binds_to_the_smallest_available_volume_that_fits() {
    // "1-1 - successful bind", and the index picks the smallest fitting volume
    // (`TestFindingVolumeMatch` in index_test.go).
    let claim = claim("claim1-1", "1Gi", Some(""), None, json!({}));
    let volumes = [
        volume("volume1-1", "10Gi", "", "Available", None),
        volume("volume1-small", "500Mi", "", "Available", None),
        volume("volume1-fits", "2Gi", "", "Available", None),
    ];
    assert_eq!(
        summary(&sync_claim(&claim, &volumes, None, None)),
        [
            "update volume1-fits claimRef=claim1-1/uid-claim1-1".to_string(),
            format!("patch persistentvolumes/status volume1-fits {}", json!({"status": {"phase": "Bound"}})),
            format!("patch persistentvolumeclaims claim1-1 {}", claim_bind_patch("volume1-fits", true)),
            format!("patch persistentvolumeclaims/status claim1-1 {}", bound_status("2Gi")),
        ]
    );
}

#[test]
fn row_1_3_nothing_matches_a_claim_without_a_class() {
    // "1-3 - empty volume" and "1-5 - too small volume": the claim stays Pending with
    // FailedBinding, looked at again after the resync period.
    let claim = claim("claim1-3", "10Gi", Some(""), None, json!({}));
    let volumes = [volume("volume1-5", "1Gi", "", "Available", None)];
    let reconciled = sync_claim(&claim, &volumes, None, None);
    assert_eq!(summary(&reconciled), [format!("event FailedBinding: {NO_VOLUME_AND_NO_CLASS_MESSAGE}")]);
    assert_eq!(reconciled.requeue_after, Some(CLAIM_RESYNC_PERIOD));
}

#[test]
fn row_1_a_volume_of_another_class_access_mode_or_bound_elsewhere_does_not_match() {
    // "1-6 - volume is bound to other claim", "1-8 - class mismatch", "1-9 - access mode
    // mismatch" (TestSync / TestFindingVolumeMatch).
    let claim = claim("claim1-6", "1Gi", Some(""), None, json!({}));
    let mut read_many = volume("volume-rwx", "1Gi", "", "Available", None);
    read_many.spec.as_mut().unwrap().access_modes = Some(vec!["ReadOnlyMany".into()]);
    let volumes = [
        volume("volume-other", "1Gi", "", "Bound", Some(("claim-other", "uid-other"))),
        volume("volume-gold", "1Gi", "gold", "Available", None),
        read_many,
    ];
    let actions = summary(&sync_claim(&claim, &volumes, None, None));
    assert!(actions.iter().all(|action| action.starts_with("event FailedBinding")), "{actions:?}");
}

#[test]
fn row_1_4_a_volume_pre_bound_to_the_claim_by_its_claim_ref_is_taken() {
    // "1-4 - noop with volume bound to other claim... pre-bound": a volume whose claimRef names
    // the claim (without uid) binds it and gets no bound-by-controller annotation.
    let claim = claim("claim1-4", "1Gi", Some(""), None, json!({}));
    let mut pre_bound = volume("volume1-4", "1Gi", "", "Available", Some(("claim1-4", "")));
    pre_bound.spec.as_mut().unwrap().claim_ref.as_mut().unwrap().uid = None;
    let reconciled = sync_claim(&claim, &[pre_bound, volume("volume-x", "1Gi", "", "Available", None)], None, None);
    let Action::Update { object } = &reconciled.actions[0] else { panic!("{reconciled:?}") };
    assert_eq!(object.name(), "volume1-4");
    assert!(
        object
            .metadata
            .annotations
            .as_ref()
            .is_none_or(|annotations| !annotations.contains_key(ANN_BOUND_BY_CONTROLLER))
    );
}

#[test]
fn row_2_pre_bound_claims() {
    // "2-1 - claim prebound to non-existing volume - noop": stays Pending.
    let claim = claim("claim2-1", "1Gi", Some(""), Some("volume2-1"), json!({}));
    let reconciled = sync_claim(&claim, &[], None, None);
    assert!(reconciled.actions.is_empty());
    assert_eq!(reconciled.requeue_after, Some(CLAIM_RESYNC_PERIOD));
    // "2-3 - claim prebound to unbound volume": bound, the claim not marked by-controller.
    let volumes = [volume("volume2-1", "1Gi", "", "Available", None)];
    let actions = summary(&sync_claim(&claim, &volumes, None, None));
    assert_eq!(actions[2], format!("patch persistentvolumeclaims claim2-1 {}", claim_bind_patch("volume2-1", false)));
    // "2-5 - claim prebound to volume that is bound by someone else": FailedBinding.
    let volumes = [volume("volume2-1", "1Gi", "", "Bound", Some(("claim-other", "uid-other")))];
    assert_eq!(
        summary(&sync_claim(&claim, &volumes, None, None)),
        [r#"event FailedBinding: volume "volume2-1" already bound to a different claim."#]
    );
}

#[test]
fn row_3_bound_claims() {
    // "3-1 - bound claim with missing VolumeName".
    let mut lost_name = bound_claim("claim3-1", "volume3-1");
    lost_name.spec.as_mut().unwrap().volume_name = None;
    let actions = summary(&sync_claim(&lost_name, &[], None, None));
    assert_eq!(
        actions[0],
        format!("patch persistentvolumeclaims/status claim3-1 {}", json!({"status": {"phase": "Lost"}}))
    );
    assert_eq!(
        actions[1],
        "event ClaimLost: Bound claim has lost reference to PersistentVolume. Data on the volume is lost!"
    );
    // "3-2 - bound claim with missing volume".
    let claim = bound_claim("claim3-2", "volume3-2");
    let actions = summary(&sync_claim(&claim, &[], None, None));
    assert_eq!(actions[1], "event ClaimLost: Bound claim has lost its PersistentVolume. Data on the volume is lost!");
    // "3-4 - bound claim with bound volume": nothing to do.
    let volumes = [volume("volume3-2", "1Gi", "", "Bound", Some(("claim3-2", "uid-claim3-2")))];
    let mut settled = claim.clone();
    settled.status.as_mut().unwrap().access_modes = Some(vec!["ReadWriteOnce".into()]);
    settled.status.as_mut().unwrap().capacity =
        Some([("storage".to_string(), k8s_openapi::apimachinery::pkg::api::resource::Quantity("1Gi".into()))].into());
    assert_eq!(summary(&sync_claim(&settled, &volumes, None, None)), Vec::<String>::new());
    // "3-3 - bound claim with unbound volume": the binding is written again.
    let volumes = [volume("volume3-2", "1Gi", "", "Available", None)];
    assert!(summary(&sync_claim(&settled, &volumes, None, None))[0].starts_with("update volume3-2"));
    // "3-5 - bound claim with volume bound to other claim": ClaimMisbound.
    let volumes = [volume("volume3-2", "1Gi", "", "Bound", Some(("claim-other", "uid-other")))];
    let actions = summary(&sync_claim(&claim, &volumes, None, None));
    assert_eq!(
        actions[1],
        "event ClaimMisbound: Two claims are bound to the same volume, this one is bound incorrectly"
    );
}

fn sync_volume(volume: &PersistentVolume, claim: Option<&PersistentVolumeClaim>) -> Vec<String> {
    summary(&reconcile_volume(volume, claim, &PROVISIONERS, now()))
}

fn phase_patch(name: &str, phase: &str) -> String {
    format!("patch persistentvolumes/status {name} {}", json!({"status": {"phase": phase}}))
}

#[test]
fn row_4_volumes() {
    // "4-1 - volume is Pending": Available.
    assert_eq!(
        sync_volume(&volume("volume4-1", "1Gi", "", "Pending", None), None),
        [phase_patch("volume4-1", "Available")]
    );
    // "4-2 - volume is Available": nothing.
    assert!(sync_volume(&volume("volume4-2", "1Gi", "", "Available", None), None).is_empty());
    // "4-3 - volume bound to a missing claim": Released (reclaim policy Retain keeps it).
    let volume4_3 = volume("volume4-3", "1Gi", "", "Bound", Some(("claim4-3", "uid-claim4-3")));
    assert_eq!(sync_volume(&volume4_3, None), [phase_patch("volume4-3", "Released")]);
    // "4-4 - volume bound to claim with different UID": the claim was recreated; Released.
    let recreated = bound_claim("claim4-3", "volume4-3");
    let mut recreated = recreated;
    recreated.metadata.uid = Some("uid-new".into());
    assert_eq!(sync_volume(&volume4_3, Some(&recreated)), [phase_patch("volume4-3", "Released")]);
    // "4-5 - volume bound by controller to unbound claim": waits for the claim's sync.
    let unbound = claim("claim4-3", "1Gi", Some(""), None, json!({}));
    assert!(sync_volume(&volume4_3, Some(&unbound)).is_empty());
    // "4-6 - volume bound by user to bound claim": Bound.
    let available = volume("volume4-3", "1Gi", "", "Available", Some(("claim4-3", "uid-claim4-3")));
    assert_eq!(
        sync_volume(&available, Some(&bound_claim("claim4-3", "volume4-3"))),
        [phase_patch("volume4-3", "Bound")]
    );
    // "4-7 - volume bound by controller to claim bound somewhere else": unbound, Available.
    let by_controller = annotated(volume4_3.clone(), &[(ANN_BOUND_BY_CONTROLLER, "yes")]);
    let elsewhere = bound_claim("claim4-3", "volume-other");
    assert_eq!(
        sync_volume(&by_controller, Some(&elsewhere)),
        ["update volume4-3 claimRef=/".to_string(), phase_patch("volume4-3", "Available")]
    );
    // "4-8 - volume bound by user to claim bound somewhere else": keeps the name, loses the uid.
    assert_eq!(
        sync_volume(&volume4_3, Some(&elsewhere)),
        ["update volume4-3 claimRef=claim4-3/".to_string(), phase_patch("volume4-3", "Available")]
    );
}

#[test]
fn delete_rows() {
    let released = |name: &str| with_policy(volume(name, "1Gi", "", "Released", Some(("gone", "uid-gone"))), "Delete");
    // "8-1 - successful delete" of a volume a provisioner here made.
    let provisioned = annotated(released("volume8-1"), &[(ANN_DYNAMICALLY_PROVISIONED, "rancher.io/local-path")]);
    assert_eq!(sync_volume(&provisioned, None), ["delete volume8-1"]);
    // "8-2 - delete volume plugin not found": Failed with VolumeFailedDelete.
    let actions = sync_volume(&released("volume8-2"), None);
    assert_eq!(
        actions[0],
        format!(
            "patch persistentvolumes/status volume8-2 {}",
            json!({"status": {"phase": "Failed", "message": no_deleter_message("volume8-2")}})
        )
    );
    assert_eq!(actions[1], format!("event VolumeFailedDelete: {}", no_deleter_message("volume8-2")));
    // "8-11 - external provisioner": left for it.
    let external = annotated(released("volume8-11"), &[(ANN_DYNAMICALLY_PROVISIONED, "external.io/x")]);
    assert!(sync_volume(&external, None).is_empty());
    // A provisioned volume whose claim bound elsewhere is released and deleted
    // ("8-12 - dynamically provisioned volume bound to a claim bound elsewhere").
    let bound = annotated(
        with_policy(volume("volume8-12", "1Gi", "", "Bound", Some(("claim8-12", "uid-claim8-12"))), "Delete"),
        &[(ANN_DYNAMICALLY_PROVISIONED, "rancher.io/local-path")],
    );
    assert_eq!(
        sync_volume(&bound, Some(&bound_claim("claim8-12", "volume-other"))),
        [phase_patch("volume8-12", "Released"), "delete volume8-12".to_string()]
    );
    // Recycle is not done: Failed with VolumeFailedRecycle ("6-x" recycle rows skipped).
    let recycled = with_policy(volume("volume6-1", "1Gi", "", "Released", Some(("gone", "uid-gone"))), "Recycle");
    assert_eq!(sync_volume(&recycled, None)[1], format!("event VolumeFailedRecycle: {NO_RECYCLER_MESSAGE}"));
}

#[test]
fn provision_rows() {
    // "11-1 - successful provision" with an Immediate class whose provisioner runs here.
    let immediate = class("anywhere", "example.com/anywhere", "Immediate");
    let claim11 = claim("claim11-1", "1Gi", Some("anywhere"), None, json!({}));
    let reconciled = sync_claim(&claim11, &[], Some(&immediate), None);
    let actions = summary(&reconciled);
    assert!(actions[0].contains(ANN_STORAGE_PROVISIONER), "{actions:?}");
    assert_eq!(actions[1], "create pvc-uid-claim11-1");
    assert_eq!(
        actions[2],
        "event ProvisioningSucceeded: Successfully provisioned volume pvc-uid-claim11-1 using example.com/anywhere"
    );
    let Action::Create { object, .. } = &reconciled.actions[1] else { panic!() };
    let created: PersistentVolume = object.to_typed().unwrap();
    let spec = created.spec.unwrap();
    assert_eq!(spec.persistent_volume_reclaim_policy.as_deref(), Some("Delete"));
    assert_eq!(spec.storage_class_name.as_deref(), Some("anywhere"));
    assert_eq!(spec.claim_ref.and_then(|reference| reference.uid).as_deref(), Some("uid-claim11-1"));
    assert_eq!(created.metadata.annotations.unwrap()[ANN_DYNAMICALLY_PROVISIONED], "example.com/anywhere");
    // "11-7 - claim with a class that does not exist".
    let missing = claim("claim11-7", "1Gi", Some("missing"), None, json!({}));
    assert_eq!(
        summary(&sync_claim(&missing, &[], None, None)),
        [r#"event ProvisioningFailed: storageclass.storage.k8s.io "missing" not found"#]
    );
    // "11-17 - external provisioner": annotated, ExternalProvisioning.
    let external = class("external", "external.io/x", "Immediate");
    let claim = claim("claim11-17", "1Gi", Some("external"), None, json!({}));
    let actions = summary(&sync_claim(&claim, &[], Some(&external), None));
    assert!(actions[1].starts_with("event ExternalProvisioning: Waiting for a volume to be created either by the external provisioner 'external.io/x'"), "{actions:?}");
}

#[test]
fn wait_for_first_consumer_waits_for_the_selected_node_then_provisions_a_local_path_volume_there() {
    // TestProvisionSync "13-1 - delayed binding without selected node" and "13-2 ... with
    // selected node" (provision_test.go), with the local-path provisioner.
    let local_path = class("local-path", "rancher.io/local-path", "WaitForFirstConsumer");
    let waiting = claim("data", "1Gi", Some("local-path"), None, json!({}));
    assert_eq!(
        summary(&sync_claim(&waiting, &[], Some(&local_path), None)),
        [format!("event WaitForFirstConsumer: {WAITING_FOR_FIRST_CONSUMER_MESSAGE}")]
    );
    // An Available volume of the class is left to the scheduler, not bound here.
    let available = [volume("local-1", "1Gi", "local-path", "Available", None)];
    assert!(
        summary(&sync_claim(&waiting, &available, Some(&local_path), None))[0]
            .starts_with("event WaitForFirstConsumer")
    );
    let selected = claim("data", "1Gi", Some("local-path"), None, json!({ANN_SELECTED_NODE: "node-1"}));
    let node = node("node-1");
    let reconciled = sync_claim(&selected, &[], Some(&local_path), Some(&node));
    let Some(Action::Create { object, .. }) = reconciled.actions.iter().find(|action| action.is_create()) else {
        panic!("{reconciled:?}")
    };
    let created: PersistentVolume = object.to_typed().unwrap();
    let spec = created.spec.unwrap();
    assert_eq!(spec.host_path.unwrap().path, "/var/lib/coxswain/local-path/pvc-uid-data_default_data");
    let term = &spec.node_affinity.unwrap().required.unwrap().node_selector_terms[0];
    let requirement = &term.match_expressions.as_ref().unwrap()[0];
    assert_eq!(
        (requirement.key.as_str(), requirement.values.clone()),
        ("kubernetes.io/hostname", Some(vec!["node-1".into()]))
    );
    // The selected node is gone: ProvisioningFailed.
    let actions = summary(&sync_claim(&selected, &[], Some(&local_path), None));
    assert!(
        actions
            .contains(&r#"event ProvisioningFailed: failed to get target node: node "node-1" not found"#.to_string())
    );
    // An Immediate local-path class cannot provision: no node.
    let immediate = class("local-now", "rancher.io/local-path", "Immediate");
    let claim = claim("now", "1Gi", Some("local-now"), None, json!({}));
    let actions = summary(&sync_claim(&claim, &[], Some(&immediate), None));
    assert!(actions.contains(&"event ProvisioningFailed: configuration error, no node was specified".to_string()));
}
