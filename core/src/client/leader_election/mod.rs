//! Leader election over a coordination.k8s.io/v1 Lease, as client-go's `leaderelection` does it:
//! take the lease when it is absent or its holder has not renewed it for `leaseDuration` (measured
//! on the candidate's own clock from when it last saw the record change, so clock skew between
//! machines does not matter), renew it every `retryPeriod`, and stop leading when no renewal
//! succeeded for `renewDeadline`. Every write is a compare-and-swap on resourceVersion, so two
//! candidates can never both hold the lease.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::paths::{collection_path, object_path};
use super::{Incoming, Outgoing, RequestId, is_success};
use crate::api::{ApiRequest, Method};
use crate::object::kinds;

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
    observed: Option<Lease>,
    observed_at: Option<Timestamp>,
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
            observed_at: None,
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
        self.observed.as_ref()?.spec.as_ref()?.holder_identity.as_deref()
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
        let retry_at = now + signed(self.config.retry_period);
        if status == 404 {
            let lease = self.record(None, now);
            let path = collection_path(lease_resource(), Some(&self.config.namespace));
            self.pending_write = Some(ApiRequest::new(Method::Post, &path).with_json(&to_value(&lease)));
            return;
        }
        let lease = match serde_json::from_value::<Lease>(body.clone()) {
            Ok(lease) if is_success(status) => lease,
            _ => {
                self.next_attempt = Some(retry_at);
                return;
            }
        };
        self.observe(lease.clone(), now);
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let observed_at = self.observed_at.unwrap_or(now);
        let duration = spec.lease_duration_seconds.map_or(self.config.lease_duration, |s| secs(i64::from(s)));
        let held_by_other = !holder.is_empty() && holder != self.config.identity;
        if held_by_other && now < observed_at + signed(duration) {
            self.next_attempt = Some(retry_at);
            return;
        }
        let updated = self.record(Some(&lease), now);
        let path = object_path(lease_resource(), &self.config.namespace, &self.config.name);
        self.pending_write = Some(ApiRequest::new(Method::Put, &path).with_json(&to_value(&updated)));
    }

    /// Remembers a lease record, restarting the expiry clock only when the record changed.
    fn observe(&mut self, lease: Lease, now: Timestamp) {
        let changed = self.observed.as_ref().is_none_or(|seen| seen.spec != lease.spec);
        if changed {
            self.observed_at = Some(now);
        }
        self.observed = Some(lease);
    }

    /// The lease this candidate writes: itself as holder, renewed now; acquire time and
    /// transitions carried over when it already held it.
    fn record(&self, current: Option<&Lease>, now: Timestamp) -> Lease {
        let spec = current.and_then(|lease| lease.spec.clone()).unwrap_or_default();
        let ours = spec.holder_identity.as_deref() == Some(&self.config.identity);
        let transitions = spec.lease_transitions.unwrap_or(0);
        let spec = LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(self.config.lease_duration.as_secs() as i32),
            acquire_time: if ours { spec.acquire_time.clone() } else { Some(MicroTime(now)) },
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(if ours || current.is_none() { transitions } else { transitions + 1 }),
            ..LeaseSpec::default()
        };
        let metadata = current.map(|lease| lease.metadata.clone()).unwrap_or_else(|| ObjectMeta {
            name: Some(self.config.name.clone()),
            namespace: Some(self.config.namespace.clone()),
            ..ObjectMeta::default()
        });
        Lease { metadata, spec: Some(spec) }
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

fn secs(seconds: i64) -> Duration {
    Duration::from_secs(seconds.max(0) as u64)
}
