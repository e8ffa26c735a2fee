//! The DefaultStorageClass admission plugin (`plugin/pkg/admission/storage/storageclass/setdefault`):
//! a PersistentVolumeClaim created without a class (neither `spec.storageClassName` nor the beta
//! annotation, not even an empty one) gets the cluster's default StorageClass, the one annotated
//! `storageclass.kubernetes.io/is-default-class: "true"`; when several are, the newest wins, and
//! among equally new ones the first by name.

use k8s_openapi::api::storage::v1::StorageClass;
use serde_json::Value;

use crate::api::status::ApiError;
use crate::object::Object;
use crate::object::kinds::GroupResource;
use crate::store::{ListOptions, Store};

/// The annotation that marks a StorageClass as the cluster's default.
pub const IS_DEFAULT_STORAGE_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

/// The beta spelling of [`IS_DEFAULT_STORAGE_CLASS_ANNOTATION`], still honoured.
pub const BETA_IS_DEFAULT_STORAGE_CLASS_ANNOTATION: &str = "storageclass.beta.kubernetes.io/is-default-class";

/// The deprecated annotation naming a claim's class.
pub const BETA_STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

const STORAGE_CLASSES: GroupResource = GroupResource { group: "storage.k8s.io", resource: "storageclasses" };

/// Whether the class is marked default (`IsDefaultAnnotation`: the value is exactly "true").
pub fn is_default_class(class: &StorageClass) -> bool {
    let annotations = class.metadata.annotations.as_ref();
    [IS_DEFAULT_STORAGE_CLASS_ANNOTATION, BETA_IS_DEFAULT_STORAGE_CLASS_ANNOTATION]
        .iter()
        .any(|key| annotations.and_then(|annotations| annotations.get(*key)).is_some_and(|value| value == "true"))
}

/// The default class among `classes` (`GetDefaultClass`): the newest marked default, ties
/// broken by name.
pub fn default_class(classes: &[StorageClass]) -> Option<&StorageClass> {
    classes.iter().filter(|class| is_default_class(class)).min_by(|left, right| {
        let created = |class: &StorageClass| class.metadata.creation_timestamp.as_ref().map(|time| time.0);
        created(right).cmp(&created(left)).then_with(|| left.metadata.name.cmp(&right.metadata.name))
    })
}

/// Whether a claim names a class in any way (`PersistentVolumeClaimHasClass`): the beta
/// annotation, or `spec.storageClassName` even when empty.
fn claim_has_class(object: &Object) -> bool {
    let annotated = object
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|annotations| annotations.contains_key(BETA_STORAGE_CLASS_ANNOTATION));
    let named = object.field("spec").and_then(|spec| spec.get("storageClassName")).is_some_and(|name| !name.is_null());
    annotated || named
}

/// Gives a new claim without a class the default StorageClass, if the cluster has one.
pub fn admit<S: Store>(store: &S, object: &mut Object) -> Result<(), ApiError> {
    if object.kind != "PersistentVolumeClaim" || claim_has_class(object) {
        return Ok(());
    }
    let listed = store.list(STORAGE_CLASSES, &ListOptions::all())?;
    let classes: Vec<StorageClass> = listed.items.iter().filter_map(|item| item.to_typed().ok()).collect();
    let Some(class) = default_class(&classes) else { return Ok(()) };
    let name = class.metadata.name.clone().unwrap_or_default();
    if let Some(Value::Object(spec)) = object.fields.get_mut("spec") {
        spec.insert("storageClassName".into(), Value::from(name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Rows of `TestAdmission` in Kubernetes'
    //! `plugin/pkg/admission/storage/storageclass/setdefault/admission_test.go`.

    use serde_json::{Value, json};

    use super::*;

    fn class(name: &str, default_value: Option<&str>, created: &str) -> StorageClass {
        let mut metadata = json!({"name": name, "creationTimestamp": created});
        if let Some(value) = default_value {
            metadata["annotations"] = json!({IS_DEFAULT_STORAGE_CLASS_ANNOTATION: value});
        }
        serde_json::from_value(json!({"metadata": metadata, "provisioner": "example.com/p"})).unwrap()
    }

    fn claim(spec: Value, annotations: Option<Value>) -> Object {
        let mut value = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "claim", "namespace": "ns"}, "spec": spec});
        if let Some(annotations) = annotations {
            value["metadata"]["annotations"] = annotations;
        }
        Object::from_value(value).unwrap()
    }

    fn chosen(classes: &[StorageClass]) -> Option<String> {
        default_class(classes).and_then(|class| class.metadata.name.clone())
    }

    const OLD: &str = "2026-01-01T00:00:00Z";
    const NEW: &str = "2026-01-02T00:00:00Z";

    #[test]
    fn no_default_class_leaves_the_claim_alone() {
        // "no default, no modification of PVCs"
        let classes = [class("foo", None, OLD), class("false", Some("false"), OLD)];
        assert_eq!(chosen(&classes), None);
    }

    #[test]
    fn one_default_class_is_chosen_and_a_false_annotation_is_no_default() {
        // "one default, modify PVC with class=nil"; classWithFalseDefault is ignored.
        let classes = [class("default1", Some("true"), OLD), class("false", Some("false"), NEW)];
        assert_eq!(chosen(&classes).as_deref(), Some("default1"));
        // "one default, no modification of PVC with class=foo" and with class="" (an explicit
        // empty class asks for no class) and with the beta annotation.
        assert!(claim_has_class(&claim(json!({"storageClassName": "foo"}), None)));
        assert!(claim_has_class(&claim(json!({"storageClassName": ""}), None)));
        assert!(claim_has_class(&claim(json!({}), Some(json!({BETA_STORAGE_CLASS_ANNOTATION: "foo"})))));
        assert!(!claim_has_class(&claim(json!({}), None)));
    }

    #[test]
    fn of_two_defaults_the_newest_wins_and_equal_ages_go_by_name() {
        // "two defaults, choose the one with newer creationTimestamp" and "two defaults with the
        // same creation timestamp, choose the one with alphabetical order".
        let classes = [class("default1", Some("true"), OLD), class("default2", Some("true"), NEW)];
        assert_eq!(chosen(&classes).as_deref(), Some("default2"));
        let classes = [class("default2", Some("true"), OLD), class("default1", Some("true"), OLD)];
        assert_eq!(chosen(&classes).as_deref(), Some("default1"));
    }

    #[test]
    fn the_beta_default_annotation_counts_too() {
        let mut beta = class("beta", None, OLD);
        beta.metadata.annotations =
            Some([(BETA_IS_DEFAULT_STORAGE_CLASS_ANNOTATION.to_string(), "true".to_string())].into());
        assert_eq!(chosen(&[beta]).as_deref(), Some("beta"));
    }
}
