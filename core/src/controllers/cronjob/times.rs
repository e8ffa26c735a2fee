//! When a CronJob should run (`utils.go`): the most recent unmet schedule time since
//! `lastScheduleTime` (or creation), how many were missed, and how long until the next one.

use std::time::Duration;

use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::jiff;

use crate::object::cron_schedule::Schedule;

/// More missed start times than this and the controller says so (`TooManyMissedTimes`).
pub const MAX_MISSED_START_TIMES: i64 = 100;

/// Padding added to every requeue so that a slightly early clock still finds the schedule time
/// passed (`nextScheduleDelta`, 100 ms).
pub const NEXT_SCHEDULE_DELTA: Duration = Duration::from_millis(100);

/// How many schedule times were missed since the earliest time considered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissedSchedules {
    /// None, or just one.
    None,
    /// A few (1 to 100).
    Few,
    /// More than [`MAX_MISSED_START_TIMES`].
    Many,
}

/// What `mostRecentScheduleTime` finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MostRecent {
    /// `lastScheduleTime`, else creation time, raised to `now - startingDeadlineSeconds`.
    pub earliest: Timestamp,
    /// The latest schedule time in `(earliest, now]`, if any.
    pub most_recent: Option<Timestamp>,
    /// How many were missed.
    pub missed: MissedSchedules,
}

/// A schedule whose consecutive times are less than a second apart (`59 23 31 2 *` reads as
/// valid but never happens).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("time difference between two schedules is less than 1 second")]
pub struct ScheduleIntervalError;

/// The time zone a CronJob's schedule is read in: `spec.timeZone` from jiff's bundled copy of
/// the IANA database (never the host's files), or UTC when unset.
pub fn time_zone(cron_job: &CronJob) -> Result<TimeZone, jiff::Error> {
    match cron_job.spec.as_ref().and_then(|spec| spec.time_zone.as_deref()) {
        None => Ok(TimeZone::UTC),
        Some(name) => TimeZoneDatabase::bundled().get(name),
    }
}

/// `mostRecentScheduleTime`: the latest schedule time not after `now`, counted from
/// `lastScheduleTime` (or creation), optionally no earlier than `now - startingDeadlineSeconds`.
/// Rather than step through hundreds of missed times it estimates their count from the first
/// interval and steps only through the last two.
pub fn most_recent_schedule_time(
    cron_job: &CronJob,
    now: Timestamp,
    schedule: &Schedule,
    time_zone: &TimeZone,
    include_starting_deadline: bool,
) -> Result<MostRecent, ScheduleIntervalError> {
    let mut earliest = earliest_time(cron_job);
    let deadline = cron_job.spec.as_ref().and_then(|spec| spec.starting_deadline_seconds);
    if let Some(seconds) = deadline.filter(|_| include_starting_deadline) {
        // Checked: a deadline of i64::MAX seconds reaches before any representable time.
        let scheduling_deadline = now.checked_sub(SignedDuration::from_secs(seconds)).unwrap_or(Timestamp::MIN);
        if scheduling_deadline > earliest {
            earliest = scheduling_deadline;
        }
    }
    let none = MostRecent { earliest, most_recent: None, missed: MissedSchedules::None };
    // A schedule that never happens (`59 23 31 2 *`) has no interval at all.
    let Some(first) = schedule.next(earliest, time_zone) else { return Err(ScheduleIntervalError) };
    if now < first {
        return Ok(none);
    }
    let Some(second) = schedule.next(first, time_zone).filter(|second| now >= *second) else {
        return Ok(MostRecent { most_recent: Some(first), ..none });
    };
    let interval_seconds = rounded_seconds(second.duration_since(first));
    if interval_seconds < 1 {
        return Err(ScheduleIntervalError);
    }
    let elapsed_seconds = now.duration_since(first).as_secs();
    let missed_count = elapsed_seconds / interval_seconds + 1;
    // Start two intervals short of the estimate and let the schedule find the exact times,
    // for schedules whose intervals differ (`30 6-16/4 * * 1-5`).
    let potential_earliest = first + SignedDuration::from_secs((missed_count - 2) * interval_seconds);
    let mut most_recent = None;
    let mut time = schedule.next(potential_earliest, time_zone);
    while let Some(at) = time.filter(|at| *at <= now) {
        most_recent = Some(at);
        time = schedule.next(at, time_zone);
    }
    let missed = if missed_count > MAX_MISSED_START_TIMES {
        MissedSchedules::Many
    } else if missed_count > 0 {
        MissedSchedules::Few
    } else {
        MissedSchedules::None
    };
    Ok(MostRecent { earliest, most_recent, missed })
}

/// `nextScheduleTimeDuration`: how long until the schedule time after the most recent one (or
/// after `now` when times were missed or the schedule is broken), plus [`NEXT_SCHEDULE_DELTA`].
pub fn next_schedule_time_duration(
    cron_job: &CronJob,
    now: Timestamp,
    schedule: &Schedule,
    time_zone: &TimeZone,
) -> Option<Duration> {
    let base = match most_recent_schedule_time(cron_job, now, schedule, time_zone, false) {
        Err(ScheduleIntervalError) => now,
        Ok(MostRecent { most_recent: Some(at), .. }) => at,
        Ok(MostRecent { earliest, missed: MissedSchedules::None, .. }) => earliest,
        Ok(MostRecent { .. }) => now,
    };
    let next = schedule.next(base, time_zone)?;
    let until = Duration::try_from(next.duration_since(now)).unwrap_or(Duration::ZERO);
    Some(until + NEXT_SCHEDULE_DELTA)
}

/// `lastScheduleTime`, else the creation time.
fn earliest_time(cron_job: &CronJob) -> Timestamp {
    let last_schedule = cron_job.status.as_ref().and_then(|status| status.last_schedule_time.as_ref());
    let created = cron_job.metadata.creation_timestamp.as_ref();
    last_schedule.or(created).map_or(Timestamp::UNIX_EPOCH, |time| time.0)
}

/// Go's `Duration.Round(time.Second).Seconds()` for a non-negative duration.
fn rounded_seconds(duration: SignedDuration) -> i64 {
    let seconds = duration.as_secs();
    if duration.subsec_nanos() >= 500_000_000 { seconds + 1 } else { seconds }
}

/// The deterministic name of the Job for one schedule time: `<cronjob>-<minutes since epoch>`
/// (`getJobName`), so that a second sync cannot create it twice.
pub fn job_name(cron_job_name: &str, scheduled_time: Timestamp) -> String {
    format!("{cron_job_name}-{}", scheduled_time.as_second().div_euclid(60))
}

#[cfg(test)]
#[path = "times_tests.rs"]
mod tests;
