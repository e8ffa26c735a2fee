//! Resource metrics and Kubernetes' replica calculator (`replica_calculator.go`): from the
//! pods' CPU or memory usage and requests to a proposed replica count, leaving out pods that
//! are failed, being deleted, pending or (for CPU) not yet ready, and rebalancing conservatively
//! when some pods have no metrics.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::controllers::pods::phase;
use crate::object::quantity::Quantity;
use crate::selector::LabelSelector;

/// Usage ratios within this distance of 1 leave the replica count alone (`--horizontal-pod-
/// autoscaler-tolerance`, 0.1).
pub const TOLERANCE: f64 = 0.1;

/// For this long after a pod starts, its CPU sample counts only once it is ready and a whole
/// metric window has passed since (`--horizontal-pod-autoscaler-cpu-initialization-period`, 5 min).
pub const CPU_INITIALIZATION_PERIOD: Duration = Duration::from_secs(5 * 60);

/// A pod that turned unready within this long of starting is taken as never ready yet
/// (`--horizontal-pod-autoscaler-initial-readiness-delay`, 30 s).
pub const DELAY_OF_INITIAL_READINESS_STATUS: Duration = Duration::from_secs(30);

/// One pod's resource usage as the metrics pipeline (metrics-server, or the simulator) saw it,
/// summed over its containers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodUsage {
    /// When the sample was taken (the end of its window).
    pub timestamp: Timestamp,
    /// Over how long the usage was averaged.
    pub window: Duration,
    /// CPU in millicores, if measured.
    pub cpu_millicores: Option<i64>,
    /// Memory working set in bytes, if measured.
    pub memory_bytes: Option<i64>,
}

/// Usage by pod name, for the pods of one namespace.
pub type PodMetrics = BTreeMap<String, PodUsage>;

/// Why the metrics could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MetricsUnavailable(pub String);

/// Where pod metrics come from: the simulator's model of load, or the node agents' cgroup
/// readings. The shell asks before each reconcile and passes the answer in, so the reconcile
/// itself reads no clock and no socket.
pub trait MetricsSource {
    /// The usage of the pods of `namespace` that `selector` matches.
    fn pod_metrics(&self, namespace: &str, selector: &LabelSelector) -> Result<PodMetrics, MetricsUnavailable>;
}

/// The resources a `Resource` metric can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceName {
    /// `cpu`.
    Cpu,
    /// `memory`.
    Memory,
}

impl ResourceName {
    /// Reads a metric's resource name.
    pub fn parse(name: &str) -> Option<ResourceName> {
        match name {
            "cpu" => Some(ResourceName::Cpu),
            "memory" => Some(ResourceName::Memory),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceName::Cpu => "cpu",
            ResourceName::Memory => "memory",
        }
    }

    /// The pod's usage in milli-units, as Kubernetes' metrics client reports it.
    fn milli_usage(self, usage: &PodUsage) -> Option<i64> {
        match self {
            ResourceName::Cpu => usage.cpu_millicores,
            ResourceName::Memory => usage.memory_bytes.map(|bytes| bytes.saturating_mul(1000)),
        }
    }
}

/// The replica calculator's flags (`--horizontal-pod-autoscaler-*`), Kubernetes' defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CalculatorSettings {
    /// [`TOLERANCE`].
    pub tolerance: f64,
    /// [`CPU_INITIALIZATION_PERIOD`].
    pub cpu_initialization_period: Duration,
    /// [`DELAY_OF_INITIAL_READINESS_STATUS`].
    pub delay_of_initial_readiness_status: Duration,
}

impl Default for CalculatorSettings {
    fn default() -> CalculatorSettings {
        CalculatorSettings {
            tolerance: TOLERANCE,
            cpu_initialization_period: CPU_INITIALIZATION_PERIOD,
            delay_of_initial_readiness_status: DELAY_OF_INITIAL_READINESS_STATUS,
        }
    }
}

/// Why no replica count could be computed; the messages are Kubernetes'.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplicaCalculationError {
    /// No pod has a sample of the resource.
    #[error("unable to get metrics for resource {0}: no metrics returned from resource metrics API")]
    NoMetricsReturned(&'static str),
    /// The selector matched no pods.
    #[error("no pods returned by selector while calculating replica count")]
    NoPods,
    /// A container has no request for the resource.
    #[error("missing request for {0}")]
    MissingRequest(&'static str),
    /// No ready pod has a sample.
    #[error("did not receive metrics for any ready pods")]
    NoReadyMetrics,
    /// The samples belong to no listed pod.
    #[error("no metrics returned matched known pods")]
    NoMatchingMetrics,
}

/// A proposal from one resource metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// The replica count the metric asks for.
    pub replicas: i32,
    /// Average utilization in percent of request (utilization targets only).
    pub utilization: Option<i32>,
    /// Average usage per pod in milli-units.
    pub raw_average: i64,
}

/// The pods sorted by whether their samples count (`groupPods`).
struct GroupedPods {
    ready: usize,
    unready: BTreeSet<String>,
    missing: BTreeSet<String>,
    ignored: BTreeSet<String>,
}

/// What one calculation reads.
pub struct Calculation<'a> {
    /// The target's current replica count (`scale.spec.replicas`).
    pub current_replicas: i32,
    /// The pods the target's selector matches.
    pub pods: &'a [&'a Pod],
    /// Their samples.
    pub metrics: &'a PodMetrics,
    /// Which resource.
    pub resource: ResourceName,
    /// The reconcile's `now`.
    pub now: Timestamp,
    /// Tolerance and readiness delays.
    pub settings: CalculatorSettings,
}

impl Calculation<'_> {
    /// `GetResourceReplicas`: replicas for a target average utilization (percent of request).
    pub fn utilization_replicas(&self, target_utilization: i32) -> Result<Proposal, ReplicaCalculationError> {
        let (grouped, mut samples) = self.prepare()?;
        let requests = self.requests()?;
        if samples.is_empty() {
            return Err(ReplicaCalculationError::NoReadyMetrics);
        }
        let (usage_ratio, utilization, raw_average) = utilization_ratio(&samples, &requests, target_utilization)?;
        let proposal = |replicas| Proposal { replicas, utilization: Some(utilization), raw_average };
        let rebalance_unready = !grouped.unready.is_empty() && usage_ratio > 1.0;
        if !rebalance_unready && grouped.missing.is_empty() {
            return Ok(proposal(self.simple_replicas(usage_ratio, grouped.ready)));
        }
        // On a scale-down a pod without a sample counts as using its whole request, or the
        // target when the target is above 100 %; on a scale-up as using nothing.
        let fallback_percent = i64::from(target_utilization.max(100));
        for name in &grouped.missing {
            if usage_ratio < 1.0 {
                let request = requests.get(name).copied().unwrap_or(0);
                samples.insert(name.clone(), request * fallback_percent / 100);
            } else if usage_ratio > 1.0 {
                samples.insert(name.clone(), 0);
            }
        }
        if rebalance_unready {
            samples.extend(grouped.unready.iter().map(|name| (name.clone(), 0)));
        }
        let (new_ratio, _, _) = utilization_ratio(&samples, &requests, target_utilization)?;
        Ok(proposal(self.rebalanced_replicas(usage_ratio, new_ratio, samples.len())))
    }

    /// `GetRawResourceReplicas` (`calcPlainMetricReplicas`): replicas for a target average
    /// usage per pod in milli-units.
    pub fn average_value_replicas(&self, target_milli: i64) -> Result<Proposal, ReplicaCalculationError> {
        let (grouped, mut samples) = self.prepare()?;
        if samples.is_empty() {
            return Err(ReplicaCalculationError::NoReadyMetrics);
        }
        let (usage_ratio, average) = plain_ratio(&samples, target_milli);
        let proposal = |replicas| Proposal { replicas, utilization: None, raw_average: average };
        let rebalance_unready = !grouped.unready.is_empty() && usage_ratio > 1.0;
        if !rebalance_unready && grouped.missing.is_empty() {
            return Ok(proposal(self.simple_replicas(usage_ratio, grouped.ready)));
        }
        for name in &grouped.missing {
            samples.insert(name.clone(), if usage_ratio < 1.0 { target_milli } else { 0 });
        }
        if rebalance_unready {
            samples.extend(grouped.unready.iter().map(|name| (name.clone(), 0)));
        }
        let (new_ratio, _) = plain_ratio(&samples, target_milli);
        Ok(proposal(self.rebalanced_replicas(usage_ratio, new_ratio, samples.len())))
    }

    /// The pods grouped, and the samples of the ready ones.
    fn prepare(&self) -> Result<(GroupedPods, BTreeMap<String, i64>), ReplicaCalculationError> {
        // A pod without a sample of this resource has no metric at all (`GetResourceMetric`).
        let measured: BTreeMap<&String, (&PodUsage, i64)> = self
            .metrics
            .iter()
            .filter_map(|(name, usage)| Some((name, (usage, self.resource.milli_usage(usage)?))))
            .collect();
        if measured.is_empty() {
            return Err(ReplicaCalculationError::NoMetricsReturned(self.resource.as_str()));
        }
        if self.pods.is_empty() {
            return Err(ReplicaCalculationError::NoPods);
        }
        let grouped = self.group_pods(&measured);
        let samples = measured
            .into_iter()
            .filter(|(name, _)| !grouped.ignored.contains(*name) && !grouped.unready.contains(*name))
            .map(|(name, (_, value))| (name.clone(), value))
            .collect();
        Ok((grouped, samples))
    }

    /// Without missing or (on a scale-up) unready pods: `ceil(ratio × ready)` outside the
    /// tolerance, else the current count.
    fn simple_replicas(&self, usage_ratio: f64, ready: usize) -> i32 {
        if (1.0 - usage_ratio).abs() <= self.settings.tolerance {
            return self.current_replicas;
        }
        (usage_ratio * ready as f64).ceil() as i32
    }

    /// After rebalancing: keep the current count if within tolerance or if the rebalanced
    /// ratio or count turned the direction around.
    fn rebalanced_replicas(&self, usage_ratio: f64, new_ratio: f64, counted: usize) -> i32 {
        let flipped = (usage_ratio < 1.0 && new_ratio > 1.0) || (usage_ratio > 1.0 && new_ratio < 1.0);
        if (1.0 - new_ratio).abs() <= self.settings.tolerance || flipped {
            return self.current_replicas;
        }
        let new_replicas = (new_ratio * counted as f64).ceil() as i32;
        let wrong_way = (new_ratio < 1.0 && new_replicas > self.current_replicas)
            || (new_ratio > 1.0 && new_replicas < self.current_replicas);
        if wrong_way { self.current_replicas } else { new_replicas }
    }

    /// `groupPods`: ignored (deleted or failed), unready (pending, or for CPU not ready long
    /// enough for a clean sample), missing (no sample) and ready.
    fn group_pods(&self, measured: &BTreeMap<&String, (&PodUsage, i64)>) -> GroupedPods {
        let mut grouped =
            GroupedPods { ready: 0, unready: BTreeSet::new(), missing: BTreeSet::new(), ignored: BTreeSet::new() };
        for pod in self.pods {
            let name = pod.metadata.name.clone().unwrap_or_default();
            if pod.metadata.deletion_timestamp.is_some() || phase(pod) == "Failed" {
                grouped.ignored.insert(name);
                continue;
            }
            if phase(pod) == "Pending" {
                grouped.unready.insert(name);
                continue;
            }
            let Some((usage, _)) = measured.get(&name) else {
                grouped.missing.insert(name);
                continue;
            };
            if self.resource == ResourceName::Cpu && self.cpu_unready(pod, usage) {
                grouped.unready.insert(name);
                continue;
            }
            grouped.ready += 1;
        }
        grouped
    }

    fn cpu_unready(&self, pod: &Pod, usage: &PodUsage) -> bool {
        let status = pod.status.as_ref();
        let ready = status.and_then(|status| status.conditions.iter().flatten().find(|c| c.type_ == "Ready"));
        let start = status.and_then(|status| status.start_time.as_ref()).map(|time| time.0);
        let (Some(ready), Some(start)) = (ready, start) else { return true };
        let transition = ready.last_transition_time.as_ref().map_or(Timestamp::UNIX_EPOCH, |time| time.0);
        if after(start, self.settings.cpu_initialization_period) > self.now {
            let window = SignedDuration::try_from(usage.window).unwrap_or(SignedDuration::MAX);
            ready.status == "False" || usage.timestamp < transition.saturating_add(window).unwrap_or(transition)
        } else {
            ready.status == "False" && after(start, self.settings.delay_of_initial_readiness_status) > transition
        }
    }

    /// `calculatePodRequests`: each pod's request for the resource, summed over containers.
    fn requests(&self) -> Result<BTreeMap<String, i64>, ReplicaCalculationError> {
        let mut requests = BTreeMap::new();
        for pod in self.pods {
            let mut sum = 0i64;
            for container in pod.spec.iter().flat_map(|spec| &spec.containers) {
                let request = container.resources.as_ref().and_then(|resources| resources.requests.as_ref());
                let quantity = request.and_then(|requests| requests.get(self.resource.as_str()));
                let milli = quantity.and_then(|quantity| Quantity::try_from(quantity).ok()).map(|q| q.milli_value());
                sum += milli.ok_or(ReplicaCalculationError::MissingRequest(self.resource.as_str()))?;
            }
            requests.insert(pod.metadata.name.clone().unwrap_or_default(), sum);
        }
        Ok(requests)
    }
}

fn after(time: Timestamp, duration: Duration) -> Timestamp {
    let duration = SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX);
    time.saturating_add(duration).unwrap_or(time)
}

/// `GetResourceUtilizationRatio`: usage over requests of the pods with both, as a ratio to the
/// target, the utilization in whole percent, and the average raw usage.
fn utilization_ratio(
    samples: &BTreeMap<String, i64>,
    requests: &BTreeMap<String, i64>,
    target_utilization: i32,
) -> Result<(f64, i32, i64), ReplicaCalculationError> {
    let (mut usage_total, mut request_total, mut counted) = (0i64, 0i64, 0i64);
    for (name, usage) in samples {
        let Some(request) = requests.get(name) else { continue };
        usage_total += usage;
        request_total += request;
        counted += 1;
    }
    if request_total == 0 {
        return Err(ReplicaCalculationError::NoMatchingMetrics);
    }
    let utilization = (usage_total * 100 / request_total) as i32;
    Ok((f64::from(utilization) / f64::from(target_utilization), utilization, usage_total / counted))
}

/// `GetMetricUtilizationRatio`: the average sample over the target, and the average.
fn plain_ratio(samples: &BTreeMap<String, i64>, target_milli: i64) -> (f64, i64) {
    let total: i64 = samples.values().sum();
    let average = total / samples.len().max(1) as i64;
    (average as f64 / target_milli as f64, average)
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
