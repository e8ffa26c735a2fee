//! rbac.authorization.k8s.io: Roles, ClusterRoles and their bindings
//! (`pkg/apis/rbac/validation/validation.go`).
//!
//! coxswain does not default RBAC subjects yet, so a User or Group subject without `apiGroup`
//! is read as `rbac.authorization.k8s.io`, the value Kubernetes' defaulting would write.

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};

use super::common::to_json;
use super::meta::{name_is_dns_subdomain, name_is_path_segment, selector_converts, validate_label_selector};
use crate::object::field_error::{FieldError, FieldPath};

/// The only API group a binding's roleRef and its User and Group subjects may name.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
/// Kinds of subject, in Kubernetes' order.
pub const SUBJECT_KINDS: &[&str] = &["ServiceAccount", "User", "Group"];

/// `ValidateRole` (beyond metadata): namespaced rules.
pub fn validate_role(role: &Role) -> Vec<FieldError> {
    validate_rules(role.rules.as_deref().unwrap_or_default(), true)
}

/// `ValidateClusterRole` (beyond metadata): rules, which may name non-resource URLs, and the
/// aggregation rule's selectors.
pub fn validate_cluster_role(role: &ClusterRole) -> Vec<FieldError> {
    let mut errors = validate_rules(role.rules.as_deref().unwrap_or_default(), false);
    if let Some(rule) = &role.aggregation_rule {
        let path = FieldPath::new("aggregationRule").child("clusterRoleSelectors");
        let selectors = rule.cluster_role_selectors.as_deref().unwrap_or_default();
        if selectors.is_empty() {
            let message = "at least one clusterRoleSelector required if aggregationRule is non-nil";
            errors.push(FieldError::required(&path, message));
        }
        for (index, selector) in selectors.iter().enumerate() {
            validate_label_selector(selector, &path.index(index), &mut errors);
            if !selector_converts(selector) {
                errors.push(FieldError::invalid(&path.index(index), to_json(selector), "invalid label selector."));
            }
        }
    }
    errors
}

fn validate_rules(rules: &[PolicyRule], namespaced: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        validate_policy_rule(rule, namespaced, &FieldPath::new("rules").index(index), &mut errors);
    }
    errors
}

/// `ValidatePolicyRule`: verbs always; then either non-resource URLs (cluster-wide only, and
/// alone) or API groups and resources.
pub fn validate_policy_rule(rule: &PolicyRule, namespaced: bool, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let set = |list: &Option<Vec<String>>| list.as_ref().is_some_and(|list| !list.is_empty());
    if rule.verbs.is_empty() {
        errors.push(FieldError::required(&path.child("verbs"), "verbs must contain at least one value"));
    }
    if set(&rule.non_resource_urls) {
        let urls_path = path.child("nonResourceURLs");
        let urls = to_json(&rule.non_resource_urls);
        if namespaced {
            errors.push(FieldError::invalid(
                &urls_path,
                urls.clone(),
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if set(&rule.api_groups) || set(&rule.resources) || set(&rule.resource_names) {
            let message = "rules cannot apply to both regular resources and non-resource URLs";
            errors.push(FieldError::invalid(&urls_path, urls, message));
        }
        return;
    }
    if !set(&rule.api_groups) {
        errors
            .push(FieldError::required(&path.child("apiGroups"), "resource rules must supply at least one api group"));
    }
    if !set(&rule.resources) {
        errors.push(FieldError::required(&path.child("resources"), "resource rules must supply at least one resource"));
    }
}

/// `ValidateRoleBinding` (beyond metadata): a roleRef to a Role or ClusterRole, and subjects.
pub fn validate_role_binding(binding: &RoleBinding) -> Vec<FieldError> {
    let mut errors = Vec::new();
    validate_role_ref(&binding.role_ref, &["Role", "ClusterRole"], &mut errors);
    validate_subjects(binding.subjects.as_deref().unwrap_or_default(), true, &mut errors);
    errors
}

/// `ValidateClusterRoleBinding` (beyond metadata): a roleRef to a ClusterRole, and subjects
/// whose ServiceAccounts name their namespace.
pub fn validate_cluster_role_binding(binding: &ClusterRoleBinding) -> Vec<FieldError> {
    let mut errors = Vec::new();
    validate_role_ref(&binding.role_ref, &["ClusterRole"], &mut errors);
    validate_subjects(binding.subjects.as_deref().unwrap_or_default(), false, &mut errors);
    errors
}

fn validate_role_ref(role_ref: &RoleRef, kinds: &[&str], errors: &mut Vec<FieldError>) {
    let path = FieldPath::new("roleRef");
    if role_ref.api_group != RBAC_GROUP {
        errors.push(FieldError::not_supported(&path.child("apiGroup"), role_ref.api_group.as_str(), &[RBAC_GROUP]));
    }
    if !kinds.contains(&role_ref.kind.as_str()) {
        errors.push(FieldError::not_supported(&path.child("kind"), role_ref.kind.as_str(), kinds));
    }
    if role_ref.name.is_empty() {
        errors.push(FieldError::required(&path.child("name"), ""));
    } else {
        for message in name_is_path_segment(&role_ref.name, false) {
            errors.push(FieldError::invalid(&path.child("name"), role_ref.name.as_str(), &message));
        }
    }
}

fn validate_subjects(subjects: &[Subject], namespaced: bool, errors: &mut Vec<FieldError>) {
    for (index, subject) in subjects.iter().enumerate() {
        validate_subject(subject, namespaced, &FieldPath::new("subjects").index(index), errors);
    }
}

/// `ValidateRoleBindingSubject`.
pub fn validate_subject(subject: &Subject, namespaced: bool, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if subject.name.is_empty() {
        errors.push(FieldError::required(&path.child("name"), ""));
    }
    let api_group = subject.api_group.as_deref().unwrap_or("");
    match subject.kind.as_str() {
        "ServiceAccount" => {
            if !subject.name.is_empty() {
                for message in name_is_dns_subdomain(&subject.name, false) {
                    errors.push(FieldError::invalid(&path.child("name"), subject.name.as_str(), &message));
                }
            }
            if !api_group.is_empty() {
                errors.push(FieldError::not_supported(&path.child("apiGroup"), api_group, &[""]));
            }
            if !namespaced && subject.namespace.as_deref().unwrap_or("").is_empty() {
                errors.push(FieldError::required(&path.child("namespace"), ""));
            }
        }
        "User" | "Group" => {
            if !api_group.is_empty() && api_group != RBAC_GROUP {
                errors.push(FieldError::not_supported(&path.child("apiGroup"), api_group, &[RBAC_GROUP]));
            }
        }
        other => errors.push(FieldError::not_supported(&path.child("kind"), other, SUBJECT_KINDS)),
    }
}

/// `ValidateRoleBindingUpdate` and its ClusterRoleBinding twin: the roleRef is fixed.
pub fn validate_role_ref_update(new: &RoleRef, old: &RoleRef) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if new != old {
        errors.push(FieldError::invalid(&FieldPath::new("roleRef"), to_json(new), "cannot change roleRef"));
    }
    errors
}

/// See [`validate_role_ref_update`].
pub fn validate_role_binding_update(new: &RoleBinding, old: &RoleBinding) -> Vec<FieldError> {
    validate_role_ref_update(&new.role_ref, &old.role_ref)
}

/// See [`validate_role_ref_update`].
pub fn validate_cluster_role_binding_update(new: &ClusterRoleBinding, old: &ClusterRoleBinding) -> Vec<FieldError> {
    validate_role_ref_update(&new.role_ref, &old.role_ref)
}
