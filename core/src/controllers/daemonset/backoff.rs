//! The back-off between deletions of failed daemon pods on one node, so a DaemonSet does not
//! hot-loop against a kubelet that keeps rejecting its pod (Kubernetes' `failedPodsBackoff`, a
//! `flowcontrol.Backoff` of 1 s doubling to 15 min). Kubernetes keeps it in memory; here it is
//! an explicit value the shell owns and passes to every reconcile, like the expectations.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// The first delay after a failed pod was deleted on a node.
pub const FAILED_POD_BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// The longest delay.
pub const FAILED_POD_BACKOFF_MAX: Duration = Duration::from_secs(15 * 60);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    delay: Duration,
    last_update: Timestamp,
}

/// Back-off per `<daemon set uid>/<observed generation>/<node>` key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FailedPodsBackoff {
    entries: BTreeMap<String, Entry>,
}

fn signed(duration: Duration) -> SignedDuration {
    SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX)
}

impl FailedPodsBackoff {
    /// No back-off anywhere.
    pub fn new() -> FailedPodsBackoff {
        FailedPodsBackoff::default()
    }

    /// The key of one node of one DaemonSet generation (`failedPodsBackoffKey`).
    pub fn key(daemon_set_uid: &str, observed_generation: i64, node_name: &str) -> String {
        format!("{daemon_set_uid}/{observed_generation}/{node_name}")
    }

    /// The current delay of `key`, zero when it has none.
    pub fn get(&self, key: &str) -> Duration {
        self.entries.get(key).map_or(Duration::ZERO, |entry| entry.delay)
    }

    /// Whether less than the current delay has passed since the last deletion
    /// (`IsInBackOffSinceUpdate`).
    pub fn is_in_back_off_since_update(&self, key: &str, now: Timestamp) -> bool {
        self.entries.get(key).is_some_and(|entry| now.duration_since(entry.last_update) < signed(entry.delay))
    }

    /// Records a deletion at `now`: the first (or the first after twice the maximum of quiet)
    /// starts at the initial delay, each next one doubles it up to the maximum (`Next`).
    pub fn next(&mut self, key: &str, now: Timestamp) {
        let delay = match self.entries.get(key) {
            Some(entry) if now.duration_since(entry.last_update) <= signed(2 * FAILED_POD_BACKOFF_MAX) => {
                (entry.delay * 2).min(FAILED_POD_BACKOFF_MAX)
            }
            _ => FAILED_POD_BACKOFF_INITIAL,
        };
        self.entries.insert(key.to_string(), Entry { delay, last_update: now });
    }

    /// Forgets entries quiet for more than twice the maximum delay (`GC`).
    pub fn collect_garbage(&mut self, now: Timestamp) {
        self.entries.retain(|_, entry| now.duration_since(entry.last_update) <= signed(2 * FAILED_POD_BACKOFF_MAX));
    }
}
