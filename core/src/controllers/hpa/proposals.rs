//! One metric's replica proposal and `currentMetrics` entry (`computeReplicasForMetric` and the
//! `computeStatusFor*Metric` functions of `horizontal.go`) for each metric source type:
//! Resource, ContainerResource, Pods, Object and External. Names, reasons and error messages
//! are Kubernetes'.

use k8s_openapi::api::autoscaling::v2::{
    ContainerResourceMetricSource, ContainerResourceMetricStatus, ExternalMetricSource, ExternalMetricStatus,
    MetricSpec, MetricStatus, MetricTarget, MetricValueStatus, ObjectMetricSource, ObjectMetricStatus,
    PodsMetricSource, PodsMetricStatus, ResourceMetricSource, ResourceMetricStatus,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as MetaLabelSelector;
use k8s_openapi::jiff::Timestamp;

use super::metrics::{Calculation, CalculatorSettings, MetricsSource, ResourceName, pods_metric_replicas};
use super::object_external::{average_value_replicas, external_usage, value_replicas};
use crate::object::quantity::Quantity;
use crate::selector::LabelSelector;

/// What every metric of one sync is computed against.
pub(super) struct MetricContext<'a> {
    /// The HPA's namespace.
    pub namespace: &'a str,
    /// The target's selector (`scale.status.selector`).
    pub selector: &'a LabelSelector,
    /// The pods it matches.
    pub pods: &'a [&'a Pod],
    /// Where the metrics are read.
    pub source: &'a dyn MetricsSource,
    /// `scale.spec.replicas`.
    pub spec_replicas: i32,
    /// `scale.status.replicas`.
    pub status_replicas: i32,
    /// The reconcile's `now`.
    pub now: Timestamp,
}

/// One metric's answer: a replica count, its name for messages, and its status.
pub(super) struct MetricProposal {
    pub replicas: i32,
    pub name: String,
    pub status: MetricStatus,
}

/// One metric's failure: the `ScalingActive` reason, the error the event and condition carry,
/// and the error as `computeReplicasForMetric` wraps it for `FailedComputeMetricsReplicas`.
pub(super) struct MetricFailure {
    pub reason: &'static str,
    pub message: String,
    pub error: String,
}

impl MetricFailure {
    fn new(reason: &'static str, failure: Failure, wrap: impl FnOnce(&str) -> String) -> MetricFailure {
        let error = wrap(&failure.wrapped);
        MetricFailure { reason, message: failure.message, error }
    }
}

/// A metric source's failure before its type's wrapping: the error for the event and condition,
/// and the same error as the `computeStatusFor*Metric` function returns it (some wrap it).
struct Failure {
    message: String,
    wrapped: String,
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure { wrapped: message.clone(), message }
    }
}

impl Failure {
    fn wrapped(message: String, wrap: impl FnOnce(&str) -> String) -> Failure {
        Failure { wrapped: wrap(&message), message }
    }
}

/// `computeReplicasForMetric`: the proposal of one metric, by its source type.
pub(super) fn compute_replicas_for_metric(
    context: &MetricContext<'_>,
    spec: &MetricSpec,
) -> Result<MetricProposal, MetricFailure> {
    let missing = |reason: &'static str, field: &str| {
        let message = format!("invalid metric source: type {:?} without {field}", spec.type_);
        MetricFailure { reason, message: message.clone(), error: message }
    };
    match spec.type_.as_str() {
        "Resource" => {
            let source = spec.resource.as_ref().ok_or_else(|| missing("FailedGetResourceMetric", "resource"))?;
            resource_proposal(context, source).map_err(|failure| {
                let name = source.name.clone();
                MetricFailure::new("FailedGetResourceMetric", failure, |error| {
                    format!("failed to get {name} resource metric value: {error}")
                })
            })
        }
        "ContainerResource" => {
            let source = spec
                .container_resource
                .as_ref()
                .ok_or_else(|| missing("FailedGetContainerResourceMetric", "containerResource"))?;
            container_resource_proposal(context, source).map_err(|failure| {
                let container = source.container.clone();
                MetricFailure::new("FailedGetContainerResourceMetric", failure, |error| {
                    format!("failed to get {container} container metric value: {error}")
                })
            })
        }
        "Pods" => {
            let source = spec.pods.as_ref().ok_or_else(|| missing("FailedGetPodsMetric", "pods"))?;
            pods_proposal(context, source).map_err(|failure| {
                MetricFailure::new("FailedGetPodsMetric", failure, |error| {
                    format!("failed to get pods metric value: {error}")
                })
            })
        }
        "Object" => {
            let source = spec.object.as_ref().ok_or_else(|| missing("FailedGetObjectMetric", "object"))?;
            object_proposal(context, source).map_err(|failure| {
                MetricFailure::new("FailedGetObjectMetric", failure, |error| {
                    format!("failed to get object metric value: {error}")
                })
            })
        }
        "External" => {
            let source = spec.external.as_ref().ok_or_else(|| missing("FailedGetExternalMetric", "external"))?;
            external_proposal(context, source).map_err(|failure| {
                let name = source.metric.name.clone();
                MetricFailure::new("FailedGetExternalMetric", failure, |error| {
                    format!("failed to get {name} external metric value: {error}")
                })
            })
        }
        type_ => {
            let message = format!("unknown metric source type {type_:?}");
            Err(MetricFailure { reason: "InvalidMetricSourceType", message: message.clone(), error: message })
        }
    }
}

/// A quantity in milli-units; an unparsable one (which validation refuses) counts as zero.
fn milli(quantity: &WireQuantity) -> i64 {
    Quantity::try_from(quantity).map(|quantity| quantity.milli_value()).unwrap_or(0)
}

fn milli_quantity(value: i64) -> Option<WireQuantity> {
    Some(Quantity::from_milli(value).into())
}

/// A metric selector as the metrics APIs read it: a missing one picks every series (the REST
/// client sends an empty `metricSelector`).
fn metric_selector(selector: Option<&MetaLabelSelector>) -> Result<LabelSelector, String> {
    match selector {
        None => Ok(LabelSelector::everything()),
        Some(selector) => LabelSelector::from_label_selector(Some(selector)).map_err(|error| error.to_string()),
    }
}

/// Go's `%+v` of a `*metav1.LabelSelector` (its generated `String()`), which Kubernetes puts in
/// the names of External and per-pod Object metrics.
pub(super) fn go_label_selector(selector: Option<&MetaLabelSelector>) -> String {
    let Some(selector) = selector else { return "nil".to_string() };
    let labels: String =
        selector.match_labels.iter().flatten().map(|(key, value)| format!("{key}: {value},")).collect();
    let expressions: String = selector
        .match_expressions
        .iter()
        .flatten()
        .map(|requirement| {
            let values = requirement.values.clone().unwrap_or_default().join(" ");
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{values}],}},",
                requirement.key, requirement.operator
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}"
    )
}

/// The `Resource` metric (`computeStatusForResourceMetric`).
fn resource_proposal(context: &MetricContext<'_>, source: &ResourceMetricSource) -> Result<MetricProposal, Failure> {
    let name = source.name.as_str();
    let (replicas, current, metric_name) = resource_generic(context, name, None, &source.target)?;
    let status = MetricStatus {
        type_: "Resource".to_string(),
        resource: Some(ResourceMetricStatus { name: name.to_string(), current }),
        ..MetricStatus::default()
    };
    Ok(MetricProposal { replicas, name: metric_name, status })
}

/// The `ContainerResource` metric (`computeStatusForContainerResourceMetric`).
fn container_resource_proposal(
    context: &MetricContext<'_>,
    source: &ContainerResourceMetricSource,
) -> Result<MetricProposal, Failure> {
    let name = source.name.as_str();
    let (replicas, current, metric_name) = resource_generic(context, name, Some(&source.container), &source.target)?;
    let status = MetricStatus {
        type_: "ContainerResource".to_string(),
        container_resource: Some(ContainerResourceMetricStatus {
            name: name.to_string(),
            container: source.container.clone(),
            current,
        }),
        ..MetricStatus::default()
    };
    Ok(MetricProposal { replicas, name: metric_name, status })
}

/// `computeStatusForResourceMetricGeneric`: a resource of whole pods or of one container.
fn resource_generic(
    context: &MetricContext<'_>,
    name: &str,
    container: Option<&str>,
    target: &MetricTarget,
) -> Result<(i32, MetricValueStatus, String), String> {
    let what = if target.average_value.is_some() { "usage" } else { "utilization" };
    let fail = |error: String| format!("failed to get {name} {what}: {error}");
    let resource = ResourceName::parse(name).ok_or_else(|| {
        fail(format!("unable to get metrics for resource {name}: no metrics returned from resource metrics API"))
    })?;
    let metrics = match container {
        None => context.source.pod_metrics(context.namespace, context.selector),
        Some(container) => context.source.container_metrics(context.namespace, context.selector, container),
    };
    let metrics = metrics.map_err(|error| fail(format!("unable to get metrics for resource {name}: {error}")))?;
    let calculation = Calculation {
        current_replicas: context.spec_replicas,
        pods: context.pods,
        metrics: &metrics,
        resource,
        container,
        now: context.now,
        settings: CalculatorSettings::default(),
    };
    if let Some(average) = &target.average_value {
        let proposal = calculation.average_value_replicas(milli(average)).map_err(|error| fail(error.to_string()))?;
        let current = MetricValueStatus { average_value: milli_quantity(proposal.raw_average), ..Default::default() };
        return Ok((proposal.replicas, current, format!("{name} resource")));
    }
    let Some(utilization) = target.average_utilization else {
        return Err("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set".to_string());
    };
    let proposal = calculation.utilization_replicas(utilization).map_err(|error| fail(error.to_string()))?;
    let current = MetricValueStatus {
        average_utilization: proposal.utilization,
        average_value: milli_quantity(proposal.raw_average),
        ..MetricValueStatus::default()
    };
    let kind = if container.is_some() { "container resource" } else { "resource" };
    Ok((proposal.replicas, current, format!("{name} {kind} utilization (percentage of request)")))
}

/// The `Pods` metric (`computeStatusForPodsMetric`, `GetMetricReplicas`).
fn pods_proposal(context: &MetricContext<'_>, source: &PodsMetricSource) -> Result<MetricProposal, Failure> {
    let name = source.metric.name.as_str();
    let selector = metric_selector(source.metric.selector.as_ref())?;
    let target = source
        .target
        .average_value
        .as_ref()
        .map(milli)
        .ok_or_else(|| "invalid pods metric source: an average value target was not set".to_string())?;
    let samples = context
        .source
        .pods_metric(name, context.namespace, context.selector, &selector)
        .map_err(|error| format!("unable to get metric {name}: {error}"))?;
    let settings = CalculatorSettings::default();
    let (replicas, average) =
        pods_metric_replicas(context.spec_replicas, context.pods, &samples, target, context.now, &settings).map_err(
            |error| match error {
                super::metrics::ReplicaCalculationError::NoCustomMetricsReturned => {
                    format!("unable to get metric {name}: {error}")
                }
                error => error.to_string(),
            },
        )?;
    let status = MetricStatus {
        type_: "Pods".to_string(),
        pods: Some(PodsMetricStatus {
            metric: source.metric.clone(),
            current: MetricValueStatus { average_value: milli_quantity(average), ..MetricValueStatus::default() },
        }),
        ..MetricStatus::default()
    };
    Ok(MetricProposal { replicas, name: format!("pods metric {name}"), status })
}

/// The `Object` metric (`computeStatusForObjectMetric`): a `Value` target against the ready
/// pods, an `AverageValue` target per replica of the scale's status.
fn object_proposal(context: &MetricContext<'_>, source: &ObjectMetricSource) -> Result<MetricProposal, Failure> {
    let name = source.metric.name.as_str();
    let object = &source.described_object;
    let selector = metric_selector(source.metric.selector.as_ref())?;
    let read = || {
        context.source.object_metric(name, context.namespace, object, &selector).map_err(|error| {
            format!("unable to get metric {name}: {} on {} {}/{error}", object.kind, context.namespace, object.name)
        })
    };
    let status = |current: MetricValueStatus| MetricStatus {
        type_: "Object".to_string(),
        object: Some(ObjectMetricStatus { described_object: object.clone(), metric: source.metric.clone(), current }),
        ..MetricStatus::default()
    };
    let target = &source.target;
    match (target.type_.as_str(), &target.value, &target.average_value) {
        ("Value", Some(value), _) => {
            let usage = read()?;
            let replicas =
                value_replicas(context.spec_replicas, usage, milli(value), context.pods, settings_tolerance())
                    .map_err(|error| error.to_string())?;
            let current = MetricValueStatus { value: milli_quantity(usage), ..MetricValueStatus::default() };
            Ok(MetricProposal { replicas, name: format!("{} metric {name}", object.kind), status: status(current) })
        }
        ("AverageValue", _, Some(average)) => {
            let usage = read().map_err(|error| {
                Failure::wrapped(error, |error| format!("failed to get {name} object metric: {error}"))
            })?;
            let (replicas, per_pod) =
                average_value_replicas(context.status_replicas, usage, milli(average), settings_tolerance());
            let current = MetricValueStatus { average_value: milli_quantity(per_pod), ..MetricValueStatus::default() };
            let selector = go_label_selector(source.metric.selector.as_ref());
            Ok(MetricProposal {
                replicas,
                name: format!("external metric {name}({selector})"),
                status: status(current),
            })
        }
        _ => Err("invalid object metric source: neither a value target nor an average value target was set"
            .to_string()
            .into()),
    }
}

/// The `External` metric (`computeStatusForExternalMetric`): an `AverageValue` target per
/// replica of the scale's status, else a `Value` target against the ready pods.
fn external_proposal(context: &MetricContext<'_>, source: &ExternalMetricSource) -> Result<MetricProposal, Failure> {
    let name = source.metric.name.as_str();
    let metric = &source.metric;
    let described = go_label_selector(metric.selector.as_ref());
    let selector = metric_selector(metric.selector.as_ref())?;
    let read = || {
        let values = context.source.external_metric(name, context.namespace, &selector).map_err(|error| {
            format!("unable to get external metric {}/{name}/{described}: {error}", context.namespace)
        })?;
        Ok::<i64, String>(external_usage(&values))
    };
    let status = |current: MetricValueStatus| MetricStatus {
        type_: "External".to_string(),
        external: Some(ExternalMetricStatus { metric: metric.clone(), current }),
        ..MetricStatus::default()
    };
    let proposal_name = format!("external metric {name}({described})");
    if let Some(average) = &source.target.average_value {
        let usage = read().map_err(|error| {
            Failure::wrapped(error, |error| format!("failed to get {name} external metric: {error}"))
        })?;
        let (replicas, per_pod) =
            average_value_replicas(context.status_replicas, usage, milli(average), settings_tolerance());
        let current = MetricValueStatus { average_value: milli_quantity(per_pod), ..MetricValueStatus::default() };
        return Ok(MetricProposal { replicas, name: proposal_name, status: status(current) });
    }
    if let Some(value) = &source.target.value {
        let wrap = |error: &str| format!("failed to get external metric {name}: {error}");
        let usage = read().map_err(|error| Failure::wrapped(error, wrap))?;
        let replicas = value_replicas(context.spec_replicas, usage, milli(value), context.pods, settings_tolerance())
            .map_err(|error| Failure::wrapped(error.to_string(), wrap))?;
        let current = MetricValueStatus { value: milli_quantity(usage), ..MetricValueStatus::default() };
        return Ok(MetricProposal { replicas, name: proposal_name, status: status(current) });
    }
    Err("invalid external metric source: neither a value target nor an average value target was set".to_string().into())
}

fn settings_tolerance() -> f64 {
    CalculatorSettings::default().tolerance
}
