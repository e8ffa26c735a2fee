//! A label index for [`super::MemoryStore`]: for each label key and value, the keys of the
//! objects of a collection that carry it. A list whose label selector pins a label (`app=web`,
//! `tier in (a, b)`) reads the few objects the index names instead of every object's labels.
//!
//! The index holds keys, not objects: a write that leaves an object's labels as they were (a
//! status update, say) does not touch it.

use std::collections::{BTreeMap, BTreeSet};

use crate::selector::label::{LabelSelector, Operator};

/// The keys (namespace, name) of the objects that carry one label value.
type Keys = BTreeSet<(String, String)>;

/// The label index of one collection: label key → label value → object keys.
#[derive(Debug, Default)]
pub(super) struct LabelIndex {
    labels: BTreeMap<String, BTreeMap<String, Keys>>,
}

impl LabelIndex {
    /// Records that the object at `namespace`/`name` went from `old` labels to `new` ones.
    pub(super) fn relabel(
        &mut self,
        namespace: &str,
        name: &str,
        old: Option<&BTreeMap<String, String>>,
        new: Option<&BTreeMap<String, String>>,
    ) {
        for (key, value) in old.into_iter().flatten() {
            if new.and_then(|new| new.get(key)) != Some(value) {
                self.remove(key, value, namespace, name);
            }
        }
        for (key, value) in new.into_iter().flatten() {
            if old.and_then(|old| old.get(key)) != Some(value) {
                let keys = self.labels.entry(key.clone()).or_default().entry(value.clone()).or_default();
                keys.insert((namespace.to_string(), name.to_string()));
            }
        }
    }

    fn remove(&mut self, key: &str, value: &str, namespace: &str, name: &str) {
        let Some(values) = self.labels.get_mut(key) else { return };
        let Some(keys) = values.get_mut(value) else { return };
        keys.remove(&(namespace.to_string(), name.to_string()));
        if keys.is_empty() {
            values.remove(value);
            if values.is_empty() {
                self.labels.remove(key);
            }
        }
    }

    /// The keys, in key order, of every object that can match `selector` (a superset of those
    /// that do), in `namespace` if given and after `after` if given; `None` when the selector
    /// pins no label or the pinned label is carried by more than `most` objects, so that reading
    /// every object is as cheap.
    pub(super) fn candidates(
        &self,
        selector: &LabelSelector,
        namespace: Option<&str>,
        after: Option<(&str, &str)>,
        most: usize,
    ) -> Option<Vec<(&str, &str)>> {
        let narrowest = selector
            .requirements()
            .iter()
            .filter(|requirement| {
                matches!(requirement.operator(), Operator::In | Operator::Equals | Operator::DoubleEquals)
            })
            .map(|requirement| self.sets_for(requirement.key(), requirement.values()))
            .min_by_key(|sets| sets.iter().map(|keys| keys.len()).sum::<usize>())?;
        if narrowest.iter().map(|keys| keys.len()).sum::<usize>() > most {
            return None;
        }
        let mut candidates: Vec<(&str, &str)> = narrowest
            .iter()
            .flat_map(|keys| keys.iter())
            .map(|(namespace, name)| (namespace.as_str(), name.as_str()))
            .filter(|candidate| namespace.is_none_or(|namespace| candidate.0 == namespace))
            .filter(|candidate| after.is_none_or(|after| *candidate > after))
            .collect();
        if narrowest.len() > 1 {
            // Sets of distinct values of one key are disjoint; only their order needs merging.
            candidates.sort_unstable();
        }
        Some(candidates)
    }

    /// The key sets of each of `values` of the label `key` that some object carries.
    fn sets_for(&self, key: &str, values: &[String]) -> Vec<&Keys> {
        let Some(by_value) = self.labels.get(key) else { return Vec::new() };
        // `in (a, a)` names a value twice; each object must come once.
        let values: BTreeSet<&str> = values.iter().map(String::as_str).collect();
        values.into_iter().filter_map(|value| by_value.get(value)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
    }

    fn index() -> LabelIndex {
        let mut index = LabelIndex::default();
        index.relabel("b", "one", None, Some(&labels(&[("app", "web"), ("tier", "front")])));
        index.relabel("a", "two", None, Some(&labels(&[("app", "db")])));
        index.relabel("a", "three", None, Some(&labels(&[("app", "web")])));
        index
    }

    fn candidates<'a>(
        index: &'a LabelIndex,
        selector: &str,
        namespace: Option<&str>,
    ) -> Option<Vec<(&'a str, &'a str)>> {
        index.candidates(&LabelSelector::parse(selector).unwrap(), namespace, None, usize::MAX)
    }

    #[test]
    fn an_equality_names_the_objects_that_carry_the_label_in_key_order() {
        assert_eq!(candidates(&index(), "app=web", None), Some(vec![("a", "three"), ("b", "one")]));
        assert_eq!(candidates(&index(), "app=web", Some("b")), Some(vec![("b", "one")]));
    }

    #[test]
    fn a_set_of_values_merges_their_objects_in_key_order_once_each() {
        assert_eq!(
            candidates(&index(), "app in (web, db, web)", None),
            Some(vec![("a", "three"), ("a", "two"), ("b", "one")])
        );
    }

    #[test]
    fn the_narrowest_pinned_label_is_used() {
        assert_eq!(candidates(&index(), "app=web,tier=front", None), Some(vec![("b", "one")]));
    }

    #[test]
    fn a_label_carried_by_too_many_objects_is_not_worth_the_index() {
        let selector = LabelSelector::parse("app=web").unwrap();
        assert_eq!(index().candidates(&selector, None, None, 1), None);
        assert!(index().candidates(&selector, None, None, 2).is_some());
    }

    #[test]
    fn candidates_start_after_the_last_key_of_the_previous_page() {
        let selector = LabelSelector::parse("app in (web, db)").unwrap();
        assert_eq!(
            index().candidates(&selector, None, Some(("a", "three")), usize::MAX),
            Some(vec![("a", "two"), ("b", "one")])
        );
    }

    #[test]
    fn a_selector_that_pins_no_label_cannot_use_the_index() {
        assert_eq!(candidates(&index(), "app!=web", None), None);
        assert_eq!(candidates(&index(), "tier", None), None);
    }

    #[test]
    fn relabelling_moves_an_object_between_values_and_removal_forgets_it() {
        let mut index = index();
        index.relabel("a", "three", Some(&labels(&[("app", "web")])), Some(&labels(&[("app", "db")])));
        assert_eq!(candidates(&index, "app=web", None), Some(vec![("b", "one")]));
        assert_eq!(candidates(&index, "app=db", None), Some(vec![("a", "three"), ("a", "two")]));
        index.relabel("b", "one", Some(&labels(&[("app", "web"), ("tier", "front")])), None);
        assert_eq!(candidates(&index, "app=web", None), Some(vec![]));
        assert!(!index.labels.contains_key("tier"));
    }
}
