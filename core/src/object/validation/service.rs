//! Services (`ValidateService` in `pkg/apis/core/validation/validation.go`): ports, types,
//! headless and ExternalName services, node ports, session affinity.

use std::collections::BTreeSet;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use super::common::{SUPPORTED_PORT_PROTOCOLS, is_valid_port_number, port_number_or_name};
use super::meta::validate_labels;
use super::name_rules::{is_dns1123_label, is_dns1123_subdomain};
use crate::object::field_error::{FieldError, FieldPath};

/// Service types, sorted as Kubernetes lists them.
pub const SERVICE_TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
/// Session affinities, sorted as Kubernetes lists them.
pub const SESSION_AFFINITIES: &[&str] = &["ClientIP", "None"];
/// Traffic policies for external and internal traffic.
pub const TRAFFIC_POLICIES: &[&str] = &["Cluster", "Local"];
/// Lowest node port (`--service-node-port-range` default 30000-32767).
pub const NODE_PORT_MIN: i32 = 30000;
/// Highest node port.
pub const NODE_PORT_MAX: i32 = 32767;
/// The clusterIP value that makes a Service headless.
pub const CLUSTER_IP_NONE: &str = "None";

/// `ValidateService` (spec part).
pub fn validate_service(service: &Service) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = FieldPath::new("spec");
    let spec = service.spec.clone().unwrap_or_default();
    let service_type = spec.type_.as_deref().unwrap_or("");
    let headless = spec.cluster_ip.as_deref() == Some(CLUSTER_IP_NONE);
    let ports = spec.ports.as_deref().unwrap_or_default();
    if ports.is_empty() && !headless && service_type != "ExternalName" {
        errors.push(FieldError::required(&path.child("ports"), ""));
    }
    match service_type {
        "LoadBalancer" | "NodePort" if headless => errors.push(FieldError::invalid(
            &path.child("clusterIP"),
            CLUSTER_IP_NONE,
            &format!("may not be set to 'None' for {service_type} services"),
        )),
        "ExternalName" => validate_external_name(&spec, &path, &mut errors),
        _ => {}
    }
    let mut port_names = BTreeSet::new();
    for (index, port) in ports.iter().enumerate() {
        validate_service_port(port, ports.len() > 1, &mut port_names, &path.child("ports").index(index), &mut errors);
    }
    validate_labels(spec.selector.as_ref(), &path.child("selector"), &mut errors);
    validate_cluster_ip(&spec, &path, &mut errors);
    match spec.session_affinity.as_deref().unwrap_or("") {
        "" => errors.push(FieldError::required(&path.child("sessionAffinity"), "")),
        affinity if !SESSION_AFFINITIES.contains(&affinity) => {
            errors.push(FieldError::not_supported(&path.child("sessionAffinity"), affinity, SESSION_AFFINITIES));
        }
        _ => {}
    }
    if service_type.is_empty() {
        errors.push(FieldError::required(&path.child("type"), ""));
    } else if !SERVICE_TYPES.contains(&service_type) {
        errors.push(FieldError::not_supported(&path.child("type"), service_type, SERVICE_TYPES));
    }
    validate_node_ports(ports, service_type, &path, &mut errors);
    validate_duplicate_ports(ports, &path, &mut errors);
    for (field, policy) in [
        ("externalTrafficPolicy", &spec.external_traffic_policy),
        ("internalTrafficPolicy", &spec.internal_traffic_policy),
    ] {
        if let Some(policy) = policy.as_deref()
            && !TRAFFIC_POLICIES.contains(&policy)
        {
            errors.push(FieldError::not_supported(&path.child(field), policy, TRAFFIC_POLICIES));
        }
    }
    errors
}

fn validate_external_name(spec: &ServiceSpec, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if spec.cluster_ips.as_ref().is_some_and(|ips| !ips.is_empty()) {
        errors.push(FieldError::forbidden(&path.child("clusterIPs"), "may not be set for ExternalName services"));
    }
    let name = spec.external_name.as_deref().unwrap_or("");
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        errors.push(FieldError::required(&path.child("externalName"), ""));
    } else {
        for message in is_dns1123_subdomain(name) {
            errors.push(FieldError::invalid(&path.child("externalName"), name, &message));
        }
    }
}

/// `validateServicePort`.
fn validate_service_port(
    port: &ServicePort,
    require_name: bool,
    names: &mut BTreeSet<String>,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let name = port.name.as_deref().unwrap_or("");
    if require_name && name.is_empty() {
        errors.push(FieldError::required(&path.child("name"), ""));
    } else if !name.is_empty() {
        for message in is_dns1123_label(name) {
            errors.push(FieldError::invalid(&path.child("name"), name, &message));
        }
        if !names.insert(name.to_string()) {
            errors.push(FieldError::duplicate(&path.child("name"), name));
        }
    }
    for message in is_valid_port_number(port.port) {
        errors.push(FieldError::invalid(&path.child("port"), port.port, &message));
    }
    match port.protocol.as_deref().unwrap_or("") {
        "" => errors.push(FieldError::required(&path.child("protocol"), "")),
        protocol if !SUPPORTED_PORT_PROTOCOLS.contains(&protocol) => {
            errors.push(FieldError::not_supported(&path.child("protocol"), protocol, SUPPORTED_PORT_PROTOCOLS));
        }
        _ => {}
    }
    let target_port = port.target_port.clone().unwrap_or(IntOrString::Int(0));
    port_number_or_name(&target_port, &path.child("targetPort"), errors);
}

/// A clusterIP is empty, `None`, or an IP address.
fn validate_cluster_ip(spec: &ServiceSpec, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let cluster_ip = spec.cluster_ip.as_deref().unwrap_or("");
    if !cluster_ip.is_empty() && cluster_ip != CLUSTER_IP_NONE && cluster_ip.parse::<IpAddr>().is_err() {
        let message = "must be a valid IP address (e.g. 10.9.8.7 or 2001:db8::ffff)";
        errors.push(FieldError::invalid(&path.child("clusterIP"), cluster_ip, message));
    }
}

/// Node ports: forbidden on ClusterIP services, in range elsewhere, unique per protocol.
fn validate_node_ports(ports: &[ServicePort], service_type: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let mut seen = BTreeSet::new();
    for (index, port) in ports.iter().enumerate() {
        let Some(node_port) = port.node_port.filter(|node_port| *node_port != 0) else { continue };
        let node_port_path = path.child("ports").index(index).child("nodePort");
        match service_type {
            "ClusterIP" => {
                errors.push(FieldError::forbidden(&node_port_path, "may not be used when `type` is 'ClusterIP'"));
            }
            "NodePort" | "LoadBalancer" if !(NODE_PORT_MIN..=NODE_PORT_MAX).contains(&node_port) => {
                let message = format!(
                    "provided port is not in the valid range. The range of valid ports is {NODE_PORT_MIN}-{NODE_PORT_MAX}"
                );
                errors.push(FieldError::invalid(&node_port_path, node_port, &message));
            }
            _ => {}
        }
        if !seen.insert((port.protocol.clone().unwrap_or_default(), node_port)) {
            errors.push(FieldError::duplicate(&node_port_path, node_port));
        }
    }
}

/// Two ports may not share protocol and port number.
fn validate_duplicate_ports(ports: &[ServicePort], path: &FieldPath, errors: &mut Vec<FieldError>) {
    let mut seen = BTreeSet::new();
    for (index, port) in ports.iter().enumerate() {
        let protocol = port.protocol.clone().unwrap_or_default();
        if !seen.insert((protocol.clone(), port.port)) {
            errors.push(FieldError::duplicate(
                &path.child("ports").index(index),
                json!({"port": port.port, "protocol": protocol}),
            ));
        }
    }
}
