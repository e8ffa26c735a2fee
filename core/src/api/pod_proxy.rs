//! Where the API server sends `pods/{name}/log`, `pods/{name}/exec` and
//! `pods/{name}/portforward`: kube-apiserver does not answer these itself but streams them from
//! the pod's node. This module decides, from the pod, which node and container a request goes
//! to, with Kubernetes' errors (its pod REST's `LogLocation`/`ExecLocation` and
//! `validateContainer`); the HTTP shell carries the stream.

use k8s_openapi::api::core::v1::Pod;

use super::status::ApiError;

/// The node and container a log or exec request goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerLocation {
    /// The node the pod is bound to.
    pub node: String,
    /// The container.
    pub container: String,
}

/// Where `kubectl logs` reads from: the named container (any container, init containers too),
/// or the pod's only container when none is named.
pub fn log_location(pod: &Pod, container: Option<&str>) -> Result<ContainerLocation, ApiError> {
    let container = validate_container(pod, container)?;
    Ok(ContainerLocation { node: assigned_node(pod)?, container })
}

/// Where `kubectl exec` runs: as [`log_location`], refused once the pod has finished.
pub fn exec_location(pod: &Pod, container: Option<&str>) -> Result<ContainerLocation, ApiError> {
    refuse_finished(pod)?;
    log_location(pod, container)
}

/// The node `kubectl port-forward` reaches the pod through (the whole pod's network, no
/// container): refused once the pod has finished, with exec's words, and when the pod has no
/// node yet. kubectl itself refuses a pod that is not `Running` before it asks.
pub fn port_forward_location(pod: &Pod) -> Result<String, ApiError> {
    refuse_finished(pod)?;
    assigned_node(pod)
}

fn refuse_finished(pod: &Pod) -> Result<(), ApiError> {
    let phase = pod.status.as_ref().and_then(|status| status.phase.as_deref()).unwrap_or("");
    if matches!(phase, "Succeeded" | "Failed") {
        return Err(ApiError::bad_request(format!(
            "pod {} is not running and cannot execute commands; current phase is {phase}",
            pod_name(pod)
        )));
    }
    Ok(())
}

/// The error when the node runs no such container (yet): the kubelet's words.
pub fn container_not_running(pod: &Pod, container: &str) -> ApiError {
    let reason = pod
        .status
        .as_ref()
        .and_then(|status| status.container_statuses.as_ref())
        .and_then(|statuses| statuses.iter().find(|status| status.name == container))
        .and_then(|status| status.state.as_ref())
        .and_then(|state| state.waiting.as_ref())
        .and_then(|waiting| waiting.reason.clone())
        .unwrap_or_else(|| "ContainerCreating".to_string());
    ApiError::bad_request(format!(
        "container \"{container}\" in pod \"{}\" is waiting to start: {reason}",
        pod_name(pod)
    ))
}

fn pod_name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or("")
}

fn assigned_node(pod: &Pod) -> Result<String, ApiError> {
    match pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()) {
        Some(node) if !node.is_empty() => Ok(node.to_string()),
        _ => Err(ApiError::bad_request(format!("pod {} does not have a host assigned", pod_name(pod)))),
    }
}

fn validate_container(pod: &Pod, container: Option<&str>) -> Result<String, ApiError> {
    let spec = pod.spec.as_ref();
    let containers: Vec<&str> =
        spec.map(|spec| spec.containers.iter().map(|container| container.name.as_str()).collect()).unwrap_or_default();
    let init_containers: Vec<&str> = spec
        .and_then(|spec| spec.init_containers.as_ref())
        .map(|init| init.iter().map(|container| container.name.as_str()).collect())
        .unwrap_or_default();
    let ephemeral: Vec<&str> = spec
        .and_then(|spec| spec.ephemeral_containers.as_ref())
        .map(|ephemeral| ephemeral.iter().map(|container| container.name.as_str()).collect())
        .unwrap_or_default();
    match container.filter(|name| !name.is_empty()) {
        Some(name) => {
            let known = containers.iter().chain(&init_containers).chain(&ephemeral).any(|candidate| *candidate == name);
            if known {
                Ok(name.to_string())
            } else {
                Err(ApiError::bad_request(format!("container {name} is not valid for pod {}", pod_name(pod))))
            }
        }
        None => match containers.as_slice() {
            [only] => Ok((*only).to_string()),
            [] => Err(ApiError::bad_request(format!("no containers in pod {}", pod_name(pod)))),
            _ => {
                let mut message = format!(
                    "a container name must be specified for pod {}, choose one of: [{}]",
                    pod_name(pod),
                    containers.join(" ")
                );
                if !init_containers.is_empty() {
                    message.push_str(&format!(" or one of the init containers: [{}]", init_containers.join(" ")));
                }
                Err(ApiError::bad_request(message))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).unwrap()
    }

    fn message(error: ApiError) -> String {
        error.to_string()
    }

    #[test]
    fn the_only_container_is_the_default() {
        let pod =
            pod(json!({"metadata": {"name": "web"}, "spec": {"nodeName": "n1", "containers": [{"name": "nginx"}]}}));
        assert_eq!(
            log_location(&pod, None).unwrap(),
            ContainerLocation { node: "n1".into(), container: "nginx".into() }
        );
    }

    #[test]
    fn several_containers_need_a_name() {
        let pod = pod(json!({"metadata": {"name": "web"}, "spec": {"nodeName": "n1",
            "initContainers": [{"name": "setup"}], "containers": [{"name": "a"}, {"name": "b"}]}}));
        assert_eq!(
            message(log_location(&pod, None).unwrap_err()),
            "a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [setup]"
        );
        assert_eq!(log_location(&pod, Some("setup")).unwrap().container, "setup");
        assert_eq!(message(log_location(&pod, Some("c")).unwrap_err()), "container c is not valid for pod web");
    }

    #[test]
    fn an_unscheduled_pod_has_no_host() {
        let pod = pod(json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "a"}]}}));
        assert_eq!(message(log_location(&pod, None).unwrap_err()), "pod web does not have a host assigned");
    }

    #[test]
    fn exec_is_refused_in_a_finished_pod() {
        let pod = pod(json!({"metadata": {"name": "job"}, "spec": {"nodeName": "n1", "containers": [{"name": "a"}]},
            "status": {"phase": "Succeeded"}}));
        assert_eq!(
            message(exec_location(&pod, None).unwrap_err()),
            "pod job is not running and cannot execute commands; current phase is Succeeded"
        );
        assert!(log_location(&pod, None).is_ok(), "logs of a finished pod stay readable");
    }

    #[test]
    fn port_forward_goes_to_the_pods_node_while_it_runs() {
        let running = pod(
            json!({"metadata": {"name": "web"}, "spec": {"nodeName": "n1", "containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running"}}),
        );
        assert_eq!(port_forward_location(&running).unwrap(), "n1", "no container needs naming");
        let failed =
            pod(json!({"metadata": {"name": "web"}, "spec": {"nodeName": "n1", "containers": [{"name": "a"}]},
            "status": {"phase": "Failed"}}));
        assert_eq!(
            message(port_forward_location(&failed).unwrap_err()),
            "pod web is not running and cannot execute commands; current phase is Failed"
        );
        let pending = pod(json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "a"}]}}));
        assert_eq!(message(port_forward_location(&pending).unwrap_err()), "pod web does not have a host assigned");
    }

    #[test]
    fn a_waiting_container_names_its_reason() {
        let pod = pod(json!({"metadata": {"name": "web"}, "spec": {"nodeName": "n1", "containers": [{"name": "a"}]},
            "status": {"containerStatuses": [{"name": "a", "image": "x", "imageID": "", "ready": false,
                "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}}));
        assert_eq!(
            message(container_not_running(&pod, "a")),
            "container \"a\" in pod \"web\" is waiting to start: ImagePullBackOff"
        );
    }
}
