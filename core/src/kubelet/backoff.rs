//! The kubelet's back-off (client-go's `flowcontrol.Backoff` with the kubelet's settings), used
//! for restarting crashed containers (CrashLoopBackOff) and for retrying failed image pulls
//! (ImagePullBackOff): 10 s doubling to 300 s, forgotten after 10 min without use.
//!
//! As in Kubernetes, a container's first restart is immediate (there is no entry yet, so it is
//! not in back-off; the restart records 10 s); the second waits 10 s, then 20 s, 40 s, … 300 s.
//! A container that ran more than 10 min since its last restart starts over.

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// The first delay (`backOffPeriod`, 10 s).
pub const BACKOFF_INITIAL: Duration = Duration::from_secs(10);
/// The longest delay (`MaxContainerBackOff`, 300 s).
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// An entry idle longer than this starts over (`2 × maxDuration`, 10 min).
pub const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(600);

/// One key's back-off entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backoff {
    entry: Option<(Duration, Timestamp)>,
}

fn elapsed(from: Timestamp, to: Timestamp) -> Duration {
    let signed = to.duration_since(from);
    if signed.is_negative() { Duration::ZERO } else { signed.unsigned_abs() }
}

impl Backoff {
    /// Whether the entry is too old to count (`hasExpired`).
    fn expired(&self, event_time: Timestamp) -> bool {
        self.entry.is_none_or(|(_, last_update)| elapsed(last_update, event_time) > BACKOFF_RESET_AFTER)
    }

    /// Whether something that happened at `event_time` must still wait at `now`
    /// (`IsInBackOffSince`): the crash-loop check, with the container's finish time.
    pub fn in_backoff_since(&self, event_time: Timestamp, now: Timestamp) -> bool {
        match self.entry {
            Some((backoff, _)) if !self.expired(event_time) => elapsed(event_time, now) < backoff,
            _ => false,
        }
    }

    /// Whether the last update is too recent at `now` (`IsInBackOffSinceUpdate`): the image pull
    /// check.
    pub fn in_backoff_since_update(&self, now: Timestamp) -> bool {
        match self.entry {
            Some((backoff, last_update)) if !self.expired(now) => elapsed(last_update, now) < backoff,
            _ => false,
        }
    }

    /// Records an attempt at `at` (`Next`): the delay starts at 10 s and doubles to 300 s.
    pub fn next(&mut self, at: Timestamp) {
        let backoff = match self.entry {
            Some((backoff, _)) if !self.expired(at) => backoff.saturating_mul(2).min(BACKOFF_MAX),
            _ => BACKOFF_INITIAL,
        };
        self.entry = Some((backoff, at));
    }

    /// The current delay.
    pub fn delay(&self) -> Duration {
        self.entry.map_or(BACKOFF_INITIAL, |(backoff, _)| backoff)
    }

    /// When the last recorded attempt's delay ends (the next pull may go then).
    pub fn retry_at(&self) -> Option<Timestamp> {
        self.entry.map(|(_, last_update)| self.until(last_update))
    }

    /// When the wait that started at `from` ends.
    pub fn until(&self, from: Timestamp) -> Timestamp {
        let delay = SignedDuration::try_from(self.delay()).unwrap_or(SignedDuration::MAX);
        from.saturating_add(delay).unwrap_or(Timestamp::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + seconds).unwrap()
    }

    /// The crash-loop sequence of `TestSyncPodBackoff` (pkg/kubelet/kuberuntime): no back-off on
    /// the first restart, then 10 s, 20 s, … capped at 300 s.
    #[test]
    fn restarts_wait_nothing_then_ten_seconds_doubling_to_five_minutes() {
        let mut backoff = Backoff::default();
        let mut now = at(0);
        let mut waits = Vec::new();
        for _ in 0..8 {
            // The container crashes at `now`; it waits until the back-off allows a restart.
            let finished = now;
            let wait = if backoff.in_backoff_since(finished, now) { backoff.delay().as_secs() } else { 0 };
            waits.push(wait);
            now = finished + SignedDuration::from_secs(wait as i64);
            backoff.next(finished);
            now += SignedDuration::from_secs(1);
        }
        assert_eq!(waits, vec![0, 10, 20, 40, 80, 160, 300, 300]);
    }

    #[test]
    fn an_entry_idle_for_ten_minutes_starts_over() {
        let mut backoff = Backoff::default();
        for second in 0..5 {
            backoff.next(at(second));
        }
        assert_eq!(backoff.delay(), Duration::from_secs(160));
        assert!(!backoff.in_backoff_since(at(4 + 601), at(4 + 601)));
        backoff.next(at(4 + 601));
        assert_eq!(backoff.delay(), BACKOFF_INITIAL);
    }

    #[test]
    fn a_pull_is_in_back_off_until_the_delay_since_the_last_failure_passed() {
        let mut backoff = Backoff::default();
        assert!(!backoff.in_backoff_since_update(at(0)));
        backoff.next(at(0));
        assert!(backoff.in_backoff_since_update(at(9)));
        assert!(!backoff.in_backoff_since_update(at(10)));
    }
}
