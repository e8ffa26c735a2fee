//! scale, binding, eviction and status.

use serde_json::json;

use super::*;

#[test]
fn scale_reads_and_patches_replicas() {
    let mut server = server();
    post(&mut server, "/apis/apps/v1/namespaces/default/deployments", deployment("web", "nginx"));
    let (status, scale) = get(&mut server, "/apis/apps/v1/namespaces/default/deployments/web/scale");
    assert_eq!(status, 200);
    assert_eq!((scale["kind"].as_str(), scale["spec"]["replicas"].as_i64()), (Some("Scale"), Some(2)));
    assert_eq!(scale["status"]["selector"], "app=web");
    let request = ApiRequest::new(Method::Patch, "/apis/apps/v1/namespaces/default/deployments/web/scale")
        .with_body("application/merge-patch+json", br#"{"spec":{"replicas":5}}"#.to_vec());
    let (status, scale) = send(&mut server, request);
    assert_eq!((status, scale["spec"]["replicas"].as_i64()), (200, Some(5)), "{scale}");
    let (_, deployment) = get(&mut server, "/apis/apps/v1/namespaces/default/deployments/web");
    assert_eq!(deployment["spec"]["replicas"], 5);
    // kubectl scale --current-replicas sends a PUT with no Content-Type.
    let mut put = ApiRequest::new(Method::Put, "/apis/apps/v1/namespaces/default/deployments/web/scale");
    put.body =
        json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"}, "spec": {"replicas": 1}})
            .to_string()
            .into_bytes();
    assert_eq!(send(&mut server, put).1["spec"]["replicas"], 1);
}

#[test]
fn binding_assigns_a_pod_once() {
    let mut server = server();
    post(&mut server, "/api/v1/namespaces/default/pods", pod("p", json!({})));
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "node-1"}});
    let (status, _) = post(&mut server, "/api/v1/namespaces/default/pods/p/binding", binding.clone());
    assert_eq!(status, 201);
    let (_, bound) = get(&mut server, "/api/v1/namespaces/default/pods/p");
    assert_eq!(bound["spec"]["nodeName"], "node-1");
    assert_eq!(bound["status"]["conditions"][0]["type"], "PodScheduled");
    let (status, body) = post(&mut server, "/api/v1/namespaces/default/bindings", binding);
    assert_eq!(status, 409);
    assert_eq!(
        body["message"],
        "Operation cannot be fulfilled on pods/binding \"p\": pod p is already assigned to node \"node-1\""
    );
}

#[test]
fn eviction_honours_the_disruption_budget() {
    let mut server = server();
    let mut running = pod("p", json!({"app": "web"}));
    running["spec"]["nodeName"] = json!("node-1");
    post(&mut server, "/api/v1/namespaces/default/pods", running);
    let (_, stored) = get(&mut server, "/api/v1/namespaces/default/pods/p");
    let mut with_status = stored.clone();
    with_status["status"]["phase"] = json!("Running");
    let request = ApiRequest::new(Method::Put, "/api/v1/namespaces/default/pods/p/status").with_json(&with_status);
    assert_eq!(send(&mut server, request).0, 200);
    let budget = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}});
    let (_, budget) = post(&mut server, "/apis/policy/v1/namespaces/default/poddisruptionbudgets", budget);
    let mut budget_status = budget.clone();
    budget_status["status"] = json!({"observedGeneration": 1, "disruptionsAllowed": 0, "currentHealthy": 1, "desiredHealthy": 1, "expectedPods": 1});
    let request = ApiRequest::new(Method::Put, "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web/status")
        .with_json(&budget_status);
    assert_eq!(send(&mut server, request).0, 200);
    let eviction =
        json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p", "namespace": "default"}});
    let (status, body) = post(&mut server, "/api/v1/namespaces/default/pods/p/eviction", eviction.clone());
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["message"], "Cannot evict pod as it would violate the pod's disruption budget.");
    assert_eq!(
        body["details"]["causes"][0]["message"],
        "The disruption budget web needs 1 healthy pods and has 1 currently"
    );
    let (_, budget) = get(&mut server, "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web");
    let mut allowing = budget.clone();
    allowing["status"]["disruptionsAllowed"] = json!(1);
    let request = ApiRequest::new(Method::Put, "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web/status")
        .with_json(&allowing);
    send(&mut server, request);
    let (status, _) = post(&mut server, "/api/v1/namespaces/default/pods/p/eviction", eviction);
    assert_eq!(status, 201);
    let (_, pod) = get(&mut server, "/api/v1/namespaces/default/pods/p");
    assert!(pod["metadata"]["deletionTimestamp"].is_string(), "{pod}");
    let (_, budget) = get(&mut server, "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web");
    assert_eq!(budget["status"]["disruptionsAllowed"], 0);
}

#[test]
fn status_updates_touch_only_status_and_main_updates_keep_it() {
    let mut server = server();
    let (_, created) = post(&mut server, "/apis/apps/v1/namespaces/default/deployments", deployment("web", "nginx"));
    let mut status_update = created.clone();
    status_update["status"] = json!({"replicas": 2, "observedGeneration": 1});
    status_update["spec"]["replicas"] = json!(9);
    let request = ApiRequest::new(Method::Put, "/apis/apps/v1/namespaces/default/deployments/web/status")
        .with_json(&status_update);
    let (status, body) = send(&mut server, request);
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["spec"]["replicas"].as_i64(), body["status"]["replicas"].as_i64()), (Some(2), Some(2)));
    let mut main_update = body.clone();
    main_update["status"] = json!({"replicas": 0});
    let request =
        ApiRequest::new(Method::Put, "/apis/apps/v1/namespaces/default/deployments/web").with_json(&main_update);
    let (_, body) = send(&mut server, request);
    assert_eq!(body["status"]["replicas"], 2);
}
