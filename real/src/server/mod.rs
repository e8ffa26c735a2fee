//! `cox server`: the control plane in one process. The HTTP API over the core's
//! [`ApiServer`](coxswain_core::api::ApiServer), the scheduler and the controller manager as
//! components talking to it over HTTP, and optionally simulated nodes. Everything that decides
//! is core code; this room carries requests, time and bytes.

pub mod http;
pub mod kubeconfig;
pub mod node_proxy;
pub mod port_forward;
pub mod shared_api;
pub mod simulated_nodes;
pub mod spdy;
pub mod watch_stream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use coxswain_core::api::ApiServer;
use coxswain_core::api::allocation::{AllocationConfig, Ipv4Cidr};
use coxswain_core::client::leader_election::LeaderElectionConfig;
use coxswain_core::client::leader_gate::LeaderGated;
use coxswain_core::controllers::manager::{ControllerManager, ControllerManagerConfig};
use coxswain_core::limits::CLIENT_REQUEST_TIMEOUT_SECONDS;
use coxswain_core::scheduler::component::SchedulerComponent;
use coxswain_core::scheduler::{Registry, SamplingOptions, Scheduler, SchedulerConfig};
use coxswain_core::store::Store;
use coxswain_core::store::compaction::CompactionSchedule;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::http::{HttpState, InFlightLimits};
use self::node_proxy::{NoNodes, NodeProxy};
use self::shared_api::SharedApi;
use self::simulated_nodes::SimulatedNodes;
use crate::client::connector::Connector;
use crate::client::http::HttpClient;
use crate::client::runner;
use crate::clock::SharedClock;

/// What one server runs.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Node agents to run in process.
    pub simulated_nodes: usize,
    /// The Service cluster IP range (`--service-cidr`).
    pub service_cidr: Ipv4Cidr,
    /// The pod network (`--cluster-cidr`), cut into one range per node.
    pub cluster_cidr: Ipv4Cidr,
    /// Where to write a kubeconfig once the server listens.
    pub kubeconfig: Option<PathBuf>,
    /// Whether the scheduler and the controller manager run in this process.
    pub run_components: bool,
    /// Requests served at once before 429.
    pub in_flight: InFlightLimits,
    /// This process's identity in the leader elections of the scheduler and the controller
    /// manager (`--leader-elect`), when several servers share one store; `None` runs them
    /// unconditionally.
    pub leader_identity: Option<String>,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            simulated_nodes: 0,
            service_cidr: AllocationConfig::default().service_cluster_ip_range,
            cluster_cidr: coxswain_core::controllers::NodeIpamConfig::default().cluster_cidr,
            kubeconfig: None,
            run_components: true,
            in_flight: InFlightLimits::default(),
            leader_identity: None,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be read to rebuild the Service ranges, or bootstrap failed.
    #[error("starting the API server failed: {0}")]
    Start(String),
    /// The kubeconfig could not be written.
    #[error("writing the kubeconfig to {path} failed: {source}")]
    Kubeconfig {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A running server.
pub struct RunningServer<S: Store> {
    /// The shared API server (tests inspect it).
    pub api: Arc<SharedApi<S>>,
    /// The simulated nodes, when any run.
    pub nodes: Option<Arc<SimulatedNodes>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl<S: Store + Send + Sync + 'static> RunningServer<S> {
    /// Stops everything: open watches end, components stop, the listener closes.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

/// A component's User-Agent, shaped as Kubernetes' components send it.
pub fn user_agent(component: &str) -> String {
    format!("{component}/v1.32.0 (linux/amd64) coxswain")
}

/// The default kube-scheduler, seeded.
pub fn scheduler(seed: u64) -> SchedulerComponent {
    let random = ChaCha8Rng::seed_from_u64(seed);
    let scheduler =
        Scheduler::new(&SchedulerConfig::default(), &Registry::in_tree(), random, SamplingOptions::default());
    // The default profile is compiled in; failing to build it is a bug, not input.
    SchedulerComponent::new(scheduler.expect("the default scheduler profile builds"))
}

/// Starts a server over `store`, accepting on `listener`; components reach it through
/// `connector` (which must lead to `listener`).
pub async fn start<S, L>(
    store: S,
    listener: L,
    connector: Arc<dyn Connector>,
    advertised: SocketAddr,
    clock: SharedClock,
    options: &ServerOptions,
) -> Result<RunningServer<S>, ServerError>
where
    S: Store + Send + Sync + 'static,
    L: Listener,
    L::Addr: std::fmt::Debug,
{
    let seed: u64 = rand::random();
    let allocation = AllocationConfig { service_cluster_ip_range: options.service_cidr, ..AllocationConfig::default() };
    let mut server =
        ApiServer::with_allocation(store, seed, allocation).map_err(|error| ServerError::Start(error.to_string()))?;
    server.bootstrap(clock.now()).map_err(|error| ServerError::Start(error.to_string()))?;
    tracing::info!(revision = server.store().current_revision(), "store opened");
    let api = SharedApi::new(server, Arc::clone(&clock));
    let (shutdown, shutdown_seen) = watch::channel(false);
    let client = HttpClient::new(connector, Duration::from_secs(CLIENT_REQUEST_TIMEOUT_SECONDS));

    let mut tasks = Vec::new();
    let nodes = (options.simulated_nodes > 0).then(|| {
        let (nodes, node_tasks) = SimulatedNodes::start(options.simulated_nodes, &client, &clock, &shutdown_seen);
        tasks.extend(node_tasks.into_iter().map(|task| tokio::spawn(async move { drop(task.await) })));
        nodes
    });
    let proxy: Arc<dyn NodeProxy> = match &nodes {
        Some(nodes) => Arc::clone(nodes) as Arc<dyn NodeProxy>,
        None => Arc::new(NoNodes),
    };
    let state = HttpState::new(Arc::clone(&api), proxy, options.in_flight, shutdown_seen.clone());
    let router = http::router(state);
    let mut stopping = shutdown_seen.clone();
    tasks.push(tokio::spawn(async move {
        let serving = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        });
        if let Err(error) = serving.await {
            tracing::error!(%error, "the HTTP server failed");
        }
    }));
    tasks.push(tokio::spawn(compaction_loop(Arc::clone(&api), shutdown_seen.clone())));

    tasks.push(tokio::spawn(follow_revisions(Arc::clone(&api), shutdown_seen.clone())));
    tasks.push(tokio::spawn(event_expiry_loop(Arc::clone(&api), shutdown_seen.clone())));

    if options.run_components {
        let scheduler_task = match &options.leader_identity {
            Some(identity) => {
                let election = LeaderElectionConfig::new("kube-scheduler", identity);
                let gated = LeaderGated::new(election, Box::new(move || scheduler(seed)));
                let (_, task) = runner::spawn(
                    "scheduler".into(),
                    gated,
                    client.with_user_agent(&user_agent("kube-scheduler")),
                    Arc::clone(&clock),
                    shutdown_seen.clone(),
                );
                tokio::spawn(async move { drop(task.await) })
            }
            None => {
                let (_, task) = runner::spawn(
                    "scheduler".into(),
                    scheduler(seed),
                    client.with_user_agent(&user_agent("kube-scheduler")),
                    Arc::clone(&clock),
                    shutdown_seen.clone(),
                );
                tokio::spawn(async move { drop(task.await) })
            }
        };
        let mut manager_config = ControllerManagerConfig::default();
        manager_config.node_ipam.cluster_cidr = options.cluster_cidr;
        manager_config.leader_election = options
            .leader_identity
            .as_deref()
            .map(|identity| LeaderElectionConfig::new("kube-controller-manager", identity));
        let manager = ControllerManager::new(manager_config);
        let (_, manager_task) = runner::spawn(
            "controller-manager".into(),
            manager,
            client.with_user_agent(&user_agent("kube-controller-manager")),
            Arc::clone(&clock),
            shutdown_seen.clone(),
        );
        tasks.push(scheduler_task);
        tasks.push(tokio::spawn(async move { drop(manager_task.await) }));
    }

    if let Some(path) = &options.kubeconfig {
        kubeconfig::write_kubeconfig(path, advertised)
            .map_err(|source| ServerError::Kubeconfig { path: path.clone(), source })?;
    }
    Ok(RunningServer { api, nodes, shutdown, tasks })
}

/// How often the shell looks at the store's revision for writes it did not make itself (another
/// server writing to the same etcd), to wake the watches they concern.
const REVISION_POLL: Duration = Duration::from_millis(50);

async fn follow_revisions<S: Store + Send + Sync + 'static>(
    api: Arc<SharedApi<S>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        api.refresh_revision();
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(REVISION_POLL) => {}
        }
    }
}

/// Longest wait between two looks for expired Events (new Events may be due sooner than the
/// deadline the last look saw).
const EVENT_EXPIRY_CHECK: Duration = Duration::from_secs(60);

/// Deletes Events an hour after their last write, as kube-apiserver's `--event-ttl` does.
async fn event_expiry_loop<S: Store + Send + Sync + 'static>(
    api: Arc<SharedApi<S>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let shared = Arc::clone(&api);
        let next = tokio::task::spawn_blocking(move || shared.expire_events()).await.ok().flatten();
        let now = api.clock().now();
        let wait = next
            .map(|at| Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
            .unwrap_or(EVENT_EXPIRY_CHECK)
            .clamp(Duration::from_millis(100), EVENT_EXPIRY_CHECK);
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Compacts the store's history on kube-apiserver's schedule until the server stops.
async fn compaction_loop<S: Store + Send + Sync + 'static>(
    api: Arc<SharedApi<S>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let period = CompactionSchedule::interval() / 5;
    loop {
        let shared = Arc::clone(&api);
        let _ = tokio::task::spawn_blocking(move || shared.compact_if_due()).await;
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(period) => {}
        }
    }
}
