//! Where the API server's write paths call allocation: create, update (not the status
//! subresource) and delete of `v1` Services, and the `kubernetes` Service made at bootstrap.

use jiff::Timestamp;
use serde_json::json;

use super::{AllocationError, ServiceAllocators, Transaction};
use crate::api::request::{ApiRequest, Method};
use crate::api::server::ApiServer;
use crate::api::status::ApiError;
use crate::object::Object;
use crate::object::kinds::{GroupResource, ResourceType};
use crate::store::objects::Outcome;
use crate::store::{ObjectKey, Store};

/// The namespace and name of the Service that fronts the API server itself.
pub const KUBERNETES_SERVICE: (&str, &str) = ("default", "kubernetes");

/// The port the `kubernetes` Service exposes (443, named `https`) and the API server's secure
/// port behind it (6443).
pub const KUBERNETES_SERVICE_PORTS: (i32, i32) = (443, 6443);

fn is_service(object: &Object) -> bool {
    object.api_version == "v1" && object.kind == "Service"
}

fn to_api_error(error: AllocationError, resource: &ResourceType, name: &str) -> ApiError {
    match error {
        AllocationError::Invalid(field_error) => ApiError::invalid(resource, name, vec![*field_error]),
        other => ApiError::Internal { message: other.to_string() },
    }
}

impl<S: Store> ApiServer<S> {
    /// Allocates a new Service's cluster IP and node ports into `object`. A dry run checks
    /// against a copy of the ranges and keeps nothing.
    pub(in crate::api) fn allocate_on_create(
        &mut self,
        resource: &ResourceType,
        object: &mut Object,
        dry_run: bool,
    ) -> Result<Option<Transaction>, ApiError> {
        if !is_service(object) {
            return Ok(None);
        }
        let name = object.name().to_string();
        self.allocate_with(resource, &name, dry_run, |allocators| allocators.allocate_create(object))
    }

    /// Carries allocated values over into an updated Service and allocates what it newly needs.
    pub(in crate::api) fn allocate_on_update(
        &mut self,
        resource: &ResourceType,
        old: &Object,
        object: &mut Object,
        dry_run: bool,
    ) -> Result<Option<Transaction>, ApiError> {
        if !is_service(object) {
            return Ok(None);
        }
        let name = object.name().to_string();
        self.allocate_with(resource, &name, dry_run, |allocators| allocators.allocate_update(old, object))
    }

    fn allocate_with(
        &mut self,
        resource: &ResourceType,
        name: &str,
        dry_run: bool,
        allocate: impl FnOnce(&mut ServiceAllocators) -> Result<Transaction, AllocationError>,
    ) -> Result<Option<Transaction>, ApiError> {
        if dry_run {
            let mut scratch = self.allocators.clone();
            let transaction = allocate(&mut scratch).map_err(|error| to_api_error(error, resource, name))?;
            transaction.revert(&mut scratch);
            return Ok(None);
        }
        let transaction = allocate(&mut self.allocators).map_err(|error| to_api_error(error, resource, name))?;
        Ok(Some(transaction))
    }

    /// Commits or reverts an allocation once the store write it belongs to is done.
    pub(in crate::api) fn finish_allocation(&mut self, transaction: Option<Transaction>, written: bool) {
        if let Some(transaction) = transaction {
            if written { transaction.commit(&mut self.allocators) } else { transaction.revert(&mut self.allocators) }
        }
    }

    /// Releases what a Service held once a delete (or the update that removed its last
    /// finalizer) has removed it.
    pub(in crate::api) fn release_if_deleted(&mut self, outcome: &Outcome) {
        if let Outcome::Deleted(object) = outcome
            && is_service(object)
        {
            self.allocators.release(object);
        }
    }

    /// Creates the `kubernetes` Service in `default` on the first address of the service CIDR,
    /// as the Kubernetes API server's bootstrap controller does; an existing one is kept.
    pub(in crate::api) fn create_kubernetes_service(&mut self, now: Timestamp) -> Result<(), ApiError> {
        let (namespace, name) = KUBERNETES_SERVICE;
        let key = ObjectKey::new(GroupResource { group: "", resource: "services" }, namespace, name);
        if self.store.get(&key).is_ok() {
            return Ok(());
        }
        let (port, target_port) = KUBERNETES_SERVICE_PORTS;
        let cluster_ip = self.allocators.config().kubernetes_service_ip().to_string();
        let body = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {
                "type": "ClusterIP", "clusterIP": cluster_ip, "sessionAffinity": "None",
                "ports": [{"name": "https", "port": port, "protocol": "TCP", "targetPort": target_port}],
            },
        });
        let path = format!("/api/v1/namespaces/{namespace}/services");
        match self.handle(&ApiRequest::new(Method::Post, &path).with_json(&body), now).into_json() {
            Ok((201 | 409, _)) => Ok(()),
            Ok((_, body)) => {
                Err(ApiError::Internal { message: format!("cannot create the kubernetes Service: {body}") })
            }
            Err(_) => Err(ApiError::Internal { message: "a create answered with a watch".into() }),
        }
    }
}
