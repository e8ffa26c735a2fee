//! Defaults of Jobs and CronJobs (`pkg/apis/batch/v1/defaults.go`), and the selector the Job
//! registry strategy generates when a Job is created (`generateSelectorIfNeeded` in
//! `pkg/registry/batch/job/strategy.go`, run by its `PrepareForCreate`).
//!
//! The generated selector is not a default: it needs the uid the API server gives the Job, so
//! the API server's create path calls [`generate_job_selector`] once the uid is known.

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::pod::default_pod_template_spec;
use super::{set_if_empty, set_if_none};

/// Completions and parallelism of a Job that sets neither: one pod, run once.
pub const JOB_COMPLETIONS: i32 = 1;
/// Parallelism of a Job that does not say.
pub const JOB_PARALLELISM: i32 = 1;
/// Retries before a Job is marked failed.
pub const JOB_BACKOFF_LIMIT: i32 = 6;
/// Retries when backoff is counted per index instead: effectively unlimited.
pub const JOB_BACKOFF_LIMIT_WITH_PER_INDEX: i32 = i32::MAX;
/// A Job's pods are interchangeable unless it says otherwise.
pub const JOB_COMPLETION_MODE: &str = "NonIndexed";
/// Whether a new Job starts suspended.
pub const JOB_SUSPEND: bool = false;
/// Whether a Job's selector was written by the user.
pub const JOB_MANUAL_SELECTOR: bool = false;
/// When a Job replaces a pod: as soon as it terminates or fails.
pub const JOB_POD_REPLACEMENT_POLICY: &str = "TerminatingOrFailed";
/// When a Job with a pod failure policy replaces a pod: only once it has fully failed.
pub const JOB_POD_REPLACEMENT_POLICY_WITH_FAILURE_POLICY: &str = "Failed";
/// The status a pod failure policy's pod condition pattern matches by default.
pub const POD_FAILURE_POLICY_CONDITION_STATUS: &str = "True";
/// Whether a CronJob starts a Job while the previous one still runs.
pub const CRON_JOB_CONCURRENCY_POLICY: &str = "Allow";
/// Whether a new CronJob starts suspended.
pub const CRON_JOB_SUSPEND: bool = false;
/// Finished successful Jobs a CronJob keeps.
pub const CRON_JOB_SUCCESSFUL_JOBS_HISTORY_LIMIT: i32 = 3;
/// Failed Jobs a CronJob keeps.
pub const CRON_JOB_FAILED_JOBS_HISTORY_LIMIT: i32 = 1;

/// `SetDefaults_Job`: when neither completions nor parallelism is set both are 1; parallelism
/// alone defaults to 1 (completions then stays unset: a work queue). The Job's own labels default
/// to its template's.
pub fn default_job(job: &mut Job) {
    let spec = job.spec.get_or_insert_with(Default::default);
    if spec.completions.is_none() && spec.parallelism.is_none() {
        spec.completions = Some(JOB_COMPLETIONS);
        spec.parallelism = Some(JOB_PARALLELISM);
    }
    set_if_none(&mut spec.parallelism, JOB_PARALLELISM);
    let backoff_limit =
        if spec.backoff_limit_per_index.is_some() { JOB_BACKOFF_LIMIT_WITH_PER_INDEX } else { JOB_BACKOFF_LIMIT };
    set_if_none(&mut spec.backoff_limit, backoff_limit);
    if let Some(labels) = spec.template.metadata.as_ref().and_then(|metadata| metadata.labels.clone())
        && job.metadata.labels.as_ref().is_none_or(|labels| labels.is_empty())
    {
        job.metadata.labels = Some(labels);
    }
    set_if_none(&mut spec.completion_mode, JOB_COMPLETION_MODE.to_string());
    set_if_none(&mut spec.suspend, JOB_SUSPEND);
    if let Some(policy) = &mut spec.pod_failure_policy {
        for rule in &mut policy.rules {
            for pattern in rule.on_pod_conditions.iter_mut().flatten() {
                if pattern.status.is_empty() {
                    pattern.status = POD_FAILURE_POLICY_CONDITION_STATUS.to_string();
                }
            }
        }
    }
    let replacement = if spec.pod_failure_policy.is_some() {
        JOB_POD_REPLACEMENT_POLICY_WITH_FAILURE_POLICY
    } else {
        JOB_POD_REPLACEMENT_POLICY
    };
    set_if_none(&mut spec.pod_replacement_policy, replacement.to_string());
    set_if_none(&mut spec.manual_selector, JOB_MANUAL_SELECTOR);
    default_pod_template_spec(&mut spec.template);
}

/// Label naming the Job a pod belongs to.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// Label carrying the uid of the Job a pod belongs to; the generated selector selects on it.
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
/// The unprefixed job-name label, still set for older clients.
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";
/// The unprefixed controller-uid label, still set for older clients.
pub const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";

/// `generateSelectorIfNeeded`: unless the Job asks for `manualSelector: true`, label its pod
/// template with its name and uid (keeping labels the user already set, which validation then
/// refuses if they disagree) and select on `batch.kubernetes.io/controller-uid=<uid>`, added to
/// whatever selector the user gave (which validation then refuses as not auto-generated).
pub fn generate_job_selector(job: &mut Job) {
    let name = job.metadata.name.clone().unwrap_or_default();
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let Some(spec) = &mut job.spec else { return };
    if spec.manual_selector == Some(true) {
        return;
    }
    let labels =
        spec.template.metadata.get_or_insert_with(Default::default).labels.get_or_insert_with(Default::default);
    for key in [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL] {
        labels.entry(key.to_string()).or_insert_with(|| name.clone());
    }
    for key in [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL] {
        labels.entry(key.to_string()).or_insert_with(|| uid.clone());
    }
    let selector = spec.selector.get_or_insert_with(LabelSelector::default);
    let match_labels = selector.match_labels.get_or_insert_with(Default::default);
    match_labels.entry(CONTROLLER_UID_LABEL.to_string()).or_insert(uid);
}

/// `SetDefaults_CronJob`; the Job template gets only its pod template's defaults (the Job
/// defaults apply when the CronJob controller creates the Job).
pub fn default_cron_job(cron_job: &mut CronJob) {
    let spec = cron_job.spec.get_or_insert_with(Default::default);
    set_if_empty(&mut spec.concurrency_policy, CRON_JOB_CONCURRENCY_POLICY);
    set_if_none(&mut spec.suspend, CRON_JOB_SUSPEND);
    set_if_none(&mut spec.successful_jobs_history_limit, CRON_JOB_SUCCESSFUL_JOBS_HISTORY_LIMIT);
    set_if_none(&mut spec.failed_jobs_history_limit, CRON_JOB_FAILED_JOBS_HISTORY_LIMIT);
    if let Some(job_spec) = &mut spec.job_template.spec {
        default_pod_template_spec(&mut job_spec.template);
    }
}
