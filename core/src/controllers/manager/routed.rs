//! What one observed change means for the controllers: the keys it wakes and the expectations
//! it fulfils. Every routing function fills one of these; the manager applies it.

use std::time::Duration;

use super::kinds::ControllerKind;

/// What a change means for the controllers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Routed {
    /// Keys to queue, per controller.
    pub enqueue: Vec<(ControllerKind, String)>,
    /// Creations observed: (controller, controller key).
    pub created: Vec<(ControllerKind, String)>,
    /// Deletions observed: (controller, controller key, deleted object's key).
    pub deleted: Vec<(ControllerKind, String, String)>,
    /// Controllers whose object is gone: drop their expectations.
    pub forget: Vec<(ControllerKind, String)>,
    /// Keys to queue once a delay has passed, per controller.
    pub enqueue_after: Vec<(ControllerKind, String, Duration)>,
}
