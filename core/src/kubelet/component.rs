//! The node agent as a [`Component`]: it registers its Node, renews its Lease, reports node
//! status, watches the pods bound to its node (`spec.nodeName=<node>`, so its work never grows
//! with other nodes' pods), admits them, drives each through [`PodRecord`] with the runtime it
//! owns, and writes pod status only when it changed.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::admission::{Rejection, admit, requests_of};
use super::config::KubeletConfig;
use super::node::{lease_object, node_object, node_status, node_status_content, renew};
use super::pod::{FinalDelete, PodKey, PodRecord, SyncEffects};
use super::pod_status::{drifted, pod_status, rejected_status, status_patch};
use super::runtime::{ContainerRuntime, PodRef, RuntimeCommand, RuntimeReport};
use crate::api::allocation::cidr::Ipv4Cidr;
use crate::api::{ApiRequest, Method, to_json_bytes};
use crate::client::informer::{Change, Informer};
use crate::client::paths::{collection_path, object_path, subresource_path};
use crate::client::{Component, Incoming, Outgoing, RequestId, is_success};
use crate::controllers::hpa::{PodMetrics, PodUsage};
use crate::controllers::node_lifecycle::NODE_LEASE_NAMESPACE;
use crate::object::Object;
use crate::object::kinds::{self, ResourceType};
use crate::object::qos::pod_qos_class;
use crate::scheduler::resource::Resource;
use crate::selector::LabelSelector;

/// First delay before retrying a failed registration (`registerWithAPIServer` starts at 100 ms).
pub const REGISTRATION_RETRY_INITIAL: Duration = Duration::from_millis(100);
/// Longest delay between registration attempts (7 s, as Kubernetes).
pub const REGISTRATION_RETRY_MAX: Duration = Duration::from_secs(7);
/// How soon a failed pod status write or final delete is retried (the status manager's
/// `syncPeriod`, 10 s).
pub const STATUS_RETRY: Duration = Duration::from_secs(10);
/// Most rounds of runtime reports handled at one instant: a zero-latency runtime answers at the
/// same instant, so a pod goes from pull to running in one step; a runtime that keeps answering
/// beyond this is a bug.
pub const MAX_RUNTIME_ROUNDS: usize = 1_000;

/// The first pod IP offset handed out: `.1` is the node's bridge (cni0).
const FIRST_POD_IP_OFFSET: u64 = 2;

fn after(at: Timestamp, duration: Duration) -> Timestamp {
    at.saturating_add(SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX)).unwrap_or(Timestamp::MAX)
}

fn resource(api_version: &str, kind: &str) -> &'static ResourceType {
    kinds::by_api_version_kind(api_version, kind).expect("the kinds table serves the kubelet's kinds")
}

fn pods_resource() -> &'static ResourceType {
    resource("v1", "Pod")
}

fn key_of(pod: &Pod) -> PodKey {
    (pod.metadata.namespace.clone().unwrap_or_default(), pod.metadata.name.clone().unwrap_or_default())
}

fn uid_of(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or_default()
}

fn api_phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|status| status.phase.as_deref()).unwrap_or_default()
}

/// What a request in flight was for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pending {
    Register,
    NodeStatus,
    LeaseGet,
    LeaseCreate,
    LeaseUpdate,
    PodStatus { key: PodKey, uid: String },
    FinalDelete { key: PodKey, uid: String },
}

/// Where registration is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Registration {
    Due { at: Option<Timestamp>, failures: u32 },
    InFlight { failures: u32 },
    Done,
}

/// A pod the kubelet does not run: refused at admission (`rejection`), or already finished
/// when this kubelet first saw it. It only needs its final delete when deleted gracefully.
#[derive(Clone, Debug)]
struct Refused {
    uid: String,
    rejection: Option<Rejection>,
    delete_sent: bool,
}

/// One node's agent: a [`Component`] that also owns its container runtime.
#[derive(Debug)]
pub struct Kubelet<R: ContainerRuntime> {
    config: KubeletConfig,
    runtime: R,
    pods: Informer<Pod>,
    nodes: Informer<Node>,
    next_id: RequestId,
    requests: BTreeMap<RequestId, Pending>,
    registration: Registration,
    /// The node status without heartbeats, computed once: it follows from the configuration
    /// alone, which does not change while the kubelet runs.
    node_status_content: Arc<Value>,
    /// The node status last written (without heartbeats) and when.
    node_status_written: Option<(Arc<Value>, Timestamp)>,
    node_status_transitioned: Option<Timestamp>,
    next_node_status: Option<Timestamp>,
    next_lease: Option<Timestamp>,
    /// The node's Lease as the API server last returned it: each renewal updates this copy
    /// (a PUT carrying its resourceVersion), as the kubelet's lease controller does, and only
    /// reads it again when an update fails.
    lease: Option<Value>,
    /// Whether a Lease request is on its way: a renewal falling due meanwhile is skipped, as the
    /// kubelet's lease controller runs one sync at a time.
    lease_in_flight: bool,
    next_stats: Option<Timestamp>,
    records: BTreeMap<PodKey, PodRecord>,
    refused: BTreeMap<PodKey, Refused>,
    awaiting_node: BTreeSet<PodKey>,
    images: BTreeSet<String>,
    pull_waiters: BTreeMap<String, BTreeSet<(PodKey, String)>>,
    wakes: BTreeSet<(Timestamp, PodKey)>,
    wake_of: BTreeMap<PodKey, Timestamp>,
    dirty: BTreeSet<PodKey>,
    /// Pods to sync whose status cannot have changed (only probes to send or a probe answer that
    /// changed no result): synced without recomputing their status, which keeps a probe's cost
    /// small.
    quiet: BTreeSet<PodKey>,
    written: BTreeMap<PodKey, Value>,
    /// The resourceVersion each pod's last status write produced, once answered. Only a copy of
    /// the pod at that revision or later can show another writer's change: older copies still on
    /// their way through the watch predate the write.
    written_revision: BTreeMap<PodKey, u64>,
    pod_ips: BTreeSet<Ipv4Addr>,
    usage: BTreeMap<PodKey, PodUsage>,
    answers: Vec<RuntimeReport>,
    next_stream_request: u64,
    status_writes: u64,
    lease_renewals: u64,
    node_status_writes: u64,
}

impl<R: ContainerRuntime> Kubelet<R> {
    /// An agent for `config.node_name` driving `runtime`. It registers its Node on its first step.
    pub fn new(config: KubeletConfig, runtime: R) -> Kubelet<R> {
        let pods = Informer::with_field_selector(&format!("spec.nodeName={}", config.node_name));
        let nodes = Informer::with_field_selector(&format!("metadata.name={}", config.node_name));
        Kubelet {
            node_status_content: Arc::new(node_status_content(&config)),
            config,
            runtime,
            pods,
            nodes,
            next_id: 1,
            requests: BTreeMap::new(),
            registration: Registration::Due { at: None, failures: 0 },
            node_status_written: None,
            node_status_transitioned: None,
            next_node_status: None,
            next_lease: None,
            lease: None,
            lease_in_flight: false,
            next_stats: None,
            records: BTreeMap::new(),
            refused: BTreeMap::new(),
            awaiting_node: BTreeSet::new(),
            images: BTreeSet::new(),
            pull_waiters: BTreeMap::new(),
            wakes: BTreeSet::new(),
            wake_of: BTreeMap::new(),
            dirty: BTreeSet::new(),
            quiet: BTreeSet::new(),
            written: BTreeMap::new(),
            written_revision: BTreeMap::new(),
            pod_ips: BTreeSet::new(),
            usage: BTreeMap::new(),
            answers: Vec::new(),
            next_stream_request: 1,
            status_writes: 0,
            lease_renewals: 0,
            node_status_writes: 0,
        }
    }

    /// The runtime, to inspect.
    pub fn runtime(&self) -> &R {
        &self.runtime
    }

    /// The runtime, to inject faults through.
    pub fn runtime_mut(&mut self) -> &mut R {
        &mut self.runtime
    }

    /// The node's name.
    pub fn node_name(&self) -> &str {
        &self.config.node_name
    }

    /// The configuration.
    pub fn config(&self) -> &KubeletConfig {
        &self.config
    }

    /// Whether the Node is registered (created, or found existing).
    pub fn is_registered(&self) -> bool {
        self.registration == Registration::Done
    }

    /// The latest usage sample of each pod on this node, by (namespace, name).
    pub fn pod_usage(&self) -> &BTreeMap<PodKey, PodUsage> {
        &self.usage
    }

    /// The usage of this node's pods of `namespace` that `selector` matches, as a metrics
    /// source answers the HPA (merge the answers of every node's kubelet).
    pub fn pod_metrics(&self, namespace: &str, selector: &LabelSelector) -> PodMetrics {
        let start = (namespace.to_string(), String::new());
        self.usage
            .range(start..)
            .take_while(|((pod_namespace, _), _)| pod_namespace == namespace)
            .filter(|(key, _)| {
                let labels = self.records.get(*key).and_then(|record| record.pod.metadata.labels.as_ref());
                selector.matches_optional(labels)
            })
            .map(|((_, name), usage)| (name.clone(), *usage))
            .collect()
    }

    /// Pod status writes sent so far.
    pub fn status_writes(&self) -> u64 {
        self.status_writes
    }

    /// Lease renewals started so far (each an update of the Lease last returned, or a read and
    /// then an update or a create).
    pub fn lease_renewals(&self) -> u64 {
        self.lease_renewals
    }

    /// Node status writes sent so far (registration excluded).
    pub fn node_status_writes(&self) -> u64 {
        self.node_status_writes
    }

    /// How many pods the kubelet runs (admitted, not yet gone).
    pub fn pod_count(&self) -> usize {
        self.records.len()
    }

    /// The current run of a container of a pod this kubelet runs.
    fn current_container(&self, namespace: &str, pod: &str, container: &str) -> Option<super::runtime::ContainerRef> {
        let record = self.records.get(&(namespace.to_string(), pod.to_string()))?;
        let found = record.all().find(|candidate| candidate.name() == container)?;
        Some(record.pod_ref().container(container, found.attempt))
    }

    /// Asks the runtime for a container's logs (`kubectl logs`); the answer comes back through
    /// [`Self::take_answers`] as a `LogsResult` with the returned number. `None` when the kubelet
    /// runs no such container.
    pub fn request_logs(
        &mut self,
        namespace: &str,
        pod: &str,
        container: &str,
        tail_lines: Option<u64>,
        now: Timestamp,
    ) -> Option<u64> {
        let container = self.current_container(namespace, pod, container)?;
        let request = self.next_stream_request;
        self.next_stream_request += 1;
        self.runtime.submit(RuntimeCommand::Logs { request, container, tail_lines }, now);
        Some(request)
    }

    /// Runs a command in a container (`kubectl exec`); the answer comes back through
    /// [`Self::take_answers`] as an `ExecResult` with the returned number.
    pub fn exec(
        &mut self,
        namespace: &str,
        pod: &str,
        container: &str,
        command: Vec<String>,
        timeout: Duration,
        now: Timestamp,
    ) -> Option<u64> {
        let container = self.current_container(namespace, pod, container)?;
        let request = self.next_stream_request;
        self.next_stream_request += 1;
        self.runtime.submit(RuntimeCommand::Exec { request, container, command, timeout }, now);
        Some(request)
    }

    /// Connects to a port of a pod (`kubectl port-forward`); the answer comes back through
    /// [`Self::take_answers`] as a `PortForwardResult` with the returned number. `None` when the
    /// kubelet runs no such pod.
    pub fn port_forward(&mut self, namespace: &str, pod: &str, port: u16, now: Timestamp) -> Option<u64> {
        let pod = self.records.get(&(namespace.to_string(), pod.to_string()))?.pod_ref();
        let request = self.next_stream_request;
        self.next_stream_request += 1;
        self.runtime.submit(RuntimeCommand::PortForward { request, pod, port }, now);
        Some(request)
    }

    /// The logs, exec and port-forward answers that arrived since the last call.
    pub fn take_answers(&mut self) -> Vec<RuntimeReport> {
        std::mem::take(&mut self.answers)
    }

    fn push(&mut self, request: ApiRequest, pending: Pending, outgoing: &mut Vec<Outgoing>) {
        self.requests.insert(self.next_id, pending);
        outgoing.push(Outgoing { id: self.next_id, request });
        self.next_id += 1;
    }

    fn node(&self) -> Option<&Arc<Node>> {
        self.nodes.get("", &self.config.node_name)
    }

    // ---- node: registration, status, lease -------------------------------------------------

    fn register(&mut self, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        let Registration::Due { at, failures } = self.registration else { return };
        if at.is_some_and(|at| at > now) {
            return;
        }
        self.registration = Registration::InFlight { failures };
        let body = node_object(&self.config, now);
        let request = ApiRequest::new(Method::Post, &collection_path(resource("v1", "Node"), None)).with_json(&body);
        self.push(request, Pending::Register, outgoing);
    }

    fn registered(&mut self, status: u16, now: Timestamp) {
        let Registration::InFlight { failures } = self.registration else { return };
        if is_success(status) || status == 409 {
            self.registration = Registration::Done;
            self.node_status_transitioned = Some(now);
            // A created Node carries the status; an existing one (a restarted node) gets it now.
            self.node_status_written = is_success(status).then(|| (Arc::clone(&self.node_status_content), now));
            self.next_node_status =
                Some(if is_success(status) { after(now, self.config.node_status_update_frequency) } else { now });
            self.next_lease = Some(now);
        } else {
            let delay = REGISTRATION_RETRY_INITIAL.saturating_mul(1 << failures.min(10)).min(REGISTRATION_RETRY_MAX);
            self.registration = Registration::Due { at: Some(after(now, delay)), failures: failures + 1 };
        }
    }

    fn report_node_status(&mut self, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        if self.next_node_status.is_none_or(|at| at > now) {
            return;
        }
        self.next_node_status = Some(after(now, self.config.node_status_update_frequency));
        let content = Arc::clone(&self.node_status_content);
        let report_due = self.node_status_written.as_ref().is_none_or(|(written, at)| {
            (!Arc::ptr_eq(written, &content) && **written != *content)
                || after(*at, self.config.node_status_report_frequency) <= now
        });
        if !report_due {
            return;
        }
        let transitioned = self.node_status_transitioned.unwrap_or(now);
        let body = json!({"status": node_status(&content, now, transitioned)});
        let path = subresource_path(resource("v1", "Node"), "", &self.config.node_name, "status");
        let request =
            ApiRequest::new(Method::Patch, &path).with_body("application/merge-patch+json", to_json_bytes(&body));
        self.node_status_written = Some((content, now));
        self.node_status_writes += 1;
        self.push(request, Pending::NodeStatus, outgoing);
    }

    /// Renews the node's Lease when due, as the kubelet's lease controller (`sync`) does: an
    /// update of the copy last returned; without one (first renewal, or the last update failed)
    /// a GET first, and a create when there is none.
    fn renew_lease(&mut self, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        if self.next_lease.is_none_or(|at| at > now) {
            return;
        }
        self.next_lease = Some(after(now, self.config.node_lease_renew_interval));
        if self.lease_in_flight {
            return;
        }
        self.lease_renewals += 1;
        match self.lease.take() {
            Some(lease) => self.update_lease(lease, now, outgoing),
            None => self.get_lease(outgoing),
        }
    }

    fn lease_path(&self) -> String {
        object_path(resource("coordination.k8s.io/v1", "Lease"), NODE_LEASE_NAMESPACE, &self.config.node_name)
    }

    fn get_lease(&mut self, outgoing: &mut Vec<Outgoing>) {
        self.lease_in_flight = true;
        let request = ApiRequest::new(Method::Get, &self.lease_path());
        self.push(request, Pending::LeaseGet, outgoing);
    }

    /// Sends `lease` renewed at `now` (`newLease`: holder, duration, renew time, and the Node as
    /// owner when the Lease has none and the Node is known).
    fn update_lease(&mut self, mut lease: Value, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        let node_uid = self.node().and_then(|node| node.metadata.uid.clone());
        renew(&mut lease, &self.config.node_name, node_uid.as_deref(), now);
        self.lease_in_flight = true;
        let request = ApiRequest::new(Method::Put, &self.lease_path()).with_json(&lease);
        self.push(request, Pending::LeaseUpdate, outgoing);
    }

    fn lease_answered(
        &mut self,
        pending: Pending,
        status: u16,
        body: Value,
        now: Timestamp,
        outgoing: &mut Vec<Outgoing>,
    ) {
        self.lease_in_flight = false;
        match pending {
            // A Lease read or created is kept; one just created needs no update.
            Pending::LeaseGet if is_success(status) => self.update_lease(body, now, outgoing),
            Pending::LeaseGet if status == 404 => {
                self.lease_in_flight = true;
                let node_uid = self.node().and_then(|node| node.metadata.uid.clone());
                let body = lease_object(&self.config.node_name, node_uid.as_deref(), now);
                let path = collection_path(resource("coordination.k8s.io/v1", "Lease"), Some(NODE_LEASE_NAMESPACE));
                self.push(ApiRequest::new(Method::Post, &path).with_json(&body), Pending::LeaseCreate, outgoing);
            }
            Pending::LeaseCreate | Pending::LeaseUpdate if is_success(status) => self.lease = Some(body),
            // A conflict (someone else wrote the Lease) or any other failure: read it again
            // and update that (`backoffEnsureLease`), at once.
            Pending::LeaseUpdate => self.get_lease(outgoing),
            // The next renewal tries again.
            _ => {}
        }
    }

    // ---- pods: admission and removal -----------------------------------------------------

    fn pod_changes(&mut self, changes: Vec<Change<Pod>>, now: Timestamp) {
        let mut applied: Vec<Arc<Pod>> = Vec::new();
        for change in changes {
            match change {
                Change::Applied { new, .. } => applied.push(new),
                Change::Deleted(pod) => self.pod_gone(&key_of(&pod), uid_of(&pod), now),
            }
        }
        // Admission goes in creation order, as the kubelet sorts pods on restart.
        applied.sort_by(|a, b| {
            let created = |pod: &Pod| pod.metadata.creation_timestamp.as_ref().map(|time| time.0);
            created(a).cmp(&created(b)).then_with(|| key_of(a).cmp(&key_of(b)))
        });
        for pod in applied {
            self.pod_applied(pod, now);
        }
    }

    fn pod_applied(&mut self, pod: Arc<Pod>, now: Timestamp) {
        let key = key_of(&pod);
        let uid = uid_of(&pod).to_string();
        if let Some(record) = self.records.get_mut(&key) {
            if record.uid == uid {
                let revision =
                    pod.metadata.resource_version.as_deref().and_then(|revision| revision.parse::<u64>().ok());
                let after_our_write = self
                    .written_revision
                    .get(&key)
                    .is_some_and(|written| revision.is_some_and(|revision| revision >= *written));
                if after_our_write && self.written.get(&key).is_some_and(|written| drifted(written, &pod)) {
                    self.written.remove(&key);
                    self.written_revision.remove(&key);
                }
                record.pod = pod;
                self.dirty.insert(key);
                return;
            }
            let previous = record.uid.clone();
            self.pod_gone(&key, &previous, now);
        }
        if self.refused.get(&key).is_some_and(|refused| refused.uid == uid) {
            self.dirty.insert(key);
            return;
        }
        self.refused.remove(&key);
        // A pod that already finished is not run again (a restarted kubelet sees it).
        if matches!(api_phase(&pod), "Succeeded" | "Failed") {
            self.refused.insert(key.clone(), Refused { uid, rejection: None, delete_sent: false });
            self.dirty.insert(key);
            return;
        }
        self.awaiting_node.insert(key.clone());
        self.admit_waiting(now);
    }

    /// Admits the pods that wait for the Node to be known, in creation order.
    fn admit_waiting(&mut self, now: Timestamp) {
        let Some(node) = self.node().cloned() else { return };
        let mut waiting: Vec<Arc<Pod>> = std::mem::take(&mut self.awaiting_node)
            .into_iter()
            .filter_map(|(namespace, name)| self.pods.get(&namespace, &name).cloned())
            .collect();
        waiting.sort_by(|a, b| {
            let created = |pod: &Pod| pod.metadata.creation_timestamp.as_ref().map(|time| time.0);
            created(a).cmp(&created(b)).then_with(|| key_of(a).cmp(&key_of(b)))
        });
        for pod in waiting {
            let key = key_of(&pod);
            if self.records.contains_key(&key) {
                continue;
            }
            let deleting = pod.metadata.deletion_timestamp.is_some();
            let verdict = if deleting { Ok(()) } else { self.check_admission(&pod, &node) };
            match verdict {
                Ok(()) => {
                    let mut record = PodRecord::new(pod.clone(), now);
                    if let Ok(object) = Object::from_value(serde_json::to_value(pod.as_ref()).unwrap_or(Value::Null)) {
                        record.qos_class = pod_qos_class(&object);
                    }
                    self.records.insert(key.clone(), record);
                }
                Err(rejection) => {
                    let refused =
                        Refused { uid: uid_of(&pod).to_string(), rejection: Some(rejection), delete_sent: false };
                    self.refused.insert(key.clone(), refused);
                }
            }
            self.dirty.insert(key);
        }
    }

    fn check_admission(&self, pod: &Arc<Pod>, node: &Arc<Node>) -> Result<(), Rejection> {
        let mut used = Resource::default();
        let mut admitted = 0;
        for record in self.records.values().filter(|record| record.terminal.is_none()) {
            used.add(&requests_of(&record.pod));
            admitted += 1;
        }
        admit(pod, node, &used, admitted)
    }

    /// The pod left the API (or was replaced by another of the same name): whatever still runs is
    /// killed and its sandbox removed.
    fn pod_gone(&mut self, key: &PodKey, uid: &str, now: Timestamp) {
        self.awaiting_node.remove(key);
        if self.refused.get(key).is_some_and(|refused| refused.uid == uid) {
            self.refused.remove(key);
            self.written.remove(key);
        }
        let Some(record) = self.records.get(key).filter(|record| record.uid == uid) else { return };
        let pod_ref = record.pod_ref();
        let running: Vec<_> = record
            .all()
            .filter(|container| container.is_running())
            .map(|container| pod_ref.container(container.name(), container.attempt))
            .collect();
        if let Some(ip) = record.pod_ip {
            self.pod_ips.remove(&ip);
        }
        for container in running {
            self.runtime.submit(RuntimeCommand::KillContainer { container }, now);
        }
        self.runtime.submit(RuntimeCommand::RemovePodSandbox { pod: pod_ref }, now);
        self.records.remove(key);
        self.quiet.remove(key);
        self.written.remove(key);
        self.written_revision.remove(key);
        self.usage.remove(key);
        self.set_wake(key, None);
    }

    // ---- pods: IPs, syncing, status --------------------------------------------------------

    fn pod_cidr(&self) -> Option<Ipv4Cidr> {
        let from_node = self.node().and_then(|node| node.spec.as_ref()).and_then(|spec| spec.pod_cidr.clone());
        from_node.or_else(|| self.config.pod_cidr.clone())?.parse().ok()
    }

    /// Gives the pod an IP from the node's podCIDR (its previous one when still free).
    fn ensure_ip(&mut self, key: &PodKey) {
        let Some(record) = self.records.get(key) else { return };
        if record.pod_ip.is_some() || record.host_network() || record.is_terminating() {
            return;
        }
        let Some(cidr) = self.pod_cidr() else { return };
        let previous = record.pod.status.as_ref().and_then(|status| status.pod_ip.as_deref());
        let previous = previous.and_then(|ip| ip.parse::<Ipv4Addr>().ok()).filter(|ip| {
            cidr.offset_of(*ip).is_some_and(|offset| offset >= FIRST_POD_IP_OFFSET && offset + 1 < cidr.size())
                && !self.pod_ips.contains(ip)
        });
        let chosen = previous.or_else(|| {
            (FIRST_POD_IP_OFFSET..cidr.size().saturating_sub(1))
                .filter_map(|offset| cidr.address_at(offset))
                .find(|ip| !self.pod_ips.contains(ip))
        });
        if let Some(ip) = chosen {
            self.pod_ips.insert(ip);
            if let Some(record) = self.records.get_mut(key) {
                record.pod_ip = Some(ip);
            }
        }
    }

    fn set_wake(&mut self, key: &PodKey, at: Option<Timestamp>) {
        if let Some(previous) = self.wake_of.remove(key) {
            self.wakes.remove(&(previous, key.clone()));
        }
        if let Some(at) = at {
            self.wake_of.insert(key.clone(), at);
            self.wakes.insert((at, key.clone()));
        }
    }

    fn apply_effects(&mut self, key: &PodKey, effects: SyncEffects, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        for (image, container) in effects.pulls {
            self.pull_waiters.entry(image).or_default().insert((key.clone(), container));
        }
        for command in effects.commands {
            self.runtime.submit(command, now);
        }
        if effects.delete
            && let Some(uid) = self.records.get(key).map(|record| record.uid.clone())
        {
            self.send_final_delete(key, &uid, outgoing);
        }
    }

    /// The DELETE with grace 0 and a uid precondition that removes a pod once nothing of it runs.
    fn send_final_delete(&mut self, key: &PodKey, uid: &str, outgoing: &mut Vec<Outgoing>) {
        let options = json!({"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
            "preconditions": {"uid": uid}});
        let path = object_path(pods_resource(), &key.0, &key.1);
        let pending = Pending::FinalDelete { key: key.clone(), uid: uid.to_string() };
        let request = ApiRequest::new(Method::Delete, &path).with_json(&options);
        self.push(request, pending, outgoing);
    }

    fn sync_pod(&mut self, key: &PodKey, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        if let Some(refused) = self.refused.get(key).cloned() {
            if let Some(rejection) = &refused.rejection {
                let status = rejected_status(&rejection.reason, &rejection.message);
                self.write_status(key, &refused.uid, status, outgoing);
            }
            let deleting = self.pods.get(&key.0, &key.1).is_some_and(|pod| pod.metadata.deletion_timestamp.is_some());
            if deleting && !refused.delete_sent {
                if let Some(entry) = self.refused.get_mut(key) {
                    entry.delete_sent = true;
                }
                self.send_final_delete(key, &refused.uid, outgoing);
            }
            return;
        }
        self.ensure_ip(key);
        let Some(record) = self.records.get_mut(key) else { return };
        let effects = record.sync(now, &self.images);
        let host_ip = self.config.node_ip().to_string();
        let status = pod_status(record, &host_ip, now);
        let uid = record.uid.clone();
        let wake = record.next_wake();
        // The status goes out before the final delete, as the status manager does.
        self.write_status(key, &uid, status, outgoing);
        self.apply_effects(key, effects, now, outgoing);
        self.set_wake(key, wake);
    }

    /// A sync that can only send probes: the status is not recomputed.
    fn sync_pod_quietly(&mut self, key: &PodKey, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        let Some(record) = self.records.get_mut(key) else { return };
        let effects = record.sync(now, &self.images);
        let wake = record.next_wake();
        self.apply_effects(key, effects, now, outgoing);
        self.set_wake(key, wake);
    }

    fn write_status(&mut self, key: &PodKey, uid: &str, status: Value, outgoing: &mut Vec<Outgoing>) {
        if self.written.get(key) == Some(&status) {
            return;
        }
        let body = status_patch(uid, &status);
        self.written.insert(key.clone(), status);
        self.written_revision.remove(key);
        let path = subresource_path(pods_resource(), &key.0, &key.1, "status");
        let request =
            ApiRequest::new(Method::Patch, &path).with_body("application/merge-patch+json", to_json_bytes(&body));
        self.status_writes += 1;
        self.push(request, Pending::PodStatus { key: key.clone(), uid: uid.to_string() }, outgoing);
    }

    fn answered(&mut self, id: RequestId, status: u16, body: Value, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        let Some(pending) = self.requests.remove(&id) else { return };
        match pending {
            Pending::Register => self.registered(status, now),
            Pending::NodeStatus => {
                if !is_success(status) {
                    self.node_status_written = None;
                }
            }
            pending @ (Pending::LeaseGet | Pending::LeaseCreate | Pending::LeaseUpdate) => {
                self.lease_answered(pending, status, body, now, outgoing)
            }
            Pending::PodStatus { key, uid } => {
                let revision = body["metadata"]["resourceVersion"].as_str().and_then(|revision| revision.parse().ok());
                if let Some(revision) = revision.filter(|_| is_success(status)) {
                    self.written_revision.insert(key.clone(), revision);
                }
                // Gone (404) or replaced (409 on the uid): nothing to retry.
                if !is_success(status) && status != 404 && status != 409 {
                    self.written.remove(&key);
                    if self.records.get(&key).is_some_and(|record| record.uid == uid) {
                        self.set_wake(&key, Some(after(now, STATUS_RETRY)));
                    }
                }
            }
            Pending::FinalDelete { key, uid } => {
                if !is_success(status) && status != 404 && status != 409 {
                    if let Some(record) = self.records.get_mut(&key).filter(|record| record.uid == uid) {
                        record.final_delete = FinalDelete::NotYet;
                    }
                    if let Some(refused) = self.refused.get_mut(&key).filter(|refused| refused.uid == uid) {
                        refused.delete_sent = false;
                    }
                    self.set_wake(&key, Some(after(now, STATUS_RETRY)));
                }
            }
        }
    }

    // ---- runtime reports ---------------------------------------------------------------------

    fn record_for(&mut self, pod: &PodRef) -> Option<&mut PodRecord> {
        self.records.get_mut(&(pod.namespace.clone(), pod.pod.clone())).filter(|record| record.uid == pod.pod_uid)
    }

    fn runtime_report(&mut self, report: RuntimeReport, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        let mut effects = SyncEffects { commands: Vec::new(), pulls: Vec::new(), delete: false };
        let key = match &report {
            RuntimeReport::ImagePulled { image, result } => {
                if result.is_ok() {
                    self.images.insert(image.clone());
                }
                for (key, container) in self.pull_waiters.remove(image).unwrap_or_default() {
                    if let Some(record) = self.records.get_mut(&key) {
                        let mut pulled = SyncEffects { commands: Vec::new(), pulls: Vec::new(), delete: false };
                        record.image_pulled(&container, result, now, &mut pulled);
                        self.apply_effects(&key, pulled, now, outgoing);
                        self.dirty.insert(key);
                    }
                }
                return;
            }
            RuntimeReport::ContainerCreated { container, result } => {
                let Some(record) = self.record_for(&container.pod_ref()) else { return };
                record.container_created(container, result, now, &mut effects);
                record.key()
            }
            RuntimeReport::ContainerStarted { container, at } => {
                let Some(record) = self.record_for(&container.pod_ref()) else { return };
                record.container_started(container, *at, now, &mut effects);
                record.key()
            }
            RuntimeReport::ContainerExited { container, exit_code, reason, at } => {
                let Some(record) = self.record_for(&container.pod_ref()) else { return };
                record.container_exited(container, *exit_code, reason, *at);
                record.key()
            }
            RuntimeReport::ProbeResult { request, container, outcome }
            | RuntimeReport::HookResult { request, container, outcome } => {
                let Some(record) = self.record_for(&container.pod_ref()) else { return };
                let changed = record.handler_answered(container, *request, outcome, now, &mut effects);
                let key = record.key();
                if !changed {
                    self.apply_effects(&key, effects, now, outgoing);
                    if !self.dirty.contains(&key) {
                        self.quiet.insert(key);
                    }
                    return;
                }
                key
            }
            RuntimeReport::Stats { pod, at, containers } => {
                let key = (pod.namespace.clone(), pod.pod.clone());
                if self.record_for(pod).is_some() && !containers.is_empty() {
                    let usage = PodUsage {
                        timestamp: *at,
                        window: self.config.stats_period,
                        cpu_millicores: Some(containers.iter().map(|usage| usage.cpu_millis).sum()),
                        memory_bytes: Some(containers.iter().map(|usage| usage.memory_bytes).sum()),
                    };
                    self.usage.insert(key, usage);
                }
                return;
            }
            RuntimeReport::ExecResult { .. }
            | RuntimeReport::LogsResult { .. }
            | RuntimeReport::PortForwardResult { .. } => {
                self.answers.push(report);
                return;
            }
        };
        self.apply_effects(&key, effects, now, outgoing);
        self.dirty.insert(key);
    }

    fn sample_stats(&mut self, now: Timestamp) {
        if self.records.is_empty() || !self.config.sample_stats {
            self.next_stats = None;
            return;
        }
        if self.next_stats.is_some_and(|at| at > now) {
            return;
        }
        self.next_stats = Some(after(now, self.config.stats_period));
        let running: Vec<PodRef> =
            self.records.values().filter(|record| record.any_running()).map(PodRecord::pod_ref).collect();
        for pod in running {
            self.runtime.submit(RuntimeCommand::Stats { pod }, now);
        }
    }

    /// Handles runtime reports and due pod timers until nothing is left at `now`.
    fn run_pods(&mut self, now: Timestamp, outgoing: &mut Vec<Outgoing>) {
        for _ in 0..MAX_RUNTIME_ROUNDS {
            for report in self.runtime.poll(now) {
                self.runtime_report(report, now, outgoing);
            }
            while let Some((at, key)) = self.wakes.first().cloned() {
                if at > now {
                    break;
                }
                self.set_wake(&key, None);
                let quiet = self.records.get(&key).is_some_and(|record| record.only_probes_due(now));
                if quiet && !self.dirty.contains(&key) {
                    self.quiet.insert(key);
                } else {
                    self.dirty.insert(key);
                }
            }
            if self.dirty.is_empty() && self.quiet.is_empty() && self.runtime.next_wake().is_none_or(|at| at > now) {
                return;
            }
            let dirty = std::mem::take(&mut self.dirty);
            for key in std::mem::take(&mut self.quiet) {
                if !dirty.contains(&key) {
                    self.sync_pod_quietly(&key, now, outgoing);
                }
            }
            for key in dirty {
                self.sync_pod(&key, now, outgoing);
            }
        }
        panic!("the runtime of {} kept reporting at one instant (livelock)", self.config.node_name);
    }
}

impl<R: ContainerRuntime> Component for Kubelet<R> {
    fn step(&mut self, input: Option<Incoming>, now: Timestamp) -> Vec<Outgoing> {
        let mut outgoing = Vec::new();
        if let Some(input) = input {
            if let Some(changes) = self.pods.handle(&input, now) {
                self.pod_changes(changes, now);
            } else if let Some(changes) = self.nodes.handle(&input, now) {
                if !changes.is_empty() {
                    self.admit_waiting(now);
                    // A podCIDR may have arrived: pods waiting for an IP can start.
                    let waiting: Vec<PodKey> = self
                        .records
                        .iter()
                        .filter(|(_, record)| record.pod_ip.is_none() && !record.host_network())
                        .map(|(key, _)| key.clone())
                        .collect();
                    self.dirty.extend(waiting);
                }
            } else if let Incoming::Response { id, status, body } = input {
                self.answered(id, status, body, now, &mut outgoing);
            }
        }
        self.register(now, &mut outgoing);
        self.renew_lease(now, &mut outgoing);
        self.report_node_status(now, &mut outgoing);
        self.sample_stats(now);
        self.run_pods(now, &mut outgoing);
        outgoing.extend(self.pods.poll_request(now, &mut self.next_id));
        outgoing.extend(self.nodes.poll_request(now, &mut self.next_id));
        outgoing
    }

    fn next_wake(&self) -> Option<Timestamp> {
        let registration = match self.registration {
            Registration::Due { at, .. } => Some(at.unwrap_or(Timestamp::MIN)),
            _ => None,
        };
        [
            self.pods.next_wake(),
            self.nodes.next_wake(),
            self.runtime.next_wake(),
            self.wakes.first().map(|(at, _)| *at),
            registration,
            self.next_lease,
            self.next_node_status,
            self.next_stats,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
