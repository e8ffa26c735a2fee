//! Defaults of Services and Endpoints (`SetDefaults_Service`, `SetDefaults_EndpointPort` in
//! `pkg/apis/core/v1/defaults.go`), plus the IP family fields the Service registry fills in for a
//! single-stack IPv4 cluster.

use k8s_openapi::api::core::v1::{Endpoints, Service, ServiceSpec, SessionAffinityConfig};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::pod::PROTOCOL;
use super::{set_if_empty, set_if_none};

/// Session affinity of a Service that does not name one.
pub const SESSION_AFFINITY: &str = "None";
/// How long a ClientIP session sticks, in seconds (3 hours).
pub const CLIENT_IP_AFFINITY_TIMEOUT_SECONDS: i32 = 10800;
/// The type of a Service that does not name one.
pub const SERVICE_TYPE: &str = "ClusterIP";
/// Traffic policy for traffic from outside the cluster, on externally reachable Services.
pub const EXTERNAL_TRAFFIC_POLICY: &str = "Cluster";
/// Traffic policy for traffic from inside the cluster.
pub const INTERNAL_TRAFFIC_POLICY: &str = "Cluster";
/// Whether a LoadBalancer Service gets node ports.
pub const ALLOCATE_LOAD_BALANCER_NODE_PORTS: bool = true;
/// The IP family policy of a Service that does not name one.
pub const IP_FAMILY_POLICY: &str = "SingleStack";
/// The IP family policy of a headless Service without selector.
pub const HEADLESS_SELECTORLESS_IP_FAMILY_POLICY: &str = "RequireDualStack";
/// The cluster's IP families: coxswain runs single-stack IPv4.
pub const CLUSTER_IP_FAMILIES: &[&str] = &["IPv4"];
/// The clusterIP value that makes a Service headless.
pub const CLUSTER_IP_NONE: &str = "None";

/// `SetDefaults_Service`, then the registry's IP family defaults.
pub fn default_service(service: &mut Service) {
    let spec = service.spec.get_or_insert_with(ServiceSpec::default);
    set_if_empty(&mut spec.session_affinity, SESSION_AFFINITY);
    match spec.session_affinity.as_deref() {
        Some("None") => spec.session_affinity_config = None,
        Some("ClientIP") => {
            let config = spec.session_affinity_config.get_or_insert_with(SessionAffinityConfig::default);
            let client_ip = config.client_ip.get_or_insert_with(Default::default);
            set_if_none(&mut client_ip.timeout_seconds, CLIENT_IP_AFFINITY_TIMEOUT_SECONDS);
        }
        _ => {}
    }
    set_if_empty(&mut spec.type_, SERVICE_TYPE);
    for port in spec.ports.iter_mut().flatten() {
        set_if_empty(&mut port.protocol, PROTOCOL);
        let unset = match &port.target_port {
            None => true,
            Some(IntOrString::Int(number)) => *number == 0,
            Some(IntOrString::String(name)) => name.is_empty(),
        };
        if unset {
            port.target_port = Some(IntOrString::Int(port.port));
        }
    }
    let service_type = spec.type_.as_deref().unwrap_or(SERVICE_TYPE);
    let externally_accessible = matches!(service_type, "LoadBalancer" | "NodePort")
        || (service_type == "ClusterIP" && spec.external_ips.as_ref().is_some_and(|ips| !ips.is_empty()));
    if externally_accessible {
        set_if_empty(&mut spec.external_traffic_policy, EXTERNAL_TRAFFIC_POLICY);
    }
    if matches!(service_type, "NodePort" | "LoadBalancer" | "ClusterIP") {
        set_if_none(&mut spec.internal_traffic_policy, INTERNAL_TRAFFIC_POLICY.to_string());
    }
    if service_type == "LoadBalancer" {
        set_if_none(&mut spec.allocate_load_balancer_node_ports, ALLOCATE_LOAD_BALANCER_NODE_PORTS);
    }
    default_ip_families(spec);
}

/// The registry's `initIPFamilyFields` for a single-stack IPv4 cluster: ExternalName Services have
/// no IP families; headless Services without selector require dual stack (and get every cluster
/// family); all others are single-stack on the cluster's primary family.
fn default_ip_families(spec: &mut ServiceSpec) {
    if spec.type_.as_deref() == Some("ExternalName") {
        return;
    }
    let headless = spec.cluster_ip.as_deref() == Some(CLUSTER_IP_NONE);
    let selectorless = spec.selector.as_ref().is_none_or(|selector| selector.is_empty());
    let policy = if headless && selectorless { HEADLESS_SELECTORLESS_IP_FAMILY_POLICY } else { IP_FAMILY_POLICY };
    set_if_none(&mut spec.ip_family_policy, policy.to_string());
    if spec.ip_families.as_ref().is_none_or(|families| families.is_empty()) {
        spec.ip_families = Some(CLUSTER_IP_FAMILIES.iter().map(|family| family.to_string()).collect());
    }
}

/// `SetDefaults_EndpointPort`: every port's protocol is TCP unless named.
pub fn default_endpoints(endpoints: &mut Endpoints) {
    for subset in endpoints.subsets.iter_mut().flatten() {
        for port in subset.ports.iter_mut().flatten() {
            set_if_empty(&mut port.protocol, PROTOCOL);
        }
    }
}
