//! Ported from kubernetes `noderesources/fit_test.go` (TestEnoughRequests, TestNotEnoughRequests):
//! node allocatable 10m CPU, 20 bytes memory, 32 Pods.

use crate::scheduler::framework::Code;
use crate::scheduler::plugins::node_resources_fit::Fit;
use crate::scheduler::testing::{PodBuilder, make_node, make_pod, node_infos, run_filter};

fn pod(cpu: u32, memory: u32) -> PodBuilder {
    make_pod("p").req(&[("cpu", &format!("{cpu}m")), ("memory", &memory.to_string())])
}

fn existing(cpu: u32, memory: u32) -> k8s_openapi::api::core::v1::Pod {
    make_pod("existing").node("machine").req(&[("cpu", &format!("{cpu}m")), ("memory", &memory.to_string())]).obj()
}

fn init(builder: PodBuilder, cpu: u32, memory: u32) -> PodBuilder {
    builder.init_req(&[("cpu", &format!("{cpu}m")), ("memory", &memory.to_string())])
}

fn check(name: &str, pod: PodBuilder, existing: k8s_openapi::api::core::v1::Pod, pods_allowed: &str, want: &[&str]) {
    let node = make_node("machine").capacity(&[("cpu", "10m"), ("memory", "20"), ("pods", pods_allowed)]).obj();
    let info = node_infos(&[node], &[existing]).remove(0);
    let plugin = Fit::new(None).expect("default args");
    let status = run_filter(&plugin, &pod.info(), &info);
    let reasons: Vec<&str> = status.reasons().iter().map(|reason| reason.as_ref()).collect();
    assert_eq!(reasons, want, "{name}");
    let code = if want.is_empty() { Code::Success } else { Code::Unschedulable };
    assert_eq!(status.code(), code, "{name}");
}

#[test]
fn fit_filter_matches_kubernetes_enough_requests_table() {
    let cases: Vec<(&str, PodBuilder, k8s_openapi::api::core::v1::Pod, Vec<&str>)> = vec![
        ("no resources requested always fits", make_pod("p"), existing(10, 20), vec![]),
        ("too many resources fails", pod(1, 1), existing(10, 20), vec!["Insufficient cpu", "Insufficient memory"]),
        (
            "too many resources fails due to init container cpu",
            init(pod(1, 1), 3, 1),
            existing(8, 19),
            vec!["Insufficient cpu"],
        ),
        (
            "too many resources fails due to highest init container cpu",
            init(init(pod(1, 1), 3, 1), 2, 1),
            existing(8, 19),
            vec!["Insufficient cpu"],
        ),
        (
            "too many resources fails due to init container memory",
            init(pod(1, 1), 1, 3),
            existing(9, 19),
            vec!["Insufficient memory"],
        ),
        (
            "too many resources fails due to highest init container memory",
            init(init(pod(1, 1), 1, 3), 1, 2),
            existing(9, 19),
            vec!["Insufficient memory"],
        ),
        (
            "init container fits because it's the max, not sum, of containers and init containers",
            init(pod(1, 1), 1, 1),
            existing(9, 19),
            vec![],
        ),
        (
            "multiple init containers fit because it's the max, not sum",
            init(init(pod(1, 1), 1, 1), 1, 1),
            existing(9, 19),
            vec![],
        ),
        ("both resources fit", pod(1, 1), existing(5, 5), vec![]),
        ("one resource memory fits", pod(2, 1), existing(9, 5), vec!["Insufficient cpu"]),
        ("one resource cpu fits", pod(1, 2), existing(5, 19), vec!["Insufficient memory"]),
        ("equal edge case", pod(5, 1), existing(5, 19), vec![]),
        ("equal edge case for init container", init(pod(4, 1), 5, 1), existing(5, 19), vec![]),
        (
            "resources + pod overhead fits",
            pod(1, 1).overhead(&[("cpu", "3m"), ("memory", "13")]),
            existing(5, 5),
            vec![],
        ),
        (
            "requests + overhead does not fit for memory",
            pod(1, 1).overhead(&[("cpu", "1m"), ("memory", "15")]),
            existing(5, 5),
            vec!["Insufficient memory"],
        ),
    ];
    for (name, pod, existing, want) in cases {
        check(name, pod, existing, "32", &want);
    }
}

#[test]
fn fit_filter_matches_kubernetes_not_enough_requests_table() {
    check(
        "even without specified resources, predicate fails when there's no space for additional pod",
        make_pod("p"),
        existing(10, 20),
        "1",
        &["Too many pods"],
    );
    check(
        "even if both resources fit, predicate fails when there's no space for additional pod",
        pod(1, 1),
        existing(5, 5),
        "1",
        &["Too many pods"],
    );
    check(
        "even for equal edge case, predicate fails when there's no space for additional pod",
        pod(5, 1),
        existing(5, 19),
        "1",
        &["Too many pods"],
    );
    check(
        "even for equal edge case with init container, predicate fails when there's no space for additional pod",
        init(pod(5, 1), 5, 1),
        existing(5, 19),
        "1",
        &["Too many pods"],
    );
}

#[test]
fn extended_resources_are_checked_unless_ignored() {
    let node = make_node("machine")
        .capacity(&[("cpu", "10m"), ("memory", "20"), ("pods", "32"), ("example.com/gpu", "1")])
        .obj();
    let info = node_infos(&[node], &[]).remove(0);
    let wants_two = make_pod("p").req(&[("example.com/gpu", "2")]).info();
    let plugin = Fit::new(None).expect("default args");
    assert_eq!(run_filter(&plugin, &wants_two, &info).message(), "Insufficient example.com/gpu");
    let ignoring = Fit::new(Some(&serde_json::json!({"ignoredResourceGroups": ["example.com"]}))).expect("args");
    assert!(run_filter(&ignoring, &wants_two, &info).is_success());
}
