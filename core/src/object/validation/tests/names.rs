//! Name formats: the good and bad value lists of apimachinery's `validation_test.go`.

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
fn dns1123_labels_accept_and_reject_what_kubernetes_does() {
    let good =
        ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2", &"a".repeat(63)];
    accepts(is_dns1123_label, &good);
    let bad = [
        "",
        "A",
        "ABC",
        "aBc",
        "A1",
        "A-1",
        "1-A",
        "-",
        "a-",
        "-a",
        "1-",
        "-1",
        "_",
        "a_",
        "_a",
        "a_b",
        "1_",
        "_1",
        "1_2",
        ".",
        "a.",
        ".a",
        "a.b",
        "1.",
        ".1",
        "1.2",
        " ",
        "a ",
        " a",
        "a b",
        "1 ",
        " 1",
        "1 2",
        &"a".repeat(64),
    ];
    rejects(is_dns1123_label, &bad);
}

#[test]
fn dns1123_subdomains_accept_and_reject_what_kubernetes_does() {
    let good = [
        "a",
        "ab",
        "abc",
        "a1",
        "a-1",
        "a--1--2--b",
        "0",
        "01",
        "012",
        "1a",
        "1-a",
        "1--a--b--2",
        "a.a",
        "ab.a",
        "abc.a",
        "a1.a",
        "a-1.a",
        "a--1--2--b.a",
        "a.1",
        "ab.1",
        "0.a",
        "01.a",
        "1a.a",
        "a.b.c.d.e",
        "aa.bb.cc.dd.ee",
        "1.2.3.4.5",
        "11.22.33.44.55",
        &"a".repeat(253),
    ];
    accepts(is_dns1123_subdomain, &good);
    let bad = [
        "",
        "A",
        "ABC",
        "aBc",
        "A1",
        "A-1",
        "1-A",
        "-",
        "a-",
        "-a",
        "1-",
        "-1",
        "_",
        "a_",
        "_a",
        "a_b",
        "1_",
        "_1",
        "1_2",
        ".",
        "a.",
        ".a",
        "a..b",
        "1.",
        ".1",
        "1..2",
        " ",
        "a ",
        " a",
        "a b",
        "1 ",
        " 1",
        "1 2",
        "A.a",
        "aB.a",
        "ab.A",
        "A1.a",
        "a1.A",
        "A.1",
        "aB.1",
        "A1.1",
        "1A.1",
        "0.A",
        "01.A",
        "012.A",
        "1A.a",
        "1a.A",
        "A.B.C.D.E",
        "AA.BB.CC.DD.EE",
        "a.B.c.d.e",
        "aa.bB.cc.dd.ee",
        "a@b",
        "a,b",
        "a_b",
        "a;b",
        "a:b",
        "a%b",
        "a?b",
        "a$b",
        &"a".repeat(254),
    ];
    rejects(is_dns1123_subdomain, &bad);
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
fn qualified_names_accept_and_reject_what_kubernetes_does() {
    let good = [
        "simple",
        "now-with-dashes",
        "1-starts-with-num",
        "1234",
        "simple/simple",
        "now-with-dashes/simple",
        "now-with-dashes/now-with-dashes",
        "now.with.dots/simple",
        "now-with.dashes-and.dots/simple",
        "1-num.2-num/3-num",
        "1234/5678",
        "1.2.3.4/5678",
        "Uppercase_Is_OK_123",
        "example.com/Uppercase_Is_OK_123",
        "requests.storage-foo",
        &"a".repeat(63),
        &format!("{}/b", "a".repeat(253)),
    ];
    accepts(is_qualified_name, &good);
    let bad = [
        "nospecialchars%^=@",
        "cantendwithadash-",
        "-cantstartwithadash-",
        "only/one/slash",
        "Example.com/abc",
        "example_com/abc",
        "example.com/",
        "/simple",
        &"a".repeat(64),
        &format!("{}/b", "a".repeat(254)),
    ];
    rejects(is_qualified_name, &bad);
}

#[test]
fn label_values_accept_and_reject_what_kubernetes_does() {
    let good = ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", &"a".repeat(63), ""];
    accepts(is_valid_label_value, &good);
    let bad = [
        "nospecialchars%^=@",
        "Tama-nui-te-rā.is.Māori.sun",
        "\\backslashes\\are\\bad",
        "-starts-with-dash",
        "ends-with-dash-",
        ".starts.with.dot",
        "ends.with.dot.",
        &"a".repeat(64),
    ];
    rejects(is_valid_label_value, &bad);
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
fn a_bad_subdomain_gets_kubernetes_exact_message() {
    assert_eq!(
        is_dns1123_subdomain("Foo"),
        vec![
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ]
    );
}
