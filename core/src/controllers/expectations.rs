//! Kubernetes' `ControllerExpectations`, made an explicit value: how many creations and which
//! deletions a controller is still waiting to see, per controller key, so that a slow watch does
//! not make it create or delete twice.
//!
//! The shell owns one [`ControllerExpectations`] per controller kind, passes it to each reconcile
//! (which raises expectations for the actions it returns) and lowers them as its watch observes
//! pods appear and disappear, or when an action fails or is skipped. Expectations live only in
//! memory, as in Kubernetes: after a restart the informer caches start synced, so there is nothing
//! in flight to wait for.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// How long an unmet expectation blocks a controller before it syncs anyway: five minutes, as
/// Kubernetes' `ExpectationsTimeout`, so a lost watch event cannot wedge a controller forever.
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// What one controller key is waiting for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expectation {
    /// Creations not yet observed.
    pub adds: i64,
    /// Deletions not yet observed.
    pub deletes: i64,
    /// Keys (`namespace/name`) of the objects whose deletion is awaited.
    pub delete_keys: BTreeSet<String>,
    /// When the expectation was set.
    pub set_at: Option<Timestamp>,
}

impl Expectation {
    /// Every expected creation and deletion was observed.
    pub fn fulfilled(&self) -> bool {
        self.adds <= 0 && self.deletes <= 0
    }

    /// Older than [`EXPECTATIONS_TIMEOUT`] at `now`.
    pub fn expired(&self, now: Timestamp) -> bool {
        let Some(set_at) = self.set_at else { return true };
        let timeout = SignedDuration::from_secs(EXPECTATIONS_TIMEOUT.as_secs() as i64);
        now.duration_since(set_at) > timeout
    }
}

/// Expectations for every key of one controller (`namespace/name` of the ReplicaSet).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControllerExpectations {
    by_key: BTreeMap<String, Expectation>,
}

impl ControllerExpectations {
    /// No expectations.
    pub fn new() -> ControllerExpectations {
        ControllerExpectations::default()
    }

    /// The expectation recorded for a key, if any.
    pub fn get(&self, key: &str) -> Option<&Expectation> {
        self.by_key.get(key)
    }

    /// Whether the controller may act on `key` now: nothing is recorded, everything expected was
    /// observed, or the record is older than the timeout (`SatisfiedExpectations`).
    pub fn satisfied(&self, key: &str, now: Timestamp) -> bool {
        match self.by_key.get(key) {
            None => true,
            Some(expectation) => expectation.fulfilled() || expectation.expired(now),
        }
    }

    /// How long until an unmet expectation for `key` times out; `None` if it does not block.
    pub fn time_until_expiry(&self, key: &str, now: Timestamp) -> Option<Duration> {
        let expectation = self.by_key.get(key)?;
        if expectation.fulfilled() || expectation.expired(now) {
            return None;
        }
        let set_at = expectation.set_at?;
        let waited = Duration::try_from(now.duration_since(set_at)).unwrap_or(Duration::ZERO);
        Some(EXPECTATIONS_TIMEOUT.saturating_sub(waited))
    }

    /// Expects `count` creations for `key`, replacing any earlier expectation (`ExpectCreations`).
    pub fn expect_creations(&mut self, key: &str, count: usize, now: Timestamp) {
        let expectation = Expectation { adds: count as i64, set_at: Some(now), ..Expectation::default() };
        self.by_key.insert(key.to_string(), expectation);
    }

    /// Expects the deletion of the objects with these keys (`UIDTrackingControllerExpectations`).
    pub fn expect_deletions(&mut self, key: &str, delete_keys: &[String], now: Timestamp) {
        let delete_keys: BTreeSet<String> = delete_keys.iter().cloned().collect();
        let expectation = Expectation { adds: 0, deletes: delete_keys.len() as i64, delete_keys, set_at: Some(now) };
        self.by_key.insert(key.to_string(), expectation);
    }

    /// Expects `creations` creations and the deletion of the objects with `delete_keys` from one
    /// sync together, replacing any earlier expectation (`SetExpectations(key, add, del)`): a
    /// DaemonSet's surge update creates and deletes in one sync, and must wait for both.
    pub fn set_expectations(&mut self, key: &str, creations: usize, delete_keys: &[String], now: Timestamp) {
        let delete_keys: BTreeSet<String> = delete_keys.iter().cloned().collect();
        let expectation =
            Expectation { adds: creations as i64, deletes: delete_keys.len() as i64, delete_keys, set_at: Some(now) };
        self.by_key.insert(key.to_string(), expectation);
    }

    /// One expected creation was observed, or will never happen (it failed or was skipped).
    pub fn creation_observed(&mut self, key: &str) {
        if let Some(expectation) = self.by_key.get_mut(key) {
            expectation.adds -= 1;
        }
    }

    /// The object `deleted_key` was seen deleted (or its deletion failed); counts only if its
    /// deletion was expected, so a stranger's deletion does not unblock the controller.
    pub fn deletion_observed(&mut self, key: &str, deleted_key: &str) {
        if let Some(expectation) = self.by_key.get_mut(key)
            && expectation.delete_keys.remove(deleted_key)
        {
            expectation.deletes -= 1;
        }
    }

    /// Forgets `key` (its controller was deleted).
    pub fn forget(&mut self, key: &str) {
        self.by_key.remove(key);
    }

    /// Lowers the expectations of the actions that will never be observed because they failed
    /// or were skipped after a failed batch.
    pub fn actions_not_done(&mut self, key: &str, actions: &[super::Action]) {
        for action in actions {
            match action {
                super::Action::Create { .. } => self.creation_observed(key),
                super::Action::Delete { namespace, name, .. } => {
                    self.deletion_observed(key, &format!("{namespace}/{name}"));
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    #[test]
    fn a_key_without_expectations_is_satisfied() {
        assert!(ControllerExpectations::new().satisfied("default/web", at(0)));
    }

    #[test]
    fn creations_block_until_each_is_observed() {
        let mut expectations = ControllerExpectations::new();
        expectations.expect_creations("default/web", 2, at(0));
        assert!(!expectations.satisfied("default/web", at(1)));
        expectations.creation_observed("default/web");
        assert!(!expectations.satisfied("default/web", at(1)));
        expectations.creation_observed("default/web");
        assert!(expectations.satisfied("default/web", at(1)));
    }

    #[test]
    fn an_unmet_expectation_expires_after_five_minutes() {
        let mut expectations = ControllerExpectations::new();
        expectations.expect_creations("default/web", 1, at(0));
        assert!(!expectations.satisfied("default/web", at(300)));
        assert_eq!(expectations.time_until_expiry("default/web", at(100)), Some(Duration::from_secs(200)));
        assert!(expectations.satisfied("default/web", at(301)));
    }

    // Kubernetes' TestControllerExpectations: SetExpectations(key, adds, dels) waits for both;
    // observing every creation leaves the deletions pending.
    #[test]
    fn creations_and_deletions_of_one_sync_are_awaited_together() {
        let mut expectations = ControllerExpectations::new();
        expectations.set_expectations("default/ds", 1, &["default/ds-old".to_string()], at(0));
        expectations.creation_observed("default/ds");
        assert!(!expectations.satisfied("default/ds", at(1)), "the deletion is still pending");
        expectations.deletion_observed("default/ds", "default/ds-old");
        assert!(expectations.satisfied("default/ds", at(1)));
        expectations.set_expectations("default/ds", 0, &[], at(2));
        assert!(expectations.satisfied("default/ds", at(2)), "nothing expected is satisfied at once");
    }

    #[test]
    fn only_expected_deletions_count() {
        let mut expectations = ControllerExpectations::new();
        let keys = vec!["default/web-a".to_string(), "default/web-b".to_string()];
        expectations.expect_deletions("default/web", &keys, at(0));
        expectations.deletion_observed("default/web", "default/other");
        expectations.deletion_observed("default/web", "default/web-a");
        expectations.deletion_observed("default/web", "default/web-a");
        assert!(!expectations.satisfied("default/web", at(1)));
        expectations.deletion_observed("default/web", "default/web-b");
        assert!(expectations.satisfied("default/web", at(1)));
    }
}
