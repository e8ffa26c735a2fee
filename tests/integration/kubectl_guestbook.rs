//! The real `kubectl` against `cox server` with simulated nodes, through Kubernetes' guestbook
//! example: apply, rollout status, set image, history, undo, scale, label, drain, delete.

use super::cluster::Cluster;

fn guestbook() -> String {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifests/kubernetes-examples/web/guestbook");
    path.to_str().unwrap().to_string()
}

fn frontend_image(cluster: &Cluster) -> String {
    cluster.kubectl(&["get", "deployment", "frontend", "-o", "jsonpath={.spec.template.spec.containers[0].image}"]).ok()
}

/// Node names of the running pods with a label, from `kubectl get pods -o wide`.
fn pod_nodes(cluster: &Cluster, selector: &str) -> Vec<String> {
    let table = cluster.kubectl(&["get", "pods", "-l", selector, "-o", "wide", "--no-headers"]).ok();
    table
        .lines()
        .filter(|line| line.split_whitespace().nth(2) == Some("Running"))
        .filter_map(|line| line.split_whitespace().nth(6).map(str::to_string))
        .collect()
}

#[test]
fn the_guestbook_runs_updates_rolls_back_scales_drains_and_goes_away() {
    let cluster = Cluster::start(3);
    let applied = cluster.kubectl(&["apply", "-f", &guestbook()]).ok();
    for created in
        ["deployment.apps/frontend created", "service/frontend created", "deployment.apps/redis-master created"]
    {
        assert!(applied.contains(created), "{applied}");
    }
    for deployment in ["frontend", "redis-master", "redis-replica"] {
        let status =
            cluster.kubectl(&["rollout", "status", &format!("deployment/{deployment}"), "--timeout=120s"]).ok();
        assert!(status.contains("successfully rolled out"), "{status}");
    }
    let nodes = pod_nodes(&cluster, "app=guestbook,tier=frontend");
    assert_eq!(nodes.len(), 3, "three frontend pods run");
    assert!(nodes.iter().all(|node| node.starts_with("cox-node-")), "{nodes:?}");

    // The Table carries the wide columns and the endpoints follow the ready pods.
    let services = cluster.kubectl(&["get", "services", "-o", "wide"]).ok();
    assert!(services.lines().next().unwrap().contains("SELECTOR"), "{services}");
    cluster.wait_for("three frontend endpoints", |cluster| {
        let endpoints =
            cluster.kubectl(&["get", "endpoints", "frontend", "-o", "jsonpath={.subsets[*].addresses[*].ip}"]).stdout;
        endpoints.split_whitespace().count() == 3
    });

    // set image, then history and undo.
    cluster.kubectl(&["set", "image", "deployment/frontend", "php-redis=gcr.io/google-samples/gb-frontend:v6"]).ok();
    cluster.kubectl(&["rollout", "status", "deployment/frontend", "--timeout=120s"]).ok();
    assert_eq!(frontend_image(&cluster), "gcr.io/google-samples/gb-frontend:v6");
    let history = cluster.kubectl(&["rollout", "history", "deployment/frontend"]).ok();
    let revisions: Vec<&str> = history.lines().filter_map(|line| line.split_whitespace().next()).collect();
    assert!(revisions.contains(&"1") && revisions.contains(&"2"), "{history}");
    cluster.kubectl(&["rollout", "undo", "deployment/frontend"]).ok();
    cluster.kubectl(&["rollout", "status", "deployment/frontend", "--timeout=120s"]).ok();
    assert_eq!(frontend_image(&cluster), "gcr.io/google-samples/gb-frontend:v5");

    // scale and label.
    cluster.kubectl(&["scale", "deployment/frontend", "--replicas=5"]).ok();
    cluster.kubectl(&["rollout", "status", "deployment/frontend", "--timeout=120s"]).ok();
    assert_eq!(pod_nodes(&cluster, "tier=frontend").len(), 5);
    cluster.kubectl(&["label", "deployment/frontend", "team=web"]).ok();
    let labelled = cluster.kubectl(&["get", "deployment", "frontend", "-L", "team"]).ok();
    assert!(labelled.lines().next().unwrap().ends_with("TEAM"), "{labelled}");
    assert!(labelled.lines().nth(1).unwrap().trim_end().ends_with("web"), "{labelled}");

    // drain a node: its pods are evicted and rescheduled on the others.
    let drained = cluster.kubectl(&["drain", "cox-node-1", "--ignore-daemonsets", "--timeout=120s"]).ok();
    assert!(drained.contains("node/cox-node-1 drained"), "{drained}");
    let node = cluster.kubectl(&["get", "node", "cox-node-1", "--no-headers"]).ok();
    assert!(node.contains("SchedulingDisabled"), "{node}");
    cluster.wait_for("five frontend pods off the drained node", |cluster| {
        let nodes = pod_nodes(cluster, "tier=frontend");
        nodes.len() == 5 && nodes.iter().all(|node| node != "cox-node-1")
    });
    cluster.kubectl(&["uncordon", "cox-node-1"]).ok();

    // delete: everything goes away.
    cluster.kubectl(&["delete", "-f", &guestbook()]).ok();
    cluster.wait_for("no pods left", |cluster| {
        let pods = cluster.kubectl(&["get", "pods"]);
        pods.stdout.is_empty() && pods.stderr.contains("No resources found in default namespace.")
    });
    let left = cluster.kubectl(&["get", "deployments,replicasets,services", "-l", "app=guestbook"]);
    assert_eq!(left.stdout, "", "{left:?}");
}
