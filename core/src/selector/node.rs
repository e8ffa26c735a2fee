//! Node selectors for scheduling: `nodeSelector` maps and `NodeSelector` terms (node affinity),
//! as Kubernetes' component-helpers `nodeaffinity` package matches them.
//!
//! Terms are ORed; within a term, `matchExpressions` (on labels, with In, NotIn, Exists,
//! DoesNotExist, Gt, Lt) and `matchFields` (only `metadata.name`, In or NotIn with one value)
//! are ANDed. An empty term selects nothing.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;

use super::label::{Operator, Requirement};
use super::{FieldErrors, FieldSelector, SelectorError};
use crate::object::{FieldError, FieldPath};

/// Whether a node's labels carry every pair of a Pod's `nodeSelector`. Allocation-free.
pub fn matches_node_selector_map(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(key, value)| labels.get(key) == Some(value))
}

/// One parsed term, or the errors that made it unusable.
#[derive(Clone, Debug, PartialEq)]
struct Term {
    requirements: Vec<Requirement>,
    fields: Option<FieldSelector>,
    errors: Vec<FieldError>,
}

impl Term {
    fn new(term: &core::NodeSelectorTerm, path: &FieldPath) -> Term {
        let mut parsed = Term { requirements: Vec::new(), fields: None, errors: Vec::new() };
        let path_expressions = path.child("matchExpressions");
        for (index, expression) in term.match_expressions.iter().flatten().enumerate() {
            let path = path_expressions.index(index);
            let Some(operator) = label_operator(&expression.operator) else {
                parsed.errors.push(FieldError::not_supported(
                    &path.child("operator"),
                    expression.operator.as_str(),
                    &[],
                ));
                continue;
            };
            let values = expression.values.clone().unwrap_or_default();
            match Requirement::new(&expression.key, operator, values, &path) {
                Ok(requirement) => parsed.requirements.push(requirement),
                Err(SelectorError::InvalidRequirement { errors }) => parsed.errors.extend(errors.0),
                Err(other) => {
                    parsed.errors.push(FieldError::invalid(&path, expression.key.as_str(), &other.to_string()))
                }
            }
        }
        let path_fields = path.child("matchFields");
        let mut fields: Option<FieldSelector> = None;
        for (index, expression) in term.match_fields.iter().flatten().enumerate() {
            let path = path_fields.index(index);
            let values = expression.values.as_deref().unwrap_or_default();
            let equal = match expression.operator.as_str() {
                "In" => true,
                "NotIn" => false,
                other => {
                    parsed.errors.push(FieldError::not_supported(&path.child("operator"), other, &["In", "NotIn"]));
                    continue;
                }
            };
            let [value] = values else {
                let values_json = serde_json::Value::from(values.to_vec());
                parsed.errors.push(FieldError::invalid(&path.child("values"), values_json, "must have one element"));
                continue;
            };
            let term = if equal {
                FieldSelector::one_term_equal(&expression.key, value)
            } else {
                FieldSelector::one_term_not_equal(&expression.key, value)
            };
            fields = Some(fields.unwrap_or_default().and(term));
        }
        parsed.fields = fields;
        parsed
    }

    fn matches(&self, labels: &BTreeMap<String, String>, node_name: &str) -> bool {
        if !self.requirements.iter().all(|requirement| requirement.matches(labels)) {
            return false;
        }
        // Kubernetes only offers `metadata.name` as a node field, and only when the name is set.
        match &self.fields {
            Some(fields) if !node_name.is_empty() => fields.terms().iter().all(|term| {
                let actual = if term.field == "metadata.name" { node_name } else { "" };
                (actual == term.value) == term.equal
            }),
            _ => true,
        }
    }
}

fn label_operator(operator: &str) -> Option<Operator> {
    Some(match operator {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        "Gt" => Operator::GreaterThan,
        "Lt" => Operator::LessThan,
        _ => return None,
    })
}

fn is_empty_term(term: &core::NodeSelectorTerm) -> bool {
    term.match_expressions.as_ref().is_none_or(Vec::is_empty) && term.match_fields.as_ref().is_none_or(Vec::is_empty)
}

/// A parsed `NodeSelector`, ready to match many nodes.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSelectorMatcher {
    terms: Vec<Term>,
}

impl NodeSelectorMatcher {
    /// Parses every term and refuses the selector if any term is malformed (Kubernetes'
    /// `NewNodeSelector`).
    pub fn new(selector: &core::NodeSelector) -> Result<NodeSelectorMatcher, SelectorError> {
        let matcher = NodeSelectorMatcher::lazy(selector);
        let errors: Vec<FieldError> = matcher.terms.iter().flat_map(|term| term.errors.iter().cloned()).collect();
        if !errors.is_empty() {
            return Err(SelectorError::InvalidRequirement { errors: FieldErrors(errors) });
        }
        Ok(matcher)
    }

    /// Parses every term, keeping malformed ones to report only if no good term matches
    /// (Kubernetes' `NewLazyErrorNodeSelector`, which the scheduler uses for node affinity).
    pub fn lazy(selector: &core::NodeSelector) -> NodeSelectorMatcher {
        let path = FieldPath::new("nodeSelectorTerms");
        let terms = selector
            .node_selector_terms
            .iter()
            .enumerate()
            .filter(|(_, term)| !is_empty_term(term))
            .map(|(index, term)| Term::new(term, &path.index(index)))
            .collect();
        NodeSelectorMatcher { terms }
    }

    /// Whether any term matches a node with these labels and this name. A malformed term is
    /// skipped; if no term matches and some were malformed, their errors are returned.
    pub fn matches(&self, labels: &BTreeMap<String, String>, node_name: &str) -> Result<bool, SelectorError> {
        let mut malformed = false;
        for term in &self.terms {
            if !term.errors.is_empty() {
                malformed = true;
                continue;
            }
            if term.matches(labels, node_name) {
                return Ok(true);
            }
        }
        if malformed {
            let errors = self.terms.iter().flat_map(|term| term.errors.iter().cloned()).collect();
            return Err(SelectorError::InvalidRequirement { errors: FieldErrors(errors) });
        }
        Ok(false)
    }

    /// Whether any term matches a node.
    pub fn matches_node(&self, node: &core::Node) -> Result<bool, SelectorError> {
        static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();
        let labels = node.metadata.labels.as_ref().unwrap_or(&NO_LABELS);
        self.matches(labels, node.metadata.name.as_deref().unwrap_or(""))
    }
}

/// Whether a single term matches (Kubernetes' `MatchNodeSelectorTerms` with one term); a
/// malformed term is an error.
pub fn matches_node_selector_term(
    term: &core::NodeSelectorTerm,
    labels: &BTreeMap<String, String>,
    node_name: &str,
) -> Result<bool, SelectorError> {
    let selector = core::NodeSelector { node_selector_terms: vec![term.clone()] };
    NodeSelectorMatcher::new(&selector)?.matches(labels, node_name)
}

#[cfg(test)]
mod tests;
