//! The user of the simulated cluster: timeline actions carried out as kubectl carries them out —
//! the same requests to the same API — and `kubectl drain`, which goes on over time (evictions
//! refused by a PodDisruptionBudget are retried every 5 s, as kubectl does).

use coxswain_core::api::{ApiRequest, ApiServer, Method};
use coxswain_core::jiff::Timestamp;
use coxswain_core::k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as WireLabelSelector;
use coxswain_core::object::kinds;
use coxswain_core::selector::LabelSelector;
use coxswain_core::store::{MemoryStore, Store};
use serde_json::{Value, json};

use super::Simulation;
use super::queue::{Event, Millis};
use crate::checkers::liveness::list;
use crate::fields;
use crate::scenario::{Action, Target};

/// How often `kubectl drain` retries an eviction a PodDisruptionBudget refused (5 s).
pub const DRAIN_RETRY_MILLIS: Millis = 5_000;

/// The field manager the simulated user applies with.
const FIELD_MANAGER: &str = "cox-sim";

/// A user action that goes on over time.
#[derive(Clone, Debug)]
pub enum UserProcess {
    /// `kubectl drain NODE`: evicting until the node holds no evictable pod.
    Drain {
        /// The node.
        node: String,
        /// Whether it is done.
        done: bool,
    },
}

/// Sends one request to the server as a user (not through the network: the user is an
/// administrator whose link is not simulated).
pub fn send<S: Store>(server: &mut ApiServer<S>, request: &ApiRequest, now: Timestamp) -> (u16, Value) {
    match server.handle(request, now).into_json() {
        Ok(answer) => answer,
        Err(_) => (500, json!({"message": "a user request opened a watch"})),
    }
}

/// `kubectl apply` of one object: created, or server-side applied over what exists.
pub fn apply<S: Store>(server: &mut ApiServer<S>, object: &Value, now: Timestamp) -> (u16, Value) {
    let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
    let Some(resource) = kinds::by_api_version_kind(api_version, kind) else {
        return (400, json!({"message": format!("{api_version} {kind} is not served")}));
    };
    let namespace = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default");
    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let namespace = if resource.is_namespaced() { namespace } else { "" };
    let collection = coxswain_core::client::paths::collection_path(resource, Some(namespace));
    let (status, body) = send(server, &ApiRequest::new(Method::Post, &collection).with_json(object), now);
    if status != 409 || name.is_empty() {
        return (status, body);
    }
    let path = format!(
        "{}?fieldManager={FIELD_MANAGER}&force=true",
        coxswain_core::client::paths::object_path(resource, namespace, name)
    );
    let request = ApiRequest::new(Method::Patch, &path)
        .with_body("application/apply-patch+yaml", object.to_string().into_bytes());
    send(server, &request, now)
}

/// `Kind namespace/name` of an object, for traces and messages.
pub fn describe(object: &Value) -> String {
    let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
    let namespace = text("/metadata/namespace");
    let name = text("/metadata/name");
    if namespace.is_empty() {
        format!("{} {name}", text("/kind"))
    } else {
        format!("{} {namespace}/{name}", text("/kind"))
    }
}

impl Simulation {
    /// Carries out one timeline action.
    pub(super) fn act(&mut self, action: &Action, index: usize) {
        let now = self.timestamp(self.now);
        let (label, status) = match action {
            Action::Apply(object) => ("apply".to_string() + " " + &describe(object), self.user_apply(object, now)),
            Action::Delete(target) => {
                self.safety.disturbed();
                let body = json!({"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"});
                let request = ApiRequest::new(Method::Delete, &target.path()).with_json(&body);
                (format!("delete {target}"), self.user_send(&request, now))
            }
            Action::Patch(patch) => {
                let request = ApiRequest::new(Method::Patch, &patch.target.path())
                    .with_body(patch.r#type.content_type(), patch.patch.to_string().into_bytes());
                (format!("patch {}", patch.target), self.user_send(&request, now))
            }
            Action::Scale(scale) => {
                self.safety.disturbed();
                let body = json!({"spec": {"replicas": scale.replicas}});
                let request = ApiRequest::new(Method::Patch, &scale.target.subresource_path("scale"))
                    .with_body("application/merge-patch+json", body.to_string().into_bytes());
                (format!("scale {} to {}", scale.target, scale.replicas), self.user_send(&request, now))
            }
            Action::SetImage(set) => {
                let containers = json!([{"name": set.container, "image": set.image}]);
                let body = if set.target.resource.kind == "Pod" {
                    json!({"spec": {"containers": containers}})
                } else {
                    json!({"spec": {"template": {"spec": {"containers": containers}}}})
                };
                let request = ApiRequest::new(Method::Patch, &set.target.path())
                    .with_body("application/strategic-merge-patch+json", body.to_string().into_bytes());
                (format!("set image {} {}={}", set.target, set.container, set.image), self.user_send(&request, now))
            }
            Action::RolloutUndo(target) => (format!("rollout undo {target}"), self.rollout_undo(target, now)),
            Action::Drain(node) => {
                self.safety.disturbed();
                let status = self.cordon(node, true, now);
                self.users.push(UserProcess::Drain { node: node.clone(), done: false });
                self.queue.push(self.now, Event::UserWake { index: self.users.len() - 1 });
                (format!("drain {node}"), status)
            }
            Action::Cordon(node) => (format!("cordon {node}"), self.cordon(node, true, now)),
            Action::Uncordon(node) => (format!("uncordon {node}"), self.cordon(node, false, now)),
            Action::Load(load) => (format!("load {}", load.target), self.load(load, now)),
            Action::Fault(fault) => {
                self.inject(fault, "timeline");
                return;
            }
        };
        self.trace.record(self.now, "action", json!(label), fields! {"timeline" => index, "status" => status});
    }

    fn user_send(&mut self, request: &ApiRequest, now: Timestamp) -> u16 {
        if !self.api_up {
            return 0;
        }
        let (status, _) = send(&mut self.server, request, now);
        status
    }

    fn user_apply(&mut self, object: &Value, now: Timestamp) -> u16 {
        if !self.api_up {
            return 0;
        }
        apply(&mut self.server, object, now).0
    }

    fn cordon(&mut self, node: &str, unschedulable: bool, now: Timestamp) -> u16 {
        let value = if unschedulable { json!(true) } else { Value::Null };
        let body = json!({"spec": {"unschedulable": value}});
        let request = ApiRequest::new(Method::Patch, &format!("/api/v1/nodes/{node}"))
            .with_body("application/strategic-merge-patch+json", body.to_string().into_bytes());
        self.user_send(&request, now)
    }

    fn load(&mut self, load: &crate::scenario::LoadAction, now: Timestamp) -> u16 {
        let (status, body) = if self.api_up {
            send(&mut self.server, &ApiRequest::new(Method::Get, &load.target.path()), now)
        } else {
            (0, Value::Null)
        };
        if status != 200 {
            return status;
        }
        let selector = body
            .pointer("/spec/selector")
            .cloned()
            .and_then(|selector| serde_json::from_value::<WireLabelSelector>(selector).ok());
        let Ok(selector) = LabelSelector::from_label_selector(selector.as_ref()) else { return 422 };
        self.metrics.set_load(&load.target.namespace, selector, load.cpu_millicores, load.memory_bytes);
        status
    }

    /// `kubectl rollout undo`: the Deployment's template goes back to that of the ReplicaSet of
    /// the previous revision (without its `pod-template-hash` label), by a JSON patch.
    fn rollout_undo(&mut self, target: &Target, now: Timestamp) -> u16 {
        if !self.api_up {
            return 0;
        }
        let (status, deployment) = send(&mut self.server, &ApiRequest::new(Method::Get, &target.path()), now);
        if status != 200 {
            return status;
        }
        let uid = deployment.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default().to_string();
        let revision_of = |object: &Value| -> i64 {
            object
                .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                .and_then(Value::as_str)
                .and_then(|text| text.parse().ok())
                .unwrap_or(0)
        };
        let current = revision_of(&deployment);
        let path = format!("/apis/apps/v1/namespaces/{}/replicasets", target.namespace);
        let previous = list(&mut self.server, &path, now)
            .into_iter()
            .filter(|set| {
                set.pointer("/metadata/ownerReferences").and_then(Value::as_array).is_some_and(|owners| {
                    owners.iter().any(|owner| owner.get("uid").and_then(Value::as_str) == Some(&uid))
                })
            })
            .filter(|set| revision_of(set) < current)
            .max_by_key(revision_of);
        let Some(previous) = previous else { return 400 };
        let mut template = previous.pointer("/spec/template").cloned().unwrap_or(Value::Null);
        if let Some(labels) = template.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
            labels.remove("pod-template-hash");
        }
        let patch = json!([{"op": "replace", "path": "/spec/template", "value": template}]);
        let request = ApiRequest::new(Method::Patch, &target.path())
            .with_body("application/json-patch+json", patch.to_string().into_bytes());
        send(&mut self.server, &request, now).0
    }

    /// One round of a user process.
    pub(super) fn user_wake(&mut self, index: usize) {
        let UserProcess::Drain { node, done } = self.users[index].clone();
        if done {
            return;
        }
        let now = self.timestamp(self.now);
        if !self.api_up {
            self.queue.push(self.now + DRAIN_RETRY_MILLIS, Event::UserWake { index });
            return;
        }
        let path = format!("/api/v1/pods?fieldSelector=spec.nodeName%3D{node}");
        let pods = list(&mut self.server, &path, now);
        let mut remaining = 0;
        for pod in pods.iter().filter(|pod| evictable(pod)) {
            remaining += 1;
            if pod.pointer("/metadata/deletionTimestamp").is_some() {
                continue;
            }
            let namespace = pod.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
            let name = pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
            let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}});
            let request =
                ApiRequest::new(Method::Post, &format!("/api/v1/namespaces/{namespace}/pods/{name}/eviction"))
                    .with_json(&eviction);
            let (status, _) = send(&mut self.server, &request, now);
            self.trace.record(self.now, "evict", json!(format!("{namespace}/{name}")), fields! {"status" => status});
        }
        if remaining == 0 {
            self.users[index] = UserProcess::Drain { node: node.clone(), done: true };
            self.trace.record(self.now, "drained", json!(node), fields! {});
        } else {
            self.queue.push(self.now + DRAIN_RETRY_MILLIS, Event::UserWake { index });
        }
    }

    /// The server, for tests and tools that inspect the cluster as a user would.
    pub fn server(&mut self) -> &mut ApiServer<MemoryStore> {
        &mut self.server
    }
}

/// Whether `kubectl drain` evicts a pod (with `--ignore-daemonsets`): not owned by a DaemonSet,
/// not a mirror pod, not finished.
fn evictable(pod: &Value) -> bool {
    let daemon = pod.pointer("/metadata/ownerReferences").and_then(Value::as_array).is_some_and(|owners| {
        owners.iter().any(|owner| owner.get("kind").and_then(Value::as_str) == Some("DaemonSet"))
    });
    let mirror = pod.pointer("/metadata/annotations/kubernetes.io~1config.mirror").is_some();
    let finished = matches!(pod.pointer("/status/phase").and_then(Value::as_str), Some("Succeeded" | "Failed"));
    !daemon && !mirror && !finished
}
