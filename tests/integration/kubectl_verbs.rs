//! The real `kubectl` against `cox server`: discovery, the error lines Kubernetes prints, run,
//! logs, exec (exit codes included), expose, describe with events, taint, cordon, wait.

use super::cluster::Cluster;

#[test]
fn discovery_errors_and_everyday_verbs_work_as_against_kubernetes() {
    let cluster = Cluster::start(2);

    let resources = cluster.kubectl(&["api-resources"]).ok();
    let deployments = resources.lines().find(|line| line.starts_with("deployments ")).unwrap();
    assert_eq!(
        deployments.split_whitespace().collect::<Vec<_>>(),
        ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    );
    let versions = cluster.kubectl(&["api-versions"]).ok();
    assert!(versions.lines().any(|line| line == "apps/v1") && versions.lines().any(|line| line == "v1"), "{versions}");
    let info = cluster.kubectl(&["cluster-info"]).ok();
    assert!(info.contains("is running at"), "{info}");

    let missing = cluster.kubectl(&["get", "deployment", "nosuch"]);
    assert_eq!(missing.code, 1);
    assert_eq!(missing.stderr.trim(), "Error from server (NotFound): deployments.apps \"nosuch\" not found");

    let run = cluster.kubectl(&["run", "shell", "--image=busybox", "--labels=app=shell", "--port=8080"]).ok();
    assert_eq!(run.trim(), "pod/shell created");
    let again = cluster.kubectl(&["run", "shell", "--image=busybox"]);
    assert_eq!(again.stderr.trim(), "Error from server (AlreadyExists): pods \"shell\" already exists");
    cluster.kubectl(&["wait", "--for=condition=Ready", "pod/shell", "--timeout=120s"]).ok();

    assert_eq!(cluster.kubectl(&["logs", "shell"]).ok(), "simulated container started by coxswain\n");
    assert_eq!(cluster.kubectl(&["exec", "shell", "--", "echo", "hello"]).ok(), "hello\n");
    let failed = cluster.kubectl(&["exec", "shell", "--", "sh", "-c", "exit 3"]);
    assert_eq!(failed.code, 3, "{failed:?}");

    let exposed = cluster.kubectl(&["expose", "pod", "shell", "--port=80", "--target-port=8080"]).ok();
    assert_eq!(exposed.trim(), "service/shell exposed");
    cluster.wait_for("the service's endpoint", |cluster| {
        let ips =
            cluster.kubectl(&["get", "endpoints", "shell", "-o", "jsonpath={.subsets[*].addresses[*].ip}"]).stdout;
        ips.split_whitespace().count() == 1
    });

    let described = cluster.kubectl(&["describe", "pod", "shell"]).ok();
    assert!(described.contains("Successfully assigned default/shell to cox-node-"), "{described}");
    assert!(described.contains("Status:           Running"), "{described}");

    let yaml = cluster.kubectl(&["get", "pod", "shell", "-o", "yaml"]).ok();
    assert!(yaml.contains("kind: Pod") && yaml.contains("phase: Running"), "{yaml}");
    let labels = cluster.kubectl(&["get", "pods", "--show-labels", "-A"]).ok();
    assert!(labels.lines().next().unwrap().starts_with("NAMESPACE") && labels.contains("app=shell"), "{labels}");

    cluster.kubectl(&["taint", "nodes", "cox-node-2", "dedicated=db:NoSchedule"]).ok();
    let taints = cluster.kubectl(&["get", "node", "cox-node-2", "-o", "jsonpath={.spec.taints[*].key}"]).ok();
    assert!(taints.split_whitespace().any(|key| key == "dedicated"), "{taints}");
    cluster.kubectl(&["cordon", "cox-node-1"]).ok();
    let nodes = cluster.kubectl(&["get", "nodes"]).ok();
    assert!(
        nodes.lines().any(|line| line.starts_with("cox-node-1") && line.contains("Ready,SchedulingDisabled")),
        "{nodes}"
    );

    // Neither node takes a new pod now: it stays Pending with the scheduler's reason.
    cluster.kubectl(&["run", "waiting", "--image=busybox"]).ok();
    cluster.wait_for("a FailedScheduling event", |cluster| {
        let described = cluster.kubectl(&["describe", "pod", "waiting"]).stdout;
        described.contains("FailedScheduling") && described.contains("0/2 nodes are available")
    });
    cluster.kubectl(&["uncordon", "cox-node-1"]).ok();
    cluster.kubectl(&["wait", "--for=condition=Ready", "pod/waiting", "--timeout=120s"]).ok();

    cluster.kubectl(&["delete", "pod", "shell", "waiting"]).ok();
    let gone = cluster.kubectl(&["get", "pod", "shell"]);
    assert!(gone.stderr.contains("\"shell\" not found"), "{gone:?}");
}

/// `kubectl explain` reads the OpenAPI v3 document: a field prints Kubernetes' description of it
/// (the field's own, then its type's) and the fields of its type, with theirs.
#[test]
fn explain_prints_a_fields_description_and_its_fields() {
    let cluster = Cluster::start(0);
    let explained = cluster.kubectl(&["explain", "deployment.spec.strategy"]).ok();
    assert!(explained.contains("GROUP:      apps\nKIND:       Deployment\nVERSION:    v1"), "{explained}");
    assert!(explained.contains("FIELD: strategy <DeploymentStrategy>"), "{explained}");
    let description = explained.split("DESCRIPTION:").nth(1).and_then(|rest| rest.split("FIELDS:").next());
    let description = description.unwrap_or_else(|| panic!("no DESCRIPTION and FIELDS: {explained}"));
    assert!(
        description.contains("The deployment strategy to use to replace existing pods with new ones."),
        "{explained}"
    );
    assert!(description.contains("DeploymentStrategy describes how to replace existing pods"), "{explained}");
    let fields = explained.split("FIELDS:").nth(1).unwrap_or_default();
    assert!(fields.lines().any(|line| line.trim_start().starts_with("rollingUpdate\t<RollingUpdateDeployment>")));
    assert!(fields.lines().any(|line| line.trim_start().starts_with("type\t<string>")), "{explained}");
    assert!(fields.contains("Rolling update config params"), "each field is described: {explained}");
}
