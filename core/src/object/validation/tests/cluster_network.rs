//! Nodes, Namespaces, Ingresses, IngressClasses, NetworkPolicies, RBAC, EndpointSlices,
//! Endpoints, Leases and PriorityClasses, ported from `TestValidateNode`,
//! `TestValidateNodeUpdate`, `TestValidateNamespace`, `TestValidateEndpointsCreate`
//! (`pkg/apis/core/validation`), `TestValidateIngress*`, `TestValidateIngressClass`,
//! `TestValidateNetworkPolicy` (`pkg/apis/networking/validation`), `TestValidateRoleBinding`,
//! `TestValidateClusterRoleBinding`, `TestValidatePolicyRule`-style cases
//! (`pkg/apis/rbac/validation`), `TestValidateEndpointSlice` (`pkg/apis/discovery/validation`),
//! `TestValidateLeaseSpec` (`pkg/apis/coordination/validation`) and `TestValidatePriorityClass`
//! (`pkg/apis/scheduling/validation`).

use super::*;
use FieldErrorType::*;

fn node(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "abc"}, "spec": spec})
}

#[test]
fn nodes_follow_validate_node() {
    let taint = |key: &str, value: &str, effect: &str| json!({"key": key, "value": value, "effect": effect});
    check_create_table(vec![
        ("no spec", node(json!({})), vec![]),
        ("pod CIDR", node(json!({"podCIDR": "192.168.0.0/16"})), vec![]),
        ("dual-stack pod CIDRs", node(json!({"podCIDRs": ["192.168.0.0/16", "2000::/10"]})), vec![]),
        ("invalid pod CIDR", node(json!({"podCIDR": "192.168.0.0"})), vec![("spec.podCIDRs[0]", Invalid)]),
        (
            "invalid second pod CIDR",
            node(json!({"podCIDRs": ["10.0.0.0/8", "2000::/1000"]})),
            vec![("spec.podCIDRs[1]", Invalid)],
        ),
        (
            "two IPv4 pod CIDRs",
            node(json!({"podCIDRs": ["10.0.0.0/8", "192.168.0.0/16"]})),
            vec![("spec.podCIDRs", Invalid)],
        ),
        (
            "three pod CIDRs",
            node(json!({"podCIDRs": ["10.0.0.0/8", "2000::/10", "192.168.0.0/16"]})),
            vec![("spec.podCIDRs", Invalid)],
        ),
        (
            "taints",
            node(json!({"taints": [taint("dedicated", "foo", "NoSchedule"), taint("dedicated", "foo", "NoExecute")]})),
            vec![],
        ),
        (
            "taint with a bad key",
            node(json!({"taints": [taint("NoUppercaseOrSpecialCharsLike=Equals", "bar", "NoSchedule")]})),
            vec![("metadata.taints[0].key", Invalid)],
        ),
        (
            "taint with a bad value",
            node(json!({"taints": [taint("dedicated", "some\\bad\\value", "NoSchedule")]})),
            vec![("metadata.taints[0].value", Invalid)],
        ),
        (
            "taint without effect",
            node(json!({"taints": [taint("dedicated", "foo", "")]})),
            vec![("metadata.taints[0].effect", Required)],
        ),
        (
            "taint with a bad effect",
            node(json!({"taints": [taint("dedicated", "foo", "NoScheduleNoAdmit")]})),
            vec![("metadata.taints[0].effect", NotSupported)],
        ),
        (
            "duplicate taints",
            node(json!({"taints": [taint("dedicated", "foo", "NoSchedule"), taint("dedicated", "bar", "NoSchedule")]})),
            vec![("metadata.taints[1]", Duplicate)],
        ),
    ]);
}

#[test]
fn node_updates_keep_pod_cidrs_and_provider_id() {
    check_update_table(vec![
        ("pod CIDR set", node(json!({})), node(json!({"podCIDR": "192.168.0.0/16"})), vec![]),
        (
            "pod CIDR changed",
            node(json!({"podCIDR": "192.123.0.0/16"})),
            node(json!({"podCIDR": "192.168.0.0/16"})),
            vec![("spec.podCIDRs", Forbidden)],
        ),
        (
            "pod CIDR removed",
            node(json!({"podCIDR": "192.123.0.0/16"})),
            node(json!({})),
            vec![("spec.podCIDRs", Forbidden)],
        ),
        (
            "pod CIDR becomes dual stack",
            node(json!({"podCIDRs": ["10.0.0.0/8"]})),
            node(json!({"podCIDRs": ["10.0.0.0/8", "2000::/10"]})),
            vec![],
        ),
        ("provider ID set", node(json!({})), node(json!({"providerID": "provider:///new"})), vec![]),
        (
            "provider ID changed",
            node(json!({"providerID": "provider:///old"})),
            node(json!({"providerID": "provider:///new"})),
            vec![("spec.providerID", Forbidden)],
        ),
    ]);
}

#[test]
fn namespaces_have_qualified_or_standard_finalizers() {
    let namespace = |finalizers: Value| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "abc"}, "spec": {"finalizers": finalizers}});
    check_create_table(vec![
        ("standard finalizer", namespace(json!(["kubernetes"])), vec![]),
        ("qualified finalizer", namespace(json!(["example.com/cleanup"])), vec![]),
        ("unqualified finalizer", namespace(json!(["cleanup"])), vec![("spec.finalizers", Invalid)]),
        ("invalid finalizer", namespace(json!(["example.com/a/b"])), vec![("spec.finalizers", Invalid)]),
        (
            "bad name",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "Abc"}}),
            vec![("metadata.name", Invalid)],
        ),
    ]);
}

fn ingress(spec: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "foo", "namespace": "default"}, "spec": spec})
}

fn ingress_path(path: Value, path_type: Value, backend: Value) -> Value {
    ingress(
        json!({"rules": [{"host": "foo.bar.com", "http": {"paths": [{"path": path, "pathType": path_type, "backend": backend}]}}]}),
    )
}

#[test]
fn ingresses_follow_validate_ingress() {
    let service = json!({"service": {"name": "default-backend", "port": {"number": 80}}});
    let backend = "spec.rules[0].http.paths[0].backend";
    let path = "spec.rules[0].http.paths[0].path";
    let host_rule = |host: &str| {
        ingress(
            json!({"rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": service.clone()}]}}]}),
        )
    };
    check_create_table(vec![
        ("prefix path", ingress_path(json!("/foo"), json!("Prefix"), service.clone()), vec![]),
        ("exact path", ingress_path(json!("/foo"), json!("Exact"), service.clone()), vec![]),
        (
            "implementation specific regex",
            ingress_path(json!("/tf(/|$)(.*)"), json!("ImplementationSpecific"), service.clone()),
            vec![],
        ),
        (
            "implementation specific empty",
            ingress_path(json!(null), json!("ImplementationSpecific"), service.clone()),
            vec![],
        ),
        ("default backend only", ingress(json!({"defaultBackend": service.clone()})), vec![]),
        ("neither rules nor default backend", ingress(json!({})), vec![("spec", Invalid)]),
        (
            "missing pathType",
            ingress_path(json!("/foo"), json!(null), service.clone()),
            vec![("spec.rules[0].http.paths[0].pathType", Required)],
        ),
        (
            "unknown pathType",
            ingress_path(json!("/foo"), json!("Regex"), service.clone()),
            vec![("spec.rules[0].http.paths[0].pathType", NotSupported)],
        ),
        ("relative prefix path", ingress_path(json!("foo"), json!("Prefix"), service.clone()), vec![(path, Invalid)]),
        (
            "exact path with //",
            ingress_path(json!("/foo//bar"), json!("Exact"), service.clone()),
            vec![(path, Invalid)],
        ),
        (
            "prefix path ending /..",
            ingress_path(json!("/foo/.."), json!("Prefix"), service.clone()),
            vec![(path, Invalid)],
        ),
        (
            "prefix path with %2f",
            ingress_path(json!("/foo%2fbar"), json!("Prefix"), service.clone()),
            vec![(path, Invalid)],
        ),
        (
            "relative implementation specific path",
            ingress_path(json!("foo"), json!("ImplementationSpecific"), service.clone()),
            vec![(path, Invalid)],
        ),
        (
            "port by name",
            ingress_path(json!("/"), json!("Prefix"), json!({"service": {"name": "svc", "port": {"name": "http"}}})),
            vec![],
        ),
        (
            "port name and number",
            ingress_path(
                json!("/"),
                json!("Prefix"),
                json!({"service": {"name": "svc", "port": {"name": "http", "number": 80}}}),
            ),
            vec![(backend, Invalid)],
        ),
        (
            "no port",
            ingress_path(json!("/"), json!("Prefix"), json!({"service": {"name": "svc"}})),
            vec![(backend, Required)],
        ),
        (
            "port number out of range",
            ingress_path(json!("/"), json!("Prefix"), json!({"service": {"name": "svc", "port": {"number": 65536}}})),
            vec![("spec.rules[0].http.paths[0].backend.service.port.number", Invalid)],
        ),
        (
            "service name not a DNS-1035 label",
            ingress_path(json!("/"), json!("Prefix"), json!({"service": {"name": "1svc", "port": {"number": 80}}})),
            vec![("spec.rules[0].http.paths[0].backend.service.name", Invalid)],
        ),
        (
            "resource and service",
            ingress_path(
                json!("/"),
                json!("Prefix"),
                json!({"service": {"name": "svc", "port": {"number": 80}}, "resource": {"apiGroup": "example.com", "kind": "foo", "name": "bar"}}),
            ),
            vec![(backend, Invalid)],
        ),
        ("empty backend", ingress_path(json!("/"), json!("Prefix"), json!({})), vec![(backend, Invalid)]),
        ("wildcard host", host_rule("*.bar.com"), vec![]),
        ("wildcard in the middle", host_rule("foo.*.bar.com"), vec![("spec.rules[0].host", Invalid)]),
        ("IP host", host_rule("127.0.0.1"), vec![("spec.rules[0].host", Invalid)]),
        ("uppercase host", host_rule("Foo.bar.com"), vec![("spec.rules[0].host", Invalid)]),
        (
            "no paths",
            ingress(json!({"rules": [{"host": "foo.com", "http": {"paths": []}}]})),
            vec![("spec.rules[0].http.paths", Required)],
        ),
        (
            "tls hosts",
            ingress(
                json!({"defaultBackend": service.clone(), "tls": [{"hosts": ["*.bar.com", "bar.*.com"], "secretName": "tls"}]}),
            ),
            vec![("spec.tls[0].hosts", Invalid)],
        ),
        (
            "class annotation disagrees",
            with(
                ingress(json!({"defaultBackend": service.clone(), "ingressClassName": "b"})),
                &[("/metadata/annotations", json!({"kubernetes.io/ingress.class": "a"}))],
            ),
            vec![("annotations.kubernetes.io/ingress.class", Invalid)],
        ),
        (
            "bad class name",
            ingress(json!({"defaultBackend": service, "ingressClassName": "Bad_Name"})),
            vec![("spec.ingressClassName", Invalid)],
        ),
    ]);
}

#[test]
fn ingress_classes_name_a_domain_prefixed_controller() {
    let class = |controller: Value| json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "test123"}, "spec": {"controller": controller}});
    check_create_table(vec![
        ("valid", class(json!("foo.co/bar")), vec![]),
        ("no controller", class(json!(null)), vec![("spec.controller", Required)]),
        ("no path", class(json!("foo.co")), vec![("spec.controller", Invalid)]),
        ("bad domain", class(json!("Foo.co/bar")), vec![("spec.controller", Invalid)]),
        ("bad path", class(json!("foo.co/b ar")), vec![("spec.controller", Invalid)]),
        (
            "controller too long",
            class(json!(format!("foo.co/{}", "a".repeat(250)))),
            vec![("spec.controller", TooLong)],
        ),
    ]);
    check_update_table(vec![(
        "controller changed",
        class(json!("foo.co/bar")),
        class(json!("foo.co/baz")),
        vec![("spec.controller", Invalid)],
    )]);
}

fn network_policy(spec: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "bar", "namespace": "foo"}, "spec": spec})
}

#[test]
fn network_policies_follow_validate_network_policy() {
    let ingress_port = |port: Value| network_policy(json!({"podSelector": {}, "ingress": [{"ports": [port]}]}));
    let from = |peer: Value| network_policy(json!({"podSelector": {}, "ingress": [{"from": [peer]}]}));
    let port_path = "spec.ingress[0].ports[0]";
    let at = |field: &str| -> &'static str { format!("{port_path}.{field}").leak() };
    check_create_table(vec![
        ("empty", network_policy(json!({"podSelector": {"matchLabels": {"a": "b"}}})), vec![]),
        ("ports", ingress_port(json!({"protocol": "TCP", "port": 80})), vec![]),
        ("named port", ingress_port(json!({"protocol": "UDP", "port": "dns"})), vec![]),
        ("port range", ingress_port(json!({"protocol": "TCP", "port": 30000, "endPort": 32768})), vec![]),
        ("policy types", network_policy(json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})), vec![]),
        (
            "ipBlock with except",
            from(json!({"ipBlock": {"cidr": "192.168.0.0/16", "except": ["192.168.3.0/24", "192.168.4.0/24"]}})),
            vec![],
        ),
        (
            "ipv6 ipBlock",
            from(json!({"ipBlock": {"cidr": "fd00:192:168::/48", "except": ["fd00:192:168:3::/64"]}})),
            vec![],
        ),
        (
            "bad pod selector",
            network_policy(json!({"podSelector": {"matchLabels": {"a": "b", "c": "-d"}}})),
            vec![("spec.podSelector.matchLabels", Invalid)],
        ),
        ("bad protocol", ingress_port(json!({"protocol": "ICMP", "port": 80})), vec![(at("protocol"), NotSupported)]),
        ("port out of range", ingress_port(json!({"protocol": "TCP", "port": 66666})), vec![(at("port"), Invalid)]),
        (
            "bad port name",
            ingress_port(json!({"protocol": "TCP", "port": "!@#$"})),
            vec![(at("port"), Invalid), (at("port"), Invalid)],
        ),
        (
            "endPort below port",
            ingress_port(json!({"protocol": "TCP", "port": 35000, "endPort": 32000})),
            vec![(at("endPort"), Invalid)],
        ),
        (
            "endPort out of range",
            ingress_port(json!({"protocol": "TCP", "port": 30000, "endPort": 65537})),
            vec![(at("endPort"), Invalid)],
        ),
        (
            "endPort with a named port",
            ingress_port(json!({"protocol": "TCP", "port": "dns", "endPort": 32000})),
            vec![(at("endPort"), Invalid)],
        ),
        (
            "endPort without port",
            ingress_port(json!({"protocol": "TCP", "endPort": 32000})),
            vec![(at("endPort"), Invalid)],
        ),
        ("empty peer", from(json!({})), vec![("spec.ingress[0].from[0]", Required)]),
        (
            "ipBlock and a selector",
            from(json!({"podSelector": {}, "ipBlock": {"cidr": "10.0.0.0/8"}})),
            vec![("spec.ingress[0].from[0]", Forbidden)],
        ),
        (
            "missing cidr",
            from(json!({"ipBlock": {"cidr": ""}})),
            vec![("spec.ingress[0].from[0].ipBlock.cidr", Required)],
        ),
        (
            "invalid cidr",
            from(json!({"ipBlock": {"cidr": "192.168.5.6"}})),
            vec![("spec.ingress[0].from[0].ipBlock.cidr", Invalid)],
        ),
        (
            "except outside cidr",
            from(json!({"ipBlock": {"cidr": "192.168.8.0/24", "except": ["192.168.9.1/24"]}})),
            vec![("spec.ingress[0].from[0].ipBlock.except[0]", Invalid)],
        ),
        (
            "except equal to cidr",
            from(json!({"ipBlock": {"cidr": "192.168.0.0/24", "except": ["192.168.0.0/24"]}})),
            vec![("spec.ingress[0].from[0].ipBlock.except[0]", Invalid)],
        ),
        (
            "invalid except",
            from(json!({"ipBlock": {"cidr": "192.168.0.0/16", "except": ["192.168.3.0"]}})),
            vec![("spec.ingress[0].from[0].ipBlock.except[0]", Invalid)],
        ),
        (
            "egress peer",
            network_policy(
                json!({"podSelector": {}, "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"c": "-d"}}}]}]}),
            ),
            vec![("spec.egress[0].to[0].namespaceSelector.matchLabels", Invalid)],
        ),
        (
            "unknown policy type",
            network_policy(json!({"podSelector": {}, "policyTypes": ["foo"]})),
            vec![("spec.policyTypes[0]", NotSupported)],
        ),
        (
            "three policy types",
            network_policy(json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress", "Ingress"]})),
            vec![("spec.policyTypes", Invalid)],
        ),
    ]);
}

fn role(kind: &str, rules: Value) -> Value {
    let mut value = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": "default"}, "rules": rules});
    if kind == "Role" {
        set(&mut value, "/metadata/namespace", json!("default"));
    }
    value
}

#[test]
fn roles_follow_validate_policy_rule() {
    check_create_table(vec![
        ("resource rule", role("Role", json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}])), vec![]),
        (
            "non-resource rule",
            role("ClusterRole", json!([{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}])),
            vec![],
        ),
        (
            "no verbs",
            role("Role", json!([{"verbs": [], "apiGroups": [""], "resources": ["pods"]}])),
            vec![("rules[0].verbs", Required)],
        ),
        (
            "no api groups",
            role("Role", json!([{"verbs": ["get"], "resources": ["pods"]}])),
            vec![("rules[0].apiGroups", Required)],
        ),
        (
            "no resources",
            role("ClusterRole", json!([{"verbs": ["get"], "apiGroups": [""]}])),
            vec![("rules[0].resources", Required)],
        ),
        (
            "non-resource URLs in a Role",
            role("Role", json!([{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}])),
            vec![("rules[0].nonResourceURLs", Invalid)],
        ),
        (
            "non-resource URLs with resources",
            role("ClusterRole", json!([{"verbs": ["get"], "nonResourceURLs": ["/healthz"], "resources": ["pods"]}])),
            vec![("rules[0].nonResourceURLs", Invalid)],
        ),
        (
            "aggregation without selectors",
            with(role("ClusterRole", json!([])), &[("/aggregationRule", json!({"clusterRoleSelectors": []}))]),
            vec![("aggregationRule.clusterRoleSelectors", Required)],
        ),
        (
            "name with a colon",
            with(role("ClusterRole", json!([])), &[("/metadata/name", json!("system:controller"))]),
            vec![],
        ),
        (
            "name with a slash",
            with(role("ClusterRole", json!([])), &[("/metadata/name", json!("a/b"))]),
            vec![("metadata.name", Invalid)],
        ),
    ]);
}

fn binding(kind: &str, role_ref: Value, subjects: Value) -> Value {
    let mut value = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": "master"}, "roleRef": role_ref, "subjects": subjects});
    if kind == "RoleBinding" {
        set(&mut value, "/metadata/namespace", json!("master"));
    }
    value
}

#[test]
fn bindings_follow_validate_role_binding() {
    let role_ref = |kind: &str| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": "valid"});
    let user = json!({"name": "validsaname", "apiGroup": "rbac.authorization.k8s.io", "kind": "User"});
    let account = json!({"name": "sa", "kind": "ServiceAccount", "namespace": "foo"});
    check_create_table(vec![
        ("role binding", binding("RoleBinding", role_ref("Role"), json!([user.clone(), account.clone()])), vec![]),
        (
            "role binding to a cluster role",
            binding("RoleBinding", role_ref("ClusterRole"), json!([user.clone()])),
            vec![],
        ),
        (
            "service account without namespace in a RoleBinding",
            binding("RoleBinding", role_ref("Role"), json!([{"name": "sa", "kind": "ServiceAccount"}])),
            vec![],
        ),
        (
            "cluster role binding",
            binding("ClusterRoleBinding", role_ref("ClusterRole"), json!([user.clone(), account])),
            vec![],
        ),
        (
            "group without apiGroup",
            binding("ClusterRoleBinding", role_ref("ClusterRole"), json!([{"name": "g", "kind": "Group"}])),
            vec![],
        ),
        (
            "bad roleRef apiGroup",
            binding("RoleBinding", json!({"apiGroup": "rbac.GroupName", "kind": "Role", "name": "valid"}), json!([])),
            vec![("roleRef.apiGroup", NotSupported)],
        ),
        ("bad roleRef kind", binding("RoleBinding", role_ref("Type"), json!([])), vec![("roleRef.kind", NotSupported)]),
        (
            "cluster role binding to a Role",
            binding("ClusterRoleBinding", role_ref("Role"), json!([])),
            vec![("roleRef.kind", NotSupported)],
        ),
        (
            "roleRef without name",
            binding("RoleBinding", json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role"}), json!([])),
            vec![("roleRef.name", Required)],
        ),
        (
            "roleRef with a bad name",
            binding(
                "RoleBinding",
                json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "valid/name"}),
                json!([]),
            ),
            vec![("roleRef.name", Invalid)],
        ),
        (
            "subject without name",
            binding(
                "RoleBinding",
                role_ref("Role"),
                json!([{"kind": "User", "apiGroup": "rbac.authorization.k8s.io"}]),
            ),
            vec![("subjects[0].name", Required)],
        ),
        (
            "bad subject kind",
            binding("RoleBinding", role_ref("Role"), json!([{"name": "a", "kind": "Robot"}])),
            vec![("subjects[0].kind", NotSupported)],
        ),
        (
            "service account with an apiGroup",
            binding(
                "RoleBinding",
                role_ref("Role"),
                json!([{"name": "sa", "kind": "ServiceAccount", "apiGroup": "rbac.authorization.k8s.io"}]),
            ),
            vec![("subjects[0].apiGroup", NotSupported)],
        ),
        (
            "service account with a bad name",
            binding("RoleBinding", role_ref("Role"), json!([{"name": "valid/name", "kind": "ServiceAccount"}])),
            vec![("subjects[0].name", Invalid)],
        ),
        (
            "user with another apiGroup",
            binding("RoleBinding", role_ref("Role"), json!([{"name": "u", "kind": "User", "apiGroup": "example.com"}])),
            vec![("subjects[0].apiGroup", NotSupported)],
        ),
        (
            "service account without namespace in a ClusterRoleBinding",
            binding("ClusterRoleBinding", role_ref("ClusterRole"), json!([{"name": "sa", "kind": "ServiceAccount"}])),
            vec![("subjects[0].namespace", Required)],
        ),
    ]);
    check_update_table(vec![
        (
            "subjects may change",
            binding("RoleBinding", role_ref("Role"), json!([])),
            binding("RoleBinding", role_ref("Role"), json!([user])),
            vec![],
        ),
        (
            "roleRef may not change",
            binding("RoleBinding", role_ref("Role"), json!([])),
            binding("RoleBinding", role_ref("ClusterRole"), json!([])),
            vec![("roleRef", Invalid)],
        ),
    ]);
}

fn endpoint_slice(address_type: &str, endpoints: Value, ports: Value) -> Value {
    json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "hello", "namespace": "world"},
        "addressType": address_type, "endpoints": endpoints, "ports": ports})
}

#[test]
fn endpoint_slices_follow_validate_endpoint_slice() {
    let port = json!([{"name": "http", "protocol": "TCP", "port": 80}]);
    let endpoint = |addresses: Value| json!([{"addresses": addresses}]);
    check_create_table(vec![
        ("ipv4", endpoint_slice("IPv4", endpoint(json!(["10.1.2.3"])), port.clone()), vec![]),
        ("ipv6", endpoint_slice("IPv6", endpoint(json!(["a00:100::4"])), port.clone()), vec![]),
        (
            "fqdn",
            endpoint_slice(
                "FQDN",
                endpoint(json!(["foo.example.com", "example.com.", "foo-bar.example.com"])),
                port.clone(),
            ),
            vec![],
        ),
        ("empty port name", endpoint_slice("IPv4", json!([]), json!([{"name": "", "protocol": "TCP"}])), vec![]),
        ("port without protocol", endpoint_slice("IPv4", json!([]), json!([{"name": "a"}])), vec![]),
        (
            "node name, zone and hostname",
            endpoint_slice(
                "IPv4",
                json!([{"addresses": ["10.1.2.3"], "nodeName": "node-1", "zone": "zone-a", "hostname": "web-0"}]),
                port.clone(),
            ),
            vec![],
        ),
        ("unknown address type", endpoint_slice("IP", json!([]), port.clone()), vec![("addressType", NotSupported)]),
        ("missing address type", endpoint_slice("", json!([]), port.clone()), vec![("addressType", Required)]),
        (
            "no addresses",
            endpoint_slice("IPv4", endpoint(json!([])), port.clone()),
            vec![("endpoints[0].addresses", Required)],
        ),
        (
            "ipv6 address in an ipv4 slice",
            endpoint_slice("IPv4", endpoint(json!(["a00:100::4"])), port.clone()),
            vec![("endpoints[0].addresses[0]", Invalid)],
        ),
        (
            "bad ipv4",
            endpoint_slice("IPv4", endpoint(json!(["123.456.789.012"])), port.clone()),
            vec![("endpoints[0].addresses[0]", Invalid)],
        ),
        (
            "loopback",
            endpoint_slice("IPv4", endpoint(json!(["127.0.0.1"])), port.clone()),
            vec![("endpoints[0].addresses[0]", Invalid)],
        ),
        (
            "one-label fqdn",
            endpoint_slice("FQDN", endpoint(json!(["localhost"])), port.clone()),
            vec![("endpoints[0].addresses[0]", Invalid)],
        ),
        (
            "bad fqdn",
            endpoint_slice("FQDN", endpoint(json!(["foo.*.com"])), port.clone()),
            vec![("endpoints[0].addresses[0]", Invalid)],
        ),
        (
            "too many addresses",
            endpoint_slice(
                "IPv4",
                endpoint(json!((0..101).map(|i| format!("10.0.0.{}", i % 250 + 1)).collect::<Vec<_>>())),
                port.clone(),
            ),
            vec![("endpoints[0].addresses", TooMany)],
        ),
        (
            "bad node name",
            endpoint_slice("IPv4", json!([{"addresses": ["10.1.2.3"], "nodeName": "INVALID"}]), port.clone()),
            vec![("endpoints[0].nodeName", Invalid)],
        ),
        (
            "bad hostname",
            endpoint_slice("IPv4", json!([{"addresses": ["10.1.2.3"], "hostname": "--INVALID"}]), port.clone()),
            vec![("endpoints[0].hostname", Invalid)],
        ),
        (
            "bad port name",
            endpoint_slice("IPv4", json!([]), json!([{"name": "a_b", "protocol": "TCP"}])),
            vec![("ports[0].name", Invalid)],
        ),
        (
            "duplicate port names",
            endpoint_slice(
                "IPv4",
                json!([]),
                json!([{"name": "http", "protocol": "TCP"}, {"name": "http", "protocol": "UDP"}]),
            ),
            vec![("ports[1].name", Duplicate)],
        ),
        (
            "bad protocol",
            endpoint_slice("IPv4", json!([]), json!([{"name": "a", "protocol": "foo"}])),
            vec![("ports[0].protocol", NotSupported)],
        ),
        (
            "bad app protocol",
            endpoint_slice("IPv4", json!([]), json!([{"name": "a", "protocol": "TCP", "appProtocol": "--"}])),
            vec![("ports[0].appProtocol", Invalid)],
        ),
    ]);
    check_update_table(vec![(
        "address type changed",
        endpoint_slice("IPv4", json!([]), port.clone()),
        endpoint_slice("IPv6", json!([]), port),
        vec![("addressType", Invalid)],
    )]);
}

#[test]
fn endpoints_follow_validate_endpoints() {
    let endpoints = |subsets: Value| json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "mysvc", "namespace": "namespace"}, "subsets": subsets});
    check_create_table(vec![
        ("empty", endpoints(json!([])), vec![]),
        (
            "addresses and ports",
            endpoints(
                json!([{"addresses": [{"ip": "10.10.1.1"}, {"ip": "10.10.2.2"}], "ports": [{"name": "a", "port": 8675, "protocol": "TCP"}, {"name": "b", "port": 309, "protocol": "TCP"}]}]),
            ),
            vec![],
        ),
        ("no addresses", endpoints(json!([{"ports": [{"port": 111}]}])), vec![("subsets[0]", Required)]),
        (
            "bad ip",
            endpoints(json!([{"addresses": [{"ip": "[2001:0db8:85a3:0042:1000:8a2e:0370:7334]"}]}])),
            vec![("subsets[0].addresses[0].ip", Invalid), ("subsets[0].addresses[0].ip", Invalid)],
        ),
        (
            "loopback ip",
            endpoints(json!([{"addresses": [{"ip": "127.0.0.1"}]}])),
            vec![("subsets[0].addresses[0].ip", Invalid)],
        ),
        (
            "link-local ip",
            endpoints(json!([{"notReadyAddresses": [{"ip": "169.254.169.254"}]}])),
            vec![("subsets[0].notReadyAddresses[0].ip", Invalid)],
        ),
        (
            "unnamed ports among several",
            endpoints(json!([{"addresses": [{"ip": "10.10.1.1"}], "ports": [{"port": 93}, {"port": 76}]}])),
            vec![("subsets[0].ports[0].name", Required), ("subsets[0].ports[1].name", Required)],
        ),
        (
            "port out of range",
            endpoints(json!([{"addresses": [{"ip": "10.10.1.1"}], "ports": [{"port": 66000}]}])),
            vec![("subsets[0].ports[0].port", Invalid)],
        ),
        (
            "bad protocol",
            endpoints(json!([{"addresses": [{"ip": "10.10.1.1"}], "ports": [{"port": 80, "protocol": "Protocol"}]}])),
            vec![("subsets[0].ports[0].protocol", NotSupported)],
        ),
        (
            "bad hostname",
            endpoints(json!([{"addresses": [{"ip": "10.10.1.1", "hostname": "a.b"}]}])),
            vec![("subsets[0].addresses[0].hostname", Invalid)],
        ),
    ]);
}

#[test]
fn leases_and_priority_classes_follow_their_validation() {
    let lease = |spec: Value| json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "holder", "namespace": "kube-node-lease"}, "spec": spec});
    let class = |name: &str, value: i64| json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name}, "value": value});
    check_create_table(vec![
        (
            "lease",
            lease(json!({"holderIdentity": "node-1", "leaseDurationSeconds": 40, "leaseTransitions": 0})),
            vec![],
        ),
        ("zero duration", lease(json!({"leaseDurationSeconds": 0})), vec![("spec.leaseDurationSeconds", Invalid)]),
        ("negative transitions", lease(json!({"leaseTransitions": -1})), vec![("spec.leaseTransitions", Invalid)]),
        (
            "preferred holder without strategy",
            lease(json!({"preferredHolder": "a"})),
            vec![("spec.preferredHolder", Forbidden)],
        ),
        (
            "preferred holder with strategy",
            lease(json!({"preferredHolder": "a", "strategy": "OldestEmulationVersion"})),
            vec![],
        ),
        ("unknown strategy", lease(json!({"strategy": "foo"})), vec![("spec.strategy", NotSupported)]),
        ("own strategy", lease(json!({"strategy": "example.com/foo"})), vec![]),
        ("user class", class("tier1", 100), vec![]),
        ("highest user value", class("tier1", 1_000_000_000), vec![]),
        ("value above user range", class("tier1", 1_000_000_001), vec![("value", Forbidden)]),
        ("system class", class("system-node-critical", 2_000_001_000), vec![]),
        ("system class with another value", class("system-cluster-critical", 1000), vec![("metadata.name", Forbidden)]),
        ("unknown system class", class("system-foo", 10), vec![("metadata.name", Forbidden)]),
        (
            "system class as global default",
            with(class("system-cluster-critical", 2_000_000_000), &[("/globalDefault", json!(true))]),
            vec![("metadata.name", Forbidden)],
        ),
        (
            "bad preemption policy",
            with(class("tier1", 1), &[("/preemptionPolicy", json!("Sometimes"))]),
            vec![("preemptionPolicy", NotSupported)],
        ),
        ("bad name", class("tier_1", 1), vec![("metadata.name", Invalid)]),
    ]);
    check_update_table(vec![
        (
            "description may change",
            class("tier1", 100),
            with(class("tier1", 100), &[("/description", json!("d"))]),
            vec![],
        ),
        ("value changed", class("tier1", 100), class("tier1", 200), vec![("value", Forbidden)]),
        (
            "preemption policy changed",
            with(class("tier1", 100), &[("/preemptionPolicy", json!("Never"))]),
            with(class("tier1", 100), &[("/preemptionPolicy", json!("PreemptLowerPriority"))]),
            vec![("preemptionPolicy", Invalid)],
        ),
    ]);
}
