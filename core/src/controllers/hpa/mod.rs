//! The HorizontalPodAutoscaler controller (Kubernetes 1.32 `pkg/controller/podautoscaler`,
//! autoscaling/v2): read the target's `scale`, compute a replica count from each resource
//! metric, stabilize and rate-limit it, patch the target's `scale` subresource, and report
//! `currentReplicas`, `desiredReplicas`, `currentMetrics`, `lastScaleTime` and the conditions
//! `AbleToScale`, `ScalingActive` and `ScalingLimited`.
//!
//! The shell GETs the target's Scale and passes it in with the namespace's pods, the
//! [`MetricsSource`] the metrics are read from (resource, custom and external metrics, one
//! trait), and the selectors of the other HPAs ([`Observed`]), with the [`ScalingHistory`]
//! Kubernetes keeps in memory. Every metric source type is computed: `Resource`,
//! `ContainerResource`, `Pods`, `Object` and `External`; two HPAs whose targets pick the same
//! pods both report `AmbiguousSelector` and do not scale.
//!
//! Differences from Kubernetes: failed metrics leave no empty entry in `currentMetrics`; the
//! resources are cpu and memory; and the scale change is recorded in the history when decided,
//! before the patch is known to succeed.

mod behavior;
mod conditions;
mod metrics;
mod object_external;
mod proposals;
mod scale;
mod selectors;

use std::borrow::Borrow;
use std::time::Duration;

use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::autoscaling::v2::{
    HorizontalPodAutoscaler, HorizontalPodAutoscalerStatus, MetricSpec, MetricStatus, MetricTarget,
    ResourceMetricSource,
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
    MetricsUnavailable, PodMetricSample, PodMetricValues, PodMetrics, PodUsage, Proposal, ReplicaCalculationError,
    ResourceName, TOLERANCE, pods_metric_replicas,
};
pub use object_external::{average_value_replicas, external_usage, usage_ratio_replicas, value_replicas};
pub use scale::{SCALE_SUBRESOURCES, rescale_action, scale_subresource};
pub use selectors::{AutoscalerSelectors, autoscalers_controlling, scale_selector};

use self::proposals::{MetricContext, MetricFailure, MetricProposal};
use super::action::{Action, EventType, Reconciled, event_action, object_reference, to_object};
use super::replicaset::controller_key;
use crate::selector::LabelSelector;

/// The component name on the events the controller records.
pub const HPA_CONTROLLER_COMPONENT: &str = "horizontal-pod-autoscaler";

/// How often each HPA is reconciled (`--horizontal-pod-autoscaler-sync-period`, 15 s).
pub const SYNC_PERIOD: Duration = Duration::from_secs(15);

/// The metric an HPA without metrics scales on: 80 % CPU utilization (API defaulting).
pub const DEFAULT_CPU_UTILIZATION: i32 = 80;

/// What the shell observed for one HPA before calling the reconcile. The pods are `Pod`s or
/// anything that borrows as one (the manager passes its cached pods without copying them).
pub struct Observed<'a, P = Pod> {
    /// The target's `scale` subresource, or why it could not be read.
    pub scale: Result<&'a Scale, &'a str>,
    /// The pods of the HPA's namespace.
    pub pods: &'a [P],
    /// Where the metrics are read: metrics-server, the custom and the external metrics APIs.
    pub metrics: &'a dyn MetricsSource,
    /// The selectors of the HPAs of the cluster as last synced (this one's may be missing or
    /// stale: the reconcile uses its target's current selector).
    pub selectors: &'a AutoscalerSelectors,
}

impl<P> Clone for Observed<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for Observed<'_, P> {}

impl<P> std::fmt::Debug for Observed<'_, P> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Observed")
            .field("scale", &self.scale)
            .field("pods", &self.pods.len())
            .field("selectors", &self.selectors)
            .finish_non_exhaustive()
    }
}

/// A source that serves no metrics: every read fails with this message (a cluster without
/// metrics-server or adapters).
impl MetricsSource for MetricsUnavailable {
    fn pod_metrics(&self, _namespace: &str, _selector: &LabelSelector) -> Result<PodMetrics, MetricsUnavailable> {
        Err(self.clone())
    }

    fn container_metrics(&self, _: &str, _: &LabelSelector, _: &str) -> Result<PodMetrics, MetricsUnavailable> {
        Err(self.clone())
    }

    fn pods_metric(
        &self,
        _: &str,
        _: &str,
        _: &LabelSelector,
        _: &LabelSelector,
    ) -> Result<PodMetricValues, MetricsUnavailable> {
        Err(self.clone())
    }

    fn object_metric(
        &self,
        _: &str,
        _: &str,
        _: &k8s_openapi::api::autoscaling::v2::CrossVersionObjectReference,
        _: &LabelSelector,
    ) -> Result<i64, MetricsUnavailable> {
        Err(self.clone())
    }

    fn external_metric(&self, _: &str, _: &str, _: &LabelSelector) -> Result<Vec<i64>, MetricsUnavailable> {
        Err(self.clone())
    }
}

/// The replica count the metrics ask for, the metric that asked, and every metric's status.
type MetricsDecision = (i32, String, Vec<MetricStatus>);

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
pub fn reconcile_horizontal_pod_autoscaler<P: Borrow<Pod>>(
    hpa: &HorizontalPodAutoscaler,
    observed: Observed<'_, P>,
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

    fn reconcile<P: Borrow<Pod>>(&mut self, observed: Observed<'_, P>, history: &mut ScalingHistory) {
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
    fn compute_replicas_for_metrics<P: Borrow<Pod>>(
        &mut self,
        scale: &Scale,
        observed: Observed<'_, P>,
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
            .map(Borrow::borrow)
            .filter(|pod| pod.metadata.namespace == namespace)
            .filter(|pod| selector.matches_optional(pod.metadata.labels.as_ref()))
            .collect();
        let controlling =
            autoscalers_controlling(observed.selectors, &controller_key(&self.hpa.metadata), &selector, &pods);
        if controlling.len() > 1 {
            let message = format!(
                "pods by selector {selector_text} are controlled by multiple HPAs: [{}]",
                controlling.join(" ")
            );
            self.event(EventType::Warning, "AmbiguousSelector", &message);
            self.condition(SCALING_ACTIVE, false, "AmbiguousSelector", &message);
            return Err((Vec::new(), message));
        }
        let context = MetricContext {
            namespace: namespace.as_deref().unwrap_or(""),
            selector: &selector,
            pods: &pods,
            source: observed.metrics,
            spec_replicas: current,
            status_replicas: scale.status.as_ref().map_or(0, |status| status.replicas),
            now: self.now,
        };
        let specs = self.metric_specs();
        let (mut replicas, mut metric, mut statuses) = (0, String::new(), Vec::new());
        let mut failures = Vec::new();
        for spec in &specs {
            match self.compute_replicas_for_metric(&context, spec) {
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
                first.error
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
        context: &MetricContext<'_>,
        spec: &MetricSpec,
    ) -> Result<MetricProposal, MetricFailure> {
        let result = proposals::compute_replicas_for_metric(context, spec);
        if let Err(failure) = &result {
            self.event(EventType::Warning, failure.reason, &failure.message.clone());
        }
        result
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "metric_types_tests.rs"]
mod metric_types_tests;
