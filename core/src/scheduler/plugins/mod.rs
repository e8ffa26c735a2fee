//! The in-tree plugins, one file each, with kube-scheduler 1.32's names, semantics and score
//! formulas, plus the helpers several share.

pub mod default_binder;
pub mod default_preemption;
pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_balanced_allocation;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod node_volume_limits;
pub mod pod_topology_spread;
pub mod preemption_dry_run;
pub mod priority_sort;
pub mod resource_allocation;
pub mod scheduling_gates;
pub mod taint_toleration;
pub mod volume_binding;
pub mod volume_helpers;
pub mod volume_restrictions;
#[cfg(test)]
pub mod volume_testing;
pub mod volume_zone;

use super::framework::{Code, Status};
use super::limits::MAX_NODE_SCORE;

/// Rescales scores to `[0, max_priority]` by the highest one, optionally reversed
/// (`helper.DefaultNormalizeScore`): all zero stays zero, or becomes `max_priority` reversed.
pub fn default_normalize_score(max_priority: i64, reverse: bool, scores: &mut [i64]) -> Status {
    let max_count = scores.iter().copied().max().unwrap_or(0);
    if max_count == 0 {
        if reverse {
            scores.iter_mut().for_each(|score| *score = max_priority);
        }
        return Status::success();
    }
    for score in scores.iter_mut() {
        *score = max_priority * *score / max_count;
        if reverse {
            *score = max_priority - *score;
        }
    }
    Status::success()
}

/// The status Filter plugins return when the framework handed them a NodeInfo without a Node.
pub fn node_not_found() -> Status {
    Status::new(Code::Error, "node not found")
}

/// [`default_normalize_score`] with [`MAX_NODE_SCORE`].
pub fn normalize_to_max(reverse: bool, scores: &mut [i64]) -> Status {
    default_normalize_score(MAX_NODE_SCORE, reverse, scores)
}

/// Reads plugin arguments from their configuration value, strictly (unknown fields refused).
pub fn decode_args<T: serde::de::DeserializeOwned + Default>(
    plugin: &'static str,
    args: Option<&serde_json::Value>,
) -> Result<T, super::registry::RegistryError> {
    match args {
        None => Ok(T::default()),
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|source| super::registry::RegistryError::InvalidArgs { plugin, source }),
    }
}
