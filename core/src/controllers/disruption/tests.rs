//! Disruption controller tests: rows of Kubernetes' `disruption_test.go` (expected pods from
//! each kind of controller, integer and percentage budgets, scaling, disrupted-pod pruning,
//! failures) and an eviction through the API server that reads the status this controller wrote.

use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector as MetaSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use super::*;
use crate::api::{ApiRequest, ApiServer, Method};
use crate::controllers::test_world::{apply, now, observe, send};
use crate::store::MemoryStore;

fn labels() -> std::collections::BTreeMap<String, String> {
    [("foo".to_string(), "bar".to_string())].into()
}

fn budget(min_available: Option<IntOrString>, max_unavailable: Option<IntOrString>) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: ObjectMeta {
            name: Some("foobar".to_string()),
            namespace: Some("default".to_string()),
            generation: Some(1),
            ..ObjectMeta::default()
        },
        spec: Some(PodDisruptionBudgetSpec {
            min_available,
            max_unavailable,
            selector: Some(MetaSelector { match_labels: Some(labels()), match_expressions: None }),
            unhealthy_pod_eviction_policy: None,
        }),
        status: None,
    }
}

fn min_available(value: IntOrString) -> PodDisruptionBudget {
    budget(Some(value), None)
}

fn max_unavailable(value: IntOrString) -> PodDisruptionBudget {
    budget(None, Some(value))
}

fn percent(text: &str) -> IntOrString {
    IntOrString::String(text.to_string())
}

fn pod(name: &str, controller: Option<(&str, &str, &str, &str)>) -> Pod {
    let owner_references = controller.map(|(api_version, kind, name, uid)| {
        vec![OwnerReference {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            name: name.to_string(),
            uid: uid.to_string(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]
    });
    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some("default".to_string()),
            uid: Some(format!("{name}-uid")),
            labels: Some(labels()),
            owner_references,
            ..ObjectMeta::default()
        },
        spec: None,
        status: Some(PodStatus {
            phase: Some("Running".to_string()),
            conditions: Some(vec![PodCondition {
                type_: "Ready".to_string(),
                status: "True".to_string(),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        }),
    }
}

fn unready(mut pod: Pod) -> Pod {
    pod.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].status = "False".to_string();
    pod
}

fn workload(api_version: &str, kind: &str, name: &str, uid: &str, replicas: i64) -> Object {
    Object::from_value(json!({"apiVersion": api_version, "kind": kind,
        "metadata": {"name": name, "namespace": "default", "uid": uid}, "spec": {"replicas": replicas}}))
    .unwrap()
}

/// (disruptionsAllowed, currentHealthy, desiredHealthy, expectedPods), as `VerifyPdbStatus`.
fn counts(budget: &PodDisruptionBudget, pods: &[Pod], controllers: &[Object]) -> (i32, i32, i32, i32) {
    let status = status_after(budget, pods, controllers);
    (status.disruptions_allowed, status.current_healthy, status.desired_healthy, status.expected_pods)
}

fn status_after(budget: &PodDisruptionBudget, pods: &[Pod], controllers: &[Object]) -> PodDisruptionBudgetStatus {
    let reconciled = reconcile_disruption_budget(budget, pods, controllers, now());
    match reconciled.actions.as_slice() {
        [Action::UpdateStatus { object }] => object.to_typed::<PodDisruptionBudget>().unwrap().status.unwrap(),
        [] => budget.status.clone().unwrap(),
        other => panic!("unexpected actions {other:?}"),
    }
}

fn condition(status: &PodDisruptionBudgetStatus) -> (String, String, String) {
    let condition = &status.conditions.as_ref().unwrap()[0];
    (condition.status.clone(), condition.reason.clone(), condition.message.clone())
}

const RS: &str = "apps/v1";

#[test]
fn an_integer_min_available_counts_the_selected_pods() {
    // TestNoSelector (with a selector) and TestUnavailable.
    let pdb = min_available(IntOrString::Int(3));
    assert_eq!(counts(&pdb, &[], &[]), (0, 0, 3, 0));
    let pods: Vec<Pod> = (0..4).map(|i| pod(&format!("p{i}"), None)).collect();
    assert_eq!(counts(&pdb, &pods, &[]), (1, 4, 3, 4));
    let mut pods = pods;
    pods[0] = unready(pods[0].clone());
    assert_eq!(counts(&pdb, &pods, &[]), (0, 3, 3, 4));
}

#[test]
fn an_empty_selector_selects_every_pod_of_the_namespace() {
    let mut pdb = min_available(IntOrString::Int(3));
    pdb.spec.as_mut().unwrap().selector = Some(MetaSelector::default());
    let mut other = pod("unlabelled", None);
    other.metadata.labels = None;
    assert_eq!(counts(&pdb, &[other], &[]), (0, 1, 3, 1));
}

#[test]
fn max_unavailable_of_unmanaged_pods_allows_nothing() {
    // TestIntegerMaxUnavailable: the naked pod has no controller, so nothing is expected.
    let pdb = max_unavailable(IntOrString::Int(1));
    assert_eq!(counts(&pdb, &[pod("naked", None)], &[]), (0, 1, 0, 0));
}

#[test]
fn an_integer_max_unavailable_follows_the_replica_set_scale() {
    // TestIntegerMaxUnavailableWithScaling.
    let pdb = max_unavailable(IntOrString::Int(2));
    let pods = [pod("p", Some((RS, "ReplicaSet", "rs", "rs-uid")))];
    assert_eq!(counts(&pdb, &pods, &[workload(RS, "ReplicaSet", "rs", "rs-uid", 7)]), (0, 1, 5, 7));
    assert_eq!(counts(&pdb, &pods, &[workload(RS, "ReplicaSet", "rs", "rs-uid", 5)]), (0, 1, 3, 5));
}

#[test]
fn a_percentage_max_unavailable_is_rounded_up() {
    // TestPercentageMaxUnavailableWithScaling: 30 % of 7 rounds up to 3, of 1 up to 1.
    let pdb = max_unavailable(percent("30%"));
    let pods = [pod("p", Some((RS, "ReplicaSet", "rs", "rs-uid")))];
    assert_eq!(counts(&pdb, &pods, &[workload(RS, "ReplicaSet", "rs", "rs-uid", 7)]), (0, 1, 4, 7));
    assert_eq!(counts(&pdb, &pods, &[workload(RS, "ReplicaSet", "rs", "rs-uid", 1)]), (1, 1, 0, 1));
}

#[test]
fn a_percentage_min_available_uses_the_scale_of_each_kind_of_controller() {
    // TestReplicaSet: 20 % of 10.
    let pods = [pod("p", Some((RS, "ReplicaSet", "rs", "rs-uid")))];
    let replica_set = [workload(RS, "ReplicaSet", "rs", "rs-uid", 10)];
    assert_eq!(counts(&min_available(percent("20%")), &pods, &replica_set), (0, 1, 2, 10));
    // TestReplicationController and TestStatefulSetController: 34 % of 3 rounds up to 2, and
    // pods come one at a time.
    for (api_version, kind) in [("v1", "ReplicationController"), (RS, "StatefulSet")] {
        let controller = [workload(api_version, kind, "c", "c-uid", 3)];
        let pods: Vec<Pod> = (0..3).map(|i| pod(&format!("p{i}"), Some((api_version, kind, "c", "c-uid")))).collect();
        let expected = [(0, 1, 2, 3), (0, 2, 2, 3), (1, 3, 2, 3)];
        for (count, expected) in (1..=3).zip(expected) {
            assert_eq!(counts(&min_available(percent("34%")), &pods[..count], &controller), expected, "{kind}");
        }
    }
}

#[test]
fn a_replica_set_of_a_deployment_counts_the_deployments_scale_once() {
    // TestDeploymentFinderFunction: two ReplicaSets of one Deployment of 10.
    let mut old = workload(RS, "ReplicaSet", "web-1", "rs1", 2);
    let mut new = workload(RS, "ReplicaSet", "web-2", "rs2", 8);
    for replica_set in [&mut old, &mut new] {
        replica_set.metadata.owner_references = Some(vec![crate::controllers::owner::controller_ref(
            RS,
            "Deployment",
            &ObjectMeta { name: Some("web".into()), uid: Some("d".into()), ..ObjectMeta::default() },
        )]);
    }
    let controllers = [workload(RS, "Deployment", "web", "d", 10), old, new];
    let pods = [pod("a", Some((RS, "ReplicaSet", "web-1", "rs1"))), pod("b", Some((RS, "ReplicaSet", "web-2", "rs2")))];
    assert_eq!(counts(&min_available(percent("50%")), &pods, &controllers), (0, 2, 5, 10));
}

#[test]
fn disrupted_pods_are_pruned_when_deleting_gone_or_past_the_deletion_timeout() {
    // TestUpdateDisruptedPods.
    let mut pdb = min_available(IntOrString::Int(1));
    let minutes_ago = |minutes: i64| Time(now() - SignedDuration::from_mins(minutes));
    pdb.status = Some(PodDisruptionBudgetStatus {
        disrupted_pods: Some(
            [
                ("p1".to_string(), minutes_ago(0)),
                ("p2".to_string(), minutes_ago(3)),
                ("p3".to_string(), minutes_ago(1)),
                ("notthere".to_string(), minutes_ago(0)),
            ]
            .into(),
        ),
        ..PodDisruptionBudgetStatus::default()
    });
    let mut p1 = pod("p1", None);
    p1.metadata.deletion_timestamp = Some(Time(now()));
    let pods = [p1, pod("p2", None), pod("p3", None)];
    let reconciled = reconcile_disruption_budget(&pdb, &pods, &[], now());
    let status = status_after(&pdb, &pods, &[]);
    assert_eq!(
        (status.disruptions_allowed, status.current_healthy, status.desired_healthy, status.expected_pods),
        (0, 1, 1, 3)
    );
    assert_eq!(status.disrupted_pods.unwrap(), [("p3".to_string(), minutes_ago(1))].into());
    // p3's disruption expires one minute from now: look again then.
    assert_eq!(reconciled.requeue_after, Some(Duration::from_secs(60)));
}

#[test]
fn the_disruption_allowed_condition_follows_disruptions_allowed() {
    let pdb = min_available(IntOrString::Int(1));
    let allowed = status_after(&pdb, &[pod("a", None), pod("b", None)], &[]);
    assert_eq!(condition(&allowed), ("True".into(), SUFFICIENT_PODS_REASON.into(), String::new()));
    assert_eq!(allowed.observed_generation, Some(1));
    let mut synced = pdb.clone();
    synced.status = Some(allowed);
    assert!(reconcile_disruption_budget(&synced, &[pod("a", None), pod("b", None)], &[], now()).actions.is_empty());
    let refused = status_after(&synced, &[pod("a", None)], &[]);
    assert_eq!(condition(&refused), ("False".into(), INSUFFICIENT_PODS_REASON.into(), String::new()));
}

#[test]
fn a_pod_whose_controller_has_no_scale_fails_the_sync_safely() {
    let pdb = min_available(percent("50%"));
    let pods = [pod("p", Some((RS, "DaemonSet", "ds", "ds-uid")))];
    let daemon_set = [workload(RS, "DaemonSet", "ds", "ds-uid", 1)];
    let status = status_after(&pdb, &pods, &daemon_set);
    assert_eq!(status.disruptions_allowed, 0);
    assert_eq!(status.observed_generation, None, "a failed sync does not claim the generation");
    assert_eq!(
        condition(&status),
        ("False".into(), SYNC_FAILED_REASON.into(), "found no controllers for pod \"p\"".into())
    );
    let bad = min_available(percent("half"));
    let status = status_after(
        &bad,
        &[pod("p", Some((RS, "ReplicaSet", "rs", "rs-uid")))],
        &[workload(RS, "ReplicaSet", "rs", "rs-uid", 2)],
    );
    assert_eq!(condition(&status).1, SYNC_FAILED_REASON);
}

#[test]
fn eviction_reads_the_status_this_controller_writes() {
    let mut server = ApiServer::new(MemoryStore::new(), 7);
    server.bootstrap(now()).unwrap();
    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
        "spec": {"minAvailable": 1, "selector": {}}});
    let path = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";
    assert_eq!(send(&mut server, ApiRequest::new(Method::Post, path).with_json(&pdb)).0, 201);
    for name in ["a", "b"] {
        let body = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "nginx"}]}});
        assert_eq!(
            send(&mut server, ApiRequest::new(Method::Post, "/api/v1/namespaces/default/pods").with_json(&body)).0,
            201
        );
        let (_, mut stored) =
            send(&mut server, ApiRequest::new(Method::Get, &format!("/api/v1/namespaces/default/pods/{name}")));
        stored["status"] = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]});
        let status_path = format!("/api/v1/namespaces/default/pods/{name}/status");
        assert_eq!(send(&mut server, ApiRequest::new(Method::Put, &status_path).with_json(&stored)).0, 200);
    }
    let sync = |server: &mut ApiServer<MemoryStore>| {
        let objects = observe(server);
        let budget: PodDisruptionBudget =
            objects.iter().find(|o| o.kind == "PodDisruptionBudget").unwrap().to_typed().unwrap();
        let pods: Vec<Pod> = objects.iter().filter(|o| o.kind == "Pod").map(|o| o.to_typed().unwrap()).collect();
        apply(server, &reconcile_disruption_budget(&budget, &pods, &objects, now()));
    };
    let evict = |server: &mut ApiServer<MemoryStore>, name: &str| {
        let body = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}});
        let path = format!("/api/v1/namespaces/default/pods/{name}/eviction");
        send(server, ApiRequest::new(Method::Post, &path).with_json(&body))
    };
    assert_eq!(evict(&mut server, "a").0, 429, "a budget not yet synced refuses");
    sync(&mut server);
    assert_eq!(evict(&mut server, "a").0, 201);
    sync(&mut server);
    let (status, body) = evict(&mut server, "b");
    assert_eq!(status, 429);
    assert_eq!(
        body["details"]["causes"][0]["message"],
        "The disruption budget web needs 1 healthy pods and has 1 currently"
    );
}
