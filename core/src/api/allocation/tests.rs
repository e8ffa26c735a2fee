//! Allocation through `ApiServer::handle`, as kubectl and controllers see it (ported cases from
//! `pkg/registry/core/service/storage/storage_test.go`: requested and taken IPs and node ports,
//! headless Services, type changes, release on delete, and repair after a restart).

use serde_json::{Value, json};

use crate::api::{ApiRequest, ApiServer, Method};
use crate::object::Object;
use crate::store::{ListOptions, MemoryStore, Store};

use super::{AllocationConfig, ServiceAllocators};

fn now() -> jiff::Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn server() -> ApiServer<MemoryStore> {
    let mut server = ApiServer::new(MemoryStore::new(), 7);
    server.bootstrap(now()).unwrap();
    server
}

fn send(server: &mut ApiServer<MemoryStore>, request: ApiRequest) -> (u16, Value) {
    match server.handle(&request, now()).into_json() {
        Ok(answer) => answer,
        Err(_) => panic!("unexpected watch"),
    }
}

const SERVICES: &str = "/api/v1/namespaces/default/services";

fn service(name: &str, spec: Value) -> Value {
    let mut spec = spec;
    if spec.get("ports").is_none() {
        spec["ports"] = json!([{"name": "http", "port": 80}]);
    }
    spec["selector"] = json!({"app": name});
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})
}

fn create(server: &mut ApiServer<MemoryStore>, body: Value) -> (u16, Value) {
    send(server, ApiRequest::new(Method::Post, SERVICES).with_json(&body))
}

/// Replaces a stored Service's spec, keeping its metadata, as `kubectl replace` of an edited
/// `kubectl get -o yaml` does.
fn replace_spec(stored: &Value, spec: Value) -> Value {
    let mut replacement = service(stored["metadata"]["name"].as_str().unwrap(), spec);
    replacement["metadata"] = stored["metadata"].clone();
    replacement
}

fn put(server: &mut ApiServer<MemoryStore>, body: Value) -> (u16, Value) {
    let name = body["metadata"]["name"].as_str().unwrap().to_string();
    send(server, ApiRequest::new(Method::Put, &format!("{SERVICES}/{name}")).with_json(&body))
}

fn delete(server: &mut ApiServer<MemoryStore>, name: &str) -> u16 {
    send(server, ApiRequest::new(Method::Delete, &format!("{SERVICES}/{name}"))).0
}

fn node_ports(body: &Value) -> Vec<i64> {
    body["spec"]["ports"].as_array().unwrap().iter().filter_map(|port| port["nodePort"].as_i64()).collect()
}

fn repaired(server: &ApiServer<MemoryStore>) -> ServiceAllocators {
    let listed = server
        .store()
        .list(crate::object::kinds::GroupResource { group: "", resource: "services" }, &ListOptions::all());
    let items = listed.unwrap().items;
    ServiceAllocators::repair(AllocationConfig::default(), items.iter().map(|item| -> &Object { item }))
}

#[test]
fn bootstrap_gives_the_kubernetes_service_the_first_address() {
    let mut server = server();
    let (status, body) = send(&mut server, ApiRequest::new(Method::Get, &format!("{SERVICES}/kubernetes")));
    assert_eq!(status, 200);
    assert_eq!(body["spec"]["clusterIP"], "10.96.0.1");
    assert_eq!(body["spec"]["clusterIPs"], json!(["10.96.0.1"]));
    assert_eq!(body["spec"]["ports"][0]["targetPort"], 6443);
    server.bootstrap(now()).unwrap();
}

#[test]
fn services_get_the_lowest_free_addresses_above_the_static_band() {
    let mut server = server();
    let (status, first) = create(&mut server, service("a", json!({})));
    assert_eq!(status, 201, "{first}");
    let (_, second) = create(&mut server, service("b", json!({})));
    assert_eq!(first["spec"]["clusterIP"], "10.96.1.1");
    assert_eq!(second["spec"]["clusterIPs"], json!(["10.96.1.2"]));
}

#[test]
fn a_requested_free_address_is_honoured_and_a_taken_one_is_invalid() {
    let mut server = server();
    let (status, body) = create(&mut server, service("dns", json!({"clusterIP": "10.96.0.10"})));
    assert_eq!((status, body["spec"]["clusterIP"].clone()), (201, json!("10.96.0.10")));
    let (status, body) = create(&mut server, service("other", json!({"clusterIP": "10.96.0.10"})));
    assert_eq!(status, 422);
    assert_eq!(
        body["message"],
        "Service \"other\" is invalid: spec.clusterIPs: Invalid value: [\"10.96.0.10\"]: failed to allocate IP 10.96.0.10: provided IP is already allocated"
    );
    assert_eq!(body["details"]["causes"][0]["field"], "spec.clusterIPs");
}

#[test]
fn an_address_outside_the_service_cidr_is_invalid() {
    let mut server = server();
    for (ip, shown) in [("1.1.1.1", "1.1.1.1"), ("10.96.0.0", "10.96.0.0"), ("10.111.255.255", "10.111.255.255")] {
        let (status, body) = create(&mut server, service("a", json!({"clusterIP": ip})));
        assert_eq!(status, 422);
        let expected = format!(
            "Service \"a\" is invalid: spec.clusterIPs: Invalid value: [\"{ip}\"]: failed to allocate IP {ip}: the provided IP ({shown}) is not in the valid range. The range of valid IPs is 10.96.0.0/12"
        );
        assert_eq!(body["message"], expected.as_str());
    }
}

#[test]
fn a_headless_service_allocates_nothing() {
    let mut server = server();
    let free = server.allocators().cluster_ips().free();
    let (status, body) = create(&mut server, service("db", json!({"clusterIP": "None"})));
    assert_eq!(status, 201);
    assert_eq!(body["spec"]["clusterIPs"], json!(["None"]));
    assert_eq!(server.allocators().cluster_ips().free(), free);
}

#[test]
fn node_port_services_get_one_node_port_per_port_and_requested_ones_are_checked() {
    let mut server = server();
    let ports = json!([{"name": "http", "port": 80}, {"name": "https", "port": 443}]);
    let (status, body) = create(&mut server, service("web", json!({"type": "NodePort", "ports": ports})));
    assert_eq!(status, 201, "{body}");
    assert_eq!(node_ports(&body), vec![30086, 30087]);
    let requested = json!([{"port": 80, "nodePort": 30080}]);
    let (status, body) = create(&mut server, service("a", json!({"type": "NodePort", "ports": requested})));
    assert_eq!((status, node_ports(&body)), (201, vec![30080]));
    let (status, body) = create(&mut server, service("b", json!({"type": "NodePort", "ports": requested})));
    assert_eq!(status, 422);
    assert_eq!(
        body["message"],
        "Service \"b\" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"
    );
    let (_, cluster_ip) = create(&mut server, service("c", json!({"type": "NodePort", "ports": requested})));
    assert_eq!(cluster_ip["code"], 422, "a failed create keeps no cluster IP: c got none");
    let (_, next) = create(&mut server, service("d", json!({})));
    assert_eq!(next["spec"]["clusterIP"], "10.96.1.3");
}

#[test]
fn one_port_number_over_two_protocols_shares_its_node_port() {
    let mut server = server();
    let ports =
        json!([{"name": "dns-udp", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]);
    let (status, body) = create(&mut server, service("dns", json!({"type": "NodePort", "ports": ports})));
    assert_eq!(status, 201, "{body}");
    assert_eq!(node_ports(&body), vec![30086, 30086]);
}

#[test]
fn a_load_balancer_may_opt_out_of_node_ports_and_a_local_one_gets_a_health_check_port() {
    let mut server = server();
    let spec = json!({"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false});
    let (status, body) = create(&mut server, service("lb", spec));
    assert_eq!((status, node_ports(&body)), (201, vec![]));
    let spec = json!({"type": "LoadBalancer", "externalTrafficPolicy": "Local"});
    let (status, body) = create(&mut server, service("local", spec));
    assert_eq!(status, 201, "{body}");
    assert_eq!(node_ports(&body), vec![30086]);
    assert_eq!(body["spec"]["healthCheckNodePort"], 30087);
}

#[test]
fn an_update_without_cluster_ip_or_node_ports_keeps_the_allocated_ones() {
    let mut server = server();
    let (_, created) = create(&mut server, service("web", json!({"type": "NodePort"})));
    let (status, updated) = put(&mut server, replace_spec(&created, json!({"type": "NodePort"})));
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["spec"]["clusterIP"], created["spec"]["clusterIP"]);
    assert_eq!(node_ports(&updated), node_ports(&created));
    assert_eq!(&repaired(&server), server.allocators());
}

#[test]
fn the_cluster_ip_may_not_change() {
    let mut server = server();
    let (_, created) = create(&mut server, service("web", json!({})));
    let (status, body) = put(&mut server, replace_spec(&created, json!({"clusterIP": "10.96.0.50"})));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"]["causes"][0]["field"], "spec.clusterIPs[0]");
    assert!(!server.allocators().cluster_ips().has("10.96.0.50".parse().unwrap()));
}

#[test]
fn type_changes_allocate_and_release_node_ports() {
    let mut server = server();
    let (_, created) = create(&mut server, service("web", json!({})));
    let (status, node_port) = put(&mut server, replace_spec(&created, json!({"type": "NodePort"})));
    assert_eq!((status, node_ports(&node_port)), (200, vec![30086]));
    let (status, cluster_ip) = put(&mut server, replace_spec(&node_port, json!({"type": "ClusterIP"})));
    assert_eq!((status, node_ports(&cluster_ip)), (200, vec![]));
    assert!(!server.allocators().node_ports().has(30086));
    assert_eq!(&repaired(&server), server.allocators());
}

#[test]
fn a_deleted_service_releases_its_address_and_node_ports() {
    let mut server = server();
    let spec = json!({"type": "NodePort", "clusterIP": "10.96.0.20", "ports": [{"port": 80, "nodePort": 30500}]});
    assert_eq!(create(&mut server, service("a", spec.clone())).0, 201);
    assert_eq!(delete(&mut server, "a"), 200);
    let (status, body) = create(&mut server, service("b", spec));
    assert_eq!(status, 201, "{body}");
}

#[test]
fn a_create_that_fails_in_the_store_keeps_nothing_and_a_dry_run_keeps_nothing() {
    let mut server = server();
    assert_eq!(create(&mut server, service("a", json!({}))).0, 201);
    let free = server.allocators().cluster_ips().free();
    assert_eq!(create(&mut server, service("a", json!({"type": "NodePort"}))).0, 409);
    let dry_run = ApiRequest::new(Method::Post, &format!("{SERVICES}?dryRun=All")).with_json(&service("b", json!({})));
    let (status, body) = send(&mut server, dry_run);
    assert_eq!((status, body["spec"]["clusterIP"].clone()), (201, json!("10.96.1.2")));
    assert_eq!(server.allocators().cluster_ips().free(), free);
    assert_eq!(server.allocators().node_ports().free(), 2768);
}

#[test]
fn a_restarted_server_rebuilds_its_ranges_from_the_stored_services() {
    let mut server = server();
    create(&mut server, service("a", json!({"type": "NodePort"})));
    create(&mut server, service("b", json!({"clusterIP": "10.96.0.10"})));
    let before = server.allocators().clone();
    let mut restarted = ApiServer::new(server.into_store(), 8);
    assert_eq!(restarted.allocators(), &before);
    let (status, _) = create(&mut restarted, service("c", json!({"clusterIP": "10.96.0.10"})));
    assert_eq!(status, 422);
    let (_, fresh) = create(&mut restarted, service("d", json!({"type": "NodePort"})));
    assert_eq!(fresh["spec"]["clusterIP"], "10.96.1.2");
    assert_eq!(node_ports(&fresh), vec![30087]);
}
