//! Why a Pod fits no node, in Kubernetes' exact words (`framework.FitError`):
//! `0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {…}.` followed
//! by the PostFilter's message. Reasons are counted over nodes and sorted as strings, as
//! Kubernetes sorts them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::framework::NodeToStatus;

/// What the filters and post-filters concluded for a Pod that fits nowhere
/// (`framework.Diagnosis`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnosis {
    /// Each node's rejection.
    pub node_to_status: NodeToStatus,
    /// The PreFilter's message when a PreFilter rejected the Pod outright.
    pub pre_filter_message: String,
    /// The PostFilter's message (preemption's explanation).
    pub post_filter_message: String,
    /// The plugins that rejected the Pod, for re-queueing on the events they registered.
    pub unschedulable_plugins: BTreeSet<&'static str>,
}

/// A Pod fits no node.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FitError {
    /// How many nodes the snapshot held.
    pub node_count: usize,
    /// Why.
    pub diagnosis: Diagnosis,
}

impl FitError {
    /// The reason histogram, sorted as strings (`"2 Insufficient cpu"` …).
    pub fn sorted_reasons(&self) -> Vec<String> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        // Thousands of nodes usually give the same few reasons in runs: a run of one reason
        // (the same string, often the same static text) is counted before it is looked up.
        let mut run: Option<(&str, usize)> = None;
        for (_, status) in &self.diagnosis.node_to_status.statuses {
            for reason in status.reasons() {
                let reason = reason.as_ref();
                match &mut run {
                    Some((current, count)) if std::ptr::eq(*current, reason) || *current == reason => *count += 1,
                    _ => {
                        if let Some((current, count)) = run.replace((reason, 1)) {
                            *counts.entry(current).or_default() += count;
                        }
                    }
                }
            }
        }
        if let Some((current, count)) = run {
            *counts.entry(current).or_default() += count;
        }
        let explicit = self.diagnosis.node_to_status.statuses.len();
        if explicit < self.node_count
            && let Some(absent) = &self.diagnosis.node_to_status.absent
        {
            for reason in absent.reasons() {
                *counts.entry(reason.as_ref()).or_default() += self.node_count - explicit;
            }
        }
        let mut reasons: Vec<String> = counts.into_iter().map(|(reason, count)| format!("{count} {reason}")).collect();
        reasons.sort();
        reasons
    }
}

impl fmt::Display for FitError {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(out, "0/{} nodes are available:", self.node_count)?;
        if !self.diagnosis.pre_filter_message.is_empty() {
            write!(out, " {}.", self.diagnosis.pre_filter_message)?;
        } else {
            let reasons = self.sorted_reasons();
            if !reasons.is_empty() {
                write!(out, " {}.", reasons.join(", "))?;
            }
        }
        if !self.diagnosis.post_filter_message.is_empty() {
            write!(out, " {}.", self.diagnosis.post_filter_message)?;
        }
        Ok(())
    }
}
