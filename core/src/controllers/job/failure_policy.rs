//! `spec.podFailurePolicy` (Kubernetes' `matchPodFailurePolicy`): the first rule a failed pod
//! matches, by the exit codes of its terminated containers or by its conditions, decides whether
//! the failure fails the Job, fails its index, is ignored, or counts toward `backoffLimit`.

use k8s_openapi::api::batch::v1::{PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod, PodCondition};

/// What a matching rule asks for (`PodFailurePolicyAction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailurePolicyAction {
    /// Fail the whole Job at once, deleting its running pods.
    FailJob,
    /// Fail the pod's completion index (Indexed Jobs with `backoffLimitPerIndex`).
    FailIndex,
    /// Do not count the failure toward `backoffLimit`.
    Ignore,
    /// Count the failure, as if no rule matched.
    Count,
}

impl FailurePolicyAction {
    fn parse(action: &str) -> Option<FailurePolicyAction> {
        match action {
            "FailJob" => Some(FailurePolicyAction::FailJob),
            "FailIndex" => Some(FailurePolicyAction::FailIndex),
            "Ignore" => Some(FailurePolicyAction::Ignore),
            "Count" => Some(FailurePolicyAction::Count),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            FailurePolicyAction::FailJob => "FailJob",
            FailurePolicyAction::FailIndex => "FailIndex",
            FailurePolicyAction::Ignore => "Ignore",
            FailurePolicyAction::Count => "Count",
        }
    }
}

/// The verdict of the policy on one failed pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailurePolicyMatch {
    /// The `FailureTarget` message when a `FailJob` rule matched.
    pub job_failure_message: Option<String>,
    /// Whether the failure counts toward `backoffLimit` (false only for `Ignore`).
    pub counts: bool,
    /// The action of the rule that matched, if any did.
    pub action: Option<FailurePolicyAction>,
}

impl FailurePolicyMatch {
    const UNMATCHED: FailurePolicyMatch = FailurePolicyMatch { job_failure_message: None, counts: true, action: None };

    fn of(action: FailurePolicyAction, job_failure_message: Option<String>) -> FailurePolicyMatch {
        let counts = action != FailurePolicyAction::Ignore;
        FailurePolicyMatch { job_failure_message, counts, action: Some(action) }
    }
}

/// Matches a failed pod against the rules in order; no policy or no match counts the failure.
/// Rules with an action this controller does not know are skipped, as validation refuses them.
pub fn match_pod_failure_policy(policy: Option<&PodFailurePolicy>, pod: &Pod) -> FailurePolicyMatch {
    let Some(policy) = policy else { return FailurePolicyMatch::UNMATCHED };
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("");
    let name = pod.metadata.name.as_deref().unwrap_or("");
    for (index, rule) in policy.rules.iter().enumerate() {
        let Some(action) = FailurePolicyAction::parse(&rule.action) else { continue };
        let message = if let Some(requirement) = &rule.on_exit_codes {
            let Some(container) = match_on_exit_codes(pod, requirement) else { continue };
            let exit_code =
                container.state.as_ref().and_then(|state| state.terminated.as_ref()).map_or(0, |t| t.exit_code);
            format!(
                "Container {} for pod {namespace}/{name} failed with exit code {exit_code} matching {} rule at index {index}",
                container.name,
                action.name()
            )
        } else if let Some(patterns) = &rule.on_pod_conditions {
            let Some(condition) = match_on_pod_conditions(pod, patterns) else { continue };
            format!(
                "Pod {namespace}/{name} has condition {} matching {} rule at index {index}",
                condition.type_,
                action.name()
            )
        } else {
            continue;
        };
        let job_failure_message = (action == FailurePolicyAction::FailJob).then_some(message);
        return FailurePolicyMatch::of(action, job_failure_message);
    }
    FailurePolicyMatch::UNMATCHED
}

/// The first terminated container (then init container) with a non-zero exit code the
/// requirement matches.
fn match_on_exit_codes<'a>(
    pod: &'a Pod,
    requirement: &PodFailurePolicyOnExitCodesRequirement,
) -> Option<&'a ContainerStatus> {
    let status = pod.status.as_ref()?;
    let lists = [status.container_statuses.as_deref(), status.init_container_statuses.as_deref()];
    lists.into_iter().flatten().find_map(|statuses| {
        statuses.iter().find(|container| {
            let Some(terminated) = container.state.as_ref().and_then(|state| state.terminated.as_ref()) else {
                return false;
            };
            let named = requirement.container_name.as_ref().is_none_or(|name| *name == container.name);
            named && terminated.exit_code != 0 && exit_code_matches(terminated.exit_code, requirement)
        })
    })
}

fn exit_code_matches(exit_code: i32, requirement: &PodFailurePolicyOnExitCodesRequirement) -> bool {
    match requirement.operator.as_str() {
        "In" => requirement.values.contains(&exit_code),
        "NotIn" => !requirement.values.contains(&exit_code),
        _ => false,
    }
}

/// The first pod condition (in the pod's order) whose type and status a pattern names.
fn match_on_pod_conditions<'a>(
    pod: &'a Pod,
    patterns: &[k8s_openapi::api::batch::v1::PodFailurePolicyOnPodConditionsPattern],
) -> Option<&'a PodCondition> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    conditions.iter().find(|condition| {
        patterns.iter().any(|pattern| pattern.type_ == condition.type_ && pattern.status == condition.status)
    })
}
