//! Pods whose PreBind waits on API writes (VolumeBinding's claimRef or selected node): the
//! writes go out as effects, the Pod stays assumed on its node, and whenever a volume object
//! changes (or time passes) each waiting Pod's PreBind is asked whether its wait is over; then
//! it is bound, or unreserved and sent back to be scheduled again. Pods are checked in key
//! order, so the outcome does not depend on anything but the inputs.

use std::sync::Arc;

use super::{Effect, Scheduler};
use crate::jiff::Timestamp;
use crate::scheduler::framework::{Code, CycleState, PreBindWrite, Status};
use crate::scheduler::node_info::{PodInfo, PodKey};
use crate::scheduler::queue::QueuedPodInfo;
use crate::scheduler::schedule_one::DecisionTrace;

/// The message a wait that outlasted `BIND_TIMEOUT` fails with.
pub const BIND_TIMEOUT_MESSAGE: &str = "binding volumes: timed out waiting for the condition";

/// One Pod between PreBind and Bind.
#[derive(Debug)]
pub(super) struct WaitingOnPreBind {
    pub(super) profile: usize,
    pub(super) info: QueuedPodInfo,
    pub(super) state: CycleState,
    pub(super) assumed: Arc<PodInfo>,
    pub(super) host: String,
    pub(super) trace: Option<DecisionTrace>,
    pub(super) deadline: Timestamp,
}

impl Scheduler {
    /// Sends the writes and parks the Pod until its PreBind's wait is over.
    pub(super) fn wait_on_pre_bind(
        &mut self,
        waiting: WaitingOnPreBind,
        writes: Vec<PreBindWrite>,
        effects: &mut Vec<Effect>,
    ) {
        let key = waiting.info.pod.key.clone();
        self.queue.done(&key);
        for write in writes {
            effects.push(Effect::PreBindWrite { pod: key.clone(), write });
        }
        self.waiting_on_pre_bind.insert(key, waiting);
    }

    /// The earliest deadline of a waiting Pod, for the component's next wake-up.
    pub fn pre_bind_deadline(&self) -> Option<Timestamp> {
        self.waiting_on_pre_bind.values().map(|waiting| waiting.deadline).min()
    }

    /// How many Pods wait between PreBind and Bind.
    pub fn waiting_on_pre_bind(&self) -> usize {
        self.waiting_on_pre_bind.len()
    }

    /// Asks each waiting Pod's PreBind whether its wait is over, and finishes those whose is.
    pub(super) fn check_pre_bind_waits(&mut self, now: Timestamp, effects: &mut Vec<Effect>) {
        let keys: Vec<PodKey> = self.waiting_on_pre_bind.keys().cloned().collect();
        for key in keys {
            let Some(waiting) = self.waiting_on_pre_bind.get(&key) else { continue };
            let status = if now >= waiting.deadline {
                Status::error(BIND_TIMEOUT_MESSAGE)
            } else {
                let framework = &self.frameworks[waiting.profile];
                framework.run_pre_bind_done(&waiting.state, &waiting.assumed, &waiting.host, self.cache.objects())
            };
            if status.code() == Code::Wait {
                continue;
            }
            let Some(waiting) = self.waiting_on_pre_bind.remove(&key) else { continue };
            let WaitingOnPreBind { profile, info, mut state, assumed, host, trace, .. } = waiting;
            self.finish_binding_cycle(profile, info, &mut state, &assumed, &host, status, trace, now, effects);
        }
    }
}
