//! The `cox server` binary as a user runs it, in child processes:
//! - SIGKILLed while clients write, then restarted on the same data directory: every
//!   acknowledged write is there, nothing else is, and revisions go on from where they were;
//! - two servers sharing one real etcd: one leads the scheduler and the controller manager,
//!   and when it is SIGKILLed the other takes both over and runs a new Deployment's pods.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use coxswain_core::api::{ApiRequest, Method};
use coxswain_real::client::connector::TcpConnector;
use coxswain_real::client::http::{Answer, HttpClient};
use coxswain_real::testing::{EtcdServer, TempDir};
use serde_json::{Value, json};

/// How long a server may take to answer after it starts, and a cluster to settle.
const SETTLE: Duration = Duration::from_secs(90);

/// A `cox server` child process.
struct ServerProcess {
    child: Child,
    client: HttpClient,
}

impl ServerProcess {
    /// Starts `cox server` on a loopback port of the kernel's choosing with `arguments` and waits
    /// until it answers.
    ///
    /// The port is read from what the server prints, not picked beforehand: a port found free
    /// and then handed to a child can be taken in between (the other test's clients open
    /// connections from the same ephemeral range), and the child would then exit at once.
    async fn start(folder: &Path, name: &str, arguments: &[&str]) -> ServerProcess {
        let output_path = folder.join(format!("{name}.out"));
        let log_path = folder.join(format!("{name}.log"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_cox"))
            .args(["server", "--listen", "127.0.0.1:0"])
            .arg("--write-kubeconfig")
            .arg(folder.join(format!("{name}.kubeconfig")))
            .args(arguments)
            .stdout(std::fs::File::create(&output_path).unwrap())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .expect("cox server starts");
        let started = Instant::now();
        let failed = |why: &str| -> String {
            let output = std::fs::read_to_string(&output_path).unwrap_or_default();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: String =
                log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
            format!("cox server {name} {why}\n--- stdout ---\n{output}\n--- last lines of stderr ---\n{tail}")
        };
        let address: SocketAddr = loop {
            let output = std::fs::read_to_string(&output_path).unwrap_or_default();
            if let Some(address) = output
                .lines()
                .find_map(|line| line.strip_prefix("coxswain API server listening on http://"))
                .and_then(|address| address.trim().parse().ok())
            {
                break address;
            }
            if let Some(status) = child.try_wait().expect("poll the server") {
                panic!("{}", failed(&format!("exited with {status} before it listened")));
            }
            assert!(started.elapsed() < SETTLE, "{}", failed("did not say where it listens"));
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let client = HttpClient::new(Arc::new(TcpConnector::new(address)), Duration::from_secs(10));
        let mut server = ServerProcess { child, client };
        while !matches!(server.client.send(&ApiRequest::new(Method::Get, "/version")).await, Ok(answer) if answer.status == 200)
        {
            if let Some(status) = server.child.try_wait().expect("poll the server") {
                panic!("{}", failed(&format!("exited with {status}")));
            }
            assert!(started.elapsed() < SETTLE, "{}", failed("did not answer"));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    /// SIGKILL: no destructor, no flush, no chance to finish what is in flight.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `read` until `done` holds for its answer; fails after [`SETTLE`].
async fn wait_until(what: &str, client: &HttpClient, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        if let Ok(answer) = client.send(&ApiRequest::new(Method::Get, path)).await
            && answer.status == 200
            && done(&answer.body)
        {
            return answer.body;
        }
        assert!(started.elapsed() < SETTLE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn resource_version(answer: &Answer) -> u64 {
    answer.body["metadata"]["resourceVersion"].as_str().and_then(|rv| rv.parse().ok()).expect("a resourceVersion")
}

/// What one writer had acknowledged for one ConfigMap, and what it had in flight at the kill.
#[derive(Debug, Default, Clone)]
struct Written {
    name: String,
    acknowledged: Option<(String, u64)>,
    in_flight: Option<String>,
}

/// Creates ConfigMaps and then updates each once, one request at a time, until the server stops
/// answering; returns what was acknowledged.
async fn write_until_the_server_dies(client: HttpClient, writer: usize, stop: Arc<AtomicBool>) -> Vec<Written> {
    let mut written: Vec<Written> = Vec::new();
    let path = "/api/v1/namespaces/default/configmaps";
    for round in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        // Even rounds create a new object; odd rounds update the one just created.
        let (request, index, value) = if round % 2 == 0 {
            let name = format!("writer-{writer}-{}", round / 2);
            let value = format!("created in round {round}");
            written.push(Written { name: name.clone(), ..Written::default() });
            let body =
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"value": value}});
            (ApiRequest::new(Method::Post, path).with_json(&body), written.len() - 1, value)
        } else {
            let index = written.len() - 1;
            let value = format!("updated in round {round}");
            let patch = json!({"data": {"value": value}});
            let request = ApiRequest::new(Method::Patch, &format!("{path}/{}", written[index].name))
                .with_body("application/merge-patch+json", serde_json::to_vec(&patch).unwrap());
            (request, index, value)
        };
        written[index].in_flight = Some(value.clone());
        match client.send(&request).await {
            Ok(answer) if answer.status == 200 || answer.status == 201 => {
                written[index].acknowledged = Some((value, resource_version(&answer)));
                written[index].in_flight = None;
            }
            Ok(answer) => panic!("writer {writer}: the server refused a write: {} {}", answer.status, answer.body),
            Err(_) => break,
        }
    }
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_while_clients_write_keeps_every_acknowledged_write() {
    let folder = TempDir::new("server-sigkill");
    let data = folder.path().join("data");
    let data_argument = ["--data-dir", data.to_str().unwrap()];
    let mut server = ServerProcess::start(folder.path(), "first", &data_argument).await;

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|writer| tokio::spawn(write_until_the_server_dies(server.client.clone(), writer, stop.clone())))
        .collect();
    // Kill once the writers have had a fair number of writes acknowledged, mid-stream.
    let watch_path = "/api/v1/namespaces/default/configmaps";
    wait_until("200 ConfigMaps written", &server.client, watch_path, |list| {
        list["items"].as_array().is_some_and(|items| items.len() >= 200)
    })
    .await;
    server.kill();
    stop.store(true, Ordering::Relaxed);
    let mut written = Vec::new();
    for writer in writers {
        written.extend(writer.await.unwrap());
    }
    let acknowledged = written.iter().filter(|entry| entry.acknowledged.is_some()).count();
    assert!(acknowledged >= 200, "{acknowledged} writes acknowledged before the kill");

    let restarted = ServerProcess::start(folder.path(), "restarted", &data_argument).await;
    let list = restarted.client.send(&ApiRequest::new(Method::Get, watch_path)).await.unwrap();
    assert_eq!(list.status, 200, "{}", list.body);
    let stored: std::collections::BTreeMap<String, Value> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["metadata"]["name"].as_str().unwrap().to_string(), item.clone()))
        .collect();
    let mut highest_acknowledged = 0;
    for entry in &written {
        let stored = stored.get(&entry.name);
        match (&entry.acknowledged, stored) {
            (Some((value, revision)), Some(object)) => {
                let found = object["data"]["value"].as_str().unwrap_or_default();
                let stored_revision: u64 = object["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
                highest_acknowledged = highest_acknowledged.max(*revision);
                // The write in flight at the kill may or may not have landed; nothing else may differ.
                if found == value {
                    assert_eq!(stored_revision, *revision, "{} is as acknowledged", entry.name);
                } else {
                    assert_eq!(Some(found), entry.in_flight.as_deref(), "{}: acknowledged {value:?}", entry.name);
                    assert!(stored_revision > *revision, "{}: the in-flight write came after", entry.name);
                }
            }
            (Some((value, _)), None) => panic!("{} was acknowledged with {value:?} and is lost", entry.name),
            (None, Some(object)) => {
                assert_eq!(
                    object["data"]["value"].as_str(),
                    entry.in_flight.as_deref(),
                    "{} came from the create in flight",
                    entry.name
                )
            }
            (None, None) => {}
        }
    }
    let attempted: std::collections::BTreeSet<&str> = written.iter().map(|entry| entry.name.as_str()).collect();
    for name in stored.keys() {
        assert!(attempted.contains(name.as_str()), "{name} was never written by a client");
    }
    // Revisions go on from where they were: a new write lands after every acknowledged one.
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after-restart"}});
    let answer = restarted.client.send(&ApiRequest::new(Method::Post, watch_path).with_json(&body)).await.unwrap();
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert!(
        resource_version(&answer) > highest_acknowledged,
        "revision {} after {highest_acknowledged}",
        resource_version(&answer)
    );
}

/// The holder of the leader-election Lease `name` in kube-system, if any.
async fn lease_holder(client: &HttpClient, name: &str) -> Option<String> {
    let path = format!("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{name}");
    let answer = client.send(&ApiRequest::new(Method::Get, &path)).await.ok()?;
    answer.body["spec"]["holderIdentity"].as_str().filter(|holder| !holder.is_empty()).map(str::to_string)
}

async fn wait_for_holder(client: &HttpClient, name: &str, other_than: Option<&str>) -> String {
    let started = Instant::now();
    loop {
        if let Some(holder) = lease_holder(client, name).await
            && Some(holder.as_str()) != other_than
        {
            return holder;
        }
        assert!(started.elapsed() < SETTLE, "no new holder of the {name} lease (other than {other_than:?})");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_leading_server_is_killed_the_other_takes_over() {
    let etcd = EtcdServer::start();
    let endpoints = etcd.endpoints().join(",");
    let folder = TempDir::new("server-takeover");
    let mut first = ServerProcess::start(folder.path(), "first", &["--etcd-endpoints", &endpoints]).await;
    let scheduler = wait_for_holder(&first.client, "kube-scheduler", None).await;
    let manager = wait_for_holder(&first.client, "kube-controller-manager", None).await;
    assert_eq!(scheduler, manager, "one server leads both");

    // The second server runs the only node; it does not take the leases while the first renews.
    let second =
        ServerProcess::start(folder.path(), "second", &["--etcd-endpoints", &endpoints, "--simulated-nodes", "1"])
            .await;
    wait_until("the second server's node Ready", &second.client, "/api/v1/nodes", |nodes| {
        nodes["items"].as_array().is_some_and(|items| {
            items.len() == 1
                && items[0]["status"]["conditions"]
                    .as_array()
                    .is_some_and(|conditions| conditions.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
        })
    })
    .await;
    assert_eq!(lease_holder(&second.client, "kube-scheduler").await.as_deref(), Some(scheduler.as_str()));
    assert_eq!(lease_holder(&second.client, "kube-controller-manager").await.as_deref(), Some(manager.as_str()));

    first.kill();
    let new_scheduler = wait_for_holder(&second.client, "kube-scheduler", Some(&scheduler)).await;
    let new_manager = wait_for_holder(&second.client, "kube-controller-manager", Some(&manager)).await;
    assert_eq!(new_scheduler, new_manager, "the surviving server leads both");

    // The new leader's controllers and scheduler act: a Deployment's pods are made, bound and run.
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}
    });
    let create = ApiRequest::new(Method::Post, "/apis/apps/v1/namespaces/default/deployments").with_json(&deployment);
    let answer = second.client.send(&create).await.unwrap();
    assert_eq!(answer.status, 201, "{}", answer.body);
    wait_until(
        "two running pods of web",
        &second.client,
        "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb",
        |pods| {
            pods["items"].as_array().is_some_and(|items| {
                items.len() == 2
                    && items
                        .iter()
                        .all(|pod| pod["spec"]["nodeName"] == "cox-node-1" && pod["status"]["phase"] == "Running")
            })
        },
    )
    .await;
}
