//! create, get, list, update, patch and delete.

use serde_json::json;

use super::*;

#[test]
fn create_defaults_and_answers_201_then_a_duplicate_is_409() {
    let mut server = server();
    let (status, body) = post(&mut server, "/apis/apps/v1/namespaces/default/deployments", deployment("web", "nginx"));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["metadata"]["generation"], 1);
    assert_eq!(body["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(body["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "Always");
    assert_eq!(body["metadata"]["namespace"], "default");
    let (status, body) = post(&mut server, "/apis/apps/v1/namespaces/default/deployments", deployment("web", "nginx"));
    assert_eq!(status, 409);
    assert_eq!(body["reason"], "AlreadyExists");
    assert_eq!(body["message"], "deployments.apps \"web\" already exists");
}

#[test]
fn a_missing_object_is_a_404_status() {
    let mut server = server();
    let (status, body) = get(&mut server, "/apis/apps/v1/namespaces/default/deployments/nosuch");
    assert_eq!(status, 404);
    assert_eq!(body["message"], "deployments.apps \"nosuch\" not found");
    let (status, _) = get(&mut server, "/apis/apps/v1/namespaces/default/widgets");
    assert_eq!(status, 404);
}

#[test]
fn an_invalid_object_is_422_with_field_causes() {
    let mut server = server();
    let mut broken = deployment("web", "nginx");
    broken["spec"]["template"]["spec"]["containers"][0].as_object_mut().unwrap().remove("image");
    let (status, body) = post(&mut server, "/apis/apps/v1/namespaces/default/deployments", broken);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["reason"], "Invalid");
    assert_eq!(body["details"]["causes"][0]["field"], "spec.template.spec.containers[0].image");
}

#[test]
fn unknown_fields_warn_by_default_and_fail_with_strict_validation() {
    let mut server = server();
    let mut body = pod("p", json!({}));
    body["spec"]["bogus"] = json!(1);
    let request = ApiRequest::new(Method::Post, "/api/v1/namespaces/default/pods").with_json(&body);
    let ApiResponse::Json { status, warnings, .. } = server.handle(&request, now()) else { panic!() };
    assert_eq!((status, warnings), (201, vec!["unknown field \"spec.bogus\"".to_string()]));
    let mut body = pod("q", json!({}));
    body["spec"]["bogus"] = json!(1);
    let request =
        ApiRequest::new(Method::Post, "/api/v1/namespaces/default/pods?fieldValidation=Strict").with_json(&body);
    let (status, body) = send(&mut server, request);
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.bogus\""
    );
}

#[test]
fn objects_in_a_missing_namespace_are_refused() {
    let mut server = server();
    let (status, body) = post(&mut server, "/api/v1/namespaces/nowhere/pods", pod("p", json!({})));
    assert_eq!(status, 404);
    assert_eq!(body["message"], "namespaces \"nowhere\" not found");
}

#[test]
fn a_terminating_namespace_refuses_new_objects_and_is_removed_when_finalized() {
    let mut server = server();
    post(
        &mut server,
        "/api/v1/namespaces",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
    );
    let (status, body) = send(&mut server, ApiRequest::new(Method::Delete, "/api/v1/namespaces/team"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"]["phase"], "Terminating");
    let (status, body) = post(&mut server, "/api/v1/namespaces/team/pods", pod("p", json!({})));
    assert_eq!(status, 403);
    assert_eq!(
        body["message"],
        "pods \"p\" is forbidden: unable to create new content in namespace team because it is being terminated"
    );
    let finalize = ApiRequest::new(Method::Put, "/api/v1/namespaces/team/finalize").with_json(
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}, "spec": {"finalizers": []}}),
    );
    assert_eq!(send(&mut server, finalize).0, 200);
    assert_eq!(get(&mut server, "/api/v1/namespaces/team").0, 404);
}

#[test]
fn list_filters_by_label_and_field_selectors_and_pages_with_continue() {
    let mut server = server();
    for (name, app) in [("a", "web"), ("b", "db"), ("c", "web"), ("d", "web")] {
        assert_eq!(post(&mut server, "/api/v1/namespaces/default/pods", pod(name, json!({"app": app}))).0, 201);
    }
    let (_, body) = get(&mut server, "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb");
    let names: Vec<&str> =
        body["items"].as_array().unwrap().iter().map(|item| item["metadata"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "c", "d"]);
    assert_eq!(body["kind"], "PodList");
    let (_, body) = get(&mut server, "/api/v1/pods?fieldSelector=metadata.name%3Db");
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    let (_, first) = get(&mut server, "/api/v1/namespaces/default/pods?limit=3");
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    let (_, second) = get(&mut server, &format!("/api/v1/namespaces/default/pods?limit=3&continue={token}"));
    assert_eq!(second["items"][0]["metadata"]["name"], "d");
    assert!(second["metadata"].get("continue").is_none());
    let (status, body) = get(&mut server, "/api/v1/pods?fieldSelector=spec.bogus%3D1");
    assert_eq!(status, 400, "{body}");
}

#[test]
fn update_with_a_stale_resource_version_is_a_conflict() {
    let mut server = server();
    let (_, created) = post(
        &mut server,
        "/api/v1/namespaces/default/configmaps",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "1"}}),
    );
    let mut first = created.clone();
    first["data"]["k"] = json!("2");
    let put = |body| ApiRequest::new(Method::Put, "/api/v1/namespaces/default/configmaps/c").with_json(&body);
    assert_eq!(send(&mut server, put(first)).0, 200);
    let mut stale = created;
    stale["data"]["k"] = json!("3");
    let (status, body) = send(&mut server, put(stale));
    assert_eq!(status, 409);
    assert_eq!(
        body["message"],
        "Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again"
    );
}

#[test]
fn kubectl_set_image_is_a_strategic_merge_patch_that_bumps_generation() {
    let mut server = server();
    post(&mut server, "/apis/apps/v1/namespaces/default/deployments", deployment("web", "nginx:1.25"));
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.26"}]}}}});
    let request =
        ApiRequest::new(Method::Patch, "/apis/apps/v1/namespaces/default/deployments/web?fieldManager=kubectl-set")
            .with_body("application/strategic-merge-patch+json", patch.to_string().into_bytes());
    let (status, body) = send(&mut server, request);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26");
    assert_eq!(body["spec"]["template"]["spec"]["containers"].as_array().unwrap().len(), 1);
    assert_eq!(body["metadata"]["generation"], 2);
}

#[test]
fn label_merge_patch_and_json_patch_apply() {
    let mut server = server();
    post(&mut server, "/api/v1/namespaces/default/pods", pod("p", json!({"app": "web"})));
    let merge = ApiRequest::new(Method::Patch, "/api/v1/namespaces/default/pods/p")
        .with_body("application/merge-patch+json", br#"{"metadata":{"labels":{"app":null,"tier":"front"}}}"#.to_vec());
    let (_, body) = send(&mut server, merge);
    assert_eq!(body["metadata"]["labels"], json!({"tier": "front"}));
    let failing = ApiRequest::new(Method::Patch, "/api/v1/namespaces/default/pods/p")
        .with_body("application/json-patch+json", br#"[{"op":"test","path":"/metadata/name","value":"x"}]"#.to_vec());
    let (status, body) = send(&mut server, failing);
    assert_eq!((status, body["reason"].as_str()), (422, Some("Invalid")), "{body}");
    let unknown =
        ApiRequest::new(Method::Patch, "/api/v1/namespaces/default/pods/p").with_body("text/plain", b"x".to_vec());
    assert_eq!(send(&mut server, unknown).0, 415);
}

#[test]
fn server_side_apply_creates_what_does_not_exist() {
    let mut server = server();
    let body = serde_json::to_vec(
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"a": "b"}}),
    )
    .unwrap();
    let request = ApiRequest::new(
        Method::Patch,
        "/api/v1/namespaces/default/configmaps/applied?fieldManager=kubectl&force=false",
    )
    .with_body("application/apply-patch+yaml", body);
    let (status, created) = send(&mut server, request);
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["a"], "b");
}

#[test]
fn a_scheduled_pod_is_deleted_gracefully_and_an_unscheduled_one_at_once() {
    let mut server = server();
    post(&mut server, "/api/v1/namespaces/default/pods", pod("pending", json!({})));
    let (status, _) = send(&mut server, ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/pods/pending"));
    assert_eq!(status, 200);
    assert_eq!(get(&mut server, "/api/v1/namespaces/default/pods/pending").0, 404);
    let mut running = pod("running", json!({}));
    running["spec"]["nodeName"] = json!("node-1");
    post(&mut server, "/api/v1/namespaces/default/pods", running);
    let (status, body) = send(&mut server, ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/pods/running"));
    assert_eq!(status, 200, "a marked pod answers 200 with the object, as in Kubernetes");
    assert_eq!(body["metadata"]["deletionGracePeriodSeconds"], 30);
    let (status, _) = send(
        &mut server,
        ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/pods/running?gracePeriodSeconds=0"),
    );
    assert_eq!(status, 200);
    assert_eq!(get(&mut server, "/api/v1/namespaces/default/pods/running").0, 404);
}

#[test]
fn foreground_deletion_adds_its_finalizer() {
    let mut server = server();
    post(&mut server, "/apis/apps/v1/namespaces/default/deployments", deployment("web", "nginx"));
    let request = ApiRequest::new(Method::Delete, "/apis/apps/v1/namespaces/default/deployments/web")
        .with_json(&json!({"propagationPolicy": "Foreground"}));
    let (status, body) = send(&mut server, request);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    assert!(body["metadata"]["deletionTimestamp"].is_string());
}

/// Kubernetes' `DeleteResource` handler (apiserver endpoints/handlers/delete.go) answers 200 for
/// every delete, including one that only marks the object, except when the object was not
/// removed at once and the client explicitly asked `orphanDependents=false`: that one is 202.
#[test]
fn a_delete_that_only_marks_answers_200_unless_the_client_set_orphan_dependents_false() {
    let mut server = server();
    let path = "/apis/apps/v1/namespaces/default/deployments";
    let with_finalizer = |name: &str| {
        let mut body = deployment(name, "nginx");
        body["metadata"]["finalizers"] = json!(["example.com/hold"]);
        body
    };
    for name in ["plain", "cascading-body", "cascading-query", "orphaning", "dry-run"] {
        assert_eq!(post(&mut server, path, with_finalizer(name)).0, 201);
    }
    let delete = |name: &str, query: &str| ApiRequest::new(Method::Delete, &format!("{path}/{name}{query}"));
    let cases = [
        ("plain", delete("plain", ""), 200),
        ("cascading-body", delete("cascading-body", "").with_json(&json!({"orphanDependents": false})), 202),
        ("cascading-query", delete("cascading-query", "?orphanDependents=false"), 202),
        ("orphaning", delete("orphaning", "").with_json(&json!({"orphanDependents": true})), 200),
        ("dry-run", delete("dry-run", "?dryRun=All&orphanDependents=false"), 202),
    ];
    for (name, request, expected) in cases {
        let (status, body) = send(&mut server, request);
        assert_eq!(status, expected, "{name}: {body}");
        assert_eq!(body["kind"], "Deployment", "{name}: a marked object is answered as itself");
    }
    // An object removed at once answers 200 whatever the client asked.
    post(&mut server, path, deployment("gone", "nginx"));
    let request = delete("gone", "").with_json(&json!({"orphanDependents": false}));
    let (status, body) = send(&mut server, request);
    assert_eq!((status, body["kind"].as_str(), body["status"].as_str()), (200, Some("Status"), Some("Success")));
    let (status, body) = send(&mut server, delete("plain", "?orphanDependents=maybe"));
    assert_eq!((status, body["reason"].as_str()), (400, Some("BadRequest")), "{body}");
}

#[test]
fn dry_run_admits_without_storing() {
    let mut server = server();
    let request = ApiRequest::new(Method::Post, "/apis/apps/v1/namespaces/default/deployments?dryRun=All")
        .with_json(&deployment("web", "nginx"));
    assert_eq!(send(&mut server, request).0, 201);
    assert_eq!(get(&mut server, "/apis/apps/v1/namespaces/default/deployments/web").0, 404);
}

#[test]
fn hpa_is_served_at_v1_and_v2_from_one_stored_object() {
    let mut server = server();
    let hpa = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 4, "targetCPUUtilizationPercentage": 60}});
    let (status, body) = post(&mut server, "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers", hpa);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["spec"]["targetCPUUtilizationPercentage"], 60);
    let (_, v2) = get(&mut server, "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/h");
    assert_eq!(v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 60);
}

#[test]
fn oversized_bodies_are_413() {
    let mut server = server();
    let request = ApiRequest::new(Method::Post, "/api/v1/namespaces/default/configmaps")
        .with_body("application/json", vec![b' '; crate::limits::MAX_REQUEST_BYTES + 1]);
    assert_eq!(send(&mut server, request).0, 413);
}

fn protobuf_fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/object/protobuf/testdata").join(name);
    std::fs::read(path).unwrap()
}

#[test]
fn protobuf_bodies_create_and_delete_as_their_json_would() {
    let mut server = server();
    let create = ApiRequest::new(Method::Post, "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict")
        .with_body(crate::object::protobuf::MEDIA_TYPE, protobuf_fixture("deployment.pb"));
    let (status, created) = send(&mut server, create);
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["spec"]["replicas"], 2);
    assert_eq!(created["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27");
    assert_eq!(created["spec"]["strategy"]["type"], "RollingUpdate", "defaulted as a JSON body is");

    // DeleteOptions {preconditions: {uid: "wrong"}}, as client-go's typed DELETE sends it.
    let type_meta = [b"\x0a\x02v1".as_slice(), b"\x12\x0dDeleteOptions"].concat();
    let raw = b"\x12\x07\x0a\x05wrong";
    let body = [
        crate::object::protobuf::MAGIC.as_slice(),
        &[0x0a, type_meta.len() as u8],
        &type_meta,
        &[0x12, raw.len() as u8],
        raw,
    ]
    .concat();
    let delete = ApiRequest::new(Method::Delete, "/apis/apps/v1/namespaces/default/deployments/web")
        .with_body(crate::object::protobuf::MEDIA_TYPE, body);
    let (status, refused) = send(&mut server, delete);
    assert_eq!(status, 409, "{refused}");

    // Kubernetes refuses protobuf for patches.
    let patch = ApiRequest::new(Method::Patch, "/apis/apps/v1/namespaces/default/deployments/web")
        .with_body(crate::object::protobuf::MEDIA_TYPE, protobuf_fixture("deployment.pb"));
    assert_eq!(send(&mut server, patch).0, 415);
    let malformed = ApiRequest::new(Method::Post, "/api/v1/namespaces/default/configmaps")
        .with_body(crate::object::protobuf::MEDIA_TYPE, b"k8s\0\x0a\x80".to_vec());
    let (status, error) = send(&mut server, malformed);
    assert_eq!(status, 400);
    assert_eq!(
        error["message"],
        "error decoding request body as protobuf: unexpected end of data in k8s.io.apimachinery.pkg.runtime.Unknown at byte 2"
    );
}

/// Every namespaced resource the API server stores serves `deletecollection` in a namespace,
/// as the namespace controller relies on (Kubernetes' namespaced resources deleter sends one
/// deletecollection per resource type and falls back to single deletes only where discovery
/// lacks the verb).
#[test]
fn every_stored_namespaced_resource_serves_deletecollection() {
    let mut server = server();
    let namespaced =
        crate::object::kinds::RESOURCES.iter().filter(|resource| resource.stored && resource.is_namespaced());
    let mut served = 0;
    for resource in namespaced {
        let prefix =
            if resource.group.is_empty() { "/api/v1".to_string() } else { format!("/apis/{}", resource.api_version) };
        let path = format!("{prefix}/namespaces/default/{}", resource.plural);
        let (status, body) = send(&mut server, ApiRequest::new(Method::Delete, &path));
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["kind"], format!("{}List", resource.kind), "{path}");
        served += 1;
    }
    assert!(served > 20, "only {served} namespaced resources");
}

/// A deletecollection in one namespace deletes that namespace's objects of the resource and
/// nothing else: not another namespace's, not another resource's.
#[test]
fn a_deletecollection_empties_one_resource_of_one_namespace() {
    let mut server = server();
    post(
        &mut server,
        "/api/v1/namespaces",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
    );
    for (namespace, name) in [("default", "a"), ("default", "b"), ("shop", "c")] {
        let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
        assert_eq!(post(&mut server, &format!("/api/v1/namespaces/{namespace}/configmaps"), config_map).0, 201);
    }
    post(&mut server, "/apis/apps/v1/namespaces/default/deployments", deployment("web", "nginx"));
    let options = json!({"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"});
    let request = ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/configmaps").with_json(&options);
    let (status, body) = send(&mut server, request);
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> =
        body["items"].as_array().unwrap().iter().filter_map(|item| item["metadata"]["name"].as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(get(&mut server, "/api/v1/namespaces/default/configmaps/a").0, 404);
    assert_eq!(get(&mut server, "/api/v1/namespaces/shop/configmaps/c").0, 200);
    assert_eq!(get(&mut server, "/apis/apps/v1/namespaces/default/deployments/web").0, 200);
}
