//! Builders for test Pods and Nodes in the shape of Kubernetes' `st.MakePod()` and
//! `st.MakeNode()`, and helpers that run one plugin the way the Kubernetes tests do.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;

use super::framework::{CycleState, Plugin, Status};
use super::node_info::{NodeInfo, PodInfo};
use super::snapshot::Snapshot;

fn resource_list(pairs: &[(&str, &str)]) -> BTreeMap<String, WireQuantity> {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), WireQuantity((*value).to_owned()))).collect()
}

/// A Pod under construction.
#[derive(Clone, Debug, Default)]
pub struct PodBuilder(pub core::Pod);

/// Starts a Pod in namespace `default`.
pub fn make_pod(name: &str) -> PodBuilder {
    let mut pod = core::Pod::default();
    pod.metadata.name = Some(name.to_owned());
    pod.metadata.namespace = Some("default".to_owned());
    pod.metadata.uid = Some(format!("uid-{name}"));
    pod.spec = Some(core::PodSpec::default());
    PodBuilder(pod)
}

impl PodBuilder {
    fn spec(&mut self) -> &mut core::PodSpec {
        self.0.spec.get_or_insert_with(Default::default)
    }

    /// Adds a container with these requests (`Req`).
    pub fn req(mut self, requests: &[(&str, &str)]) -> PodBuilder {
        let index = self.spec().containers.len();
        self.spec().containers.push(core::Container {
            name: format!("c{index}"),
            resources: Some(core::ResourceRequirements {
                requests: Some(resource_list(requests)),
                ..Default::default()
            }),
            ..Default::default()
        });
        self
    }

    /// Adds an init container with these requests (`InitReq`).
    pub fn init_req(mut self, requests: &[(&str, &str)]) -> PodBuilder {
        let init = self.spec().init_containers.get_or_insert_with(Vec::new);
        let index = init.len();
        init.push(core::Container {
            name: format!("init{index}"),
            resources: Some(core::ResourceRequirements {
                requests: Some(resource_list(requests)),
                ..Default::default()
            }),
            ..Default::default()
        });
        self
    }

    /// Adds a container with this image.
    pub fn container_image(mut self, image: &str) -> PodBuilder {
        let index = self.spec().containers.len();
        self.spec().containers.push(core::Container {
            name: format!("c{index}"),
            image: Some(image.to_owned()),
            ..Default::default()
        });
        self
    }

    /// Sets the Pod overhead.
    pub fn overhead(mut self, overhead: &[(&str, &str)]) -> PodBuilder {
        self.spec().overhead = Some(resource_list(overhead));
        self
    }

    /// Sets `spec.nodeName`.
    pub fn node(mut self, node: &str) -> PodBuilder {
        self.spec().node_name = Some(node.to_owned());
        self
    }

    /// Sets the tolerations.
    pub fn tolerations(mut self, tolerations: Vec<core::Toleration>) -> PodBuilder {
        self.spec().tolerations = Some(tolerations);
        self
    }

    /// Sets `spec.priority`.
    pub fn priority(mut self, priority: i32) -> PodBuilder {
        self.spec().priority = Some(priority);
        self
    }

    /// Sets the node selector.
    pub fn node_selector(mut self, selector: &[(&str, &str)]) -> PodBuilder {
        self.spec().node_selector =
            Some(selector.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect());
        self
    }

    /// Adds a container binding a host port (`ContainerPort` with `HostPort`).
    pub fn host_port(mut self, ip: &str, protocol: &str, port: i32) -> PodBuilder {
        let index = self.spec().containers.len();
        self.spec().containers.push(core::Container {
            name: format!("c{index}"),
            ports: Some(vec![core::ContainerPort {
                container_port: port,
                host_port: Some(port),
                host_ip: Some(ip.to_owned()),
                protocol: Some(protocol.to_owned()),
                ..Default::default()
            }]),
            ..Default::default()
        });
        self
    }

    /// The Pod.
    pub fn obj(self) -> core::Pod {
        self.0
    }

    /// The Pod, parsed.
    pub fn info(self) -> PodInfo {
        PodInfo::new(Arc::new(self.0))
    }
}

/// A Node under construction.
#[derive(Clone, Debug, Default)]
pub struct NodeBuilder(pub core::Node);

/// Starts a Node.
pub fn make_node(name: &str) -> NodeBuilder {
    let mut node = core::Node::default();
    node.metadata.name = Some(name.to_owned());
    node.spec = Some(core::NodeSpec::default());
    node.status = Some(core::NodeStatus::default());
    NodeBuilder(node)
}

impl NodeBuilder {
    /// Sets capacity and allocatable (`Capacity`).
    pub fn capacity(mut self, resources: &[(&str, &str)]) -> NodeBuilder {
        let status = self.0.status.get_or_insert_with(Default::default);
        status.capacity = Some(resource_list(resources));
        status.allocatable = Some(resource_list(resources));
        self
    }

    /// Sets labels.
    pub fn labels(mut self, labels: &[(&str, &str)]) -> NodeBuilder {
        self.0.metadata.labels =
            Some(labels.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect());
        self
    }

    /// Sets taints.
    pub fn taints(mut self, taints: Vec<core::Taint>) -> NodeBuilder {
        self.0.spec.get_or_insert_with(Default::default).taints = Some(taints);
        self
    }

    /// Adds an image with names and a size.
    pub fn image(mut self, names: &[&str], size_bytes: i64) -> NodeBuilder {
        let status = self.0.status.get_or_insert_with(Default::default);
        status.images.get_or_insert_with(Vec::new).push(core::ContainerImage {
            names: Some(names.iter().map(|name| (*name).to_owned()).collect()),
            size_bytes: Some(size_bytes),
        });
        self
    }

    /// Marks the node unschedulable (cordoned).
    pub fn unschedulable(mut self) -> NodeBuilder {
        self.0.spec.get_or_insert_with(Default::default).unschedulable = Some(true);
        self
    }

    /// The Node.
    pub fn obj(self) -> core::Node {
        self.0
    }
}

/// A taint.
pub fn taint(key: &str, value: &str, effect: &str) -> core::Taint {
    core::Taint { key: key.to_owned(), value: Some(value.to_owned()), effect: effect.to_owned(), time_added: None }
}

/// A toleration; an empty operator means Equal.
pub fn toleration(key: &str, operator: &str, value: &str, effect: &str) -> core::Toleration {
    let non_empty = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    core::Toleration {
        key: non_empty(key),
        operator: non_empty(operator),
        value: non_empty(value),
        effect: non_empty(effect),
        toleration_seconds: None,
    }
}

/// NodeInfos for nodes with the existing Pods placed by their `spec.nodeName`.
pub fn node_infos(nodes: &[core::Node], pods: &[core::Pod]) -> Vec<NodeInfo> {
    nodes
        .iter()
        .map(|node| {
            let mut info = NodeInfo::new(Arc::new(node.clone()));
            for pod in pods {
                if pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()) == node.metadata.name.as_deref() {
                    info.add_pod(Arc::new(PodInfo::new(Arc::new(pod.clone()))));
                }
            }
            info
        })
        .collect()
}

/// Runs a plugin's PreScore, Score and NormalizeScore over every node, as the Kubernetes score
/// tests do; returns the scores or the first failing status.
pub fn run_score(plugin: &dyn Plugin, pod: &PodInfo, snapshot: &Snapshot, normalize: bool) -> Result<Vec<i64>, Status> {
    let mut state = CycleState::new();
    if let Some(pre_score) = plugin.as_pre_score() {
        let nodes: Vec<&NodeInfo> = snapshot.list().iter().map(|node| node.as_ref()).collect();
        let status = pre_score.pre_score(&mut state, pod, &nodes, snapshot);
        if !status.is_success() && !status.is_skip() {
            return Err(status);
        }
    }
    let scorer = plugin.as_score().ok_or_else(|| Status::error("not a score plugin"))?;
    let mut scores = Vec::new();
    for node in snapshot.list() {
        scores.push(scorer.score(&state, pod, node)?);
    }
    if normalize {
        let status = scorer.normalize_score(&state, pod, &mut scores);
        if !status.is_success() {
            return Err(status);
        }
    }
    Ok(scores)
}

/// Runs a plugin's PreFilter (if any) and Filter on one node.
pub fn run_filter(plugin: &dyn Plugin, pod: &PodInfo, node: &NodeInfo) -> Status {
    let mut state = CycleState::new();
    let snapshot = Snapshot::from_node_infos(vec![node.clone()]);
    if let Some(pre_filter) = plugin.as_pre_filter() {
        let (_, status) = pre_filter.pre_filter(&mut state, pod, &snapshot);
        if status.is_skip() {
            return Status::success();
        }
        if !status.is_success() {
            return status;
        }
    }
    match plugin.as_filter() {
        Some(filter) => filter.filter(&state, pod, node),
        None => Status::error("not a filter plugin"),
    }
}
