//! The EndpointSlice controller (`pkg/controller/endpointslice` and the reconciler in
//! `k8s.io/endpointslice`): for each Service with a selector, EndpointSlices of at most
//! [`MAX_ENDPOINTS_PER_SLICE`] endpoints listing the pods it selects, one group of slices per set
//! of ports the pods offer, owned by the Service (the garbage collector removes them with it).
//!
//! The reconciler keeps endpoints in the slice they are in, drops stale ones, fills slices that
//! are being updated anyway before touching unchanged ones, turns a create plus a delete into an
//! update, and keeps one empty placeholder slice for a Service without endpoints, as Kubernetes.
//! Differences, deliberate: endpoints are keyed by address and pod name (Kubernetes hashes the
//! whole endpoint), slice contents are sorted, and no trigger-time annotation is written.

mod desired;
#[cfg(test)]
mod tests;
mod tracker;

use std::borrow::Borrow;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Preconditions};

pub use desired::{EndpointKey, PortSet, PortsKey, TOPOLOGY_ZONE_LABEL, desired_port_sets, endpoint_key, ports_key};
pub use tracker::{EndpointSliceTracker, service_key_of};

use super::action::{Action, Reconciled, to_object};
use super::lookup::ByName;
use super::owner::{controller_ref, is_controlled_by};
use super::service_pods::{
    HEADLESS_SERVICE_LABEL, is_external_name, is_service_ip_set, selected_pods, service_selector,
};
use crate::object::kinds::GroupResource;

/// Most endpoints in one slice: 100, the controller's `--max-endpoints-per-slice` default.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
/// The label naming the Service a slice belongs to.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// The label naming the controller that manages a slice.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// This controller's value of [`MANAGED_BY_LABEL`].
pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";

const ENDPOINT_SLICES: GroupResource = GroupResource { group: "discovery.k8s.io", resource: "endpointslices" };

/// The slices this controller manages for a Service (`kubernetes.io/service-name` and
/// managed-by labels in its namespace).
pub fn managed_slices<'a>(service: &Service, slices: &'a [EndpointSlice]) -> Vec<&'a EndpointSlice> {
    let name = service.metadata.name.as_deref().unwrap_or("");
    let mut managed: Vec<&EndpointSlice> = slices
        .iter()
        .filter(|slice| slice.metadata.namespace == service.metadata.namespace)
        .filter(|slice| {
            let labels = slice.metadata.labels.as_ref();
            let label = |key: &str| labels.and_then(|labels| labels.get(key)).map(String::as_str);
            label(SERVICE_NAME_LABEL) == Some(name) && label(MANAGED_BY_LABEL) == Some(CONTROLLER_NAME)
        })
        .collect();
    managed.sort_by(|left, right| left.metadata.name.cmp(&right.metadata.name));
    managed
}

/// The labels of a Service's slices (`setEndpointSliceLabels`): the Service's own, minus the
/// reserved ones, plus service name, manager and, without a cluster IP, the headless label.
fn slice_labels(service: &Service) -> BTreeMap<String, String> {
    let mut labels = service.metadata.labels.clone().unwrap_or_default();
    labels.remove(HEADLESS_SERVICE_LABEL);
    labels.insert(SERVICE_NAME_LABEL.into(), service.metadata.name.clone().unwrap_or_default());
    labels.insert(MANAGED_BY_LABEL.into(), CONTROLLER_NAME.into());
    if !is_service_ip_set(service) {
        labels.insert(HEADLESS_SERVICE_LABEL.into(), String::new());
    }
    labels
}

/// A new slice for the Service (`newEndpointSlice`): named by the API server from
/// `<service>-`, controlled by the Service.
fn new_slice(service: &Service, set: &PortSet, family: &str) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", service.metadata.name.as_deref().unwrap_or(""))),
            namespace: service.metadata.namespace.clone(),
            labels: Some(slice_labels(service)),
            owner_references: Some(vec![controller_ref("v1", "Service", &service.metadata)]),
            ..ObjectMeta::default()
        },
        address_type: family.to_string(),
        endpoints: set.endpoints.values().cloned().collect(),
        ports: Some(set.ports.clone()),
    }
}

/// What the reconcile decided for one existing slice.
struct Kept<'a> {
    slice: &'a EndpointSlice,
    endpoints: Vec<Endpoint>,
    changed: bool,
}

fn sort_endpoints(endpoints: &mut [Endpoint]) {
    endpoints.sort_by_key(endpoint_key);
}

/// Reconciles a Service's EndpointSlices (`syncService` then `reconcile`). `slices` may hold any
/// slices; only those managed for this Service count. A Service without selector or of type
/// ExternalName is left alone; a deleted Service's slices go with it through ownerReferences.
///
/// Each address type the Service asks for ([`address_types_for_service`]) is reconciled on its
/// own, with the pods' IPs of that family (`reconcileByAddressType`), so a dual-stack Service
/// gets IPv4 and IPv6 slices (and a placeholder for a family no pod has an address of); slices
/// of an address type the Service no longer has are deleted last.
pub fn reconcile_endpoint_slices(
    service: &Service,
    pods: &[impl Borrow<Pod>],
    nodes: &(impl ByName<Node> + ?Sized),
    slices: &[EndpointSlice],
) -> Reconciled {
    let mut reconciled = Reconciled::default();
    if service_selector(service).is_none() || is_external_name(service) {
        return reconciled;
    }
    let address_types = address_types_for_service(service);
    let selected = selected_pods(service, pods);
    let managed = managed_slices(service, slices);
    for family in &address_types {
        let existing: Vec<&EndpointSlice> =
            managed.iter().copied().filter(|slice| slice.address_type == *family).collect();
        reconcile_by_address_type(service, &selected, nodes, &existing, family, &mut reconciled);
    }
    let unsupported = managed.into_iter().filter(|slice| !address_types.contains(&slice.address_type.as_str()));
    for slice in unsupported {
        reconciled.push_alone(delete_slice(slice));
    }
    reconciled
}

/// `getAddressTypesForService`: the address types of `spec.ipFamilies`, in family order; for
/// a Service not yet defaulted, the family of its cluster IP, or both for a headless one.
pub fn address_types_for_service(service: &Service) -> Vec<&'static str> {
    let spec = service.spec.as_ref();
    let families = spec.and_then(|spec| spec.ip_families.as_deref()).unwrap_or_default();
    let mut types: Vec<&'static str> = ["IPv4", "IPv6"]
        .into_iter()
        .filter(|address_type| families.iter().any(|family| family == address_type))
        .collect();
    if !types.is_empty() {
        return types;
    }
    match spec.and_then(|spec| spec.cluster_ip.as_deref()).filter(|ip| !ip.is_empty() && *ip != "None") {
        Some(ip) => types.push(if ip.contains(':') { "IPv6" } else { "IPv4" }),
        None => types.extend(["IPv4", "IPv6"]),
    }
    types
}

/// `reconcileByAddressType`: the slices of one address type for the pods' addresses of that
/// family: creates, then updates, then deletes.
fn reconcile_by_address_type(
    service: &Service,
    selected: &[&Pod],
    nodes: &(impl ByName<Node> + ?Sized),
    existing: &[&EndpointSlice],
    family: &str,
    reconciled: &mut Reconciled,
) {
    let mut desired = desired_port_sets(service, selected, nodes, family);
    let labels = slice_labels(service);
    let service_uid = service.metadata.uid.as_deref().unwrap_or("");
    let (mut kept, mut to_delete) = (Vec::new(), Vec::new());
    for slice in existing.iter().copied() {
        let owned = is_controlled_by(&slice.metadata, service_uid);
        let Some(set) = desired.get_mut(&ports_key(slice.ports.as_deref().unwrap_or_default())) else {
            to_delete.push(slice);
            continue;
        };
        let mut endpoints = Vec::new();
        let mut changed = !owned || slice.metadata.labels.as_ref() != Some(&labels);
        for endpoint in &slice.endpoints {
            match set.endpoints.remove(&endpoint_key(endpoint)) {
                Some(wanted) => {
                    changed |= &wanted != endpoint;
                    endpoints.push(wanted);
                }
                None => changed = true,
            }
        }
        if endpoints.is_empty() && !slice.endpoints.is_empty() {
            to_delete.push(slice);
        } else {
            kept.push(Kept { slice, endpoints, changed });
        }
    }
    let mut to_create = Vec::new();
    for set in desired.values_mut().filter(|set| !set.endpoints.is_empty()) {
        place_new_endpoints(set, &mut kept, &mut to_create, service, family);
    }
    let has_endpoint_slices = kept.iter().any(|kept| !kept.endpoints.is_empty()) || !to_create.is_empty();
    if !has_endpoint_slices {
        keep_one_placeholder(service, family, &mut kept, &mut to_delete, &mut to_create);
    }
    finish(service, &labels, kept, to_delete, to_create, reconciled);
}

/// Puts the endpoints still missing for one port set into slices: first the slices of that set
/// being updated anyway, then (for a last part smaller than a slice) an unchanged slice with
/// room, then new slices.
fn place_new_endpoints(
    set: &mut PortSet,
    kept: &mut [Kept<'_>],
    to_create: &mut Vec<EndpointSlice>,
    service: &Service,
    family: &str,
) {
    let key = ports_key(&set.ports);
    let mut missing: Vec<Endpoint> = std::mem::take(&mut set.endpoints).into_values().collect();
    let same_ports = |kept: &Kept<'_>| ports_key(kept.slice.ports.as_deref().unwrap_or_default()) == key;
    let mut updating: Vec<&mut Kept<'_>> = kept.iter_mut().filter(|kept| kept.changed && same_ports(kept)).collect();
    updating.sort_by_key(|kept| std::cmp::Reverse(kept.endpoints.len()));
    for slice in updating {
        let room = MAX_ENDPOINTS_PER_SLICE.saturating_sub(slice.endpoints.len()).min(missing.len());
        slice.endpoints.extend(missing.drain(..room));
    }
    if missing.is_empty() {
        return;
    }
    let whole = missing.len() / MAX_ENDPOINTS_PER_SLICE * MAX_ENDPOINTS_PER_SLICE;
    let last: Vec<Endpoint> = missing.split_off(whole);
    for chunk in missing.chunks(MAX_ENDPOINTS_PER_SLICE) {
        let chunk_set = PortSet {
            ports: set.ports.clone(),
            endpoints: chunk.iter().map(|e| (endpoint_key(e), e.clone())).collect(),
        };
        to_create.push(new_slice(service, &chunk_set, family));
    }
    if last.is_empty() {
        return;
    }
    let fits = |kept: &&mut Kept<'_>| {
        !kept.changed && same_ports(kept) && kept.endpoints.len() + last.len() <= MAX_ENDPOINTS_PER_SLICE
    };
    if let Some(unchanged) = kept.iter_mut().filter(fits).max_by_key(|kept| kept.endpoints.len()) {
        unchanged.endpoints.extend(last);
        unchanged.changed = true;
        return;
    }
    let last_set =
        PortSet { ports: set.ports.clone(), endpoints: last.into_iter().map(|e| (endpoint_key(&e), e)).collect() };
    to_create.push(new_slice(service, &last_set, family));
}

/// A Service without endpoints keeps exactly one empty slice without ports.
fn keep_one_placeholder<'a>(
    service: &Service,
    family: &str,
    kept: &mut Vec<Kept<'a>>,
    to_delete: &mut Vec<&'a EndpointSlice>,
    to_create: &mut Vec<EndpointSlice>,
) {
    let is_placeholder =
        |slice: &EndpointSlice| slice.endpoints.is_empty() && slice.ports.as_ref().is_none_or(Vec::is_empty);
    let mut placeholder = None;
    for candidate in kept.drain(..) {
        if placeholder.is_none() && is_placeholder(candidate.slice) {
            placeholder = Some(candidate);
        } else {
            to_delete.push(candidate.slice);
        }
    }
    if placeholder.is_none()
        && let Some(position) = to_delete.iter().position(|slice| is_placeholder(slice))
    {
        let slice = to_delete.remove(position);
        let owned = is_controlled_by(&slice.metadata, service.metadata.uid.as_deref().unwrap_or(""));
        let changed = !owned || slice.metadata.labels.as_ref() != Some(&slice_labels(service));
        placeholder = Some(Kept { slice, endpoints: Vec::new(), changed });
    }
    match placeholder {
        Some(found) => kept.push(found),
        None => {
            let mut slice = new_slice(service, &PortSet::default(), family);
            slice.ports = None;
            to_create.push(slice);
        }
    }
}

/// Turns creates into updates of slices about to be deleted, then emits creates, updates and
/// deletes in that order (`finalize`).
fn finish(
    service: &Service,
    labels: &BTreeMap<String, String>,
    kept: Vec<Kept<'_>>,
    mut to_delete: Vec<&EndpointSlice>,
    mut to_create: Vec<EndpointSlice>,
    reconciled: &mut Reconciled,
) {
    let mut updates: Vec<EndpointSlice> = Vec::new();
    for kept in kept.into_iter().filter(|kept| kept.changed) {
        let mut slice = kept.slice.clone();
        slice.endpoints = kept.endpoints;
        sort_endpoints(&mut slice.endpoints);
        slice.metadata.labels = Some(labels.clone());
        slice.metadata.owner_references = Some(vec![controller_ref("v1", "Service", &service.metadata)]);
        updates.push(slice);
    }
    let service_uid = service.metadata.uid.as_deref().unwrap_or("");
    while !to_create.is_empty() {
        let Some(position) = to_delete.iter().position(|old| {
            is_controlled_by(&old.metadata, service_uid) && old.address_type == to_create[0].address_type
        }) else {
            break;
        };
        let old = to_delete.remove(position);
        let mut created = to_create.pop().expect("to_create is not empty");
        created.metadata = ObjectMeta { generate_name: None, labels: Some(labels.clone()), ..old.metadata.clone() };
        updates.push(created);
    }
    for mut slice in to_create {
        sort_endpoints(&mut slice.endpoints);
        reconciled.push_alone(Action::Create { object: to_object(&slice), on_created: None });
    }
    for slice in updates {
        reconciled.push_alone(Action::Update { object: to_object(&slice) });
    }
    for slice in to_delete {
        reconciled.push_alone(delete_slice(slice));
    }
}

fn delete_slice(slice: &EndpointSlice) -> Action {
    Action::Delete {
        resource: ENDPOINT_SLICES,
        namespace: slice.metadata.namespace.clone().unwrap_or_default(),
        name: slice.metadata.name.clone().unwrap_or_default(),
        preconditions: Preconditions { uid: slice.metadata.uid.clone(), resource_version: None },
        propagation_policy: None,
    }
}
