//! node.k8s.io RuntimeClasses (`ValidateRuntimeClass`, `ValidateRuntimeClassUpdate` in
//! `pkg/apis/node/validation`).

use k8s_openapi::api::node::v1::RuntimeClass;

use super::common::immutable;
use super::meta::{name_is_dns_label, validate_labels};
use super::pod_scheduling::validate_tolerations;
use crate::object::Quantity;
use crate::object::field_error::{FieldError, FieldPath};

/// `ValidateRuntimeClass` beyond metadata: the handler is a DNS label, the pod overhead is made
/// of non-negative quantities, and the scheduling node selector and tolerations are valid.
pub fn validate_runtime_class(class: &RuntimeClass) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let handler_path = FieldPath::new("handler");
    for message in name_is_dns_label(&class.handler, false) {
        errors.push(FieldError::invalid(&handler_path, class.handler.as_str(), &message));
    }
    let pod_fixed = class.overhead.as_ref().and_then(|overhead| overhead.pod_fixed.as_ref());
    let pod_fixed_path = FieldPath::new("overhead").child("podFixed");
    for (name, quantity) in pod_fixed.into_iter().flatten() {
        let parsed = Quantity::try_from(quantity).ok();
        if parsed.is_some_and(|parsed| parsed < Quantity::ZERO) {
            let path = pod_fixed_path.key(name);
            errors.push(FieldError::invalid(&path, quantity.0.as_str(), "must be greater than or equal to 0"));
        }
    }
    if let Some(scheduling) = &class.scheduling {
        let path = FieldPath::new("scheduling");
        validate_labels(scheduling.node_selector.as_ref(), &path.child("nodeSelector"), &mut errors);
        validate_tolerations(
            scheduling.tolerations.as_deref().unwrap_or_default(),
            &path.child("tolerations"),
            &mut errors,
        );
    }
    errors
}

/// `ValidateRuntimeClassUpdate`: the handler is fixed.
pub fn validate_runtime_class_update(new: &RuntimeClass, old: &RuntimeClass) -> Vec<FieldError> {
    let mut errors = validate_runtime_class(new);
    immutable(&new.handler, &old.handler, &FieldPath::new("handler"), &mut errors);
    errors
}

#[cfg(test)]
mod tests {
    //! Rows from Kubernetes' `TestValidateRuntimeClass` and `TestValidateRuntimeUpdate`
    //! (`pkg/apis/node/validation/validation_test.go`).

    use serde_json::json;

    use super::*;

    fn class(handler: &str) -> RuntimeClass {
        serde_json::from_value(json!({"metadata": {"name": "foo"}, "handler": handler})).unwrap()
    }

    #[test]
    fn the_handler_must_be_a_dns_label() {
        for valid in ["bar", "bar-baz", "a"] {
            assert!(validate_runtime_class(&class(valid)).is_empty(), "{valid}");
        }
        for invalid in ["", "BAR", "bar.baz", "-bar", "bar_baz"] {
            let errors = validate_runtime_class(&class(invalid));
            assert!(errors.iter().any(|error| error.path.as_str() == "handler"), "{invalid}: {errors:?}");
        }
    }

    #[test]
    fn negative_overhead_and_bad_tolerations_are_refused() {
        let mut invalid = class("bar");
        invalid.overhead = serde_json::from_value(json!({"podFixed": {"cpu": "-1"}})).unwrap();
        let errors = validate_runtime_class(&invalid);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path.as_str(), "overhead.podFixed[cpu]");
        let mut bad_toleration = class("bar");
        bad_toleration.scheduling =
            serde_json::from_value(json!({"tolerations": [{"key": "", "operator": "Equal", "value": "x"}]})).unwrap();
        assert!(!validate_runtime_class(&bad_toleration).is_empty());
    }

    #[test]
    fn the_handler_may_not_change() {
        assert!(validate_runtime_class_update(&class("bar"), &class("bar")).is_empty());
        let errors = validate_runtime_class_update(&class("baz"), &class("bar"));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path.as_str(), "handler");
    }
}
