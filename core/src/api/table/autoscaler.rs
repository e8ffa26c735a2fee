//! The HorizontalPodAutoscaler row, with Kubernetes' `formatHPAMetrics` TARGETS cell
//! (`cpu: 50%/80%`, `<unknown>/500m`, `+ 1 more...`), for objects at `autoscaling/v2` or `v1`.

use jiff::Timestamp;
use k8s_openapi::api::autoscaling::{v1, v2};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde_json::json;

use crate::object::Object;

use super::{AGE, Column, NAME, Row, format, integer, text, typed};

pub(super) const COLUMNS: &[Column] = &[
    NAME,
    text("Reference", "scaleTargetRef points to the target resource to scale"),
    text("Targets", "metrics contains the specifications for which to use to calculate the desired replica count"),
    text(
        "MinPods",
        "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.",
    ),
    integer(
        "MaxPods",
        "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.",
    ),
    integer("Replicas", "currentReplicas is current number of replicas of pods managed by this autoscaler"),
    AGE,
];

/// How many metrics the TARGETS cell shows before `+ N more...`.
const METRICS_SHOWN: usize = 2;

/// A Go `*Quantity` printed with `String()`: `<nil>` when absent.
fn quantity(value: Option<&Quantity>) -> String {
    value.map(format::quantity).unwrap_or_else(|| "<nil>".to_string())
}

fn utilization(value: Option<i32>) -> Option<String> {
    value.map(|percent| format!("{percent}%"))
}

/// The `current/target` text of a resource metric (whole pod or one container).
fn resource_target(name: &str, target: &v2::MetricTarget, current: Option<&v2::MetricValueStatus>) -> String {
    if let Some(average) = &target.average_value {
        let current = current.map(|current| quantity(current.average_value.as_ref()));
        format!("{name}: {}/{}", current.unwrap_or_else(|| "<unknown>".into()), format::quantity(average))
    } else {
        let current = current.and_then(|current| utilization(current.average_utilization));
        let target = utilization(target.average_utilization).unwrap_or_else(|| "<auto>".into());
        format!("{name}: {}/{target}", current.unwrap_or_else(|| "<unknown>".into()))
    }
}

/// The `current/target` text of an object or external metric: `(avg)` for average targets.
fn value_target(target: &v2::MetricTarget, current: Option<&v2::MetricValueStatus>) -> String {
    match &target.average_value {
        Some(average) => {
            let current = current.and_then(|current| current.average_value.as_ref()).map(format::quantity);
            format!("{}/{} (avg)", current.unwrap_or_else(|| "<unknown>".into()), format::quantity(average))
        }
        None => {
            let current = current.map(|current| quantity(current.value.as_ref()));
            format!("{}/{}", current.unwrap_or_else(|| "<unknown>".into()), quantity(target.value.as_ref()))
        }
    }
}

fn metric_text(spec: &v2::MetricSpec, status: Option<&v2::MetricStatus>) -> String {
    match spec.type_.as_str() {
        "External" => match &spec.external {
            Some(external) => value_target(
                &external.target,
                status.and_then(|status| status.external.as_ref()).map(|current| &current.current),
            ),
            None => "<unknown type>".into(),
        },
        "Pods" => match &spec.pods {
            Some(pods) => {
                let current = status.and_then(|status| status.pods.as_ref());
                let current = current.map(|current| quantity(current.current.average_value.as_ref()));
                format!(
                    "{}/{}",
                    current.unwrap_or_else(|| "<unknown>".into()),
                    quantity(pods.target.average_value.as_ref())
                )
            }
            None => "<unknown type>".into(),
        },
        "Object" => match &spec.object {
            Some(object) => value_target(
                &object.target,
                status.and_then(|status| status.object.as_ref()).map(|current| &current.current),
            ),
            None => "<unknown type>".into(),
        },
        "Resource" => match &spec.resource {
            Some(resource) => resource_target(
                &resource.name,
                &resource.target,
                status.and_then(|status| status.resource.as_ref()).map(|current| &current.current),
            ),
            None => "<unknown type>".into(),
        },
        "ContainerResource" => match &spec.container_resource {
            Some(resource) => resource_target(
                &resource.name,
                &resource.target,
                status.and_then(|status| status.container_resource.as_ref()).map(|current| &current.current),
            ),
            None => "<unknown type>".into(),
        },
        _ => "<unknown type>".into(),
    }
}

/// `formatHPAMetrics`: each metric as `current/target`, the first two shown.
fn targets(specs: &[v2::MetricSpec], statuses: &[v2::MetricStatus]) -> String {
    if specs.is_empty() {
        return "<none>".into();
    }
    let texts: Vec<String> =
        specs.iter().enumerate().map(|(index, spec)| metric_text(spec, statuses.get(index))).collect();
    let shown = texts.iter().take(METRICS_SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if texts.len() > METRICS_SHOWN { format!("{shown} + {} more...", texts.len() - METRICS_SHOWN) } else { shown }
}

/// An `autoscaling/v1` object in `v2` terms: its CPU utilization target as one Resource metric,
/// 80 % when unset, as the Kubernetes conversion and defaulting make it.
fn from_v1(autoscaler: v1::HorizontalPodAutoscaler) -> v2::HorizontalPodAutoscaler {
    let spec = autoscaler.spec.unwrap_or_default();
    let status = autoscaler.status.unwrap_or_default();
    let target = v2::MetricTarget {
        type_: "Utilization".into(),
        average_utilization: Some(spec.target_cpu_utilization_percentage.unwrap_or(80)),
        ..Default::default()
    };
    let metric = v2::MetricSpec {
        type_: "Resource".into(),
        resource: Some(v2::ResourceMetricSource { name: "cpu".into(), target }),
        ..Default::default()
    };
    let current = status.current_cpu_utilization_percentage.map(|percent| v2::MetricStatus {
        type_: "Resource".into(),
        resource: Some(v2::ResourceMetricStatus {
            name: "cpu".into(),
            current: v2::MetricValueStatus { average_utilization: Some(percent), ..Default::default() },
        }),
        ..Default::default()
    });
    v2::HorizontalPodAutoscaler {
        metadata: autoscaler.metadata,
        spec: Some(v2::HorizontalPodAutoscalerSpec {
            max_replicas: spec.max_replicas,
            min_replicas: spec.min_replicas,
            metrics: Some(vec![metric]),
            scale_target_ref: v2::CrossVersionObjectReference {
                api_version: spec.scale_target_ref.api_version,
                kind: spec.scale_target_ref.kind,
                name: spec.scale_target_ref.name,
            },
            ..Default::default()
        }),
        status: Some(v2::HorizontalPodAutoscalerStatus {
            current_replicas: Some(status.current_replicas),
            current_metrics: current.map(|current| vec![current]),
            ..Default::default()
        }),
    }
}

pub(super) fn row(object: &Object, now: Timestamp) -> Row {
    let autoscaler: v2::HorizontalPodAutoscaler =
        if object.api_version == "autoscaling/v1" { from_v1(typed(object)) } else { typed(object) };
    let spec = autoscaler.spec.unwrap_or_default();
    let status = autoscaler.status.unwrap_or_default();
    let reference = format!("{}/{}", spec.scale_target_ref.kind, spec.scale_target_ref.name);
    let metrics =
        targets(spec.metrics.as_deref().unwrap_or_default(), status.current_metrics.as_deref().unwrap_or_default());
    let min_pods = spec.min_replicas.map(|min| min.to_string()).unwrap_or_else(|| "<unset>".into());
    Row::new(vec![
        json!(object.name()),
        json!(reference),
        json!(metrics),
        json!(min_pods),
        json!(spec.max_replicas),
        json!(status.current_replicas.unwrap_or(0)),
        json!(super::age(object, now)),
    ])
}
