//! VolumeRestrictions' tables, ported from Kubernetes' `volume_restrictions_test.go`:
//! `TestGCEDiskConflicts`, `TestAWSDiskConflicts`, `TestRBDDiskConflicts`,
//! `TestISCSIDiskConflicts` and `TestAccessModeConflicts` (PreFilter status, then Filter status
//! when PreFilter succeeded), plus read-only sharing and preemption's RemovePod.

use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;

use super::*;
use crate::scheduler::framework::{Code, CycleState, Status};
use crate::scheduler::listers::ClusterObjects;
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::plugins::volume_testing::{VolumePodBuilder, make_pvc, objects_of, with_access_modes};
use crate::scheduler::snapshot::Snapshot;
use crate::scheduler::testing::{make_node, make_pod, node_infos};

/// Runs PreFilter against a snapshot of `node` and, if it succeeded, Filter on `node`.
fn run(pod: &core::Pod, node: NodeInfo, objects: ClusterObjects) -> (Status, Option<Status>, CycleState) {
    let snapshot = Snapshot::from_node_infos(vec![node.clone()]).with_objects(objects);
    let pod = PodInfo::new(Arc::new(pod.clone()));
    let mut state = CycleState::new();
    let (_, pre_filter) = VolumeRestrictions.pre_filter(&mut state, &pod, &snapshot);
    let filter = pre_filter.is_success().then(|| VolumeRestrictions.filter(&state, &pod, &node));
    (pre_filter, filter, state)
}

fn node_with(pods: &[core::Pod]) -> NodeInfo {
    let pods: Vec<core::Pod> = pods
        .iter()
        .enumerate()
        .map(|(index, pod)| {
            let mut pod = pod.clone();
            pod.metadata.name = Some(format!("existing-{index}"));
            pod.metadata.uid = Some(format!("existing-{index}"));
            pod.spec.get_or_insert_with(Default::default).node_name = Some("node-1".into());
            pod
        })
        .collect();
    node_infos(&[make_node("node-1").obj()], &pods).remove(0)
}

fn pod_with(volume: &core::Volume) -> core::Pod {
    make_pod("pod").volume(volume.clone()).obj()
}

fn disk_conflict() -> Status {
    Status::new(Code::Unschedulable, ERR_REASON_DISK_CONFLICT)
}

/// The four rows every disk table shares: nothing, one state, same state, different state.
fn check_disk_table(state_volume: core::Volume, other_volume: core::Volume) {
    let skip = Status::code_only(Code::Skip);
    let empty = make_pod("pod").obj();
    let (pre_filter, _, _) = run(&empty, node_with(&[]), ClusterObjects::new());
    assert_eq!(pre_filter, skip, "nothing");
    let (pre_filter, _, _) = run(&empty, node_with(&[pod_with(&state_volume)]), ClusterObjects::new());
    assert_eq!(pre_filter, skip, "one state");
    let (pre_filter, filter, _) =
        run(&pod_with(&state_volume), node_with(&[pod_with(&state_volume)]), ClusterObjects::new());
    assert_eq!((pre_filter, filter), (Status::success(), Some(disk_conflict())), "same state");
    let (pre_filter, filter, _) =
        run(&pod_with(&other_volume), node_with(&[pod_with(&state_volume)]), ClusterObjects::new());
    assert_eq!((pre_filter, filter), (Status::success(), Some(Status::success())), "different state");
}

fn gce(name: &str, read_only: bool) -> core::Volume {
    core::Volume {
        name: "gce".into(),
        gce_persistent_disk: Some(core::GCEPersistentDiskVolumeSource {
            pd_name: name.into(),
            read_only: Some(read_only),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn the_same_gce_disk_conflicts_and_a_different_one_does_not() {
    check_disk_table(gce("foo", false), gce("bar", false));
}

#[test]
fn a_pod_with_only_unrestricted_volumes_skips_the_plugin() {
    let pod =
        make_pod("pod").volume(core::Volume { name: "volume with no restriction".into(), ..Default::default() }).obj();
    let (pre_filter, _, _) = run(&pod, node_with(&[]), ClusterObjects::new());
    assert_eq!(pre_filter, Status::code_only(Code::Skip));
}

#[test]
fn a_gce_disk_mounted_read_only_by_both_pods_does_not_conflict() {
    let (_, filter, _) =
        run(&pod_with(&gce("foo", true)), node_with(&[pod_with(&gce("foo", true))]), ClusterObjects::new());
    assert_eq!(filter, Some(Status::success()));
    let (_, filter, _) =
        run(&pod_with(&gce("foo", true)), node_with(&[pod_with(&gce("foo", false))]), ClusterObjects::new());
    assert_eq!(filter, Some(disk_conflict()));
}

fn aws(id: &str) -> core::Volume {
    core::Volume {
        name: "aws".into(),
        aws_elastic_block_store: Some(core::AWSElasticBlockStoreVolumeSource {
            volume_id: id.into(),
            read_only: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn the_same_aws_volume_conflicts_even_read_only() {
    check_disk_table(aws("foo"), aws("bar"));
}

fn rbd(monitors: &[&str]) -> core::Volume {
    core::Volume {
        name: "rbd".into(),
        rbd: Some(core::RBDVolumeSource {
            monitors: monitors.iter().map(|monitor| (*monitor).to_owned()).collect(),
            pool: Some("foo".into()),
            image: "bar".into(),
            fs_type: Some("ext4".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn the_same_rbd_image_behind_a_shared_monitor_conflicts() {
    check_disk_table(rbd(&["a", "b"]), rbd(&["c", "d"]));
}

fn iscsi(iqn: &str) -> core::Volume {
    core::Volume {
        name: "iscsi".into(),
        iscsi: Some(core::ISCSIVolumeSource {
            target_portal: "127.0.0.1:3260".into(),
            iqn: iqn.into(),
            fs_type: Some("ext4".into()),
            lun: 0,
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn the_same_iscsi_target_conflicts() {
    check_disk_table(iscsi("iqn.2016-12.server:storage.target01"), iscsi("iqn.2017-12.server:storage.target01"));
}

fn access_mode_objects() -> ClusterObjects {
    objects_of(
        &[],
        &[
            with_access_modes(make_pvc("claim-with-rwop-1", ""), &["ReadWriteOncePod"]),
            with_access_modes(make_pvc("claim-with-rwop-2", ""), &["ReadWriteOncePod"]),
            with_access_modes(make_pvc("claim-with-rwx", ""), &["ReadWriteMany"]),
        ],
        &[],
    )
}

fn scheduled(name: &str, claims: &[&str]) -> core::Pod {
    let mut pod = claims.iter().fold(make_pod(name), |pod, claim| pod.pvc(claim));
    pod.0.spec.get_or_insert_with(Default::default).node_name = Some("node-1".into());
    pod.obj()
}

fn node_running(pods: &[core::Pod]) -> NodeInfo {
    node_infos(&[make_node("node-1").obj()], pods).remove(0)
}

#[test]
fn access_mode_table() {
    let one_pvc = scheduled("pod-with-one-pvc", &["claim-with-rwop-1"]);
    let two_pvcs = scheduled("pod-with-two-pvcs", &["claim-with-rwop-1", "claim-with-rwop-2"]);
    let one_conflict = scheduled("pod-with-one-conflict", &["claim-with-rwop-1"]);
    let two_conflicts = scheduled("pod-with-two-conflicts", &["claim-with-rwop-1", "claim-with-rwop-2"]);
    let read_write_many = scheduled("pod-with-rwx", &["claim-with-rwx"]);
    let conflict = Status::new(Code::Unschedulable, ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT);

    let (pre_filter, _, _) = run(&make_pod("pod").obj(), node_running(&[]), ClusterObjects::new());
    assert_eq!(pre_filter, Status::code_only(Code::Skip), "nothing");

    let (pre_filter, _, _) = run(&one_pvc, node_running(&[]), ClusterObjects::new());
    assert_eq!(
        pre_filter,
        Status::new(Code::UnschedulableAndUnresolvable, r#"persistentvolumeclaim "claim-with-rwop-1" not found"#),
        "failed to get PVC"
    );

    let (pre_filter, _, _) = run(&one_pvc, node_running(std::slice::from_ref(&read_write_many)), access_mode_objects());
    assert_eq!(pre_filter, Status::code_only(Code::Skip), "no access mode conflict");

    let (pre_filter, filter, _) =
        run(&one_conflict, node_running(&[one_pvc.clone(), read_write_many.clone()]), access_mode_objects());
    assert_eq!((pre_filter, filter), (Status::success(), Some(conflict.clone())), "access mode conflict");

    let (pre_filter, filter, _) =
        run(&two_conflicts, node_running(&[two_pvcs, read_write_many]), access_mode_objects());
    assert_eq!((pre_filter, filter), (Status::success(), Some(conflict)), "two conflicts");
}

#[test]
fn removing_the_pod_that_uses_a_read_write_once_pod_claim_clears_the_conflict() {
    let holder = scheduled("holder", &["claim-with-rwop-1"]);
    let node = node_running(std::slice::from_ref(&holder));
    let preemptor = make_pod("preemptor").pvc("claim-with-rwop-1").obj();
    let (_, filter, mut state) = run(&preemptor, node.clone(), access_mode_objects());
    assert_eq!(filter, Some(Status::new(Code::Unschedulable, ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT)));
    let preemptor = PodInfo::new(Arc::new(preemptor));
    let holder = PodInfo::new(Arc::new(holder));
    assert_eq!(VolumeRestrictions.remove_pod(&mut state, &preemptor, &holder, &node), Status::success());
    assert_eq!(VolumeRestrictions.filter(&state, &preemptor, &node), Status::success());
    assert_eq!(VolumeRestrictions.add_pod(&mut state, &preemptor, &holder, &node), Status::success());
    assert!(VolumeRestrictions.filter(&state, &preemptor, &node).is_rejected());
}
