//! The pod-template-hash: names a Deployment's ReplicaSet after its pod template, so that the
//! same template always maps to the same ReplicaSet (Kubernetes' `controller.ComputeHash`).
//!
//! Kubernetes feeds FNV-32a with the template printed by a Go object printer (`DeepHashObject`),
//! then the collision count as 8 little-endian bytes (the low 4 set), and renders the decimal
//! hash with `SafeEncodeString`. coxswain feeds the same FNV-32a with the template's canonical
//! JSON (fields in schema order, maps sorted), so hashes are stable and deterministic but differ
//! from the values Kubernetes prints for the same template.

use k8s_openapi::api::core::v1::PodTemplateSpec;

const FNV_OFFSET_BASIS: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// The characters `SafeEncodeString` maps bytes to: no vowels (so no words) and no characters
/// that look alike.
const SAFE_ALPHANUMERICS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// FNV-32a over `bytes`, continuing from `hash`.
pub fn fnv32a(mut hash: u32, bytes: &[u8]) -> u32 {
    for byte in bytes {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// `rand.SafeEncodeString`: each byte of `text` replaced by a safe alphanumeric.
pub fn safe_encode_string(text: &str) -> String {
    text.bytes().map(|byte| char::from(SAFE_ALPHANUMERICS[usize::from(byte) % SAFE_ALPHANUMERICS.len()])).collect()
}

/// The pod-template-hash of `template` with the Deployment's `status.collisionCount`.
pub fn compute_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let canonical = serde_json::to_vec(template).expect("a pod template always serializes to JSON");
    let mut hash = fnv32a(FNV_OFFSET_BASIS, &canonical);
    if let Some(count) = collision_count {
        let mut bytes = [0_u8; 8];
        bytes[..4].copy_from_slice(&(count as u32).to_le_bytes());
        hash = fnv32a(hash, &bytes);
    }
    safe_encode_string(&hash.to_string())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn template(image_label: &str) -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(BTreeMap::from([("app".to_string(), image_label.to_string())])),
                ..ObjectMeta::default()
            }),
            spec: None,
        }
    }

    #[test]
    fn fnv32a_matches_the_reference_vectors() {
        assert_eq!(fnv32a(FNV_OFFSET_BASIS, b""), 0x811c_9dc5);
        assert_eq!(fnv32a(FNV_OFFSET_BASIS, b"a"), 0xe40c_292c);
        assert_eq!(fnv32a(FNV_OFFSET_BASIS, b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn safe_encoding_maps_digits_as_kubernetes_does() {
        // '0' is byte 48, 48 % 27 = 21 -> '4'; '9' is 57 % 27 = 3 -> 'f'.
        assert_eq!(safe_encode_string("0"), "4");
        assert_eq!(safe_encode_string("9"), "f");
    }

    #[test]
    fn the_hash_is_stable_and_changes_with_the_template_and_the_collision_count() {
        let hash = compute_hash(&template("web"), None);
        assert_eq!(hash, compute_hash(&template("web"), None));
        assert_ne!(hash, compute_hash(&template("db"), None));
        assert_ne!(hash, compute_hash(&template("web"), Some(1)));
        assert!(hash.bytes().all(|byte| SAFE_ALPHANUMERICS.contains(&byte)));
    }
}
