//! The HorizontalPodAutoscaler controller (Kubernetes 1.32 `pkg/controller/podautoscaler`,
//! autoscaling/v2): read the target's `scale`, compute a replica count from each resource
//! metric, stabilize and rate-limit it, patch the target's `scale` subresource, and report
//! `currentReplicas`, `desiredReplicas`, `currentMetrics`, `lastScaleTime` and the conditions
//! `AbleToScale`, `ScalingActive` and `ScalingLimited`.
//!
//! The shell GETs the target's Scale and asks a [`MetricsSource`] before each reconcile and
//! passes both in ([`Observed`]), with the [`ScalingHistory`] Kubernetes keeps in memory.
//! Differences from Kubernetes: only `Resource` metrics (cpu, memory) are computed, other metric
//! types report `ScalingActive` False; failed metrics leave no empty entry in `currentMetrics`;
//! overlapping selectors between HPAs (`AmbiguousSelector`) are not detected; and the scale
//! change is recorded in the history when decided, before the patch is known to succeed.

mod behavior;
mod conditions;
mod metrics;
mod scale;

use std::time::Duration;

use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::autoscaling::v2::{
    HorizontalPodAutoscaler, HorizontalPodAutoscalerStatus, MetricSpec, MetricStatus, MetricTarget, MetricValueStatus,
    ResourceMetricSource, ResourceMetricStatus,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

pub use behavior::{
    Behavior, DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS, Normalization, Normalized, ScaleEvent, ScalingHistory,
    TimestampedRecommendation, convert_with_rules, normalize_with_behavior, normalize_without_behavior,
    record_initial_recommendation, scale_down_limit, scale_up_limit, store_scale_event,
};
pub use conditions::{ABLE_TO_SCALE, SCALING_ACTIVE, SCALING_LIMITED, set_condition};
pub use metrics::{
    CPU_INITIALIZATION_PERIOD, Calculation, CalculatorSettings, DELAY_OF_INITIAL_READINESS_STATUS, MetricsSource,
    MetricsUnavailable, PodMetrics, PodUsage, Proposal, ReplicaCalculationError, ResourceName, TOLERANCE,
};
pub use scale::{SCALE_SUBRESOURCES, rescale_action, scale_subresource};

use super::action::{Action, EventType, Reconciled, event_action, object_reference, to_object};
use crate::object::quantity::Quantity;
use crate::selector::LabelSelector;

/// The component name on the events the controller records.
pub const HPA_CONTROLLER_COMPONENT: &str = "horizontal-pod-autoscaler";

/// How often each HPA is reconciled (`--horizontal-pod-autoscaler-sync-period`, 15 s).
pub const SYNC_PERIOD: Duration = Duration::from_secs(15);

/// The metric an HPA without metrics scales on: 80 % CPU utilization (API defaulting).
pub const DEFAULT_CPU_UTILIZATION: i32 = 80;

/// What the shell observed for one HPA before calling the reconcile.
#[derive(Clone, Copy, Debug)]
pub struct Observed<'a> {
    /// The target's `scale` subresource, or why it could not be read.
    pub scale: Result<&'a Scale, &'a str>,
    /// The pods of the HPA's namespace.
    pub pods: &'a [Pod],
    /// Their usage, from a [`MetricsSource`].
    pub metrics: Result<&'a PodMetrics, &'a MetricsUnavailable>,
}

/// One metric's answer: a replica count, its name for messages, and its status.
struct MetricProposal {
    replicas: i32,
    name: String,
    status: MetricStatus,
}

/// The replica count the metrics ask for, the metric that asked, and every metric's status.
type MetricsDecision = (i32, String, Vec<MetricStatus>);

/// One metric's failure: the `ScalingActive` reason and the error.
struct MetricFailure {
    reason: &'static str,
    message: String,
}

/// What one sync works with (`reconcileAutoscaler`).
struct SyncHpa<'a> {
    hpa: &'a HorizontalPodAutoscaler,
    status: HorizontalPodAutoscalerStatus,
    now: Timestamp,
    reconciled: Reconciled,
}

/// Reconciles one HorizontalPodAutoscaler (`reconcileAutoscaler`): decides the target's replica
/// count from `observed`, patches its scale if it changes, records the decision in `history`,
/// and writes the status if it changed. Requeues after [`SYNC_PERIOD`].
pub fn reconcile_horizontal_pod_autoscaler(
    hpa: &HorizontalPodAutoscaler,
    observed: Observed<'_>,
    history: &mut ScalingHistory,
    now: Timestamp,
) -> Reconciled {
    let old_status = hpa.status.clone().unwrap_or_default();
    let mut sync = SyncHpa { hpa, status: old_status.clone(), now, reconciled: Reconciled::default() };
    sync.reconcile(observed, history);
    if sync.status != old_status {
        let mut updated = hpa.clone();
        updated.status = Some(sync.status.clone());
        sync.reconciled.push_alone(Action::UpdateStatus { object: to_object(&updated) });
    }
    sync.reconciled.requeue_after = Some(SYNC_PERIOD);
    sync.reconciled
}

impl SyncHpa<'_> {
    fn event(&mut self, event_type: EventType, reason: &str, message: &str) {
        let involved = object_reference("autoscaling/v2", "HorizontalPodAutoscaler", &self.hpa.metadata);
        let action = event_action(&involved, HPA_CONTROLLER_COMPONENT, event_type, reason, message, self.now);
        self.reconciled.push_alone(action);
    }

    fn condition(&mut self, type_: &str, status: bool, reason: &str, message: &str) {
        set_condition(&mut self.status, type_, status, reason, message, self.now);
    }

    fn fail_get_scale(&mut self, error: &str) {
        self.event(EventType::Warning, "FailedGetScale", error);
        let message = format!("the HPA controller was unable to get the target's current scale: {error}");
        self.condition(ABLE_TO_SCALE, false, "FailedGetScale", &message);
    }

    fn reconcile(&mut self, observed: Observed<'_>, history: &mut ScalingHistory) {
        let spec = self.hpa.spec.clone().unwrap_or_default();
        let target = &spec.scale_target_ref;
        let subresource = match scale_subresource(target.api_version.as_deref().unwrap_or(""), &target.kind) {
            Ok(subresource) => subresource,
            Err(error) => return self.fail_get_scale(&error),
        };
        let scale = match observed.scale {
            Ok(scale) => scale,
            Err(error) => return self.fail_get_scale(error),
        };
        let message = "the HPA controller was able to get the target's current scale";
        self.condition(ABLE_TO_SCALE, true, "SucceededGetScale", message);
        let current = scale.spec.as_ref().and_then(|spec| spec.replicas).unwrap_or(0);
        record_initial_recommendation(history, current, self.now);
        let min_replicas = spec.min_replicas.unwrap_or(1);
        let mut statuses = Vec::new();
        let (desired, reason) = if current == 0 && min_replicas != 0 {
            let message = "scaling is disabled since the replica count of the target is zero";
            self.condition(SCALING_ACTIVE, false, "ScalingDisabled", message);
            (current, String::new())
        } else if current > spec.max_replicas {
            (spec.max_replicas, "Current number of replicas above Spec.MaxReplicas".to_string())
        } else if current < min_replicas {
            (min_replicas, "Current number of replicas below Spec.MinReplicas".to_string())
        } else {
            let (proposed, metric, computed) = match self.compute_replicas_for_metrics(scale, observed, current) {
                Ok(computed) => computed,
                Err((statuses, error)) => {
                    self.status.current_replicas = Some(current);
                    self.status.current_metrics = (!statuses.is_empty()).then_some(statuses);
                    return self.event(EventType::Warning, "FailedComputeMetricsReplicas", &error);
                }
            };
            statuses = computed;
            let reason = match proposed.cmp(&current) {
                std::cmp::Ordering::Greater => format!("{metric} above target"),
                std::cmp::Ordering::Less => "All metrics below target".to_string(),
                std::cmp::Ordering::Equal => String::new(),
            };
            let args = Normalization {
                min_replicas,
                max_replicas: spec.max_replicas,
                current_replicas: current,
                desired_replicas: proposed,
            };
            let normalized = match &spec.behavior {
                None => normalize_without_behavior(args, history, self.now),
                Some(behavior) => normalize_with_behavior(args, &Behavior::with_defaults(behavior), history, self.now),
            };
            self.condition(ABLE_TO_SCALE, true, normalized.able_to_scale.0, normalized.able_to_scale.1);
            let (limited, limited_reason, limited_message) = normalized.scaling_limited;
            self.condition(SCALING_LIMITED, limited, limited_reason, limited_message);
            (normalized.replicas, reason)
        };
        let rescale = desired != current;
        if rescale {
            self.reconciled.push_alone(rescale_action(subresource, scale, desired));
            let message = format!("the HPA controller was able to update the target scale to {desired}");
            self.condition(ABLE_TO_SCALE, true, "SucceededRescale", &message);
            self.event(EventType::Normal, "SuccessfulRescale", &format!("New size: {desired}; reason: {reason}"));
            if let Some(behavior) = &spec.behavior {
                store_scale_event(&Behavior::with_defaults(behavior), history, current, desired, self.now);
            }
            self.status.last_scale_time = Some(Time(self.now));
        }
        self.status.current_replicas = Some(current);
        self.status.desired_replicas = desired;
        self.status.current_metrics = (!statuses.is_empty()).then_some(statuses);
    }

    /// `computeReplicasForMetrics`: the largest proposal of the valid metrics, or the statuses
    /// computed and the error when none can be trusted (a missing or bad selector, every metric
    /// failing, or some failing while the others would scale down).
    fn compute_replicas_for_metrics(
        &mut self,
        scale: &Scale,
        observed: Observed<'_>,
        current: i32,
    ) -> Result<MetricsDecision, (Vec<MetricStatus>, String)> {
        let selector_text = scale.status.as_ref().and_then(|status| status.selector.clone()).unwrap_or_default();
        if selector_text.is_empty() {
            self.event(EventType::Warning, "SelectorRequired", "selector is required");
            self.condition(SCALING_ACTIVE, false, "InvalidSelector", "the HPA target's scale is missing a selector");
            return Err((Vec::new(), "selector is required".to_string()));
        }
        let selector = match LabelSelector::parse(&selector_text) {
            Ok(selector) => selector,
            Err(error) => {
                let message =
                    format!("couldn't convert selector into a corresponding internal selector object: {error}");
                self.event(EventType::Warning, "InvalidSelector", &message);
                self.condition(SCALING_ACTIVE, false, "InvalidSelector", &message);
                return Err((Vec::new(), message));
            }
        };
        let namespace = self.hpa.metadata.namespace.clone();
        let pods: Vec<&Pod> = observed
            .pods
            .iter()
            .filter(|pod| pod.metadata.namespace == namespace)
            .filter(|pod| selector.matches_optional(pod.metadata.labels.as_ref()))
            .collect();
        let specs = self.metric_specs();
        let (mut replicas, mut metric, mut statuses) = (0, String::new(), Vec::new());
        let mut failures = Vec::new();
        for spec in &specs {
            match self.compute_replicas_for_metric(spec, &pods, observed.metrics, current) {
                Ok(proposal) => {
                    if replicas == 0 || proposal.replicas > replicas {
                        (replicas, metric) = (proposal.replicas, proposal.name);
                    }
                    statuses.push(proposal.status);
                }
                Err(failure) => failures.push(failure),
            }
        }
        if let Some(first) = failures.first()
            && (failures.len() >= specs.len() || replicas < current)
        {
            let message = format!("the HPA was unable to compute the replica count: {}", first.message);
            self.condition(SCALING_ACTIVE, false, first.reason, &message);
            let error = format!(
                "invalid metrics ({} invalid out of {}), first error is: {}",
                failures.len(),
                specs.len(),
                first.message
            );
            return Err((statuses, error));
        }
        let message = format!("the HPA was able to successfully calculate a replica count from {metric}");
        self.condition(SCALING_ACTIVE, true, "ValidMetricFound", &message);
        Ok((replicas, metric, statuses))
    }

    /// `spec.metrics`, or 80 % CPU utilization when empty.
    fn metric_specs(&self) -> Vec<MetricSpec> {
        let specs = self.hpa.spec.as_ref().and_then(|spec| spec.metrics.clone()).unwrap_or_default();
        if !specs.is_empty() {
            return specs;
        }
        vec![MetricSpec {
            type_: "Resource".to_string(),
            resource: Some(ResourceMetricSource {
                name: "cpu".to_string(),
                target: MetricTarget {
                    type_: "Utilization".to_string(),
                    average_utilization: Some(DEFAULT_CPU_UTILIZATION),
                    ..MetricTarget::default()
                },
            }),
            ..MetricSpec::default()
        }]
    }

    /// `computeReplicasForMetric` for one metric, recording its failure event.
    fn compute_replicas_for_metric(
        &mut self,
        spec: &MetricSpec,
        pods: &[&Pod],
        metrics: Result<&PodMetrics, &MetricsUnavailable>,
        current: i32,
    ) -> Result<MetricProposal, MetricFailure> {
        let result = match (spec.type_.as_str(), spec.resource.as_ref()) {
            ("Resource", Some(source)) => resource_proposal(source, pods, metrics, current, self.now)
                .map_err(|message| MetricFailure { reason: "FailedGetResourceMetric", message }),
            (type_ @ ("Pods" | "Object" | "External" | "ContainerResource"), _) => Err(MetricFailure {
                reason: match type_ {
                    "Pods" => "FailedGetPodsMetric",
                    "Object" => "FailedGetObjectMetric",
                    "External" => "FailedGetExternalMetric",
                    _ => "FailedGetContainerResourceMetric",
                },
                message: format!("metric source type {type_:?} is not supported"),
            }),
            (type_, _) => Err(MetricFailure {
                reason: "InvalidMetricSourceType",
                message: format!("unknown metric source type {type_:?}"),
            }),
        };
        if let Err(failure) = &result {
            self.event(EventType::Warning, failure.reason, &failure.message.clone());
        }
        result
    }
}

/// `computeStatusForResourceMetricGeneric`: the proposal and status of one resource metric.
fn resource_proposal(
    source: &ResourceMetricSource,
    pods: &[&Pod],
    metrics: Result<&PodMetrics, &MetricsUnavailable>,
    current: i32,
    now: Timestamp,
) -> Result<MetricProposal, String> {
    let name = source.name.as_str();
    let target = &source.target;
    let what = if target.average_value.is_some() { "usage" } else { "utilization" };
    let fail = |error: String| format!("failed to get {name} {what}: {error}");
    let resource = ResourceName::parse(name).ok_or_else(|| {
        fail(format!("unable to get metrics for resource {name}: no metrics returned from resource metrics API"))
    })?;
    let metrics = metrics.map_err(|error| fail(format!("unable to get metrics for resource {name}: {error}")))?;
    let settings = CalculatorSettings::default();
    let calculation = Calculation { current_replicas: current, pods, metrics, resource, now, settings };
    let status = |current: MetricValueStatus| MetricStatus {
        type_: "Resource".to_string(),
        resource: Some(ResourceMetricStatus { name: name.to_string(), current }),
        ..MetricStatus::default()
    };
    if let Some(average) = &target.average_value {
        let target_milli = Quantity::try_from(average).map(|quantity| quantity.milli_value()).unwrap_or(0);
        let proposal = calculation.average_value_replicas(target_milli).map_err(|error| fail(error.to_string()))?;
        let current = MetricValueStatus {
            average_value: Some(Quantity::from_milli(proposal.raw_average).into()),
            ..MetricValueStatus::default()
        };
        return Ok(MetricProposal {
            replicas: proposal.replicas,
            name: format!("{name} resource"),
            status: status(current),
        });
    }
    let Some(utilization) = target.average_utilization else {
        return Err("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set".to_string());
    };
    let proposal = calculation.utilization_replicas(utilization).map_err(|error| fail(error.to_string()))?;
    let current = MetricValueStatus {
        average_utilization: proposal.utilization,
        average_value: Some(Quantity::from_milli(proposal.raw_average).into()),
        ..MetricValueStatus::default()
    };
    let name = format!("{name} resource utilization (percentage of request)");
    Ok(MetricProposal { replicas: proposal.replicas, name, status: status(current) })
}

#[cfg(test)]
mod tests;
