//! The pods a Job creates: its template, labelled and controlled by the Job, and for Indexed
//! Jobs carrying their completion index (annotation, label, hostname, `JOB_COMPLETION_INDEX`).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{JOB_CONTROLLER_COMPONENT, SyncJob};
use crate::controllers::SLOW_START_INITIAL_BATCH_SIZE;
use crate::controllers::action::{Action, CreatedEvent, to_object};
use crate::controllers::expectations::ControllerExpectations;
use crate::controllers::owner::controller_ref;
use crate::controllers::replicaset::slow_start_batch_sizes;

/// Label naming the Job a pod belongs to.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// Label carrying the uid of the Job a pod belongs to.
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
/// The unprefixed job-name label, still set for older selectors.
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";
/// The unprefixed controller-uid label, still set for older selectors.
pub const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
/// Annotation (and label) with an Indexed Job pod's completion index.
pub const JOB_COMPLETION_INDEX_ANNOTATION: &str = "batch.kubernetes.io/job-completion-index";
/// The environment variable through which containers read their completion index.
const JOB_COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// The completion index of a pod (`getCompletionIndex`): its annotation as a non-negative int.
pub fn completion_index(pod: &Pod) -> Option<i32> {
    let annotations = pod.metadata.annotations.as_ref()?;
    annotations.get(JOB_COMPLETION_INDEX_ANNOTATION)?.parse::<i32>().ok().filter(|index| *index >= 0)
}

impl SyncJob<'_> {
    /// Creates up to `count` pods in slow-start batches, expecting the creations; for Indexed
    /// Jobs the lowest indexes neither succeeded nor held by an active pod.
    pub(super) fn create_pods(&mut self, expectations: &mut ControllerExpectations, count: usize) {
        let indexes: Vec<Option<i32>> = match &self.succeeded_indexes {
            Some(succeeded) => self.first_pending_indexes(succeeded, count).into_iter().map(Some).collect(),
            None => vec![None; count],
        };
        if indexes.is_empty() {
            return;
        }
        expectations.expect_creations(&self.key, indexes.len(), self.now);
        self.created = indexes.len();
        let on_created = CreatedEvent {
            involved_object: self.involved(),
            component: JOB_CONTROLLER_COMPONENT,
            reason: "SuccessfulCreate",
            message_prefix: "Created pod: ",
        };
        let creates: Vec<Action> = indexes
            .into_iter()
            .map(|index| Action::Create {
                object: to_object(&self.pod_from_template(index)),
                on_created: Some(Box::new(on_created.clone())),
            })
            .collect();
        let mut creates = creates.into_iter();
        for size in slow_start_batch_sizes(creates.len(), SLOW_START_INITIAL_BATCH_SIZE) {
            let batch: Vec<Action> = creates.by_ref().take(size).collect();
            self.reconciled.push_batch(batch);
        }
    }

    /// `firstPendingIndexes`: the lowest `count` indexes below `completions` that neither
    /// succeeded nor belong to an active pod.
    fn first_pending_indexes(&self, succeeded: &BTreeSet<i32>, count: usize) -> Vec<i32> {
        let active: BTreeSet<i32> = self.pods.active.iter().filter_map(|pod| completion_index(pod)).collect();
        let completions = self.spec.completions.unwrap_or(0);
        (0..completions).filter(|index| !succeeded.contains(index) && !active.contains(index)).take(count).collect()
    }

    /// The Job's pod template as a pod (`GetPodFromTemplate` plus the Job's additions).
    fn pod_from_template(&self, index: Option<i32>) -> Pod {
        let template = &self.spec.template;
        let template_metadata = template.metadata.clone().unwrap_or_default();
        let job_name = self.job.metadata.name.clone().unwrap_or_default();
        let uid = self.job.metadata.uid.clone().unwrap_or_default();
        let mut labels = template_metadata.labels.unwrap_or_default();
        for (key, value) in [
            (CONTROLLER_UID_LABEL, &uid),
            (JOB_NAME_LABEL, &job_name),
            (LEGACY_CONTROLLER_UID_LABEL, &uid),
            (LEGACY_JOB_NAME_LABEL, &job_name),
        ] {
            labels.entry(key.to_string()).or_insert_with(|| value.clone());
        }
        let mut annotations = template_metadata.annotations;
        let mut spec = template.spec.clone();
        let mut generate_name = format!("{job_name}-");
        if let Some(index) = index {
            labels.insert(JOB_COMPLETION_INDEX_ANNOTATION.to_string(), index.to_string());
            annotations
                .get_or_insert_with(Default::default)
                .insert(JOB_COMPLETION_INDEX_ANNOTATION.to_string(), index.to_string());
            generate_name = format!("{job_name}-{index}-");
            if let Some(spec) = spec.as_mut() {
                spec.hostname = Some(format!("{job_name}-{index}"));
                add_completion_index_env(spec);
            }
        }
        Pod {
            metadata: ObjectMeta {
                generate_name: Some(generate_name),
                namespace: self.job.metadata.namespace.clone(),
                labels: Some(labels),
                annotations,
                finalizers: template_metadata.finalizers,
                owner_references: Some(vec![controller_ref("batch/v1", "Job", &self.job.metadata)]),
                ..ObjectMeta::default()
            },
            spec,
            status: None,
        }
    }
}

/// Gives every container and init container `JOB_COMPLETION_INDEX` from the pod's annotation,
/// unless it already defines it (`addCompletionIndexEnvVariables`).
fn add_completion_index_env(spec: &mut k8s_openapi::api::core::v1::PodSpec) {
    let variable = EnvVar {
        name: JOB_COMPLETION_INDEX_ENV.to_string(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: format!("metadata.annotations['{JOB_COMPLETION_INDEX_ANNOTATION}']"),
            }),
            ..EnvVarSource::default()
        }),
    };
    let containers = spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten());
    for container in containers {
        let env = container.env.get_or_insert_with(Vec::new);
        if !env.iter().any(|existing| existing.name == JOB_COMPLETION_INDEX_ENV) {
            env.push(variable.clone());
        }
    }
}
