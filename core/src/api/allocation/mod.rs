//! Service ClusterIP and NodePort allocation, as the Kubernetes API server's Service registry does
//! it (`pkg/registry/core/service/{ipallocator,portallocator,storage/alloc.go}`): a create draws a
//! cluster IP from the service CIDR and node ports from the node port range (or takes the ones it
//! asks for, if free), an update carries allocated values over and allocates or releases what its
//! type change needs, a delete releases.
//!
//! The choice is deterministic: the lowest free value above the static band (Kubernetes picks a
//! random one there), so the same requests give the same addresses in every run. The state lives
//! in the API server's memory, as in Kubernetes; [`ServiceAllocators::repair`] rebuilds it from
//! the Services in the store when a server starts over an existing store (Kubernetes' repair
//! loops).

mod bitmap;
pub mod cidr;
mod hooks;
mod ranges;
mod service;
#[cfg(test)]
mod tests;

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use k8s_openapi::api::core::v1::Service;

pub use bitmap::Bitmap;
pub use cidr::{CidrError, Ipv4Cidr};
pub use hooks::{KUBERNETES_SERVICE, KUBERNETES_SERVICE_PORTS};
pub use ranges::{ClusterIpRange, NodePortRange, RangeError};
pub(crate) use service::Transaction;

use crate::object::validation::service::{NODE_PORT_MAX, NODE_PORT_MIN};
use crate::object::{FieldError, Object};

/// The service CIDR when none is configured: `10.96.0.0/12`, kubeadm's and kube-apiserver's
/// default `--service-cluster-ip-range`.
pub const DEFAULT_SERVICE_CLUSTER_IP_RANGE: Ipv4Cidr = match Ipv4Cidr::new(Ipv4Addr::new(10, 96, 0, 0), 12) {
    Some(cidr) => cidr,
    None => panic!("the default service CIDR is valid"),
};

/// The node port range when none is configured: 30000-32767 (`--service-node-port-range`).
pub const DEFAULT_SERVICE_NODE_PORT_RANGE: RangeInclusive<i32> = NODE_PORT_MIN..=NODE_PORT_MAX;

/// Where Services' cluster IPs and node ports come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocationConfig {
    /// The service CIDR (default [`DEFAULT_SERVICE_CLUSTER_IP_RANGE`]).
    pub service_cluster_ip_range: Ipv4Cidr,
    /// The node port range (default [`DEFAULT_SERVICE_NODE_PORT_RANGE`]).
    pub service_node_port_range: RangeInclusive<i32>,
}

impl Default for AllocationConfig {
    fn default() -> AllocationConfig {
        AllocationConfig {
            service_cluster_ip_range: DEFAULT_SERVICE_CLUSTER_IP_RANGE,
            service_node_port_range: DEFAULT_SERVICE_NODE_PORT_RANGE,
        }
    }
}

impl AllocationConfig {
    /// The `kubernetes` Service's address: the first of the service CIDR (`10.96.0.1`).
    pub fn kubernetes_service_ip(&self) -> Ipv4Addr {
        self.service_cluster_ip_range.address_at(1).unwrap_or(self.service_cluster_ip_range.network())
    }
}

/// Why a Service's values could not be allocated.
#[derive(Debug, thiserror::Error)]
pub enum AllocationError {
    /// A requested value is taken or out of range: a 422 on the field.
    #[error("{0}")]
    Invalid(Box<FieldError>),
    /// A range is full: Kubernetes answers 500 (`failed to allocate a serviceIP: range is full`).
    #[error("{message}")]
    Exhausted {
        /// What ran out.
        message: String,
    },
    /// The stored object is not a readable Service.
    #[error("cannot read the Service: {source}")]
    Unreadable {
        /// Why it did not decode.
        #[source]
        source: Box<crate::object::ObjectError>,
    },
}

/// The cluster IP and node port ranges of one API server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAllocators {
    config: AllocationConfig,
    cluster_ips: ClusterIpRange,
    node_ports: NodePortRange,
}

impl ServiceAllocators {
    /// Empty ranges for `config`.
    pub fn new(config: AllocationConfig) -> ServiceAllocators {
        let cluster_ips = ClusterIpRange::new(config.service_cluster_ip_range);
        let node_ports = NodePortRange::new(config.service_node_port_range.clone());
        ServiceAllocators { config, cluster_ips, node_ports }
    }

    /// Ranges holding exactly what `services` use, as after a restart (Kubernetes' repair
    /// controllers). A value two Services claim is marked once; values out of range are ignored.
    pub fn repair<'a>(config: AllocationConfig, services: impl IntoIterator<Item = &'a Object>) -> ServiceAllocators {
        let mut allocators = ServiceAllocators::new(config);
        for object in services {
            if let Ok(service) = object.to_typed::<Service>() {
                let spec = service.spec.unwrap_or_default();
                if let Some(ip) = service::cluster_ip_of(&spec) {
                    let _ = allocators.cluster_ips.allocate(ip);
                }
                for port in service::node_ports_of(&spec) {
                    let _ = allocators.node_ports.allocate(port);
                }
            }
        }
        allocators
    }

    /// The configuration the ranges were made from.
    pub fn config(&self) -> &AllocationConfig {
        &self.config
    }

    /// The cluster IP range.
    pub fn cluster_ips(&self) -> &ClusterIpRange {
        &self.cluster_ips
    }

    /// The node port range.
    pub fn node_ports(&self) -> &NodePortRange {
        &self.node_ports
    }
}
