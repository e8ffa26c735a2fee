//! The node agent the simulator runs: the core's kubelet over the core's simulated runtime,
//! configured from the scenario's node pool and image behaviours, with the fault hooks the
//! engine injects through.

use std::collections::{BTreeMap, BTreeSet};

use coxswain_core::client::{Component, Incoming, Outgoing};
use coxswain_core::jiff::Timestamp;
use coxswain_core::k8s_openapi::api::core::v1::Taint;
use coxswain_core::kubelet::{
    ContainerBehavior, ImageRule, Kubelet, KubeletConfig, ProbeAnswer, SimulatedBehavior, SimulatedRuntime, UsageCurve,
};

use crate::engine::hosts::{NodeAgent, PodRef};
use crate::engine::{NodeFactory, NodeSpec};
use crate::scenario::{ImageBehavior, RuntimeSpec, Scenario};

/// The factory `cox sim` uses: one kubelet with a fresh simulated runtime per node boot.
pub fn node_factory() -> NodeFactory {
    Box::new(|spec: &NodeSpec, scenario: &Scenario| Box::new(SimulatedNode::new(spec, scenario)) as Box<dyn NodeAgent>)
}

/// A node: the kubelet, its configuration (to restart its process) and the faults injected.
#[derive(Debug)]
pub struct SimulatedNode {
    kubelet: Kubelet<SimulatedRuntime>,
    config: KubeletConfig,
    failing_pulls: BTreeSet<String>,
    /// The runtime's container changes when the engine last asked what runs.
    running_reported_at: Option<u64>,
}

impl SimulatedNode {
    /// A node as its pool declares it, with the scenario's image behaviours.
    pub fn new(spec: &NodeSpec, scenario: &Scenario) -> SimulatedNode {
        let config = kubelet_config(spec);
        let runtime = SimulatedRuntime::new(behavior(&scenario.runtime));
        SimulatedNode {
            kubelet: Kubelet::new(config.clone(), runtime),
            config,
            failing_pulls: BTreeSet::new(),
            running_reported_at: None,
        }
    }

    /// The kubelet, for inspection.
    pub fn kubelet(&self) -> &Kubelet<SimulatedRuntime> {
        &self.kubelet
    }

    fn containers_of(&self, namespace: &str, pod: &str, container: Option<&str>) -> Vec<String> {
        self.kubelet
            .runtime()
            .running()
            .into_iter()
            .filter(|(running_namespace, running_pod, name)| {
                running_namespace == namespace && running_pod == pod && container.is_none_or(|wanted| wanted == name)
            })
            .map(|(_, _, name)| name)
            .collect()
    }
}

/// The kubelet's configuration for a node of a pool: the kubelet's defaults (4 CPUs, 8 GiB, 110
/// pods, 100 GiB of ephemeral storage) with the pool's capacity over them.
pub fn kubelet_config(spec: &NodeSpec) -> KubeletConfig {
    let mut config = KubeletConfig::new(&spec.name);
    for (name, quantity) in &spec.pool.capacity {
        config = config.with_resource(name, quantity);
    }
    config.labels = spec.labels.clone();
    // The simulator's metrics pipeline (`SimulatedMetrics`) stands where metrics-server stands
    // and models usage from the scenario; nothing reads the kubelet's own samples.
    config.sample_stats = false;
    config.taints =
        spec.pool.taints.iter().filter_map(|taint| serde_json::from_value::<Taint>(taint.clone()).ok()).collect();
    config
}

/// The runtime's behaviour from the scenario's images: exact names and `prefix*` patterns, the
/// longest first so the most specific rule wins.
pub fn behavior(runtime: &RuntimeSpec) -> SimulatedBehavior {
    let mut rules: Vec<ImageRule> = runtime
        .images
        .iter()
        .map(|(pattern, image)| ImageRule {
            image_prefix: pattern.strip_suffix('*').unwrap_or(pattern).to_string(),
            behavior: container_behavior(image),
        })
        .collect();
    rules.sort_by(|left, right| {
        right.image_prefix.len().cmp(&left.image_prefix.len()).then(left.image_prefix.cmp(&right.image_prefix))
    });
    SimulatedBehavior { default: ContainerBehavior::default(), rules }
}

fn container_behavior(image: &ImageBehavior) -> ContainerBehavior {
    let probes = match image.probes_fail_after {
        None => ProbeAnswer::AlwaysSucceed,
        Some(after) if after.0.is_zero() => ProbeAnswer::AlwaysFail,
        Some(after) => ProbeAnswer::FailAfter(after.0),
    };
    ContainerBehavior {
        pull_fails: image.pull_fails,
        pull_latency: image.pull_latency.0,
        start_latency: image.start_latency.0,
        exit_after: image.exit_after.map(|after| after.0),
        exit_code: image.exit_code,
        oom: image.oom_killed,
        probes,
        usage: UsageCurve::Constant { cpu_millis: image.cpu_millicores, memory_bytes: image.memory_bytes },
        logs: image.logs.clone(),
        ..ContainerBehavior::default()
    }
}

impl Component for SimulatedNode {
    fn step(&mut self, input: Option<Incoming>, now: Timestamp) -> Vec<Outgoing> {
        self.kubelet.step(input, now)
    }

    fn next_wake(&self) -> Option<Timestamp> {
        self.kubelet.next_wake()
    }
}

impl NodeAgent for SimulatedNode {
    fn crash_container(
        &mut self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        exit_code: i32,
        now: Timestamp,
    ) -> bool {
        let containers = self.containers_of(namespace, pod, container);
        let Some(first) = containers.first() else { return false };
        self.kubelet.runtime_mut().crash_container(namespace, pod, first, exit_code, now);
        true
    }

    fn fail_probes(&mut self, namespace: &str, pod: &str, container: Option<&str>, until: Option<Timestamp>) -> bool {
        let containers = self.containers_of(namespace, pod, container);
        for name in &containers {
            self.kubelet.runtime_mut().fail_probes(namespace, pod, name, until);
        }
        !containers.is_empty()
    }

    fn set_pull_failure(&mut self, image: &str, failing: bool) {
        let behavior = self.kubelet.runtime_mut().behavior_mut();
        if failing {
            if self.failing_pulls.insert(image.to_string()) {
                let mut failing_behavior = behavior.for_image(image).clone();
                failing_behavior.pull_fails = true;
                behavior.rules.insert(0, ImageRule { image_prefix: image.to_string(), behavior: failing_behavior });
            }
        } else if self.failing_pulls.remove(image)
            && let Some(position) =
                behavior.rules.iter().position(|rule| rule.image_prefix == image && rule.behavior.pull_fails)
        {
            behavior.rules.remove(position);
        }
    }

    fn running_pods(&self) -> Vec<PodRef> {
        let pods: BTreeMap<(String, String), ()> =
            self.kubelet.runtime().running().into_iter().map(|(namespace, pod, _)| ((namespace, pod), ())).collect();
        pods.into_keys().map(|(namespace, name)| PodRef { namespace, name, uid: String::new() }).collect()
    }

    fn running_pods_if_changed(&mut self) -> Option<Vec<PodRef>> {
        let changes = self.kubelet.runtime().container_changes();
        if self.running_reported_at == Some(changes) {
            return None;
        }
        self.running_reported_at = Some(changes);
        Some(self.running_pods())
    }

    fn restart_process(&mut self) {
        let runtime = std::mem::take(self.kubelet.runtime_mut());
        self.kubelet = Kubelet::new(self.config.clone(), runtime);
    }

    fn heal(&mut self) {
        for image in std::mem::take(&mut self.failing_pulls) {
            self.failing_pulls.insert(image.clone());
            self.set_pull_failure(&image, false);
        }
        for (namespace, pod, container) in self.kubelet.runtime().running() {
            self.kubelet.runtime_mut().heal_probes(&namespace, &pod, &container);
        }
    }
}
