//! VolumeBinding: a Pod fits a node only if every PersistentVolumeClaim it uses can be
//! satisfied there — a bound claim's volume must admit the node by its node affinity, an
//! unbound claim of a `WaitForFirstConsumer` class needs an available matching volume on the
//! node or a class that can provision there — and an unbound claim of an immediate class
//! keeps the Pod out until the PersistentVolume controller binds it.
//!
//! Score is kube-scheduler's `VolumeCapacityPriority`, an alpha feature gate off by default in
//! 1.32, so PreScore always skips, as it does there. Reserve records whether the chosen node
//! needs volume bindings. PreBind then writes them through the API (`BindPodVolumes`): the
//! chosen volume's `claimRef` for a static binding, the claim's
//! `volume.kubernetes.io/selected-node` for provisioning, and waits until the PersistentVolume
//! controller has bound every claim (`checkBindings`), up to [`BIND_TIMEOUT`].
//!
//! Kubernetes' scheduler assumes its own writes in an assume cache; here the wait judges only
//! what the watch has delivered, so a claim whose annotation has not come back yet (its
//! resourceVersion unchanged) is waited for rather than taken as reset.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1 as core;

use super::volume_helpers::{
    ANN_BOUND_BY_CONTROLLER, ANN_SELECTED_NODE, NOT_SUPPORTED_PROVISIONER, allowed_topologies_match, claim_class,
    claim_fully_bound, claim_is_for_pod, claim_key, claim_reference, claim_storage_request, claim_volume_name,
    find_matching_volume, is_delay_binding_mode, pod_claims, volume_bound_to_claim, volume_class,
    volume_node_affinity_matches,
};
use crate::scheduler::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, Plugin, PreBindPlugin, PreBindWrite,
    PreFilterPlugin, PreFilterResult, PreScorePlugin, ReservePlugin, ScorePlugin, Status,
};
use crate::scheduler::listers::ClusterObjects;
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::snapshot::Snapshot;

/// The plugin's registered name.
pub const NAME: &str = "VolumeBinding";

/// A bound claim's volume does not admit the node.
pub const ERR_REASON_NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";

/// An unbound delayed claim finds no volume on the node and cannot be provisioned there.
pub const ERR_REASON_BIND_CONFLICT: &str = "node(s) didn't find available persistent volumes to bind";

/// A bound claim names a volume that does not exist.
pub const ERR_REASON_PV_NOT_EXIST: &str = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";

/// How long PreBind waits for the claims to be bound (`bindTimeoutSeconds`, 600 s).
pub const BIND_TIMEOUT: Duration = Duration::from_secs(600);

/// The PreFilter rejection while an immediate claim is unbound.
pub const ERR_REASON_UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";

/// The Pod's claims sorted by what the scheduler must do for them (`PodVolumeClaims`).
#[derive(Clone, Debug, Default)]
struct PodVolumeClaims {
    bound_claims: Vec<Arc<core::PersistentVolumeClaim>>,
    unbound_claims_delay_binding: Vec<Arc<core::PersistentVolumeClaim>>,
    unbound_claims_immediate: usize,
    /// The volumes of each class a delayed claim asks for.
    unbound_volumes_delay_binding: BTreeMap<String, Vec<Arc<core::PersistentVolume>>>,
}

/// What the Pod needs on one node (`PodVolumes`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodVolumes {
    /// Delayed claims and the available volumes chosen for them, as (volume, claim) names.
    pub static_bindings: Vec<(String, String)>,
    /// Delayed claims to provision on the node, by name.
    pub dynamic_provisions: Vec<String>,
}

impl PodVolumes {
    fn all_bound(&self) -> bool {
        self.static_bindings.is_empty() && self.dynamic_provisions.is_empty()
    }
}

/// The cycle's state: the claims, then what Filter found per node and Reserve's conclusion.
#[derive(Debug, Default)]
struct StateData {
    claims: PodVolumeClaims,
    /// Filled by Filter, which sees the state only by shared reference.
    pod_volumes_by_node: Mutex<BTreeMap<String, PodVolumes>>,
    all_bound: bool,
}

/// Preemption evaluates candidates on copies of the cycle state (`CycleState.Clone`).
impl Clone for StateData {
    fn clone(&self) -> StateData {
        let found = self
            .pod_volumes_by_node
            .lock()
            .map(|found| found.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone());
        StateData { claims: self.claims.clone(), pod_volumes_by_node: Mutex::new(found), all_bound: self.all_bound }
    }
}

/// Binds a Pod's volumes as part of scheduling it.
#[derive(Clone, Debug, Default)]
pub struct VolumeBinding;

impl Plugin for VolumeBinding {
    fn name(&self) -> &'static str {
        NAME
    }

    fn events_to_register(&self) -> Vec<ClusterEvent> {
        let add_or_update = ActionType::ADD.or(ActionType::UPDATE);
        vec![
            ClusterEvent { resource: EventResource::StorageClass, action: add_or_update },
            ClusterEvent { resource: EventResource::PersistentVolumeClaim, action: add_or_update },
            ClusterEvent { resource: EventResource::PersistentVolume, action: add_or_update },
            ClusterEvent {
                resource: EventResource::Node,
                action: ActionType::ADD.or(ActionType::UPDATE_NODE_LABEL).or(ActionType::UPDATE_NODE_TAINT),
            },
        ]
    }

    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
    fn as_reserve(&self) -> Option<&dyn ReservePlugin> {
        Some(self)
    }
    fn as_pre_bind(&self) -> Option<&dyn PreBindPlugin> {
        Some(self)
    }
}

/// Checks that every claim of the Pod exists and is usable (`podHasPVCs`); returns the claims.
fn pod_claim_objects(
    pod: &core::Pod,
    objects: &ClusterObjects,
) -> Result<Vec<Arc<core::PersistentVolumeClaim>>, String> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("");
    let mut claims = Vec::new();
    for claim in pod_claims(pod) {
        let Some(object) = objects.persistent_volume_claim(namespace, &claim.name) else {
            return Err(if claim.ephemeral {
                format!("waiting for ephemeral volume controller to create the persistentvolumeclaim {:?}", claim.name)
            } else {
                format!("persistentvolumeclaim {:?} not found", claim.name)
            });
        };
        if object.status.as_ref().and_then(|status| status.phase.as_deref()) == Some("Lost") {
            return Err(format!(
                "persistentvolumeclaim {:?} bound to non-existent persistentvolume {:?}",
                claim.name,
                claim_volume_name(object)
            ));
        }
        if object.metadata.deletion_timestamp.is_some() {
            return Err(format!("persistentvolumeclaim {:?} is being deleted", claim.name));
        }
        if claim.ephemeral {
            claim_is_for_pod(pod, object)?;
        }
        claims.push(Arc::clone(object));
    }
    Ok(claims)
}

/// Sorts the claims into bound, delayed and immediate (`GetPodVolumeClaims`).
fn pod_volume_claims(
    claims: Vec<Arc<core::PersistentVolumeClaim>>,
    objects: &ClusterObjects,
) -> Result<PodVolumeClaims, String> {
    let mut sorted = PodVolumeClaims::default();
    for claim in claims {
        if claim_fully_bound(&claim) {
            sorted.bound_claims.push(claim);
        } else if is_delay_binding_mode(&claim, objects)? && claim_volume_name(&claim).is_empty() {
            sorted.unbound_claims_delay_binding.push(claim);
        } else {
            // A pre-bound claim counts as immediate: the PersistentVolume controller binds it.
            sorted.unbound_claims_immediate += 1;
        }
    }
    for claim in &sorted.unbound_claims_delay_binding {
        let class = claim_class(claim).to_owned();
        sorted.unbound_volumes_delay_binding.entry(class).or_insert_with_key(|class| {
            objects.persistent_volumes().filter(|volume| volume_class(volume) == class.as_str()).cloned().collect()
        });
    }
    Ok(sorted)
}

/// The outcome of checking one node (`FindPodVolumes`'s four flags).
struct NodeCheck {
    bound_volumes_satisfied: bool,
    bound_volumes_found: bool,
    unbound_volumes_satisfied: bool,
    volumes: PodVolumes,
}

impl NodeCheck {
    fn reasons(&self) -> Vec<std::borrow::Cow<'static, str>> {
        let mut reasons = Vec::new();
        if !self.bound_volumes_satisfied {
            reasons.push(ERR_REASON_NODE_CONFLICT.into());
        }
        if !self.unbound_volumes_satisfied {
            reasons.push(ERR_REASON_BIND_CONFLICT.into());
        }
        if !self.bound_volumes_found {
            reasons.push(ERR_REASON_PV_NOT_EXIST.into());
        }
        reasons
    }
}

/// Whether every bound claim's volume exists and admits the node (`checkBoundClaims`):
/// (satisfied, found).
fn check_bound_claims(
    claims: &[Arc<core::PersistentVolumeClaim>],
    node: &NodeInfo,
    objects: &ClusterObjects,
) -> (bool, bool) {
    for claim in claims {
        let Some(volume) = objects.persistent_volume(claim_volume_name(claim)) else {
            return (true, false);
        };
        if !volume_node_affinity_matches(volume, node.labels()) {
            return (false, true);
        }
    }
    (true, true)
}

/// Whether the claims can be provisioned on the node (`checkVolumeProvisions`; storage
/// capacity tracking is not modelled, so capacity always suffices).
fn check_volume_provisions(
    claims: &[&Arc<core::PersistentVolumeClaim>],
    node: &NodeInfo,
    objects: &ClusterObjects,
) -> Result<bool, String> {
    for claim in claims {
        let class_name = claim_class(claim);
        if class_name.is_empty() {
            return Err(format!("no class for claim {:?}", claim_key(claim)));
        }
        let class =
            objects.storage_class(class_name).ok_or_else(|| format!("failed to find storage class {class_name:?}"))?;
        if class.provisioner.is_empty() || class.provisioner == NOT_SUPPORTED_PROVISIONER {
            return Ok(false);
        }
        if !allowed_topologies_match(class, node.labels()) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// What the Pod's delayed claims need on the node: (satisfied, volumes).
fn check_delayed_claims(
    claims: &PodVolumeClaims,
    node: &NodeInfo,
    objects: &ClusterObjects,
) -> Result<(bool, PodVolumes), String> {
    let mut volumes = PodVolumes::default();
    let mut to_provision = Vec::new();
    let mut to_match = Vec::new();
    for claim in &claims.unbound_claims_delay_binding {
        match claim.metadata.annotations.as_ref().and_then(|annotations| annotations.get(ANN_SELECTED_NODE)) {
            Some(selected) if selected != node.name() => return Ok((false, volumes)),
            Some(_) => to_provision.push(claim),
            None => to_match.push(claim),
        }
    }
    let mut satisfied = true;
    // Smallest requests first, so each gets the smallest volume that fits.
    to_match.sort_by_key(|claim| claim_storage_request(claim));
    let mut chosen: Vec<&str> = Vec::new();
    for claim in to_match {
        let candidates = claims.unbound_volumes_delay_binding.get(claim_class(claim)).map_or(&[][..], Vec::as_slice);
        match find_matching_volume(claim, candidates, node.labels(), &chosen)? {
            Some(volume) => {
                let volume_name = volume.metadata.name.as_deref().unwrap_or("");
                chosen.push(volume_name);
                let claim_name = claim.metadata.name.clone().unwrap_or_default();
                volumes.static_bindings.push((volume_name.to_owned(), claim_name));
            }
            None => {
                satisfied = false;
                to_provision.push(claim);
            }
        }
    }
    if !to_provision.is_empty() {
        satisfied = check_volume_provisions(&to_provision, node, objects)?;
        if satisfied {
            volumes.dynamic_provisions =
                to_provision.iter().map(|claim| claim.metadata.name.clone().unwrap_or_default()).collect();
        }
    }
    Ok((satisfied, volumes))
}

/// Checks one node for the Pod's claims (`FindPodVolumes`).
fn find_pod_volumes(claims: &PodVolumeClaims, node: &NodeInfo, objects: &ClusterObjects) -> Result<NodeCheck, String> {
    let (bound_volumes_satisfied, bound_volumes_found) = check_bound_claims(&claims.bound_claims, node, objects);
    let (unbound_volumes_satisfied, volumes) = if claims.unbound_claims_delay_binding.is_empty() {
        (true, PodVolumes::default())
    } else {
        check_delayed_claims(claims, node, objects)?
    };
    Ok(NodeCheck { bound_volumes_satisfied, bound_volumes_found, unbound_volumes_satisfied, volumes })
}

/// The objects the state was computed against: Filter sees only the node, so PreFilter keeps
/// the snapshot's listers alongside the claims.
#[derive(Clone)]
struct Listers(Arc<ClusterObjects>);

impl PreFilterPlugin for VolumeBinding {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let objects = snapshot.objects();
        let claims = match pod_claim_objects(&pod.pod, objects) {
            Ok(claims) => claims,
            Err(message) => return (None, Status::new(Code::UnschedulableAndUnresolvable, message)),
        };
        if claims.is_empty() {
            state.write(NAME, StateData { all_bound: true, ..StateData::default() });
            return (None, Status::code_only(Code::Skip));
        }
        let sorted = match pod_volume_claims(claims, objects) {
            Ok(sorted) => sorted,
            Err(message) => return (None, Status::error(message)),
        };
        if sorted.unbound_claims_immediate > 0 {
            return (None, Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_UNBOUND_IMMEDIATE));
        }
        state.write(NAME, StateData { claims: sorted, ..StateData::default() });
        state.write(NAME, Listers(snapshot.shared_objects()));
        (None, Status::success())
    }
}

impl FilterPlugin for VolumeBinding {
    fn filter(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Status {
        let (Some(data), Some(Listers(objects))) = (state.read::<StateData>(NAME), state.read::<Listers>(NAME)) else {
            return Status::error(format!("reading {NAME:?} from cycleState"));
        };
        let check = match find_pod_volumes(&data.claims, node, objects) {
            Ok(check) => check,
            Err(message) => return Status::error(message),
        };
        let reasons = check.reasons();
        if !reasons.is_empty() {
            return Status::with_reasons(Code::UnschedulableAndUnresolvable, reasons);
        }
        let mut by_node = data.pod_volumes_by_node.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        by_node.insert(node.name().to_owned(), check.volumes);
        Status::success()
    }
}

impl PreScorePlugin for VolumeBinding {
    fn pre_score(&self, _state: &mut CycleState, _pod: &PodInfo, _nodes: &[&NodeInfo], _snapshot: &Snapshot) -> Status {
        // Without the VolumeCapacityPriority feature gate there is no scorer.
        Status::code_only(Code::Skip)
    }
}

impl ScorePlugin for VolumeBinding {
    fn score(&self, _state: &CycleState, _pod: &PodInfo, _node: &NodeInfo) -> Result<i64, Status> {
        // Never reached while PreScore skips; Kubernetes' Score without a scorer is 0 too.
        Ok(0)
    }
}

impl ReservePlugin for VolumeBinding {
    fn reserve(&self, state: &mut CycleState, _pod: &PodInfo, node_name: &str) -> Status {
        let Some(data) = state.read_mut::<StateData>(NAME) else {
            return Status::success();
        };
        let by_node = data.pod_volumes_by_node.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        data.all_bound = by_node.get(node_name).is_none_or(PodVolumes::all_bound);
        Status::success()
    }

    fn unreserve(&self, state: &mut CycleState, _pod: &PodInfo, _node_name: &str) {
        if let Some(data) = state.read_mut::<StateData>(NAME) {
            data.all_bound = false;
        }
    }
}

impl PreBindPlugin for VolumeBinding {
    fn pre_bind(&self, state: &CycleState, _pod: &PodInfo, node_name: &str) -> Status {
        let Some(data) = state.read::<StateData>(NAME) else {
            return Status::success();
        };
        if data.all_bound {
            return Status::success();
        }
        let by_node = data.pod_volumes_by_node.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match by_node.get(node_name) {
            Some(_) => Status::new(Code::Wait, "waiting for the volumes to be bound"),
            None => Status::error(format!("no pod volumes found for node {node_name:?}")),
        }
    }

    /// `bindAPIUpdate`: the chosen volumes pre-bound to their claims, the claims to provision
    /// annotated with the node.
    fn pre_bind_writes(&self, state: &CycleState, _pod: &PodInfo, node_name: &str) -> Vec<PreBindWrite> {
        let Some(data) = state.read::<StateData>(NAME) else { return Vec::new() };
        let by_node = data.pod_volumes_by_node.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(volumes) = by_node.get(node_name) else { return Vec::new() };
        let mut writes = Vec::new();
        for (volume_name, claim_name) in &volumes.static_bindings {
            let (Some(volume), Some(claim)) = (data.claims.volume(volume_name), data.claims.claim(claim_name)) else {
                continue;
            };
            writes.push(PreBindWrite::UpdatePersistentVolume(Box::new(volume_bound_to(volume, claim))));
        }
        for claim_name in &volumes.dynamic_provisions {
            let Some(claim) = data.claims.claim(claim_name) else { continue };
            let selected =
                claim.metadata.annotations.as_ref().and_then(|annotations| annotations.get(ANN_SELECTED_NODE));
            if selected.map(String::as_str) != Some(node_name) {
                writes.push(PreBindWrite::AnnotatePersistentVolumeClaim {
                    namespace: claim.metadata.namespace.clone().unwrap_or_default(),
                    name: claim_name.clone(),
                    annotations: [(ANN_SELECTED_NODE.to_string(), node_name.to_string())].into(),
                });
            }
        }
        writes
    }

    /// `checkBindings`: done once every claim is fully bound; a failure when a volume went to
    /// another claim or the provisioner took the selected node back (to have the Pod
    /// scheduled again).
    fn pre_bind_done(&self, state: &CycleState, _pod: &PodInfo, node_name: &str, objects: &ClusterObjects) -> Status {
        let Some(data) = state.read::<StateData>(NAME) else { return Status::success() };
        let by_node = data.pod_volumes_by_node.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(volumes) = by_node.get(node_name) else { return Status::success() };
        let mut all_bound = true;
        for (volume_name, claim_name) in &volumes.static_bindings {
            let Some(claim) = data.claims.claim(claim_name) else { continue };
            let namespace = claim.metadata.namespace.as_deref().unwrap_or_default();
            let Some(current) = objects.persistent_volume_claim(namespace, claim_name) else {
                return Status::error(format!("failed to get cached claim {:?}", claim_key(claim)));
            };
            if let Some(volume) = objects.persistent_volume(volume_name) {
                let reference = volume.spec.as_ref().and_then(|spec| spec.claim_ref.as_ref());
                if reference.is_some_and(|reference| {
                    reference.uid.as_deref().is_some_and(|uid| !uid.is_empty()) && reference.uid != current.metadata.uid
                }) {
                    return Status::error(format!("ClaimRef got reset for pv {volume_name:?}"));
                }
            }
            all_bound &= claim_fully_bound(current) && claim_volume_name(current) == volume_name;
        }
        for claim_name in &volumes.dynamic_provisions {
            let Some(claim) = data.claims.claim(claim_name) else { continue };
            let namespace = claim.metadata.namespace.as_deref().unwrap_or_default();
            let Some(current) = objects.persistent_volume_claim(namespace, claim_name) else {
                return Status::error(format!("failed to get cached claim {:?}", claim_key(claim)));
            };
            let selected =
                current.metadata.annotations.as_ref().and_then(|annotations| annotations.get(ANN_SELECTED_NODE));
            match selected {
                // Our write has not come back yet.
                None if current.metadata.resource_version == claim.metadata.resource_version => all_bound = false,
                None => return Status::error(format!("selectedNode annotation reset for PVC {claim_name:?}")),
                Some(selected) if selected != node_name => {
                    return Status::error(format!(
                        "selectedNode annotation value {selected:?} not set to scheduled node {node_name:?}"
                    ));
                }
                Some(_) => all_bound &= claim_fully_bound(current),
            }
        }
        if all_bound { Status::success() } else { Status::new(Code::Wait, "waiting for the volumes to be bound") }
    }
}

impl PodVolumeClaims {
    /// The delayed claim named `name`.
    fn claim(&self, name: &str) -> Option<&Arc<core::PersistentVolumeClaim>> {
        self.unbound_claims_delay_binding.iter().find(|claim| claim.metadata.name.as_deref() == Some(name))
    }

    /// The candidate volume named `name`.
    fn volume(&self, name: &str) -> Option<&Arc<core::PersistentVolume>> {
        self.unbound_volumes_delay_binding
            .values()
            .flatten()
            .find(|volume| volume.metadata.name.as_deref() == Some(name))
    }
}

/// The volume with its `claimRef` naming the claim (`GetBindVolumeToClaim`), annotated
/// bound-by-controller unless a user pre-bound it.
fn volume_bound_to(volume: &core::PersistentVolume, claim: &core::PersistentVolumeClaim) -> core::PersistentVolume {
    let mut updated = volume.clone();
    let pre_bound = volume_bound_to_claim(volume, claim);
    if !pre_bound {
        updated
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(ANN_BOUND_BY_CONTROLLER.into(), "yes".into());
    }
    let spec = updated.spec.get_or_insert_with(Default::default);
    spec.claim_ref = Some(claim_reference(claim));
    updated
}

/// What Filter chose for the Pod on one node, for tests and traces.
pub fn pod_volumes_for_node(state: &CycleState, node_name: &str) -> Option<PodVolumes> {
    let data = state.read::<StateData>(NAME)?;
    let by_node = data.pod_volumes_by_node.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    by_node.get(node_name).cloned()
}

#[cfg(test)]
#[path = "volume_binding_tests.rs"]
mod tests;
