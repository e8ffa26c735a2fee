//! Tests of leader election: [`decide`]'s rows ported from client-go's
//! `leaderelection_test.go` (`testTryAcquireOrRenew`, lease lock), then two [`LeaderElector`]s
//! against a real in-process API server.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::*;
use crate::api::{ApiResponse, ApiServer};
use crate::client::Incoming;
use crate::store::MemoryStore;

fn now() -> Timestamp {
    "2025-03-04T05:06:07Z".parse().expect("a timestamp")
}

fn at(seconds: i64) -> Timestamp {
    now() + SignedDuration::from_secs(seconds)
}

/// A lease `foo/bar` as client-go's `createLockObject` builds it from a record (`None`: a Lease
/// with an empty spec, as from an object without the annotation).
fn lease(holder: Option<&str>, lease_duration_seconds: i32) -> Lease {
    let metadata = ObjectMeta {
        namespace: Some("foo".into()),
        name: Some("bar".into()),
        resource_version: Some("7".into()),
        ..ObjectMeta::default()
    };
    let spec = holder.map(|holder| LeaseSpec {
        holder_identity: Some(holder.into()),
        lease_duration_seconds: Some(lease_duration_seconds),
        lease_transitions: Some(0),
        ..LeaseSpec::default()
    });
    Lease { metadata, spec: Some(spec.unwrap_or_default()) }
}

fn decide_as_baz(observed: Option<ObservedLease>, at: Timestamp) -> Decision {
    decide(observed.as_ref(), "foo", "bar", "baz", Duration::from_secs(10), at)
}

fn holder_and_transitions(decision: &Decision) -> (String, i32) {
    let spec = decision.lease().and_then(|lease| lease.spec.clone()).unwrap_or_default();
    (spec.holder_identity.unwrap_or_default(), spec.lease_transitions.unwrap_or(0))
}

/// client-go `testTryAcquireOrRenew`: (row name, lease read, when first observed, what to do,
/// holder after, leader transitions after).
#[test]
fn try_acquire_or_renew_rows_from_client_go() {
    let past = at(-1000 * 3600);
    let future = at(1000 * 3600);
    let observed = |lease, observed_at| Some(ObservedLease { lease, observed_at });
    type Expect = fn(&Decision) -> bool;
    let rows: [(&str, Option<ObservedLease>, Expect, &str, i32); 7] = [
        ("acquire from no object", None, |d| matches!(d, Decision::Create(_)), "baz", 0),
        (
            "acquire from object without annotations",
            observed(lease(None, 0), now()),
            |d| matches!(d, Decision::Acquire(_)),
            "baz",
            1,
        ),
        (
            "acquire from unled object",
            observed(lease(Some(""), 0), now()),
            |d| matches!(d, Decision::Acquire(_)),
            "baz",
            1,
        ),
        (
            "acquire from led, unacked object",
            observed(lease(Some("bing"), 0), past),
            |d| matches!(d, Decision::Acquire(_)),
            "baz",
            1,
        ),
        (
            "acquire from empty led, acked object",
            observed(lease(Some(""), 0), future),
            |d| matches!(d, Decision::Acquire(_)),
            "baz",
            1,
        ),
        (
            "don't acquire from led, acked object",
            observed(lease(Some("bing"), 0), future),
            |d| matches!(d, Decision::StandBy { holder, .. } if holder == "bing"),
            "",
            0,
        ),
        (
            "renew already acquired object",
            observed(lease(Some("baz"), 10), future),
            |d| matches!(d, Decision::Renew(_)),
            "baz",
            0,
        ),
    ];
    for (name, observed, expected, holder, transitions) in rows {
        let decision = decide_as_baz(observed, now());
        assert!(expected(&decision), "{name}: {decision:?}");
        assert_eq!(holder_and_transitions(&decision), (holder.to_string(), transitions), "{name}");
    }
}

/// client-go "acquire from led object with the lease duration seconds": the record's own
/// duration (3 s) counts, from when this candidate first saw the record.
#[test]
fn a_led_lease_is_acquired_once_its_own_duration_has_passed_since_it_was_observed() {
    let observed = ObservedLease { lease: lease(Some("bing"), 3), observed_at: now() };
    assert_eq!(
        decide_as_baz(Some(observed.clone()), at(2)),
        Decision::StandBy { holder: "bing".into(), expires: at(3) }
    );
    let decision = decide_as_baz(Some(observed), at(3));
    assert!(matches!(decision, Decision::Acquire(_)), "{decision:?}");
    assert_eq!(holder_and_transitions(&decision), ("baz".into(), 1));
}

#[test]
fn the_written_lease_carries_the_read_resource_version_and_renew_keeps_the_acquire_time() {
    let mut held = lease(Some("baz"), 10);
    let acquired = k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(at(-30));
    held.spec.as_mut().expect("spec").acquire_time = Some(acquired.clone());
    let decision = decide_as_baz(Some(ObservedLease { lease: held, observed_at: at(-1) }), now());
    let written = decision.lease().expect("a renewal writes").clone();
    assert_eq!(written.metadata.resource_version.as_deref(), Some("7"), "compare-and-swap on what was read");
    let spec = written.spec.expect("spec");
    assert_eq!(spec.acquire_time, Some(acquired));
    assert_eq!(spec.renew_time.map(|time| time.0), Some(now()));
    assert_eq!(spec.lease_duration_seconds, Some(10));
}

/// Answers every request `elector` wants sent from `server`, at `now`, until it wants nothing.
fn settle(elector: &mut LeaderElector, server: &mut ApiServer<MemoryStore>, next_id: &mut u64, now: Timestamp) {
    while let Some(outgoing) = elector.poll_request(now, next_id) {
        let ApiResponse::Json { status, body, .. } = server.handle(&outgoing.request, now) else {
            panic!("the elector never watches")
        };
        assert!(elector.handle(&Incoming::Response { id: outgoing.id, status, body }, now));
    }
}

#[test]
fn of_two_candidates_one_leads_and_the_other_takes_over_only_after_the_lease_expires() {
    let mut server = ApiServer::new(MemoryStore::new(), 1);
    let namespace = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}});
    let created = server.handle(&ApiRequest::new(Method::Post, "/api/v1/namespaces").with_json(&namespace), now());
    assert!(matches!(created, ApiResponse::Json { status: 201, .. }), "{created:?}");
    let mut next_id = 0;
    let mut first = LeaderElector::new(LeaderElectionConfig::new("kube-scheduler", "first"));
    let mut second = LeaderElector::new(LeaderElectionConfig::new("kube-scheduler", "second"));
    for second_offset in (0..=20).step_by(2) {
        let time = at(second_offset);
        settle(&mut first, &mut server, &mut next_id, time);
        settle(&mut second, &mut server, &mut next_id, time);
        assert!(first.is_leader(time) && !second.is_leader(time), "at {second_offset} s");
    }
    // The first candidate stops renewing at 20 s: it leads until its renew deadline, and the
    // second takes the lease once 15 s have passed since it last saw the record change.
    assert!(first.is_leader(at(29)) && !first.is_leader(at(30)), "leadership lapses after the renew deadline");
    for second_offset in (22..=36).step_by(2) {
        settle(&mut second, &mut server, &mut next_id, at(second_offset));
        assert_eq!(second.is_leader(at(second_offset)), second_offset >= 36, "at {second_offset} s");
    }
    assert_eq!(second.observed_holder(), Some("second"));
}
