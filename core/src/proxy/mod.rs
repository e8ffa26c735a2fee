//! The Service proxy's rules as data (kube-proxy's model, without iptables): Services and
//! EndpointSlices become a [`RuleSet`] mapping every ClusterIP:port/protocol and every NodePort to
//! the Service's ready backends, with ClientIP session affinity. The simulator routes scenario
//! traffic with [`RuleSet::route`]; an iptables backend will render the same rules.
//!
//! Differences from kube-proxy, all deliberate: only ready endpoints are used (kube-proxy falls
//! back to serving-and-terminating endpoints when none is ready); `internalTrafficPolicy` and
//! `externalTrafficPolicy: Local` are not applied (the rule set is cluster-wide, not per node);
//! LoadBalancer ingress IPs and externalIPs get no rules.

pub mod route;
pub mod rules;

#[cfg(test)]
mod tests;

pub use route::{AffinityTable, Destination};
pub use rules::{Backend, DEFAULT_SESSION_AFFINITY_TIMEOUT, RuleSet, SERVICE_NAME_LABEL, ServicePortName, ServiceRule};
