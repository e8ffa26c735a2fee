//! A real etcd server for tests: `/usr/bin/etcd` (Debian's `etcd-server`, which `.ci/run`
//! installs) on 127.0.0.1 with free ports and a temporary data directory, killed on drop. If
//! etcd is not installed the test fails with the command that installs it: the etcd backend is
//! part of what CI checks, so a missing server must not pass silently.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::temp_dir::TempDir;

/// How long etcd may take to start listening.
const ETCD_START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running etcd.
pub struct EtcdServer {
    child: Child,
    client_url: String,
    _data: TempDir,
}

impl EtcdServer {
    /// Starts etcd and waits until it accepts connections.
    pub fn start() -> EtcdServer {
        let binary = etcd_binary().unwrap_or_else(|| {
            panic!(
                "etcd is not installed; the etcd backend's tests need a real etcd server: \
                 `apt-get update && apt-get install -y etcd-server` (.ci/run installs it)"
            )
        });
        let data = TempDir::new("etcd");
        let (client_port, peer_port) = (free_port(), free_port());
        let client_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let child = Command::new(binary)
            .args(["--name", "coxswain-test", "--data-dir"])
            .arg(data.path())
            .args(["--listen-client-urls", &client_url, "--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url, "--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("coxswain-test={peer_url}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcd starts");
        let server = EtcdServer { child, client_url, _data: data };
        let deadline = Instant::now() + ETCD_START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", client_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "etcd did not listen on {} within {ETCD_START_TIMEOUT:?}",
                server.client_url
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// The endpoints to connect to.
    pub fn endpoints(&self) -> Vec<String> {
        vec![self.client_url.clone()]
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where etcd is: `/usr/bin/etcd`, or `etcd` on the PATH.
fn etcd_binary() -> Option<PathBuf> {
    let installed = PathBuf::from("/usr/bin/etcd");
    if installed.exists() {
        return Some(installed);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|directory| directory.join("etcd")).find(|candidate| candidate.exists())
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("a bound address").port()
}
