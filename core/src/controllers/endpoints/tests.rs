//! Endpoints controller tests, ported from Kubernetes' `endpoints_controller_test.go`
//! (`testPod`: pod N has IP 1.2.3.(4+N), label foo=bar, container ports portJ = 8080+J).

use k8s_openapi::api::core::v1::{EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};

use super::*;

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

/// Kubernetes' `testPod(namespace, id, nPorts, isReady, ipv4only)`.
fn test_pod(namespace: &str, id: usize, ports: usize, ready: bool) -> Pod {
    let container_ports: Vec<Value> =
        (0..ports).map(|j| json!({"name": format!("port{j}"), "containerPort": 8080 + j})).collect();
    let ip = format!("1.2.3.{}", 4 + id);
    typed(json!({
        "metadata": {"namespace": namespace, "name": format!("pod{id}"), "labels": {"foo": "bar"}, "resourceVersion": id.to_string()},
        "spec": {"containers": [{"name": "c", "ports": container_ports}]},
        "status": {
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
            "podIP": ip, "podIPs": [{"ip": ip}],
        },
    }))
}

/// `addPods`: `ready` ready pods then `not_ready` unready ones.
fn add_pods(namespace: &str, ready: usize, ports: usize, not_ready: usize) -> Vec<Pod> {
    (0..ready + not_ready).map(|id| test_pod(namespace, id, ports, id < ready)).collect()
}

fn service(namespace: &str, spec: Value) -> Service {
    typed(json!({"metadata": {"name": "foo", "namespace": namespace}, "spec": spec}))
}

fn address(namespace: &str, id: usize) -> EndpointAddress {
    typed(json!({
        "ip": format!("1.2.3.{}", 4 + id), "nodeName": "",
        "targetRef": {"kind": "Pod", "namespace": namespace, "name": format!("pod{id}")},
    }))
}

fn existing(namespace: &str, subsets: Value) -> Endpoints {
    typed(json!({"metadata": {"name": "foo", "namespace": namespace, "resourceVersion": "1"}, "subsets": subsets}))
}

fn written(reconciled: &Reconciled) -> Endpoints {
    match reconciled.actions.as_slice() {
        [Action::Create { object, .. }] | [Action::Update { object }] => object.to_typed().unwrap(),
        other => panic!("expected one create or update, got {other:?}"),
    }
}

fn tcp_port(port: i32) -> EndpointPort {
    EndpointPort { port, protocol: Some("TCP".into()), ..EndpointPort::default() }
}

#[test]
fn endpoints_of_a_service_without_selector_are_left_alone() {
    let current =
        existing("default", json!([{"addresses": [{"ip": "6.7.8.9", "nodeName": ""}], "ports": [{"port": 1000}]}]));
    let service = service("default", json!({"ports": [{"port": 80}]}));
    let pods = add_pods("default", 1, 1, 0);
    assert!(reconcile_endpoints("default", "foo", Some(&service), Some(&current), &pods).actions.is_empty());
}

#[test]
fn existing_empty_endpoints_of_a_service_without_pods_are_not_rewritten() {
    let service = service("default", json!({"selector": {"foo": "bar"}, "ports": [{"port": 80}]}));
    for subsets in [Value::Null, json!([])] {
        let mut current = existing("default", subsets);
        current.metadata.labels = Some([(HEADLESS_SERVICE_LABEL.to_string(), String::new())].into());
        assert!(
            reconcile_endpoints("default", "foo", Some(&service), Some(&current), &[] as &[Pod]).actions.is_empty()
        );
    }
}

#[test]
fn a_pod_resource_version_change_alone_writes_nothing() {
    let current = existing(
        "default",
        json!([{
            "addresses": [{"ip": "1.2.3.4", "nodeName": "", "targetRef": {"kind": "Pod", "name": "pod0", "namespace": "default", "resourceVersion": "1"}}],
            "notReadyAddresses": [{"ip": "1.2.3.5", "nodeName": "", "targetRef": {"kind": "Pod", "name": "pod1", "namespace": "default", "resourceVersion": "2"}}],
            "ports": [{"port": 8080, "protocol": "TCP"}],
        }]),
    );
    let service = service(
        "default",
        json!({"selector": {"foo": "bar"}, "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}),
    );
    let mut pods = vec![test_pod("default", 0, 1, true), test_pod("default", 1, 1, false)];
    pods[0].metadata.resource_version = Some("3".into());
    pods[1].metadata.resource_version = Some("4".into());
    let mut current = current;
    current.metadata.labels = Some([(HEADLESS_SERVICE_LABEL.to_string(), String::new())].into());
    assert!(reconcile_endpoints("default", "foo", Some(&service), Some(&current), &pods).actions.is_empty());
}

#[test]
fn a_new_service_without_pods_gets_empty_endpoints() {
    let service = service("default", json!({"selector": {"foo": "bar"}, "ports": [{"port": 80}]}));
    let reconciled = reconcile_endpoints("default", "foo", Some(&service), None, &[] as &[Pod]);
    let endpoints = written(&reconciled);
    assert!(matches!(reconciled.actions[0], Action::Create { .. }));
    assert_eq!(endpoints.subsets, None);
    assert_eq!(endpoints.metadata.labels.unwrap().get(HEADLESS_SERVICE_LABEL), Some(&String::new()));
}

// TestSyncEndpointsProtocolTCP / UDP / SCTP: the stale address is replaced by the pod's.
#[test]
fn the_pods_address_replaces_a_stale_one_for_each_protocol() {
    for protocol in ["TCP", "UDP", "SCTP"] {
        let current = existing(
            "other",
            json!([{"addresses": [{"ip": "6.7.8.9", "nodeName": ""}], "ports": [{"port": 1000, "protocol": protocol}]}]),
        );
        let mut pods = add_pods("other", 1, 1, 0);
        if protocol != "TCP" {
            let ports = pods[0].spec.as_mut().unwrap().containers[0].ports.as_mut().unwrap();
            ports[0].protocol = Some(protocol.into());
        }
        let service = service(
            "other",
            json!({"selector": {"foo": "bar"}, "clusterIP": "10.0.0.1", "ports": [{"port": 80, "targetPort": 8080, "protocol": protocol}]}),
        );
        let reconciled = reconcile_endpoints("other", "foo", Some(&service), Some(&current), &pods);
        let endpoints = written(&reconciled);
        assert!(matches!(reconciled.actions[0], Action::Update { .. }));
        assert_eq!(endpoints.metadata.resource_version.as_deref(), Some("1"));
        let port = EndpointPort { port: 8080, protocol: Some(protocol.into()), ..EndpointPort::default() };
        let expected = EndpointSubset {
            addresses: Some(vec![address("other", 0)]),
            not_ready_addresses: None,
            ports: Some(vec![port]),
        };
        assert_eq!(endpoints.subsets, Some(vec![expected]));
        assert_eq!(endpoints.metadata.labels, Some(Default::default()));
    }
}

// TestSyncEndpointsItemsEmptySelectorSelectsAll's shape with a selector: ready and unready pods
// split between addresses and notReadyAddresses (TestSyncEndpointsItemsPreexisting,
// TestSyncEndpointsItemsWithLabels).
#[test]
fn unready_pods_are_listed_as_not_ready_addresses() {
    let pods = add_pods("other", 1, 1, 1);
    let service = service(
        "other",
        json!({"selector": {"foo": "bar"}, "clusterIP": "10.0.0.1", "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}),
    );
    let endpoints = written(&reconcile_endpoints("other", "foo", Some(&service), None, &pods));
    let expected = EndpointSubset {
        addresses: Some(vec![address("other", 0)]),
        not_ready_addresses: Some(vec![address("other", 1)]),
        ports: Some(vec![tcp_port(8080)]),
    };
    assert_eq!(endpoints.subsets, Some(vec![expected]));
}

// TestSyncEndpointsItemsPreexistingLabelsChange / WithLabels: the Service's labels are copied.
#[test]
fn endpoints_take_the_services_labels() {
    let pods = add_pods("other", 1, 1, 0);
    let mut service = service(
        "other",
        json!({"selector": {"foo": "bar"}, "clusterIP": "10.0.0.1", "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}),
    );
    service.metadata.labels =
        Some([("foo".to_string(), "bar".to_string()), ("baz".to_string(), "blah".to_string())].into());
    let endpoints = written(&reconcile_endpoints("other", "foo", Some(&service), None, &pods));
    assert_eq!(endpoints.metadata.labels, service.metadata.labels);
}

// TestSyncEndpointsItemsWithNamedPorts-like: two service ports, one by name.
#[test]
fn named_target_ports_are_resolved_per_pod_and_pods_lacking_them_are_skipped_for_that_port() {
    let mut pods = add_pods("other", 2, 2, 0);
    pods[1].spec.as_mut().unwrap().containers[0].ports.as_mut().unwrap().truncate(1);
    let service = service(
        "other",
        json!({"selector": {"foo": "bar"}, "clusterIP": "10.0.0.1", "ports": [
            {"name": "port0", "port": 80, "targetPort": "port0", "protocol": "TCP"},
            {"name": "port1", "port": 88, "targetPort": "port1", "protocol": "TCP"},
        ]}),
    );
    let endpoints = written(&reconcile_endpoints("other", "foo", Some(&service), None, &pods));
    let named = |name: &str, port: i32| EndpointPort { name: Some(name.into()), ..tcp_port(port) };
    let both = EndpointSubset {
        addresses: Some(vec![address("other", 0), address("other", 1)]),
        not_ready_addresses: None,
        ports: Some(vec![named("port0", 8080)]),
    };
    let only_first = EndpointSubset {
        addresses: Some(vec![address("other", 0)]),
        not_ready_addresses: None,
        ports: Some(vec![named("port1", 8081)]),
    };
    assert_eq!(endpoints.subsets, Some(vec![only_first, both]));
}

// TestSyncEndpointsHeadlessWithoutPort.
#[test]
fn a_headless_service_without_ports_lists_port_less_addresses() {
    let pods = add_pods("default", 1, 1, 0);
    let service = service("default", json!({"selector": {"foo": "bar"}, "clusterIP": "None"}));
    let endpoints = written(&reconcile_endpoints("default", "foo", Some(&service), None, &pods));
    let expected =
        EndpointSubset { addresses: Some(vec![address("default", 0)]), not_ready_addresses: None, ports: None };
    assert_eq!(endpoints.subsets, Some(vec![expected]));
    assert_eq!(endpoints.metadata.labels.unwrap().get(HEADLESS_SERVICE_LABEL), Some(&String::new()));
}

// TestSyncEndpointsServiceNotFound.
#[test]
fn endpoints_of_a_deleted_service_are_deleted() {
    let current = existing("default", json!([]));
    let reconciled = reconcile_endpoints("default", "foo", None, Some(&current), &[] as &[Pod]);
    assert!(matches!(&reconciled.actions[..], [Action::Delete { name, .. }] if name == "foo"));
    assert!(reconcile_endpoints("default", "foo", None, None, &[] as &[Pod]).actions.is_empty());
}

// TestShouldPodBeInEndpoints rows and publishNotReadyAddresses (TestSyncEndpointsItemsPreexisting
// with PublishNotReadyAddresses).
#[test]
fn terminal_ipless_and_terminating_pods_are_excluded_unless_published() {
    let mut pods = add_pods("default", 4, 1, 0);
    pods[0].status.as_mut().unwrap().phase = Some("Succeeded".into());
    pods[1].status.as_mut().unwrap().pod_ip = None;
    pods[1].status.as_mut().unwrap().pod_ips = None;
    pods[2].metadata.deletion_timestamp = Some(Time("2026-01-01T00:00:00Z".parse().unwrap()));
    let spec = json!({"selector": {"foo": "bar"}, "clusterIP": "10.0.0.1", "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]});
    let endpoints =
        written(&reconcile_endpoints("default", "foo", Some(&service("default", spec.clone())), None, &pods));
    let addresses = endpoints.subsets.unwrap()[0].addresses.clone().unwrap();
    assert_eq!(addresses, vec![address("default", 3)]);
    let mut published = spec;
    published["publishNotReadyAddresses"] = json!(true);
    pods[3].status.as_mut().unwrap().conditions.as_mut().unwrap()[0].status = "False".into();
    let endpoints = written(&reconcile_endpoints("default", "foo", Some(&service("default", published)), None, &pods));
    let subset = &endpoints.subsets.unwrap()[0];
    assert_eq!(subset.addresses.clone().unwrap(), vec![address("default", 2), address("default", 3)]);
    assert_eq!(subset.not_ready_addresses, None);
}

// TestPodToEndpointAddressForService: the address of the Service's family, with hostname when
// the pod's subdomain is the Service.
#[test]
fn the_address_matches_the_service_family_and_carries_the_hostname() {
    let mut pod = test_pod("default", 0, 1, true);
    let status = pod.status.as_mut().unwrap();
    status.pod_ips = Some(typed(json!([{"ip": "1.2.3.4"}, {"ip": "2000::4"}])));
    let spec = pod.spec.as_mut().unwrap();
    spec.hostname = Some("web-0".into());
    spec.subdomain = Some("foo".into());
    spec.node_name = Some("node-a".into());
    let service = service(
        "default",
        json!({"selector": {"foo": "bar"}, "clusterIP": "None", "ipFamilies": ["IPv6"], "ports": [{"port": 80, "targetPort": 8080}]}),
    );
    let endpoints = written(&reconcile_endpoints("default", "foo", Some(&service), None, &[pod]));
    let address = endpoints.subsets.unwrap()[0].addresses.clone().unwrap().remove(0);
    assert_eq!(address.ip, "2000::4");
    assert_eq!(address.hostname.as_deref(), Some("web-0"));
    assert_eq!(address.node_name.as_deref(), Some("node-a"));
}

#[test]
fn the_trigger_time_is_the_newest_ready_transition() {
    let mut pods = add_pods("default", 2, 1, 0);
    for (pod, time) in pods.iter_mut().zip(["2018-01-01T00:00:00Z", "2018-01-01T01:00:00Z"]) {
        pod.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].last_transition_time =
            Some(Time(time.parse().unwrap()));
    }
    let service = service("default", json!({"selector": {"foo": "bar"}, "ports": [{"port": 80, "targetPort": 8080}]}));
    let endpoints = written(&reconcile_endpoints("default", "foo", Some(&service), None, &pods));
    let annotations = endpoints.metadata.annotations.unwrap();
    assert_eq!(annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION], "2018-01-01T01:00:00Z");
}

// TestRepackSubsets-style: an address listed ready for one subset and not ready for another
// ends up not ready; equal address sets share one subset.
#[test]
fn repacking_merges_ports_of_equal_address_sets_and_not_ready_wins() {
    let subsets: Vec<EndpointSubset> = typed(json!([
        {"addresses": [{"ip": "1.1.1.1"}], "ports": [{"name": "a", "port": 111}]},
        {"addresses": [{"ip": "1.1.1.1"}], "ports": [{"name": "b", "port": 222}]},
        {"notReadyAddresses": [{"ip": "2.2.2.2"}], "ports": [{"name": "a", "port": 111}]},
        {"addresses": [{"ip": "2.2.2.2"}], "ports": [{"name": "a", "port": 111}]},
    ]));
    let repacked = repack_subsets(&subsets);
    let expected: Vec<EndpointSubset> = typed(json!([
        {"addresses": [{"ip": "1.1.1.1"}], "ports": [{"name": "b", "port": 222}]},
        {"addresses": [{"ip": "1.1.1.1"}], "notReadyAddresses": [{"ip": "2.2.2.2"}], "ports": [{"name": "a", "port": 111}]},
    ]));
    assert_eq!(repacked, expected);
}

// TestSyncServiceOverCapacity (endpoints_controller_test.go):
// over 1,000 addresses the Endpoints are truncated and annotated; a sync over the truncated object
// writes nothing; below capacity again, the annotation goes.
#[test]
fn endpoints_over_capacity_are_truncated_annotated_and_left_alone_once_written() {
    let service = service("default", json!({"selector": {"foo": "bar"}, "ports": [{"port": 80, "targetPort": 8080}]}));
    let pods = add_pods("default", 1001, 1, 0);
    let first = written(&reconcile_endpoints("default", "foo", Some(&service), None, &pods));
    let addresses: usize =
        first.subsets.iter().flatten().map(|subset| subset.addresses.as_ref().map_or(0, Vec::len)).sum();
    assert_eq!(addresses, MAX_CAPACITY);
    assert_eq!(first.metadata.annotations.as_ref().unwrap()[OVER_CAPACITY_ANNOTATION], TRUNCATED);
    assert!(reconcile_endpoints("default", "foo", Some(&service), Some(&first), &pods).actions.is_empty());
    let fewer = add_pods("default", 10, 1, 0);
    let shrunk = written(&reconcile_endpoints("default", "foo", Some(&service), Some(&first), &fewer));
    assert!(
        shrunk
            .metadata
            .annotations
            .as_ref()
            .is_none_or(|annotations| !annotations.contains_key(OVER_CAPACITY_ANNOTATION))
    );
}
