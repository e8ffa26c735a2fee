//! A `cox server` started in-process for end-to-end tests: the real HTTP API on a free loopback
//! port over the durable store (as `cox server` runs by default), the scheduler, the controller
//! manager and simulated nodes, with a kubeconfig and a fresh kubectl cache folder; and the real
//! `kubectl` run against it. [`Cluster::restart`] stops the server and starts it again on the same
//! data directory and address, as a user restarting `cox server` would.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use coxswain_real::client::connector::TcpConnector;
use coxswain_real::clock::SystemClock;
use coxswain_real::server::{self, RunningServer, ServerOptions};
use coxswain_real::storage::DurableStore;

/// How long a test waits for the cluster to reach a state before it fails. Generous: the
/// cluster is fast, a loaded CI machine is not.
pub const SETTLE: Duration = Duration::from_secs(120);

/// A running server and what kubectl needs to reach it.
pub struct Cluster {
    runtime: Option<tokio::runtime::Runtime>,
    server: Option<RunningServer<DurableStore>>,
    folder: tempfile::TempDir,
    address: SocketAddr,
    nodes: usize,
}

/// What a kubectl run printed.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Standard output, after asserting success.
    #[track_caller]
    pub fn ok(self) -> String {
        assert_eq!(self.code, 0, "kubectl failed:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self.stdout
    }
}

impl Cluster {
    /// Starts a server with `nodes` simulated nodes.
    pub fn start(nodes: usize) -> Cluster {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let folder = tempfile::tempdir().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let address = listener.local_addr().unwrap();
        let mut cluster = Cluster { runtime: Some(runtime), server: None, folder, address, nodes };
        cluster.serve(listener);
        cluster
    }

    /// Stops the server (its components and simulated nodes with it) and starts it again on the
    /// same data directory and address; returns once every node is Ready again.
    pub fn restart(&mut self) {
        let runtime = self.runtime.as_ref().expect("the cluster runs");
        if let Some(server) = self.server.take() {
            runtime.block_on(server.stop());
        }
        let listener =
            runtime.block_on(tokio::net::TcpListener::bind(self.address)).expect("the address is free again");
        self.serve(listener);
    }

    /// Opens the store, serves on `listener` and waits for every node to be Ready.
    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let runtime = self.runtime.as_ref().expect("the cluster runs");
        // After a stop, the last watch tasks of the old server may hold its store (and so the
        // database file's lock) for a moment longer.
        let started = Instant::now();
        let store = loop {
            match DurableStore::open(self.folder.path().join("data")) {
                Ok(store) => break store,
                Err(_) if started.elapsed() < SETTLE => std::thread::sleep(Duration::from_millis(50)),
                Err(error) => panic!("the durable store does not open: {error}"),
            }
        };
        let options = ServerOptions {
            simulated_nodes: self.nodes,
            kubeconfig: Some(self.kubeconfig()),
            ..ServerOptions::default()
        };
        let connector = Arc::new(TcpConnector::new(self.address));
        let server = runtime
            .block_on(server::start(store, listener, connector, self.address, Arc::new(SystemClock), &options))
            .unwrap();
        self.server = Some(server);
        let expected = self.nodes;
        self.wait_for("every node Ready", |cluster| {
            let nodes = cluster.kubectl(&["get", "nodes", "--no-headers"]).stdout;
            let ready = nodes.lines().filter(|line| line.split_whitespace().nth(1) == Some("Ready")).count();
            ready == nodes.lines().count() && ready == expected
        });
    }

    /// The kubeconfig's path.
    pub fn kubeconfig(&self) -> PathBuf {
        self.folder.path().join("kubeconfig")
    }

    /// A kubectl command with `arguments` against the cluster, to run or spawn.
    pub fn kubectl_command(&self, arguments: &[&str]) -> Command {
        let mut command = Command::new("kubectl");
        command
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .arg("--cache-dir")
            .arg(self.folder.path().join("kubectl-cache"))
            .arg("--request-timeout=60s")
            .args(arguments)
            .env_remove("KUBECONFIG");
        command
    }

    /// Runs kubectl with `arguments` against the cluster.
    pub fn kubectl(&self, arguments: &[&str]) -> Run {
        let output = self.kubectl_command(arguments).output().expect("kubectl is installed (README: install)");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Polls `condition` until it holds; fails the test after [`SETTLE`].
    #[track_caller]
    pub fn wait_for(&self, what: &str, condition: impl Fn(&Cluster) -> bool) {
        let started = Instant::now();
        while !condition(self) {
            assert!(started.elapsed() < SETTLE, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let (Some(runtime), Some(server)) = (self.runtime.take(), self.server.take()) {
            runtime.block_on(server.stop());
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}
