//! DefaultPreemption against Kubernetes' own tables (`default_preemption_test.go`:
//! TestPostFilter, TestDryRunPreemption — formerly TestSelectNodesForPreemption —,
//! TestSelectBestCandidate, TestPodEligibleToPreemptOthers, TestPreempt): the same Pods, nodes
//! and budgets, and the same expected victims, nodes and messages.

use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::policy::v1 as policy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use crate::jiff::Timestamp;
use crate::scheduler::driver::{Effect, Input, Scheduler};
use crate::scheduler::framework::{Code, CycleState, NodeToStatus, PostFilterContext, PostFilterPlugin, Status};
use crate::scheduler::listers::{ClusterObjects, DisruptionBudget, ListerObject};
use crate::scheduler::node_info::{NodeInfo, PodKey};
use crate::scheduler::nominated_pods::NominatedPods;
use crate::scheduler::nominator::Nominator;
use crate::scheduler::plugins::default_preemption::{
    Candidate, DefaultPreemption, DryRunSearch, dry_run_every_candidate, pick_one_node_for_preemption,
    pod_eligible_to_preempt_others,
};
use crate::scheduler::profile::SchedulerConfig;
use crate::scheduler::registry::Registry;
use crate::scheduler::runtime::Framework;
use crate::scheduler::schedule_one::SamplingOptions;
use crate::scheduler::snapshot::Snapshot;
use crate::scheduler::testing::{
    NodeBuilder, PodBuilder, affinity_term, label_selector, make_node, make_pod, node_infos,
};

const NEG: i32 = -100;
const LOW: i32 = 0;
const MID: i32 = 100;
const HIGH: i32 = 1000;
const VERY_HIGH: i32 = 10000;

const SMALL: &[(&str, &str)] = &[("cpu", "100m"), ("memory", "100")];
const MEDIUM: &[(&str, &str)] = &[("cpu", "200m"), ("memory", "200")];
const LARGE: &[(&str, &str)] = &[("cpu", "300m"), ("memory", "300")];
const VERY_LARGE: &[(&str, &str)] = &[("cpu", "500m"), ("memory", "500")];

/// `st.MakeNode().Capacity(veryLargeRes)`: Kubernetes' wrapper adds 32 Pods.
fn very_large_node(name: &str) -> NodeBuilder {
    make_node(name).capacity(&[("cpu", "500m"), ("memory", "500"), ("pods", "32")])
}

/// A Pod on a node with a priority.
fn on(name: &str, node: &str, priority: i32) -> PodBuilder {
    make_pod(name).node(node).priority(priority)
}

fn framework() -> Framework {
    Framework::new(&Registry::in_tree(), &SchedulerConfig::default().profiles[0]).expect("the default profile builds")
}

fn budget(labels: &[(&str, &str)], allowed: i32, disrupted: &[&str]) -> policy::PodDisruptionBudget {
    policy::PodDisruptionBudget {
        metadata: meta::ObjectMeta {
            namespace: Some("default".to_owned()),
            name: Some(format!("pdb-{allowed}-{}", disrupted.len())),
            ..meta::ObjectMeta::default()
        },
        spec: Some(policy::PodDisruptionBudgetSpec {
            selector: Some(label_selector(labels, &[])),
            ..policy::PodDisruptionBudgetSpec::default()
        }),
        status: Some(policy::PodDisruptionBudgetStatus {
            disruptions_allowed: allowed,
            disrupted_pods: Some(
                disrupted
                    .iter()
                    .map(|name| ((*name).to_owned(), meta::Time(crate::jiff::Timestamp::UNIX_EPOCH)))
                    .collect(),
            ),
            ..policy::PodDisruptionBudgetStatus::default()
        }),
    }
}

/// One dry run: the candidates as (node, victim names sorted, violations), sorted by node, as
/// Kubernetes' test compares them.
fn dry_run(
    plugin: DefaultPreemption,
    nodes: &[core::Node],
    pods: &[core::Pod],
    budgets: &[policy::PodDisruptionBudget],
    preemptor: PodBuilder,
    offset: usize,
) -> Vec<(String, Vec<String>, usize)> {
    let framework = framework();
    let snapshot = Snapshot::from_node_infos(node_infos(nodes, pods));
    let pod = preemptor.info();
    let mut state = CycleState::new();
    let (_, status, _) = framework.run_pre_filter(&mut state, &pod, &snapshot);
    assert!(status.is_success(), "PreFilter: {status}");
    let parsed: Vec<DisruptionBudget> = budgets.iter().map(DisruptionBudget::of).collect();
    let budgets: Vec<&DisruptionBudget> = parsed.iter().collect();
    let mut potential: Vec<(usize, &NodeInfo)> = snapshot.list().iter().map(Arc::as_ref).enumerate().collect();
    potential.sort_by(|(_, left), (_, right)| left.name().cmp(right.name()));
    let num_candidates = plugin.num_candidates(potential.len());
    let found = dry_run_every_candidate(&DryRunSearch {
        runner: &framework,
        state: &state,
        pod: &pod,
        potential_nodes: &potential,
        budgets: &budgets,
        nominated: &NominatedPods::default(),
        offset,
        num_candidates,
    });
    let mut candidates: Vec<(String, Vec<String>, usize)> = found
        .candidates
        .iter()
        .map(|candidate| {
            let mut names: Vec<String> = candidate.victims.iter().map(|victim| victim.name().to_owned()).collect();
            names.sort();
            (candidate.node_name.clone(), names, candidate.num_pdb_violations)
        })
        .collect();
    candidates.sort();
    candidates
}

fn expect(rows: &[(&str, &[&str], usize)]) -> Vec<(String, Vec<String>, usize)> {
    rows.iter()
        .map(|(node, victims, violations)| {
            ((*node).to_owned(), victims.iter().map(|victim| (*victim).to_owned()).collect(), *violations)
        })
        .collect()
}

fn nodes(names: &[&str]) -> Vec<core::Node> {
    names.iter().map(|name| very_large_node(name).obj()).collect()
}

fn objs(pods: Vec<PodBuilder>) -> Vec<core::Pod> {
    pods.into_iter().map(PodBuilder::obj).collect()
}

#[test]
fn dry_run_finds_victims_as_kubernetes_does() {
    let default = DefaultPreemption::default();
    let two = nodes(&["node1", "node2"]);
    let high_large = || make_pod("p").priority(HIGH).req(LARGE);
    // "a pod that fits on both nodes when lower priority pods are preempted"
    let pods = objs(vec![on("p1", "node1", MID).req(LARGE), on("p2", "node2", MID).req(LARGE)]);
    assert_eq!(
        dry_run(default, &two, &pods, &[], high_large(), 0),
        expect(&[("node1", &["p1"], 0), ("node2", &["p2"], 0)])
    );
    // "a pod that would fit on the nodes, but other pods running are higher priority"
    assert_eq!(dry_run(default, &two, &pods, &[], make_pod("p").priority(LOW).req(LARGE), 0), expect(&[]));
    // "medium priority pod is preempted, but lower priority one stays as it is small"
    let pods = objs(vec![
        on("p1.1", "node1", LOW).req(SMALL),
        on("p1.2", "node1", MID).req(LARGE),
        on("p2", "node2", MID).req(LARGE),
    ]);
    assert_eq!(
        dry_run(default, &two, &pods, &[], high_large(), 0),
        expect(&[("node1", &["p1.2"], 0), ("node2", &["p2"], 0)])
    );
    // "mixed priority pods are preempted"
    let pods = objs(vec![
        on("p1.1", "node1", MID).req(SMALL),
        on("p1.2", "node1", LOW).req(SMALL),
        on("p1.3", "node1", MID).req(MEDIUM),
        on("p1.4", "node1", HIGH).req(SMALL),
        on("p2", "node2", HIGH).req(LARGE),
    ]);
    assert_eq!(dry_run(default, &two, &pods, &[], high_large(), 0), expect(&[("node1", &["p1.2", "p1.3"], 0)]));
    // "mixed priority pods are preempted, pick later StartTime one when priorities are equal"
    let pods = objs(vec![
        on("p1.1", "node1", LOW).req(SMALL).start_time(5),
        on("p1.2", "node1", LOW).req(SMALL).start_time(4),
        on("p1.3", "node1", MID).req(MEDIUM).start_time(3),
        on("p1.4", "node1", HIGH).req(SMALL).start_time(2),
        on("p2", "node2", HIGH).req(LARGE).start_time(1),
    ]);
    assert_eq!(dry_run(default, &two, &pods, &[], high_large(), 0), expect(&[("node1", &["p1.1", "p1.3"], 0)]));
}

#[test]
fn dry_run_evicts_pods_whose_anti_affinity_or_spread_blocks_the_preemptor() {
    let default = DefaultPreemption::default();
    let labelled = |name: &str, zone: &str| very_large_node(name).label("hostname", name).label("zone", zone).obj();
    // "pod with anti-affinity is preempted"
    let two = vec![labelled("node1", "zone1"), labelled("node2", "zone1")];
    let pods = objs(vec![
        on("p1.1", "node1", LOW)
            .label("foo", "")
            .req(SMALL)
            .required_term(true, affinity_term("foo", "Exists", &[], "hostname")),
        on("p1.2", "node1", MID).req(SMALL),
        on("p1.3", "node1", HIGH).req(SMALL),
        on("p2", "node2", HIGH).req(SMALL),
    ]);
    let preemptor = make_pod("p").label("foo", "").priority(HIGH).req(SMALL);
    assert_eq!(dry_run(default, &two, &pods, &[], preemptor, 0), expect(&[("node1", &["p1.1"], 0)]));
    // "preemption to resolve pod topology spread filter failure"
    let three = vec![labelled("node-a", "zone1"), labelled("node-b", "zone1"), labelled("node-x", "zone2")];
    let pods = objs(vec![
        on("pod-a1", "node-a", MID).label("foo", ""),
        on("pod-a2", "node-a", LOW).label("foo", ""),
        on("pod-b1", "node-b", LOW).label("foo", ""),
        on("pod-x1", "node-x", HIGH).label("foo", ""),
        on("pod-x2", "node-x", HIGH).label("foo", ""),
    ]);
    let exists = || Some(label_selector(&[], &[("foo", "Exists", &[])]));
    let preemptor = make_pod("p")
        .label("foo", "")
        .priority(HIGH)
        .spread_constraint(1, "zone", "DoNotSchedule", exists(), None, None, None, None)
        .spread_constraint(1, "hostname", "DoNotSchedule", exists(), None, None, None, None);
    assert_eq!(
        dry_run(default, &three, &pods, &[], preemptor, 0),
        expect(&[("node-a", &["pod-a2"], 0), ("node-b", &["pod-b1"], 0)])
    );
}

#[test]
fn dry_run_counts_pod_disruption_budget_violations() {
    let default = DefaultPreemption::default();
    let one = nodes(&["node1"]);
    let foo = |name: &str| on(name, "node1", MID).label("app", "foo").req(MEDIUM);
    let preemptor = || make_pod("p").priority(HIGH).req(VERY_LARGE);
    let two_pods = objs(vec![foo("p1.1"), foo("p1.2")]);
    let both = expect(&[("node1", &["p1.1", "p1.2"], 1)]);
    // "preemption with violation of same pdb"
    let budgets = [budget(&[("app", "foo")], 1, &[])];
    assert_eq!(dry_run(default, &one, &two_pods, &budgets, preemptor(), 0), both);
    // "... the victim doesn't belong to DisruptedPods"
    let budgets = [budget(&[("app", "foo")], 1, &["p2"])];
    assert_eq!(dry_run(default, &one, &two_pods, &budgets, preemptor(), 0), both);
    // "... the victim belongs to DisruptedPods"
    let budgets = [budget(&[("app", "foo")], 1, &["p1.2"])];
    assert_eq!(dry_run(default, &one, &two_pods, &budgets, preemptor(), 0), expect(&[("node1", &["p1.1", "p1.2"], 0)]));
    // "... the victim which belongs to DisruptedPods is treated as 'nonViolating'"
    let three_pods = objs(vec![foo("p1.1"), foo("p1.2"), foo("p1.3")]);
    let budgets = [budget(&[("app", "foo")], 1, &["p1.3"])];
    assert_eq!(
        dry_run(default, &one, &three_pods, &budgets, preemptor(), 0),
        expect(&[("node1", &["p1.1", "p1.2", "p1.3"], 1)])
    );
}

#[test]
fn dry_run_stops_after_enough_candidates_from_the_offset() {
    let five = nodes(&["node1", "node2", "node3", "node4", "node5"]);
    let limited = DefaultPreemption::with_args(40, 1);
    let pod = |priority: [i32; 5]| {
        objs(
            (0..5)
                .map(|index| on(&format!("p{}", index + 1), &format!("node{}", index + 1), priority[index]).req(LARGE))
                .collect(),
        )
    };
    let preemptor = || make_pod("p").priority(HIGH).req(LARGE);
    // "all nodes are possible candidates, but DefaultPreemptionArgs limits to 2": offset 4.
    let pods = pod([MID; 5]);
    assert_eq!(
        dry_run(limited, &five, &pods, &[], preemptor(), 4),
        expect(&[("node1", &["p1"], 0), ("node5", &["p5"], 0)])
    );
    // "some nodes are not possible candidates, DefaultPreemptionArgs limits to 2": offset 4.
    let pods = pod([MID, VERY_HIGH, MID, MID, VERY_HIGH]);
    assert_eq!(
        dry_run(limited, &five, &pods, &[], preemptor(), 4),
        expect(&[("node1", &["p1"], 0), ("node3", &["p3"], 0)])
    );
    // "preemption offset across multiple scheduling cycles and wrap around": offsets 4, 1, 3.
    let pods = pod([MID; 5]);
    let by_offset: Vec<_> =
        [4, 1, 3].iter().map(|offset| dry_run(limited, &five, &pods, &[], preemptor(), *offset)).collect();
    assert_eq!(by_offset[0], expect(&[("node1", &["p1"], 0), ("node5", &["p5"], 0)]));
    assert_eq!(by_offset[1], expect(&[("node2", &["p2"], 0), ("node3", &["p3"], 0)]));
    assert_eq!(by_offset[2], expect(&[("node4", &["p4"], 0), ("node5", &["p5"], 0)]));
    // "preemption looks past numCandidates until a non-PDB violating node is found": offset 4.
    let pods = objs(vec![
        on("p1", "node1", MID).label("app", "foo").req(LARGE),
        on("p2", "node2", MID).label("app", "foo").req(LARGE),
        on("p3", "node3", MID).req(LARGE),
        on("p4", "node4", MID).req(LARGE),
        on("p5", "node5", MID).label("app", "foo").req(LARGE),
    ]);
    let budgets = [budget(&[("app", "foo")], 0, &[])];
    assert_eq!(
        dry_run(DefaultPreemption::with_args(40, 2), &five, &pods, &budgets, preemptor(), 4),
        expect(&[("node1", &["p1"], 1), ("node3", &["p3"], 0), ("node5", &["p5"], 1)])
    );
}

#[test]
fn candidate_counts_follow_the_percentage_and_the_absolute_minimum() {
    let default = DefaultPreemption::default();
    assert_eq!(default.num_candidates(5), 5);
    assert_eq!(default.num_candidates(100), 100);
    assert_eq!(default.num_candidates(5_000), 500);
    assert_eq!(DefaultPreemption::with_args(40, 1).num_candidates(5), 2);
    assert_eq!(default.offset_and_num_candidates(5, 13), (3, 5));
}

/// Dry-runs every node (default arguments) and picks one, as TestSelectBestCandidate does.
fn best_node(names: &[&str], pods: Vec<PodBuilder>, preemptor: PodBuilder) -> String {
    let nodes = nodes(names);
    let pods = objs(pods);
    let framework = framework();
    let snapshot = Snapshot::from_node_infos(node_infos(&nodes, &pods));
    let pod = preemptor.info();
    let mut state = CycleState::new();
    framework.run_pre_filter(&mut state, &pod, &snapshot);
    let potential: Vec<(usize, &NodeInfo)> = snapshot.list().iter().map(Arc::as_ref).enumerate().collect();
    let found = dry_run_every_candidate(&DryRunSearch {
        runner: &framework,
        state: &state,
        pod: &pod,
        potential_nodes: &potential,
        budgets: &[],
        nominated: &NominatedPods::default(),
        offset: 0,
        num_candidates: 100,
    });
    pick_one_node_for_preemption(&found.candidates).expect("a candidate").node_name.clone()
}

#[test]
fn the_node_whose_victims_matter_least_is_picked() {
    let three = ["node1", "node2", "node3"];
    let p = || make_pod("p").priority(HIGH).req(VERY_LARGE);
    let at = |name: &str, node: &str, priority: i32, requests: &'static [(&'static str, &'static str)]| {
        on(name, node, priority).req(requests).start_time(0)
    };
    // "node with min highest priority pod is picked"
    let pods = vec![
        at("p1.1", "node1", MID, MEDIUM),
        at("p1.2", "node1", MID, LARGE),
        at("p2.1", "node2", MID, MEDIUM),
        at("p2.2", "node2", LOW, MEDIUM),
        at("p3.1", "node3", LOW, MEDIUM),
        at("p3.2", "node3", LOW, MEDIUM),
    ];
    assert_eq!(best_node(&three, pods, p()), "node3");
    // "when highest priorities are the same, minimum sum of priorities is picked"
    let pods = vec![
        at("p1.1", "node1", MID, MEDIUM),
        at("p1.2", "node1", MID, LARGE),
        at("p2.1", "node2", MID, LARGE),
        at("p2.2", "node2", LOW, MEDIUM),
        at("p3.1", "node3", MID, MEDIUM),
        at("p3.2", "node3", MID, MEDIUM),
    ];
    assert_eq!(best_node(&three, pods, p()), "node2");
    // "when highest priority and sum are the same, minimum number of pods is picked"
    let pods = vec![
        at("p1.1", "node1", MID, SMALL),
        at("p1.2", "node1", NEG, SMALL),
        at("p1.3", "node1", MID, SMALL),
        at("p1.4", "node1", NEG, SMALL),
        at("p2.1", "node2", MID, LARGE),
        at("p2.2", "node2", NEG, MEDIUM),
        at("p3.1", "node3", MID, MEDIUM),
        at("p3.2", "node3", NEG, SMALL),
        at("p3.3", "node3", LOW, SMALL),
    ];
    assert_eq!(best_node(&three, pods, p()), "node2");
    // "sum of adjusted priorities is considered"
    let pods = vec![
        at("p1.1", "node1", MID, SMALL),
        at("p1.2", "node1", NEG, SMALL),
        at("p1.3", "node1", NEG, SMALL),
        at("p2.1", "node2", MID, LARGE),
        at("p2.2", "node2", NEG, MEDIUM),
        at("p3.1", "node3", MID, MEDIUM),
        at("p3.2", "node3", NEG, SMALL),
        at("p3.3", "node3", LOW, SMALL),
    ];
    assert_eq!(best_node(&three, pods, p()), "node2");
    // "non-overlapping lowest high priority, sum priorities, and number of pods"
    let pods = vec![
        at("p1.1", "node1", MID, SMALL),
        at("p1.2", "node1", LOW, SMALL),
        at("p1.3", "node1", LOW, SMALL),
        at("p2.1", "node2", HIGH, LARGE),
        at("p3.1", "node3", MID, MEDIUM),
        at("p3.2", "node3", LOW, SMALL),
        at("p3.3", "node3", LOW, SMALL),
        at("p3.4", "node3", LOW, MEDIUM),
        at("p4.1", "node4", MID, MEDIUM),
        at("p4.2", "node4", MID, SMALL),
        at("p4.3", "node4", MID, SMALL),
        at("p4.4", "node4", NEG, SMALL),
    ];
    let very_high = make_pod("p").priority(VERY_HIGH).req(VERY_LARGE);
    assert_eq!(best_node(&["node1", "node2", "node3", "node4"], pods, very_high), "node1");
    let timed =
        |name: &str, node: &str, priority: i32, start: i64| on(name, node, priority).req(MEDIUM).start_time(start);
    // "same priority, same number of victims, different start time for each node's pod"
    let pods = vec![
        timed("p1.1", "node1", MID, 2),
        timed("p1.2", "node1", MID, 2),
        timed("p2.1", "node2", MID, 3),
        timed("p2.2", "node2", MID, 3),
        timed("p3.1", "node3", MID, 1),
        timed("p3.2", "node3", MID, 1),
    ];
    assert_eq!(best_node(&three, pods, p()), "node2");
    // "same priority, same number of victims, different start time for all pods"
    let pods = vec![
        timed("p1.1", "node1", MID, 4),
        timed("p1.2", "node1", MID, 2),
        timed("p2.1", "node2", MID, 5),
        timed("p2.2", "node2", MID, 1),
        timed("p3.1", "node3", MID, 3),
        timed("p3.2", "node3", MID, 6),
    ];
    assert_eq!(best_node(&three, pods, p()), "node3");
    // "different priority, same number of victims, different start time for all pods"
    let pods = vec![
        timed("p1.1", "node1", LOW, 4),
        timed("p1.2", "node1", MID, 2),
        timed("p2.1", "node2", MID, 6),
        timed("p2.2", "node2", LOW, 1),
        timed("p3.1", "node3", LOW, 3),
        timed("p3.2", "node3", MID, 5),
    ];
    assert_eq!(best_node(&three, pods, p()), "node2");
}

#[test]
fn fewer_budget_violations_beat_lower_priorities() {
    let victim = |name: &str, priority: i32| Arc::new(make_pod(name).priority(priority).info());
    let candidates = vec![
        Candidate { node_name: "violating".to_owned(), victims: vec![victim("a", LOW)], num_pdb_violations: 1 },
        Candidate { node_name: "clean".to_owned(), victims: vec![victim("b", MID)], num_pdb_violations: 0 },
        Candidate { node_name: "clean-too".to_owned(), victims: vec![victim("c", MID)], num_pdb_violations: 0 },
    ];
    assert_eq!(pick_one_node_for_preemption(&candidates).map(|c| c.node_name.as_str()), Some("clean"));
}

#[test]
fn eligibility_to_preempt_follows_kubernetes() {
    let node_with = |pods: Vec<PodBuilder>| {
        let node = make_node("node1").obj();
        node_infos(&[node], &objs(pods)).remove(0)
    };
    let unresolvable = Status::new(Code::UnschedulableAndUnresolvable, "node(s) had untolerated taint");
    let unschedulable = Status::new(Code::Unschedulable, "Insufficient cpu");
    let nominated = make_pod("p_with_nominated_node").priority(HIGH).nominated_node_name("node1").info();
    // "Pod with nominated node": the node is unresolvable now, so preempt again.
    let terminating = node_with(vec![on("p1", "node1", LOW).terminating()]);
    assert_eq!(pod_eligible_to_preempt_others(&nominated, Some(&terminating), Some(&unresolvable)), Ok(()));
    // "Pod without nominated node"
    assert_eq!(pod_eligible_to_preempt_others(&make_pod("p").priority(HIGH).info(), None, None), Ok(()));
    // "Pod with 'PreemptNever' preemption policy"
    let never = make_pod("p").priority(HIGH).preemption_policy("Never").info();
    assert_eq!(pod_eligible_to_preempt_others(&never, None, None), Err("not eligible due to preemptionPolicy=Never."));
    // "preemption victim pod terminating, as indicated by the dedicated DisruptionTarget condition"
    let victim = node_with(vec![on("p1", "node1", LOW).terminating().condition(
        "DisruptionTarget",
        "True",
        "PreemptionByScheduler",
    )]);
    assert_eq!(
        pod_eligible_to_preempt_others(&nominated, Some(&victim), Some(&unschedulable)),
        Err("not eligible due to a terminating pod on the nominated node.")
    );
    // "non-victim Pods terminating"
    assert_eq!(pod_eligible_to_preempt_others(&nominated, Some(&terminating), Some(&unschedulable)), Ok(()));
}

/// Runs the PostFilter with the given node statuses (`absent` for the others, as Kubernetes'
/// NodeToStatus) and PodDisruptionBudgets.
fn post_filter(
    nodes: Vec<core::Node>,
    pods: Vec<PodBuilder>,
    budgets: &[policy::PodDisruptionBudget],
    preemptor: PodBuilder,
    statuses: &[(&str, Code)],
) -> (Option<String>, Code, String) {
    let framework = framework();
    let mut objects = ClusterObjects::new();
    for budget in budgets {
        objects.apply(&ListerObject::PodDisruptionBudget(Arc::new(budget.clone())));
    }
    let snapshot = Snapshot::from_node_infos(node_infos(&nodes, &objs(pods))).with_objects(objects);
    let pod = preemptor.info();
    let mut state = CycleState::new();
    framework.run_pre_filter(&mut state, &pod, &snapshot);
    let statuses = NodeToStatus {
        statuses: statuses
            .iter()
            .map(|(node, code)| (snapshot.position(node).expect("a node of the snapshot"), Status::code_only(*code)))
            .collect(),
        absent: Some(Status::code_only(Code::UnschedulableAndUnresolvable)),
    };
    let nominator = Nominator::new();
    let nominated = NominatedPods::default();
    let context = PostFilterContext {
        snapshot: &snapshot,
        filters: &framework,
        nominator: &nominator,
        nominated: &nominated,
        random: 0,
    };
    let (result, status) = DefaultPreemption::default().post_filter(&state, &pod, &statuses, &context);
    (result.and_then(|result| result.nominated_node_name), status.code(), status.message())
}

#[test]
fn post_filter_nominates_or_explains_as_kubernetes_does() {
    let one_pod = |name: &str| make_node(name).capacity(&[("pods", "1")]).obj();
    let small_node = |name: &str| make_node(name).capacity(&[("cpu", "200m"), ("memory", "400"), ("pods", "32")]).obj();
    use Code::{Unschedulable as U, UnschedulableAndUnresolvable as UU};
    // "pod with higher priority can be made schedulable"
    let got = post_filter(
        vec![one_pod("node1")],
        vec![on("p1", "node1", LOW)],
        &[],
        make_pod("p").priority(HIGH),
        &[("node1", U)],
    );
    assert_eq!(got, (Some("node1".to_owned()), Code::Success, String::new()));
    // "pod with tied priority is still unschedulable"
    let got = post_filter(vec![one_pod("node1")], vec![on("p1", "node1", LOW)], &[], make_pod("p"), &[("node1", U)]);
    let message = "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";
    assert_eq!(got, (Some(String::new()), U, message.to_owned()));
    // "preemption should respect filteredNodesStatuses"
    let got = post_filter(
        vec![one_pod("node1")],
        vec![on("p1", "node1", LOW)],
        &[],
        make_pod("p").priority(HIGH),
        &[("node1", UU)],
    );
    let message = "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";
    assert_eq!(got, (Some(String::new()), U, message.to_owned()));
    // "preemption should respect absent NodeToStatusReader entry meaning UnschedulableAndUnresolvable"
    let got = post_filter(vec![one_pod("node1")], vec![on("p1", "node1", LOW)], &[], make_pod("p").priority(HIGH), &[]);
    assert_eq!(got, (Some(String::new()), U, message.to_owned()));
    // "pod can be made schedulable on one node"
    let got = post_filter(
        vec![one_pod("node1"), one_pod("node2")],
        vec![on("p1", "node1", HIGH), on("p2", "node2", LOW)],
        &[],
        make_pod("p").priority(MID),
        &[("node1", U), ("node2", U)],
    );
    assert_eq!(got.0.as_deref(), Some("node2"));
    // "pod can be made schedulable on minHighestPriority node": node1's low victim breaks a
    // budget, node2's mid one does not.
    let key = "test.kubernetes.io/is-violating-pdb";
    let got = post_filter(
        vec![one_pod("node1"), one_pod("node2")],
        vec![
            on("p1", "node1", HIGH).label(key, "non-violating"),
            on("p2", "node1", LOW).label(key, "violating"),
            on("p3", "node2", MID).label(key, "violating"),
        ],
        &[budget(&[(key, "violating")], 0, &[]), budget(&[(key, "non-violating")], i32::MAX, &[])],
        make_pod("p").priority(VERY_HIGH),
        &[("node1", U), ("node2", U)],
    );
    assert_eq!(got.0.as_deref(), Some("node2"));
    // "no candidate nodes found, no enough resource after removing low priority pods"
    let got = post_filter(
        vec![small_node("node1"), small_node("node2")],
        vec![on("p1", "node1", LOW), on("p2", "node2", LOW)],
        &[],
        make_pod("p").priority(HIGH).req(LARGE),
        &[("node1", U), ("node2", U)],
    );
    assert_eq!(got.2, "preemption: 0/2 nodes are available: 2 Insufficient cpu.");
    // "no candidate nodes found with mixed reasons, no lower priority pod and no enough CPU resource"
    let got = post_filter(
        vec![one_pod("node1"), small_node("node2"), one_pod("node3")],
        vec![on("p1", "node1", HIGH), on("p2", "node2", LOW), on("p3", "node3", HIGH)],
        &[],
        make_pod("p").priority(HIGH).req(LARGE),
        &[("node1", U), ("node2", U), ("node3", U)],
    );
    assert_eq!(
        got.2,
        "preemption: 0/3 nodes are available: 1 Insufficient cpu, 2 No preemption victims found for incoming pod."
    );
    // "no candidate nodes found with mixed reason, 2 UnschedulableAndUnresolvable nodes and 2 nodes
    // don't have enough CPU resource"
    let got = post_filter(
        vec![small_node("node1"), small_node("node2"), small_node("node3"), small_node("node4")],
        vec![on("p1", "node1", LOW), on("p2", "node2", LOW)],
        &[],
        make_pod("p").priority(HIGH).req(LARGE),
        &[("node1", U), ("node2", U), ("node4", UU)],
    );
    assert_eq!(
        got.2,
        "preemption: 0/4 nodes are available: 2 Insufficient cpu, 2 Preemption is not helpful for scheduling."
    );
}

#[test]
fn a_budget_without_a_selector_covers_nothing() {
    let mut no_selector = budget(&[], 0, &[]);
    no_selector.spec = Some(policy::PodDisruptionBudgetSpec::default());
    let empty = budget(&[], 0, &[]);
    let pod = make_pod("p").label("app", "foo").obj();
    assert!(!DisruptionBudget::of(&no_selector).covers(&pod));
    assert!(!DisruptionBudget::of(&empty).covers(&pod));
    assert!(DisruptionBudget::of(&budget(&[("app", "foo")], 0, &[])).covers(&pod));
    let mut elsewhere = budget(&[("app", "foo")], 0, &[]);
    elsewhere.metadata.namespace = Some("other".to_owned());
    assert!(!DisruptionBudget::of(&elsewhere).covers(&pod));
}

fn scheduler_with(nodes: &[core::Node], pods: Vec<PodBuilder>) -> Scheduler {
    use rand::SeedableRng;
    let rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut scheduler =
        Scheduler::new(&SchedulerConfig::default(), &Registry::in_tree(), rng, SamplingOptions::default())
            .expect("the default profile builds");
    let mut ignored = Vec::new();
    for node in nodes {
        scheduler.observe(Input::NodeApplied(Arc::new(node.clone())), at(0), &mut ignored);
    }
    for pod in pods {
        scheduler.observe(Input::PodApplied(Arc::new(pod.obj())), at(0), &mut ignored);
    }
    scheduler
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).expect("in range")
}

fn deleted(effects: &[Effect]) -> Vec<String> {
    let mut names: Vec<String> = effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::DeletePod { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    names.sort();
    names
}

fn nominated(effects: &[Effect], pod: &str) -> Option<String> {
    effects.iter().find_map(|effect| match effect {
        Effect::PatchPodStatus { name, nominated_node_name, condition, .. }
            if name == pod && condition.type_ == "PodScheduled" =>
        {
            nominated_node_name.clone()
        }
        _ => None,
    })
}

#[test]
fn preempt_evicts_the_victims_and_nominates_the_node() {
    // TestPreempt "basic preemption logic" and "PreemptionPolicy is nil".
    let three = nodes(&["node1", "node2", "node3"]);
    let existing = || {
        vec![
            on("p1.1", "node1", LOW).req(SMALL),
            on("p1.2", "node1", LOW).req(SMALL),
            on("p2.1", "node2", HIGH).req(LARGE),
            on("p3.1", "node3", MID).req(MEDIUM),
        ]
    };
    let mut scheduler = scheduler_with(&three, existing());
    let effects =
        scheduler.step(Input::PodApplied(Arc::new(make_pod("p").priority(HIGH).req(VERY_LARGE).obj())), at(1));
    assert_eq!(deleted(&effects), ["p1.1", "p1.2"]);
    assert_eq!(nominated(&effects, "p").as_deref(), Some("node1"));
    assert_eq!(scheduler.nominator().node_of(&PodKey("uid-p".to_owned())), Some("node1"));
    let disruption = effects
        .iter()
        .filter(|effect| matches!(effect, Effect::PatchPodStatus { condition, .. }
            if condition.type_ == "DisruptionTarget"
                && condition.reason.as_deref() == Some("PreemptionByScheduler")
                && condition.message.as_deref() == Some("default-scheduler: preempting to accommodate a higher priority pod")))
        .count();
    assert_eq!(disruption, 2);
    let preempted: Vec<String> = effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::RecordEvent(event) if event.reason.as_deref() == Some("Preempted") => event.message.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(preempted, ["Preempted by pod uid-p on node node1", "Preempted by pod uid-p on node node1"]);
    // TestPreempt "no preempting in pod".
    let mut scheduler = scheduler_with(&three, existing());
    let never = make_pod("p").priority(HIGH).req(VERY_LARGE).preemption_policy("Never");
    let effects = scheduler.step(Input::PodApplied(Arc::new(never.obj())), at(1));
    assert!(deleted(&effects).is_empty());
    assert_eq!(nominated(&effects, "p"), None);
}

#[test]
fn preempt_resolves_topology_spread_on_the_right_node() {
    // TestPreempt "preemption for topology spread constraints".
    let labelled = |name: &str, zone: &str| very_large_node(name).label("hostname", name).label("zone", zone).obj();
    let three = vec![labelled("node-a", "zone1"), labelled("node-b", "zone1"), labelled("node-x", "zone2")];
    let pods = vec![
        on("p-a1", "node-a", HIGH).label("foo", ""),
        on("p-a2", "node-a", HIGH).label("foo", ""),
        on("p-b1", "node-b", LOW).label("foo", ""),
        on("p-x1", "node-x", HIGH).label("foo", ""),
        on("p-x2", "node-x", HIGH).label("foo", ""),
    ];
    let mut scheduler = scheduler_with(&three, pods);
    let exists = || Some(label_selector(&[], &[("foo", "Exists", &[])]));
    let preemptor = make_pod("p")
        .label("foo", "")
        .priority(HIGH)
        .spread_constraint(1, "zone", "DoNotSchedule", exists(), None, None, None, None)
        .spread_constraint(1, "hostname", "DoNotSchedule", exists(), None, None, None, None);
    let effects = scheduler.step(Input::PodApplied(Arc::new(preemptor.obj())), at(1));
    assert_eq!(deleted(&effects), ["p-b1"]);
    assert_eq!(nominated(&effects, "p").as_deref(), Some("node-b"));
}

fn bound(effects: &[Effect]) -> Vec<(String, String)> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Bind(binding) => Some((
                binding.metadata.name.clone().unwrap_or_default(),
                binding.target.name.clone().unwrap_or_default(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn a_nominated_pod_keeps_the_room_preemption_made_for_it() {
    let one = nodes(&["node1"]);
    let victim = on("victim", "node1", LOW).req(LARGE);
    let mut scheduler = scheduler_with(&one, vec![victim.clone()]);
    let preemptor = make_pod("high").priority(HIGH).req(LARGE);
    let effects = scheduler.step(Input::PodApplied(Arc::new(preemptor.obj())), at(1));
    assert_eq!(deleted(&effects), ["victim"]);
    scheduler.step(Input::PodDeleted(Arc::new(victim.obj())), at(1));
    // A lower-priority Pod arriving now must not take the room kept for `high`.
    let effects = scheduler.step(Input::PodApplied(Arc::new(make_pod("mid").priority(MID).req(LARGE).obj())), at(1));
    assert!(bound(&effects).is_empty(), "{:?}", bound(&effects));
    let effects = scheduler.step(Input::Tick, at(30));
    assert_eq!(bound(&effects), [("high".to_owned(), "node1".to_owned())]);
    assert!(scheduler.nominator().is_empty());
}

#[test]
fn preemption_clears_the_nominations_of_lower_priority_pods_on_the_node() {
    let one = nodes(&["node1"]);
    let mut scheduler = scheduler_with(&one, vec![on("victim", "node1", LOW).req(LARGE)]);
    let effects = scheduler.step(Input::PodApplied(Arc::new(make_pod("mid").priority(MID).req(LARGE).obj())), at(1));
    assert_eq!(nominated(&effects, "mid").as_deref(), Some("node1"));
    let effects = scheduler.step(Input::PodApplied(Arc::new(make_pod("high").priority(HIGH).req(LARGE).obj())), at(1));
    assert_eq!(nominated(&effects, "high").as_deref(), Some("node1"));
    assert!(
        effects.iter().any(|effect| matches!(effect, Effect::ClearNominatedNodeName { name, .. } if name == "mid"))
    );
    assert_eq!(scheduler.nominator().node_of(&PodKey("uid-mid".to_owned())), None);
    assert_eq!(scheduler.nominator().node_of(&PodKey("uid-high".to_owned())), Some("node1"));
}
