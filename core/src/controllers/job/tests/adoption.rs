//! Claiming pods: rows of Kubernetes' `TestGetPodsForJob` (adopt orphans the selector matches,
//! with the tracking finalizer; release pods no longer selected; leave other controllers' pods).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as ApiLabelSelector;

use super::*;

fn selecting_job() -> Job {
    let mut job = job(2, Some(5), 6);
    job.spec.as_mut().unwrap().selector = Some(ApiLabelSelector {
        match_labels: Some(BTreeMap::from([("foo".to_string(), "bar".to_string())])),
        ..ApiLabelSelector::default()
    });
    job
}

fn labelled(mut pod: Pod, value: &str) -> Pod {
    pod.metadata.labels = Some(BTreeMap::from([("foo".to_string(), value.to_string())]));
    pod
}

fn orphan(pod: Pod) -> Pod {
    let mut pod = pod;
    pod.metadata.owner_references = None;
    pod.metadata.finalizers = None;
    pod
}

fn pod_patches(reconciled: &Reconciled) -> Vec<(String, serde_json::Value)> {
    let patches = reconciled.actions.iter().filter_map(|action| match action {
        Action::Patch { resource, name, body, .. } if resource.resource == "pods" => Some((name.clone(), body.clone())),
        _ => None,
    });
    patches.collect()
}

#[test]
fn claiming_rows_ported_from_kubernetes_match() {
    let job = selecting_job();
    let mut stranger_owner = job.clone();
    stranger_owner.metadata.uid = Some("other-uid".to_string());
    // (name, finished pod, counted, patched: adopted, released or its finalizer removed)
    let rows = [
        ("controlled and selected", labelled(pod(&job, 0, "Succeeded", false), "bar"), true, true),
        ("orphan selected: adopted", orphan(labelled(pod(&job, 1, "Succeeded", false), "bar")), true, true),
        ("orphan not selected", orphan(labelled(pod(&job, 2, "Succeeded", false), "baz")), false, false),
        ("controlled, no longer selected: released", labelled(pod(&job, 3, "Succeeded", false), "baz"), false, true),
        ("another controller's pod", labelled(pod(&stranger_owner, 4, "Succeeded", false), "bar"), false, false),
    ];
    for (name, candidate, counted, patched) in rows {
        let reconciled = sync(&job, std::slice::from_ref(&candidate));
        let status = status_of(&reconciled).unwrap();
        assert_eq!(status.succeeded == Some(1), counted, "{name}: counted");
        assert_eq!(!pod_patches(&reconciled).is_empty(), patched, "{name}: patched");
    }
}

#[test]
fn an_adopted_pod_gets_the_controller_reference_and_the_tracking_finalizer() {
    let job = selecting_job();
    let reconciled = sync(&job, &[orphan(labelled(pod(&job, 1, "Succeeded", false), "bar"))]);
    let patches = pod_patches(&reconciled);
    let (_, adopt) = &patches[0];
    assert_eq!(adopt["metadata"]["ownerReferences"][0]["uid"], "job-uid");
    assert_eq!(adopt["metadata"]["ownerReferences"][0]["controller"], true);
    assert_eq!(adopt["metadata"]["finalizers"], serde_json::json!([JOB_TRACKING_FINALIZER]));
    // The adopted succeeded pod is counted like the Job's own: recorded, then its finalizer goes.
    assert_eq!(finalizer_removals(&reconciled), ["foobar-1"]);
    assert_eq!(status_of(&reconciled).unwrap().succeeded, Some(1));
}

#[test]
fn a_released_pod_loses_the_tracking_finalizer() {
    let job = selecting_job();
    let reconciled = sync(&job, &[labelled(pod(&job, 3, "Running", false), "baz")]);
    let (_, release) = &pod_patches(&reconciled)[0];
    assert_eq!(release["metadata"]["ownerReferences"][0]["$patch"], "delete");
    assert_eq!(release["metadata"]["$deleteFromPrimitiveList/finalizers"], serde_json::json!([JOB_TRACKING_FINALIZER]));
}

#[test]
fn a_deleting_job_adopts_nothing() {
    let mut job = selecting_job();
    job.metadata.deletion_timestamp = Some(Time(now()));
    let reconciled = sync(&job, &[orphan(labelled(pod(&job, 1, "Running", false), "bar"))]);
    assert!(pod_patches(&reconciled).is_empty());
}
