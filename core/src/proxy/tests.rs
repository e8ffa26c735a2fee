//! Table tests of the rule set and routing, in the manner of kube-proxy's
//! `TestClusterIPGeneral`, `TestNodePorts`, `TestSessionAffinity` and
//! `TestEndpointSliceE2E` (pkg/proxy/iptables/proxier_test.go): which endpoints are used and
//! where traffic goes, read from the rendered rules.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::{AffinityTable, Backend, Destination, RuleSet};

fn service(name: &str, spec: Value) -> Service {
    serde_json::from_value(json!({"metadata": {"name": name, "namespace": "default"}, "spec": spec})).unwrap()
}

fn slice(name: &str, service: &str, ports: Value, endpoints: Value) -> EndpointSlice {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default", "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4", "ports": ports, "endpoints": endpoints
    }))
    .unwrap()
}

fn endpoint(ip: &str, ready: Option<bool>, terminating: bool) -> Value {
    let mut conditions = json!({"terminating": terminating});
    if let Some(ready) = ready {
        conditions["ready"] = json!(ready);
    }
    json!({"addresses": [ip], "conditions": conditions})
}

fn cluster() -> RuleSet {
    let services = vec![
        service(
            "web",
            json!({"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                      {"name": "dns", "port": 53, "protocol": "UDP"}]}),
        ),
        service(
            "shop",
            json!({"type": "NodePort", "clusterIP": "10.96.0.20", "sessionAffinity": "ClientIP",
            "ports": [{"port": 443, "nodePort": 30443, "protocol": "TCP"}]}),
        ),
        service("db", json!({"clusterIP": "None", "ports": [{"port": 5432}]})),
        service("external", json!({"type": "ExternalName", "externalName": "example.com"})),
        service("empty", json!({"clusterIP": "10.96.0.30", "ports": [{"port": 80}]})),
    ];
    let slices = vec![
        slice(
            "web-a",
            "web",
            json!([{"name": "http", "port": 8080}, {"name": "dns", "port": 5353}]),
            json!([
                endpoint("10.244.1.2", Some(true), false),
                endpoint("10.244.1.3", Some(false), false),
                endpoint("10.244.1.4", None, false),
                endpoint("10.244.1.5", Some(false), true),
            ]),
        ),
        // The same endpoint in a second slice is used once.
        slice(
            "web-b",
            "web",
            json!([{"name": "http", "port": 8080}]),
            json!([endpoint("10.244.1.2", Some(true), false), endpoint("10.244.2.9", Some(true), false),]),
        ),
        slice(
            "shop-a",
            "shop",
            json!([{"port": 8443}]),
            json!([
                endpoint("10.244.3.1", Some(true), false),
                endpoint("10.244.3.2", Some(true), false),
                endpoint("10.244.3.3", Some(true), false),
            ]),
        ),
    ];
    RuleSet::build(&services, &slices)
}

#[test]
fn rules_join_ports_by_name_keep_ready_endpoints_once_and_skip_headless_and_external_names() {
    insta::assert_snapshot!(cluster().render(), @r"
    default/db TCP -> REJECT (no endpoints)
    default/empty TCP 10.96.0.30:80 -> REJECT (no endpoints)
    default/shop TCP 10.96.0.20:443 nodePort=30443 affinity=ClientIP/10800s -> 10.244.3.1:8443 10.244.3.2:8443 10.244.3.3:8443
    default/web:dns UDP 10.96.0.10:53 -> 10.244.1.2:5353 10.244.1.4:5353
    default/web:http TCP 10.96.0.10:80 -> 10.244.1.2:8080 10.244.1.4:8080 10.244.2.9:8080
    ");
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_767_225_600 + seconds).unwrap()
}

#[test]
fn routing_spreads_over_ready_backends_and_rejects_unknown_or_empty_destinations() {
    let rules = cluster();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut affinity = AffinityTable::default();
    let web = Destination::ClusterIp { ip: "10.96.0.10".into(), port: 80, protocol: "TCP".into() };
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..100 {
        seen.insert(rules.route(&web, "10.0.0.1", &mut affinity, at(0), &mut rng).unwrap());
    }
    assert_eq!(seen.len(), 3, "every ready backend gets traffic: {seen:?}");
    assert!(!seen.contains(&Backend { ip: "10.244.1.3".into(), port: 8080 }));
    assert!(affinity.is_empty(), "no affinity without sessionAffinity");
    let rows = [
        (Destination::ClusterIp { ip: "10.96.0.10".into(), port: 80, protocol: "UDP".into() }, false),
        (Destination::ClusterIp { ip: "10.96.0.30".into(), port: 80, protocol: "TCP".into() }, false),
        (Destination::ClusterIp { ip: "10.96.9.9".into(), port: 80, protocol: "TCP".into() }, false),
        (Destination::NodePort { port: 30443, protocol: "TCP".into() }, true),
        (Destination::NodePort { port: 30080, protocol: "TCP".into() }, false),
    ];
    for (destination, routed) in rows {
        let backend = rules.route(&destination, "10.0.0.1", &mut affinity, at(0), &mut rng);
        assert_eq!(backend.is_some(), routed, "{destination:?}");
    }
}

#[test]
fn client_ip_affinity_sticks_until_the_timeout_after_the_last_connection() {
    let rules = cluster();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut affinity = AffinityTable::default();
    let shop = Destination::ClusterIp { ip: "10.96.0.20".into(), port: 443, protocol: "TCP".into() };
    let first = rules.route(&shop, "192.168.0.7", &mut affinity, at(0), &mut rng).unwrap();
    for minute in 1..100 {
        let now = at(0) + SignedDuration::from_mins(minute);
        assert_eq!(rules.route(&shop, "192.168.0.7", &mut affinity, now, &mut rng).unwrap(), first);
    }
    // Other clients spread out.
    let mut others = std::collections::BTreeSet::new();
    for client in 0..50 {
        others.insert(rules.route(&shop, &format!("192.168.1.{client}"), &mut affinity, at(0), &mut rng).unwrap());
    }
    assert!(others.len() > 1);
    // Three hours of silence forget the client.
    let later = at(0) + SignedDuration::from_mins(99) + SignedDuration::from_secs(10_800);
    let mut after_timeout = std::collections::BTreeSet::new();
    for round in 0..30 {
        let mut fresh = affinity.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(round);
        after_timeout.insert(rules.route(&shop, "192.168.0.7", &mut fresh, later, &mut rng).unwrap());
    }
    assert!(after_timeout.len() > 1, "expired affinity chooses afresh");
}
