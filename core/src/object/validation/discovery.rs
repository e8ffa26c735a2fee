//! Where a Service's backends are: EndpointSlices (`pkg/apis/discovery/validation`) and the
//! older Endpoints (`ValidateEndpoints` in `pkg/apis/core/validation`).
//!
//! coxswain does not default EndpointSlices yet, so a port without `protocol` is read as `TCP`
//! and one without `name` as the empty name, as Kubernetes' defaulting would write them.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{EndpointAddress, Endpoints};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort, EndpointSlice};

use super::common::{SUPPORTED_PORT_PROTOCOLS, immutable, is_valid_port_number};
use super::meta::{name_is_dns_subdomain, validate_labels};
use super::name_rules::{is_dns1123_label, is_qualified_name};
use super::network::{INVALID_IP, validate_fully_qualified_domain_name, validate_non_special_ip};
use crate::object::field_error::{FieldError, FieldPath};

/// Address types an EndpointSlice may have, sorted.
pub const ADDRESS_TYPES: &[&str] = &["FQDN", "IPv4", "IPv6"];
/// Most endpoints in one slice.
pub const ENDPOINTS_MAX: usize = 1000;
/// Most addresses of one endpoint.
pub const ADDRESSES_MAX: usize = 100;
/// Most ports in one slice.
pub const PORTS_MAX: usize = 20000;
/// Most deprecated topology labels of one endpoint.
pub const TOPOLOGY_LABELS_MAX: usize = 16;
/// The protocol of an EndpointSlice port that does not name one.
pub const PROTOCOL_DEFAULT: &str = "TCP";
/// The label an endpoint's zone is checked as.
pub const TOPOLOGY_ZONE_LABEL: &str = "topology.kubernetes.io/zone";

fn validate_dns1123_label(value: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    for message in is_dns1123_label(value) {
        errors.push(FieldError::invalid(path, value, &message));
    }
}

fn validate_qualified_name(value: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    for message in is_qualified_name(value) {
        errors.push(FieldError::invalid(path, value, &message));
    }
}

/// `ValidateEndpointSlice` (beyond metadata).
pub fn validate_endpoint_slice(slice: &EndpointSlice) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let address_type = slice.address_type.as_str();
    let type_path = FieldPath::new("addressType");
    if address_type.is_empty() {
        errors.push(FieldError::required(&type_path, ""));
    } else if !ADDRESS_TYPES.contains(&address_type) {
        errors.push(FieldError::not_supported(&type_path, address_type, ADDRESS_TYPES));
    }
    let endpoints_path = FieldPath::new("endpoints");
    if slice.endpoints.len() > ENDPOINTS_MAX {
        errors.push(FieldError::too_many(&endpoints_path, slice.endpoints.len(), ENDPOINTS_MAX));
    } else {
        for (index, endpoint) in slice.endpoints.iter().enumerate() {
            validate_endpoint(endpoint, address_type, &endpoints_path.index(index), &mut errors);
        }
    }
    validate_slice_ports(slice.ports.as_deref().unwrap_or_default(), &FieldPath::new("ports"), &mut errors);
    errors
}

/// One endpoint: addresses of the slice's type, node name, topology, zone and hostname.
fn validate_endpoint(endpoint: &Endpoint, address_type: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let addresses_path = path.child("addresses");
    if endpoint.addresses.is_empty() {
        errors.push(FieldError::required(&addresses_path, "must contain at least 1 address"));
    } else if endpoint.addresses.len() > ADDRESSES_MAX {
        errors.push(FieldError::too_many(&addresses_path, endpoint.addresses.len(), ADDRESSES_MAX));
    }
    for (index, address) in endpoint.addresses.iter().enumerate() {
        let address_path = addresses_path.index(index);
        match address_type {
            "IPv4" | "IPv6" => {
                let family_matches = match address.parse::<std::net::IpAddr>() {
                    Ok(ip) => ip.is_ipv4() == (address_type == "IPv4"),
                    Err(_) => false,
                };
                if family_matches {
                    validate_non_special_ip(address, &address_path, errors);
                } else {
                    let message = format!("must be a valid {address_type} address");
                    errors.push(FieldError::invalid(&address_path, address.as_str(), &message));
                }
            }
            "FQDN" => validate_fully_qualified_domain_name(address, &address_path, errors),
            _ => {}
        }
    }
    if let Some(node_name) = &endpoint.node_name {
        for message in name_is_dns_subdomain(node_name, false) {
            errors.push(FieldError::invalid(&path.child("nodeName"), node_name.as_str(), &message));
        }
    }
    let topology_path = path.child("deprecatedTopology");
    let topology = endpoint.deprecated_topology.as_ref();
    if let Some(labels) = topology.filter(|labels| labels.len() > TOPOLOGY_LABELS_MAX) {
        errors.push(FieldError::too_many(&topology_path, labels.len(), TOPOLOGY_LABELS_MAX));
    }
    validate_labels(topology, &topology_path, errors);
    if let Some(zone) = &endpoint.zone {
        let labels = [(TOPOLOGY_ZONE_LABEL.to_string(), zone.clone())].into_iter().collect();
        validate_labels(Some(&labels), &path.child("zone"), errors);
    }
    if let Some(hostname) = &endpoint.hostname {
        validate_dns1123_label(hostname, &path.child("hostname"), errors);
    }
}

/// EndpointSlice ports: unique DNS-label names, a known protocol, a qualified appProtocol.
fn validate_slice_ports(ports: &[EndpointPort], path: &FieldPath, errors: &mut Vec<FieldError>) {
    if ports.len() > PORTS_MAX {
        errors.push(FieldError::too_many(path, ports.len(), PORTS_MAX));
        return;
    }
    let mut names = BTreeSet::new();
    for (index, port) in ports.iter().enumerate() {
        let port_path = path.index(index);
        let name = port.name.as_deref().unwrap_or("");
        if !name.is_empty() {
            validate_dns1123_label(name, &port_path.child("name"), errors);
        }
        if !names.insert(name) {
            errors.push(FieldError::duplicate(&port_path.child("name"), name));
        }
        let protocol = port.protocol.as_deref().unwrap_or(PROTOCOL_DEFAULT);
        if !SUPPORTED_PORT_PROTOCOLS.contains(&protocol) {
            errors.push(FieldError::not_supported(&port_path.child("protocol"), protocol, SUPPORTED_PORT_PROTOCOLS));
        }
        if let Some(app_protocol) = &port.app_protocol {
            validate_qualified_name(app_protocol, &port_path.child("appProtocol"), errors);
        }
    }
}

/// `ValidateEndpointSliceUpdate`: the address type is fixed.
pub fn validate_endpoint_slice_update(new: &EndpointSlice, old: &EndpointSlice) -> Vec<FieldError> {
    let mut errors = Vec::new();
    immutable(&new.address_type, &old.address_type, &FieldPath::new("addressType"), &mut errors);
    errors
}

/// `ValidateEndpoints` (beyond metadata): every subset has addresses, each a usable IP; ports
/// are named when there are several.
pub fn validate_endpoints(endpoints: &Endpoints) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (index, subset) in endpoints.subsets.iter().flatten().enumerate() {
        let subset_path = FieldPath::new("subsets").index(index);
        let addresses = subset.addresses.as_deref().unwrap_or_default();
        let not_ready = subset.not_ready_addresses.as_deref().unwrap_or_default();
        if addresses.is_empty() && not_ready.is_empty() {
            let message = "must specify `addresses` or `notReadyAddresses`";
            errors.push(FieldError::required(&subset_path, message));
        }
        for (field, list) in [("addresses", addresses), ("notReadyAddresses", not_ready)] {
            for (address_index, address) in list.iter().enumerate() {
                validate_endpoint_address(address, &subset_path.child(field).index(address_index), &mut errors);
            }
        }
        let ports = subset.ports.as_deref().unwrap_or_default();
        for (port_index, port) in ports.iter().enumerate() {
            let port_path = subset_path.child("ports").index(port_index);
            let name = port.name.as_deref().unwrap_or("");
            if ports.len() > 1 && name.is_empty() {
                errors.push(FieldError::required(&port_path.child("name"), ""));
            } else if !name.is_empty() {
                validate_dns1123_label(name, &port_path.child("name"), &mut errors);
            }
            for message in is_valid_port_number(port.port) {
                errors.push(FieldError::invalid(&port_path.child("port"), port.port, &message));
            }
            match port.protocol.as_deref().unwrap_or("") {
                "" => errors.push(FieldError::required(&port_path.child("protocol"), "")),
                protocol if !SUPPORTED_PORT_PROTOCOLS.contains(&protocol) => {
                    let path = port_path.child("protocol");
                    errors.push(FieldError::not_supported(&path, protocol, SUPPORTED_PORT_PROTOCOLS));
                }
                _ => {}
            }
            if let Some(app_protocol) = &port.app_protocol {
                validate_qualified_name(app_protocol, &port_path.child("appProtocol"), &mut errors);
            }
        }
    }
    errors
}

/// `validateEndpointAddress`: an IP that is not special, a DNS-label hostname, a node name.
fn validate_endpoint_address(address: &EndpointAddress, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let ip_path = path.child("ip");
    if address.ip.parse::<std::net::IpAddr>().is_err() {
        errors.push(FieldError::invalid(&ip_path, address.ip.as_str(), INVALID_IP));
    }
    if let Some(hostname) = address.hostname.as_deref().filter(|hostname| !hostname.is_empty()) {
        validate_dns1123_label(hostname, &path.child("hostname"), errors);
    }
    if let Some(node_name) = &address.node_name {
        for message in name_is_dns_subdomain(node_name, false) {
            errors.push(FieldError::invalid(&path.child("nodeName"), node_name.as_str(), &message));
        }
    }
    validate_non_special_ip(&address.ip, &ip_path, errors);
}
