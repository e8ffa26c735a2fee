//! Rows from Kubernetes' `plugin/pkg/admission/priority/admission_test.go`.

use k8s_openapi::api::scheduling::v1::PriorityClass;
use serde_json::{Value, json};

use super::*;

fn class(name: &str, value: i32, global_default: bool, preemption_policy: Option<&str>) -> PriorityClass {
    serde_json::from_value(json!({"metadata": {"name": name}, "value": value, "globalDefault": global_default,
        "preemptionPolicy": preemption_policy}))
    .unwrap()
}

fn default_class1() -> PriorityClass {
    class("default1", 1000, true, None)
}
fn default_class2() -> PriorityClass {
    class("default2", 2000, true, None)
}
fn nondefault_class1() -> PriorityClass {
    class("nondefault1", 2000, false, None)
}
fn system_cluster_critical() -> PriorityClass {
    class("system-cluster-critical", 2_000_000_000, true, None)
}
fn never_preemption_policy_class() -> PriorityClass {
    class("nopreemptionpolicy", 2000, true, Some("Never"))
}
fn preemption_policy_class() -> PriorityClass {
    class("nopreemptionpolicy", 2000, true, Some("PreemptLowerPriority"))
}

fn spec(fields: Value) -> Value {
    let mut spec = json!({"containers": [{"name": "container"}]});
    for (key, value) in fields.as_object().unwrap() {
        spec[key] = value.clone();
    }
    spec
}

/// `TestDefaultPriority`: the global default of lowest value, or none.
#[test]
fn the_default_priority_is_the_lowest_global_default_or_zero() {
    let rows: [(&str, Vec<PriorityClass>, &str, i32); 4] = [
        ("simple resolution with a default class", vec![default_class1()], "default1", 1000),
        ("add a default class (before)", vec![nondefault_class1()], "", 0),
        (
            "multiple default classes resolves to the minimum value among them",
            vec![default_class1(), default_class2()],
            "default1",
            1000,
        ),
        ("delete default priority class (after)", vec![], "", DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS),
    ];
    for (name, classes, class_name, priority) in rows {
        let resolved = default_priority(&classes);
        assert_eq!((resolved.class_name.as_str(), resolved.priority), (class_name, priority), "{name}");
    }
}

/// `TestPriorityClassAdmission`: one default class is admitted; a second one is not.
#[test]
fn only_one_priority_class_may_be_the_global_default() {
    assert_eq!(check_single_global_default(&default_class1(), &[], false), None, "one default class");
    assert_eq!(
        check_single_global_default(&default_class2(), &[default_class1()], false).as_deref(),
        Some("PriorityClass default1 is already marked as default. Only one default can exist"),
        "more than one default classes"
    );
    // An update of the default class itself keeps it the default.
    assert_eq!(check_single_global_default(&default_class1(), &[default_class1()], true), None);
}

/// `TestPodAdmission`: the rows on pod creation.
#[test]
fn pods_are_given_the_priority_of_their_class() {
    type Row =
        (&'static str, Vec<PriorityClass>, Value, Result<(&'static str, i32, Option<&'static str>), PriorityError>);
    let rows: Vec<Row> = vec![
        (
            "Pod with priority class",
            vec![default_class1(), nondefault_class1()],
            json!({"priorityClassName": "default1"}),
            Ok(("default1", 1000, None)),
        ),
        ("pod without priority class", vec![default_class1()], json!({}), Ok(("default1", 1000, None))),
        (
            "pod without priority class and no existing priority class",
            vec![],
            json!({}),
            Ok(("", 0, Some("PreemptLowerPriority"))),
        ),
        (
            "pod without priority class and no default class",
            vec![nondefault_class1()],
            json!({}),
            Ok(("", 0, Some("PreemptLowerPriority"))),
        ),
        (
            "pod with a system priority class",
            vec![system_cluster_critical()],
            json!({"priorityClassName": "system-cluster-critical"}),
            Ok(("system-cluster-critical", 2_000_000_000, None)),
        ),
        (
            "Pod with non-existing priority class",
            vec![default_class1(), nondefault_class1()],
            json!({"priorityClassName": "non-existing"}),
            Err(PriorityError::UnknownClass("non-existing".into())),
        ),
        (
            "pod with integer priority",
            vec![default_class1(), nondefault_class1()],
            json!({"priorityClassName": "default1", "priority": 1000}),
            Ok(("default1", 1000, None)),
        ),
        (
            "pod with a priority value that matches the resolved priority",
            vec![nondefault_class1()],
            json!({"priority": 0}),
            Ok(("", 0, Some("PreemptLowerPriority"))),
        ),
        (
            "pod with a priority value that matches the resolved default priority",
            vec![default_class1(), default_class2()],
            json!({"priority": 2000}),
            Err(PriorityError::PriorityMismatch { given: 2000, computed: 1000 }),
        ),
        (
            "pod with priority that matches the resolved system priority",
            vec![system_cluster_critical()],
            json!({"priorityClassName": "system-cluster-critical", "priority": 2_000_000_000}),
            Ok(("system-cluster-critical", 2_000_000_000, None)),
        ),
        (
            "pod with never preemption policy matching resolved preemption policy",
            vec![never_preemption_policy_class()],
            json!({"priorityClassName": "nopreemptionpolicy", "priority": 2000}),
            Ok(("nopreemptionpolicy", 2000, Some("Never"))),
        ),
        (
            "pod with preemption policy matching resolved preemption policy",
            vec![preemption_policy_class()],
            json!({"priorityClassName": "nopreemptionpolicy", "priority": 2000, "preemptionPolicy": "PreemptLowerPriority"}),
            Ok(("nopreemptionpolicy", 2000, Some("PreemptLowerPriority"))),
        ),
        (
            "pod with preemption policy not matching resolved preemption policy",
            vec![preemption_policy_class()],
            json!({"priorityClassName": "nopreemptionpolicy", "priority": 2000, "preemptionPolicy": "Never"}),
            Err(PriorityError::PreemptionPolicyMismatch {
                given: "Never".into(),
                computed: "PreemptLowerPriority".into(),
            }),
        ),
    ];
    for (name, classes, fields, expected) in rows {
        let got = resolve(&spec(fields), &classes)
            .map(|resolved| (resolved.class_name, resolved.priority, resolved.preemption_policy));
        let expected =
            expected.map(|(class, priority, policy)| (class.to_string(), priority, policy.map(str::to_string)));
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn refusals_use_kubernetes_messages() {
    assert_eq!(PriorityError::UnknownClass("high".into()).to_string(), "no PriorityClass with name high was found");
    assert_eq!(
        PriorityError::PriorityMismatch { given: 5, computed: 1000 }.to_string(),
        "the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name"
    );
}
