//! Names and uids the API server makes up, drawn from a seeded generator so that a simulation
//! replays them exactly.

use rand::{Rng, RngExt};
use rand_chacha::ChaCha8Rng;

/// The characters Kubernetes draws generated name suffixes from: no vowels (so no words) and no
/// characters that look alike (`utilrand.String` in apimachinery).
pub const NAME_SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Length of a generated name suffix, as Kubernetes' `SimpleNameGenerator`.
pub const NAME_SUFFIX_LENGTH: usize = 5;

/// Longest name a generated name can have (a DNS label).
const GENERATED_NAME_LENGTH_MAX: usize = 63;

/// A new uid: an RFC 4122 version 4 UUID in its hyphenated lowercase form, as Kubernetes'
/// `uuid.NewUUID()` writes it.
pub fn new_uid(random: &mut ChaCha8Rng) -> String {
    let mut bytes = [0u8; 16];
    random.fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// A name from a `generateName` prefix: the prefix, cut so the result fits in 63 characters,
/// followed by five random characters.
pub fn generate_name(prefix: &str, random: &mut ChaCha8Rng) -> String {
    let keep = GENERATED_NAME_LENGTH_MAX - NAME_SUFFIX_LENGTH;
    let mut name: String = prefix.chars().take(keep).collect();
    for _ in 0..NAME_SUFFIX_LENGTH {
        let index = random.random_range(0..NAME_SUFFIX_ALPHABET.len());
        name.push(char::from(NAME_SUFFIX_ALPHABET[index]));
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_uid_is_a_version_4_uuid() {
        let uid = new_uid(&mut ChaCha8Rng::seed_from_u64(1));
        let groups: Vec<&str> = uid.split('-').collect();
        assert_eq!(groups.iter().map(|group| group.len()).collect::<Vec<_>>(), vec![8, 4, 4, 4, 12]);
        assert!(groups[2].starts_with('4'), "{uid}");
        assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "{uid}");
        assert!(uid.bytes().all(|byte| byte == b'-' || byte.is_ascii_hexdigit() && !byte.is_ascii_uppercase()));
    }

    #[test]
    fn the_same_seed_gives_the_same_uids_and_names() {
        let mut first = ChaCha8Rng::seed_from_u64(7);
        let mut second = ChaCha8Rng::seed_from_u64(7);
        assert_eq!(new_uid(&mut first), new_uid(&mut second));
        assert_eq!(generate_name("web-", &mut first), generate_name("web-", &mut second));
    }

    #[test]
    fn a_generated_name_is_the_prefix_and_five_suffix_characters() {
        // Kubernetes' names_test: "foo" becomes "foo" plus 5 characters.
        let name = generate_name("foo", &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(name.len(), 8);
        assert!(name.starts_with("foo"));
        assert!(name[3..].bytes().all(|byte| NAME_SUFFIX_ALPHABET.contains(&byte)));
    }

    #[test]
    fn a_long_prefix_is_cut_so_the_name_fits_a_dns_label() {
        let prefix = "a".repeat(100);
        let name = generate_name(&prefix, &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(name.len(), 63);
        assert!(name.starts_with(&"a".repeat(58)));
    }
}
