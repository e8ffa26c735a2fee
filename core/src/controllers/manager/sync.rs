//! One key's sync in flight: the reconcile's actions sent batch by batch (a batch's requests go
//! out together; the next batch waits for every answer), and what to do with the key when the
//! last answer is in. A failed action skips every later batch, as `slowStartBatch` does (unless
//! the reconcile marked its batches independent); the key is then retried with back-off.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use super::kinds::ControllerKind;
use crate::client::RequestId;
use crate::controllers::{Action, Reconciled};

/// How a sync ended.
#[derive(Clone, Debug, PartialEq)]
pub enum SyncOutcome {
    /// Every action succeeded; look again after this long, if set.
    Succeeded {
        /// The reconcile's requeue delay.
        requeue_after: Option<Duration>,
    },
    /// An action failed; these actions were not done (failed or skipped).
    Failed {
        /// Indexes of the actions that were not done.
        not_done: Vec<usize>,
        /// The first failure's message.
        message: String,
    },
}

/// A sync whose actions are being carried out.
#[derive(Clone, Debug)]
pub struct RunningSync {
    /// The controller.
    pub controller: ControllerKind,
    /// The key being synced.
    pub key: String,
    /// The reconcile's actions.
    pub actions: Vec<Action>,
    batches: Vec<Range<usize>>,
    next_batch: usize,
    outstanding: BTreeMap<RequestId, usize>,
    failed: Vec<usize>,
    message: Option<String>,
    requeue_after: Option<Duration>,
    independent_batches: bool,
}

impl RunningSync {
    /// A sync for the reconcile's result.
    pub fn new(controller: ControllerKind, key: String, reconciled: Reconciled) -> RunningSync {
        let mut batches = Vec::new();
        let mut start = 0;
        for batch in reconciled.batches() {
            batches.push(start..start + batch.len());
            start += batch.len();
        }
        RunningSync {
            controller,
            key,
            actions: reconciled.actions,
            batches,
            next_batch: 0,
            outstanding: BTreeMap::new(),
            failed: Vec::new(),
            message: None,
            requeue_after: reconciled.requeue_after,
            independent_batches: reconciled.independent_batches,
        }
    }

    /// The indexes of the next batch's actions, marking them sent under ids from `next_id`;
    /// `None` when no batch is left.
    pub fn next_batch(&mut self, next_id: &mut RequestId) -> Option<Vec<(RequestId, usize)>> {
        let batch = self.batches.get(self.next_batch)?.clone();
        self.next_batch += 1;
        let mut sent = Vec::new();
        for index in batch {
            let id = *next_id;
            *next_id += 1;
            self.outstanding.insert(id, index);
            sent.push((id, index));
        }
        Some(sent)
    }

    /// The action sent under `id`, while its answer is awaited.
    pub fn outstanding_action(&self, id: RequestId) -> Option<&Action> {
        self.outstanding.get(&id).map(|index| &self.actions[*index])
    }

    /// Records the answer to one action; returns its index.
    pub fn answered(&mut self, id: RequestId, failure: Option<String>) -> Option<usize> {
        let index = self.outstanding.remove(&id)?;
        if let Some(message) = failure {
            self.failed.push(index);
            self.message.get_or_insert(message);
        }
        Some(index)
    }

    /// Marks an action as failed before it was sent (no request could be built for it).
    pub fn failed_to_send(&mut self, index: usize, message: String) {
        self.failed.push(index);
        self.message.get_or_insert(message);
    }

    /// Whether the current batch is still waiting for answers.
    pub fn waiting(&self) -> bool {
        !self.outstanding.is_empty()
    }

    /// Once the current batch is answered: `None` if another batch should go out, else how the
    /// sync ended.
    pub fn outcome(&self) -> Option<SyncOutcome> {
        if self.waiting() {
            return None;
        }
        if self.independent_batches && self.next_batch < self.batches.len() {
            return None;
        }
        if let Some(message) = &self.message {
            let sent_end =
                self.next_batch.checked_sub(1).and_then(|last| self.batches.get(last)).map_or(0, |batch| batch.end);
            let mut not_done = self.failed.clone();
            not_done.extend(sent_end..self.actions.len());
            return Some(SyncOutcome::Failed { not_done, message: message.clone() });
        }
        if self.next_batch < self.batches.len() {
            return None;
        }
        Some(SyncOutcome::Succeeded { requeue_after: self.requeue_after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::action::PatchType;
    use crate::object::kinds::GroupResource;

    fn patch(name: &str) -> Action {
        Action::Patch {
            resource: GroupResource { group: "", resource: "nodes" },
            namespace: String::new(),
            name: name.to_owned(),
            patch_type: PatchType::Merge,
            body: serde_json::json!({}),
        }
    }

    /// Sends every batch, failing the first action; returns the indexes sent and the outcome.
    fn run(independent_batches: bool) -> (Vec<usize>, Option<SyncOutcome>) {
        let reconciled = Reconciled {
            actions: vec![patch("a"), patch("b"), patch("c")],
            independent_batches,
            ..Reconciled::default()
        };
        let mut sync = RunningSync::new(ControllerKind::NodeLifecycle, "(monitor)".into(), reconciled);
        let mut next_id = 0;
        let mut sent = Vec::new();
        while let Some(batch) = sync.next_batch(&mut next_id) {
            for (id, index) in batch {
                sent.push(index);
                sync.answered(id, (index == 0).then(|| "409 Conflict".to_owned()));
            }
            if let Some(outcome) = sync.outcome() {
                return (sent, Some(outcome));
            }
        }
        (sent, sync.outcome())
    }

    #[test]
    fn a_failed_batch_skips_the_later_ones() {
        let (sent, outcome) = run(false);
        assert_eq!(sent, vec![0]);
        assert_eq!(outcome, Some(SyncOutcome::Failed { not_done: vec![0, 1, 2], message: "409 Conflict".into() }));
    }

    #[test]
    fn independent_batches_all_go_out_and_only_the_failed_one_is_not_done() {
        let (sent, outcome) = run(true);
        assert_eq!(sent, vec![0, 1, 2]);
        assert_eq!(outcome, Some(SyncOutcome::Failed { not_done: vec![0], message: "409 Conflict".into() }));
    }
}
