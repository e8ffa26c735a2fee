//! `podFailurePolicy`, `backoffLimitPerIndex` and `successPolicy`: rows of Kubernetes'
//! `TestMatchPodFailurePolicy` (pod_failure_policy_test.go), `TestMatchSuccessPolicy`
//! (success_policy_test.go), and of `TestSyncJobWithJobPodFailurePolicy`,
//! `TestSyncJobWithJobBackoffLimitPerIndex` and `TestSyncJobWithJobSuccessPolicy`
//! (job_controller_test.go).

use k8s_openapi::api::batch::v1::{
    PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyOnPodConditionsPattern,
    PodFailurePolicyRule, SuccessPolicy, SuccessPolicyRule,
};

use super::*;

fn exit_codes_rule(action: &str, container: Option<&str>, operator: &str, values: &[i32]) -> PodFailurePolicyRule {
    PodFailurePolicyRule {
        action: action.to_string(),
        on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
            container_name: container.map(str::to_string),
            operator: operator.to_string(),
            values: values.to_vec(),
        }),
        on_pod_conditions: None,
    }
}

fn conditions_rule(action: &str, type_: &str, status: &str) -> PodFailurePolicyRule {
    PodFailurePolicyRule {
        action: action.to_string(),
        on_exit_codes: None,
        on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
            type_: type_.to_string(),
            status: status.to_string(),
        }]),
    }
}

fn policy(rules: Vec<PodFailurePolicyRule>) -> PodFailurePolicy {
    PodFailurePolicy { rules }
}

/// A pod of `job` in `phase` whose container `main-container` (or the init container, when
/// `init`) terminated with `exit_code`.
fn exited(job: &Job, number: usize, phase: &str, exit_code: i32, init: bool) -> Pod {
    let mut pod = pod(job, number, phase, false);
    let terminated = ContainerStateTerminated {
        exit_code,
        finished_at: Some(Time(now() - SignedDuration::from_secs(60))),
        ..ContainerStateTerminated::default()
    };
    let statuses = Some(vec![ContainerStatus {
        name: "main-container".to_string(),
        state: Some(ContainerState { terminated: Some(terminated), ..ContainerState::default() }),
        ..ContainerStatus::default()
    }]);
    let status = pod.status.as_mut().unwrap();
    if init {
        status.init_container_statuses = statuses
    } else {
        status.container_statuses = statuses
    }
    pod
}

fn with_condition(mut pod: Pod, type_: &str, status: &str) -> Pod {
    let conditions = pod.status.as_mut().unwrap().conditions.get_or_insert_with(Vec::new);
    conditions.push(PodCondition { type_: type_.to_string(), status: status.to_string(), ..PodCondition::default() });
    pod
}

#[test]
fn pod_failure_policy_rows_ported_from_kubernetes_match() {
    // Rows of TestMatchPodFailurePolicy: (name, rules, pod, message, counts, action).
    let job = job(1, Some(1), 6);
    let failed_with = |code: i32| exited(&job, 0, "Failed", code, false);
    let message_0 = |code: i32, action: &str, index: usize| {
        Some(format!(
            "Container main-container for pod default/foobar-0 failed with exit code {code} matching {action} rule at index {index}"
        ))
    };
    use FailurePolicyAction::{Count, FailIndex, FailJob, Ignore};
    type Row = (&'static str, Vec<PodFailurePolicyRule>, Pod, Option<String>, bool, Option<FailurePolicyAction>);
    let rows: Vec<Row> = vec![
        ("default - no rules", vec![], failed_with(2), None, true, None),
        (
            "unknown action for rule matching by exit codes - skip rule with unknown action",
            vec![
                exit_codes_rule("UnknownAction", None, "In", &[1, 2]),
                exit_codes_rule("FailJob", None, "In", &[2, 3]),
            ],
            failed_with(2),
            message_0(2, "FailJob", 1),
            true,
            Some(FailJob),
        ),
        (
            "FailJob rule matched for exit codes",
            vec![exit_codes_rule("FailJob", None, "In", &[1, 2, 3])],
            failed_with(2),
            message_0(2, "FailJob", 0),
            true,
            Some(FailJob),
        ),
        (
            "successful containers are skipped by the rules",
            vec![exit_codes_rule("FailJob", None, "NotIn", &[111])],
            failed_with(0),
            None,
            true,
            None,
        ),
        (
            "pod failure policy with NotIn operator and value 0",
            vec![exit_codes_rule("FailJob", None, "NotIn", &[0])],
            failed_with(1),
            message_0(1, "FailJob", 0),
            true,
            Some(FailJob),
        ),
        (
            "Ignore rule matched for exit codes",
            vec![exit_codes_rule("Ignore", None, "In", &[1, 2, 3])],
            failed_with(1),
            None,
            false,
            Some(Ignore),
        ),
        (
            "FailIndex rule matched for exit codes",
            vec![exit_codes_rule("FailIndex", None, "In", &[1, 2, 3])],
            failed_with(1),
            None,
            true,
            Some(FailIndex),
        ),
        (
            "Count rule matched for exit codes",
            vec![exit_codes_rule("Count", None, "In", &[1, 2, 3])],
            failed_with(1),
            None,
            true,
            Some(Count),
        ),
        (
            "FailJob rule for the init container",
            vec![exit_codes_rule("FailJob", Some("main-container"), "In", &[5])],
            exited(&job, 0, "Failed", 5, true),
            message_0(5, "FailJob", 0),
            true,
            Some(FailJob),
        ),
        (
            "no match on another container's name",
            vec![exit_codes_rule("FailJob", Some("sidecar"), "In", &[5])],
            failed_with(5),
            None,
            true,
            None,
        ),
        (
            "Ignore rule matched for pod conditions",
            vec![conditions_rule("Ignore", "DisruptionTarget", "True")],
            with_condition(failed_with(137), "DisruptionTarget", "True"),
            None,
            false,
            Some(Ignore),
        ),
        (
            "FailJob rule matched for pod conditions",
            vec![conditions_rule("FailJob", "DisruptionTarget", "True")],
            with_condition(failed_with(137), "DisruptionTarget", "True"),
            Some("Pod default/foobar-0 has condition DisruptionTarget matching FailJob rule at index 0".to_string()),
            true,
            Some(FailJob),
        ),
        (
            "no match for pod condition with another status",
            vec![conditions_rule("Ignore", "DisruptionTarget", "True")],
            with_condition(failed_with(137), "DisruptionTarget", "False"),
            None,
            true,
            None,
        ),
        (
            "first matching rule wins",
            vec![exit_codes_rule("Ignore", None, "In", &[42]), exit_codes_rule("FailJob", None, "In", &[42])],
            failed_with(42),
            None,
            false,
            Some(Ignore),
        ),
    ];
    for (name, rules, pod, message, counts, action) in rows {
        let matched = match_pod_failure_policy(Some(&policy(rules)), &pod);
        assert_eq!(matched, FailurePolicyMatch { job_failure_message: message, counts, action }, "{name}");
    }
}

fn job_with_policy(rules: Vec<PodFailurePolicyRule>, backoff_limit: i32) -> Job {
    let mut job = job(1, Some(1), backoff_limit);
    let spec = job.spec.as_mut().unwrap();
    spec.pod_failure_policy = Some(policy(rules));
    spec.pod_replacement_policy = Some("Failed".to_string());
    job
}

#[test]
fn a_fail_job_rule_fails_the_job_with_kubernetes_message() {
    // "fail job based on OnExitCodes" of TestSyncJobWithJobPodFailurePolicy.
    let rules = vec![exit_codes_rule("Ignore", None, "In", &[1]), exit_codes_rule("FailJob", None, "In", &[5, 6, 7])];
    let job = job_with_policy(rules, 6);
    let reconciled = sync(&job, &[exited(&job, 0, "Failed", 5, false)]);
    let status = status_of(&reconciled).unwrap();
    assert_eq!(status.failed, Some(1));
    let failed = status.conditions.iter().flatten().find(|condition| condition.type_ == JOB_FAILED).unwrap();
    assert_eq!(failed.reason.as_deref(), Some("PodFailurePolicy"));
    assert_eq!(
        failed.message.as_deref(),
        Some(
            "Container main-container for pod default/foobar-0 failed with exit code 5 matching FailJob rule at index 1"
        )
    );
    let types: Vec<&str> = status.conditions.iter().flatten().map(|condition| condition.type_.as_str()).collect();
    assert_eq!(types, [JOB_FAILURE_TARGET, JOB_FAILED]);
}

#[test]
fn a_running_pod_does_not_fail_the_job_by_its_exit_codes() {
    // "running pod should not result in job fail based on OnExitCodes".
    let job = job_with_policy(vec![exit_codes_rule("FailJob", None, "In", &[5])], 6);
    let status = status_of(&sync(&job, &[exited(&job, 0, "Running", 5, false)])).unwrap();
    assert!(status.conditions.iter().flatten().all(|condition| condition.type_ != JOB_FAILURE_TARGET));
}

#[test]
fn an_ignored_failure_does_not_count_toward_the_backoff_limit() {
    // "ignore pod failure based on DisruptionTarget condition" with backoffLimit 0.
    let job = job_with_policy(vec![conditions_rule("Ignore", "DisruptionTarget", "True")], 0);
    let evicted = with_condition(exited(&job, 0, "Failed", 137, false), "DisruptionTarget", "True");
    let reconciled = sync(&job, &[evicted]);
    let status = status_of(&reconciled).unwrap();
    assert_eq!(status.failed, Some(0));
    assert!(condition_reasons(&status).is_empty(), "{:?}", status.conditions);
    assert_eq!(finalizer_removals(&reconciled), ["foobar-0"], "the ignored pod is released uncounted");
    assert_eq!(created_pods(&reconciled).len(), 1, "and replaced");
}

#[test]
fn a_terminating_pod_waits_for_its_failed_phase_under_a_failure_policy() {
    // With a pod failure policy only failed pods are replaced and counted.
    let job = job_with_policy(vec![exit_codes_rule("FailJob", None, "In", &[5])], 6);
    let mut terminating = pod(&job, 0, "Running", false);
    terminating.metadata.deletion_timestamp = Some(Time(now()));
    let reconciled = sync(&job, &[terminating]);
    let status = status_of(&reconciled).unwrap();
    assert_eq!((status.failed, status.terminating, status.active), (Some(0), Some(1), Some(0)));
    assert!(created_pods(&reconciled).is_empty() && finalizer_removals(&reconciled).is_empty());
}

fn per_index_job(completions: i32, backoff_limit_per_index: i32, max_failed_indexes: Option<i32>) -> Job {
    let mut job = job(completions, Some(completions), i32::MAX);
    let spec = job.spec.as_mut().unwrap();
    spec.completion_mode = Some("Indexed".to_string());
    spec.backoff_limit_per_index = Some(backoff_limit_per_index);
    spec.max_failed_indexes = max_failed_indexes;
    job
}

fn failed_index_pod(job: &Job, number: usize, index: i32, failure_count: i32) -> Pod {
    let mut pod = exited(job, number, "Failed", 1, false);
    pod.metadata.annotations = Some(BTreeMap::from([
        (JOB_COMPLETION_INDEX_ANNOTATION.to_string(), index.to_string()),
        (JOB_INDEX_FAILURE_COUNT_ANNOTATION.to_string(), failure_count.to_string()),
    ]));
    pod
}

#[test]
fn a_failed_index_within_its_limit_is_retried_with_its_failure_count() {
    // "successful job after a single failure" of TestSyncJobWithJobBackoffLimitPerIndex: the
    // failed pod keeps its finalizer until the replacement exists, which inherits count 1.
    let job = per_index_job(2, 1, None);
    let pods = [failed_index_pod(&job, 0, 0, 0), indexed_pod(&job, 1, 1, "Running")];
    let later = now() + SignedDuration::from_secs(60);
    let reconciled = reconcile_job(&job, &pods, &mut ControllerExpectations::new(), later).unwrap();
    let created = created_pods(&reconciled);
    assert_eq!(created.len(), 1);
    let annotations = created[0].metadata.annotations.clone().unwrap();
    assert_eq!(annotations.get(JOB_COMPLETION_INDEX_ANNOTATION).map(String::as_str), Some("0"));
    assert_eq!(annotations.get(JOB_INDEX_FAILURE_COUNT_ANNOTATION).map(String::as_str), Some("1"));
    assert!(finalizer_removals(&reconciled).is_empty(), "kept until the replacement is seen");
    let status = status_of(&reconciled).unwrap();
    assert_eq!(status.failed_indexes.as_deref(), Some(""));
    // Once the replacement runs, the failed pod is counted and released.
    let mut replacement = indexed_pod(&job, 2, 0, "Running");
    replacement.metadata.annotations.as_mut().unwrap().insert(JOB_INDEX_FAILURE_COUNT_ANNOTATION.into(), "1".into());
    let pods = [pods[0].clone(), pods[1].clone(), replacement];
    let reconciled = reconcile_job(&job, &pods, &mut ControllerExpectations::new(), later).unwrap();
    assert_eq!(finalizer_removals(&reconciled), ["foobar-0"]);
    assert_eq!(status_of(&reconciled).unwrap().failed, Some(1));
}

#[test]
fn an_index_backs_off_on_its_own() {
    // The second failure of index 0 finished a minute ago... no, just now: 20 s back-off.
    let job = per_index_job(1, 3, None);
    let mut pod = failed_index_pod(&job, 0, 0, 1);
    let terminated = &mut pod.status.as_mut().unwrap().container_statuses.as_mut().unwrap()[0];
    terminated.state.as_mut().unwrap().terminated.as_mut().unwrap().finished_at = Some(Time(now()));
    let reconciled = sync(&job, &[pod]);
    assert!(created_pods(&reconciled).is_empty());
    assert_eq!(reconciled.requeue_after, Some(Duration::from_secs(20)));
}

#[test]
fn an_index_past_its_limit_fails_alone_and_the_job_fails_once_every_index_settled() {
    // "single failed index due to exceeding the backoff limit per index, the job continues",
    // then "job with failed indexes": reason FailedIndexes.
    let job = per_index_job(2, 1, None);
    let pods = [failed_index_pod(&job, 0, 0, 1), indexed_pod(&job, 1, 1, "Running")];
    let reconciled = sync(&job, &pods);
    let status = status_of(&reconciled).unwrap();
    assert_eq!(status.failed_indexes.as_deref(), Some("0"));
    assert!(created_pods(&reconciled).is_empty(), "the failed index is not retried");
    assert!(condition_reasons(&status).is_empty(), "the job continues");
    let mut job = job.clone();
    job.status = Some(status);
    let status = status_of(&sync(&job, &[indexed_pod(&job, 1, 1, "Succeeded")])).unwrap();
    assert_eq!(status.completed_indexes.as_deref(), Some("1"));
    assert_eq!(
        condition_reasons(&status),
        [(JOB_FAILURE_TARGET.into(), "FailedIndexes".into()), (JOB_FAILED.into(), "FailedIndexes".into())]
    );
}

#[test]
fn too_many_failed_indexes_fail_the_job() {
    // "job exceeding the maxFailedIndexes".
    let job = per_index_job(4, 0, Some(1));
    let pods = [failed_index_pod(&job, 0, 0, 0), failed_index_pod(&job, 1, 1, 0), indexed_pod(&job, 2, 2, "Running")];
    let reconciled = sync(&job, &pods);
    let status = status_of(&reconciled).unwrap();
    assert_eq!(status.failed_indexes.as_deref(), Some("0,1"));
    assert_eq!(condition_reasons(&status)[0], (JOB_FAILURE_TARGET.into(), "MaxFailedIndexesExceeded".into()));
    assert_eq!(deletions(&reconciled), 1, "the running index is stopped");
}

#[test]
fn a_fail_index_rule_fails_only_that_index() {
    // "single failed index due to FailIndex action, the job continues".
    let mut job = per_index_job(2, 6, None);
    job.spec.as_mut().unwrap().pod_failure_policy = Some(policy(vec![exit_codes_rule("FailIndex", None, "In", &[1])]));
    let pods = [failed_index_pod(&job, 0, 0, 0), indexed_pod(&job, 1, 1, "Running")];
    let status = status_of(&sync(&job, &pods)).unwrap();
    assert_eq!(status.failed_indexes.as_deref(), Some("0"));
    assert_eq!(status.failed, Some(1));
    assert!(condition_reasons(&status).is_empty());
}

fn success_rule(indexes: Option<&str>, count: Option<i32>) -> SuccessPolicyRule {
    SuccessPolicyRule { succeeded_indexes: indexes.map(str::to_string), succeeded_count: count }
}

#[test]
fn success_policy_rows_ported_from_kubernetes_match() {
    // Rows of TestMatchSuccessPolicy: (name, rules, completions, succeeded, matched rule).
    type Row = (&'static str, Option<Vec<SuccessPolicyRule>>, i32, &'static str, Option<&'static str>);
    let rows: Vec<Row> = vec![
        ("successPolicy is null", None, 10, "0-9", None),
        ("any rules are nothing", Some(vec![]), 10, "0-9", None),
        ("rules.succeededIndexes is invalid format", Some(vec![success_rule(Some("invalid"), None)]), 10, "0-9", None),
        ("rules.succeededIndexes is matched", Some(vec![success_rule(Some("0-2"), None)]), 10, "0-3", Some("0")),
        ("rules.succeededIndexes isn't matched", Some(vec![success_rule(Some("3"), None)]), 10, "0-2", None),
        (
            "rules.succeededIndexes and succeededCount matched",
            Some(vec![success_rule(Some("0-3"), Some(2))]),
            10,
            "0,1",
            Some("0"),
        ),
        (
            "rules.succeededIndexes matched but succeededCount not",
            Some(vec![success_rule(Some("0-3"), Some(3))]),
            10,
            "0,1",
            None,
        ),
        ("rules.succeededCount matched", Some(vec![success_rule(None, Some(2))]), 10, "4,9", Some("0")),
        ("no succeeded indexes", Some(vec![success_rule(None, Some(0))]), 10, "", None),
        (
            "the second rule matched",
            Some(vec![success_rule(Some("5"), None), success_rule(Some("0,1"), None)]),
            10,
            "0,1",
            Some("1"),
        ),
        ("rule indexes beyond completions are skipped", Some(vec![success_rule(Some("10-12"), None)]), 10, "0-9", None),
    ];
    for (name, rules, completions, succeeded, matched) in rows {
        let policy = rules.map(|rules| SuccessPolicy { rules });
        let succeeded = IndexIntervals::parse(succeeded, completions);
        let expected = matched.map(|index| format!("Matched rules at index {index}"));
        assert_eq!(match_success_policy(policy.as_ref(), completions, &succeeded), expected, "{name}");
    }
}

#[test]
fn a_met_success_policy_stops_the_other_pods_then_completes() {
    // TestSyncJobWithJobSuccessPolicy: SuccessCriteriaMet at once, Complete once no pod runs.
    let mut job = job(3, Some(3), 6);
    let spec = job.spec.as_mut().unwrap();
    spec.completion_mode = Some("Indexed".to_string());
    spec.success_policy = Some(SuccessPolicy { rules: vec![success_rule(Some("0"), None)] });
    let pods =
        [indexed_pod(&job, 0, 0, "Succeeded"), indexed_pod(&job, 1, 1, "Running"), indexed_pod(&job, 2, 2, "Running")];
    let reconciled = sync(&job, &pods);
    assert_eq!(deletions(&reconciled), 2);
    let status = status_of(&reconciled).unwrap();
    assert_eq!(condition_reasons(&status), [(JOB_SUCCESS_CRITERIA_MET.into(), SUCCESS_POLICY_REASON.into())]);
    job.status = Some(status);
    let status = status_of(&sync(&job, &[])).unwrap();
    let complete = status.conditions.iter().flatten().find(|condition| condition.type_ == JOB_COMPLETE).unwrap();
    assert_eq!(complete.reason.as_deref(), Some(SUCCESS_POLICY_REASON));
    assert_eq!(complete.message.as_deref(), Some("Matched rules at index 0"));
    assert_eq!(status.failed, Some(0), "pods stopped by success are not failures");
}
