//! client-go's rate-limited work queue as a value: keys are deduplicated (a key added while
//! queued is queued once; added while being processed, it is queued again when processing ends,
//! so one key is never worked on twice at once), delayed adds wait for their time, and failures
//! back off per key exponentially from 5 ms to 1000 s combined with an overall 10/s token bucket
//! with a burst of 100 — client-go's `DefaultControllerRateLimiter`. Time is always a parameter.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// First per-key retry delay (client-go: 5 ms).
pub const RETRY_BASE_DELAY: Duration = Duration::from_millis(5);

/// Longest per-key retry delay (client-go: 1000 s).
pub const RETRY_MAX_DELAY: Duration = Duration::from_secs(1000);

/// Sustained retries per second across all keys (client-go's bucket: 10 qps).
pub const RETRY_BUCKET_QPS: f64 = 10.0;

/// Retries allowed at once before the bucket throttles (client-go's bucket: burst 100).
pub const RETRY_BUCKET_BURST: f64 = 100.0;

/// A deduplicating, delaying, rate-limiting queue of keys (`namespace/name`).
#[derive(Clone, Debug, Default)]
pub struct WorkQueue {
    queue: VecDeque<String>,
    dirty: BTreeSet<String>,
    processing: BTreeSet<String>,
    waiting: BTreeMap<(Timestamp, u64), String>,
    waiting_since: BTreeMap<String, (Timestamp, u64)>,
    sequence: u64,
    failures: BTreeMap<String, u32>,
    bucket: Option<(f64, Timestamp)>,
}

impl WorkQueue {
    /// An empty queue.
    pub fn new() -> WorkQueue {
        WorkQueue::default()
    }

    /// Queues `key` now, unless it is already queued.
    pub fn add(&mut self, key: &str) {
        if self.dirty.contains(key) {
            return;
        }
        self.dirty.insert(key.to_string());
        if !self.processing.contains(key) {
            self.queue.push_back(key.to_string());
        }
    }

    /// Queues `key` once `delay` has passed after `now`; an earlier pending time wins.
    pub fn add_after(&mut self, key: &str, delay: Duration, now: Timestamp) {
        if delay.is_zero() {
            self.add(key);
            return;
        }
        let at = now + SignedDuration::try_from(delay).unwrap_or(SignedDuration::MAX);
        if let Some(&(pending, sequence)) = self.waiting_since.get(key) {
            if pending <= at {
                return;
            }
            self.waiting.remove(&(pending, sequence));
        }
        self.sequence += 1;
        self.waiting.insert((at, self.sequence), key.to_string());
        self.waiting_since.insert(key.to_string(), (at, self.sequence));
    }

    /// Queues `key` after its rate-limited delay: per-key exponential back-off, or the bucket's
    /// wait when that is longer (client-go's `AddRateLimited`).
    pub fn add_rate_limited(&mut self, key: &str, now: Timestamp) {
        let delay = self.when(key, now);
        self.add_after(key, delay, now);
    }

    /// Clears `key`'s failure count after a successful sync (`Forget`).
    pub fn forget(&mut self, key: &str) {
        self.failures.remove(key);
    }

    /// How many times `key` was requeued for failures since it last succeeded.
    pub fn num_requeues(&self, key: &str) -> u32 {
        self.failures.get(key).copied().unwrap_or(0)
    }

    /// Takes the next key due at `now`, marking it as being processed (`Get`).
    pub fn pop(&mut self, now: Timestamp) -> Option<String> {
        self.promote_due(now);
        let key = self.queue.pop_front()?;
        self.dirty.remove(&key);
        self.processing.insert(key.clone());
        Some(key)
    }

    /// Ends processing of `key`; if it was added meanwhile it is queued again (`Done`).
    pub fn done(&mut self, key: &str) {
        self.processing.remove(key);
        if self.dirty.contains(key) {
            self.queue.push_back(key.to_string());
        }
    }

    /// Keys ready to be taken (not counting delayed ones).
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no key is ready.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether `key` is being processed.
    pub fn is_processing(&self, key: &str) -> bool {
        self.processing.contains(key)
    }

    /// When the earliest delayed key becomes due.
    pub fn next_wake(&self) -> Option<Timestamp> {
        self.waiting.keys().next().map(|(at, _)| *at)
    }

    fn promote_due(&mut self, now: Timestamp) {
        while let Some(entry) = self.waiting.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            self.waiting_since.remove(&key);
            self.add(&key);
        }
    }

    fn when(&mut self, key: &str, now: Timestamp) -> Duration {
        let failures = self.failures.entry(key.to_string()).or_insert(0);
        let exponent = (*failures).min(40);
        *failures += 1;
        let per_key = RETRY_BASE_DELAY.checked_mul(1u32 << exponent.min(31)).unwrap_or(RETRY_MAX_DELAY);
        let per_key = if exponent > 31 { RETRY_MAX_DELAY } else { per_key.min(RETRY_MAX_DELAY) };
        per_key.max(self.bucket_delay(now))
    }

    /// Takes one token from the bucket; the wait until that token exists.
    fn bucket_delay(&mut self, now: Timestamp) -> Duration {
        let (tokens, last) = self.bucket.unwrap_or((RETRY_BUCKET_BURST, now));
        let elapsed = now.duration_since(last).as_secs_f64().max(0.0);
        let tokens = (tokens + elapsed * RETRY_BUCKET_QPS).min(RETRY_BUCKET_BURST) - 1.0;
        self.bucket = Some((tokens, now));
        if tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-tokens / RETRY_BUCKET_QPS) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millisecond(1_700_000_000_000 + millis).unwrap()
    }

    #[test]
    fn a_key_added_twice_is_queued_once() {
        let mut queue = WorkQueue::new();
        queue.add("a/x");
        queue.add("a/x");
        queue.add("a/y");
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.pop(at(0)).as_deref(), Some("a/x"));
        assert_eq!(queue.pop(at(0)).as_deref(), Some("a/y"));
        assert_eq!(queue.pop(at(0)), None);
    }

    #[test]
    fn a_key_added_while_processing_comes_back_only_after_done() {
        let mut queue = WorkQueue::new();
        queue.add("a/x");
        let key = queue.pop(at(0)).unwrap();
        queue.add("a/x");
        assert_eq!(queue.pop(at(0)), None, "never processed twice at once");
        queue.done(&key);
        assert_eq!(queue.pop(at(0)).as_deref(), Some("a/x"));
    }

    #[test]
    fn a_delayed_key_waits_for_its_time_and_the_earlier_time_wins() {
        let mut queue = WorkQueue::new();
        queue.add_after("a/x", Duration::from_secs(10), at(0));
        queue.add_after("a/x", Duration::from_secs(5), at(0));
        queue.add_after("a/x", Duration::from_secs(20), at(0));
        assert_eq!(queue.next_wake(), Some(at(5_000)));
        assert_eq!(queue.pop(at(4_999)), None);
        assert_eq!(queue.pop(at(5_000)).as_deref(), Some("a/x"));
        assert_eq!(queue.next_wake(), None);
    }

    #[test]
    fn failures_back_off_from_5_ms_doubling_to_1000_s_and_forget_resets() {
        let mut queue = WorkQueue::new();
        let mut delays = Vec::new();
        for _ in 0..20 {
            delays.push(queue.when("a/x", at(0)));
        }
        assert_eq!(delays[0], Duration::from_millis(5));
        assert_eq!(delays[1], Duration::from_millis(10));
        assert_eq!(delays[2], Duration::from_millis(20));
        assert_eq!(delays[10], Duration::from_millis(5 * 1024));
        assert_eq!(delays[19], RETRY_MAX_DELAY);
        assert_eq!(queue.num_requeues("a/x"), 20);
        queue.forget("a/x");
        assert_eq!(queue.when("a/x", at(0)), Duration::from_millis(5));
    }

    #[test]
    fn the_bucket_throttles_retries_after_a_burst_of_100_across_keys() {
        let mut queue = WorkQueue::new();
        for index in 0..100 {
            assert_eq!(queue.when(&format!("k{index}"), at(0)), Duration::from_millis(5));
        }
        // The 101st retry in the same instant waits for one token at 10 per second.
        assert_eq!(queue.when("k100", at(0)), Duration::from_millis(100));
        // A second later ten tokens have come back.
        assert_eq!(queue.when("k101", at(1_000)), Duration::from_millis(5));
    }
}
