//! Nodes and Namespaces (`ValidateNode`, `ValidateNodeUpdate`, `ValidateNamespace` in
//! `pkg/apis/core/validation/validation.go`): pod CIDRs, taints, providerID, finalizers.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Namespace, Node, Taint};

use super::common::to_json;
use super::meta::validate_label_name;
use super::name_rules::{is_qualified_name, is_valid_label_value};
use super::network::{parse_cidr, validate_cidr};
use super::pod_scheduling::validate_taint_effect;
use crate::object::field_error::{FieldError, FieldErrorType, FieldPath};

/// Finalizer names that need no domain prefix (`IsStandardFinalizerName`).
pub const STANDARD_FINALIZERS: &[&str] = &["kubernetes", "orphan", "foregroundDeletion"];
/// Kubernetes' message for a node update that changes its pod CIDRs.
pub const POD_CIDR_UPDATE_FORBIDDEN: &str = "node updates may not change podCIDR except from \"\" to valid";
/// Kubernetes' message for a node update that changes its providerID.
pub const PROVIDER_ID_UPDATE_FORBIDDEN: &str = "node updates may not change providerID except from \"\" to valid";

/// A node's pod CIDRs as the internal API holds them: `podCIDRs`, or `[podCIDR]` when only the
/// older single field is set.
pub fn node_pod_cidrs(node: &Node) -> Vec<String> {
    let spec = node.spec.clone().unwrap_or_default();
    match (spec.pod_cidrs, spec.pod_cidr) {
        (Some(cidrs), _) if !cidrs.is_empty() => cidrs,
        (_, Some(cidr)) if !cidr.is_empty() => vec![cidr],
        _ => Vec::new(),
    }
}

/// `ValidateNode` (beyond metadata): taints, and pod CIDRs that parse and are at most one per
/// IP family.
pub fn validate_node(node: &Node) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let taints = node.spec.as_ref().and_then(|spec| spec.taints.clone()).unwrap_or_default();
    // Kubernetes reports taints under `metadata`, not `spec`.
    validate_node_taints(&taints, &FieldPath::new("metadata").child("taints"), &mut errors);
    let cidrs = node_pod_cidrs(node);
    let cidrs_path = FieldPath::new("spec").child("podCIDRs");
    for (index, cidr) in cidrs.iter().enumerate() {
        validate_cidr(cidr, &cidrs_path.index(index), &mut errors);
    }
    let families: Vec<bool> = cidrs.iter().filter_map(|cidr| parse_cidr(cidr)).map(|(ip, _)| ip.is_ipv4()).collect();
    // With an unparseable CIDR Kubernetes adds an internal error here; the Invalid one above says it.
    if cidrs.len() > 1 && families.len() == cidrs.len() {
        let dual_stack = families.len() == 2 && families[0] != families[1];
        if !dual_stack {
            let message = "may specify no more than one CIDR for each IP family";
            errors.push(FieldError::invalid(&cidrs_path, to_json(&cidrs), message));
        }
    }
    errors
}

/// `validateNodeTaints`: label-name keys, label values, a known effect, one taint per
/// (key, effect).
fn validate_node_taints(taints: &[Taint], path: &FieldPath, errors: &mut Vec<FieldError>) {
    let mut seen = BTreeSet::new();
    for (index, taint) in taints.iter().enumerate() {
        let taint_path = path.index(index);
        validate_label_name(&taint.key, &taint_path.child("key"), errors);
        let value = taint.value.as_deref().unwrap_or("");
        let messages = is_valid_label_value(value);
        if !messages.is_empty() {
            errors.push(FieldError::invalid(&taint_path.child("value"), value, &messages.join(";")));
        }
        validate_taint_effect(&taint.effect, false, &taint_path.child("effect"), errors);
        if !seen.insert((taint.effect.clone(), taint.key.clone())) {
            errors.push(FieldError {
                path: taint_path,
                error_type: FieldErrorType::Duplicate,
                bad_value: Some(to_json(taint)),
                detail: "taints must be unique by key and effect pair".to_string(),
            });
        }
    }
}

/// `ValidateNodeUpdate`'s spec rules: pod CIDRs may only be set where there were none, and a
/// providerID may only be set where there was none.
pub fn validate_node_update(new: &Node, old: &Node) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let old_cidrs = node_pod_cidrs(old);
    let new_cidrs = node_pod_cidrs(new);
    let cidrs_path = FieldPath::new("spec").child("podCIDRs");
    if !old_cidrs.is_empty() {
        if old_cidrs.len() > new_cidrs.len() {
            errors.push(FieldError::forbidden(&cidrs_path, POD_CIDR_UPDATE_FORBIDDEN));
        } else {
            for (old_cidr, new_cidr) in old_cidrs.iter().zip(&new_cidrs) {
                if old_cidr != new_cidr {
                    errors.push(FieldError::forbidden(&cidrs_path, POD_CIDR_UPDATE_FORBIDDEN));
                }
            }
        }
    }
    let provider_id = |node: &Node| node.spec.as_ref().and_then(|spec| spec.provider_id.clone()).unwrap_or_default();
    let old_provider_id = provider_id(old);
    if !old_provider_id.is_empty() && old_provider_id != provider_id(new) {
        errors.push(FieldError::forbidden(&FieldPath::new("spec").child("providerID"), PROVIDER_ID_UPDATE_FORBIDDEN));
    }
    errors
}

/// `ValidateNamespace` (beyond metadata): each spec finalizer is a qualified name, and one
/// without a domain prefix must be a standard one. Errors name the list, not the item.
pub fn validate_namespace(namespace: &Namespace) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = FieldPath::new("spec").child("finalizers");
    let finalizers = namespace.spec.as_ref().and_then(|spec| spec.finalizers.clone()).unwrap_or_default();
    for finalizer in &finalizers {
        validate_finalizer_name(finalizer, &path, &mut errors);
    }
    errors
}

/// `validateFinalizerName`.
pub fn validate_finalizer_name(finalizer: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    for message in is_qualified_name(finalizer) {
        errors.push(FieldError::invalid(path, finalizer, &message));
    }
    if !finalizer.contains('/') && !STANDARD_FINALIZERS.contains(&finalizer) {
        let message = "name is neither a standard finalizer name nor is it fully qualified";
        errors.push(FieldError::invalid(path, finalizer, message));
    }
}
