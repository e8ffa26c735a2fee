//! Reads what an expectation measures from the API server, as a user with `kubectl get` would.

use std::collections::{BTreeMap, BTreeSet};

use coxswain_core::api::{ApiRequest, ApiResponse, ApiServer, Method};
use coxswain_core::jiff::Timestamp;
use coxswain_core::store::Store;
use serde_json::Value;

use crate::checkers::liveness::{condition, list};
use crate::scenario::expectation::{Measured, NodeMeasure, PodMeasure, Subject, read_field};

/// Measures a subject now.
pub fn measure<S: Store>(server: &mut ApiServer<S>, subject: &Subject, now: Timestamp) -> Measured {
    match subject {
        Subject::Object { target, field } => match server.handle(&ApiRequest::new(Method::Get, &target.path()), now) {
            ApiResponse::Json { status: 200, body, .. } => read_field(&body, field),
            _ => Measured::Missing,
        },
        Subject::Pods { namespace, selector, measure } => {
            let path = with_selector(&format!("/api/v1/namespaces/{namespace}/pods"), selector);
            let pods = list(server, &path, now);
            Measured::Number(pod_measure(&pods, *measure) as f64)
        }
        Subject::Nodes { selector, measure } => {
            let nodes = list(server, &with_selector("/api/v1/nodes", selector), now);
            let count = nodes
                .iter()
                .filter(|node| match measure {
                    NodeMeasure::Count => true,
                    NodeMeasure::Ready => condition(node, "Ready") == Some("True"),
                    NodeMeasure::Unschedulable => {
                        node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true)
                    }
                })
                .count();
            Measured::Number(count as f64)
        }
    }
}

fn with_selector(path: &str, selector: &str) -> String {
    if selector.is_empty() {
        return path.to_string();
    }
    let encoded: String = selector
        .bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    format!("{path}?labelSelector={encoded}")
}

fn pod_measure(pods: &[Value], measure: PodMeasure) -> usize {
    let phase = |pod: &Value| pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Pending").to_string();
    let deleting = |pod: &Value| pod.pointer("/metadata/deletionTimestamp").is_some();
    let node = |pod: &Value| pod.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or_default().to_string();
    let running = || pods.iter().filter(|pod| phase(pod) == "Running");
    match measure {
        PodMeasure::Count => pods.iter().filter(|pod| !deleting(pod)).count(),
        PodMeasure::Running => running().count(),
        PodMeasure::Ready => pods.iter().filter(|pod| condition(pod, "Ready") == Some("True")).count(),
        PodMeasure::Pending => pods.iter().filter(|pod| phase(pod) == "Pending").count(),
        PodMeasure::Succeeded => pods.iter().filter(|pod| phase(pod) == "Succeeded").count(),
        PodMeasure::Failed => pods.iter().filter(|pod| phase(pod) == "Failed").count(),
        PodMeasure::Nodes => running().map(node).collect::<BTreeSet<_>>().len(),
        PodMeasure::MaxPerNode => {
            let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
            for pod in running() {
                *per_node.entry(node(pod)).or_default() += 1;
            }
            per_node.values().copied().max().unwrap_or(0)
        }
        PodMeasure::Restarts => pods
            .iter()
            .flat_map(|pod| pod.pointer("/status/containerStatuses").and_then(Value::as_array).into_iter().flatten())
            .filter_map(|status| status.get("restartCount").and_then(Value::as_u64))
            .sum::<u64>() as usize,
    }
}
