//! Negotiation and reads as kubectl and client-go ask for them: Tables and metadata for get, list
//! and watch, list option validation, dry runs of every write, resourceVersion preconditions in
//! patches, expired continue tokens and aggregated discovery.

use serde_json::json;

use super::*;
use crate::api::WatchStream;
use crate::store::Store;

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
const METADATA: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

fn watch(server: &mut ApiServer<MemoryStore>, path: &str, accept: &str) -> Box<WatchStream> {
    match server.handle(&ApiRequest::new(Method::Get, path).with_header("Accept", accept), now()) {
        ApiResponse::Watch(stream) => stream,
        other => panic!("not a watch: {:?}", other.status()),
    }
}

fn get_as(server: &mut ApiServer<MemoryStore>, path: &str, accept: &str) -> (u16, Value) {
    send(server, ApiRequest::new(Method::Get, path).with_header("Accept", accept))
}

/// Rows of Kubernetes' `TestValidateListOptions` (apimachinery
/// pkg/apis/meta/internalversion/validation), answered as 422 Invalid on `ListOptions`.
#[test]
fn list_options_are_validated_as_kubernetes_validates_them() {
    let mut server = server();
    let rows = [
        (
            "?resourceVersionMatch=Exact",
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        ),
        (
            "?resourceVersion=0&resourceVersionMatch=Exact",
            "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
        ),
        (
            "?resourceVersion=1&resourceVersionMatch=bogus",
            "resourceVersionMatch: Unsupported value: \"bogus\": supported values: \"Exact\", \"NotOlderThan\", \"\"",
        ),
        ("?sendInitialEvents=true", "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"),
        (
            "?watch=1&resourceVersion=1&resourceVersionMatch=NotOlderThan",
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        ),
        (
            "?watch=1&sendInitialEvents=true",
            "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ),
    ];
    for (query, expected) in rows {
        let (status, body) = get(&mut server, &format!("/api/v1/namespaces/default/pods{query}"));
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["message"], format!("ListOptions.meta.k8s.io \"\" is invalid: {expected}"), "{query}");
        assert_eq!(
            (body["details"]["group"].as_str(), body["details"]["kind"].as_str()),
            (Some("meta.k8s.io"), Some("ListOptions"))
        );
    }
    let accepted = server.handle(
        &ApiRequest::new(
            Method::Get,
            "/api/v1/pods?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true",
        ),
        now(),
    );
    assert!(matches!(accepted, ApiResponse::Watch(_)));
}

#[test]
fn a_watch_for_tables_sends_one_row_tables_with_columns_once() {
    let mut server = server();
    let mut stream = watch(&mut server, "/api/v1/namespaces/default/pods?watch=1", TABLE);
    post(&mut server, "/api/v1/namespaces/default/pods", pod("a", json!({})));
    post(&mut server, "/api/v1/namespaces/default/pods", pod("b", json!({})));
    let frames = stream.poll(server.store());
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0]["object"]["kind"], "Table");
    assert_eq!(frames[0]["object"]["columnDefinitions"][0]["name"], "Name");
    assert_eq!(frames[0]["object"]["rows"][0]["cells"][0], "a");
    assert_eq!(frames[1]["object"]["rows"][0]["cells"][0], "b");
    assert!(frames[1]["object"]["columnDefinitions"].is_null(), "columns only with the first event");
}

#[test]
fn partial_object_metadata_is_served_for_get_list_and_watch() {
    let mut server = server();
    let mut stream = watch(&mut server, "/api/v1/namespaces/default/pods?watch=1", METADATA);
    post(&mut server, "/api/v1/namespaces/default/pods", pod("a", json!({"app": "web"})));
    let (_, object) = get_as(&mut server, "/api/v1/namespaces/default/pods/a", METADATA);
    assert_eq!(
        (object["kind"].as_str(), object["apiVersion"].as_str()),
        (Some("PartialObjectMetadata"), Some("meta.k8s.io/v1"))
    );
    assert_eq!(object["metadata"]["labels"]["app"], "web");
    assert!(object.get("spec").is_none());
    let (_, list) = get_as(&mut server, "/api/v1/namespaces/default/pods", METADATA);
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(list["items"][0]["metadata"]["name"], "a");
    assert!(list["metadata"]["resourceVersion"].is_string());
    let frames = stream.poll(server.store());
    assert_eq!(frames[0]["object"]["kind"], "PartialObjectMetadata");
}

#[test]
fn include_object_chooses_what_table_rows_carry() {
    let mut server = server();
    post(&mut server, "/api/v1/namespaces/default/pods", pod("a", json!({})));
    let (_, none) = get_as(&mut server, "/api/v1/namespaces/default/pods?includeObject=None", TABLE);
    assert!(none["rows"][0].get("object").is_none());
    let (_, metadata) = get_as(&mut server, "/api/v1/namespaces/default/pods", TABLE);
    assert_eq!(metadata["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    let (_, object) = get_as(&mut server, "/api/v1/namespaces/default/pods?includeObject=Object", TABLE);
    assert_eq!(object["rows"][0]["object"]["kind"], "Pod");
    assert_eq!(object["rows"][0]["object"]["spec"]["containers"][0]["name"], "c");
    let (status, _) = get_as(&mut server, "/api/v1/namespaces/default/pods?includeObject=Everything", TABLE);
    assert_eq!(status, 400);
}

#[test]
fn a_dry_run_writes_nothing_on_scale_binding_and_status() {
    let mut server = server();
    post(&mut server, "/apis/apps/v1/namespaces/default/deployments", deployment("web", "nginx"));
    post(&mut server, "/api/v1/namespaces/default/pods", pod("p", json!({})));
    let revision = server.store().current_revision();
    let scale = ApiRequest::new(Method::Patch, "/apis/apps/v1/namespaces/default/deployments/web/scale?dryRun=All")
        .with_body("application/merge-patch+json", br#"{"spec":{"replicas":9}}"#.to_vec());
    let (status, body) = send(&mut server, scale);
    assert_eq!((status, body["spec"]["replicas"].as_i64()), (200, Some(9)), "{body}");
    let binding =
        json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"name": "node-1"}});
    let request =
        ApiRequest::new(Method::Post, "/api/v1/namespaces/default/pods/p/binding?dryRun=All").with_json(&binding);
    assert_eq!(send(&mut server, request).0, 201);
    let (_, stored) = get(&mut server, "/api/v1/namespaces/default/pods/p");
    let mut with_status = stored.clone();
    with_status["status"]["phase"] = json!("Running");
    let request =
        ApiRequest::new(Method::Put, "/api/v1/namespaces/default/pods/p/status?dryRun=All").with_json(&with_status);
    assert_eq!(send(&mut server, request).0, 200);
    assert_eq!(server.store().current_revision(), revision, "no dry run wrote");
    assert_eq!(get(&mut server, "/apis/apps/v1/namespaces/default/deployments/web").1["spec"]["replicas"], 2);
}

/// kubectl label and annotate send the resourceVersion they read inside the patch: a stale one
/// is a 409, as from Kubernetes.
#[test]
fn a_resource_version_inside_a_patch_is_a_precondition() {
    let mut server = server();
    let (_, created) = post(&mut server, "/api/v1/namespaces/default/pods", pod("p", json!({})));
    let version = created["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    let label = |value: &str| {
        let patch = json!({"metadata": {"labels": {"a": value}, "resourceVersion": version}});
        ApiRequest::new(Method::Patch, "/api/v1/namespaces/default/pods/p")
            .with_body("application/merge-patch+json", patch.to_string().into_bytes())
    };
    assert_eq!(send(&mut server, label("one")).0, 200);
    let (status, body) = send(&mut server, label("two"));
    assert_eq!((status, body["reason"].as_str()), (409, Some("Conflict")), "{body}");
}

#[test]
fn a_watch_with_timeout_zero_gets_the_default_timeout() {
    let mut server = server();
    let stream = watch(&mut server, "/api/v1/pods?watch=1&timeoutSeconds=0", "application/json");
    let default = now().checked_add(jiff::SignedDuration::from_secs(crate::limits::WATCH_TIMEOUT_SECONDS_MAX)).unwrap();
    assert_eq!(stream.deadline, Some(default));
    assert!(!stream.timed_out(now()));
}

/// Kubernetes' cacher: an object that stops matching the selector is DELETED as it last
/// matched, at the event's resourceVersion.
#[test]
fn an_object_leaving_the_selection_is_deleted_with_its_previous_state() {
    let mut server = server();
    post(&mut server, "/api/v1/namespaces/default/pods", pod("a", json!({"app": "web"})));
    let mut stream =
        watch(&mut server, "/api/v1/pods?watch=1&labelSelector=app%3Dweb&resourceVersion=1", "application/json");
    stream.poll(server.store());
    let patch = ApiRequest::new(Method::Patch, "/api/v1/namespaces/default/pods/a")
        .with_body("application/merge-patch+json", br#"{"metadata":{"labels":{"app":"db"}}}"#.to_vec());
    let (_, patched) = send(&mut server, patch);
    let frames = stream.poll(server.store());
    assert_eq!(frames[0]["type"], "DELETED");
    assert_eq!(frames[0]["object"]["metadata"]["labels"]["app"], "web");
    assert_eq!(frames[0]["object"]["metadata"]["resourceVersion"], patched["metadata"]["resourceVersion"]);
}

/// Kubernetes' etcd3 `handleCompactedErrorForPaging`: an expired continue token is 410 with a
/// token (revision -1) that continues the list from the same key at the newest state.
#[test]
fn an_expired_continue_token_is_410_with_a_token_that_continues_inconsistently() {
    let mut server = server();
    for name in ["a", "b", "c"] {
        post(&mut server, "/api/v1/namespaces/default/pods", pod(name, json!({})));
    }
    let (_, first) = get(&mut server, "/api/v1/namespaces/default/pods?limit=1");
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    post(&mut server, "/api/v1/namespaces/default/pods", pod("d", json!({})));
    let current = server.store().current_revision();
    server.store_mut().compact(current).unwrap();
    let (status, body) = get(&mut server, &format!("/api/v1/namespaces/default/pods?limit=10&continue={token}"));
    assert_eq!((status, body["reason"].as_str()), (410, Some("Expired")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("use the continue token in this response"));
    let inconsistent = body["metadata"]["continue"].as_str().unwrap();
    let (status, rest) = get(&mut server, &format!("/api/v1/namespaces/default/pods?limit=10&continue={inconsistent}"));
    assert_eq!(status, 200, "{rest}");
    let names: Vec<&str> =
        rest["items"].as_array().unwrap().iter().map(|item| item["metadata"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["b", "c", "d"], "the rest of the list, at the newest state");
}

#[test]
fn aggregated_discovery_answers_with_its_exact_content_type() {
    let mut server = server();
    let accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    let response = server.handle(&ApiRequest::new(Method::Get, "/apis").with_header("Accept", accept), now());
    assert_eq!(
        response.header("content-type"),
        Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    );
    assert_eq!(response.body().unwrap()["kind"], "APIGroupDiscoveryList");
    let legacy = server.handle(&ApiRequest::new(Method::Get, "/apis"), now());
    assert_eq!(legacy.body().unwrap()["kind"], "APIGroupList");
}
