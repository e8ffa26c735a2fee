//! PriorityClass defaults (`SetDefaults_PriorityClass` in `pkg/apis/scheduling/v1/defaults.go`).

use k8s_openapi::api::scheduling::v1::PriorityClass;

/// The preemption policy of a class that names none.
pub const DEFAULT_PREEMPTION_POLICY: &str = "PreemptLowerPriority";

/// A class that names no preemption policy preempts lower-priority pods.
pub fn default_priority_class(class: &mut PriorityClass) {
    super::set_if_none(&mut class.preemption_policy, DEFAULT_PREEMPTION_POLICY.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `TestSetDefaultPreemptionPolicy` (`pkg/apis/scheduling/v1/defaults_test.go`).
    #[test]
    fn a_class_without_a_policy_preempts_lower_priority_pods() {
        let mut class = PriorityClass { value: 1000, ..PriorityClass::default() };
        default_priority_class(&mut class);
        assert_eq!(class.preemption_policy.as_deref(), Some("PreemptLowerPriority"));
        let mut never = PriorityClass { preemption_policy: Some("Never".into()), ..PriorityClass::default() };
        default_priority_class(&mut never);
        assert_eq!(never.preemption_policy.as_deref(), Some("Never"));
    }
}
