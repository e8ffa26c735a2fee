//! Turns a controller's [`Action`] into the REST request that carries it out, so that a shell
//! (and the end-to-end tests, which drive [`crate::api::ApiServer`] directly) sends exactly what
//! client-go would: the collection or object path of the kind's storage version, the body, and
//! the patch Content-Type.

use serde_json::{Value, json};

use super::action::{Action, PropagationPolicy};
use crate::api::{ApiRequest, Method};
use crate::object::kinds::{self, GroupResource, ResourceType};

/// Why an action could not be turned into a request.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The object's `apiVersion` and `kind` name no served kind.
    #[error("no served kind {kind} at {api_version}")]
    UnknownKind {
        /// The object's `apiVersion`.
        api_version: String,
        /// The object's `kind`.
        kind: String,
    },
    /// The group/resource names no served collection.
    #[error("no served resource {resource} in group {group:?}")]
    UnknownResource {
        /// The API group.
        group: &'static str,
        /// The plural resource name.
        resource: &'static str,
    },
}

/// The REST request that performs `action`.
pub fn action_request(action: &Action) -> Result<ApiRequest, RequestError> {
    Ok(match action {
        Action::Create { object, .. } => {
            let resource = kind_of(&object.api_version, &object.kind)?;
            ApiRequest::new(Method::Post, &collection_path(resource, object.namespace())).with_json(&object.to_value())
        }
        Action::Update { object } | Action::UpdateStatus { object } => {
            let resource = kind_of(&object.api_version, &object.kind)?;
            let mut path = object_path(resource, object.namespace(), object.name());
            if matches!(action, Action::UpdateStatus { .. }) {
                path.push_str("/status");
            }
            ApiRequest::new(Method::Put, &path).with_json(&object.to_value())
        }
        Action::Patch { resource, namespace, name, patch_type, body } => {
            let path = object_path(storage_of(*resource)?, namespace, name);
            let bytes = serde_json::to_vec(body).expect("a JSON value always serializes");
            ApiRequest::new(Method::Patch, &path).with_body(patch_type.content_type(), bytes)
        }
        Action::Delete { resource, namespace, name, preconditions, propagation_policy } => {
            let path = object_path(storage_of(*resource)?, namespace, name);
            let mut options = json!({"kind": "DeleteOptions", "apiVersion": "v1"});
            if preconditions.uid.is_some() || preconditions.resource_version.is_some() {
                options["preconditions"] =
                    json!({"uid": preconditions.uid, "resourceVersion": preconditions.resource_version});
            }
            if let Some(policy) = propagation_policy {
                options["propagationPolicy"] = Value::from(propagation_name(*policy));
            }
            ApiRequest::new(Method::Delete, &path).with_json(&options)
        }
        Action::Event { event } => {
            let namespace = event.metadata.namespace.as_deref().unwrap_or("default");
            let mut body = serde_json::to_value(event).expect("a typed Event always serializes");
            body["apiVersion"] = "v1".into();
            body["kind"] = "Event".into();
            ApiRequest::new(Method::Post, &format!("/api/v1/namespaces/{namespace}/events")).with_json(&body)
        }
    })
}

/// The wire name of a propagation policy.
pub fn propagation_name(policy: PropagationPolicy) -> &'static str {
    match policy {
        PropagationPolicy::Background => "Background",
        PropagationPolicy::Foreground => "Foreground",
        PropagationPolicy::Orphan => "Orphan",
    }
}

/// `/api/v1` or `/apis/<group>/<version>`.
fn group_version_prefix(resource: &ResourceType) -> String {
    if resource.group.is_empty() {
        format!("/api/{}", resource.version)
    } else {
        format!("/apis/{}/{}", resource.group, resource.version)
    }
}

/// The path of a collection, in `namespace` when the kind is namespaced.
pub fn collection_path(resource: &ResourceType, namespace: &str) -> String {
    let prefix = group_version_prefix(resource);
    if resource.is_namespaced() {
        format!("{prefix}/namespaces/{namespace}/{}", resource.plural)
    } else {
        format!("{prefix}/{}", resource.plural)
    }
}

/// The path of one object.
pub fn object_path(resource: &ResourceType, namespace: &str, name: &str) -> String {
    format!("{}/{name}", collection_path(resource, namespace))
}

fn kind_of(api_version: &str, kind: &str) -> Result<&'static ResourceType, RequestError> {
    kinds::by_api_version_kind(api_version, kind)
        .ok_or_else(|| RequestError::UnknownKind { api_version: api_version.to_string(), kind: kind.to_string() })
}

fn storage_of(resource: GroupResource) -> Result<&'static ResourceType, RequestError> {
    kinds::storage_version(resource)
        .ok_or(RequestError::UnknownResource { group: resource.group, resource: resource.resource })
}

/// `PUT /api/v1/namespaces/{name}/finalize` with the namespace whose `spec.finalizers` the
/// namespace controller has cut ([`super::namespace::NamespaceReconciled::finalize`]).
pub fn finalize_request(namespace: &k8s_openapi::api::core::v1::Namespace) -> ApiRequest {
    let name = namespace.metadata.name.as_deref().unwrap_or("");
    let body = serde_json::to_value(namespace).expect("a typed Namespace always serializes");
    ApiRequest::new(Method::Put, &format!("/api/v1/namespaces/{name}/finalize")).with_json(&body)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Preconditions};
    use serde_json::json;

    use super::*;
    use crate::api::ApiServer;
    use crate::controllers::action::{EventType, event_action, object_reference};
    use crate::controllers::test_world::{now, send};
    use crate::object::Object;
    use crate::store::MemoryStore;

    fn server() -> ApiServer<MemoryStore> {
        let mut server = ApiServer::new(MemoryStore::new(), 7);
        server.bootstrap(now()).unwrap();
        server
    }

    #[test]
    fn paths_follow_the_storage_version_and_scope_of_each_kind() {
        let deployments = kinds::by_api_version_kind("apps/v1", "Deployment").unwrap();
        assert_eq!(object_path(deployments, "ns", "web"), "/apis/apps/v1/namespaces/ns/deployments/web");
        let nodes = kinds::by_api_version_kind("v1", "Node").unwrap();
        assert_eq!(collection_path(nodes, "ignored"), "/api/v1/nodes");
    }

    #[test]
    fn an_event_action_is_accepted_by_the_api_server() {
        let mut server = server();
        let metadata =
            ObjectMeta { name: Some("p".into()), namespace: Some("default".into()), ..ObjectMeta::default() };
        let involved = object_reference("v1", "Pod", &metadata);
        let action = event_action(&involved, "test", EventType::Warning, "Reason", "message", now());
        let (status, body) = send(&mut server, action_request(&action).unwrap());
        assert_eq!((status, body["reason"].as_str()), (201, Some("Reason")));
    }

    #[test]
    fn a_delete_carries_its_uid_precondition_and_propagation_policy() {
        let mut server = server();
        let config_map =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}});
        let create = Action::Create { object: Object::from_value(config_map).unwrap(), on_created: None };
        let (status, created) = send(&mut server, action_request(&create).unwrap());
        assert_eq!(status, 201);
        let delete = |uid: &str| Action::Delete {
            resource: GroupResource { group: "", resource: "configmaps" },
            namespace: "default".into(),
            name: "c".into(),
            preconditions: Preconditions { uid: Some(uid.to_string()), resource_version: None },
            propagation_policy: Some(PropagationPolicy::Foreground),
        };
        assert_eq!(send(&mut server, action_request(&delete("another")).unwrap()).0, 409);
        let uid = created["metadata"]["uid"].as_str().unwrap();
        let (status, body) = send(&mut server, action_request(&delete(uid)).unwrap());
        assert_eq!((status, &body["metadata"]["finalizers"]), (202, &json!(["foregroundDeletion"])));
    }

    #[test]
    fn a_patch_is_sent_with_its_content_type() {
        let action = Action::Patch {
            resource: GroupResource { group: "apps", resource: "replicasets" },
            namespace: "ns".into(),
            name: "web".into(),
            patch_type: crate::controllers::PatchType::StrategicMerge,
            body: json!({"metadata": {}}),
        };
        let request = action_request(&action).unwrap();
        assert_eq!(request.path, "/apis/apps/v1/namespaces/ns/replicasets/web");
        assert_eq!(request.header("content-type"), Some("application/strategic-merge-patch+json"));
    }
}
