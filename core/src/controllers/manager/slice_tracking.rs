//! Where the manager feeds the EndpointSlice tracker: the slices the EndpointSlice controller
//! wrote (from the API server's answers), the deletions it asked for, the cache seeing slices
//! and Services go; and the check that keeps a Service's sync from running on a stale cache
//! (Kubernetes' `StaleSlices` guard in `syncService`).

use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::Value;

use super::caches::{BY_SERVICE, Caches, Observed};
use crate::client::informer::Change;
use crate::controllers::Action;
use crate::controllers::endpointslice::EndpointSliceTracker;

/// Whether the action writes an EndpointSlice.
fn is_slice_write(action: &Action) -> bool {
    match action {
        Action::Create { object, .. } | Action::Update { object } => object.kind == "EndpointSlice",
        Action::Delete { resource, .. } => resource.resource == "endpointslices",
        _ => false,
    }
}

/// A successful answer to one of the EndpointSlice controller's actions.
pub fn observe_answer(tracker: &mut EndpointSliceTracker, action: &Action, body: &Value) {
    if !is_slice_write(action) {
        return;
    }
    match action {
        Action::Delete { preconditions, .. } => {
            if let Some(uid) = preconditions.uid.as_deref() {
                tracker.expect_deletion(uid);
            }
        }
        _ => {
            if let Ok(slice) = serde_json::from_value::<EndpointSlice>(body.clone()) {
                tracker.update(&slice);
            }
        }
    }
}

/// A change the caches saw: a slice or a Service gone is forgotten.
pub fn observe_change(tracker: &mut EndpointSliceTracker, observed: &Observed) {
    match observed {
        Observed::EndpointSlice(Change::Deleted(slice)) => {
            tracker.handle_deletion(slice.metadata.uid.as_deref().unwrap_or(""));
        }
        Observed::Service(Change::Deleted(service)) => {
            let namespace = service.metadata.namespace.as_deref().unwrap_or("");
            tracker.delete_service(&format!("{namespace}/{}", service.metadata.name.as_deref().unwrap_or("")));
        }
        _ => {}
    }
}

/// Whether the cached slices of Service `namespace/name` are older than what the controller
/// wrote: the sync must wait for the cache rather than create duplicates.
pub fn stale(tracker: &EndpointSliceTracker, caches: &Caches, namespace: &str, name: &str) -> bool {
    let service_key = format!("{namespace}/{name}");
    let slices: Vec<EndpointSlice> =
        caches.endpoint_slices.by_index(BY_SERVICE, &service_key).map(|slice| slice.as_ref().clone()).collect();
    tracker.stale_slices(&service_key, &slices)
}
