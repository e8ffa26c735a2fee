//! Routing one connection by the rule set: the destination's rule, then a backend chosen at
//! random (iptables' `statistic --mode random`), or the client's remembered backend under
//! ClientIP affinity (iptables' `recent`: each connection refreshes the entry).

use std::collections::BTreeMap;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use rand::{Rng, RngExt};

use super::rules::{Backend, RuleSet, ServicePortName};

/// Where a connection is addressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A ClusterIP, port and protocol.
    ClusterIp {
        /// The ClusterIP.
        ip: String,
        /// The Service port.
        port: i32,
        /// `TCP`, `UDP` or `SCTP`.
        protocol: String,
    },
    /// A NodePort on any node.
    NodePort {
        /// The NodePort.
        port: i32,
        /// `TCP`, `UDP` or `SCTP`.
        protocol: String,
    },
}

/// ClientIP affinity state: the backend each client was last sent to per Service port, and when
/// that memory expires.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AffinityTable {
    entries: BTreeMap<(ServicePortName, String), (Backend, Timestamp)>,
}

impl AffinityTable {
    /// How many clients are remembered (expired entries included until next used).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl RuleSet {
    /// The backend a connection from `client_ip` to `destination` goes to at `now`, or `None`
    /// when nothing serves it (no rule, or no ready endpoint: kube-proxy rejects it).
    pub fn route(
        &self,
        destination: &Destination,
        client_ip: &str,
        affinity: &mut AffinityTable,
        now: Timestamp,
        rng: &mut impl Rng,
    ) -> Option<Backend> {
        let rule = match destination {
            Destination::ClusterIp { ip, port, protocol } => self.for_cluster_ip(ip, *port, protocol),
            Destination::NodePort { port, protocol } => self.for_node_port(*port, protocol),
        }?;
        if rule.backends.is_empty() {
            return None;
        }
        let Some(timeout) = rule.session_affinity else {
            return Some(rule.backends[rng.random_range(0..rule.backends.len())].clone());
        };
        let key = (rule.service.clone(), client_ip.to_string());
        let remembered = affinity
            .entries
            .get(&key)
            .filter(|(backend, expires)| *expires > now && rule.backends.contains(backend))
            .map(|(backend, _)| backend.clone());
        let backend = remembered.unwrap_or_else(|| rule.backends[rng.random_range(0..rule.backends.len())].clone());
        let expires = now.saturating_add(SignedDuration::try_from(timeout).unwrap_or(SignedDuration::MAX));
        affinity.entries.insert(key, (backend.clone(), expires.unwrap_or(Timestamp::MAX)));
        Some(backend)
    }
}
