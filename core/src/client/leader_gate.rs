//! A component that runs only while its process holds a leader Lease, as kube-scheduler and
//! kube-controller-manager run with `--leader-elect`: a [`LeaderElector`] keeps trying for the
//! lease; once it leads, the wrapped component is built and stepped; when leadership lapses it
//! is dropped (Kubernetes' components exit), and built afresh if this candidate leads again.
//! Request ids are the gate's own, mapped to the inner component's, so neither side's numbering
//! can collide with the other's.

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;

use super::leader_election::{LeaderElectionConfig, LeaderElector};
use super::{Component, Incoming, Outgoing, RequestId};

/// Builds the component when this candidate starts to lead.
pub type ComponentFactory<C> = Box<dyn Fn() -> C + Send>;

/// A component gated on a leader election.
pub struct LeaderGated<C> {
    elector: LeaderElector,
    make: ComponentFactory<C>,
    inner: Option<C>,
    /// Times the component has been built (tests and logs).
    terms: u64,
    next_id: RequestId,
    /// The gate's id of each request of the inner component still open → the inner's id.
    inner_requests: BTreeMap<RequestId, RequestId>,
}

impl<C> std::fmt::Debug for LeaderGated<C> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LeaderGated")
            .field("elector", &self.elector)
            .field("leading", &self.inner.is_some())
            .field("terms", &self.terms)
            .finish_non_exhaustive()
    }
}

impl<C: Component> LeaderGated<C> {
    /// A candidate for the lease in `config` that runs what `make` builds while it leads.
    pub fn new(config: LeaderElectionConfig, make: ComponentFactory<C>) -> LeaderGated<C> {
        LeaderGated {
            elector: LeaderElector::new(config),
            make,
            inner: None,
            terms: 0,
            next_id: 1,
            inner_requests: BTreeMap::new(),
        }
    }

    /// The running component, while this candidate leads.
    pub fn inner(&self) -> Option<&C> {
        self.inner.as_ref()
    }

    /// How many times this candidate has started to lead.
    pub fn terms(&self) -> u64 {
        self.terms
    }

    /// The election.
    pub fn elector(&self) -> &LeaderElector {
        &self.elector
    }

    fn forward(&mut self, input: Incoming, now: Timestamp) -> Vec<Outgoing> {
        let gate_id = input.id();
        let Some(&inner_id) = self.inner_requests.get(&gate_id) else { return Vec::new() };
        let Some(inner) = self.inner.as_mut() else { return Vec::new() };
        let input = match input {
            Incoming::Response { status, body, .. } => {
                self.inner_requests.remove(&gate_id);
                Incoming::Response { id: inner_id, status, body }
            }
            Incoming::WatchFrame { frame, .. } => Incoming::WatchFrame { id: inner_id, frame },
            Incoming::WatchClosed { .. } => {
                self.inner_requests.remove(&gate_id);
                Incoming::WatchClosed { id: inner_id }
            }
        };
        inner.step(Some(input), now)
    }

    fn renumber(&mut self, outgoing: Vec<Outgoing>) -> Vec<Outgoing> {
        outgoing
            .into_iter()
            .map(|Outgoing { id, request }| {
                let gate_id = self.next_id;
                self.next_id += 1;
                self.inner_requests.insert(gate_id, id);
                Outgoing { id: gate_id, request }
            })
            .collect()
    }
}

impl<C: Component> Component for LeaderGated<C> {
    fn step(&mut self, input: Option<Incoming>, now: Timestamp) -> Vec<Outgoing> {
        let mut inner_outgoing = Vec::new();
        if let Some(input) = input
            && !self.elector.handle(&input, now)
        {
            inner_outgoing = self.forward(input, now);
        }
        let leading = self.elector.is_leader(now);
        if leading && self.inner.is_none() {
            self.inner = Some((self.make)());
            self.terms += 1;
        } else if !leading && self.inner.is_some() {
            // Leadership lapsed: stop acting at once; answers to its requests are dropped.
            self.inner = None;
            self.inner_requests.clear();
            inner_outgoing.clear();
        }
        if let Some(inner) = self.inner.as_mut() {
            inner_outgoing.extend(inner.step(None, now));
        }
        let mut outgoing = self.renumber(inner_outgoing);
        outgoing.extend(self.elector.poll_request(now, &mut self.next_id));
        outgoing
    }

    fn next_wake(&self) -> Option<Timestamp> {
        let inner = self.inner.as_ref().and_then(Component::next_wake);
        [self.elector.next_wake(), self.elector.leadership_expires(), inner].into_iter().flatten().min()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::api::{ApiServer, Method};
    use crate::client::loopback::Loopback;
    use crate::store::MemoryStore;

    /// A component that writes one ConfigMap when it starts, named after its owner.
    struct Writer {
        owner: &'static str,
        written: u64,
        next_id: RequestId,
    }

    impl Component for Writer {
        fn step(&mut self, _: Option<Incoming>, _: Timestamp) -> Vec<Outgoing> {
            if self.written > 0 {
                return Vec::new();
            }
            self.written += 1;
            self.next_id += 1;
            let request = crate::api::ApiRequest::new(Method::Post, "/api/v1/namespaces/default/configmaps")
                .with_json(&serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"generateName": format!("{}-", self.owner)}}));
            vec![Outgoing { id: self.next_id, request }]
        }

        fn next_wake(&self) -> Option<Timestamp> {
            None
        }
    }

    fn candidate(owner: &'static str) -> LeaderGated<Writer> {
        LeaderGated::new(
            LeaderElectionConfig::new("writer", owner),
            Box::new(move || Writer { owner, written: 0, next_id: 100 }),
        )
    }

    #[test]
    fn one_candidate_leads_and_the_other_takes_over_when_it_stops() {
        let mut server = ApiServer::new(MemoryStore::new(), 1);
        let mut now = Timestamp::from_second(1_700_000_000).unwrap();
        server.bootstrap(now).unwrap();
        let mut shell = Loopback::new(server);
        let mut first = candidate("first");
        let mut second = candidate("second");
        for _ in 0..10 {
            shell.settle(&mut [&mut first, &mut second], now).unwrap();
            now += Duration::from_secs(1);
        }
        assert_eq!(first.terms(), 1, "the first candidate to ask leads");
        assert!(first.inner().is_some());
        assert!(second.inner().is_none(), "only one candidate acts at a time");
        assert_eq!(second.terms(), 0);

        // The leader's process stops: the lease runs out (15 s) and the other takes it.
        for _ in 0..30 {
            shell.settle(&mut [&mut second], now).unwrap();
            now += Duration::from_secs(1);
        }
        assert_eq!(second.terms(), 1);
        assert!(second.inner().is_some());
        assert_eq!(second.elector().observed_holder(), Some("second"));

        // The old leader comes back: its leadership has lapsed, so it stops acting at once.
        shell.settle(&mut [&mut first, &mut second], now).unwrap();
        assert!(first.inner().is_none(), "a lapsed leader stops");
    }
}
