//! The Job fields added since batch/v1 went GA (`validateJobSpec` in `pkg/apis/batch/validation`):
//! `podFailurePolicy`, `backoffLimitPerIndex` with `maxFailedIndexes`, `successPolicy` and
//! `podReplacementPolicy`.

use k8s_openapi::api::batch::v1::{JobSpec, PodFailurePolicy, PodFailurePolicyRule, SuccessPolicy};

use crate::object::field_error::{FieldError, FieldPath};

/// Most rules a pod failure policy or a success policy may have.
pub const MAX_POLICY_RULES: usize = 20;
/// Most exit codes one `onExitCodes` requirement may list.
pub const MAX_POD_FAILURE_POLICY_ON_EXIT_CODES_VALUES: usize = 255;
/// Most patterns one `onPodConditions` may list.
pub const MAX_POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERNS: usize = 20;
/// Most completions (and failed indexes) of a Job with `backoffLimitPerIndex`.
pub const MAX_COMPLETIONS_WITH_BACKOFF_LIMIT_PER_INDEX: i32 = 100_000;
/// Actions a pod failure policy rule may take.
pub const POD_FAILURE_POLICY_ACTIONS: &[&str] = &["Count", "FailIndex", "FailJob", "Ignore"];
/// Operators of an `onExitCodes` requirement.
pub const ON_EXIT_CODES_OPERATORS: &[&str] = &["In", "NotIn"];
/// Statuses an `onPodConditions` pattern may match.
pub const CONDITION_STATUSES: &[&str] = &["False", "True", "Unknown"];
/// Values of `podReplacementPolicy`.
pub const POD_REPLACEMENT_POLICIES: &[&str] = &["Failed", "TerminatingOrFailed"];

/// Validates the policy fields of a Job spec under `path`.
pub fn validate_job_policies(spec: &JobSpec, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let indexed = spec.completion_mode.as_deref() == Some("Indexed");
    if let Some(policy) = &spec.pod_failure_policy {
        validate_pod_failure_policy(spec, policy, &path.child("podFailurePolicy"), errors);
    }
    if spec.backoff_limit_per_index.is_some() {
        if !indexed {
            errors.push(FieldError::forbidden(&path.child("backoffLimitPerIndex"), "requires indexed completion mode"));
        }
        if spec.completions.is_some_and(|completions| completions > MAX_COMPLETIONS_WITH_BACKOFF_LIMIT_PER_INDEX) {
            let message = "must be less than or equal to 100000 when backoffLimitPerIndex is specified";
            errors.push(FieldError::invalid(&path.child("completions"), spec.completions, message));
        }
    }
    if let Some(max) = spec.max_failed_indexes {
        let max_path = path.child("maxFailedIndexes");
        if spec.backoff_limit_per_index.is_none() {
            errors
                .push(FieldError::required(&path.child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"));
        }
        if max < 0 {
            errors.push(FieldError::invalid(&max_path, max, "must be greater than or equal to 0"));
        } else if spec.completions.is_some_and(|completions| max > completions) {
            errors.push(FieldError::invalid(&max_path, max, "must be less than or equal to completions"));
        }
    }
    if let Some(policy) = &spec.success_policy {
        let policy_path = path.child("successPolicy");
        if !indexed {
            errors.push(FieldError::invalid(&policy_path, "", "requires indexed completion mode"));
        } else {
            validate_success_policy(policy, spec.completions.unwrap_or(0), &policy_path, errors);
        }
    }
    if let Some(replacement) = spec.pod_replacement_policy.as_deref() {
        let replacement_path = path.child("podReplacementPolicy");
        if !POD_REPLACEMENT_POLICIES.contains(&replacement) {
            errors.push(FieldError::not_supported(&replacement_path, replacement, POD_REPLACEMENT_POLICIES));
        } else if spec.pod_failure_policy.is_some() && replacement != "Failed" {
            errors.push(FieldError::not_supported(&replacement_path, replacement, &["Failed"]));
        }
    }
}

fn validate_pod_failure_policy(
    spec: &JobSpec,
    policy: &PodFailurePolicy,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let restart = spec.template.spec.as_ref().and_then(|pod| pod.restart_policy.as_deref()).unwrap_or("");
    if restart != "Never" {
        let restart_path = FieldPath::new("spec").child("template").child("spec").child("restartPolicy");
        let message = "only \"Never\" is supported when podFailurePolicy is specified";
        errors.push(FieldError::invalid(&restart_path, restart, message));
    }
    let rules_path = path.child("rules");
    if policy.rules.len() > MAX_POLICY_RULES {
        errors.push(FieldError::too_many(&rules_path, policy.rules.len(), MAX_POLICY_RULES));
    }
    let containers: Vec<&str> = spec
        .template
        .spec
        .iter()
        .flat_map(|pod| pod.containers.iter().chain(pod.init_containers.iter().flatten()))
        .map(|container| container.name.as_str())
        .collect();
    for (index, rule) in policy.rules.iter().enumerate() {
        validate_pod_failure_policy_rule(spec, rule, &containers, &rules_path.index(index), errors);
    }
}

fn validate_pod_failure_policy_rule(
    spec: &JobSpec,
    rule: &PodFailurePolicyRule,
    containers: &[&str],
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let action_path = path.child("action");
    if !POD_FAILURE_POLICY_ACTIONS.contains(&rule.action.as_str()) {
        errors.push(FieldError::not_supported(&action_path, rule.action.as_str(), POD_FAILURE_POLICY_ACTIONS));
    } else if rule.action == "FailIndex" && spec.backoff_limit_per_index.is_none() {
        errors.push(FieldError::forbidden(&action_path, "requires the backoffLimitPerIndex to be set"));
    }
    match (&rule.on_exit_codes, &rule.on_pod_conditions) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::invalid(
                path,
                "",
                "specifying both OnExitCodes and OnPodConditions is not supported",
            ));
        }
        (None, None) => {
            errors.push(FieldError::invalid(path, "", "specifying one of OnExitCodes and OnPodConditions is required"));
        }
        (Some(requirement), None) => {
            let codes_path = path.child("onExitCodes");
            if let Some(name) = requirement.container_name.as_deref()
                && !containers.contains(&name)
            {
                let message = "must be one of the container or initContainer names in the pod template";
                errors.push(FieldError::invalid(&codes_path.child("containerName"), name, message));
            }
            let operator = requirement.operator.as_str();
            if !ON_EXIT_CODES_OPERATORS.contains(&operator) {
                errors.push(FieldError::not_supported(
                    &codes_path.child("operator"),
                    operator,
                    ON_EXIT_CODES_OPERATORS,
                ));
            }
            let values_path = codes_path.child("values");
            let values = &requirement.values;
            if values.is_empty() {
                errors.push(FieldError::invalid(&values_path, "", "at least one value is required"));
            } else if values.len() > MAX_POD_FAILURE_POLICY_ON_EXIT_CODES_VALUES {
                errors.push(FieldError::too_many(
                    &values_path,
                    values.len(),
                    MAX_POD_FAILURE_POLICY_ON_EXIT_CODES_VALUES,
                ));
            }
            for (index, value) in values.iter().enumerate() {
                if operator == "In" && *value == 0 {
                    errors.push(FieldError::invalid(
                        &values_path.index(index),
                        *value,
                        "must not be 0 for the In operator",
                    ));
                }
                if index > 0 && values[index - 1] >= *value {
                    let message = if values[index - 1] == *value { "duplicate value" } else { "must be ordered" };
                    errors.push(FieldError::invalid(&values_path.index(index), *value, message));
                }
            }
        }
        (None, Some(patterns)) => {
            let patterns_path = path.child("onPodConditions");
            if patterns.len() > MAX_POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERNS {
                let max = MAX_POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERNS;
                errors.push(FieldError::too_many(&patterns_path, patterns.len(), max));
            }
            for (index, pattern) in patterns.iter().enumerate() {
                let status = pattern.status.as_str();
                if !CONDITION_STATUSES.contains(&status) {
                    let status_path = patterns_path.index(index).child("status");
                    errors.push(FieldError::not_supported(&status_path, status, CONDITION_STATUSES));
                }
                if pattern.type_.is_empty() {
                    errors.push(FieldError::required(&patterns_path.index(index).child("type"), ""));
                }
            }
        }
    }
}

fn validate_success_policy(policy: &SuccessPolicy, completions: i32, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let rules_path = path.child("rules");
    if policy.rules.is_empty() {
        errors.push(FieldError::required(
            &rules_path,
            "at least one rules must be specified when the successPolicy is specified",
        ));
    }
    if policy.rules.len() > MAX_POLICY_RULES {
        errors.push(FieldError::too_many(&rules_path, policy.rules.len(), MAX_POLICY_RULES));
    }
    for (index, rule) in policy.rules.iter().enumerate() {
        let rule_path = rules_path.index(index);
        if rule.succeeded_count.is_none() && rule.succeeded_indexes.is_none() {
            let message = "at least one of succeededCount or succeededIndexes must be specified";
            errors.push(FieldError::required(&rule_path, message));
        }
        let mut indexes_total: Option<i64> = None;
        if let Some(text) = rule.succeeded_indexes.as_deref() {
            match indexes_in(text, completions) {
                Ok(total) => indexes_total = Some(total),
                Err(message) => errors.push(FieldError::invalid(&rule_path.child("succeededIndexes"), text, &message)),
            }
        }
        if let Some(count) = rule.succeeded_count {
            let count_path = rule_path.child("succeededCount");
            if count < 0 {
                errors.push(FieldError::invalid(&count_path, count, "must be greater than or equal to 0"));
            } else if count > completions {
                let message =
                    format!("must be less than or equal to {completions} (the number of specified completions)");
                errors.push(FieldError::invalid(&count_path, count, &message));
            } else if let Some(total) = indexes_total.filter(|total| i64::from(count) > *total) {
                let message = format!(
                    "must be less than or equal to {total} (the number of indexes in the specified succeededIndexes field)"
                );
                errors.push(FieldError::invalid(&count_path, count, &message));
            }
        }
    }
}

/// How many indexes `text` names, all below `completions`, in increasing non-overlapping
/// intervals (`validateIndexesFormat`); a message when it is malformed.
fn indexes_in(text: &str, completions: i32) -> Result<i64, String> {
    let mut total = 0i64;
    let mut previous: Option<i32> = None;
    for part in text.split(',') {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let parse = |value: &str| value.parse::<i32>().map_err(|_| format!("cannot parse integer index: {value:?}"));
        let (first, last) = (parse(first)?, parse(last)?);
        if first < 0 || last < first {
            return Err(format!("non-increasing order, previous: {first}, current: {last}"));
        }
        if last >= completions {
            return Err(format!("too large: {last}"));
        }
        if previous.is_some_and(|previous| first <= previous) {
            return Err(format!("overlapping indexes interval, previous: {}, current: {first}", previous.unwrap_or(0)));
        }
        previous = Some(last);
        total += i64::from(last) - i64::from(first) + 1;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::batch::v1::{
        PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyOnPodConditionsPattern, SuccessPolicyRule,
    };
    use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};

    use super::*;

    fn spec(restart_policy: &str) -> JobSpec {
        JobSpec {
            completions: Some(5),
            template: PodTemplateSpec {
                metadata: None,
                spec: Some(PodSpec {
                    restart_policy: Some(restart_policy.to_string()),
                    containers: vec![Container { name: "main".to_string(), ..Container::default() }],
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }
    }

    fn exit_codes(action: &str, container: Option<&str>, operator: &str, values: &[i32]) -> PodFailurePolicyRule {
        PodFailurePolicyRule {
            action: action.to_string(),
            on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                container_name: container.map(str::to_string),
                operator: operator.to_string(),
                values: values.to_vec(),
            }),
            on_pod_conditions: None,
        }
    }

    fn fields(spec: &JobSpec) -> Vec<String> {
        let mut errors = Vec::new();
        validate_job_policies(spec, &FieldPath::new("spec"), &mut errors);
        errors.iter().map(|error| error.path.as_str().to_string()).collect()
    }

    #[test]
    fn job_policy_rows_ported_from_kubernetes_validation_match() {
        // Rows of Kubernetes' TestValidateJob (pkg/apis/batch/validation): the fields refused.
        let with_rules = |restart: &str, rules: Vec<PodFailurePolicyRule>| JobSpec {
            pod_failure_policy: Some(PodFailurePolicy { rules }),
            ..spec(restart)
        };
        let condition = |status: &str| PodFailurePolicyRule {
            action: "Ignore".to_string(),
            on_exit_codes: None,
            on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                type_: "DisruptionTarget".to_string(),
                status: status.to_string(),
            }]),
        };
        let indexed = |per_index: Option<i32>, max_failed: Option<i32>| JobSpec {
            completion_mode: Some("Indexed".to_string()),
            backoff_limit_per_index: per_index,
            max_failed_indexes: max_failed,
            ..spec("Never")
        };
        let success = |mode: &str, rule: SuccessPolicyRule| JobSpec {
            completion_mode: Some(mode.to_string()),
            success_policy: Some(SuccessPolicy { rules: vec![rule] }),
            ..spec("Never")
        };
        let rule = |indexes: Option<&str>, count: Option<i32>| SuccessPolicyRule {
            succeeded_indexes: indexes.map(str::to_string),
            succeeded_count: count,
        };
        let rows: Vec<(&str, JobSpec, Vec<&str>)> = vec![
            (
                "valid pod failure policy",
                with_rules("Never", vec![exit_codes("FailJob", Some("main"), "In", &[1, 2]), condition("True")]),
                vec![],
            ),
            (
                "restartPolicy OnFailure",
                with_rules("OnFailure", vec![condition("True")]),
                vec!["spec.template.spec.restartPolicy"],
            ),
            (
                "unknown action",
                with_rules("Never", vec![exit_codes("Retry", None, "In", &[1])]),
                vec!["spec.podFailurePolicy.rules[0].action"],
            ),
            (
                "FailIndex without backoffLimitPerIndex",
                with_rules("Never", vec![exit_codes("FailIndex", None, "In", &[1])]),
                vec!["spec.podFailurePolicy.rules[0].action"],
            ),
            (
                "unknown container",
                with_rules("Never", vec![exit_codes("FailJob", Some("other"), "In", &[1])]),
                vec!["spec.podFailurePolicy.rules[0].onExitCodes.containerName"],
            ),
            (
                "0 with In",
                with_rules("Never", vec![exit_codes("FailJob", None, "In", &[0, 1])]),
                vec!["spec.podFailurePolicy.rules[0].onExitCodes.values[0]"],
            ),
            (
                "unordered values",
                with_rules("Never", vec![exit_codes("FailJob", None, "NotIn", &[2, 1])]),
                vec!["spec.podFailurePolicy.rules[0].onExitCodes.values[1]"],
            ),
            (
                "no values",
                with_rules("Never", vec![exit_codes("FailJob", None, "In", &[])]),
                vec!["spec.podFailurePolicy.rules[0].onExitCodes.values"],
            ),
            (
                "bad operator",
                with_rules("Never", vec![exit_codes("FailJob", None, "Between", &[1])]),
                vec!["spec.podFailurePolicy.rules[0].onExitCodes.operator"],
            ),
            (
                "bad condition status",
                with_rules("Never", vec![condition("Maybe")]),
                vec!["spec.podFailurePolicy.rules[0].onPodConditions[0].status"],
            ),
            (
                "backoffLimitPerIndex on NonIndexed",
                JobSpec { backoff_limit_per_index: Some(1), ..spec("Never") },
                vec!["spec.backoffLimitPerIndex"],
            ),
            ("valid backoffLimitPerIndex", indexed(Some(1), Some(2)), vec![]),
            (
                "maxFailedIndexes without backoffLimitPerIndex",
                indexed(None, Some(1)),
                vec!["spec.backoffLimitPerIndex"],
            ),
            ("maxFailedIndexes above completions", indexed(Some(1), Some(6)), vec!["spec.maxFailedIndexes"]),
            ("valid success policy", success("Indexed", rule(Some("0-2"), Some(2))), vec![]),
            ("success policy on NonIndexed", success("NonIndexed", rule(None, Some(1))), vec!["spec.successPolicy"]),
            ("empty success rule", success("Indexed", rule(None, None)), vec!["spec.successPolicy.rules[0]"]),
            (
                "succeededIndexes beyond completions",
                success("Indexed", rule(Some("3-5"), None)),
                vec!["spec.successPolicy.rules[0].succeededIndexes"],
            ),
            (
                "succeededIndexes malformed",
                success("Indexed", rule(Some("1,a"), None)),
                vec!["spec.successPolicy.rules[0].succeededIndexes"],
            ),
            (
                "succeededCount above the indexes",
                success("Indexed", rule(Some("0,1"), Some(3))),
                vec!["spec.successPolicy.rules[0].succeededCount"],
            ),
            (
                "podReplacementPolicy with a failure policy",
                JobSpec {
                    pod_replacement_policy: Some("TerminatingOrFailed".into()),
                    ..with_rules("Never", vec![condition("True")])
                },
                vec!["spec.podReplacementPolicy"],
            ),
        ];
        for (name, spec, expected) in rows {
            assert_eq!(fields(&spec), expected, "{name}");
        }
    }
}
