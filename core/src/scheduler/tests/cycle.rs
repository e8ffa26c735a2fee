//! The scheduling cycle end to end through the driver: FitError wording, sampling, queue
//! backoff, configuration and determinism.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::jiff::Timestamp;
use crate::scheduler::driver::{Effect, Input, Scheduler};
use crate::scheduler::profile::SchedulerConfig;
use crate::scheduler::registry::Registry;
use crate::scheduler::schedule_one::{SamplingOptions, num_feasible_nodes_to_find};
use crate::scheduler::testing::{make_node, make_pod, taint};

fn scheduler(config: &SchedulerConfig) -> Scheduler {
    Scheduler::new(config, &Registry::in_tree(), ChaCha8Rng::seed_from_u64(7), SamplingOptions::default())
        .expect("profile builds")
}

pub(super) fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).expect("in range")
}

fn failed_scheduling_message(effects: &[Effect]) -> Option<String> {
    effects.iter().find_map(|effect| match effect {
        Effect::RecordEvent(event) if event.reason.as_deref() == Some("FailedScheduling") => event.message.clone(),
        _ => None,
    })
}

pub(super) fn bound_nodes(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Bind(binding) => binding.target.name.clone(),
            _ => None,
        })
        .collect()
}

#[test]
fn fit_error_counts_and_sorts_reasons_as_kubernetes_does() {
    let mut scheduler = scheduler(&SchedulerConfig::default());
    for index in 0..2 {
        let node = make_node(&format!("worker-{index}")).capacity(&[("cpu", "1"), ("memory", "1Gi"), ("pods", "110")]);
        scheduler.step(Input::NodeApplied(Arc::new(node.obj())), at(0));
    }
    for index in 0..3 {
        let node = make_node(&format!("control-plane-{index}"))
            .capacity(&[("cpu", "8"), ("memory", "8Gi"), ("pods", "110")])
            .taints(vec![taint("node-role.kubernetes.io/control-plane", "", "NoSchedule")]);
        scheduler.step(Input::NodeApplied(Arc::new(node.obj())), at(0));
    }
    let pod = make_pod("big").req(&[("cpu", "2")]).obj();
    let effects = scheduler.step(Input::PodApplied(Arc::new(pod)), at(1));
    insta::assert_snapshot!(failed_scheduling_message(&effects).expect("a FailedScheduling event"), @"0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/5 nodes are available: 2 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling..");
    assert!(effects.iter().any(|effect| matches!(effect,
        Effect::PatchPodStatus { condition, .. } if condition.status == "False" && condition.reason.as_deref() == Some("Unschedulable"))));
}

#[test]
fn an_empty_cluster_reports_no_nodes_available() {
    let mut scheduler = scheduler(&SchedulerConfig::default());
    let effects = scheduler.step(Input::PodApplied(Arc::new(make_pod("p").obj())), at(0));
    assert_eq!(failed_scheduling_message(&effects).as_deref(), Some("no nodes available to schedule pods"));
}

#[test]
fn an_unschedulable_pod_is_retried_when_a_node_is_added() {
    let mut scheduler = scheduler(&SchedulerConfig::default());
    let effects = scheduler.step(Input::PodApplied(Arc::new(make_pod("p").req(&[("cpu", "1")]).obj())), at(0));
    assert!(bound_nodes(&effects).is_empty());
    let node = make_node("late").capacity(&[("cpu", "4"), ("memory", "4Gi"), ("pods", "110")]).obj();
    // The node arrives after the 1 s backoff, so the Pod goes straight back to activeQ.
    let effects = scheduler.step(Input::NodeApplied(Arc::new(node)), at(5));
    assert_eq!(bound_nodes(&effects), vec!["late".to_owned()]);
}

#[test]
fn assumed_pods_take_resources_before_their_binding_is_confirmed() {
    let mut scheduler = scheduler(&SchedulerConfig::default());
    let node = make_node("only").capacity(&[("cpu", "1"), ("memory", "4Gi"), ("pods", "110")]).obj();
    scheduler.step(Input::NodeApplied(Arc::new(node)), at(0));
    let first = scheduler.step(Input::PodApplied(Arc::new(make_pod("a").req(&[("cpu", "600m")]).obj())), at(1));
    assert_eq!(bound_nodes(&first), vec!["only".to_owned()]);
    let second = scheduler.step(Input::PodApplied(Arc::new(make_pod("b").req(&[("cpu", "600m")]).obj())), at(2));
    assert!(bound_nodes(&second).is_empty());
    assert!(failed_scheduling_message(&second).is_some_and(|message| message.contains("1 Insufficient cpu")));
}

#[test]
fn a_refused_binding_frees_the_node_for_the_next_pod() {
    let mut scheduler = scheduler(&SchedulerConfig::default());
    let node = make_node("only").capacity(&[("cpu", "1"), ("memory", "4Gi"), ("pods", "110")]).obj();
    scheduler.step(Input::NodeApplied(Arc::new(node)), at(0));
    let pod = make_pod("a").req(&[("cpu", "600m")]).obj();
    scheduler.step(Input::PodApplied(Arc::new(pod.clone())), at(1));
    let key = crate::scheduler::PodKey::of(&pod);
    scheduler.step(Input::BindingFailed { pod: key.clone(), message: "conflict".into() }, at(1));
    assert!(!scheduler.cache().is_assumed(&key));
    // After its backoff the Pod is tried again and bound again.
    let effects = scheduler.step(Input::Tick, at(3));
    assert_eq!(bound_nodes(&effects), vec!["only".to_owned()]);
}

#[test]
fn adaptive_sampling_matches_kubernetes_num_feasible_nodes_to_find() {
    // Kubernetes schedule_one_test.go TestNumFeasibleNodesToFind.
    assert_eq!(num_feasible_nodes_to_find(None, 10), 10);
    assert_eq!(num_feasible_nodes_to_find(Some(40), 10), 10);
    assert_eq!(num_feasible_nodes_to_find(None, 1000), 420);
    assert_eq!(num_feasible_nodes_to_find(Some(40), 1000), 400);
    assert_eq!(num_feasible_nodes_to_find(None, 6000), 300);
    assert_eq!(num_feasible_nodes_to_find(Some(40), 6000), 2400);
    assert_eq!(num_feasible_nodes_to_find(None, 5000), 500);
    assert_eq!(num_feasible_nodes_to_find(Some(1), 5000), 100);
}

#[test]
fn the_same_seed_places_pods_identically() {
    let config =
        crate::scheduler::bench::BenchConfig { nodes: 300, existing_pods: 100, pods: 200, ..Default::default() };
    let first = crate::scheduler::bench::run(&config).expect("runs");
    let second = crate::scheduler::bench::run(&config).expect("runs");
    assert_eq!(first.scheduled, 200);
    assert_eq!(first, second);
}

#[test]
fn profiles_are_read_strictly_from_kube_scheduler_configuration() {
    let yaml = r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
profiles:
- schedulerName: bin-packing
  plugins:
    score:
      disabled:
      - name: "*"
      enabled:
      - name: NodeResourcesFit
        weight: 5
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources:
        - name: cpu
          weight: 1
"#;
    let config = SchedulerConfig::from_yaml(yaml).expect("valid configuration");
    assert_eq!(config.profiles[0].percentage_of_nodes_to_score, Some(30));
    let framework = crate::scheduler::Framework::new(&Registry::in_tree(), &config.profiles[0]).expect("builds");
    let names = framework.plugin_names();
    assert_eq!(names["score"], vec!["NodeResourcesFit:5".to_owned()]);
    assert_eq!(
        names["filter"],
        vec![
            "NodeUnschedulable",
            "NodeName",
            "TaintToleration",
            "NodeAffinity",
            "NodePorts",
            "NodeResourcesFit",
            "VolumeRestrictions",
            "NodeVolumeLimits",
            "VolumeBinding",
            "VolumeZone",
            "PodTopologySpread",
            "InterPodAffinity"
        ]
    );
    assert_eq!(names["preEnqueue"], vec!["SchedulingGates".to_owned()]);
    let unknown = "profiles:\n- schedulerName: x\n  plugins:\n    filterr: {}\n";
    assert!(SchedulerConfig::from_yaml(unknown).is_err());
}

#[test]
fn default_profile_weights_are_kubernetes_weights() {
    let config = SchedulerConfig::default();
    let framework = crate::scheduler::Framework::new(&Registry::in_tree(), &config.profiles[0]).expect("builds");
    assert_eq!(
        framework.plugin_names()["score"],
        vec![
            "TaintToleration:3",
            "NodeAffinity:2",
            "NodeResourcesFit:1",
            "VolumeBinding:1",
            "PodTopologySpread:2",
            "InterPodAffinity:2",
            "NodeResourcesBalancedAllocation:1",
            "ImageLocality:1"
        ]
    );
}

#[test]
fn affinity_and_spread_workloads_place_every_pod_within_their_constraints() {
    use crate::scheduler::bench::{BenchConfig, Workload, build_cluster, prepare, run_prepared, verify_placements};
    for workload in [Workload::Affinity, Workload::Spread] {
        let config = BenchConfig { nodes: 30, pods: 600, workload, seed: 3, ..BenchConfig::default() };
        let cluster = build_cluster(&config);
        let mut scheduler = prepare(&cluster, &config).expect("builds");
        let stats = run_prepared(&mut scheduler, &cluster);
        assert_eq!(stats.scheduled, 600, "{workload:?}");
        assert_eq!(verify_placements(&cluster, &stats), Ok(()), "{workload:?}");
        // The check is independent of the plugins: moving one Pod next to a sibling breaks it.
        let mut broken = stats.clone();
        let sibling = broken.placements[BENCH_APPS_FOR_TEST].1.clone();
        broken.placements[0].1 = sibling;
        if workload == Workload::Affinity {
            assert!(verify_placements(&cluster, &broken).is_err(), "{workload:?}");
        }
    }
}

/// Pods `i` and `i + BENCH_APPS` belong to the same application.
const BENCH_APPS_FOR_TEST: usize = crate::scheduler::bench::BENCH_APPS;

#[test]
fn a_spread_workload_crowding_one_zone_fails_the_check() {
    use crate::scheduler::bench::{BenchConfig, BenchStats, Workload, build_cluster, verify_placements};
    let config = BenchConfig { nodes: 30, pods: 200, workload: Workload::Spread, ..BenchConfig::default() };
    let cluster = build_cluster(&config);
    // Every Pod in zone-0 (nodes 0, 3, …, 27): each application has 2 Pods there and none elsewhere.
    let placements = cluster
        .pending_pods
        .iter()
        .enumerate()
        .map(|(index, pod)| (pod.metadata.name.clone().unwrap_or_default(), format!("node-{:05}", (index % 10) * 3)))
        .collect();
    let stats = BenchStats { scheduled: 200, placements, ..BenchStats::default() };
    let error = verify_placements(&cluster, &stats).expect_err("crowded");
    assert!(error.contains("skew above 1"), "{error}");
}

/// Preemption copies the cycle state for every node it dry-runs; the copies share their entries
/// until one is written, and a write through one copy is never seen by another.
#[test]
fn a_copied_cycle_state_keeps_its_own_changes() {
    #[derive(Clone, Debug, PartialEq)]
    struct Counts(Vec<i64>);
    const KEY: &str = "Counts";
    let mut original = crate::scheduler::framework::CycleState::new();
    original.write(KEY, Counts(vec![1, 2]));
    let mut copy = original.clone();
    copy.read_mut::<Counts>(KEY).expect("the copy holds the entry").0.push(3);
    let mut scratch = original.clone();
    scratch.read_mut::<Counts>(KEY).expect("the scratch copy holds the entry").0.clear();
    scratch.clone_from(&original);
    assert_eq!(original.read::<Counts>(KEY), Some(&Counts(vec![1, 2])));
    assert_eq!(copy.read::<Counts>(KEY), Some(&Counts(vec![1, 2, 3])));
    assert_eq!(scratch.read::<Counts>(KEY), Some(&Counts(vec![1, 2])), "clone_from restores the original");
}

/// A long-running scheduler is never asked for its attempts, so it must not keep them (it
/// kept one per Pod it ever placed); the simulator asks for them and gets each decision.
#[test]
fn attempts_are_kept_only_when_asked_for() {
    let place_two = |scheduler: &mut Scheduler| {
        let node = make_node("worker").capacity(&[("cpu", "1"), ("memory", "1Gi"), ("pods", "110")]);
        scheduler.step(Input::NodeApplied(Arc::new(node.obj())), at(0));
        scheduler.step(Input::PodApplied(Arc::new(make_pod("fits").req(&[("cpu", "500m")]).obj())), at(1));
        scheduler.step(Input::PodApplied(Arc::new(make_pod("too-big").req(&[("cpu", "2")]).obj())), at(1));
    };
    let mut quiet = scheduler(&SchedulerConfig::default());
    place_two(&mut quiet);
    assert!(quiet.take_attempts().is_empty());

    let mut recording = scheduler(&SchedulerConfig::default());
    recording.keep_attempts();
    place_two(&mut recording);
    let attempts = recording.take_attempts();
    let nodes: Vec<Option<&str>> = attempts.iter().map(|attempt| attempt.node.as_deref()).collect();
    assert_eq!(nodes, [Some("worker"), None]);
    assert!(attempts[1].message.as_deref().is_some_and(|message| message.contains("Insufficient cpu")));
    assert!(recording.take_attempts().is_empty(), "taken once");
}
