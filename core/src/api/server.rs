//! [`ApiServer`]: the Kubernetes API semantics over a [`Store`], as a pure function from request
//! values to response values. Time (`now`) is a parameter and uids and generated names come from a
//! seeded generator, so the same requests give the same responses in the simulator and in
//! `cox server`.

use jiff::Timestamp;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::allocation::{AllocationConfig, ServiceAllocators};
use super::event_ttl::EventDeadlines;
use super::path::{ApiPath, ResourcePath, parse_path};
use super::request::{ApiRequest, ApiResponse, Method};
use super::status::ApiError;
use crate::object::Object;
use crate::object::kinds;
use crate::store::{ListOptions, MemoryStore, Store, StoreError};

/// The namespaces every cluster has from its first moment, as Kubernetes creates them.
pub const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

const SERVICES: kinds::GroupResource = kinds::GroupResource { group: "", resource: "services" };

/// The API server's state: the store, the generator for uids and generated names, and the
/// Service cluster IP and node port ranges.
pub struct ApiServer<S: Store> {
    pub(super) store: S,
    pub(super) random: ChaCha8Rng,
    pub(super) allocators: ServiceAllocators,
    pub(super) event_deadlines: EventDeadlines,
}

impl ApiServer<MemoryStore> {
    /// An API server over an in-memory store, drawing uids and generated names from `seed`, with
    /// the default service CIDR and node port range. Infallible because listing an in-memory
    /// store cannot fail; other backends go through [`ApiServer::with_allocation`].
    pub fn new(store: MemoryStore, seed: u64) -> ApiServer<MemoryStore> {
        match ApiServer::with_allocation(store, seed, AllocationConfig::default()) {
            Ok(server) => server,
            Err(error) => unreachable!("listing every Service of an in-memory store failed: {error}"),
        }
    }
}

impl<S: Store> ApiServer<S> {
    /// An API server with its own service CIDR and node port range. The ranges are rebuilt
    /// from the Services already in `store`, as after a restart; a store that cannot list them
    /// is an error, not an empty range.
    ///
    /// `seed` is the shell's to draw afresh at every start (DESIGN.md principle 2: randomness is
    /// an input). So that uids and generated names cannot repeat across restarts even when a
    /// shell reuses a seed, the generator also takes the store's revision at opening as its
    /// ChaCha stream: an API server reopened after any write draws from another stream.
    pub fn with_allocation(store: S, seed: u64, config: AllocationConfig) -> Result<ApiServer<S>, StoreError> {
        let services = store.list(SERVICES, &ListOptions::all())?.items;
        let allocators = ServiceAllocators::repair(config, services.iter().map(|service| service.as_ref()));
        let mut random = ChaCha8Rng::seed_from_u64(seed);
        random.set_stream(store.current_revision());
        Ok(ApiServer { store, random, allocators, event_deadlines: EventDeadlines::default() })
    }

    /// The Service cluster IP and node port ranges.
    pub fn allocators(&self) -> &ServiceAllocators {
        &self.allocators
    }

    /// Creates the system namespaces, the built-in PriorityClasses (`system-node-critical`,
    /// `system-cluster-critical`), the `kubernetes` Service and the default `local-path`
    /// StorageClass that do not exist yet.
    pub fn bootstrap(&mut self, now: Timestamp) -> Result<(), ApiError> {
        for name in SYSTEM_NAMESPACES {
            let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            self.create_if_missing("/api/v1/namespaces", &namespace, now)?;
        }
        for class in super::admission::bootstrap_priority_classes() {
            self.create_if_missing("/apis/scheduling.k8s.io/v1/priorityclasses", &class, now)?;
        }
        self.create_kubernetes_service(now)?;
        self.create_local_path_storage_class(now)
    }

    /// Creates one bootstrap object unless it exists.
    fn create_if_missing(&mut self, path: &str, object: &serde_json::Value, now: Timestamp) -> Result<(), ApiError> {
        match self.handle(&ApiRequest::new(Method::Post, path).with_json(object), now).into_json() {
            Ok((201 | 409, _)) => Ok(()),
            Ok((_, body)) => {
                let name = object.pointer("/metadata/name").and_then(serde_json::Value::as_str).unwrap_or("");
                Err(ApiError::Internal { message: format!("cannot create {path}/{name}: {body}") })
            }
            Err(_) => unreachable!("a create never answers with a watch"),
        }
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
        if is_read(request) {
            return self.read(request, now);
        }
        let before = self.store.current_revision();
        let response = answer(self.route(request, now));
        self.track_event_writes(before, now);
        response
    }

    /// Answers a request that only reads (see [`is_read`]): discovery, get, list, watch and the
    /// scale of an object. It takes `&self`, so a shell can serve reads beside the one writer
    /// (behind a read-write lock, say); any other request is answered 405.
    pub fn read(&self, request: &ApiRequest, now: Timestamp) -> ApiResponse {
        if !is_read(request) {
            return ApiResponse::error(&ApiError::MethodNotAllowed);
        }
        answer(self.route_read(request, now))
    }

    fn route_read(&self, request: &ApiRequest, now: Timestamp) -> Result<ApiResponse, ApiError> {
        let Some(path) = parse_path(&request.path) else {
            return Err(ApiError::NoRoute);
        };
        let path = match path {
            ApiPath::Resource(path) => path,
            discovery => return super::discovery_route(&discovery, request),
        };
        if !path.resource.stored {
            return Err(ApiError::NoRoute);
        }
        let is_watch = path.legacy_watch || matches!(request.query_param("watch"), Some("1" | "true"));
        match (path.name.as_deref(), path.subresource.as_deref()) {
            (None, None) if is_watch => self.watch(request, &path, now),
            (None, None) => self.list(request, &path, now),
            (Some(name), None | Some("status")) => self.get(request, &path, name, now),
            (Some(name), Some("scale")) => self.get_scale(&path, name),
            _ => Err(ApiError::MethodNotAllowed),
        }
    }

    fn route(&mut self, request: &ApiRequest, now: Timestamp) -> Result<ApiResponse, ApiError> {
        let Some(path) = parse_path(&request.path) else {
            return Err(ApiError::NoRoute);
        };
        match path {
            ApiPath::Resource(path) => self.route_resource(request, &path, now),
            discovery => super::discovery_route(&discovery, request),
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
        match (request.method, path.name.as_deref(), path.subresource.as_deref()) {
            (Method::Post, None, None) if resource.kind == "Binding" => self.bind_from_collection(request, path, now),
            (Method::Post, None, None) => self.create(request, path, now),
            (Method::Delete, None, None) => self.delete_collection(request, path, now),
            (Method::Put, Some(name), None | Some("status")) => self.update(request, path, name, now),
            (Method::Patch, Some(name), None | Some("status")) => self.patch(request, path, name, now),
            (Method::Delete, Some(name), None) => self.delete(request, path, name, now),
            (Method::Put | Method::Patch, Some(name), Some("scale")) => self.scale(request, path, name, now),
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

/// Whether a request only reads: every GET (get, list, watch, discovery, scale). A shell may
/// answer these through [`ApiServer::read`], which takes `&self`.
pub fn is_read(request: &ApiRequest) -> bool {
    request.method == Method::Get
}

fn answer(result: Result<ApiResponse, ApiError>) -> ApiResponse {
    match result {
        Ok(response) => response,
        Err(error) => ApiResponse::error(&error),
    }
}

/// Kinds whose objects' storage version differs from the requested one are converted on the way
/// in and out; this is a convenience for handlers.
pub(super) fn storage_resource(path: &ResourcePath) -> &'static kinds::ResourceType {
    super::conversion::storage_type(path.resource)
}
