//! NodeVolumeLimits' table, ported from Kubernetes' `csi_test.go` (`TestCSILimits`). Kubernetes
//! sets each driver's limit on a CSINode; coxswain has no CSINode, so the same limit is set as
//! the node's allocatable `attachable-volumes-csi-<driver>`, which `getVolumeLimits` merges into
//! the same keys. Rows that need CSI migration (a CSINode annotated with migrated plugins) or
//! VolumeAttachments are left out; in-tree volumes are checked to be uncounted instead, which is
//! Kubernetes' answer for a node without a CSINode.

use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use super::*;
use crate::scheduler::framework::{Code, CycleState, Status};
use crate::scheduler::listers::ClusterObjects;
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::plugins::volume_testing::{
    VolumePodBuilder, csi_pv, ephemeral_volume, make_pv, make_pvc, objects_of, storage_class,
};
use crate::scheduler::snapshot::Snapshot;
use crate::scheduler::testing::{make_node, make_pod};

const EBS: &str = "ebs.csi.aws.com";
const GCE: &str = "pd.csi.storage.gke.io";
const HOSTPATH: &str = "kubernetes.io/hostpath";
const SC_NAME: &str = "csi-sc";

/// The listers of `getFakeCSIPVLister`, `getFakeCSIPVCLister` and
/// `getFakeCSIStorageClassLister`, plus extra claims.
fn objects(drivers: &[&str], extra_claims: &[core::PersistentVolumeClaim]) -> ClusterObjects {
    let mut volumes = Vec::new();
    let mut claims = Vec::new();
    for driver in drivers {
        for index in 0..4 {
            let name = format!("csi-{driver}-{index}");
            let volume = if *driver == HOSTPATH {
                let mut volume = make_pv(&name, "");
                volume.spec.as_mut().expect("spec").host_path =
                    Some(core::HostPathVolumeSource { path: "/tmp".into(), type_: None });
                volume
            } else {
                csi_pv(&name, driver, &name)
            };
            volumes.push(volume);
            let mut claim = make_pvc(&name, "");
            claim.spec.as_mut().expect("spec").volume_name = Some(name.clone());
            claims.push(claim);
        }
    }
    claims.push(make_pvc("csi-4", SC_NAME));
    claims.push(make_pvc("csi-5", ""));
    let mut missing = make_pvc("csi-6", SC_NAME);
    missing.spec.as_mut().expect("spec").volume_name = Some("missing-in-action".into());
    claims.push(missing);
    claims.extend(extra_claims.iter().cloned());
    objects_of(&volumes, &claims, &[storage_class(SC_NAME, "Immediate", drivers[0])])
}

/// A node limiting each driver to `limit` volumes (no limit when `None`), running `pods`.
fn node(limit: Option<i64>, drivers: &[&str], pods: &[core::Pod]) -> NodeInfo {
    let limits: Vec<(String, String)> = limit
        .into_iter()
        .flat_map(|limit| drivers.iter().map(move |driver| (csi_attach_limit_key(driver), limit.to_string())))
        .collect();
    let pairs: Vec<(&str, &str)> = limits.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect();
    let mut info = NodeInfo::new(Arc::new(make_node("node-for-max-pd-test-1").capacity(&pairs).obj()));
    for pod in pods {
        info.add_pod(Arc::new(PodInfo::new(Arc::new(pod.clone()))));
    }
    info
}

/// PreFilter, then Filter when PreFilter did not skip.
fn run(pod: &core::Pod, node: &NodeInfo, objects: ClusterObjects) -> (Status, Option<Status>) {
    let snapshot = Snapshot::from_node_infos(vec![node.clone()]).with_objects(objects);
    let pod = PodInfo::new(Arc::new(pod.clone()));
    let mut state = CycleState::new();
    let (_, pre_filter) = NodeVolumeLimits.pre_filter(&mut state, &pod, &snapshot);
    let filter = (!pre_filter.is_skip()).then(|| NodeVolumeLimits.filter(&state, &pod, node));
    (pre_filter, filter)
}

fn claims_pod(name: &str, claims: &[&str]) -> core::Pod {
    claims.iter().fold(make_pod(name), |pod, claim| pod.pvc(claim)).obj()
}

fn exceeded() -> Option<Status> {
    Some(Status::new(Code::Unschedulable, ERR_REASON_MAX_VOLUME_COUNT_EXCEEDED))
}

fn fits() -> Option<Status> {
    Some(Status::success())
}

fn ebs_one() -> core::Pod {
    claims_pod("csi-ebs-one", &["csi-ebs.csi.aws.com-0"])
}
fn ebs_two() -> core::Pod {
    claims_pod("csi-ebs-two", &["csi-ebs.csi.aws.com-1", "csi-ebs.csi.aws.com-2"])
}
fn running() -> core::Pod {
    claims_pod("running", &["csi-ebs.csi.aws.com-3"])
}
fn gce_two() -> core::Pod {
    claims_pod("gce-two", &["csi-pd.csi.storage.gke.io-1", "csi-pd.csi.storage.gke.io-2"])
}

/// A row: name, new Pod, existing Pods, per-driver limit, drivers, expected Filter status.
type Case = (&'static str, core::Pod, Vec<core::Pod>, Option<i64>, Vec<&'static str>, Option<Status>);

#[test]
fn csi_volumes_count_against_the_driver_limit() {
    let cases: Vec<Case> = vec![
        (
            "fits when node volume limit >= new pods CSI volume",
            ebs_one(),
            vec![running(), ebs_two()],
            Some(4),
            vec![EBS],
            fits(),
        ),
        (
            "doesn't when node volume limit <= pods CSI volume",
            ebs_one(),
            vec![running(), ebs_two()],
            Some(2),
            vec![EBS],
            exceeded(),
        ),
        (
            "should when driver does not support volume limits",
            ebs_one(),
            vec![running(), ebs_two()],
            None,
            vec![EBS],
            fits(),
        ),
        (
            "count pending PVCs towards volume limit <= pods CSI volume",
            ebs_one(),
            vec![claims_pod("pending", &["csi-4"]), ebs_two()],
            Some(2),
            vec![EBS],
            exceeded(),
        ),
        (
            "count multiple pending pvcs towards volume limit >= pods CSI volume",
            ebs_one(),
            vec![claims_pod("pending", &["csi-4"]), claims_pod("pending-2", &["csi-4"]), ebs_two()],
            Some(4),
            vec![EBS],
            fits(),
        ),
        (
            "should count PVCs with invalid PV name but valid SC",
            ebs_one(),
            vec![claims_pod("missing-pv", &["csi-6"]), ebs_two()],
            Some(2),
            vec![EBS],
            exceeded(),
        ),
        (
            "don't count pvcs with missing SC towards volume limit",
            ebs_one(),
            vec![running(), claims_pod("no-sc", &["csi-5"])],
            Some(2),
            vec![EBS],
            fits(),
        ),
        (
            "count pvcs with the same type towards volume limit",
            ebs_one(),
            vec![gce_two(), ebs_two()],
            Some(2),
            vec![EBS, GCE],
            exceeded(),
        ),
        (
            "don't count pvcs with different type towards volume limit",
            gce_two(),
            vec![ebs_two(), running()],
            Some(2),
            vec![EBS, GCE],
            fits(),
        ),
        (
            "should not count non-migratable in-tree volumes",
            claims_pod("hostpath", &["csi-kubernetes.io/hostpath-0"]),
            vec![ebs_two()],
            Some(2),
            vec![HOSTPATH, EBS],
            fits(),
        ),
        (
            "don't skip Filter when the pod has pvcs",
            make_pod("mixed")
                .volume(core::Volume {
                    name: "config".into(),
                    config_map: Some(core::ConfigMapVolumeSource::default()),
                    ..Default::default()
                })
                .pvc("csi-ebs.csi.aws.com-0")
                .obj(),
            vec![],
            Some(2),
            vec![EBS],
            fits(),
        ),
    ];
    for (name, pod, existing, limit, drivers, want) in cases {
        let (pre_filter, filter) = run(&pod, &node(limit, &drivers, &existing), objects(&drivers, &[]));
        assert_eq!(pre_filter, Status::success(), "{name}");
        assert_eq!(filter, want, "{name}");
    }
}

#[test]
fn a_pod_with_only_secrets_and_config_maps_skips_the_plugin() {
    let pod = make_pod("plain")
        .volume(core::Volume { name: "a".into(), config_map: Some(Default::default()), ..Default::default() })
        .volume(core::Volume { name: "b".into(), secret: Some(Default::default()), ..Default::default() })
        .obj();
    let (pre_filter, filter) = run(&pod, &node(Some(2), &[EBS], &[]), objects(&[EBS], &[]));
    assert_eq!((pre_filter, filter), (Status::code_only(Code::Skip), None));
}

fn in_tree_inline(id: &str) -> core::Volume {
    core::Volume {
        name: "aws".into(),
        aws_elastic_block_store: Some(core::AWSElasticBlockStoreVolumeSource {
            volume_id: id.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn in_tree_volumes_are_not_counted_without_a_csi_node() {
    // Kubernetes counts these only when a CSINode lists the plugin as migrated; with none (the
    // "nil csi node" row) they pass whatever the limit.
    let inline = make_pod("inline").volume(in_tree_inline("aws-inline1")).obj();
    let existing = [claims_pod("ebs-csi", &["csi-ebs.csi.aws.com-1", "csi-ebs.csi.aws.com-2"])];
    let (pre_filter, filter) = run(&inline, &node(Some(2), &[EBS], &existing), objects(&[EBS], &[]));
    assert_eq!((pre_filter, filter), (Status::success(), fits()));
}

fn ephemeral_pod(uid: &str, volumes: &[&str]) -> core::Pod {
    let mut pod =
        volumes.iter().fold(make_pod("abc").namespace("test"), |pod, volume| pod.volume(ephemeral_volume(volume)));
    pod.0.metadata.uid = Some(uid.into());
    pod.obj()
}

fn ephemeral_claim(name: &str, owner_uid: Option<&str>) -> core::PersistentVolumeClaim {
    let mut claim = make_pvc(name, SC_NAME);
    claim.metadata.namespace = Some("test".into());
    claim.metadata.owner_references = owner_uid.map(|uid| {
        vec![meta::OwnerReference {
            api_version: "v1".into(),
            kind: "Pod".into(),
            name: "abc".into(),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: None,
        }]
    });
    claim
}

#[test]
fn ephemeral_volumes_count_through_their_claims() {
    let pod = ephemeral_pod("12345", &["xyz"]);
    let owned = ephemeral_claim("abc-xyz", Some("12345"));
    let (_, filter) = run(&pod, &node(None, &[EBS], &[]), objects(&[EBS], &[]));
    assert_eq!(
        filter,
        Some(Status::new(
            Code::UnschedulableAndUnresolvable,
            r#"looking up PVC test/abc-xyz: persistentvolumeclaim "abc-xyz" not found"#
        )),
        "ephemeral volume missing"
    );
    let (_, filter) = run(&pod, &node(None, &[EBS], &[]), objects(&[EBS], &[ephemeral_claim("abc-xyz", None)]));
    assert_eq!(
        filter,
        Some(Status::error("PVC test/abc-xyz was not created for pod test/abc (pod is not owner)")),
        "ephemeral volume not owned"
    );
    let (_, filter) = run(&pod, &node(None, &[EBS], &[]), objects(&[EBS], std::slice::from_ref(&owned)));
    assert_eq!(filter, fits(), "ephemeral volume unbound");
    let (_, filter) =
        run(&pod, &node(Some(2), &[EBS], &[running(), ebs_two()]), objects(&[EBS], std::slice::from_ref(&owned)));
    assert_eq!(filter, exceeded(), "ephemeral doesn't when node volume limit <= pods CSI volume");

    let two = ephemeral_pod("12345II", &["x", "y"]);
    let claims = [ephemeral_claim("abc-x", Some("12345II")), ephemeral_claim("abc-y", Some("12345II"))];
    let (_, filter) = run(&ebs_one(), &node(Some(2), &[EBS], &[running(), two]), objects(&[EBS], &claims));
    assert_eq!(filter, exceeded(), "ephemeral doesn't when node volume limit <= pods ephemeral CSI volume");

    for (limit, want) in [(3, exceeded()), (5, fits())] {
        let existing = [running(), pod.clone(), ebs_two()];
        let (_, filter) =
            run(&ebs_one(), &node(Some(limit), &[EBS], &existing), objects(&[EBS], std::slice::from_ref(&owned)));
        assert_eq!(filter, want, "ephemeral plus persistent volumes against a limit of {limit}");
    }
}
