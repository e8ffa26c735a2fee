//! IP addresses, CIDRs and domain names as `k8s.io/apimachinery/pkg/util/validation` and
//! `pkg/apis/core/validation` check them (`IsValidIP`, `IsValidCIDR`, `ValidateNonSpecialIP`,
//! `IsFullyQualifiedDomainName`, `IsWildcardDNS1123Subdomain`, `IsDomainPrefixedPath`).

use std::net::IpAddr;

use super::name_rules::{is_dns1123_label, is_dns1123_subdomain, max_length_error, regex_error};
use crate::object::field_error::{FieldError, FieldPath};

/// Kubernetes' message for a string that is not an IP address.
pub const INVALID_IP: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
/// Kubernetes' message for a string that is not a CIDR.
pub const INVALID_CIDR: &str = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";
/// Longest DNS-1123 subdomain, which bounds wildcard hosts too.
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;

const WILDCARD_DNS1123_SUBDOMAIN_MESSAGE: &str = "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character";
const WILDCARD_DNS1123_SUBDOMAIN_FORMAT: &str = r"\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const HTTP_PATH_FORMAT: &str = r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+";

/// A CIDR as Go's `net.ParseCIDR` reads it: an address, a slash and a prefix length that fits
/// the address family. Returns the address and the prefix length.
pub fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (address, prefix) = text.split_once('/')?;
    let address: IpAddr = address.parse().ok()?;
    if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_digit()) || prefix.len() > 3 {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let bits = if address.is_ipv4() { 32 } else { 128 };
    (prefix <= bits).then_some((address, prefix))
}

/// Whether `address` lies in the network `network/prefix`.
pub fn cidr_contains(network: IpAddr, prefix: u8, address: IpAddr) -> bool {
    match (network, address) {
        (IpAddr::V4(network), IpAddr::V4(address)) => {
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            u32::from(network) & mask == u32::from(address) & mask
        }
        (IpAddr::V6(network), IpAddr::V6(address)) => {
            let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
            u128::from(network) & mask == u128::from(address) & mask
        }
        _ => false,
    }
}

/// `IsValidIP`: `Invalid value` unless `value` is an IPv4 or IPv6 address.
pub fn validate_ip(value: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if value.parse::<IpAddr>().is_err() {
        errors.push(FieldError::invalid(path, value, INVALID_IP));
    }
}

/// `IsValidCIDR`.
pub fn validate_cidr(value: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if parse_cidr(value).is_none() {
        errors.push(FieldError::invalid(path, value, INVALID_CIDR));
    }
}

/// `ValidateNonSpecialIP`: an endpoint may not be unspecified, loopback or link-local.
pub fn validate_non_special_ip(value: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let Ok(address) = value.parse::<IpAddr>() else {
        errors.push(FieldError::invalid(path, value, "must be a valid IP address"));
        return;
    };
    if address.is_unspecified() {
        errors.push(FieldError::invalid(path, value, &format!("may not be unspecified ({value})")));
    }
    if address.is_loopback() {
        errors.push(FieldError::invalid(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"));
    }
    let (link_local_unicast, link_local_multicast) = match address {
        IpAddr::V4(v4) => (v4.is_link_local(), v4.octets()[..3] == [224, 0, 0]),
        IpAddr::V6(v6) => {
            let segment = v6.segments()[0];
            (segment & 0xffc0 == 0xfe80, segment & 0xff0f == 0xff02)
        }
    };
    if link_local_unicast {
        errors.push(FieldError::invalid(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"));
    }
    if link_local_multicast {
        let message = "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)";
        errors.push(FieldError::invalid(path, value, message));
    }
}

/// `IsFullyQualifiedDomainName`: at least two DNS labels, an optional trailing dot.
pub fn validate_fully_qualified_domain_name(name: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if name.is_empty() {
        errors.push(FieldError::required(path, ""));
        return;
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let messages = is_dns1123_subdomain(name);
    if !messages.is_empty() {
        errors.push(FieldError::invalid(path, name, &messages.join(",")));
        return;
    }
    if name.split('.').count() < 2 {
        errors.push(FieldError::invalid(path, name, "should be a domain with at least two segments separated by dots"));
        return;
    }
    for label in name.split('.') {
        let messages = is_dns1123_label(label);
        if !messages.is_empty() {
            errors.push(FieldError::invalid(path, label, &messages.join(",")));
            return;
        }
    }
}

/// `IsWildcardDNS1123Subdomain`: `*.` followed by a DNS-1123 subdomain.
pub fn is_wildcard_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errors.push(max_length_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    let valid = value.strip_prefix("*.").is_some_and(|rest| {
        is_dns1123_subdomain(rest).iter().all(|message| {
            // Only the shape matters here; the length was checked on the whole value.
            message.starts_with("must be no more than")
        })
    });
    if !valid {
        errors.push(regex_error(
            WILDCARD_DNS1123_SUBDOMAIN_MESSAGE,
            WILDCARD_DNS1123_SUBDOMAIN_FORMAT,
            &["*.example.com"],
        ));
    }
    errors
}

/// `IsDomainPrefixedPath`: `<DNS subdomain>/<HTTP path>`, as IngressClass controllers are named.
pub fn validate_domain_prefixed_path(value: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if value.is_empty() {
        errors.push(FieldError::required(path, ""));
        return;
    }
    let Some((host, rest)) = value.split_once('/').filter(|(host, rest)| !host.is_empty() && !rest.is_empty()) else {
        errors.push(FieldError::invalid(path, value, "must be a domain-prefixed path (such as \"acme.io/foo\")"));
        return;
    };
    for message in is_dns1123_subdomain(host) {
        errors.push(FieldError::invalid(path, host, &message));
    }
    let valid_path = rest.chars().all(|c| c.is_ascii_alphanumeric() || "/-._~%!$&'()*+,;=:".contains(c));
    if !valid_path {
        let message = format!("Invalid path (regex used for validation is '{HTTP_PATH_FORMAT}')");
        errors.push(FieldError::invalid(path, rest, &message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_like_go() {
        assert_eq!(parse_cidr("10.0.0.0/8"), Some(("10.0.0.0".parse().unwrap(), 8)));
        assert!(parse_cidr("2001:db8::/64").is_some());
        for bad in ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/", "/8", "a.b.c.d/8", "10.0.0.0/+8", "2001:db8::/129"] {
            assert_eq!(parse_cidr(bad), None, "{bad}");
        }
    }

    #[test]
    fn containment_follows_the_prefix() {
        let (network, prefix) = parse_cidr("192.168.0.0/16").unwrap();
        assert!(cidr_contains(network, prefix, "192.168.44.1".parse().unwrap()));
        assert!(!cidr_contains(network, prefix, "192.169.0.1".parse().unwrap()));
        assert!(!cidr_contains(network, prefix, "::1".parse().unwrap()));
    }

    #[test]
    fn wildcard_hosts_need_a_leading_star_label() {
        assert!(is_wildcard_dns1123_subdomain("*.example.com").is_empty());
        assert_eq!(is_wildcard_dns1123_subdomain("foo.*.bar.com").len(), 1);
        assert_eq!(is_wildcard_dns1123_subdomain("*.Example.com").len(), 1);
        assert_eq!(is_wildcard_dns1123_subdomain("*").len(), 1);
    }

    #[test]
    fn special_addresses_are_named() {
        let path = FieldPath::new("ip");
        for (address, count) in [
            ("10.1.2.3", 0),
            ("0.0.0.0", 1),
            ("127.0.0.1", 1),
            ("169.254.1.1", 1),
            ("224.0.0.5", 1),
            ("fe80::1", 1),
            ("ff02::1", 1),
            ("::1", 1),
        ] {
            let mut errors = Vec::new();
            validate_non_special_ip(address, &path, &mut errors);
            assert_eq!(errors.len(), count, "{address}: {errors:?}");
        }
    }
}
