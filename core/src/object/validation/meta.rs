//! Object metadata: names by kind, namespace, labels, annotations, and label selectors
//! (`ValidateObjectMeta`, `ValidateLabels`, `ValidateAnnotations`, `ValidateLabelSelector`).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::common::immutable;
use super::name_rules::{
    is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_qualified_name, is_valid_label_value,
    is_valid_path_segment_name,
};
use crate::object::field_error::{FieldError, FieldPath};
use crate::object::kinds;

/// Most bytes all annotations of one object may take together (keys plus values): 256 KiB.
pub const TOTAL_ANNOTATION_SIZE_LIMIT_BYTES: usize = 256 * 1024;

/// How a kind's object names are checked; `prefix` is true for `generateName`, whose trailing
/// dash is allowed.
pub type NameRule = fn(&str, bool) -> Vec<String>;

/// `NameIsDNSSubdomain`.
pub fn name_is_dns_subdomain(name: &str, prefix: bool) -> Vec<String> {
    is_dns1123_subdomain(&mask_trailing_dash(name, prefix))
}

/// `NameIsDNSLabel`.
pub fn name_is_dns_label(name: &str, prefix: bool) -> Vec<String> {
    is_dns1123_label(&mask_trailing_dash(name, prefix))
}

/// `NameIsDNS1035Label`.
pub fn name_is_dns1035_label(name: &str, prefix: bool) -> Vec<String> {
    is_dns1035_label(&mask_trailing_dash(name, prefix))
}

/// `path.ValidatePathSegmentName`.
pub fn name_is_path_segment(name: &str, _prefix: bool) -> Vec<String> {
    is_valid_path_segment_name(name)
}

fn mask_trailing_dash(name: &str, prefix: bool) -> String {
    if prefix && name.len() > 1 && name.ends_with('-') {
        format!("{}a", &name[..name.len() - 1])
    } else {
        name.to_string()
    }
}

/// The name rule Kubernetes uses for a kind: Services are DNS-1035 labels, Namespaces DNS-1123
/// labels, RBAC objects path segments, everything else DNS-1123 subdomains.
pub fn name_rule_for_kind(kind: &str) -> NameRule {
    match kind {
        "Service" => name_is_dns1035_label,
        "Namespace" => name_is_dns_label,
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => name_is_path_segment,
        _ => name_is_dns_subdomain,
    }
}

/// `ValidateObjectMeta` for an object about to be created.
pub fn validate_object_meta(
    metadata: &ObjectMeta,
    namespaced: bool,
    name_rule: NameRule,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let generate_name = metadata.generate_name.as_deref().unwrap_or("");
    if !generate_name.is_empty() {
        for message in name_rule(generate_name, true) {
            errors.push(FieldError::invalid(&path.child("generateName"), generate_name, &message));
        }
    }
    let name = metadata.name.as_deref().unwrap_or("");
    if name.is_empty() {
        // An object with generateName gets its name from the API server before it is stored.
        if generate_name.is_empty() {
            errors.push(FieldError::required(&path.child("name"), "name or generateName is required"));
        }
    } else {
        for message in name_rule(name, false) {
            errors.push(FieldError::invalid(&path.child("name"), name, &message));
        }
    }
    let namespace = metadata.namespace.as_deref().unwrap_or("");
    if namespaced {
        if namespace.is_empty() {
            errors.push(FieldError::required(&path.child("namespace"), ""));
        } else {
            for message in name_is_dns_label(namespace, false) {
                errors.push(FieldError::invalid(&path.child("namespace"), namespace, &message));
            }
        }
    } else if !namespace.is_empty() {
        errors.push(FieldError::forbidden(&path.child("namespace"), "not allowed on this type"));
    }
    validate_labels(metadata.labels.as_ref(), &path.child("labels"), &mut errors);
    validate_annotations(metadata.annotations.as_ref(), &path.child("annotations"), &mut errors);
    errors
}

/// Whether a kind is namespaced; kinds not in the table are treated as namespaced.
pub fn is_namespaced(api_version: &str, kind: &str) -> bool {
    kinds::by_api_version_kind(api_version, kind).is_none_or(|resource| resource.is_namespaced())
}

/// `ValidateObjectMetaUpdate`: identity fields may not change.
pub fn validate_object_meta_update(new: &ObjectMeta, old: &ObjectMeta, path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    immutable(&text(&new.name), &text(&old.name), &path.child("name"), &mut errors);
    immutable(&text(&new.namespace), &text(&old.namespace), &path.child("namespace"), &mut errors);
    immutable(&text(&new.uid), &text(&old.uid), &path.child("uid"), &mut errors);
    if old.creation_timestamp.is_some() {
        immutable(&new.creation_timestamp, &old.creation_timestamp, &path.child("creationTimestamp"), &mut errors);
    }
    validate_labels(new.labels.as_ref(), &path.child("labels"), &mut errors);
    validate_annotations(new.annotations.as_ref(), &path.child("annotations"), &mut errors);
    errors
}

/// `ValidateLabels`: keys are qualified names, values label values; errors name the map itself.
pub fn validate_labels(labels: Option<&BTreeMap<String, String>>, path: &FieldPath, errors: &mut Vec<FieldError>) {
    for (key, value) in labels.into_iter().flatten() {
        validate_label_name(key, path, errors);
        for message in is_valid_label_value(value) {
            errors.push(FieldError::invalid(path, value.as_str(), &message));
        }
    }
}

/// `ValidateLabelName`.
pub fn validate_label_name(key: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    for message in is_qualified_name(key) {
        errors.push(FieldError::invalid(path, key, &message));
    }
}

/// `ValidateAnnotations`: keys are qualified names (case-insensitively); the total size is bounded.
pub fn validate_annotations(
    annotations: Option<&BTreeMap<String, String>>,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let mut total_size = 0;
    for (key, value) in annotations.into_iter().flatten() {
        for message in is_qualified_name(&key.to_lowercase()) {
            errors.push(FieldError::invalid(path, key.as_str(), &message));
        }
        total_size += key.len() + value.len();
    }
    if total_size > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES {
        errors.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT_BYTES));
    }
}

/// `ValidateLabelSelector`.
pub fn validate_label_selector(selector: &LabelSelector, path: &FieldPath, errors: &mut Vec<FieldError>) {
    for (index, requirement) in selector.match_expressions.iter().flatten().enumerate() {
        let requirement_path = path.child("matchExpressions").index(index);
        let values = requirement.values.as_deref().unwrap_or_default();
        match requirement.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => errors.push(FieldError::required(
                &requirement_path.child("values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if !values.is_empty() => errors.push(FieldError::forbidden(
                &requirement_path.child("values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errors.push(FieldError::invalid(
                &requirement_path.child("operator"),
                other,
                "not a valid selector operator",
            )),
        }
        validate_label_name(&requirement.key, &requirement_path.child("key"), errors);
        for (value_index, value) in values.iter().enumerate() {
            for message in is_valid_label_value(value) {
                errors.push(FieldError::invalid(
                    &requirement_path.child("values").index(value_index),
                    value.as_str(),
                    &message,
                ));
            }
        }
    }
    validate_labels(selector.match_labels.as_ref(), &path.child("matchLabels"), errors);
}

/// Whether a selector has no requirement at all (and so would select everything).
pub fn selector_is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && selector.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

/// Whether a label set satisfies a selector (`LabelSelectorAsSelector(...).Matches`). A selector
/// that does not convert counts as matching: its own errors are reported where it is validated.
pub fn selector_matches(selector: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    match crate::selector::LabelSelector::from_label_selector(Some(selector)) {
        Ok(selector) => selector.matches_optional(labels),
        Err(_) => true,
    }
}

/// Whether a selector converts to a label selector at all (`LabelSelectorAsSelector` succeeds).
pub fn selector_converts(selector: &LabelSelector) -> bool {
    crate::selector::LabelSelector::from_label_selector(Some(selector)).is_ok()
}
