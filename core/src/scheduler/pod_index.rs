//! Indexes over the placed Pods of a snapshot, so that InterPodAffinity and PodTopologySpread
//! visit only the Pods a selector can match instead of every Pod in the cluster.
//!
//! kube-scheduler walks every node and every Pod on it for each Pod with affinity or spread
//! constraints (in 16 goroutines). At 5,000 nodes and tens of thousands of Pods that walk is
//! nearly the whole cycle, and it grows with the cluster. Here a selector that pins a label to
//! a few values (`app=web`, `tier in (a,b)`, which is what workloads use) reads the Pods under
//! those label values, and a Pod's own labels find the running Pods whose affinity terms could
//! match it. Selectors that pin nothing (`Exists`, `NotIn`, empty) fall back to the full walk,
//! so results never depend on the index: only the number of Pods visited does.
//!
//! The snapshot keeps the index up to date as the cache hands it changed nodes, so a cycle
//! that placed one Pod re-indexes one node.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::fast_map::FastHashMap;
use super::node_info::{NodeInfo, PodInfo, PodKey};
use super::pod_affinity::AffinityTerm;
use super::term_classes::{NO_TERMS, TermClasses};
use crate::selector::{LabelSelector, Operator};

/// A placed Pod and the position of its node in the snapshot's node list.
#[derive(Clone, Debug)]
pub struct IndexedPod {
    /// Position of the Pod's node in `Snapshot::list`.
    pub node: usize,
    /// The Pod's namespace by the index's id for it, so that a term's namespaces are checked
    /// without reading the Pod.
    pub namespace: u32,
    /// The class of the Pod's affinity terms ([`NO_TERMS`] without): equal terms, equal class.
    pub terms_class: u32,
    /// The Pod.
    pub pod: Arc<PodInfo>,
}

/// Pods by one label's value: label key, then value, then Pod, ordered for deterministic visits.
type ByLabel = FastHashMap<String, FastHashMap<String, BTreeMap<PodKey, IndexedPod>>>;

/// Where candidate Pods for a selector come from.
pub enum Candidates<'a> {
    /// Exactly these Pods may match (each at most once); every other Pod cannot.
    Some(Vec<&'a IndexedPod>),
    /// The selector pins no label: every placed Pod may match.
    All,
}

/// The label pairs (key, value) a Pod's labels must carry for any of its affinity terms to
/// match it; `None` when some term pins no label and so could match any Pod.
fn term_anchors(pod: &PodInfo) -> Option<BTreeSet<(String, String)>> {
    let terms = pod.affinity_terms.as_ref()?;
    let selectors =
        terms.required_affinity.iter().chain(&terms.required_anti_affinity).map(|term| &term.selector).chain(
            terms
                .preferred_affinity
                .iter()
                .chain(&terms.preferred_anti_affinity)
                .map(|weighted| &weighted.term.selector),
        );
    let mut anchors = BTreeSet::new();
    for selector in selectors {
        if selector.matches_nothing() {
            continue;
        }
        let (key, values) = selector.pinned_values()?;
        anchors.extend(values.iter().map(|value| (key.to_owned(), value.clone())));
    }
    Some(anchors)
}

fn insert(map: &mut ByLabel, key: &str, value: &str, entry: IndexedPod) {
    map.entry(key.to_owned()).or_default().entry(value.to_owned()).or_default().insert(entry.pod.key.clone(), entry);
}

fn remove(map: &mut ByLabel, key: &str, value: &str, pod: &PodKey) {
    let Some(values) = map.get_mut(key) else { return };
    if let Some(pods) = values.get_mut(value) {
        pods.remove(pod);
        if pods.is_empty() {
            values.remove(value);
        }
    }
    if values.is_empty() {
        map.remove(key);
    }
}

/// The placed Pods of a snapshot by label, and the Pods with affinity terms by the labels their
/// terms pin.
#[derive(Clone, Debug, Default)]
pub struct PodIndex {
    /// Every placed Pod under each of its labels.
    by_label: ByLabel,
    /// Pods with affinity terms, under each label pair one of their terms pins.
    by_term_anchor: ByLabel,
    /// Pods with an affinity term that pins no label: any incoming Pod may match them.
    unanchored: BTreeMap<PodKey, IndexedPod>,
    /// The id of each namespace a Pod was indexed in. Ids are never reused or dropped: there
    /// are few namespaces, and an entry's id must stay valid while the entry lives.
    namespace_ids: FastHashMap<String, u32>,
    /// The classes of the indexed Pods' affinity terms.
    term_classes: TermClasses,
}

impl PodIndex {
    /// Indexes every Pod of every node, `nodes[i]` at position `i`.
    pub fn build(nodes: &[Arc<NodeInfo>]) -> PodIndex {
        let mut index = PodIndex::default();
        for (position, node) in nodes.iter().enumerate() {
            for pod in &node.pods {
                index.add(position, pod);
            }
        }
        index
    }

    /// Re-indexes the node at `position` after its NodeInfo changed from `old` to `new`; Pods
    /// present (as the same object) in both are left alone.
    pub fn replace_node(&mut self, position: usize, old: &NodeInfo, new: &NodeInfo) {
        let kept: BTreeSet<*const PodInfo> = old
            .pods
            .iter()
            .filter(|pod| new.pods.iter().any(|other| Arc::ptr_eq(pod, other)))
            .map(Arc::as_ptr)
            .collect();
        for pod in old.pods.iter().filter(|pod| !kept.contains(&Arc::as_ptr(pod))) {
            self.remove(pod);
        }
        for pod in new.pods.iter().filter(|pod| !kept.contains(&Arc::as_ptr(pod))) {
            self.add(position, pod);
        }
    }

    fn add(&mut self, node: usize, pod: &Arc<PodInfo>) {
        let namespace = match self.namespace_ids.get(pod.namespace()) {
            Some(id) => *id,
            None => {
                let id = self.namespace_ids.len() as u32;
                self.namespace_ids.insert(pod.namespace().to_owned(), id);
                id
            }
        };
        let terms_class = pod.affinity_terms.as_ref().map_or(NO_TERMS, |terms| self.term_classes.add(terms));
        let entry = || IndexedPod { node, namespace, terms_class, pod: Arc::clone(pod) };
        for (key, value) in pod.pod.metadata.labels.iter().flatten() {
            insert(&mut self.by_label, key, value, entry());
        }
        if pod.affinity_terms.is_none() {
            return;
        }
        match term_anchors(pod) {
            Some(anchors) => {
                for (key, value) in anchors {
                    insert(&mut self.by_term_anchor, &key, &value, entry());
                }
            }
            None => {
                self.unanchored.insert(pod.key.clone(), entry());
            }
        }
    }

    fn remove(&mut self, pod: &PodInfo) {
        for (key, value) in pod.pod.metadata.labels.iter().flatten() {
            remove(&mut self.by_label, key, value, &pod.key);
        }
        let Some(terms) = &pod.affinity_terms else {
            return;
        };
        self.term_classes.remove(terms);
        match term_anchors(pod) {
            Some(anchors) => {
                for (key, value) in anchors {
                    remove(&mut self.by_term_anchor, &key, &value, &pod.key);
                }
            }
            None => {
                self.unanchored.remove(&pod.key);
            }
        }
    }

    /// The placed Pods whose labels may satisfy `selector`: those under the values it pins.
    /// Callers still match each candidate in full.
    pub fn candidates(&self, selector: &LabelSelector) -> Candidates<'_> {
        if selector.matches_nothing() {
            return Candidates::Some(Vec::new());
        }
        let Some((key, values)) = selector.pinned_values() else {
            return Candidates::All;
        };
        let Some(by_value) = self.by_label.get(key) else {
            return Candidates::Some(Vec::new());
        };
        let mut pods = Vec::new();
        let unique: BTreeSet<&String> = values.iter().collect();
        for value in unique {
            pods.extend(by_value.get(value.as_str()).into_iter().flat_map(BTreeMap::values));
        }
        Candidates::Some(pods)
    }

    /// Visits every placed Pod `term` matches (as [`AffinityTerm::matches`] with no namespace
    /// labels) when the index alone can tell, and returns true; returns false, visiting
    /// nothing, when the Pods must be matched one by one.
    ///
    /// The index can tell when the term's selector is a single `=` or `in` requirement: the
    /// Pods under its values carry it, and their namespace ids settle the rest. That is the
    /// shape of nearly every workload's terms (`matchLabels: {app: web}`), and it spares
    /// reading each Pod: a few cache misses apiece, most of an affinity cycle otherwise.
    pub fn visit_exact_matches(&self, term: &AffinityTerm, visit: &mut impl FnMut(&IndexedPod)) -> bool {
        if term.selector.matches_nothing() {
            return true;
        }
        let [requirement] = term.selector.requirements() else {
            return false;
        };
        if !matches!(requirement.operator(), Operator::Equals | Operator::DoubleEquals | Operator::In) {
            return false;
        }
        let every_namespace = term.namespace_selector.matches_optional(None);
        let namespaces: Vec<u32> = match every_namespace {
            true => Vec::new(),
            false => term.namespaces.iter().filter_map(|name| self.namespace_ids.get(name.as_str()).copied()).collect(),
        };
        if !every_namespace && namespaces.is_empty() {
            return true;
        }
        let Some(by_value) = self.by_label.get(requirement.key()) else {
            return true;
        };
        let values: BTreeSet<&String> = requirement.values().iter().collect();
        for value in values {
            for entry in by_value.get(value.as_str()).into_iter().flat_map(BTreeMap::values) {
                if every_namespace || namespaces.contains(&entry.namespace) {
                    visit(entry);
                }
            }
        }
        true
    }

    /// The placed Pods with affinity terms, one of which may match a Pod with these labels:
    /// every term of theirs pins a label pair these labels carry, or pins nothing. In Pod order.
    pub fn with_terms_possibly_matching(&self, labels: Option<&BTreeMap<String, String>>) -> Vec<&IndexedPod> {
        let buckets: Vec<&BTreeMap<PodKey, IndexedPod>> = labels
            .into_iter()
            .flatten()
            .filter_map(|(key, value)| self.by_term_anchor.get(key).and_then(|values| values.get(value)))
            .collect();
        if self.unanchored.is_empty() && buckets.len() <= 1 {
            // One bucket is already in Pod order and without duplicates: no merge needed.
            return buckets.into_iter().flat_map(BTreeMap::values).collect();
        }
        let mut found: BTreeMap<&PodKey, &IndexedPod> = self.unanchored.iter().collect();
        for pods in buckets {
            found.extend(pods.iter());
        }
        found.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::testing::{affinity_term, make_node, make_pod};

    fn labelled(name: &str, labels: &[(&str, &str)]) -> Arc<PodInfo> {
        Arc::new(make_pod(name).labels(labels).info())
    }

    fn names(pods: &[&IndexedPod]) -> Vec<String> {
        let mut names: Vec<String> = pods.iter().map(|entry| entry.pod.name().to_owned()).collect();
        names.sort();
        names
    }

    fn node_with(name: &str, pods: &[Arc<PodInfo>]) -> Arc<NodeInfo> {
        let mut info = NodeInfo::new(Arc::new(make_node(name).obj()));
        for pod in pods {
            info.add_pod(Arc::clone(pod));
        }
        Arc::new(info)
    }

    fn candidates(index: &PodIndex, selector: &str) -> Vec<String> {
        match index.candidates(&LabelSelector::parse(selector).expect("selector")) {
            Candidates::Some(pods) => names(&pods),
            Candidates::All => vec!["<all>".to_owned()],
        }
    }

    #[test]
    fn a_pinned_selector_reads_only_the_pods_under_its_values() {
        let web = labelled("web", &[("app", "web")]);
        let db = labelled("db", &[("app", "db")]);
        let cache = labelled("cache", &[("app", "cache")]);
        let index = PodIndex::build(&[node_with("n1", &[web]), node_with("n2", &[db, cache])]);
        assert_eq!(candidates(&index, "app in (web,db,db),tier!=x"), ["db", "web"]);
        assert_eq!(candidates(&index, "app=other"), Vec::<String>::new());
        assert_eq!(candidates(&index, "app"), ["<all>"]);
        assert_eq!(candidates(&index, "app notin (web)"), ["<all>"]);
        let Candidates::Some(none) = index.candidates(&LabelSelector::nothing()) else { panic!("expected none") };
        assert!(none.is_empty());
    }

    #[test]
    fn replacing_a_node_moves_exactly_its_changed_pods() {
        let web = labelled("web", &[("app", "web")]);
        let old = node_with("n1", std::slice::from_ref(&web));
        let mut index = PodIndex::build(std::slice::from_ref(&old));
        let new = node_with("n1", &[Arc::clone(&web), labelled("web-2", &[("app", "web")])]);
        index.replace_node(0, &old, &new);
        assert_eq!(candidates(&index, "app=web"), ["web", "web-2"]);
        index.replace_node(0, &new, &node_with("n1", &[]));
        assert!(index.by_label.is_empty(), "an emptied node leaves no entries: {:?}", index.by_label);
    }

    #[test]
    fn running_pods_are_found_by_the_labels_their_terms_pin() {
        let anti_web = Arc::new(
            make_pod("anti-web")
                .required_term(true, affinity_term("app", "In", &["web", "api"], "zone"))
                .preferred_term(false, 5, affinity_term("app", "In", &["web"], "zone"))
                .info(),
        );
        let any_tier =
            Arc::new(make_pod("any-tier").required_term(true, affinity_term("tier", "Exists", &[], "zone")).info());
        let plain = labelled("plain", &[("app", "web")]);
        let index = PodIndex::build(&[node_with("n1", &[anti_web, any_tier, plain])]);
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
        };
        assert_eq!(
            names(&index.with_terms_possibly_matching(Some(&labels(&[("app", "api")])))),
            ["anti-web", "any-tier"]
        );
        assert_eq!(names(&index.with_terms_possibly_matching(Some(&labels(&[("app", "db")])))), ["any-tier"]);
        assert_eq!(names(&index.with_terms_possibly_matching(None)), ["any-tier"]);
    }
}
