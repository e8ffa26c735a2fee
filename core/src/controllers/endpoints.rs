//! The Endpoints controller (`pkg/controller/endpoint`): for each Service with a selector, one
//! Endpoints object of the same name listing the addresses of the pods it selects, ready ones
//! under `addresses` and the others under `notReadyAddresses`, per service port resolved on each
//! pod, repacked into the fewest subsets.
//!
//! Differences from Kubernetes, deliberate: subsets and ports are sorted by value (Kubernetes
//! sorts them by a hash), the `last-change-trigger-time` annotation is the newest Ready
//! transition (or Service creation) among what the Endpoints reflect rather than an in-memory
//! tracker's, and truncated Endpoints (over 1,000 addresses, [`capacity`]) are compared after
//! truncation, so an over-capacity Service is not rewritten on every sync.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Preconditions};
use k8s_openapi::jiff::Timestamp;

pub use capacity::{MAX_CAPACITY, OVER_CAPACITY_ANNOTATION, TRUNCATED};

use super::action::{Action, Reconciled, to_object};
use super::pods::is_pod_ready;
use super::service_pods::{
    HEADLESS_SERVICE_LABEL, LAST_CHANGE_TRIGGER_TIME_ANNOTATION, find_port, hostname_for, is_external_name,
    is_service_ip_set, pod_ip_of_family, pod_reference, publishes_not_ready_addresses, selected_pods,
    service_ip_family, service_selector,
};
use crate::object::kinds::GroupResource;

const ENDPOINTS: GroupResource = GroupResource { group: "", resource: "endpoints" };

/// An address's identity when repacking: its IP and the uid of the pod behind it.
type AddressKey = (String, String);

fn address_key(address: &EndpointAddress) -> AddressKey {
    let uid = address.target_ref.as_ref().and_then(|target| target.uid.clone()).unwrap_or_default();
    (address.ip.clone(), uid)
}

/// A port's identity, ordered by name, number and protocol.
type PortKey = (String, i32, String, Option<String>);

fn port_key(port: &EndpointPort) -> PortKey {
    (
        port.name.clone().unwrap_or_default(),
        port.port,
        port.protocol.clone().unwrap_or_default(),
        port.app_protocol.clone(),
    )
}

fn port_of(key: &PortKey) -> EndpointPort {
    EndpointPort {
        name: (!key.0.is_empty()).then(|| key.0.clone()),
        port: key.1,
        protocol: (!key.2.is_empty()).then(|| key.2.clone()),
        app_protocol: key.3.clone(),
    }
}

/// `RepackSubsets`: each port maps to the addresses offering it (not-ready wins over ready for
/// an address listed both ways), and ports offered by the same addresses share a subset. The
/// sentinel port `None` keeps port-less addresses of headless Services.
pub fn repack_subsets(subsets: &[EndpointSubset]) -> Vec<EndpointSubset> {
    let mut addresses: BTreeMap<AddressKey, EndpointAddress> = BTreeMap::new();
    let mut by_port: BTreeMap<Option<PortKey>, BTreeMap<AddressKey, bool>> = BTreeMap::new();
    for subset in subsets {
        let ports: Vec<Option<PortKey>> = match subset.ports.as_deref() {
            None | Some([]) => vec![None],
            Some(ports) => ports.iter().map(|port| Some(port_key(port))).collect(),
        };
        let listed = subset.addresses.iter().flatten().map(|address| (address, true));
        let not_ready = subset.not_ready_addresses.iter().flatten().map(|address| (address, false));
        for (address, ready) in listed.chain(not_ready) {
            let key = address_key(address);
            addresses.entry(key.clone()).or_insert_with(|| address.clone());
            for port in &ports {
                let state = by_port.entry(port.clone()).or_default().entry(key.clone()).or_insert(ready);
                *state = *state && ready;
            }
        }
    }
    let mut by_addresses: BTreeMap<Vec<(AddressKey, bool)>, BTreeSet<PortKey>> = BTreeMap::new();
    for (port, states) in by_port {
        let ports = by_addresses.entry(states.into_iter().collect()).or_default();
        ports.extend(port);
    }
    by_addresses
        .into_iter()
        .map(|(states, ports)| {
            let pick = |ready: bool| -> Option<Vec<EndpointAddress>> {
                let list: Vec<EndpointAddress> =
                    states.iter().filter(|(_, state)| *state == ready).map(|(key, _)| addresses[key].clone()).collect();
                (!list.is_empty()).then_some(list)
            };
            let ports: Vec<EndpointPort> = ports.iter().map(port_of).collect();
            EndpointSubset {
                addresses: pick(true),
                not_ready_addresses: pick(false),
                ports: (!ports.is_empty()).then_some(ports),
            }
        })
        .collect()
}

/// The subsets a Service's selected pods make (`syncService`'s pod loop, then repacked).
pub fn desired_subsets(service: &Service, pods: &[&Pod]) -> Vec<EndpointSubset> {
    let publish_not_ready = publishes_not_ready_addresses(service);
    let family = service_ip_family(service);
    let spec = service.spec.clone().unwrap_or_default();
    let service_ports = spec.ports.unwrap_or_default();
    let headless = spec.cluster_ip.as_deref() == Some("None");
    let mut subsets = Vec::new();
    for pod in pods.iter().filter(|pod| super::service_pods::should_pod_be_in_endpoints(pod, publish_not_ready)) {
        let Some(ip) = pod_ip_of_family(pod, family) else { continue };
        let address = EndpointAddress {
            ip,
            hostname: hostname_for(pod, service),
            node_name: Some(pod.spec.as_ref().and_then(|spec| spec.node_name.clone()).unwrap_or_default()),
            target_ref: Some(pod_reference(pod)),
        };
        let ready = publish_not_ready || is_pod_ready(pod);
        let subset = |ports: Option<Vec<EndpointPort>>| {
            let (addresses, not_ready) =
                if ready { (Some(vec![address.clone()]), None) } else { (None, Some(vec![address.clone()])) };
            EndpointSubset { addresses, not_ready_addresses: not_ready, ports }
        };
        if service_ports.is_empty() {
            if headless {
                subsets.push(subset(None));
            }
            continue;
        }
        for service_port in &service_ports {
            let Some(number) = find_port(pod, service_port) else { continue };
            let port = EndpointPort {
                name: service_port.name.clone(),
                port: number,
                protocol: service_port.protocol.clone(),
                app_protocol: service_port.app_protocol.clone(),
            };
            subsets.push(subset(Some(vec![port])));
        }
    }
    repack_subsets(&subsets)
}

/// The labels Endpoints carry: the Service's, plus the headless label without a cluster IP.
fn desired_labels(service: &Service) -> BTreeMap<String, String> {
    let mut labels = service.metadata.labels.clone().unwrap_or_default();
    labels.remove(HEADLESS_SERVICE_LABEL);
    if !is_service_ip_set(service) {
        labels.insert(HEADLESS_SERVICE_LABEL.to_string(), String::new());
    }
    labels
}

/// Clears what the comparison ignores: targetRef resourceVersions.
fn comparable(subsets: &[EndpointSubset]) -> Vec<EndpointSubset> {
    let mut subsets = repack_subsets(subsets);
    for subset in &mut subsets {
        let all = subset.addresses.iter_mut().flatten().chain(subset.not_ready_addresses.iter_mut().flatten());
        for address in all {
            if let Some(target) = address.target_ref.as_mut() {
                target.resource_version = None;
            }
        }
    }
    subsets
}

/// The newest change the endpoints reflect: the Service's creation or a selected pod's Ready
/// transition.
fn trigger_time(service: &Service, pods: &[&Pod]) -> Option<Timestamp> {
    let created = service.metadata.creation_timestamp.as_ref().map(|time| time.0);
    let transitions = pods.iter().filter_map(|pod| {
        let conditions = pod.status.as_ref()?.conditions.as_ref()?;
        conditions.iter().find(|condition| condition.type_ == "Ready")?.last_transition_time.as_ref().map(|time| time.0)
    });
    created.into_iter().chain(transitions).max()
}

/// Reconciles the Endpoints `namespace/name` (`syncService`): deletes them once the Service is
/// gone, leaves them alone for a Service without selector (user-managed) or of type
/// ExternalName, and otherwise creates or updates them to list the selected pods' addresses.
/// `pods` may hold pods of any namespace.
pub fn reconcile_endpoints(
    namespace: &str,
    name: &str,
    service: Option<&Service>,
    endpoints: Option<&Endpoints>,
    pods: &[impl Borrow<Pod>],
) -> Reconciled {
    let mut reconciled = Reconciled::default();
    let Some(service) = service else {
        if endpoints.is_some() {
            reconciled.push_alone(Action::Delete {
                resource: ENDPOINTS,
                namespace: namespace.to_string(),
                name: name.to_string(),
                preconditions: Preconditions::default(),
                propagation_policy: None,
            });
        }
        return reconciled;
    };
    if service_selector(service).is_none() || is_external_name(service) {
        return reconciled;
    }
    let selected = selected_pods(service, pods);
    let mut subsets = desired_subsets(service, &selected);
    let truncated = capacity::truncate(&mut subsets);
    let labels = desired_labels(service);
    if let Some(current) = endpoints {
        let marked = current.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(OVER_CAPACITY_ANNOTATION));
        let mut current_labels = current.metadata.labels.clone().unwrap_or_default();
        current_labels.remove(HEADLESS_SERVICE_LABEL);
        let mut wanted_labels = labels.clone();
        wanted_labels.remove(HEADLESS_SERVICE_LABEL);
        let current_subsets = comparable(current.subsets.as_deref().unwrap_or_default());
        if current_subsets == subsets && current_labels == wanted_labels && marked == truncated {
            return reconciled;
        }
    }
    let mut updated = endpoints.cloned().unwrap_or_else(|| Endpoints {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            ..ObjectMeta::default()
        },
        ..Endpoints::default()
    });
    updated.subsets = (!subsets.is_empty()).then_some(subsets);
    updated.metadata.labels = Some(labels);
    let annotations = updated.metadata.annotations.get_or_insert_with(BTreeMap::new);
    match trigger_time(service, &selected) {
        Some(time) => annotations.insert(LAST_CHANGE_TRIGGER_TIME_ANNOTATION.to_string(), time.to_string()),
        None => annotations.remove(LAST_CHANGE_TRIGGER_TIME_ANNOTATION),
    };
    if truncated {
        annotations.insert(OVER_CAPACITY_ANNOTATION.to_string(), TRUNCATED.to_string());
    } else {
        annotations.remove(OVER_CAPACITY_ANNOTATION);
    }
    if annotations.is_empty() {
        updated.metadata.annotations = None;
    }
    let object = to_object(&updated);
    reconciled.push_alone(match endpoints {
        None => Action::Create { object, on_created: None },
        Some(_) => Action::Update { object },
    });
    reconciled
}

pub mod capacity;
#[cfg(test)]
mod tests;
