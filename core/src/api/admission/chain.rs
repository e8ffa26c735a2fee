//! The order the admission plugins run in: kube-apiserver 1.32's default plugins, mutating
//! first and validating after the object's own validation (`NamespaceLifecycle` runs in the
//! writer before decoding settles, `ResourceQuota` in the writer after this chain, as the last
//! plugin). Kubernetes' order, of which these are the plugins coxswain has:
//! NamespaceLifecycle, LimitRanger, ServiceAccount, NodeRestriction, TaintNodesByCondition,
//! PodSecurity, Priority, DefaultTolerationSeconds, DefaultStorageClass,
//! StorageObjectInUseProtection, RuntimeClass, DefaultIngressClass, …, ResourceQuota.

use super::{
    default_ingress_class, default_storage_class, default_toleration_seconds, limit_ranger, pod_security, priority,
    runtime_class, service_account, storage_object_in_use_protection, taint_nodes_by_condition,
};
use crate::api::path::ResourcePath;
use crate::api::status::ApiError;
use crate::object::Object;
use crate::store::Store;

/// The mutating plugins on a create, in order (PodSecurity only validates).
pub(super) fn mutate_create<S: Store>(store: &S, path: &ResourcePath, object: &mut Object) -> Result<(), ApiError> {
    limit_ranger::admit(store, object)?;
    service_account::default_service_account(object);
    taint_nodes_by_condition::admit(object);
    priority::admit(store, path, object)?;
    default_toleration_seconds::add_default_toleration_seconds(object);
    default_storage_class::admit(store, object)?;
    storage_object_in_use_protection::admit(object);
    runtime_class::admit(store, path, object)?;
    default_ingress_class::admit(store, object)?;
    Ok(())
}

/// The mutating plugins on an update: only Priority keeps what it set on create.
pub(super) fn mutate_update(old: &Object, object: &mut Object) {
    priority::keep_on_update(old, object);
}

/// The validating plugins on a create, in order; PodSecurity's `warn` answers go to `warnings`.
pub(super) fn validate_create<S: Store>(
    store: &S,
    path: &ResourcePath,
    object: &Object,
    warnings: &mut Vec<String>,
) -> Result<(), ApiError> {
    limit_ranger::validate(store, path, object, false)?;
    pod_security::validate(store, path, object, None, warnings)?;
    priority::validate(store, path, object, false)?;
    runtime_class::validate(store, path, object)?;
    Ok(())
}

/// The validating plugins on an update of the object itself, in order.
pub(super) fn validate_update<S: Store>(
    store: &S,
    path: &ResourcePath,
    old: &Object,
    object: &Object,
    warnings: &mut Vec<String>,
) -> Result<(), ApiError> {
    limit_ranger::validate(store, path, object, true)?;
    pod_security::validate(store, path, object, Some(old), warnings)?;
    priority::validate(store, path, object, true)?;
    Ok(())
}
