//! The DefaultIngressClass admission plugin (`plugin/pkg/admission/network/defaultingressclass`):
//! a new Ingress that names no class (neither `spec.ingressClassName` nor the deprecated
//! `kubernetes.io/ingress.class` annotation) gets the IngressClass annotated
//! `ingressclass.kubernetes.io/is-default-class: "true"`; among several such classes the newest
//! wins, as Kubernetes 1.28 and later decide.

use serde_json::{Value, json};

use super::list_objects;
use crate::api::status::ApiError;
use crate::object::Object;
use crate::object::kinds::GroupResource;
use crate::store::Store;

const INGRESS_CLASSES: GroupResource = GroupResource { group: "networking.k8s.io", resource: "ingressclasses" };

/// The annotation that makes an IngressClass the default (`networkingv1.AnnotationIsDefaultIngressClass`).
pub const IS_DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";
/// The deprecated annotation an Ingress may name its class with.
pub const INGRESS_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// `findDefaultIngressClass`: the classes annotated default, newest first (then by name).
pub fn default_ingress_class<'a>(classes: impl Iterator<Item = &'a Object>) -> Option<String> {
    let mut defaults: Vec<&Object> = classes
        .filter(|class| {
            class.metadata.annotations.as_ref().and_then(|annotations| annotations.get(IS_DEFAULT_CLASS_ANNOTATION))
                == Some(&"true".to_string())
        })
        .collect();
    defaults.sort_by(|a, b| {
        let created = |object: &Object| object.metadata.creation_timestamp.as_ref().map(|time| time.0);
        created(b).cmp(&created(a)).then_with(|| a.name().cmp(b.name()))
    });
    defaults.first().map(|class| class.name().to_string())
}

/// Sets the default class on a new Ingress that names none.
pub(super) fn admit<S: Store>(store: &S, object: &mut Object) -> Result<(), ApiError> {
    if object.kind != "Ingress" {
        return Ok(());
    }
    let named = object.field("spec").and_then(|spec| spec.get("ingressClassName")).is_some_and(|name| !name.is_null());
    let annotated = object
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|annotations| annotations.contains_key(INGRESS_CLASS_ANNOTATION));
    if named || annotated {
        return Ok(());
    }
    let classes = list_objects(store, INGRESS_CLASSES, "")?;
    let Some(default) = default_ingress_class(classes.iter().map(AsRef::as_ref)) else { return Ok(()) };
    let spec = object.fields.entry("spec").or_insert_with(|| json!({}));
    if let Value::Object(spec) = spec {
        spec.insert("ingressClassName".into(), Value::from(default));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Rows from Kubernetes' `TestAdmission` (`plugin/pkg/admission/network/defaultingressclass/admission_test.go`).

    use super::*;

    fn class(name: &str, default: Option<&str>, created: &str) -> Object {
        let annotations = default.map(|value| json!({IS_DEFAULT_CLASS_ANNOTATION: value}));
        Object::from_value(json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": name, "annotations": annotations, "creationTimestamp": created}}))
        .unwrap()
    }

    #[test]
    fn the_default_class_is_the_newest_annotated_true() {
        let rows: [(&str, Vec<Object>, Option<&str>); 5] = [
            ("no default, no modification of Ingress", vec![class("nondefault", None, "2024-01-01T00:00:00Z")], None),
            (
                "one default, modify Ingress with class=nil",
                vec![class("default1", Some("true"), "2024-01-01T00:00:00Z")],
                Some("default1"),
            ),
            ("annotation false is not a default", vec![class("default1", Some("false"), "2024-01-01T00:00:00Z")], None),
            (
                "multiple default classes, the newest wins",
                vec![
                    class("default1", Some("true"), "2024-01-01T00:00:00Z"),
                    class("default2", Some("true"), "2024-01-02T00:00:00Z"),
                ],
                Some("default2"),
            ),
            (
                "multiple default classes created together, by name",
                vec![
                    class("b", Some("true"), "2024-01-01T00:00:00Z"),
                    class("a", Some("true"), "2024-01-01T00:00:00Z"),
                ],
                Some("a"),
            ),
        ];
        for (name, classes, expected) in rows {
            assert_eq!(default_ingress_class(classes.iter()).as_deref(), expected, "{name}");
        }
    }
}
