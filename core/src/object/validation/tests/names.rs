//! Name formats only object validation uses (the shared ones are tested with
//! `crate::object::names`): the good and bad value lists of apimachinery's `validation_test.go`.

use super::*;

fn accepts(rule: fn(&str) -> Vec<String>, values: &[&str]) {
    for value in values {
        assert!(rule(value).is_empty(), "{value:?} should be accepted: {:?}", rule(value));
    }
}

fn rejects(rule: fn(&str) -> Vec<String>, values: &[&str]) {
    for value in values {
        assert!(!rule(value).is_empty(), "{value:?} should be rejected");
    }
}

#[test]
fn dns1035_labels_must_start_with_a_letter() {
    accepts(is_dns1035_label, &["a", "ab", "abc", "a1", "a-1", "a--1--2--b", &"a".repeat(63)]);
    rejects(
        is_dns1035_label,
        &[
            "0",
            "01",
            "012",
            "1a",
            "1-a",
            "1--a--b--2",
            "",
            "A",
            "ABC",
            "aBc",
            "A1",
            "a-",
            "-a",
            "a_b",
            "a.b",
            &"a".repeat(64),
        ],
    );
}

#[test]
fn port_names_accept_and_reject_what_kubernetes_does() {
    use super::common::is_valid_port_name;
    accepts(is_valid_port_name, &["telnet", "re-mail-ck", "pop3", "a", "a-1", "1-a", "a-1-b-2-c", "1-a-2-b-3"]);
    for value in
        ["longerthan15characters", "", &"a".repeat(16), "12345", "1-2-3-4", "-begin", "end-", "two--hyphens", "whois++"]
    {
        assert!(!is_valid_port_name(value).is_empty(), "{value:?} should not be a port name");
    }
}

#[test]
fn path_segment_names_reject_dots_slashes_and_percent() {
    accepts(is_valid_path_segment_name, &["a", "a.b", "A_B", "..."]);
    rejects(is_valid_path_segment_name, &[".", "..", "a/b", "a%b"]);
}

#[test]
fn a_bad_service_name_gets_kubernetes_exact_message() {
    assert_eq!(
        is_dns1035_label("1web"),
        vec![
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
        ]
    );
}
