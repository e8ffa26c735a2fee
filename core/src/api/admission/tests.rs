//! The admission chain through the API server: what each plugin does to a request, seen as a
//! client sees it.

use serde_json::{Value, json};

use crate::api::{ApiRequest, ApiServer, Method};
use crate::store::MemoryStore;

fn server() -> ApiServer<MemoryStore> {
    let mut server = ApiServer::new(MemoryStore::new(), 7);
    server.bootstrap(now()).unwrap();
    server
}

fn now() -> crate::jiff::Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn send(server: &mut ApiServer<MemoryStore>, method: Method, path: &str, body: Value) -> (u16, Value) {
    let request = if method == Method::Patch {
        ApiRequest::new(method, path).with_body("application/merge-patch+json", body.to_string().into_bytes())
    } else {
        ApiRequest::new(method, path).with_json(&body)
    };
    match server.handle(&request, now()).into_json() {
        Ok(answer) => answer,
        Err(_) => panic!("unexpected watch"),
    }
}

fn pod(name: &str, spec: Value) -> Value {
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    for (key, value) in spec.as_object().into_iter().flatten() {
        pod["spec"][key] = value.clone();
    }
    pod
}

const PODS: &str = "/api/v1/namespaces/default/pods";
const PRIORITY_CLASSES: &str = "/apis/scheduling.k8s.io/v1/priorityclasses";

#[test]
fn the_system_priority_classes_exist_from_bootstrap_and_resolve() {
    let mut server = server();
    let (status, body) =
        send(&mut server, Method::Get, &format!("{PRIORITY_CLASSES}/system-node-critical"), Value::Null);
    assert_eq!((status, body["value"].clone()), (200, json!(2_000_001_000)), "{body}");
    let (status, body) =
        send(&mut server, Method::Post, PODS, pod("critical", json!({"priorityClassName": "system-cluster-critical"})));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["spec"]["priority"], 2_000_000_000);
    // A second bootstrap (a restart) finds them and creates nothing.
    server.bootstrap(now()).unwrap();
}

#[test]
fn the_global_default_class_applies_and_only_one_may_exist() {
    let mut server = server();
    let class = |name: &str, value: i32| {
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
        "metadata": {"name": name}, "value": value, "globalDefault": true, "preemptionPolicy": "Never"})
    };
    let (status, body) = send(&mut server, Method::Post, PRIORITY_CLASSES, class("default1", 1000));
    assert_eq!(status, 201, "{body}");
    let (status, body) = send(&mut server, Method::Post, PRIORITY_CLASSES, class("default2", 2000));
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["message"],
        "priorityclasses.scheduling.k8s.io \"default2\" is forbidden: PriorityClass default1 is already marked as default. Only one default can exist"
    );
    let (status, body) = send(&mut server, Method::Post, PODS, pod("plain", json!({})));
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (
            body["spec"]["priorityClassName"].clone(),
            body["spec"]["priority"].clone(),
            body["spec"]["preemptionPolicy"].clone()
        ),
        (json!("default1"), json!(1000), json!("Never"))
    );
    // A priority that disagrees with the class is refused.
    let (status, body) = send(&mut server, Method::Post, PODS, pod("liar", json!({"priority": 5})));
    assert_eq!(status, 403, "{body}");
    // An update that leaves the priority out keeps it.
    let mut replaced = body_of(&mut server, &format!("{PODS}/plain"));
    replaced["spec"].as_object_mut().unwrap().remove("priority");
    let (status, body) = send(&mut server, Method::Put, &format!("{PODS}/plain"), replaced);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["spec"]["priority"], 1000);
}

fn body_of(server: &mut ApiServer<MemoryStore>, path: &str) -> Value {
    let (status, body) = send(server, Method::Get, path, Value::Null);
    assert_eq!(status, 200, "{body}");
    body
}

#[test]
fn an_ingress_without_a_class_gets_the_default_ingress_class() {
    let mut server = server();
    let class = json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx",
        "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}}, "spec": {"controller": "k8s.io/ingress-nginx"}});
    let (status, body) = send(&mut server, Method::Post, "/apis/networking.k8s.io/v1/ingressclasses", class);
    assert_eq!(status, 201, "{body}");
    let ingress = |name: &str, class: Option<&str>| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name}, "spec": {"ingressClassName": class,
            "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}})
    };
    let path = "/apis/networking.k8s.io/v1/namespaces/default/ingresses";
    let (status, body) = send(&mut server, Method::Post, path, ingress("a", None));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["spec"]["ingressClassName"], "nginx");
    let (_, body) = send(&mut server, Method::Post, path, ingress("b", Some("other")));
    assert_eq!(body["spec"]["ingressClassName"], "other", "a named class is kept");
}

#[test]
fn runtime_classes_are_served_and_applied_to_pods() {
    let mut server = server();
    let class = json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "gvisor"},
        "handler": "runsc", "overhead": {"podFixed": {"cpu": "250m", "memory": "64Mi"}},
        "scheduling": {"nodeSelector": {"sandbox": "gvisor"},
            "tolerations": [{"key": "sandbox", "operator": "Exists", "effect": "NoSchedule"}]}});
    let (status, body) = send(&mut server, Method::Post, "/apis/node.k8s.io/v1/runtimeclasses", class);
    assert_eq!(status, 201, "{body}");
    let (status, body) = send(&mut server, Method::Post, PODS, pod("sandboxed", json!({"runtimeClassName": "gvisor"})));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["spec"]["overhead"], json!({"cpu": "250m", "memory": "64Mi"}));
    assert_eq!(body["spec"]["nodeSelector"], json!({"sandbox": "gvisor"}));
    let tolerations = body["spec"]["tolerations"].as_array().unwrap();
    assert!(tolerations.iter().any(|toleration| toleration["key"] == "sandbox"), "{tolerations:?}");
    let (status, body) = send(&mut server, Method::Post, PODS, pod("lost", json!({"runtimeClassName": "kata"})));
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["message"], "pods \"lost\" is forbidden: pod rejected: RuntimeClass \"kata\" not found");
    let (status, body) = send(&mut server, Method::Post, PODS, pod("overhead", json!({"overhead": {"cpu": "1"}})));
    assert_eq!(status, 403, "{body}");
    // Discovery lists the group and a bad handler is refused by validation.
    let (status, body) = send(&mut server, Method::Get, "/apis/node.k8s.io/v1", Value::Null);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resources"][0]["name"], "runtimeclasses");
    let bad = json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "bad"}, "handler": "Not_A_Label"});
    let (status, body) = send(&mut server, Method::Post, "/apis/node.k8s.io/v1/runtimeclasses", bad);
    assert_eq!(status, 422, "{body}");
}

#[test]
fn a_new_node_starts_tainted_not_ready() {
    let mut server = server();
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}});
    let (status, body) = send(&mut server, Method::Post, "/api/v1/nodes", node);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["spec"]["taints"], json!([{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]));
}

#[test]
fn limit_ranger_refuses_a_claim_over_the_maximum() {
    let mut server = server();
    let limit_range = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "storage"},
        "spec": {"limits": [{"type": "PersistentVolumeClaim", "max": {"storage": "1Gi"}}]}});
    let (status, body) = send(&mut server, Method::Post, "/api/v1/namespaces/default/limitranges", limit_range);
    assert_eq!(status, 201, "{body}");
    let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "big"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}});
    let (status, body) = send(&mut server, Method::Post, "/api/v1/namespaces/default/persistentvolumeclaims", claim);
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["message"],
        "persistentvolumeclaims \"big\" is forbidden: maximum storage usage per PersistentVolumeClaim is 1Gi, but request is 5Gi"
    );
}
