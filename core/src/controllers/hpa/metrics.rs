//! Resource metrics and Kubernetes' replica calculator (`replica_calculator.go`): from the
//! pods' CPU or memory usage and requests to a proposed replica count, leaving out pods that
//! are failed, being deleted, pending or (for CPU) not yet ready, and rebalancing conservatively
//! when some pods have no metrics.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::autoscaling::v2::CrossVersionObjectReference;
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

/// One pod's sample of a custom metric (`custom.metrics.k8s.io`), in milli-units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodMetricSample {
    /// When the sample was taken.
    pub timestamp: Timestamp,
    /// Over how long it was averaged.
    pub window: Duration,
    /// The value in milli-units.
    pub value_milli: i64,
}

/// Custom metric samples by pod name (Kubernetes' `PodMetricsInfo`).
pub type PodMetricValues = BTreeMap<String, PodMetricSample>;

/// Where metrics come from: the simulator's model of load, or the node agents' cgroup readings.
/// The methods are Kubernetes' `MetricsClient`: the resource metrics API (metrics-server) for
/// whole pods and single containers, the custom metrics API for per-pod and per-object
/// metrics, and the external metrics API. A source answers from memory it already holds, so the
/// reconcile that asks reads no clock and no socket. A source that does not serve an API keeps
/// the default, which fails as a cluster without that API's adapter does.
pub trait MetricsSource {
    /// The usage of the pods of `namespace` that `selector` matches, summed over each pod's
    /// containers (`GetResourceMetric` without a container).
    fn pod_metrics(&self, namespace: &str, selector: &LabelSelector) -> Result<PodMetrics, MetricsUnavailable>;

    /// The usage of the container `container` in each pod of `namespace` that `selector`
    /// matches (`GetResourceMetric` with a container); a pod without that container is left out.
    fn container_metrics(
        &self,
        namespace: &str,
        selector: &LabelSelector,
        container: &str,
    ) -> Result<PodMetrics, MetricsUnavailable> {
        let _ = (namespace, selector, container);
        Err(MetricsUnavailable("container metrics are not served by this metrics source".to_string()))
    }

    /// The custom metric `metric` of each pod of `namespace` that `selector` matches, among the
    /// series `metric_selector` picks (`GetRawMetric`).
    fn pods_metric(
        &self,
        metric: &str,
        namespace: &str,
        selector: &LabelSelector,
        metric_selector: &LabelSelector,
    ) -> Result<PodMetricValues, MetricsUnavailable> {
        let _ = (metric, namespace, selector, metric_selector);
        Err(MetricsUnavailable("the custom metrics API (custom.metrics.k8s.io) is not served".to_string()))
    }

    /// The custom metric `metric` of one object of `namespace`, in milli-units
    /// (`GetObjectMetric`).
    fn object_metric(
        &self,
        metric: &str,
        namespace: &str,
        object: &CrossVersionObjectReference,
        metric_selector: &LabelSelector,
    ) -> Result<i64, MetricsUnavailable> {
        let _ = (metric, namespace, object, metric_selector);
        Err(MetricsUnavailable("the custom metrics API (custom.metrics.k8s.io) is not served".to_string()))
    }

    /// The values of the external metric `metric` that `metric_selector` picks, in milli-units
    /// (`GetExternalMetric`).
    fn external_metric(
        &self,
        metric: &str,
        namespace: &str,
        metric_selector: &LabelSelector,
    ) -> Result<Vec<i64>, MetricsUnavailable> {
        let _ = (metric, namespace, metric_selector);
        Err(MetricsUnavailable("the external metrics API (external.metrics.k8s.io) is not served".to_string()))
    }
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
    /// The custom metrics API answered with no sample.
    #[error("no metrics returned from custom metrics API")]
    NoCustomMetricsReturned,
    /// Readiness was asked of a selector that matched no pods (`getReadyPodsCount`).
    #[error("unable to calculate ready pods: no pods returned by selector while calculating replica count")]
    NoPodsToCount,
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
    /// Their samples (of one container, for a `ContainerResource` metric).
    pub metrics: &'a PodMetrics,
    /// Which resource.
    pub resource: ResourceName,
    /// The container whose request counts (`ContainerResource`), or `None` for every container.
    pub container: Option<&'a str>,
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
            return Ok(proposal(simple_replicas(&self.settings, self.current_replicas, usage_ratio, grouped.ready)));
        }
        // On a scale-down a pod without a sample counts as using its whole request, or the
        // target when the target is above 100 %; on a scale-up as using nothing.
        let fallback_percent = i64::from(target_utilization.max(100));
        for name in &grouped.missing {
            if usage_ratio < 1.0 {
                let request = requests.get(name).copied().unwrap_or(0);
                samples.insert(name.clone(), request.saturating_mul(fallback_percent) / 100);
            } else if usage_ratio > 1.0 {
                samples.insert(name.clone(), 0);
            }
        }
        if rebalance_unready {
            samples.extend(grouped.unready.iter().map(|name| (name.clone(), 0)));
        }
        let (new_ratio, _, _) = utilization_ratio(&samples, &requests, target_utilization)?;
        let replicas =
            rebalanced_replicas(&self.settings, self.current_replicas, usage_ratio, new_ratio, samples.len());
        Ok(proposal(replicas))
    }

    /// `GetRawResourceReplicas` (`calcPlainMetricReplicas`): replicas for a target average
    /// usage per pod in milli-units.
    pub fn average_value_replicas(&self, target_milli: i64) -> Result<Proposal, ReplicaCalculationError> {
        let (grouped, samples) = self.prepare()?;
        let (replicas, average) =
            plain_replicas(&self.settings, self.current_replicas, &grouped, samples, target_milli)?;
        Ok(Proposal { replicas, utilization: None, raw_average: average })
    }

    /// The pods grouped, and the samples of the ready ones.
    fn prepare(&self) -> Result<(GroupedPods, BTreeMap<String, i64>), ReplicaCalculationError> {
        // A pod without a sample of this resource has no metric at all (`GetResourceMetric`).
        let measured: PodMetricValues = self
            .metrics
            .iter()
            .filter_map(|(name, usage)| {
                let value_milli = self.resource.milli_usage(usage)?;
                Some((name.clone(), PodMetricSample { timestamp: usage.timestamp, window: usage.window, value_milli }))
            })
            .collect();
        if measured.is_empty() {
            return Err(ReplicaCalculationError::NoMetricsReturned(self.resource.as_str()));
        }
        let cpu = self.resource == ResourceName::Cpu;
        prepare_samples(self.pods, &measured, cpu, self.now, &self.settings)
    }

    /// `calculatePodRequests`: each pod's request for the resource, summed over its containers
    /// (only the named one for a `ContainerResource` metric).
    fn requests(&self) -> Result<BTreeMap<String, i64>, ReplicaCalculationError> {
        let mut requests = BTreeMap::new();
        for pod in self.pods {
            let mut sum = 0i64;
            let containers = pod.spec.iter().flat_map(|spec| &spec.containers);
            for container in containers.filter(|container| self.container.is_none_or(|name| container.name == name)) {
                let request = container.resources.as_ref().and_then(|resources| resources.requests.as_ref());
                let quantity = request.and_then(|requests| requests.get(self.resource.as_str()));
                let milli = quantity.and_then(|quantity| Quantity::try_from(quantity).ok()).map(|q| q.milli_value());
                let milli = milli.ok_or(ReplicaCalculationError::MissingRequest(self.resource.as_str()))?;
                sum = sum.saturating_add(milli);
            }
            requests.insert(pod.metadata.name.clone().unwrap_or_default(), sum);
        }
        Ok(requests)
    }
}

/// `GetMetricReplicas`: replicas for a `Pods` metric's target average value, from each pod's
/// custom metric sample. Readiness does not matter here: only CPU samples are distrusted.
pub fn pods_metric_replicas(
    current_replicas: i32,
    pods: &[&Pod],
    samples: &PodMetricValues,
    target_milli: i64,
    now: Timestamp,
    settings: &CalculatorSettings,
) -> Result<(i32, i64), ReplicaCalculationError> {
    if samples.is_empty() {
        return Err(ReplicaCalculationError::NoCustomMetricsReturned);
    }
    let (grouped, samples) = prepare_samples(pods, samples, false, now, settings)?;
    plain_replicas(settings, current_replicas, &grouped, samples, target_milli)
}

/// The pods grouped (an error when there are none), and the samples of the ready ones.
fn prepare_samples(
    pods: &[&Pod],
    measured: &PodMetricValues,
    cpu: bool,
    now: Timestamp,
    settings: &CalculatorSettings,
) -> Result<(GroupedPods, BTreeMap<String, i64>), ReplicaCalculationError> {
    if pods.is_empty() {
        return Err(ReplicaCalculationError::NoPods);
    }
    let grouped = group_pods(pods, measured, cpu, now, settings);
    let samples = measured
        .iter()
        .filter(|(name, _)| !grouped.ignored.contains(*name) && !grouped.unready.contains(*name))
        .map(|(name, sample)| (name.clone(), sample.value_milli))
        .collect();
    Ok((grouped, samples))
}

/// `calcPlainMetricReplicas` after grouping: the replicas and the average of the samples.
fn plain_replicas(
    settings: &CalculatorSettings,
    current_replicas: i32,
    grouped: &GroupedPods,
    mut samples: BTreeMap<String, i64>,
    target_milli: i64,
) -> Result<(i32, i64), ReplicaCalculationError> {
    if samples.is_empty() {
        return Err(ReplicaCalculationError::NoReadyMetrics);
    }
    let (usage_ratio, average) = plain_ratio(&samples, target_milli);
    let rebalance_unready = !grouped.unready.is_empty() && usage_ratio > 1.0;
    if !rebalance_unready && grouped.missing.is_empty() {
        return Ok((simple_replicas(settings, current_replicas, usage_ratio, grouped.ready), average));
    }
    // On a scale-down a pod without a sample counts as using exactly the target, on a
    // scale-up as using nothing; at exactly the target it is left out.
    for name in &grouped.missing {
        if usage_ratio < 1.0 {
            samples.insert(name.clone(), target_milli);
        } else if usage_ratio > 1.0 {
            samples.insert(name.clone(), 0);
        }
    }
    if rebalance_unready {
        samples.extend(grouped.unready.iter().map(|name| (name.clone(), 0)));
    }
    let (new_ratio, _) = plain_ratio(&samples, target_milli);
    Ok((rebalanced_replicas(settings, current_replicas, usage_ratio, new_ratio, samples.len()), average))
}

/// Without missing or (on a scale-up) unready pods: `ceil(ratio × ready)` outside the
/// tolerance, else the current count.
fn simple_replicas(settings: &CalculatorSettings, current_replicas: i32, usage_ratio: f64, ready: usize) -> i32 {
    if (1.0 - usage_ratio).abs() <= settings.tolerance {
        return current_replicas;
    }
    (usage_ratio * ready as f64).ceil() as i32
}

/// After rebalancing: keep the current count if within tolerance or if the rebalanced
/// ratio or count turned the direction around.
fn rebalanced_replicas(
    settings: &CalculatorSettings,
    current_replicas: i32,
    usage_ratio: f64,
    new_ratio: f64,
    counted: usize,
) -> i32 {
    let flipped = (usage_ratio < 1.0 && new_ratio > 1.0) || (usage_ratio > 1.0 && new_ratio < 1.0);
    if (1.0 - new_ratio).abs() <= settings.tolerance || flipped {
        return current_replicas;
    }
    let new_replicas = (new_ratio * counted as f64).ceil() as i32;
    let wrong_way =
        (new_ratio < 1.0 && new_replicas > current_replicas) || (new_ratio > 1.0 && new_replicas < current_replicas);
    if wrong_way { current_replicas } else { new_replicas }
}

/// `groupPods`: ignored (deleted or failed), unready (pending, or for CPU not ready long
/// enough for a clean sample), missing (no sample) and ready.
fn group_pods(
    pods: &[&Pod],
    measured: &PodMetricValues,
    cpu: bool,
    now: Timestamp,
    settings: &CalculatorSettings,
) -> GroupedPods {
    let mut grouped =
        GroupedPods { ready: 0, unready: BTreeSet::new(), missing: BTreeSet::new(), ignored: BTreeSet::new() };
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        if pod.metadata.deletion_timestamp.is_some() || phase(pod) == "Failed" {
            grouped.ignored.insert(name);
            continue;
        }
        if phase(pod) == "Pending" {
            grouped.unready.insert(name);
            continue;
        }
        let Some(sample) = measured.get(&name) else {
            grouped.missing.insert(name);
            continue;
        };
        if cpu && cpu_unready(pod, sample, now, settings) {
            grouped.unready.insert(name);
            continue;
        }
        grouped.ready += 1;
    }
    grouped
}

fn cpu_unready(pod: &Pod, sample: &PodMetricSample, now: Timestamp, settings: &CalculatorSettings) -> bool {
    let status = pod.status.as_ref();
    let ready = status.and_then(|status| status.conditions.iter().flatten().find(|c| c.type_ == "Ready"));
    let start = status.and_then(|status| status.start_time.as_ref()).map(|time| time.0);
    let (Some(ready), Some(start)) = (ready, start) else { return true };
    let transition = ready.last_transition_time.as_ref().map_or(Timestamp::UNIX_EPOCH, |time| time.0);
    if after(start, settings.cpu_initialization_period) > now {
        ready.status == "False" || sample.timestamp < after(transition, sample.window)
    } else {
        ready.status == "False" && after(start, settings.delay_of_initial_readiness_status) > transition
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
    // Summed in i128: Go's int64 sums wrap on samples no metrics pipeline reports; these never
    // overflow, and the results are clamped to the types Kubernetes reports them in.
    let (mut usage_total, mut request_total, mut counted) = (0i128, 0i128, 0i128);
    for (name, usage) in samples {
        let Some(request) = requests.get(name) else { continue };
        usage_total += i128::from(*usage);
        request_total += i128::from(*request);
        counted += 1;
    }
    if request_total == 0 {
        return Err(ReplicaCalculationError::NoMatchingMetrics);
    }
    let utilization = clamp_i32(usage_total * 100 / request_total);
    let average = clamp_i64(usage_total / counted.max(1));
    Ok((f64::from(utilization) / f64::from(target_utilization), utilization, average))
}

/// `GetMetricUtilizationRatio`: the average sample over the target, and the average.
fn plain_ratio(samples: &BTreeMap<String, i64>, target_milli: i64) -> (f64, i64) {
    let total: i128 = samples.values().map(|value| i128::from(*value)).sum();
    let average = clamp_i64(total / samples.len().max(1) as i128);
    (average as f64 / target_milli as f64, average)
}

fn clamp_i32(value: i128) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

fn clamp_i64(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
