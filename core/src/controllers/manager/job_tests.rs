//! End-to-end Job tests through the API: the controller manager, the scheduler and an instant
//! kubelet against one in-memory API server; the tests play the containers, writing each pod's
//! terminal status (phase, exit code, conditions) as its kubelet would.

use std::time::Duration;

use serde_json::{Value, json};

use super::{ControllerManager, ControllerManagerConfig};
use crate::api::Method;
use crate::client::Component;
use crate::controllers::job::JOB_TRACKING_FINALIZER;
use crate::scheduler::component::SchedulerComponent;
use crate::testing::{InstantKubelet, TestCluster, default_scheduler};

const JOBS: &str = "/apis/batch/v1/namespaces/default/jobs";

struct World {
    cluster: TestCluster,
    manager: ControllerManager,
    scheduler: SchedulerComponent,
    kubelet: InstantKubelet,
}

impl World {
    fn with_job(spec: Value) -> World {
        let mut cluster = TestCluster::new(2);
        let mut spec = spec;
        spec["template"] = json!({"spec": {"restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox"}]}});
        let job = json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "work", "namespace": "default"}, "spec": spec});
        let (status, body) = cluster.send(Method::Post, JOBS, Some(job));
        assert_eq!(status, 201, "{body}");
        World {
            cluster,
            manager: ControllerManager::new(ControllerManagerConfig::default()),
            scheduler: default_scheduler(),
            kubelet: InstantKubelet::new(),
        }
    }

    fn run_until(&mut self, seconds: u64, done: impl FnMut(&mut TestCluster) -> bool) -> bool {
        let components: &mut [&mut dyn Component] = &mut [&mut self.manager, &mut self.scheduler, &mut self.kubelet];
        self.cluster.run_until(components, Duration::from_secs(seconds), done)
    }

    fn job(&mut self) -> Value {
        self.cluster.get(&format!("{JOBS}/work"))
    }

    /// Runs until the Job has a True condition of `type_`; returns its reason and message.
    fn wait_for_condition(&mut self, type_: &str, seconds: u64) -> (String, String) {
        let reached =
            self.run_until(seconds, |cluster| condition(&cluster.get(&format!("{JOBS}/work")), type_).is_some());
        let job = self.job();
        assert!(reached, "no {type_} condition: {}", job["status"]);
        condition(&job, type_).unwrap()
    }

    /// Runs until `count` pods are Running and not deleted; returns them.
    fn wait_for_running(&mut self, count: usize, seconds: u64) -> Vec<Value> {
        assert!(self.run_until(seconds, |cluster| running(cluster).len() == count), "{:?}", pods(&mut self.cluster));
        running(&mut self.cluster)
    }

    /// Writes the pod's terminal status as its kubelet would: the phase, the main container
    /// terminated with `exit_code`, and `conditions` added.
    fn finish(&mut self, pod: &Value, phase: &str, exit_code: i32, conditions: &[(&str, &str)]) {
        let mut pod = pod.clone();
        let time = self.cluster.now.to_string();
        pod["apiVersion"] = json!("v1");
        pod["kind"] = json!("Pod");
        pod["status"]["phase"] = json!(phase);
        pod["status"]["containerStatuses"] = json!([{"name": "main", "image": "busybox", "imageID": "busybox",
            "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": exit_code, "reason": if exit_code == 0 { "Completed" } else { "Error" },
                "startedAt": time, "finishedAt": time}}}]);
        let mut all = vec![json!({"type": "Ready", "status": "False", "lastTransitionTime": time})];
        all.extend(conditions.iter().map(
            |(type_, reason)| json!({"type": type_, "status": "True", "reason": reason, "lastTransitionTime": time}),
        ));
        pod["status"]["conditions"] = json!(all);
        let name = pod["metadata"]["name"].as_str().unwrap().to_string();
        let path = format!("/api/v1/namespaces/default/pods/{name}/status");
        let (status, body) = self.cluster.send(Method::Put, &path, Some(pod));
        assert_eq!(status, 200, "{body}");
    }
}

fn condition(job: &Value, type_: &str) -> Option<(String, String)> {
    let conditions = job["status"]["conditions"].as_array()?;
    let found = conditions.iter().find(|condition| condition["type"] == type_ && condition["status"] == "True")?;
    let text = |field: &str| found[field].as_str().unwrap_or_default().to_string();
    Some((text("reason"), text("message")))
}

fn pods(cluster: &mut TestCluster) -> Vec<Value> {
    cluster.get("/api/v1/namespaces/default/pods")["items"].as_array().cloned().unwrap_or_default()
}

fn running(cluster: &mut TestCluster) -> Vec<Value> {
    let mut running: Vec<Value> = pods(cluster)
        .into_iter()
        .filter(|pod| pod["status"]["phase"] == "Running" && pod["metadata"]["deletionTimestamp"].is_null())
        .collect();
    running.sort_by_key(index_of);
    running
}

fn index_of(pod: &Value) -> i64 {
    let annotation = &pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"];
    annotation.as_str().and_then(|index| index.parse().ok()).unwrap_or(-1)
}

fn has_finalizer(pod: &Value) -> bool {
    pod["metadata"]["finalizers"].as_array().into_iter().flatten().any(|finalizer| finalizer == JOB_TRACKING_FINALIZER)
}

#[test]
fn a_fail_job_rule_on_exit_code_42_fails_the_job_at_once() {
    let mut world = World::with_job(json!({"completions": 4, "parallelism": 2, "backoffLimit": 6,
        "podFailurePolicy": {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]}}));
    let started = world.wait_for_running(2, 30);
    assert!(started.iter().all(has_finalizer), "every pod the Job creates carries the tracking finalizer");
    world.finish(&started[0], "Failed", 42, &[]);
    let (reason, message) = world.wait_for_condition("Failed", 30);
    assert_eq!(reason, "PodFailurePolicy");
    let name = started[0]["metadata"]["name"].as_str().unwrap();
    assert_eq!(
        message,
        format!("Container main for pod default/{name} failed with exit code 42 matching FailJob rule at index 0")
    );
    assert!(world.run_until(30, |cluster| running(cluster).is_empty()), "the other pod is stopped");
    assert!(pods(&mut world.cluster).iter().all(|pod| !has_finalizer(pod)), "no pod keeps the finalizer");
}

#[test]
fn an_ignored_disruption_does_not_count_toward_the_backoff_limit() {
    let mut world = World::with_job(json!({"completions": 1, "parallelism": 1, "backoffLimit": 0,
        "podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}}));
    let first = world.wait_for_running(1, 30);
    world.finish(&first[0], "Failed", 137, &[("DisruptionTarget", "EvictionByEvictionAPI")]);
    let replaced = world.run_until(60, |cluster| {
        running(cluster).iter().any(|pod| pod["metadata"]["uid"] != first[0]["metadata"]["uid"])
    });
    assert!(replaced, "the evicted pod is replaced: {}", world.job()["status"]);
    let job = world.job();
    assert_eq!(job["status"]["failed"], 0, "{}", job["status"]);
    assert!(condition(&job, "Failed").is_none());
    let second = running(&mut world.cluster);
    world.finish(&second[0], "Succeeded", 0, &[]);
    world.wait_for_condition("Complete", 30);
    assert_eq!(world.job()["status"]["succeeded"], 1);
}

#[test]
fn backoff_limit_per_index_fails_only_the_index_past_it() {
    let mut world = World::with_job(json!({"completions": 3, "parallelism": 3, "completionMode": "Indexed",
        "backoffLimitPerIndex": 1}));
    let pods_now = world.wait_for_running(3, 30);
    world.finish(&pods_now[0], "Failed", 1, &[]);
    world.finish(&pods_now[1], "Succeeded", 0, &[]);
    // Index 0 is retried once, after its own back-off, with its failure counted on the pod.
    let retried = world.run_until(60, |cluster| running(cluster).iter().any(|pod| index_of(pod) == 0));
    assert!(retried, "index 0 is retried: {}", world.job()["status"]);
    let retry = running(&mut world.cluster).into_iter().find(|pod| index_of(pod) == 0).unwrap();
    assert_eq!(retry["metadata"]["annotations"]["batch.kubernetes.io/job-index-failure-count"], "1");
    world.finish(&retry, "Failed", 1, &[]);
    assert!(world.run_until(30, |cluster| cluster.get(&format!("{JOBS}/work"))["status"]["failedIndexes"] == "0"));
    assert!(condition(&world.job(), "Failed").is_none(), "index 2 still runs");
    let last = running(&mut world.cluster);
    assert_eq!(last.iter().map(index_of).collect::<Vec<_>>(), [2]);
    world.finish(&last[0], "Succeeded", 0, &[]);
    let (reason, _) = world.wait_for_condition("Failed", 30);
    assert_eq!(reason, "FailedIndexes");
    let status = world.job()["status"].clone();
    assert_eq!((status["completedIndexes"].as_str(), status["failedIndexes"].as_str()), (Some("1,2"), Some("0")));
    assert_eq!(status["failed"], 2);
}

#[test]
fn a_job_whose_counted_failed_pod_is_deleted_still_trips_its_backoff_limit() {
    let mut world = World::with_job(json!({"completions": 1, "parallelism": 1, "backoffLimit": 1}));
    let first = world.wait_for_running(1, 30);
    world.finish(&first[0], "Failed", 1, &[]);
    let first_uid = first[0]["metadata"]["uid"].clone();
    let replaced =
        world.run_until(60, |cluster| running(cluster).iter().any(|pod| pod["metadata"]["uid"] != first_uid));
    assert!(replaced && world.job()["status"]["failed"] == 1, "{}", world.job()["status"]);
    // A user (or the pod garbage collector) deletes the counted pod.
    let name = first[0]["metadata"]["name"].as_str().unwrap();
    let (status, body) = world.cluster.send(Method::Delete, &format!("/api/v1/namespaces/default/pods/{name}"), None);
    assert_eq!(status, 200, "{body}");
    assert!(world.run_until(30, |cluster| pods(cluster).iter().all(|pod| pod["metadata"]["uid"] != first_uid)));
    let second = running(&mut world.cluster);
    world.finish(&second[0], "Failed", 1, &[]);
    let (reason, _) = world.wait_for_condition("Failed", 30);
    assert_eq!(reason, "BackoffLimitExceeded");
    assert_eq!(world.job()["status"]["failed"], 2);
}

#[test]
fn a_success_policy_completes_the_job_early() {
    let mut world = World::with_job(json!({"completions": 3, "parallelism": 3, "completionMode": "Indexed",
        "successPolicy": {"rules": [{"succeededIndexes": "0"}]}}));
    let pods_now = world.wait_for_running(3, 30);
    world.finish(&pods_now[0], "Succeeded", 0, &[]);
    let (reason, message) = world.wait_for_condition("Complete", 30);
    assert_eq!((reason.as_str(), message.as_str()), ("SuccessPolicy", "Matched rules at index 0"));
    let job = world.job();
    assert!(condition(&job, "SuccessCriteriaMet").is_some());
    assert_eq!(job["status"]["completedIndexes"], "0");
    assert!(running(&mut world.cluster).is_empty(), "the other indexes were stopped");
}

#[test]
fn an_orphaned_job_pod_keeps_no_finalizer() {
    let mut world = World::with_job(json!({"completions": 1, "parallelism": 1}));
    let pod = world.wait_for_running(1, 30).remove(0);
    let options = json!({"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Orphan"});
    let (status, body) = world.cluster.send(Method::Delete, &format!("{JOBS}/work"), Some(options));
    assert!(status == 200 || status == 202, "{body}");
    let name = pod["metadata"]["name"].as_str().unwrap().to_string();
    let released = world.run_until(30, |cluster| {
        let pod = cluster.get(&format!("/api/v1/namespaces/default/pods/{name}"));
        let owners = pod["metadata"]["ownerReferences"].as_array().map_or(0, Vec::len);
        pod["status"]["phase"] == "Running" && owners == 0 && !has_finalizer(&pod)
    });
    assert!(released, "{}", world.cluster.get(&format!("/api/v1/namespaces/default/pods/{name}")));
}
