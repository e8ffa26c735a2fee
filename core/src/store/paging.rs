//! Paginated and historical list reads, shared by every backend: which revision a list page reads,
//! and the continue token that carries that revision and the last key from page to page.
//!
//! The token has Kubernetes' shape: unpadded URL-safe base64 of
//! `{"v":"meta.k8s.io/v1","rv":<revision>,"start":"<namespace>/<name>\u0000"}`, where `start` is
//! the smallest key the next page may return (the last returned key followed by a NUL byte, as
//! the etcd3 storage writes it). Clients treat it as opaque.

use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::types::{ListOptions, ReadRevision, Revision};

/// The version tag Kubernetes writes into continue tokens.
const TOKEN_VERSION: &str = "meta.k8s.io/v1";

#[derive(Serialize, Deserialize)]
struct Token {
    v: String,
    /// The revision every page reads, or -1 for "the newest" (the token a 410 hands out to
    /// continue an expired list inconsistently, as Kubernetes' etcd3 storage does).
    rv: i64,
    start: String,
}

/// The revision Kubernetes writes into a continue token that continues at the newest state.
const LATEST_REVISION_IN_TOKEN: i64 = -1;

/// The last key a previous page returned: the next page starts after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumeKey {
    /// The namespace, empty for cluster-scoped objects.
    pub namespace: String,
    /// The name.
    pub name: String,
}

/// What one page of a list reads: the revision, and the key to resume after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagePlan {
    /// The state to read.
    pub revision: Revision,
    /// Return only keys after this one.
    pub after: Option<ResumeKey>,
}

/// Decides which revision a list page reads, given the store's current and compacted revisions.
/// A backend that can read any revision in `compacted..=current` serves the plan.
pub fn plan_page(options: &ListOptions<'_>, current: Revision, compacted: Revision) -> Result<PagePlan, StoreError> {
    if let Some(token) = options.continue_token {
        if options.revision != ReadRevision::Latest {
            return Err(StoreError::InvalidContinue {
                reason: "specifying resource version is not allowed when using continue".to_string(),
            });
        }
        let (revision, after) = decode_continue(token)?;
        let Some(revision) = revision else {
            // An inconsistent continuation: the rest of the keys, at the newest state.
            return Ok(PagePlan { revision: current, after: Some(after) });
        };
        if let Some(namespace) = options.namespace
            && after.namespace != namespace
        {
            return Err(StoreError::InvalidContinue {
                reason: "continue key is outside the listed namespace".to_string(),
            });
        }
        if revision > current {
            return Err(StoreError::InvalidContinue { reason: "continue revision is in the future".to_string() });
        }
        if revision < compacted {
            let continue_token = encode_token(LATEST_REVISION_IN_TOKEN, &after.namespace, &after.name);
            return Err(StoreError::ContinueExpired { requested: revision, compacted, continue_token });
        }
        return Ok(PagePlan { revision, after: Some(after) });
    }
    let revision = match options.revision {
        ReadRevision::Latest => current,
        ReadRevision::NotOlderThan(requested) if requested > current => {
            return Err(StoreError::TooLargeResourceVersion { requested, current });
        }
        ReadRevision::NotOlderThan(_) => current,
        ReadRevision::Exact(requested) if requested > current => {
            return Err(StoreError::TooLargeResourceVersion { requested, current });
        }
        ReadRevision::Exact(requested) if requested < compacted => {
            return Err(StoreError::ListExpired { requested, compacted });
        }
        ReadRevision::Exact(requested) => requested,
    };
    Ok(PagePlan { revision, after: None })
}

/// The continue token for the page after `last`, read at `revision`.
pub fn encode_continue(revision: Revision, namespace: &str, name: &str) -> String {
    encode_token(i64::try_from(revision).unwrap_or(i64::MAX), namespace, name)
}

fn encode_token(revision: i64, namespace: &str, name: &str) -> String {
    let start = if namespace.is_empty() { format!("{name}\0") } else { format!("{namespace}/{name}\0") };
    let token = Token { v: TOKEN_VERSION.to_string(), rv: revision, start };
    let json = serde_json::to_vec(&token).expect("a continue token always serializes");
    base64_url_encode(&json)
}

/// Reads a continue token back into its revision and resume key.
pub fn decode_continue(token: &str) -> Result<(Option<Revision>, ResumeKey), StoreError> {
    let invalid = |reason: &str| StoreError::InvalidContinue { reason: reason.to_string() };
    let bytes = base64_url_decode(token).ok_or_else(|| invalid("not base64"))?;
    let token: Token = serde_json::from_slice(&bytes).map_err(|_| invalid("not a continue token"))?;
    if token.v != TOKEN_VERSION {
        return Err(invalid(&format!("server does not recognize this encoding ({})", token.v)));
    }
    let revision = match token.rv {
        LATEST_REVISION_IN_TOKEN => None,
        revision if revision > 0 => Some(revision as Revision),
        _ => return Err(invalid("incorrect encoded start resourceVersion (version meta.k8s.io/v1)")),
    };
    let Some(start) = token.start.strip_suffix('\0') else {
        return Err(invalid("continue key does not end a key"));
    };
    if start.is_empty() || start.contains("..") || start.split('/').count() > 2 {
        return Err(invalid("continue key is not valid"));
    }
    let key = match start.split_once('/') {
        Some((namespace, name)) => ResumeKey { namespace: namespace.to_string(), name: name.to_string() },
        None => ResumeKey { namespace: String::new(), name: start.to_string() },
    };
    Ok((revision, key))
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64_url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let word =
            chunk.iter().enumerate().fold(0u32, |word, (index, &byte)| word | (u32::from(byte) << (16 - 8 * index)));
        for index in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((word >> (18 - 6 * index)) & 63) as usize]));
        }
    }
    out
}

fn base64_url_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut word = 0u32;
        for (index, &symbol) in chunk.iter().enumerate() {
            let value = ALPHABET.iter().position(|&candidate| candidate == symbol)? as u32;
            word |= value << (18 - 6 * index);
        }
        for index in 0..chunk.len() - 1 {
            out.push((word >> (16 - 8 * index)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_continue_token_round_trips_its_revision_and_key() {
        let token = encode_continue(42, "default", "web-1");
        assert_eq!(
            decode_continue(&token).unwrap(),
            (Some(42), ResumeKey { namespace: "default".into(), name: "web-1".into() })
        );
        let token = encode_continue(7, "", "node-a");
        assert_eq!(
            decode_continue(&token).unwrap(),
            (Some(7), ResumeKey { namespace: String::new(), name: "node-a".into() })
        );
    }

    #[test]
    fn the_token_is_kubernetes_unpadded_url_base64_of_its_json() {
        // Kubernetes' etcd3 storage: base64.RawURLEncoding of {"v":"meta.k8s.io/v1","rv":1,"start":"a\u0000"}.
        let token = encode_continue(1, "", "a");
        assert_eq!(token, "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOiJhXHUwMDAwIn0");
    }

    #[test]
    fn garbage_is_an_invalid_continue_token() {
        for token in ["", "!!!", "e", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MCwic3RhcnQiOiJhXHUwMDAwIn0"] {
            assert!(matches!(decode_continue(token), Err(StoreError::InvalidContinue { .. })), "{token:?}");
        }
    }
}
