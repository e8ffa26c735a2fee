//! What a port of a simulated pod answers (`kubectl port-forward`). There is no process behind
//! it, so the rule is the pod spec's: a port is open when a running container of the pod
//! declares it in `ports[].containerPort`, and the simulated process listening there is a tiny
//! HTTP server that answers any request with `200 OK` and a line naming the pod and the port.
//! A port nothing declares refuses the connection with the words a kubelet over containerd
//! writes on the port-forward error stream.
//!
//! Differences from Kubernetes, deliberate: the pod sandbox has no id of its own, so the pod's
//! uid stands in for it (and for the `cni-…` network namespace) in the error text.

use super::runtime::{PodRef, PortForwardOutcome};

/// A running container of the pod and the ports it declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListeningContainer {
    /// The container's name.
    pub container: String,
    /// Its declared TCP ports.
    pub ports: Vec<u16>,
}

/// What connecting to `port` of `pod` finds, given the pod's running containers.
pub fn simulated_port_forward(pod: &PodRef, port: u16, running: &[ListeningContainer]) -> PortForwardOutcome {
    match running.iter().find(|container| container.ports.contains(&port)) {
        Some(container) => PortForwardOutcome::Reply { reply: http_reply(pod, port, &container.container) },
        None => PortForwardOutcome::Refused { message: connection_refused(pod, port) },
    }
}

/// The simulated listener's whole answer: one HTTP/1.1 response that closes the connection.
pub fn http_reply(pod: &PodRef, port: u16, container: &str) -> Vec<u8> {
    let body =
        format!("simulated container port {port} of pod {}/{} (container {container})\n", pod.namespace, pod.pod);
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The kubelet's error when nothing listens on `port`: its streaming server's "error forwarding
/// port … to pod <sandbox>, uid :" around containerd's failed dial (both address families,
/// trailing space included, as containerd formats it).
pub fn connection_refused(pod: &PodRef, port: u16) -> String {
    let sandbox = &pod.pod_uid;
    port_forward_error(
        port,
        sandbox,
        &format!(
            "failed to execute portforward in network namespace \"/var/run/netns/cni-{sandbox}\": failed to connect \
             to localhost:{port} inside namespace \"{sandbox}\", IPv4: dial tcp4 127.0.0.1:{port}: connect: \
             connection refused IPv6 dial tcp6 [::1]:{port}: connect: connection refused "
        ),
    )
}

/// The kubelet's error when it runs no such pod any more.
pub fn pod_not_found(namespace: &str, pod: &str, port: u16) -> String {
    port_forward_error(port, &format!("{namespace}/{pod}"), "pod not found")
}

/// The kubelet streaming server's wrapper around a runtime's port-forward failure. The CRI
/// streaming server is given the sandbox, never a uid, hence the empty `uid`.
fn port_forward_error(port: u16, sandbox: &str, cause: &str) -> String {
    format!("error forwarding port {port} to pod {sandbox}, uid : {cause}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> PodRef {
        PodRef { namespace: "default".into(), pod: "web".into(), pod_uid: "u1".into() }
    }

    fn nginx(ports: &[u16]) -> Vec<ListeningContainer> {
        vec![ListeningContainer { container: "nginx".into(), ports: ports.to_vec() }]
    }

    #[test]
    fn a_declared_port_answers_one_http_request() {
        let PortForwardOutcome::Reply { reply } = simulated_port_forward(&pod(), 80, &nginx(&[80, 443])) else {
            panic!("port 80 is declared");
        };
        let reply = String::from_utf8(reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        let body = "simulated container port 80 of pod default/web (container nginx)\n";
        assert!(reply.ends_with(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())));
    }

    #[test]
    fn an_undeclared_port_refuses_with_containerds_words() {
        assert_eq!(
            simulated_port_forward(&pod(), 81, &nginx(&[80])),
            PortForwardOutcome::Refused {
                message: "error forwarding port 81 to pod u1, uid : failed to execute portforward in network \
                          namespace \"/var/run/netns/cni-u1\": failed to connect to localhost:81 inside namespace \
                          \"u1\", IPv4: dial tcp4 127.0.0.1:81: connect: connection refused IPv6 dial tcp6 [::1]:81: \
                          connect: connection refused "
                    .into()
            }
        );
        assert!(matches!(simulated_port_forward(&pod(), 80, &[]), PortForwardOutcome::Refused { .. }));
    }
}
