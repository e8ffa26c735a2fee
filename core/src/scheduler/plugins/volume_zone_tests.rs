//! VolumeZone's tables, ported from Kubernetes' `volume_zone_test.go`: `TestSingleZone`,
//! `TestMultiZone` and `TestWithBinding` (PreFilter status, then Filter status when PreFilter
//! succeeded; Kubernetes' Filter repeats PreFilter's rejection, which coxswain's framework never
//! reaches).

use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::storage::v1 as storage;

use super::*;
use crate::scheduler::framework::{Code, CycleState, Status};
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::plugins::volume_testing::{VolumePodBuilder, make_pv, make_pvc, objects_of, storage_class};
use crate::scheduler::snapshot::Snapshot;
use crate::scheduler::testing::{make_node, make_pod};

const BETA_ZONE: &str = LABEL_FAILURE_DOMAIN_BETA_ZONE;
const BETA_REGION: &str = LABEL_FAILURE_DOMAIN_BETA_REGION;
const ZONE: &str = LABEL_TOPOLOGY_ZONE;
const REGION: &str = LABEL_TOPOLOGY_REGION;

fn labelled_pv(name: &str, labels: &[(&str, &str)]) -> core::PersistentVolume {
    let mut volume = make_pv(name, "");
    volume.metadata.labels = Some(labels.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect());
    volume
}

fn claim_for(name: &str, volume: &str) -> core::PersistentVolumeClaim {
    let mut claim = make_pvc(name, "");
    claim.spec.get_or_insert_with(Default::default).volume_name = Some(volume.to_owned());
    claim
}

fn pod_with_claim(claim: &str) -> core::Pod {
    make_pod("pod_1").namespace("default").pvc(claim).obj()
}

fn node(labels: &[(&str, &str)]) -> NodeInfo {
    NodeInfo::new(Arc::new(make_node("host1").labels(labels).obj()))
}

fn conflict() -> Option<Status> {
    Some(Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_CONFLICT))
}

/// Runs PreFilter, then Filter if PreFilter succeeded; `None` for a Filter not run or passed.
fn run(pod: &core::Pod, node: &NodeInfo, objects: ClusterObjects) -> (Status, Option<Status>) {
    let snapshot = Snapshot::from_node_infos(vec![node.clone()]).with_objects(objects);
    let pod = PodInfo::new(Arc::new(pod.clone()));
    let mut state = CycleState::new();
    let (_, pre_filter) = VolumeZone.pre_filter(&mut state, &pod, &snapshot);
    let filter = pre_filter.is_success().then(|| VolumeZone.filter(&state, &pod, node)).filter(|s| !s.is_success());
    (pre_filter, filter)
}

#[test]
fn single_zone_volumes_match_the_node_zone_or_region() {
    let volumes = [
        labelled_pv("Vol_1", &[(BETA_ZONE, "us-west1-a")]),
        labelled_pv("Vol_2", &[(BETA_REGION, "us-west1"), ("uselessLabel", "none")]),
        labelled_pv("Vol_3", &[(BETA_REGION, "us-west1")]),
        labelled_pv("Vol_Stable_1", &[(ZONE, "us-west1-a")]),
        labelled_pv("Vol_Stable_2", &[(REGION, "us-west1"), ("uselessLabel", "none")]),
        labelled_pv("Vol_Stable_3", &[(ZONE, "us-west1-a"), (REGION, "us-west1-a")]),
    ];
    let claims = [
        claim_for("PVC_1", "Vol_1"),
        claim_for("PVC_2", "Vol_2"),
        claim_for("PVC_3", "Vol_3"),
        claim_for("PVC_4", "Vol_not_exist"),
        claim_for("PVC_Stable_1", "Vol_Stable_1"),
        claim_for("PVC_Stable_2", "Vol_Stable_2"),
        claim_for("PVC_Stable_3", "Vol_Stable_3"),
    ];
    let objects = || objects_of(&volumes, &claims, &[]);
    let useless = ("uselessLabel", "none");
    let rows: Vec<(&str, core::Pod, NodeInfo, Status, Option<Status>)> = vec![
        (
            "pod without volume",
            make_pod("pod_1").namespace("default").obj(),
            node(&[(BETA_ZONE, "us-west1-a")]),
            Status::code_only(Code::Skip),
            None,
        ),
        ("node without labels", pod_with_claim("PVC_1"), node(&[]), Status::success(), None),
        (
            "beta zone label matched",
            pod_with_claim("PVC_1"),
            node(&[(BETA_ZONE, "us-west1-a"), useless]),
            Status::success(),
            None,
        ),
        (
            "beta region label matched",
            pod_with_claim("PVC_2"),
            node(&[(BETA_REGION, "us-west1"), useless]),
            Status::success(),
            None,
        ),
        (
            "beta region label doesn't match",
            pod_with_claim("PVC_2"),
            node(&[(BETA_REGION, "no_us-west1"), useless]),
            Status::success(),
            conflict(),
        ),
        (
            "beta zone label doesn't match",
            pod_with_claim("PVC_1"),
            node(&[(BETA_ZONE, "no_us-west1-a"), useless]),
            Status::success(),
            conflict(),
        ),
        (
            "zone label matched",
            pod_with_claim("PVC_Stable_1"),
            node(&[(ZONE, "us-west1-a"), useless]),
            Status::success(),
            None,
        ),
        (
            "region label matched",
            pod_with_claim("PVC_Stable_2"),
            node(&[(REGION, "us-west1"), useless]),
            Status::success(),
            None,
        ),
        (
            "region label doesn't match",
            pod_with_claim("PVC_Stable_2"),
            node(&[(REGION, "no_us-west1"), useless]),
            Status::success(),
            conflict(),
        ),
        (
            "zone label doesn't match",
            pod_with_claim("PVC_Stable_1"),
            node(&[(ZONE, "no_us-west1-a"), useless]),
            Status::success(),
            conflict(),
        ),
        (
            "pv with zone and region, node with only zone",
            pod_with_claim("PVC_Stable_3"),
            node(&[(ZONE, "us-west1-a")]),
            Status::success(),
            conflict(),
        ),
        (
            "pv with zone,node with beta zone",
            pod_with_claim("PVC_Stable_1"),
            node(&[(BETA_ZONE, "us-west1-a")]),
            Status::success(),
            conflict(),
        ),
        (
            "pv with beta label,node with ga label, matched",
            pod_with_claim("PVC_1"),
            node(&[(ZONE, "us-west1-a")]),
            Status::success(),
            None,
        ),
        (
            "pv with beta label,node with ga label, don't match",
            pod_with_claim("PVC_1"),
            node(&[(ZONE, "us-west1-b")]),
            Status::success(),
            conflict(),
        ),
    ];
    for (name, pod, node, want_pre_filter, want_filter) in rows {
        let (pre_filter, filter) = run(&pod, &node, objects());
        assert_eq!(pre_filter, want_pre_filter, "{name}: PreFilter");
        assert_eq!(filter, want_filter, "{name}: Filter");
    }
    let (pre_filter, _) = run(&pod_with_claim("PVC_4"), &node(&[]), objects());
    assert_eq!(
        pre_filter,
        Status::new(Code::UnschedulableAndUnresolvable, "persistentvolume \"Vol_not_exist\" not found"),
        "a claim bound to a missing volume"
    );
}

#[test]
fn multi_zone_volume_labels_list_several_zones() {
    let volumes = [
        labelled_pv("Vol_1", &[(BETA_ZONE, "us-west1-a")]),
        labelled_pv("Vol_2", &[(BETA_ZONE, "us-west1-b"), ("uselessLabel", "none")]),
        labelled_pv("Vol_3", &[(BETA_ZONE, "us-west1-c__us-west1-a")]),
        labelled_pv("Vol_Stable_1", &[(ZONE, "us-west1-a")]),
        labelled_pv("Vol_Stable_2", &[(ZONE, "us-west1-c__us-west1-a")]),
    ];
    let claims = [
        claim_for("PVC_1", "Vol_1"),
        claim_for("PVC_2", "Vol_2"),
        claim_for("PVC_3", "Vol_3"),
        claim_for("PVC_Stable_1", "Vol_Stable_1"),
        claim_for("PVC_Stable_2", "Vol_Stable_2"),
    ];
    let useless = ("uselessLabel", "none");
    let rows: Vec<(&str, &str, NodeInfo, Option<Status>)> = vec![
        ("node without labels", "PVC_3", node(&[]), None),
        ("beta zone label matched", "PVC_3", node(&[(BETA_ZONE, "us-west1-a"), useless]), None),
        ("beta zone label doesn't match", "PVC_1", node(&[(BETA_ZONE, "us-west1-b"), useless]), conflict()),
        ("zone label matched", "PVC_Stable_2", node(&[(ZONE, "us-west1-a"), useless]), None),
        ("zone label doesn't match", "PVC_Stable_1", node(&[(ZONE, "us-west1-b"), useless]), conflict()),
    ];
    for (name, claim, node, want_filter) in rows {
        let (pre_filter, filter) = run(&pod_with_claim(claim), &node, objects_of(&volumes, &claims, &[]));
        assert_eq!(pre_filter, Status::success(), "{name}: PreFilter");
        assert_eq!(filter, want_filter, "{name}: Filter");
    }
}

#[test]
fn unbound_claims_are_skipped_only_when_binding_waits_for_the_first_consumer() {
    let mut immediate_without_mode = storage_class("Class_Immediate", "Immediate", "");
    immediate_without_mode.volume_binding_mode = None;
    let classes: [storage::StorageClass; 2] =
        [immediate_without_mode, storage_class("Class_Wait", WAIT_FOR_FIRST_CONSUMER, "")];
    let volumes = [labelled_pv("Vol_1", &[(BETA_ZONE, "us-west1-a")])];
    let claims = [
        claim_for("PVC_1", "Vol_1"),
        make_pvc("PVC_NoSC", "Class_0"),
        make_pvc("PVC_EmptySC", ""),
        make_pvc("PVC_WaitSC", "Class_Wait"),
        make_pvc("PVC_ImmediateSC", "Class_Immediate"),
    ];
    let test_node = node(&[(BETA_ZONE, "us-west1-a"), ("uselessLabel", "none")]);
    let unresolvable = |message: &str| Status::new(Code::UnschedulableAndUnresolvable, message.to_owned());
    let rows: Vec<(&str, &str, Status)> = vec![
        ("label zone failure domain matched", "PVC_1", Status::success()),
        (
            "unbound volume empty storage class",
            "PVC_EmptySC",
            unresolvable("PersistentVolumeClaim had no pv name and storageClass name"),
        ),
        (
            "unbound volume no storage class",
            "PVC_NoSC",
            unresolvable("storageclasses.storage.k8s.io \"Class_0\" not found"),
        ),
        (
            "unbound volume immediate binding mode",
            "PVC_ImmediateSC",
            unresolvable("VolumeBindingMode not set for StorageClass \"Class_Immediate\""),
        ),
        ("unbound volume wait binding mode", "PVC_WaitSC", Status::code_only(Code::Skip)),
    ];
    for (name, claim, want_pre_filter) in rows {
        let (pre_filter, filter) = run(&pod_with_claim(claim), &test_node, objects_of(&volumes, &claims, &classes));
        assert_eq!(pre_filter, want_pre_filter, "{name}: PreFilter");
        assert_eq!(filter, None, "{name}: Filter");
    }
}

#[test]
fn a_label_value_with_an_empty_zone_is_ignored() {
    let volume = labelled_pv("Vol_1", &[(ZONE, "us-west1-a__"), (REGION, "us-west1")]);
    let topologies = volume_topologies(&volume);
    assert_eq!(topologies.len(), 1);
    assert_eq!(topologies[0].key, REGION);
}
