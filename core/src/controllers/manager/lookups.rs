//! What one key's sync reads from the shared caches, found through their indexes (client-go's
//! `ByIndex`) so that the work of a sync grows with what its object concerns, not with the
//! namespace or the cluster (DESIGN.md principle 10). Every list comes back in name order, the
//! order a namespace scan of the cache gave.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use super::caches::{BY_CONTROLLER_UID, BY_LABEL, Caches, ORPHANS_BY_NAMESPACE, label_index_value};
use crate::client::informer::{Cached, Informer};
use crate::selector::LabelSelector;

/// The objects a controller with `owner_uid` may claim in `namespace`: those it controls and
/// the orphans. What someone else controls is never its business, so it is not even visited.
pub fn owned_or_orphans<'a, T: Cached>(
    informer: &'a Informer<T>,
    namespace: &str,
    owner_uid: Option<&str>,
) -> Vec<&'a Arc<T>> {
    let mut found: Vec<&Arc<T>> = owned_by(informer, namespace, owner_uid).collect();
    found.extend(informer.by_index(ORPHANS_BY_NAMESPACE, namespace));
    sort_by_name(&mut found);
    found
}

/// The objects of `namespace` the object with `owner_uid` controls, in name order.
pub fn owned_by<'a: 'b, 'b, T: Cached>(
    informer: &'a Informer<T>,
    namespace: &'b str,
    owner_uid: Option<&'b str>,
) -> impl Iterator<Item = &'a Arc<T>> + 'b {
    let owned = owner_uid.filter(|uid| !uid.is_empty()).map(|uid| informer.by_index(BY_CONTROLLER_UID, uid));
    owned.into_iter().flatten().filter(move |object| object.object_meta().namespace.as_deref() == Some(namespace))
}

/// The pods of `namespace` that a Service's map selector selects; none without a selector.
pub fn pods_selected_by_map<'a>(
    caches: &'a Caches,
    namespace: &str,
    selector: Option<&BTreeMap<String, String>>,
) -> Vec<&'a Arc<Pod>> {
    let Some(selector) = selector else { return Vec::new() };
    let Some((key, value)) = selector
        .iter()
        .min_by_key(|(key, value)| caches.pods.index_count(BY_LABEL, &label_index_value(namespace, key, value)))
    else {
        return caches.pods.in_namespace(namespace).collect();
    };
    caches
        .pods
        .by_index(BY_LABEL, &label_index_value(namespace, key, value))
        .filter(|pod| labels_match(selector, pod.metadata.labels.as_ref()))
        .collect()
}

/// The pods of `namespace` that a label selector selects.
pub fn pods_selected_by<'a>(caches: &'a Caches, namespace: &str, selector: &LabelSelector) -> Vec<&'a Arc<Pod>> {
    let Some((key, values)) = selector.pinned_values() else {
        return caches
            .pods
            .in_namespace(namespace)
            .filter(|pod| selector.matches_optional(pod.metadata.labels.as_ref()))
            .collect();
    };
    let mut found: Vec<&Arc<Pod>> = values
        .iter()
        .flat_map(|value| caches.pods.by_index(BY_LABEL, &label_index_value(namespace, key, value)))
        .filter(|pod| selector.matches_optional(pod.metadata.labels.as_ref()))
        .collect();
    if values.len() > 1 {
        sort_by_name(&mut found);
    }
    found
}

/// Whether `labels` carry every pair of a map selector.
pub fn labels_match(selector: &BTreeMap<String, String>, labels: Option<&BTreeMap<String, String>>) -> bool {
    selector.iter().all(|(key, value)| labels.and_then(|labels| labels.get(key)) == Some(value))
}

/// Copies of cached objects, for the reconciles that take owned values.
pub fn cloned<T: Clone>(objects: &[&Arc<T>]) -> Vec<T> {
    objects.iter().map(|object| object.as_ref().clone()).collect()
}

/// The cached objects themselves, borrowed, for the reconciles that read any `Borrow<T>`: a
/// sync of a 300-pod ReplicaSet copies 300 pointers, not 300 pods.
pub fn borrowed<'a, T>(objects: &[&'a Arc<T>]) -> Vec<&'a T> {
    objects.iter().map(|object| Arc::as_ref(object)).collect()
}

fn sort_by_name<T: Cached>(objects: &mut [&Arc<T>]) {
    objects.sort_by(|left, right| left.object_meta().name.cmp(&right.object_meta().name));
}
