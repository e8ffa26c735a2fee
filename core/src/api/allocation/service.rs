//! What allocation does to one Service: on create, on update (carrying allocated values over,
//! Kubernetes' `patchAllocatedValues`, then `allocateUpdate`) and on delete, each as a
//! [`Transaction`] the caller commits once the store write succeeded or reverts if it failed.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use serde_json::json;

use super::{AllocationError, ServiceAllocators};
use crate::object::defaults::service::CLUSTER_IP_NONE;
use crate::object::{FieldError, FieldPath, Object};

/// What one write allocated (released again if the write fails) and what it frees (released
/// only once the write succeeded).
#[derive(Debug, Default)]
#[must_use = "a transaction must be committed or reverted"]
pub(crate) struct Transaction {
    allocated_ips: Vec<Ipv4Addr>,
    allocated_ports: Vec<i32>,
    released_ips: Vec<Ipv4Addr>,
    released_ports: Vec<i32>,
}

impl Transaction {
    /// The write succeeded: free what it no longer uses.
    pub(crate) fn commit(self, allocators: &mut ServiceAllocators) {
        for ip in self.released_ips {
            allocators.cluster_ips.release(ip);
        }
        for port in self.released_ports {
            allocators.node_ports.release(port);
        }
    }

    /// The write failed: free what it allocated.
    pub(crate) fn revert(self, allocators: &mut ServiceAllocators) {
        for ip in self.allocated_ips {
            allocators.cluster_ips.release(ip);
        }
        for port in self.allocated_ports {
            allocators.node_ports.release(port);
        }
    }
}

fn is_external_name(spec: &ServiceSpec) -> bool {
    spec.type_.as_deref() == Some("ExternalName")
}

/// Types that expose node ports.
fn needs_node_ports(spec: &ServiceSpec) -> bool {
    matches!(spec.type_.as_deref(), Some("NodePort" | "LoadBalancer"))
}

/// `shouldAllocateNodePorts`: NodePort always; LoadBalancer unless it opted out.
fn should_allocate_node_ports(spec: &ServiceSpec) -> bool {
    match spec.type_.as_deref() {
        Some("NodePort") => true,
        Some("LoadBalancer") => spec.allocate_load_balancer_node_ports != Some(false),
        _ => false,
    }
}

/// `NeedsHealthCheck`: a LoadBalancer with `externalTrafficPolicy: Local`.
fn needs_health_check(spec: &ServiceSpec) -> bool {
    spec.type_.as_deref() == Some("LoadBalancer") && spec.external_traffic_policy.as_deref() == Some("Local")
}

/// The allocated cluster IP of a spec, if it has one.
pub(super) fn cluster_ip_of(spec: &ServiceSpec) -> Option<Ipv4Addr> {
    if is_external_name(spec) {
        return None;
    }
    spec.cluster_ip.as_deref().and_then(|ip| ip.parse().ok())
}

/// Every node port a spec holds, the health check node port included.
pub(super) fn node_ports_of(spec: &ServiceSpec) -> BTreeSet<i32> {
    let ports = spec.ports.iter().flatten().filter_map(|port| port.node_port);
    ports.chain(spec.health_check_node_port).filter(|port| *port != 0).collect()
}

fn spec_path() -> FieldPath {
    FieldPath::new("spec")
}

fn read(object: &Object) -> Result<Service, AllocationError> {
    object.to_typed::<Service>().map_err(|source| AllocationError::Unreadable { source: Box::new(source) })
}

fn write(object: &mut Object, service: &Service) -> Result<(), AllocationError> {
    *object = Object::from_typed(service).map_err(|source| AllocationError::Unreadable { source: Box::new(source) })?;
    Ok(())
}

impl ServiceAllocators {
    /// Allocates what a new Service needs and writes it into `object`.
    pub(crate) fn allocate_create(&mut self, object: &mut Object) -> Result<Transaction, AllocationError> {
        let mut service = read(object)?;
        let mut transaction = Transaction::default();
        let result = self.create_steps(&mut service, &mut transaction).and_then(|()| write(object, &service));
        self.settle(result, transaction)
    }

    /// Carries the allocated values of `old` over into `object` where it leaves them empty, then
    /// allocates and releases what the update changes.
    pub(crate) fn allocate_update(
        &mut self,
        old: &Object,
        object: &mut Object,
    ) -> Result<Transaction, AllocationError> {
        let old_spec = read(old)?.spec.unwrap_or_default();
        let mut service = read(object)?;
        let mut transaction = Transaction::default();
        let result =
            self.update_steps(&mut service, &old_spec, &mut transaction).and_then(|()| write(object, &service));
        self.settle(result, transaction)
    }

    fn settle(
        &mut self,
        result: Result<(), AllocationError>,
        transaction: Transaction,
    ) -> Result<Transaction, AllocationError> {
        match result {
            Ok(()) => Ok(transaction),
            Err(error) => {
                transaction.revert(self);
                Err(error)
            }
        }
    }

    fn create_steps(&mut self, service: &mut Service, transaction: &mut Transaction) -> Result<(), AllocationError> {
        let spec = service.spec.get_or_insert_with(ServiceSpec::default);
        self.allocate_cluster_ip(spec, transaction)?;
        self.allocate_node_ports(spec, None, transaction)?;
        self.allocate_health_check_node_port(spec, None, transaction)
    }

    fn update_steps(
        &mut self,
        service: &mut Service,
        old_spec: &ServiceSpec,
        transaction: &mut Transaction,
    ) -> Result<(), AllocationError> {
        let spec = service.spec.get_or_insert_with(ServiceSpec::default);
        patch_allocated_values(spec, old_spec);
        self.update_cluster_ip(spec, old_spec, transaction)?;
        self.allocate_node_ports(spec, Some(old_spec), transaction)?;
        self.allocate_health_check_node_port(spec, Some(old_spec), transaction)
    }

    /// Frees everything a deleted Service held.
    pub(crate) fn release(&mut self, object: &Object) {
        let Ok(service) = object.to_typed::<Service>() else { return };
        let spec = service.spec.unwrap_or_default();
        if let Some(ip) = cluster_ip_of(&spec) {
            self.cluster_ips.release(ip);
        }
        for port in node_ports_of(&spec) {
            self.node_ports.release(port);
        }
    }

    fn allocate_cluster_ip(
        &mut self,
        spec: &mut ServiceSpec,
        transaction: &mut Transaction,
    ) -> Result<(), AllocationError> {
        if is_external_name(spec) {
            return Ok(());
        }
        let first_of_list = spec.cluster_ips.as_ref().and_then(|ips| ips.first().cloned());
        let requested = spec.cluster_ip.clone().filter(|ip| !ip.is_empty()).or(first_of_list).unwrap_or_default();
        if requested == CLUSTER_IP_NONE {
            spec.cluster_ip = Some(CLUSTER_IP_NONE.to_string());
            spec.cluster_ips = Some(vec![CLUSTER_IP_NONE.to_string()]);
            return Ok(());
        }
        let ip = if requested.is_empty() {
            self.cluster_ips.allocate_next().map_err(|error| AllocationError::Exhausted {
                message: format!("failed to allocate a serviceIP: {error}"),
            })?
        } else {
            let invalid = |detail: String| {
                let path = spec_path().child("clusterIPs");
                AllocationError::Invalid(Box::new(FieldError::invalid(&path, json!([requested]), &detail)))
            };
            let ip: Ipv4Addr =
                requested.parse().map_err(|_| invalid("IPv6 is not configured on this cluster".into()))?;
            self.cluster_ips.allocate(ip).map_err(|error| invalid(format!("failed to allocate IP {ip}: {error}")))?;
            ip
        };
        transaction.allocated_ips.push(ip);
        spec.cluster_ip = Some(ip.to_string());
        spec.cluster_ips = Some(vec![ip.to_string()]);
        Ok(())
    }

    /// `updateClusterIPs` for a single-stack cluster: allocate when leaving ExternalName, release
    /// when becoming ExternalName, otherwise keep.
    fn update_cluster_ip(
        &mut self,
        spec: &mut ServiceSpec,
        old: &ServiceSpec,
        transaction: &mut Transaction,
    ) -> Result<(), AllocationError> {
        if is_external_name(old) && !is_external_name(spec) {
            return self.allocate_cluster_ip(spec, transaction);
        }
        if !is_external_name(old) && is_external_name(spec) {
            transaction.released_ips.extend(cluster_ip_of(old));
        }
        Ok(())
    }

    /// `initNodePorts` and `updateNodePorts`: requested ports are taken unless the old spec
    /// already held them, missing ones are drawn (one per service port number), and the old
    /// ports the new spec drops are released.
    fn allocate_node_ports(
        &mut self,
        spec: &mut ServiceSpec,
        old: Option<&ServiceSpec>,
        transaction: &mut Transaction,
    ) -> Result<(), AllocationError> {
        let held: BTreeSet<i32> = old.filter(|old| needs_node_ports(old)).map(ports_only).unwrap_or_default();
        if needs_node_ports(spec) {
            self.assign_node_ports(spec, &held, transaction)?;
        }
        let kept = if needs_node_ports(spec) { ports_only(spec) } else { BTreeSet::new() };
        transaction.released_ports.extend(held.difference(&kept));
        Ok(())
    }

    fn assign_node_ports(
        &mut self,
        spec: &mut ServiceSpec,
        held: &BTreeSet<i32>,
        transaction: &mut Transaction,
    ) -> Result<(), AllocationError> {
        let should_allocate = should_allocate_node_ports(spec);
        let mut by_service_port: BTreeMap<i32, i32> = BTreeMap::new();
        let mut claimed = BTreeSet::new();
        let ports = spec.ports.get_or_insert_with(Vec::new);
        for (index, port) in ports.iter().enumerate() {
            let Some(requested) = port.node_port.filter(|node_port| *node_port != 0) else { continue };
            if !held.contains(&requested) && !claimed.contains(&requested) {
                self.node_ports.allocate(requested).map_err(|error| {
                    let path = spec_path().child("ports").index(index).child("nodePort");
                    AllocationError::Invalid(Box::new(FieldError::invalid(&path, requested, &error.to_string())))
                })?;
                transaction.allocated_ports.push(requested);
            }
            claimed.insert(requested);
            by_service_port.entry(port.port).or_insert(requested);
        }
        for port in ports.iter_mut().filter(|port| port.node_port.unwrap_or(0) == 0 && should_allocate) {
            let node_port = match by_service_port.get(&port.port) {
                Some(shared) => *shared,
                None => {
                    let next = self.node_ports.allocate_next().map_err(|error| AllocationError::Exhausted {
                        message: format!("failed to allocate a nodePort: {error}"),
                    })?;
                    transaction.allocated_ports.push(next);
                    by_service_port.insert(port.port, next);
                    next
                }
            };
            port.node_port = Some(node_port);
        }
        Ok(())
    }

    /// The health check node port of a `LoadBalancer` with `externalTrafficPolicy: Local`.
    fn allocate_health_check_node_port(
        &mut self,
        spec: &mut ServiceSpec,
        old: Option<&ServiceSpec>,
        transaction: &mut Transaction,
    ) -> Result<(), AllocationError> {
        let old_port = old.filter(|old| needs_health_check(old)).and_then(|old| old.health_check_node_port);
        let old_port = old_port.filter(|port| *port != 0);
        if !needs_health_check(spec) {
            transaction.released_ports.extend(old_port.filter(|port| !ports_only(spec).contains(port)));
            spec.health_check_node_port = None;
            return Ok(());
        }
        let requested = spec.health_check_node_port.filter(|port| *port != 0).or(old_port);
        let port = match requested {
            Some(port) if Some(port) == old_port => port,
            Some(port) => {
                self.node_ports.allocate(port).map_err(|error| AllocationError::Exhausted {
                    message: format!("failed to allocate requested HealthCheck NodePort {port}: {error}"),
                })?;
                transaction.allocated_ports.push(port);
                transaction.released_ports.extend(old_port);
                port
            }
            None => {
                let port = self.node_ports.allocate_next().map_err(|error| AllocationError::Exhausted {
                    message: format!("failed to allocate a HealthCheck NodePort: {error}"),
                })?;
                transaction.allocated_ports.push(port);
                port
            }
        };
        spec.health_check_node_port = Some(port);
        Ok(())
    }
}

/// The node ports of the service ports (without the health check port).
fn ports_only(spec: &ServiceSpec) -> BTreeSet<i32> {
    spec.ports.iter().flatten().filter_map(|port| port.node_port).filter(|port| *port != 0).collect()
}

/// `patchAllocatedValues`: an update that leaves the cluster IP empty keeps the allocated one;
/// service ports without a node port keep the one their namesake had, unless another port of
/// the new spec already asks for it.
fn patch_allocated_values(spec: &mut ServiceSpec, old: &ServiceSpec) {
    if !is_external_name(spec) && !is_external_name(old) {
        if spec.cluster_ip.as_deref().is_none_or(str::is_empty) {
            spec.cluster_ip.clone_from(&old.cluster_ip);
            spec.cluster_ips.clone_from(&old.cluster_ips);
        } else if spec.cluster_ips.as_ref().is_none_or(Vec::is_empty) {
            spec.cluster_ips = spec.cluster_ip.clone().map(|ip| vec![ip]);
        }
    }
    if needs_node_ports(old) && needs_node_ports(spec) {
        let used: BTreeSet<i32> = ports_only(old).intersection(&ports_only(spec)).copied().collect();
        let by_name: BTreeMap<String, i32> = old
            .ports
            .iter()
            .flatten()
            .map(|port| (port.name.clone().unwrap_or_default(), port.node_port.unwrap_or(0)))
            .collect();
        for port in spec.ports.iter_mut().flatten().filter(|port| port.node_port.unwrap_or(0) == 0) {
            let old_port = by_name.get(port.name.as_deref().unwrap_or("")).copied().unwrap_or(0);
            if old_port != 0 && !used.contains(&old_port) {
                port.node_port = Some(old_port);
            }
        }
    }
    if needs_health_check(old) && needs_health_check(spec) && spec.health_check_node_port.unwrap_or(0) == 0 {
        spec.health_check_node_port = old.health_check_node_port;
    }
}
