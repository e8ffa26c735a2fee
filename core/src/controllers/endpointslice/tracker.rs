//! The EndpointSlice tracker (`endpointSliceTracker`): the generation this controller last
//! wrote for each slice of each Service, and the slices it deleted. A sync whose cache lacks a
//! slice the controller created, holds an older generation than it wrote, or still holds one it
//! deleted works from a stale cache ([`EndpointSliceTracker::stale_slices`]) and must wait, or it
//! would create duplicate slices or undo its own writes.

use std::collections::BTreeMap;

use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::SERVICE_NAME_LABEL;

/// The marker for a slice the controller deleted and expects to see go (`deletionExpected`).
const DELETION_EXPECTED: i64 = -1;

/// Expected slice generations by Service (`namespace/name`) and slice uid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointSliceTracker {
    generations: BTreeMap<String, BTreeMap<String, i64>>,
    /// The Service of each tracked slice uid, for deletions known only by uid.
    services: BTreeMap<String, String>,
}

/// The `namespace/name` of the Service a slice belongs to, by its service-name label.
pub fn service_key_of(slice: &EndpointSlice) -> Option<String> {
    let service = slice.metadata.labels.as_ref()?.get(SERVICE_NAME_LABEL)?;
    Some(format!("{}/{service}", slice.metadata.namespace.as_deref().unwrap_or("")))
}

impl EndpointSliceTracker {
    /// A tracker that has seen no write.
    pub fn new() -> EndpointSliceTracker {
        EndpointSliceTracker::default()
    }

    /// The controller wrote `slice` (as the API server returned it): its generation is the one
    /// to expect (`Update`).
    pub fn update(&mut self, slice: &EndpointSlice) {
        let (Some(service), Some(uid)) = (service_key_of(slice), slice.metadata.uid.clone()) else { return };
        let generation = slice.metadata.generation.unwrap_or(0);
        self.services.insert(uid.clone(), service.clone());
        self.generations.entry(service).or_default().insert(uid, generation);
    }

    /// The controller deleted the slice of this uid (`ExpectDeletion`).
    pub fn expect_deletion(&mut self, uid: &str) {
        if let Some(service) = self.services.get(uid) {
            self.generations.entry(service.clone()).or_default().insert(uid.to_owned(), DELETION_EXPECTED);
        }
    }

    /// The cache saw the slice of this uid go (`HandleDeletion`): nothing more to expect.
    pub fn handle_deletion(&mut self, uid: &str) {
        let Some(service) = self.services.remove(uid) else { return };
        if let Some(generations) = self.generations.get_mut(&service) {
            generations.remove(uid);
            if generations.is_empty() {
                self.generations.remove(&service);
            }
        }
    }

    /// The Service is gone: forget its slices (`DeleteService`).
    pub fn delete_service(&mut self, service_key: &str) {
        if let Some(generations) = self.generations.remove(service_key) {
            for uid in generations.keys() {
                self.services.remove(uid);
            }
        }
    }

    /// Whether an informer event about `slice` is worth a sync (`ShouldSync`): not when the
    /// controller already wrote a newer generation, or deleted it.
    pub fn should_sync(&self, slice: &EndpointSlice) -> bool {
        let Some(service) = service_key_of(slice) else { return true };
        let uid = slice.metadata.uid.as_deref().unwrap_or("");
        match self.generations.get(&service).and_then(|generations| generations.get(uid)) {
            Some(&DELETION_EXPECTED) => false,
            Some(expected) => slice.metadata.generation.unwrap_or(0) >= *expected,
            None => true,
        }
    }

    /// Whether the cached `slices` of the Service are older than what the controller wrote
    /// (`StaleSlices`): a tracked slice missing, older than written, or still there after the
    /// controller deleted it.
    pub fn stale_slices(&self, service_key: &str, slices: &[EndpointSlice]) -> bool {
        let Some(generations) = self.generations.get(service_key) else { return false };
        let mut provided = BTreeMap::new();
        for slice in slices {
            let uid = slice.metadata.uid.as_deref().unwrap_or("");
            let generation = slice.metadata.generation.unwrap_or(0);
            provided.insert(uid, generation);
            if let Some(expected) = generations.get(uid)
                && (*expected == DELETION_EXPECTED || *expected > generation)
            {
                return true;
            }
        }
        generations
            .iter()
            .any(|(uid, generation)| *generation != DELETION_EXPECTED && !provided.contains_key(uid.as_str()))
    }
}

#[cfg(test)]
mod tests {
    //! Ported from `endpointslice_tracker_test.go`: `TestEndpointSliceTrackerUpdate` (should
    //! sync by generation), `TestEndpointSliceTrackerStaleSlices` (its rows) and
    //! `TestEndpointSliceTrackerDeletion`.

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn slice(uid: &str, service: &str, generation: i64) -> EndpointSlice {
        EndpointSlice {
            metadata: ObjectMeta {
                name: Some(format!("{service}-{uid}")),
                namespace: Some("ns1".into()),
                uid: Some(uid.into()),
                generation: Some(generation),
                labels: Some([(SERVICE_NAME_LABEL.to_owned(), service.to_owned())].into()),
                ..ObjectMeta::default()
            },
            address_type: "IPv4".into(),
            endpoints: Vec::new(),
            ports: None,
        }
    }

    #[test]
    fn an_event_older_than_the_written_generation_is_not_worth_a_sync() {
        let mut tracker = EndpointSliceTracker::new();
        tracker.update(&slice("a", "svc1", 2));
        assert!(!tracker.should_sync(&slice("a", "svc1", 1)), "same slice, older generation");
        assert!(tracker.should_sync(&slice("a", "svc1", 2)), "same generation");
        assert!(tracker.should_sync(&slice("a", "svc1", 3)), "newer generation");
        assert!(tracker.should_sync(&slice("b", "svc1", 1)), "an untracked slice");
    }

    /// A row: name, tracked generations, slices seen, slices deleted, whether stale.
    type Row = (&'static str, Vec<(&'static str, i64)>, Vec<(&'static str, i64)>, Vec<&'static str>, bool);

    #[test]
    fn stale_slices_follow_kubernetes_rows() {
        let rows: Vec<Row> = vec![
            ("empty tracker", vec![], vec![], vec![], false),
            ("empty slices", vec![("a", 1)], vec![], vec![], true),
            ("matching tracker", vec![("a", 1)], vec![("a", 1)], vec![], false),
            ("newer slice in tracker", vec![("a", 2)], vec![("a", 1)], vec![], true),
            ("newer slice in cache", vec![("a", 1)], vec![("a", 2)], vec![], false),
            ("slice deleted by the controller still cached", vec![("a", 1)], vec![("a", 1)], vec!["a"], true),
            ("slice deleted by the controller gone", vec![("a", 1)], vec![], vec!["a"], false),
            ("one of two missing", vec![("a", 1), ("b", 1)], vec![("a", 1)], vec![], true),
        ];
        for (name, tracked, cached, deleted, stale) in rows {
            let mut tracker = EndpointSliceTracker::new();
            for (uid, generation) in tracked {
                tracker.update(&slice(uid, "svc1", generation));
            }
            for uid in deleted {
                tracker.expect_deletion(uid);
            }
            let cached: Vec<EndpointSlice> =
                cached.into_iter().map(|(uid, generation)| slice(uid, "svc1", generation)).collect();
            assert_eq!(tracker.stale_slices("ns1/svc1", &cached), stale, "{name}");
            assert!(!tracker.stale_slices("ns1/other", &cached), "{name}: other services are not stale");
        }
    }

    #[test]
    fn a_seen_deletion_and_a_deleted_service_are_forgotten() {
        let mut tracker = EndpointSliceTracker::new();
        tracker.update(&slice("a", "svc1", 1));
        tracker.update(&slice("b", "svc2", 1));
        tracker.expect_deletion("a");
        assert!(!tracker.should_sync(&slice("a", "svc1", 1)));
        tracker.handle_deletion("a");
        assert!(!tracker.stale_slices("ns1/svc1", &[]));
        tracker.delete_service("ns1/svc2");
        assert_eq!(tracker, EndpointSliceTracker::new());
    }
}
