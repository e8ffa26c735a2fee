//! The real `kubectl port-forward` against `cox server --simulated-nodes`: over the WebSocket
//! tunnel kubectl tries first and over plain SPDY (its fallback, forced with
//! `KUBECTL_PORT_FORWARD_WEBSOCKETS=false`), an open port answers an HTTP request through the
//! forward and a closed one makes kubectl print the kubelet's error.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::cluster::{Cluster, SETTLE};

/// How long kubectl may take to listen, or to give up after an error.
const KUBECTL_WAIT: Duration = Duration::from_secs(60);

/// A running `kubectl port-forward`.
struct PortForward {
    child: Child,
    local_port: u16,
    stderr: Arc<Mutex<String>>,
}

impl PortForward {
    /// Starts kubectl forwarding a free local port to `remote_port` of `pod`, and waits until
    /// it prints that it listens.
    fn start(cluster: &Cluster, pod: &str, remote_port: u16, websockets: bool) -> PortForward {
        let target = format!("pod/{pod}");
        let ports = format!(":{remote_port}");
        let mut command = cluster.kubectl_command(&["-v=4", "port-forward", "--address", "127.0.0.1", &target, &ports]);
        command
            .env("KUBECTL_PORT_FORWARD_WEBSOCKETS", if websockets { "true" } else { "false" })
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("kubectl is installed (README: install)");
        let stderr = Arc::new(Mutex::new(String::new()));
        let collected = Arc::clone(&stderr);
        let mut error_output = child.stderr.take().unwrap();
        thread::spawn(move || {
            let mut text = String::new();
            let mut buffer = [0u8; 1024];
            while let Ok(read) = error_output.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                text.push_str(&String::from_utf8_lossy(&buffer[..read]));
                *collected.lock().unwrap() = text.clone();
            }
        });
        let (lines, listening) = mpsc::channel();
        let output = child.stdout.take().unwrap();
        // Keep reading after the first line: kubectl dies of SIGPIPE when its stdout closes.
        thread::spawn(move || {
            for line in BufReader::new(output).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let line = listening.recv_timeout(KUBECTL_WAIT).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("kubectl never listened; stderr: {}", stderr.lock().unwrap())
        });
        // "Forwarding from 127.0.0.1:PORT -> 80"
        let local_port = line
            .strip_prefix("Forwarding from 127.0.0.1:")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from kubectl: {line}"));
        PortForward { child, local_port, stderr }
    }

    /// Whether kubectl reached the pod through the WebSocket tunnel: at `-v=4` its tunneling
    /// dialer logs the negotiated protocol (before it listens, so the log is already there,
    /// give or take the reading thread).
    fn negotiated_the_websocket_tunnel(&self) -> bool {
        let started = Instant::now();
        loop {
            if self.stderr.lock().unwrap().contains("negotiated protocol: portforward.k8s.io") {
                return true;
            }
            if started.elapsed() > Duration::from_secs(2) {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends one HTTP request through the forward and returns everything that came back.
    fn request(&self) -> String {
        let mut connection = TcpStream::connect(("127.0.0.1", self.local_port)).unwrap();
        connection.set_read_timeout(Some(KUBECTL_WAIT)).unwrap();
        connection.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: coxswain-test\r\n\r\n").unwrap();
        let mut answer = String::new();
        let _ = connection.read_to_string(&mut answer);
        answer
    }

    /// Waits for kubectl to exit by itself; its stderr then.
    fn wait_for_exit(mut self) -> (Option<i32>, String) {
        let started = Instant::now();
        while started.elapsed() < KUBECTL_WAIT {
            if let Some(status) = self.child.try_wait().unwrap() {
                thread::sleep(Duration::from_millis(200));
                return (status.code(), self.stderr.lock().unwrap().clone());
            }
            thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("kubectl kept running after the error; stderr: {}", self.stderr.lock().unwrap())
    }
}

impl Drop for PortForward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cluster_with_web_pod() -> Cluster {
    let cluster = Cluster::start(1);
    let run = cluster.kubectl(&["run", "web", "--image=nginx", "--port=80"]).ok();
    assert_eq!(run.trim(), "pod/web created");
    let timeout = format!("--timeout={}s", SETTLE.as_secs());
    cluster.kubectl(&["wait", "--for=condition=Ready", "pod/web", &timeout]).ok();
    cluster
}

fn an_open_port_answers_through_the_forward(cluster: &Cluster, websockets: bool) {
    let forward = PortForward::start(cluster, "web", 80, websockets);
    assert_eq!(
        forward.negotiated_the_websocket_tunnel(),
        websockets,
        "kubectl's transport; stderr: {}",
        forward.stderr.lock().unwrap()
    );
    for _ in 0..2 {
        let answer = forward.request();
        let stderr = forward.stderr.lock().unwrap().clone();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "websockets={websockets}: {answer:?}; kubectl: {stderr}");
        assert!(
            answer.ends_with("\r\n\r\nsimulated container port 80 of pod default/web (container web)\n"),
            "websockets={websockets}: {answer:?}"
        );
    }
}

fn a_closed_port_makes_kubectl_print_the_kubelets_error(cluster: &Cluster, websockets: bool) {
    let forward = PortForward::start(cluster, "web", 81, websockets);
    let answer = forward.request();
    assert_eq!(answer, "", "nothing listens on port 81");
    let (code, stderr) = forward.wait_for_exit();
    assert_eq!(code, Some(1), "websockets={websockets}: {stderr}");
    assert!(stderr.contains("an error occurred forwarding"), "websockets={websockets}: {stderr}");
    assert!(stderr.contains("-> 81: error forwarding port 81 to pod "), "websockets={websockets}: {stderr}");
    assert!(
        stderr.contains("failed to connect to localhost:81 inside namespace")
            && stderr.contains("connect: connection refused"),
        "websockets={websockets}: {stderr}"
    );
    assert!(stderr.contains("error: lost connection to pod"), "websockets={websockets}: {stderr}");
}

#[test]
fn port_forward_over_the_websocket_tunnel_reaches_declared_ports_only() {
    let cluster = cluster_with_web_pod();
    an_open_port_answers_through_the_forward(&cluster, true);
    a_closed_port_makes_kubectl_print_the_kubelets_error(&cluster, true);
}

#[test]
fn port_forward_over_spdy_reaches_declared_ports_only() {
    let cluster = cluster_with_web_pod();
    an_open_port_answers_through_the_forward(&cluster, false);
    a_closed_port_makes_kubectl_print_the_kubelets_error(&cluster, false);
}
