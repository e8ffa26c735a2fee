//! Which nodes a DaemonSet runs on (`NodeShouldRunDaemonPod`), the tolerations every daemon pod
//! gets (`AddOrUpdateDaemonPodTolerations`), and how a daemon pod is tied to its node: by a
//! required node affinity on `metadata.name`, so the scheduler places it
//! (`ReplaceDaemonSetPodNodeNameNodeAffinity`, `GetTargetNodeName`).

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, PodSpec, Toleration,
};

use crate::scheduler::plugins::taint_toleration::{
    EFFECT_NO_EXECUTE, EFFECT_NO_SCHEDULE, find_matching_untolerated_taint,
};
use crate::selector::{NodeSelectorMatcher, matches_node_selector_map};

/// The field a daemon pod's node affinity selects its node by.
pub const OBJECT_NAME_FIELD: &str = "metadata.name";

/// Taints every daemon pod tolerates forever, with their effects: a DaemonSet's pod must survive
/// its node going not-ready or unreachable, and run despite node pressure or cordoning.
pub const DAEMON_TOLERATIONS: [(&str, &str); 6] = [
    ("node.kubernetes.io/not-ready", EFFECT_NO_EXECUTE),
    ("node.kubernetes.io/unreachable", EFFECT_NO_EXECUTE),
    ("node.kubernetes.io/disk-pressure", EFFECT_NO_SCHEDULE),
    ("node.kubernetes.io/memory-pressure", EFFECT_NO_SCHEDULE),
    ("node.kubernetes.io/pid-pressure", EFFECT_NO_SCHEDULE),
    ("node.kubernetes.io/unschedulable", EFFECT_NO_SCHEDULE),
];

/// Tolerated as well by host-network daemon pods, which do not need the pod network.
pub const NETWORK_UNAVAILABLE_TAINT: &str = "node.kubernetes.io/network-unavailable";

/// Adds the daemon tolerations, replacing a toleration of the same key, operator, value and
/// effect that differs (say, one with `tolerationSeconds`) (`AddOrUpdateTolerationInPodSpec`).
pub fn add_daemon_tolerations(spec: &mut PodSpec) {
    let mut wanted: Vec<(&str, &str)> = DAEMON_TOLERATIONS.to_vec();
    if spec.host_network == Some(true) {
        wanted.push((NETWORK_UNAVAILABLE_TAINT, EFFECT_NO_SCHEDULE));
    }
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for (key, effect) in wanted {
        let toleration = Toleration {
            key: Some(key.to_string()),
            operator: Some("Exists".to_string()),
            effect: Some(effect.to_string()),
            value: None,
            toleration_seconds: None,
        };
        let same_match = |existing: &Toleration| {
            existing.key == toleration.key
                && existing.operator == toleration.operator
                && existing.value.as_deref().is_none_or(str::is_empty)
                && existing.effect == toleration.effect
        };
        match tolerations.iter_mut().find(|existing| same_match(existing)) {
            Some(existing) => *existing = toleration,
            None => tolerations.push(toleration),
        }
    }
}

/// The pod the DaemonSet would run on `node_name`, for the eligibility checks (`NewPod`).
fn new_pod(daemon_set: &DaemonSet, node_name: &str) -> Pod {
    let template = daemon_set.spec.as_ref().map(|spec| spec.template.clone()).unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();
    spec.node_name = Some(node_name.to_string());
    add_daemon_tolerations(&mut spec);
    Pod { metadata: template.metadata.unwrap_or_default(), spec: Some(spec), status: None }
}

/// Whether the pod's `nodeSelector` and required node affinity accept the node; a malformed
/// affinity accepts nothing (`GetRequiredNodeAffinity(pod).Match(node)`).
fn fits_node_affinity(spec: &PodSpec, node: &Node) -> bool {
    let empty = Default::default();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    if let Some(selector) = &spec.node_selector
        && !matches_node_selector_map(selector, labels)
    {
        return false;
    }
    let required = spec
        .affinity
        .as_ref()
        .and_then(|affinity| affinity.node_affinity.as_ref())
        .and_then(|affinity| affinity.required_during_scheduling_ignored_during_execution.as_ref());
    required.is_none_or(|selector| NodeSelectorMatcher::lazy(selector).matches_node(node).unwrap_or(false))
}

/// Whether the DaemonSet should run on `node`: `(should_run, should_continue_running)`. A pod
/// not yet there should be created when the first holds; one already there may stay when the
/// second holds (an untolerated NoSchedule taint keeps new pods out but not running ones).
pub fn node_should_run_daemon_pod(node: &Node, daemon_set: &DaemonSet) -> (bool, bool) {
    let node_name = node.metadata.name.as_deref().unwrap_or("");
    let template_node = daemon_set
        .spec
        .as_ref()
        .and_then(|spec| spec.template.spec.as_ref())
        .and_then(|spec| spec.node_name.as_deref())
        .unwrap_or("");
    if !template_node.is_empty() && template_node != node_name {
        return (false, false);
    }
    let pod = new_pod(daemon_set, node_name);
    let spec = pod.spec.as_ref().expect("new_pod always sets a spec");
    if !fits_node_affinity(spec, node) {
        return (false, false);
    }
    let taints = node.spec.as_ref().and_then(|spec| spec.taints.as_deref()).unwrap_or_default();
    let tolerations = spec.tolerations.as_deref().unwrap_or_default();
    let hard = |effect: &str| effect == EFFECT_NO_SCHEDULE || effect == EFFECT_NO_EXECUTE;
    if find_matching_untolerated_taint(taints, tolerations, |taint| hard(&taint.effect)).is_none() {
        return (true, true);
    }
    let evicting = find_matching_untolerated_taint(taints, tolerations, |taint| taint.effect == EFFECT_NO_EXECUTE);
    (false, evicting.is_none())
}

/// The required node affinity selecting exactly `node_name` by `metadata.name`, replacing any
/// required terms the template had (`ReplaceDaemonSetPodNodeNameNodeAffinity`).
pub fn replace_node_name_affinity(affinity: Option<Affinity>, node_name: &str) -> Affinity {
    let selector = NodeSelector {
        node_selector_terms: vec![NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![NodeSelectorRequirement {
                key: OBJECT_NAME_FIELD.to_string(),
                operator: "In".to_string(),
                values: Some(vec![node_name.to_string()]),
            }]),
        }],
    };
    let mut affinity = affinity.unwrap_or_default();
    let node_affinity = affinity.node_affinity.get_or_insert_with(NodeAffinity::default);
    node_affinity.required_during_scheduling_ignored_during_execution = Some(selector);
    affinity
}

/// The node a daemon pod is for: `spec.nodeName` once bound, else the single `metadata.name In`
/// value of its required affinity (`GetTargetNodeName`); `None` if it names no node.
pub fn target_node_name(pod: &Pod) -> Option<&str> {
    let spec = pod.spec.as_ref()?;
    if let Some(node_name) = spec.node_name.as_deref().filter(|name| !name.is_empty()) {
        return Some(node_name);
    }
    let required =
        spec.affinity.as_ref()?.node_affinity.as_ref()?.required_during_scheduling_ignored_during_execution.as_ref()?;
    for term in &required.node_selector_terms {
        for requirement in term.match_fields.iter().flatten() {
            if requirement.key == OBJECT_NAME_FIELD && requirement.operator == "In" {
                return match requirement.values.as_deref() {
                    Some([only]) => Some(only.as_str()),
                    _ => None,
                };
            }
        }
    }
    None
}
