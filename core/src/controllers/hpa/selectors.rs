//! Which HorizontalPodAutoscalers control which pods (Kubernetes' `hpaSelectors` and
//! `hpasControllingPodsUnderSelector`): when the pods of one HPA's target are picked by another
//! HPA's target selector too, both would scale the same pods, so neither acts and each reports
//! `ScalingActive` False with reason `AmbiguousSelector`.

use std::collections::BTreeMap;

use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::core::v1::Pod;

use crate::selector::LabelSelector;

/// The selector each HPA's target last reported, by HPA key (`namespace/name`), as the
/// controller manager remembers it between syncs.
pub type AutoscalerSelectors = BTreeMap<String, LabelSelector>;

/// The selector of a target's Scale, if it has one that parses: what the shell records for the
/// HPA before its sync (`validateAndParseSelector` puts it before it checks).
pub fn scale_selector(scale: &Scale) -> Option<LabelSelector> {
    let text = scale.status.as_ref()?.selector.as_deref()?;
    if text.is_empty() {
        return None;
    }
    LabelSelector::parse(text).ok()
}

/// `hpasControllingPodsUnderSelector`: the keys of the HPAs of the pods' namespace whose
/// selector picks any of `pods`, sorted. The HPA being synced counts with `own_selector`, as
/// the recorded selector it may not have yet.
pub fn autoscalers_controlling(
    selectors: &AutoscalerSelectors,
    own_key: &str,
    own_selector: &LabelSelector,
    pods: &[&Pod],
) -> Vec<String> {
    let picks = |key: &str, selector: &LabelSelector| {
        pods.iter().any(|pod| {
            let namespace = pod.metadata.namespace.as_deref().unwrap_or("");
            key.split_once('/').is_some_and(|(hpa_namespace, _)| hpa_namespace == namespace)
                && selector.matches_optional(pod.metadata.labels.as_ref())
        })
    };
    let mut controlling: Vec<String> = selectors
        .iter()
        .filter(|(key, _)| key.as_str() != own_key)
        .filter(|(key, selector)| picks(key, selector))
        .map(|(key, _)| key.clone())
        .collect();
    if picks(own_key, own_selector) {
        controlling.push(own_key.to_string());
    }
    controlling.sort();
    controlling
}
