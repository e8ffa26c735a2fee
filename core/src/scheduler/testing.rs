//! Builders for test Pods and Nodes in the shape of Kubernetes' `st.MakePod()` and
//! `st.MakeNode()`, and helpers that run one plugin the way the Kubernetes tests do.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

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

    /// Sets the namespace (Kubernetes' `st.MakePod()` leaves it empty).
    pub fn namespace(mut self, namespace: &str) -> PodBuilder {
        self.0.metadata.namespace = Some(namespace.to_owned());
        self
    }

    /// Adds a label.
    pub fn label(mut self, key: &str, value: &str) -> PodBuilder {
        self.0.metadata.labels.get_or_insert_with(BTreeMap::new).insert(key.to_owned(), value.to_owned());
        self
    }

    /// Adds labels.
    pub fn labels(self, labels: &[(&str, &str)]) -> PodBuilder {
        labels.iter().fold(self, |pod, (key, value)| pod.label(key, value))
    }

    fn affinity(&mut self) -> &mut core::Affinity {
        self.spec().affinity.get_or_insert_with(Default::default)
    }

    /// Adds a required pod affinity (`anti` false) or anti-affinity (`anti` true) term.
    pub fn required_term(mut self, anti: bool, term: core::PodAffinityTerm) -> PodBuilder {
        let affinity = self.affinity();
        let terms = if anti {
            &mut affinity
                .pod_anti_affinity
                .get_or_insert_with(Default::default)
                .required_during_scheduling_ignored_during_execution
        } else {
            &mut affinity
                .pod_affinity
                .get_or_insert_with(Default::default)
                .required_during_scheduling_ignored_during_execution
        };
        terms.get_or_insert_with(Vec::new).push(term);
        self
    }

    /// Adds a preferred pod affinity (`anti` false) or anti-affinity (`anti` true) term.
    pub fn preferred_term(mut self, anti: bool, weight: i32, term: core::PodAffinityTerm) -> PodBuilder {
        let affinity = self.affinity();
        let terms = if anti {
            &mut affinity
                .pod_anti_affinity
                .get_or_insert_with(Default::default)
                .preferred_during_scheduling_ignored_during_execution
        } else {
            &mut affinity
                .pod_affinity
                .get_or_insert_with(Default::default)
                .preferred_during_scheduling_ignored_during_execution
        };
        terms.get_or_insert_with(Vec::new).push(core::WeightedPodAffinityTerm { weight, pod_affinity_term: term });
        self
    }

    /// Sets the whole affinity.
    pub fn with_affinity(mut self, affinity: core::Affinity) -> PodBuilder {
        self.spec().affinity = Some(affinity);
        self
    }

    /// Adds a required node affinity term with one expression (`NodeAffinityIn` / `NotIn`).
    pub fn node_affinity(mut self, key: &str, operator: &str, values: &[&str]) -> PodBuilder {
        let node_affinity = self.affinity().node_affinity.get_or_insert_with(Default::default);
        let selector = node_affinity
            .required_during_scheduling_ignored_during_execution
            .get_or_insert_with(|| core::NodeSelector { node_selector_terms: vec![core::NodeSelectorTerm::default()] });
        selector.node_selector_terms[0].match_expressions.get_or_insert_with(Vec::new).push(
            core::NodeSelectorRequirement {
                key: key.to_owned(),
                operator: operator.to_owned(),
                values: Some(values.iter().map(|value| (*value).to_owned()).collect()),
            },
        );
        self
    }

    /// Adds a topology spread constraint (`SpreadConstraint`).
    #[allow(clippy::too_many_arguments, reason = "mirrors Kubernetes' st.SpreadConstraint")]
    pub fn spread_constraint(
        mut self,
        max_skew: i32,
        topology_key: &str,
        when_unsatisfiable: &str,
        selector: Option<meta::LabelSelector>,
        min_domains: Option<i32>,
        node_affinity_policy: Option<&str>,
        node_taints_policy: Option<&str>,
        match_label_keys: Option<&[&str]>,
    ) -> PodBuilder {
        self.spec().topology_spread_constraints.get_or_insert_with(Vec::new).push(core::TopologySpreadConstraint {
            max_skew,
            topology_key: topology_key.to_owned(),
            when_unsatisfiable: when_unsatisfiable.to_owned(),
            label_selector: selector,
            min_domains,
            node_affinity_policy: node_affinity_policy.map(str::to_owned),
            node_taints_policy: node_taints_policy.map(str::to_owned),
            match_label_keys: match_label_keys.map(|keys| keys.iter().map(|key| (*key).to_owned()).collect()),
        });
        self
    }

    /// Sets `status.startTime` to this many nanoseconds after the epoch (`StartTime`).
    pub fn start_time(mut self, nanoseconds: i64) -> PodBuilder {
        let time = crate::jiff::Timestamp::from_nanosecond(i128::from(nanoseconds)).expect("in range");
        self.0.status.get_or_insert_with(Default::default).start_time = Some(meta::Time(time));
        self
    }

    /// Sets `status.nominatedNodeName` (`NominatedNodeName`).
    pub fn nominated_node_name(mut self, node: &str) -> PodBuilder {
        self.0.status.get_or_insert_with(Default::default).nominated_node_name = Some(node.to_owned());
        self
    }

    /// Adds a status condition (`Condition`).
    pub fn condition(mut self, type_: &str, status: &str, reason: &str) -> PodBuilder {
        self.0.status.get_or_insert_with(Default::default).conditions.get_or_insert_with(Vec::new).push(
            core::PodCondition {
                type_: type_.to_owned(),
                status: status.to_owned(),
                reason: Some(reason.to_owned()),
                ..Default::default()
            },
        );
        self
    }

    /// Sets `spec.preemptionPolicy` (`PreemptionPolicy`).
    pub fn preemption_policy(mut self, policy: &str) -> PodBuilder {
        self.spec().preemption_policy = Some(policy.to_owned());
        self
    }

    /// Marks the Pod terminating (`Terminating`).
    pub fn terminating(mut self) -> PodBuilder {
        self.0.metadata.deletion_timestamp = Some(meta::Time(crate::jiff::Timestamp::UNIX_EPOCH));
        self
    }

    /// Adds a controller owner reference (`OwnerReference`).
    pub fn owner(mut self, name: &str, api_version: &str, kind: &str) -> PodBuilder {
        self.0.metadata.owner_references.get_or_insert_with(Vec::new).push(meta::OwnerReference {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
            uid: format!("uid-{name}"),
            controller: Some(true),
            block_owner_deletion: None,
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

    /// Adds a label.
    pub fn label(mut self, key: &str, value: &str) -> NodeBuilder {
        self.0.metadata.labels.get_or_insert_with(BTreeMap::new).insert(key.to_owned(), value.to_owned());
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

/// A snapshot of nodes with Pods placed by `spec.nodeName`, every Pod given a unique uid (the
/// Kubernetes tables leave many Pods unnamed).
pub fn snapshot_of(nodes: &[core::Node], pods: &[core::Pod]) -> Snapshot {
    let pods: Vec<core::Pod> = pods
        .iter()
        .enumerate()
        .map(|(index, pod)| {
            let mut pod = pod.clone();
            pod.metadata.uid = Some(format!("pod-{index}"));
            pod
        })
        .collect();
    Snapshot::from_node_infos(node_infos(nodes, &pods))
}

/// A label selector from `matchLabels` and `matchExpressions` written as `(key, operator, values)`.
pub fn label_selector(labels: &[(&str, &str)], expressions: &[(&str, &str, &[&str])]) -> meta::LabelSelector {
    meta::LabelSelector {
        match_labels: (!labels.is_empty())
            .then(|| labels.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()),
        match_expressions: (!expressions.is_empty()).then(|| {
            expressions
                .iter()
                .map(|(key, operator, values)| meta::LabelSelectorRequirement {
                    key: (*key).to_owned(),
                    operator: (*operator).to_owned(),
                    values: (!values.is_empty()).then(|| values.iter().map(|value| (*value).to_owned()).collect()),
                })
                .collect()
        }),
    }
}

/// A pod affinity term with one expression on `key` (`PodAffinityIn`, `NotIn`, `Exists`).
pub fn affinity_term(key: &str, operator: &str, values: &[&str], topology_key: &str) -> core::PodAffinityTerm {
    core::PodAffinityTerm {
        label_selector: Some(label_selector(&[], &[(key, operator, values)])),
        topology_key: topology_key.to_owned(),
        ..Default::default()
    }
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
