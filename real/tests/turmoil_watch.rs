//! The production HTTP server and client over turmoil's simulated network: a request sent
//! during a partition times out, and an informer's watch resumes after the partition heals and
//! catches up on what it missed. Time is turmoil's: the minutes of timeouts cost nothing.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use coxswain_core::api::{ApiRequest, Method};
use coxswain_core::client::informer::Informer;
use coxswain_core::client::{Component, Incoming, Outgoing, RequestId};
use coxswain_core::jiff::Timestamp;
use coxswain_core::k8s_openapi::api::core::v1::ConfigMap;
use coxswain_core::store::MemoryStore;
use coxswain_real::client::connector::{Connecting, Connection, Connector};
use coxswain_real::client::http::{ClientError, HttpClient};
use coxswain_real::client::runner;
use coxswain_real::clock::TokioClock;
use coxswain_real::server::{self, ServerOptions};
use serde_json::json;

const PORT: u16 = 6443;

/// turmoil's sockets as the server's listener.
struct TurmoilListener(turmoil::net::TcpListener);

impl axum::serve::Listener for TurmoilListener {
    type Io = turmoil::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok(accepted) => return accepted,
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// turmoil's sockets as the client's connector.
struct TurmoilConnector(&'static str);

impl Connector for TurmoilConnector {
    fn connect(&self) -> Connecting<'_> {
        Box::pin(async move {
            let stream = turmoil::net::TcpStream::connect((self.0, PORT)).await?;
            Ok(Box::new(stream) as Box<dyn Connection>)
        })
    }

    fn authority(&self) -> String {
        format!("{}:{PORT}", self.0)
    }
}

/// A component that only keeps an informer of ConfigMaps.
struct ConfigMapWatcher {
    informer: Informer<ConfigMap>,
    next_id: RequestId,
}

impl Component for ConfigMapWatcher {
    fn step(&mut self, input: Option<Incoming>, now: Timestamp) -> Vec<Outgoing> {
        if let Some(input) = input {
            self.informer.handle(&input, now);
        }
        self.informer.poll_request(now, &mut self.next_id).into_iter().collect()
    }

    fn next_wake(&self) -> Option<Timestamp> {
        self.informer.next_wake()
    }
}

fn start_time() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

fn create_config_map(name: &str) -> ApiRequest {
    ApiRequest::new(Method::Post, "/api/v1/namespaces/default/configmaps")
        .with_json(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}))
}

async fn wait_until_seen(handle: &runner::ComponentHandle<ConfigMapWatcher>, name: &'static str) {
    loop {
        let seen = handle.call(move |watcher, _| watcher.informer.get("default", name).is_some()).await;
        if seen == Some(true) {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[test]
fn a_request_times_out_in_a_partition_and_the_watch_resumes_after_it_heals() {
    let mut simulation = turmoil::Builder::new().simulation_duration(Duration::from_secs(1_200)).build();
    simulation.host("api", || async {
        let listener = turmoil::net::TcpListener::bind((IpAddr::from(Ipv4Addr::UNSPECIFIED), PORT)).await?;
        let options = ServerOptions { run_components: false, ..ServerOptions::default() };
        let clock = Arc::new(TokioClock::starting_at(start_time()));
        let _server = server::start(
            MemoryStore::new(),
            TurmoilListener(listener),
            Arc::new(TurmoilConnector("api")),
            SocketAddr::from((Ipv4Addr::LOCALHOST, PORT)),
            clock,
            &options,
        )
        .await?;
        std::future::pending::<()>().await;
        Ok(())
    });
    simulation.client("writer", async {
        let client = HttpClient::new(Arc::new(TurmoilConnector("api")), Duration::from_secs(5));
        // While the watcher is cut off (from 20 s to 60 s), another client writes.
        tokio::time::sleep(Duration::from_secs(30)).await;
        let answer = client.send(&create_config_map("written-during-partition")).await?;
        assert_eq!(answer.status, 201, "{}", answer.body);
        Ok(())
    });
    simulation.client("watcher", async {
        let client = HttpClient::new(Arc::new(TurmoilConnector("api")), Duration::from_secs(5));
        let clock = Arc::new(TokioClock::starting_at(start_time()));
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        let watcher = ConfigMapWatcher { informer: Informer::new(), next_id: 1 };
        let (handle, _task) = runner::spawn("watcher".into(), watcher, client.clone(), clock, stopped);

        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(client.send(&create_config_map("before")).await?.status, 201);
        wait_until_seen(&handle, "before").await;

        // A kept-alive connection, as a component's requests use: in the partition its packets
        // are lost, so the request gets no answer and times out.
        let mut session = client.session();
        let namespaces = session.send(&ApiRequest::new(Method::Get, "/api/v1/namespaces")).await?;
        assert_eq!(namespaces.status, 200);
        tokio::time::sleep(Duration::from_secs(15)).await;
        turmoil::partition("watcher", "api");
        let cut_off = session.send(&create_config_map("never-sent")).await;
        assert!(matches!(cut_off, Err(ClientError::Timeout(_))), "{cut_off:?}");
        // New connections are refused outright while the partition lasts.
        assert!(matches!(client.send(&create_config_map("never-sent")).await, Err(ClientError::Connect(_))));

        tokio::time::sleep(Duration::from_secs(35)).await;
        turmoil::repair("watcher", "api");
        let healed_at = tokio::time::Instant::now();
        wait_until_seen(&handle, "written-during-partition").await;
        assert!(healed_at.elapsed() <= Duration::from_secs(600), "the watch resumed within its idle timeout");
        let never_sent = handle.call(|watcher, _| watcher.informer.get("default", "never-sent").is_some()).await;
        assert_eq!(never_sent, Some(false), "a request that timed out in the partition never reached the server");
        Ok(())
    });
    simulation.run().unwrap();
}
