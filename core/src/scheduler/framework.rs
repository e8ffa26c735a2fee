//! The scheduling framework's extension points, as kube-scheduler 1.32 defines them: one trait
//! per point, each with its contract; the per-cycle [`CycleState`]; and the [`Status`] every
//! plugin answers with.
//!
//! A plugin is one value implementing [`Plugin`] and any number of extension-point traits; the
//! `as_*` methods of [`Plugin`] say which (Rust's answer to Go's interface assertions). Every
//! method is pure: plugins read the Pod, the [`NodeInfo`] and the [`Snapshot`] they are given and
//! the state their earlier points stored, and never the store or a clock.

use std::any::Any;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1 as core;

use super::listers::ClusterObjects;
pub use super::node_batch::{NodeBatch, fill_verdicts};
use super::node_info::{NodeInfo, PodInfo};
use super::nominated_pods::NominatedPods;
use super::nominator::Nominator;
use super::snapshot::Snapshot;

/// What a plugin concluded (`framework.Code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// The plugin ran and found nothing wrong.
    Success,
    /// Something internal failed; the Pod is retried with backoff, the node is not blamed.
    Error,
    /// The Pod does not fit now; preemption or a cluster change may help.
    Unschedulable,
    /// The Pod does not fit, and preemption on this node cannot help.
    UnschedulableAndUnresolvable,
    /// A Permit plugin wants the Pod to wait before binding.
    Wait,
    /// The plugin does not apply to this Pod: PreFilter skips the plugin's Filter, PreScore its
    /// Score, Bind hands over to the next binder.
    Skip,
    /// The Pod waits for something outside the scheduler (only meaningful from PreEnqueue).
    Pending,
}

impl Code {
    /// Kubernetes' name of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Success => "Success",
            Code::Error => "Error",
            Code::Unschedulable => "Unschedulable",
            Code::UnschedulableAndUnresolvable => "UnschedulableAndUnresolvable",
            Code::Wait => "Wait",
            Code::Skip => "Skip",
            Code::Pending => "Pending",
        }
    }
}

/// A status's reasons: one is kept inline, so that a rejection with a fixed reason (the usual
/// Filter answer, given by thousands of nodes per cycle) allocates nothing.
#[derive(Clone, Debug)]
enum Reasons {
    None,
    One(Cow<'static, str>),
    Many(Vec<Cow<'static, str>>),
}

impl Reasons {
    fn from_vec(mut reasons: Vec<Cow<'static, str>>) -> Reasons {
        match reasons.len() {
            0 => Reasons::None,
            1 => reasons.pop().map_or(Reasons::None, Reasons::One),
            _ => Reasons::Many(reasons),
        }
    }

    fn as_slice(&self) -> &[Cow<'static, str>] {
        match self {
            Reasons::None => &[],
            Reasons::One(reason) => std::slice::from_ref(reason),
            Reasons::Many(reasons) => reasons,
        }
    }
}

impl PartialEq for Reasons {
    fn eq(&self, other: &Reasons) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Reasons {}

/// A plugin's answer: a code, human reasons, and the plugin that failed (`framework.Status`).
/// Success and single fixed reasons allocate nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    code: Code,
    reasons: Reasons,
    plugin: &'static str,
}

impl Status {
    /// Success, allocation-free.
    pub const fn success() -> Status {
        Status { code: Code::Success, reasons: Reasons::None, plugin: "" }
    }

    /// A status with one reason.
    pub fn new(code: Code, reason: impl Into<Cow<'static, str>>) -> Status {
        Status { code, reasons: Reasons::One(reason.into()), plugin: "" }
    }

    /// A status with several reasons.
    pub fn with_reasons(code: Code, reasons: Vec<Cow<'static, str>>) -> Status {
        Status { code, reasons: Reasons::from_vec(reasons), plugin: "" }
    }

    /// A status with no reason (Skip, Wait).
    pub const fn code_only(code: Code) -> Status {
        Status { code, reasons: Reasons::None, plugin: "" }
    }

    /// An internal error with its message.
    pub fn error(message: impl Into<Cow<'static, str>>) -> Status {
        Status::new(Code::Error, message)
    }

    /// The same status, attributed to a plugin.
    pub fn with_plugin(mut self, plugin: &'static str) -> Status {
        self.plugin = plugin;
        self
    }

    /// The code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The reasons, in the order the plugin gave them.
    pub fn reasons(&self) -> &[Cow<'static, str>] {
        self.reasons.as_slice()
    }

    /// The plugin that returned this status, once the framework attributed it.
    pub fn plugin(&self) -> &'static str {
        self.plugin
    }

    /// Whether the code is Success.
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    /// Whether the code is Skip.
    pub fn is_skip(&self) -> bool {
        self.code == Code::Skip
    }

    /// Whether the Pod was rejected (Unschedulable or UnschedulableAndUnresolvable).
    pub fn is_rejected(&self) -> bool {
        matches!(self.code, Code::Unschedulable | Code::UnschedulableAndUnresolvable)
    }

    /// The reasons joined by `, ` (Kubernetes' `Status.Message`).
    pub fn message(&self) -> String {
        self.reasons.as_slice().join(", ")
    }
}

impl fmt::Display for Status {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(out, "{}: {}", self.code.as_str(), self.message())
    }
}

/// Data one plugin stores in one cycle for its later points (`framework.StateData`). It must
/// be cloneable because preemption evaluates each candidate node on its own copy of the state
/// (`CycleState.Clone`), updated through the PreFilter AddPod/RemovePod extensions. Copies share
/// each entry until one of them changes it (see [`CycleState::read_mut`]).
pub trait StateData: Any + Send + Sync + Clone {}
impl<T: Any + Send + Sync + Clone> StateData for T {}

/// One stored entry: any [`StateData`], cloneable behind a box.
trait StateEntry: Any + Send + Sync {
    fn clone_entry(&self) -> Box<dyn StateEntry>;
}

impl<T: StateData> StateEntry for T {
    fn clone_entry(&self) -> Box<dyn StateEntry> {
        Box::new(self.clone())
    }
}

/// The concrete type behind an entry, read through `dyn Any` so the vtable answers.
fn entry_type_id(entry: &dyn StateEntry) -> std::any::TypeId {
    let any: &dyn Any = entry;
    any.type_id()
}

/// Per-Pod, per-cycle scratch space shared by the plugins of one profile
/// (`framework.CycleState`). Keys are the plugins' own names, so plugins cannot collide.
#[derive(Default)]
pub struct CycleState {
    /// A handful of entries, searched linearly: cheaper than a map for the few plugins of a
    /// profile, and read once per node per plugin. Shared between copies of the state until
    /// written: preemption copies the state for every node it dry-runs, and most entries are
    /// never changed there.
    data: Vec<(&'static str, Arc<dyn StateEntry>)>,
    /// Filter plugins whose PreFilter returned Skip.
    pub skip_filter_plugins: BTreeSet<&'static str>,
    /// Score plugins whose PreScore returned Skip.
    pub skip_score_plugins: BTreeSet<&'static str>,
    /// `skip_filter_plugins` as the bits the framework gave its plugins, for the checks made at
    /// every step of preemption's dry runs; trusted only while it holds one bit per skipped name.
    skip_filter_bits: u64,
}

impl fmt::Debug for CycleState {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        out.debug_struct("CycleState")
            .field("keys", &self.data.iter().map(|(key, _)| *key).collect::<Vec<_>>())
            .field("skip_filter_plugins", &self.skip_filter_plugins)
            .field("skip_score_plugins", &self.skip_score_plugins)
            .finish()
    }
}

impl Clone for CycleState {
    fn clone(&self) -> CycleState {
        CycleState {
            data: self.data.clone(),
            skip_filter_plugins: self.skip_filter_plugins.clone(),
            skip_score_plugins: self.skip_score_plugins.clone(),
            skip_filter_bits: self.skip_filter_bits,
        }
    }

    /// Reuses this state's allocations: preemption's dry run copies the cycle's state into one
    /// scratch state per node. The skip sets, written by PreFilter and PreScore only, are equal
    /// from the second node on and are then left alone rather than freed and built again.
    fn clone_from(&mut self, source: &CycleState) {
        self.data.clone_from(&source.data);
        if self.skip_filter_plugins != source.skip_filter_plugins {
            self.skip_filter_plugins.clone_from(&source.skip_filter_plugins);
        }
        if self.skip_score_plugins != source.skip_score_plugins {
            self.skip_score_plugins.clone_from(&source.skip_score_plugins);
        }
        self.skip_filter_bits = source.skip_filter_bits;
    }
}

impl CycleState {
    /// An empty state for a new cycle.
    pub fn new() -> CycleState {
        CycleState::default()
    }

    /// Entries are found by their type first (no string comparison on the per-node path) and
    /// by key only when two entries share a type.
    fn position<T: StateData>(&self, key: &'static str) -> Option<usize> {
        let type_id = std::any::TypeId::of::<T>();
        let mut found = None;
        for (index, (stored, value)) in self.data.iter().enumerate() {
            if entry_type_id(value.as_ref()) == type_id {
                if found.is_some() {
                    return self
                        .data
                        .iter()
                        .position(|(stored, value)| entry_type_id(value.as_ref()) == type_id && *stored == key);
                }
                found = Some((index, *stored));
            }
        }
        found.filter(|(_, stored)| std::ptr::eq(*stored, key) || stored.len() == key.len()).map(|(index, _)| index)
    }

    /// Whether the plugin's Filter is skipped this cycle. A scan of the few skipped names that
    /// compares lengths before bytes: asked for every plugin at every dry-run step of
    /// preemption, where walking the ordered set compared names byte by byte each time.
    pub fn skips_filter(&self, name: &str) -> bool {
        contains_name(&self.skip_filter_plugins, name)
    }

    /// Marks a plugin's Filter skipped this cycle; `bit` is the one bit the framework gave the
    /// plugin (0 when it gave none).
    pub fn skip_filter(&mut self, name: &'static str, bit: u64) {
        if self.skip_filter_plugins.insert(name) {
            self.skip_filter_bits |= bit;
        }
    }

    /// [`CycleState::skips_filter`] by the plugin's bit, when every skipped plugin was marked
    /// with its own bit; by name otherwise.
    #[inline]
    pub fn skips_filter_bit(&self, name: &str, bit: u64) -> bool {
        if bit != 0 && self.skip_filter_bits.count_ones() as usize == self.skip_filter_plugins.len() {
            return self.skip_filter_bits & bit != 0;
        }
        self.skips_filter(name)
    }

    /// Whether the plugin's Score is skipped this cycle (see [`CycleState::skips_filter`]).
    pub fn skips_score(&self, name: &str) -> bool {
        contains_name(&self.skip_score_plugins, name)
    }

    /// Stores a plugin's data under a key, replacing what was there.
    pub fn write<T: StateData>(&mut self, key: &'static str, value: T) {
        match self.position::<T>(key) {
            Some(index) => self.data[index].1 = Arc::new(value),
            None => self.data.push((key, Arc::new(value))),
        }
    }

    /// Reads a plugin's data, if stored with this type.
    pub fn read<T: StateData>(&self, key: &'static str) -> Option<&T> {
        self.position::<T>(key).and_then(|index| {
            let any: &dyn Any = self.data[index].1.as_ref();
            any.downcast_ref::<T>()
        })
    }

    /// Reads a plugin's data mutably, if stored with this type; an entry shared with a copy of
    /// this state is copied first, so the other copies do not see the change.
    pub fn read_mut<T: StateData>(&mut self, key: &'static str) -> Option<&mut T> {
        let index = self.position::<T>(key)?;
        let entry = &mut self.data[index].1;
        if Arc::get_mut(entry).is_none() {
            // Called on the entry itself: the handle is cloneable data too, and its copy would
            // still be shared.
            let copy: Box<dyn StateEntry> = StateEntry::clone_entry(&**entry);
            *entry = Arc::from(copy);
        }
        let any: &mut dyn Any = Arc::get_mut(entry).expect("an entry just copied is not shared");
        any.downcast_mut::<T>()
    }
}

/// Whether a small set of plugin names holds `name`: same length first, then the same text
/// (usually the same static string, so the same pointer).
fn contains_name(names: &BTreeSet<&'static str>, name: &str) -> bool {
    names.iter().any(|held| held.len() == name.len() && (std::ptr::eq(held.as_ptr(), name.as_ptr()) || *held == name))
}

/// A PreFilter's narrowing of the candidate nodes (`framework.PreFilterResult`); `None` means
/// every node. Results of several plugins are intersected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreFilterResult {
    /// The only nodes worth filtering, or `None` for all.
    pub node_names: Option<BTreeSet<String>>,
}

impl PreFilterResult {
    /// Whether every node remains a candidate.
    pub fn all_nodes(&self) -> bool {
        self.node_names.is_none()
    }

    /// The intersection of two results.
    pub fn merge(self, other: PreFilterResult) -> PreFilterResult {
        match (self.node_names, other.node_names) {
            (None, other) | (other, None) => PreFilterResult { node_names: other },
            (Some(left), Some(right)) => {
                PreFilterResult { node_names: Some(left.intersection(&right).cloned().collect()) }
            }
        }
    }
}

/// Why each node was rejected in one cycle, by the node's position in the cycle's snapshot
/// ([`Snapshot::list`]), and the status assumed for nodes not listed (`framework.NodeToStatus`):
/// UnschedulableAndUnresolvable when PreFilter narrowed the nodes, else nothing.
///
/// Keyed by position rather than by name: a failing cycle rejects every node, and copying
/// thousands of names into a sorted map per cycle cost as much as the filters themselves. What
/// reads the statuses counts reasons or walks the nodes by position; a lookup by name goes
/// through the snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeToStatus {
    /// The explicit statuses, each node at most once, in the order they were found.
    pub statuses: Vec<(usize, Status)>,
    /// The status of every node without an explicit one (nodes PreFilter ruled out).
    pub absent: Option<Status>,
}

impl NodeToStatus {
    /// The status of the node at this position of the snapshot (one pass over the statuses:
    /// read once per PostFilter, for the nominated node).
    pub fn get(&self, position: usize) -> Option<&Status> {
        let explicit = self.statuses.iter().find(|(at, _)| *at == position).map(|(_, status)| status);
        explicit.or(self.absent.as_ref())
    }

    /// How many nodes have an explicit status.
    pub fn len(&self) -> usize {
        self.statuses.len()
    }

    /// Whether no node has an explicit status.
    pub fn is_empty(&self) -> bool {
        self.statuses.is_empty()
    }
}

/// A PostFilter's proposal (`framework.PostFilterResult`): the node the Pod should be
/// nominated to after preemption, and the Pods to evict for it.
#[derive(Clone, Debug, Default)]
pub struct PostFilterResult {
    /// The nominated node name; `Some("")` clears the Pod's earlier nomination
    /// (`NewPostFilterResultWithNominatedNode("")`).
    pub nominated_node_name: Option<String>,
    /// Pods to evict so the preemptor fits, most important first.
    pub victims: Vec<Arc<PodInfo>>,
}

/// What a Bind plugin decided.
#[derive(Clone, Debug, PartialEq)]
pub enum BindDecision {
    /// Post this Binding to the Pod's binding subresource.
    Bind(Box<core::Binding>),
    /// This binder does not handle the Pod; ask the next.
    Skip,
    /// Binding is impossible.
    Failed(Status),
}

/// The kinds of objects whose changes can make a Pod schedulable (`framework.EventResource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventResource {
    /// A Pod already bound to a node.
    AssignedPod,
    /// A Pod not bound to a node.
    UnscheduledPod,
    /// A Node.
    Node,
    /// A PersistentVolume.
    PersistentVolume,
    /// A PersistentVolumeClaim.
    PersistentVolumeClaim,
    /// A StorageClass.
    StorageClass,
    /// Anything: used for the periodic flush and forced moves.
    WildCard,
}

/// What changed (`framework.ActionType`), as bits so a plugin can register several at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActionType(pub u32);

impl ActionType {
    /// An object was added.
    pub const ADD: ActionType = ActionType(1);
    /// An object was deleted.
    pub const DELETE: ActionType = ActionType(1 << 1);
    /// A Node's allocatable changed.
    pub const UPDATE_NODE_ALLOCATABLE: ActionType = ActionType(1 << 2);
    /// A Node's labels changed.
    pub const UPDATE_NODE_LABEL: ActionType = ActionType(1 << 3);
    /// A Node's taints changed (or `spec.unschedulable`).
    pub const UPDATE_NODE_TAINT: ActionType = ActionType(1 << 4);
    /// A Node's conditions changed.
    pub const UPDATE_NODE_CONDITION: ActionType = ActionType(1 << 5);
    /// A Node's annotations changed.
    pub const UPDATE_NODE_ANNOTATION: ActionType = ActionType(1 << 6);
    /// A Pod's labels changed.
    pub const UPDATE_POD_LABEL: ActionType = ActionType(1 << 7);
    /// A Pod's requests shrank.
    pub const UPDATE_POD_SCALE_DOWN: ActionType = ActionType(1 << 8);
    /// A Pod's tolerations changed.
    pub const UPDATE_POD_TOLERATIONS: ActionType = ActionType(1 << 9);
    /// Any update.
    pub const UPDATE: ActionType = ActionType(0b11_1111_1100);
    /// Anything.
    pub const ALL: ActionType = ActionType(u32::MAX);

    /// Whether the two sets share an action.
    pub fn intersects(self, other: ActionType) -> bool {
        self.0 & other.0 != 0
    }

    /// The union of two sets.
    pub const fn or(self, other: ActionType) -> ActionType {
        ActionType(self.0 | other.0)
    }
}

/// A change in the cluster that may make Pods schedulable (`framework.ClusterEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClusterEvent {
    /// What kind of object changed.
    pub resource: EventResource,
    /// How it changed.
    pub action: ActionType,
}

impl ClusterEvent {
    /// Whether a plugin that registered `self` cares about `event`.
    pub fn matches(&self, event: &ClusterEvent) -> bool {
        let resource_matches = self.resource == EventResource::WildCard
            || event.resource == EventResource::WildCard
            || self.resource == event.resource;
        resource_matches && self.action.intersects(event.action)
    }
}

/// A scheduler plugin: its name, the extension points it implements, and the cluster events
/// that can undo its rejections (`framework.Plugin` plus `EnqueueExtensions`).
pub trait Plugin: Send + Sync + fmt::Debug {
    /// The plugin's registered name, as configuration files spell it.
    fn name(&self) -> &'static str;

    /// Cluster events after which a Pod this plugin rejected may fit. An empty list means any
    /// event (Kubernetes' behaviour for plugins without `EventsToRegister`).
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        Vec::new()
    }

    /// The PreEnqueue point, if implemented.
    fn as_pre_enqueue(&self) -> Option<&dyn PreEnqueuePlugin> {
        None
    }
    /// The QueueSort point, if implemented.
    fn as_queue_sort(&self) -> Option<&dyn QueueSortPlugin> {
        None
    }
    /// The PreFilter point, if implemented.
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        None
    }
    /// The Filter point, if implemented.
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        None
    }
    /// The PostFilter point, if implemented.
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        None
    }
    /// The PreScore point, if implemented.
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        None
    }
    /// The Score point, if implemented.
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        None
    }
    /// The Reserve point, if implemented.
    fn as_reserve(&self) -> Option<&dyn ReservePlugin> {
        None
    }
    /// The Permit point, if implemented.
    fn as_permit(&self) -> Option<&dyn PermitPlugin> {
        None
    }
    /// The PreBind point, if implemented.
    fn as_pre_bind(&self) -> Option<&dyn PreBindPlugin> {
        None
    }
    /// The Bind point, if implemented.
    fn as_bind(&self) -> Option<&dyn BindPlugin> {
        None
    }
}

/// PreEnqueue: whether a pending Pod may enter the active queue at all. Anything but Success
/// keeps the Pod waiting outside the scheduling cycle (gated) until the Pod itself changes; the
/// check must be cheap, as it runs on every add and update of a pending Pod.
pub trait PreEnqueuePlugin: Plugin {
    /// Decides whether the Pod may be queued for scheduling.
    fn pre_enqueue(&self, pod: &PodInfo) -> Status;
}

/// QueueSort: orders the active queue. Exactly one per scheduler, shared by all profiles.
pub trait QueueSortPlugin: Plugin {
    /// Whether `left` should be scheduled before `right`. Must be a strict weak order.
    fn less(&self, left: &QueuedPodView<'_>, right: &QueuedPodView<'_>) -> bool;
}

/// What QueueSort sees of a queued Pod.
#[derive(Clone, Copy, Debug)]
pub struct QueuedPodView<'a> {
    /// The Pod.
    pub pod: &'a PodInfo,
    /// When the Pod (re-)entered the active queue.
    pub timestamp: crate::jiff::Timestamp,
}

/// PreFilter: runs once per cycle before any Filter. Precomputes what Filter needs into the
/// CycleState, may reject the Pod outright (an Unschedulable status ends the cycle for all
/// nodes), may narrow the nodes to a set ([`PreFilterResult`]), and may return Skip to have its
/// Filter skipped for this Pod.
pub trait PreFilterPlugin: Plugin {
    /// Runs the PreFilter.
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status);

    /// PreFilterExtensions.AddPod: updates the precomputed state as if `pod_to_add` ran on
    /// `node` (used when evaluating nominated Pods and preemption). Default: nothing to update.
    fn add_pod(&self, _state: &mut CycleState, _pod: &PodInfo, _pod_to_add: &PodInfo, _node: &NodeInfo) -> Status {
        Status::success()
    }

    /// PreFilterExtensions.RemovePod: the inverse of [`PreFilterPlugin::add_pod`].
    fn remove_pod(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _pod_to_remove: &PodInfo,
        _node: &NodeInfo,
    ) -> Status {
        Status::success()
    }
}

/// Filter: whether the Pod can run on one node. Called for many nodes with the same state; must
/// not mutate anything and must be cheap. Returns Success, Unschedulable (preemption may help),
/// UnschedulableAndUnresolvable (it cannot) or Error, with reasons people read in the
/// FailedScheduling event.
pub trait FilterPlugin: Plugin {
    /// Runs the Filter for one node.
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;

    /// Runs the Filter for a batch of nodes: for each node of the batch whose `verdicts[i]` is
    /// still `None` (no earlier plugin rejected it), stores `Some(status)` when the status is not
    /// Success. The verdicts must be those [`FilterPlugin::filter`] gives node by node (the
    /// default does exactly that); the in-tree plugins override it to read their PreFilter state
    /// once per batch instead of once per node, and to decide from the batch's packed counters
    /// where they can. Out-of-tree plugins need only `filter`.
    fn filter_nodes(&self, state: &CycleState, pod: &PodInfo, batch: &NodeBatch<'_>, verdicts: &mut [Option<Status>]) {
        fill_verdicts(batch, verdicts, |node, _| self.filter(state, pod, node));
    }
}

/// PostFilter: runs only when no node passed Filter; may make room (preemption) and nominate a
/// node. Returns Success with a result when it did, Unschedulable with a message otherwise.
pub trait PostFilterPlugin: Plugin {
    /// Runs the PostFilter with the statuses every node got.
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        statuses: &NodeToStatus,
        context: &PostFilterContext<'_>,
    ) -> (Option<PostFilterResult>, Status);
}

/// What a PostFilter may use: the snapshot, the profile's Filter plugins (to re-run them on
/// hypothetical nodes), the nominated Pods, and a draw from the scheduler's seeded generator.
pub struct PostFilterContext<'a> {
    /// The cycle's snapshot.
    pub snapshot: &'a Snapshot,
    /// Re-runs PreFilter extensions and Filters on a modified node.
    pub filters: &'a dyn FilterRunner,
    /// The Pods nominated to nodes and not bound yet.
    pub nominator: &'a Nominator,
    /// The nominated Pods this attempt counts, by node position.
    pub nominated: &'a NominatedPods,
    /// A number drawn from the scheduler's seeded generator for this cycle (preemption's random
    /// offset into the candidate nodes).
    pub random: u64,
}

/// Where a node with the Pods nominated to it added is built, and its cycle state: one copy
/// overwritten node after node instead of a fresh one each time.
#[derive(Default)]
pub struct NominatedScratch {
    /// The cycle state with the nominated Pods' AddPod extensions applied.
    pub state: CycleState,
    /// The node with the nominated Pods added.
    pub node: NodeInfo,
}

/// Running the profile's filters on one node.
pub trait FilterRunner {
    /// Runs every Filter on the node; the first rejection wins.
    fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
    /// The Filters this cycle runs, resolved once: preemption's dry run runs them several times
    /// per node.
    fn active_filter_list(&self, state: &CycleState) -> Vec<(&'static str, &dyn FilterPlugin)>;
    /// Runs the resolved Filters (from [`FilterRunner::active_filter_list`] for this state:
    /// AddPod and RemovePod do not change which Filters run) as if the `nominated` Pods were
    /// running on the node, then, if that passed, without them
    /// (`RunFilterPluginsWithNominatedPods`). The node with them is built in `scratch`.
    fn run_active_filters_with_nominated(
        &self,
        filters: &[(&'static str, &dyn FilterPlugin)],
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        nominated: &[Arc<PodInfo>],
        scratch: &mut NominatedScratch,
    ) -> Status;
    /// Runs every PreFilter's AddPod extension.
    fn run_add_pod(&self, state: &mut CycleState, pod: &PodInfo, added: &PodInfo, node: &NodeInfo) -> Status;
    /// Runs every PreFilter's RemovePod extension.
    fn run_remove_pod(&self, state: &mut CycleState, pod: &PodInfo, victim: &PodInfo, node: &NodeInfo) -> Status;
}

/// PreScore: runs once per cycle with the feasible nodes, before any Score; precomputes what
/// Score needs. Skip skips the plugin's Score for this Pod.
pub trait PreScorePlugin: Plugin {
    /// Runs the PreScore.
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, nodes: &[&NodeInfo], snapshot: &Snapshot) -> Status;

    /// Runs the PreScore over a batch, whose nodes come with their snapshot positions: the same
    /// outcome as [`PreScorePlugin::pre_score`] on the batch's nodes (the default does exactly
    /// that). In-tree plugins override it to keep state the batch Score reads by position.
    fn pre_score_batch(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        batch: &NodeBatch<'_>,
        snapshot: &Snapshot,
    ) -> Status {
        self.pre_score(state, pod, batch.nodes(), snapshot)
    }
}

/// Score: ranks one feasible node. Scores must lie in `[MIN_NODE_SCORE, MAX_NODE_SCORE]` after
/// [`ScorePlugin::normalize_score`]; the framework then multiplies by the plugin's weight.
pub trait ScorePlugin: Plugin {
    /// Scores one node.
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status>;

    /// Scores a batch of nodes, pushing each node's score onto `scores` in order: the same
    /// numbers as [`ScorePlugin::score`] node by node (the default does exactly that). The
    /// in-tree plugins override it to read their PreScore state once per batch instead of once
    /// per node, and to score from the batch's packed counters where they can; out-of-tree
    /// plugins need only `score`.
    fn score_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        batch: &NodeBatch<'_>,
        scores: &mut Vec<i64>,
    ) -> Result<(), Status> {
        for node in batch.nodes() {
            scores.push(self.score(state, pod, node)?);
        }
        Ok(())
    }

    /// NormalizeScore: rescales all of this plugin's scores at once; `scores[i]` belongs to the
    /// i-th feasible node. Default: the scores are already in range.
    fn normalize_score(&self, _state: &CycleState, _pod: &PodInfo, _scores: &mut [i64]) -> Status {
        Status::success()
    }
}

/// Reserve: the Pod is about to be assumed on a node; the plugin reserves what it tracks. If any
/// Reserve fails or a later point rejects the Pod, every Reserve plugin's `unreserve` runs in
/// reverse order. Unreserve must be idempotent and must not fail.
pub trait ReservePlugin: Plugin {
    /// Reserves resources for the Pod on the node.
    fn reserve(&self, state: &mut CycleState, pod: &PodInfo, node_name: &str) -> Status;
    /// Releases what `reserve` took (also called when `reserve` itself was never reached).
    fn unreserve(&self, state: &mut CycleState, pod: &PodInfo, node_name: &str);
}

/// Permit: the last gate before binding. Success lets the Pod bind; Wait holds it for at most the
/// returned duration (it is rejected when that passes); a rejection unreserves it.
pub trait PermitPlugin: Plugin {
    /// Decides whether the Pod may bind to the node now.
    fn permit(&self, state: &mut CycleState, pod: &PodInfo, node_name: &str) -> (Status, Duration);
}

/// One write a PreBind plugin needs made through the API before the Pod may be bound.
#[derive(Clone, Debug, PartialEq)]
pub enum PreBindWrite {
    /// PUT this PersistentVolume (a compare-and-swap on its resourceVersion): VolumeBinding's
    /// `claimRef` for a static binding.
    UpdatePersistentVolume(Box<core::PersistentVolume>),
    /// Merge these annotations into a claim: VolumeBinding's selected node for provisioning.
    AnnotatePersistentVolumeClaim {
        /// The claim's namespace.
        namespace: String,
        /// The claim's name.
        name: String,
        /// The annotations to set.
        annotations: BTreeMap<String, String>,
    },
}

/// PreBind: work that must finish before the binding (volumes). A failure unreserves the Pod.
///
/// Kubernetes' PreBind blocks its binding goroutine while API writes land; here PreBind
/// returns `Wait`, the scheduler sends [`PreBindPlugin::pre_bind_writes`] and keeps the Pod
/// assumed, and asks [`PreBindPlugin::pre_bind_done`] again whenever the objects the plugin reads
/// change, binding once every plugin says Success.
pub trait PreBindPlugin: Plugin {
    /// Prepares the node for the Pod: Success, Wait (writes to make, then wait) or a failure.
    fn pre_bind(&self, state: &CycleState, pod: &PodInfo, node_name: &str) -> Status;

    /// The API writes a `Wait` from [`PreBindPlugin::pre_bind`] stands for.
    fn pre_bind_writes(&self, _state: &CycleState, _pod: &PodInfo, _node_name: &str) -> Vec<PreBindWrite> {
        Vec::new()
    }

    /// Whether what a `Wait` waited for has happened, judged from the current `objects`:
    /// Success, Wait (not yet) or a failure that sends the Pod back to be scheduled again.
    fn pre_bind_done(
        &self,
        _state: &CycleState,
        _pod: &PodInfo,
        _node_name: &str,
        _objects: &ClusterObjects,
    ) -> Status {
        Status::success()
    }
}

/// Bind: binds the Pod to the node. Binders run in order until one does not Skip.
pub trait BindPlugin: Plugin {
    /// Produces the binding to post, Skip, or a failure.
    fn bind(&self, state: &CycleState, pod: &PodInfo, node_name: &str) -> BindDecision;
}
