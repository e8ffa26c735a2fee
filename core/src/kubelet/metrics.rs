//! The kubelets' usage samples as a [`MetricsSource`] for the HPA, as metrics-server gathers
//! every node's summary: each kubelet knows only its own pods, so the answers are merged.

use crate::controllers::hpa::{MetricsSource, MetricsUnavailable, PodMetrics};
use crate::selector::LabelSelector;

use super::component::Kubelet;
use super::runtime::ContainerRuntime;

/// Every node's kubelet, read as one metrics pipeline.
#[derive(Debug)]
pub struct KubeletMetrics<'a, R: ContainerRuntime> {
    /// The kubelets.
    pub kubelets: Vec<&'a Kubelet<R>>,
}

impl<R: ContainerRuntime> MetricsSource for KubeletMetrics<'_, R> {
    fn pod_metrics(&self, namespace: &str, selector: &LabelSelector) -> Result<PodMetrics, MetricsUnavailable> {
        let mut metrics = PodMetrics::new();
        for kubelet in &self.kubelets {
            metrics.extend(kubelet.pod_metrics(namespace, selector));
        }
        Ok(metrics)
    }
}
