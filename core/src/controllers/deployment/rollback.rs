//! Rollback. apps/v1 has no `spec.rollbackTo`: `kubectl rollout undo` patches the Deployment's
//! template back to an old ReplicaSet's ([`rollback_patch`] builds that patch), and the
//! controller then finds that old ReplicaSet as the new one (its template is equal once
//! pod-template-hash is ignored), reuses it, and moves it to the newest revision, remembering
//! the revision it had in `deployment.kubernetes.io/revision-history`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use serde_json::{Value, json};

use super::DeploymentError;
use super::util::{
    MAX_REVISION_HISTORY_CHARS, POD_TEMPLATE_HASH_LABEL, REVISION_HISTORY_ANNOTATION, equal_ignore_hash, is_paused,
    replica_set_template, revision, skip_copy_annotation, template,
};

/// Appends `old_revision` to a reused ReplicaSet's revision-history, dropping the oldest
/// entries to stay within [`MAX_REVISION_HISTORY_CHARS`] (`SetNewReplicaSetAnnotations`).
pub(super) fn append_revision_history(annotations: &mut BTreeMap<String, String>, old_revision: &str) {
    let history = annotations.get(REVISION_HISTORY_ANNOTATION).cloned().unwrap_or_default();
    if history.is_empty() {
        annotations.insert(REVISION_HISTORY_ANNOTATION.to_string(), old_revision.to_string());
        return;
    }
    let mut revisions: Vec<&str> = history.split(',').collect();
    let mut total = history.len() + old_revision.len() + 1;
    let mut start = 0;
    while total > MAX_REVISION_HISTORY_CHARS && start < revisions.len() {
        total -= revisions[start].len() + 1;
        start += 1;
    }
    if total <= MAX_REVISION_HISTORY_CHARS {
        revisions = revisions.split_off(start);
        revisions.push(old_revision);
        annotations.insert(REVISION_HISTORY_ANNOTATION.to_string(), revisions.join(","));
    }
}

/// The JSON patch `kubectl rollout undo --to-revision=<to_revision>` sends (0: the previous
/// revision): the old ReplicaSet's template without pod-template-hash, and its annotations
/// over the Deployment's controller-owned ones. `None` when the template already matches.
pub fn rollback_patch(
    deployment: &Deployment,
    replica_sets: &[&ReplicaSet],
    to_revision: i64,
) -> Result<Option<Value>, DeploymentError> {
    let name = deployment.metadata.name.clone().unwrap_or_default();
    if is_paused(deployment) {
        return Err(DeploymentError::RollbackOfPausedDeployment { name });
    }
    let mut by_revision: BTreeMap<i64, &ReplicaSet> = BTreeMap::new();
    for replica_set in replica_sets {
        if let Some(number) = revision(replica_set).filter(|number| *number > 0) {
            by_revision.insert(number, replica_set);
        }
    }
    let wanted = if to_revision == 0 {
        let revisions: Vec<i64> = by_revision.keys().copied().collect();
        match revisions.len() {
            0 | 1 => return Err(DeploymentError::NoRolloutHistory { name }),
            count => revisions[count - 2],
        }
    } else {
        to_revision
    };
    let source = by_revision.get(&wanted).ok_or(DeploymentError::RevisionNotFound { revision: wanted })?;
    let mut restored = replica_set_template(source);
    if equal_ignore_hash(&restored, &template(deployment)) {
        return Ok(None);
    }
    if let Some(labels) = restored.metadata.as_mut().and_then(|metadata| metadata.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH_LABEL);
    }
    let mut annotations: BTreeMap<String, String> = deployment
        .metadata
        .annotations
        .iter()
        .flatten()
        .filter(|(key, _)| skip_copy_annotation(key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    for (key, value) in source.metadata.annotations.iter().flatten() {
        if !skip_copy_annotation(key) {
            annotations.insert(key.clone(), value.clone());
        }
    }
    Ok(Some(json!([
        {"op": "replace", "path": "/spec/template", "value": restored},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ])))
}
