//! Requests the namespace controller needs beyond its actions (the `finalize` subresource), and
//! the action→request mapping re-exported from [`crate::client::requests`] under the name the
//! controllers' tests use.

use crate::api::{ApiRequest, Method};
pub use crate::client::requests::{RequestError, request_for_action as action_request};

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
    use crate::controllers::action::{Action, PropagationPolicy};
    use crate::controllers::action::{EventType, event_action, object_reference};
    use crate::controllers::test_world::{now, send};
    use crate::object::Object;
    use crate::object::kinds::GroupResource;
    use crate::store::MemoryStore;

    fn server() -> ApiServer<MemoryStore> {
        let mut server = ApiServer::new(MemoryStore::new(), 7);
        server.bootstrap(now()).unwrap();
        server
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
        assert_eq!((status, &body["metadata"]["finalizers"]), (200, &json!(["foregroundDeletion"])));
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
