//! ControllerRevision tests: naming, ordering, equality and history truncation as
//! `pkg/controller/history/controller_history_test.go` describes them, and the plan a parent
//! makes for its live template (reuse, renumber, create, collide).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::controllers::owner::controller_ref;

fn template(version: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(BTreeMap::from([
                ("app".to_string(), "web".to_string()),
                ("version".to_string(), version.to_string()),
            ])),
            ..ObjectMeta::default()
        }),
        spec: None,
    }
}

fn parent() -> ObjectMeta {
    ObjectMeta {
        name: Some("web".to_string()),
        namespace: Some("default".to_string()),
        uid: Some("set-uid".to_string()),
        ..ObjectMeta::default()
    }
}

fn selector() -> LabelSelector {
    LabelSelector::from_set(&BTreeMap::from([("app".to_string(), "web".to_string())]))
}

fn source<'a>(template: &'a PodTemplateSpec, parent: &'a ObjectMeta, collisions: Option<i32>) -> RevisionSource<'a> {
    RevisionSource {
        parent,
        owner: controller_ref("apps/v1", "StatefulSet", parent),
        template,
        collision_count: collisions,
        hash: &hash_revision_data,
    }
}

/// A stored revision of `parent` for `version`, numbered `number`.
fn stored(version: &str, number: i64) -> ControllerRevision {
    let parent = parent();
    let template = template(version);
    let mut reconciled = Reconciled::default();
    let mut revision = plan_revisions(&source(&template, &parent, None), &selector(), &[], &mut reconciled).update;
    revision.revision = number;
    revision.metadata.uid = revision.metadata.name.clone();
    revision.metadata.resource_version = Some(number.to_string());
    revision
}

fn names(revisions: &[ControllerRevision]) -> Vec<String> {
    revisions.iter().map(|revision| revision.metadata.name.clone().unwrap()).collect()
}

#[test]
fn a_revision_name_is_the_prefix_and_the_hash_with_the_prefix_cut_to_223_characters() {
    assert_eq!(controller_revision_name("web", "abc"), "web-abc");
    let long = "x".repeat(300);
    let name = controller_revision_name(&long, "abc");
    assert_eq!(name.len(), 223 + 4);
    assert!(name.ends_with("x-abc"));
}

#[test]
fn revisions_sort_by_number_then_creation_time_then_name() {
    let mut first = stored("v1", 1);
    let mut second = stored("v2", 1);
    first.metadata.creation_timestamp = Some(Time(Timestamp::from_second(2).unwrap()));
    second.metadata.creation_timestamp = Some(Time(Timestamp::from_second(1).unwrap()));
    let third = stored("v3", 0);
    let sorted = merge_sort(vec![first.clone(), second.clone(), third.clone()], &less_by(compare_revisions));
    assert_eq!(names(&sorted), names(&[third, second, first]));
}

#[test]
fn revisions_are_equal_by_hash_label_and_data() {
    let one = stored("v1", 1);
    let mut renamed = one.clone();
    renamed.revision = 7;
    assert!(equal_revision(&one, &renamed), "the number does not matter");
    assert!(!equal_revision(&one, &stored("v2", 1)));
    let mut relabeled = one.clone();
    relabeled.metadata.labels.as_mut().unwrap().insert(CONTROLLER_REVISION_HASH_LABEL.to_string(), "x".to_string());
    assert!(!equal_revision(&one, &relabeled), "different hash labels differ even with equal data");
}

#[test]
fn the_data_restores_the_template_and_marks_it_for_replacement() {
    let revision = stored("v1", 1);
    let data = &revision.data.as_ref().unwrap().0;
    assert_eq!(data["spec"]["template"]["$patch"], "replace");
    assert_eq!(revision_template(&revision), Some(template("v1")));
    let labels = revision.metadata.labels.unwrap();
    assert_eq!(labels["version"], "v1", "the revision carries the template's labels");
    assert!(labels.contains_key(CONTROLLER_REVISION_HASH_LABEL));
}

#[test]
fn the_newest_equal_revision_is_reused_without_actions() {
    let (parent, template) = (parent(), template("v2"));
    let existing = [stored("v1", 1), stored("v2", 2)];
    let mut reconciled = Reconciled::default();
    let plan = plan_revisions(&source(&template, &parent, None), &selector(), &existing, &mut reconciled);
    assert_eq!(plan.update, existing[1]);
    assert!(reconciled.actions.is_empty());
}

#[test]
fn an_older_equal_revision_is_renumbered_to_be_the_newest() {
    let (parent, template) = (parent(), template("v1"));
    let existing = [stored("v1", 1), stored("v2", 2)];
    let mut reconciled = Reconciled::default();
    let plan = plan_revisions(&source(&template, &parent, None), &selector(), &existing, &mut reconciled);
    assert_eq!((plan.update.metadata.name.clone(), plan.update.revision), (existing[0].metadata.name.clone(), 3));
    assert!(
        matches!(&reconciled.actions[..], [Action::Update { object }] if object.name() == existing[0].metadata.name.as_deref().unwrap())
    );
    assert_eq!(names(&plan.revisions), names(&[existing[1].clone(), plan.update.clone()]));
}

#[test]
fn a_new_template_gets_a_new_revision_numbered_one_above_the_highest() {
    let (parent, template) = (parent(), template("v3"));
    let existing = [stored("v1", 1), stored("v2", 5)];
    let mut reconciled = Reconciled::default();
    let plan = plan_revisions(&source(&template, &parent, None), &selector(), &existing, &mut reconciled);
    assert_eq!(plan.update.revision, 6);
    assert_eq!(plan.collision_count, 0);
    assert!(matches!(&reconciled.actions[..], [Action::Create { .. }]));
    assert_eq!(plan.revisions.len(), 3);
}

#[test]
fn a_name_held_by_a_different_revision_raises_the_collision_count() {
    let (parent, template) = (parent(), template("v3"));
    let mut squatter = stored("v1", 1);
    let mut reconciled = Reconciled::default();
    let wanted = plan_revisions(&source(&template, &parent, None), &selector(), &[], &mut reconciled).update;
    squatter.metadata.name = wanted.metadata.name.clone();
    let mut reconciled = Reconciled::default();
    let plan = plan_revisions(&source(&template, &parent, None), &selector(), &[squatter], &mut reconciled);
    assert_eq!(plan.collision_count, 1);
    assert_ne!(plan.update.metadata.name, wanted.metadata.name);
    assert_eq!(revision_template(&plan.update), Some(template));
}

#[test]
fn orphan_revisions_the_selector_matches_are_adopted() {
    let (parent, template) = (parent(), template("v1"));
    let mut orphan = stored("v1", 1);
    orphan.metadata.owner_references = None;
    let mut reconciled = Reconciled::default();
    let plan = plan_revisions(&source(&template, &parent, None), &selector(), &[orphan.clone()], &mut reconciled);
    assert!(
        matches!(&reconciled.actions[..], [Action::Patch { name, .. }] if Some(name) == orphan.metadata.name.as_ref())
    );
    assert_eq!(plan.update.metadata.name, orphan.metadata.name);
}

#[test]
fn truncation_deletes_the_oldest_revisions_no_pod_uses_beyond_the_limit() {
    let revisions: Vec<ControllerRevision> = (1..=5).map(|number| stored(&format!("v{number}"), number)).collect();
    let live: BTreeSet<String> =
        [&revisions[0], &revisions[4]].iter().map(|r| r.metadata.name.clone().unwrap()).collect();
    let deleted: Vec<String> = truncate_history(&revisions, &live, 1)
        .into_iter()
        .map(|action| match action {
            Action::Delete { name, .. } => name,
            other => panic!("expected a delete, got {other:?}"),
        })
        .collect();
    assert_eq!(deleted, names(&revisions[1..3]), "v2 and v3 go, v4 is the one kept, v1 and v5 are live");
    assert!(truncate_history(&revisions, &live, 3).is_empty());
}
