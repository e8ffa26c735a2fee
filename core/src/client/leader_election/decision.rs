//! [`decide`]: one round of client-go's `tryAcquireOrRenew` as a pure function. Given the Lease
//! the candidate just read (or its absence), when the candidate first saw that lease record, its
//! identity and the time, it says whether to create the lease, take it over, renew it, or stand
//! by, and gives the Lease to write. The caller sends the write as a compare-and-swap on the
//! resourceVersion it read, so of two candidates deciding to acquire at once only one succeeds.
//!
//! Expiry is measured as client-go measures it: from when this candidate observed the record
//! change, on its own clock, for the record's `leaseDurationSeconds` (0 when unset, so a record
//! without a duration is free at once), never from the holder's `renewTime`, so clock skew
//! between machines does not matter.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// A lease record as a candidate saw it: the Lease, and when it first saw this record (its
/// holder, times and transitions); re-reading an unchanged record does not move `observed_at`.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservedLease {
    /// The Lease read, with its resourceVersion.
    pub lease: Lease,
    /// When this record was first seen.
    pub observed_at: Timestamp,
}

/// What one round of the election does.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// No lease exists: create this one (POST), holding it.
    Create(Lease),
    /// The lease is free or its holder let it expire: write this one (PUT, compare-and-swap on
    /// the resourceVersion read), holding it with one more leader transition.
    Acquire(Lease),
    /// This candidate holds the lease: write this one (PUT) with a new renew time.
    Renew(Lease),
    /// Another candidate holds an unexpired lease: write nothing and try again later.
    StandBy {
        /// The holder.
        holder: String,
        /// When the holder's lease expires unless the record changes before.
        expires: Timestamp,
    },
}

impl Decision {
    /// The Lease to write, if any.
    pub fn lease(&self) -> Option<&Lease> {
        match self {
            Decision::Create(lease) | Decision::Acquire(lease) | Decision::Renew(lease) => Some(lease),
            Decision::StandBy { .. } => None,
        }
    }
}

/// One round of `tryAcquireOrRenew` for `identity`, holding leases for `lease_duration`, at
/// `now`, over the lease `namespace`/`name` as last read (`None`: not found).
pub fn decide(
    observed: Option<&ObservedLease>,
    namespace: &str,
    name: &str,
    identity: &str,
    lease_duration: Duration,
    now: Timestamp,
) -> Decision {
    let Some(observed) = observed else {
        let metadata =
            ObjectMeta { name: Some(name.into()), namespace: Some(namespace.into()), ..ObjectMeta::default() };
        let spec = held_spec(identity, lease_duration, now, Some(MicroTime(now)), 0);
        return Decision::Create(Lease { metadata, spec: Some(spec) });
    };
    let spec = observed.lease.spec.clone().unwrap_or_default();
    let holder = spec.holder_identity.clone().unwrap_or_default();
    let held_seconds = i64::from(spec.lease_duration_seconds.unwrap_or(0).max(0));
    let expires = observed.observed_at.checked_add(SignedDuration::from_secs(held_seconds)).unwrap_or(Timestamp::MAX);
    if !holder.is_empty() && holder != identity && expires > now {
        return Decision::StandBy { holder, expires };
    }
    let transitions = spec.lease_transitions.unwrap_or(0);
    let metadata = observed.lease.metadata.clone();
    if holder == identity {
        let spec = held_spec(identity, lease_duration, now, spec.acquire_time.clone(), transitions);
        Decision::Renew(Lease { metadata, spec: Some(spec) })
    } else {
        let spec = held_spec(identity, lease_duration, now, Some(MicroTime(now)), transitions + 1);
        Decision::Acquire(Lease { metadata, spec: Some(spec) })
    }
}

fn held_spec(
    identity: &str,
    lease_duration: Duration,
    now: Timestamp,
    acquire_time: Option<MicroTime>,
    transitions: i32,
) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(identity.into()),
        lease_duration_seconds: Some(i32::try_from(lease_duration.as_secs()).unwrap_or(i32::MAX)),
        acquire_time,
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    }
}
