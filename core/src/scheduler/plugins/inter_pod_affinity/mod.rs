//! InterPodAffinity: a Pod's required pod affinity and anti-affinity, and the required
//! anti-affinity of the Pods already running, decide which topology domains it may join
//! ([`filtering`]); preferred terms of both sides, and the required affinity of running Pods
//! weighted by `hardPodAffinityWeight`, rank the nodes ([`scoring`]).

mod dense_totals;
pub mod filtering;
pub mod scoring;

#[cfg(test)]
mod filtering_tests;
#[cfg(test)]
mod index_tests;
#[cfg(test)]
mod scoring_tests;

use std::collections::BTreeMap;

use serde::Deserialize;

use super::decode_args;
use crate::scheduler::fast_map::FastHashMap;
use crate::scheduler::framework::{
    ActionType, ClusterEvent, EventResource, FilterPlugin, Plugin, PreFilterPlugin, PreScorePlugin, ScorePlugin,
};
use crate::scheduler::listers::ClusterObjects;
use crate::scheduler::pod_affinity::AffinityTerm;
use crate::scheduler::registry::RegistryError;
use crate::selector::LabelSelector;

/// The plugin's registered name.
pub const NAME: &str = "InterPodAffinity";

/// The weight of a running Pod's required affinity term that the incoming Pod matches, when
/// scoring (`DefaultHardPodAffinitySymmetricWeight`).
pub const DEFAULT_HARD_POD_AFFINITY_WEIGHT: i64 = 1;

/// The largest `hardPodAffinityWeight` validation accepts.
pub const MAX_HARD_POD_AFFINITY_WEIGHT: i64 = 100;

/// InterPodAffinity's arguments (`InterPodAffinityArgs`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InterPodAffinityArgs {
    /// Weight of running Pods' required affinity terms in scoring; 0 to 100, default 1.
    #[serde(default)]
    pub hard_pod_affinity_weight: Option<i64>,
    /// Score only by the incoming Pod's own preferred terms.
    #[serde(default)]
    pub ignore_preferred_terms_of_existing_pods: bool,
}

/// Filters and scores by pod affinity and anti-affinity.
#[derive(Clone, Debug)]
pub struct InterPodAffinity {
    hard_pod_affinity_weight: i64,
    ignore_preferred_terms_of_existing_pods: bool,
}

impl Default for InterPodAffinity {
    fn default() -> InterPodAffinity {
        InterPodAffinity {
            hard_pod_affinity_weight: DEFAULT_HARD_POD_AFFINITY_WEIGHT,
            ignore_preferred_terms_of_existing_pods: false,
        }
    }
}

impl InterPodAffinity {
    /// Builds the plugin from its arguments, validated as `ValidateInterPodAffinityArgs` does.
    pub fn new(args: Option<&serde_json::Value>) -> Result<InterPodAffinity, RegistryError> {
        let args: InterPodAffinityArgs = decode_args(NAME, args)?;
        let weight = args.hard_pod_affinity_weight.unwrap_or(DEFAULT_HARD_POD_AFFINITY_WEIGHT);
        if !(0..=MAX_HARD_POD_AFFINITY_WEIGHT).contains(&weight) {
            return Err(RegistryError::InvalidArgsValue {
                plugin: NAME,
                message: format!(
                    "hardPodAffinityWeight: Invalid value: {weight}: not in valid range [0-{MAX_HARD_POD_AFFINITY_WEIGHT}]"
                ),
            });
        }
        Ok(InterPodAffinity {
            hard_pod_affinity_weight: weight,
            ignore_preferred_terms_of_existing_pods: args.ignore_preferred_terms_of_existing_pods,
        })
    }
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent {
                resource: EventResource::AssignedPod,
                action: ActionType::ADD.or(ActionType::UPDATE_POD_LABEL).or(ActionType::DELETE),
            },
            ClusterEvent { resource: EventResource::Node, action: ActionType::ADD.or(ActionType::UPDATE_NODE_LABEL) },
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

/// The incoming Pod's term with its namespace selector resolved to namespace names through the
/// lister (`mergeAffinityTermNamespacesIfNotEmpty`); a selector matching every namespace is kept.
pub(crate) fn merge_namespaces(term: &AffinityTerm, objects: &ClusterObjects) -> AffinityTerm {
    let mut merged = term.clone();
    if term.namespace_selector.is_empty() {
        return merged;
    }
    merged.namespaces.extend(objects.namespaces_matching(&term.namespace_selector).map(str::to_owned));
    merged.namespace_selector = LabelSelector::nothing();
    merged
}

/// Counts per topology key and value (Kubernetes' `topologyToMatchedTermCount`), looked up by
/// borrowed strings on the per-node path. Never iterated where order could show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopologyCounts(FastHashMap<String, FastHashMap<String, i64>>);

impl TopologyCounts {
    /// Adds `delta` to the node's domain of `topology_key`, if the node has that label; a count
    /// back at zero is removed.
    pub fn update(&mut self, node_labels: &BTreeMap<String, String>, topology_key: &str, delta: i64) {
        let Some(value) = node_labels.get(topology_key) else {
            return;
        };
        if !self.0.contains_key(topology_key) {
            self.0.insert(topology_key.to_owned(), FastHashMap::default());
        }
        let Some(values) = self.0.get_mut(topology_key) else {
            return;
        };
        let count = match values.get_mut(value.as_str()) {
            Some(count) => count,
            None => values.entry(value.clone()).or_insert(0),
        };
        *count += delta;
        if *count == 0 {
            values.remove(value.as_str());
            if values.is_empty() {
                self.0.remove(topology_key);
            }
        }
    }

    /// The count of one domain.
    pub fn get(&self, topology_key: &str, value: &str) -> i64 {
        self.0.get(topology_key).and_then(|values| values.get(value)).copied().unwrap_or(0)
    }

    /// Whether any domain of the node (any of its labels, by the topology keys counted) has a
    /// positive count; visits the few counted keys rather than every label of the node.
    pub fn any_in_domains_of(&self, node_labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().any(|(key, values)| {
            node_labels.get(key).and_then(|value| values.get(value.as_str())).is_some_and(|count| *count > 0)
        })
    }

    /// Whether no domain has a count.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The counted topology keys, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The counts of one topology key by value.
    pub fn values_of(&self, topology_key: &str) -> Option<&FastHashMap<String, i64>> {
        self.0.get(topology_key)
    }

    /// Every `(key, value)` count, sorted: for tests and traces.
    pub fn pairs(&self) -> BTreeMap<(String, String), i64> {
        self.0
            .iter()
            .flat_map(|(key, values)| values.iter().map(move |(value, count)| ((key.clone(), value.clone()), *count)))
            .collect()
    }
}
