//! Rows of the networking kinds: Service, Endpoints, EndpointSlice, Ingress, IngressClass and
//! NetworkPolicy, as Kubernetes' printers lay them out.

use std::collections::BTreeSet;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Endpoints, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass, NetworkPolicy};
use serde_json::json;

use crate::object::Object;

use super::{AGE, Column, NAME, Printer, Row, RowFn, format, text, typed, wide};

/// How many addresses or hosts a cell lists before `+ N more...`.
const LISTED: usize = 3;

pub(super) fn printer(kind: &str) -> Option<Printer> {
    let (columns, row): (&'static [Column], RowFn) = match kind {
        "Service" => (SERVICE, service),
        "Endpoints" => (ENDPOINTS, endpoints),
        "EndpointSlice" => (ENDPOINT_SLICE, endpoint_slice),
        "Ingress" => (INGRESS, ingress),
        "IngressClass" => (INGRESS_CLASS, ingress_class),
        "NetworkPolicy" => (NETWORK_POLICY, network_policy),
        _ => return None,
    };
    Some(Printer { columns, row })
}

const SERVICE: &[Column] = &[
    NAME,
    text("Type", "type determines how the Service is exposed."),
    text("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
    text(
        "External-IP",
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
    ),
    text("Port(s)", "The list of ports that are exposed by this service."),
    AGE,
    wide(text("Selector", "Route service traffic to pods with label keys and values matching this selector.")),
];

const ENDPOINTS: &[Column] = &[NAME, text("Endpoints", "The set of all endpoints is the union of all subsets."), AGE];

const ENDPOINT_SLICE: &[Column] = &[
    NAME,
    text("AddressType", "addressType specifies the type of address carried by this EndpointSlice."),
    text("Ports", "ports specifies the list of network ports exposed by each endpoint in this slice."),
    text("Endpoints", "endpoints is a list of unique endpoints in this slice."),
    AGE,
];

const INGRESS: &[Column] = &[
    NAME,
    text("Class", "The name of the IngressClass resource that should be used for additional configuration"),
    text("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
    text("Address", "Address is a list containing ingress points for the load-balancer"),
    text("Ports", "Ports of TLS configurations that open"),
    AGE,
];

const INGRESS_CLASS: &[Column] = &[
    NAME,
    text("Controller", "Controller that is responsible for handling this class"),
    text("Parameters", "A reference to a resource with additional parameters"),
    AGE,
];

const NETWORK_POLICY: &[Column] =
    &[NAME, text("Pod-Selector", "Selects the pods to which this NetworkPolicy object applies."), AGE];

/// The load-balancer ingress points of a Service or Ingress status, each as its IP or else its
/// hostname, sorted and without repeats (Kubernetes' `loadBalancerStatusStringer`, never clipped
/// because the server renders wide rows).
fn balancer_addresses<'a>(points: impl Iterator<Item = (&'a Option<String>, &'a Option<String>)>) -> Vec<String> {
    let addresses: BTreeSet<String> = points
        .filter_map(|(ip, hostname)| ip.clone().filter(|ip| !ip.is_empty()).or_else(|| hostname.clone()))
        .filter(|address| !address.is_empty())
        .collect();
    addresses.into_iter().collect()
}

/// `getServiceExternalIP` with wide output: external IPs by type, load-balancer addresses sorted.
fn service_external_ip(service: &Service) -> String {
    let spec = service.spec.clone().unwrap_or_default();
    let external_ips = spec.external_ips.unwrap_or_default();
    match spec.type_.as_deref().unwrap_or("") {
        "ClusterIP" | "NodePort" if !external_ips.is_empty() => external_ips.join(","),
        "ClusterIP" | "NodePort" => "<none>".into(),
        "LoadBalancer" => {
            let ingress = service.status.as_ref().and_then(|status| status.load_balancer.as_ref());
            let points = ingress.and_then(|balancer| balancer.ingress.as_ref()).into_iter().flatten();
            let mut addresses = balancer_addresses(points.map(|point| (&point.ip, &point.hostname)));
            addresses.extend(external_ips);
            if addresses.is_empty() { "<pending>".into() } else { addresses.join(",") }
        }
        "ExternalName" => spec.external_name.unwrap_or_default(),
        _ => "<unknown>".into(),
    }
}

fn service(object: &Object, now: Timestamp) -> Row {
    let service: Service = typed(object);
    let external_ip = service_external_ip(&service);
    let spec = service.spec.unwrap_or_default();
    let cluster_ip = spec.cluster_ips.as_ref().and_then(|ips| ips.first()).cloned().unwrap_or_else(|| "<none>".into());
    let ports: Vec<String> = spec
        .ports
        .iter()
        .flatten()
        .map(|port| {
            let protocol = port.protocol.as_deref().unwrap_or("");
            match port.node_port {
                Some(node_port) if node_port > 0 => format!("{}:{node_port}/{protocol}", port.port),
                _ => format!("{}/{protocol}", port.port),
            }
        })
        .collect();
    let ports = if ports.is_empty() { "<none>".to_string() } else { ports.join(",") };
    Row::new(vec![
        json!(object.name()),
        json!(spec.type_.unwrap_or_default()),
        json!(cluster_ip),
        json!(external_ip),
        json!(ports),
        json!(super::age(object, now)),
        json!(format::labels(spec.selector.as_ref())),
    ])
}

/// `formatEndpoints`: `ip:port` for every port of every subset (bare IPs for port-less ones).
fn endpoints(object: &Object, now: Timestamp) -> Row {
    let endpoints: Endpoints = typed(object);
    let subsets = endpoints.subsets.unwrap_or_default();
    let mut addresses = Vec::new();
    for subset in &subsets {
        let ips: Vec<&str> = subset.addresses.iter().flatten().map(|address| address.ip.as_str()).collect();
        match subset.ports.as_deref() {
            None | Some([]) => addresses.extend(ips.iter().map(|ip| ip.to_string())),
            Some(ports) => {
                for port in ports {
                    addresses.extend(ips.iter().map(|ip| join_host_port(ip, port.port)));
                }
            }
        }
    }
    let cell = if subsets.is_empty() { "<none>".to_string() } else { format::list_with_more(&addresses, LISTED, "") };
    Row::new(vec![json!(object.name()), json!(cell), json!(super::age(object, now))])
}

/// Go's `net.JoinHostPort`: IPv6 addresses in brackets.
fn join_host_port(host: &str, port: i32) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

fn endpoint_slice(object: &Object, now: Timestamp) -> Row {
    let slice: EndpointSlice = typed(object);
    let ports: Vec<String> = slice
        .ports
        .iter()
        .flatten()
        .map(|port| match (port.port, &port.name) {
            (Some(number), _) => number.to_string(),
            (None, Some(name)) => name.clone(),
            (None, None) => "*".into(),
        })
        .collect();
    let addresses: Vec<String> = slice.endpoints.iter().flat_map(|endpoint| endpoint.addresses.clone()).collect();
    Row::new(vec![
        json!(object.name()),
        json!(slice.address_type),
        json!(format::list_with_more(&ports, LISTED, "<unset>")),
        json!(format::list_with_more(&addresses, LISTED, "<unset>")),
        json!(super::age(object, now)),
    ])
}

/// `formatHosts`: the first three rule hosts, `*` when none names one.
fn hosts(ingress: &Ingress) -> String {
    let rules = ingress.spec.as_ref().and_then(|spec| spec.rules.clone()).unwrap_or_default();
    let mut listed = Vec::new();
    let mut more = false;
    for rule in &rules {
        if listed.len() == LISTED {
            more = true;
        }
        if let Some(host) = rule.host.as_ref().filter(|host| !host.is_empty() && !more) {
            listed.push(host.clone());
        }
    }
    if listed.is_empty() {
        return "*".into();
    }
    let text = listed.join(",");
    if more { format!("{text} + {} more...", rules.len() - LISTED) } else { text }
}

fn ingress(object: &Object, now: Timestamp) -> Row {
    let ingress: Ingress = typed(object);
    let class =
        ingress.spec.as_ref().and_then(|spec| spec.ingress_class_name.clone()).unwrap_or_else(|| "<none>".into());
    let balancer = ingress.status.as_ref().and_then(|status| status.load_balancer.as_ref());
    let points = balancer.and_then(|balancer| balancer.ingress.as_ref()).into_iter().flatten();
    let addresses = balancer_addresses(points.map(|point| (&point.ip, &point.hostname)));
    let has_tls = ingress.spec.as_ref().and_then(|spec| spec.tls.as_ref()).is_some_and(|tls| !tls.is_empty());
    Row::new(vec![
        json!(object.name()),
        json!(class),
        json!(hosts(&ingress)),
        json!(addresses.join(",")),
        json!(if has_tls { "80, 443" } else { "80" }),
        json!(super::age(object, now)),
    ])
}

fn ingress_class(object: &Object, now: Timestamp) -> Row {
    let class: IngressClass = typed(object);
    let spec = class.spec.unwrap_or_default();
    let parameters = match &spec.parameters {
        Some(parameters) => {
            let group = parameters.api_group.as_ref().map(|group| format!(".{group}")).unwrap_or_default();
            format!("{}{group}/{}", parameters.kind, parameters.name)
        }
        None => "<none>".into(),
    };
    Row::new(vec![
        json!(object.name()),
        json!(spec.controller.unwrap_or_default()),
        json!(parameters),
        json!(super::age(object, now)),
    ])
}

fn network_policy(object: &Object, now: Timestamp) -> Row {
    let policy: NetworkPolicy = typed(object);
    let selector = policy.spec.and_then(|spec| spec.pod_selector);
    Row::new(vec![
        json!(object.name()),
        json!(format::label_selector(Some(&selector.unwrap_or_default()))),
        json!(super::age(object, now)),
    ])
}
