//! Safety invariants, checked incrementally from the store's change stream after every event:
//! the work per change is bounded by what the change touches (one pod, one node, one workload),
//! never by the cluster's size.
//!
//! - no node holds more bound, unfinished pods than its allocatable CPU, memory and pod count;
//! - no pod is bound to a node whose NoSchedule/NoExecute taints it does not tolerate, or whose
//!   nodeSelector and required node affinity it fails (a taint younger than
//!   [`TAINT_PROPAGATION_MILLIS`] is forgiven: the scheduler acts on a cache);
//! - a Deployment in a rollout never has fewer than `replicas − maxUnavailable` available pods
//!   nor more than `replicas + maxSurge` desired across its ReplicaSets, once it was fully
//!   available and as long as no fault, drain or scale intervened;
//! - no pod name runs on two nodes at once (a StatefulSet identity is never doubled);
//! - no acknowledged write is lost.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use coxswain_core::k8s_openapi::api::core::v1::{Node, Pod};
use coxswain_core::object::Object;
use coxswain_core::scheduler::plugins::taint_toleration::find_matching_untolerated_taint;
use coxswain_core::scheduler::resource::{Resource, pod_requests};
use coxswain_core::selector::{NodeSelectorMatcher, matches_node_selector_map};
use coxswain_core::store::{Change, ChangeType};
use serde_json::Value;

use crate::engine::queue::Millis;

/// How long a new taint may go unseen by the scheduler before a binding that ignores it is a
/// violation.
pub const TAINT_PROPAGATION_MILLIS: Millis = 5_000;

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule, in a few words.
    pub rule: &'static str,
    /// What was seen.
    pub message: String,
    /// The objects involved (`pod/default/web-0`, `node/pool-1`).
    pub objects: Vec<String>,
    /// When, in milliseconds since the start.
    pub at: Millis,
}

#[derive(Debug, Default)]
struct NodeState {
    allocatable: Resource,
    node: Option<Arc<Node>>,
    /// When each NoSchedule/NoExecute taint (`key:effect`) was first seen.
    taints_since: BTreeMap<String, Millis>,
    used: Resource,
    pods: i64,
}

#[derive(Debug)]
struct BoundPod {
    node: String,
    requests: Resource,
}

#[derive(Debug, Default, Clone)]
struct DeploymentGuard {
    replicas: i64,
    max_surge: i64,
    max_unavailable: i64,
    available: i64,
    /// Whether the rollout guarantees hold now.
    armed: bool,
    uid: String,
}

/// The checker's indexes over the cluster.
#[derive(Debug, Default)]
pub struct SafetyChecker {
    nodes: BTreeMap<String, NodeState>,
    bound: HashMap<String, BoundPod>,
    deployments: BTreeMap<String, DeploymentGuard>,
    deployment_by_uid: HashMap<String, String>,
    /// Desired replicas of each ReplicaSet, by owning Deployment uid.
    replica_sets: HashMap<String, BTreeMap<String, i64>>,
    /// Where each pod name runs, by node.
    running: BTreeMap<String, BTreeSet<String>>,
    running_by_node: BTreeMap<String, BTreeSet<String>>,
    /// The last acknowledged revision of each object, and deletions seen.
    acknowledged: BTreeMap<String, u64>,
    deleted: HashMap<String, u64>,
}

impl SafetyChecker {
    /// Feeds one change; returns the first invariant it breaks.
    pub fn observe(&mut self, change: &Change, now: Millis) -> Option<Violation> {
        let resource = change.key.resource;
        if change.change_type == ChangeType::Deleted {
            self.deleted.insert(object_id(resource.resource, &change.key.namespace, &change.key.name), change.revision);
        }
        match (resource.group, resource.resource) {
            ("", "nodes") => self.node_changed(change, now),
            ("", "pods") => self.pod_changed(change, now),
            ("apps", "deployments") => self.deployment_changed(change, now),
            ("apps", "replicasets") => self.replica_set_changed(change, now),
            _ => None,
        }
    }

    /// A fault, drain or deletion happened: rollout guarantees no longer hold until each
    /// Deployment is fully available again.
    pub fn disturbed(&mut self) {
        for guard in self.deployments.values_mut() {
            guard.armed = false;
        }
    }

    /// Records what a node runs now; returns a violation if a pod name now runs on two nodes.
    pub fn node_runs(&mut self, node: &str, pods: BTreeSet<String>, now: Millis) -> Option<Violation> {
        let before = self.running_by_node.remove(node).unwrap_or_default();
        for gone in before.difference(&pods) {
            if let Some(nodes) = self.running.get_mut(gone) {
                nodes.remove(node);
                if nodes.is_empty() {
                    self.running.remove(gone);
                }
            }
        }
        let mut violation = None;
        for started in pods.difference(&before) {
            let nodes = self.running.entry(started.clone()).or_default();
            nodes.insert(node.to_string());
            if nodes.len() > 1 && violation.is_none() {
                let mut objects = vec![format!("pod/{started}")];
                objects.extend(nodes.iter().map(|node| format!("node/{node}")));
                violation = Some(Violation {
                    rule: "one pod identity runs once",
                    message: format!("pod {started} runs on {} nodes at once", nodes.len()),
                    objects,
                    at: now,
                });
            }
        }
        if !pods.is_empty() {
            self.running_by_node.insert(node.to_string(), pods);
        }
        violation
    }

    /// Forgets what a node ran (it crashed: its containers are gone).
    pub fn node_lost(&mut self, node: &str) {
        let _ = self.node_runs(node, BTreeSet::new(), 0);
    }

    /// Records a write the API server acknowledged to a client.
    pub fn acknowledged(&mut self, body: &Value) {
        // `get`, not `pointer`: a pointer allocates each of its tokens, on every acknowledged write.
        let metadata =
            |field: &str| body.get("metadata").and_then(|metadata| metadata.get(field)).and_then(Value::as_str);
        let (Some(kind), Some(name), Some(version)) = (
            body.get("kind").and_then(Value::as_str),
            metadata("name"),
            metadata("resourceVersion").and_then(|text| text.parse::<u64>().ok()),
        ) else {
            return;
        };
        let namespace = metadata("namespace").unwrap_or_default();
        let Some(resource) =
            coxswain_core::object::kinds::RESOURCES.iter().find(|resource| resource.kind == kind && resource.stored)
        else {
            return;
        };
        let id = object_id(resource.plural, namespace, name);
        let entry = self.acknowledged.entry(id).or_default();
        *entry = (*entry).max(version);
    }

    /// Checks that every acknowledged write is still there (or was deleted later), reading the
    /// current resourceVersion of each object through `current`.
    pub fn check_acknowledged(&self, current: &dyn Fn(&str) -> Option<u64>, now: Millis) -> Option<Violation> {
        for (id, acknowledged) in &self.acknowledged {
            let present = current(id).is_some_and(|version| version >= *acknowledged);
            let deleted_later = self.deleted.get(id).is_some_and(|revision| revision >= acknowledged);
            if !present && !deleted_later {
                return Some(Violation {
                    rule: "no acknowledged write is lost",
                    message: format!("{id} was acknowledged at resourceVersion {acknowledged} and is not in the store"),
                    objects: vec![id.clone()],
                    at: now,
                });
            }
        }
        None
    }

    /// The acknowledged objects' ids (`plural/namespace/name`).
    pub fn acknowledged_ids(&self) -> impl Iterator<Item = &String> {
        self.acknowledged.keys()
    }

    /// Pods bound to each node now, for the report.
    pub fn pods_per_node(&self) -> BTreeMap<String, i64> {
        self.nodes.iter().map(|(name, state)| (name.clone(), state.pods)).collect()
    }

    fn node_changed(&mut self, change: &Change, now: Millis) -> Option<Violation> {
        let name = change.key.name.clone();
        if change.change_type == ChangeType::Deleted {
            if let Some(state) = self.nodes.get_mut(&name) {
                state.node = None;
            }
            return None;
        }
        let Ok(node) = change.object.to_typed::<Node>() else { return None };
        let state = self.nodes.entry(name.clone()).or_default();
        state.allocatable = Resource::from_list(node.status.as_ref().and_then(|status| status.allocatable.as_ref()));
        let hard: BTreeSet<String> = node
            .spec
            .as_ref()
            .and_then(|spec| spec.taints.as_ref())
            .into_iter()
            .flatten()
            .filter(|taint| taint.effect == "NoSchedule" || taint.effect == "NoExecute")
            .map(|taint| format!("{}:{}", taint.key, taint.effect))
            .collect();
        state.taints_since.retain(|taint, _| hard.contains(taint));
        for taint in hard {
            state.taints_since.entry(taint).or_insert(now);
        }
        state.node = Some(Arc::new(node));
        None
    }

    fn pod_changed(&mut self, change: &Change, now: Millis) -> Option<Violation> {
        let id = format!("{}/{}", change.key.namespace, change.key.name);
        let node = node_name(&change.object);
        let finished = matches!(phase(&change.object), Some("Succeeded" | "Failed"));
        let counts = change.change_type != ChangeType::Deleted && !finished && node.is_some();
        let was_bound = change.previous.as_deref().and_then(node_name).is_some();
        if !counts {
            if let Some(pod) = self.bound.remove(&id)
                && let Some(state) = self.nodes.get_mut(&pod.node)
            {
                state.used.subtract(&pod.requests);
                state.pods -= 1;
            }
            return None;
        }
        let node = node.unwrap_or_default().to_string();
        if self.bound.contains_key(&id) {
            return None;
        }
        let Ok(pod) = change.object.to_typed::<Pod>() else { return None };
        let requests = pod.spec.as_ref().map(|spec| pod_requests(spec).requests).unwrap_or_default();
        let state = self.nodes.entry(node.clone()).or_default();
        state.used.add(&requests);
        state.pods += 1;
        let over = over_allocatable(&state.used, state.pods, &state.allocatable);
        let placement = if was_bound { None } else { placement_violation(&pod, state, now) };
        self.bound.insert(id.clone(), BoundPod { node: node.clone(), requests });
        if let Some(resource) = over {
            return Some(Violation {
                rule: "no node over allocatable",
                message: format!("node {node} holds more {resource} than it has allocatable once pod {id} is bound"),
                objects: vec![format!("node/{node}"), format!("pod/{id}")],
                at: now,
            });
        }
        placement.map(|reason| Violation {
            rule: "pods only on nodes they tolerate and match",
            message: format!("pod {id} was bound to node {node}: {reason}"),
            objects: vec![format!("pod/{id}"), format!("node/{node}")],
            at: now,
        })
    }

    fn deployment_changed(&mut self, change: &Change, now: Millis) -> Option<Violation> {
        let id = format!("{}/{}", change.key.namespace, change.key.name);
        if change.change_type == ChangeType::Deleted {
            if let Some(guard) = self.deployments.remove(&id) {
                self.deployment_by_uid.remove(&guard.uid);
                self.replica_sets.remove(&guard.uid);
            }
            return None;
        }
        let value = change.object.to_value();
        let number = |pointer: &str| value.pointer(pointer).and_then(Value::as_i64).unwrap_or(0);
        let replicas = value.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
        let strategy = value.pointer("/spec/strategy/rollingUpdate");
        let recreate = value.pointer("/spec/strategy/type").and_then(Value::as_str) == Some("Recreate");
        let paused = value.pointer("/spec/paused").and_then(Value::as_bool).unwrap_or(false);
        let resolve = |field: &str, round_up: bool| {
            let given = strategy.and_then(|strategy| strategy.get(field));
            resolve_int_or_percent(given, replicas, round_up)
        };
        let uid = value.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default().to_string();
        let guard = self.deployments.entry(id.clone()).or_default();
        let scaled = guard.replicas != replicas;
        guard.replicas = replicas;
        guard.max_surge = resolve("maxSurge", true);
        guard.max_unavailable = resolve("maxUnavailable", false);
        if guard.max_surge == 0 && guard.max_unavailable == 0 {
            // Kubernetes' ResolveFenceposts: both zero would deadlock, so one may be unavailable.
            guard.max_unavailable = 1;
        }
        guard.available = number("/status/availableReplicas");
        guard.uid = uid.clone();
        self.deployment_by_uid.insert(uid, id.clone());
        let settled = number("/status/observedGeneration") >= number("/metadata/generation");
        if scaled || recreate || paused {
            guard.armed = false;
        }
        if !guard.armed {
            guard.armed = settled && !recreate && !paused && guard.available >= replicas;
            return None;
        }
        let floor = replicas.saturating_sub(guard.max_unavailable);
        (guard.available < floor).then(|| Violation {
            rule: "rollouts keep maxUnavailable",
            message: format!(
                "deployment {id} has {} available pods, below replicas {replicas} − maxUnavailable {} = {floor}",
                guard.available, guard.max_unavailable
            ),
            objects: vec![format!("deployment/{id}")],
            at: now,
        })
    }

    fn replica_set_changed(&mut self, change: &Change, now: Millis) -> Option<Violation> {
        let value = change.object.to_value();
        let owner = value
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .and_then(|owners| {
                owners.iter().find(|owner| owner.get("controller").and_then(Value::as_bool) == Some(true))
            })
            .and_then(|owner| owner.get("uid").and_then(Value::as_str))?
            .to_string();
        let name = change.key.name.clone();
        let sets = self.replica_sets.entry(owner.clone()).or_default();
        if change.change_type == ChangeType::Deleted {
            sets.remove(&name);
            return None;
        }
        sets.insert(name, value.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1));
        let desired: i64 = sets.values().sum();
        let id = self.deployment_by_uid.get(&owner)?;
        let guard = self.deployments.get(id)?;
        let ceiling = guard.replicas.saturating_add(guard.max_surge);
        (guard.armed && desired > ceiling).then(|| Violation {
            rule: "rollouts keep maxSurge",
            message: format!(
                "deployment {id} wants {desired} pods across its ReplicaSets, above replicas {} + maxSurge {} = {ceiling}",
                guard.replicas, guard.max_surge
            ),
            objects: vec![format!("deployment/{id}")],
            at: now,
        })
    }
}

/// `plural/namespace/name`, or `plural/name` for cluster-scoped objects.
pub fn object_id(plural: &str, namespace: &str, name: &str) -> String {
    if namespace.is_empty() { format!("{plural}/{name}") } else { format!("{plural}/{namespace}/{name}") }
}

fn node_name(object: &Object) -> Option<&str> {
    object.field("spec").and_then(|spec| spec.get("nodeName")).and_then(Value::as_str).filter(|name| !name.is_empty())
}

fn phase(object: &Object) -> Option<&str> {
    object.field("status").and_then(|status| status.get("phase")).and_then(Value::as_str)
}

fn over_allocatable(used: &Resource, pods: i64, allocatable: &Resource) -> Option<&'static str> {
    if allocatable.is_zero() {
        // A node not yet seen (its registration is in flight): nothing to compare with.
        return None;
    }
    if used.milli_cpu > allocatable.milli_cpu {
        Some("cpu")
    } else if used.memory > allocatable.memory {
        Some("memory")
    } else if pods > allocatable.allowed_pod_number {
        Some("pods")
    } else {
        None
    }
}

fn placement_violation(pod: &Pod, state: &NodeState, now: Millis) -> Option<String> {
    let node = state.node.as_ref()?;
    let spec = pod.spec.as_ref()?;
    let taints = node.spec.as_ref().and_then(|spec| spec.taints.clone()).unwrap_or_default();
    let tolerations = spec.tolerations.clone().unwrap_or_default();
    let old_enough = |taint: &coxswain_core::k8s_openapi::api::core::v1::Taint| {
        let key = format!("{}:{}", taint.key, taint.effect);
        state.taints_since.get(&key).is_some_and(|since| now.saturating_sub(*since) > TAINT_PROPAGATION_MILLIS)
    };
    if let Some(taint) = find_matching_untolerated_taint(&taints, &tolerations, |taint| {
        (taint.effect == "NoSchedule" || taint.effect == "NoExecute") && old_enough(taint)
    }) {
        return Some(format!(
            "it does not tolerate the taint {}={}:{}",
            taint.key,
            taint.value.as_deref().unwrap_or(""),
            taint.effect
        ));
    }
    let labels = node.metadata.labels.clone().unwrap_or_default();
    if let Some(selector) = &spec.node_selector
        && !matches_node_selector_map(selector, &labels)
    {
        return Some("its nodeSelector does not match the node's labels".into());
    }
    let required = spec
        .affinity
        .as_ref()
        .and_then(|affinity| affinity.node_affinity.as_ref())
        .and_then(|affinity| affinity.required_during_scheduling_ignored_during_execution.as_ref());
    if let Some(required) = required {
        let matches = NodeSelectorMatcher::new(required).and_then(|matcher| matcher.matches_node(node));
        if !matches.unwrap_or(true) {
            return Some("its required node affinity does not match the node".into());
        }
    }
    None
}

/// Resolves `maxSurge`/`maxUnavailable` against `replicas` (percentages round up for surge and
/// down for unavailability, as Kubernetes' `ResolveFenceposts`), saturating on huge values.
fn resolve_int_or_percent(value: Option<&Value>, replicas: i64, round_up: bool) -> i64 {
    match value {
        None => {
            let quarter = replicas.saturating_mul(25);
            if round_up { quarter.saturating_add(99) / 100 } else { quarter / 100 }
        }
        Some(Value::Number(number)) => number.as_i64().unwrap_or(0),
        Some(Value::String(text)) => {
            let percent: i64 = text.trim_end_matches('%').parse().unwrap_or(0);
            let scaled = replicas.saturating_mul(percent);
            if round_up { scaled.saturating_add(99) / 100 } else { scaled / 100 }
        }
        Some(_) => 0,
    }
}
