//! networking.k8s.io: Ingresses, IngressClasses and NetworkPolicies
//! (`pkg/apis/networking/validation/validation.go`).

use std::net::IpAddr;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, Ingress, IngressBackend, IngressClass, IngressRule, NetworkPolicy, NetworkPolicyPeer,
    NetworkPolicyPort,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::common::{SUPPORTED_PORT_PROTOCOLS, immutable, is_valid_port_name, is_valid_port_number, to_json};
use super::meta::{name_is_dns_subdomain, name_is_dns1035_label, validate_label_selector};
use super::name_rules::is_dns1123_subdomain;
use super::network::{
    cidr_contains, is_wildcard_dns1123_subdomain, parse_cidr, validate_cidr, validate_domain_prefixed_path,
};
use crate::object::field_error::{FieldError, FieldPath};

/// Path types an Ingress path may have, sorted.
pub const PATH_TYPES: &[&str] = &["Exact", "ImplementationSpecific", "Prefix"];
/// Sequences an Exact or Prefix path may not contain.
pub const INVALID_PATH_SEQUENCES: &[&str] = &["//", "/./", "/../", "%2f", "%2F"];
/// Endings an Exact or Prefix path may not have.
pub const INVALID_PATH_SUFFIXES: &[&str] = &["/..", "/."];
/// The annotation that named an Ingress's class before `ingressClassName`.
pub const INGRESS_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
/// Longest IngressClass controller name.
pub const INGRESS_CLASS_CONTROLLER_MAX_LENGTH: usize = 250;
/// NetworkPolicy policy types, in Kubernetes' order.
pub const POLICY_TYPES: &[&str] = &["Ingress", "Egress"];
/// NetworkPolicy port protocols, in Kubernetes' order.
pub const NETWORK_POLICY_PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];

/// `ValidateIngressCreate` (beyond metadata).
pub fn validate_ingress(ingress: &Ingress) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = FieldPath::new("spec");
    let spec = ingress.spec.clone().unwrap_or_default();
    let rules = spec.rules.clone().unwrap_or_default();
    if rules.is_empty() && spec.default_backend.is_none() {
        let message = "either `defaultBackend` or `rules` must be specified";
        errors.push(FieldError::invalid(&path, to_json(&rules), message));
    }
    if let Some(backend) = &spec.default_backend {
        validate_backend(backend, &path.child("defaultBackend"), &mut errors);
    }
    for (index, rule) in rules.iter().enumerate() {
        validate_rule(rule, &path.child("rules").index(index), &mut errors);
    }
    for (index, tls) in spec.tls.iter().flatten().enumerate() {
        let tls_path = path.child("tls").index(index);
        for host in tls.hosts.iter().flatten() {
            let messages =
                if host.contains('*') { is_wildcard_dns1123_subdomain(host) } else { is_dns1123_subdomain(host) };
            for message in messages {
                errors.push(FieldError::invalid(&tls_path.child("hosts"), host.as_str(), &message));
            }
        }
        if let Some(secret) = tls.secret_name.as_deref().filter(|name| !name.is_empty()) {
            for message in name_is_dns_subdomain(secret, false) {
                errors.push(FieldError::invalid(&tls_path.child("secretName"), secret, &message));
            }
        }
    }
    if let Some(class) = &spec.ingress_class_name {
        for message in name_is_dns_subdomain(class, false) {
            errors.push(FieldError::invalid(&path.child("ingressClassName"), class.as_str(), &message));
        }
    }
    let annotation =
        ingress.metadata.annotations.as_ref().and_then(|annotations| annotations.get(INGRESS_CLASS_ANNOTATION));
    if let (Some(annotation), Some(class)) = (annotation, &spec.ingress_class_name)
        && annotation != class
    {
        let annotation_path = FieldPath::new("annotations").child(INGRESS_CLASS_ANNOTATION);
        let message = "must match `ingressClassName` when both are specified";
        errors.push(FieldError::invalid(&annotation_path, annotation.as_str(), message));
    }
    errors
}

/// `validateIngressRules` for one rule: a DNS (or wildcard) host that is not an IP, and its paths.
fn validate_rule(rule: &IngressRule, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let host = rule.host.as_deref().unwrap_or("");
    if !host.is_empty() {
        let host_path = path.child("host");
        if host.parse::<IpAddr>().is_ok() {
            errors.push(FieldError::invalid(&host_path, host, "must be a DNS name, not an IP address"));
        }
        let messages =
            if host.contains('*') { is_wildcard_dns1123_subdomain(host) } else { is_dns1123_subdomain(host) };
        for message in messages {
            errors.push(FieldError::invalid(&host_path, host, &message));
        }
    }
    if let Some(http) = &rule.http {
        let paths_path = path.child("http").child("paths");
        if http.paths.is_empty() {
            errors.push(FieldError::required(&paths_path, ""));
        }
        for (index, http_path) in http.paths.iter().enumerate() {
            validate_http_path(http_path, &paths_path.index(index), errors);
        }
    }
}

/// `validateHTTPIngressPath`: a known pathType; Exact and Prefix paths absolute and clean.
fn validate_http_path(http_path: &HTTPIngressPath, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let text = http_path.path.as_deref().unwrap_or("");
    let text_path = path.child("path");
    match http_path.path_type.as_str() {
        "" => {
            errors.push(FieldError::required(&path.child("pathType"), "pathType must be specified"));
            return;
        }
        "Exact" | "Prefix" => {
            if !text.starts_with('/') {
                errors.push(FieldError::invalid(&text_path, text, "must be an absolute path"));
            }
            for sequence in INVALID_PATH_SEQUENCES.iter().filter(|sequence| text.contains(**sequence)) {
                errors.push(FieldError::invalid(&text_path, text, &format!("must not contain '{sequence}'")));
            }
            for suffix in INVALID_PATH_SUFFIXES.iter().filter(|suffix| text.ends_with(**suffix)) {
                errors.push(FieldError::invalid(&text_path, text, &format!("cannot end with '{suffix}'")));
            }
        }
        "ImplementationSpecific" => {
            if !text.is_empty() && !text.starts_with('/') {
                errors.push(FieldError::invalid(&text_path, text, "must be an absolute path"));
            }
        }
        other => errors.push(FieldError::not_supported(&path.child("pathType"), other, PATH_TYPES)),
    }
    validate_backend(&http_path.backend, &path.child("backend"), errors);
}

/// `validateIngressBackend`: a service or a resource, not both; a service names a DNS-1035
/// label and exactly one of port name and port number.
fn validate_backend(backend: &IngressBackend, path: &FieldPath, errors: &mut Vec<FieldError>) {
    match (&backend.resource, &backend.service) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::invalid(path, "", "cannot set both resource and service backends"))
        }
        (Some(resource), None) => {
            if resource.kind.is_empty() {
                errors.push(FieldError::required(&path.child("resource").child("kind"), ""));
            }
            if resource.name.is_empty() {
                errors.push(FieldError::required(&path.child("resource").child("name"), ""));
            }
        }
        (None, Some(service)) => {
            let name_path = path.child("service").child("name");
            if service.name.is_empty() {
                errors.push(FieldError::required(&name_path, ""));
            } else {
                for message in name_is_dns1035_label(&service.name, false) {
                    errors.push(FieldError::invalid(&name_path, service.name.as_str(), &message));
                }
            }
            let port = service.port.clone().unwrap_or_default();
            let port_name = port.name.unwrap_or_default();
            let port_number = port.number.unwrap_or(0);
            let port_path = path.child("service").child("port");
            match (port_name.is_empty(), port_number == 0) {
                (false, false) => errors.push(FieldError::invalid(path, "", "cannot set both port name & port number")),
                (false, true) => {
                    for message in is_valid_port_name(&port_name) {
                        errors.push(FieldError::invalid(&port_path.child("name"), port_name.as_str(), &message));
                    }
                }
                (true, false) => {
                    for message in is_valid_port_number(port_number) {
                        errors.push(FieldError::invalid(&port_path.child("number"), port_number, &message));
                    }
                }
                (true, true) => errors.push(FieldError::required(path, "port name or number is required")),
            }
        }
        (None, None) => errors.push(FieldError::invalid(path, "", "resource or service backend is required")),
    }
}

/// `ValidateIngressClass` (beyond metadata): a domain-prefixed controller name.
pub fn validate_ingress_class(class: &IngressClass) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let controller = class.spec.as_ref().and_then(|spec| spec.controller.clone()).unwrap_or_default();
    let path = FieldPath::new("spec").child("controller");
    if controller.len() > INGRESS_CLASS_CONTROLLER_MAX_LENGTH {
        errors.push(FieldError::too_long(&path, INGRESS_CLASS_CONTROLLER_MAX_LENGTH));
    }
    validate_domain_prefixed_path(&controller, &path, &mut errors);
    errors
}

/// `ValidateIngressClassUpdate`: the controller is fixed.
pub fn validate_ingress_class_update(new: &IngressClass, old: &IngressClass) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let controller = |class: &IngressClass| class.spec.as_ref().and_then(|spec| spec.controller.clone());
    immutable(&controller(new), &controller(old), &FieldPath::new("spec").child("controller"), &mut errors);
    errors
}

/// `ValidateNetworkPolicySpec`.
pub fn validate_network_policy(policy: &NetworkPolicy) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = FieldPath::new("spec");
    let spec = policy.spec.clone().unwrap_or_default();
    validate_label_selector(&spec.pod_selector.clone().unwrap_or_default(), &path.child("podSelector"), &mut errors);
    for (index, rule) in spec.ingress.iter().flatten().enumerate() {
        let rule_path = path.child("ingress").index(index);
        validate_rule_parts(rule.ports.as_deref(), rule.from.as_deref(), &rule_path, "from", &mut errors);
    }
    for (index, rule) in spec.egress.iter().flatten().enumerate() {
        let rule_path = path.child("egress").index(index);
        validate_rule_parts(rule.ports.as_deref(), rule.to.as_deref(), &rule_path, "to", &mut errors);
    }
    let types = spec.policy_types.clone().unwrap_or_default();
    let types_path = path.child("policyTypes");
    if types.len() > POLICY_TYPES.len() {
        errors.push(FieldError::invalid(&types_path, to_json(&types), "may not specify more than two policyTypes"));
        return errors;
    }
    for (index, policy_type) in types.iter().enumerate() {
        if !POLICY_TYPES.contains(&policy_type.as_str()) {
            errors.push(FieldError::not_supported(&types_path.index(index), policy_type.as_str(), POLICY_TYPES));
        }
    }
    errors
}

fn validate_rule_parts(
    ports: Option<&[NetworkPolicyPort]>,
    peers: Option<&[NetworkPolicyPeer]>,
    path: &FieldPath,
    peers_field: &str,
    errors: &mut Vec<FieldError>,
) {
    for (index, port) in ports.unwrap_or_default().iter().enumerate() {
        validate_network_policy_port(port, &path.child("ports").index(index), errors);
    }
    for (index, peer) in peers.unwrap_or_default().iter().enumerate() {
        validate_network_policy_peer(peer, &path.child(peers_field).index(index), errors);
    }
}

/// `ValidateNetworkPolicyPort`: a known protocol; a numeric port in range with endPort no lower;
/// a named port without endPort.
fn validate_network_policy_port(port: &NetworkPolicyPort, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if let Some(protocol) = port.protocol.as_deref().filter(|protocol| !SUPPORTED_PORT_PROTOCOLS.contains(protocol)) {
        errors.push(FieldError::not_supported(&path.child("protocol"), protocol, NETWORK_POLICY_PROTOCOLS));
    }
    let end_path = path.child("endPort");
    match &port.port {
        Some(IntOrString::Int(number)) => {
            for message in is_valid_port_number(*number) {
                errors.push(FieldError::invalid(&path.child("port"), *number, &message));
            }
            if let Some(end_port) = port.end_port {
                if end_port < *number {
                    // Kubernetes shows the port, not the endPort, as the bad value.
                    errors.push(FieldError::invalid(&end_path, *number, "must be greater than or equal to `port`"));
                }
                for message in is_valid_port_number(end_port) {
                    errors.push(FieldError::invalid(&end_path, end_port, &message));
                }
            }
        }
        Some(IntOrString::String(name)) => {
            if let Some(end_port) = port.end_port {
                errors.push(FieldError::invalid(
                    &end_path,
                    end_port,
                    "may not be specified when `port` is non-numeric",
                ));
            }
            for message in is_valid_port_name(name) {
                errors.push(FieldError::invalid(&path.child("port"), name.as_str(), &message));
            }
        }
        None => {
            if let Some(end_port) = port.end_port {
                errors.push(FieldError::invalid(
                    &end_path,
                    end_port,
                    "may not be specified when `port` is not specified",
                ));
            }
        }
    }
}

/// `ValidateNetworkPolicyPeer`: at least one selector or an ipBlock, and an ipBlock alone.
fn validate_network_policy_peer(peer: &NetworkPolicyPeer, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let mut peers = 0;
    if let Some(selector) = &peer.pod_selector {
        peers += 1;
        validate_label_selector(selector, &path.child("podSelector"), errors);
    }
    if let Some(selector) = &peer.namespace_selector {
        peers += 1;
        validate_label_selector(selector, &path.child("namespaceSelector"), errors);
    }
    if let Some(block) = &peer.ip_block {
        peers += 1;
        let block_path = path.child("ipBlock");
        if block.cidr.is_empty() {
            errors.push(FieldError::required(&block_path.child("cidr"), ""));
        } else {
            validate_cidr(&block.cidr, &block_path.child("cidr"), errors);
            if let Some((network, prefix)) = parse_cidr(&block.cidr) {
                validate_except(block.except.as_deref().unwrap_or_default(), network, prefix, &block_path, errors);
            }
        }
    }
    if peers == 0 {
        errors.push(FieldError::required(path, "must specify a peer"));
    } else if peers > 1 && peer.ip_block.is_some() {
        errors.push(FieldError::forbidden(path, "may not specify both ipBlock and another peer"));
    }
}

/// Each `except` CIDR is a strict subset of the block's `cidr`.
fn validate_except(except: &[String], network: IpAddr, prefix: u8, path: &FieldPath, errors: &mut Vec<FieldError>) {
    for (index, text) in except.iter().enumerate() {
        let except_path = path.child("except").index(index);
        validate_cidr(text, &except_path, errors);
        let Some((address, except_prefix)) = parse_cidr(text) else { continue };
        if !cidr_contains(network, prefix, address) || prefix >= except_prefix {
            errors.push(FieldError::invalid(&except_path, text.as_str(), "must be a strict subset of `cidr`"));
        }
    }
}
