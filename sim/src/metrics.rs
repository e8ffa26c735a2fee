//! The simulator's metrics pipeline, standing where metrics-server stands: the usage of every
//! running pod, from the scenario's model of load (per-image usage, then `load` actions on
//! workloads), fed to the HPA controller through the core's `MetricsSource`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use coxswain_core::controllers::hpa::{MetricsSource, MetricsUnavailable, PodMetrics, PodUsage};
use coxswain_core::jiff::Timestamp;
use coxswain_core::selector::LabelSelector;
use coxswain_core::store::{Change, ChangeType};
use serde_json::Value;

use crate::scenario::{ImageBehavior, RuntimeSpec};

/// The window each sample averages over, as metrics-server's default resolution (60 s).
pub const METRICS_WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct RunningPod {
    labels: BTreeMap<String, String>,
    images: Vec<String>,
}

#[derive(Debug)]
struct LoadRule {
    namespace: String,
    selector: LabelSelector,
    cpu_millicores: Option<i64>,
    memory_bytes: Option<i64>,
}

/// The running pods of one namespace, by name and by label, so that an HPA's selector reads
/// the pods under the label it pins instead of testing every pod in the namespace.
#[derive(Debug, Default)]
struct NamespacePods {
    by_name: BTreeMap<String, RunningPod>,
    by_label: BTreeMap<(String, String), BTreeSet<String>>,
}

impl NamespacePods {
    fn remove(&mut self, name: &str) {
        let Some(pod) = self.by_name.remove(name) else { return };
        for label in pod.labels {
            if let Some(names) = self.by_label.get_mut(&label) {
                names.remove(name);
                if names.is_empty() {
                    self.by_label.remove(&label);
                }
            }
        }
    }

    fn insert(&mut self, name: &str, pod: RunningPod) {
        self.remove(name);
        for label in &pod.labels {
            self.by_label.entry((label.0.clone(), label.1.clone())).or_default().insert(name.to_string());
        }
        self.by_name.insert(name.to_string(), pod);
    }

    /// The pods `selector` may pick, in name order: those under a label it pins, or all.
    fn candidates<'a>(
        &'a self,
        selector: &LabelSelector,
    ) -> Box<dyn Iterator<Item = (&'a String, &'a RunningPod)> + 'a> {
        let Some((key, values)) = selector.pinned_values() else {
            return Box::new(self.by_name.iter());
        };
        let names: BTreeSet<&String> =
            values.iter().filter_map(|value| self.by_label.get(&(key.to_string(), value.clone()))).flatten().collect();
        Box::new(names.into_iter().filter_map(|name| self.by_name.get_key_value(name)))
    }
}

#[derive(Debug, Default)]
struct State {
    now: Option<Timestamp>,
    pods: BTreeMap<String, NamespacePods>,
    rules: Vec<LoadRule>,
}

/// Usage of the running pods, by namespace.
#[derive(Debug, Default)]
pub struct SimulatedMetrics {
    images: BTreeMap<String, ImageBehavior>,
    state: Mutex<State>,
}

impl SimulatedMetrics {
    /// Metrics with the scenario's per-image usage.
    pub fn new(runtime: &RuntimeSpec) -> SimulatedMetrics {
        SimulatedMetrics { images: runtime.images.clone(), state: Mutex::default() }
    }

    /// Follows pods as they start and stop running.
    pub fn observe(&self, change: &Change) {
        if (change.key.resource.group, change.key.resource.resource) != ("", "pods") {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let namespace = state.pods.entry(change.key.namespace.clone()).or_default();
        let running = change.change_type != ChangeType::Deleted
            && change.object.field("status").and_then(|status| status.get("phase")).and_then(Value::as_str)
                == Some("Running");
        if !running {
            namespace.remove(&change.key.name);
            return;
        }
        let labels = change.object.metadata.labels.clone().unwrap_or_default();
        let images = change
            .object
            .field("spec")
            .and_then(|spec| spec.get("containers"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|container| container.get("image").and_then(Value::as_str).map(str::to_string))
            .collect();
        namespace.insert(&change.key.name, RunningPod { labels, images });
    }

    /// From now on, the pods `selector` picks in `namespace` use this much (per pod).
    pub fn set_load(
        &self,
        namespace: &str,
        selector: LabelSelector,
        cpu_millicores: Option<i64>,
        memory_bytes: Option<i64>,
    ) {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.rules.push(LoadRule { namespace: namespace.to_string(), selector, cpu_millicores, memory_bytes });
    }

    /// The time samples are stamped with.
    pub fn set_now(&self, now: Timestamp) {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).now = Some(now);
    }

    fn image_usage(&self, image: &str) -> (i64, i64) {
        let behavior = self.images.get(image).or_else(|| {
            self.images
                .iter()
                .find(|(pattern, _)| pattern.strip_suffix('*').is_some_and(|prefix| image.starts_with(prefix)))
                .map(|(_, behavior)| behavior)
        });
        behavior.map_or((0, 0), |behavior| (behavior.cpu_millicores, behavior.memory_bytes))
    }
}

impl MetricsSource for SimulatedMetrics {
    fn pod_metrics(&self, namespace: &str, selector: &LabelSelector) -> Result<PodMetrics, MetricsUnavailable> {
        let state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(now) = state.now else {
            return Err(MetricsUnavailable("no metrics collected yet".into()));
        };
        let mut metrics = PodMetrics::new();
        let Some(pods) = state.pods.get(namespace) else { return Ok(metrics) };
        for (name, pod) in pods.candidates(selector) {
            if !selector.matches(&pod.labels) {
                continue;
            }
            let (mut cpu, mut memory) = pod
                .images
                .iter()
                .map(|image| self.image_usage(image))
                .fold((0, 0), |sum, usage| (sum.0 + usage.0, sum.1 + usage.1));
            for rule in
                state.rules.iter().filter(|rule| rule.namespace == namespace && rule.selector.matches(&pod.labels))
            {
                cpu = rule.cpu_millicores.unwrap_or(cpu);
                memory = rule.memory_bytes.unwrap_or(memory);
            }
            let usage = PodUsage {
                timestamp: now,
                window: METRICS_WINDOW,
                cpu_millicores: Some(cpu),
                memory_bytes: Some(memory),
            };
            metrics.insert(name.clone(), usage);
        }
        Ok(metrics)
    }
}
