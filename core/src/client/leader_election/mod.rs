//! Leader election over a coordination.k8s.io/v1 Lease, as client-go's `leaderelection` does it:
//! take the lease when it is absent or its holder has not renewed it for `leaseDuration` (measured
//! on the candidate's own clock from when it last saw the record change, so clock skew between
//! machines does not matter), renew it every `retryPeriod`, and stop leading when no renewal
//! succeeded for `renewDeadline`. Every write is a compare-and-swap on resourceVersion, so two
//! candidates can never both hold the lease.

use std::time::Duration;

mod decision;
#[cfg(test)]
mod tests;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::paths::{collection_path, object_path};
use super::{Incoming, Outgoing, RequestId, is_success};
use crate::api::{ApiRequest, Method};
use crate::object::kinds;

pub use decision::{Decision, ObservedLease, decide};

/// How long a lease holds without renewal (kube-controller-manager `--leader-elect-lease-duration`).
pub const LEASE_DURATION: Duration = Duration::from_secs(15);

/// How long a leader keeps trying to renew before it stops leading (`--leader-elect-renew-deadline`).
pub const RENEW_DEADLINE: Duration = Duration::from_secs(10);

/// Time between attempts to acquire or renew (`--leader-elect-retry-period`).
pub const RETRY_PERIOD: Duration = Duration::from_secs(2);

/// Which lease to hold, as whom, and the timings.
#[derive(Clone, Debug, PartialEq)]
pub struct LeaderElectionConfig {
    /// The lease's namespace (`kube-system`).
    pub namespace: String,
    /// The lease's name (`kube-controller-manager`).
    pub name: String,
    /// This candidate's identity (`holderIdentity`).
    pub identity: String,
    /// See [`LEASE_DURATION`].
    pub lease_duration: Duration,
    /// See [`RENEW_DEADLINE`].
    pub renew_deadline: Duration,
    /// See [`RETRY_PERIOD`].
    pub retry_period: Duration,
}

impl LeaderElectionConfig {
    /// Kubernetes' default timings for the lease `kube-system/{name}`.
    pub fn new(name: &str, identity: &str) -> LeaderElectionConfig {
        LeaderElectionConfig {
            namespace: "kube-system".into(),
            name: name.into(),
            identity: identity.into(),
            lease_duration: LEASE_DURATION,
            renew_deadline: RENEW_DEADLINE,
            retry_period: RETRY_PERIOD,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum InFlight {
    Read(RequestId),
    Write(RequestId),
}

/// One candidate's view of the election.
#[derive(Clone, Debug)]
pub struct LeaderElector {
    config: LeaderElectionConfig,
    observed: Option<ObservedLease>,
    renewed_at: Option<Timestamp>,
    in_flight: Option<InFlight>,
    pending_write: Option<ApiRequest>,
    next_attempt: Option<Timestamp>,
}

impl LeaderElector {
    /// A candidate that has not tried yet.
    pub fn new(config: LeaderElectionConfig) -> LeaderElector {
        LeaderElector {
            config,
            observed: None,
            renewed_at: None,
            in_flight: None,
            pending_write: None,
            next_attempt: None,
        }
    }

    /// Whether this candidate leads at `now`: its last successful write is within the renew
    /// deadline.
    pub fn is_leader(&self, now: Timestamp) -> bool {
        self.renewed_at.is_some_and(|renewed| now < renewed + signed(self.config.renew_deadline))
    }

    /// When leadership lapses unless a renewal succeeds first (`None` when not leading).
    pub fn leadership_expires(&self) -> Option<Timestamp> {
        self.renewed_at.map(|renewed| renewed + signed(self.config.renew_deadline))
    }

    /// The holder the candidate last saw in the lease.
    pub fn observed_holder(&self) -> Option<&str> {
        self.observed.as_ref()?.lease.spec.as_ref()?.holder_identity.as_deref()
    }

    /// When the candidate next wants to act unprompted.
    pub fn next_wake(&self) -> Option<Timestamp> {
        if self.in_flight.is_some() {
            return None;
        }
        self.next_attempt
    }

    /// The next request, if one is due: read the lease, then write it.
    pub fn poll_request(&mut self, now: Timestamp, next_id: &mut RequestId) -> Option<Outgoing> {
        if self.in_flight.is_some() {
            return None;
        }
        let id = *next_id;
        if let Some(request) = self.pending_write.take() {
            *next_id += 1;
            self.in_flight = Some(InFlight::Write(id));
            return Some(Outgoing { id, request });
        }
        if self.next_attempt.is_some_and(|at| at > now) {
            return None;
        }
        *next_id += 1;
        self.in_flight = Some(InFlight::Read(id));
        Some(Outgoing { id, request: ApiRequest::new(Method::Get, &self.lease_path()) })
    }

    /// Feeds an answer; `false` when it is not this elector's.
    pub fn handle(&mut self, input: &Incoming, now: Timestamp) -> bool {
        let Incoming::Response { id, status, body } = input else { return false };
        match self.in_flight.clone() {
            Some(InFlight::Read(mine)) if mine == *id => {
                self.in_flight = None;
                self.after_read(*status, body, now);
                true
            }
            Some(InFlight::Write(mine)) if mine == *id => {
                self.in_flight = None;
                if is_success(*status) {
                    if let Ok(lease) = serde_json::from_value::<Lease>(body.clone()) {
                        self.observe(lease, now);
                    }
                    self.renewed_at = Some(now);
                }
                self.next_attempt = Some(now + signed(self.config.retry_period));
                true
            }
            _ => false,
        }
    }

    fn after_read(&mut self, status: u16, body: &Value, now: Timestamp) {
        if status == 404 {
            self.observed = None;
        } else {
            match serde_json::from_value::<Lease>(body.clone()) {
                Ok(lease) if is_success(status) => self.observe(lease, now),
                _ => {
                    self.next_attempt = Some(now + signed(self.config.retry_period));
                    return;
                }
            }
        }
        let config = &self.config;
        let decision = decide(
            self.observed.as_ref(),
            &config.namespace,
            &config.name,
            &config.identity,
            config.lease_duration,
            now,
        );
        self.pending_write = match decision {
            Decision::Create(lease) => {
                let path = collection_path(lease_resource(), Some(&config.namespace));
                Some(ApiRequest::new(Method::Post, &path).with_json(&to_value(&lease)))
            }
            Decision::Acquire(lease) | Decision::Renew(lease) => {
                Some(ApiRequest::new(Method::Put, &self.lease_path()).with_json(&to_value(&lease)))
            }
            Decision::StandBy { .. } => {
                self.next_attempt = Some(now + signed(self.config.retry_period));
                None
            }
        };
    }

    /// Remembers a lease record, restarting the expiry clock only when the record changed.
    fn observe(&mut self, lease: Lease, now: Timestamp) {
        let observed_at = match &self.observed {
            Some(seen) if seen.lease.spec == lease.spec => seen.observed_at,
            _ => now,
        };
        self.observed = Some(ObservedLease { lease, observed_at });
    }

    fn lease_path(&self) -> String {
        object_path(lease_resource(), &self.config.namespace, &self.config.name)
    }
}

fn lease_resource() -> &'static kinds::ResourceType {
    kinds::by_api_version_kind("coordination.k8s.io/v1", "Lease").expect("Lease is a served kind")
}

fn to_value(lease: &Lease) -> Value {
    let mut value = serde_json::to_value(lease).unwrap_or(Value::Null);
    value["apiVersion"] = "coordination.k8s.io/v1".into();
    value["kind"] = "Lease".into();
    value
}

fn signed(duration: Duration) -> SignedDuration {
    SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX)
}
