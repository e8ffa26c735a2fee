//! Name validators with Kubernetes' messages (apimachinery `pkg/util/validation`): qualified
//! names (label keys), label values, RFC 1123 labels and subdomains.
//!
//! Each returns the list of problems in Kubernetes' wording, empty when the value is valid, so
//! selector parsing and object validation report exactly what Kubernetes reports.

/// The longest name part of a qualified name, and the longest label value.
pub const QUALIFIED_NAME_LENGTH_MAX: usize = 63;
/// The longest label value.
pub const LABEL_VALUE_LENGTH_MAX: usize = 63;
/// The longest RFC 1123 label.
pub const DNS1123_LABEL_LENGTH_MAX: usize = 63;
/// The longest RFC 1123 subdomain.
pub const DNS1123_SUBDOMAIN_LENGTH_MAX: usize = 253;

const QUALIFIED_NAME_FORMAT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MESSAGE: &str =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FORMAT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_MESSAGE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FORMAT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_MESSAGE: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FORMAT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MESSAGE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/// Kubernetes' `EmptyError`.
fn empty_error() -> &'static str {
    "must be non-empty"
}

/// Kubernetes' `MaxLenError`.
fn max_length_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// Kubernetes' `RegexError`, including its doubled space between examples.
fn regex_error(message: &str, format: &str, examples: &[&str]) -> String {
    let mut text = message.to_string();
    text.push_str(" (e.g. ");
    for (index, example) in examples.iter().enumerate() {
        if index > 0 {
            text.push_str(" or ");
        }
        text.push_str(&format!("'{example}', "));
    }
    text.push_str(&format!("regex used for validation is '{format}')"));
    text
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, without a regex engine.
fn is_qualified_name_part(value: &str) -> bool {
    let bytes = value.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes.iter().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn matches_dns1123_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    let edge = |byte: &u8| byte.is_ascii_lowercase() || byte.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => edge(first) && edge(last) && bytes.iter().all(|byte| edge(byte) || *byte == b'-'),
        _ => false,
    }
}

fn matches_dns1123_subdomain(value: &str) -> bool {
    value.split('.').all(matches_dns1123_label)
}

/// Whether a value is a qualified name such as a label key (`example.com/MyName`), with
/// Kubernetes' `IsQualifiedName` messages.
pub fn is_qualified_name(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errors.push(format!("prefix part {}", empty_error()));
            } else {
                errors.extend(is_dns1123_subdomain(prefix).into_iter().map(|message| format!("prefix part {message}")));
            }
            *name
        }
        _ => {
            let regex = regex_error(QUALIFIED_NAME_MESSAGE, QUALIFIED_NAME_FORMAT, &["MyName", "my.name", "123-abc"]);
            errors.push(format!(
                "a qualified name {regex} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ));
            return errors;
        }
    };
    if name.is_empty() {
        errors.push(format!("name part {}", empty_error()));
    } else if name.len() > QUALIFIED_NAME_LENGTH_MAX {
        errors.push(format!("name part {}", max_length_error(QUALIFIED_NAME_LENGTH_MAX)));
    }
    if !is_qualified_name_part(name) {
        let regex = regex_error(QUALIFIED_NAME_MESSAGE, QUALIFIED_NAME_FORMAT, &["MyName", "my.name", "123-abc"]);
        errors.push(format!("name part {regex}"));
    }
    errors
}

/// Whether a value may be a label value (empty, or at most 63 characters of
/// `[-A-Za-z0-9_.]` starting and ending alphanumeric), with Kubernetes' `IsValidLabelValue`
/// messages.
pub fn is_valid_label_value(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > LABEL_VALUE_LENGTH_MAX {
        errors.push(max_length_error(LABEL_VALUE_LENGTH_MAX));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errors.push(regex_error(LABEL_VALUE_MESSAGE, LABEL_VALUE_FORMAT, &["MyValue", "my_value", "12345"]));
    }
    errors
}

/// Whether a value is an RFC 1123 label (most object names in a namespace, such as Services),
/// with Kubernetes' `IsDNS1123Label` messages.
pub fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_LABEL_LENGTH_MAX {
        errors.push(max_length_error(DNS1123_LABEL_LENGTH_MAX));
    }
    if !matches_dns1123_label(value) {
        if matches_dns1123_subdomain(value) {
            errors.push("must not contain dots".to_string());
        } else {
            errors.push(regex_error(DNS1123_LABEL_MESSAGE, DNS1123_LABEL_FORMAT, &["my-name", "123-abc"]));
        }
    }
    errors
}

/// Whether a value is an RFC 1123 subdomain (most object names, label key prefixes), with
/// Kubernetes' `IsDNS1123Subdomain` messages.
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_LENGTH_MAX {
        errors.push(max_length_error(DNS1123_SUBDOMAIN_LENGTH_MAX));
    }
    if !matches_dns1123_subdomain(value) {
        errors.push(regex_error(DNS1123_SUBDOMAIN_MESSAGE, DNS1123_SUBDOMAIN_FORMAT, &["example.com"]));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_good_qualified_names_pass() {
        let long_prefix = format!("{}.com/a", "a".repeat(249));
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
            &long_prefix,
        ];
        for name in good {
            assert_eq!(is_qualified_name(name), Vec::<String>::new(), "{name}");
        }
    }

    #[test]
    fn kubernetes_bad_qualified_names_fail() {
        let too_long_prefix = format!("{}.com/a", "a".repeat(250));
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
            &too_long_prefix,
        ];
        for name in bad {
            assert!(!is_qualified_name(name).is_empty(), "{name}");
        }
    }

    #[test]
    fn qualified_name_messages_match_kubernetes() {
        insta::assert_snapshot!(is_qualified_name("a/b/c").join("; "), @"a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
        insta::assert_snapshot!(is_qualified_name("Example.com/-x").join("; "), @"prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'); name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
        insta::assert_snapshot!(is_qualified_name("/").join("; "), @"prefix part must be non-empty; name part must be non-empty; name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
    }

    #[test]
    fn kubernetes_label_values_are_judged_alike() {
        for value in ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", &"a".repeat(63), ""] {
            assert_eq!(is_valid_label_value(value), Vec::<String>::new(), "{value}");
        }
        for value in [
            "nospecialchars%^=@",
            "Tama-nui-te-rā.is.Māori.sun",
            "\\backslashes\\are\\bad",
            "-starts-with-dash",
            "ends-with-dash-",
            ".starts.with.dot",
            "ends.with.dot.",
            &"a".repeat(64),
        ] {
            assert!(!is_valid_label_value(value).is_empty(), "{value}");
        }
        insta::assert_snapshot!(is_valid_label_value(&format!("-{}", "a".repeat(63))).join("; "), @"must be no more than 63 characters; a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
    }

    #[test]
    fn kubernetes_dns1123_labels_are_judged_alike() {
        for value in
            ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2", &"a".repeat(63)]
        {
            assert!(is_dns1123_label(value).is_empty(), "{value}");
        }
        for value in [
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
        ] {
            assert!(!is_dns1123_label(value).is_empty(), "{value}");
        }
        assert_eq!(is_dns1123_label("a.b"), vec!["must not contain dots".to_string()]);
    }

    #[test]
    fn kubernetes_dns1123_subdomains_are_judged_alike() {
        for value in [
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
            "abc.1",
            "a1.1",
            "a-1.1",
            "a--1--2--b.1",
            "0.a",
            "01.a",
            "012.a",
            "1a.a",
            "1-a.a",
            "1--a--b--2",
            "0.1",
            "01.1",
            "012.1",
            "1a.1",
            "1-a.1",
            "1--a--b--2.1",
            "a.b.c.d.e",
            "aa.bb.cc.dd.ee",
            "1.2.3.4.5",
            "11.22.33.44.55",
            &"a".repeat(253),
        ] {
            assert!(is_dns1123_subdomain(value).is_empty(), "{value}");
        }
        for value in [
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
        ] {
            assert!(!is_dns1123_subdomain(value).is_empty(), "{value}");
        }
    }
}
