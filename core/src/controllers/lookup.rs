//! Finding one object by namespace and name, whatever holds the objects: a slice (tests and
//! small worlds, a linear search) or an informer's cache (a keyed lookup). Reconciles that look
//! up a node or a Lease per item take any of them, so the manager hands over its caches instead
//! of copying every Node and Lease per sync.

use std::sync::Arc;

use crate::client::informer::{Cached, Informer};

/// A collection in which an object can be found by namespace and name (`""` for
/// cluster-scoped kinds).
pub trait ByName<T> {
    /// The object `namespace/name`, if held.
    fn by_name(&self, namespace: &str, name: &str) -> Option<&T>;
}

impl<T: Cached> ByName<T> for [T] {
    fn by_name(&self, namespace: &str, name: &str) -> Option<&T> {
        self.iter().find(|object| {
            let metadata = object.object_meta();
            metadata.namespace.as_deref().unwrap_or_default() == namespace && metadata.name.as_deref() == Some(name)
        })
    }
}

impl<T: Cached, const N: usize> ByName<T> for [T; N] {
    fn by_name(&self, namespace: &str, name: &str) -> Option<&T> {
        self.as_slice().by_name(namespace, name)
    }
}

impl<T: Cached> ByName<T> for Vec<T> {
    fn by_name(&self, namespace: &str, name: &str) -> Option<&T> {
        self.as_slice().by_name(namespace, name)
    }
}

impl<T: Cached> ByName<T> for Informer<T> {
    fn by_name(&self, namespace: &str, name: &str) -> Option<&T> {
        self.get(namespace, name).map(Arc::as_ref)
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Node;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::ByName;

    fn node(name: &str) -> Node {
        Node { metadata: ObjectMeta { name: Some(name.to_string()), ..ObjectMeta::default() }, ..Node::default() }
    }

    #[test]
    fn a_slice_finds_objects_by_namespace_and_name() {
        let nodes = vec![node("a"), node("b")];
        assert_eq!(nodes.by_name("", "b").and_then(|node| node.metadata.name.as_deref()), Some("b"));
        assert!(nodes.by_name("", "c").is_none());
        assert!(nodes.by_name("default", "a").is_none(), "a cluster-scoped node is in no namespace");
    }
}
