//! Aggregated discovery (`apidiscovery.k8s.io/v2`): every resource of every group version in one
//! answer to `GET /api` or `GET /apis`, which kubectl 1.32 asks for first with
//! `Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`. Built from
//! the same `APIResourceList` documents as the legacy discovery, so the two never disagree.

use serde_json::{Map, Value, json};

use super::discovery::{resource_list, served_group_versions};
use super::request::ApiRequest;

/// The media type of an aggregated discovery answer, exactly as Kubernetes sends it.
pub const AGGREGATED_DISCOVERY_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the request's `Accept` header asks for aggregated discovery before anything else it
/// accepts.
pub fn wants_aggregated(request: &ApiRequest) -> bool {
    let accept = request.header("accept").unwrap_or("");
    accept.split(',').next().is_some_and(|first| {
        let mut parts = first.split(';').map(str::trim);
        let media_type = parts.next().unwrap_or("");
        let parameters: Vec<&str> = parts.collect();
        media_type.eq_ignore_ascii_case("application/json")
            && parameters.contains(&"g=apidiscovery.k8s.io")
            && parameters.contains(&"v=v2")
            && parameters.contains(&"as=APIGroupDiscoveryList")
    })
}

/// The `APIGroupDiscoveryList` of the core group (`core: true`, for `/api`) or of every named
/// group (`/apis`).
pub fn aggregated_discovery(core: bool) -> Value {
    let mut groups: Vec<(&str, Vec<Value>)> = Vec::new();
    for (group, version) in served_group_versions() {
        if group.is_empty() != core {
            continue;
        }
        let Some(list) = resource_list(group, version) else { continue };
        let entry = json!({"version": version, "resources": resources(group, version, &list), "freshness": "Current"});
        match groups.iter_mut().find(|(name, _)| *name == group) {
            Some((_, versions)) => versions.push(entry),
            None => groups.push((group, vec![entry])),
        }
    }
    let items: Vec<Value> = groups
        .into_iter()
        .map(|(group, versions)| {
            let mut metadata = Map::new();
            if !group.is_empty() {
                metadata.insert("name".into(), group.into());
            }
            metadata.insert("creationTimestamp".into(), Value::Null);
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

/// The `APIResourceDiscovery` entries of one group version, from its `APIResourceList`:
/// subresources (`pods/status`) nest under their resource.
fn resources(group: &str, version: &str, list: &Value) -> Vec<Value> {
    let entries = list["resources"].as_array().cloned().unwrap_or_default();
    let mut resources: Vec<Value> = Vec::new();
    for entry in &entries {
        let name = entry["name"].as_str().unwrap_or("");
        let response_kind = |entry: &Value| {
            json!({
                "group": entry.get("group").and_then(Value::as_str).unwrap_or(group),
                "version": entry.get("version").and_then(Value::as_str).unwrap_or(version),
                "kind": entry["kind"],
            })
        };
        match name.split_once('/') {
            None => {
                let mut resource = Map::new();
                resource.insert("resource".into(), name.into());
                resource.insert("responseKind".into(), response_kind(entry));
                let scope = if entry["namespaced"] == true { "Namespaced" } else { "Cluster" };
                resource.insert("scope".into(), scope.into());
                resource.insert("singularResource".into(), entry["singularName"].clone());
                resource.insert("verbs".into(), entry["verbs"].clone());
                for optional in ["shortNames", "categories"] {
                    if let Some(value) = entry.get(optional) {
                        resource.insert(optional.into(), value.clone());
                    }
                }
                resources.push(Value::Object(resource));
            }
            Some((parent, subresource)) => {
                let Some(parent) = resources.iter_mut().find(|resource| resource["resource"] == parent) else {
                    continue;
                };
                let entry =
                    json!({"subresource": subresource, "responseKind": response_kind(entry), "verbs": entry["verbs"]});
                match parent.get_mut("subresources").and_then(Value::as_array_mut) {
                    Some(subresources) => subresources.push(entry),
                    None => parent["subresources"] = json!([entry]),
                }
            }
        }
    }
    resources
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Method;

    #[test]
    fn kubectl_first_asks_for_aggregated_discovery() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert!(wants_aggregated(&ApiRequest::new(Method::Get, "/apis").with_header("Accept", kubectl)));
        assert!(!wants_aggregated(&ApiRequest::new(Method::Get, "/apis").with_header("Accept", "application/json")));
    }

    #[test]
    fn deployments_carry_their_scale_and_status_subresources() {
        let list = aggregated_discovery(false);
        let apps = list["items"].as_array().unwrap().iter().find(|item| item["metadata"]["name"] == "apps").unwrap();
        let v1 = &apps["versions"][0];
        assert_eq!((v1["version"].as_str(), v1["freshness"].as_str()), (Some("v1"), Some("Current")));
        let deployments =
            v1["resources"].as_array().unwrap().iter().find(|resource| resource["resource"] == "deployments").unwrap();
        assert_eq!(deployments["responseKind"], json!({"group": "apps", "version": "v1", "kind": "Deployment"}));
        assert_eq!(deployments["scope"], "Namespaced");
        let scale =
            deployments["subresources"].as_array().unwrap().iter().find(|sub| sub["subresource"] == "scale").unwrap();
        assert_eq!(scale["responseKind"], json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}));
        let core = aggregated_discovery(true);
        assert_eq!(core["items"].as_array().unwrap().len(), 1);
        assert!(core["items"][0]["metadata"].get("name").is_none());
    }
}
