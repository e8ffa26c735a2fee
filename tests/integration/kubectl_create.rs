//! The real `kubectl create` generators against `cox server`: kubectl 1.32 sends their bodies in
//! Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), and the objects must
//! read back as they would from Kubernetes.

use super::cluster::Cluster;

#[test]
fn typed_generators_send_protobuf_bodies_that_create_the_objects() {
    let cluster = Cluster::start(1);
    let get = |what: &str, path: &str| cluster.kubectl(&["get", what, "-o", &format!("jsonpath={path}")]).ok();

    cluster.kubectl(&["create", "deployment", "web", "--image=nginx:1.27", "--replicas=2"]).ok();
    assert_eq!(get("deployment/web", "{.spec.replicas}"), "2");
    assert_eq!(get("deployment/web", "{.spec.template.spec.containers[0].image}"), "nginx:1.27");
    // Zero values Go's protobuf encoder writes are not stored (Kubernetes' JSON leaves them out).
    assert_eq!(get("deployment/web", "{.spec.paused}"), "");

    cluster.kubectl(&["create", "configmap", "cfg", "--from-literal=a=b"]).ok();
    assert_eq!(get("configmap/cfg", "{.data.a}"), "b");

    cluster.kubectl(&["create", "secret", "generic", "s", "--from-literal=p=q"]).ok();
    assert_eq!(get("secret/s", "{.data.p}"), "cQ==");

    cluster.kubectl(&["create", "namespace", "team"]).ok();
    assert_eq!(get("namespace/team", "{.status.phase}"), "Active");

    cluster.kubectl(&["create", "service", "clusterip", "web", "--tcp=80:8080"]).ok();
    assert_eq!(get("service/web", "{.spec.ports[0].port} {.spec.ports[0].targetPort}"), "80 8080");

    cluster.kubectl(&["create", "job", "j", "--image=busybox"]).ok();
    assert_eq!(get("job/j", "{.spec.template.spec.containers[0].image}"), "busybox");

    cluster.kubectl(&["create", "cronjob", "c", "--image=busybox", "--schedule=*/5 * * * *"]).ok();
    assert_eq!(get("cronjob/c", "{.spec.schedule}"), "*/5 * * * *");

    cluster.kubectl(&["create", "deployment", "idle", "--image=nginx", "--replicas=0"]).ok();
    assert_eq!(get("deployment/idle", "{.spec.replicas}"), "0");

    // The request really was protobuf: kubectl says so at -v=8.
    let verbose = cluster.kubectl(&["create", "configmap", "traced", "--from-literal=x=y", "-v=8"]);
    assert!(verbose.stderr.contains("Content-Type: application/vnd.kubernetes.protobuf"), "{}", verbose.stderr);
    assert_eq!(verbose.code, 0, "{}", verbose.stderr);
}
