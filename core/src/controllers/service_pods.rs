//! What the Endpoints and EndpointSlice controllers read off a Service and its pods
//! (`k8s.io/endpointslice/util` and `pkg/api/v1/pod`): which pods a Service selects, which of
//! them belong in endpoints, their address, hostname and the container port a service port
//! targets.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ContainerPort, ObjectReference, Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::pods::phase;

/// Label Kubernetes puts on the Endpoints and EndpointSlices of a headless Service.
pub const HEADLESS_SERVICE_LABEL: &str = "service.kubernetes.io/headless";

/// Annotation with the time of the newest change the endpoints reflect (RFC 3339).
pub const LAST_CHANGE_TRIGGER_TIME_ANNOTATION: &str = "endpoints.kubernetes.io/last-change-trigger-time";

/// The Service's selector, if it has a non-empty one: Services without a selector have
/// user-managed endpoints.
pub fn service_selector(service: &Service) -> Option<&BTreeMap<String, String>> {
    service.spec.as_ref()?.selector.as_ref().filter(|selector| !selector.is_empty())
}

/// Whether the Service has a cluster IP (`IsServiceIPSet`): not headless, not empty.
pub fn is_service_ip_set(service: &Service) -> bool {
    let cluster_ip = service.spec.as_ref().and_then(|spec| spec.cluster_ip.as_deref()).unwrap_or("");
    !cluster_ip.is_empty() && cluster_ip != "None"
}

/// Whether a Service is of type ExternalName (no endpoints).
pub fn is_external_name(service: &Service) -> bool {
    service.spec.as_ref().and_then(|spec| spec.type_.as_deref()) == Some("ExternalName")
}

/// `spec.publishNotReadyAddresses`.
pub fn publishes_not_ready_addresses(service: &Service) -> bool {
    service.spec.as_ref().and_then(|spec| spec.publish_not_ready_addresses).unwrap_or(false)
}

/// The pods of the Service's namespace its selector matches.
pub fn selected_pods<'a, P: Borrow<Pod>>(service: &Service, pods: &'a [P]) -> Vec<&'a Pod> {
    let Some(selector) = service_selector(service) else { return Vec::new() };
    let namespace = service.metadata.namespace.as_deref();
    let matches = |pod: &&Pod| {
        let labels = pod.metadata.labels.as_ref();
        selector.iter().all(|(key, value)| labels.and_then(|labels| labels.get(key)) == Some(value))
    };
    pods.iter()
        .map(Borrow::borrow)
        .filter(|pod| pod.metadata.namespace.as_deref() == namespace)
        .filter(matches)
        .collect()
}

/// `ShouldPodBeInEndpoints`: not terminal (Succeeded or Failed), has an IP, and is not being
/// deleted unless terminating pods are included.
pub fn should_pod_be_in_endpoints(pod: &Pod, include_terminating: bool) -> bool {
    if matches!(phase(pod), "Succeeded" | "Failed") {
        return false;
    }
    if pod_ips(pod).is_empty() {
        return false;
    }
    include_terminating || pod.metadata.deletion_timestamp.is_none()
}

/// The pod's IPs: `status.podIPs`, or `status.podIP` when the list is empty.
pub fn pod_ips(pod: &Pod) -> Vec<String> {
    let Some(status) = pod.status.as_ref() else { return Vec::new() };
    let listed: Vec<String> =
        status.pod_ips.iter().flatten().map(|pod_ip| pod_ip.ip.clone()).filter(|ip| !ip.is_empty()).collect();
    if !listed.is_empty() {
        return listed;
    }
    status.pod_ip.iter().filter(|ip| !ip.is_empty()).cloned().collect()
}

/// The Service's first IP family (`IPv4` unless it says `IPv6`).
pub fn service_ip_family(service: &Service) -> &str {
    let spec = service.spec.as_ref();
    let family = spec.and_then(|spec| spec.ip_families.as_ref()).and_then(|families| families.first());
    match family {
        Some(family) => family.as_str(),
        None => match spec.and_then(|spec| spec.cluster_ip.as_deref()) {
            Some(ip) if ip.contains(':') => "IPv6",
            _ => "IPv4",
        },
    }
}

/// The pod's first IP of `family` (`podToEndpointAddressForService`).
pub fn pod_ip_of_family(pod: &Pod, family: &str) -> Option<String> {
    pod_ips(pod).into_iter().find(|ip| ip.contains(':') == (family == "IPv6"))
}

/// `ShouldSetHostname`: the pod names a hostname and its subdomain is the Service's name, in
/// the Service's namespace.
pub fn hostname_for(pod: &Pod, service: &Service) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let hostname = spec.hostname.as_deref().filter(|hostname| !hostname.is_empty())?;
    let same_subdomain = spec.subdomain.as_deref() == service.metadata.name.as_deref();
    let same_namespace = pod.metadata.namespace == service.metadata.namespace;
    (same_subdomain && same_namespace).then(|| hostname.to_string())
}

/// A `Pod` reference for `targetRef` (kind, namespace, name, uid).
pub fn pod_reference(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..ObjectReference::default()
    }
}

/// `FindPort`: the container port a service port targets on this pod. A number is taken as it
/// is; a name is looked up among the ports of the containers (and of restartable init
/// containers) with the service port's protocol. `None` if the pod has no such named port.
pub fn find_port(pod: &Pod, service_port: &ServicePort) -> Option<i32> {
    let protocol = service_port.protocol.as_deref().unwrap_or("TCP");
    match service_port.target_port.as_ref() {
        None => Some(service_port.port),
        Some(IntOrString::Int(number)) => Some(*number),
        Some(IntOrString::String(name)) => {
            let spec = pod.spec.as_ref()?;
            let sidecars =
                spec.init_containers.iter().flatten().filter(|c| c.restart_policy.as_deref() == Some("Always"));
            let ports = spec.containers.iter().chain(sidecars).flat_map(|container| container.ports.iter().flatten());
            let is_named = |port: &&ContainerPort| {
                port.name.as_deref() == Some(name.as_str()) && port.protocol.as_deref().unwrap_or("TCP") == protocol
            };
            ports.into_iter().find(is_named).map(|port| port.container_port)
        }
    }
}
