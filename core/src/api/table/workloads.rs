//! Rows of the workload kinds: Pod (in `pod.rs`), Deployment, ReplicaSet, StatefulSet,
//! DaemonSet, ReplicationController, ControllerRevision, Job, CronJob, HorizontalPodAutoscaler
//! and PodDisruptionBudget, as Kubernetes' printers lay them out.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job, JobCondition};
use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationController};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};

use crate::object::Object;

use super::super::duration;
use super::{
    AGE, CONTAINERS, Column, IMAGES, NAME, Printer, Row, RowFn, autoscaler, format, integer, pod, text, typed, wide,
};

pub(super) fn printer(kind: &str) -> Option<Printer> {
    let (columns, row): (&'static [Column], RowFn) = match kind {
        "Pod" => (pod::COLUMNS, pod::row),
        "Deployment" => (DEPLOYMENT, deployment),
        "ReplicaSet" => (REPLICA_SET, replica_set),
        "ReplicationController" => (REPLICA_SET, replication_controller),
        "StatefulSet" => (STATEFUL_SET, stateful_set),
        "DaemonSet" => (DAEMON_SET, daemon_set),
        "ControllerRevision" => (CONTROLLER_REVISION, controller_revision),
        "Job" => (JOB, job),
        "CronJob" => (CRON_JOB, cron_job),
        "HorizontalPodAutoscaler" => (autoscaler::COLUMNS, autoscaler::row),
        "PodDisruptionBudget" => (POD_DISRUPTION_BUDGET, pod_disruption_budget),
        _ => return None,
    };
    Some(Printer { columns, row })
}

const SELECTOR: Column = wide(text("Selector", "A label query over pods that should match the replica count."));

const DEPLOYMENT: &[Column] = &[
    NAME,
    text("Ready", "Number of the pod with ready state"),
    text(
        "Up-to-date",
        "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
    ),
    text(
        "Available",
        "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

const REPLICA_SET: &[Column] = &[
    NAME,
    integer("Desired", "Replicas is the number of desired replicas."),
    integer("Current", "Replicas is the most recently observed number of replicas."),
    integer("Ready", "The number of ready replicas for this replica set."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

const STATEFUL_SET: &[Column] = &[NAME, text("Ready", "Number of the pod with ready state"), AGE, CONTAINERS, IMAGES];

const DAEMON_SET: &[Column] = &[
    NAME,
    integer("Desired", "The total number of nodes that should be running the daemon pod."),
    integer(
        "Current",
        "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
    ),
    integer(
        "Ready",
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
    ),
    integer("Up-to-date", "The total number of nodes that are running updated daemon pod"),
    integer(
        "Available",
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
    ),
    text("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

const CONTROLLER_REVISION: &[Column] = &[
    NAME,
    text("Controller", "Controller of the object"),
    text("Revision", "Revision indicates the revision of the state represented by Data."),
    AGE,
];

const JOB: &[Column] = &[
    NAME,
    text("Status", "Status of the job."),
    text("Completions", "The number of pods which reached phase Succeeded."),
    text("Duration", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

const CRON_JOB: &[Column] = &[
    NAME,
    text("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    text("Timezone", "The time zone name for the given schedule."),
    super::boolean("Suspend", "This flag tells the controller to suspend subsequent executions."),
    integer("Active", "A list of pointers to currently running jobs."),
    text("Last Schedule", "Information when was the last time the job was successfully scheduled."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

const POD_DISRUPTION_BUDGET: &[Column] = &[
    NAME,
    text("Min Available", "The minimum number of pods that must be available."),
    text("Max Unavailable", "The maximum number of pods that may be unavailable."),
    integer("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time."),
    AGE,
];

/// The wide CONTAINERS and IMAGES cells of a pod template.
fn template_cells(template: Option<&PodTemplateSpec>) -> [Value; 2] {
    let containers = template.and_then(|template| template.spec.as_ref()).map(|spec| spec.containers.as_slice());
    let (names, images) = format::containers(containers.unwrap_or_default());
    [json!(names), json!(images)]
}

fn deployment(object: &Object, now: Timestamp) -> Row {
    let deployment: Deployment = typed(object);
    let spec = deployment.spec.unwrap_or_default();
    let status = deployment.status.unwrap_or_default();
    let [names, images] = template_cells(Some(&spec.template));
    Row::new(vec![
        json!(object.name()),
        json!(format!("{}/{}", status.ready_replicas.unwrap_or(0), spec.replicas.unwrap_or(1))),
        json!(status.updated_replicas.unwrap_or(0)),
        json!(status.available_replicas.unwrap_or(0)),
        json!(super::age(object, now)),
        names,
        images,
        json!(format::selector(Some(&spec.selector))),
    ])
}

fn replica_set(object: &Object, now: Timestamp) -> Row {
    let replica_set: ReplicaSet = typed(object);
    let spec = replica_set.spec.unwrap_or_default();
    let status = replica_set.status.unwrap_or_default();
    let counts =
        ReplicaCounts { desired: spec.replicas.unwrap_or(1), current: status.replicas, ready: status.ready_replicas };
    replicas_row(object, now, counts, spec.template.as_ref(), format::label_selector(Some(&spec.selector)))
}

fn replication_controller(object: &Object, now: Timestamp) -> Row {
    let controller: ReplicationController = typed(object);
    let spec = controller.spec.unwrap_or_default();
    let status = controller.status.unwrap_or_default();
    let counts =
        ReplicaCounts { desired: spec.replicas.unwrap_or(1), current: status.replicas, ready: status.ready_replicas };
    replicas_row(object, now, counts, spec.template.as_ref(), format::labels(spec.selector.as_ref()))
}

/// DESIRED, CURRENT and READY of a ReplicaSet or ReplicationController.
struct ReplicaCounts {
    desired: i32,
    current: i32,
    ready: Option<i32>,
}

/// The row ReplicaSets and ReplicationControllers share (`printReplicaSet`,
/// `printReplicationController`); only their selectors print differently.
fn replicas_row(
    object: &Object,
    now: Timestamp,
    counts: ReplicaCounts,
    template: Option<&PodTemplateSpec>,
    selector: String,
) -> Row {
    let [names, images] = template_cells(template);
    Row::new(vec![
        json!(object.name()),
        json!(counts.desired),
        json!(counts.current),
        json!(counts.ready.unwrap_or(0)),
        json!(super::age(object, now)),
        names,
        images,
        json!(selector),
    ])
}

fn stateful_set(object: &Object, now: Timestamp) -> Row {
    let stateful_set: StatefulSet = typed(object);
    let spec = stateful_set.spec.unwrap_or_default();
    let status = stateful_set.status.unwrap_or_default();
    let [names, images] = template_cells(Some(&spec.template));
    Row::new(vec![
        json!(object.name()),
        json!(format!("{}/{}", status.ready_replicas.unwrap_or(0), spec.replicas.unwrap_or(1))),
        json!(super::age(object, now)),
        names,
        images,
    ])
}

fn daemon_set(object: &Object, now: Timestamp) -> Row {
    let daemon_set: DaemonSet = typed(object);
    let spec = daemon_set.spec.unwrap_or_default();
    let status = daemon_set.status.unwrap_or_default();
    let node_selector = spec.template.spec.as_ref().and_then(|pod| pod.node_selector.as_ref());
    let [names, images] = template_cells(Some(&spec.template));
    Row::new(vec![
        json!(object.name()),
        json!(status.desired_number_scheduled),
        json!(status.current_number_scheduled),
        json!(status.number_ready),
        json!(status.updated_number_scheduled.unwrap_or(0)),
        json!(status.number_available.unwrap_or(0)),
        json!(format::labels(node_selector)),
        json!(super::age(object, now)),
        names,
        images,
        json!(format::label_selector(Some(&spec.selector))),
    ])
}

fn controller_revision(object: &Object, now: Timestamp) -> Row {
    let revision: ControllerRevision = typed(object);
    let controller = object
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|owner| owner.controller == Some(true))
        .map(|owner| {
            let group = owner.api_version.split_once('/').map(|(group, _)| group).unwrap_or("");
            let group_kind = if group.is_empty() { owner.kind.clone() } else { format!("{}.{group}", owner.kind) };
            format!("{}/{}", group_kind.to_lowercase(), owner.name)
        })
        .unwrap_or_else(|| "<none>".to_string());
    Row::new(vec![json!(object.name()), json!(controller), json!(revision.revision), json!(super::age(object, now))])
}

/// `hasJobCondition`: the first condition of the type decides.
fn has_job_condition(conditions: &[JobCondition], condition_type: &str) -> bool {
    conditions
        .iter()
        .find(|condition| condition.type_ == condition_type)
        .is_some_and(|condition| condition.status == "True")
}

fn job(object: &Object, now: Timestamp) -> Row {
    let job: Job = typed(object);
    let spec = job.spec.unwrap_or_default();
    let status = job.status.unwrap_or_default();
    let succeeded = status.succeeded.unwrap_or(0);
    let completions = match (spec.completions, spec.parallelism.unwrap_or(0)) {
        (Some(completions), _) => format!("{succeeded}/{completions}"),
        (None, parallelism) if parallelism > 1 => format!("{succeeded}/1 of {parallelism}"),
        (None, _) => format!("{succeeded}/1"),
    };
    let job_duration = match (&status.start_time, &status.completion_time) {
        (None, _) => String::new(),
        (Some(start), None) => duration::human_duration(now.duration_since(start.0)),
        (Some(start), Some(completion)) => duration::human_duration(completion.0.duration_since(start.0)),
    };
    let conditions = status.conditions.unwrap_or_default();
    let job_status = if has_job_condition(&conditions, "Complete") {
        "Complete"
    } else if has_job_condition(&conditions, "Failed") {
        "Failed"
    } else if object.metadata.deletion_timestamp.is_some() {
        "Terminating"
    } else if has_job_condition(&conditions, "Suspended") {
        "Suspended"
    } else if has_job_condition(&conditions, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let [names, images] = template_cells(Some(&spec.template));
    Row::new(vec![
        json!(object.name()),
        json!(job_status),
        json!(completions),
        json!(job_duration),
        json!(super::age(object, now)),
        names,
        images,
        json!(format::label_selector(spec.selector.as_ref())),
    ])
}

fn cron_job(object: &Object, now: Timestamp) -> Row {
    let cron_job: CronJob = typed(object);
    let spec = cron_job.spec.unwrap_or_default();
    let status = cron_job.status.unwrap_or_default();
    let last_schedule = match &status.last_schedule_time {
        Some(time) => duration::age(Some(time.0), now),
        None => "<none>".to_string(),
    };
    let job_spec = spec.job_template.spec.unwrap_or_default();
    let [names, images] = template_cells(Some(&job_spec.template));
    Row::new(vec![
        json!(object.name()),
        json!(spec.schedule),
        json!(spec.time_zone.unwrap_or_else(|| "<none>".to_string())),
        json!(format::bool_pointer(spec.suspend)),
        json!(status.active.map(|active| active.len()).unwrap_or(0)),
        json!(last_schedule),
        json!(super::age(object, now)),
        names,
        images,
        json!(format::label_selector(job_spec.selector.as_ref())),
    ])
}

fn int_or_string(value: Option<&IntOrString>) -> String {
    match value {
        Some(IntOrString::Int(number)) => number.to_string(),
        Some(IntOrString::String(text)) => text.clone(),
        None => "N/A".to_string(),
    }
}

fn pod_disruption_budget(object: &Object, now: Timestamp) -> Row {
    let budget: PodDisruptionBudget = typed(object);
    let spec = budget.spec.unwrap_or_default();
    let status = budget.status.unwrap_or_default();
    Row::new(vec![
        json!(object.name()),
        json!(int_or_string(spec.min_available.as_ref())),
        json!(int_or_string(spec.max_unavailable.as_ref())),
        json!(status.disruptions_allowed),
        json!(super::age(object, now)),
    ])
}
