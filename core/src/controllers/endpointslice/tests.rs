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

/// A Service as Kubernetes' `newServicePortsAddressType` makes it, with the families and
/// cluster IP of a TestReconcile1Pod row.
fn service_with_families(families: Option<&[&str]>, cluster_ip: Option<&str>) -> Service {
    let mut service = service();
    let spec = service.spec.as_mut().unwrap();
    spec.ip_families = families.map(|families| families.iter().map(|family| family.to_string()).collect());
    spec.cluster_ip = cluster_ip.map(str::to_string);
    service
}

/// TestReconcile1Pod's `pod1`: one IPv4 and one IPv6 address.
fn dual_stack_pod() -> Pod {
    let mut pod = pod(1, true);
    pod.status.as_mut().unwrap().pod_ips =
        Some(typed(json!([{"ip": "1.2.3.4"}, {"ip": "1234::5678:0000:0000:9abc:def0"}])));
    pod.status.as_mut().unwrap().pod_ip = Some("1.2.3.4".to_string());
    pod
}

/// The addresses in the slices, by address type.
fn addresses_by_type(slices: &[EndpointSlice]) -> BTreeMap<String, Vec<String>> {
    let mut by_type: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for slice in slices {
        let addresses = slice.endpoints.iter().flat_map(|endpoint| endpoint.addresses.clone());
        by_type.entry(slice.address_type.clone()).or_default().extend(addresses);
    }
    by_type
}

// Rows of Kubernetes' TestReconcile1Pod (reconciler_test.go): the pod's addresses are split by
// family, one slice per address type the Service asks for; a Service without ipFamilies uses
// its cluster IP's family.
#[test]
fn each_address_type_of_the_service_gets_slices_of_the_pods_addresses_of_that_family() {
    let v4 = || vec!["1.2.3.4".to_string()];
    let v6 = || vec!["1234::5678:0000:0000:9abc:def0".to_string()];
    type Row = (&'static str, Service, Vec<(&'static str, Vec<String>)>);
    let rows: Vec<Row> = vec![
        ("no-family-service", service_with_families(None, Some("10.0.0.10")), vec![("IPv4", v4())]),
        ("ipv4", service_with_families(Some(&["IPv4"]), None), vec![("IPv4", v4())]),
        ("ipv4-clusterip", service_with_families(Some(&["IPv4"]), Some("1.1.1.1")), vec![("IPv4", v4())]),
        ("ipv6", service_with_families(Some(&["IPv6"]), None), vec![("IPv6", v6())]),
        (
            "ipv6-clusterip",
            service_with_families(Some(&["IPv6"]), Some("1234::5678:0000:0000:9abc:def1")),
            vec![("IPv6", v6())],
        ),
        (
            "dualstack-service",
            service_with_families(Some(&["IPv4", "IPv6"]), Some("10.0.0.10")),
            vec![("IPv4", v4()), ("IPv6", v6())],
        ),
    ];
    for (name, service, expected) in rows {
        let reconciled = reconcile_endpoint_slices(&service, &[dual_stack_pod()], &[], &[]);
        assert_eq!(counts(&reconciled), (expected.len(), 0, 0), "{name}: one create per address type");
        let slices = apply(&[], &reconciled);
        let expected: BTreeMap<String, Vec<String>> =
            expected.into_iter().map(|(family, addresses)| (family.to_string(), addresses)).collect();
        assert_eq!(addresses_by_type(&slices), expected, "{name}");
        assert!(reconcile_endpoint_slices(&service, &[dual_stack_pod()], &[], &slices).actions.is_empty(), "{name}");
    }
}

// `getAddressTypesForService`: ipFamilies in family order; without them the cluster IP's
// family, and both for a headless Service not yet defaulted.
#[test]
fn the_address_types_follow_ip_families_then_the_cluster_ip() {
    type Row<'a> = (Option<&'a [&'a str]>, Option<&'a str>, Vec<&'a str>);
    let rows: [Row; 5] = [
        (Some(&["IPv6", "IPv4"]), Some("2000::1"), vec!["IPv4", "IPv6"]),
        (Some(&["IPv6"]), None, vec!["IPv6"]),
        (None, Some("2000::1"), vec!["IPv6"]),
        (None, Some("None"), vec!["IPv4", "IPv6"]),
        (None, None, vec!["IPv4", "IPv6"]),
    ];
    for (families, cluster_ip, expected) in rows {
        let service = service_with_families(families, cluster_ip);
        assert_eq!(address_types_for_service(&service), expected, "{families:?} {cluster_ip:?}");
    }
}

// `reconcileByAddressType` keeps a placeholder per address type: a dual-stack Service whose
// pods have only IPv4 addresses (as in the simulator) has an empty IPv6 slice beside the IPv4
// one, and one without pods has one placeholder of each type.
#[test]
fn a_family_without_addresses_keeps_its_own_placeholder() {
    let service = service_with_families(Some(&["IPv4", "IPv6"]), Some("10.96.1.1"));
    let slices = apply(&[], &reconcile_endpoint_slices(&service, &pods(3), &[], &[]));
    let mut shapes: Vec<(String, usize)> =
        slices.iter().map(|slice| (slice.address_type.clone(), slice.endpoints.len())).collect();
    shapes.sort();
    assert_eq!(shapes, [("IPv4".to_string(), 3), ("IPv6".to_string(), 0)]);
    let empty = apply(&[], &reconcile_endpoint_slices(&service, &[] as &[Pod], &[], &[]));
    let mut types: Vec<&str> = empty.iter().map(|slice| slice.address_type.as_str()).collect();
    types.sort_unstable();
    assert_eq!(types, ["IPv4", "IPv6"]);
    assert!(empty.iter().all(|slice| slice.endpoints.is_empty() && slice.ports.is_none()));
}

// `Reconcile` deletes the slices of an address type the Service no longer has, after
// reconciling the others, and leaves the remaining family's slices as they are.
#[test]
fn slices_of_a_family_the_service_dropped_are_deleted_last() {
    let dual = service_with_families(Some(&["IPv4", "IPv6"]), Some("10.0.0.10"));
    let pods = [dual_stack_pod()];
    let slices = apply(&[], &reconcile_endpoint_slices(&dual, &pods, &[], &[]));
    assert_eq!(slices.len(), 2);
    let single = service_with_families(Some(&["IPv4"]), Some("10.0.0.10"));
    let reconciled = reconcile_endpoint_slices(&single, &pods, &[], &slices);
    assert_eq!(counts(&reconciled), (0, 0, 1));
    let Action::Delete { name, .. } = &reconciled.actions[0] else { unreachable!() };
    let ipv6 = slices.iter().find(|slice| slice.address_type == "IPv6").unwrap();
    assert_eq!(Some(name), ipv6.metadata.name.as_ref());
    let remaining = apply(&slices, &reconciled);
    assert_eq!(addresses_by_type(&remaining), BTreeMap::from([("IPv4".to_string(), vec!["1.2.3.4".to_string()])]));
}
