//! The hash map of the scheduler's hot lookups: node positions by name, Pods by key, counts by
//! topology value. std's SipHash resists hash flooding at about 20 ns a short key, which at
//! thousands of lookups per scheduling cycle shows in every profile; foldhash, seeded per
//! process as std's maps are, hashes a node name in a few nanoseconds. Never iterated where
//! the order could show, as with std's maps, whose order is random per process too.

/// A hash map with foldhash's per-process seeded hasher.
pub type FastHashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
