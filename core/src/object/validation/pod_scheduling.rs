//! Where a pod may run: tolerations, node and pod affinity, topology spread constraints, and the
//! node selectors PersistentVolumes share (`ValidateTolerations`, `validateAffinity`,
//! `ValidateNodeSelector`, `validateTopologySpreadConstraints` in
//! `pkg/apis/core/validation/validation.go`).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{
    Affinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodAffinityTerm, Toleration,
    TopologySpreadConstraint, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::common::to_json;
use super::meta::{name_is_dns_label, name_is_dns_subdomain, validate_label_name, validate_label_selector};
use super::name_rules::is_valid_label_value;
use crate::object::field_error::{FieldError, FieldPath};

/// Taint effects, in Kubernetes' order.
pub const TAINT_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];
/// Toleration operators.
pub const TOLERATION_OPERATORS: &[&str] = &["Equal", "Exists"];
/// What a topology spread constraint does when it cannot be met, sorted.
pub const WHEN_UNSATISFIABLE_ACTIONS: &[&str] = &["DoNotSchedule", "ScheduleAnyway"];
/// Node inclusion policies of a topology spread constraint, sorted.
pub const NODE_INCLUSION_POLICIES: &[&str] = &["Honor", "Ignore"];
/// Lowest weight of a preferred scheduling term.
pub const WEIGHT_MIN: i32 = 1;
/// Highest weight of a preferred scheduling term.
pub const WEIGHT_MAX: i32 = 100;
/// The only node field a node selector may match on.
pub const NODE_FIELD_METADATA_NAME: &str = "metadata.name";

const MUST_BE_POSITIVE: &str = "must be greater than zero";
const WEIGHT_RANGE: &str = "must be in the range 1-100";

/// `validateTaintEffect`; an empty effect is allowed only for tolerations (any effect).
pub fn validate_taint_effect(effect: &str, allow_empty: bool, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if effect.is_empty() {
        if !allow_empty {
            errors.push(FieldError::required(path, ""));
        }
    } else if !TAINT_EFFECTS.contains(&effect) {
        errors.push(FieldError::not_supported(path, effect, TAINT_EFFECTS));
    }
}

/// `ValidateTolerations`.
pub fn validate_tolerations(tolerations: &[Toleration], path: &FieldPath, errors: &mut Vec<FieldError>) {
    for (index, toleration) in tolerations.iter().enumerate() {
        let toleration_path = path.index(index);
        let key = toleration.key.as_deref().unwrap_or("");
        let operator = toleration.operator.as_deref().unwrap_or("");
        let value = toleration.value.as_deref().unwrap_or("");
        let effect = toleration.effect.as_deref().unwrap_or("");
        let operator_path = toleration_path.child("operator");
        if !key.is_empty() {
            validate_label_name(key, &toleration_path.child("key"), errors);
        }
        if key.is_empty() && operator != "Exists" {
            let message = "operator must be Exists when `key` is empty, which means \"match all values and all keys\"";
            errors.push(FieldError::invalid(&operator_path, operator, message));
        }
        if toleration.toleration_seconds.is_some() && effect != "NoExecute" {
            let message = "effect must be 'NoExecute' when `tolerationSeconds` is set";
            errors.push(FieldError::invalid(&toleration_path.child("effect"), effect, message));
        }
        match operator {
            "Equal" | "" => {
                let messages = is_valid_label_value(value);
                if !messages.is_empty() {
                    errors.push(FieldError::invalid(&operator_path, value, &messages.join(";")));
                }
            }
            "Exists" if !value.is_empty() => {
                let message = "value must be empty when `operator` is 'Exists'";
                errors.push(FieldError::invalid(&operator_path, to_json(toleration), message));
            }
            "Exists" => {}
            other => errors.push(FieldError::not_supported(&operator_path, other, TOLERATION_OPERATORS)),
        }
        validate_taint_effect(effect, true, &toleration_path.child("effect"), errors);
    }
}

/// `validateAffinity`.
pub fn validate_affinity(affinity: Option<&Affinity>, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let Some(affinity) = affinity else { return };
    if let Some(node_affinity) = &affinity.node_affinity {
        let path = path.child("nodeAffinity");
        if let Some(required) = &node_affinity.required_during_scheduling_ignored_during_execution {
            validate_node_selector(required, &path.child("requiredDuringSchedulingIgnoredDuringExecution"), errors);
        }
        let preferred_path = path.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (index, term) in
            node_affinity.preferred_during_scheduling_ignored_during_execution.iter().flatten().enumerate()
        {
            let term_path = preferred_path.index(index);
            validate_weight(term.weight, &term_path.child("weight"), errors);
            validate_node_selector_term(&term.preference, &term_path.child("preference"), errors);
        }
    }
    let pod_affinities = [
        (
            "podAffinity",
            affinity.pod_affinity.as_ref().map(|a| {
                (
                    &a.required_during_scheduling_ignored_during_execution,
                    &a.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
        (
            "podAntiAffinity",
            affinity.pod_anti_affinity.as_ref().map(|a| {
                (
                    &a.required_during_scheduling_ignored_during_execution,
                    &a.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
    ];
    for (field, terms) in pod_affinities {
        let Some((required, preferred)) = terms else { continue };
        validate_pod_affinity_terms(
            required.as_deref().unwrap_or_default(),
            preferred.as_deref().unwrap_or_default(),
            &path.child(field),
            errors,
        );
    }
}

fn validate_pod_affinity_terms(
    required: &[PodAffinityTerm],
    preferred: &[WeightedPodAffinityTerm],
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let required_path = path.child("requiredDuringSchedulingIgnoredDuringExecution");
    for (index, term) in required.iter().enumerate() {
        validate_pod_affinity_term(term, &required_path.index(index), errors);
    }
    let preferred_path = path.child("preferredDuringSchedulingIgnoredDuringExecution");
    for (index, term) in preferred.iter().enumerate() {
        let term_path = preferred_path.index(index);
        validate_weight(term.weight, &term_path.child("weight"), errors);
        validate_pod_affinity_term(&term.pod_affinity_term, &term_path.child("podAffinityTerm"), errors);
    }
}

fn validate_weight(weight: i32, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if !(WEIGHT_MIN..=WEIGHT_MAX).contains(&weight) {
        errors.push(FieldError::invalid(path, weight, WEIGHT_RANGE));
    }
}

/// `validatePodAffinityTerm`: selectors, namespace names, matchLabelKeys and mismatchLabelKeys,
/// and a topologyKey.
fn validate_pod_affinity_term(term: &PodAffinityTerm, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if let Some(selector) = &term.label_selector {
        validate_label_selector(selector, &path.child("labelSelector"), errors);
    }
    if let Some(selector) = &term.namespace_selector {
        validate_label_selector(selector, &path.child("namespaceSelector"), errors);
    }
    for name in term.namespaces.iter().flatten() {
        for message in name_is_dns_label(name, false) {
            errors.push(FieldError::invalid(&path.child("namespace"), name.as_str(), &message));
        }
    }
    let match_keys = term.match_label_keys.as_deref().unwrap_or_default();
    let mismatch_keys = term.mismatch_label_keys.as_deref().unwrap_or_default();
    for (field, keys) in [("matchLabelKeys", match_keys), ("mismatchLabelKeys", mismatch_keys)] {
        // The API server merges these keys into the selector on create, so no overlap check here.
        validate_label_keys_against_selector(keys, term.label_selector.as_ref(), false, &path.child(field), errors);
    }
    for (index, key) in match_keys.iter().enumerate() {
        if mismatch_keys.contains(key) {
            let message = "exists in both matchLabelKeys and mismatchLabelKeys";
            errors.push(FieldError::invalid(&path.child("matchLabelKeys").index(index), key.as_str(), message));
        }
    }
    let topology_path = path.child("topologyKey");
    if term.topology_key.is_empty() {
        errors.push(FieldError::required(&topology_path, "can not be empty"));
    }
    validate_label_name(&term.topology_key, &topology_path, errors);
}

/// matchLabelKeys (of a spread constraint or an affinity term) need a labelSelector, must be
/// label names and, with `check_overlap`, may not repeat a key the selector already names.
fn validate_label_keys_against_selector(
    keys: &[String],
    selector: Option<&LabelSelector>,
    check_overlap: bool,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    if keys.is_empty() {
        return;
    }
    let Some(selector) = selector else {
        errors.push(FieldError::forbidden(path, "must not be specified when labelSelector is not set"));
        for (index, key) in keys.iter().enumerate() {
            validate_label_name(key, &path.index(index), errors);
        }
        return;
    };
    let selector_keys: BTreeSet<&str> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(key, _)| key.as_str())
        .chain(selector.match_expressions.iter().flatten().map(|expression| expression.key.as_str()))
        .collect();
    for (index, key) in keys.iter().enumerate() {
        validate_label_name(key, &path.index(index), errors);
        if check_overlap && selector_keys.contains(key.as_str()) {
            let message = "exists in both matchLabelKeys and labelSelector";
            errors.push(FieldError::invalid(&path.index(index), key.as_str(), message));
        }
    }
}

/// `ValidateNodeSelector`: at least one term, each valid.
pub fn validate_node_selector(selector: &NodeSelector, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let terms_path = path.child("nodeSelectorTerms");
    if selector.node_selector_terms.is_empty() {
        errors.push(FieldError::required(&terms_path, "must have at least one node selector term"));
        return;
    }
    for (index, term) in selector.node_selector_terms.iter().enumerate() {
        validate_node_selector_term(term, &terms_path.index(index), errors);
    }
}

/// `ValidateNodeSelectorTerm`. Label values in required terms are not checked, as Kubernetes
/// keeps accepting the invalid values it once let through.
pub fn validate_node_selector_term(term: &NodeSelectorTerm, path: &FieldPath, errors: &mut Vec<FieldError>) {
    for (index, requirement) in term.match_expressions.iter().flatten().enumerate() {
        validate_node_selector_requirement(requirement, &path.child("matchExpressions").index(index), errors);
    }
    for (index, requirement) in term.match_fields.iter().flatten().enumerate() {
        validate_node_field_selector_requirement(requirement, &path.child("matchFields").index(index), errors);
    }
}

/// `ValidateNodeSelectorRequirement`: the operators of `selector::node`, with their value counts.
fn validate_node_selector_requirement(
    requirement: &NodeSelectorRequirement,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let values = requirement.values.as_deref().unwrap_or_default();
    let values_path = path.child("values");
    match requirement.operator.as_str() {
        "In" | "NotIn" if values.is_empty() => {
            errors.push(FieldError::required(&values_path, "must be specified when `operator` is 'In' or 'NotIn'"));
        }
        "Exists" | "DoesNotExist" if !values.is_empty() => errors.push(FieldError::forbidden(
            &values_path,
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        "Gt" | "Lt" if values.len() != 1 => errors
            .push(FieldError::required(&values_path, "must be specified single value when `operator` is 'Lt' or 'Gt'")),
        "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" => {}
        other => errors.push(FieldError::invalid(&path.child("operator"), other, "not a valid selector operator")),
    }
    validate_label_name(&requirement.key, &path.child("key"), errors);
}

/// `ValidateNodeFieldSelectorRequirement`: only `metadata.name`, In or NotIn one node name.
fn validate_node_field_selector_requirement(
    requirement: &NodeSelectorRequirement,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let values = requirement.values.as_deref().unwrap_or_default();
    match requirement.operator.as_str() {
        "In" | "NotIn" if values.len() != 1 => errors.push(FieldError::required(
            &path.child("values"),
            "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
        )),
        "In" | "NotIn" => {}
        other => errors.push(FieldError::invalid(&path.child("operator"), other, "not a valid selector operator")),
    }
    if requirement.key != NODE_FIELD_METADATA_NAME {
        let key = requirement.key.as_str();
        errors.push(FieldError::invalid(&path.child("key"), key, "not a valid field selector key"));
        return;
    }
    for (index, value) in values.iter().enumerate() {
        for message in name_is_dns_subdomain(value, false) {
            errors.push(FieldError::invalid(&path.child("values").index(index), value.as_str(), &message));
        }
    }
}

/// `validateTopologySpreadConstraints`.
pub fn validate_topology_spread_constraints(
    constraints: &[TopologySpreadConstraint],
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    for (index, constraint) in constraints.iter().enumerate() {
        let constraint_path = path.index(index);
        if constraint.max_skew <= 0 {
            errors.push(FieldError::invalid(&constraint_path.child("maxSkew"), constraint.max_skew, MUST_BE_POSITIVE));
        }
        if constraint.topology_key.is_empty() {
            errors.push(FieldError::required(&constraint_path.child("topologyKey"), "can not be empty"));
        }
        let action = constraint.when_unsatisfiable.as_str();
        if !WHEN_UNSATISFIABLE_ACTIONS.contains(&action) {
            let action_path = constraint_path.child("whenUnsatisfiable");
            errors.push(FieldError::not_supported(&action_path, action, WHEN_UNSATISFIABLE_ACTIONS));
        }
        let repeated = constraints[index + 1..].iter().any(|rest| {
            rest.topology_key == constraint.topology_key && rest.when_unsatisfiable == constraint.when_unsatisfiable
        });
        if repeated {
            let pair_path = constraint_path.child("{topologyKey, whenUnsatisfiable}");
            errors.push(FieldError::duplicate(&pair_path, format!("{{{}, {}}}", constraint.topology_key, action)));
        }
        if let Some(min_domains) = constraint.min_domains {
            let min_domains_path = constraint_path.child("minDomains");
            if min_domains <= 0 {
                errors.push(FieldError::invalid(&min_domains_path, min_domains, MUST_BE_POSITIVE));
            }
            if action != "DoNotSchedule" {
                let message = format!("can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {action}");
                errors.push(FieldError::invalid(&min_domains_path, min_domains, &message));
            }
        }
        for (field, policy) in [
            ("nodeAffinityPolicy", &constraint.node_affinity_policy),
            ("nodeTaintsPolicy", &constraint.node_taints_policy),
        ] {
            if let Some(policy) = policy.as_deref().filter(|policy| !NODE_INCLUSION_POLICIES.contains(policy)) {
                errors.push(FieldError::not_supported(&constraint_path.child(field), policy, NODE_INCLUSION_POLICIES));
            }
        }
        validate_label_keys_against_selector(
            constraint.match_label_keys.as_deref().unwrap_or_default(),
            constraint.label_selector.as_ref(),
            true,
            &constraint_path.child("matchLabelKeys"),
            errors,
        );
        if let Some(selector) = &constraint.label_selector {
            validate_label_selector(selector, &constraint_path.child("labelSelector"), errors);
        }
    }
}
