//! Where [`super::EtcdStore`] keeps objects in etcd, and how a stored value becomes an object.
//!
//! Keys follow Kubernetes' layout with the group spelled out:
//! `<prefix>/<group>/<resource>/<namespace>/<name>` for namespaced objects and
//! `<prefix>/<group>/<resource>/<name>` for cluster-scoped ones, with `core` as the group of the
//! core API (`/registry/core/pods/default/web-1`, `/registry/apps/deployments/default/web`).
//!
//! A collection lists in etcd's key order, as Kubernetes' etcd3 storage lists: namespace, then
//! name, except that a namespace which extends another with a character sorting before `/` (`a-b`
//! against `a`) comes before it. The memory store orders by (namespace, name) exactly; the
//! difference only shows when paging across such namespaces.
//!
//! Values are the object's JSON without `resourceVersion`: that is the key's mod revision, set on
//! every read, exactly as Kubernetes does.

use coxswain_core::object::Object;
use coxswain_core::object::kinds::GroupResource;
use coxswain_core::store::{ObjectKey, Revision, StoreError};

use super::resources::group_resource;

/// The path segment of the core API group, whose name is empty.
const CORE_GROUP: &str = "core";

/// The key layout under one prefix.
#[derive(Clone, Debug)]
pub(super) struct Keys {
    /// The prefix, without a trailing `/`.
    prefix: String,
}

impl Keys {
    /// Keys under `prefix` (a trailing `/` is ignored).
    pub(super) fn new(prefix: &str) -> Keys {
        Keys { prefix: prefix.trim_end_matches('/').to_string() }
    }

    /// Every key this store writes starts with this.
    pub(super) fn root(&self) -> String {
        format!("{}/", self.prefix)
    }

    /// The prefix of a collection's keys (of one namespace's, if given; the empty namespace of
    /// cluster-scoped objects is the whole collection).
    pub(super) fn collection(&self, resource: GroupResource, namespace: Option<&str>) -> String {
        let group = if resource.group.is_empty() { CORE_GROUP } else { resource.group };
        match namespace {
            Some(namespace) if !namespace.is_empty() => {
                format!("{}/{group}/{}/{namespace}/", self.prefix, resource.resource)
            }
            _ => format!("{}/{group}/{}/", self.prefix, resource.resource),
        }
    }

    /// The key of one object.
    pub(super) fn object(&self, key: &ObjectKey) -> String {
        format!("{}{}", self.collection(key.resource, Some(&key.namespace)), key.name)
    }

    /// The object key an etcd key names, if it is one of this store's.
    pub(super) fn parse(&self, key: &[u8]) -> Option<ObjectKey> {
        let text = std::str::from_utf8(key).ok()?.strip_prefix(&self.root())?;
        let mut parts = text.splitn(3, '/');
        let (group, resource, rest) = (parts.next()?, parts.next()?, parts.next()?);
        let group = if group == CORE_GROUP { "" } else { group };
        let (namespace, name) = rest.split_once('/').unwrap_or(("", rest));
        if name.is_empty() || name.contains('/') {
            return None;
        }
        Some(ObjectKey::new(group_resource(group, resource), namespace, name))
    }
}

/// The end of the key range of every key that starts with `prefix` (etcd's `GetPrefixRangeEnd`).
pub(super) fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// The value stored for an object: its JSON without resourceVersion.
pub(super) fn encode(object: &Object) -> Vec<u8> {
    let mut object = object.clone();
    object.metadata.resource_version = None;
    serde_json::to_vec(&object).expect("an object always serializes")
}

/// The object a stored value holds, at the revision given.
pub(super) fn decode(value: &[u8], revision: Revision) -> Result<Object, StoreError> {
    let mut object: Object = serde_json::from_slice(value)
        .map_err(|error| StoreError::Internal { message: format!("a value in etcd is not an object: {error}") })?;
    object.metadata.resource_version = Some(revision.to_string());
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PODS: GroupResource = GroupResource { group: "", resource: "pods" };
    const NODES: GroupResource = GroupResource { group: "", resource: "nodes" };
    const DEPLOYMENTS: GroupResource = GroupResource { group: "apps", resource: "deployments" };

    #[test]
    fn keys_follow_kubernetes_layout_with_the_group_and_read_back() {
        let keys = Keys::new("/registry/");
        let pod = ObjectKey::new(PODS, "default", "web-1");
        assert_eq!(keys.object(&pod), "/registry/core/pods/default/web-1");
        let node = ObjectKey::new(NODES, "", "node-a");
        assert_eq!(keys.object(&node), "/registry/core/nodes/node-a");
        let deployment = ObjectKey::new(DEPLOYMENTS, "default", "web");
        assert_eq!(keys.object(&deployment), "/registry/apps/deployments/default/web");
        for key in [pod, node, deployment] {
            assert_eq!(keys.parse(keys.object(&key).as_bytes()), Some(key));
        }
        assert_eq!(keys.parse(b"/other/core/pods/default/web"), None);
        assert_eq!(keys.collection(NODES, Some("")), keys.collection(NODES, None), "cluster-scoped lists");
    }

    #[test]
    fn the_prefix_range_ends_after_every_key_with_the_prefix() {
        assert_eq!(prefix_end("/a/"), b"/a0".to_vec());
        assert_eq!(prefix_end("a\u{7f}"), b"a\x80".to_vec());
    }
}
