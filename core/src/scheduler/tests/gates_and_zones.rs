//! The two PreEnqueue/Filter defaults through the driver: a gated Pod waits outside activeQ,
//! deaf to cluster events and without FailedScheduling, until its own update lifts the last
//! gate; a Pod whose bound volume lives in one zone lands on that zone's node.

use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::cycle::{at, bound_nodes};
use crate::scheduler::driver::{Effect, Input, Scheduler};
use crate::scheduler::listers::ListerObject;
use crate::scheduler::plugins::volume_testing::{VolumePodBuilder, bound, make_pv, make_pvc};
use crate::scheduler::profile::SchedulerConfig;
use crate::scheduler::registry::Registry;
use crate::scheduler::schedule_one::SamplingOptions;
use crate::scheduler::testing::{make_node, make_pod};

fn scheduler() -> Scheduler {
    Scheduler::new(
        &SchedulerConfig::default(),
        &Registry::in_tree(),
        ChaCha8Rng::seed_from_u64(5),
        SamplingOptions::default(),
    )
    .expect("the default profile builds")
}

fn with_gates(mut pod: core::Pod, gates: &[&str]) -> core::Pod {
    pod.spec.get_or_insert_with(Default::default).scheduling_gates =
        Some(gates.iter().map(|name| core::PodSchedulingGate { name: (*name).to_owned() }).collect());
    pod
}

fn failed_scheduling(effects: &[Effect]) -> bool {
    effects.iter().any(|effect| match effect {
        Effect::RecordEvent(event) => event.reason.as_deref() == Some("FailedScheduling"),
        Effect::PatchPodStatus { .. } => true,
        _ => false,
    })
}

#[test]
fn a_gated_pod_waits_outside_the_active_queue_until_its_last_gate_is_removed() {
    let mut scheduler = scheduler();
    scheduler.step(
        Input::NodeApplied(Arc::new(make_node("node-1").capacity(&[("cpu", "4"), ("pods", "110")]).obj())),
        at(0),
    );
    let pod = make_pod("p").obj();
    let effects = scheduler.step(Input::PodApplied(Arc::new(with_gates(pod.clone(), &["a", "b"]))), at(1));
    assert!(bound_nodes(&effects).is_empty());
    assert!(!failed_scheduling(&effects), "gated is not a failure: {effects:?}");
    assert_eq!(scheduler.queue().gated_len(), 1);
    assert_eq!(scheduler.queue().lengths(), (0, 0, 0));

    // A cluster event does not wake a gated pod, nor does time.
    let effects = scheduler.step(
        Input::NodeApplied(Arc::new(make_node("node-2").capacity(&[("cpu", "4"), ("pods", "110")]).obj())),
        at(2),
    );
    assert!(bound_nodes(&effects).is_empty());
    let effects = scheduler.step(Input::Tick, at(600));
    assert!(bound_nodes(&effects).is_empty());
    assert!(!effects.iter().any(|effect| matches!(effect, Effect::WakeAt(_))), "nothing to wake for: {effects:?}");

    let effects = scheduler.step(Input::PodApplied(Arc::new(with_gates(pod.clone(), &["b"]))), at(601));
    assert!(bound_nodes(&effects).is_empty(), "one gate still holds it");
    assert_eq!(scheduler.queue().gated_len(), 1);

    let effects = scheduler.step(Input::PodApplied(Arc::new(with_gates(pod, &[]))), at(602));
    assert_eq!(bound_nodes(&effects).len(), 1, "ungated, it is scheduled at once: {effects:?}");
    assert_eq!(scheduler.queue().gated_len(), 0);
}

#[test]
fn a_pod_with_a_zonal_volume_lands_in_the_volumes_zone() {
    let mut scheduler = scheduler();
    for (name, zone) in [("node-a", "zone-a"), ("node-b", "zone-b"), ("node-c", "zone-c")] {
        let node = make_node(name)
            .capacity(&[("cpu", "4"), ("memory", "8Gi"), ("pods", "110")])
            .label("topology.kubernetes.io/zone", zone)
            .obj();
        scheduler.step(Input::NodeApplied(Arc::new(node)), at(0));
    }
    let mut volume = make_pv("vol", "");
    volume.metadata.labels = Some([("topology.kubernetes.io/zone".to_owned(), "zone-b".to_owned())].into());
    scheduler.step(Input::ObjectApplied(ListerObject::PersistentVolume(Arc::new(volume))), at(0));
    let claim = bound(make_pvc("data", ""), "vol");
    scheduler.step(Input::ObjectApplied(ListerObject::PersistentVolumeClaim(Arc::new(claim))), at(0));
    let effects = scheduler.step(Input::PodApplied(Arc::new(make_pod("db").pvc("data").obj())), at(1));
    assert_eq!(bound_nodes(&effects), vec!["node-b".to_owned()]);
}
