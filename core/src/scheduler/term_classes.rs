//! Class ids for the affinity terms of placed Pods: Pods with equal terms (every replica of a
//! workload) share one, so that InterPodAffinity matches an incoming Pod against each distinct
//! set of terms once per cycle instead of once per running Pod.
//!
//! Matching a running Pod's terms means reading its parsed terms: namespaces, selector
//! requirements and their strings, each a cache miss, for a result that is the same for every
//! replica. The pod index hands out a class with each Pod it indexes, and the plugins remember
//! the outcome per class for the length of one cycle.

use std::sync::Arc;

use super::fast_map::FastHashMap;
use super::pod_affinity::PodAffinityTerms;

/// The class of a Pod without affinity terms.
pub const NO_TERMS: u32 = u32::MAX;

/// Live classes by content, with how many indexed Pods hold each.
#[derive(Clone, Debug, Default)]
pub struct TermClasses {
    classes: FastHashMap<Arc<PodAffinityTerms>, Class>,
    /// Ids of classes no Pod holds any more, reused before new ones.
    free: Vec<u32>,
    /// The next id never handed out.
    next: u32,
}

#[derive(Clone, Copy, Debug)]
struct Class {
    id: u32,
    pods: usize,
}

impl TermClasses {
    /// The class of these terms, counting one more Pod holding it.
    pub fn add(&mut self, terms: &Arc<PodAffinityTerms>) -> u32 {
        if let Some(class) = self.classes.get_mut(terms) {
            class.pods += 1;
            return class.id;
        }
        let id = self.free.pop().unwrap_or_else(|| {
            self.next += 1;
            self.next - 1
        });
        self.classes.insert(Arc::clone(terms), Class { id, pods: 1 });
        id
    }

    /// Counts one Pod fewer holding these terms; a class no Pod holds frees its id.
    pub fn remove(&mut self, terms: &Arc<PodAffinityTerms>) {
        let Some(class) = self.classes.get_mut(terms) else {
            return;
        };
        class.pods -= 1;
        if class.pods == 0 {
            self.free.push(class.id);
            self.classes.remove(terms);
        }
    }

    /// How many classes are live.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// Whether no class is live.
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::testing::{affinity_term, make_pod};

    fn terms_of(name: &str, app: &str) -> Arc<PodAffinityTerms> {
        let pod = make_pod(name).required_term(true, affinity_term("app", "In", &[app], "zone")).obj();
        Arc::new(PodAffinityTerms::of(&pod).expect("the pod has terms"))
    }

    #[test]
    fn equal_terms_share_a_class_and_a_freed_id_is_reused() {
        let mut classes = TermClasses::default();
        let web = classes.add(&terms_of("a", "web"));
        assert_eq!(classes.add(&terms_of("b", "web")), web, "equal terms, separate parses");
        let db = classes.add(&terms_of("c", "db"));
        assert_ne!(db, web);
        classes.remove(&terms_of("a", "web"));
        assert_eq!(classes.len(), 2, "one pod still holds the web class");
        classes.remove(&terms_of("b", "web"));
        assert_eq!(classes.len(), 1);
        assert_eq!(classes.add(&terms_of("d", "cache")), web, "the freed id is handed out again");
        assert!(!classes.is_empty());
    }
}
