//! `cox server`: starts the control plane (API, scheduler, controller manager, optionally
//! simulated nodes), writes a kubeconfig, and serves until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use coxswain_core::api::allocation::{AllocationConfig, Ipv4Cidr};
use coxswain_core::controllers::NodeIpamConfig;
use coxswain_core::limits::{MAX_MUTATING_REQUESTS_IN_FLIGHT, MAX_REQUESTS_IN_FLIGHT};
use coxswain_core::store::Store;

use crate::client::connector::TcpConnector;
use crate::clock::SystemClock;
use crate::server::http::InFlightLimits;
use crate::server::{self, ServerOptions};
use crate::storage::{DurableStore, EtcdStore};

/// Arguments of `cox server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to serve the Kubernetes API on (plain HTTP).
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Where the embedded durable store keeps the cluster (default: $XDG_DATA_HOME/coxswain, or
    /// ~/.local/share/coxswain). Ignored with --etcd-endpoints.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Keep the cluster in etcd instead (comma-separated URLs, e.g. http://127.0.0.1:2379).
    /// Several servers may share one etcd: a leader election picks the one whose scheduler and
    /// controller manager act.
    #[arg(long, value_delimiter = ',')]
    etcd_endpoints: Vec<String>,
    /// Where to write a kubeconfig for kubectl.
    #[arg(long, default_value = "coxswain.kubeconfig")]
    write_kubeconfig: PathBuf,
    /// Run this many simulated nodes in process (pods run on a simulated container runtime).
    #[arg(long, default_value_t = 0)]
    simulated_nodes: usize,
    /// The Service cluster IP range.
    #[arg(long, default_value_t = AllocationConfig::default().service_cluster_ip_range)]
    service_cidr: Ipv4Cidr,
    /// The pod network, cut into one /24 per node.
    #[arg(long, default_value_t = NodeIpamConfig::default().cluster_cidr)]
    cluster_cidr: Ipv4Cidr,
    /// Most gets and lists served at once before the server answers 429.
    #[arg(long, default_value_t = MAX_REQUESTS_IN_FLIGHT)]
    max_requests_inflight: usize,
    /// Most writes served at once before the server answers 429.
    #[arg(long, default_value_t = MAX_MUTATING_REQUESTS_IN_FLIGHT)]
    max_mutating_requests_inflight: usize,
}

/// Runs the server until it is told to stop; returns the exit status.
pub fn run(arguments: &ServerArgs, output: &mut dyn Write) -> u8 {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = writeln!(output, "error: cannot start the async runtime: {error}");
            return 1;
        }
    };
    // Stores are opened before the async runtime runs: the etcd store drives its own.
    if arguments.etcd_endpoints.is_empty() {
        let directory = arguments.data_dir.clone().unwrap_or_else(default_data_dir);
        match DurableStore::open(&directory) {
            Ok(store) => {
                let _ = writeln!(output, "store: {}", directory.display());
                runtime.block_on(serve(store, arguments, None, output))
            }
            Err(error) => {
                let _ = writeln!(output, "error: cannot open the store in {}: {error}", directory.display());
                1
            }
        }
    } else {
        match EtcdStore::connect(&arguments.etcd_endpoints, ETCD_PREFIX) {
            Ok(store) => {
                let _ = writeln!(output, "store: etcd at {}", arguments.etcd_endpoints.join(","));
                let identity = format!("{}_{:016x}", host_name(), rand::random::<u64>());
                let code = runtime.block_on(serve(store, arguments, Some(identity), output));
                // The etcd store drives its own async runtime, which may not be dropped from
                // inside ours: leave both to the process's exit.
                let _ = output.flush();
                std::process::exit(i32::from(code))
            }
            Err(error) => {
                let _ = writeln!(output, "error: {error}");
                1
            }
        }
    }
}

/// The key prefix of the cluster in etcd, as Kubernetes uses.
const ETCD_PREFIX: &str = "/registry";

/// `$XDG_DATA_HOME/coxswain`, else `~/.local/share/coxswain`, else `./coxswain-data`.
fn default_data_dir() -> PathBuf {
    if let Some(data_home) = std::env::var_os("XDG_DATA_HOME").filter(|value| !value.is_empty()) {
        return PathBuf::from(data_home).join("coxswain");
    }
    match std::env::var_os("HOME").filter(|value| !value.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/coxswain"),
        None => PathBuf::from("coxswain-data"),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "cox".to_string())
}

async fn serve<S: Store + Send + Sync + 'static>(
    store: S,
    arguments: &ServerArgs,
    leader_identity: Option<String>,
    output: &mut dyn Write,
) -> u8 {
    let listener = match tokio::net::TcpListener::bind(arguments.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            let _ = writeln!(output, "error: cannot listen on {}: {error}", arguments.listen);
            return 1;
        }
    };
    let address = listener.local_addr().unwrap_or(arguments.listen);
    let connect_to = if address.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), address.port())
    } else {
        address
    };
    let options = ServerOptions {
        simulated_nodes: arguments.simulated_nodes,
        service_cidr: arguments.service_cidr,
        cluster_cidr: arguments.cluster_cidr,
        kubeconfig: Some(arguments.write_kubeconfig.clone()),
        run_components: true,
        in_flight: InFlightLimits {
            reads: arguments.max_requests_inflight,
            writes: arguments.max_mutating_requests_inflight,
        },
        leader_identity,
    };
    let started = server::start(
        store,
        listener,
        Arc::new(TcpConnector::new(connect_to)),
        connect_to,
        Arc::new(SystemClock),
        &options,
    )
    .await;
    let running = match started {
        Ok(running) => running,
        Err(error) => {
            let _ = writeln!(output, "error: {error}");
            return 1;
        }
    };
    let _ = writeln!(
        output,
        "coxswain API server listening on http://{address}\nkubeconfig: {}\ntry: kubectl --kubeconfig {} get nodes",
        arguments.write_kubeconfig.display(),
        arguments.write_kubeconfig.display()
    );
    let _ = output.flush();
    wait_for_stop_signal().await;
    tracing::info!("stopping");
    running.stop().await;
    0
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
