//! The endpoints a Service's pods should have in EndpointSlices, grouped by the set of ports
//! they offer (`getEndpointPorts`, `podToEndpoint` in `k8s.io/endpointslice`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort};

use crate::controllers::lookup::ByName;
use crate::controllers::pods::is_pod_ready;
use crate::controllers::service_pods::{
    find_port, hostname_for, pod_ip_of_family, pod_reference, publishes_not_ready_addresses, should_pod_be_in_endpoints,
};

/// The node label naming a node's zone.
pub const TOPOLOGY_ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// A port set's identity: its ports sorted by name, number and protocol.
pub type PortsKey = Vec<(String, i32, String)>;

/// An endpoint's identity within a port set: its address and the pod behind it.
pub type EndpointKey = (String, String);

/// The key of a list of ports (`portMappingKey`).
pub fn ports_key(ports: &[EndpointPort]) -> PortsKey {
    let mut key: PortsKey = ports
        .iter()
        .map(|port| {
            (port.name.clone().unwrap_or_default(), port.port.unwrap_or(0), port.protocol.clone().unwrap_or_default())
        })
        .collect();
    key.sort();
    key
}

/// The key of an endpoint.
pub fn endpoint_key(endpoint: &Endpoint) -> EndpointKey {
    let address = endpoint.addresses.first().cloned().unwrap_or_default();
    let pod = endpoint.target_ref.as_ref().and_then(|target| target.name.clone()).unwrap_or_default();
    (address, pod)
}

/// The endpoints wanted for one port set, and that set's ports in service order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PortSet {
    /// The ports, as the first pod offering them resolved them.
    pub ports: Vec<EndpointPort>,
    /// The endpoints, by key.
    pub endpoints: BTreeMap<EndpointKey, Endpoint>,
}

/// The ports a pod offers for the Service: each service port whose target the pod resolves.
fn endpoint_ports(service: &Service, pod: &Pod) -> Vec<EndpointPort> {
    let ports = service.spec.as_ref().and_then(|spec| spec.ports.as_ref());
    ports
        .into_iter()
        .flatten()
        .filter_map(|service_port| {
            let number = find_port(pod, service_port)?;
            Some(EndpointPort {
                name: Some(service_port.name.clone().unwrap_or_default()),
                port: Some(number),
                protocol: Some(service_port.protocol.clone().unwrap_or_else(|| "TCP".into())),
                app_protocol: service_port.app_protocol.clone(),
            })
        })
        .collect()
}

/// `podToEndpoint`: ready only when serving and not terminating, unless the Service publishes
/// not-ready addresses.
fn pod_to_endpoint(pod: &Pod, address: String, service: &Service, nodes: &(impl ByName<Node> + ?Sized)) -> Endpoint {
    let serving = is_pod_ready(pod);
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let ready = publishes_not_ready_addresses(service) || (serving && !terminating);
    let node_name = pod.spec.as_ref().and_then(|spec| spec.node_name.clone()).filter(|name| !name.is_empty());
    let zone = node_name.as_ref().and_then(|name| {
        let node = nodes.by_name("", name)?;
        node.metadata.labels.as_ref()?.get(TOPOLOGY_ZONE_LABEL).filter(|zone| !zone.is_empty()).cloned()
    });
    Endpoint {
        addresses: vec![address],
        conditions: Some(EndpointConditions {
            ready: Some(ready),
            serving: Some(serving),
            terminating: Some(terminating),
        }),
        target_ref: Some(pod_reference(pod)),
        node_name,
        zone,
        hostname: hostname_for(pod, service),
        ..Endpoint::default()
    }
}

/// Every selected pod that belongs in endpoints (terminating ones included, with their
/// conditions), grouped by the ports it offers.
pub fn desired_port_sets(
    service: &Service,
    pods: &[&Pod],
    nodes: &(impl ByName<Node> + ?Sized),
    family: &str,
) -> BTreeMap<PortsKey, PortSet> {
    let mut sets: BTreeMap<PortsKey, PortSet> = BTreeMap::new();
    for pod in pods.iter().filter(|pod| should_pod_be_in_endpoints(pod, true)) {
        let Some(address) = pod_ip_of_family(pod, family) else { continue };
        let ports = endpoint_ports(service, pod);
        let endpoint = pod_to_endpoint(pod, address, service, nodes);
        let set = sets.entry(ports_key(&ports)).or_insert_with(|| PortSet { ports, ..PortSet::default() });
        set.endpoints.insert(endpoint_key(&endpoint), endpoint);
    }
    sets
}
