//! InterPodAffinity: a Pod's required pod affinity and anti-affinity, and the required
//! anti-affinity of the Pods already running, decide which topology domains it may join
//! ([`filtering`]); preferred terms of both sides, and the required affinity of running Pods
//! weighted by `hardPodAffinityWeight`, rank the nodes ([`scoring`]).

mod dense_totals;
pub mod filtering;
pub mod scoring;
mod topology_counts;

#[cfg(test)]
mod dense_tests;
#[cfg(test)]
mod filtering_tests;
#[cfg(test)]
mod index_tests;
#[cfg(test)]
mod scoring_tests;

pub use topology_counts::TopologyCounts;

use serde::Deserialize;

use super::decode_args;
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
