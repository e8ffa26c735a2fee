//! The controller manager's event recorder: every event a controller records goes through
//! client-go's correlator ([`EventCorrelator`]) before it is written, so repeats PATCH the
//! existing event (its `count` and `lastTimestamp` grow), floods are aggregated and spam is
//! dropped, and new events get names that never collide. A PATCH whose event is gone (expired)
//! falls back to creating it, as client-go's `recordEvent` does.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::Timestamp;

use crate::api::ApiRequest;
use crate::client::RequestId;
use crate::client::events::{Correlated, EventCorrelator};
use crate::client::requests::RequestError;
use crate::client::requests::request_for_action;
use crate::controllers::{Action, PatchType};
use crate::object::kinds::GroupResource;

const EVENTS: GroupResource = GroupResource { group: "", resource: "events" };

/// Correlates events and remembers, per PATCH in flight, the create to send if it misses.
#[derive(Debug, Default)]
pub struct EventRecorder {
    correlator: EventCorrelator,
    fallbacks: BTreeMap<RequestId, ApiRequest>,
}

impl EventRecorder {
    /// A recorder that has seen no event.
    pub fn new() -> EventRecorder {
        EventRecorder::default()
    }

    /// The request recording `event` at `now`, to be sent under `id`; `None` when the spam
    /// filter drops the event.
    pub fn request(
        &mut self,
        id: RequestId,
        event: &Event,
        now: Timestamp,
    ) -> Option<Result<ApiRequest, RequestError>> {
        match self.correlator.correlate(event.clone(), now) {
            Correlated::Skip => None,
            Correlated::Create(event) => Some(request_for_action(&Action::Event { event })),
            Correlated::Patch { event, patch } => {
                let namespace = event.metadata.namespace.clone().unwrap_or_else(|| "default".to_owned());
                let name = event.metadata.name.clone().unwrap_or_default();
                let action = Action::Patch {
                    resource: EVENTS,
                    namespace,
                    name,
                    patch_type: PatchType::StrategicMerge,
                    body: patch,
                };
                if let Ok(create) = request_for_action(&Action::Event { event }) {
                    self.fallbacks.insert(id, create);
                }
                Some(request_for_action(&action))
            }
        }
    }

    /// Request `id` was answered with `status`: the create to send instead when it was an event
    /// PATCH that found no event.
    pub fn answered(&mut self, id: RequestId, status: u16) -> Option<ApiRequest> {
        let fallback = self.fallbacks.remove(&id)?;
        (status == 404).then_some(fallback)
    }
}
