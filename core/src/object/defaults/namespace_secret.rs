//! Defaults of Namespaces and Secrets (`SetDefaults_Namespace`, `SetDefaults_NamespaceStatus`,
//! `SetDefaults_Secret` in `pkg/apis/core/v1/defaults.go`).

use k8s_openapi::api::core::v1::{Namespace, NamespaceStatus, Secret};

use super::set_if_empty;

/// The phase of a Namespace that is not being deleted.
pub const NAMESPACE_PHASE: &str = "Active";
/// The label every Namespace carries with its own name, so selectors can pick namespaces by name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// The type of a Secret that does not name one.
pub const SECRET_TYPE: &str = "Opaque";

/// A Namespace is labelled with its name and starts `Active`.
pub fn default_namespace(namespace: &mut Namespace) {
    if let Some(name) = namespace.metadata.name.clone().filter(|name| !name.is_empty()) {
        namespace.metadata.labels.get_or_insert_with(Default::default).insert(NAMESPACE_NAME_LABEL.to_string(), name);
    }
    let status = namespace.status.get_or_insert_with(NamespaceStatus::default);
    set_if_empty(&mut status.phase, NAMESPACE_PHASE);
}

/// A Secret without a type is `Opaque`.
pub fn default_secret(secret: &mut Secret) {
    set_if_empty(&mut secret.type_, SECRET_TYPE);
}
