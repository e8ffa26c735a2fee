//! A Pod's pod affinity and anti-affinity terms, parsed once when its [`PodInfo`] is built
//! (kube-scheduler's `framework.AffinityTerm` and `WeightedAffinityTerm`), so that the
//! InterPodAffinity plugin matches label selectors without re-parsing them for every cycle.
//!
//! `matchLabelKeys` and `mismatchLabelKeys` are merged into the term's selector here, as
//! Kubernetes' API server does at admission (`key In (value)` and `key NotIn (value)` for every
//! key the Pod carries); merging twice is harmless, so Pods the API server already rewrote are
//! unaffected.
//!
//! [`PodInfo`]: super::node_info::PodInfo

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1 as core;

use crate::object::FieldPath;
use crate::selector::{LabelSelector, Operator, Requirement, SelectorError};

/// One pod (anti-)affinity term, ready to match Pods.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AffinityTerm {
    /// Namespaces named by the term (the owner's own when neither names nor selector is given).
    pub namespaces: BTreeSet<String>,
    /// The Pod label selector (`labelSelector`; missing matches nothing).
    pub selector: LabelSelector,
    /// The node label whose values define the topology domains.
    pub topology_key: String,
    /// The namespace label selector (`namespaceSelector`; missing matches nothing, empty all).
    pub namespace_selector: LabelSelector,
}

impl AffinityTerm {
    /// Whether `pod` falls under the term: its namespace is named or its namespace's labels
    /// match the namespace selector, and its labels match the selector (`AffinityTerm.Matches`).
    pub fn matches(&self, pod: &core::Pod, namespace_labels: Option<&BTreeMap<String, String>>) -> bool {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("");
        let in_namespace =
            self.namespaces.contains(namespace) || self.namespace_selector.matches_optional(namespace_labels);
        in_namespace && self.selector.matches_optional(pod.metadata.labels.as_ref())
    }
}

/// A preferred term and its weight.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WeightedAffinityTerm {
    /// The term.
    pub term: AffinityTerm,
    /// Its weight, 1 to 100.
    pub weight: i64,
}

/// Every pod (anti-)affinity term of one Pod.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PodAffinityTerms {
    /// `podAffinity.requiredDuringSchedulingIgnoredDuringExecution`.
    pub required_affinity: Vec<AffinityTerm>,
    /// `podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution`.
    pub required_anti_affinity: Vec<AffinityTerm>,
    /// `podAffinity.preferredDuringSchedulingIgnoredDuringExecution`.
    pub preferred_affinity: Vec<WeightedAffinityTerm>,
    /// `podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution`.
    pub preferred_anti_affinity: Vec<WeightedAffinityTerm>,
    /// Why some terms could not be parsed, in Kubernetes' words; the failing list is left empty.
    pub parse_error: Option<String>,
}

fn namespaces_of(pod: &core::Pod, term: &core::PodAffinityTerm) -> BTreeSet<String> {
    match (&term.namespaces, &term.namespace_selector) {
        (None, None) => BTreeSet::from([pod.metadata.namespace.clone().unwrap_or_default()]),
        (Some(names), None) if names.is_empty() => BTreeSet::from([pod.metadata.namespace.clone().unwrap_or_default()]),
        (names, _) => names.iter().flatten().cloned().collect(),
    }
}

/// The term's selector with `matchLabelKeys` / `mismatchLabelKeys` merged in from the Pod's labels.
fn term_selector(pod: &core::Pod, term: &core::PodAffinityTerm) -> Result<LabelSelector, SelectorError> {
    let selector = LabelSelector::from_label_selector(term.label_selector.as_ref())?;
    if term.label_selector.is_none() {
        return Ok(selector);
    }
    let labels = pod.metadata.labels.as_ref();
    let mut extra = Vec::new();
    let keyed = [(term.match_label_keys.as_ref(), Operator::In), (term.mismatch_label_keys.as_ref(), Operator::NotIn)];
    for (keys, operator) in keyed {
        for key in keys.into_iter().flatten() {
            if let Some(value) = labels.and_then(|labels| labels.get(key)) {
                extra.push(Requirement::new(key, operator, vec![value.clone()], &FieldPath::root())?);
            }
        }
    }
    if extra.is_empty() {
        return Ok(selector);
    }
    let mut requirements = selector.requirements().to_vec();
    requirements.extend(extra);
    Ok(LabelSelector::from_requirements(requirements))
}

fn parse_term(pod: &core::Pod, term: &core::PodAffinityTerm) -> Result<AffinityTerm, SelectorError> {
    Ok(AffinityTerm {
        namespaces: namespaces_of(pod, term),
        selector: term_selector(pod, term)?,
        topology_key: term.topology_key.clone(),
        namespace_selector: LabelSelector::from_label_selector(term.namespace_selector.as_ref())?,
    })
}

fn parse_terms(
    pod: &core::Pod,
    terms: Option<&Vec<core::PodAffinityTerm>>,
) -> Result<Vec<AffinityTerm>, SelectorError> {
    terms.into_iter().flatten().map(|term| parse_term(pod, term)).collect()
}

fn parse_weighted(
    pod: &core::Pod,
    terms: Option<&Vec<core::WeightedPodAffinityTerm>>,
) -> Result<Vec<WeightedAffinityTerm>, SelectorError> {
    terms
        .into_iter()
        .flatten()
        .map(|weighted| {
            Ok(WeightedAffinityTerm {
                term: parse_term(pod, &weighted.pod_affinity_term)?,
                weight: i64::from(weighted.weight),
            })
        })
        .collect()
}

impl PodAffinityTerms {
    /// Parses a Pod's terms; `None` when it declares no pod affinity or anti-affinity at all.
    pub fn of(pod: &core::Pod) -> Option<PodAffinityTerms> {
        let affinity = pod.spec.as_ref()?.affinity.as_ref()?;
        if affinity.pod_affinity.is_none() && affinity.pod_anti_affinity.is_none() {
            return None;
        }
        let positive = affinity.pod_affinity.as_ref();
        let negative = affinity.pod_anti_affinity.as_ref();
        let mut errors = Vec::new();
        let mut keep = |name: &str, result: Result<Vec<AffinityTerm>, SelectorError>| {
            result.unwrap_or_else(|error| {
                errors.push(format!("{name}: {error}"));
                Vec::new()
            })
        };
        let required_affinity = keep(
            "requiredAffinityTerms",
            parse_terms(pod, positive.and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref())),
        );
        let required_anti_affinity = keep(
            "requiredAntiAffinityTerms",
            parse_terms(pod, negative.and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref())),
        );
        let mut keep_weighted = |name: &str, result: Result<Vec<WeightedAffinityTerm>, SelectorError>| {
            result.unwrap_or_else(|error| {
                errors.push(format!("{name}: {error}"));
                Vec::new()
            })
        };
        let preferred_affinity = keep_weighted(
            "preferredAffinityTerms",
            parse_weighted(pod, positive.and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref())),
        );
        let preferred_anti_affinity = keep_weighted(
            "preferredAntiAffinityTerms",
            parse_weighted(pod, negative.and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref())),
        );
        let parse_error = match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(format!("[{}]", errors.join(", "))),
        };
        Some(PodAffinityTerms {
            required_affinity,
            required_anti_affinity,
            preferred_affinity,
            preferred_anti_affinity,
            parse_error,
        })
    }

    /// Whether any preferred term exists (the Pod takes part in scoring on its own account).
    pub fn has_preferred(&self) -> bool {
        !self.preferred_affinity.is_empty() || !self.preferred_anti_affinity.is_empty()
    }
}

/// Whether `pod` matches every term; false for no terms (`podMatchesAllAffinityTerms`).
pub fn matches_all(terms: &[AffinityTerm], pod: &core::Pod) -> bool {
    !terms.is_empty() && terms.iter().all(|term| term.matches(pod, None))
}
