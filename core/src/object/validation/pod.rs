//! Pods and pod templates: the PodSpec and everything in it — containers, ports, resources,
//! probes, volumes and mounts, restart and DNS policies (`ValidatePodSpec`, `validateContainers`,
//! `ValidateVolumes`, … in `pkg/apis/core/validation/validation.go`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, HTTPGetAction, LifecycleHandler, Pod, PodSpec, PodTemplateSpec, Probe, Volume,
};

use super::common::{SUPPORTED_PORT_PROTOCOLS, is_valid_port_number, nonnegative, port_number_or_name};
use super::meta::{validate_annotations, validate_labels};
use super::name_rules::{is_dns1123_label, is_dns1123_subdomain};
use super::pod_scheduling::{validate_affinity, validate_tolerations, validate_topology_spread_constraints};
use super::pod_security::{validate_container_security_context, validate_pod_security_context};
use super::resources::validate_resource_requirements;
use crate::object::defaults::volume_source_names;
use crate::object::field_error::{FieldError, FieldPath};

/// Restart policies a pod may have.
pub const RESTART_POLICIES: &[&str] = &["Always", "OnFailure", "Never"];
/// DNS policies a pod may have, in Kubernetes' order.
pub const DNS_POLICIES: &[&str] = &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
/// Image pull policies a container may have.
pub const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
/// Termination message policies a container may have.
pub const TERMINATION_MESSAGE_POLICIES: &[&str] = &["File", "FallbackToLogsOnError"];
/// Schemes an HTTP GET handler may use.
pub const HTTP_SCHEMES: &[&str] = &["HTTP", "HTTPS"];
/// Largest `activeDeadlineSeconds` (Go's `math.MaxInt32`).
pub const ACTIVE_DEADLINE_SECONDS_MAX: i64 = i32::MAX as i64;

/// `ValidatePodCreate`'s spec part for a Pod.
pub fn validate_pod(pod: &Pod) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match &pod.spec {
        None => errors.push(FieldError::required(&FieldPath::new("spec"), "")),
        Some(spec) => validate_pod_spec(spec, &[], &FieldPath::new("spec"), &mut errors),
    }
    errors
}

/// `ValidatePodTemplateSpec`: the template's labels and annotations and its PodSpec.
/// `extra_volumes` are names that count as volumes though the spec does not list them (a
/// StatefulSet's volumeClaimTemplates).
pub fn validate_pod_template_spec(
    template: &PodTemplateSpec,
    extra_volumes: &[String],
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let metadata = template.metadata.clone().unwrap_or_default();
    validate_labels(metadata.labels.as_ref(), &path.child("labels"), errors);
    validate_annotations(metadata.annotations.as_ref(), &path.child("annotations"), errors);
    match &template.spec {
        None => errors.push(FieldError::required(&path.child("spec"), "")),
        Some(spec) => {
            validate_pod_spec(spec, extra_volumes, &path.child("spec"), errors);
            if spec.ephemeral_containers.as_ref().is_some_and(|containers| !containers.is_empty()) {
                errors.push(FieldError::forbidden(
                    &path.child("spec").child("ephemeralContainers"),
                    "ephemeral containers not allowed in pod template",
                ));
            }
        }
    }
}

/// `ValidatePodSpec`.
pub fn validate_pod_spec(spec: &PodSpec, extra_volumes: &[String], path: &FieldPath, errors: &mut Vec<FieldError>) {
    let mut volume_names =
        validate_volumes(spec.volumes.as_deref().unwrap_or_default(), &path.child("volumes"), errors);
    volume_names.extend(extra_volumes.iter().cloned());
    let restart_policy = spec.restart_policy.as_deref().unwrap_or("");
    validate_containers(&spec.containers, &volume_names, &path.child("containers"), errors);
    validate_init_containers(
        spec.init_containers.as_deref().unwrap_or_default(),
        &spec.containers,
        &volume_names,
        &path.child("initContainers"),
        errors,
    );
    validate_host_ports(spec, path, errors);
    validate_restart_policy(restart_policy, &path.child("restartPolicy"), errors);
    validate_dns_policy(spec, path, errors);
    validate_labels(spec.node_selector.as_ref(), &path.child("nodeSelector"), errors);
    if let Some(name) = spec.service_account_name.as_deref().filter(|name| !name.is_empty()) {
        for message in is_dns1123_subdomain(name) {
            errors.push(FieldError::invalid(&path.child("serviceAccountName"), name, &message));
        }
    }
    for (field, value) in [("hostname", &spec.hostname), ("subdomain", &spec.subdomain)] {
        if let Some(value) = value.as_deref().filter(|value| !value.is_empty()) {
            for message in is_dns1123_label(value) {
                errors.push(FieldError::invalid(&path.child(field), value, &message));
            }
        }
    }
    validate_pod_security_context(spec, path, errors);
    validate_container_security_contexts(spec, path, errors);
    validate_affinity(spec.affinity.as_ref(), &path.child("affinity"), errors);
    validate_tolerations(spec.tolerations.as_deref().unwrap_or_default(), &path.child("tolerations"), errors);
    validate_topology_spread_constraints(
        spec.topology_spread_constraints.as_deref().unwrap_or_default(),
        &path.child("topologySpreadConstraints"),
        errors,
    );
    if let Some(seconds) = spec.active_deadline_seconds
        && !(1..=ACTIVE_DEADLINE_SECONDS_MAX).contains(&seconds)
    {
        let message = super::common::inclusive_range_error(1, ACTIVE_DEADLINE_SECONDS_MAX);
        errors.push(FieldError::invalid(&path.child("activeDeadlineSeconds"), seconds, &message));
    }
}

/// Each container's own securityContext; pods share the host's user namespace unless
/// `hostUsers: false`.
fn validate_container_security_contexts(spec: &PodSpec, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let host_users = spec.host_users != Some(false);
    let groups = [
        ("containers", spec.containers.as_slice()),
        ("initContainers", spec.init_containers.as_deref().unwrap_or_default()),
    ];
    for (field, containers) in groups {
        for (index, container) in containers.iter().enumerate() {
            let container_path = path.child(field).index(index);
            validate_container_security_context(
                container.security_context.as_ref(),
                host_users,
                &container_path,
                errors,
            );
        }
    }
}

fn validate_restart_policy(policy: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if policy.is_empty() {
        errors.push(FieldError::required(path, ""));
    } else if !RESTART_POLICIES.contains(&policy) {
        errors.push(FieldError::not_supported(path, policy, RESTART_POLICIES));
    }
}

fn validate_dns_policy(spec: &PodSpec, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let policy = spec.dns_policy.as_deref().unwrap_or("");
    if policy.is_empty() {
        errors.push(FieldError::required(&path.child("dnsPolicy"), ""));
    } else if !DNS_POLICIES.contains(&policy) {
        errors.push(FieldError::not_supported(&path.child("dnsPolicy"), policy, DNS_POLICIES));
    } else if policy == "None" && spec.dns_config.is_none() {
        errors
            .push(FieldError::required(&path.child("dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None"));
    }
}

/// `ValidateVolumes`: unique DNS-label names, exactly one source each. Returns the names.
fn validate_volumes(volumes: &[Volume], path: &FieldPath, errors: &mut Vec<FieldError>) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (index, volume) in volumes.iter().enumerate() {
        let volume_path = path.index(index);
        validate_volume_source(volume, &volume_path, errors);
        let name_path = volume_path.child("name");
        if volume.name.is_empty() {
            errors.push(FieldError::required(&name_path, ""));
        } else {
            for message in is_dns1123_label(&volume.name) {
                errors.push(FieldError::invalid(&name_path, volume.name.as_str(), &message));
            }
        }
        if !names.insert(volume.name.clone()) {
            errors.push(FieldError::duplicate(&name_path, volume.name.as_str()));
        }
    }
    names
}

fn validate_volume_source(volume: &Volume, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let sources: Vec<&str> = volume_source_names(volume).collect();
    if sources.is_empty() {
        errors.push(FieldError::required(path, "must specify a volume type"));
    }
    for extra in sources.iter().skip(1) {
        errors.push(FieldError::forbidden(&path.child(extra), "may not specify more than 1 volume type"));
    }
    let required = |present: bool, source: &str, field: &str, errors: &mut Vec<FieldError>| {
        if !present {
            errors.push(FieldError::required(&path.child(source).child(field), ""));
        }
    };
    if let Some(host_path) = &volume.host_path {
        required(!host_path.path.is_empty(), "hostPath", "path", errors);
    }
    if let Some(claim) = &volume.persistent_volume_claim {
        required(!claim.claim_name.is_empty(), "persistentVolumeClaim", "claimName", errors);
    }
    if let Some(secret) = &volume.secret {
        required(secret.secret_name.as_deref().is_some_and(|name| !name.is_empty()), "secret", "secretName", errors);
    }
    if let Some(config_map) = &volume.config_map {
        required(!config_map.name.is_empty(), "configMap", "name", errors);
    }
    if let Some(nfs) = &volume.nfs {
        required(!nfs.server.is_empty(), "nfs", "server", errors);
        required(!nfs.path.is_empty(), "nfs", "path", errors);
    }
}

/// `validateContainers`: at least one, unique names, and each container's own checks.
fn validate_containers(
    containers: &[Container],
    volumes: &BTreeSet<String>,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    if containers.is_empty() {
        errors.push(FieldError::required(path, ""));
    }
    let mut names = BTreeSet::new();
    for (index, container) in containers.iter().enumerate() {
        let container_path = path.index(index);
        validate_container_common(container, volumes, &container_path, errors);
        if !container.name.is_empty() && !names.insert(container.name.as_str()) {
            errors.push(FieldError::duplicate(&container_path.child("name"), container.name.as_str()));
        }
        validate_lifecycle(container, &container_path, errors);
        validate_probe(container.liveness_probe.as_ref(), true, &container_path.child("livenessProbe"), errors);
        validate_probe(container.readiness_probe.as_ref(), false, &container_path.child("readinessProbe"), errors);
        validate_probe(container.startup_probe.as_ref(), true, &container_path.child("startupProbe"), errors);
        if container.restart_policy.is_some() {
            errors.push(FieldError::forbidden(
                &container_path.child("restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
}

/// `validateInitContainers`: names unique across init and regular containers; probes and
/// lifecycle only for sidecars (`restartPolicy: Always`).
fn validate_init_containers(
    init_containers: &[Container],
    containers: &[Container],
    volumes: &BTreeSet<String>,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let mut names: BTreeSet<&str> = containers.iter().map(|container| container.name.as_str()).collect();
    for (index, container) in init_containers.iter().enumerate() {
        let container_path = path.index(index);
        validate_container_common(container, volumes, &container_path, errors);
        if !container.name.is_empty() && !names.insert(container.name.as_str()) {
            errors.push(FieldError::duplicate(&container_path.child("name"), container.name.as_str()));
        }
        match container.restart_policy.as_deref() {
            None => {
                let forbidden = "may not be set for init containers without restartPolicy=Always";
                for (field, set) in [
                    ("lifecycle", container.lifecycle.is_some()),
                    ("livenessProbe", container.liveness_probe.is_some()),
                    ("readinessProbe", container.readiness_probe.is_some()),
                    ("startupProbe", container.startup_probe.is_some()),
                ] {
                    if set {
                        errors.push(FieldError::forbidden(&container_path.child(field), forbidden));
                    }
                }
            }
            Some("Always") => {
                validate_lifecycle(container, &container_path, errors);
                validate_probe(container.liveness_probe.as_ref(), true, &container_path.child("livenessProbe"), errors);
                validate_probe(
                    container.readiness_probe.as_ref(),
                    false,
                    &container_path.child("readinessProbe"),
                    errors,
                );
                validate_probe(container.startup_probe.as_ref(), true, &container_path.child("startupProbe"), errors);
            }
            Some(other) => {
                errors.push(FieldError::not_supported(&container_path.child("restartPolicy"), other, &["Always"]));
            }
        }
    }
}

/// The checks every container gets, init or regular (`validateContainerCommon`).
fn validate_container_common(
    container: &Container,
    volumes: &BTreeSet<String>,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let name_path = path.child("name");
    if container.name.is_empty() {
        errors.push(FieldError::required(&name_path, ""));
    } else {
        for message in is_dns1123_label(&container.name) {
            errors.push(FieldError::invalid(&name_path, container.name.as_str(), &message));
        }
    }
    if container.image.as_deref().is_none_or(|image| image.trim().is_empty()) {
        errors.push(FieldError::required(&path.child("image"), ""));
    }
    if let Some(policy) = container.termination_message_policy.as_deref()
        && !TERMINATION_MESSAGE_POLICIES.contains(&policy)
    {
        let path = path.child("terminationMessagePolicy");
        errors.push(FieldError::not_supported(&path, policy, TERMINATION_MESSAGE_POLICIES));
    }
    validate_container_ports(container.ports.as_deref().unwrap_or_default(), &path.child("ports"), errors);
    validate_env_names(container, &path.child("env"), errors);
    validate_volume_mounts(container, volumes, &path.child("volumeMounts"), errors);
    if let Some(policy) = container.image_pull_policy.as_deref() {
        if policy.is_empty() {
            errors.push(FieldError::required(&path.child("imagePullPolicy"), ""));
        } else if !PULL_POLICIES.contains(&policy) {
            errors.push(FieldError::not_supported(&path.child("imagePullPolicy"), policy, PULL_POLICIES));
        }
    }
    let resources = container.resources.clone().unwrap_or_default();
    validate_resource_requirements(&resources, &path.child("resources"), errors);
}

/// `validateContainerPorts`.
fn validate_container_ports(ports: &[ContainerPort], path: &FieldPath, errors: &mut Vec<FieldError>) {
    let mut names = BTreeSet::new();
    for (index, port) in ports.iter().enumerate() {
        let port_path = path.index(index);
        if let Some(name) = port.name.as_deref().filter(|name| !name.is_empty()) {
            let messages = super::common::is_valid_port_name(name);
            if !messages.is_empty() {
                for message in messages {
                    errors.push(FieldError::invalid(&port_path.child("name"), name, &message));
                }
            } else if !names.insert(name) {
                errors.push(FieldError::duplicate(&port_path.child("name"), name));
            }
        }
        if port.container_port == 0 {
            errors.push(FieldError::required(&port_path.child("containerPort"), ""));
        } else {
            for message in is_valid_port_number(port.container_port) {
                errors.push(FieldError::invalid(&port_path.child("containerPort"), port.container_port, &message));
            }
        }
        if let Some(host_port) = port.host_port.filter(|host_port| *host_port != 0) {
            for message in is_valid_port_number(host_port) {
                errors.push(FieldError::invalid(&port_path.child("hostPort"), host_port, &message));
            }
        }
        match port.protocol.as_deref() {
            None | Some("") => errors.push(FieldError::required(&port_path.child("protocol"), "")),
            Some(protocol) if !SUPPORTED_PORT_PROTOCOLS.contains(&protocol) => {
                errors.push(FieldError::not_supported(
                    &port_path.child("protocol"),
                    protocol,
                    SUPPORTED_PORT_PROTOCOLS,
                ));
            }
            Some(_) => {}
        }
    }
}

/// `AccumulateUniqueHostPorts`: one hostIP/protocol/hostPort triple per pod.
fn validate_host_ports(spec: &PodSpec, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let mut seen = BTreeSet::new();
    let groups = [
        ("containers", spec.containers.as_slice()),
        ("initContainers", spec.init_containers.as_deref().unwrap_or_default()),
    ];
    for (field, containers) in groups {
        for (container_index, container) in containers.iter().enumerate() {
            for (port_index, port) in container.ports.iter().flatten().enumerate() {
                let Some(host_port) = port.host_port.filter(|host_port| *host_port != 0) else { continue };
                let key = format!(
                    "{}/{}/{}",
                    port.host_ip.as_deref().unwrap_or(""),
                    port.protocol.as_deref().unwrap_or(""),
                    host_port
                );
                if !seen.insert(key.clone()) {
                    let port_path = path.child(field).index(container_index).child("ports").index(port_index);
                    errors.push(FieldError::duplicate(&port_path.child("hostPort"), key));
                }
            }
        }
    }
}

fn validate_env_names(container: &Container, path: &FieldPath, errors: &mut Vec<FieldError>) {
    for (index, variable) in container.env.iter().flatten().enumerate() {
        if variable.name.is_empty() {
            errors.push(FieldError::required(&path.index(index).child("name"), ""));
        }
    }
}

/// `ValidateVolumeMounts`: each names a volume of the pod; mount paths are unique.
fn validate_volume_mounts(
    container: &Container,
    volumes: &BTreeSet<String>,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let mut mount_paths = BTreeSet::new();
    for (index, mount) in container.volume_mounts.iter().flatten().enumerate() {
        let mount_path = path.index(index);
        if mount.name.is_empty() {
            errors.push(FieldError::required(&mount_path.child("name"), ""));
        }
        if !volumes.contains(&mount.name) {
            errors.push(FieldError::not_found(&mount_path.child("name"), mount.name.as_str()));
        }
        if mount.mount_path.is_empty() {
            errors.push(FieldError::required(&mount_path.child("mountPath"), ""));
        }
        if !mount_paths.insert(mount.mount_path.as_str()) {
            errors.push(FieldError::invalid(
                &mount_path.child("mountPath"),
                mount.mount_path.as_str(),
                "must be unique",
            ));
        }
    }
}

/// `validateProbe`, plus `successThreshold` 1 for liveness and startup probes.
fn validate_probe(probe: Option<&Probe>, success_must_be_one: bool, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let Some(probe) = probe else { return };
    let handlers = [
        ("exec", probe.exec.is_some()),
        ("httpGet", probe.http_get.is_some()),
        ("tcpSocket", probe.tcp_socket.is_some()),
        ("grpc", probe.grpc.is_some()),
    ];
    validate_handler_count(&handlers, path, errors);
    if let Some(exec) = &probe.exec
        && exec.command.as_ref().is_none_or(Vec::is_empty)
    {
        errors.push(FieldError::required(&path.child("exec").child("command"), ""));
    }
    if let Some(http_get) = &probe.http_get {
        validate_http_get(http_get, &path.child("httpGet"), errors);
    }
    if let Some(tcp_socket) = &probe.tcp_socket {
        port_number_or_name(&tcp_socket.port, &path.child("tcpSocket").child("port"), errors);
    }
    if let Some(grpc) = &probe.grpc {
        for message in is_valid_port_number(grpc.port) {
            errors.push(FieldError::invalid(&path.child("grpc").child("port"), grpc.port, &message));
        }
    }
    for (field, value) in [
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ] {
        nonnegative(i64::from(value.unwrap_or(0)), &path.child(field), errors);
    }
    if let Some(seconds) = probe.termination_grace_period_seconds
        && seconds <= 0
    {
        errors.push(FieldError::invalid(
            &path.child("terminationGracePeriodSeconds"),
            seconds,
            "must be greater than 0",
        ));
    }
    if success_must_be_one && let Some(threshold) = probe.success_threshold.filter(|threshold| *threshold != 1) {
        errors.push(FieldError::invalid(&path.child("successThreshold"), threshold, "must be 1"));
    }
}

/// `validateLifecycle`: each hook has exactly one handler.
fn validate_lifecycle(container: &Container, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let Some(lifecycle) = &container.lifecycle else { return };
    for (field, handler) in [("postStart", &lifecycle.post_start), ("preStop", &lifecycle.pre_stop)] {
        if let Some(handler) = handler {
            validate_lifecycle_handler(handler, &path.child("lifecycle").child(field), errors);
        }
    }
}

fn validate_lifecycle_handler(handler: &LifecycleHandler, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let handlers = [
        ("exec", handler.exec.is_some()),
        ("httpGet", handler.http_get.is_some()),
        ("tcpSocket", handler.tcp_socket.is_some()),
        ("sleep", handler.sleep.is_some()),
    ];
    validate_handler_count(&handlers, path, errors);
    if let Some(http_get) = &handler.http_get {
        validate_http_get(http_get, &path.child("httpGet"), errors);
    }
}

/// `validateHandler`: exactly one handler type.
fn validate_handler_count(handlers: &[(&str, bool)], path: &FieldPath, errors: &mut Vec<FieldError>) {
    let set: Vec<&str> = handlers.iter().filter(|(_, set)| *set).map(|(name, _)| *name).collect();
    if set.is_empty() {
        errors.push(FieldError::required(path, "must specify a handler type"));
    }
    for extra in set.iter().skip(1) {
        errors.push(FieldError::forbidden(&path.child(extra), "may not specify more than 1 handler type"));
    }
}

/// `validateHTTPGetAction`.
fn validate_http_get(http_get: &HTTPGetAction, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if http_get.path.as_deref().is_none_or(str::is_empty) {
        errors.push(FieldError::required(&path.child("path"), ""));
    }
    port_number_or_name(&http_get.port, &path.child("port"), errors);
    let scheme = http_get.scheme.as_deref().unwrap_or("");
    if !HTTP_SCHEMES.contains(&scheme) {
        errors.push(FieldError::not_supported(&path.child("scheme"), scheme, HTTP_SCHEMES));
    }
}

/// Labels of a template, for selector matching.
pub fn template_labels(template: &PodTemplateSpec) -> Option<&BTreeMap<String, String>> {
    template.metadata.as_ref()?.labels.as_ref()
}
