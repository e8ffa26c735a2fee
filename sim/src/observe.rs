//! Reads what an expectation measures: one object as a user with `kubectl get` would, and the
//! pods and nodes a selector picks as the store holds them (what a LIST returns; see
//! [`crate::checkers::liveness::stored`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use coxswain_core::api::{ApiRequest, ApiResponse, ApiServer, Method};
use coxswain_core::jiff::Timestamp;
use coxswain_core::object::Object;
use coxswain_core::object::kinds::GroupResource;
use coxswain_core::store::Store;
use serde_json::Value;

use crate::checkers::liveness::{condition, pointer, stored};
use crate::scenario::expectation::{Measured, NodeMeasure, PodMeasure, Subject, read_field};

const PODS: GroupResource = GroupResource { group: "", resource: "pods" };
const NODES: GroupResource = GroupResource { group: "", resource: "nodes" };

/// Measures a subject now.
pub fn measure<S: Store>(server: &mut ApiServer<S>, subject: &Subject, now: Timestamp) -> Measured {
    match subject {
        Subject::Object { target, field } => match server.handle(&ApiRequest::new(Method::Get, &target.path()), now) {
            ApiResponse::Json { status: 200, body, .. } => read_field(&body, field),
            _ => Measured::Missing,
        },
        Subject::Pods { namespace, selector, measure } => {
            let pods = stored(server.store(), PODS, Some(namespace), selector);
            Measured::Number(pod_measure(&pods, *measure) as f64)
        }
        Subject::Nodes { selector, measure } => {
            let count = stored(server.store(), NODES, None, selector)
                .iter()
                .filter(|node| match measure {
                    NodeMeasure::Count => true,
                    NodeMeasure::Ready => condition(node, "Ready") == Some("True"),
                    NodeMeasure::Unschedulable => {
                        pointer(node, "/spec/unschedulable").and_then(Value::as_bool) == Some(true)
                    }
                })
                .count();
            Measured::Number(count as f64)
        }
    }
}

fn pod_measure(pods: &[Arc<Object>], measure: PodMeasure) -> usize {
    fn phase(pod: &Object) -> &str {
        pointer(pod, "/status/phase").and_then(Value::as_str).unwrap_or("Pending")
    }
    fn node(pod: &Object) -> &str {
        pointer(pod, "/spec/nodeName").and_then(Value::as_str).unwrap_or_default()
    }
    let deleting = |pod: &Object| pod.metadata.deletion_timestamp.is_some();
    let running = || pods.iter().map(|pod| &**pod).filter(|pod| phase(pod) == "Running");
    match measure {
        PodMeasure::Count => pods.iter().filter(|pod| !deleting(pod)).count(),
        PodMeasure::Running => running().count(),
        PodMeasure::Ready => pods.iter().filter(|pod| condition(pod, "Ready") == Some("True")).count(),
        PodMeasure::Pending => pods.iter().filter(|pod| phase(pod) == "Pending").count(),
        PodMeasure::Succeeded => pods.iter().filter(|pod| phase(pod) == "Succeeded").count(),
        PodMeasure::Failed => pods.iter().filter(|pod| phase(pod) == "Failed").count(),
        PodMeasure::Nodes => running().map(node).collect::<BTreeSet<_>>().len(),
        PodMeasure::MaxPerNode => {
            let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
            for pod in running() {
                *per_node.entry(node(pod)).or_default() += 1;
            }
            per_node.values().copied().max().unwrap_or(0)
        }
        PodMeasure::Restarts => pods
            .iter()
            .flat_map(|pod| pointer(pod, "/status/containerStatuses").and_then(Value::as_array).into_iter().flatten())
            .filter_map(|status| status.get("restartCount").and_then(Value::as_u64))
            .sum::<u64>() as usize,
    }
}

#[cfg(test)]
mod tests {
    use coxswain_core::api::{ApiRequest, ApiServer, Method};
    use coxswain_core::store::MemoryStore;
    use serde_json::json;

    use super::*;
    use crate::scenario::expectation::Expectation;

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().expect("a timestamp")
    }

    fn create_pod(server: &mut ApiServer<MemoryStore>, namespace: &str, name: &str, app: &str) {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
                         "spec": {"containers": [{"name": "c", "image": "i"}]}});
        let request = ApiRequest::new(Method::Post, &format!("/api/v1/namespaces/{namespace}/pods")).with_json(&pod);
        assert_eq!(server.handle(&request, now()).status(), 201);
    }

    fn measured(server: &mut ApiServer<MemoryStore>, line: &str) -> Measured {
        let expectation = Expectation::parse(line).expect("valid");
        measure(server, &expectation.subject, now())
    }

    #[test]
    fn pods_are_counted_in_their_namespace_by_selector_as_a_list_would_return_them() {
        let mut server = ApiServer::new(MemoryStore::new(), 1);
        server.bootstrap(now()).expect("bootstrap");
        let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}});
        assert_eq!(
            server.handle(&ApiRequest::new(Method::Post, "/api/v1/namespaces").with_json(&namespace), now()).status(),
            201
        );
        create_pod(&mut server, "default", "web-1", "web");
        create_pod(&mut server, "default", "web-2", "web");
        create_pod(&mut server, "default", "db-1", "db");
        create_pod(&mut server, "prod", "web-1", "web");
        let status = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        let request = ApiRequest::new(Method::Patch, "/api/v1/namespaces/default/pods/web-1/status")
            .with_body("application/merge-patch+json", status.to_string().into_bytes());
        assert_eq!(server.handle(&request, now()).status(), 200);

        assert_eq!(measured(&mut server, "pods() count == 0"), Measured::Number(3.0));
        assert_eq!(measured(&mut server, "pods(app=web) count == 0"), Measured::Number(2.0));
        assert_eq!(measured(&mut server, "prod/pods(app=web) count == 0"), Measured::Number(1.0));
        assert_eq!(measured(&mut server, "pods(app!=web) count == 0"), Measured::Number(1.0));
        assert_eq!(measured(&mut server, "pods(app=web) ready == 0"), Measured::Number(1.0));
        assert_eq!(measured(&mut server, "pods(app=web) running == 0"), Measured::Number(1.0));
        assert_eq!(measured(&mut server, "pods(app=web) pending == 0"), Measured::Number(1.0));
        // A selector a LIST would refuse with 400 selects nothing.
        assert_eq!(measured(&mut server, "pods(app=(web) count == 0"), Measured::Number(0.0));
    }
}
