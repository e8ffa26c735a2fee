//! NodeAffinity: a Pod fits only nodes matching its `nodeSelector` and required node affinity
//! (and the profile's `addedAffinity`); nodes matching more preferred terms, by weight, score
//! higher.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1 as core;
use serde::Deserialize;

use super::{decode_args, normalize_to_max};
use crate::scheduler::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, NodeBatch, Plugin, PreFilterPlugin,
    PreFilterResult, PreScorePlugin, ScorePlugin, Status, fill_verdicts,
};
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::registry::RegistryError;
use crate::scheduler::snapshot::Snapshot;
use crate::selector::{NodeSelectorMatcher, matches_node_selector_map};

/// The plugin's registered name.
pub const NAME: &str = "NodeAffinity";

/// The reason a node fails the Pod's selector or required affinity.
pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";

/// The reason a node fails the profile's added affinity.
pub const ERR_REASON_ENFORCED: &str = "node(s) didn't match scheduler-enforced node affinity";

/// The reason every node fails because the terms' `metadata.name` fields exclude each other.
pub const ERR_REASON_CONFLICT: &str = "pod affinity terms conflict";

/// NodeAffinity's arguments (`NodeAffinityArgs`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeAffinityArgs {
    /// Affinity added to every Pod of the profile.
    #[serde(default)]
    pub added_affinity: Option<core::NodeAffinity>,
}

/// Preferred terms, parsed: weight and matcher (`None` matches every node, as an empty preferred
/// term does).
#[derive(Clone, Debug, Default)]
struct PreferredTerms(Vec<(i64, Option<NodeSelectorMatcher>)>);

impl PreferredTerms {
    fn new(terms: &[core::PreferredSchedulingTerm]) -> Result<PreferredTerms, Status> {
        let mut parsed = Vec::new();
        for term in terms.iter().filter(|term| term.weight != 0) {
            let preference = &term.preference;
            let empty = preference.match_expressions.as_ref().is_none_or(Vec::is_empty)
                && preference.match_fields.as_ref().is_none_or(Vec::is_empty);
            let matcher = if empty {
                None
            } else {
                let selector = core::NodeSelector { node_selector_terms: vec![preference.clone()] };
                Some(NodeSelectorMatcher::new(&selector).map_err(|error| Status::error(error.to_string()))?)
            };
            parsed.push((i64::from(term.weight), matcher));
        }
        Ok(PreferredTerms(parsed))
    }

    fn score(&self, node: &NodeInfo) -> i64 {
        self.0
            .iter()
            .filter(|(_, matcher)| {
                matcher.as_ref().is_none_or(|matcher| matcher.matches(node.labels(), node.name()).unwrap_or(false))
            })
            .map(|(weight, _)| weight)
            .sum()
    }
}

/// The Pod's required node affinity, if it declares one.
fn required_affinity(spec: &core::PodSpec) -> Option<&core::NodeSelector> {
    spec.affinity
        .as_ref()
        .and_then(|affinity| affinity.node_affinity.as_ref())
        .and_then(|affinity| affinity.required_during_scheduling_ignored_during_execution.as_ref())
}

/// The Pod's `nodeSelector` and required affinity (`nodeaffinity.RequiredNodeAffinity`);
/// PodTopologySpread counts only nodes it matches.
#[derive(Clone, Debug)]
pub struct RequiredNodeAffinity {
    selector: Option<BTreeMap<String, String>>,
    affinity: Option<NodeSelectorMatcher>,
}

impl RequiredNodeAffinity {
    /// Whether the Pod requires nothing of nodes (no `nodeSelector`, no required node affinity),
    /// so every node matches.
    pub fn is_empty(&self) -> bool {
        self.selector.as_ref().is_none_or(BTreeMap::is_empty) && self.affinity.is_none()
    }

    /// The Pod's required node affinity (`GetRequiredNodeAffinity`).
    pub fn of(pod: &PodInfo) -> RequiredNodeAffinity {
        let spec = pod.spec();
        let required = required_affinity(spec);
        RequiredNodeAffinity { selector: spec.node_selector.clone(), affinity: required.map(NodeSelectorMatcher::lazy) }
    }

    /// Whether the node matches; parsing errors of the affinity count as no match, as Kubernetes
    /// ignores them here.
    pub fn matches(&self, node: &NodeInfo) -> bool {
        if let Some(selector) = &self.selector
            && !matches_node_selector_map(selector, node.labels())
        {
            return false;
        }
        self.affinity.as_ref().is_none_or(|affinity| affinity.matches(node.labels(), node.name()).unwrap_or(false))
    }
}

/// Filters and scores by node affinity.
#[derive(Clone, Debug, Default)]
pub struct NodeAffinity {
    added_node_selector: Option<NodeSelectorMatcher>,
    added_preferred: Option<PreferredTerms>,
}

impl NodeAffinity {
    /// Builds the plugin from its arguments.
    pub fn new(args: Option<&serde_json::Value>) -> Result<NodeAffinity, RegistryError> {
        let args: NodeAffinityArgs = decode_args(NAME, args)?;
        let mut plugin = NodeAffinity::default();
        if let Some(added) = &args.added_affinity {
            if let Some(required) = &added.required_during_scheduling_ignored_during_execution {
                let matcher = NodeSelectorMatcher::new(required)
                    .map_err(|source| RegistryError::InvalidSelector { plugin: NAME, message: source.to_string() })?;
                plugin.added_node_selector = Some(matcher);
            }
            if let Some(preferred) = &added.preferred_during_scheduling_ignored_during_execution {
                let terms = PreferredTerms::new(preferred)
                    .map_err(|status| RegistryError::InvalidSelector { plugin: NAME, message: status.message() })?;
                plugin.added_preferred = Some(terms);
            }
        }
        Ok(plugin)
    }
}

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![ClusterEvent { resource: EventResource::Node, action: ActionType::ADD.or(ActionType::UPDATE_NODE_LABEL) }]
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

/// The `metadata.name` values a term requires with In, intersected; `None` when it has none.
fn term_node_names(term: &core::NodeSelectorTerm) -> Option<BTreeSet<String>> {
    let mut names: Option<BTreeSet<String>> = None;
    for field in term.match_fields.iter().flatten() {
        if field.key == "metadata.name" && field.operator == "In" {
            let values: BTreeSet<String> = field.values.iter().flatten().cloned().collect();
            names = Some(match names {
                None => values,
                Some(names) => names.intersection(&values).cloned().collect(),
            });
        }
    }
    names
}

impl PreFilterPlugin for NodeAffinity {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, _: &Snapshot) -> (Option<PreFilterResult>, Status) {
        let spec = pod.spec();
        let required = required_affinity(spec);
        if required.is_none() && self.added_node_selector.is_none() && spec.node_selector.is_none() {
            return (None, Status::code_only(Code::Skip));
        }
        state.write(NAME, RequiredNodeAffinity::of(pod));
        let Some(required) = required.filter(|required| !required.node_selector_terms.is_empty()) else {
            return (None, Status::success());
        };
        let mut node_names = BTreeSet::new();
        for term in &required.node_selector_terms {
            let Some(names) = term_node_names(term) else {
                return (None, Status::success());
            };
            node_names.extend(names);
        }
        if node_names.is_empty() {
            return (None, Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_CONFLICT));
        }
        (Some(PreFilterResult { node_names: Some(node_names) }), Status::success())
    }
}

impl FilterPlugin for NodeAffinity {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        match state.read::<RequiredNodeAffinity>(NAME) {
            Some(required) => self.filter_with(required, node),
            None => self.filter_with(&RequiredNodeAffinity::of(pod), node),
        }
    }

    fn filter_nodes(&self, state: &CycleState, pod: &PodInfo, batch: &NodeBatch<'_>, verdicts: &mut [Option<Status>]) {
        let computed;
        let required = match state.read::<RequiredNodeAffinity>(NAME) {
            Some(required) => required,
            None => {
                computed = RequiredNodeAffinity::of(pod);
                &computed
            }
        };
        fill_verdicts(batch, verdicts, |node, _| self.filter_with(required, node));
    }
}

impl NodeAffinity {
    /// The Filter's verdict on one node, given the Pod's required affinity.
    fn filter_with(&self, required: &RequiredNodeAffinity, node: &NodeInfo) -> Status {
        if node.node().is_none() {
            return super::node_not_found();
        }
        if let Some(added) = &self.added_node_selector
            && !added.matches(node.labels(), node.name()).unwrap_or(false)
        {
            return Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_ENFORCED);
        }
        if required.matches(node) {
            Status::success()
        } else {
            Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_POD)
        }
    }
}

const PRE_SCORE_KEY: &str = "PreScoreNodeAffinity";

fn pod_preferred_terms(pod: &PodInfo) -> Result<PreferredTerms, Status> {
    let preferred = pod
        .spec()
        .affinity
        .as_ref()
        .and_then(|affinity| affinity.node_affinity.as_ref())
        .and_then(|affinity| affinity.preferred_during_scheduling_ignored_during_execution.as_deref())
        .unwrap_or(&[]);
    PreferredTerms::new(preferred)
}

impl PreScorePlugin for NodeAffinity {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, _: &[&NodeInfo], _: &Snapshot) -> Status {
        let preferred = pod
            .spec()
            .affinity
            .as_ref()
            .and_then(|affinity| affinity.node_affinity.as_ref())
            .and_then(|affinity| affinity.preferred_during_scheduling_ignored_during_execution.as_ref());
        if preferred.is_none_or(Vec::is_empty) && self.added_preferred.is_none() {
            return Status::code_only(Code::Skip);
        }
        match pod_preferred_terms(pod) {
            Ok(terms) => {
                state.write(PRE_SCORE_KEY, terms);
                Status::success()
            }
            Err(status) => status,
        }
    }
}

impl ScorePlugin for NodeAffinity {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let mut count = self.added_preferred.as_ref().map_or(0, |terms| terms.score(node));
        match state.read::<PreferredTerms>(PRE_SCORE_KEY) {
            Some(terms) => count += terms.score(node),
            None => count += pod_preferred_terms(pod)?.score(node),
        }
        Ok(count)
    }

    fn score_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        batch: &NodeBatch<'_>,
        scores: &mut Vec<i64>,
    ) -> Result<(), Status> {
        let computed;
        let terms = match state.read::<PreferredTerms>(PRE_SCORE_KEY) {
            Some(terms) => terms,
            None => {
                computed = pod_preferred_terms(pod)?;
                &computed
            }
        };
        let added = self.added_preferred.as_ref();
        scores.extend(batch.nodes().iter().map(|node| added.map_or(0, |added| added.score(node)) + terms.score(node)));
        Ok(())
    }

    fn normalize_score(&self, _state: &CycleState, _pod: &PodInfo, scores: &mut [i64]) -> Status {
        normalize_to_max(false, scores)
    }
}
