//! ControllerRevisions, the snapshots of a pod template that StatefulSets and DaemonSets keep so
//! that pods can be told apart by revision and rolled back (`pkg/controller/history`).
//!
//! A revision's `data` is the strategic merge patch that puts its template back into the parent
//! (`{"spec": {"template": {..., "$patch": "replace"}}}`), its name is `<parent>-<hash>`, its
//! `revision` a number that grows with each new template, and it carries the template's labels
//! plus `controller-revision-hash`. The hash is computed by the caller (StatefulSets hash the
//! data, DaemonSets the template); [`plan_revisions`] finds or makes the revision for the live
//! template, bumping `collisionCount` while a different revision holds the name, and
//! [`truncate_history`] deletes the oldest revisions no pod uses beyond `revisionHistoryLimit`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Preconditions};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::{Value, json};

use super::action::{Action, Reconciled, to_object};
use super::claims::claim_all;
use super::deployment::{fnv32a, safe_encode_string};
use super::pods::{less_by, merge_sort};
use crate::object::kinds::GroupResource;
use crate::selector::LabelSelector;

/// The label on revisions and pods that names the revision (`ControllerRevisionHashLabel`,
/// also the DaemonSet's `DefaultDaemonSetUniqueLabelKey`).
pub const CONTROLLER_REVISION_HASH_LABEL: &str = "controller-revision-hash";

/// The controllerrevisions collection.
pub const CONTROLLER_REVISIONS: GroupResource = GroupResource { group: "apps", resource: "controllerrevisions" };

/// Longest prefix of a revision name, so that `<prefix>-<hash>` fits in 253 characters.
const MAX_NAME_PREFIX_LENGTH: usize = 223;

const FNV_OFFSET_BASIS: u32 = 0x811c_9dc5;

/// The revision data for a pod template: the patch that restores it (`getPatch`).
pub fn template_patch(template: &PodTemplateSpec) -> Value {
    let mut template = serde_json::to_value(template).expect("a pod template always serializes to JSON");
    if let Value::Object(fields) = &mut template {
        fields.insert("$patch".to_string(), Value::String("replace".to_string()));
    }
    json!({"spec": {"template": template}})
}

/// The pod template a revision's data restores (`ApplyRevision`); `None` if the data holds none.
pub fn revision_template(revision: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut template = revision.data.as_ref()?.0.get("spec")?.get("template")?.clone();
    if let Value::Object(fields) = &mut template {
        fields.remove("$patch");
    }
    serde_json::from_value(template).ok()
}

/// `HashControllerRevision`: FNV-32a of the data's JSON, then the collision count as four
/// little-endian bytes, rendered with `SafeEncodeString`. coxswain's JSON differs from Go's
/// bytes, so hashes are deterministic but not Kubernetes' values.
pub fn hash_revision_data(data: &Value, collision_count: Option<i32>) -> String {
    let bytes = serde_json::to_vec(data).expect("JSON values always serialize");
    let mut hash = fnv32a(FNV_OFFSET_BASIS, &bytes);
    if let Some(count) = collision_count {
        hash = fnv32a(hash, &(count as u32).to_le_bytes());
    }
    safe_encode_string(&hash.to_string())
}

/// `ControllerRevisionName`: `<prefix>-<hash>`, the prefix cut to 223 characters.
pub fn controller_revision_name(prefix: &str, hash: &str) -> String {
    let prefix: String = prefix.chars().take(MAX_NAME_PREFIX_LENGTH).collect();
    format!("{prefix}-{hash}")
}

/// `EqualRevision`: the same hash label when both carry one, else the same data.
pub fn equal_revision(left: &ControllerRevision, right: &ControllerRevision) -> bool {
    let label = |revision: &ControllerRevision| {
        revision.metadata.labels.as_ref().and_then(|labels| labels.get(CONTROLLER_REVISION_HASH_LABEL)).cloned()
    };
    if let (Some(left_hash), Some(right_hash)) = (label(left), label(right))
        && left_hash != right_hash
    {
        return false;
    }
    left.data == right.data
}

/// Orders revisions by number, then creation time, then name (`history.SortControllerRevisions`).
pub fn compare_revisions(left: &ControllerRevision, right: &ControllerRevision) -> Ordering {
    let created = |revision: &ControllerRevision| revision.metadata.creation_timestamp.as_ref().map(|time| time.0);
    left.revision
        .cmp(&right.revision)
        .then_with(|| created(left).cmp(&created(right)))
        .then_with(|| left.metadata.name.cmp(&right.metadata.name))
}

/// The number the next new revision gets: one above the highest (`nextRevision`).
pub fn next_revision(revisions: &[&ControllerRevision]) -> i64 {
    revisions.iter().map(|revision| revision.revision).max().unwrap_or(0) + 1
}

/// What a parent needs to build its revisions: who owns them and how to hash the template.
pub struct RevisionSource<'a> {
    /// The parent's metadata (name prefix, namespace, owner).
    pub parent: &'a ObjectMeta,
    /// The controllerRef the revisions carry.
    pub owner: OwnerReference,
    /// The live pod template.
    pub template: &'a PodTemplateSpec,
    /// The parent's `status.collisionCount`.
    pub collision_count: Option<i32>,
    /// The revision hash for a data value and collision count.
    pub hash: &'a dyn Fn(&Value, Option<i32>) -> String,
}

/// The outcome of [`plan_revisions`].
#[derive(Clone, Debug, PartialEq)]
pub struct RevisionPlan {
    /// The revision of the live template, as it will be once the planned actions are done.
    pub update: ControllerRevision,
    /// The collision count to record in the parent's status.
    pub collision_count: i32,
    /// Revisions owned by the parent (including `update`), sorted by [`compare_revisions`].
    pub revisions: Vec<ControllerRevision>,
}

/// Claims the parent's revisions (adoption and release patches go into `reconciled`), then finds
/// or creates the revision of the live template (`getStatefulSetRevisions`, `constructHistory`):
/// an equal revision that is the newest is reused; an equal older one is renumbered to be the
/// newest (a PUT); otherwise a new revision is created, with the collision count raised for as
/// long as a different revision already holds the name.
pub fn plan_revisions(
    source: &RevisionSource<'_>,
    selector: &LabelSelector,
    candidates: &[ControllerRevision],
    reconciled: &mut Reconciled,
) -> RevisionPlan {
    let namespace = source.parent.namespace.as_deref();
    let metadata: fn(&ControllerRevision) -> &ObjectMeta = |revision| &revision.metadata;
    let owned =
        claim_all(source.parent, &source.owner, CONTROLLER_REVISIONS, candidates, metadata, &|_| selector, reconciled);
    let owned: Vec<ControllerRevision> = owned.into_iter().cloned().collect();
    let mut revisions = merge_sort(owned, &less_by(compare_revisions));
    let references: Vec<&ControllerRevision> = revisions.iter().collect();
    let next = next_revision(&references);
    let mut collision_count = source.collision_count.unwrap_or(0);
    let data = template_patch(source.template);
    let candidate = new_revision(source, &data, next, collision_count);
    let equal: Vec<usize> =
        (0..revisions.len()).filter(|index| equal_revision(&revisions[*index], &candidate)).collect();
    let update = match equal.last() {
        Some(&index) if index + 1 == revisions.len() => revisions[index].clone(),
        Some(&index) => {
            let mut renumbered = revisions[index].clone();
            renumbered.revision = next;
            reconciled.push_alone(Action::Update { object: to_object(&renumbered) });
            revisions[index] = renumbered.clone();
            renumbered
        }
        None => {
            let taken: BTreeMap<&str, &ControllerRevision> = candidates
                .iter()
                .filter(|revision| revision.metadata.namespace.as_deref() == namespace)
                .map(|revision| (revision.metadata.name.as_deref().unwrap_or(""), revision))
                .collect();
            let mut created = candidate;
            while taken.contains_key(created.metadata.name.as_deref().unwrap_or("")) {
                collision_count = collision_count.saturating_add(1);
                created = new_revision(source, &data, next, collision_count);
            }
            reconciled.push_alone(Action::Create { object: to_object(&created), on_created: None });
            revisions.push(created.clone());
            created
        }
    };
    let revisions = merge_sort(revisions, &less_by(compare_revisions));
    RevisionPlan { update, collision_count, revisions }
}

/// A revision of the parent for `data` (`NewControllerRevision`).
fn new_revision(source: &RevisionSource<'_>, data: &Value, number: i64, collision_count: i32) -> ControllerRevision {
    let hash = (source.hash)(data, Some(collision_count));
    let mut labels = source.template.metadata.as_ref().and_then(|metadata| metadata.labels.clone()).unwrap_or_default();
    labels.insert(CONTROLLER_REVISION_HASH_LABEL.to_string(), hash.clone());
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(controller_revision_name(source.parent.name.as_deref().unwrap_or(""), &hash)),
            namespace: source.parent.namespace.clone(),
            labels: Some(labels),
            owner_references: Some(vec![source.owner.clone()]),
            ..ObjectMeta::default()
        },
        data: Some(RawExtension(data.clone())),
        revision: number,
    }
}

/// Deletes the oldest revisions that no live name in `live` refers to, keeping `limit` of them
/// (`truncateHistory`, `cleanupHistory`). `revisions` must be sorted by [`compare_revisions`].
pub fn truncate_history(revisions: &[ControllerRevision], live: &BTreeSet<String>, limit: i32) -> Vec<Action> {
    let history: Vec<&ControllerRevision> =
        revisions.iter().filter(|revision| !live.contains(revision.metadata.name.as_deref().unwrap_or(""))).collect();
    let surplus = history.len().saturating_sub(usize::try_from(limit.max(0)).unwrap_or(0));
    history.into_iter().take(surplus).map(delete_revision).collect()
}

fn delete_revision(revision: &ControllerRevision) -> Action {
    Action::Delete {
        resource: CONTROLLER_REVISIONS,
        namespace: revision.metadata.namespace.clone().unwrap_or_default(),
        name: revision.metadata.name.clone().unwrap_or_default(),
        preconditions: Preconditions { uid: revision.metadata.uid.clone(), resource_version: None },
        propagation_policy: None,
    }
}

#[cfg(test)]
mod tests;
