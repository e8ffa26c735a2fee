//! LimitRange defaults (`SetDefaults_LimitRangeItem` in `pkg/apis/core/v1/defaults.go`): a
//! Container item's default limit falls back to its max, its default request to its default
//! limit and then to its min.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{LimitRange, LimitRangeItem};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// Defaults every item of the LimitRange.
pub fn default_limit_range(limit_range: &mut LimitRange) {
    for item in limit_range.spec.iter_mut().flat_map(|spec| spec.limits.iter_mut()) {
        default_limit_range_item(item);
    }
}

fn fill(target: &mut Option<BTreeMap<String, Quantity>>, from: Option<&BTreeMap<String, Quantity>>) {
    for (name, quantity) in from.into_iter().flatten() {
        let map = target.get_or_insert_with(BTreeMap::new);
        map.entry(name.clone()).or_insert_with(|| quantity.clone());
    }
}

/// `SetDefaults_LimitRangeItem`, for items of type Container.
pub fn default_limit_range_item(item: &mut LimitRangeItem) {
    if item.type_ != "Container" {
        return;
    }
    fill(&mut item.default, item.max.as_ref());
    let default = item.default.clone();
    fill(&mut item.default_request, default.as_ref());
    fill(&mut item.default_request, item.min.as_ref());
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `TestSetDefaultLimitRangeItem` (`pkg/apis/core/v1/defaults_test.go`).
    #[test]
    fn a_container_item_defaults_from_max_and_min() {
        let mut item: LimitRangeItem = serde_json::from_value(json!({"type": "Container",
            "max": {"cpu": "100m"}, "min": {"cpu": "50m", "memory": "100Mi"}, "default": {"memory": "200Mi"}}))
        .unwrap();
        default_limit_range_item(&mut item);
        assert_eq!(serde_json::to_value(&item.default).unwrap(), json!({"cpu": "100m", "memory": "200Mi"}));
        assert_eq!(serde_json::to_value(&item.default_request).unwrap(), json!({"cpu": "100m", "memory": "200Mi"}));
        let mut pod_item: LimitRangeItem = serde_json::from_value(json!({"type": "Pod", "max": {"cpu": "1"}})).unwrap();
        default_limit_range_item(&mut pod_item);
        assert_eq!(pod_item.default, None, "only Container items are defaulted");
    }
}
