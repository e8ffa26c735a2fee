//! Jobs and CronJobs (`pkg/apis/batch/validation`): counts, completion mode, selector, a pod
//! template that restarts `OnFailure` or `Never`, and the CronJob schedule.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, Job, JobSpec};

use super::batch_policies::validate_job_policies;
use super::common::{invalid_string_map, nonnegative, to_json};
use super::meta::{selector_matches, validate_label_selector};
use super::pod::{template_labels, validate_pod_template_spec};
use super::workloads::SELECTOR_DOES_NOT_MATCH;
use crate::object::defaults::batch::{
    CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL, generate_job_selector,
};
use crate::object::field_error::{FieldError, FieldPath};

/// Completion modes a Job may have.
pub const COMPLETION_MODES: &[&str] = &["NonIndexed", "Indexed"];
/// Most parallel pods of an Indexed Job.
pub const MAX_PARALLELISM_FOR_INDEXED_JOB: i32 = 100_000;
/// Concurrency policies a CronJob may have.
pub const CONCURRENCY_POLICIES: &[&str] = &["Allow", "Forbid", "Replace"];
/// Longest CronJob name: its Jobs append an 11-character suffix and must stay DNS-1035 labels.
pub const CRON_JOB_NAME_MAX_LENGTH: usize = 52;
/// The uid a Job is validated with before the API server has given it one (`cox validate`):
/// the selector is generated with it as the API server would generate it with the real uid.
pub const PENDING_JOB_UID: &str = "00000000-0000-4000-8000-000000000000";

/// `ValidateJob` (spec part) and `validateGeneratedSelector`. A Job without `manualSelector:
/// true` must carry the selector and template labels the API server generates from its name
/// and uid ([`generate_job_selector`]); a Job with no uid yet is checked as that generation
/// would leave it.
pub fn validate_job(job: &Job) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = FieldPath::new("spec");
    if job.spec.is_none() {
        errors.push(FieldError::required(&path, ""));
        return errors;
    }
    let manual = job.spec.as_ref().is_some_and(|spec| spec.manual_selector == Some(true));
    let pending = !manual && job.metadata.uid.as_deref().unwrap_or("").is_empty();
    let prepared;
    let job = if pending {
        let mut clone = job.clone();
        clone.metadata.uid = Some(PENDING_JOB_UID.to_string());
        generate_job_selector(&mut clone);
        prepared = clone;
        &prepared
    } else {
        job
    };
    if !manual {
        validate_generated_selector(job, &mut errors);
    }
    let Some(spec) = &job.spec else { return errors };
    match &spec.selector {
        None => errors.push(FieldError::required(&path.child("selector"), "")),
        Some(selector) => {
            validate_label_selector(selector, &path.child("selector"), &mut errors);
            if !selector_matches(selector, template_labels(&spec.template)) {
                let labels_path = path.child("template").child("metadata").child("labels");
                errors.push(invalid_string_map(&labels_path, template_labels(&spec.template), SELECTOR_DOES_NOT_MATCH));
            }
        }
    }
    validate_job_spec(spec, &path, &mut errors);
    errors
}

/// `validateGeneratedSelector`: the template carries the name and uid labels (the prefixed ones
/// wherever they are set, as Jobs created before they existed lack them) and the selector
/// selects exactly what was generated.
fn validate_generated_selector(job: &Job, errors: &mut Vec<FieldError>) {
    let Some(selector) = job.spec.as_ref().and_then(|spec| spec.selector.as_ref()) else { return };
    let uid = job.metadata.uid.clone().unwrap_or_default();
    if uid.is_empty() {
        errors.push(FieldError::required(&FieldPath::new("metadata").child("uid"), ""));
    }
    let name = job.metadata.name.clone().unwrap_or_default();
    let labels = job.spec.as_ref().and_then(|spec| template_labels(&spec.template)).cloned().unwrap_or_default();
    let metadata_path = FieldPath::new("spec").child("template").child("metadata");
    let mut expected = BTreeMap::new();
    let prefixed = labels.contains_key(CONTROLLER_UID_LABEL) || labels.contains_key(JOB_NAME_LABEL);
    let mut keys = vec![(LEGACY_CONTROLLER_UID_LABEL, &uid), (LEGACY_JOB_NAME_LABEL, &name)];
    if prefixed {
        keys.extend([(CONTROLLER_UID_LABEL, &uid), (JOB_NAME_LABEL, &name)]);
    }
    for (key, value) in keys {
        validate_has_label(&labels, &metadata_path, key, value, errors);
        expected.insert(key.to_string(), value.clone());
    }
    if !selector_matches(selector, Some(&expected)) {
        let message = "`selector` not auto-generated";
        errors.push(FieldError::invalid(&FieldPath::new("spec").child("selector"), to_json(selector), message));
    }
}

/// `ValidateHasLabel`: `Required` with the expected value when the label is missing, `Invalid`
/// when it differs.
fn validate_has_label(
    labels: &BTreeMap<String, String>,
    metadata_path: &FieldPath,
    key: &str,
    expected: &str,
    errors: &mut Vec<FieldError>,
) {
    let path = metadata_path.child("labels").key(key);
    match labels.get(key) {
        None => errors.push(FieldError::required(&path, expected)),
        Some(actual) if actual != expected => {
            errors.push(invalid_string_map(&path, Some(labels), &format!("must be '{expected}'")));
        }
        Some(_) => {}
    }
}

/// `validateJobSpec`: what a Job and a CronJob's job template have in common.
fn validate_job_spec(spec: &JobSpec, path: &FieldPath, errors: &mut Vec<FieldError>) {
    for (field, value) in [
        ("parallelism", spec.parallelism.map(i64::from)),
        ("completions", spec.completions.map(i64::from)),
        ("activeDeadlineSeconds", spec.active_deadline_seconds),
        ("backoffLimit", spec.backoff_limit.map(i64::from)),
        ("ttlSecondsAfterFinished", spec.ttl_seconds_after_finished.map(i64::from)),
        ("backoffLimitPerIndex", spec.backoff_limit_per_index.map(i64::from)),
    ] {
        if let Some(value) = value {
            nonnegative(value, &path.child(field), errors);
        }
    }
    if let Some(mode) = spec.completion_mode.as_deref() {
        if !COMPLETION_MODES.contains(&mode) {
            errors.push(FieldError::not_supported(&path.child("completionMode"), mode, COMPLETION_MODES));
        }
        if mode == "Indexed" {
            if spec.completions.is_none() {
                errors.push(FieldError::required(&path.child("completions"), "when completion mode is Indexed"));
            }
            if let Some(parallelism) =
                spec.parallelism.filter(|parallelism| *parallelism > MAX_PARALLELISM_FOR_INDEXED_JOB)
            {
                let message = format!(
                    "must be less than or equal to {MAX_PARALLELISM_FOR_INDEXED_JOB} when completion mode is Indexed"
                );
                errors.push(FieldError::invalid(&path.child("parallelism"), parallelism, &message));
            }
        }
    }
    validate_job_policies(spec, path, errors);
    let template_path = path.child("template");
    validate_pod_template_spec(&spec.template, &[], &template_path, errors);
    let policy = spec.template.spec.as_ref().and_then(|spec| spec.restart_policy.as_deref()).unwrap_or("");
    if !matches!(policy, "OnFailure" | "Never") {
        let policy_path = template_path.child("spec").child("restartPolicy");
        errors.push(FieldError::not_supported(&policy_path, policy, &["OnFailure", "Never"]));
    }
}

/// `ValidateCronJobCreate` (spec part, plus the name length its Jobs need).
pub fn validate_cron_job(cron_job: &CronJob) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let name = cron_job.metadata.name.as_deref().unwrap_or("");
    if name.len() > CRON_JOB_NAME_MAX_LENGTH {
        let message = format!("must be no more than {CRON_JOB_NAME_MAX_LENGTH} characters");
        errors.push(FieldError::invalid(&FieldPath::new("metadata").child("name"), name, &message));
    }
    let path = FieldPath::new("spec");
    let Some(spec) = &cron_job.spec else {
        errors.push(FieldError::required(&path, ""));
        return errors;
    };
    if spec.schedule.is_empty() {
        errors.push(FieldError::required(&path.child("schedule"), ""));
    } else {
        validate_schedule(&spec.schedule, &path.child("schedule"), &mut errors);
    }
    if let Some(seconds) = spec.starting_deadline_seconds {
        nonnegative(seconds, &path.child("startingDeadlineSeconds"), &mut errors);
    }
    match spec.concurrency_policy.as_deref().unwrap_or("") {
        "" => errors.push(FieldError::required(&path.child("concurrencyPolicy"), "")),
        policy if !CONCURRENCY_POLICIES.contains(&policy) => {
            errors.push(FieldError::not_supported(&path.child("concurrencyPolicy"), policy, CONCURRENCY_POLICIES));
        }
        _ => {}
    }
    let job_spec_path = path.child("jobTemplate").child("spec");
    if let Some(job_spec) = &spec.job_template.spec {
        validate_job_spec(job_spec, &job_spec_path, &mut errors);
        if let Some(selector) = &job_spec.selector {
            let message = "`selector` will be auto-generated";
            errors.push(FieldError::invalid(&job_spec_path.child("selector"), to_json(selector), message));
        }
        if job_spec.manual_selector == Some(true) {
            errors.push(FieldError::not_supported(&job_spec_path.child("manualSelector"), true, &["nil", "false"]));
        }
    }
    for (field, value) in [
        ("successfulJobsHistoryLimit", spec.successful_jobs_history_limit),
        ("failedJobsHistoryLimit", spec.failed_jobs_history_limit),
    ] {
        if let Some(value) = value {
            nonnegative(i64::from(value), &path.child(field), &mut errors);
        }
    }
    errors
}

/// The schedule as Kubernetes validates it (`validateScheduleFormat`): robfig's
/// `ParseStandard` must read it (the parser the CronJob controller runs, so validation and the
/// controller agree: `@every 1h` passes both, `61 * * * *` neither), and no time zone prefix.
fn validate_schedule(schedule: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if schedule.contains("TZ") {
        let message = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead";
        errors.push(FieldError::invalid(path, schedule, message));
        return;
    }
    if let Err(error) = crate::object::cron_schedule::Schedule::parse(schedule) {
        errors.push(FieldError::invalid(path, schedule, &error.to_string()));
    }
}
