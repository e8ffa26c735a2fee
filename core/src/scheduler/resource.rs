//! Resources as integers (milli-CPU, bytes, counts) and a Pod's effective requests, as
//! kube-scheduler's `framework.Resource` and `resourcehelper.PodRequests` compute them.
//!
//! Quantities are parsed once, when a Pod or Node enters the scheduler; every filter and score
//! afterwards is integer arithmetic.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;

use super::limits::{DEFAULT_MEMORY_REQUEST_BYTES, DEFAULT_MILLI_CPU_REQUEST};
use crate::object::Quantity;

/// The resource name of CPU.
pub const CPU: &str = "cpu";
/// The resource name of memory.
pub const MEMORY: &str = "memory";
/// The resource name of local ephemeral storage.
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
/// The resource name of the Pod count a Node allows.
pub const PODS: &str = "pods";

/// An amount of every resource kind, as integers (Kubernetes' `framework.Resource`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    /// CPU in thousandths of a core.
    pub milli_cpu: i64,
    /// Memory in bytes.
    pub memory: i64,
    /// Local ephemeral storage in bytes.
    pub ephemeral_storage: i64,
    /// How many Pods (only meaningful for allocatable).
    pub allowed_pod_number: i64,
    /// Extended resources, hugepages and attachable volumes, by name, in whole units.
    pub scalar_resources: BTreeMap<String, i64>,
}

/// Whether a resource name is counted as a scalar (extended, hugepages, prefixed native or
/// attachable-volumes), as `schedutil.IsScalarResourceName`.
pub fn is_scalar_resource_name(name: &str) -> bool {
    is_extended_resource_name(name)
        || name.starts_with("hugepages-")
        || name.contains("kubernetes.io/")
        || name.starts_with("attachable-volumes-")
}

/// Whether a resource name is an extended resource: domain-prefixed outside `kubernetes.io/`
/// and not a quota `requests.` name (`v1helper.IsExtendedResourceName`).
pub fn is_extended_resource_name(name: &str) -> bool {
    name.contains('/') && !name.contains("kubernetes.io/") && !name.starts_with("requests.")
}

impl Resource {
    /// Reads a resource list, ignoring quantities that do not parse (the API server validated
    /// them) and resources the scheduler does not account.
    pub fn from_list(list: Option<&BTreeMap<String, WireQuantity>>) -> Resource {
        let mut resource = Resource::default();
        for (name, quantity) in list.into_iter().flatten() {
            resource.add_named(name, quantity);
        }
        resource
    }

    /// Adds one named quantity.
    pub fn add_named(&mut self, name: &str, quantity: &WireQuantity) {
        let Ok(quantity) = Quantity::try_from(quantity) else {
            return;
        };
        match name {
            CPU => self.milli_cpu += quantity.milli_value(),
            MEMORY => self.memory += quantity.value(),
            EPHEMERAL_STORAGE => self.ephemeral_storage += quantity.value(),
            PODS => self.allowed_pod_number += quantity.value(),
            other if is_scalar_resource_name(other) => {
                *self.scalar_resources.entry(other.to_owned()).or_default() += quantity.value();
            }
            _ => {}
        }
    }

    /// Adds another amount, field by field.
    pub fn add(&mut self, other: &Resource) {
        self.milli_cpu += other.milli_cpu;
        self.memory += other.memory;
        self.ephemeral_storage += other.ephemeral_storage;
        self.allowed_pod_number += other.allowed_pod_number;
        for (name, value) in &other.scalar_resources {
            *self.scalar_resources.entry(name.clone()).or_default() += value;
        }
    }

    /// Subtracts another amount, field by field (scalars that reach zero stay, as in Kubernetes).
    pub fn subtract(&mut self, other: &Resource) {
        self.milli_cpu -= other.milli_cpu;
        self.memory -= other.memory;
        self.ephemeral_storage -= other.ephemeral_storage;
        self.allowed_pod_number -= other.allowed_pod_number;
        for (name, value) in &other.scalar_resources {
            *self.scalar_resources.entry(name.clone()).or_default() -= value;
        }
    }

    /// Raises each field to at least the other's value (`SetMaxResource`).
    pub fn set_max(&mut self, other: &Resource) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        self.allowed_pod_number = self.allowed_pod_number.max(other.allowed_pod_number);
        for (name, value) in &other.scalar_resources {
            let entry = self.scalar_resources.entry(name.clone()).or_default();
            *entry = (*entry).max(*value);
        }
    }

    /// The amount of one named resource; zero when absent.
    pub fn get(&self, name: &str) -> i64 {
        match name {
            CPU => self.milli_cpu,
            MEMORY => self.memory,
            EPHEMERAL_STORAGE => self.ephemeral_storage,
            PODS => self.allowed_pod_number,
            other => self.scalar_resources.get(other).copied().unwrap_or(0),
        }
    }

    /// Whether every field is zero.
    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.allowed_pod_number == 0
            && self.scalar_resources.values().all(|value| *value == 0)
    }
}

/// A Pod's requests computed once: the real ones for fitting, and the ones with non-zero defaults
/// (100m CPU, 200Mi memory per container that names none) for spreading scores.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodRequests {
    /// Effective requests: containers summed, init containers by the max rule, plus overhead.
    pub requests: Resource,
    /// CPU with the non-zero default applied to containers that request none.
    pub non_zero_milli_cpu: i64,
    /// Memory with the non-zero default applied to containers that request none.
    pub non_zero_memory: i64,
}

/// One container's requests, and its CPU and memory with non-zero defaults.
fn container_requests(container: &core::Container) -> (Resource, i64, i64) {
    let list = container.resources.as_ref().and_then(|resources| resources.requests.as_ref());
    let resource = Resource::from_list(list);
    let has = |name: &str| list.is_some_and(|list| list.contains_key(name));
    let cpu = if has(CPU) { resource.milli_cpu } else { DEFAULT_MILLI_CPU_REQUEST };
    let memory = if has(MEMORY) { resource.memory } else { DEFAULT_MEMORY_REQUEST_BYTES };
    (resource, cpu, memory)
}

/// Whether an init container is a sidecar (`restartPolicy: Always`), which keeps running beside
/// the app containers and so adds to their sum.
fn is_restartable(container: &core::Container) -> bool {
    container.restart_policy.as_deref() == Some("Always")
}

/// A Pod's effective requests (`resourcehelper.PodRequests`): the sum of containers and sidecars,
/// raised to each regular init container's request plus the sidecars started before it, plus the
/// Pod overhead.
pub fn pod_requests(spec: &core::PodSpec) -> PodRequests {
    let mut sum = Resource::default();
    let (mut sum_cpu, mut sum_memory) = (0, 0);
    for container in &spec.containers {
        let (resource, cpu, memory) = container_requests(container);
        sum.add(&resource);
        sum_cpu += cpu;
        sum_memory += memory;
    }
    let mut init_max = Resource::default();
    let (mut init_max_cpu, mut init_max_memory) = (0, 0);
    let mut sidecars = Resource::default();
    let (mut sidecars_cpu, mut sidecars_memory) = (0, 0);
    for container in spec.init_containers.iter().flatten() {
        let (mut resource, cpu, memory) = container_requests(container);
        if is_restartable(container) {
            sum.add(&resource);
            sum_cpu += cpu;
            sum_memory += memory;
            sidecars.add(&resource);
            sidecars_cpu += cpu;
            sidecars_memory += memory;
            init_max.set_max(&sidecars);
            init_max_cpu = init_max_cpu.max(sidecars_cpu);
            init_max_memory = init_max_memory.max(sidecars_memory);
        } else {
            resource.add(&sidecars);
            init_max.set_max(&resource);
            init_max_cpu = init_max_cpu.max(cpu + sidecars_cpu);
            init_max_memory = init_max_memory.max(memory + sidecars_memory);
        }
    }
    sum.set_max(&init_max);
    let mut requests = PodRequests {
        requests: sum,
        non_zero_milli_cpu: sum_cpu.max(init_max_cpu),
        non_zero_memory: sum_memory.max(init_max_memory),
    };
    if let Some(overhead) = spec.overhead.as_ref() {
        let overhead = Resource::from_list(Some(overhead));
        requests.requests.add(&overhead);
        requests.non_zero_milli_cpu += overhead.milli_cpu;
        requests.non_zero_memory += overhead.memory;
    }
    requests
}
