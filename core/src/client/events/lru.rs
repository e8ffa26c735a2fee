//! A least-recently-used map of bounded size (`groupcache/lru` as client-go's event caches use
//! it): looking a key up or writing it makes it the newest; writing past the bound drops the
//! oldest. Ordered maps only, so nothing depends on hash order.

use std::collections::BTreeMap;

/// A map keeping at most `capacity` entries, dropping the least recently used.
#[derive(Clone, Debug)]
pub struct Lru<V> {
    capacity: usize,
    entries: BTreeMap<String, (V, u64)>,
    by_use: BTreeMap<u64, String>,
    clock: u64,
}

impl<V> Lru<V> {
    /// An empty map of at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Lru<V> {
        Lru { capacity: capacity.max(1), entries: BTreeMap::new(), by_use: BTreeMap::new(), clock: 0 }
    }

    fn touch(&mut self, key: &str) {
        self.clock += 1;
        if let Some((_, used)) = self.entries.get_mut(key) {
            self.by_use.remove(used);
            *used = self.clock;
            self.by_use.insert(self.clock, key.to_owned());
        }
    }

    /// The value under `key`, made the newest.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.touch(key);
        self.entries.get_mut(key).map(|(value, _)| value)
    }

    /// Stores `value` under `key` as the newest entry, dropping the oldest past the bound.
    pub fn insert(&mut self, key: String, value: V) {
        self.clock += 1;
        if let Some((_, used)) = self.entries.insert(key.clone(), (value, self.clock)) {
            self.by_use.remove(&used);
        }
        self.by_use.insert(self.clock, key);
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.by_use.pop_first() else { break };
            self.entries.remove(&oldest);
        }
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let (value, used) = self.entries.remove(key)?;
        self.by_use.remove(&used);
        Some(value)
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::Lru;

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let mut lru = Lru::new(2);
        lru.insert("a".into(), 1);
        lru.insert("b".into(), 2);
        assert_eq!(lru.get_mut("a"), Some(&mut 1));
        lru.insert("c".into(), 3);
        assert_eq!(lru.len(), 2);
        assert!(lru.get_mut("b").is_none(), "b was the least recently used");
        assert_eq!(lru.get_mut("a"), Some(&mut 1));
        assert_eq!(lru.remove("c"), Some(3));
        assert_eq!(lru.len(), 1);
    }
}
