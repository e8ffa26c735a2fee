//! Zones and their eviction rate: a node's zone key, a zone's state from its nodes' Ready
//! conditions (`ComputeZoneState`), and the per-zone token bucket that paces how fast nodes get
//! NoExecute taints (`RateLimitedTimedQueue` with a burst of one).

use k8s_openapi::api::core::v1::Node;

/// The node label naming its zone.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The node label naming its region.
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";

/// A zone's health, as Kubernetes names the states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneState {
    /// Seen for the first time; no limiter decision made yet.
    Initial,
    /// Few enough nodes are not Ready.
    Normal,
    /// More than two nodes and at least `unhealthyZoneThreshold` of them are not Ready.
    PartialDisruption,
    /// No node of the zone is Ready.
    FullDisruption,
}

/// `GetZoneKey`: `region:\0:zone`, or empty for a node with neither label.
pub fn zone_key(node: &Node) -> String {
    let labels = node.metadata.labels.as_ref();
    let label = |key: &str| labels.and_then(|labels| labels.get(key)).cloned().unwrap_or_default();
    let (region, zone) = (label(REGION_LABEL), label(ZONE_LABEL));
    if region.is_empty() && zone.is_empty() { String::new() } else { format!("{region}:\u{0}:{zone}") }
}

/// `ComputeZoneState`: the number of not-Ready nodes (a missing condition counts as not Ready)
/// and the zone's state. `ready` holds one entry per node: whether its Ready condition is True.
pub fn compute_zone_state(ready: &[bool], unhealthy_zone_threshold: f64) -> (usize, ZoneState) {
    let ready_nodes = ready.iter().filter(|ready| **ready).count();
    let not_ready_nodes = ready.len() - ready_nodes;
    let state = if ready_nodes == 0 && not_ready_nodes > 0 {
        ZoneState::FullDisruption
    } else if not_ready_nodes > 2 && not_ready_nodes as f64 / ready.len() as f64 >= unhealthy_zone_threshold {
        ZoneState::PartialDisruption
    } else {
        ZoneState::Normal
    };
    (not_ready_nodes, state)
}

pub use crate::client::token_bucket::TokenBucket;

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn at(seconds: f64) -> Timestamp {
        Timestamp::from_second(1_700_000_000).unwrap() + k8s_openapi::jiff::SignedDuration::from_secs_f64(seconds)
    }

    // TestComputeZoneState-style rows from node_lifecycle_controller_test.go (threshold 0.55).
    #[test]
    fn zone_state_follows_the_share_of_not_ready_nodes() {
        let rows: &[(&[bool], usize, ZoneState)] = &[
            (&[true, true, true], 0, ZoneState::Normal),
            (&[false, false, true], 2, ZoneState::Normal),
            (&[false, false, false, true], 3, ZoneState::PartialDisruption),
            (&[false, false, false, true, true, true], 3, ZoneState::Normal),
            (&[false, false, false, false, true, true, true], 4, ZoneState::PartialDisruption),
            (&[false], 1, ZoneState::FullDisruption),
            (&[false, false, false], 3, ZoneState::FullDisruption),
            (&[], 0, ZoneState::Normal),
        ];
        for (ready, not_ready, state) in rows {
            assert_eq!(compute_zone_state(ready, 0.55), (*not_ready, *state), "{ready:?}");
        }
    }

    #[test]
    fn a_bucket_gives_one_token_then_one_per_period() {
        let mut bucket = TokenBucket::new(0.1, at(0.0));
        assert!(bucket.try_accept(at(0.0)));
        assert!(!bucket.try_accept(at(9.9)));
        assert!(bucket.try_accept(at(10.0)));
        assert_eq!(bucket.seconds_until_token(at(15.0)), Some(5.0));
        let mut stopped = TokenBucket::new(0.0, at(0.0));
        assert!(!stopped.try_accept(at(1000.0)));
        assert_eq!(stopped.seconds_until_token(at(0.0)), None);
    }

    #[test]
    fn swapping_the_rate_keeps_an_unused_token_only() {
        let mut bucket = TokenBucket::new(0.1, at(0.0));
        bucket.swap(0.01, at(0.0));
        assert!(bucket.try_accept(at(0.0)));
        assert!(!bucket.try_accept(at(99.0)));
        bucket.swap(0.1, at(99.0));
        assert!(!bucket.try_accept(at(99.0)));
        assert!(bucket.try_accept(at(109.0)));
    }

    #[test]
    fn the_zone_key_joins_region_and_zone() {
        let node: Node = serde_json::from_value(serde_json::json!({"metadata": {"name": "a", "labels": {
            REGION_LABEL: "r1", ZONE_LABEL: "z1"}}}))
        .unwrap();
        assert_eq!(zone_key(&node), "r1:\u{0}:z1");
        assert_eq!(zone_key(&Node::default()), "");
    }
}
