//! When a shell compacts its store's history: kube-apiserver's policy of compacting, every
//! [`WATCH_WINDOW_SECONDS`], to the revision that was current one interval earlier. Pure: the
//! shell passes the time and the store's revision, and calls [`super::Store::compact`] with
//! what comes back.

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::types::Revision;
use crate::limits::WATCH_WINDOW_SECONDS;

/// The compaction schedule of one store.
#[derive(Clone, Debug, Default)]
pub struct CompactionSchedule {
    /// The revision current at the last tick, and when that tick was.
    last_mark: Option<(Timestamp, Revision)>,
}

impl CompactionSchedule {
    /// A schedule that has seen nothing yet.
    pub fn new() -> CompactionSchedule {
        CompactionSchedule::default()
    }

    /// The interval between compactions.
    pub fn interval() -> Duration {
        Duration::from_secs(WATCH_WINDOW_SECONDS)
    }

    /// Called with the time and the store's current revision, at least every
    /// [`Self::interval`]: the revision to compact to when one interval has passed since the
    /// last mark (history then always covers at least one whole interval), else `None`.
    pub fn tick(&mut self, now: Timestamp, current: Revision) -> Option<Revision> {
        let interval = SignedDuration::from_secs(WATCH_WINDOW_SECONDS as i64);
        match self.last_mark {
            None => {
                self.last_mark = Some((now, current));
                None
            }
            Some((marked_at, marked)) if now.duration_since(marked_at) >= interval => {
                self.last_mark = Some((now, current));
                Some(marked)
            }
            Some(_) => None,
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
    fn compacts_to_the_revision_one_interval_old() {
        let mut schedule = CompactionSchedule::new();
        assert_eq!(schedule.tick(at(0), 10), None, "the first tick only marks");
        assert_eq!(schedule.tick(at(100), 50), None, "less than an interval later");
        assert_eq!(schedule.tick(at(300), 80), Some(10), "one interval later: the first mark");
        assert_eq!(schedule.tick(at(400), 90), None);
        assert_eq!(schedule.tick(at(600), 95), Some(80));
    }
}
