//! [`ApiServer`]: the Kubernetes API semantics over a [`Store`], as a pure function from request
//! values to response values. Time (`now`) is a parameter and uids and generated names come from a
//! seeded generator, so the same requests give the same responses in the simulator and in
//! `cox server`.

use jiff::Timestamp;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::allocation::{AllocationConfig, ServiceAllocators};
use super::path::{ApiPath, ResourcePath, parse_path};
use super::request::{ApiRequest, ApiResponse, Method};
use super::status::ApiError;
use crate::object::Object;
use crate::object::kinds;
use crate::store::{ListOptions, Store};

/// The namespaces every cluster has from its first moment, as Kubernetes creates them.
pub const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

const SERVICES: kinds::GroupResource = kinds::GroupResource { group: "", resource: "services" };

/// The API server's state: the store, the generator for uids and generated names, and the
/// Service cluster IP and node port ranges.
pub struct ApiServer<S: Store> {
    pub(super) store: S,
    pub(super) random: ChaCha8Rng,
    pub(super) allocators: ServiceAllocators,
}

impl<S: Store> ApiServer<S> {
    /// An API server over `store`, drawing uids and generated names from `seed`, with the
    /// default service CIDR and node port range.
    pub fn new(store: S, seed: u64) -> ApiServer<S> {
        ApiServer::with_allocation(store, seed, AllocationConfig::default())
    }

    /// An API server with its own service CIDR and node port range. The ranges are rebuilt
    /// from the Services already in `store`, as after a restart.
    pub fn with_allocation(store: S, seed: u64, config: AllocationConfig) -> ApiServer<S> {
        let services = store.list(SERVICES, &ListOptions::all()).map(|listed| listed.items).unwrap_or_default();
        let allocators = ServiceAllocators::repair(config, services.iter().map(|service| service.as_ref()));
        ApiServer { store, random: ChaCha8Rng::seed_from_u64(seed), allocators }
    }

    /// The Service cluster IP and node port ranges.
    pub fn allocators(&self) -> &ServiceAllocators {
        &self.allocators
    }

    /// Creates the system namespaces and the `kubernetes` Service that do not exist yet.
    pub fn bootstrap(&mut self, now: Timestamp) -> Result<(), ApiError> {
        for name in SYSTEM_NAMESPACES {
            let request = ApiRequest::new(Method::Post, "/api/v1/namespaces")
                .with_json(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}));
            match self.handle(&request, now) {
                ApiResponse::Json { status: 201 | 409, .. } => {}
                ApiResponse::Json { body, .. } => {
                    return Err(ApiError::Internal { message: format!("cannot create namespace {name}: {body}") });
                }
                ApiResponse::Watch(_) => unreachable!("a create never answers with a watch"),
            }
        }
        self.create_kubernetes_service(now)
    }

    /// The store, for shells that poll watches and compact history.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, given back, as when an API server stops and another starts over it.
    pub fn into_store(self) -> S {
        self.store
    }

    /// The store, mutably, for shells that compact history.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Answers one request.
    pub fn handle(&mut self, request: &ApiRequest, now: Timestamp) -> ApiResponse {
        match self.route(request, now) {
            Ok(response) => response,
            Err(error) => ApiResponse::json(error.code(), error.to_status()),
        }
    }

    fn route(&mut self, request: &ApiRequest, now: Timestamp) -> Result<ApiResponse, ApiError> {
        let Some(path) = parse_path(&request.path) else {
            return Err(ApiError::NoRoute);
        };
        match path {
            ApiPath::Resource(path) => self.route_resource(request, &path, now),
            discovery => super::discovery_route(&discovery, request.method),
        }
    }

    fn route_resource(
        &mut self,
        request: &ApiRequest,
        path: &ResourcePath,
        now: Timestamp,
    ) -> Result<ApiResponse, ApiError> {
        let resource = path.resource;
        if !resource.stored && resource.kind != "Binding" {
            return Err(ApiError::NoRoute);
        }
        let is_watch = path.legacy_watch || matches!(request.query_param("watch"), Some("1" | "true"));
        match (request.method, path.name.as_deref(), path.subresource.as_deref()) {
            (Method::Get, None, None) if is_watch => self.watch(request, path, now),
            (Method::Get, None, None) => self.list(request, path, now),
            (Method::Post, None, None) if resource.kind == "Binding" => self.bind_from_collection(request, path, now),
            (Method::Post, None, None) => self.create(request, path, now),
            (Method::Delete, None, None) => self.delete_collection(request, path, now),
            (Method::Get, Some(name), None | Some("status")) => self.get(request, path, name, now),
            (Method::Put, Some(name), None | Some("status")) => self.update(request, path, name, now),
            (Method::Patch, Some(name), None | Some("status")) => self.patch(request, path, name, now),
            (Method::Delete, Some(name), None) => self.delete(request, path, name, now),
            (Method::Get | Method::Put | Method::Patch, Some(name), Some("scale")) => {
                self.scale(request, path, name, now)
            }
            (Method::Post, Some(name), Some("binding")) => self.bind(request, path, name, now),
            (Method::Post, Some(name), Some("eviction")) => self.evict(request, path, name, now),
            (Method::Put, Some(name), Some("finalize")) => self.finalize_namespace(request, path, name, now),
            _ => Err(ApiError::MethodNotAllowed),
        }
    }

    /// Reads the stored object a path names, at the storage version.
    pub(super) fn stored(&self, path: &ResourcePath, name: &str) -> Result<std::sync::Arc<Object>, ApiError> {
        let key = super::object_key(path, name);
        self.store.get(&key).map_err(ApiError::from)
    }
}

/// Kinds whose objects' storage version differs from the requested one are converted on the way
/// in and out; this is a convenience for handlers.
pub(super) fn storage_resource(path: &ResourcePath) -> &'static kinds::ResourceType {
    super::conversion::storage_type(path.resource)
}
