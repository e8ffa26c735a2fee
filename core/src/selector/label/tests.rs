//! Label selector tests, ported from apimachinery's `labels/selector_test.go` and
//! `apis/meta/v1/helpers_test.go`.

use super::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
}

fn parse(text: &str) -> LabelSelector {
    LabelSelector::parse(text).unwrap_or_else(|error| panic!("{text:?} should parse: {error}"))
}

fn requirement(key: &str, operator: Operator, values: &[&str]) -> Requirement {
    let values = values.iter().map(|value| value.to_string()).collect();
    Requirement::new(key, operator, values, &FieldPath::root()).unwrap()
}

#[test]
fn good_selectors_parse_and_print_back_without_spaces() {
    let good = ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1", "x>1,z<5"];
    for text in good {
        assert_eq!(parse(text).to_string(), text.replace(' ', ""), "{text}");
    }
}

#[test]
fn bad_selectors_are_refused() {
    for text in ["x=a||y=b", "x==a==b", "!x=a", "x<a"] {
        assert!(LabelSelector::parse(text).is_err(), "{text}");
    }
}

#[test]
fn parsing_is_deterministic_whatever_the_order() {
    assert_eq!(parse("x=a,a=x").to_string(), parse("a=x,x=a").to_string());
}

#[test]
fn selectors_match_like_kubernetes() {
    let matching = [
        ("", set(&[("x", "y")])),
        ("x=y", set(&[("x", "y")])),
        ("x=y,z=w", set(&[("x", "y"), ("z", "w")])),
        ("x!=y,z!=w", set(&[("x", "z"), ("z", "a")])),
        ("notin=in", set(&[("notin", "in")])),
        ("x", set(&[("x", "z")])),
        ("!x", set(&[("y", "z")])),
        ("x>1", set(&[("x", "2")])),
        ("x<1", set(&[("x", "0")])),
        ("foo=bar", set(&[("foo", "bar"), ("baz", "blah")])),
        ("baz=blah", set(&[("foo", "bar"), ("baz", "blah")])),
        ("foo=bar,baz=blah", set(&[("foo", "bar"), ("baz", "blah")])),
    ];
    for (text, labels) in matching {
        assert!(parse(text).matches(&labels), "{text} should match {labels:?}");
    }
    let not_matching = [
        ("x=z", set(&[])),
        ("x=y", set(&[("x", "z")])),
        ("x=y,z=w", set(&[("x", "w"), ("z", "w")])),
        ("x!=y,z!=w", set(&[("x", "z"), ("z", "w")])),
        ("x", set(&[("y", "z")])),
        ("!x", set(&[("x", "z")])),
        ("x>1", set(&[("x", "0")])),
        ("x<1", set(&[("x", "2")])),
        ("foo=blah", set(&[("foo", "bar"), ("baz", "blah")])),
        ("baz=bar", set(&[("foo", "bar"), ("baz", "blah")])),
        ("foo=bar,foobar=bar,baz=blah", set(&[("foo", "bar"), ("baz", "blah")])),
    ];
    for (text, labels) in not_matching {
        assert!(!parse(text).matches(&labels), "{text} should not match {labels:?}");
    }
}

#[test]
fn everything_is_empty_and_matches_all_while_nothing_matches_none() {
    assert!(LabelSelector::everything().is_empty());
    assert!(LabelSelector::everything().matches(&set(&[("x", "y")])));
    assert!(!LabelSelector::nothing().is_empty());
    assert!(!LabelSelector::nothing().matches(&set(&[])));
    assert_eq!(LabelSelector::nothing().to_string(), "");
}

#[test]
fn set_selectors_match_their_subsets() {
    let labels = set(&[("foo", "bar"), ("baz", "blah")]);
    for selector in [set(&[]), set(&[("foo", "bar")]), set(&[("baz", "blah")]), set(&[("foo", "bar"), ("baz", "blah")])]
    {
        assert!(LabelSelector::from_set(&selector).matches(&labels), "{selector:?}");
    }
    assert!(LabelSelector::from_set(&set(&[])).is_empty());
    assert!(!LabelSelector::from_set(&set(&[("foo", "baz")])).matches(&labels));
}

#[test]
fn the_lexer_reads_single_tokens_like_kubernetes() {
    let table = [
        ("", Token::EndOfString),
        (",", Token::Comma),
        ("notin", Token::NotIn),
        ("in", Token::In),
        ("=", Token::Equals),
        ("==", Token::DoubleEquals),
        (">", Token::GreaterThan),
        ("<", Token::LessThan),
        ("!", Token::DoesNotExist),
        ("!=", Token::NotEquals),
        ("(", Token::OpenPar),
        (")", Token::ClosedPar),
        ("~", Token::Identifier),
        ("||", Token::Identifier),
    ];
    for (text, token) in table {
        let (got, literal) = lex(text).remove(0);
        assert_eq!(got, token, "{text}");
        assert_eq!(literal, text);
    }
}

#[test]
fn the_lexer_reads_sequences_like_kubernetes() {
    use Token::*;
    let table: [(&str, &[Token]); 10] = [
        ("key in ( value )", &[Identifier, In, OpenPar, Identifier, ClosedPar]),
        ("key notin ( value )", &[Identifier, NotIn, OpenPar, Identifier, ClosedPar]),
        ("key in ( value1, value2 )", &[Identifier, In, OpenPar, Identifier, Comma, Identifier, ClosedPar]),
        ("key", &[Identifier]),
        ("!key", &[DoesNotExist, Identifier]),
        ("()", &[OpenPar, ClosedPar]),
        ("x in (),y", &[Identifier, In, OpenPar, ClosedPar, Comma, Identifier]),
        ("== != (), = notin", &[DoubleEquals, NotEquals, OpenPar, ClosedPar, Comma, Equals, NotIn]),
        ("key>2", &[Identifier, GreaterThan, Identifier]),
        ("key<1", &[Identifier, LessThan, Identifier]),
    ];
    for (text, expected) in table {
        let tokens: Vec<Token> = lex(text).into_iter().map(|(token, _)| token).collect();
        assert_eq!(&tokens[..tokens.len() - 1], expected, "{text}");
        assert_eq!(tokens.last(), Some(&EndOfString));
    }
}

#[test]
fn requirement_construction_follows_kubernetes_rules() {
    let table: [(&str, Operator, &[&str], bool); 12] = [
        ("x", Operator::In, &[], false),
        ("x", Operator::NotIn, &[], false),
        ("x", Operator::In, &["foo"], true),
        ("x", Operator::NotIn, &["foo"], true),
        ("x", Operator::Exists, &[], true),
        ("x", Operator::DoesNotExist, &[], true),
        ("1foo", Operator::In, &["bar"], true),
        ("1234", Operator::In, &["bar"], true),
        ("y", Operator::GreaterThan, &["1"], true),
        ("z", Operator::LessThan, &["6"], true),
        ("foo", Operator::GreaterThan, &["bar"], false),
        ("barz", Operator::LessThan, &["blah"], false),
    ];
    for (key, operator, values, valid) in table {
        let values = values.iter().map(|value| value.to_string()).collect();
        let result = Requirement::new(key, operator, values, &FieldPath::root());
        assert_eq!(result.is_ok(), valid, "{key} {operator:?}: {result:?}");
    }
    assert!(Requirement::new(&"a".repeat(254), Operator::Exists, Vec::new(), &FieldPath::root()).is_err());
}

#[test]
fn requirements_print_in_kubernetes_canonical_form() {
    let table = [
        (
            vec![
                requirement("x", Operator::In, &["def", "abc"]),
                requirement("y", Operator::NotIn, &["jkl"]),
                requirement("z", Operator::Exists, &[]),
            ],
            "x in (abc,def),y notin (jkl),z",
        ),
        (
            vec![
                requirement("x", Operator::NotIn, &["abc", "def"]),
                requirement("y", Operator::NotEquals, &["jkl"]),
                requirement("z", Operator::DoesNotExist, &[]),
            ],
            "x notin (abc,def),y!=jkl,!z",
        ),
        (
            vec![
                requirement("x", Operator::NotIn, &["abc"]),
                requirement("y", Operator::In, &["jkl", "mno"]),
                requirement("z", Operator::NotIn, &[""]),
            ],
            "x notin (abc),y in (jkl,mno),z notin ()",
        ),
        (
            vec![
                requirement("x", Operator::Equals, &["abc"]),
                requirement("y", Operator::DoubleEquals, &["jkl"]),
                requirement("z", Operator::NotEquals, &["a"]),
                requirement("z", Operator::Exists, &[]),
            ],
            "x=abc,y==jkl,z!=a,z",
        ),
        (
            vec![
                requirement("x", Operator::GreaterThan, &["2"]),
                requirement("y", Operator::LessThan, &["8"]),
                requirement("z", Operator::Exists, &[]),
            ],
            "x>2,y<8,z",
        ),
    ];
    for (requirements, expected) in table {
        assert_eq!(LabelSelector::from_requirements(requirements).to_string(), expected);
    }
}

#[test]
fn requirements_match_like_kubernetes() {
    let in_foo = || requirement("x", Operator::In, &["foo"]);
    let table = [
        (set(&[("x", "foo"), ("y", "baz")]), vec![in_foo(), requirement("y", Operator::NotIn, &["alpha"])], true),
        (set(&[("x", "foo"), ("y", "baz")]), vec![in_foo(), requirement("y", Operator::In, &["alpha"])], false),
        (
            set(&[("y", "")]),
            vec![requirement("x", Operator::NotIn, &[""]), requirement("y", Operator::Exists, &[])],
            true,
        ),
        (
            set(&[("y", "")]),
            vec![requirement("x", Operator::DoesNotExist, &[]), requirement("y", Operator::Exists, &[])],
            true,
        ),
        (
            set(&[("y", "")]),
            vec![requirement("x", Operator::NotIn, &[""]), requirement("y", Operator::DoesNotExist, &[])],
            false,
        ),
        (set(&[("y", "baz")]), vec![requirement("x", Operator::In, &[""])], false),
        (set(&[("z", "2")]), vec![requirement("z", Operator::GreaterThan, &["1"])], true),
        (set(&[("z", "v2")]), vec![requirement("z", Operator::GreaterThan, &["1"])], false),
    ];
    for (labels, requirements, expected) in table {
        let selector = LabelSelector::from_requirements(requirements);
        assert_eq!(selector.matches(&labels), expected, "{selector} on {labels:?}");
    }
}

#[test]
fn set_based_syntax_parses_like_kubernetes() {
    let table = [
        ("", ""),
        ("\rx", "x"),
        ("this-is-a-dns.domain.com/key-with-dash", "this-is-a-dns.domain.com/key-with-dash"),
        (
            "this-is-another-dns.domain.com/key-with-dash in (so,what)",
            "this-is-another-dns.domain.com/key-with-dash in (so,what)",
        ),
        ("0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)", "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)"),
        ("foo  in\t (abc)", "foo in (abc)"),
        ("x notin\n (abc)", "x notin (abc)"),
        ("x  notin\t\t\t(abc,def)", "x notin (abc,def)"),
        ("x in (abc,def)", "x in (abc,def)"),
        ("x in (abc,)", "x in (,abc)"),
        ("x in ()", "x in ()"),
        ("x notin (abc,,def),bar,z in (),w", "bar,w,x notin (,abc,def),z in ()"),
        ("x,y in (a)", "x,y in (a)"),
        ("x=a", "x=a"),
        ("x>1", "x>1"),
        ("x<7", "x<7"),
        ("x=a,y!=b", "x=a,y!=b"),
        ("x=a,y!=b,z in (h,i,j)", "x=a,y!=b,z in (h,i,j)"),
        ("x notin ( )", "x notin ()"),
        ("x notin (, a)", "x notin (,a)"),
        ("a ", "a"),
        ("a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"),
    ];
    for (text, expected) in table {
        assert_eq!(parse(text).to_string(), expected, "{text:?}");
    }
    let bad = [
        "x=a||y=b",
        "x,,y",
        ",x,y",
        "x nott in (y)",
        "a in (xyz),",
        "a in (xyz)b notin ()",
        "a in (xyz abc)",
        "a notin(",
        "a (",
        "(",
    ];
    for text in bad {
        assert!(LabelSelector::parse(text).is_err(), "{text:?}");
    }
}

#[test]
fn parse_errors_use_kubernetes_wording() {
    let message = |text: &str| LabelSelector::parse(text).unwrap_err().to_string();
    insta::assert_snapshot!(message("x,,y"), @"found ',', expected: identifier after ','");
    insta::assert_snapshot!(message("a in (xyz),"), @"found '', expected: identifier after ','");
    insta::assert_snapshot!(message("a in (xyz)b notin ()"), @"found 'b', expected: ',' or 'end of string'");
    insta::assert_snapshot!(message("x nott in (y)"), @"unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt");
    insta::assert_snapshot!(message("a in (xyz abc)"), @"unable to parse requirement: found 'abc', expected: ',' or ')'");
    insta::assert_snapshot!(message("("), @"found '(', expected: !, identifier, or 'end of string'");
    insta::assert_snapshot!(message("x<a"), @r#"unable to parse requirement: values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer"#);
    insta::assert_snapshot!(message("x=a b"), @"found 'b', expected: ',' or 'end of string'");
    insta::assert_snapshot!(message("x=-a"), @r#"unable to parse requirement: values[0][x]: Invalid value: "-a": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"#);
    insta::assert_snapshot!(message("a=b=c"), @"found '=', expected: ',' or 'end of string'");
}

fn label_selector(labels: &[(&str, &str)], expressions: &[(&str, &str, &[&str])]) -> meta::LabelSelector {
    meta::LabelSelector {
        match_labels: Some(set(labels)),
        match_expressions: Some(
            expressions
                .iter()
                .map(|(key, operator, values)| LabelSelectorRequirement {
                    key: key.to_string(),
                    operator: operator.to_string(),
                    values: Some(values.iter().map(|value| value.to_string()).collect()),
                })
                .collect(),
        ),
    }
}

#[test]
fn label_selector_as_selector_matches_kubernetes() {
    let missing = LabelSelector::from_label_selector(None).unwrap();
    assert!(missing.matches_nothing());
    let empty = LabelSelector::from_label_selector(Some(&meta::LabelSelector::default())).unwrap();
    assert!(empty.is_empty());
    let table: [(meta::LabelSelector, Result<&str, &str>); 4] = [
        (label_selector(&[("foo", "bar")], &[]), Ok("foo=bar")),
        (label_selector(&[("foo", "bar")], &[("baz", "In", &["qux", "norf"])]), Ok("baz in (norf,qux),foo=bar")),
        (label_selector(&[("foo", "bar")], &[("baz", "NotIn", &["qux", "norf"])]), Ok("baz notin (norf,qux),foo=bar")),
        (
            label_selector(&[("foo", "bar")], &[("baz", "Exists", &["qux", "norf"])]),
            Err(r#"values: Invalid value: ["qux","norf"]: values set must be empty for exists and does not exist"#),
        ),
    ];
    for (selector, expected) in table {
        let got = LabelSelector::from_label_selector(Some(&selector));
        match expected {
            Ok(text) => assert_eq!(got.unwrap().to_string(), text),
            Err(message) => assert_eq!(got.unwrap_err().to_string(), message),
        }
    }
}

#[test]
fn label_selector_refuses_unknown_operators_and_empty_in_values() {
    let unknown = label_selector(&[], &[("foo", "Gt", &["1"])]);
    let error = LabelSelector::from_label_selector(Some(&unknown)).unwrap_err();
    insta::assert_snapshot!(error, @r#""Gt" is not a valid label selector operator"#);
    let empty = label_selector(&[], &[("foo", "In", &[])]);
    let error = LabelSelector::from_label_selector(Some(&empty)).unwrap_err();
    insta::assert_snapshot!(error, @"values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty");
}

#[test]
fn exact_matches_are_found_for_indexes() {
    let selector = parse("app=web,tier in (front),env notin (prod)");
    assert_eq!(selector.requires_exact_match("app"), Some("web"));
    assert_eq!(selector.requires_exact_match("tier"), Some("front"));
    assert_eq!(selector.requires_exact_match("env"), None);
    assert_eq!(selector.requires_exact_match("other"), None);
}

#[test]
fn objects_without_labels_match_only_selectors_that_allow_it() {
    assert!(parse("!x").matches_optional(None));
    assert!(!parse("x").matches_optional(None));
}
