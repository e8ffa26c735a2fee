//! PrioritySort: the active queue serves higher `spec.priority` first, then the Pod that entered
//! the queue earlier.

use crate::scheduler::framework::{Plugin, QueueSortPlugin, QueuedPodView};

/// The plugin's registered name.
pub const NAME: &str = "PrioritySort";

/// Orders Pods by priority, then by queue timestamp.
#[derive(Clone, Copy, Debug, Default)]
pub struct PrioritySort;

impl Plugin for PrioritySort {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_queue_sort(&self) -> Option<&dyn QueueSortPlugin> {
        Some(self)
    }
}

impl QueueSortPlugin for PrioritySort {
    fn less(&self, left: &QueuedPodView<'_>, right: &QueuedPodView<'_>) -> bool {
        let (left_priority, right_priority) = (left.pod.priority, right.pod.priority);
        left_priority > right_priority || (left_priority == right_priority && left.timestamp < right.timestamp)
    }
}
