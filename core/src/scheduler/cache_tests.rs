//! The cache's assumed-pod expiry, ported from kube-scheduler's `TestExpirePod`
//! (pkg/scheduler/backend/cache/cache_test.go): a finished binding expires `ttl` after it
//! finished unless the watch confirmed it; an unfinished one never does.

use std::sync::Arc;
use std::time::Duration;

use super::Cache;
use crate::jiff::{SignedDuration, Timestamp};
use crate::scheduler::node_info::PodKey;
use crate::scheduler::testing::make_pod;

const TTL: Duration = Duration::from_secs(10);

fn at(seconds: i64) -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_secs(seconds)
}

/// Assumes `name` on node-a at `assumed_seconds`, finishing its binding if asked.
fn assume(cache: &mut Cache, name: &str, finish_binding_at: Option<i64>) -> PodKey {
    let info = Arc::new(make_pod(name).node("node-a").req(&[("cpu", "100m")]).info());
    let key = info.key.clone();
    cache.assume_pod(info).expect("a new pod is assumed");
    if let Some(seconds) = finish_binding_at {
        cache.finish_binding(&key, at(seconds)).expect("an assumed pod finishes binding");
    }
    key
}

fn pods_on_node_a(cache: &Cache) -> usize {
    cache.node_info("node-a").map_or(0, |info| info.pods.len())
}

#[test]
fn an_assumed_pod_expires_once_its_binding_is_older_than_the_ttl() {
    // Row 1 of TestExpirePod: the assumed pod would expire.
    let mut cache = Cache::with_assumed_pod_expiration(TTL);
    let key = assume(&mut cache, "test-1", Some(0));
    assert!(cache.cleanup_expired_assumed_pods(at(9)).is_empty(), "not before the ttl");
    assert_eq!(cache.cleanup_expired_assumed_pods(at(20)), vec![key.clone()]);
    assert!(!cache.is_assumed(&key));
    assert_eq!(pods_on_node_a(&cache), 0);
    assert_eq!(cache.pod_count(), 0);
}

#[test]
fn only_the_bindings_past_their_deadline_expire_and_unfinished_ones_never_do() {
    // Row 2 of TestExpirePod: the first expires; the second (bound later) and the third (binding
    // not finished) stay.
    let mut cache = Cache::with_assumed_pod_expiration(TTL);
    let first = assume(&mut cache, "test-1", Some(0));
    let second = assume(&mut cache, "test-2", Some(15));
    let third = assume(&mut cache, "test-3", None);
    assert_eq!(cache.cleanup_expired_assumed_pods(at(20)), vec![first]);
    assert!(cache.is_assumed(&second) && cache.is_assumed(&third));
    assert_eq!(pods_on_node_a(&cache), 2);
    assert_eq!(cache.cleanup_expired_assumed_pods(at(25)), vec![second]);
    assert!(cache.cleanup_expired_assumed_pods(at(10_000)).is_empty(), "an unfinished binding never expires");
    assert!(cache.is_assumed(&third));
}

#[test]
fn a_confirmed_or_forgotten_assumption_no_longer_expires() {
    let mut cache = Cache::with_assumed_pod_expiration(TTL);
    let confirmed = assume(&mut cache, "test-1", Some(0));
    let forgotten = assume(&mut cache, "test-2", Some(0));
    let info = Arc::new(make_pod("test-1").node("node-a").req(&[("cpu", "100m")]).info());
    cache.add_pod(info).expect("the watch confirms the assumption");
    cache.forget_pod(&forgotten).expect("the assumption is forgotten");
    assert!(cache.cleanup_expired_assumed_pods(at(100)).is_empty());
    assert!(!cache.is_assumed(&confirmed));
    assert_eq!(pods_on_node_a(&cache), 1, "the confirmed pod stays accounted");
}

#[test]
fn with_kubernetes_zero_expiration_nothing_ever_expires() {
    let mut cache = Cache::new();
    let key = assume(&mut cache, "test-1", Some(0));
    assert!(cache.cleanup_expired_assumed_pods(at(1_000_000)).is_empty());
    assert!(cache.is_assumed(&key));
}
