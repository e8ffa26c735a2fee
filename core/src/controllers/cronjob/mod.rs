//! The CronJob controller (Kubernetes 1.32 `pkg/controller/cronjob`, ControllerV2): create a Job
//! at each schedule time, honour `startingDeadlineSeconds`, `concurrencyPolicy` and `suspend`,
//! keep `status.active`, `lastScheduleTime` and `lastSuccessfulTime`, prune finished Jobs past
//! the history limits, and requeue for the next schedule time.
//!
//! Differences from Kubernetes, all deliberate: the reconcile cannot read the create response,
//! so a Job it creates enters `status.active` by name without a uid, and the uid is filled in
//! once the Job is observed (an active entry without a uid is not "missing" while the Job has
//! not been observed yet); a Job that already exists under the scheduled name is found in the
//! observed Jobs rather than by an `AlreadyExists` answer; Jobs already being deleted are not
//! counted or deleted again by the history cleanup; the history limits default to 3 and 1
//! when unset; and schedules with `TZ=`/`CRON_TZ=` are refused ([`ScheduleError`]), while
//! `@every <duration>` runs as robfig's constant delay, as validation accepts it.

mod times;

use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Preconditions, Time};
use k8s_openapi::jiff;

pub use crate::object::cron_schedule::{Schedule, ScheduleError};
pub use times::{
    MAX_MISSED_START_TIMES, MissedSchedules, MostRecent, NEXT_SCHEDULE_DELTA, ScheduleIntervalError, job_name,
    most_recent_schedule_time, next_schedule_time_duration, time_zone,
};

use super::action::{
    Action, CreatedEvent, EventType, PropagationPolicy, Reconciled, event_action, object_reference, to_object,
};
use super::job::{JOB_COMPLETE, JOB_FAILED};
use super::owner::{controller_ref, is_controlled_by};
use crate::object::kinds::GroupResource;

/// The component name on the events the controller records.
pub const CRONJOB_CONTROLLER_COMPONENT: &str = "cronjob-controller";

/// Annotation on each Job with its schedule time in RFC 3339, in the CronJob's time zone.
pub const CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// `successfulJobsHistoryLimit` when unset (API defaulting).
pub const DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT: i32 = 3;

/// `failedJobsHistoryLimit` when unset (API defaulting).
pub const DEFAULT_FAILED_JOBS_HISTORY_LIMIT: i32 = 1;

const JOBS: GroupResource = GroupResource { group: "batch", resource: "jobs" };

/// What one sync of one CronJob works with (`syncCronJob`).
struct SyncCronJob<'a> {
    cron_job: &'a CronJob,
    spec: CronJobSpec,
    /// Jobs of the CronJob's namespace.
    jobs: &'a [Job],
    /// Those the CronJob controls.
    owned: Vec<&'a Job>,
    status: CronJobStatus,
    now: Timestamp,
    reconciled: Reconciled,
}

/// Reconciles one CronJob against every Job of its namespace (`sync`): tidies `status.active`,
/// creates the Job of the most recent unmet schedule time if the policies allow it, prunes
/// finished Jobs past the history limits, and writes the status if it changed. `requeue_after`
/// is the time until the next schedule time.
pub fn reconcile_cron_job(cron_job: &CronJob, jobs: &[Job], now: Timestamp) -> Reconciled {
    let uid = cron_job.metadata.uid.as_deref().unwrap_or("");
    let owned = jobs
        .iter()
        .filter(|job| job.metadata.namespace == cron_job.metadata.namespace)
        .filter(|job| is_controlled_by(&job.metadata, uid))
        .collect();
    let old_status = cron_job.status.clone().unwrap_or_default();
    let mut sync = SyncCronJob {
        cron_job,
        spec: cron_job.spec.clone().unwrap_or_default(),
        jobs,
        owned,
        status: old_status.clone(),
        now,
        reconciled: Reconciled::default(),
    };
    sync.reconcile_active_list();
    let requeue = if cron_job.metadata.deletion_timestamp.is_none() { sync.schedule() } else { None };
    sync.cleanup_finished_jobs();
    let emptied = sync.status.active.as_ref().is_some_and(Vec::is_empty);
    if emptied && old_status.active.as_ref().is_none_or(Vec::is_empty) {
        sync.status.active = old_status.active.clone();
    }
    if sync.status != old_status {
        let mut updated = cron_job.clone();
        updated.status = Some(sync.status.clone());
        sync.reconciled.push_alone(Action::UpdateStatus { object: to_object(&updated) });
    }
    sync.reconciled.requeue_after = requeue;
    sync.reconciled
}

/// Whether `reference` in `status.active` names `job`: by uid, or by name while the Job has not
/// been observed yet.
fn refers_to(reference: &ObjectReference, job: &ObjectMeta) -> bool {
    match reference.uid.as_deref() {
        Some(uid) => job.uid.as_deref() == Some(uid),
        None => reference.name == job.name && reference.namespace == job.namespace,
    }
}

/// The True `Complete` or `Failed` condition type of a finished Job.
fn finished_type(job: &Job) -> Option<&'static str> {
    let status = job.status.as_ref()?;
    let is_true = |type_: &str| {
        status.conditions.iter().flatten().any(|condition| condition.type_ == type_ && condition.status == "True")
    };
    [JOB_COMPLETE, JOB_FAILED].into_iter().find(|type_| is_true(type_))
}

impl<'a> SyncCronJob<'a> {
    fn event(&mut self, event_type: EventType, reason: &str, message: &str) {
        let involved = object_reference("batch/v1", "CronJob", &self.cron_job.metadata);
        let action = event_action(&involved, CRONJOB_CONTROLLER_COMPONENT, event_type, reason, message, self.now);
        self.reconciled.push_alone(action);
    }

    fn active(&mut self) -> &mut Vec<ObjectReference> {
        self.status.active.get_or_insert_with(Vec::new)
    }

    /// The first half of `syncCronJob`: drop finished and vanished Jobs from `status.active`,
    /// note Jobs the controller did not expect, and advance `lastSuccessfulTime`.
    fn reconcile_active_list(&mut self) {
        for job in self.owned.clone() {
            let name = job.metadata.name.clone().unwrap_or_default();
            let position = self.active().iter().position(|reference| refers_to(reference, &job.metadata));
            match (position, finished_type(job)) {
                (None, None) => {
                    let message = format!("Saw a job that the controller did not create or forgot: {name}");
                    self.event(EventType::Warning, "UnexpectedJob", &message);
                }
                (Some(index), Some(finished_type)) => {
                    self.active().remove(index);
                    let message = format!("Saw completed job: {name}, status: {finished_type}");
                    self.event(EventType::Normal, "SawCompletedJob", &message);
                }
                (Some(index), None) => {
                    let reference = &mut self.active()[index];
                    if reference.uid.is_none() {
                        reference.uid = job.metadata.uid.clone();
                        reference.resource_version = job.metadata.resource_version.clone();
                    }
                }
                (None, Some(JOB_COMPLETE)) => self.note_success(job),
                (None, Some(_)) => {}
            }
        }
        let owned = self.owned.clone();
        let mut index = 0;
        while index < self.active().len() {
            let reference = self.active()[index].clone();
            let observed = owned.iter().any(|job| refers_to(&reference, &job.metadata));
            if observed || reference.uid.is_none() {
                index += 1;
                continue;
            }
            self.active().remove(index);
            let message = format!("Active job went missing: {}", reference.name.unwrap_or_default());
            self.event(EventType::Normal, "MissingJob", &message);
        }
    }

    /// Advances `lastSuccessfulTime` to a succeeded Job's completion time.
    fn note_success(&mut self, job: &Job) {
        let Some(completion) = job.status.as_ref().and_then(|status| status.completion_time.clone()) else { return };
        if self.status.last_successful_time.as_ref().is_none_or(|last| completion.0 > last.0) {
            self.status.last_successful_time = Some(completion);
        }
    }

    /// The second half of `syncCronJob`: find the schedule time to act on and start its Job if
    /// the policies allow. Returns when to look again.
    fn schedule(&mut self) -> Option<Duration> {
        let time_zone = match time_zone(self.cron_job) {
            Ok(time_zone) => time_zone,
            Err(error) => {
                let zone = self.spec.time_zone.clone().unwrap_or_default();
                self.event(EventType::Warning, "UnknownTimeZone", &format!("invalid timeZone: {zone:?}: {error}"));
                return None;
            }
        };
        if self.spec.suspend == Some(true) {
            return None;
        }
        let schedule = match Schedule::parse(&self.spec.schedule) {
            Ok(schedule) => schedule,
            Err(error) => {
                let message = format!("unparseable schedule: {:?} : {error}", self.spec.schedule);
                self.event(EventType::Warning, "UnparseableSchedule", &message);
                return None;
            }
        };
        let scheduled = match most_recent_schedule_time(self.cron_job, self.now, &schedule, &time_zone, true) {
            Err(error) => {
                let message = format!("invalid schedule: {} : {error}", self.spec.schedule);
                self.event(EventType::Warning, "InvalidSchedule", &message);
                return None;
            }
            Ok(found) => {
                if found.most_recent.is_some() && found.missed == MissedSchedules::Many {
                    let message = "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew";
                    self.event(EventType::Warning, "TooManyMissedTimes", message);
                }
                found.most_recent
            }
        };
        if let Some(scheduled) = scheduled {
            self.start_job_if_allowed(scheduled, &time_zone);
        }
        self.next_requeue(&schedule, &time_zone)
    }

    /// The time until the next schedule time, as the updated CronJob sees it.
    fn next_requeue(&self, schedule: &Schedule, time_zone: &TimeZone) -> Option<Duration> {
        let mut updated = self.cron_job.clone();
        updated.status = Some(self.status.clone());
        next_schedule_time_duration(&updated, self.now, schedule, time_zone)
    }

    /// Starts the Job of `scheduled` unless it is too late, already started, or forbidden by
    /// `concurrencyPolicy`; `Replace` deletes the running Jobs first.
    fn start_job_if_allowed(&mut self, scheduled: Timestamp, time_zone: &TimeZone) {
        let deadline = self.spec.starting_deadline_seconds;
        // Saturating: a deadline beyond the last representable time is never missed, one before the
        // first always is (Go's time.Add clamps the same way rather than failing).
        let missed = |seconds: i64| {
            let duration = jiff::SignedDuration::from_secs(seconds);
            let limit = if seconds >= 0 { Timestamp::MAX } else { Timestamp::MIN };
            scheduled.checked_add(duration).unwrap_or(limit) < self.now
        };
        if deadline.is_some_and(missed) {
            let at = scheduled.to_zoned(TimeZone::UTC).strftime("%a, %d %b %Y %H:%M:%S %z").to_string();
            self.event(EventType::Warning, "MissSchedule", &format!("Missed scheduled time to start a job: {at}"));
            return;
        }
        let name = job_name(self.cron_job.metadata.name.as_deref().unwrap_or(""), scheduled);
        let last_schedule = self.status.last_schedule_time.as_ref().map(|time| time.0);
        let in_active = self.active().iter().any(|reference| reference.name.as_deref() == Some(name.as_str()));
        if in_active || last_schedule == Some(scheduled) {
            return;
        }
        let policy = self.spec.concurrency_policy.clone();
        match policy.as_deref() {
            Some("Forbid") if !self.active().is_empty() => {
                let message = "Not starting job because prior execution is running and concurrency policy is Forbid";
                self.event(EventType::Normal, "JobAlreadyActive", message);
                return;
            }
            Some("Replace") => self.replace_active_jobs(),
            _ => {}
        }
        let namespace = self.cron_job.metadata.namespace.clone();
        let existing = self
            .jobs
            .iter()
            .find(|job| job.metadata.name.as_deref() == Some(&name) && job.metadata.namespace == namespace);
        let reference = match existing {
            Some(job) => {
                let uid = self.cron_job.metadata.uid.as_deref().unwrap_or("");
                let already_active = self.active().iter().any(|reference| refers_to(reference, &job.metadata));
                if !is_controlled_by(&job.metadata, uid) || already_active {
                    return;
                }
                object_reference("batch/v1", "Job", &job.metadata)
            }
            None => self.create_job(&name, scheduled, time_zone),
        };
        self.active().push(reference);
        self.status.last_schedule_time = Some(Time(scheduled));
    }

    /// `Replace`: deletes every running Job and drops it from `status.active`.
    fn replace_active_jobs(&mut self) {
        for reference in std::mem::take(self.active()) {
            let name = reference.name.clone().unwrap_or_default();
            self.reconciled.push_alone(Action::Delete {
                resource: JOBS,
                namespace: reference.namespace.clone().unwrap_or_default(),
                name: name.clone(),
                preconditions: Preconditions { uid: reference.uid.clone(), resource_version: None },
                propagation_policy: Some(PropagationPolicy::Background),
            });
            self.event(EventType::Normal, "SuccessfulDelete", &format!("Deleted job {name}"));
        }
    }

    /// Creates the Job for `scheduled` (`getJobFromTemplate2`) and returns its active entry.
    fn create_job(&mut self, name: &str, scheduled: Timestamp, time_zone: &TimeZone) -> ObjectReference {
        let template = &self.spec.job_template;
        let template_metadata = template.metadata.clone().unwrap_or_default();
        let mut annotations = template_metadata.annotations.unwrap_or_default();
        annotations.insert(CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION.to_string(), rfc3339(scheduled, time_zone));
        let job = Job {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: self.cron_job.metadata.namespace.clone(),
                labels: Some(template_metadata.labels.unwrap_or_default()),
                annotations: Some(annotations),
                creation_timestamp: Some(Time(scheduled)),
                owner_references: Some(vec![controller_ref("batch/v1", "CronJob", &self.cron_job.metadata)]),
                ..ObjectMeta::default()
            },
            spec: template.spec.clone(),
            status: None,
        };
        let involved = object_reference("batch/v1", "CronJob", &self.cron_job.metadata);
        let on_created = CreatedEvent {
            involved_object: involved,
            component: CRONJOB_CONTROLLER_COMPONENT,
            reason: "SuccessfulCreate",
            message_prefix: "Created job ",
        };
        self.reconciled.push_alone(Action::Create { object: to_object(&job), on_created: Some(Box::new(on_created)) });
        ObjectReference {
            api_version: Some("batch/v1".to_string()),
            kind: Some("Job".to_string()),
            name: Some(name.to_string()),
            namespace: self.cron_job.metadata.namespace.clone(),
            ..ObjectReference::default()
        }
    }

    /// `cleanupFinishedJobs`: deletes the oldest succeeded and failed Jobs beyond the limits.
    fn cleanup_finished_jobs(&mut self) {
        let successful_limit = self.spec.successful_jobs_history_limit.unwrap_or(DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT);
        let failed_limit = self.spec.failed_jobs_history_limit.unwrap_or(DEFAULT_FAILED_JOBS_HISTORY_LIMIT);
        for (type_, limit) in [(JOB_COMPLETE, successful_limit), (JOB_FAILED, failed_limit)] {
            let mut finished: Vec<&Job> = self
                .owned
                .iter()
                .copied()
                .filter(|job| job.metadata.deletion_timestamp.is_none() && finished_type(job) == Some(type_))
                .collect();
            let excess = finished.len().saturating_sub(usize::try_from(limit).unwrap_or(0));
            finished.sort_by(|a, b| by_start_time(a, b));
            for job in finished.into_iter().take(excess) {
                self.delete_job(job);
            }
        }
    }

    /// `deleteJob`: deletes a Job (its pods follow in the background) and forgets it.
    fn delete_job(&mut self, job: &Job) {
        let name = job.metadata.name.clone().unwrap_or_default();
        self.reconciled.push_alone(Action::Delete {
            resource: JOBS,
            namespace: job.metadata.namespace.clone().unwrap_or_default(),
            name: name.clone(),
            preconditions: Preconditions { uid: job.metadata.uid.clone(), resource_version: None },
            propagation_policy: Some(PropagationPolicy::Background),
        });
        self.active().retain(|reference| !refers_to(reference, &job.metadata));
        self.event(EventType::Normal, "SuccessfulDelete", &format!("Deleted job {name}"));
    }
}

/// `byJobStartTime`: started Jobs first, oldest first, then by name.
fn by_start_time(a: &Job, b: &Job) -> std::cmp::Ordering {
    let start = |job: &Job| job.status.as_ref().and_then(|status| status.start_time.as_ref()).map(|time| time.0);
    match (start(a), start(b)) {
        (Some(first), Some(second)) if first != second => first.cmp(&second),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        _ => a.metadata.name.cmp(&b.metadata.name),
    }
}

/// Go's `Format(time.RFC3339)` of a time in a zone: `Z` for a zero offset.
fn rfc3339(time: Timestamp, time_zone: &TimeZone) -> String {
    let zoned = time.to_zoned(time_zone.clone());
    if zoned.offset().seconds() == 0 {
        zoned.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

#[cfg(test)]
mod tests;
