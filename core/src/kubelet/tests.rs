//! The kubelet against an in-memory API server through the loopback shell, with the simulated
//! runtime: registration and Lease, the pod lifecycle, probes, restarts and back-off, image
//! pulls, init containers, graceful deletion, admission, status writes, a node restart, and an
//! end-to-end Deployment with the controller manager and the scheduler.

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::simulated::{ContainerBehavior, ProbeAnswer, SimulatedBehavior, SimulatedRuntime};
use super::{ContainerRuntime, Kubelet, KubeletConfig, RuntimeCommand, RuntimeReport};
use crate::api::Method;
use crate::client::Component;
use crate::testing::TestCluster;

const NODE: &str = "node-a";
const POD_CIDR: &str = "10.244.7.0/24";

/// A runtime that remembers every command it was given, with the instant.
#[derive(Debug)]
struct Recording {
    inner: SimulatedRuntime,
    commands: Vec<(Timestamp, RuntimeCommand)>,
}

impl ContainerRuntime for Recording {
    fn submit(&mut self, command: RuntimeCommand, now: Timestamp) {
        self.commands.push((now, command.clone()));
        self.inner.submit(command, now);
    }
    fn poll(&mut self, now: Timestamp) -> Vec<RuntimeReport> {
        self.inner.poll(now)
    }
    fn next_wake(&self) -> Option<Timestamp> {
        self.inner.next_wake()
    }
}

fn config() -> KubeletConfig {
    KubeletConfig { pod_cidr: Some(POD_CIDR.to_string()), ..KubeletConfig::new(NODE) }
}

fn kubelet(behavior: SimulatedBehavior) -> Kubelet<Recording> {
    Kubelet::new(config(), Recording { inner: SimulatedRuntime::new(behavior), commands: Vec::new() })
}

fn pod(name: &str, image: &str, extra: Value) -> Value {
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": NODE, "containers": [{"name": "app", "image": image}]}
    });
    merge(&mut pod["spec"], &extra);
    pod
}

fn merge(target: &mut Value, extra: &Value) {
    if let (Some(target), Some(extra)) = (target.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            match (target.get_mut(key), value) {
                (Some(existing), Value::Object(_)) if existing.is_object() => merge(existing, value),
                _ => {
                    target.insert(key.clone(), value.clone());
                }
            }
        }
    }
}

fn create(cluster: &mut TestCluster, pod: Value) {
    let (status, body) = cluster.send(Method::Post, "/api/v1/namespaces/default/pods", Some(pod));
    assert_eq!(status, 201, "{body}");
}

fn get_pod(cluster: &mut TestCluster, name: &str) -> Value {
    let (status, body) = cluster.send(Method::Get, &format!("/api/v1/namespaces/default/pods/{name}"), None);
    if status == 200 { body } else { Value::Null }
}

fn condition(pod: &Value, kind: &str) -> String {
    let conditions = pod["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let found = conditions.iter().find(|condition| condition["type"] == kind);
    found.and_then(|condition| condition["status"].as_str()).unwrap_or("").to_string()
}

fn container_status(pod: &Value) -> Value {
    pod["status"]["containerStatuses"][0].clone()
}

fn run(
    cluster: &mut TestCluster,
    kubelet: &mut dyn Component,
    limit: u64,
    done: impl FnMut(&mut TestCluster) -> bool,
) -> bool {
    cluster.run_until(&mut [kubelet], Duration::from_secs(limit), done)
}

fn behavior(image: &str, container: ContainerBehavior) -> SimulatedBehavior {
    SimulatedBehavior::default().with_rule(image, container)
}

fn seconds_between(from: Timestamp, to: Timestamp) -> i64 {
    to.duration_since(from).as_secs()
}

/// The kubelet's lease controller renews with an update of the Lease it last got back (its
/// resourceVersion a precondition), and reads the Lease again when another writer changed it.
#[test]
fn the_lease_is_renewed_by_updating_the_copy_last_returned_and_read_again_after_a_conflict() {
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(SimulatedBehavior::default());
    let start = cluster.now;
    run(&mut cluster, &mut kubelet, 15, |_| false);
    let path = format!("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{NODE}");
    let lease = cluster.get(&path);
    let managers: Vec<&str> = lease["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["operation"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["Update"], "{lease}");
    let mut changed = lease.clone();
    changed["spec"]["leaseDurationSeconds"] = json!(41);
    assert_eq!(cluster.send(Method::Put, &path, Some(changed)).0, 200);
    run(&mut cluster, &mut kubelet, 10, |_| false);
    let lease = cluster.get(&path);
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 40, "renewed over the other writer's change: {lease}");
    let renewed: Timestamp = lease["spec"]["renewTime"].as_str().unwrap().parse().unwrap();
    assert_eq!(seconds_between(start, renewed), 20);
    assert_eq!(kubelet.lease_renewals(), 3);
}

#[test]
fn the_node_registers_reports_ready_and_renews_its_lease_every_ten_seconds() {
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(SimulatedBehavior::default());
    let start = cluster.now;
    run(&mut cluster, &mut kubelet, 35, |_| false);
    let node = cluster.get(&format!("/api/v1/nodes/{NODE}"));
    assert_eq!(node["status"]["capacity"]["cpu"], "4", "{node}");
    assert_eq!(node["status"]["allocatable"]["pods"], "110");
    assert_eq!(node["metadata"]["labels"]["kubernetes.io/hostname"], NODE);
    assert_eq!(node["spec"]["podCIDR"], POD_CIDR);
    assert_eq!(condition(&json!({"status": node["status"]}), "Ready"), "True");
    assert_eq!(condition(&json!({"status": node["status"]}), "MemoryPressure"), "False");
    assert_eq!(node["status"]["addresses"][0]["type"], "InternalIP");
    let lease = cluster.get(&format!("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{NODE}"));
    assert_eq!(lease["spec"]["holderIdentity"], NODE);
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 40);
    assert_eq!(lease["metadata"]["ownerReferences"][0]["kind"], "Node");
    let renewed: Timestamp = lease["spec"]["renewTime"].as_str().unwrap().parse().unwrap();
    assert_eq!(seconds_between(start, renewed), 30, "renewed at 0, 10, 20 and 30 s");
    assert_eq!(kubelet.lease_renewals(), 4);
    // Nothing changed on the node, so its status is not written again within 5 minutes.
    assert_eq!(kubelet.node_status_writes(), 0);
    run(&mut cluster, &mut kubelet, 300, |_| false);
    assert_eq!(kubelet.node_status_writes(), 1, "written once nodeStatusReportFrequency passed");
}

#[test]
fn a_restarted_kubelet_finds_its_node_already_registered_and_reuses_it() {
    let mut cluster = TestCluster::new(0);
    let mut first = kubelet(SimulatedBehavior::default());
    run(&mut cluster, &mut first, 5, |_| false);
    let mut second = kubelet(SimulatedBehavior::default());
    run(&mut cluster, &mut second, 5, |_| false);
    assert!(second.is_registered());
    assert_eq!(second.node_status_writes(), 1, "an existing node gets its status at once");
}

#[test]
fn a_pod_goes_pending_then_running_and_ready_with_an_ip_in_the_node_cidr() {
    let behavior = behavior("slow", ContainerBehavior { start_latency: Duration::from_secs(3), ..Default::default() });
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(behavior);
    run(&mut cluster, &mut kubelet, 1, |_| false);
    create(&mut cluster, pod("web", "slow:1", json!({})));
    let mut phases = Vec::new();
    assert!(run(&mut cluster, &mut kubelet, 30, |cluster| {
        let pod = get_pod(cluster, "web");
        let phase = pod["status"]["phase"].as_str().unwrap_or("").to_string();
        if phases.last() != Some(&phase) {
            phases.push(phase);
        }
        condition(&pod, "Ready") == "True"
    }));
    assert_eq!(phases, vec!["Pending", "Running"]);
    let pod = get_pod(&mut cluster, "web");
    let ip: std::net::Ipv4Addr = pod["status"]["podIP"].as_str().unwrap().parse().unwrap();
    let cidr: crate::api::allocation::cidr::Ipv4Cidr = POD_CIDR.parse().unwrap();
    assert!(cidr.contains(ip), "{ip}");
    assert_eq!(pod["status"]["hostIP"], kubelet.config().node_ip().to_string());
    assert_eq!(pod["status"]["qosClass"], "BestEffort");
    assert_eq!(condition(&pod, "Initialized"), "True");
    assert_eq!(condition(&pod, "ContainersReady"), "True");
    assert_eq!(condition(&pod, "PodScheduled"), "True");
    assert!(container_status(&pod)["state"]["running"]["startedAt"].is_string());
    assert_eq!(container_status(&pod)["restartCount"], 0);
    // `:1` is IfNotPresent: the image was pulled once.
    let pulls =
        kubelet.runtime().commands.iter().filter(|(_, c)| matches!(c, RuntimeCommand::PullImage { .. })).count();
    assert_eq!(pulls, 1);
}

#[test]
fn a_pod_waits_for_the_node_pod_cidr_before_starting() {
    let mut cluster = TestCluster::new(0);
    let mut kubelet = Kubelet::new(KubeletConfig::new(NODE), SimulatedRuntime::new(SimulatedBehavior::default()));
    run(&mut cluster, &mut kubelet, 1, |_| false);
    create(&mut cluster, pod("web", "nginx:1", json!({})));
    run(&mut cluster, &mut kubelet, 5, |_| false);
    assert_eq!(get_pod(&mut cluster, "web")["status"]["phase"], "Pending");
    let patch = json!({"spec": {"podCIDR": "10.244.3.0/24", "podCIDRs": ["10.244.3.0/24"]}});
    let (status, body) = cluster.send(Method::Patch, &format!("/api/v1/nodes/{NODE}"), Some(patch));
    assert_eq!(status, 200, "{body}");
    assert!(run(&mut cluster, &mut kubelet, 5, |cluster| condition(&get_pod(cluster, "web"), "Ready") == "True"));
    assert_eq!(get_pod(&mut cluster, "web")["status"]["podIP"], "10.244.3.2");
}

#[test]
fn a_failing_readiness_probe_drops_ready_after_the_failure_threshold() {
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(SimulatedBehavior::default());
    let probe = json!({"readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 5}});
    create(
        &mut cluster,
        pod("web", "nginx:1", json!({"containers": [merge_into(json!({"name": "app", "image": "nginx:1"}), probe)]})),
    );
    assert!(run(&mut cluster, &mut kubelet, 30, |cluster| condition(&get_pod(cluster, "web"), "Ready") == "True"));
    let failed_at = cluster.now;
    kubelet.runtime_mut().inner.fail_probes("default", "web", "app", None);
    assert!(run(&mut cluster, &mut kubelet, 60, |cluster| condition(&get_pod(cluster, "web"), "Ready") == "False"));
    let took = seconds_between(failed_at, cluster.now);
    assert!((10..=15).contains(&took), "three failures 5 s apart: {took} s");
    let pod = get_pod(&mut cluster, "web");
    assert_eq!(pod["status"]["phase"], "Running");
    assert_eq!(container_status(&pod)["restartCount"], 0, "readiness never restarts");
    // Healed, it is Ready again after one success.
    kubelet.runtime_mut().inner.heal_probes("default", "web", "app");
    assert!(run(&mut cluster, &mut kubelet, 10, |cluster| condition(&get_pod(cluster, "web"), "Ready") == "True"));
}

fn merge_into(mut base: Value, extra: Value) -> Value {
    merge(&mut base, &extra);
    base
}

#[test]
fn a_failing_liveness_probe_restarts_the_container() {
    let behavior = behavior(
        "flaky",
        ContainerBehavior { probes: ProbeAnswer::FailAfter(Duration::from_secs(20)), ..Default::default() },
    );
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(behavior);
    let container = json!({"name": "app", "image": "flaky:1",
        "livenessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 10, "failureThreshold": 3}});
    create(&mut cluster, pod("web", "flaky:1", json!({"containers": [container], "terminationGracePeriodSeconds": 5})));
    assert!(
        run(&mut cluster, &mut kubelet, 120, |cluster| container_status(&get_pod(cluster, "web"))["restartCount"] == 1)
    );
    let status = container_status(&get_pod(&mut cluster, "web"));
    assert_eq!(status["lastState"]["terminated"]["message"], "Container app failed liveness probe, will be restarted");
    assert!(status["state"]["running"].is_object(), "{status}");
    let stops =
        kubelet.runtime().commands.iter().filter(|(_, c)| matches!(c, RuntimeCommand::StopContainer { .. })).count();
    assert_eq!(stops, 1);
}

#[test]
fn crash_loop_back_off_waits_ten_twenty_forty_seconds_capped_at_five_minutes() {
    let crasher = ContainerBehavior { exit_after: Some(Duration::from_secs(1)), exit_code: 1, ..Default::default() };
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(behavior("crasher", crasher));
    create(&mut cluster, pod("web", "crasher:1", json!({})));
    let mut reason_seen = false;
    assert!(run(&mut cluster, &mut kubelet, 1500, |cluster| {
        let status = container_status(&get_pod(cluster, "web"));
        reason_seen |= status["state"]["waiting"]["reason"] == "CrashLoopBackOff";
        status["restartCount"] == 8
    }));
    assert!(reason_seen);
    let starts: Vec<Timestamp> = kubelet
        .runtime()
        .commands
        .iter()
        .filter(|(_, command)| matches!(command, RuntimeCommand::StartContainer { .. }))
        .map(|(at, _)| *at)
        .collect();
    // Each run lasts 1 s; what is left of each gap is the back-off.
    let waits: Vec<i64> = starts.windows(2).map(|pair| seconds_between(pair[0], pair[1]) - 1).collect();
    assert_eq!(waits, vec![0, 10, 20, 40, 80, 160, 300, 300]);
    let pod = get_pod(&mut cluster, "web");
    assert_eq!(pod["status"]["phase"], "Running");
    assert_eq!(container_status(&pod)["lastState"]["terminated"]["reason"], "Error");
    assert_eq!(container_status(&pod)["lastState"]["terminated"]["exitCode"], 1);
}

#[test]
fn restart_policies_and_exit_codes_decide_the_phase() {
    let rows = [
        ("Never", 0, "Succeeded", "Completed"),
        ("Never", 2, "Failed", "Error"),
        ("OnFailure", 0, "Succeeded", "Completed"),
    ];
    for (policy, exit_code, phase, reason) in rows {
        let exits = ContainerBehavior { exit_after: Some(Duration::from_secs(2)), exit_code, ..Default::default() };
        let mut cluster = TestCluster::new(0);
        let mut kubelet = kubelet(behavior("job", exits));
        create(&mut cluster, pod("run", "job:1", json!({"restartPolicy": policy})));
        assert!(
            run(&mut cluster, &mut kubelet, 30, |cluster| get_pod(cluster, "run")["status"]["phase"] == phase),
            "{policy} {exit_code}"
        );
        let pod = get_pod(&mut cluster, "run");
        assert_eq!(container_status(&pod)["state"]["terminated"]["reason"], reason);
        assert_eq!(container_status(&pod)["restartCount"], 0);
        assert_eq!(condition(&pod, "Ready"), "False");
    }
    // OnFailure with a failure restarts and stays Running.
    let exits = ContainerBehavior { exit_after: Some(Duration::from_secs(2)), exit_code: 3, ..Default::default() };
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(behavior("job", exits));
    create(&mut cluster, pod("run", "job:1", json!({"restartPolicy": "OnFailure"})));
    assert!(
        run(&mut cluster, &mut kubelet, 60, |cluster| container_status(&get_pod(cluster, "run"))["restartCount"] == 2)
    );
    assert_eq!(get_pod(&mut cluster, "run")["status"]["phase"], "Running");
}

#[test]
fn an_oom_killed_container_reports_oomkilled_with_exit_code_137() {
    let hog = ContainerBehavior { exit_after: Some(Duration::from_secs(5)), oom: true, ..Default::default() };
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(behavior("hog", hog));
    create(&mut cluster, pod("hog", "hog:1", json!({})));
    assert!(
        run(&mut cluster, &mut kubelet, 30, |cluster| container_status(&get_pod(cluster, "hog"))["restartCount"] == 1)
    );
    let last = &container_status(&get_pod(&mut cluster, "hog"))["lastState"]["terminated"];
    assert_eq!(last["reason"], "OOMKilled");
    assert_eq!(last["exitCode"], 137);
}

#[test]
fn a_failed_pull_shows_err_image_pull_then_image_pull_back_off_and_retries_after_ten_seconds() {
    let broken = ContainerBehavior { pull_fails: true, ..Default::default() };
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(behavior("missing", broken));
    create(&mut cluster, pod("web", "missing:1", json!({})));
    let mut reasons: Vec<String> = Vec::new();
    run(&mut cluster, &mut kubelet, 25, |cluster| {
        let reason =
            container_status(&get_pod(cluster, "web"))["state"]["waiting"]["reason"].as_str().unwrap_or("").to_string();
        if reasons.last() != Some(&reason) {
            reasons.push(reason);
        }
        false
    });
    let expected = ["ErrImagePull", "ImagePullBackOff", "ErrImagePull", "ImagePullBackOff"];
    assert_eq!(reasons, expected, "the back-off shows one second after each failed pull");
    let pulls: Vec<Timestamp> = kubelet
        .runtime()
        .commands
        .iter()
        .filter(|(_, command)| matches!(command, RuntimeCommand::PullImage { .. }))
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(pulls.len(), 2, "pulled at 0 s and after the 10 s back-off; the next waits 20 s");
    assert_eq!(seconds_between(pulls[0], pulls[1]), 10);
    assert_eq!(get_pod(&mut cluster, "web")["status"]["phase"], "Pending");
}

#[test]
fn init_containers_run_in_order_each_to_completion_before_the_containers() {
    let quick = ContainerBehavior { exit_after: Some(Duration::from_secs(2)), ..Default::default() };
    let behavior = SimulatedBehavior::default().with_rule("init", quick);
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(behavior);
    let init = json!([{"name": "first", "image": "init:1"}, {"name": "second", "image": "init:1", "command": ["sh"], "args": ["-c", "true"]}]);
    create(&mut cluster, pod("web", "nginx:1", json!({"initContainers": init})));
    let mut initialized_seen_false = false;
    assert!(run(&mut cluster, &mut kubelet, 30, |cluster| {
        let pod = get_pod(cluster, "web");
        initialized_seen_false |= condition(&pod, "Initialized") == "False";
        condition(&pod, "Ready") == "True"
    }));
    assert!(initialized_seen_false);
    let starts: Vec<(Timestamp, String)> = kubelet
        .runtime()
        .commands
        .iter()
        .filter_map(|(at, command)| match command {
            RuntimeCommand::StartContainer { container } => Some((*at, container.container.clone())),
            _ => None,
        })
        .collect();
    let names: Vec<&str> = starts.iter().map(|(_, name)| name.as_str()).collect();
    assert_eq!(names, vec!["first", "second", "app"]);
    assert_eq!(seconds_between(starts[0].0, starts[1].0), 2);
    assert_eq!(seconds_between(starts[1].0, starts[2].0), 2);
    let create_second = kubelet.runtime().commands.iter().find_map(|(_, command)| match command {
        RuntimeCommand::CreateContainer { container, command, args, .. } if container.container == "second" => {
            Some((command.clone(), args.clone()))
        }
        _ => None,
    });
    assert_eq!(create_second, Some((vec!["sh".to_string()], vec!["-c".to_string(), "true".to_string()])));
    let pod = get_pod(&mut cluster, "web");
    assert_eq!(pod["status"]["initContainerStatuses"][1]["state"]["terminated"]["reason"], "Completed");
}

#[test]
fn graceful_deletion_runs_pre_stop_sends_sigterm_then_sigkill_at_the_deadline_then_the_final_delete() {
    let stubborn = ContainerBehavior { ignores_sigterm: true, ..Default::default() };
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(behavior("stubborn", stubborn));
    let container = json!({"name": "app", "image": "stubborn:1",
        "lifecycle": {"preStop": {"exec": {"command": ["drain"]}}}});
    create(
        &mut cluster,
        pod("web", "stubborn:1", json!({"containers": [container], "terminationGracePeriodSeconds": 7})),
    );
    assert!(run(&mut cluster, &mut kubelet, 10, |cluster| condition(&get_pod(cluster, "web"), "Ready") == "True"));
    let (status, body) = cluster.send(Method::Delete, "/api/v1/namespaces/default/pods/web", None);
    assert_eq!(status, 200, "graceful deletion marks the pod: {body}");
    let deleted_at = cluster.now;
    assert!(run(&mut cluster, &mut kubelet, 20, |cluster| get_pod(cluster, "web").is_null()));
    assert_eq!(seconds_between(deleted_at, cluster.now), 7, "gone right after SIGKILL at the grace deadline");
    let kinds: Vec<(&str, i64)> = kubelet
        .runtime()
        .commands
        .iter()
        .filter_map(|(at, command)| {
            let kind = match command {
                RuntimeCommand::RunHook { .. } => "preStop",
                RuntimeCommand::StopContainer { .. } => "SIGTERM",
                RuntimeCommand::KillContainer { .. } => "SIGKILL",
                RuntimeCommand::RemovePodSandbox { .. } => "remove",
                _ => return None,
            };
            Some((kind, seconds_between(deleted_at, *at)))
        })
        .collect();
    assert_eq!(kinds, vec![("preStop", 0), ("SIGTERM", 0), ("SIGKILL", 7), ("remove", 7)]);
    assert_eq!(kubelet.pod_count(), 0);
}

#[test]
fn admission_refuses_a_pod_that_overcommits_the_node() {
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(SimulatedBehavior::default());
    let requests = |cpu: &str| json!({"containers": [{"name": "app", "image": "nginx:1", "resources": {"requests": {"cpu": cpu}}}]});
    create(&mut cluster, pod("big", "nginx:1", requests("3")));
    assert!(run(&mut cluster, &mut kubelet, 10, |cluster| condition(&get_pod(cluster, "big"), "Ready") == "True"));
    create(&mut cluster, pod("too-big", "nginx:1", requests("2")));
    assert!(run(&mut cluster, &mut kubelet, 10, |cluster| get_pod(cluster, "too-big")["status"]["phase"] == "Failed"));
    let refused = get_pod(&mut cluster, "too-big");
    assert_eq!(refused["status"]["reason"], "OutOfcpu");
    assert_eq!(
        refused["status"]["message"],
        "Pod was rejected: Node didn't have enough resource: cpu, requested: 2000, used: 3000, capacity: 4000"
    );
    assert!(kubelet.runtime().commands.iter().all(|(_, command)| !matches!(
        command,
        RuntimeCommand::CreateContainer { container, .. } if container.pod == "too-big"
    )));
}

#[test]
fn pod_status_is_written_only_when_it_changes() {
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(SimulatedBehavior::default());
    let container = json!({"name": "app", "image": "nginx:1",
        "readinessProbe": {"tcpSocket": {"port": 80}}, "livenessProbe": {"tcpSocket": {"port": 80}}});
    create(&mut cluster, pod("web", "nginx:1", json!({"containers": [container]})));
    assert!(run(&mut cluster, &mut kubelet, 30, |cluster| condition(&get_pod(cluster, "web"), "Ready") == "True"));
    let writes = kubelet.status_writes();
    assert!(writes <= 3, "admitted, running, ready: {writes}");
    // Probes keep succeeding for ten minutes, stats are sampled: nothing to write.
    run(&mut cluster, &mut kubelet, 600, |_| false);
    assert_eq!(kubelet.status_writes(), writes);
    assert!(kubelet.pod_usage().contains_key(&("default".to_string(), "web".to_string())));
}

/// The node lifecycle controller marks a pod not Ready while its node is unreachable
/// (MarkPodsNotReady). When the node's kubelet sees that change it writes its own view back,
/// even though nothing changed on the node: otherwise the pod would stay out of its Service's
/// endpoints and its Deployment one replica short for good (found by the 1,000-node hour).
#[test]
fn a_pod_marked_not_ready_by_another_writer_is_written_ready_again() {
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(SimulatedBehavior::default());
    create(&mut cluster, pod("web", "nginx:1", json!({})));
    assert!(run(&mut cluster, &mut kubelet, 10, |cluster| condition(&get_pod(cluster, "web"), "Ready") == "True"));
    let writes = kubelet.status_writes();
    let not_ready = json!({"status": {"conditions": [{"type": "Ready", "status": "False",
        "reason": "NodeNotReady", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
    let (status, body) = cluster.send(Method::Patch, "/api/v1/namespaces/default/pods/web/status", Some(not_ready));
    assert_eq!(status, 200, "{body}");
    assert_eq!(condition(&get_pod(&mut cluster, "web"), "Ready"), "False");
    assert!(run(&mut cluster, &mut kubelet, 10, |cluster| condition(&get_pod(cluster, "web"), "Ready") == "True"));
    assert_eq!(kubelet.status_writes(), writes + 1, "one write puts the kubelet's view back");
}

#[test]
fn a_kubelet_restarted_with_an_empty_runtime_restarts_the_pods_containers() {
    let mut cluster = TestCluster::new(0);
    let mut first = kubelet(SimulatedBehavior::default());
    create(&mut cluster, pod("web", "nginx:1", json!({})));
    assert!(run(&mut cluster, &mut first, 10, |cluster| condition(&get_pod(cluster, "web"), "Ready") == "True"));
    let ip = get_pod(&mut cluster, "web")["status"]["podIP"].clone();
    drop(first);
    cluster.advance(Duration::from_secs(60));
    let mut second = kubelet(SimulatedBehavior::default());
    assert!(run(&mut cluster, &mut second, 10, |cluster| {
        let pod = get_pod(cluster, "web");
        container_status(&pod)["restartCount"] == 1 && condition(&pod, "Ready") == "True"
    }));
    assert_eq!(get_pod(&mut cluster, "web")["status"]["podIP"], ip, "the free previous IP is kept");
}

#[test]
fn a_deployment_becomes_ready_on_two_simulated_nodes_with_the_manager_and_scheduler() {
    use crate::controllers::manager::{ControllerManager, ControllerManagerConfig};
    use crate::testing::default_scheduler;

    let mut cluster = TestCluster::new(0);
    let mut manager = ControllerManager::new(ControllerManagerConfig::default());
    let mut scheduler = default_scheduler();
    let mut node_a = Kubelet::new(KubeletConfig::new("node-a"), SimulatedRuntime::new(SimulatedBehavior::default()));
    let mut node_b = Kubelet::new(KubeletConfig::new("node-b"), SimulatedRuntime::new(SimulatedBehavior::default()));
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "web:v1",
                    "resources": {"requests": {"cpu": "500m", "memory": "64Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 2}}]}}}
    });
    let (status, body) = cluster.send(Method::Post, "/apis/apps/v1/namespaces/default/deployments", Some(deployment));
    assert_eq!(status, 201, "{body}");
    let components: &mut [&mut dyn Component] = &mut [&mut manager, &mut scheduler, &mut node_a, &mut node_b];
    assert!(cluster.run_until(components, Duration::from_secs(120), |cluster| {
        cluster.get("/apis/apps/v1/namespaces/default/deployments/web")["status"]["readyReplicas"] == 4
    }));
    let pods = cluster.get("/api/v1/namespaces/default/pods")["items"].as_array().cloned().unwrap_or_default();
    let mut nodes: Vec<String> =
        pods.iter().map(|pod| pod["spec"]["nodeName"].as_str().unwrap_or("").to_string()).collect();
    nodes.sort();
    nodes.dedup();
    assert_eq!(nodes, vec!["node-a", "node-b"]);
    for pod in &pods {
        assert_eq!(condition(pod, "Ready"), "True", "{pod}");
        assert!(pod["status"]["podIP"].as_str().is_some_and(|ip| ip.starts_with("10.244.")), "{pod}");
    }
    assert_eq!(node_a.pod_count() + node_b.pod_count(), 4);
    let _ = SignedDuration::ZERO;
}

#[test]
fn a_pod_past_its_active_deadline_fails_with_deadline_exceeded_and_its_containers_stop() {
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(SimulatedBehavior::default());
    create(&mut cluster, pod("web", "nginx:1", json!({"activeDeadlineSeconds": 30})));
    assert!(run(&mut cluster, &mut kubelet, 60, |cluster| get_pod(cluster, "web")["status"]["phase"] == "Failed"));
    assert_eq!(seconds_between(crate::testing::start(), cluster.now), 30);
    let pod = get_pod(&mut cluster, "web");
    assert_eq!(pod["status"]["reason"], "DeadlineExceeded");
    assert_eq!(pod["status"]["message"], "Pod was active on the node longer than the specified deadline");
    assert!(kubelet.runtime().inner.running().is_empty());
}

#[test]
fn a_refused_pod_deleted_gracefully_gets_its_final_delete() {
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(SimulatedBehavior::default());
    let huge =
        json!({"containers": [{"name": "app", "image": "nginx:1", "resources": {"requests": {"memory": "64Gi"}}}]});
    create(&mut cluster, pod("huge", "nginx:1", huge));
    assert!(run(&mut cluster, &mut kubelet, 5, |cluster| get_pod(cluster, "huge")["status"]["reason"] == "OutOfmemory"));
    let options = json!({"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 30});
    let (status, body) = cluster.send(Method::Delete, "/api/v1/namespaces/default/pods/huge", Some(options));
    assert_eq!(status, 200, "{body}");
    assert!(run(&mut cluster, &mut kubelet, 5, |cluster| get_pod(cluster, "huge").is_null()));
}

#[test]
fn logs_and_exec_go_through_the_runtime_and_usage_feeds_a_metrics_source() {
    use crate::controllers::hpa::MetricsSource;
    use crate::selector::LabelSelector;

    let chatty = ContainerBehavior { logs: "one\ntwo\nthree".into(), ..Default::default() };
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(behavior("chatty", chatty));
    let mut created = pod("web", "chatty:1", json!({}));
    created["metadata"]["labels"] = json!({"app": "web"});
    create(&mut cluster, created);
    assert!(run(&mut cluster, &mut kubelet, 5, |cluster| condition(&get_pod(cluster, "web"), "Ready") == "True"));
    kubelet.runtime_mut().inner.set_usage("default", "web", "app", 250, 1 << 20);
    let logs = kubelet.request_logs("default", "web", "app", Some(2), cluster.now).unwrap();
    let exec = kubelet.exec("default", "web", "app", vec!["ls".into()], Duration::from_secs(5), cluster.now).unwrap();
    assert_eq!(kubelet.request_logs("default", "nope", "app", None, cluster.now), None);
    run(&mut cluster, &mut kubelet, 20, |_| false);
    let answers = kubelet.take_answers();
    assert!(answers.contains(&RuntimeReport::LogsResult { request: logs, text: "two\nthree".into() }), "{answers:?}");
    assert!(
        answers.iter().any(
            |answer| matches!(answer, RuntimeReport::ExecResult { request, exit_code: 0, .. } if *request == exec)
        )
    );
    let source = super::KubeletMetrics { kubelets: vec![&kubelet] };
    let metrics = source.pod_metrics("default", &LabelSelector::parse("app=web").unwrap()).unwrap();
    assert_eq!(metrics["web"].cpu_millicores, Some(250));
    assert_eq!(metrics["web"].memory_bytes, Some(1 << 20));
    assert!(source.pod_metrics("default", &LabelSelector::parse("app=db").unwrap()).unwrap().is_empty());
}

/// The same pods on the same kubelet twice: byte-identical pod objects (the simulator's trace
/// hash depends on it).
#[test]
fn the_same_run_twice_gives_identical_pods() {
    let once = || {
        let crasher =
            ContainerBehavior { exit_after: Some(Duration::from_secs(3)), exit_code: 1, ..Default::default() };
        let mut cluster = TestCluster::new(0);
        let mut kubelet = kubelet(behavior("crasher", crasher));
        create(&mut cluster, pod("a", "crasher:1", json!({})));
        create(
            &mut cluster,
            pod(
                "b",
                "nginx",
                json!({"containers": [{"name": "app", "image": "nginx",
            "readinessProbe": {"exec": {"command": ["ok"]}, "periodSeconds": 3}}]}),
            ),
        );
        run(&mut cluster, &mut kubelet, 120, |_| false);
        (cluster.get("/api/v1/namespaces/default/pods").to_string(), kubelet.status_writes())
    };
    assert_eq!(once(), once());
}

#[test]
fn a_crash_looping_pod_status_reads_as_kubernetes_writes_it() {
    let crasher = ContainerBehavior { exit_after: Some(Duration::from_secs(2)), exit_code: 1, ..Default::default() };
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(behavior("crasher", crasher));
    create(
        &mut cluster,
        pod(
            "web",
            "crasher:1",
            json!({"containers": [{"name": "app", "image": "crasher:1",
        "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "100m"}}}]}),
        ),
    );
    run(&mut cluster, &mut kubelet, 10, |_| false);
    let mut status = get_pod(&mut cluster, "web")["status"].clone();
    status["containerStatuses"][0]["containerID"] = json!("<id>");
    status["containerStatuses"][0]["lastState"]["terminated"]["containerID"] = json!("<id>");
    insta::assert_snapshot!(serde_json::to_string_pretty(&status).unwrap());
}

#[test]
fn a_startup_probe_holds_back_liveness_and_readiness_until_it_succeeds() {
    let slow = ContainerBehavior { probes: ProbeAnswer::SucceedAfter(Duration::from_secs(20)), ..Default::default() };
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(behavior("slow", slow));
    let container = json!({"name": "app", "image": "slow:1",
        "startupProbe": {"exec": {"command": ["ok"]}, "periodSeconds": 5, "failureThreshold": 10},
        "livenessProbe": {"exec": {"command": ["ok"]}, "periodSeconds": 5, "failureThreshold": 1},
        "readinessProbe": {"exec": {"command": ["ok"]}, "periodSeconds": 5}});
    create(&mut cluster, pod("web", "slow:1", json!({"containers": [container]})));
    let mut started_early = false;
    assert!(run(&mut cluster, &mut kubelet, 60, |cluster| {
        let pod = get_pod(cluster, "web");
        if seconds_between(crate::testing::start(), cluster.now) < 20 {
            started_early |= container_status(&pod)["started"] == true || condition(&pod, "Ready") == "True";
        }
        condition(&pod, "Ready") == "True"
    }));
    assert!(!started_early);
    assert_eq!(seconds_between(crate::testing::start(), cluster.now), 20);
    assert_eq!(container_status(&get_pod(&mut cluster, "web"))["restartCount"], 0, "liveness never ran before startup");
}

#[test]
fn a_sidecar_init_container_keeps_running_beside_the_containers() {
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(SimulatedBehavior::default());
    let init = json!([{"name": "proxy", "image": "envoy:1", "restartPolicy": "Always"}]);
    create(&mut cluster, pod("web", "nginx:1", json!({"initContainers": init})));
    assert!(run(&mut cluster, &mut kubelet, 10, |cluster| condition(&get_pod(cluster, "web"), "Ready") == "True"));
    let pod = get_pod(&mut cluster, "web");
    assert!(pod["status"]["initContainerStatuses"][0]["state"]["running"].is_object(), "{pod}");
    assert_eq!(condition(&pod, "Initialized"), "True");
    assert_eq!(kubelet.runtime().inner.running().len(), 2);
}

#[test]
fn a_liveness_kill_runs_the_pre_stop_hook_first() {
    let flaky = ContainerBehavior { probes: ProbeAnswer::FailAfter(Duration::from_secs(5)), ..Default::default() };
    let mut cluster = TestCluster::new(0);
    let mut kubelet = kubelet(behavior("flaky", flaky));
    let container = json!({"name": "app", "image": "flaky:1",
        "lifecycle": {"preStop": {"httpGet": {"path": "/drain", "port": 8080}}},
        "livenessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 5, "failureThreshold": 1}});
    create(&mut cluster, pod("web", "flaky:1", json!({"containers": [container]})));
    assert!(
        run(&mut cluster, &mut kubelet, 30, |cluster| container_status(&get_pod(cluster, "web"))["restartCount"] == 1)
    );
    let kinds: Vec<&str> = kubelet
        .runtime()
        .commands
        .iter()
        .filter_map(|(_, command)| match command {
            RuntimeCommand::RunHook { .. } => Some("preStop"),
            RuntimeCommand::StopContainer { .. } => Some("SIGTERM"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec!["preStop", "SIGTERM"]);
}
