//! Turns a controller's [`Action`] into the REST request that carries it out, as client-go would
//! send it: POST to the collection, PUT to the object or its `status`, PATCH with the patch type's
//! Content-Type, DELETE with `DeleteOptions` (preconditions, propagationPolicy).

use serde_json::{Value, json};

use super::action::{Action, PropagationPolicy};
use crate::api::{ApiRequest, Method};
use crate::object::Object;
use crate::object::kinds::{self, GroupResource, ResourceType};

use super::paths::{collection_path, object_path, subresource_path};

/// Why an action has no request: it names a kind the kinds table does not serve. A controller
/// only ever builds actions for served kinds, so this is a bug report, not user input.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RequestError {
    /// The object's apiVersion and kind are not served.
    #[error("no served resource for apiVersion {api_version:?} kind {kind:?}")]
    UnknownKind {
        /// The object's apiVersion.
        api_version: String,
        /// The object's kind.
        kind: String,
    },
    /// A deletecollection without a namespace, which would empty the resource cluster-wide.
    #[error("deletecollection of {group_resource:?} names no namespace")]
    CollectionWithoutNamespace {
        /// The collection named by the action.
        group_resource: GroupResource,
    },
    /// The group/resource is not served.
    #[error("no served resource for {group_resource:?}")]
    UnknownResource {
        /// The collection named by the action.
        group_resource: GroupResource,
    },
}

/// The request that carries out `action`.
pub fn request_for_action(action: &Action) -> Result<ApiRequest, RequestError> {
    match action {
        Action::Create { object, .. } => {
            let resource = resource_of(object)?;
            let path = collection_path(resource, Some(object.namespace()));
            Ok(ApiRequest::new(Method::Post, &path).with_json(&object.to_value()))
        }
        Action::Update { object } => {
            let resource = resource_of(object)?;
            let path = object_path(resource, object.namespace(), object.name());
            Ok(ApiRequest::new(Method::Put, &path).with_json(&object.to_value()))
        }
        Action::UpdateStatus { object } => {
            let resource = resource_of(object)?;
            let path = subresource_path(resource, object.namespace(), object.name(), "status");
            Ok(ApiRequest::new(Method::Put, &path).with_json(&object.to_value()))
        }
        Action::Finalize { object } => {
            let resource = resource_of(object)?;
            let path = subresource_path(resource, object.namespace(), object.name(), "finalize");
            Ok(ApiRequest::new(Method::Put, &path).with_json(&object.to_value()))
        }
        Action::Patch { resource, namespace, name, patch_type, body } => {
            // A subresource travels in the resource name (`deployments/scale`), as the HPA
            // controller patches the scale of whatever it targets.
            let (plural, subresource) = split_subresource(resource.resource);
            let served = served(GroupResource { group: resource.group, resource: plural })?;
            let path = match subresource {
                Some(subresource) => subresource_path(served, namespace, name, subresource),
                None => object_path(served, namespace, name),
            };
            Ok(ApiRequest::new(Method::Patch, &path)
                .with_body(patch_type.content_type(), crate::api::to_json_bytes(body)))
        }
        Action::Delete { resource, namespace, name, preconditions, propagation_policy } => {
            let path = object_path(served(*resource)?, namespace, name);
            let mut options = delete_options(preconditions);
            if let Some(policy) = propagation_policy {
                options["propagationPolicy"] = json!(propagation_policy_name(*policy));
            }
            Ok(ApiRequest::new(Method::Delete, &path).with_json(&options))
        }
        Action::DeleteCollection { resource, namespace, propagation_policy } => {
            if namespace.is_empty() {
                return Err(RequestError::CollectionWithoutNamespace { group_resource: *resource });
            }
            let path = collection_path(served(*resource)?, Some(namespace));
            let mut options = delete_options(&Default::default());
            if let Some(policy) = propagation_policy {
                options["propagationPolicy"] = json!(propagation_policy_name(*policy));
            }
            Ok(ApiRequest::new(Method::Delete, &path).with_json(&options))
        }
        Action::ForceDelete { resource, namespace, name, preconditions } => {
            let path = object_path(served(*resource)?, namespace, name);
            let mut options = delete_options(preconditions);
            options["gracePeriodSeconds"] = json!(0);
            Ok(ApiRequest::new(Method::Delete, &path).with_json(&options))
        }
        Action::Event { event } => {
            let events = served(GroupResource { group: "", resource: "events" })?;
            let namespace = event.metadata.namespace.as_deref().unwrap_or("default");
            let mut body = serde_json::to_value(event.as_ref()).unwrap_or(Value::Null);
            body["apiVersion"] = json!("v1");
            body["kind"] = json!("Event");
            Ok(ApiRequest::new(Method::Post, &collection_path(events, Some(namespace))).with_json(&body))
        }
    }
}

/// `DeleteOptions` with the preconditions, when there are any.
fn delete_options(preconditions: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Preconditions) -> Value {
    let mut options = json!({"apiVersion": "v1", "kind": "DeleteOptions"});
    let preconditions = serde_json::to_value(preconditions).unwrap_or(Value::Null);
    if preconditions.as_object().is_some_and(|fields| !fields.is_empty()) {
        options["preconditions"] = preconditions;
    }
    options
}

/// The wire name of a propagation policy.
pub fn propagation_policy_name(policy: PropagationPolicy) -> &'static str {
    match policy {
        PropagationPolicy::Background => "Background",
        PropagationPolicy::Foreground => "Foreground",
        PropagationPolicy::Orphan => "Orphan",
    }
}

/// Splits `deployments/scale` into the plural and the subresource.
fn split_subresource(resource: &'static str) -> (&'static str, Option<&'static str>) {
    match resource.split_once('/') {
        Some((plural, subresource)) => (plural, Some(subresource)),
        None => (resource, None),
    }
}

fn resource_of(object: &Object) -> Result<&'static ResourceType, RequestError> {
    kinds::by_api_version_kind(&object.api_version, &object.kind)
        .ok_or_else(|| RequestError::UnknownKind { api_version: object.api_version.clone(), kind: object.kind.clone() })
}

fn served(group_resource: GroupResource) -> Result<&'static ResourceType, RequestError> {
    kinds::storage_version(group_resource).ok_or(RequestError::UnknownResource { group_resource })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Preconditions;

    use super::*;
    use crate::client::action::PatchType;

    fn pod() -> Object {
        Object::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "team-a", "resourceVersion": "7"},
            "spec": {"containers": [{"name": "web", "image": "nginx"}]}
        }))
        .unwrap()
    }

    fn body(request: &ApiRequest) -> Value {
        serde_json::from_slice(&request.body).unwrap()
    }

    #[test]
    fn a_create_posts_to_the_namespaced_collection() {
        let request = request_for_action(&Action::Create { object: pod(), on_created: None }).unwrap();
        assert_eq!((request.method, request.path.as_str()), (Method::Post, "/api/v1/namespaces/team-a/pods"));
        assert_eq!(body(&request)["metadata"]["name"], "web-1");
    }

    #[test]
    fn an_update_status_puts_to_the_status_subresource() {
        let request = request_for_action(&Action::UpdateStatus { object: pod() }).unwrap();
        assert_eq!(
            (request.method, request.path.as_str()),
            (Method::Put, "/api/v1/namespaces/team-a/pods/web-1/status")
        );
    }

    #[test]
    fn a_patch_carries_its_content_type() {
        let action = Action::Patch {
            resource: GroupResource { group: "apps", resource: "replicasets" },
            namespace: "a".into(),
            name: "web-abc".into(),
            patch_type: PatchType::StrategicMerge,
            body: json!({"metadata": {"ownerReferences": []}}),
        };
        let request = request_for_action(&action).unwrap();
        assert_eq!(request.path, "/apis/apps/v1/namespaces/a/replicasets/web-abc");
        assert_eq!(request.header("Content-Type"), Some("application/strategic-merge-patch+json"));
    }

    #[test]
    fn a_patch_of_a_scale_subresource_goes_to_the_subresource_path() {
        let action = Action::Patch {
            resource: GroupResource { group: "apps", resource: "deployments/scale" },
            namespace: "a".into(),
            name: "web".into(),
            patch_type: PatchType::Merge,
            body: json!({"spec": {"replicas": 4}}),
        };
        let request = request_for_action(&action).unwrap();
        assert_eq!(request.path, "/apis/apps/v1/namespaces/a/deployments/web/scale");
    }

    #[test]
    fn a_delete_sends_preconditions_and_propagation_policy() {
        let action = Action::Delete {
            resource: GroupResource { group: "", resource: "pods" },
            namespace: "a".into(),
            name: "p".into(),
            preconditions: Preconditions { uid: Some("u-1".into()), resource_version: None },
            propagation_policy: Some(PropagationPolicy::Foreground),
        };
        let request = request_for_action(&action).unwrap();
        assert_eq!(request.method, Method::Delete);
        assert_eq!(body(&request)["preconditions"], json!({"uid": "u-1"}));
        assert_eq!(body(&request)["propagationPolicy"], "Foreground");
    }

    #[test]
    fn a_delete_collection_deletes_the_namespaced_collection_and_never_a_cluster_wide_one() {
        let action = |namespace: &str| Action::DeleteCollection {
            resource: GroupResource { group: "apps", resource: "deployments" },
            namespace: namespace.into(),
            propagation_policy: Some(PropagationPolicy::Background),
        };
        let request = request_for_action(&action("shop")).unwrap();
        assert_eq!(
            (request.method, request.path.as_str()),
            (Method::Delete, "/apis/apps/v1/namespaces/shop/deployments")
        );
        assert_eq!(body(&request)["propagationPolicy"], "Background");
        assert_eq!(body(&request).get("preconditions"), None);
        assert_eq!(
            request_for_action(&action("")),
            Err(RequestError::CollectionWithoutNamespace {
                group_resource: GroupResource { group: "apps", resource: "deployments" }
            })
        );
    }

    #[test]
    fn an_unserved_kind_is_an_error_not_a_panic() {
        let mut object = pod();
        object.kind = "Prometheus".into();
        object.api_version = "monitoring.coreos.com/v1".into();
        assert!(matches!(
            request_for_action(&Action::Create { object, on_created: None }),
            Err(RequestError::UnknownKind { .. })
        ));
    }
}
