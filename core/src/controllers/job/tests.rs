//! Job controller tests: rows ported from Kubernetes' `TestControllerSyncJob`
//! (`pkg/controller/job/job_controller_test.go`), the back-off formula, `completedIndexes`
//! formatting, and a Job run to completion step by step.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobSpec, JobStatus};
use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::*;
use crate::controllers::action::{Action, PropagationPolicy};
use crate::controllers::owner::controller_ref;
use crate::controllers::ttl_after_finished::reconcile_ttl_after_finished;

fn now() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap()
}

fn job(parallelism: i32, completions: Option<i32>, backoff_limit: i32) -> Job {
    Job {
        metadata: ObjectMeta {
            name: Some("foobar".to_string()),
            namespace: Some("default".to_string()),
            uid: Some("job-uid".to_string()),
            resource_version: Some("3".to_string()),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            parallelism: Some(parallelism),
            completions,
            backoff_limit: Some(backoff_limit),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(BTreeMap::from([("foo".to_string(), "bar".to_string())])),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec::default()),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}

/// A pod of the Job; failed and succeeded pods finished long ago unless told otherwise.
fn pod(job: &Job, number: usize, phase: &str, ready: bool) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(format!("foobar-{number}")),
            namespace: Some("default".to_string()),
            uid: Some(format!("pod-{number}")),
            owner_references: Some(vec![controller_ref("batch/v1", "Job", &job.metadata)]),
            finalizers: Some(vec![JOB_TRACKING_FINALIZER.to_string()]),
            creation_timestamp: Some(Time(now() - SignedDuration::from_secs(3600))),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec::default()),
        status: Some(PodStatus {
            phase: Some(phase.to_string()),
            conditions: ready.then(|| {
                vec![PodCondition { type_: "Ready".to_string(), status: "True".to_string(), ..PodCondition::default() }]
            }),
            ..PodStatus::default()
        }),
    }
}

fn indexed_pod(job: &Job, number: usize, index: i32, phase: &str) -> Pod {
    let mut pod = pod(job, number, phase, false);
    pod.metadata.annotations = Some(BTreeMap::from([(JOB_COMPLETION_INDEX_ANNOTATION.to_string(), index.to_string())]));
    pod
}

/// One row of `TestControllerSyncJob`.
#[derive(Default)]
struct Row {
    name: &'static str,
    parallelism: i32,
    completions: Option<i32>,
    backoff_limit: i32,
    deleting: bool,
    indexed: bool,
    replace_only_failed: bool,
    initial_failed: i32,
    unsatisfied_expectations: bool,
    pending: usize,
    active: usize,
    ready: usize,
    succeeded: usize,
    failed: usize,
    terminating: usize,
    with_indexes: &'static [(i32, &'static str)],
    expected_creations: usize,
    expected_deletions: usize,
    expected_active: i32,
    expected_ready: i32,
    expected_succeeded: i32,
    expected_failed: i32,
    expected_terminating: i32,
    expected_completed_indexes: Option<&'static str>,
    expected_conditions: &'static [(&'static str, &'static str)],
    expected_created_indexes: &'static [i32],
}

fn row_job(row: &Row) -> Job {
    let mut job = job(row.parallelism, row.completions, row.backoff_limit);
    let spec = job.spec.as_mut().unwrap();
    if row.indexed {
        spec.completion_mode = Some("Indexed".to_string());
    }
    if row.replace_only_failed {
        spec.pod_replacement_policy = Some("Failed".to_string());
    }
    if row.deleting {
        job.metadata.deletion_timestamp = Some(Time(now()));
    }
    if row.initial_failed > 0 {
        job.status = Some(JobStatus { failed: Some(row.initial_failed), ..JobStatus::default() });
    }
    job
}

fn row_pods(row: &Row, job: &Job) -> Vec<Pod> {
    let mut pods = Vec::new();
    let mut add = |phase: &str, ready: bool, count: usize| {
        for _ in 0..count {
            let number = pods.len();
            pods.push(pod(job, number, phase, ready));
        }
    };
    add("Pending", false, row.pending);
    add("Running", true, row.ready);
    add("Running", false, row.active - row.ready);
    add("Succeeded", false, row.succeeded);
    add("Failed", false, row.failed);
    for _ in 0..row.terminating {
        let mut terminating = pod(job, pods.len(), "Running", false);
        terminating.metadata.deletion_timestamp = Some(Time(now()));
        pods.push(terminating);
    }
    for (index, phase) in row.with_indexes {
        let number = pods.len();
        pods.push(indexed_pod(job, number, *index, phase));
    }
    pods
}

/// The status the sync leaves: its last status update, or the status merge patch after it.
fn status_of(reconciled: &Reconciled) -> Option<JobStatus> {
    reconciled.actions.iter().rev().find_map(|action| match action {
        Action::UpdateStatus { object } => object.to_typed::<Job>().unwrap().status,
        Action::Patch { resource, body, .. } if resource.resource == "jobs/status" => {
            Some(serde_json::from_value(body["status"].clone()).unwrap())
        }
        _ => None,
    })
}

fn created_pods(reconciled: &Reconciled) -> Vec<Pod> {
    let creates = reconciled.actions.iter().filter_map(|action| match action {
        Action::Create { object, .. } => Some(object.to_typed::<Pod>().unwrap()),
        _ => None,
    });
    creates.collect()
}

fn deletions(reconciled: &Reconciled) -> usize {
    reconciled.actions.iter().filter(|action| matches!(action, Action::Delete { .. })).count()
}

fn check_row(row: &Row) {
    let job = row_job(row);
    let pods = row_pods(row, &job);
    let mut expectations = ControllerExpectations::new();
    if row.unsatisfied_expectations {
        expectations.expect_creations("default/foobar", 1, now());
    }
    let reconciled = reconcile_job(&job, &pods, &mut expectations, now()).unwrap();
    let created = created_pods(&reconciled);
    assert_eq!(created.len(), row.expected_creations, "{}: creations", row.name);
    assert_eq!(deletions(&reconciled), row.expected_deletions, "{}: deletions", row.name);
    let status = status_of(&reconciled).or(job.status.clone()).unwrap_or_default();
    assert_eq!(status.active, Some(row.expected_active), "{}: active", row.name);
    assert_eq!(status.ready, Some(row.expected_ready), "{}: ready", row.name);
    assert_eq!(status.succeeded.unwrap_or(0), row.expected_succeeded, "{}: succeeded", row.name);
    assert_eq!(status.failed.unwrap_or(0), row.expected_failed, "{}: failed", row.name);
    assert_eq!(status.terminating, Some(row.expected_terminating), "{}: terminating", row.name);
    assert_eq!(status.completed_indexes.as_deref(), row.expected_completed_indexes, "{}: completedIndexes", row.name);
    let conditions: Vec<(String, String)> = status
        .conditions
        .iter()
        .flatten()
        .map(|condition| (condition.type_.clone(), condition.reason.clone().unwrap_or_default()))
        .collect();
    let expected: Vec<(String, String)> =
        row.expected_conditions.iter().map(|(type_, reason)| (type_.to_string(), reason.to_string())).collect();
    assert_eq!(conditions, expected, "{}: conditions", row.name);
    let indexes: Vec<i32> = created.iter().filter_map(completion_index).collect();
    assert_eq!(indexes, row.expected_created_indexes, "{}: created indexes", row.name);
}

const COMPLETE: &[(&str, &str)] =
    &[(JOB_SUCCESS_CRITERIA_MET, "CompletionsReached"), (JOB_COMPLETE, "CompletionsReached")];

#[test]
fn sync_job_rows_ported_from_kubernetes_match() {
    let rows = [
        Row {
            name: "job start",
            parallelism: 2,
            completions: Some(5),
            backoff_limit: 6,
            expected_creations: 2,
            expected_active: 2,
            ..Row::default()
        },
        Row {
            name: "WQ job start",
            parallelism: 2,
            completions: None,
            backoff_limit: 6,
            expected_creations: 2,
            expected_active: 2,
            ..Row::default()
        },
        Row {
            name: "pending pods",
            parallelism: 2,
            completions: Some(5),
            backoff_limit: 6,
            pending: 2,
            expected_active: 2,
            ..Row::default()
        },
        Row {
            name: "correct # of pods",
            parallelism: 3,
            completions: Some(5),
            backoff_limit: 6,
            active: 3,
            ready: 2,
            expected_active: 3,
            expected_ready: 2,
            ..Row::default()
        },
        Row {
            name: "WQ job: correct # of pods",
            parallelism: 2,
            completions: None,
            backoff_limit: 6,
            active: 2,
            expected_active: 2,
            ..Row::default()
        },
        Row {
            name: "too few active pods",
            parallelism: 2,
            completions: Some(5),
            backoff_limit: 6,
            active: 1,
            succeeded: 1,
            expected_creations: 1,
            expected_active: 2,
            expected_succeeded: 1,
            ..Row::default()
        },
        Row {
            name: "WQ job: recreate pods when failed",
            parallelism: 1,
            completions: None,
            backoff_limit: 6,
            replace_only_failed: true,
            active: 1,
            failed: 1,
            terminating: 1,
            expected_active: 1,
            expected_failed: 1,
            expected_terminating: 1,
            ..Row::default()
        },
        Row {
            name: "more terminating pods than parallelism",
            parallelism: 1,
            completions: Some(1),
            backoff_limit: 6,
            replace_only_failed: true,
            active: 2,
            terminating: 4,
            expected_deletions: 1,
            expected_active: 1,
            expected_terminating: 5,
            ..Row::default()
        },
        Row {
            name: "too few active pods with a dynamic job",
            parallelism: 2,
            completions: None,
            backoff_limit: 6,
            active: 1,
            expected_creations: 1,
            expected_active: 2,
            ..Row::default()
        },
        Row {
            name: "too many active pods",
            parallelism: 2,
            completions: Some(5),
            backoff_limit: 6,
            active: 3,
            expected_deletions: 1,
            expected_active: 2,
            expected_terminating: 1,
            ..Row::default()
        },
        Row {
            name: "count ready pods when too many active pods",
            parallelism: 2,
            completions: Some(5),
            backoff_limit: 6,
            active: 3,
            ready: 3,
            expected_deletions: 1,
            expected_active: 2,
            expected_ready: 2,
            expected_terminating: 1,
            ..Row::default()
        },
        Row {
            name: "failed + succeed pods: reset backoff delay",
            parallelism: 2,
            completions: Some(5),
            backoff_limit: 6,
            active: 1,
            succeeded: 1,
            failed: 1,
            expected_creations: 1,
            expected_active: 2,
            expected_succeeded: 1,
            expected_failed: 1,
            ..Row::default()
        },
        Row {
            name: "new failed pod",
            parallelism: 2,
            completions: Some(5),
            backoff_limit: 6,
            active: 1,
            failed: 1,
            expected_creations: 1,
            expected_active: 2,
            expected_failed: 1,
            ..Row::default()
        },
        Row {
            name: "no new pod; possible finalizer update of failed pod",
            parallelism: 1,
            completions: Some(1),
            backoff_limit: 6,
            initial_failed: 1,
            active: 1,
            expected_active: 1,
            expected_failed: 1,
            ..Row::default()
        },
        Row {
            name: "job finish",
            parallelism: 2,
            completions: Some(5),
            backoff_limit: 6,
            succeeded: 5,
            expected_succeeded: 5,
            expected_conditions: COMPLETE,
            ..Row::default()
        },
        Row {
            name: "WQ job finishing",
            parallelism: 2,
            completions: None,
            backoff_limit: 6,
            active: 1,
            succeeded: 1,
            expected_active: 1,
            expected_succeeded: 1,
            ..Row::default()
        },
        Row {
            name: "WQ job all finished",
            parallelism: 2,
            completions: None,
            backoff_limit: 6,
            succeeded: 2,
            expected_succeeded: 2,
            expected_conditions: COMPLETE,
            ..Row::default()
        },
        Row {
            name: "WQ job all finished despite one failure",
            parallelism: 2,
            completions: None,
            backoff_limit: 6,
            succeeded: 1,
            failed: 1,
            expected_succeeded: 1,
            expected_failed: 1,
            expected_conditions: COMPLETE,
            ..Row::default()
        },
        Row {
            name: "more active pods than parallelism",
            parallelism: 2,
            completions: Some(5),
            backoff_limit: 6,
            active: 10,
            expected_deletions: 8,
            expected_active: 2,
            expected_terminating: 8,
            ..Row::default()
        },
        Row {
            name: "more active pods than remaining completions",
            parallelism: 3,
            completions: Some(4),
            backoff_limit: 6,
            active: 3,
            succeeded: 2,
            expected_deletions: 1,
            expected_active: 2,
            expected_succeeded: 2,
            expected_terminating: 1,
            ..Row::default()
        },
        Row {
            name: "status change",
            parallelism: 2,
            completions: Some(5),
            backoff_limit: 6,
            active: 2,
            succeeded: 2,
            expected_active: 2,
            expected_succeeded: 2,
            ..Row::default()
        },
        Row {
            name: "deleting job",
            parallelism: 2,
            completions: Some(5),
            backoff_limit: 6,
            deleting: true,
            pending: 1,
            active: 1,
            succeeded: 1,
            expected_active: 2,
            expected_succeeded: 1,
            ..Row::default()
        },
        Row {
            name: "too many job failures",
            parallelism: 2,
            completions: Some(5),
            backoff_limit: 0,
            deleting: true,
            failed: 1,
            expected_failed: 1,
            expected_conditions: &[(JOB_FAILURE_TARGET, "BackoffLimitExceeded"), (JOB_FAILED, "BackoffLimitExceeded")],
            ..Row::default()
        },
        Row {
            name: "job failures, unsatisfied expectations",
            parallelism: 2,
            completions: Some(5),
            backoff_limit: 0,
            deleting: true,
            failed: 1,
            unsatisfied_expectations: true,
            expected_failed: 1,
            ..Row::default()
        },
        Row {
            name: "indexed job start",
            parallelism: 2,
            completions: Some(5),
            backoff_limit: 6,
            indexed: true,
            expected_creations: 2,
            expected_active: 2,
            expected_completed_indexes: Some(""),
            expected_created_indexes: &[0, 1],
            ..Row::default()
        },
        Row {
            name: "indexed job completed",
            parallelism: 2,
            completions: Some(3),
            backoff_limit: 6,
            indexed: true,
            with_indexes: &[(0, "Succeeded"), (1, "Failed"), (1, "Succeeded"), (2, "Succeeded")],
            expected_succeeded: 3,
            expected_failed: 1,
            expected_completed_indexes: Some("0-2"),
            expected_conditions: COMPLETE,
            ..Row::default()
        },
        Row {
            name: "indexed job repeated completed index",
            parallelism: 2,
            completions: Some(3),
            backoff_limit: 6,
            indexed: true,
            with_indexes: &[(0, "Succeeded"), (1, "Succeeded"), (1, "Succeeded")],
            expected_creations: 1,
            expected_active: 1,
            expected_succeeded: 2,
            expected_completed_indexes: Some("0,1"),
            expected_created_indexes: &[2],
            ..Row::default()
        },
        Row {
            name: "indexed job some running and completed pods",
            parallelism: 8,
            completions: Some(20),
            backoff_limit: 6,
            indexed: true,
            with_indexes: &[
                (0, "Running"),
                (2, "Succeeded"),
                (3, "Succeeded"),
                (4, "Succeeded"),
                (5, "Succeeded"),
                (7, "Pending"),
                (8, "Pending"),
                (9, "Succeeded"),
                (11, "Succeeded"),
                (12, "Succeeded"),
                (13, "Succeeded"),
            ],
            expected_creations: 5,
            expected_active: 8,
            expected_succeeded: 8,
            expected_completed_indexes: Some("2-5,9,11-13"),
            expected_created_indexes: &[1, 6, 10, 14, 15],
            ..Row::default()
        },
        Row {
            name: "indexed job some failed pods",
            parallelism: 3,
            completions: Some(4),
            backoff_limit: 6,
            indexed: true,
            with_indexes: &[(0, "Failed"), (1, "Succeeded"), (2, "Running")],
            expected_creations: 2,
            expected_active: 3,
            expected_succeeded: 1,
            expected_failed: 1,
            expected_completed_indexes: Some("1"),
            expected_created_indexes: &[0, 3],
            ..Row::default()
        },
        Row {
            name: "indexed job some pods without index",
            parallelism: 2,
            completions: Some(5),
            backoff_limit: 6,
            indexed: true,
            active: 1,
            succeeded: 1,
            failed: 1,
            with_indexes: &[(0, "Succeeded"), (3, "Running"), (4, "Succeeded")],
            expected_deletions: 1,
            expected_active: 1,
            expected_succeeded: 2,
            expected_failed: 0,
            expected_terminating: 1,
            expected_completed_indexes: Some("0,4"),
            ..Row::default()
        },
    ];
    for row in &rows {
        check_row(row);
    }
}

#[test]
fn back_off_doubles_from_ten_seconds_and_caps_at_six_minutes() {
    let cases = [(0, 0), (1, 10), (2, 20), (3, 40), (4, 80), (5, 160), (6, 320), (7, 360), (40, 360)];
    for (failures, seconds) in cases {
        assert_eq!(pod_failure_back_off(failures), Duration::from_secs(seconds), "{failures} failures");
    }
}

#[test]
fn remaining_back_off_counts_from_the_last_failure() {
    // Rows of Kubernetes' TestGetRemainingTimeForFailuresCount, in seconds.
    let cases = [(0, 0, 0), (1, 0, 10), (1, 5, 5), (1, 10, 0), (1, 15, 0), (2, 15, 5), (10, 0, 360), (10, 359, 1)];
    for (failures, elapsed, remaining) in cases {
        let record = BackoffRecord {
            failures_after_last_success: failures,
            last_failure_time: Some(now() - SignedDuration::from_secs(elapsed)),
        };
        assert_eq!(record.remaining(now()), Duration::from_secs(remaining), "{failures} failures, {elapsed}s ago");
    }
}

fn finished(job: &Job, number: usize, phase: &str, seconds_ago: i64) -> Pod {
    let mut pod = pod(job, number, phase, false);
    let terminated = ContainerStateTerminated {
        finished_at: Some(Time(now() - SignedDuration::from_secs(seconds_ago))),
        ..ContainerStateTerminated::default()
    };
    pod.status.as_mut().unwrap().container_statuses = Some(vec![ContainerStatus {
        state: Some(ContainerState { terminated: Some(terminated), ..ContainerState::default() }),
        ..ContainerStatus::default()
    }]);
    pod
}

#[test]
fn only_failures_after_the_last_success_count_towards_back_off() {
    let job = job(1, Some(5), 6);
    let pods = [
        finished(&job, 0, "Failed", 100),
        finished(&job, 1, "Succeeded", 50),
        finished(&job, 2, "Failed", 30),
        finished(&job, 3, "Failed", 3),
    ];
    let record = BackoffRecord::from_pods(&pods.iter().collect::<Vec<_>>());
    assert_eq!(record.failures_after_last_success, 2);
    assert_eq!(record.last_failure_time, Some(now() - SignedDuration::from_secs(3)));
    assert_eq!(record.remaining(now()), Duration::from_secs(17));
}

#[test]
fn a_fresh_failure_delays_the_replacement_and_requeues_for_the_back_off() {
    // "too few active pods and active back-off".
    let job = job(1, Some(1), 6);
    let pods = [finished(&job, 0, "Failed", 0)];
    let reconciled = reconcile_job(&job, &pods, &mut ControllerExpectations::new(), now()).unwrap();
    assert!(created_pods(&reconciled).is_empty());
    assert_eq!(reconciled.requeue_after, Some(Duration::from_secs(10)));
    let later = now() + SignedDuration::from_secs(10);
    let reconciled = reconcile_job(&job, &pods, &mut ControllerExpectations::new(), later).unwrap();
    assert_eq!(created_pods(&reconciled).len(), 1);
}

#[test]
fn completed_indexes_are_written_as_kubernetes_writes_them() {
    let cases: [(&[i32], &str); 7] = [
        (&[], ""),
        (&[0], "0"),
        (&[0, 1], "0,1"),
        (&[0, 1, 2], "0-2"),
        (&[1, 3, 4, 5], "1,3-5"),
        (&[0, 2, 3, 5, 6, 7, 9], "0,2,3,5-7,9"),
        (&[3, 4, 5, 6, 100, 101], "3-6,100,101"),
    ];
    for (indexes, text) in cases {
        let set = IndexIntervals::from_indexes(indexes.iter().copied());
        assert_eq!(set.to_string(), text);
        assert_eq!(IndexIntervals::parse(text, 1000), set, "{text}");
        assert_eq!(set.total(), indexes.len() as u64);
    }
    assert_eq!(IndexIntervals::parse("1,3-5,7", 5), IndexIntervals::from_indexes([1, 3, 4]));
}

#[test]
fn index_intervals_stay_small_for_hostile_ranges() {
    // Rows of Kubernetes' TestParseIndexesFromString and TestFirstPendingIndexes facts.
    let huge = IndexIntervals::parse(&format!("0-{}", i32::MAX), i32::MAX);
    assert_eq!(huge.total(), (i32::MAX - 1) as u64 + 1);
    assert!(huge.contains(i32::MAX - 1) && !huge.contains(i32::MAX));
    assert_eq!(huge.first_missing(3, i32::MAX), Vec::<i32>::new());
    assert_eq!(IndexIntervals::parse("a,1-b,-3,2", 10), IndexIntervals::from_indexes([2]));
    assert_eq!(IndexIntervals::parse("5-2", 10), IndexIntervals::default());
    let some = IndexIntervals::parse("1-3,6", 10);
    assert_eq!(some.first_missing(4, 10), [0, 4, 5, 7]);
    assert_eq!(some.first_missing(10, 6), [0, 4, 5]);
    assert_eq!(some.intersection_total(&IndexIntervals::parse("0-2,5-9", 10)), 3);
    assert_eq!(some.union(&IndexIntervals::from_indexes([4, 5])).to_string(), "1-6");
}

#[test]
fn an_indexed_pod_carries_its_index_hostname_and_labels() {
    let mut job = job(1, Some(3), 6);
    job.spec.as_mut().unwrap().completion_mode = Some("Indexed".to_string());
    job.spec.as_mut().unwrap().template.spec =
        Some(PodSpec { containers: vec![Default::default()], ..PodSpec::default() });
    let reconciled = reconcile_job(&job, &[] as &[Pod], &mut ControllerExpectations::new(), now()).unwrap();
    let created = created_pods(&reconciled);
    let pod = &created[0];
    assert_eq!(pod.metadata.generate_name.as_deref(), Some("foobar-0-"));
    assert_eq!(completion_index(pod), Some(0));
    let labels = pod.metadata.labels.clone().unwrap();
    for key in [JOB_NAME_LABEL, LEGACY_JOB_NAME_LABEL] {
        assert_eq!(labels.get(key).map(String::as_str), Some("foobar"));
    }
    for key in [CONTROLLER_UID_LABEL, LEGACY_CONTROLLER_UID_LABEL] {
        assert_eq!(labels.get(key).map(String::as_str), Some("job-uid"));
    }
    assert_eq!(labels.get(JOB_COMPLETION_INDEX_ANNOTATION).map(String::as_str), Some("0"));
    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(spec.hostname.as_deref(), Some("foobar-0"));
    assert_eq!(spec.containers[0].env.as_ref().unwrap()[0].name, "JOB_COMPLETION_INDEX");
    assert_eq!(crate::controllers::owner::controller_of(&pod.metadata).unwrap().kind, "Job");
}

#[test]
fn a_job_past_its_active_deadline_deletes_its_pods_and_fails() {
    let mut job = job(2, Some(5), 6);
    job.spec.as_mut().unwrap().active_deadline_seconds = Some(10);
    job.status =
        Some(JobStatus { start_time: Some(Time(now() - SignedDuration::from_secs(15))), ..JobStatus::default() });
    let pods = [pod(&job, 0, "Running", true), pod(&job, 1, "Running", false)];
    let reconciled = reconcile_job(&job, &pods, &mut ControllerExpectations::new(), now()).unwrap();
    assert_eq!(deletions(&reconciled), 2);
    let status = status_of(&reconciled).unwrap();
    let types: Vec<&str> = status.conditions.iter().flatten().map(|c| c.type_.as_str()).collect();
    assert_eq!(types, [JOB_FAILURE_TARGET], "Failed waits for the pods to terminate");
    assert_eq!(status.terminating, Some(2));
    // The pods are gone at the next sync: the Job fails with an event.
    let mut failing = job.clone();
    failing.status = Some(status);
    let reconciled = reconcile_job(&failing, &[] as &[Pod], &mut ControllerExpectations::new(), now()).unwrap();
    let status = status_of(&reconciled).unwrap();
    let failed = status.conditions.iter().flatten().find(|c| c.type_ == JOB_FAILED).unwrap();
    assert_eq!(failed.reason.as_deref(), Some("DeadlineExceeded"));
    assert!(reconciled.actions.iter().any(|action| matches!(action,
        Action::Event { event } if event.reason.as_deref() == Some("DeadlineExceeded"))));
}

#[test]
fn a_job_before_its_deadline_is_requeued_for_it() {
    let mut job = job(1, Some(1), 6);
    job.spec.as_mut().unwrap().active_deadline_seconds = Some(10);
    job.status =
        Some(JobStatus { start_time: Some(Time(now() - SignedDuration::from_secs(4))), ..JobStatus::default() });
    let pods = [pod(&job, 0, "Running", true)];
    let reconciled = reconcile_job(&job, &pods, &mut ControllerExpectations::new(), now()).unwrap();
    assert_eq!(reconciled.requeue_after, Some(Duration::from_secs(6)));
}

#[test]
fn suspending_deletes_active_pods_and_sets_the_suspended_condition() {
    let mut job = job(2, Some(5), 6);
    job.spec.as_mut().unwrap().suspend = Some(true);
    let pods = [pod(&job, 0, "Running", true), pod(&job, 1, "Pending", false)];
    let reconciled = reconcile_job(&job, &pods, &mut ControllerExpectations::new(), now()).unwrap();
    assert_eq!(deletions(&reconciled), 2);
    let status = status_of(&reconciled).unwrap();
    let suspended = status.conditions.iter().flatten().find(|c| c.type_ == JOB_SUSPENDED).unwrap();
    assert_eq!((suspended.status.as_str(), suspended.reason.as_deref()), ("True", Some("JobSuspended")));
    assert_eq!(status.active, Some(0));
    // Resuming sets the condition False and restarts the clock.
    let mut resumed = job.clone();
    resumed.spec.as_mut().unwrap().suspend = Some(false);
    resumed.status = Some(status);
    let later = now() + SignedDuration::from_secs(60);
    let reconciled = reconcile_job(&resumed, &[] as &[Pod], &mut ControllerExpectations::new(), later).unwrap();
    let status = status_of(&reconciled).unwrap();
    let suspended = status.conditions.iter().flatten().find(|c| c.type_ == JOB_SUSPENDED).unwrap();
    assert_eq!((suspended.status.as_str(), suspended.reason.as_deref()), ("False", Some("JobResumed")));
    assert_eq!(status.start_time, Some(Time(later)));
    assert_eq!(created_pods(&reconciled).len(), 2);
}

fn finished_job(ttl: Option<i32>, finished_seconds_ago: i64) -> Job {
    let mut job = job(1, Some(1), 6);
    job.spec.as_mut().unwrap().ttl_seconds_after_finished = ttl;
    let mut status = JobStatus::default();
    let at = now() - SignedDuration::from_secs(finished_seconds_ago);
    conditions::ensure_condition(&mut status, JOB_COMPLETE, "True", "CompletionsReached", "", at);
    job.status = Some(status);
    job
}

#[test]
fn a_finished_job_is_deleted_in_the_background_once_its_ttl_passed() {
    let reconciled = reconcile_ttl_after_finished(&finished_job(Some(10), 4), now()).unwrap();
    assert_eq!((reconciled.actions.len(), reconciled.requeue_after), (0, Some(Duration::from_secs(6))));
    let reconciled = reconcile_ttl_after_finished(&finished_job(Some(10), 10), now()).unwrap();
    let [Action::Delete { name, propagation_policy, preconditions, .. }] = reconciled.actions.as_slice() else {
        panic!("expected one delete, got {:?}", reconciled.actions)
    };
    assert_eq!(name, "foobar");
    assert_eq!(*propagation_policy, Some(PropagationPolicy::Background));
    assert_eq!(preconditions.uid.as_deref(), Some("job-uid"));
    assert!(reconcile_ttl_after_finished(&finished_job(None, 1000), now()).unwrap().actions.is_empty());
    let running = job(1, Some(1), 6);
    assert_eq!(reconcile_ttl_after_finished(&running, now()).unwrap(), Reconciled::default());
}

/// A fake world: the Job controller's actions are applied, and every pod succeeds one step
/// after it was created.
#[test]
fn a_job_of_three_completions_two_at_a_time_runs_to_complete() {
    let mut job = job(2, Some(3), 6);
    let mut pods: Vec<Pod> = Vec::new();
    let mut expectations = ControllerExpectations::new();
    let mut created_total = 0;
    let mut events = Vec::new();
    for step in 0..10 {
        let at = now() + SignedDuration::from_secs(step);
        for pod in pods.iter_mut() {
            pod.status.as_mut().unwrap().phase = Some("Succeeded".to_string());
        }
        let reconciled = reconcile_job(&job, &pods, &mut expectations, at).unwrap();
        let active_now = pods.iter().filter(|pod| phase(pod) == "Running").count();
        assert!(created_pods(&reconciled).len() + active_now <= 2, "never more than parallelism");
        for action in &reconciled.actions {
            match action {
                Action::Create { object, .. } => {
                    let mut pod = object.to_typed::<Pod>().unwrap();
                    pod.metadata.name = Some(format!("foobar-{created_total}"));
                    pod.metadata.uid = Some(format!("pod-{created_total}"));
                    pod.status = Some(PodStatus { phase: Some("Running".to_string()), ..PodStatus::default() });
                    pods.push(pod);
                    created_total += 1;
                    expectations.creation_observed("default/foobar");
                }
                Action::UpdateStatus { object } => job = object.to_typed::<Job>().unwrap(),
                Action::Patch { resource, name, body, .. } if resource.resource == "jobs/status" => {
                    assert_eq!(name, "foobar");
                    job.status = Some(serde_json::from_value(body["status"].clone()).unwrap());
                }
                Action::Patch { resource, name, .. } if resource.resource == "pods" => {
                    let pod = pods.iter_mut().find(|pod| pod.metadata.name.as_ref() == Some(name)).unwrap();
                    pod.metadata.finalizers.as_mut().unwrap().retain(|f| f != JOB_TRACKING_FINALIZER);
                }
                Action::Event { event } => events.push(event.reason.clone().unwrap_or_default()),
                other => panic!("unexpected action {other:?}"),
            }
        }
        if is_finished(job.status.as_ref().unwrap()) {
            break;
        }
    }
    let status = job.status.unwrap();
    assert!(conditions::has_true_condition(&status, JOB_COMPLETE));
    assert_eq!((status.succeeded, status.active, created_total), (Some(3), Some(0), 3));
    assert!(status.completion_time.is_some() && status.start_time.is_some());
    assert_eq!(events, ["Completed"]);
}

mod adoption;
mod policies;
mod tracking;

/// Every status write of a sync, in order: updates and the merge patch after the removals.
fn status_writes(reconciled: &Reconciled) -> Vec<JobStatus> {
    let writes = reconciled.actions.iter().filter_map(|action| match action {
        Action::UpdateStatus { object } => object.to_typed::<Job>().unwrap().status,
        Action::Patch { resource, body, .. } if resource.resource == "jobs/status" => {
            Some(serde_json::from_value(body["status"].clone()).unwrap())
        }
        _ => None,
    });
    writes.collect()
}

/// The names of the pods whose tracking finalizer the sync removes.
fn finalizer_removals(reconciled: &Reconciled) -> Vec<String> {
    let removals = reconciled.actions.iter().filter_map(|action| match action {
        Action::Patch { resource, name, body, .. }
            if resource.resource == "pods" && body["metadata"]["$deleteFromPrimitiveList/finalizers"].is_array() =>
        {
            Some(name.clone())
        }
        _ => None,
    });
    removals.collect()
}

fn condition_reasons(status: &JobStatus) -> Vec<(String, String)> {
    let conditions = status.conditions.iter().flatten();
    conditions.map(|condition| (condition.type_.clone(), condition.reason.clone().unwrap_or_default())).collect()
}

fn sync(job: &Job, pods: &[Pod]) -> Reconciled {
    reconcile_job(job, pods, &mut ControllerExpectations::new(), now()).unwrap()
}
