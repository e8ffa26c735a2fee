//! Counting with the tracking finalizer: rows of Kubernetes' `TestTrackJobStatusAndRemoveFinalizers`
//! and `TestControllerSyncJob` about deleted and uncounted pods, and what happens to finalizers
//! once the Job finishes or is deleted.

use k8s_openapi::api::batch::v1::UncountedTerminatedPods;

use super::*;

fn uid_of(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap()
}

fn deleted(mut pod: Pod) -> Pod {
    pod.metadata.deletion_timestamp = Some(Time(now()));
    pod
}

fn without_finalizer(mut pod: Pod) -> Pod {
    pod.metadata.finalizers = None;
    pod
}

fn recorded(succeeded: i32, failed: i32, uncounted_succeeded: &[&str], uncounted_failed: &[&str]) -> JobStatus {
    let list = |uids: &[&str]| Some(uids.iter().map(|uid| uid.to_string()).collect());
    JobStatus {
        succeeded: Some(succeeded),
        failed: Some(failed),
        uncounted_terminated_pods: Some(UncountedTerminatedPods {
            succeeded: list(uncounted_succeeded),
            failed: list(uncounted_failed),
        }),
        start_time: Some(Time(now())),
        ..JobStatus::default()
    }
}

/// (uncounted succeeded, uncounted failed, succeeded, failed) of one status write.
type Write = (Vec<String>, Vec<String>, i32, i32);

fn write_of(status: &JobStatus) -> Write {
    let uncounted = status.uncounted_terminated_pods.clone().unwrap_or_default();
    (
        uncounted.succeeded.unwrap_or_default(),
        uncounted.failed.unwrap_or_default(),
        status.succeeded.unwrap_or(0),
        status.failed.unwrap_or(0),
    )
}

fn strings(uids: &[&str]) -> Vec<String> {
    uids.iter().map(|uid| uid.to_string()).collect()
}

#[test]
fn tracking_rows_ported_from_kubernetes_match() {
    // Rows of TestTrackJobStatusAndRemoveFinalizers: which finalizers go and what each status
    // write records. Pod uids are pod-<number>.
    let job = job(2, Some(1000), 1000);
    type Row = (&'static str, Option<JobStatus>, Vec<Pod>, usize, Vec<Write>);
    let rows: Vec<Row> = vec![
        (
            "new active",
            None,
            vec![pod(&job, 0, "Running", false), pod(&job, 1, "Pending", false)],
            0,
            vec![(vec![], vec![], 0, 0)],
        ),
        (
            "track finished pods",
            None,
            vec![
                pod(&job, 0, "Succeeded", false),
                pod(&job, 1, "Failed", false),
                deleted(pod(&job, 2, "Running", false)),
            ],
            3,
            vec![(strings(&["pod-0"]), strings(&["pod-1", "pod-2"]), 0, 0), (vec![], vec![], 1, 2)],
        ),
        (
            "past and new finished pods",
            Some(recorded(2, 3, &["pod-0"], &["pod-9"])),
            vec![
                without_finalizer(pod(&job, 0, "Succeeded", false)),
                pod(&job, 1, "Succeeded", false),
                pod(&job, 2, "Failed", false),
            ],
            2,
            vec![(strings(&["pod-1"]), strings(&["pod-2"]), 3, 4), (vec![], vec![], 4, 5)],
        ),
        (
            "recorded pods whose finalizer is still there are not recorded twice",
            Some(recorded(0, 0, &["pod-0"], &["pod-1"])),
            vec![pod(&job, 0, "Succeeded", false), pod(&job, 1, "Failed", false)],
            2,
            vec![(strings(&["pod-0"]), strings(&["pod-1"]), 0, 0), (vec![], vec![], 1, 1)],
        ),
        (
            "counted pods without the finalizer are not counted again",
            Some(recorded(1, 1, &[], &[])),
            vec![without_finalizer(pod(&job, 0, "Succeeded", false)), without_finalizer(pod(&job, 1, "Failed", false))],
            0,
            vec![(vec![], vec![], 1, 1)],
        ),
    ];
    for (name, status, pods, removals, writes) in rows {
        let mut job = job.clone();
        job.status = status;
        let reconciled = sync(&job, &pods);
        assert_eq!(finalizer_removals(&reconciled).len(), removals, "{name}: finalizer removals");
        let observed: Vec<Write> = status_writes(&reconciled).iter().map(write_of).collect();
        assert_eq!(observed, writes, "{name}: status writes");
    }
}

#[test]
fn at_most_max_uncounted_pods_are_recorded_in_one_sync() {
    // "too many finished" of TestTrackJobStatusAndRemoveFinalizers.
    let job = job(0, Some(1000), 1000);
    let pods: Vec<Pod> = (0..MAX_UNCOUNTED_PODS + 100).map(|number| pod(&job, number, "Succeeded", false)).collect();
    let reconciled = sync(&job, &pods);
    assert_eq!(finalizer_removals(&reconciled).len(), MAX_UNCOUNTED_PODS);
    let writes = status_writes(&reconciled);
    assert_eq!(
        writes[0].uncounted_terminated_pods.as_ref().unwrap().succeeded.as_ref().unwrap().len(),
        MAX_UNCOUNTED_PODS
    );
    assert_eq!(writes.last().unwrap().succeeded, Some(MAX_UNCOUNTED_PODS as i32));
}

#[test]
fn the_status_write_comes_before_the_finalizer_removals() {
    let job = job(0, Some(5), 6);
    let reconciled = sync(&job, &[pod(&job, 0, "Succeeded", false)]);
    let kinds: Vec<&str> = reconciled
        .actions
        .iter()
        .map(|action| match action {
            Action::UpdateStatus { .. } => "update-status",
            Action::Patch { resource, .. } if resource.resource == "jobs/status" => "patch-status",
            Action::Patch { .. } => "patch-pod",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["update-status", "patch-pod", "patch-status"]);
    // Each is its own batch, so a failed status write keeps the finalizer on.
    assert_eq!(reconciled.batches().len(), 3);
}

#[test]
fn a_deleted_counted_failure_still_counts_toward_the_backoff_limit() {
    // The failed pod counted earlier is gone (garbage collected, evicted or deleted by a user);
    // one more failure passes backoffLimit 1.
    let mut job = job(1, Some(1), 1);
    job.status = Some(recorded(0, 1, &[], &[]));
    let reconciled = sync(&job, &[pod(&job, 1, "Failed", false)]);
    let status = status_of(&reconciled).unwrap();
    assert_eq!(status.failed, Some(2));
    assert_eq!(
        condition_reasons(&status),
        [
            (JOB_FAILURE_TARGET.into(), "BackoffLimitExceeded".into()),
            (JOB_FAILED.into(), "BackoffLimitExceeded".into())
        ]
    );
}

#[test]
fn a_non_indexed_job_does_not_over_complete_when_counted_pods_are_deleted() {
    let mut job = job(1, Some(3), 6);
    job.status = Some(recorded(2, 0, &[], &[]));
    let reconciled = sync(&job, &[pod(&job, 2, "Succeeded", false)]);
    assert!(created_pods(&reconciled).is_empty(), "two counted successes and a new one make three");
    let status = status_of(&reconciled).unwrap();
    assert_eq!(status.succeeded, Some(3));
    assert!(conditions::has_true_condition(&status, JOB_COMPLETE));
}

#[test]
fn a_pod_deleted_while_running_counts_as_failed_unless_only_failed_pods_are_replaced() {
    // "WQ job: recreate pods when terminating or failed" of TestControllerSyncJob counts the
    // terminating pod (expectedFailed 2); with podReplacementPolicy Failed it waits.
    for (policy, failed, removals) in [("TerminatingOrFailed", 2, 2), ("Failed", 1, 1)] {
        let mut job = job(1, None, 6);
        job.spec.as_mut().unwrap().pod_replacement_policy = Some(policy.to_string());
        let pods =
            [pod(&job, 0, "Running", false), pod(&job, 1, "Failed", false), deleted(pod(&job, 2, "Running", false))];
        let reconciled = sync(&job, &pods);
        let status = status_of(&reconciled).unwrap();
        assert_eq!(status.failed, Some(failed), "{policy}");
        assert_eq!((status.active, status.terminating), (Some(1), Some(1)), "{policy}");
        assert_eq!(finalizer_removals(&reconciled).len(), removals, "{policy}");
    }
}

#[test]
fn a_finishing_job_counts_its_running_pods_as_failed_and_waits_for_them_to_go() {
    // Once the Job fails every pod loses its finalizer and the pods it stops count as failed;
    // the Failed condition waits until no pod is left terminating.
    let mut job = job(2, Some(5), 0);
    job.status = Some(recorded(0, 0, &[], &[]));
    let pods = [pod(&job, 0, "Failed", false), pod(&job, 1, "Running", true)];
    let reconciled = sync(&job, &pods);
    assert_eq!(deletions(&reconciled), 1);
    assert_eq!(finalizer_removals(&reconciled), ["foobar-0", "foobar-1"]);
    let status = status_of(&reconciled).unwrap();
    assert_eq!((status.failed, status.terminating), (Some(2), Some(1)));
    assert_eq!(condition_reasons(&status), [(JOB_FAILURE_TARGET.into(), "BackoffLimitExceeded".into())]);
    // Next sync: the stopped pod is still terminating, without its finalizer.
    job.status = Some(status);
    let terminating = without_finalizer(deleted(pod(&job, 1, "Running", true)));
    let status = status_of(&sync(&job, &[terminating])).or(job.status.clone()).unwrap();
    assert!(!conditions::has_true_condition(&status, JOB_FAILED), "still terminating");
    // Once it is gone the Job fails, and nothing was counted twice.
    job.status = Some(status);
    let status = status_of(&sync(&job, &[])).unwrap();
    assert!(conditions::has_true_condition(&status, JOB_FAILED));
    assert_eq!(status.failed, Some(2));
}

#[test]
fn the_pods_of_a_finished_or_deleted_job_keep_no_finalizer() {
    let mut job = job(1, Some(1), 6);
    let mut status = JobStatus::default();
    conditions::ensure_condition(&mut status, JOB_COMPLETE, "True", "CompletionsReached", "", now());
    job.status = Some(status);
    let pods = [pod(&job, 0, "Succeeded", false), without_finalizer(pod(&job, 1, "Succeeded", false))];
    assert_eq!(finalizer_removals(&sync(&job, &pods)), ["foobar-0"]);
    let released = release_finalizers_of_deleted_job("default", "foobar", &pods);
    assert_eq!(finalizer_removals(&released), ["foobar-0"]);
    let mut stranger = pod(&job, 2, "Running", false);
    stranger.metadata.owner_references.as_mut().unwrap()[0].name = "other".to_string();
    assert!(release_finalizers_of_deleted_job("default", "foobar", &[stranger]).actions.is_empty());
    assert_eq!(uid_of(&pods[0]), "pod-0");
}

#[test]
fn created_pods_carry_the_tracking_finalizer() {
    let job = job(2, Some(2), 6);
    let created = created_pods(&sync(&job, &[]));
    assert_eq!(created.len(), 2);
    for pod in created {
        assert_eq!(pod.metadata.finalizers, Some(vec![JOB_TRACKING_FINALIZER.to_string()]));
    }
}

#[test]
fn surplus_pods_lose_the_finalizer_before_they_are_deleted_and_are_not_counted() {
    // "too many active pods" of TestControllerSyncJob: one pod patch, one deletion.
    let job = job(2, Some(5), 6);
    let pods = [pod(&job, 0, "Running", false), pod(&job, 1, "Running", false), pod(&job, 2, "Running", false)];
    let reconciled = sync(&job, &pods);
    assert_eq!((finalizer_removals(&reconciled).len(), deletions(&reconciled)), (1, 1));
    assert_eq!(status_of(&reconciled).unwrap().failed, Some(0));
}

#[test]
fn hostile_numbers_do_not_crash_the_controller() {
    for (completions, parallelism, deadline, counters) in
        [(i32::MAX, i32::MAX, i64::MAX, i32::MAX), (i32::MIN, i32::MIN, i64::MIN, i32::MIN), (0, -1, -1, -1)]
    {
        for indexed in [false, true] {
            let mut job = job(parallelism, Some(completions), counters);
            let spec = job.spec.as_mut().unwrap();
            spec.active_deadline_seconds = Some(deadline);
            spec.backoff_limit_per_index = Some(counters);
            spec.max_failed_indexes = Some(counters);
            if indexed {
                spec.completion_mode = Some("Indexed".to_string());
            }
            let mut status = recorded(counters, counters, &[], &[]);
            status.completed_indexes = Some(format!("0-{}", i32::MAX));
            status.failed_indexes = Some(format!("{}-{}", i32::MIN, i32::MAX));
            status.start_time = Some(Time(Timestamp::MAX));
            job.status = Some(status);
            let mut hostile = indexed_pod(&job, 0, i32::MAX, "Failed");
            hostile
                .metadata
                .annotations
                .as_mut()
                .unwrap()
                .insert(JOB_INDEX_FAILURE_COUNT_ANNOTATION.to_string(), i32::MAX.to_string());
            let _ = sync(&job, &[hostile, pod(&job, 1, "Succeeded", false)]);
        }
    }
}
