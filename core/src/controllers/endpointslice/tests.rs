//! EndpointSlice reconciler tests, ported from `staging/src/k8s.io/endpointslice/reconciler_test.go`
//! and `utils_test.go` (pod N: IP 1.2.3.(N%250).(N/250)-style unique addresses, label foo=bar).

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::{EndpointConditions, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};

use super::*;

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

fn service() -> Service {
    typed(json!({
        "metadata": {"name": "foo", "namespace": "test", "uid": "svc-uid", "labels": {"app": "web"}},
        "spec": {
            "selector": {"foo": "bar"}, "clusterIP": "10.96.1.1", "ipFamilies": ["IPv4"],
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
        },
    }))
}

/// `newPod(n, namespace, ready, nPorts, terminating)`.
fn pod(n: usize, ready: bool) -> Pod {
    let ip = format!("1.2.{}.{}", n / 250, n % 250 + 1);
    typed(json!({
        "metadata": {"namespace": "test", "name": format!("pod{n}"), "uid": format!("uid-{n}"), "labels": {"foo": "bar"}},
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
        "status": {"podIP": ip, "podIPs": [{"ip": ip}], "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
    }))
}

fn pods(count: usize) -> Vec<Pod> {
    (0..count).map(|n| pod(n, true)).collect()
}

/// Applies creates and updates as the API server would, naming created slices in order.
fn apply(existing: &[EndpointSlice], reconciled: &Reconciled) -> Vec<EndpointSlice> {
    let mut slices: Vec<EndpointSlice> = existing.to_vec();
    for (index, action) in reconciled.actions.iter().enumerate() {
        match action {
            Action::Create { object, .. } => {
                let mut slice: EndpointSlice = object.to_typed().unwrap();
                slice.metadata.name = Some(format!("foo-{index:03}"));
                slice.metadata.generate_name = None;
                slices.push(slice);
            }
            Action::Update { object } => {
                let slice: EndpointSlice = object.to_typed().unwrap();
                let position = slices.iter().position(|old| old.metadata.name == slice.metadata.name).unwrap();
                slices[position] = slice;
            }
            Action::Delete { name, .. } => slices.retain(|old| old.metadata.name.as_deref() != Some(name)),
            other => panic!("unexpected {other:?}"),
        }
    }
    slices
}

fn counts(reconciled: &Reconciled) -> (usize, usize, usize) {
    let count = |predicate: fn(&Action) -> bool| reconciled.actions.iter().filter(|action| predicate(action)).count();
    (
        count(|action| matches!(action, Action::Create { .. })),
        count(|action| matches!(action, Action::Update { .. })),
        count(|action| matches!(action, Action::Delete { .. })),
    )
}

fn sizes(slices: &[EndpointSlice]) -> Vec<usize> {
    let mut sizes: Vec<usize> = slices.iter().map(|slice| slice.endpoints.len()).collect();
    sizes.sort_unstable_by(|left, right| right.cmp(left));
    sizes
}

// TestReconcileEmpty: a Service without pods gets one placeholder slice.
#[test]
fn a_service_without_pods_gets_one_empty_placeholder_slice() {
    let reconciled = reconcile_endpoint_slices(&service(), &[] as &[Pod], &[], &[]);
    assert_eq!(counts(&reconciled), (1, 0, 0));
    let slices = apply(&[], &reconciled);
    assert!(slices[0].endpoints.is_empty());
    assert_eq!(slices[0].ports, None);
    assert!(reconcile_endpoint_slices(&service(), &[] as &[Pod], &[], &slices).actions.is_empty());
}

// TestReconcile1Pod: the slice's shape, labels and owner.
#[test]
fn one_pod_makes_one_slice_owned_by_the_service() {
    let reconciled = reconcile_endpoint_slices(&service(), &pods(1), &[], &[]);
    let Action::Create { object, .. } = &reconciled.actions[0] else { panic!("expected a create") };
    let slice: EndpointSlice = object.to_typed().unwrap();
    assert_eq!(slice.metadata.generate_name.as_deref(), Some("foo-"));
    assert_eq!(slice.address_type, "IPv4");
    let labels = slice.metadata.labels.clone().unwrap();
    assert_eq!(labels[SERVICE_NAME_LABEL], "foo");
    assert_eq!(labels[MANAGED_BY_LABEL], "endpointslice-controller.k8s.io");
    assert_eq!(labels["app"], "web");
    let owner = &slice.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str(), owner.controller),
        ("Service", "foo", "svc-uid", Some(true))
    );
    let endpoint = &slice.endpoints[0];
    assert_eq!(endpoint.addresses, vec!["1.2.0.1".to_string()]);
    assert_eq!(
        endpoint.conditions,
        Some(EndpointConditions { ready: Some(true), serving: Some(true), terminating: Some(false) })
    );
    assert_eq!(endpoint.node_name.as_deref(), Some("node-1"));
    assert_eq!(endpoint.target_ref.as_ref().unwrap().name.as_deref(), Some("pod0"));
    let port = &slice.ports.unwrap()[0];
    assert_eq!((port.name.as_deref(), port.port, port.protocol.as_deref()), (Some("http"), Some(8080), Some("TCP")));
}

// The placeholder is recycled into the first real slice (a create plus a delete become an update).
#[test]
fn the_placeholder_is_reused_for_the_first_endpoints() {
    let placeholder = apply(&[], &reconcile_endpoint_slices(&service(), &[] as &[Pod], &[], &[]));
    let reconciled = reconcile_endpoint_slices(&service(), &pods(1), &[], &placeholder);
    assert_eq!(counts(&reconciled), (0, 1, 0));
    assert_eq!(sizes(&apply(&placeholder, &reconciled)), vec![1]);
}

// TestReconcileManyPods: 250 pods make slices of 100, 100 and 50.
#[test]
fn many_pods_fill_slices_of_at_most_100() {
    let reconciled = reconcile_endpoint_slices(&service(), &pods(250), &[], &[]);
    assert_eq!(counts(&reconciled), (3, 0, 0));
    let slices = apply(&[], &reconciled);
    assert_eq!(sizes(&slices), vec![100, 100, 50]);
    assert!(reconcile_endpoint_slices(&service(), &pods(250), &[], &slices).actions.is_empty());
}

// TestReconcileEndpointSlicesUpdating: one pod's change updates only its slice.
#[test]
fn a_changed_pod_updates_only_its_slice() {
    let mut all = pods(250);
    let slices = apply(&[], &reconcile_endpoint_slices(&service(), &all, &[], &[]));
    all[120] = pod(120, false);
    let reconciled = reconcile_endpoint_slices(&service(), &all, &[], &slices);
    assert_eq!(counts(&reconciled), (0, 1, 0));
    let after = apply(&slices, &reconciled);
    let endpoint =
        after.iter().flat_map(|slice| &slice.endpoints).find(|endpoint| endpoint.addresses[0] == "1.2.0.121").unwrap();
    assert_eq!(endpoint.conditions.as_ref().unwrap().ready, Some(false));
}

// TestReconcileEndpointSlicesSomePreexisting: new endpoints go to slices being updated first.
#[test]
fn new_endpoints_fill_slices_that_are_updated_anyway() {
    let all = pods(150);
    let mut slices = apply(&[], &reconcile_endpoint_slices(&service(), &all[..100], &[], &[]));
    assert_eq!(sizes(&slices), vec![100]);
    // Five pods go away: their slice changes anyway and takes five of the fifty new endpoints.
    let remaining: Vec<Pod> = all.iter().skip(5).cloned().collect();
    let reconciled = reconcile_endpoint_slices(&service(), &remaining, &[], &slices);
    assert_eq!(counts(&reconciled), (1, 1, 0));
    slices = apply(&slices, &reconciled);
    assert_eq!(sizes(&slices), vec![100, 45]);
}

// TestReconcileEndpointSlicesRecycling: slices of a stale port set are reused, not deleted and
// recreated.
#[test]
fn slices_of_a_stale_port_set_are_recycled() {
    let old_service = service();
    let slices = apply(&[], &reconcile_endpoint_slices(&old_service, &pods(300), &[], &[]));
    assert_eq!(slices.len(), 3);
    let mut renumbered = service();
    renumbered.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].target_port =
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(9090));
    let reconciled = reconcile_endpoint_slices(&renumbered, &pods(300), &[], &slices);
    assert_eq!(counts(&reconciled), (0, 3, 0));
    let after = apply(&slices, &reconciled);
    assert!(after.iter().all(|slice| slice.ports.as_ref().unwrap()[0].port == Some(9090)));
}

// TestReconcileEndpointSlicesNamedPorts: pods resolving a named port differently land in
// different slices.
#[test]
fn pods_resolving_a_named_port_differently_get_separate_slices() {
    let mut service = service();
    service.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].target_port =
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("http".into()));
    let mut all = pods(300);
    for (n, pod) in all.iter_mut().enumerate() {
        pod.spec.as_mut().unwrap().containers[0].ports.as_mut().unwrap()[0].container_port = 8080 + (n % 5) as i32;
    }
    let slices = apply(&[], &reconcile_endpoint_slices(&service, &all, &[], &[]));
    assert_eq!(sizes(&slices), vec![60; 5]);
    let mut ports: Vec<i32> = slices.iter().map(|slice| slice.ports.as_ref().unwrap()[0].port.unwrap()).collect();
    ports.sort_unstable();
    assert_eq!(ports, vec![8080, 8081, 8082, 8083, 8084]);
}

// Terminating pods stay, not ready but serving; pods without IP or finished are left out.
#[test]
fn terminating_pods_stay_with_their_conditions() {
    let mut all = pods(4);
    all[0].metadata.deletion_timestamp = Some(Time("2026-01-01T00:00:00Z".parse().unwrap()));
    all[1].status.as_mut().unwrap().pod_ips = None;
    all[1].status.as_mut().unwrap().pod_ip = None;
    all[2].status.as_mut().unwrap().phase = Some("Failed".into());
    let slices = apply(&[], &reconcile_endpoint_slices(&service(), &all, &[], &[]));
    let endpoints = &slices[0].endpoints;
    assert_eq!(endpoints.len(), 2);
    assert_eq!(endpoints[0].addresses[0], "1.2.0.1");
    assert_eq!(
        endpoints[0].conditions,
        Some(EndpointConditions { ready: Some(false), serving: Some(true), terminating: Some(true) })
    );
    assert_eq!(endpoints[1].conditions.as_ref().unwrap().ready, Some(true));
}

#[test]
fn the_zone_comes_from_the_pods_node_and_the_hostname_from_its_subdomain() {
    let mut all = pods(1);
    let spec = all[0].spec.as_mut().unwrap();
    spec.hostname = Some("web-0".into());
    spec.subdomain = Some("foo".into());
    let node: Node = typed(json!({"metadata": {"name": "node-1", "labels": {TOPOLOGY_ZONE_LABEL: "zone-a"}}}));
    let slices = apply(&[], &reconcile_endpoint_slices(&service(), &all, &[node], &[]));
    assert_eq!(slices[0].endpoints[0].zone.as_deref(), Some("zone-a"));
    assert_eq!(slices[0].endpoints[0].hostname.as_deref(), Some("web-0"));
}

#[test]
fn slices_are_left_alone_for_a_service_without_selector_and_others_slices_are_ignored() {
    let mut selectorless = service();
    selectorless.spec.as_mut().unwrap().selector = None;
    assert!(reconcile_endpoint_slices(&selectorless, &pods(3), &[], &[]).actions.is_empty());
    let mut foreign = apply(&[], &reconcile_endpoint_slices(&service(), &pods(3), &[], &[]));
    foreign[0].metadata.labels.as_mut().unwrap().insert(MANAGED_BY_LABEL.into(), "someone-else".into());
    let reconciled = reconcile_endpoint_slices(&service(), &pods(3), &[], &foreign);
    assert_eq!(counts(&reconciled), (1, 0, 0));
}

#[test]
fn a_headless_service_labels_its_slices_headless() {
    let mut headless = service();
    headless.spec.as_mut().unwrap().cluster_ip = Some("None".into());
    let slices = apply(&[], &reconcile_endpoint_slices(&headless, &pods(1), &[], &[]));
    assert_eq!(slices[0].metadata.labels.as_ref().unwrap().get(HEADLESS_SERVICE_LABEL), Some(&String::new()));
}
