//! The hostile-request property: random sequences of well-formed and hostile requests (extreme
//! numbers, deep nesting, huge lists, garbage bodies, every patch type, every subresource) sent
//! through [`ApiServer::handle`]. Whatever arrives, the server answers without panicking; every
//! answer is a Kubernetes `Status` or an object; the store's revision never goes back; and every
//! acknowledged write can be read back.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::store::Store;

/// Numbers (and one non-number) a client may put where the server expects a count or seconds.
const EXTREMES: [&str; 10] = [
    "0",
    "-1",
    "1",
    "30",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "1e308",
    "9007199254740993",
    "\"abc\"",
];

/// The collections the property writes to: (collection path, kind, apiVersion).
const RESOURCES: [(&str, &str, &str); 8] = [
    ("/api/v1/namespaces/default/pods", "Pod", "v1"),
    ("/api/v1/namespaces/default/configmaps", "ConfigMap", "v1"),
    ("/apis/apps/v1/namespaces/default/deployments", "Deployment", "apps/v1"),
    ("/api/v1/namespaces/default/services", "Service", "v1"),
    ("/api/v1/namespaces", "Namespace", "v1"),
    ("/api/v1/nodes", "Node", "v1"),
    ("/apis/policy/v1/namespaces/default/poddisruptionbudgets", "PodDisruptionBudget", "policy/v1"),
    ("/apis/apps/v1/namespaces/default/replicasets", "ReplicaSet", "apps/v1"),
];

const SUBRESOURCES: [&str; 6] = ["", "/status", "/scale", "/binding", "/eviction", "/finalize"];

/// One request, as small choices the shrinker can reduce.
#[derive(Clone, Debug)]
struct Pick {
    method: u8,
    resource: u8,
    name: u8,
    subresource: u8,
    body: u8,
    number: u8,
    query: u8,
}

fn pick() -> impl Strategy<Value = Pick> {
    (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()).prop_map(
        |(method, resource, name, subresource, body, number, query)| Pick {
            method,
            resource,
            name,
            subresource,
            body,
            number,
            query,
        },
    )
}

fn choose<T: Copy>(items: &[T], index: u8) -> T {
    items[usize::from(index) % items.len()]
}

fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!({"a": [inner]}))
}

/// A valid-looking object of `kind` named `name`, carrying `number` where the kind has counts.
fn object(kind: &str, api_version: &str, name: &str, number: &Value) -> Value {
    let metadata = json!({"name": name, "labels": {"app": "web"}, "finalizers": ["example.com/keep"]});
    let mut object = json!({"apiVersion": api_version, "kind": kind, "metadata": metadata});
    let containers = json!([{"name": "c", "image": "nginx", "ports": [{"containerPort": number, "protocol": "TCP"}]}]);
    let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}});
    match kind {
        "Pod" => {
            object["spec"] = json!({"containers": containers, "nodeName": "node-1",
                "terminationGracePeriodSeconds": number, "activeDeadlineSeconds": number});
        }
        "ConfigMap" => object["data"] = json!({"key": "value"}),
        "Deployment" | "ReplicaSet" => {
            object["spec"] =
                json!({"replicas": number, "selector": {"matchLabels": {"app": "web"}}, "template": template});
        }
        "Service" => object["spec"] = json!({"ports": [{"port": number}], "selector": {"app": "web"}}),
        "PodDisruptionBudget" => {
            object["spec"] = json!({"minAvailable": number, "selector": {"matchLabels": {"app": "web"}}});
        }
        _ => {}
    }
    object
}

/// A body for `pick`: valid objects, subresource bodies, deep nesting, huge lists or garbage.
fn body(pick: &Pick, kind: &str, api_version: &str, name: &str, number: &Value) -> Vec<u8> {
    let value = match pick.body % 9 {
        0 | 1 => object(kind, api_version, name, number),
        2 => object(kind, api_version, name, &json!(1)),
        3 => json!({"metadata": {"name": name}, "spec": nested(usize::from(pick.number) % 140)}),
        4 => {
            let mut huge = object(kind, api_version, name, &json!(1));
            let finalizers: Vec<String> = (0..5_000).map(|index| format!("example.com/f{index}")).collect();
            huge["metadata"]["finalizers"] = json!(finalizers);
            huge
        }
        5 => json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name}, "target": {"name": "node-1"}}),
        6 => json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name},
            "deleteOptions": {"gracePeriodSeconds": number, "preconditions": {"uid": "x"}, "dryRun": ["All"]}}),
        7 => {
            json!({"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {"name": name}, "spec": {"replicas": number}})
        }
        _ => {
            return choose(&[&b"[]"[..], b"null", b"{", b"\"x\"", b"1e999", b"{\"metadata\": 7}"], pick.number)
                .to_vec();
        }
    };
    value.to_string().into_bytes()
}

/// A PATCH body and its content type.
fn patch(pick: &Pick, number: &Value) -> (&'static str, Vec<u8>) {
    let patch = match pick.body % 8 {
        0 => {
            let copies = (0..usize::from(pick.number % 40))
                .map(|_| json!({"op": "copy", "from": "/metadata", "path": "/metadata/annotations"}));
            let operations: Vec<Value> = copies
                .chain([
                    json!({"op": "add", "path": "/metadata/finalizers/-", "value": "example.com/more"}),
                    json!({"op": "replace", "path": "/spec/replicas", "value": number}),
                ])
                .collect();
            return ("application/json-patch+json", Value::Array(operations).to_string().into_bytes());
        }
        1 => {
            let operations = json!([{"op": "remove", "path": ""}, {"op": "move", "from": "/metadata", "path": "/metadata/x"},
                {"op": "test", "path": "/kind", "value": number}]);
            return ("application/json-patch+json", operations.to_string().into_bytes());
        }
        2 => {
            let patch = json!({"metadata": {"finalizers": null, "labels": {"a": "b"}}, "spec": {"replicas": number}});
            return ("application/merge-patch+json", patch.to_string().into_bytes());
        }
        3 => {
            json!({"metadata": {"finalizers": ["example.com/x"], "$deleteFromPrimitiveList/finalizers": ["example.com/keep"]},
            "spec": {"containers": [{"name": "c", "$patch": "delete"}, {"name": "d", "image": "x"}],
                "$setElementOrder/containers": [{"name": "d"}, {"name": "z"}], "$retainKeys": number}})
        }
        4 => json!({"spec": {"ports": [{"port": number, "$patch": "replace"}], "$patch": number}}),
        5 => json!({"metadata": {"$patch": "delete"}, "spec": nested(usize::from(pick.number) % 140)}),
        6 => {
            let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: &d {a: b}\nbinaryData: *d\n";
            return ("application/apply-patch+yaml", yaml.as_bytes().to_vec());
        }
        _ => {
            let (_, kind, api_version) = choose(&RESOURCES, pick.resource);
            let object = object(kind, api_version, "a", number);
            return ("application/apply-patch+yaml", object.to_string().into_bytes());
        }
    };
    ("application/strategic-merge-patch+json", patch.to_string().into_bytes())
}

fn query(pick: &Pick, number: &str) -> String {
    let number = number.trim_matches('"');
    let options = [
        String::new(),
        format!("gracePeriodSeconds={number}"),
        "dryRun=All".to_string(),
        format!("limit={number}"),
        format!("resourceVersion={number}"),
        format!("resourceVersionMatch=Exact&resourceVersion={number}"),
        "labelSelector=a%3D%3D%3D%28".to_string(),
        "fieldSelector=spec.nodeName%3Dnode-1".to_string(),
        "continue=garbage".to_string(),
        format!("timeoutSeconds={number}"),
        "propagationPolicy=Foreground".to_string(),
        "propagationPolicy=Orphan&gracePeriodSeconds=0".to_string(),
        "fieldValidation=Strict".to_string(),
        "sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan".to_string(),
    ];
    options[usize::from(pick.query) % options.len()].clone()
}

/// The request a pick stands for.
fn request(pick: &Pick) -> ApiRequest {
    let (collection, kind, api_version) = choose(&RESOURCES, pick.resource);
    // Mostly one name and the main resource, so that writes meet the objects earlier writes made.
    let name = choose(&["a", "a", "a", "b", "default", ""], pick.name);
    let subresource = if pick.subresource.is_multiple_of(2) { "" } else { choose(&SUBRESOURCES, pick.subresource / 2) };
    let number_text = choose(&EXTREMES, pick.number);
    let number: Value = serde_json::from_str(number_text).unwrap_or(Value::Null);
    let query = query(pick, number_text);
    let object_path = format!("{collection}/{name}{subresource}");
    let with_query = |path: &str| if query.is_empty() { path.to_string() } else { format!("{path}?{query}") };
    match pick.method % 9 {
        0 => ApiRequest::new(Method::Get, &with_query(&object_path)),
        1 => ApiRequest::new(Method::Get, &with_query(collection)),
        2 => ApiRequest::new(Method::Get, &format!("{collection}?watch=true&{query}")),
        3..=5 => {
            let path = if subresource.is_empty() { collection.to_string() } else { object_path };
            ApiRequest::new(Method::Post, &with_query(&path))
                .with_body("application/json", body(pick, kind, api_version, name, &number))
        }
        6 => ApiRequest::new(Method::Put, &with_query(&object_path))
            .with_body("application/json", body(pick, kind, api_version, name, &number)),
        7 => {
            let (content_type, patch) = patch(pick, &number);
            ApiRequest::new(Method::Patch, &with_query(&object_path)).with_body(content_type, patch)
        }
        _ => {
            let path = if pick.name % 5 == 4 { collection.to_string() } else { object_path };
            let request = ApiRequest::new(Method::Delete, &with_query(&path));
            if pick.body.is_multiple_of(2) {
                let options = json!({"gracePeriodSeconds": number, "propagationPolicy": "Foreground"});
                request.with_json(&options)
            } else {
                request
            }
        }
    }
}

/// Checks one answer is a Status (for every error) or an object with a kind.
fn check_body(status: u16, body: &Value) -> Result<(), TestCaseError> {
    prop_assert!((200..600).contains(&status), "status {status}");
    let kind = body["kind"].as_str().unwrap_or("");
    prop_assert!(!kind.is_empty(), "an answer without kind: {status} {body}");
    if status >= 400 {
        prop_assert_eq!(kind, "Status", "{}", body);
        prop_assert_eq!(body["status"].as_str(), Some("Failure"), "{}", body);
        prop_assert_eq!(body["code"].as_u64(), Some(u64::from(status)), "{}", body);
        prop_assert!(body["message"].as_str().is_some_and(|message| !message.is_empty()), "{}", body);
    } else if kind == "Status" {
        prop_assert_eq!(body["status"].as_str(), Some("Success"), "{}", body);
    }
    Ok(())
}

/// Checks that an acknowledged write of an object can be read back at its revision or later;
/// only a write that deleted the object (it carried a deletionTimestamp) may leave it gone.
fn check_readable(
    server: &mut ApiServer<MemoryStore>,
    request: &ApiRequest,
    body: &Value,
) -> Result<(), TestCaseError> {
    let dry_run = request.query_param("dryRun").is_some();
    let is_write = matches!(request.method, Method::Post | Method::Put | Method::Patch);
    let kind = body["kind"].as_str().unwrap_or("");
    let Some(written) = body["metadata"]["resourceVersion"].as_str().and_then(|text| text.parse::<u64>().ok()) else {
        return Ok(());
    };
    if dry_run || !is_write || kind == "Status" || kind == "Scale" || kind.ends_with("List") {
        return Ok(());
    }
    let name = body["metadata"]["name"].as_str().unwrap_or("");
    let collection = RESOURCES.iter().find(|(_, resource_kind, _)| *resource_kind == kind).map(|(path, _, _)| *path);
    let Some(collection) = collection else { return Ok(()) };
    let (status, read) = get(server, &format!("{collection}/{name}"));
    if status == 404 {
        prop_assert!(body["metadata"]["deletionTimestamp"].is_string(), "acknowledged write lost: {body}");
        return Ok(());
    }
    prop_assert_eq!(status, 200, "{}", read);
    let read_revision = read["metadata"]["resourceVersion"].as_str().and_then(|text| text.parse::<u64>().ok());
    prop_assert!(read_revision.is_some_and(|revision| revision >= written), "{read} after {body}");
    Ok(())
}

fn run(picks: &[Pick]) -> Result<(), TestCaseError> {
    let mut server = server();
    let mut revision = server.store().current_revision();
    for pick in picks {
        let request = request(pick);
        match server.handle(&request, now()) {
            ApiResponse::Json { status, body, .. } => {
                check_body(status, &body)?;
                if (200..300).contains(&status) {
                    check_readable(&mut server, &request, &body)?;
                }
            }
            ApiResponse::Encoded { status, body } => {
                let body: Value =
                    serde_json::from_slice(&body).map_err(|error| TestCaseError::fail(error.to_string()))?;
                check_body(status, &body)?;
            }
            ApiResponse::Watch(mut stream) => {
                for frame in stream.poll(server.store()) {
                    prop_assert!(frame["type"].is_string() && frame["object"]["kind"].is_string(), "{frame}");
                }
            }
        }
        let now_revision = server.store().current_revision();
        prop_assert!(now_revision >= revision, "revision went back from {revision} to {now_revision}");
        revision = now_revision;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_request_sequence_crashes_the_server_or_loses_an_acknowledged_write(
        picks in prop::collection::vec(pick(), 1..14)
    ) {
        run(&picks)?;
    }
}

/// The sequences the property found worth keeping, replayed every run.
#[test]
fn known_hostile_sequences_are_answered() {
    let delete_at_the_end_of_time = [
        Pick { method: 3, resource: 0, name: 0, subresource: 0, body: 2, number: 0, query: 0 },
        Pick { method: 8, resource: 0, name: 0, subresource: 0, body: 1, number: 4, query: 1 },
    ];
    run(&delete_at_the_end_of_time).unwrap();
}
