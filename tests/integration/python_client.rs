//! The official Kubernetes Python client (`pip install kubernetes`) against `cox server`: the
//! suite in tests/python/client_suite.py. The test makes its own virtual environment under
//! `target/python-venv` the first time (PyPI must be reachable then), so `cargo test` needs no
//! set-up step; `COX_PYTHON` names another interpreter that has the package. Midway the suite
//! asks the harness to restart the server (durable store, same address) and checks that its
//! watch resumes from the last resourceVersion it saw.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::cluster::{Cluster, SETTLE};

/// The client version the suite is written against.
const CLIENT_VERSION: &str = "37.0.3";

fn python_with_client() -> PathBuf {
    if let Ok(python) = std::env::var("COX_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/python-venv");
    let python = venv.join("bin/python");
    let has_client = |python: &Path| {
        Command::new(python).args(["-c", "import kubernetes"]).status().is_ok_and(|status| status.success())
    };
    if !has_client(&python) {
        let made = Command::new("python3").arg("-m").arg("venv").arg(&venv).status().expect("python3 is installed");
        assert!(made.success(), "python3 -m venv {} failed", venv.display());
        let installed = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", &format!("kubernetes=={CLIENT_VERSION}")])
            .status()
            .expect("pip runs");
        assert!(installed.success(), "pip install kubernetes=={CLIENT_VERSION} failed (is PyPI reachable?)");
    }
    assert!(has_client(&python), "{} cannot import kubernetes", python.display());
    python
}

#[test]
fn the_official_python_client_lists_watches_creates_patches_and_deletes() {
    let python = python_with_client();
    let mut cluster = Cluster::start(2);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/client_suite.py");
    // The suite writes this file when its watch is ready for the server to restart, and waits
    // until it is gone.
    let restart_file = cluster.kubeconfig().with_file_name("restart-now");
    let mut child = Command::new(python)
        .arg(script)
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("COX_RESTART_FILE", &restart_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut restarted = false;
    while child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < SETTLE * 2, "the Python suite did not finish");
        if !restarted && restart_file.exists() {
            cluster.restart();
            let manifest = restart_file.with_file_name("after-restart.yaml");
            let config_map =
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-restart\n  namespace: python-suite\n";
            std::fs::write(&manifest, config_map).unwrap();
            cluster.kubectl(&["create", "-f", manifest.to_str().unwrap()]).ok();
            std::fs::remove_file(&restart_file).unwrap();
            restarted = true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(restarted, "the suite asked for a restart of the server");
    assert!(stdout.contains("python client suite passed"), "{stdout}");
}
