//! The name formats of `k8s.io/apimachinery/pkg/util/validation`, each returning Kubernetes' own
//! messages (empty when the value is valid).
//!
//! The four shared formats come from `crate::object::names`; the ones only object names need
//! (DNS-1035 labels for Services, path segments) live here.

pub use crate::object::names::{is_dns1123_label, is_dns1123_subdomain, is_qualified_name, is_valid_label_value};

/// Longest RFC 1035 label.
pub const DNS1035_LABEL_MAX_LENGTH: usize = 63;

const DNS1035_LABEL_FORMAT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_MESSAGE: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";

/// `validation.MaxLenError`.
pub fn max_length_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// `validation.RegexError`, with its doubled space between examples (`'a',  or 'b', `).
pub fn regex_error(message: &str, format: &str, examples: &[&str]) -> String {
    let quoted: Vec<String> = examples.iter().map(|example| format!("'{example}', ")).collect();
    format!("{message} (e.g. {}regex used for validation is '{format}')", quoted.join(" or "))
}

/// `IsDNS1035Label`: names of Services.
pub fn is_dns1035_label(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1035_LABEL_MAX_LENGTH {
        errors.push(max_length_error(DNS1035_LABEL_MAX_LENGTH));
    }
    if !starts_with_letter_and_valid(value) {
        errors.push(regex_error(DNS1035_LABEL_MESSAGE, DNS1035_LABEL_FORMAT, &["my-name", "abc-123"]));
    }
    errors
}

/// The DNS-1035 shape without the length bound: a letter, then letters, digits and dashes,
/// ending in a letter or digit.
fn starts_with_letter_and_valid(value: &str) -> bool {
    value.starts_with(|c: char| c.is_ascii_lowercase())
        && value.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `IsValidPathSegmentName`: names that only have to fit in a URL path segment.
pub fn is_valid_path_segment_name(value: &str) -> Vec<String> {
    for forbidden in [".", ".."] {
        if value == forbidden {
            return vec![format!("may not be '{forbidden}'")];
        }
    }
    ["/", "%"]
        .iter()
        .filter(|forbidden| value.contains(**forbidden))
        .map(|forbidden| format!("may not contain '{forbidden}'"))
        .collect()
}
