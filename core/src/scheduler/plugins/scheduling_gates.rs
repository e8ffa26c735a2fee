//! SchedulingGates: a Pod whose `spec.schedulingGates` is not empty waits outside the active
//! queue (PreEnqueue) until the last gate is removed; the API server shows it as
//! `PodScheduled=False` with reason `SchedulingGated`.

use crate::scheduler::framework::{ActionType, ClusterEvent, Code, EventResource, Plugin, PreEnqueuePlugin, Status};
use crate::scheduler::node_info::PodInfo;

/// The plugin's registered name.
pub const NAME: &str = "SchedulingGates";

/// Keeps gated Pods out of the scheduling cycle.
#[derive(Clone, Copy, Debug, Default)]
pub struct SchedulingGates;

impl Plugin for SchedulingGates {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        // Only the Pod's own update can lift a gate; the queue re-runs PreEnqueue on it.
        vec![ClusterEvent { resource: EventResource::UnscheduledPod, action: ActionType::UPDATE }]
    }
    fn as_pre_enqueue(&self) -> Option<&dyn PreEnqueuePlugin> {
        Some(self)
    }
}

impl PreEnqueuePlugin for SchedulingGates {
    fn pre_enqueue(&self, pod: &PodInfo) -> Status {
        let gates = pod.spec().scheduling_gates.as_deref().unwrap_or(&[]);
        if gates.is_empty() {
            return Status::success();
        }
        let names: Vec<&str> = gates.iter().map(|gate| gate.name.as_str()).collect();
        Status::new(Code::UnschedulableAndUnresolvable, format!("waiting for scheduling gates: [{}]", names.join(" ")))
    }
}

#[cfg(test)]
mod tests {
    //! Ported from Kubernetes' `scheduling_gates_test.go` (`TestPreEnqueue`).

    use k8s_openapi::api::core::v1 as core;

    use super::*;
    use crate::scheduler::testing::make_pod;

    fn gated(names: &[&str]) -> PodInfo {
        let mut pod = make_pod("p").obj();
        pod.spec.get_or_insert_with(Default::default).scheduling_gates =
            Some(names.iter().map(|name| core::PodSchedulingGate { name: (*name).to_owned() }).collect());
        PodInfo::new(std::sync::Arc::new(pod))
    }

    #[test]
    fn pod_without_scheduling_gates_is_enqueued() {
        assert_eq!(SchedulingGates.pre_enqueue(&make_pod("p").info()), Status::success());
        assert_eq!(SchedulingGates.pre_enqueue(&gated(&[])), Status::success());
    }

    #[test]
    fn pod_carrying_scheduling_gates_waits_for_them() {
        assert_eq!(
            SchedulingGates.pre_enqueue(&gated(&["foo", "bar"])),
            Status::new(Code::UnschedulableAndUnresolvable, "waiting for scheduling gates: [foo bar]")
        );
    }
}
