//! The pods a Job creates: its template, labelled and controlled by the Job, and for Indexed
//! Jobs carrying their completion index (annotation, label, hostname, `JOB_COMPLETION_INDEX`)
//! and, with `backoffLimitPerIndex`, the failure count of their index; every pod carries the
//! tracking finalizer.

use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::per_index::{
    JOB_INDEX_FAILURE_COUNT_ANNOTATION, JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION, new_index_failure_counts,
};
use super::pod_outcome::JOB_TRACKING_FINALIZER;
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
    /// Creates one pod per entry of `indexes` (the completion index of each, for Indexed Jobs)
    /// in slow-start batches, expecting the creations.
    pub(super) fn create_pods(&mut self, expectations: &mut ControllerExpectations, indexes: Vec<Option<i32>>) {
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
        let mut finalizers = template_metadata.finalizers.unwrap_or_default();
        if !finalizers.iter().any(|finalizer| finalizer == JOB_TRACKING_FINALIZER) {
            finalizers.push(JOB_TRACKING_FINALIZER.to_string());
        }
        if let Some(index) = index {
            labels.insert(JOB_COMPLETION_INDEX_ANNOTATION.to_string(), index.to_string());
            annotations
                .get_or_insert_with(Default::default)
                .insert(JOB_COMPLETION_INDEX_ANNOTATION.to_string(), index.to_string());
            generate_name = format!("{job_name}-{index}-");
            if self.per_index() {
                self.add_index_failure_counts(annotations.get_or_insert_with(Default::default), index);
            }
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
                finalizers: Some(finalizers),
                owner_references: Some(vec![controller_ref("batch/v1", "Job", &self.job.metadata)]),
                ..ObjectMeta::default()
            },
            spec,
            status: None,
        }
    }
}

impl SyncJob<'_> {
    /// `addIndexFailureCountAnnotation`: the replacement of an index's last failed pod carries
    /// that pod's failure counts plus its failure.
    fn add_index_failure_counts(&self, annotations: &mut std::collections::BTreeMap<String, String>, index: i32) {
        let replaced = self.delayed_deletion.get(&index).copied();
        let (counted, ignored) = new_index_failure_counts(&self.spec, replaced);
        annotations.insert(JOB_INDEX_FAILURE_COUNT_ANNOTATION.to_string(), counted.to_string());
        if ignored > 0 {
            annotations.insert(JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION.to_string(), ignored.to_string());
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
