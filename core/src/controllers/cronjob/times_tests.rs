//! Rows of Kubernetes' `TestMostRecentScheduleTime`, `TestNextScheduleTimeDuration` and
//! `TestNextScheduleTime` (`pkg/controller/cronjob/utils_test.go`), bar the `@every` row.

use k8s_openapi::api::batch::v1::{CronJobSpec, CronJobStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::*;

/// `topOfTheHour()`: 2016-05-19T10:00:00Z, a Thursday.
fn top_of_the_hour() -> Timestamp {
    "2016-05-19T10:00:00Z".parse().unwrap()
}

fn after_top(minutes: i64) -> Timestamp {
    top_of_the_hour() + SignedDuration::from_mins(minutes)
}

fn cron_job(schedule: &str, created: Timestamp, last_schedule: Option<Timestamp>, deadline: Option<i64>) -> CronJob {
    CronJob {
        metadata: ObjectMeta { creation_timestamp: Some(Time(created)), ..ObjectMeta::default() },
        spec: Some(CronJobSpec {
            schedule: schedule.to_string(),
            starting_deadline_seconds: deadline,
            ..CronJobSpec::default()
        }),
        status: Some(CronJobStatus { last_schedule_time: last_schedule.map(Time), ..CronJobStatus::default() }),
    }
}

fn most_recent(
    cron_job: &CronJob,
    now: Timestamp,
    include_deadline: bool,
) -> Result<MostRecent, ScheduleIntervalError> {
    let schedule = Schedule::parse(&cron_job.spec.as_ref().unwrap().schedule).unwrap();
    most_recent_schedule_time(cron_job, now, &schedule, &TimeZone::UTC, include_deadline)
}

#[test]
fn most_recent_schedule_time_matches_kubernetes_table() {
    let hour = 60;
    let top = top_of_the_hour();
    let ten_seconds_after = top + SignedDuration::from_secs(10);
    // (name, cron job, include deadline, now, earliest, most recent, missed)
    let rows = [
        (
            "now before next schedule",
            cron_job("0 * * * *", top, None, None),
            false,
            top + SignedDuration::from_secs(30),
            top,
            None,
            MissedSchedules::None,
        ),
        (
            "now just after next schedule",
            cron_job("0 * * * *", top, None, None),
            false,
            after_top(61),
            top,
            Some(after_top(60)),
            MissedSchedules::None,
        ),
        (
            "missed 5 schedules",
            cron_job("0 * * * *", ten_seconds_after, None, None),
            false,
            after_top(301),
            ten_seconds_after,
            Some(after_top(300)),
            MissedSchedules::Few,
        ),
        (
            "complex schedule",
            cron_job("30 6-16/4 * * 1-5", top, Some(after_top(30)), None),
            false,
            after_top(24 * hour + 31),
            after_top(30),
            Some(after_top(24 * hour + 30)),
            MissedSchedules::Few,
        ),
        (
            "another complex schedule",
            cron_job("30 10,11,12 * * 1-5", top, Some(after_top(30)), None),
            false,
            after_top(30 * hour + 30),
            after_top(30),
            None,
            MissedSchedules::Few,
        ),
        (
            "complex schedule with longer diff between executions",
            cron_job("30 6-16/4 * * 1-5", top, Some(after_top(30)), None),
            false,
            after_top(96 * hour + 31),
            after_top(30),
            Some(after_top(96 * hour + 30)),
            MissedSchedules::Few,
        ),
        (
            "complex schedule with shorter diff between executions",
            cron_job("30 6-16/4 * * 1-5", top, None, None),
            false,
            after_top(24 * hour + 31),
            top,
            Some(after_top(24 * hour + 30)),
            MissedSchedules::Few,
        ),
        (
            "earliestTime being CreationTimestamp and LastScheduleTime",
            cron_job("0 * * * *", top, Some(top), None),
            false,
            top + SignedDuration::from_secs(30),
            top,
            None,
            MissedSchedules::None,
        ),
        (
            "earliestTime being LastScheduleTime",
            cron_job("*/5 * * * *", top, Some(after_top(30)), None),
            false,
            after_top(31),
            after_top(30),
            None,
            MissedSchedules::None,
        ),
        (
            "earliestTime being LastScheduleTime (within StartingDeadlineSeconds)",
            cron_job("*/5 * * * *", top, Some(after_top(30)), Some(60)),
            false,
            after_top(31),
            after_top(30),
            None,
            MissedSchedules::None,
        ),
        (
            "earliestTime being LastScheduleTime (outside StartingDeadlineSeconds)",
            cron_job("*/5 * * * *", top, Some(after_top(30)), Some(60)),
            true,
            after_top(32),
            after_top(31),
            None,
            MissedSchedules::None,
        ),
    ];
    for (name, cron_job, include_deadline, now, earliest, recent, missed) in rows {
        let got = most_recent(&cron_job, now, include_deadline).unwrap();
        assert_eq!(got, MostRecent { earliest, most_recent: recent, missed }, "{name}");
    }
}

#[test]
fn a_schedule_that_never_repeats_within_a_second_is_an_error() {
    let cron_job = cron_job("59 23 31 2 *", top_of_the_hour() + SignedDuration::from_secs(10), None, None);
    assert_eq!(most_recent(&cron_job, after_top(60), false), Err(ScheduleIntervalError));
}

#[test]
fn next_schedule_time_duration_matches_kubernetes_table() {
    let hour = 60;
    let top = top_of_the_hour();
    let rows = [
        (
            "complex schedule skipping weekend",
            cron_job("30 6-16/4 * * 1-5", top, Some(after_top(30)), None),
            after_top(24 * hour + 31),
            Duration::from_secs(3 * 3600 + 59 * 60),
        ),
        (
            "another complex schedule skipping weekend",
            cron_job("30 10,11,12 * * 1-5", top, Some(after_top(30)), None),
            after_top(30 * hour + 30),
            Duration::from_secs(66 * 3600),
        ),
        (
            "once a week cronjob, missed two runs",
            cron_job("0 12 * * 4", top, Some(after_top(2 * hour)), None),
            after_top(19 * 24 * hour + hour + 30),
            Duration::from_secs(48 * 3600 + 30 * 60),
        ),
        (
            "no previous run of a cronjob",
            cron_job("0 12 * * 5", top, None, None),
            after_top(6 * hour),
            Duration::from_secs(20 * 3600),
        ),
    ];
    for (name, cron_job, now, expected) in rows {
        let schedule = Schedule::parse(&cron_job.spec.as_ref().unwrap().schedule).unwrap();
        let got = next_schedule_time_duration(&cron_job, now, &schedule, &TimeZone::UTC);
        assert_eq!(got, Some(expected + NEXT_SCHEDULE_DELTA), "{name}");
    }
}

#[test]
fn next_schedule_time_cases_match_kubernetes() {
    let t1 = top_of_the_hour();
    let t2 = after_top(60);
    let minutes = |m: i64| SignedDuration::from_mins(m);
    // (name, created, last schedule, deadline, now, expected)
    let rows = [
        ("no known start times, none needed yet", t1 - minutes(10), None, None, t1 - minutes(7), None),
        ("no known start times, one needed", t1 - minutes(10), None, None, t1 + SignedDuration::from_secs(2), Some(t1)),
        ("known last schedule time, none needed", t1 - minutes(10), Some(t1), None, t1 + minutes(2), None),
        ("known last schedule time, one needed", t1 - minutes(10), Some(t1), None, t2 + minutes(5), Some(t2)),
        (
            "two starts needed, the latest wins",
            t1 - minutes(120),
            Some(t1 - minutes(60)),
            None,
            t2 + minutes(5),
            Some(t2),
        ),
        (
            "far behind without a deadline",
            t1 - minutes(120),
            Some(t1 - minutes(60)),
            None,
            t2 + minutes(10 * 24 * 60),
            Some(t2 + minutes(10 * 24 * 60)),
        ),
        (
            "far behind with a short deadline",
            t1 - minutes(120),
            Some(t1 - minutes(60)),
            Some(7200),
            t2 + minutes(10 * 24 * 60),
            Some(t2 + minutes(10 * 24 * 60)),
        ),
    ];
    for (name, created, last, deadline, now, expected) in rows {
        let got = most_recent(&cron_job("0 * * * ?", created, last, deadline), now, true).unwrap();
        assert_eq!(got.most_recent, expected, "{name}");
    }
}

#[test]
fn job_names_count_minutes_since_the_epoch() {
    assert_eq!(job_name("mycronjob", top_of_the_hour()), "mycronjob-24394200");
    assert_eq!(job_name("mycronjob", top_of_the_hour() + SignedDuration::from_secs(59)), "mycronjob-24394200");
}

#[test]
fn time_zones_come_from_the_bundled_database() {
    let mut cron_job = cron_job("0 * * * *", top_of_the_hour(), None, None);
    assert_eq!(time_zone(&cron_job).unwrap(), TimeZone::UTC);
    cron_job.spec.as_mut().unwrap().time_zone = Some("America/New_York".to_string());
    let zone = time_zone(&cron_job).unwrap();
    assert_eq!(zone.to_offset(top_of_the_hour()).seconds(), -4 * 3600);
    cron_job.spec.as_mut().unwrap().time_zone = Some("bad timezone".to_string());
    assert!(time_zone(&cron_job).is_err());
}
