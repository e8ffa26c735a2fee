//! The controller benchmarks' workloads (`benches/controllers.rs`): a cluster of many nodes
//! running Deployments, with the controller manager, the scheduler and the instant kubelets
//! over the zero-latency [`Loopback`](crate::client::loopback::Loopback). Two things are
//! measured: one rollout of every Deployment to all-Ready, and simulated minutes of a steady
//! cluster (Lease renewals, node status reports and the controllers' periodic passes). What
//! each costs per event must not grow with the cluster (DESIGN.md principle 10).

use std::time::Duration;

use serde_json::{Value, json};

use super::{InstantKubelet, TestCluster, default_scheduler};
use crate::api::Method;
use crate::client::Component;
use crate::controllers::manager::{ControllerManager, ControllerManagerConfig};
use crate::scheduler::component::SchedulerComponent;

/// The namespace every workload of the benchmarks lives in (all Deployments in one namespace,
/// the worst case for namespace-wide scans).
pub const NAMESPACE: &str = "default";

/// The shape of a benchmark cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleConfig {
    /// Nodes `node-0…` of 4 CPUs and 8 GiB.
    pub nodes: usize,
    /// Deployments `web-0…`, each selecting its own `app` label.
    pub deployments: usize,
    /// Replicas of each Deployment (pods request 100m CPU and 64 MiB).
    pub replicas: usize,
}

impl ScaleConfig {
    /// 1,000 nodes and 3,000 pods (10 Deployments of 300).
    pub const ROLLOUT_3000_PODS: ScaleConfig = ScaleConfig { nodes: 1_000, deployments: 10, replicas: 300 };
    /// 1,000 nodes and 30,000 pods (100 Deployments of 300).
    pub const STEADY_30000_PODS: ScaleConfig = ScaleConfig { nodes: 1_000, deployments: 100, replicas: 300 };

    /// Pods in the cluster once rolled out.
    pub fn pods(self) -> usize {
        self.deployments * self.replicas
    }
}

/// A benchmark cluster and the components that run it.
#[derive(Debug)]
pub struct ScaleCluster {
    /// The API server, its shell and the clock.
    pub cluster: TestCluster,
    /// Every controller of the manager.
    pub manager: ControllerManager,
    /// The default scheduler.
    pub scheduler: SchedulerComponent,
    /// The kubelets of every node, renewing Leases and reporting node status.
    pub kubelet: InstantKubelet,
    config: ScaleConfig,
}

impl ScaleCluster {
    /// The nodes, and the components with their informers synced; no workload yet.
    pub fn new(config: ScaleConfig) -> ScaleCluster {
        let mut scale = ScaleCluster {
            cluster: TestCluster::new(config.nodes),
            manager: ControllerManager::new(ControllerManagerConfig::default()),
            scheduler: default_scheduler(),
            kubelet: InstantKubelet::new().with_node_status_reports(),
            config,
        };
        scale.run_for(Duration::from_secs(1));
        scale
    }

    /// Creates the Deployments.
    pub fn create_deployments(&mut self) {
        let path = format!("/apis/apps/v1/namespaces/{NAMESPACE}/deployments");
        for index in 0..self.config.deployments {
            let (status, body) =
                self.cluster.send(Method::Post, &path, Some(deployment(&format!("web-{index}"), self.config.replicas)));
            assert_eq!(status, 201, "{body}");
        }
    }

    /// Runs until every Deployment is rolled out (what `kubectl rollout status` waits for), at
    /// most `limit` of simulated time; returns whether it was.
    pub fn roll_out(&mut self, limit: Duration) -> bool {
        let step = Duration::from_secs(1);
        let mut elapsed = Duration::ZERO;
        while !self.rolled_out() {
            if elapsed >= limit {
                return false;
            }
            self.run_for(step);
            elapsed += step;
        }
        true
    }

    /// Whether every Deployment is rolled out, as the manager's cache shows it.
    pub fn rolled_out(&self) -> bool {
        let replicas = i32::try_from(self.config.replicas).unwrap_or(i32::MAX);
        let deployments = &self.manager.caches().deployments;
        deployments.len() == self.config.deployments
            && deployments.iter().all(|deployment| {
                let status = deployment.status.clone().unwrap_or_default();
                status.observed_generation == deployment.metadata.generation
                    && status.updated_replicas == Some(replicas)
                    && status.available_replicas == Some(replicas)
                    && status.replicas == Some(replicas)
            })
    }

    /// Runs the cluster for `duration` of simulated time.
    pub fn run_for(&mut self, duration: Duration) {
        let ScaleCluster { cluster, manager, scheduler, kubelet, .. } = self;
        let components: &mut [&mut dyn Component] = &mut [manager, scheduler, kubelet];
        cluster.run_until(components, duration, |_| false);
    }
}

/// A Deployment of `replicas` pods labelled `app: name`.
pub fn deployment(name: &str, replicas: usize) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": format!("{name}:v1"),
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}
            }
        }
    })
}
