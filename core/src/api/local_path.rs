//! The StorageClass every coxswain cluster starts with, as k3s ships one: `local-path`, the
//! default class, whose volumes the local-path provisioner (in the controller manager) makes as
//! directories on the node the claim's first pod is scheduled to.

use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::admission::default_storage_class::IS_DEFAULT_STORAGE_CLASS_ANNOTATION;
use super::{ApiError, ApiRequest, ApiServer, Method};
use crate::store::Store;

/// The name of the default StorageClass.
pub const LOCAL_PATH_STORAGE_CLASS: &str = "local-path";

/// The provisioner the class names, as k3s' local-path-provisioner registers itself.
pub const LOCAL_PATH_PROVISIONER: &str = "rancher.io/local-path";

/// The directory under which each provisioned volume gets its own directory on the node.
pub const LOCAL_PATH_ROOT: &str = "/var/lib/coxswain/local-path";

impl<S: Store> ApiServer<S> {
    /// Creates the `local-path` StorageClass (WaitForFirstConsumer, reclaim policy Delete,
    /// marked default) unless it exists; an administrator's changes to it are kept.
    pub(super) fn create_local_path_storage_class(&mut self, now: Timestamp) -> Result<(), ApiError> {
        let body = json!({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": LOCAL_PATH_STORAGE_CLASS,
                "annotations": {IS_DEFAULT_STORAGE_CLASS_ANNOTATION: "true"}},
            "provisioner": LOCAL_PATH_PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
        });
        let request = ApiRequest::new(Method::Post, "/apis/storage.k8s.io/v1/storageclasses").with_json(&body);
        match self.handle(&request, now).into_json() {
            Ok((201 | 409, _)) => Ok(()),
            Ok((_, body)) => {
                Err(ApiError::Internal { message: format!("cannot create the local-path StorageClass: {body}") })
            }
            Err(_) => Err(ApiError::Internal { message: "a create answered with a watch".into() }),
        }
    }
}
