//! Job controller tests: rows ported from Kubernetes' `TestControllerSyncJob`
//! (`pkg/controller/job/job_controller_test.go`), the back-off formula, `completedIndexes`
//! formatting, and a Job run to completion step by step.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec, JobStatus};
use k8s_openapi::api::core::v1::{Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::*;
use crate::controllers::action::PropagationPolicy;
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

fn status_of(reconciled: &Reconciled) -> Option<JobStatus> {
    reconciled.actions.iter().rev().find_map(|action| match action {
        Action::UpdateStatus { object } => object.to_typed::<Job>().unwrap().status,
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
            expected_failed: 1,
            expected_terminating: 1,
            expected_completed_indexes: Some("0,4"),
            ..Row::default()
        },
    ];
    for row in &rows {
        check_row(row);
    }
}
