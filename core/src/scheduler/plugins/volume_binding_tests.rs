//! VolumeBinding's table, ported from Kubernetes' `volume_binding_test.go` (`TestVolumeBinding`;
//! the score columns are left out because VolumeCapacityPriority is off by default), plus
//! dynamic provisioning, topology, ephemeral-claim, Reserve and PreBind cases.

use k8s_openapi::api::core::v1 as core;

use super::*;
use crate::scheduler::framework::{Code, CycleState, Status};
use crate::scheduler::listers::ClusterObjects;
use crate::scheduler::node_info::PodInfo;
use crate::scheduler::plugins::volume_helpers::ANN_SELECTED_NODE;
use crate::scheduler::plugins::volume_testing::*;
use crate::scheduler::snapshot::Snapshot;
use crate::scheduler::testing::{make_node, make_pod, node_infos};

const IMMEDIATE: &str = "Immediate";
const WAIT: &str = "WaitForFirstConsumer";

fn classes() -> Vec<k8s_openapi::api::storage::v1::StorageClass> {
    vec![
        storage_class("immediate-sc", IMMEDIATE, NOT_SUPPORTED_PROVISIONER),
        storage_class("wait-sc", WAIT, NOT_SUPPORTED_PROVISIONER),
        storage_class("wait-hdd-sc", WAIT, NOT_SUPPORTED_PROVISIONER),
    ]
}

struct Outcome {
    pre_filter: Status,
    filters: Vec<Status>,
    state: CycleState,
}

/// Runs PreFilter once and, unless it rejected or skipped, Filter on every node in order.
fn run(pod: core::Pod, nodes: &[core::Node], objects: ClusterObjects) -> Outcome {
    let snapshot = Snapshot::from_node_infos(node_infos(nodes, &[])).with_objects(objects);
    let pod = PodInfo::new(std::sync::Arc::new(pod));
    let mut state = CycleState::new();
    let (_, pre_filter) = VolumeBinding.pre_filter(&mut state, &pod, &snapshot);
    let filters = if pre_filter.is_success() {
        snapshot.list().iter().map(|node| VolumeBinding.filter(&state, &pod, node)).collect()
    } else {
        Vec::new()
    };
    Outcome { pre_filter, filters, state }
}

fn unresolvable(reasons: &[&'static str]) -> Status {
    Status::with_reasons(Code::UnschedulableAndUnresolvable, reasons.iter().map(|reason| (*reason).into()).collect())
}

#[test]
fn a_pod_without_claims_skips_the_plugin() {
    let outcome = run(make_pod("pod-a").obj(), &[make_node("node-a").obj()], objects_of(&[], &[], &classes()));
    assert_eq!(outcome.pre_filter, Status::code_only(Code::Skip));
}

#[test]
fn a_pod_whose_claims_are_all_bound_fits() {
    let claims = [bound(make_pvc("pvc-a", "wait-sc"), "pv-a")];
    let volumes = [in_phase(make_pv("pv-a", "wait-sc"), "Available")];
    let outcome = run(
        make_pod("pod-a").pvc("pvc-a").obj(),
        &[make_node("node-a").obj()],
        objects_of(&volumes, &claims, &classes()),
    );
    assert_eq!(outcome.pre_filter, Status::success());
    assert_eq!(outcome.filters, vec![Status::success()]);
}

#[test]
fn a_missing_claim_is_unresolvable_at_pre_filter() {
    let outcome =
        run(make_pod("pod-a").pvc("pvc-a").obj(), &[make_node("node-a").obj()], objects_of(&[], &[], &classes()));
    assert_eq!(
        outcome.pre_filter,
        Status::new(Code::UnschedulableAndUnresolvable, r#"persistentvolumeclaim "pvc-a" not found"#)
    );
}

#[test]
fn a_pod_with_part_of_its_claims_missing_names_the_missing_one() {
    let claims = [bound(make_pvc("pvc-a", "wait-sc"), "pv-a")];
    let pod = make_pod("pod-a").pvc("pvc-a").pvc("pvc-b").obj();
    let outcome = run(pod, &[make_node("node-a").obj()], objects_of(&[], &claims, &classes()));
    assert_eq!(
        outcome.pre_filter,
        Status::new(Code::UnschedulableAndUnresolvable, r#"persistentvolumeclaim "pvc-b" not found"#)
    );
}

#[test]
fn an_unbound_immediate_claim_keeps_the_pod_out() {
    let claims = [make_pvc("pvc-a", "immediate-sc")];
    let outcome =
        run(make_pod("pod-a").pvc("pvc-a").obj(), &[make_node("node-a").obj()], objects_of(&[], &claims, &classes()));
    assert_eq!(outcome.pre_filter, unresolvable(&[ERR_REASON_UNBOUND_IMMEDIATE]));
}

#[test]
fn an_unbound_claim_without_a_class_counts_as_immediate() {
    let claims = [make_pvc("pvc-a", "")];
    let outcome =
        run(make_pod("pod-a").pvc("pvc-a").obj(), &[make_node("node-a").obj()], objects_of(&[], &claims, &classes()));
    assert_eq!(outcome.pre_filter, unresolvable(&[ERR_REASON_UNBOUND_IMMEDIATE]));
}

#[test]
fn a_pre_bound_claim_without_bind_completed_counts_as_immediate() {
    let mut claim = make_pvc("pvc-a", "wait-sc");
    claim.spec.as_mut().expect("spec").volume_name = Some("pv-a".into());
    let outcome =
        run(make_pod("pod-a").pvc("pvc-a").obj(), &[make_node("node-a").obj()], objects_of(&[], &[claim], &classes()));
    assert_eq!(outcome.pre_filter, unresolvable(&[ERR_REASON_UNBOUND_IMMEDIATE]));
}

#[test]
fn an_unbound_delayed_claim_with_no_volume_finds_nothing_to_bind() {
    let claims = [make_pvc("pvc-a", "wait-sc")];
    let outcome =
        run(make_pod("pod-a").pvc("pvc-a").obj(), &[make_node("node-a").obj()], objects_of(&[], &claims, &classes()));
    assert_eq!(outcome.pre_filter, Status::success());
    assert_eq!(outcome.filters, vec![unresolvable(&[ERR_REASON_BIND_CONFLICT])]);
}

#[test]
fn bound_and_unbound_claims_both_unsatisfied_give_both_reasons() {
    let claims = [bound(make_pvc("pvc-a", "wait-sc"), "pv-a"), make_pvc("pvc-b", "wait-sc")];
    let volumes = [with_node_affinity(in_phase(make_pv("pv-a", "wait-sc"), "Available"), &[("foo", &["bar"])])];
    let node = make_node("node-a").label("foo", "barbar").obj();
    let pod = make_pod("pod-a").pvc("pvc-a").pvc("pvc-b").obj();
    let outcome = run(pod, &[node], objects_of(&volumes, &claims, &classes()));
    assert_eq!(outcome.filters, vec![unresolvable(&[ERR_REASON_NODE_CONFLICT, ERR_REASON_BIND_CONFLICT])]);
}

#[test]
fn a_claim_bound_to_a_missing_volume_makes_every_node_unavailable() {
    let claims = [bound(make_pvc("pvc-a", "wait-sc"), "pv-a")];
    let outcome =
        run(make_pod("pod-a").pvc("pvc-a").obj(), &[make_node("node-a").obj()], objects_of(&[], &claims, &classes()));
    assert_eq!(outcome.pre_filter, Status::success());
    assert_eq!(outcome.filters, vec![unresolvable(&[ERR_REASON_PV_NOT_EXIST])]);
}

#[test]
fn a_lost_claim_is_unresolvable_at_pre_filter() {
    let mut claim = bound(make_pvc("pvc-a", "wait-sc"), "pv-a");
    claim.status.as_mut().expect("status").phase = Some("Lost".into());
    let outcome =
        run(make_pod("pod-a").pvc("pvc-a").obj(), &[make_node("node-a").obj()], objects_of(&[], &[claim], &classes()));
    assert_eq!(
        outcome.pre_filter,
        Status::new(
            Code::UnschedulableAndUnresolvable,
            r#"persistentvolumeclaim "pvc-a" bound to non-existent persistentvolume "pv-a""#
        )
    );
}

#[test]
fn a_bound_volume_whose_affinity_excludes_the_node_conflicts() {
    let claims = [bound(make_pvc("pvc-a", "wait-sc"), "pv-a")];
    let volumes = [with_node_affinity(make_pv("pv-a", "wait-sc"), &[("kubernetes.io/hostname", &["node-b"])])];
    let nodes = [
        make_node("node-a").label("kubernetes.io/hostname", "node-a").obj(),
        make_node("node-b").label("kubernetes.io/hostname", "node-b").obj(),
    ];
    let outcome = run(make_pod("pod-a").pvc("pvc-a").obj(), &nodes, objects_of(&volumes, &claims, &classes()));
    assert_eq!(outcome.filters, vec![unresolvable(&[ERR_REASON_NODE_CONFLICT]), Status::success()]);
}

fn local_volume(name: &str, class: &str, capacity: &str, node: &str) -> core::PersistentVolume {
    with_node_affinity(
        with_capacity(in_phase(make_pv(name, class), "Available"), capacity),
        &[("kubernetes.io/hostname", &[node])],
    )
}

fn hostname_nodes(names: &[&str]) -> Vec<core::Node> {
    names.iter().map(|name| make_node(name).label("kubernetes.io/hostname", name).obj()).collect()
}

#[test]
fn local_volumes_are_found_only_on_their_nodes_and_the_smallest_fitting_one_is_chosen() {
    let claims = [requesting(make_pvc("pvc-a", "wait-sc"), "50Gi")];
    let volumes = [
        local_volume("pv-a-0", "wait-sc", "200Gi", "node-a"),
        local_volume("pv-a-1", "wait-sc", "200Gi", "node-a"),
        local_volume("pv-b-0", "wait-sc", "100Gi", "node-b"),
        local_volume("pv-b-1", "wait-sc", "100Gi", "node-b"),
    ];
    let nodes = hostname_nodes(&["node-a", "node-b", "node-c"]);
    let outcome = run(make_pod("pod-a").pvc("pvc-a").obj(), &nodes, objects_of(&volumes, &claims, &classes()));
    assert_eq!(outcome.filters, vec![Status::success(), Status::success(), unresolvable(&[ERR_REASON_BIND_CONFLICT])]);
    let on_a = pod_volumes_for_node(&outcome.state, "node-a").expect("node-a passed");
    assert_eq!(on_a.static_bindings, vec![("pv-a-0".to_owned(), "pvc-a".to_owned())]);
    let on_b = pod_volumes_for_node(&outcome.state, "node-b").expect("node-b passed");
    assert_eq!(on_b.static_bindings, vec![("pv-b-0".to_owned(), "pvc-a".to_owned())]);
}

#[test]
fn two_claims_of_two_classes_each_get_a_volume_of_their_class() {
    let claims =
        [requesting(make_pvc("pvc-0", "wait-sc"), "50Gi"), requesting(make_pvc("pvc-1", "wait-hdd-sc"), "100Gi")];
    let volumes = [
        local_volume("pv-a-0", "wait-sc", "200Gi", "node-a"),
        local_volume("pv-a-1", "wait-sc", "200Gi", "node-a"),
        local_volume("pv-a-2", "wait-hdd-sc", "200Gi", "node-a"),
        local_volume("pv-a-3", "wait-hdd-sc", "200Gi", "node-a"),
        local_volume("pv-b-0", "wait-sc", "100Gi", "node-b"),
        local_volume("pv-b-1", "wait-sc", "100Gi", "node-b"),
        local_volume("pv-b-2", "wait-hdd-sc", "100Gi", "node-b"),
        local_volume("pv-b-3", "wait-hdd-sc", "100Gi", "node-b"),
    ];
    let nodes = hostname_nodes(&["node-a", "node-b", "node-c"]);
    let pod = make_pod("pod-a").pvc("pvc-0").pvc("pvc-1").obj();
    let outcome = run(pod, &nodes, objects_of(&volumes, &claims, &classes()));
    assert_eq!(outcome.filters, vec![Status::success(), Status::success(), unresolvable(&[ERR_REASON_BIND_CONFLICT])]);
    let on_b = pod_volumes_for_node(&outcome.state, "node-b").expect("node-b passed");
    assert_eq!(
        on_b.static_bindings,
        vec![("pv-b-0".to_owned(), "pvc-0".to_owned()), ("pv-b-2".to_owned(), "pvc-1".to_owned())]
    );
}

#[test]
fn zonal_volumes_are_found_in_their_zones_only() {
    let zone = |name: &str, region: &str, zone: &str| {
        make_node(name).label("topology.kubernetes.io/region", region).label("topology.kubernetes.io/zone", zone).obj()
    };
    let nodes = [
        zone("zone-a-node-a", "region-a", "zone-a"),
        zone("zone-a-node-b", "region-a", "zone-a"),
        zone("zone-b-node-a", "region-b", "zone-b"),
        zone("zone-b-node-b", "region-b", "zone-b"),
        zone("zone-c-node-a", "region-c", "zone-c"),
        zone("zone-c-node-b", "region-c", "zone-c"),
    ];
    let zonal = |name: &str, capacity: &str, region: &str, zone: &str| {
        with_node_affinity(
            with_capacity(in_phase(make_pv(name, "wait-sc"), "Available"), capacity),
            &[("topology.kubernetes.io/region", &[region]), ("topology.kubernetes.io/zone", &[zone])],
        )
    };
    let volumes = [
        zonal("pv-a-0", "200Gi", "region-a", "zone-a"),
        zonal("pv-a-1", "200Gi", "region-a", "zone-a"),
        zonal("pv-b-0", "100Gi", "region-b", "zone-b"),
        zonal("pv-b-1", "100Gi", "region-b", "zone-b"),
    ];
    let claims = [requesting(make_pvc("pvc-a", "wait-sc"), "50Gi")];
    let outcome = run(make_pod("pod-a").pvc("pvc-a").obj(), &nodes, objects_of(&volumes, &claims, &classes()));
    let conflict = unresolvable(&[ERR_REASON_BIND_CONFLICT]);
    assert_eq!(
        outcome.filters,
        vec![Status::success(), Status::success(), Status::success(), Status::success(), conflict.clone(), conflict]
    );
}

#[test]
fn a_volume_too_small_bound_elsewhere_or_not_available_is_not_matched() {
    let claims = [requesting(with_access_modes(make_pvc("pvc-a", "wait-sc"), &["ReadWriteOnce"]), "10Gi")];
    let mut claimed = local_volume("pv-claimed", "wait-sc", "20Gi", "node-a");
    claimed.spec.as_mut().expect("spec").claim_ref = Some(core::ObjectReference {
        name: Some("other".into()),
        namespace: Some("default".into()),
        ..Default::default()
    });
    let volumes = [
        local_volume("pv-small", "wait-sc", "5Gi", "node-a"),
        claimed,
        in_phase(local_volume("pv-released", "wait-sc", "20Gi", "node-a"), "Released"),
        local_volume("pv-wrong-modes", "wait-sc", "20Gi", "node-a"),
    ];
    let nodes = hostname_nodes(&["node-a"]);
    let outcome = run(make_pod("pod-a").pvc("pvc-a").obj(), &nodes, objects_of(&volumes, &claims, &classes()));
    // pv-wrong-modes offers no access mode at all, so it lacks ReadWriteOnce too.
    assert_eq!(outcome.filters, vec![unresolvable(&[ERR_REASON_BIND_CONFLICT])]);
}

#[test]
fn a_volume_pre_bound_to_the_claim_is_chosen_over_a_smaller_one() {
    let claims = [make_pvc("pvc-a", "wait-sc")];
    let mut reserved = local_volume("pv-reserved", "wait-sc", "100Gi", "node-a");
    reserved.spec.as_mut().expect("spec").claim_ref = Some(core::ObjectReference {
        name: Some("pvc-a".into()),
        namespace: Some("default".into()),
        ..Default::default()
    });
    let volumes = [local_volume("pv-small", "wait-sc", "1Gi", "node-a"), reserved];
    let outcome = run(
        make_pod("pod-a").pvc("pvc-a").obj(),
        &hostname_nodes(&["node-a"]),
        objects_of(&volumes, &claims, &classes()),
    );
    let on_a = pod_volumes_for_node(&outcome.state, "node-a").expect("node-a passed");
    assert_eq!(on_a.static_bindings, vec![("pv-reserved".to_owned(), "pvc-a".to_owned())]);
}

#[test]
fn a_delayed_claim_without_volumes_is_provisioned_where_the_class_topology_allows() {
    let mut class = storage_class("fast", WAIT, "csi.example.com");
    class.allowed_topologies = Some(vec![core::TopologySelectorTerm {
        match_label_expressions: Some(vec![core::TopologySelectorLabelRequirement {
            key: "topology.kubernetes.io/zone".into(),
            values: vec!["zone-a".into()],
        }]),
    }]);
    let nodes = [
        make_node("node-a").label("topology.kubernetes.io/zone", "zone-a").obj(),
        make_node("node-b").label("topology.kubernetes.io/zone", "zone-b").obj(),
    ];
    let claims = [make_pvc("pvc-a", "fast")];
    let outcome = run(make_pod("pod-a").pvc("pvc-a").obj(), &nodes, objects_of(&[], &claims, &[class]));
    assert_eq!(outcome.filters, vec![Status::success(), unresolvable(&[ERR_REASON_BIND_CONFLICT])]);
    let on_a = pod_volumes_for_node(&outcome.state, "node-a").expect("node-a passed");
    assert_eq!(on_a.dynamic_provisions, vec!["pvc-a".to_owned()]);
}

#[test]
fn a_claim_selected_for_another_node_fits_only_that_node() {
    let class = storage_class("fast", WAIT, "csi.example.com");
    let mut claim = make_pvc("pvc-a", "fast");
    claim.metadata.annotations = Some([(ANN_SELECTED_NODE.to_owned(), "node-b".to_owned())].into());
    let nodes = hostname_nodes(&["node-a", "node-b"]);
    let outcome = run(make_pod("pod-a").pvc("pvc-a").obj(), &nodes, objects_of(&[], &[claim], &[class]));
    assert_eq!(outcome.filters, vec![unresolvable(&[ERR_REASON_BIND_CONFLICT]), Status::success()]);
}

#[test]
fn a_class_without_a_binding_mode_is_an_error() {
    let mut class = storage_class("odd", WAIT, "csi.example.com");
    class.volume_binding_mode = None;
    let claims = [make_pvc("pvc-a", "odd")];
    let outcome =
        run(make_pod("pod-a").pvc("pvc-a").obj(), &hostname_nodes(&["node-a"]), objects_of(&[], &claims, &[class]));
    assert_eq!(outcome.pre_filter, Status::error(r#"VolumeBindingMode not set for StorageClass "odd""#));
}

#[test]
fn an_ephemeral_claim_not_owned_by_the_pod_is_refused() {
    let pod = make_pod("abc").volume(ephemeral_volume("xyz")).obj();
    let claims = [make_pvc("abc-xyz", "wait-sc")];
    let outcome = run(pod, &hostname_nodes(&["node-a"]), objects_of(&[], &claims, &classes()));
    assert_eq!(
        outcome.pre_filter,
        Status::new(
            Code::UnschedulableAndUnresolvable,
            "PVC default/abc-xyz was not created for pod default/abc (pod is not owner)"
        )
    );
}

#[test]
fn a_missing_ephemeral_claim_waits_for_the_ephemeral_volume_controller() {
    let pod = make_pod("abc").volume(ephemeral_volume("xyz")).obj();
    let outcome = run(pod, &hostname_nodes(&["node-a"]), objects_of(&[], &[], &classes()));
    assert_eq!(
        outcome.pre_filter,
        Status::new(
            Code::UnschedulableAndUnresolvable,
            r#"waiting for ephemeral volume controller to create the persistentvolumeclaim "abc-xyz""#
        )
    );
}

#[test]
fn pre_bind_passes_when_every_claim_is_bound() {
    let claims = [bound(make_pvc("pvc-a", "wait-sc"), "pv-a")];
    let volumes = [make_pv("pv-a", "wait-sc")];
    let pod = make_pod("pod-a").pvc("pvc-a").obj();
    let mut outcome = run(pod.clone(), &hostname_nodes(&["node-a"]), objects_of(&volumes, &claims, &classes()));
    let pod = PodInfo::new(std::sync::Arc::new(pod));
    assert_eq!(VolumeBinding.reserve(&mut outcome.state, &pod, "node-a"), Status::success());
    assert_eq!(VolumeBinding.pre_bind(&outcome.state, &pod, "node-a"), Status::success());
}

#[test]
fn pre_bind_writes_the_claim_ref_of_a_static_binding_and_waits_until_the_claim_is_bound() {
    // `TestBindAPIUpdate` ("one-binding") and `TestCheckBindings` ("binding-bound") of
    // pkg/scheduler/framework/plugins/volumebinding/binder_test.go.
    let claims = [make_pvc("pvc-a", "wait-sc")];
    let volumes = [local_volume("pv-a", "wait-sc", "1Gi", "node-a")];
    let pod = make_pod("pod-a").pvc("pvc-a").obj();
    let objects = objects_of(&volumes, &claims, &classes());
    let mut outcome = run(pod.clone(), &hostname_nodes(&["node-a"]), objects.clone());
    let pod = PodInfo::new(std::sync::Arc::new(pod));
    assert_eq!(VolumeBinding.reserve(&mut outcome.state, &pod, "node-a"), Status::success());
    let status = VolumeBinding.pre_bind(&outcome.state, &pod, "node-a");
    assert_eq!(status.code(), Code::Wait, "{status}");
    let writes = VolumeBinding.pre_bind_writes(&outcome.state, &pod, "node-a");
    let [PreBindWrite::UpdatePersistentVolume(volume)] = writes.as_slice() else { panic!("{writes:?}") };
    let reference = volume.spec.as_ref().and_then(|spec| spec.claim_ref.as_ref()).unwrap();
    assert_eq!(reference.name.as_deref(), Some("pvc-a"));
    assert_eq!(volume.metadata.annotations.as_ref().unwrap()[ANN_BOUND_BY_CONTROLLER], "yes");
    // Not bound yet: wait. Once the PersistentVolume controller bound the claim: done.
    assert_eq!(VolumeBinding.pre_bind_done(&outcome.state, &pod, "node-a", &objects).code(), Code::Wait);
    let bound_claims = [bound(make_pvc("pvc-a", "wait-sc"), "pv-a")];
    let after = objects_of(&volumes, &bound_claims, &classes());
    assert_eq!(VolumeBinding.pre_bind_done(&outcome.state, &pod, "node-a", &after), Status::success());
}

#[test]
fn pre_bind_annotates_a_claim_to_provision_with_the_node_and_fails_when_the_annotation_is_reset() {
    // `TestBindAPIUpdate` ("one-provisioned-pvc") and `TestCheckBindings`
    // ("provisioning-pvc-bound", "provisioning-pvc-selected-node-dropped").
    let claims = [make_pvc("pvc-a", "wait-sc")];
    let provisioning = [storage_class("wait-sc", WAIT, "example.com/provisioner")];
    let pod = make_pod("pod-a").pvc("pvc-a").obj();
    let objects = objects_of(&[], &claims, &provisioning);
    let mut outcome = run(pod.clone(), &hostname_nodes(&["node-a"]), objects.clone());
    let pod = PodInfo::new(std::sync::Arc::new(pod));
    assert_eq!(VolumeBinding.reserve(&mut outcome.state, &pod, "node-a"), Status::success());
    assert_eq!(VolumeBinding.pre_bind(&outcome.state, &pod, "node-a").code(), Code::Wait);
    let writes = VolumeBinding.pre_bind_writes(&outcome.state, &pod, "node-a");
    assert_eq!(
        writes,
        [PreBindWrite::AnnotatePersistentVolumeClaim {
            namespace: "default".into(),
            name: "pvc-a".into(),
            annotations: [(ANN_SELECTED_NODE.to_string(), "node-a".to_string())].into(),
        }]
    );
    // The write has not come back: wait.
    assert_eq!(VolumeBinding.pre_bind_done(&outcome.state, &pod, "node-a", &objects).code(), Code::Wait);
    // It came back and the claim was bound: done.
    let mut annotated = bound(make_pvc("pvc-a", "wait-sc"), "pvc-1234");
    annotated
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(ANN_SELECTED_NODE.into(), "node-a".into());
    annotated.metadata.resource_version = Some("2".into());
    let after = objects_of(&[], std::slice::from_ref(&annotated), &provisioning);
    assert_eq!(VolumeBinding.pre_bind_done(&outcome.state, &pod, "node-a", &after), Status::success());
    // The provisioner dropped the annotation (to have the Pod rescheduled): a failure.
    let mut reset = make_pvc("pvc-a", "wait-sc");
    reset.metadata.resource_version = Some("3".into());
    let reset_objects = objects_of(&[], &[reset], &provisioning);
    let status = VolumeBinding.pre_bind_done(&outcome.state, &pod, "node-a", &reset_objects);
    assert_eq!(status.code(), Code::Error);
    assert_eq!(status.message(), r#"selectedNode annotation reset for PVC "pvc-a""#);
}

#[test]
fn pre_score_skips_without_the_volume_capacity_priority_gate() {
    let snapshot = Snapshot::new();
    let pod = PodInfo::new(std::sync::Arc::new(make_pod("pod-a").obj()));
    assert_eq!(VolumeBinding.pre_score(&mut CycleState::new(), &pod, &[], &snapshot), Status::code_only(Code::Skip));
}
