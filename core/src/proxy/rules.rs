//! Building the rule set: each Service port joined with the EndpointSlices of its Service
//! (label `kubernetes.io/service-name`) by port name, keeping ready endpoints once each.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

/// The label that ties an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// ClientIP affinity lasts this long when the Service names no timeout (10800 s, 3 h).
pub const DEFAULT_SESSION_AFFINITY_TIMEOUT: Duration = Duration::from_secs(10_800);

/// One port of one Service: `namespace/name:port-name`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServicePortName {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub name: String,
    /// The port's name (empty for a single unnamed port).
    pub port: String,
}

/// A backend: one ready endpoint address and the target port.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Backend {
    /// The endpoint's IP.
    pub ip: String,
    /// The target port.
    pub port: i32,
}

/// The rule of one Service port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRule {
    /// Which Service port.
    pub service: ServicePortName,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// The ClusterIPs (none for a headless Service).
    pub cluster_ips: Vec<String>,
    /// The Service port.
    pub port: i32,
    /// The NodePort, for NodePort and LoadBalancer Services.
    pub node_port: Option<i32>,
    /// ClientIP affinity and its timeout, when set.
    pub session_affinity: Option<Duration>,
    /// The ready backends, sorted and once each.
    pub backends: Vec<Backend>,
}

/// Every Service port's rule, indexed by what traffic is addressed to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSet {
    rules: Vec<ServiceRule>,
    by_cluster_ip: BTreeMap<(String, i32, String), usize>,
    by_node_port: BTreeMap<(i32, String), usize>,
}

fn ready_backends(service: &Service, port_name: &str, slices: &[&EndpointSlice]) -> Vec<Backend> {
    let _ = service;
    let mut backends = BTreeSet::new();
    for slice in slices {
        let Some(port) = slice
            .ports
            .iter()
            .flatten()
            .find(|port| port.name.as_deref().unwrap_or_default() == port_name)
            .and_then(|port| port.port)
        else {
            continue;
        };
        for endpoint in &slice.endpoints {
            let conditions = endpoint.conditions.as_ref();
            // A nil `ready` means ready; terminating endpoints are not ready.
            let ready = conditions.and_then(|conditions| conditions.ready).unwrap_or(true);
            let terminating = conditions.and_then(|conditions| conditions.terminating).unwrap_or(false);
            if !ready || terminating {
                continue;
            }
            for address in &endpoint.addresses {
                backends.insert(Backend { ip: address.clone(), port });
            }
        }
    }
    backends.into_iter().collect()
}

impl RuleSet {
    /// The rules of `services` with the endpoints of `slices`.
    pub fn build(services: &[Service], slices: &[EndpointSlice]) -> RuleSet {
        let mut slices_by_service: BTreeMap<(String, String), Vec<&EndpointSlice>> = BTreeMap::new();
        for slice in slices {
            let service = slice.metadata.labels.as_ref().and_then(|labels| labels.get(SERVICE_NAME_LABEL));
            if let Some(service) = service {
                let namespace = slice.metadata.namespace.clone().unwrap_or_default();
                slices_by_service.entry((namespace, service.clone())).or_default().push(slice);
            }
        }
        let mut rules = Vec::new();
        for service in services {
            let Some(spec) = &service.spec else { continue };
            if spec.type_.as_deref() == Some("ExternalName") {
                continue;
            }
            let namespace = service.metadata.namespace.clone().unwrap_or_default();
            let name = service.metadata.name.clone().unwrap_or_default();
            let cluster_ips: Vec<String> = spec
                .cluster_ips
                .clone()
                .or_else(|| spec.cluster_ip.clone().map(|ip| vec![ip]))
                .unwrap_or_default()
                .into_iter()
                .filter(|ip| !ip.is_empty() && ip != "None")
                .collect();
            let node_ports = matches!(spec.type_.as_deref(), Some("NodePort" | "LoadBalancer"));
            let session_affinity = (spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
                let timeout = spec
                    .session_affinity_config
                    .as_ref()
                    .and_then(|config| config.client_ip.as_ref())
                    .and_then(|client_ip| client_ip.timeout_seconds);
                timeout.map_or(DEFAULT_SESSION_AFFINITY_TIMEOUT, |seconds| {
                    Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
                })
            });
            let empty = Vec::new();
            let slices = slices_by_service.get(&(namespace.clone(), name.clone())).unwrap_or(&empty);
            for port in spec.ports.iter().flatten() {
                let port_name = port.name.clone().unwrap_or_default();
                rules.push(ServiceRule {
                    service: ServicePortName {
                        namespace: namespace.clone(),
                        name: name.clone(),
                        port: port_name.clone(),
                    },
                    protocol: port.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    cluster_ips: cluster_ips.clone(),
                    port: port.port,
                    node_port: port.node_port.filter(|_| node_ports),
                    session_affinity,
                    backends: ready_backends(service, &port_name, slices),
                });
            }
        }
        rules.sort_by(|a, b| a.service.cmp(&b.service).then_with(|| a.protocol.cmp(&b.protocol)));
        let mut set = RuleSet { rules, ..RuleSet::default() };
        for (index, rule) in set.rules.iter().enumerate() {
            for ip in &rule.cluster_ips {
                set.by_cluster_ip.insert((ip.clone(), rule.port, rule.protocol.clone()), index);
            }
            if let Some(node_port) = rule.node_port {
                set.by_node_port.insert((node_port, rule.protocol.clone()), index);
            }
        }
        set
    }

    /// Every rule, in Service port order.
    pub fn rules(&self) -> &[ServiceRule] {
        &self.rules
    }

    /// The rule for traffic to a ClusterIP:port/protocol.
    pub fn for_cluster_ip(&self, ip: &str, port: i32, protocol: &str) -> Option<&ServiceRule> {
        self.by_cluster_ip.get(&(ip.to_string(), port, protocol.to_string())).map(|index| &self.rules[*index])
    }

    /// The rule for traffic to a NodePort/protocol on any node.
    pub fn for_node_port(&self, port: i32, protocol: &str) -> Option<&ServiceRule> {
        self.by_node_port.get(&(port, protocol.to_string())).map(|index| &self.rules[*index])
    }

    /// A stable text rendering, one line per Service port: what tests snapshot and what the
    /// iptables backend's output can be checked against.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for rule in &self.rules {
            let service = &rule.service;
            let port_name = if service.port.is_empty() { String::new() } else { format!(":{}", service.port) };
            let _ = write!(text, "{}/{}{} {}", service.namespace, service.name, port_name, rule.protocol);
            for ip in &rule.cluster_ips {
                let _ = write!(text, " {ip}:{}", rule.port);
            }
            if let Some(node_port) = rule.node_port {
                let _ = write!(text, " nodePort={node_port}");
            }
            if let Some(timeout) = rule.session_affinity {
                let _ = write!(text, " affinity=ClientIP/{}s", timeout.as_secs());
            }
            text.push_str(" ->");
            if rule.backends.is_empty() {
                text.push_str(" REJECT (no endpoints)");
            }
            for backend in &rule.backends {
                let _ = write!(text, " {}:{}", backend.ip, backend.port);
            }
            text.push('\n');
        }
        text
    }
}
