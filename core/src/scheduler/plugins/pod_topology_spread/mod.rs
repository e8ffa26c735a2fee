//! PodTopologySpread: a Pod's `topologySpreadConstraints` (or the profile's default constraints,
//! selecting the Pod's siblings through its Services and controller) keep matching Pods evenly
//! spread over topology domains: DoNotSchedule constraints filter ([`filtering`]), ScheduleAnyway
//! constraints score ([`scoring`]), with kube-scheduler 1.32's `minDomains`, node inclusion
//! policies (`nodeAffinityPolicy` Honor, `nodeTaintsPolicy` Ignore by default) and
//! `matchLabelKeys`.
//!
//! Counts are kept per constraint, as later Kubernetes releases do; 1.32 keys them by topology
//! pair, which differs only when two constraints of one Pod share a topology key.

pub mod domain_counts;
pub mod filtering;
pub mod scoring;

#[cfg(test)]
mod dense_tests;
#[cfg(test)]
mod filtering_tests;
#[cfg(test)]
mod scoring_tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use serde::Deserialize;

use super::decode_args;
use super::node_affinity::RequiredNodeAffinity;
use super::taint_toleration::{EFFECT_NO_EXECUTE, EFFECT_NO_SCHEDULE, find_matching_untolerated_taint};
use crate::scheduler::framework::{
    ActionType, ClusterEvent, EventResource, FilterPlugin, Plugin, PreFilterPlugin, PreScorePlugin, ScorePlugin,
};
use crate::scheduler::listers::ClusterObjects;
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::node_tree::{LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE};
use crate::scheduler::registry::RegistryError;
use crate::scheduler::snapshot::Snapshot;
use crate::selector::{LabelSelector, SelectorError};

/// The plugin's registered name.
pub const NAME: &str = "PodTopologySpread";

/// The reason a node's domain would exceed `maxSkew`.
pub const ERR_REASON_CONSTRAINTS_NOT_MATCH: &str = "node(s) didn't match pod topology spread constraints";

/// The reason a node lacks a constraint's topology label.
pub const ERR_REASON_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

/// `whenUnsatisfiable` of constraints that filter.
pub const DO_NOT_SCHEDULE: &str = "DoNotSchedule";

/// `whenUnsatisfiable` of constraints that only score.
pub const SCHEDULE_ANYWAY: &str = "ScheduleAnyway";

/// `defaultingType` using the built-in constraints below.
pub const SYSTEM_DEFAULTING: &str = "System";

/// `defaultingType` using the configured `defaultConstraints`.
pub const LIST_DEFAULTING: &str = "List";

/// maxSkew of the system default constraint by hostname.
pub const SYSTEM_DEFAULT_HOSTNAME_MAX_SKEW: i32 = 3;

/// maxSkew of the system default constraint by zone.
pub const SYSTEM_DEFAULT_ZONE_MAX_SKEW: i32 = 5;

/// Kubernetes' system default constraints (`systemDefaultConstraints`): ScheduleAnyway by
/// hostname (maxSkew 3) and by zone (maxSkew 5).
pub fn system_default_constraints() -> Vec<core::TopologySpreadConstraint> {
    [(LABEL_HOSTNAME, SYSTEM_DEFAULT_HOSTNAME_MAX_SKEW), (LABEL_TOPOLOGY_ZONE, SYSTEM_DEFAULT_ZONE_MAX_SKEW)]
        .into_iter()
        .map(|(topology_key, max_skew)| core::TopologySpreadConstraint {
            max_skew,
            topology_key: topology_key.to_owned(),
            when_unsatisfiable: SCHEDULE_ANYWAY.to_owned(),
            ..Default::default()
        })
        .collect()
}

/// PodTopologySpread's arguments (`PodTopologySpreadArgs`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodTopologySpreadArgs {
    /// Constraints for Pods that declare none (`List` defaulting only); no label selectors.
    #[serde(default)]
    pub default_constraints: Vec<core::TopologySpreadConstraint>,
    /// `System` (default) or `List`.
    #[serde(default)]
    pub defaulting_type: Option<String>,
}

/// Whether a node counts for a constraint (`v1.NodeInclusionPolicy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeInclusionPolicy {
    /// Only nodes passing the check count.
    Honor,
    /// Every node counts.
    Ignore,
}

impl NodeInclusionPolicy {
    fn parse(value: Option<&str>, default: NodeInclusionPolicy) -> NodeInclusionPolicy {
        match value {
            Some("Honor") => NodeInclusionPolicy::Honor,
            Some("Ignore") => NodeInclusionPolicy::Ignore,
            _ => default,
        }
    }
}

/// One constraint, ready to count Pods (the plugin's internal `topologySpreadConstraint`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraint {
    /// How uneven the domains may be.
    pub max_skew: i32,
    /// The node label defining the domains.
    pub topology_key: String,
    /// Which Pods count (`labelSelector` with `matchLabelKeys` merged in).
    pub selector: LabelSelector,
    /// Below this many domains the global minimum is taken as 0 (1 when unset).
    pub min_domains: i32,
    /// Whether nodes must match the Pod's required node affinity to count.
    pub node_affinity_policy: NodeInclusionPolicy,
    /// Whether nodes with taints the Pod does not tolerate are left out.
    pub node_taints_policy: NodeInclusionPolicy,
}

impl Constraint {
    /// Whether the node counts for this constraint under its inclusion policies
    /// (`matchNodeInclusionPolicies`).
    pub fn includes_node(&self, pod: &PodInfo, node: &NodeInfo, required: &RequiredNodeAffinity) -> bool {
        if self.node_affinity_policy == NodeInclusionPolicy::Honor && !required.matches(node) {
            return false;
        }
        if self.node_taints_policy == NodeInclusionPolicy::Honor {
            let tolerations = pod.spec().tolerations.as_deref().unwrap_or(&[]);
            let hard = |taint: &core::Taint| taint.effect == EFFECT_NO_SCHEDULE || taint.effect == EFFECT_NO_EXECUTE;
            if find_matching_untolerated_taint(node.taints(), tolerations, hard).is_some() {
                return false;
            }
        }
        true
    }
}

/// Whether the node has every constraint's topology label (`nodeLabelsMatchSpreadConstraints`).
pub fn node_has_all_keys(labels: &BTreeMap<String, String>, constraints: &[Constraint]) -> bool {
    constraints.iter().all(|constraint| labels.contains_key(&constraint.topology_key))
}

/// Matching, non-terminating Pods of one namespace among `pods`; an empty selector counts none
/// (`countPodsMatchSelector`).
pub fn count_matching_pods(pods: &[Arc<PodInfo>], selector: &LabelSelector, namespace: &str) -> i64 {
    if selector.is_empty() {
        return 0;
    }
    pods.iter().filter(|pod| counts_towards(pod, selector, namespace)).count() as i64
}

/// Whether a placed Pod counts towards a constraint: in the incoming Pod's namespace, not being
/// deleted, its labels matching the selector.
fn counts_towards(pod: &PodInfo, selector: &LabelSelector, namespace: &str) -> bool {
    pod.pod.metadata.deletion_timestamp.is_none()
        && pod.namespace() == namespace
        && selector.matches_optional(pod.pod.metadata.labels.as_ref())
}

/// Whether no constraint's inclusion policy can leave a node out: the Pod requires nothing of
/// nodes or the affinity policy is Ignore, and the taints policy is Ignore.
pub fn every_node_included(constraints: &[Constraint], required: &RequiredNodeAffinity) -> bool {
    constraints.iter().all(|constraint| {
        (constraint.node_affinity_policy == NodeInclusionPolicy::Ignore || required.is_empty())
            && constraint.node_taints_policy == NodeInclusionPolicy::Ignore
    })
}

/// Per constraint: the domain of each node that counts (by node position, `None` for nodes that
/// do not), and the distinct domains (only with `want_distinct`: hostname has one per node). A node counts when it has every constraint's topology
/// label (with `require_all_keys`) and passes the constraint's node inclusion policies.
///
/// When no inclusion policy applies (the usual case: the Pod requires nothing of nodes and
/// taints are ignored) and every topology label is a well-known one, the domains come from the
/// snapshot's dense arrays without touching the nodes.
pub fn counted_domains<'a>(
    snapshot: &'a Snapshot,
    constraints: &[Constraint],
    pod: &PodInfo,
    required: &RequiredNodeAffinity,
    require_all_keys: bool,
    want_distinct: bool,
) -> (Vec<Vec<Option<&'a str>>>, Vec<BTreeSet<&'a str>>) {
    let nodes = snapshot.list();
    let mut domains = vec![vec![None; nodes.len()]; constraints.len()];
    let mut distinct = vec![BTreeSet::new(); constraints.len()];
    let dense: Option<Vec<_>> = constraints
        .iter()
        .map(|constraint| snapshot.topology_domains(&constraint.topology_key))
        .collect::<Option<_>>()
        .filter(|_| every_node_included(constraints, required));
    if let Some(dense) = dense {
        let mut seen = vec![Vec::new(); constraints.len()];
        for position in 0..nodes.len() {
            if require_all_keys && dense.iter().any(|domains| domains.domain_of_node[position].is_none()) {
                continue;
            }
            for (index, of_key) in dense.iter().enumerate() {
                let Some(id) = of_key.domain_of_node[position] else {
                    // Only without `require_all_keys`: Kubernetes reads a missing label as "".
                    domains[index][position] = Some("");
                    distinct[index].insert("");
                    continue;
                };
                let seen = &mut seen[index];
                if seen.len() <= id as usize {
                    seen.resize(id as usize + 1, false);
                }
                seen[id as usize] = true;
                domains[index][position] = dense[index].value_of(position);
            }
        }
        for (index, seen) in seen.iter().enumerate().filter(|_| want_distinct) {
            let values = &dense[index].values;
            distinct[index]
                .extend(seen.iter().enumerate().filter(|(_, seen)| **seen).map(|(id, _)| values[id].as_str()));
        }
        return (domains, distinct);
    }
    for (position, node) in nodes.iter().enumerate() {
        let labels = node.labels();
        if node.node().is_none() || (require_all_keys && !node_has_all_keys(labels, constraints)) {
            continue;
        }
        for (index, constraint) in constraints.iter().enumerate() {
            let value = labels.get(&constraint.topology_key).map(String::as_str).unwrap_or("");
            if constraint.includes_node(pod, node, required) {
                domains[index][position] = Some(value);
                if want_distinct {
                    distinct[index].insert(value);
                }
            }
        }
    }
    (domains, distinct)
}

/// Calls `add` with the domain of every placed Pod that counts towards a constraint and sits on
/// a node with a domain in `domains` (by node position; `None` for nodes that do not count).
/// Visits only the Pods the selector can match, through the snapshot's label index; an empty
/// selector counts nothing, as [`count_matching_pods`].
pub fn for_each_matching_pod_domain<'a>(
    snapshot: &Snapshot,
    selector: &LabelSelector,
    namespace: &str,
    domains: &[Option<&'a str>],
    mut add: impl FnMut(&'a str),
) {
    if selector.is_empty() {
        return;
    }
    snapshot.for_each_pod_possibly_matching(selector, |position, _, pod| {
        if let Some(domain) = domains[position]
            && counts_towards(pod, selector, namespace)
        {
            add(domain);
        }
    });
}

/// The constraints of `action`, parsed, with `matchLabelKeys` merged from the Pod's labels
/// (`filterTopologySpreadConstraints`).
fn parse_constraints(
    constraints: &[core::TopologySpreadConstraint],
    pod_labels: Option<&BTreeMap<String, String>>,
    action: &str,
) -> Result<Vec<Constraint>, SelectorError> {
    let mut parsed = Vec::new();
    for constraint in constraints.iter().filter(|constraint| constraint.when_unsatisfiable == action) {
        let mut selector = LabelSelector::from_label_selector(constraint.label_selector.as_ref())?;
        let match_labels: BTreeMap<String, String> = constraint
            .match_label_keys
            .iter()
            .flatten()
            .filter_map(|key| pod_labels.and_then(|labels| labels.get(key)).map(|value| (key.clone(), value.clone())))
            .collect();
        if !match_labels.is_empty() && !selector.matches_nothing() {
            let mut requirements = LabelSelector::from_set(&match_labels).requirements().to_vec();
            requirements.extend(selector.requirements().iter().cloned());
            selector = LabelSelector::from_requirements(requirements);
        }
        parsed.push(Constraint {
            max_skew: constraint.max_skew,
            topology_key: constraint.topology_key.clone(),
            selector,
            min_domains: constraint.min_domains.unwrap_or(1),
            node_affinity_policy: NodeInclusionPolicy::parse(
                constraint.node_affinity_policy.as_deref(),
                NodeInclusionPolicy::Honor,
            ),
            node_taints_policy: NodeInclusionPolicy::parse(
                constraint.node_taints_policy.as_deref(),
                NodeInclusionPolicy::Ignore,
            ),
        });
    }
    Ok(parsed)
}

/// Spreads Pods over topology domains.
#[derive(Clone, Debug)]
pub struct PodTopologySpread {
    default_constraints: Vec<core::TopologySpreadConstraint>,
    system_defaulted: bool,
}

impl Default for PodTopologySpread {
    fn default() -> PodTopologySpread {
        PodTopologySpread { default_constraints: system_default_constraints(), system_defaulted: true }
    }
}

impl PodTopologySpread {
    /// Builds the plugin from its arguments, validated as `ValidatePodTopologySpreadArgs` does.
    pub fn new(args: Option<&serde_json::Value>) -> Result<PodTopologySpread, RegistryError> {
        let args: PodTopologySpreadArgs = decode_args(NAME, args)?;
        let invalid = |message: String| RegistryError::InvalidArgsValue { plugin: NAME, message };
        let defaulting = args.defaulting_type.as_deref().unwrap_or(SYSTEM_DEFAULTING);
        for (index, constraint) in args.default_constraints.iter().enumerate() {
            if constraint.max_skew <= 0 {
                return Err(invalid(format!(
                    "defaultConstraints[{index}].maxSkew: Invalid value: {}: must be greater than zero",
                    constraint.max_skew
                )));
            }
            if constraint.label_selector.is_some() {
                return Err(invalid(format!(
                    "defaultConstraints[{index}].labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod"
                )));
            }
            if ![DO_NOT_SCHEDULE, SCHEDULE_ANYWAY].contains(&constraint.when_unsatisfiable.as_str()) {
                return Err(invalid(format!(
                    "defaultConstraints[{index}].whenUnsatisfiable: Unsupported value: {:?}: supported values: \"DoNotSchedule\", \"ScheduleAnyway\"",
                    constraint.when_unsatisfiable
                )));
            }
        }
        match defaulting {
            SYSTEM_DEFAULTING if !args.default_constraints.is_empty() => Err(invalid(
                "defaultConstraints: Invalid value: when .defaultingType is \"System\", .defaultConstraints must be empty"
                    .to_owned(),
            )),
            SYSTEM_DEFAULTING => Ok(PodTopologySpread::default()),
            LIST_DEFAULTING => {
                Ok(PodTopologySpread { default_constraints: args.default_constraints, system_defaulted: false })
            }
            other => Err(invalid(format!(
                "defaultingType: Unsupported value: {other:?}: supported values: \"List\", \"System\""
            ))),
        }
    }

    /// The Pod's constraints of `action`, or the default ones selecting its siblings
    /// (`getConstraints`, `buildDefaultConstraints`).
    fn constraints(&self, pod: &PodInfo, action: &str, objects: &ClusterObjects) -> Result<Vec<Constraint>, String> {
        let labels = pod.pod.metadata.labels.as_ref();
        let declared = pod.spec().topology_spread_constraints.as_deref().unwrap_or(&[]);
        if !declared.is_empty() {
            return parse_constraints(declared, labels, action)
                .map_err(|error| format!("obtaining pod's topology spread constraints: {error}"));
        }
        let mut constraints = parse_constraints(&self.default_constraints, labels, action)
            .map_err(|error| format!("setting default topology spread constraints: {error}"))?;
        if constraints.is_empty() {
            return Ok(constraints);
        }
        let selector = objects.default_selector(&pod.pod);
        if selector.is_empty() {
            return Ok(Vec::new());
        }
        for constraint in &mut constraints {
            constraint.selector = selector.clone();
        }
        Ok(constraints)
    }
}

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent {
                resource: EventResource::AssignedPod,
                action: ActionType::ADD.or(ActionType::UPDATE_POD_LABEL).or(ActionType::DELETE),
            },
            ClusterEvent {
                resource: EventResource::Node,
                action: ActionType::ADD
                    .or(ActionType::DELETE)
                    .or(ActionType::UPDATE_NODE_LABEL)
                    .or(ActionType::UPDATE_NODE_TAINT),
            },
        ]
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}
