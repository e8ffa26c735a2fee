//! A StatefulSet pod's stable identity and storage (`stateful_set_utils.go`): the name
//! `<set>-<ordinal>`, the identity labels, hostname and subdomain, and one claim
//! `<template>-<set>-<ordinal>` per volumeClaimTemplate mounted as the template's volume.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodSpec, PodTemplateSpec, Volume,
};
use k8s_openapi::jiff::Timestamp;

use crate::controllers::history::CONTROLLER_REVISION_HASH_LABEL;
use crate::controllers::owner::controller_ref;
use crate::controllers::pod_template::pod_from_template;
use crate::controllers::pods::{is_pod_available, is_pod_ready, phase};

/// The label carrying a StatefulSet pod's own name, so a Service can select one pod.
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// The label carrying a StatefulSet pod's ordinal (`apps.kubernetes.io/pod-index`).
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
/// `podManagementPolicy` that creates and deletes pods without waiting for their neighbours.
pub const PARALLEL: &str = "Parallel";
/// `updateStrategy.type` that replaces pods only when a user deletes them.
pub const ON_DELETE: &str = "OnDelete";
/// Retention policy value that deletes the claims with the set or on scale-down.
pub const DELETE: &str = "Delete";

/// The set's name, or the empty string.
pub fn set_name(set: &StatefulSet) -> &str {
    set.metadata.name.as_deref().unwrap_or("")
}

/// `spec.replicas`, defaulted to 1.
pub fn replicas(set: &StatefulSet) -> i32 {
    set.spec.as_ref().and_then(|spec| spec.replicas).unwrap_or(1).max(0)
}

/// The first ordinal (`spec.ordinals.start`, 0 by default).
pub fn start_ordinal(set: &StatefulSet) -> i32 {
    set.spec.as_ref().and_then(|spec| spec.ordinals.as_ref()).and_then(|ordinals| ordinals.start).unwrap_or(0).max(0)
}

/// `spec.minReadySeconds`.
pub fn min_ready_seconds(set: &StatefulSet) -> i32 {
    set.spec.as_ref().and_then(|spec| spec.min_ready_seconds).unwrap_or(0)
}

/// Whether the set may create and delete pods in parallel (`allowsBurst`).
pub fn allows_burst(set: &StatefulSet) -> bool {
    set.spec.as_ref().and_then(|spec| spec.pod_management_policy.as_deref()) == Some(PARALLEL)
}

/// Whether pods are replaced only when deleted by someone else.
pub fn is_on_delete(set: &StatefulSet) -> bool {
    set.spec.as_ref().and_then(|spec| spec.update_strategy.as_ref()).and_then(|strategy| strategy.type_.as_deref())
        == Some(ON_DELETE)
}

/// The rolling update's partition, if the strategy has a `rollingUpdate` (0 when unset there).
pub fn partition(set: &StatefulSet) -> Option<i32> {
    let strategy = set.spec.as_ref()?.update_strategy.as_ref()?;
    if strategy.type_.as_deref() == Some(ON_DELETE) {
        return None;
    }
    strategy.rolling_update.as_ref().map(|rolling| rolling.partition.unwrap_or(0))
}

/// `revisionHistoryLimit`, defaulted to 10.
pub fn revision_history_limit(set: &StatefulSet) -> i32 {
    set.spec
        .as_ref()
        .and_then(|spec| spec.revision_history_limit)
        .unwrap_or(crate::object::defaults::apps::REVISION_HISTORY_LIMIT)
}

/// `getParentNameAndOrdinal`: `<parent>-<ordinal>` split at the last dash, if the ordinal is
/// a decimal int32.
pub fn parent_name_and_ordinal(pod: &Pod) -> Option<(&str, i32)> {
    let name = pod.metadata.name.as_deref()?;
    let (parent, ordinal) = name.rsplit_once('-')?;
    if ordinal.is_empty() || !ordinal.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some((parent, ordinal.parse().ok()?))
}

/// The pod's ordinal, -1 if its name has none (`getOrdinal`).
pub fn ordinal(pod: &Pod) -> i32 {
    parent_name_and_ordinal(pod).map_or(-1, |(_, ordinal)| ordinal)
}

/// `<set>-<ordinal>`.
pub fn pod_name(set: &StatefulSet, ordinal: i32) -> String {
    format!("{}-{ordinal}", set_name(set))
}

/// Whether the pod's name says it belongs to the set (`isMemberOf`).
pub fn is_member_of(set: &StatefulSet, pod: &Pod) -> bool {
    parent_name_and_ordinal(pod).is_some_and(|(parent, _)| parent == set_name(set))
}

/// Whether the pod's ordinal lies in `[start, start + replicas)`.
pub fn in_ordinal_range(set: &StatefulSet, pod: &Pod) -> bool {
    let ordinal = ordinal(pod);
    ordinal >= start_ordinal(set) && i64::from(ordinal) < i64::from(start_ordinal(set)) + i64::from(replicas(set))
}

/// `<claim template>-<set>-<ordinal>`.
pub fn claim_name(set: &StatefulSet, claim_template: &PersistentVolumeClaim, ordinal: i32) -> String {
    format!("{}-{}-{ordinal}", claim_template.metadata.name.as_deref().unwrap_or(""), set_name(set))
}

/// The claims the pod at `ordinal` needs, by template name (`getPersistentVolumeClaims`): each
/// template named for the pod, in the set's namespace, labelled with the selector's matchLabels.
pub fn persistent_volume_claims(set: &StatefulSet, ordinal: i32) -> BTreeMap<String, PersistentVolumeClaim> {
    let spec = set.spec.as_ref();
    let match_labels = spec.and_then(|spec| spec.selector.match_labels.clone()).unwrap_or_default();
    let templates = spec.and_then(|spec| spec.volume_claim_templates.as_ref());
    let mut claims = BTreeMap::new();
    for template in templates.into_iter().flatten() {
        let mut claim = template.clone();
        claim.metadata.name = Some(claim_name(set, template, ordinal));
        claim.metadata.namespace = set.metadata.namespace.clone();
        let labels = claim.metadata.labels.get_or_insert_with(BTreeMap::new);
        labels.extend(match_labels.clone());
        claim.status = None;
        claims.insert(template.metadata.name.clone().unwrap_or_default(), claim);
    }
    claims
}

/// Mounts the pod's claims as the volumes named after their templates, replacing template
/// volumes of the same name (`updateStorage`).
pub fn update_storage(set: &StatefulSet, pod: &mut Pod, ordinal: i32) {
    let claims = persistent_volume_claims(set, ordinal);
    if claims.is_empty() {
        return;
    }
    let spec = pod.spec.get_or_insert_with(PodSpec::default);
    let mut volumes: Vec<Volume> = claims
        .iter()
        .map(|(name, claim)| Volume {
            name: name.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.metadata.name.clone().unwrap_or_default(),
                read_only: Some(false),
            }),
            ..Volume::default()
        })
        .collect();
    volumes.extend(spec.volumes.iter().flatten().filter(|volume| !claims.contains_key(&volume.name)).cloned());
    spec.volumes = Some(volumes);
}

/// Whether every claim of the pod is mounted under its template's name (`storageMatches`).
pub fn storage_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let ordinal = ordinal(pod);
    if ordinal < 0 {
        return false;
    }
    let volumes = pod.spec.as_ref().and_then(|spec| spec.volumes.as_ref());
    persistent_volume_claims(set, ordinal).iter().all(|(name, claim)| {
        volumes.into_iter().flatten().any(|volume| {
            &volume.name == name
                && volume.persistent_volume_claim.as_ref().map(|source| &source.claim_name)
                    == claim.metadata.name.as_ref()
        })
    })
}

/// Names the pod, sets its namespace and its identity labels (`updateIdentity`).
pub fn update_identity(set: &StatefulSet, pod: &mut Pod, ordinal: i32) {
    let name = pod_name(set, ordinal);
    pod.metadata.namespace = set.metadata.namespace.clone();
    let labels = pod.metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(POD_NAME_LABEL.to_string(), name.clone());
    labels.insert(POD_INDEX_LABEL.to_string(), ordinal.to_string());
    pod.metadata.name = Some(name);
}

/// Whether the pod's name, namespace and identity labels are the set's for its ordinal
/// (`identityMatches`).
pub fn identity_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let Some((parent, ordinal)) = parent_name_and_ordinal(pod) else { return false };
    let labels = pod.metadata.labels.as_ref();
    let label = |key: &str| labels.and_then(|labels| labels.get(key)).map(String::as_str);
    let name = pod_name(set, ordinal);
    ordinal >= 0
        && parent == set_name(set)
        && pod.metadata.name.as_deref() == Some(name.as_str())
        && pod.metadata.namespace == set.metadata.namespace
        && label(POD_NAME_LABEL) == Some(name.as_str())
        && label(POD_INDEX_LABEL) == Some(ordinal.to_string().as_str())
}

/// The pod at `ordinal` made from `template` (`newStatefulSetPod`): identity, hostname = pod
/// name, subdomain = `serviceName`, and storage.
pub fn new_stateful_set_pod(set: &StatefulSet, template: &PodTemplateSpec, ordinal: i32) -> Pod {
    let owner = controller_ref("apps/v1", "StatefulSet", &set.metadata);
    let mut pod = pod_from_template(template, set.metadata.namespace.as_deref(), owner);
    update_identity(set, &mut pod, ordinal);
    let spec = pod.spec.get_or_insert_with(PodSpec::default);
    spec.hostname = pod.metadata.name.clone();
    if let Some(service) = set.spec.as_ref().and_then(|spec| spec.service_name.clone()).filter(|name| !name.is_empty())
    {
        spec.subdomain = Some(service);
    }
    update_storage(set, &mut pod, ordinal);
    pod
}

/// The revision name a pod carries in `controller-revision-hash`, or the empty string.
pub fn pod_revision(pod: &Pod) -> &str {
    let labels = pod.metadata.labels.as_ref();
    labels.and_then(|labels| labels.get(CONTROLLER_REVISION_HASH_LABEL)).map_or("", String::as_str)
}

/// Labels the pod with its revision (`setPodRevision`).
pub fn set_pod_revision(pod: &mut Pod, revision: &str) {
    let labels = pod.metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(CONTROLLER_REVISION_HASH_LABEL.to_string(), revision.to_string());
}

/// Being deleted.
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Running with a true Ready condition (`isRunningAndReady`).
pub fn is_running_and_ready(pod: &Pod) -> bool {
    phase(pod) == "Running" && is_pod_ready(pod)
}

/// Running and ready for `minReadySeconds` (`isRunningAndAvailable`).
pub fn is_running_and_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    phase(pod) == "Running" && is_pod_available(pod, min_ready_seconds, now)
}

/// Running, ready and not being deleted (`isHealthy`).
pub fn is_healthy(pod: &Pod) -> bool {
    is_running_and_ready(pod) && !is_terminating(pod)
}

/// Failed or Succeeded: the pod will not run again and must be replaced.
pub fn has_finished(pod: &Pod) -> bool {
    matches!(phase(pod), "Failed" | "Succeeded")
}
