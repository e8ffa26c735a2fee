//! `spec.successPolicy` of Indexed Jobs (Kubernetes' `matchSuccessPolicy`): the Job succeeds as
//! soon as the succeeded indexes satisfy one rule, by a set of indexes that must all succeed, a
//! count of them, or a count over all indexes.

use k8s_openapi::api::batch::v1::SuccessPolicy;

use super::completed_indexes::IndexIntervals;

/// The reason of the `SuccessCriteriaMet` and `Complete` conditions a success policy sets.
pub const SUCCESS_POLICY_REASON: &str = "SuccessPolicy";

/// The message of the first rule the succeeded indexes satisfy ("Matched rules at index 0"),
/// or `None`. A rule whose `succeededIndexes` selects nothing below `completions` is skipped.
pub fn match_success_policy(
    policy: Option<&SuccessPolicy>,
    completions: i32,
    succeeded: &IndexIntervals,
) -> Option<String> {
    let policy = policy?;
    if succeeded.is_empty() {
        return None;
    }
    for (index, rule) in policy.rules.iter().enumerate() {
        let matched = match (&rule.succeeded_indexes, rule.succeeded_count) {
            (Some(text), count) => {
                let required = IndexIntervals::parse(text, completions);
                if required.is_empty() {
                    continue;
                }
                let contained = required.intersection_total(succeeded);
                contained == required.total() || count.is_some_and(|count| contained >= count.max(0) as u64)
            }
            (None, Some(count)) => succeeded.total() >= count.max(0) as u64,
            (None, None) => false,
        };
        if matched {
            return Some(format!("Matched rules at index {index}"));
        }
    }
    None
}
