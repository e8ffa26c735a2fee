//! Which pods a Job counts (`getPodsForJob`): those it controls and selects, plus orphans its
//! selector matches, which it adopts with the tracking finalizer; pods it controls but no longer
//! selects are released, and released without the finalizer, since no Job will count them.

use std::borrow::Borrow;
use std::collections::BTreeSet;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::json;

use super::pod_outcome::{JOB_TRACKING_FINALIZER, has_tracking_finalizer};
use crate::controllers::action::{Action, PatchType};
use crate::controllers::owner::{Claim, claim, controller_ref, is_controlled_by};
use crate::object::kinds::GroupResource;
use crate::selector::LabelSelector;

const PODS: GroupResource = GroupResource { group: "", resource: "pods" };

/// The pods one sync of a Job works with.
pub(super) struct Claimed<'a> {
    /// Controlled and selected pods, adopted ones included.
    pub pods: Vec<&'a Pod>,
    /// Uids of the pods adopted in this sync: they carry the tracking finalizer from now on.
    pub adopted: BTreeSet<String>,
    /// The adoption and release patches.
    pub actions: Vec<Action>,
}

/// Claims the pods of the Job's namespace. A Job without a selector (never the case once the
/// API server defaulted it) counts the pods it controls and adopts nothing.
pub(super) fn claim_pods<'a, P: Borrow<Pod>>(
    job: &Job,
    selector: Option<&LabelSelector>,
    pods: &'a [P],
) -> Claimed<'a> {
    let uid = job.metadata.uid.as_deref().unwrap_or("");
    let mut claimed = Claimed { pods: Vec::new(), adopted: BTreeSet::new(), actions: Vec::new() };
    let in_namespace =
        pods.iter().map(Borrow::borrow).filter(|pod: &&Pod| pod.metadata.namespace == job.metadata.namespace);
    for pod in in_namespace {
        let Some(selector) = selector else {
            if is_controlled_by(&pod.metadata, uid) {
                claimed.pods.push(pod);
            }
            continue;
        };
        match claim(&job.metadata, selector, &pod.metadata) {
            Claim::Owned => claimed.pods.push(pod),
            Claim::Adopt => {
                claimed.actions.push(adopt_action(job, &pod.metadata));
                claimed.adopted.insert(pod.metadata.uid.clone().unwrap_or_default());
                claimed.pods.push(pod);
            }
            Claim::Release => claimed.actions.push(release_action(uid, pod)),
            Claim::Ignore => {}
        }
    }
    claimed
}

/// The strategic merge patch adopting an orphan: the Job's controllerRef and the tracking
/// finalizer (Kubernetes' `PodControllerRefManager` with finalizers); the uid makes it fail on a
/// pod replaced meanwhile.
fn adopt_action(job: &Job, candidate: &ObjectMeta) -> Action {
    let reference = controller_ref("batch/v1", "Job", &job.metadata);
    let body = json!({
        "metadata": {
            "ownerReferences": [{
                "apiVersion": reference.api_version,
                "kind": reference.kind,
                "name": reference.name,
                "uid": reference.uid,
                "controller": true,
                "blockOwnerDeletion": true,
            }],
            "finalizers": [JOB_TRACKING_FINALIZER],
            "uid": candidate.uid.clone().unwrap_or_default(),
        }
    });
    pod_patch(candidate, body)
}

/// The strategic merge patch releasing a pod: its reference to the Job goes, and so does the
/// tracking finalizer, which only the Job would ever remove.
fn release_action(job_uid: &str, pod: &Pod) -> Action {
    let mut metadata = json!({
        "ownerReferences": [{"$patch": "delete", "uid": job_uid}],
        "uid": pod.metadata.uid.clone().unwrap_or_default(),
    });
    if has_tracking_finalizer(pod) {
        metadata["$deleteFromPrimitiveList/finalizers"] = json!([JOB_TRACKING_FINALIZER]);
    }
    pod_patch(&pod.metadata, json!({"metadata": metadata}))
}

/// The strategic merge patch removing the tracking finalizer (`removeTrackingFinalizerPatch`).
pub(super) fn remove_finalizer_action(pod: &Pod) -> Action {
    pod_patch(&pod.metadata, json!({"metadata": {"$deleteFromPrimitiveList/finalizers": [JOB_TRACKING_FINALIZER]}}))
}

fn pod_patch(candidate: &ObjectMeta, body: serde_json::Value) -> Action {
    Action::Patch {
        resource: PODS,
        namespace: candidate.namespace.clone().unwrap_or_default(),
        name: candidate.name.clone().unwrap_or_default(),
        patch_type: PatchType::StrategicMerge,
        body,
    }
}
