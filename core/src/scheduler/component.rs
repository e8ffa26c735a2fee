//! The scheduler as a component of the cluster: list+watch of Pods, Nodes and every lister kind
//! (Namespaces, Services, workloads, PersistentVolumes, PersistentVolumeClaims, StorageClasses)
//! feeding the pure [`Scheduler`], and its effects carried out through the API — a POST to the `binding`
//! subresource per placement, a status patch for PodScheduled=False, events, preemption
//! deletions. A refused binding comes back to the scheduler as `BindingFailed`, which forgets
//! the assumed pod and retries it.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::driver::{Effect, Input, Scheduler};
use super::framework::PreBindWrite;
use super::lister_informers::ListerInformers;
use super::node_info::PodKey;
use crate::api::{ApiRequest, Method};
use crate::client::informer::{Change, Informer};
use crate::client::paths::{collection_path, object_path, subresource_path};
use crate::client::{Component, Incoming, Outgoing, RequestId, is_success};
use crate::limits::SCHEDULER_PODS_PER_STEP;
use crate::object::kinds;

/// The scheduler with its informers and the requests it has in flight.
#[derive(Debug)]
pub struct SchedulerComponent {
    scheduler: Scheduler,
    pods: Informer<Pod>,
    nodes: Informer<Node>,
    listers: ListerInformers,
    next_id: RequestId,
    bindings: BTreeMap<RequestId, PodKey>,
    wake: Option<Timestamp>,
    refused_bindings: u64,
}

impl SchedulerComponent {
    /// Wraps a built scheduler.
    pub fn new(scheduler: Scheduler) -> SchedulerComponent {
        SchedulerComponent {
            scheduler,
            pods: Informer::new(),
            nodes: Informer::new(),
            listers: ListerInformers::new(),
            next_id: 1,
            bindings: BTreeMap::new(),
            wake: None,
            refused_bindings: 0,
        }
    }

    /// The scheduler, for inspection (its cache, queue and attempts).
    pub fn scheduler(&mut self) -> &mut Scheduler {
        &mut self.scheduler
    }

    /// Bindings the API refused so far.
    pub fn refused_bindings(&self) -> u64 {
        self.refused_bindings
    }

    fn observe(&mut self, input: Incoming, now: Timestamp, effects: &mut Vec<Effect>) {
        if let Some(changes) = self.pods.handle(&input, now) {
            for change in changes {
                let input = match change {
                    Change::Applied { new, .. } => Input::PodApplied(Arc::clone(&new)),
                    Change::Deleted(old) => Input::PodDeleted(old),
                };
                self.scheduler.observe(input, now, effects);
            }
            return;
        }
        if let Some(changes) = self.nodes.handle(&input, now) {
            for change in changes {
                let input = match change {
                    Change::Applied { new, .. } => Input::NodeApplied(new),
                    Change::Deleted(old) => Input::NodeDeleted(old),
                };
                self.scheduler.observe(input, now, effects);
            }
            return;
        }
        if let Some(inputs) = self.listers.handle(&input, now) {
            for input in inputs {
                self.scheduler.observe(input, now, effects);
            }
            return;
        }
        let Incoming::Response { id, status, body } = input else { return };
        if let Some(pod) = self.bindings.remove(&id)
            && !is_success(status)
        {
            self.refused_bindings += 1;
            let message = body["message"].as_str().unwrap_or("binding refused").to_string();
            self.scheduler.observe(Input::BindingFailed { pod, message }, now, effects);
        }
    }

    fn send(&mut self, effect: Effect, outgoing: &mut Vec<Outgoing>) {
        let id = self.next_id;
        let pods = kinds::by_api_version_kind("v1", "Pod").expect("Pod is served");
        let request = match effect {
            Effect::Bind(binding) => {
                let namespace = binding.metadata.namespace.clone().unwrap_or_default();
                let name = binding.metadata.name.clone().unwrap_or_default();
                if let Some(pod) = self.pods.get(&namespace, &name) {
                    self.bindings.insert(id, PodKey::of(pod));
                }
                let mut body = serde_json::to_value(&binding).unwrap_or(Value::Null);
                body["apiVersion"] = json!("v1");
                body["kind"] = json!("Binding");
                ApiRequest::new(Method::Post, &subresource_path(pods, &namespace, &name, "binding")).with_json(&body)
            }
            Effect::PatchPodStatus { namespace, name, condition, nominated_node_name } => {
                let mut status = json!({"conditions": [condition]});
                if let Some(node) = nominated_node_name {
                    status["nominatedNodeName"] = if node.is_empty() { Value::Null } else { json!(node) };
                }
                let body = json!({"status": status}).to_string().into_bytes();
                ApiRequest::new(Method::Patch, &subresource_path(pods, &namespace, &name, "status"))
                    .with_body("application/strategic-merge-patch+json", body)
            }
            Effect::RecordEvent(event) => {
                let namespace = event.metadata.namespace.clone().unwrap_or_else(|| "default".into());
                let events = kinds::by_api_version_kind("v1", "Event").expect("Event is served");
                let mut body = serde_json::to_value(&event).unwrap_or(Value::Null);
                body["apiVersion"] = json!("v1");
                body["kind"] = json!("Event");
                ApiRequest::new(Method::Post, &collection_path(events, Some(&namespace))).with_json(&body)
            }
            Effect::DeletePod { namespace, name } => {
                ApiRequest::new(Method::Delete, &object_path(pods, &namespace, &name))
            }
            Effect::ClearNominatedNodeName { namespace, name } => {
                let body = json!({"status": {"nominatedNodeName": null}}).to_string().into_bytes();
                ApiRequest::new(Method::Patch, &subresource_path(pods, &namespace, &name, "status"))
                    .with_body("application/strategic-merge-patch+json", body)
            }
            Effect::PreBindWrite { pod, write } => {
                self.bindings.insert(id, pod);
                pre_bind_request(write)
            }
            Effect::WakeAt(at) => {
                self.wake = Some(self.wake.map_or(at, |wake| wake.min(at)));
                return;
            }
        };
        self.next_id += 1;
        outgoing.push(Outgoing { id, request });
    }
}

/// The request carrying out a PreBind write: a PUT of the volume (a compare-and-swap on its
/// resourceVersion), or a merge patch of the claim's annotations.
fn pre_bind_request(write: PreBindWrite) -> ApiRequest {
    match write {
        PreBindWrite::UpdatePersistentVolume(volume) => {
            let volumes = kinds::by_api_version_kind("v1", "PersistentVolume").expect("PersistentVolume is served");
            let name = volume.metadata.name.clone().unwrap_or_default();
            let mut body = serde_json::to_value(&volume).unwrap_or(Value::Null);
            body["apiVersion"] = json!("v1");
            body["kind"] = json!("PersistentVolume");
            ApiRequest::new(Method::Put, &object_path(volumes, "", &name)).with_json(&body)
        }
        PreBindWrite::AnnotatePersistentVolumeClaim { namespace, name, annotations } => {
            let claims =
                kinds::by_api_version_kind("v1", "PersistentVolumeClaim").expect("PersistentVolumeClaim is served");
            let body = json!({"metadata": {"annotations": annotations}}).to_string().into_bytes();
            ApiRequest::new(Method::Patch, &object_path(claims, &namespace, &name))
                .with_body("application/merge-patch+json", body)
        }
    }
}

impl Component for SchedulerComponent {
    fn step(&mut self, input: Option<Incoming>, now: Timestamp) -> Vec<Outgoing> {
        let mut effects = Vec::new();
        if let Some(input) = input {
            self.observe(input, now, &mut effects);
        } else {
            self.scheduler.observe(Input::Tick, now, &mut effects);
        }
        let mut outgoing = Vec::new();
        self.pods.poll_request(now, &mut self.next_id).into_iter().for_each(|request| outgoing.push(request));
        self.nodes.poll_request(now, &mut self.next_id).into_iter().for_each(|request| outgoing.push(request));
        self.listers.poll_requests(now, &mut self.next_id, &mut outgoing);
        let synced = self.pods.has_synced() && self.nodes.has_synced() && self.listers.has_synced();
        if synced {
            self.scheduler.schedule_pending(now, SCHEDULER_PODS_PER_STEP, &mut effects);
        }
        self.wake =
            [self.scheduler.queue().next_wakeup(), self.scheduler.pre_bind_deadline()].into_iter().flatten().min();
        // Until the informers have synced nothing is scheduled, so an immediate wake would spin;
        // the list answers wake the component instead.
        if synced && self.scheduler.queue().lengths().0 > 0 {
            // More pods are ready than one step places: come back at once.
            self.wake = Some(now);
        }
        for effect in effects {
            self.send(effect, &mut outgoing);
        }
        outgoing
    }

    fn next_wake(&self) -> Option<Timestamp> {
        [self.wake, self.pods.next_wake(), self.nodes.next_wake(), self.listers.next_wake()].into_iter().flatten().min()
    }
}
