//! The kubeconfig `cox server` writes, which `kubectl --kubeconfig PATH` uses as is: one cluster
//! at the server's address (plain HTTP on loopback), one context, no credentials.

use std::io;
use std::net::SocketAddr;
use std::path::Path;

/// The kubeconfig text for a server at `address`.
pub fn kubeconfig(address: SocketAddr) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: coxswain
  cluster:
    server: http://{address}
contexts:
- name: coxswain
  context:
    cluster: coxswain
    namespace: default
    user: coxswain
current-context: coxswain
preferences: {{}}
users:
- name: coxswain
  user: {{}}
"
    )
}

/// Writes the kubeconfig to `path` (creating its folder), replacing the file atomically so a
/// kubectl reading it never sees half of it.
pub fn write_kubeconfig(path: &Path, address: SocketAddr) -> io::Result<()> {
    if let Some(folder) = path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)?;
    }
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, kubeconfig(address))?;
    std::fs::rename(&temporary, path)
}
