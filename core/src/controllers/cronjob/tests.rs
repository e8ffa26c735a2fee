//! CronJob controller tests: rows of Kubernetes' `TestControllerV2SyncCronJob`
//! (`pkg/controller/cronjob/cronjob_controllerv2_test.go`) and `TestGetJobFromTemplate2`, plus
//! history cleanup and the level-triggered replacements for what Kubernetes learns from API
//! answers.
//!
//! Left out of the table: the rows that make the fake API
//! fail a GET or report a terminating namespace (the shell's business), and the "slow lister"
//! rows in which Kubernetes GETs the Job or CronJob again from the API server.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::SignedDuration;
use k8s_openapi::api::batch::v1::{JobCondition, JobSpec, JobStatus, JobTemplateSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};

use super::*;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn just_before_the_hour() -> Timestamp {
    at("2016-05-19T09:59:00Z")
}
fn just_after_the_prior_hour() -> Timestamp {
    at("2016-05-19T09:01:00Z")
}
fn just_before_the_prior_hour() -> Timestamp {
    at("2016-05-19T08:59:00Z")
}
fn just_after_the_hour() -> Timestamp {
    at("2016-05-19T10:01:00Z")
}
fn top_of_the_hour() -> Timestamp {
    at("2016-05-19T10:00:00Z")
}
fn week_after_the_hour() -> Timestamp {
    at("2016-05-26T10:00:00Z")
}

const ON_THE_HOUR: &str = "0 * * * ?";
const SHORT_DEAD: i64 = 10;
const MEDIUM_DEAD: i64 = 2 * 60 * 60;
const LONG_DEAD: i64 = 1_000_000;

fn cron_job() -> CronJob {
    CronJob {
        metadata: ObjectMeta {
            name: Some("mycronjob".to_string()),
            namespace: Some("snazzycats".to_string()),
            uid: Some("1a2b3c".to_string()),
            creation_timestamp: Some(Time(just_before_the_hour())),
            ..ObjectMeta::default()
        },
        spec: Some(CronJobSpec {
            schedule: "* * * * ?".to_string(),
            concurrency_policy: Some("Allow".to_string()),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(BTreeMap::from([("a".to_string(), "b".to_string())])),
                    annotations: Some(BTreeMap::from([("x".to_string(), "y".to_string())])),
                    ..ObjectMeta::default()
                }),
                spec: Some(JobSpec {
                    parallelism: Some(1),
                    completions: Some(1),
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta {
                            labels: Some(BTreeMap::from([("foo".to_string(), "bar".to_string())])),
                            ..ObjectMeta::default()
                        }),
                        spec: Some(PodSpec {
                            containers: vec![Container { image: Some("foo/bar".to_string()), ..Container::default() }],
                            ..PodSpec::default()
                        }),
                    },
                    ..JobSpec::default()
                }),
            },
            ..CronJobSpec::default()
        }),
        status: None,
    }
}

/// A Job the CronJob created for `scheduled` (`getJobFromTemplate2` in the Go test), uid 1234.
fn job_for(cron_job: &CronJob, scheduled: Timestamp) -> Job {
    Job {
        metadata: ObjectMeta {
            name: Some(job_name("mycronjob", scheduled)),
            namespace: cron_job.metadata.namespace.clone(),
            uid: Some("1234".to_string()),
            creation_timestamp: Some(Time(scheduled)),
            owner_references: Some(vec![controller_ref("batch/v1", "CronJob", &cron_job.metadata)]),
            ..ObjectMeta::default()
        },
        spec: cron_job.spec.as_ref().unwrap().job_template.spec.clone(),
        status: None,
    }
}

fn finish(job: &mut Job, type_: &str, completed: Timestamp) {
    job.status = Some(JobStatus {
        completion_time: (type_ == JOB_COMPLETE).then_some(Time(completed)),
        start_time: job.metadata.creation_timestamp.clone(),
        conditions: Some(vec![JobCondition {
            type_: type_.to_string(),
            status: "True".to_string(),
            ..JobCondition::default()
        }]),
        ..JobStatus::default()
    });
}

/// One row of `TestControllerV2SyncCronJob`.
struct Row {
    name: &'static str,
    policy: &'static str,
    suspend: bool,
    schedule: &'static str,
    time_zone: Option<&'static str>,
    deadline: Option<i64>,
    ran_previously: bool,
    still_active: bool,
    job_creation: Timestamp,
    now: Timestamp,
    expect_create: bool,
    expect_delete: bool,
    expect_active: usize,
    expected_warnings: usize,
    /// Expected requeue, before the 100 ms padding.
    expect_requeue: Option<Duration>,
    expect_update_status: bool,
}

const ROW: Row = Row {
    name: "",
    policy: "Allow",
    suspend: false,
    schedule: ON_THE_HOUR,
    time_zone: None,
    deadline: None,
    ran_previously: false,
    still_active: false,
    job_creation: Timestamp::UNIX_EPOCH,
    now: Timestamp::UNIX_EPOCH,
    expect_create: false,
    expect_delete: false,
    expect_active: 0,
    expected_warnings: 0,
    expect_requeue: None,
    expect_update_status: false,
};

fn minutes(count: u64) -> Duration {
    Duration::from_secs(count * 60)
}

fn rows() -> Vec<Row> {
    let hour = minutes(60);
    let prior = just_after_the_prior_hour();
    let mut rows = Vec::new();
    for policy in ["Allow", "Forbid", "Replace"] {
        let base = Row { policy, job_creation: prior, ..ROW };
        rows.extend([
            Row {
                name: "never ran, not valid schedule",
                schedule: "obvious error schedule",
                now: just_before_the_hour(),
                expected_warnings: 1,
                ..base
            },
            Row { name: "never ran, not time", now: just_before_the_hour(), expect_requeue: Some(minutes(1)), ..base },
            Row {
                name: "never ran, is time",
                now: just_after_the_hour(),
                expect_create: true,
                expect_active: 1,
                expect_requeue: Some(hour - minutes(1)),
                expect_update_status: true,
                ..base
            },
            Row {
                name: "prev ran but done, not time",
                ran_previously: true,
                now: just_before_the_hour(),
                expect_requeue: Some(minutes(1)),
                expect_update_status: true,
                ..base
            },
            Row {
                name: "prev ran but done, is time",
                ran_previously: true,
                now: just_after_the_hour(),
                expect_create: true,
                expect_active: 1,
                expect_requeue: Some(hour - minutes(1)),
                expect_update_status: true,
                ..base
            },
            Row {
                name: "still active, not time",
                ran_previously: true,
                still_active: true,
                now: just_before_the_hour(),
                expect_active: 1,
                expect_requeue: Some(minutes(1)),
                ..base
            },
            Row {
                name: "prev ran but done, long overdue, not past deadline",
                deadline: Some(LONG_DEAD),
                ran_previously: true,
                now: week_after_the_hour(),
                expect_create: true,
                expect_active: 1,
                expected_warnings: 1,
                expect_requeue: Some(hour),
                expect_update_status: true,
                ..base
            },
            Row {
                name: "prev ran but done, long overdue, no deadline",
                ran_previously: true,
                now: week_after_the_hour(),
                expect_create: true,
                expect_active: 1,
                expected_warnings: 1,
                expect_requeue: Some(hour),
                expect_update_status: true,
                ..base
            },
            Row {
                name: "prev ran but done, long overdue, past medium deadline",
                deadline: Some(MEDIUM_DEAD),
                ran_previously: true,
                now: week_after_the_hour(),
                expect_create: true,
                expect_active: 1,
                expect_requeue: Some(hour),
                expect_update_status: true,
                ..base
            },
            Row {
                name: "prev ran but done, long overdue, past short deadline",
                deadline: Some(SHORT_DEAD),
                ran_previously: true,
                now: week_after_the_hour(),
                expect_create: true,
                expect_active: 1,
                expect_requeue: Some(hour),
                expect_update_status: true,
                ..base
            },
        ]);
    }
    let base = Row { job_creation: prior, ..ROW };
    rows.extend([
        Row {
            name: "never ran, not valid time zone",
            time_zone: Some("bad timezone"),
            now: just_before_the_hour(),
            expected_warnings: 1,
            ..base
        },
        Row {
            name: "never ran, not time in zone",
            time_zone: Some("America/New_York"),
            now: just_before_the_hour(),
            expect_requeue: Some(minutes(1)),
            ..base
        },
        Row {
            name: "never ran, is time in zone",
            time_zone: Some("America/New_York"),
            now: just_after_the_hour(),
            expect_create: true,
            expect_active: 1,
            expect_requeue: Some(hour - minutes(1)),
            expect_update_status: true,
            ..base
        },
        // Kubernetes warns and still runs this one; coxswain refuses a TZ in the schedule, as
        // Kubernetes validation does for new CronJobs.
        Row {
            name: "never ran, is time in zone, but TZ is also set in schedule",
            schedule: "TZ=UTC 0 * * * ?",
            time_zone: Some("America/New_York"),
            now: just_after_the_hour(),
            expected_warnings: 1,
            ..base
        },
        Row { name: "never ran, is time, suspended", suspend: true, now: just_after_the_hour(), ..base },
        Row {
            name: "never ran, is time, past deadline",
            deadline: Some(SHORT_DEAD),
            now: just_after_the_hour() + SignedDuration::from_mins(SHORT_DEAD + 1),
            expect_requeue: Some(hour - minutes(1) - minutes(SHORT_DEAD as u64 + 1)),
            ..base
        },
        Row {
            name: "never ran, is time, not past deadline",
            deadline: Some(LONG_DEAD),
            now: just_after_the_hour(),
            expect_create: true,
            expect_active: 1,
            expect_requeue: Some(hour - minutes(1)),
            expect_update_status: true,
            ..base
        },
        Row {
            name: "prev ran but done, is time, suspended",
            suspend: true,
            ran_previously: true,
            now: just_after_the_hour(),
            expect_update_status: true,
            ..base
        },
        Row {
            name: "prev ran but done, is time, past deadline",
            deadline: Some(SHORT_DEAD),
            ran_previously: true,
            now: just_after_the_hour(),
            expect_requeue: Some(hour - minutes(1)),
            expect_update_status: true,
            ..base
        },
        Row {
            name: "prev ran but done, is time, not past deadline",
            deadline: Some(LONG_DEAD),
            ran_previously: true,
            now: just_after_the_hour(),
            expect_create: true,
            expect_active: 1,
            expect_requeue: Some(hour - minutes(1)),
            expect_update_status: true,
            ..base
        },
        Row {
            name: "still active, is time, A",
            ran_previously: true,
            still_active: true,
            now: just_after_the_hour(),
            expect_create: true,
            expect_active: 2,
            expect_requeue: Some(hour - minutes(1)),
            expect_update_status: true,
            ..base
        },
        Row {
            name: "still active, is time, F",
            policy: "Forbid",
            ran_previously: true,
            still_active: true,
            now: just_after_the_hour(),
            expect_active: 1,
            expect_requeue: Some(hour - minutes(1)),
            ..base
        },
        Row {
            name: "still active, is time, R",
            policy: "Replace",
            ran_previously: true,
            still_active: true,
            now: just_after_the_hour(),
            expect_create: true,
            expect_delete: true,
            expect_active: 1,
            expect_requeue: Some(hour - minutes(1)),
            expect_update_status: true,
            ..base
        },
        Row {
            name: "still active, is time, suspended",
            suspend: true,
            ran_previously: true,
            still_active: true,
            now: just_after_the_hour(),
            expect_active: 1,
            ..base
        },
        Row {
            name: "still active, is time, past deadline",
            deadline: Some(SHORT_DEAD),
            ran_previously: true,
            still_active: true,
            now: just_after_the_hour(),
            expect_active: 1,
            expect_requeue: Some(hour - minutes(1)),
            ..base
        },
        Row {
            name: "still active, is time, not past deadline",
            deadline: Some(LONG_DEAD),
            ran_previously: true,
            still_active: true,
            now: just_after_the_hour(),
            expect_create: true,
            expect_active: 2,
            expect_requeue: Some(hour - minutes(1)),
            expect_update_status: true,
            ..base
        },
        Row {
            name: "this ran but done, time drifted back, F",
            policy: "Forbid",
            ran_previously: true,
            job_creation: just_after_the_hour(),
            now: just_before_the_hour(),
            expect_requeue: Some(minutes(1)),
            expect_update_status: true,
            ..base
        },
    ]);
    rows
}

fn row_inputs(row: &Row) -> (CronJob, Vec<Job>) {
    let mut cron_job = cron_job();
    let spec = cron_job.spec.as_mut().unwrap();
    spec.concurrency_policy = Some(row.policy.to_string());
    spec.suspend = Some(row.suspend);
    spec.schedule = row.schedule.to_string();
    spec.time_zone = row.time_zone.map(str::to_string);
    spec.starting_deadline_seconds = row.deadline;
    let mut jobs = Vec::new();
    if row.ran_previously {
        cron_job.metadata.creation_timestamp = Some(Time(just_before_the_prior_hour()));
        let mut job = job_for(&cron_job, row.job_creation);
        let mut status =
            CronJobStatus { last_schedule_time: Some(Time(just_after_the_prior_hour())), ..CronJobStatus::default() };
        if row.still_active {
            status.active = Some(vec![object_reference("batch/v1", "Job", &job.metadata)]);
        } else {
            finish(&mut job, JOB_COMPLETE, row.job_creation + SignedDuration::from_secs(10));
        }
        cron_job.status = Some(status);
        jobs.push(job);
    }
    (cron_job, jobs)
}

fn events<'a>(reconciled: &'a Reconciled, event_type: &str) -> Vec<&'a str> {
    reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Event { event } if event.type_.as_deref() == Some(event_type) => event.reason.as_deref(),
            _ => None,
        })
        .collect()
}

fn updated_status(reconciled: &Reconciled) -> Option<CronJobStatus> {
    reconciled.actions.iter().find_map(|action| match action {
        Action::UpdateStatus { object } => object.to_typed::<CronJob>().unwrap().status,
        _ => None,
    })
}

#[test]
fn sync_matches_kubernetes_table() {
    for row in rows() {
        let name = format!("{} ({})", row.name, row.policy);
        let (cron_job, jobs) = row_inputs(&row);
        let reconciled = reconcile_cron_job(&cron_job, &jobs, row.now);
        let creates: Vec<Job> = reconciled
            .actions
            .iter()
            .filter_map(|action| match action {
                Action::Create { object, .. } => Some(object.to_typed().unwrap()),
                _ => None,
            })
            .collect();
        assert_eq!(creates.len(), usize::from(row.expect_create), "{name}: creates");
        for job in &creates {
            let owner = crate::controllers::owner::controller_of(&job.metadata).unwrap();
            assert_eq!((owner.api_version.as_str(), owner.kind.as_str()), ("batch/v1", "CronJob"), "{name}");
            assert_eq!((owner.name.as_str(), owner.uid.as_str()), ("mycronjob", "1a2b3c"), "{name}");
        }
        let deletes = reconciled.actions.iter().filter(|action| matches!(action, Action::Delete { .. })).count();
        assert_eq!(deletes, usize::from(row.expect_delete), "{name}: deletes");
        assert_eq!(events(&reconciled, "Warning").len(), row.expected_warnings, "{name}: {:?}", reconciled.actions);
        let normal_expected = usize::from(row.expect_delete) + usize::from(row.name == "still active, is time, F");
        assert_eq!(events(&reconciled, "Normal").len(), normal_expected, "{name}: normal events");
        let status = updated_status(&reconciled);
        assert_eq!(status.is_some(), row.expect_update_status, "{name}: status update");
        let status = status.or_else(|| cron_job.status.clone()).unwrap_or_default();
        assert_eq!(status.active.unwrap_or_default().len(), row.expect_active, "{name}: active");
        if row.ran_previously && !row.still_active {
            let completed = row.job_creation + SignedDuration::from_secs(10);
            assert_eq!(status.last_successful_time, Some(Time(completed)), "{name}: lastSuccessfulTime");
        }
        let expected_requeue = row.expect_requeue.map(|delay| delay + NEXT_SCHEDULE_DELTA);
        assert_eq!(reconciled.requeue_after, expected_requeue, "{name}: requeue");
    }
}

#[test]
fn the_created_job_carries_the_template_and_the_scheduled_timestamp() {
    let (mut cron_job, _) = row_inputs(&Row { job_creation: just_after_the_prior_hour(), ..ROW });
    cron_job.spec.as_mut().unwrap().time_zone = Some("Europe/Rome".to_string());
    let reconciled = reconcile_cron_job(&cron_job, &[], just_after_the_hour());
    let Action::Create { object, on_created } = &reconciled.actions[0] else { panic!("{:?}", reconciled.actions) };
    let job: Job = object.to_typed().unwrap();
    assert_eq!(job.metadata.name.as_deref(), Some("mycronjob-24394200"));
    assert_eq!(job.metadata.labels, Some(BTreeMap::from([("a".to_string(), "b".to_string())])));
    let annotations = job.metadata.annotations.unwrap();
    assert_eq!(annotations.len(), 2);
    assert_eq!(annotations[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION], "2016-05-19T12:00:00+02:00");
    assert_eq!(job.spec, cron_job.spec.unwrap().job_template.spec);
    let event = on_created.as_ref().unwrap().event("mycronjob-24394200", just_after_the_hour());
    assert_eq!(event.message.as_deref(), Some("Created job mycronjob-24394200"));
    let status = updated_status(&reconciled).unwrap();
    assert_eq!(status.last_schedule_time, Some(Time(top_of_the_hour())));
    let active = &status.active.unwrap()[0];
    assert_eq!((active.name.as_deref(), active.uid.as_deref()), (Some("mycronjob-24394200"), None));
}

#[test]
fn a_utc_scheduled_timestamp_ends_in_z() {
    assert_eq!(rfc3339(top_of_the_hour(), &TimeZone::UTC), "2016-05-19T10:00:00Z");
}

#[test]
fn an_unobserved_active_job_is_kept_until_seen_and_then_gets_its_uid() {
    let (cron_job, _) = row_inputs(&Row { job_creation: just_after_the_prior_hour(), ..ROW });
    let created = reconcile_cron_job(&cron_job, &[], just_after_the_hour());
    let mut after_create = cron_job.clone();
    after_create.status = updated_status(&created);
    // The Job is not in the lister yet: nothing is lost and nothing is created twice.
    let next = reconcile_cron_job(&after_create, &[], just_after_the_hour() + SignedDuration::from_secs(1));
    assert!(next.actions.is_empty(), "{:?}", next.actions);
    // Once observed, its uid is recorded.
    let mut job = job_for(&cron_job, top_of_the_hour());
    job.metadata.uid = Some("job-uid".to_string());
    let observed = reconcile_cron_job(&after_create, &[job], just_after_the_hour() + SignedDuration::from_secs(2));
    let status = updated_status(&observed).unwrap();
    assert_eq!(status.active.unwrap()[0].uid.as_deref(), Some("job-uid"));
    assert!(events(&observed, "Warning").is_empty());
}

#[test]
fn a_job_already_existing_under_the_scheduled_name_is_recorded_not_created_again() {
    // Kubernetes' "create job failed" rows: the create answered AlreadyExists.
    let (cron_job, mut jobs) =
        row_inputs(&Row { ran_previously: true, job_creation: just_after_the_prior_hour(), ..ROW });
    let mut existing = job_for(&cron_job, top_of_the_hour());
    existing.metadata.uid = Some("existing".to_string());
    jobs.push(existing);
    let reconciled = reconcile_cron_job(&cron_job, &jobs, just_after_the_hour());
    assert!(!reconciled.actions.iter().any(Action::is_create));
    let status = updated_status(&reconciled).unwrap();
    assert_eq!(status.active.unwrap()[0].uid.as_deref(), Some("existing"));
    assert_eq!(status.last_schedule_time, Some(Time(top_of_the_hour())));
    // A Job of that name owned by someone else is left alone.
    let mut foreign = job_for(&cron_job, top_of_the_hour());
    foreign.metadata.owner_references = None;
    let reconciled = reconcile_cron_job(&cron_job, &[foreign], just_after_the_hour());
    assert!(!reconciled.actions.iter().any(Action::is_create));
    assert!(updated_status(&reconciled).is_none_or(|status| status.active.unwrap_or_default().is_empty()));
}

#[test]
fn finished_active_jobs_leave_the_active_list_and_vanished_ones_are_missing() {
    let (mut cron_job, mut jobs) =
        row_inputs(&Row { ran_previously: true, still_active: true, job_creation: just_after_the_prior_hour(), ..ROW });
    finish(&mut jobs[0], JOB_FAILED, just_before_the_hour());
    let reconciled = reconcile_cron_job(&cron_job, &jobs, just_before_the_hour());
    assert_eq!(events(&reconciled, "Normal"), ["SawCompletedJob"]);
    assert!(updated_status(&reconciled).unwrap().active.unwrap().is_empty());
    let reconciled = reconcile_cron_job(&cron_job, &[], just_before_the_hour());
    assert_eq!(events(&reconciled, "Normal"), ["MissingJob"]);
    cron_job.metadata.deletion_timestamp = Some(Time(just_before_the_hour()));
    let reconciled = reconcile_cron_job(&cron_job, &[], just_after_the_hour());
    assert!(!reconciled.actions.iter().any(Action::is_create), "a deleting CronJob starts nothing");
}

#[test]
fn finished_jobs_beyond_the_history_limits_are_deleted_oldest_first() {
    let (cron_job, _) = row_inputs(&ROW);
    let mut jobs = Vec::new();
    for hour in 0..5 {
        let mut job = job_for(&cron_job, top_of_the_hour() - SignedDuration::from_hours(5 - hour));
        job.metadata.uid = Some(format!("ok-{hour}"));
        finish(&mut job, JOB_COMPLETE, top_of_the_hour());
        jobs.push(job);
        let mut failed = job_for(
            &cron_job,
            top_of_the_hour() - SignedDuration::from_hours(5 - hour) + SignedDuration::from_mins(30),
        );
        failed.metadata.uid = Some(format!("failed-{hour}"));
        finish(&mut failed, JOB_FAILED, top_of_the_hour());
        jobs.push(failed);
    }
    jobs.reverse();
    let reconciled = reconcile_cron_job(&cron_job, &jobs, just_before_the_hour());
    let deleted: Vec<&str> = reconciled
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Delete { preconditions, .. } => preconditions.uid.as_deref(),
            _ => None,
        })
        .collect();
    assert_eq!(deleted, ["ok-0", "ok-1", "failed-0", "failed-1", "failed-2", "failed-3"]);
}

#[test]
fn jobs_sort_by_start_time_then_name_as_kubernetes_does() {
    let job = |name: &str, start: Option<Timestamp>| Job {
        metadata: ObjectMeta { name: Some(name.to_string()), ..ObjectMeta::default() },
        spec: None,
        status: Some(JobStatus { start_time: start.map(Time), ..JobStatus::default() }),
    };
    let (now, later) = (top_of_the_hour(), week_after_the_hour());
    let cases = [
        (vec![job("b", None), job("a", None)], ["a", "b"]),
        (vec![job("a", None), job("b", Some(now))], ["b", "a"]),
        (vec![job("a", Some(now)), job("b", None)], ["a", "b"]),
        (vec![job("b", Some(now)), job("a", Some(now))], ["a", "b"]),
        (vec![job("a", Some(later)), job("b", Some(now))], ["b", "a"]),
    ];
    for (mut jobs, expected) in cases {
        jobs.sort_by(by_start_time);
        let names: Vec<&str> = jobs.iter().map(|job| job.metadata.name.as_deref().unwrap()).collect();
        assert_eq!(names, expected);
    }
}

#[test]
fn a_start_within_the_deadline_runs_and_one_past_it_waits_for_the_next_time() {
    let (mut cron_job, _) = row_inputs(&ROW);
    cron_job.status =
        Some(CronJobStatus { last_schedule_time: Some(Time(just_after_the_prior_hour())), ..CronJobStatus::default() });
    let now = top_of_the_hour() + SignedDuration::from_secs(5);
    cron_job.spec.as_mut().unwrap().starting_deadline_seconds = Some(SHORT_DEAD);
    assert!(reconcile_cron_job(&cron_job, &[], now).actions.iter().any(Action::is_create));
    cron_job.spec.as_mut().unwrap().starting_deadline_seconds = Some(4);
    let late = reconcile_cron_job(&cron_job, &[], now);
    assert!(late.actions.is_empty(), "{:?}", late.actions);
    let until_next = Duration::from_secs(3600 - 5) + NEXT_SCHEDULE_DELTA;
    assert_eq!(late.requeue_after, Some(until_next));
}

// Kubernetes validation accepts `@every 1h` and its controller runs it as robfig's constant
// delay: the first Job an hour after the CronJob's creation, none before.
#[test]
fn an_every_schedule_starts_a_job_one_interval_after_creation() {
    let mut cron_job = cron_job();
    cron_job.spec.as_mut().unwrap().schedule = "@every 1h".to_string();
    let created = just_before_the_hour();
    let half_an_hour = created + SignedDuration::from_mins(30);
    assert!(reconcile_cron_job(&cron_job, &[], half_an_hour).actions.iter().all(|action| !action.is_create()));
    let later = created + SignedDuration::from_secs(3601);
    let reconciled = reconcile_cron_job(&cron_job, &[], later);
    let creates: Vec<&Action> = reconciled.actions.iter().filter(|action| action.is_create()).collect();
    assert_eq!(creates.len(), 1, "{:?}", reconciled.actions);
    let status = updated_status(&reconciled).unwrap();
    let expected = Timestamp::from_second(created.as_second() + 3600).unwrap();
    assert_eq!(status.last_schedule_time, Some(Time(expected)));
}

/// Regression (the no-panic proptest, `no_other_controller_panics_on_extreme_numbers`, input
/// `startingDeadlineSeconds: -9223372036854775808`): the scheduled time plus the deadline left
/// jiff's range and panicked. A deadline before the first representable time is always
/// missed, one after the last never is.
#[test]
fn a_starting_deadline_beyond_the_time_range_is_missed_or_never_missed_without_panicking() {
    let (mut cron_job, _) = row_inputs(&ROW);
    cron_job.status =
        Some(CronJobStatus { last_schedule_time: Some(Time(just_after_the_prior_hour())), ..CronJobStatus::default() });
    let now = top_of_the_hour() + SignedDuration::from_secs(5);
    cron_job.spec.as_mut().unwrap().starting_deadline_seconds = Some(i64::MIN);
    let missed = reconcile_cron_job(&cron_job, &[], now);
    assert!(!missed.actions.iter().any(Action::is_create), "{:?}", missed.actions);
    cron_job.spec.as_mut().unwrap().starting_deadline_seconds = Some(i64::MAX);
    assert!(reconcile_cron_job(&cron_job, &[], now).actions.iter().any(Action::is_create));
}
