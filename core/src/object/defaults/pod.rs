//! Defaults of Pods, pod templates and everything inside a PodSpec: containers, ports, probes,
//! lifecycle handlers and volumes (`SetDefaults_Pod`, `SetDefaults_PodSpec`,
//! `SetDefaults_Container`, … in `pkg/apis/core/v1/defaults.go`). Also ReplicationControllers,
//! whose selector and labels default from their template.

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, HTTPGetAction, Lifecycle, LifecycleHandler, ObjectFieldSelector, Pod,
    PodSecurityContext, PodSpec, PodTemplate, PodTemplateSpec, Probe, ReplicationController, ResourceFieldSelector,
    ResourceRequirements, Volume, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::{set_if_empty, set_if_none};

/// `imagePullPolicy` for images tagged `:latest` or not tagged at all.
pub const PULL_ALWAYS: &str = "Always";
/// `imagePullPolicy` for images with any other tag, or a digest.
pub const PULL_IF_NOT_PRESENT: &str = "IfNotPresent";
/// The tag an image reference without tag or digest stands for.
pub const LATEST_TAG: &str = "latest";
/// Where a container's termination message is read from.
pub const TERMINATION_MESSAGE_PATH: &str = "/dev/termination-log";
/// How a container's termination message is read.
pub const TERMINATION_MESSAGE_POLICY: &str = "File";
/// The restart policy of a pod that does not name one.
pub const RESTART_POLICY: &str = "Always";
/// Seconds a pod is given to stop gracefully.
pub const TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;
/// The DNS policy of a pod that does not name one.
pub const DNS_POLICY: &str = "ClusterFirst";
/// The scheduler a pod is scheduled by.
pub const SCHEDULER_NAME: &str = "default-scheduler";
/// Whether service environment variables are injected into a pod.
pub const ENABLE_SERVICE_LINKS: bool = true;
/// The protocol of a port that does not name one.
pub const PROTOCOL: &str = "TCP";
/// Seconds between probes.
pub const PROBE_PERIOD_SECONDS: i32 = 10;
/// Seconds after which a probe times out.
pub const PROBE_TIMEOUT_SECONDS: i32 = 1;
/// Consecutive successes for a probe to count as passed.
pub const PROBE_SUCCESS_THRESHOLD: i32 = 1;
/// Consecutive failures for a probe to count as failed.
pub const PROBE_FAILURE_THRESHOLD: i32 = 3;
/// The scheme of an HTTP GET handler.
pub const HTTP_GET_SCHEME: &str = "HTTP";
/// The path of an HTTP GET handler.
pub const HTTP_GET_PATH: &str = "/";
/// The gRPC service name a gRPC probe asks about: the server's overall health.
pub const GRPC_SERVICE: &str = "";
/// File mode of files projected from Secrets, ConfigMaps, the downward API and projections (0644).
pub const VOLUME_DEFAULT_MODE: i32 = 0o644;
/// Lifetime of a projected service account token.
pub const SERVICE_ACCOUNT_TOKEN_EXPIRATION_SECONDS: i64 = 3600;
/// The API version a downward-API field reference is read at.
pub const FIELD_REF_API_VERSION: &str = "v1";
/// The divisor of a downward-API resource reference (Kubernetes' zero Quantity).
pub const RESOURCE_FIELD_DIVISOR: &str = "0";
/// The type of a hostPath volume that does not name one: no check is made.
pub const HOST_PATH_TYPE: &str = "";
/// Replicas of a ReplicationController that does not say.
pub const REPLICATION_CONTROLLER_REPLICAS: i32 = 1;

/// Kubernetes' `SetDefaults_Pod` plus the defaults of its spec. Pods alone (not templates) get
/// `enableServiceLinks` and requests copied from limits.
pub fn default_pod(pod: &mut Pod) {
    let spec = pod.spec.get_or_insert_with(PodSpec::default);
    for container in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
        default_requests_from_limits(container);
    }
    set_if_none(&mut spec.enable_service_links, ENABLE_SERVICE_LINKS);
    default_pod_spec(spec);
}

/// A v1 PodTemplate: the defaults of its template.
pub fn default_pod_template(template: &mut PodTemplate) {
    if let Some(template) = &mut template.template {
        default_pod_template_spec(template);
    }
}

/// `SetDefaults_ReplicationController`: the selector and the object's labels default to the
/// template's labels, replicas to 1.
pub fn default_replication_controller(controller: &mut ReplicationController) {
    let spec = controller.spec.get_or_insert_with(Default::default);
    if let Some(labels) = spec.template.as_ref().and_then(|template| template.metadata.as_ref()?.labels.clone()) {
        if spec.selector.as_ref().is_none_or(|selector| selector.is_empty()) {
            spec.selector = Some(labels.clone());
        }
        if controller.metadata.labels.as_ref().is_none_or(|labels| labels.is_empty()) {
            controller.metadata.labels = Some(labels);
        }
    }
    set_if_none(&mut spec.replicas, REPLICATION_CONTROLLER_REPLICAS);
    if let Some(template) = &mut spec.template {
        default_pod_template_spec(template);
    }
}

/// The defaults of a pod template inside a workload (Deployment, Job, …): those of its PodSpec.
pub fn default_pod_template_spec(template: &mut PodTemplateSpec) {
    default_pod_spec(template.spec.get_or_insert_with(PodSpec::default));
}

/// `SetDefaults_PodSpec` and the defaults of everything a PodSpec holds.
pub fn default_pod_spec(spec: &mut PodSpec) {
    set_if_empty(&mut spec.dns_policy, DNS_POLICY);
    set_if_empty(&mut spec.restart_policy, RESTART_POLICY);
    if spec.host_network == Some(true) {
        for container in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
            default_host_network_ports(container);
        }
    }
    set_if_none(&mut spec.security_context, PodSecurityContext::default());
    set_if_none(&mut spec.termination_grace_period_seconds, TERMINATION_GRACE_PERIOD_SECONDS);
    set_if_empty(&mut spec.scheduler_name, SCHEDULER_NAME);
    for container in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
        default_container(container);
    }
    for volume in spec.volumes.iter_mut().flatten() {
        default_volume(volume);
    }
}

/// `SetDefaults_Container` and the defaults of its ports, probes, handlers and env.
pub fn default_container(container: &mut Container) {
    if container.image_pull_policy.as_deref().is_none_or(str::is_empty) {
        let image = container.image.as_deref().unwrap_or("");
        container.image_pull_policy = Some(image_pull_policy_for(image).to_string());
    }
    set_if_empty(&mut container.termination_message_path, TERMINATION_MESSAGE_PATH);
    set_if_empty(&mut container.termination_message_policy, TERMINATION_MESSAGE_POLICY);
    // Go always serializes this non-pointer struct, so Kubernetes shows `resources: {}`.
    set_if_none(&mut container.resources, ResourceRequirements::default());
    for port in container.ports.iter_mut().flatten() {
        default_container_port(port);
    }
    for probe in [&mut container.liveness_probe, &mut container.readiness_probe, &mut container.startup_probe]
        .into_iter()
        .flatten()
    {
        default_probe(probe);
    }
    if let Some(lifecycle) = &mut container.lifecycle {
        default_lifecycle(lifecycle);
    }
    for variable in container.env.iter_mut().flatten() {
        default_env_var(variable);
    }
}

/// The pull policy Kubernetes picks for an image: `Always` when the tag is `latest` or missing
/// (and there is no digest), `IfNotPresent` otherwise, including for references it cannot parse.
pub fn image_pull_policy_for(image: &str) -> &'static str {
    if image_tag(image).as_deref() == Some(LATEST_TAG) { PULL_ALWAYS } else { PULL_IF_NOT_PRESENT }
}

/// The tag of an image reference as `parsers.ParseImageName` finds it: `latest` when there is
/// neither tag nor digest, empty when there is only a digest, `None` when the reference is invalid.
fn image_tag(image: &str) -> Option<String> {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let last_component_start = name.rfind('/').map_or(0, |slash| slash + 1);
    let (repository, tag) = match name[last_component_start..].rfind(':') {
        Some(colon) => (&name[..last_component_start + colon], Some(&name[last_component_start + colon + 1..])),
        None => (name, None),
    };
    if !is_valid_repository(repository) || tag.is_some_and(str::is_empty) || digest.is_some_and(str::is_empty) {
        return None;
    }
    match (tag, digest) {
        (Some(tag), _) => Some(tag.to_string()),
        (None, Some(_)) => Some(String::new()),
        (None, None) => Some(LATEST_TAG.to_string()),
    }
}

/// Whether a repository name is one the image reference grammar accepts: path components are
/// lowercase; only a leading registry host (one with a `.` or `:`, or `localhost`) may differ.
fn is_valid_repository(repository: &str) -> bool {
    if repository.is_empty() {
        return false;
    }
    let path = match repository.split_once('/') {
        Some((host, path)) if host.contains(['.', ':']) || host == "localhost" => path,
        _ => repository,
    };
    path.split('/').all(|component| {
        !component.is_empty()
            && component.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
    })
}

/// `SetDefaults_Pod`: a resource with a limit and no request gets the limit as its request.
fn default_requests_from_limits(container: &mut Container) {
    let Some(resources) = &mut container.resources else { return };
    let Some(limits) = &resources.limits else { return };
    let requests = resources.requests.get_or_insert_with(Default::default);
    for (name, limit) in limits {
        requests.entry(name.clone()).or_insert_with(|| limit.clone());
    }
}

/// With host networking, a port's hostPort is its containerPort.
fn default_host_network_ports(container: &mut Container) {
    for port in container.ports.iter_mut().flatten() {
        if port.host_port.is_none_or(|host_port| host_port == 0) {
            port.host_port = Some(port.container_port);
        }
    }
}

fn default_container_port(port: &mut ContainerPort) {
    set_if_empty(&mut port.protocol, PROTOCOL);
}

/// `SetDefaults_Probe` (zero counts as unset) and the defaults of its handler.
fn default_probe(probe: &mut Probe) {
    // These are plain int32 fields in Go, so an explicit 0 is indistinguishable from unset.
    for (field, default) in [
        (&mut probe.timeout_seconds, PROBE_TIMEOUT_SECONDS),
        (&mut probe.period_seconds, PROBE_PERIOD_SECONDS),
        (&mut probe.success_threshold, PROBE_SUCCESS_THRESHOLD),
        (&mut probe.failure_threshold, PROBE_FAILURE_THRESHOLD),
    ] {
        if field.is_none_or(|value| value == 0) {
            *field = Some(default);
        }
    }
    if let Some(http_get) = &mut probe.http_get {
        default_http_get(http_get);
    }
    if let Some(grpc) = &mut probe.grpc {
        set_if_none(&mut grpc.service, GRPC_SERVICE.to_string());
    }
}

fn default_lifecycle(lifecycle: &mut Lifecycle) {
    for handler in [&mut lifecycle.post_start, &mut lifecycle.pre_stop].into_iter().flatten() {
        default_lifecycle_handler(handler);
    }
}

fn default_lifecycle_handler(handler: &mut LifecycleHandler) {
    if let Some(http_get) = &mut handler.http_get {
        default_http_get(http_get);
    }
}

/// `SetDefaults_HTTPGetAction`.
fn default_http_get(http_get: &mut HTTPGetAction) {
    set_if_empty(&mut http_get.path, HTTP_GET_PATH);
    set_if_empty(&mut http_get.scheme, HTTP_GET_SCHEME);
}

fn default_env_var(variable: &mut EnvVar) {
    let Some(source) = &mut variable.value_from else { return };
    if let Some(field_ref) = &mut source.field_ref {
        default_field_ref(field_ref);
    }
    if let Some(resource_field_ref) = &mut source.resource_field_ref {
        default_resource_field_ref(resource_field_ref);
    }
}

fn default_field_ref(field_ref: &mut ObjectFieldSelector) {
    set_if_empty(&mut field_ref.api_version, FIELD_REF_API_VERSION);
}

fn default_resource_field_ref(resource_field_ref: &mut ResourceFieldSelector) {
    set_if_none(&mut resource_field_ref.divisor, Quantity(RESOURCE_FIELD_DIVISOR.to_string()));
}

/// `SetDefaults_Volume` (a volume with no source is an emptyDir) and the defaults of its source.
fn default_volume(volume: &mut Volume) {
    if !has_any_source(volume) {
        volume.empty_dir = Some(Default::default());
    }
    if let Some(secret) = &mut volume.secret {
        set_if_none(&mut secret.default_mode, VOLUME_DEFAULT_MODE);
    }
    if let Some(config_map) = &mut volume.config_map {
        set_if_none(&mut config_map.default_mode, VOLUME_DEFAULT_MODE);
    }
    if let Some(downward_api) = &mut volume.downward_api {
        set_if_none(&mut downward_api.default_mode, VOLUME_DEFAULT_MODE);
        for item in downward_api.items.iter_mut().flatten() {
            if let Some(field_ref) = &mut item.field_ref {
                default_field_ref(field_ref);
            }
            if let Some(resource_field_ref) = &mut item.resource_field_ref {
                default_resource_field_ref(resource_field_ref);
            }
        }
    }
    if let Some(projected) = &mut volume.projected {
        set_if_none(&mut projected.default_mode, VOLUME_DEFAULT_MODE);
        for source in projected.sources.iter_mut().flatten() {
            default_volume_projection(source);
        }
    }
    if let Some(host_path) = &mut volume.host_path {
        set_if_none(&mut host_path.type_, HOST_PATH_TYPE.to_string());
    }
}

fn default_volume_projection(projection: &mut VolumeProjection) {
    if let Some(token) = &mut projection.service_account_token {
        set_if_none(&mut token.expiration_seconds, SERVICE_ACCOUNT_TOKEN_EXPIRATION_SECONDS);
    }
    if let Some(downward_api) = &mut projection.downward_api {
        for item in downward_api.items.iter_mut().flatten() {
            if let Some(field_ref) = &mut item.field_ref {
                default_field_ref(field_ref);
            }
            if let Some(resource_field_ref) = &mut item.resource_field_ref {
                default_resource_field_ref(resource_field_ref);
            }
        }
    }
}

/// Whether a volume names a source; one without a source stands for an emptyDir.
pub(crate) fn has_any_source(volume: &Volume) -> bool {
    volume_source_names(volume).next().is_some()
}

/// The names of the sources a volume sets, in the order Kubernetes checks them.
pub(crate) fn volume_source_names(volume: &Volume) -> impl Iterator<Item = &'static str> {
    let sources: [(&'static str, bool); 30] = [
        ("hostPath", volume.host_path.is_some()),
        ("emptyDir", volume.empty_dir.is_some()),
        ("gcePersistentDisk", volume.gce_persistent_disk.is_some()),
        ("awsElasticBlockStore", volume.aws_elastic_block_store.is_some()),
        ("gitRepo", volume.git_repo.is_some()),
        ("secret", volume.secret.is_some()),
        ("nfs", volume.nfs.is_some()),
        ("iscsi", volume.iscsi.is_some()),
        ("glusterfs", volume.glusterfs.is_some()),
        ("persistentVolumeClaim", volume.persistent_volume_claim.is_some()),
        ("rbd", volume.rbd.is_some()),
        ("flexVolume", volume.flex_volume.is_some()),
        ("cinder", volume.cinder.is_some()),
        ("cephfs", volume.cephfs.is_some()),
        ("flocker", volume.flocker.is_some()),
        ("downwardAPI", volume.downward_api.is_some()),
        ("fc", volume.fc.is_some()),
        ("azureFile", volume.azure_file.is_some()),
        ("configMap", volume.config_map.is_some()),
        ("vsphereVolume", volume.vsphere_volume.is_some()),
        ("quobyte", volume.quobyte.is_some()),
        ("azureDisk", volume.azure_disk.is_some()),
        ("photonPersistentDisk", volume.photon_persistent_disk.is_some()),
        ("projected", volume.projected.is_some()),
        ("portworxVolume", volume.portworx_volume.is_some()),
        ("scaleIO", volume.scale_io.is_some()),
        ("storageos", volume.storageos.is_some()),
        ("csi", volume.csi.is_some()),
        ("ephemeral", volume.ephemeral.is_some()),
        ("image", volume.image.is_some()),
    ];
    sources.into_iter().filter(|(_, set)| *set).map(|(name, _)| name)
}
