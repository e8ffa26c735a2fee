//! Node selector tests, ported from component-helpers' `nodeaffinity_test.go`.

use super::*;
use k8s_openapi::api::core::v1::{NodeSelector, NodeSelectorRequirement, NodeSelectorTerm};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
}

fn requirement(key: &str, operator: &str, values: &[&str]) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: key.to_string(),
        operator: operator.to_string(),
        values: Some(values.iter().map(|value| value.to_string()).collect()),
    }
}

fn term(expressions: Vec<NodeSelectorRequirement>, fields: Vec<NodeSelectorRequirement>) -> NodeSelectorTerm {
    NodeSelectorTerm { match_expressions: Some(expressions), match_fields: Some(fields) }
}

fn selector(terms: Vec<NodeSelectorTerm>) -> NodeSelector {
    NodeSelector { node_selector_terms: terms }
}

#[test]
fn node_selector_maps_need_every_pair() {
    let node = labels(&[("zone", "a"), ("disk", "ssd")]);
    assert!(matches_node_selector_map(&labels(&[]), &node));
    assert!(matches_node_selector_map(&labels(&[("zone", "a")]), &node));
    assert!(!matches_node_selector_map(&labels(&[("zone", "b")]), &node));
    assert!(!matches_node_selector_map(&labels(&[("zone", "a"), ("gpu", "yes")]), &node));
}

#[test]
fn node_selector_terms_match_like_kubernetes() {
    let node = labels(&[("foo", "bar"), ("version", "3")]);
    let name = "host_1";
    let table: Vec<(&str, NodeSelector, bool)> = vec![
        ("no terms select nothing", selector(vec![]), false),
        ("an empty term selects nothing", selector(vec![term(vec![], vec![])]), false),
        ("a matching label expression", selector(vec![term(vec![requirement("foo", "In", &["bar"])], vec![])]), true),
        ("a failing label expression", selector(vec![term(vec![requirement("foo", "In", &["baz"])], vec![])]), false),
        (
            "fields match but labels do not",
            selector(vec![term(
                vec![requirement("foo", "In", &["invalid"])],
                vec![requirement("metadata.name", "In", &[name])],
            )]),
            false,
        ),
        (
            "labels match but fields do not",
            selector(vec![term(
                vec![requirement("foo", "In", &["bar"])],
                vec![requirement("metadata.name", "In", &["host_2"])],
            )]),
            false,
        ),
        (
            "labels and fields match",
            selector(vec![term(
                vec![requirement("foo", "In", &["bar"])],
                vec![requirement("metadata.name", "In", &[name])],
            )]),
            true,
        ),
        (
            "the second term matches",
            selector(vec![
                term(vec![requirement("foo", "In", &["invalid"])], vec![]),
                term(vec![], vec![requirement("metadata.name", "In", &[name])]),
            ]),
            true,
        ),
        (
            "not in another name",
            selector(vec![term(vec![], vec![requirement("metadata.name", "NotIn", &["host_2"])])]),
            true,
        ),
        ("greater than", selector(vec![term(vec![requirement("version", "Gt", &["2"])], vec![])]), true),
        ("less than", selector(vec![term(vec![requirement("version", "Lt", &["3"])], vec![])]), false),
        ("exists", selector(vec![term(vec![requirement("foo", "Exists", &[])], vec![])]), true),
        ("does not exist", selector(vec![term(vec![requirement("foo", "DoesNotExist", &[])], vec![])]), false),
        ("not in on an unset label", selector(vec![term(vec![requirement("zone", "NotIn", &["a"])], vec![])]), true),
    ];
    for (name_of_case, node_selector, expected) in table {
        let matcher = NodeSelectorMatcher::new(&node_selector).unwrap();
        assert_eq!(matcher.matches(&node, name).unwrap(), expected, "{name_of_case}");
    }
}

#[test]
fn a_node_without_a_name_passes_field_requirements_like_kubernetes() {
    let node_selector = selector(vec![term(vec![], vec![requirement("metadata.name", "In", &["host_2"])])]);
    assert!(NodeSelectorMatcher::new(&node_selector).unwrap().matches(&labels(&[]), "").unwrap());
}

#[test]
fn malformed_terms_are_refused_with_kubernetes_errors() {
    let node_selector = selector(vec![term(
        vec![requirement("foo", "Unknown", &["bar"])],
        vec![requirement("metadata.name", "Exists", &[]), requirement("metadata.name", "In", &["a", "b"])],
    )]);
    let error = NodeSelectorMatcher::new(&node_selector).unwrap_err();
    insta::assert_snapshot!(error, @r#"[nodeSelectorTerms[0].matchExpressions[0].operator: Unsupported value: "Unknown", nodeSelectorTerms[0].matchFields[0].operator: Unsupported value: "Exists": supported values: "In", "NotIn", nodeSelectorTerms[0].matchFields[1].values: Invalid value: ["a","b"]: must have one element]"#);
    let bad_integer = selector(vec![term(vec![requirement("version", "Gt", &["x"])], vec![])]);
    let error = NodeSelectorMatcher::new(&bad_integer).unwrap_err();
    insta::assert_snapshot!(error, @r#"nodeSelectorTerms[0].matchExpressions[0].values[0]: Invalid value: "x": for 'Gt', 'Lt' operators, the value must be an integer"#);
}

#[test]
fn lazy_matching_skips_malformed_terms_and_reports_them_only_without_a_match() {
    let node = labels(&[("foo", "bar")]);
    let bad = term(vec![requirement("foo", "Unknown", &["bar"])], vec![]);
    let good = term(vec![requirement("foo", "In", &["bar"])], vec![]);
    let failing = term(vec![requirement("foo", "In", &["baz"])], vec![]);
    let matcher = NodeSelectorMatcher::lazy(&selector(vec![bad.clone(), good]));
    assert!(matcher.matches(&node, "n").unwrap());
    let matcher = NodeSelectorMatcher::lazy(&selector(vec![bad, failing]));
    assert!(matcher.matches(&node, "n").is_err());
}

#[test]
fn a_single_term_and_a_typed_node_can_be_matched() {
    let good = term(vec![requirement("foo", "In", &["bar"])], vec![requirement("metadata.name", "In", &["n"])]);
    assert!(matches_node_selector_term(&good, &labels(&[("foo", "bar")]), "n").unwrap());
    let mut node = k8s_openapi::api::core::v1::Node::default();
    node.metadata.name = Some("n".to_string());
    node.metadata.labels = Some(labels(&[("foo", "bar")]));
    assert!(NodeSelectorMatcher::new(&selector(vec![good])).unwrap().matches_node(&node).unwrap());
}
