//! Preemption's pruned search ([`dry_run_for_best_candidate`], what the scheduler runs) chooses
//! what Kubernetes' full dry run and `pickOneNodeForPreemption` choose, on random clusters drawn
//! from seeds: the same node, the same victims in the same order, the same rejected nodes with
//! the same statuses. The clusters mix priorities (negative ones included), start times with
//! ties, PodDisruptionBudgets that some victims would violate, Pods nominated to nodes, and
//! random offsets and candidate counts.

use std::sync::Arc;

use k8s_openapi::api::policy::v1 as policy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::scheduler::framework::{Code, CycleState, FilterRunner, NominatedScratch};
use crate::scheduler::listers::{ClusterObjects, DisruptionBudget, ListerObject};
use crate::scheduler::node_info::{NodeInfo, PodInfo};
use crate::scheduler::nominated_pods::NominatedPods;
use crate::scheduler::nominator::Nominator;
use crate::scheduler::plugins::default_preemption::{DefaultPreemption, pick_one_node_for_preemption};
use crate::scheduler::plugins::preemption_dry_run::{
    DryRunSearch, dry_run_every_candidate, dry_run_for_best_candidate,
};
use crate::scheduler::profile::SchedulerConfig;
use crate::scheduler::registry::Registry;
use crate::scheduler::runtime::Framework;
use crate::scheduler::snapshot::Snapshot;
use crate::scheduler::testing::{label_selector, make_node, make_pod, node_infos};

const APPS: [&str; 3] = ["a", "b", "c"];

fn framework() -> Framework {
    Framework::new(&Registry::in_tree(), &SchedulerConfig::default().profiles[0]).expect("the default profile builds")
}

fn budget(app: &str, allowed: i32) -> policy::PodDisruptionBudget {
    policy::PodDisruptionBudget {
        metadata: meta::ObjectMeta {
            namespace: Some("default".to_owned()),
            name: Some(format!("pdb-{app}")),
            ..meta::ObjectMeta::default()
        },
        spec: Some(policy::PodDisruptionBudgetSpec {
            selector: Some(label_selector(&[("app", app)], &[])),
            ..policy::PodDisruptionBudgetSpec::default()
        }),
        status: Some(policy::PodDisruptionBudgetStatus {
            disruptions_allowed: allowed,
            ..policy::PodDisruptionBudgetStatus::default()
        }),
    }
}

/// A random cluster, its budgets and its nominations, and a preemptor.
struct Drawn {
    snapshot: Snapshot,
    nominator: Nominator,
    preemptor: PodInfo,
}

fn draw(seed: u64) -> Drawn {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let node_count = rng.random_range(3..40);
    let mut nodes = Vec::new();
    let mut pods = Vec::new();
    for index in 0..node_count {
        let name = format!("node-{index}");
        let cpu = ["1", "2", "4"][rng.random_range(0..3)];
        let max_pods = ["4", "110"][rng.random_range(0..2)];
        nodes.push(make_node(&name).capacity(&[("cpu", cpu), ("memory", "16Gi"), ("pods", max_pods)]).obj());
        for pod in 0..rng.random_range(0..6) {
            let priority = [-10, 0, 0, 10, 50, 100, 2000][rng.random_range(0..7)];
            let milli_cpu = [100, 250, 400, 700][rng.random_range(0..4)];
            let mut builder = make_pod(&format!("{name}-pod-{pod}"))
                .node(&name)
                .priority(priority)
                .label("app", APPS[rng.random_range(0..APPS.len())])
                .req(&[("cpu", &format!("{milli_cpu}m")), ("memory", "100Mi")]);
            // Few distinct start times, so that the pick's last tie-breakers matter.
            if rng.random_range(0..4) != 0 {
                builder = builder.start_time(rng.random_range(0..3) * 1_000_000_000);
            }
            pods.push(builder.obj());
        }
    }
    let mut objects = ClusterObjects::new();
    for app in APPS {
        if rng.random_range(0..3) == 0 {
            let allowed = rng.random_range(0..3);
            objects.apply(&ListerObject::PodDisruptionBudget(Arc::new(budget(app, allowed))));
        }
    }
    let snapshot = Snapshot::from_node_infos(node_infos(&nodes, &pods)).with_objects(objects);
    let preemptor_priority = [60, 1000][rng.random_range(0..2)];
    let preemptor_cpu = ["500m", "1", "1500m", "3"][rng.random_range(0..4)];
    let preemptor =
        make_pod("preemptor").priority(preemptor_priority).req(&[("cpu", preemptor_cpu), ("memory", "1Gi")]).info();
    let mut nominator = Nominator::new();
    for index in 0..rng.random_range(0..4) {
        let node = format!("node-{}", rng.random_range(0..node_count));
        let priority = [0, 60, 1000, 5000][rng.random_range(0..4)];
        let nominated = make_pod(&format!("nominated-{index}")).priority(priority).req(&[("cpu", "500m")]).info();
        nominator.add(Arc::new(nominated), &node);
    }
    Drawn { snapshot, nominator, preemptor }
}

/// What a search chose and rejected, in comparable form.
#[derive(Debug, PartialEq)]
struct Outcome {
    chosen: Option<(String, Vec<String>, usize)>,
    rejected: Vec<(usize, Code, String)>,
    errors: Vec<String>,
}

#[test]
fn the_pruned_search_chooses_what_the_full_dry_run_and_the_pick_choose() {
    let framework = framework();
    let plugin = DefaultPreemption::default();
    let mut compared = 0;
    let mut several_candidates = 0;
    for seed in 0..300 {
        let Drawn { snapshot, nominator, preemptor } = draw(seed);
        let mut state = CycleState::new();
        let (_, status, _) = framework.run_pre_filter(&mut state, &preemptor, &snapshot);
        assert!(status.is_success(), "seed {seed}: PreFilter: {status}");
        let nominated = NominatedPods::of(&nominator, &preemptor, &snapshot);
        // The nodes where preemption might help: those the filters call Unschedulable.
        let filters = framework.active_filter_list(&state);
        let mut scratch = NominatedScratch::default();
        let potential: Vec<(usize, &NodeInfo)> = snapshot
            .list()
            .iter()
            .enumerate()
            .filter(|(position, node)| {
                let on_node = nominated.at(*position);
                let status = framework.run_active_filters_with_nominated(
                    &filters,
                    &state,
                    &preemptor,
                    node,
                    on_node,
                    &mut scratch,
                );
                status.code() == Code::Unschedulable
            })
            .map(|(position, node)| (position, node.as_ref()))
            .collect();
        if potential.is_empty() {
            continue;
        }
        let budgets_owned: Vec<&DisruptionBudget> = snapshot.objects().pod_disruption_budgets().collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
        let offset = rng.random_range(0..potential.len());
        let num_candidates = if rng.random_range(0..2) == 0 {
            plugin.num_candidates(potential.len())
        } else {
            rng.random_range(1..=potential.len())
        };

        let search = DryRunSearch {
            runner: &framework,
            state: &state,
            pod: &preemptor,
            potential_nodes: &potential,
            budgets: &budgets_owned,
            nominated: &nominated,
            offset,
            num_candidates,
        };
        let full = dry_run_every_candidate(&search);
        let pruned = dry_run_for_best_candidate(&search);
        let describe = |candidate: Option<&crate::scheduler::plugins::default_preemption::Candidate>| {
            candidate.map(|candidate| {
                let victims = candidate.victims.iter().map(|victim: &Arc<PodInfo>| victim.name().to_owned()).collect();
                (candidate.node_name.clone(), victims, candidate.num_pdb_violations)
            })
        };
        let rejected = |statuses: &crate::scheduler::framework::NodeToStatus| {
            statuses.statuses.iter().map(|(position, status)| (*position, status.code(), status.message())).collect()
        };
        let expected = Outcome {
            chosen: describe(pick_one_node_for_preemption(&full.candidates)),
            rejected: rejected(&full.statuses),
            errors: full.errors.iter().map(|error| error.message()).collect(),
        };
        let got = Outcome {
            chosen: describe(pruned.chosen.as_ref()),
            rejected: rejected(&pruned.statuses),
            errors: pruned.errors.iter().map(|error| error.message()).collect(),
        };
        assert_eq!(got, expected, "seed {seed}");
        compared += 1;
        several_candidates += usize::from(full.candidates.len() > 1);
    }
    // The draws must reach the cases the pruning is about.
    assert!(compared >= 200, "only {compared} seeds had a node where preemption might help");
    assert!(several_candidates >= 100, "only {several_candidates} seeds had more than one candidate");
}
