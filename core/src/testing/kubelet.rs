//! A stand-in kubelet for every node: it starts each bound pod at once (Running, Ready, an IP),
//! confirms graceful deletions and renews every node's Lease in kube-node-lease, and can fall
//! silent for one node, as a lost node does. The node agent of `kubelet/` replaces it where a
//! test needs the real pod lifecycle; this is the least that lets controllers see pods become
//! ready.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::api::{ApiRequest, Method};
use crate::client::informer::{Change, Informer};
use crate::client::paths::{collection_path, object_path, subresource_path};
use crate::client::{Component, Incoming, Outgoing, RequestId};
use crate::controllers::node_lifecycle::NODE_LEASE_NAMESPACE;
use crate::object::kinds;

/// How often a kubelet renews its node's Lease: 10 s, a quarter of the Lease's duration
/// (kubelet's `nodeLeaseRenewIntervalFraction` 0.25 of 40 s).
pub const NODE_LEASE_RENEW_INTERVAL: Duration = Duration::from_secs(10);
/// How often a kubelet writes its node's status when nothing changed
/// (`nodeStatusReportFrequency`, 5 minutes).
pub const NODE_STATUS_REPORT_FREQUENCY: Duration = Duration::from_secs(5 * 60);
/// The duration a kubelet writes in its node's Lease (`nodeLeaseDurationSeconds`).
pub const NODE_LEASE_DURATION_SECONDS: i64 = 40;

/// Starts every bound pod at once, confirms graceful deletions and renews each node's Lease
/// every [`NODE_LEASE_RENEW_INTERVAL`], as the kubelets of every node with instant containers
/// would. A node can be made to fall silent ([`InstantKubelet::stop_node`]): its Lease is no
/// longer renewed and its pods are neither started nor confirmed deleted.
#[derive(Debug, Default)]
pub struct InstantKubelet {
    pods: Informer<Pod>,
    nodes: Informer<Node>,
    next_id: RequestId,
    started: u64,
    /// When each node's Lease was last renewed.
    renewed: BTreeMap<String, Timestamp>,
    /// The next Lease renewal of each running node, earliest first, so a step looks only at
    /// the renewals that are due.
    renewals_due: BTreeSet<(Timestamp, String)>,
    /// Lease renewals awaiting an answer: a 404 means the Lease must be created first.
    renewals: BTreeMap<RequestId, String>,
    /// How often node status is written when nothing changed, if at all.
    status_report_interval: Option<Duration>,
    /// The next node status report of each running node, earliest first.
    reports_due: BTreeSet<(Timestamp, String)>,
    stopped: BTreeSet<String>,
}

impl InstantKubelet {
    /// A kubelet for every node.
    pub fn new() -> InstantKubelet {
        InstantKubelet { next_id: 1, ..InstantKubelet::default() }
    }

    /// The kubelets also report their node's status every [`NODE_STATUS_REPORT_FREQUENCY`]
    /// (a strategic-merge patch of the Ready condition's heartbeat time), as kubelets do when
    /// nothing changed; without this only Leases show that a node is alive.
    pub fn with_node_status_reports(mut self) -> InstantKubelet {
        self.status_report_interval = Some(NODE_STATUS_REPORT_FREQUENCY);
        self
    }

    /// Pods it reported Running.
    pub fn started(&self) -> u64 {
        self.started
    }

    /// The kubelet of `node` stops, as when the node loses power or its network: no more Lease
    /// renewals, status reports, pod starts or deletion confirmations there.
    pub fn stop_node(&mut self, node: &str) {
        self.stopped.insert(node.to_string());
    }

    /// When `node`'s Lease was last renewed.
    pub fn last_renewal(&self, node: &str) -> Option<Timestamp> {
        self.renewed.get(node).copied()
    }

    /// A node appeared or went away: its renewals and reports start (at once) or stop.
    fn node_changed(&mut self, change: &Change<Node>, now: Timestamp) {
        let name = change.object().metadata.name.clone().unwrap_or_default();
        match change {
            Change::Applied { old: None, .. } => {
                self.renewals_due.insert((Timestamp::MIN, name.clone()));
                if self.status_report_interval.is_some() {
                    self.reports_due.insert((now, name));
                }
            }
            Change::Applied { .. } => {}
            Change::Deleted(_) => {
                self.renewals_due.retain(|(_, due)| *due != name);
                self.reports_due.retain(|(_, due)| *due != name);
            }
        }
    }

    /// Renews the Lease of every running node whose renewal is due: a merge patch of its
    /// renewTime, or a create when the patch found no Lease.
    fn renew_leases(&mut self, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        let interval = SignedDuration::try_from(NODE_LEASE_RENEW_INTERVAL).expect("a small interval");
        while let Some((_, name)) = pop_due(&mut self.renewals_due, now) {
            if self.stopped.contains(&name) {
                continue;
            }
            self.renewed.insert(name.clone(), now);
            self.renewals_due.insert((now + interval, name.clone()));
            let body = json!({"spec": {"holderIdentity": name, "renewTime": lease_time(now)}});
            let request = ApiRequest::new(Method::Patch, &lease_path(&name))
                .with_body("application/merge-patch+json", body.to_string().into_bytes());
            self.renewals.insert(self.next_id, name);
            self.push(request, outgoing);
        }
    }

    /// Reports the status of every running node whose report is due.
    fn report_node_status(&mut self, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        let Some(interval) = self.status_report_interval else { return };
        let interval = SignedDuration::try_from(interval).expect("a small interval");
        let nodes = kinds::by_api_version_kind("v1", "Node").expect("Node is served");
        while let Some((_, name)) = pop_due(&mut self.reports_due, now) {
            if self.stopped.contains(&name) {
                continue;
            }
            self.reports_due.insert((now + interval, name.clone()));
            let time = now.to_string();
            let body = json!({"status": {"conditions": [{"type": "Ready", "status": "True",
                "reason": "KubeletReady", "lastHeartbeatTime": time}]}});
            let request = ApiRequest::new(Method::Patch, &subresource_path(nodes, "", &name, "status"))
                .with_body("application/strategic-merge-patch+json", body.to_string().into_bytes());
            self.push(request, outgoing);
        }
    }

    fn lease_answered(&mut self, id: RequestId, status: u16, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        let Some(name) = self.renewals.remove(&id) else { return };
        if status != 404 || self.stopped.contains(&name) {
            return;
        }
        let leases = kinds::by_api_version_kind("coordination.k8s.io/v1", "Lease").expect("Lease is served");
        let lease = json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": NODE_LEASE_NAMESPACE},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": NODE_LEASE_DURATION_SECONDS,
                     "renewTime": lease_time(now)}
        });
        let path = collection_path(leases, Some(NODE_LEASE_NAMESPACE));
        self.push(ApiRequest::new(Method::Post, &path).with_json(&lease), outgoing);
    }

    fn react(&mut self, pod: &Pod, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        let pods = kinds::by_api_version_kind("v1", "Pod").expect("Pod is served");
        let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let node = pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref());
        if node.is_some_and(|node| self.stopped.contains(node)) {
            return;
        }
        let bound = node.is_some();
        if pod.metadata.deletion_timestamp.is_some() {
            let options = json!({"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0});
            let request = ApiRequest::new(Method::Delete, &object_path(pods, namespace, name)).with_json(&options);
            self.push(request, outgoing);
            return;
        }
        let phase = pod.status.as_ref().and_then(|status| status.phase.as_deref());
        if !bound || matches!(phase, Some("Running" | "Succeeded" | "Failed")) {
            return;
        }
        self.started += 1;
        let mut running = serde_json::to_value(pod).expect("a typed pod serializes");
        running["apiVersion"] = json!("v1");
        running["kind"] = json!("Pod");
        let time = now.to_string();
        let ip = format!("10.244.{}.{}", (self.started / 250) % 250, self.started % 250 + 1);
        running["status"]["phase"] = json!("Running");
        running["status"]["podIP"] = json!(ip);
        running["status"]["podIPs"] = json!([{"ip": ip}]);
        running["status"]["startTime"] = json!(time);
        running["status"]["conditions"] = json!([
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": time},
            {"type": "Initialized", "status": "True", "lastTransitionTime": time},
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": time},
            {"type": "Ready", "status": "True", "lastTransitionTime": time}
        ]);
        let request =
            ApiRequest::new(Method::Put, &subresource_path(pods, namespace, name, "status")).with_json(&running);
        self.push(request, outgoing);
    }

    fn push(&mut self, request: ApiRequest, outgoing: &mut Vec<Outgoing>) {
        outgoing.push(Outgoing { id: self.next_id, request });
        self.next_id += 1;
    }
}

impl Component for InstantKubelet {
    fn step(&mut self, input: Option<Incoming>, now: Timestamp) -> Vec<Outgoing> {
        let mut outgoing = Vec::new();
        if let Some(input) = input {
            if let Some(changes) = self.pods.handle(&input, now) {
                for change in changes {
                    if let Change::Applied { new, .. } = change {
                        self.react(&new, now, &mut outgoing);
                    }
                }
            } else if let Some(changes) = self.nodes.handle(&input, now) {
                for change in &changes {
                    self.node_changed(change, now);
                }
            } else if let Incoming::Response { id, status, .. } = input {
                self.lease_answered(id, status, now, &mut outgoing);
            }
        }
        outgoing.extend(self.pods.poll_request(now, &mut self.next_id));
        outgoing.extend(self.nodes.poll_request(now, &mut self.next_id));
        self.renew_leases(now, &mut outgoing);
        self.report_node_status(now, &mut outgoing);
        outgoing
    }

    fn next_wake(&self) -> Option<Timestamp> {
        let renewal = self.renewals_due.first().map(|(at, _)| *at);
        let report = self.reports_due.first().map(|(at, _)| *at);
        [self.pods.next_wake(), self.nodes.next_wake(), renewal, report].into_iter().flatten().min()
    }
}

/// Takes the earliest entry of a due queue if it is due at `now`.
fn pop_due(queue: &mut BTreeSet<(Timestamp, String)>, now: Timestamp) -> Option<(Timestamp, String)> {
    if queue.first().is_some_and(|(at, _)| *at <= now) { queue.pop_first() } else { None }
}

/// The path of `node`'s Lease.
fn lease_path(node: &str) -> String {
    let leases = kinds::by_api_version_kind("coordination.k8s.io/v1", "Lease").expect("Lease is served");
    object_path(leases, NODE_LEASE_NAMESPACE, node)
}

/// A Lease time, serialized as a MicroTime.
fn lease_time(now: Timestamp) -> Value {
    serde_json::to_value(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(now)).unwrap_or(Value::Null)
}
